//! The hyper shell around the core: routing by the profile's paths, request parsing,
//! the error envelope, the request-id header on every response (PP-ERR-2), pages,
//! server-sent events and the test controls.

mod api;
mod csrf;
mod developer;
mod oauth;
pub mod pages;
pub mod qr;
pub mod request;
pub mod respond;
pub mod server;
mod test_controls;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use profile::{LimitKey, PathTemplate};
use tokio::sync::watch;

use crate::ServerConfig;
use crate::core::Core;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::secrets::request_id;
use crate::faults::Fault;
use respond::{Body, ErrorEnvelope};

/// What a request is, once its method and path are matched against the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Index,
    AuthorizePage,
    AuthorizeDecision,
    Token,
    DeviceCode,
    DeviceToken,
    Refresh,
    ActivatePage,
    ActivateDecision,
    LoginPage,
    Login,
    Logout,
    DeveloperApps,
    DeveloperAppCreate,
    DeveloperAppSecret(String),
    DeveloperAppDeactivate(String),
    ConnectedApps,
    ConnectedAppRevoke(String),
    Me,
    Playback(String),
    NowPlaying,
    Events,
    PublicUser(String),
    TestControl(String),
    NotFound,
}

impl Route {
    /// A POST of a page's form: it must carry the page's CSRF token (issue 12 item 6).
    fn is_form_post(&self) -> bool {
        matches!(
            self,
            Route::AuthorizeDecision
                | Route::ActivateDecision
                | Route::Login
                | Route::Logout
                | Route::DeveloperAppCreate
                | Route::DeveloperAppSecret(_)
                | Route::DeveloperAppDeactivate(_)
                | Route::ConnectedAppRevoke(_)
        )
    }

    /// A POST that also answers JSON: exempt from the token when its body is JSON.
    fn answers_json(&self) -> bool {
        matches!(
            self,
            Route::DeveloperAppCreate
                | Route::DeveloperAppSecret(_)
                | Route::DeveloperAppDeactivate(_)
                | Route::ConnectedAppRevoke(_)
        )
    }

    /// A route that may answer a page with a POST form.
    fn may_show_forms(&self) -> bool {
        self.is_form_post()
            || matches!(
                self,
                Route::AuthorizePage
                    | Route::ActivatePage
                    | Route::LoginPage
                    | Route::DeveloperApps
                    | Route::ConnectedApps
            )
    }
}

/// The longest `Host` used for absolute URLs: a DNS name, brackets and a port.
const MAX_HOST_LEN: usize = 253 + 2 + 6;

/// Per-request facts every handler may need.
pub struct Ctx {
    pub request_id: String,
    pub ip: IpAddr,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    /// `http://host:port` as the client addressed us, for absolute URLs.
    pub base_url: String,
    /// The CSRF token the pages of this request put in their forms; empty on routes
    /// without forms.
    pub csrf: csrf::PageToken,
}

pub struct App {
    pub core: std::sync::Arc<Core>,
    envelope: Box<dyn ErrorEnvelope>,
    test_controls: bool,
    trust_proxy: bool,
    /// `--public-url` without a trailing slash, when given (issue 12 item 7).
    public_url: Option<String>,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_ip: usize,
    request_id_header: HeaderName,
    /// The profile's `[punchplay]` settings; `App::new` serves punchplay profiles only.
    pub(crate) punchplay: profile::PunchplaySettings,
    /// The profile's endpoint names by exact path, so routing hashes the path once instead
    /// of looking every endpoint's path up on every request.
    endpoints_by_path: std::collections::HashMap<String, Vec<String>>,
    /// Flips to true when the server shuts down, so live streams end.
    shutdown: watch::Sender<bool>,
}

impl App {
    pub fn new(config: ServerConfig) -> std::io::Result<Self> {
        let envelope = respond::envelope_for(&config.profile)?;
        check_limits_are_served(&config.profile)?;
        let punchplay = config
            .profile
            .punchplay_settings()
            .cloned()
            .ok_or_else(|| {
                std::io::Error::other("a punchplay profile needs its [punchplay] section")
            })?;
        let request_id_header = HeaderName::from_bytes(punchplay.request_id.header.as_bytes())
            .map_err(|_| {
                std::io::Error::other("the profile's request_id.header is not a valid header name")
            })?;
        let mut endpoints_by_path = std::collections::HashMap::<String, Vec<String>>::new();
        for (name, path) in &config.profile.paths {
            endpoints_by_path
                .entry(path.clone())
                .or_default()
                .push(name.clone());
        }
        Ok(App {
            core: std::sync::Arc::new(Core::new(config.profile, config.identities)),
            envelope,
            test_controls: config.test_controls,
            trust_proxy: config.trust_proxy,
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            max_connections: config.max_connections.max(1),
            max_connections_per_ip: config.max_connections_per_ip.max(1),
            request_id_header,
            punchplay,
            endpoints_by_path,
            shutdown: watch::channel(false).0,
        })
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    fn route(&self, method: &Method, path: &str) -> Route {
        let p = &self.core.profile;
        let here = self.endpoints_by_path.get(path);
        let is = |name: &str| here.is_some_and(|names| names.iter().any(|n| n == name));
        let get = method == Method::GET || method == Method::HEAD;
        let post = method == Method::POST;
        if self.test_controls
            && let Some(rest) = path.strip_prefix("/__test/")
        {
            return Route::TestControl(rest.to_owned());
        }
        let route = match () {
            _ if path == "/" && get => Route::Index,
            _ if is("authorize") && get => Route::AuthorizePage,
            _ if is("authorize") && post => Route::AuthorizeDecision,
            _ if is("token") && post => Route::Token,
            _ if is("device_code") && post => Route::DeviceCode,
            _ if is("device_token") && post => Route::DeviceToken,
            _ if is("refresh") && post => Route::Refresh,
            _ if is("activate") && get => Route::ActivatePage,
            _ if is("activate") && post => Route::ActivateDecision,
            _ if is("login") && get => Route::LoginPage,
            _ if is("login") && post => Route::Login,
            _ if is("logout") && post => Route::Logout,
            _ if is("developer_apps") && get => Route::DeveloperApps,
            _ if is("developer_apps") && post => Route::DeveloperAppCreate,
            _ if is("connected_apps") && get => Route::ConnectedApps,
            _ if is("me") && get => Route::Me,
            _ if is("now_playing") && get => Route::NowPlaying,
            _ if is("events") && get => Route::Events,
            _ => Route::NotFound,
        };
        if route != Route::NotFound {
            return route;
        }
        let param = |endpoint: &str| {
            PathTemplate::new(p.path(endpoint))
                .matches(path)
                .and_then(|params| params.first().map(|(_, v)| (*v).to_owned()))
        };
        let sub = |endpoint: &str, suffix: &str| {
            path.strip_prefix(p.path(endpoint))
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|rest| rest.strip_suffix(suffix))
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(str::to_owned)
        };
        if post && let Some(action) = param("playback") {
            return Route::Playback(action);
        }
        if get && let Some(username) = param("public_user") {
            return Route::PublicUser(username);
        }
        if post && let Some(id) = sub("developer_apps", "/secret") {
            return Route::DeveloperAppSecret(id);
        }
        if post && let Some(id) = sub("developer_apps", "/deactivate") {
            return Route::DeveloperAppDeactivate(id);
        }
        if post && let Some(id) = sub("connected_apps", "/revoke") {
            return Route::ConnectedAppRevoke(id);
        }
        Route::NotFound
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
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Response<Body> {
        let started = Instant::now();
        let rid = request_id(
            &self.punchplay.request_id.prefix,
            self.punchplay.request_id.hex_len,
        );
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        let method = parts.method.clone();
        let route = self.route(&method, &path);
        // Absolute URLs come from --public-url, or else from a Host that names this
        // server; a forged Host never reaches a verification_uri or QR code (issue 12
        // item 7).
        let host = parts
            .headers
            .get(hyper::header::HOST)
            .map(|h| h.to_str().unwrap_or("\u{fffd}"));
        let host_seen = match (&self.public_url, host) {
            (Some(_), _) | (None, None) => HostSeen::NotUsed,
            (None, Some(h)) => host_names_this_server(h, local),
        };
        let base_url = match (&self.public_url, host, &host_seen) {
            (Some(public), ..) => public.clone(),
            (None, Some(h), HostSeen::Exact) => ["http://", h].concat(),
            (None, ..) => format!("http://{local}"),
        };
        let host_refused =
            (host_seen == HostSeen::Refused).then(|| host.unwrap_or_default().to_owned());
        let csrf = if route.may_show_forms() {
            csrf::token_for_pages(self, &parts.headers)
        } else {
            csrf::PageToken::default()
        };
        let ctx = Ctx {
            csrf,
            request_id: rid,
            ip: self.client_ip(&parts.headers, peer),
            method: parts.method,
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers,
            base_url,
        };
        let header_bytes: usize = ctx
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        let result = if let Some(host) = host_refused {
            Err(ProtocolError::invalid_request(format!(
                "The Host header `{}` does not name this server ({local}, localhost or a loopback address). Use one of those, or start the server with --public-url.",
                host.chars().take(MAX_HOST_LEN).collect::<String>()
            )))
        } else if header_bytes > self.core.profile.http.max_header_bytes {
            Err(ProtocolError::invalid_request(format!(
                "The request headers add up to more than {} bytes.",
                self.core.profile.http.max_header_bytes
            ))
            .with_status(431))
        } else {
            self.dispatch(route, &ctx, body).await
        };
        let mut res = result.unwrap_or_else(|e| self.error_response(&e, &ctx.request_id));
        csrf::set_cookie_for_page(&ctx, &mut res);
        if ctx.method == Method::HEAD {
            *res.body_mut() = respond::full(bytes::Bytes::new());
        }
        let header_id =
            if self.core.has_fault(Fault::RequestIdMismatch) && !res.status().is_success() {
                request_id(
                    &self.punchplay.request_id.prefix,
                    self.punchplay.request_id.hex_len,
                )
            } else {
                ctx.request_id.clone()
            };
        if let Ok(v) = HeaderValue::from_str(&header_id) {
            res.headers_mut().insert(self.request_id_header.clone(), v);
        }
        // Paths only: query strings and bodies may hold codes, tokens and secrets (PP-APP-6).
        tracing::debug!(
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            request_id = %ctx.request_id,
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
        res
    }

    fn error_response(&self, e: &ProtocolError, request_id: &str) -> Response<Body> {
        respond::error(
            &self.core.profile,
            self.envelope.as_ref(),
            e,
            request_id,
            self.core.has_fault(Fault::InvalidClient400),
        )
    }

    async fn dispatch(
        &self,
        route: Route,
        ctx: &Ctx,
        body: Incoming,
    ) -> ProtocolResult<Response<Body>> {
        // Every page form's POST is read here and checked for the page's CSRF token
        // before its handler runs (issue 12 item 6); JSON bodies are exempt (csrf.rs).
        if route.is_form_post() {
            let bytes =
                request::read_body(&ctx.headers, body, self.core.profile.http.max_body_bytes)
                    .await?;
            // The developer and connected-apps POSTs need no token with a JSON body
            // (csrf.rs says why), nor signed out: they then only ask for a sign-in.
            let exempt =
                route.answers_json() && (csrf::is_json_body(ctx) || self.session(ctx).is_none());
            if !exempt && let Err(refused) = csrf::check_form(self, ctx, &bytes) {
                return Ok(*refused);
            }
            return self.dispatch_form_post(route, ctx, &bytes);
        }
        match route {
            Route::Index => Ok(respond::html(StatusCode::OK, pages::index(self, ctx))),
            Route::AuthorizePage => Ok(oauth::authorize_page(self, ctx)),
            Route::Token => oauth::token(self, ctx, body).await,
            Route::DeviceCode => oauth::device_code(self, ctx, body).await,
            Route::DeviceToken => oauth::device_token(self, ctx, body).await,
            Route::Refresh => oauth::refresh(self, ctx, body).await,
            Route::ActivatePage => Ok(oauth::activate_page(self, ctx)),
            Route::LoginPage => Ok(developer::login_page(self, ctx)),
            Route::DeveloperApps => developer::list_apps(self, ctx),
            Route::ConnectedApps => developer::connected_apps(self, ctx),
            Route::Me => api::me(self, ctx),
            Route::Playback(action) => api::playback(self, ctx, &action, body).await,
            Route::NowPlaying => api::now_playing(self, ctx),
            Route::Events => api::events(self, ctx),
            Route::PublicUser(username) => api::public_user(self, ctx, &username),
            Route::TestControl(rest) => test_controls::handle(self, ctx, &rest, body).await,
            // NotFound; the form POSTs went to dispatch_form_post above.
            _ => {
                if self.core.has_fault(Fault::UnknownRouteServerError)
                    && ctx.path.starts_with(self.core.profile.path("platform_api"))
                {
                    return Err(ProtocolError::new(
                        crate::core::error::ErrorCode::ServerError,
                        "Something went wrong.",
                    ));
                }
                Err(ProtocolError::not_found(format!(
                    "There is no route {} {}. Check the method and path against the API reference.",
                    ctx.method, ctx.path
                )))
            }
        }
    }

    /// The page forms' POSTs, once their body is read and their CSRF token checked.
    fn dispatch_form_post(
        &self,
        route: Route,
        ctx: &Ctx,
        body: &[u8],
    ) -> ProtocolResult<Response<Body>> {
        match route {
            Route::AuthorizeDecision => oauth::authorize_decision(self, ctx, body),
            Route::ActivateDecision => oauth::activate_decision(self, ctx, body),
            Route::Login => developer::login(self, ctx, body),
            Route::Logout => Ok(developer::logout(self, ctx)),
            Route::DeveloperAppCreate => developer::create_app(self, ctx, body),
            Route::DeveloperAppSecret(id) => developer::rotate_secret(self, ctx, &id),
            Route::DeveloperAppDeactivate(id) => developer::deactivate_app(self, ctx, &id),
            Route::ConnectedAppRevoke(id) => developer::revoke_connected_app(self, ctx, &id),
            _ => Err(ProtocolError::not_found("There is no such form.")),
        }
    }

    /// The signed-in user of the request's session cookie, if any.
    fn session(&self, ctx: &Ctx) -> Option<(String, String)> {
        let sid = request::cookie(&ctx.headers, crate::core::sessions::SESSION_COOKIE)?;
        self.core
            .session_user(sid)
            .map(|user| (sid.to_owned(), user))
    }

    /// Admits the request under the profile's limit for (method, endpoint), if it has one,
    /// keyed as that limit's `key` says (PP-RATE-4).
    fn admit(&self, method: &str, endpoint: &str, keys: LimitKeys<'_>) -> ProtocolResult<()> {
        let limits = &self.core.profile.rate_limits;
        let Some(index) = limits
            .iter()
            .position(|l| l.endpoint() == Some(endpoint) && l.covers_method(method))
        else {
            return Ok(());
        };
        let key = match limits[index].key {
            LimitKey::Ip => keys.ip.to_string(),
            // Only a registered client_id goes into a key (issue 12 item 1): the limit is
            // checked before the client is authenticated, and invented ids (any length,
            // any number) all share their address's one "unregistered" key.
            LimitKey::ClientAndIp => {
                let client = keys
                    .client
                    .filter(|c| self.core.is_registered_client(c))
                    .unwrap_or(UNREGISTERED_CLIENT_KEY);
                format!("{client} {}", keys.ip)
            }
            // `App::new` refuses a user key where there is no user; the IP is a safe floor.
            LimitKey::User => keys
                .user
                .map_or_else(|| format!("ip {}", keys.ip), str::to_owned),
        };
        self.core.admit(index, &key)
    }
}

/// The client part of a limit key for a `client_id` that is not a registered app. A
/// client_id cannot contain a space, so no app can share it.
const UNREGISTERED_CLIENT_KEY: &str = "(unregistered client)";

/// What a request offers as rate-limit keys; a limit takes the one its `key` names.
pub struct LimitKeys<'a> {
    pub ip: IpAddr,
    /// The request's `client_id` (OAuth bodies, or the bearer token's app).
    pub client: Option<&'a str>,
    /// The bearer token's user, once authenticated.
    pub user: Option<&'a str>,
}

/// The rate-limited endpoints this server serves: method, endpoint and the keys it can
/// offer. A profile's limit elsewhere would silently not hold, so `App::new` refuses it.
const LIMITABLE: &[(&str, &str, &[LimitKey])] = &[
    ("POST", "token", &[LimitKey::Ip, LimitKey::ClientAndIp]),
    ("POST", "refresh", &[LimitKey::Ip, LimitKey::ClientAndIp]),
    (
        "POST",
        "device_code",
        &[LimitKey::Ip, LimitKey::ClientAndIp],
    ),
    (
        "POST",
        "device_token",
        &[LimitKey::Ip, LimitKey::ClientAndIp],
    ),
    (
        "POST",
        "playback",
        &[LimitKey::Ip, LimitKey::ClientAndIp, LimitKey::User],
    ),
    ("GET", "public_user", &[LimitKey::Ip]),
];

fn check_limits_are_served(profile: &profile::Profile) -> std::io::Result<()> {
    let served_list = || {
        LIMITABLE
            .iter()
            .map(|(m, e, _)| format!("{m} {e}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for limit in &profile.rate_limits {
        let Some(endpoint) = limit.endpoint() else {
            return Err(std::io::Error::other(format!(
                "rate limit `{}` is on the path prefix {}, which this server does not limit; it limits {}",
                limit.name,
                limit.path_prefix().unwrap_or_default(),
                served_list()
            )));
        };
        let served = LIMITABLE
            .iter()
            .find(|(m, e, _)| limit.method.eq_ignore_ascii_case(m) && endpoint == *e);
        match served {
            None => {
                return Err(std::io::Error::other(format!(
                    "rate limit `{}` is on {} {endpoint}, which this server does not limit; it limits {}",
                    limit.name,
                    limit.method,
                    served_list()
                )));
            }
            Some((_, _, keys)) if !keys.contains(&limit.key) => {
                return Err(std::io::Error::other(format!(
                    "rate limit `{}` is keyed by {}, which {} {endpoint} cannot offer",
                    limit.name,
                    limit.key.as_str(),
                    limit.method,
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// What the `Host` header says about this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostSeen {
    /// `--public-url` is set, or there is no Host: it is not used.
    NotUsed,
    /// It names this server with its port: absolute URLs may use it as sent.
    Exact,
    /// A loopback name without a port (a hand-written request): served, but absolute
    /// URLs use the address the client reached.
    LoopbackWithoutPort,
    /// Anything else: refused with a 400.
    Refused,
}

/// Whether a `Host` header names this server: its address as the client reached it with
/// the port it listens on, or a loopback name (`localhost`, 127.x.x.x, [::1]) with any port.
fn host_names_this_server(host: &str, local: SocketAddr) -> HostSeen {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, "")) => (ip, None),
            Some((ip, after)) => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return HostSeen::Refused,
            },
            None => return HostSeen::Refused,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let ip = name.parse::<IpAddr>().ok();
    let loopback = name.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback());
    let ours = loopback || ip.is_some_and(|ip| ip == local.ip() && !ip.is_unspecified());
    let port = port.map(|p| p.parse::<u16>().ok());
    match port.map(|p| p == Some(local.port())) {
        _ if !ours || port == Some(None) => HostSeen::Refused,
        // A gateway, tunnel or port mapping on this host reaches us with its own port;
        // URLs that point at it are the ones its clients can follow, and no remote
        // name gets in this way.
        Some(_) if loopback => HostSeen::Exact,
        Some(true) => HostSeen::Exact,
        None if local.port() == 80 => HostSeen::Exact,
        None if loopback => HostSeen::LoopbackWithoutPort,
        _ => HostSeen::Refused,
    }
}

/// A `Set-Cookie` value for a session.
fn session_cookie(sid: &str, max_age: u64) -> String {
    format!(
        "{}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}",
        crate::core::sessions::SESSION_COOKIE
    )
}

fn ok_json<T: serde::Serialize>(value: &T) -> ProtocolResult<Response<Body>> {
    Ok(respond::json(StatusCode::OK, value))
}
