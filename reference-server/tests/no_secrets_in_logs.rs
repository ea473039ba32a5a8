//! PP-APP-6: no secret, code or token ever appears in a log line, even at debug level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reference_server::ServerConfig;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends a request and reads its JSON answer.
async fn json_answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn debug_logs_name_requests_but_never_credentials() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("reference_server=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = reference_server::spawn(ServerConfig {
        test_controls: true,
        ..ServerConfig::punchplay()
    })
    .await
    .unwrap();
    let base = server.base_url();
    let http = reqwest::Client::new();
    let mut secrets: Vec<String> = vec!["pp-web-secret".into(), "alice-password".into()];

    // Authorization code + PKCE with a confidential client, then a refresh.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let url = format!(
        "{base}/oauth/authorize?response_type=code&client_id=pp-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=st"
    );
    let decided = json_answer(
        http.post(format!("{base}/__test/authorize/decide"))
            .json(&json!({"url": url, "username": "alice", "approve": true})),
    )
    .await;
    let location = url::Url::parse(decided["location"].as_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    secrets.push(code.clone());
    let tokens = json_answer(
        http.post(format!("{base}/api/platform/v1/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:8765/callback"),
                ("code_verifier", verifier),
                ("client_id", "pp-web"),
                ("client_secret", "pp-web-secret"),
            ]),
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access.clone(), refresh.clone()]);
    let me = http
        .get(format!("{base}/api/platform/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let refreshed = json_answer(
        http.post(format!("{base}/api/platform/v1/oauth/token"))
            .basic_auth("pp-web", Some("pp-web-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
    )
    .await;
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());

    // Sign-in form and a device code.
    // As a browser: the sign-in page's CSRF cookie and token go along.
    let login_page = http.get(format!("{base}/login")).send().await.unwrap();
    let csrf_cookie = login_page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_cookie.trim_start_matches("pp_csrf=").to_owned();
    secrets.push(csrf.clone());
    let signin = http
        .post(format!("{base}/login"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("next", "/developer/apps"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert!(signin.status().is_success() || signin.status().is_redirection());
    let device = json_answer(
        http.post(format!("{base}/api/platform/v1/auth/device/code"))
            .form(&[("client_id", "pp-tv")]),
    )
    .await;
    secrets.push(device["device_code"].as_str().unwrap().to_owned());

    server.stop().await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/api/platform/v1/oauth/token") && logs.contains("ppreq_"),
        "the debug log should name each request by path and request id:\n{logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a credential leaked into the log:\n{logs}"
        );
    }
}
