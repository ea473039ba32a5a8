//! Proof that the pages driver, and the checks that post page forms, behave like a
//! browser: in front of the reference server sits a proxy that puts a CSRF token in a
//! hidden input of every POST form of every page (and in a cookie), and refuses with 403
//! any page form posted without the token it handed out. The checks that sign in, approve,
//! activate, create apps through the form and revoke on the connected-apps page all pass
//! through it with the committed snapshots, because a page's own hidden fields stay out of
//! transcripts. The reference server demands its own token as well (`csrf_token`), so
//! each form carries two.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use conformance::drivers::Driver;
use conformance::runner::Status;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use profile::{Identities, Profile};
use tokio::net::TcpListener;

/// Not the reference server's own `csrf_token`: behind the proxy the server demands its
/// own token too, so both travel in every page form.
const TOKEN_FIELD: &str = "proxy_csrf_token";
const TOKEN_COOKIE: &str = "csrf_demo";

/// Starts the CSRF proxy on `listener` in front of `upstream`; answers its base URL.
async fn csrf_proxy(listener: TcpListener, upstream: String, page_paths: Vec<String>) -> String {
    let addr = listener.local_addr().expect("addr");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("a client");
    let shared = Arc::new((upstream, client, page_paths));
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move {
                        let (upstream, client, pages) = &*shared;
                        Ok::<_, Infallible>(guard(upstream, client, pages, req, peer).await)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn cookie_token(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v.to_owned())
}

async fn guard(
    upstream: &str,
    client: &reqwest::Client,
    pages: &[String],
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let token = cookie_token(&req);
    let (parts, body) = req.into_parts();
    let mut body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let is_page = pages
        .iter()
        .any(|p| parts.uri.path().starts_with(p.as_str()));
    let is_json = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    if parts.method == "POST" && is_page && !is_json("content-type") && !is_json("accept") {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let sent = pairs
            .iter()
            .find(|(k, _)| k == TOKEN_FIELD)
            .map(|(_, v)| v.clone());
        if sent.is_none() || sent != token {
            let mut refused = Response::new(Full::new(Bytes::from("CSRF token missing")));
            *refused.status_mut() = hyper::StatusCode::FORBIDDEN;
            return refused;
        }
        pairs.retain(|(k, _)| k != TOKEN_FIELD);
        body = Bytes::from(serde_urlencoded::to_string(&pairs).unwrap_or_default());
    }
    let mut upstream_req = client.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != "content-length" && name != "x-forwarded-for" {
            upstream_req = upstream_req.header(name, value);
        }
    }
    let xff = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    let answer = match upstream_req
        .header("x-forwarded-for", xff)
        .body(body)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => return Response::new(Full::new(Bytes::from(format!("upstream: {e}")))),
    };
    let mut res = Response::builder().status(answer.status());
    let html = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    for (name, value) in answer.headers() {
        if name != "content-length" {
            res = res.header(name, value);
        }
    }
    let token = token.unwrap_or_else(|| format!("tok{:016x}", rand::random::<u64>()));
    res = res.header("set-cookie", format!("{TOKEN_COOKIE}={token}; Path=/"));
    let bytes = answer.bytes().await.unwrap_or_default();
    let bytes = if html {
        let page = String::from_utf8_lossy(&bytes);
        let hidden = format!("<input type=\"hidden\" name=\"{TOKEN_FIELD}\" value=\"{token}\">");
        let mut out = String::with_capacity(page.len());
        let mut rest = page.as_ref();
        while let Some(i) = rest.find("<form method=\"post\"") {
            let end = rest[i..].find('>').map_or(rest.len(), |e| i + e + 1);
            out.push_str(&rest[..end]);
            out.push_str(&hidden);
            rest = &rest[end..];
        }
        out.push_str(rest);
        Bytes::from(out)
    } else {
        bytes
    };
    res.body(Full::new(bytes))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_forms_carry_the_pages_csrf_token_and_snapshots_still_match() {
    let profile = Profile::punchplay();
    // The proxy keeps the client's Host, so the server learns its public URL (the
    // proxy's), as a server behind a proxy is started.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        trust_proxy: true,
        public_url: Some(url::Url::parse(&public_url).expect("a URL")),
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let pages = [
        "login",
        "authorize",
        "activate",
        "developer_apps",
        "connected_apps",
    ]
    .iter()
    .map(|p| profile.path(p).to_owned())
    .collect();
    let base = csrf_proxy(listener, server.base_url(), pages).await;

    // The proxy refuses a sign-in posted without the page's token.
    let refused = reqwest::Client::new()
        .post(format!("{base}{}", profile.path("login")))
        .form(&[("username", "alice"), ("password", "alice-password")])
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(refused.status(), 403);

    // Every check that signs in, approves, activates or posts a page form.
    let checks = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| {
            [
                "PP-AUTHZ-",
                "PP-DEVICE-",
                "PP-APP-7/",
                "PP-REVOKE-",
                "PP-SCOPE-",
            ]
            .iter()
            .any(|p| c.id.starts_with(p))
        })
        .collect::<Vec<_>>();
    assert!(checks.len() > 20);
    let report =
        support::deployment::run_checks(&base, Identities::punchplay(), Driver::Pages, checks)
            .await;
    server.stop().await;
    support::deployment::assert_every_check_is(&report, &[Status::Pass]);
}
