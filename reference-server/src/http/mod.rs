//! The generic hyper shell around the kernel: connection, request parsing, Host, body and
//! header limits, the request-id header on every response (PP-ERR-2), CSRF on page forms,
//! rate limits by route (PP-RATE-1..4), the fault layer, rendering, and the test controls.
//! What a request means is the running family's business ([`pack::RulePack`]): the shell
//! resolves it in the family's route table and asks the family to write errors; it names
//! no family and none of its routes.

mod conn_watch;
pub mod consent;
mod csrf;
pub mod fault_layer;
mod host;
mod limits;
pub(crate) mod observing;
pub mod pack;
pub mod pages;
pub mod request;
pub mod respond;
pub mod routes;
pub mod server;
pub mod sign_in;
mod test_answers;
pub(crate) mod test_controls;
mod test_double;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::core::Core;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::notes;
use crate::core::secrets::request_id;
use host::{HostSeen, host_names_this_server};
use limits::check_limits_are_served;
use pack::RulePack;
use request::RequestBody;
use respond::Body;
pub use routes::{ClientSource, Layer};
use routes::{Resolved, Route, RouteTable, Serve};

/// The longest `Host` used for absolute URLs: a DNS name, brackets and a port.
const MAX_HOST_LEN: usize = 253 + 2 + 6;

/// Per-request facts every handler may need.
pub struct Ctx {
    /// Minted when first asked: a family without a request-id header asks only on errors.
    request_id: std::sync::OnceLock<String>,
    /// How this server's request ids look (PP-ERR-2).
    request_ids: std::sync::Arc<profile::RequestIdFormat>,
    /// The error layer of the matched route (its envelope).
    pub layer: Layer,
    pub ip: IpAddr,
    pub method: Method,
    uri: hyper::Uri,
    pub headers: HeaderMap,
    /// Where absolute URLs start, worked out only when a handler asks ([`Ctx::base_url`]).
    base: Base,
    /// The path's parameter of the matched route (`{username}`, an app's id).
    pub param: Option<String>,
    /// The CSRF token the pages of this request put in their forms; empty on routes
    /// without forms.
    pub csrf: csrf::PageToken,
    /// The error code of the envelope answered, for the request recorder.
    answered_error: std::sync::OnceLock<&'static str>,
}

/// The base of a request's absolute URLs.
enum Base {
    /// `--public-url`.
    Public(std::sync::Arc<str>),
    /// The `Host` as sent, which names this server with its port.
    Host,
    /// The address the client reached.
    Local(SocketAddr),
}

impl Ctx {
    /// The request's id (PP-ERR-2): in the header of a family that has one, in its error
    /// bodies and redirects, on its pages, in the log.
    pub fn request_id(&self) -> &str {
        self.request_id
            .get_or_init(|| request_id(&self.request_ids.prefix, self.request_ids.hex_len))
    }

    /// The error code of the envelope answered, if one was.
    pub(crate) fn answered_error(&self) -> Option<&'static str> {
        self.answered_error.get().copied()
    }

    /// The request's path, without the query.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The path with its query, as the browser asked for it: where a sign-in returns.
    pub fn path_and_query(&self) -> String {
        match self.query() {
            Some(q) => format!("{}?{q}", self.path()),
            None => self.path().to_owned(),
        }
    }

    /// `http://host:port` as the client addressed us (or `--public-url`), for absolute
    /// URLs: a forged `Host` never gets here (issue 12 item 7).
    pub fn base_url(&self) -> String {
        match &self.base {
            Base::Public(url) => url.to_string(),
            Base::Host => {
                let host = self
                    .headers
                    .get(hyper::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                ["http://", host].concat()
            }
            Base::Local(addr) => format!("http://{addr}"),
        }
    }
}

pub struct App {
    pub core: std::sync::Arc<Core>,
    /// The running family: its routes, rules, error envelopes and challenges.
    pack: &'static dyn RulePack,
    /// Its routes under the profile's paths.
    routes: RouteTable,
    pub(crate) test_controls: bool,
    trust_proxy: bool,
    /// `--public-url` without a trailing slash, when given (issue 12 item 7).
    public_url: Option<std::sync::Arc<str>>,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_ip: usize,
    /// The header that carries the request id, if the profile's family has one.
    request_id_header: Option<HeaderName>,
    /// The format of the request ids this server mints: the profile's (PP-ERR-2), or for a
    /// family without one an id for the logs only, sent in no header.
    request_ids: std::sync::Arc<profile::RequestIdFormat>,
    /// Flips to true when the server shuts down, so live streams end.
    pub(crate) shutdown: watch::Sender<bool>,
    /// The request recorder and client observation (issues 21, 22).
    pub observatory: crate::observe::Observatory,
}

impl App {
    /// The server for `config`, served by `pack` (`App::new`, in `crate::families`, picks
    /// the profile's family). Refuses a profile limit the family's routes could not key,
    /// and a start-up fault that is not the family's (naming its faults, one per line).
    pub fn with_pack(config: ServerConfig, pack: &'static dyn RulePack) -> std::io::Result<Self> {
        let routes = RouteTable::new(pack.routes(), &config.profile);
        check_limits_are_served(&config.profile, &routes.endpoint_routes())?;
        let startup_fault = match config.fault.as_deref() {
            None => None,
            Some(name) => Some(
                pack.faults()
                    .iter()
                    .copied()
                    .find(|f| f.name == name)
                    .ok_or_else(|| {
                        std::io::Error::other(format!(
                            "`{name}` is not a fault of the {} family; its faults are:\n{}",
                            pack.name(),
                            pack.faults()
                                .iter()
                                .map(|f| format!("  {:<36} {}", f.name, f.clause))
                                .collect::<Vec<_>>()
                                .join("\n")
                        ))
                    })?,
            ),
        };
        let request_id_header = match config.profile.request_id() {
            Some(format) => Some(HeaderName::from_bytes(format.header.as_bytes()).map_err(
                |_| {
                    std::io::Error::other(
                        "the profile's request_id.header is not a valid header name",
                    )
                },
            )?),
            None => None,
        };
        let request_ids =
            std::sync::Arc::new(config.profile.request_id().cloned().unwrap_or_else(|| {
                profile::RequestIdFormat {
                    header: String::new(),
                    prefix: "req_".into(),
                    hex_len: 20,
                }
            }));
        let observatory =
            crate::observe::Observatory::new(&config.observation, pack.name(), &config.profile);
        let core = Core::new(
            config.profile,
            config.identities,
            Box::new(move |profile, identities| pack.new_state(profile, identities)),
            pack.faults(),
            startup_fault,
        );
        Ok(App {
            core: std::sync::Arc::new(core),
            pack,
            routes,
            test_controls: config.test_controls,
            trust_proxy: config.trust_proxy,
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').into()),
            max_connections: config.max_connections.max(1),
            max_connections_per_ip: config.max_connections_per_ip.max(1),
            request_id_header,
            request_ids,
            shutdown: watch::channel(false).0,
            observatory,
        })
    }

    /// The running family.
    pub fn pack(&self) -> &'static dyn RulePack {
        self.pack
    }

    /// The running family's routes under the profile.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The client IP for rate limits: the TCP peer, or behind a trusted proxy the last
    /// `X-Forwarded-For` entry (PP-RATE-4).
    fn client_ip(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        if !self.trust_proxy {
            return peer.ip();
        }
        // The last entry is the one the trusted proxy appended; anything before it came
        // from the client. An entry that does not parse falls back to the peer, never to
        // an earlier, client-written entry.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .map(str::trim);
        match last {
            Some(entry) => entry
                .parse::<IpAddr>()
                .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
                .unwrap_or_else(|_| peer.ip()),
            None => peer.ip(),
        }
    }

    /// Answers one request. Never panics on input; every response carries the request id.
    /// `local_host` is `local` as a `Host` header writes it, made once per connection.
    ///
    /// What needs no waiting (routing, the Host and header checks, the request's facts) is
    /// done here, before the answer's future is made, so that the future holds only what
    /// it waits with: hyper moves it, and a smaller one is cheaper to move (issue 20 item
    /// 8: the whole request was once a 2.3 KB future, moved three times per request).
    pub fn handle(
        self: &std::sync::Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
        local_host: &str,
    ) -> impl Future<Output = Response<Body>> + Send + use<> {
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let (parts, body) = req.into_parts();
        let hyper::http::request::Parts {
            method,
            uri,
            headers,
            ..
        } = parts;
        let path = uri.path();
        // The test controls are the shell's own; everything else is the family's.
        let (target, facts, param) = match path.strip_prefix("/__test/") {
            Some(rest) if self.test_controls => (
                Target::TestControl(rest.to_owned()),
                test_controls::facts(rest),
                None,
            ),
            _ => match self.routes.resolve(&method, path) {
                Resolved::Route(i, param) => (
                    Target::Route(self.routes.route(i)),
                    RouteFacts::of(self.routes.route(i), self.routes.limit_of(i)),
                    param,
                ),
                Resolved::WrongMethod(allow) => (
                    Target::Unrouted(Some(allow)),
                    RouteFacts::unrouted(self.pack),
                    None,
                ),
                Resolved::Unrouted => (
                    Target::Unrouted(None),
                    RouteFacts::unrouted(self.pack),
                    None,
                ),
            },
        };
        // The test controls are not recorded (issue 21 item 2).
        let recording = self.observatory.enabled() && !matches!(target, Target::TestControl(_));
        let mut seen = observing::Seen::default();
        let bends = self.core.bends();
        // Absolute URLs come from --public-url, or else from a Host that names this
        // server; a forged Host never reaches a verification_uri or QR code (issue 12
        // item 7).
        let host = headers
            .get(hyper::header::HOST)
            .map(|h| h.to_str().unwrap_or("\u{fffd}"));
        let host_seen = match (&self.public_url, host) {
            (Some(_), _) | (None, None) => HostSeen::NotUsed,
            (None, Some(h)) if h == local_host => HostSeen::Exact,
            (None, Some(h)) => host_names_this_server(h, local),
        };
        let base = match (&self.public_url, &host_seen) {
            (Some(public), _) => Base::Public(public.clone()),
            (None, HostSeen::Exact) => Base::Host,
            (None, _) => Base::Local(local),
        };
        let refused = if host_seen == HostSeen::Refused {
            Some(ProtocolError::invalid_request(format!(
                "The Host header `{}` does not name this server ({local}, localhost or a loopback address). Use one of those, or start the server with --public-url.",
                host.unwrap_or_default()
                    .chars()
                    .take(MAX_HOST_LEN)
                    .collect::<String>()
            )))
        } else {
            let header_bytes: usize = headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 4)
                .sum();
            (header_bytes > self.core.profile.http.max_header_bytes).then(|| {
                ProtocolError::invalid_request(format!(
                    "The request headers add up to more than {} bytes.",
                    self.core.profile.http.max_header_bytes
                ))
                .with_status(431)
            })
        };
        let csrf = if facts.may_show_forms {
            csrf::token_for_pages(self, &headers)
        } else {
            csrf::PageToken::default()
        };
        let mut ctx = Ctx {
            layer: facts.layer,
            csrf,
            request_id: std::sync::OnceLock::new(),
            request_ids: self.request_ids.clone(),
            ip: self.client_ip(&headers, peer),
            method,
            uri,
            headers,
            base,
            param,
            answered_error: std::sync::OnceLock::new(),
        };
        // Boxed: a refusal before the handler is rare, and the future carries a pointer.
        let refused = refused.map(Box::new);
        let app = self.clone();
        async move {
            let result = match refused {
                Some(e) => Err(*e),
                None if recording => {
                    notes::open();
                    app.limit_and_dispatch(target, &facts, &ctx, body, Some(&mut seen))
                        .await
                }
                None => {
                    app.limit_and_dispatch(target, &facts, &ctx, body, None)
                        .await
                }
            };
            let mut res = result.unwrap_or_else(|e| app.error_response(&e, &ctx));
            if let Some(shape) = bends.shape() {
                res = Box::pin(fault_layer::bend(&app, shape, facts.shape, &ctx, res)).await;
            }
            app.finish(&ctx, bends, started, &mut res);
            if recording {
                // The id moves into the recorder; none is minted for it.
                let request_id = ctx.request_id.take();
                notes::close_with(|notes| app.record(&ctx, request_id, res.status(), seen, notes));
            }
            res
        }
    }

    /// What every answer gets on its way out: the page's CSRF cookie, no body for HEAD,
    /// the request-id header (PP-ERR-2), the log line.
    fn finish(
        &self,
        ctx: &Ctx,
        bends: crate::core::fault::Bends,
        started: Option<Instant>,
        res: &mut Response<Body>,
    ) {
        csrf::set_cookie_for_page(ctx, res);
        if ctx.method == Method::HEAD {
            *res.body_mut() = respond::full(bytes::Bytes::new());
        }
        if let Some(name) = &self.request_id_header {
            let header_id =
                fault_layer::header_request_id(self, bends, res.status(), ctx.request_id());
            if let Ok(v) = HeaderValue::from_str(&header_id) {
                res.headers_mut().insert(name.clone(), v);
            }
        }
        // Paths only: query strings and bodies may hold codes, tokens and secrets (PP-APP-6).
        if let Some(started) = started {
            tracing::debug!(
                method = %ctx.method,
                path = %ctx.path(),
                status = res.status().as_u16(),
                request_id = %ctx.request_id(),
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
        }
    }

    /// An error in the envelope of the request's route's layer.
    pub(crate) fn error_response(&self, e: &ProtocolError, ctx: &Ctx) -> Response<Body> {
        let _ = ctx.answered_error.set(e.code.as_str());
        let envelope = self.pack.error_body(ctx.layer, e, ctx.request_id());
        let challenge = self.pack.challenge(ctx.layer, e);
        respond::error(&self.core.profile, e, envelope, challenge)
    }

    /// A fresh request id in the profile's format (PP-ERR-2).
    pub(crate) fn new_request_id(&self) -> String {
        request_id(&self.request_ids.prefix, self.request_ids.hex_len)
    }

    /// The route's rate limit, then the handler.
    async fn limit_and_dispatch(
        &self,
        target: Target,
        facts: &RouteFacts,
        ctx: &Ctx,
        body: Incoming,
        seen: Option<&mut observing::Seen>,
    ) -> ProtocolResult<Response<Body>> {
        let route = match target {
            // Test controls are never limited.
            Target::TestControl(rest) => {
                // Boxed: a large future, which the family's routes need not carry.
                return Box::pin(test_controls::handle(
                    self,
                    ctx,
                    &rest,
                    RequestBody::Unread(body),
                ))
                .await;
            }
            Target::Unrouted(allow) => {
                self.limit(facts, ctx, RequestBody::Unread(body), seen)
                    .await?;
                return self.pack.unrouted(self, ctx, allow.as_deref());
            }
            Target::Route(route) => route,
        };
        // A route the table knows to be under no limit skips the limiter's future (which
        // then notes nothing either).
        let body = match facts.limit {
            Some(None) => RequestBody::Unread(body),
            _ => {
                self.limit(facts, ctx, RequestBody::Unread(body), seen)
                    .await?
            }
        };
        self.dispatch(route, ctx, body).await
    }

    async fn dispatch(
        &self,
        route: &'static Route,
        ctx: &Ctx,
        body: RequestBody,
    ) -> ProtocolResult<Response<Body>> {
        match route.serve {
            Serve::Head(handler) => handler(self, ctx),
            Serve::Body(handler) => handler(self, ctx, body).await,
            // Every page form's POST is read here and checked for the page's CSRF token
            // before its handler runs (issue 12 item 6); JSON bodies are exempt (csrf.rs).
            Serve::Form(handler) => {
                let bytes = body
                    .read(&ctx.headers, self.core.profile.http.max_body_bytes)
                    .await?;
                // The developer and connected-apps POSTs need no token with a JSON body
                // (csrf.rs says why), nor signed out: they then only ask for a sign-in.
                let exempt =
                    route.answers_json && (csrf::is_json_body(ctx) || self.session(ctx).is_none());
                if !exempt && let Err(refused) = csrf::check_form(self, ctx, &bytes) {
                    return Ok(*refused);
                }
                handler(self, ctx, &bytes)
            }
        }
    }

    /// The signed-in user of the request's session cookie, if any.
    pub(crate) fn session(&self, ctx: &Ctx) -> Option<(String, String)> {
        let sid = request::cookie(&ctx.headers, crate::core::sessions::SESSION_COOKIE)?;
        self.core
            .session_user(sid)
            .map(|user| (sid.to_owned(), user))
    }
}

/// What the shell needs to know of a request's route: the `[paths]` endpoint it serves
/// (what endpoint rate limits match), the limit that counts it when that is known from the
/// route alone, where it names its client, its error layer, its page-form facts (CSRF)
/// and what faults of shape need to know of its answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteFacts {
    pub endpoint: Option<&'static str>,
    /// `Some(limit index or none)` for a route of one path and method; `None`: look it up.
    pub limit: Option<Option<usize>>,
    pub client_source: ClientSource,
    pub layer: Layer,
    /// It may answer a page with a POST form (the shell mints the page's CSRF token).
    pub may_show_forms: bool,
    pub shape: fault_layer::ShapeFacts,
}

impl RouteFacts {
    fn of(route: &Route, limit: Option<Option<usize>>) -> RouteFacts {
        RouteFacts {
            endpoint: route.endpoint(),
            limit,
            client_source: route.client,
            layer: route.layer,
            may_show_forms: route.shows_forms || route.is_form_post(),
            shape: route.shape,
        }
    }

    fn unrouted(pack: &dyn RulePack) -> RouteFacts {
        RouteFacts {
            layer: pack.unrouted_layer(),
            ..RouteFacts::default()
        }
    }
}

/// What the shell serves a request with.
enum Target {
    /// Its own test controls (`/__test/...`, with `--test-controls`).
    TestControl(String),
    /// The family's route.
    Route(&'static Route),
    /// No route: the family's answer, with the methods a known path allows.
    Unrouted(Option<String>),
}

/// A `Set-Cookie` value for a session.
pub(crate) fn session_cookie(sid: &str, max_age: u64) -> String {
    format!(
        "{}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}",
        crate::core::sessions::SESSION_COOKIE
    )
}

pub(crate) fn ok_json<T: serde::Serialize>(value: &T) -> ProtocolResult<Response<Body>> {
    Ok(respond::json(StatusCode::OK, value))
}
