//! The flexslot family as this server serves it (seed 004, FX-*): a strict RFC
//! 6749/6750/7009/7662 authorization server. Its routes (from the profile's `[paths]`):
//! `/authorize` (the sign-in and consent pages), `/token`, `/revoke`, `/introspect`,
//! `GET /api/public/v1/me`, the RFC 8414 metadata, `/login` and `/logout`; its handlers
//! (`oauth`, `resource`), its two error layers and challenges (`envelope`) and its test
//! controls (`controls`), served to the shell (`crate::http`) as [`Flexslot`].

mod controls;
mod envelope;
mod oauth;
mod resource;

use hyper::{Method, Response, StatusCode};

use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::family::{Answer, FamilyRoute, Layer, Matched, RouteFacts, ServedFamily};
use crate::http::fault_layer::ShapeFacts;
use crate::http::request::{OAuthInput, RequestBody};
use crate::http::respond::{self, Body};
use crate::http::{App, ClientSource, Ctx, pages, sign_in};

/// Flexslot as the shell serves it.
pub struct Flexslot;

impl ServedFamily for Flexslot {
    fn route(&self, app: &App, method: &Method, path: &str) -> Matched {
        let route = route(app, method, path);
        Matched {
            facts: route.facts(),
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
        match route.downcast::<Route>().map(|r| *r) {
            Ok(Route::AuthorizeDecision) => oauth::authorize_decision(app, ctx, body),
            Ok(Route::Login) => sign_in::login(app, ctx, body),
            Ok(Route::Logout) => Ok(sign_in::logout(app, ctx)),
            _ => Err(not_found(ctx)),
        }
    }

    fn endpoint_routes(&self) -> &'static [(&'static str, &'static str, ClientSource)] {
        ENDPOINT_ROUTES
    }

    /// The shell asks this only for a `client_and_ip` limit's key; the handlers parse
    /// again with the components of the moment (`oauth::strict_input`).
    fn oauth_input(&self, headers: &hyper::HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
        oauth::parse_strict_input(&crate::core::components::Components::STRICT, headers, body)
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

    fn test_control(
        &self,
        app: &App,
        ctx: &Ctx,
        segments: &[&str],
        body: &[u8],
    ) -> Option<ProtocolResult<Response<Body>>> {
        controls::handle(app, ctx, segments, body)
    }
}

/// An unknown route: 404 `not_found` in the OAuth layer.
fn not_found(ctx: &Ctx) -> ProtocolError {
    ProtocolError::not_found(format!(
        "There is no route {} {}. The endpoints are listed in /.well-known/oauth-authorization-server.",
        ctx.method, ctx.path
    ))
}

/// What a request is, once its method and path are matched against the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Index,
    Metadata,
    AuthorizePage,
    AuthorizeDecision,
    Token,
    Revoke,
    Introspect,
    LoginPage,
    Login,
    Logout,
    Me,
    NotFound,
}

impl Route {
    /// The `[paths]` endpoint the route serves, for rate limits.
    fn endpoint(self) -> Option<&'static str> {
        Some(match self {
            Route::Metadata => "metadata",
            Route::AuthorizePage | Route::AuthorizeDecision => "authorize",
            Route::Token => "token",
            Route::Revoke => "revoke",
            Route::Introspect => "introspect",
            Route::LoginPage | Route::Login => "login",
            Route::Logout => "logout",
            Route::Me => "me",
            Route::Index | Route::NotFound => return None,
        })
    }

    fn client_source(self) -> ClientSource {
        match self {
            Route::Token | Route::Revoke | Route::Introspect => ClientSource::OAuthBody,
            Route::Me => ClientSource::Bearer,
            _ => ClientSource::None,
        }
    }

    fn is_form_post(self) -> bool {
        matches!(
            self,
            Route::AuthorizeDecision | Route::Login | Route::Logout
        )
    }

    fn facts(self) -> RouteFacts {
        RouteFacts {
            endpoint: self.endpoint(),
            client_source: self.client_source(),
            layer: if self == Route::Me {
                envelope::RESOURCE
            } else {
                envelope::OAUTH
            },
            is_form_post: self.is_form_post(),
            answers_json: false,
            may_show_forms: self.is_form_post()
                || matches!(self, Route::AuthorizePage | Route::LoginPage),
            shape: ShapeFacts {
                token_answer: self == Route::Token,
                grant_type_endpoint: self == Route::Token,
                client_redirect: matches!(self, Route::AuthorizePage | Route::AuthorizeDecision),
                ..ShapeFacts::default()
            },
        }
    }
}

fn route(app: &App, method: &Method, path: &str) -> Route {
    let here = app.endpoints_by_path.get(path);
    let is = |name: &str| here.is_some_and(|names| names.iter().any(|n| n == name));
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    match () {
        _ if path == "/" && get => Route::Index,
        _ if is("metadata") && get => Route::Metadata,
        _ if is("authorize") && get => Route::AuthorizePage,
        _ if is("authorize") && post => Route::AuthorizeDecision,
        _ if is("token") && post => Route::Token,
        _ if is("revoke") && post => Route::Revoke,
        _ if is("introspect") && post => Route::Introspect,
        _ if is("login") && get => Route::LoginPage,
        _ if is("login") && post => Route::Login,
        _ if is("logout") && post => Route::Logout,
        _ if is("me") && get => Route::Me,
        _ => Route::NotFound,
    }
}

async fn dispatch(
    app: &App,
    route: Route,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    match route {
        Route::Index => Ok(respond::html(StatusCode::OK, pages::index(app, ctx))),
        Route::Metadata => Ok(oauth::metadata(app, ctx)),
        Route::AuthorizePage => Ok(oauth::authorize_page(app, ctx)),
        Route::Token => oauth::token(app, ctx, body).await,
        Route::Revoke => oauth::revoke(app, ctx, body).await,
        Route::Introspect => oauth::introspect(app, ctx, body).await,
        Route::LoginPage => Ok(sign_in::login_page(app, ctx)),
        Route::Me => resource::me(app, ctx),
        // NotFound; the shell sent the form POSTs to dispatch_form_post.
        _ => Err(not_found(ctx)),
    }
}

/// Every route that serves a `[paths]` endpoint; a unit test proves `route` agrees.
const ENDPOINT_ROUTES: &[(&str, &str, ClientSource)] = &[
    ("GET", "metadata", ClientSource::None),
    ("GET", "authorize", ClientSource::None),
    ("POST", "authorize", ClientSource::None),
    ("POST", "token", ClientSource::OAuthBody),
    ("POST", "revoke", ClientSource::OAuthBody),
    ("POST", "introspect", ClientSource::OAuthBody),
    ("GET", "login", ClientSource::None),
    ("POST", "login", ClientSource::None),
    ("POST", "logout", ClientSource::None),
    ("GET", "me", ClientSource::Bearer),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_table_agrees_with_routing() {
        let app = App::new(crate::ServerConfig::flexslot()).expect("flexslot is served");
        for (method, endpoint, source) in ENDPOINT_ROUTES {
            let path = app.core.profile.path(endpoint);
            let facts = route(&app, &method.parse().unwrap(), path).facts();
            assert_eq!(facts.endpoint, Some(*endpoint), "{method} {path}");
            assert_eq!(facts.client_source, *source, "{method} {path}");
        }
    }
}
