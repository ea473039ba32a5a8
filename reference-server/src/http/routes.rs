//! Route tables (issue 20 item 4): a family declares each route once, as a [`Route`] in a
//! static table, and everything the shell needs derives from it: routing (method and the
//! profile's path to the handler), the methods a known path allows (405 and `Allow`), the
//! endpoint facts that rate limits and CSRF read, the `(method, endpoint)` list the
//! start-up check reads, the index page's links and the route lists in the docs
//! ([`describe`]).

use std::future::Future;
use std::pin::Pin;

use hyper::{Method, Response};
use profile::{PathTemplate, Profile};
use rustc_hash::FxHashMap;

use super::fault_layer::ShapeFacts;
use super::request::RequestBody;
use super::respond::Body;
use super::{App, Ctx};
use crate::core::error::ProtocolResult;

/// A handler's answer, as a boxed future so that handlers of every family fit one table.
pub type Answer<'a> = Pin<Box<dyn Future<Output = ProtocolResult<Response<Body>>> + Send + 'a>>;

/// How a route's handler is called.
#[derive(Clone, Copy)]
pub enum Serve {
    /// From the request's head alone (pages, bearer reads).
    Head(fn(&App, &Ctx) -> ProtocolResult<Response<Body>>),
    /// With the body, which it reads itself (OAuth endpoints, JSON APIs).
    Body(for<'a> fn(&'a App, &'a Ctx, RequestBody) -> Answer<'a>),
    /// A page form's POST: the shell reads the body and checks its CSRF token first
    /// (issue 12 item 6).
    Form(fn(&App, &Ctx, &[u8]) -> ProtocolResult<Response<Body>>),
}

/// A [`Serve::Body`] of an `async fn(&App, &Ctx, RequestBody)`.
macro_rules! body {
    ($handler:path) => {
        $crate::http::routes::Serve::Body(|app, ctx, body| Box::pin($handler(app, ctx, body)))
    };
}
pub(crate) use body;

/// Which paths a route serves, by the profile's endpoint names (`[paths]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutePath {
    /// `/`.
    Root,
    /// The endpoint's path exactly.
    Endpoint(&'static str),
    /// The endpoint's path template (`/users/{username}`): its one parameter is the
    /// request's [`Ctx::param`].
    Template(&'static str),
    /// `{endpoint}/{id}{suffix}`, the id in [`Ctx::param`] (`/developer/apps/{id}/secret`).
    Item(&'static str, &'static str),
    /// Any path at or under the endpoint's path, by segment, no route matching it first.
    Under(&'static str),
}

/// Where a route's requests name their client, for a `client_and_ip` limit (PP-RATE-4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSource {
    /// Nowhere: the route offers the IP only.
    #[default]
    None,
    /// The OAuth body (form or JSON) or HTTP Basic.
    OAuthBody,
    /// The bearer token's app. The route authenticates, so it offers the user too.
    Bearer,
}

/// One of a family's error layers: the envelope a route's errors are written in.
/// A family may have one (PP-ERR-1) or several, one per kind of endpoint (EN-TOKEN-2,
/// EN-INTRO-1, EN-API-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Layer(pub &'static str);

/// One route: a method and the paths it serves, its handler, and its facts.
#[derive(Clone, Copy)]
pub struct Route {
    /// `GET` (which serves `HEAD` too), `POST`, … or `*` for every method.
    pub method: &'static str,
    pub path: RoutePath,
    pub serve: Serve,
    /// Where its requests name their client (PP-RATE-4).
    pub client: ClientSource,
    /// The error layer its errors are written in.
    pub layer: Layer,
    /// A form POST that also answers JSON: exempt from the CSRF token with a JSON body.
    pub answers_json: bool,
    /// It may answer a page with a POST form (the shell mints the page's CSRF token).
    pub shows_forms: bool,
    /// What faults of shape need to know of its answer.
    pub shape: ShapeFacts,
    /// Its link's label on the index page, for a page people open themselves.
    pub index: Option<&'static str>,
    /// What it is, for the route lists in the docs.
    pub doc: &'static str,
}

impl Route {
    pub const fn new(method: &'static str, path: RoutePath, serve: Serve) -> Route {
        Route {
            method,
            path,
            serve,
            client: ClientSource::None,
            layer: Layer(""),
            answers_json: false,
            shows_forms: false,
            shape: ShapeFacts::NONE,
            index: None,
            doc: "",
        }
    }

    pub const fn get(path: RoutePath, serve: Serve) -> Route {
        Route::new("GET", path, serve)
    }

    pub const fn post(path: RoutePath, serve: Serve) -> Route {
        Route::new("POST", path, serve)
    }

    pub const fn client(mut self, client: ClientSource) -> Route {
        self.client = client;
        self
    }

    pub const fn layer(mut self, layer: Layer) -> Route {
        self.layer = layer;
        self
    }

    pub const fn answers_json(mut self) -> Route {
        self.answers_json = true;
        self
    }

    pub const fn shows_forms(mut self) -> Route {
        self.shows_forms = true;
        self
    }

    pub const fn shape(mut self, shape: ShapeFacts) -> Route {
        self.shape = shape;
        self
    }

    pub const fn index(mut self, label: &'static str) -> Route {
        self.index = Some(label);
        self
    }

    pub const fn doc(mut self, doc: &'static str) -> Route {
        self.doc = doc;
        self
    }

    /// The `[paths]` endpoint the route serves: what an endpoint rate limit matches.
    pub fn endpoint(&self) -> Option<&'static str> {
        match self.path {
            RoutePath::Endpoint(e) | RoutePath::Template(e) => Some(e),
            _ => None,
        }
    }

    /// A page form's POST (CSRF).
    pub fn is_form_post(&self) -> bool {
        matches!(self.serve, Serve::Form(_))
    }

    /// Whether it serves `method` (`GET` serves `HEAD`).
    fn serves(&self, method: &Method) -> bool {
        self.method == "*"
            || self.method == method.as_str()
            || (self.method == "GET" && method == Method::HEAD)
    }

    /// The methods it serves, as `Allow` names them.
    fn allow(&self) -> &'static str {
        match self.method {
            "GET" => "GET, HEAD",
            other => other,
        }
    }

    /// The path it serves under `profile`, as people read it; `None` when the profile has
    /// no path of its endpoint.
    pub fn path_in(&self, profile: &Profile) -> Option<String> {
        let path = |e: &str| profile.paths.get(e).cloned();
        Some(match self.path {
            RoutePath::Root => "/".to_owned(),
            RoutePath::Endpoint(e) | RoutePath::Template(e) => path(e)?,
            RoutePath::Item(e, suffix) => format!("{}/{{id}}{suffix}", path(e)?),
            RoutePath::Under(e) => format!("{}/*", path(e)?),
        })
    }
}

/// What a request's method and path resolve to.
pub enum Resolved {
    /// The route at this index of the family's table, and the path's parameter.
    Route(usize, Option<String>),
    /// A path some route serves, with another method: the methods it allows.
    WrongMethod(String),
    /// No route serves the path.
    Unrouted,
}

/// A family's table matched against the profile's paths, built once per server.
pub struct RouteTable {
    routes: &'static [Route],
    /// Exact paths (`/`, endpoints) to the routes serving them, in table order. FxHash: the
    /// table is fixed, so a request's path can make no collisions grow.
    exact: FxHashMap<String, Vec<usize>>,
    /// Each route's rate limit (its index in the profile), for a route of one path and one
    /// method; `None` for the others, looked up per request.
    limits: Vec<Option<Option<usize>>>,
    templates: Vec<(usize, String)>,
    items: Vec<(usize, String, &'static str)>,
    unders: Vec<(usize, String)>,
}

impl RouteTable {
    /// `routes` under `profile`'s paths. A route whose endpoint the profile has no path
    /// for is not served (a family's optional pages).
    pub fn new(routes: &'static [Route], profile: &Profile) -> RouteTable {
        let mut table = RouteTable {
            routes,
            exact: FxHashMap::default(),
            limits: routes.iter().map(|r| fixed_limit(r, profile)).collect(),
            templates: Vec::new(),
            items: Vec::new(),
            unders: Vec::new(),
        };
        for (i, route) in routes.iter().enumerate() {
            let path = |e: &str| profile.paths.get(e).cloned();
            match route.path {
                RoutePath::Root => table.exact.entry("/".into()).or_default().push(i),
                RoutePath::Endpoint(e) => {
                    if let Some(p) = path(e) {
                        table.exact.entry(p).or_default().push(i);
                    }
                }
                RoutePath::Template(e) => {
                    if let Some(p) = path(e) {
                        table.templates.push((i, p));
                    }
                }
                RoutePath::Item(e, suffix) => {
                    if let Some(p) = path(e) {
                        table.items.push((i, p, suffix));
                    }
                }
                RoutePath::Under(e) => {
                    if let Some(p) = path(e) {
                        table.unders.push((i, p));
                    }
                }
            }
        }
        table
    }

    pub fn route(&self, index: usize) -> &'static Route {
        &self.routes[index]
    }

    /// The route's rate limit when its path and method alone decide it (`Some`).
    pub fn limit_of(&self, index: usize) -> Option<Option<usize>> {
        self.limits.get(index).copied().flatten()
    }

    /// The route a request's method and path resolve to: an exact path with its method,
    /// then a template or an item path with its method, then a known path with another
    /// method (405, or what the family answers instead), then a path under a prefix route,
    /// else none.
    pub fn resolve(&self, method: &Method, path: &str) -> Resolved {
        let mut allow: Vec<&'static str> = Vec::new();
        if let Some(candidates) = self.exact.get(path) {
            for &i in candidates {
                if self.routes[i].serves(method) {
                    return Resolved::Route(i, None);
                }
                allow.push(self.routes[i].allow());
            }
        }
        for (i, template) in &self.templates {
            let Some(param) = PathTemplate::new(template)
                .matches(path)
                .and_then(|params| params.first().map(|(_, v)| (*v).to_owned()))
            else {
                continue;
            };
            if self.routes[*i].serves(method) {
                return Resolved::Route(*i, Some(param));
            }
            allow.push(self.routes[*i].allow());
        }
        for (i, prefix, suffix) in &self.items {
            let id = path
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|rest| rest.strip_suffix(suffix))
                .filter(|id| !id.is_empty() && !id.contains('/'));
            let Some(id) = id else { continue };
            if self.routes[*i].serves(method) {
                return Resolved::Route(*i, Some(id.to_owned()));
            }
            allow.push(self.routes[*i].allow());
        }
        if !allow.is_empty() {
            allow.dedup();
            return Resolved::WrongMethod(allow.join(", "));
        }
        for (i, prefix) in &self.unders {
            if profile::is_under_prefix(path, prefix) && self.routes[*i].serves(method) {
                return Resolved::Route(*i, None);
            }
        }
        Resolved::Unrouted
    }

    /// Every (method, endpoint, client source) the table serves: what the start-up check
    /// reads to refuse a profile limit the server could not key.
    pub fn endpoint_routes(&self) -> Vec<(&'static str, &'static str, ClientSource)> {
        self.routes
            .iter()
            .filter_map(|r| r.endpoint().map(|e| (r.method, e, r.client)))
            .collect()
    }

    /// The index page's links: (path, label).
    pub fn index_links(&self, profile: &Profile) -> Vec<(String, &'static str)> {
        self.routes
            .iter()
            .filter_map(|r| Some((r.path_in(profile)?, r.index?)))
            .collect()
    }
}

/// The limit that counts a route's requests, when its one path and method decide it:
/// the one lookup every request of it would make (`Profile::rate_limit_for`), made once.
fn fixed_limit(route: &Route, profile: &Profile) -> Option<Option<usize>> {
    let path = match route.path {
        RoutePath::Root => "/".to_owned(),
        RoutePath::Endpoint(e) => profile.paths.get(e)?.clone(),
        _ => return None,
    };
    if route.method == "*" {
        return None;
    }
    let limit = profile.rate_limit_for(route.method, route.endpoint(), &path);
    Some(limit.and_then(|l| profile.rate_limits.iter().position(|x| std::ptr::eq(x, l))))
}

/// A family's routes under `profile` as a Markdown table, as the docs list them.
pub fn describe(routes: &[Route], profile: &Profile) -> String {
    let mut out = String::from("| method | path | what |\n|---|---|---|\n");
    for route in routes {
        let Some(path) = route.path_in(profile) else {
            continue;
        };
        let method = match route.method {
            "*" => "any",
            other => other,
        };
        out.push_str(&format!("| {method} | `{path}` | {} |\n", route.doc));
    }
    out
}
