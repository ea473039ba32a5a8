//! The punchplay family as this server serves it (seeds 000-002): its routes (method and
//! path, from the profile's `[paths]`, to a handler), its handlers (`oauth`, `api`,
//! `developer`), its error envelope `{error, message, request_id}` (PP-ERR-1) and its
//! bearer challenge, served to the shell (`crate::http`) as [`Punchplay`], a
//! `ServedFamily`: the shell matches a request with its `route`, counts it under its rate
//! limit, checks page forms' CSRF tokens, then calls its `dispatch`.

mod api;
mod developer;
mod envelope;
mod oauth;

use hyper::{Method, Response, StatusCode};
use profile::PathTemplate;

// The handlers moved here from `crate::http` keep naming the shell's pieces as `super::`.
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::family::{Answer, FamilyRoute, Layer, Matched, RouteFacts, ServedFamily};
pub(crate) use crate::http::{
    App, ClientSource, Ctx, fault_layer, ok_json, pages, qr, request, respond,
};
use request::RequestBody;
use respond::Body;

/// Punchplay as the shell serves it.
pub struct Punchplay;

impl ServedFamily for Punchplay {
    fn route(&self, app: &App, method: &Method, path: &str) -> Matched {
        let route = route(app, method, path);
        Matched {
            facts: route.facts(&app.core.profile, path),
            route: Box::new(route),
        }
    }

    fn dispatch<'a>(
        &'a self,
        app: &'a App,
        route: FamilyRoute,
        ctx: &'a Ctx,
        body: RequestBody,
    ) -> Answer<'a> {
        Box::pin(async move {
            match route.downcast::<Route>() {
                Ok(route) => dispatch(app, *route, ctx, body).await,
                Err(_) => Err(not_found(ctx)),
            }
        })
    }

    fn dispatch_form_post(
        &self,
        app: &App,
        route: FamilyRoute,
        ctx: &Ctx,
        body: &[u8],
    ) -> ProtocolResult<Response<Body>> {
        match route.downcast::<Route>() {
            Ok(route) => dispatch_form_post(app, *route, ctx, body),
            Err(_) => Err(not_found(ctx)),
        }
    }

    fn endpoint_routes(&self) -> &'static [(&'static str, &'static str, ClientSource)] {
        ENDPOINT_ROUTES
    }

    fn oauth_input(
        &self,
        headers: &hyper::HeaderMap,
        body: &[u8],
    ) -> ProtocolResult<request::OAuthInput> {
        oauth::oauth_credentials(headers, body)
    }

    fn error_body(
        &self,
        layer: Layer,
        error: &ProtocolError,
        request_id: &str,
    ) -> serde_json::Value {
        envelope::error_body(layer, error, request_id)
    }

    fn challenge(&self, layer: Layer, error: &ProtocolError) -> Option<String> {
        envelope::challenge(layer, error)
    }
}

/// PP-API-9: an unknown route is 404 `not_found`.
fn not_found(ctx: &Ctx) -> ProtocolError {
    ProtocolError::not_found(format!(
        "There is no route {} {}. Check the method and path against the API reference.",
        ctx.method, ctx.path
    ))
}

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

    /// The `[paths]` endpoint the route serves, for rate limits (PP-RATE-1).
    fn endpoint(&self) -> Option<&'static str> {
        Some(match self {
            Route::AuthorizePage | Route::AuthorizeDecision => "authorize",
            Route::Token => "token",
            Route::DeviceCode => "device_code",
            Route::DeviceToken => "device_token",
            Route::Refresh => "refresh",
            Route::ActivatePage | Route::ActivateDecision => "activate",
            Route::LoginPage | Route::Login => "login",
            Route::Logout => "logout",
            Route::DeveloperApps | Route::DeveloperAppCreate => "developer_apps",
            Route::ConnectedApps => "connected_apps",
            Route::Me => "me",
            Route::Playback(_) => "playback",
            Route::NowPlaying => "now_playing",
            Route::Events => "events",
            Route::PublicUser(_) => "public_user",
            _ => return None,
        })
    }

    /// Where the route's requests name their client (PP-RATE-4).
    fn client_source(&self) -> ClientSource {
        match self {
            Route::Token | Route::DeviceCode | Route::DeviceToken | Route::Refresh => {
                ClientSource::OAuthBody
            }
            Route::Me | Route::Playback(_) | Route::NowPlaying | Route::Events => {
                ClientSource::Bearer
            }
            _ => ClientSource::None,
        }
    }

    /// The error layer the route answers in: punchplay has one (PP-ERR-1).
    fn layer(&self) -> Layer {
        Layer::default()
    }

    /// Everything the shell needs to know of the route.
    fn facts(&self, profile: &profile::Profile, path: &str) -> RouteFacts {
        RouteFacts {
            endpoint: self.endpoint(),
            client_source: self.client_source(),
            layer: self.layer(),
            is_form_post: self.is_form_post(),
            answers_json: self.answers_json(),
            may_show_forms: self.may_show_forms(),
            shape: self.shape_facts(profile, path),
        }
    }

    /// What faults of shape need to know of the route's answer (http/fault_layer.rs).
    fn shape_facts(&self, profile: &profile::Profile, path: &str) -> fault_layer::ShapeFacts {
        fault_layer::ShapeFacts {
            token_answer: matches!(self, Route::Token | Route::Refresh | Route::DeviceToken),
            device_code_answer: *self == Route::DeviceCode,
            grant_type_endpoint: *self == Route::Token,
            client_redirect: matches!(self, Route::AuthorizePage | Route::AuthorizeDecision),
            public: matches!(self, Route::PublicUser(_)),
            unknown_api_route: *self == Route::NotFound
                && path.starts_with(profile.path("platform_api")),
        }
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

fn route(app: &App, method: &Method, path: &str) -> Route {
    let p = &app.core.profile;
    let here = app.endpoints_by_path.get(path);
    let is = |name: &str| here.is_some_and(|names| names.iter().any(|n| n == name));
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
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

/// Serves a punchplay route (the page forms' POSTs go to [`dispatch_form_post`]).
async fn dispatch(
    app: &App,
    route: Route,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    match route {
        Route::Index => Ok(respond::html(StatusCode::OK, pages::index(app, ctx))),
        Route::AuthorizePage => Ok(oauth::authorize_page(app, ctx)),
        Route::Token => oauth::token(app, ctx, body).await,
        Route::DeviceCode => oauth::device_code(app, ctx, body).await,
        Route::DeviceToken => oauth::device_token(app, ctx, body).await,
        Route::Refresh => oauth::refresh(app, ctx, body).await,
        Route::ActivatePage => Ok(oauth::activate_page(app, ctx)),
        Route::LoginPage => Ok(crate::http::sign_in::login_page(app, ctx)),
        Route::DeveloperApps => developer::list_apps(app, ctx),
        Route::ConnectedApps => developer::connected_apps(app, ctx),
        Route::Me => api::me(app, ctx),
        Route::Playback(action) => api::playback(app, ctx, &action, body).await,
        Route::NowPlaying => api::now_playing(app, ctx),
        Route::Events => api::events(app, ctx),
        Route::PublicUser(username) => api::public_user(app, &username),
        // NotFound; the shell sent the form POSTs to dispatch_form_post.
        _ => Err(not_found(ctx)),
    }
}

/// The page forms' POSTs, once their body is read and their CSRF token checked.
fn dispatch_form_post(
    app: &App,
    route: Route,
    ctx: &Ctx,
    body: &[u8],
) -> ProtocolResult<Response<Body>> {
    match route {
        Route::AuthorizeDecision => oauth::authorize_decision(app, ctx, body),
        Route::ActivateDecision => oauth::activate_decision(app, ctx, body),
        Route::Login => crate::http::sign_in::login(app, ctx, body),
        Route::Logout => Ok(crate::http::sign_in::logout(app, ctx)),
        Route::DeveloperAppCreate => developer::create_app(app, ctx, body),
        Route::DeveloperAppSecret(id) => developer::rotate_secret(app, ctx, &id),
        Route::DeveloperAppDeactivate(id) => developer::deactivate_app(app, ctx, &id),
        Route::ConnectedAppRevoke(id) => developer::revoke_connected_app(app, ctx, &id),
        _ => Err(ProtocolError::not_found("There is no such form.")),
    }
}

/// Every route that serves a `[paths]` endpoint: its method, the endpoint and where its
/// requests name their client. `check_limits_are_served` reads it; a unit test proves
/// `App::route` agrees with it.
const ENDPOINT_ROUTES: &[(&str, &str, ClientSource)] = &[
    ("GET", "authorize", ClientSource::None),
    ("POST", "authorize", ClientSource::None),
    ("POST", "token", ClientSource::OAuthBody),
    ("POST", "device_code", ClientSource::OAuthBody),
    ("POST", "device_token", ClientSource::OAuthBody),
    ("POST", "refresh", ClientSource::OAuthBody),
    ("GET", "activate", ClientSource::None),
    ("POST", "activate", ClientSource::None),
    ("GET", "login", ClientSource::None),
    ("POST", "login", ClientSource::None),
    ("POST", "logout", ClientSource::None),
    ("GET", "developer_apps", ClientSource::None),
    ("POST", "developer_apps", ClientSource::None),
    ("GET", "connected_apps", ClientSource::None),
    ("GET", "me", ClientSource::Bearer),
    ("POST", "playback", ClientSource::Bearer),
    ("GET", "now_playing", ClientSource::Bearer),
    ("GET", "events", ClientSource::Bearer),
    ("GET", "public_user", ClientSource::None),
];
