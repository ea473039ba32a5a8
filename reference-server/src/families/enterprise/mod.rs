//! The enterprise family as this server serves it (seed 003): a client-credentials token
//! endpoint, introspection and revocation (`oauth`), company-scoped routes under `/api`
//! (`api`), and an error envelope per layer (`envelope`), served to the shell as
//! [`Enterprise`], a `ServedFamily`. The rules are the core's (`core/enterprise.rs`,
//! `core/client_credentials.rs`); the `/api/` limit (EN-RATE-1) is the shell's.

mod api;
mod envelope;
mod oauth;

use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Response};

use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::http::family::{Answer, FamilyRoute, Layer, Matched, RouteFacts, ServedFamily};
use crate::http::request::{OAuthInput, RequestBody};
use crate::http::respond::{self, Body};
use crate::http::{App, ClientSource, Ctx};

/// Enterprise as the shell serves it.
pub struct Enterprise;

/// What a request is, once its method and path are matched against the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Token,
    Introspect,
    Revoke,
    Tags,
    /// Under the `api` path, but no route: authenticated, then 404.
    ApiUnknown,
    /// A known path with another method: 405 with the methods it allows.
    WrongMethod(&'static str),
    NotFound,
}

impl Route {
    fn endpoint(self) -> Option<&'static str> {
        match self {
            Route::Token => Some("token"),
            Route::Introspect => Some("introspect"),
            Route::Revoke => Some("revoke"),
            Route::Tags => Some("tags"),
            _ => None,
        }
    }

    fn layer(self) -> Layer {
        match self {
            Route::Token => envelope::TOKEN,
            Route::Introspect | Route::Revoke => envelope::TOKEN_CHECK,
            _ => envelope::API,
        }
    }

    /// Where the route's requests name their client: the token body. A bearer token
    /// here is a client-credential token, which the shell's user and client limit keys
    /// (punchplay's grants) do not read, so `/api` routes offer the IP only.
    fn client_source(self) -> ClientSource {
        match self {
            Route::Token => ClientSource::OAuthBody,
            _ => ClientSource::None,
        }
    }

    fn facts(self) -> RouteFacts {
        RouteFacts {
            endpoint: self.endpoint(),
            client_source: self.client_source(),
            layer: self.layer(),
            ..RouteFacts::default()
        }
    }
}

fn route(app: &App, method: &Method, path: &str) -> Route {
    let profile = &app.core.profile;
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let here = app.endpoints_by_path.get(path);
    let is = |name: &str| here.is_some_and(|names| names.iter().any(|n| n == name));
    // A known path with another method is 405, naming the methods it allows.
    let served = |route, allowed: bool, allow| {
        if allowed {
            route
        } else {
            Route::WrongMethod(allow)
        }
    };
    match () {
        _ if is("token") => served(Route::Token, post, "POST"),
        _ if is("introspect") => served(Route::Introspect, post, "POST"),
        _ if is("revoke") => served(Route::Revoke, post, "POST"),
        _ if is("tags") => served(Route::Tags, get, "GET, HEAD"),
        _ if profile::is_under_prefix(path, profile.path("api")) => Route::ApiUnknown,
        _ => Route::NotFound,
    }
}

/// Serves a matched route. Errors of the token, introspect and revoke layers are written
/// here, members in the vendor's order; the shell writes the rest (`{message}` only).
async fn dispatch(
    app: &App,
    route: Route,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    let answer = match route {
        Route::Token => oauth::token(app, ctx, body).await,
        Route::Introspect => oauth::introspect(app, ctx, body).await,
        Route::Revoke => oauth::revoke(app, ctx, body).await,
        Route::Tags => api::tags(app, ctx),
        Route::ApiUnknown => api::unknown(app, ctx),
        Route::WrongMethod(allow) => {
            // The profile's [errors] names no 405: it is HTTP's, not the vendor's.
            let e = ProtocolError::new(ErrorCode::MethodNotAllowed, "Method not allowed.")
                .with_status(405);
            let mut res = app.error_response(&e, ctx);
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return Ok(res);
        }
        Route::NotFound => Err(ProtocolError::not_found("Not found.")),
    };
    match answer {
        Err(e) if ctx.layer != envelope::API => {
            let mut res = app.error_response(&e, ctx);
            *res.body_mut() = respond::full(envelope::error_bytes(ctx.layer, &e));
            Ok(res)
        }
        other => other,
    }
}

impl ServedFamily for Enterprise {
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
                Err(_) => Err(ProtocolError::not_found("Not found.")),
            }
        })
    }

    /// Enterprise has no page forms.
    fn dispatch_form_post(
        &self,
        _app: &App,
        _route: FamilyRoute,
        _ctx: &Ctx,
        _body: &[u8],
    ) -> ProtocolResult<Response<Body>> {
        Err(ProtocolError::not_found("Not found."))
    }

    fn endpoint_routes(&self) -> &'static [(&'static str, &'static str, ClientSource)] {
        ENDPOINT_ROUTES
    }

    fn oauth_input(&self, headers: &hyper::HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
        oauth::oauth_input(headers, body)
    }

    fn error_body(
        &self,
        layer: Layer,
        error: &ProtocolError,
        _request_id: &str,
    ) -> serde_json::Value {
        envelope::error_body(layer, error)
    }

    fn challenge(&self, _layer: Layer, _error: &ProtocolError) -> Option<String> {
        None
    }
}

/// Every route that serves a `[paths]` endpoint: its method, the endpoint and where its
/// requests name their client. A unit test proves `route` agrees with it.
const ENDPOINT_ROUTES: &[(&str, &str, ClientSource)] = &[
    ("POST", "token", ClientSource::OAuthBody),
    ("POST", "introspect", ClientSource::None),
    ("POST", "revoke", ClientSource::None),
    ("GET", "tags", ClientSource::None),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;

    fn app() -> App {
        App::new(ServerConfig::enterprise()).expect("the enterprise profile is served")
    }

    #[test]
    fn the_endpoint_table_agrees_with_routing() {
        let app = app();
        for (method, endpoint, source) in ENDPOINT_ROUTES {
            let path = app.core.profile.path(endpoint);
            let facts = route(&app, &method.parse().unwrap(), path).facts();
            assert_eq!(facts.endpoint, Some(*endpoint), "{method} {path}");
            assert_eq!(facts.client_source, *source, "{method} {path}");
        }
    }

    #[test]
    fn unknown_paths_under_api_are_told_from_paths_outside_it() {
        let app = app();
        let get = Method::GET;
        assert_eq!(route(&app, &get, "/api/tags"), Route::Tags);
        assert_eq!(route(&app, &Method::HEAD, "/api/tags"), Route::Tags);
        assert_eq!(route(&app, &get, "/api/nope"), Route::ApiUnknown);
        assert_eq!(route(&app, &get, "/api"), Route::ApiUnknown);
        assert_eq!(route(&app, &get, "/apix"), Route::NotFound);
        assert_eq!(
            route(&app, &Method::DELETE, "/api/tags"),
            Route::WrongMethod("GET, HEAD")
        );
        assert_eq!(
            route(&app, &get, "/oauth/revoke"),
            Route::WrongMethod("POST")
        );
    }
}
