//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636; PP-AUTHZ-*,
//! PP-TOKEN-1..3).

use std::collections::{HashMap, VecDeque};

use super::clock::{Millis, secs};
use super::error::{ErrorCode, ProtocolError};
use super::expiring::Expiring;
use super::grants::GrantId;
use super::registry::AppRecord;
use super::scope::ScopeSet;
use super::secrets::random_token;
use super::{Core, Mode, Params};

/// An issued code, bound to the client, redirect URI and challenge (PP-AUTHZ-7).
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub challenge_is_plain: bool,
    pub scopes: ScopeSet,
    pub user: String,
    pub expires_at: Millis,
    /// The grant its redemption created; a second redemption revokes it (PP-AUTHZ-8).
    pub redeemed: Option<GrantId>,
}

/// The codes issued and not yet expired, by code. A redeemed code stays, marked, so a
/// second redemption can revoke what the first issued (PP-AUTHZ-8).
pub type Codes = Expiring<String, Box<AuthorizationCode>>;

/// How the token endpoint finds a code; [`RedeemOnce`] is the rule.
pub trait CodeStore: Sync {
    /// The code's record as redemption sees it, `redeemed` included.
    fn find(&self, codes: &Codes, code: &str) -> Option<AuthorizationCode>;
}

/// PP-AUTHZ-8: a code remembers its redemption, so it is redeemed once.
pub struct RedeemOnce;

impl CodeStore for RedeemOnce {
    fn find(&self, codes: &Codes, code: &str) -> Option<AuthorizationCode> {
        codes.get(code).map(|c| (**c).clone())
    }
}

/// Whether a redirect URI is one the app registered; [`ExactRedirects`] is the rule.
pub trait RedirectCheck: Sync {
    fn is_registered(&self, app: &AppRecord, redirect_uri: &str) -> bool;

    /// Whether the token request's `redirect_uri` is the one the code was issued for,
    /// byte for byte (RFC 6749 §4.1.3; PP-AUTHZ-7, FX-TOKEN-2).
    fn same_redirect(&self, issued_for: &str, sent: &str) -> bool {
        issued_for == sent
    }
}

/// PP-AUTHZ-5: registered byte for byte.
pub struct ExactRedirects;

impl RedirectCheck for ExactRedirects {
    fn is_registered(&self, app: &AppRecord, redirect_uri: &str) -> bool {
        app.redirect_uris.iter().any(|r| r == redirect_uri)
    }
}

/// An authorize request shown to a signed-in user and waiting for approve or deny. Its id
/// travels in the approval form and is bound to the session that saw the page.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub session: String,
    pub request: ValidAuthorization,
    pub expires_at: Millis,
}

/// The most pending authorizations kept at once, and per browser session (issue 12
/// item 1); past either, the oldest is forgotten (its approval form then answers that
/// the request expired, and the app starts again).
pub const MAX_PENDING: usize = 10_000;
pub const MAX_PENDING_PER_SESSION: usize = 16;
/// The least time a consent page waits for its decision, in seconds (DECIDED).
pub const MIN_CONSENT_SECS: u64 = 600;
/// The longest `state` accepted: it is stored with the pending request and echoed in the
/// redirect. Longer is `invalid_request` (issue 12 item 1).
pub const MAX_STATE_LEN: usize = 1024;

/// Pending authorizations by id, with each session's ids oldest first.
#[derive(Debug)]
pub struct PendingAuthorizations {
    by_id: Expiring<String, PendingAuthorization>,
    by_session: HashMap<String, VecDeque<String>>,
}

impl Default for PendingAuthorizations {
    fn default() -> Self {
        PendingAuthorizations {
            by_id: Expiring::new(MAX_PENDING),
            by_session: HashMap::new(),
        }
    }
}

impl PendingAuthorizations {
    fn insert(&mut self, id: String, pending: PendingAuthorization) {
        let ids = self.by_session.entry(pending.session.clone()).or_default();
        if ids.len() >= MAX_PENDING_PER_SESSION
            && let Some(oldest) = ids.pop_front()
        {
            self.by_id.remove(&oldest);
        }
        ids.push_back(id.clone());
        let expires_at = pending.expires_at;
        if let Some((old_id, old)) = self.by_id.insert(id, pending, expires_at) {
            self.unlist(&old.session, &old_id);
        }
    }

    fn unlist(&mut self, session: &str, id: &str) {
        if let Some(ids) = self.by_session.get_mut(session) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.by_session.remove(session);
            }
        }
    }

    fn get(&self, id: &str) -> Option<&PendingAuthorization> {
        self.by_id.get(id)
    }

    fn remove(&mut self, id: &str) -> Option<PendingAuthorization> {
        let pending = self.by_id.remove(id)?;
        self.unlist(&pending.session, id);
        Some(pending)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Forgets expired requests, at most `budget`; answers whether none due is left.
    pub fn purge(&mut self, now: Millis, budget: usize) -> bool {
        let mut gone = Vec::new();
        let done = self
            .by_id
            .purge(now, budget, |id, p| gone.push((p.session, id)));
        for (session, id) in gone {
            self.unlist(&session, &id);
        }
        done
    }
}

/// An authorize request that passed every check (PP-AUTHZ-1).
#[derive(Debug, Clone)]
pub struct ValidAuthorization {
    pub client_id: String,
    pub app_name: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub challenge_is_plain: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
}

/// Why an authorize request failed, and how the browser learns of it.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// Unknown client or unregistered redirect URI: a 400 HTML page, never a redirect
    /// (PP-AUTHZ-5).
    Page(ProtocolError),
    /// Anything else: a redirect to the client with `error`, `state`, `request_id`
    /// (PP-AUTHZ-4).
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: ProtocolError,
    },
}

/// Adds query parameters to a redirect URI, keeping the ones it already has.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

impl AuthorizeError {
    /// The `Location` of an error redirect (PP-AUTHZ-4); `None` for a page error.
    pub fn location(&self, request_id: &str, without_request_id: bool) -> Option<String> {
        let AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } = self
        else {
            return None;
        };
        let mut params = vec![("error", error.code.as_str())];
        if let Some(state) = state {
            params.push(("state", state));
        }
        if !without_request_id {
            params.push(("request_id", request_id));
        }
        Some(redirect_with(redirect_uri, &params))
    }
}

impl Core {
    /// Validates `GET /oauth/authorize` (PP-AUTHZ-1, -4, -5, -6; PP-SCOPE-3). `repeated`
    /// names the parameters the query held more than once (RFC 6749 §4.1.2.1:
    /// `invalid_request`; a repeated client_id or redirect_uri cannot be redirected to).
    pub fn validate_authorize(
        &self,
        params: &Params,
        repeated: &[String],
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let rules = self.components();
        let state_guard = self.lock();
        let get = |k: &str| params.get(k).map(String::as_str);
        let page = |m: &str| AuthorizeError::Page(ProtocolError::invalid_request(m));

        if repeated
            .iter()
            .any(|k| k == "client_id" || k == "redirect_uri")
        {
            return Err(page(
                "The request repeats client_id or redirect_uri, so it cannot be sent back to the app safely.",
            ));
        }

        let Some(client_id) = get("client_id").filter(|c| !c.is_empty()) else {
            return Err(page(
                "The request has no client_id, so it cannot be sent back to the app.",
            ));
        };
        let Some(app) = state_guard.registry.apps.get(client_id) else {
            return Err(page(
                "The client_id is not a registered app. Check the app's client_id.",
            ));
        };
        let Some(redirect_uri) = get("redirect_uri").filter(|r| !r.is_empty()) else {
            return Err(page(
                "The request has no redirect_uri. Send one of the app's registered redirect URIs.",
            ));
        };
        // PP-AUTHZ-5: registered byte-for-byte, or no redirect at all.
        if !rules.redirects.is_registered(app, redirect_uri) {
            return Err(page(
                "The redirect_uri is not registered for this app (it must match byte for byte).",
            ));
        }
        if get("state").is_some_and(|s| s.len() > MAX_STATE_LEN) {
            // Not echoed: the redirect would carry the oversized value back.
            return Err(AuthorizeError::Redirect {
                redirect_uri: redirect_uri.to_owned(),
                state: None,
                error: ProtocolError::invalid_request(format!(
                    "state is longer than {MAX_STATE_LEN} bytes; send a shorter one."
                )),
            });
        }
        let state = get("state").map(str::to_owned);
        let redirect = |error: ProtocolError| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            error,
        };
        if let Some(key) = repeated.first() {
            return Err(redirect(ProtocolError::invalid_request(format!(
                "The parameter `{key}` is repeated; send each parameter once."
            ))));
        }
        match self.mode() {
            Mode::Normal => {}
            Mode::TemporarilyUnavailable => {
                return Err(redirect(ProtocolError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The server is temporarily unavailable.",
                )));
            }
            Mode::ServerError => {
                return Err(redirect(ProtocolError::new(
                    ErrorCode::ServerError,
                    "A server error happened.",
                )));
            }
        }
        // PP-APP-4: an inactive app, or one with no redirect URIs for this flow.
        if !rules.activity.allows(app) {
            return Err(redirect(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                "This app is inactive.",
            )));
        }
        // FX-AUTHZ-1: a client not configured for the code grant (apps that name no grant
        // types, as punchplay's, are configured for all).
        if !rules.grant_types.allows(app, "authorization_code") {
            return Err(redirect(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                "This client is not configured for the authorization_code grant.",
            )));
        }
        match get("response_type") {
            Some("code") => {}
            None | Some("") => {
                return Err(redirect(ProtocolError::invalid_request(
                    "response_type is required and must be `code`.",
                )));
            }
            Some(other) => {
                return Err(redirect(ProtocolError::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type `{other}` is not supported; use `code`."),
                )));
            }
        }
        rules
            .pkce
            .check_challenge(get("code_challenge"), get("code_challenge_method"))
            .map_err(redirect)?;
        let scopes = rules
            .scopes
            .grant(
                get("scope"),
                &app.allowed_scopes,
                &self.profile.scopes.known,
            )
            .map_err(redirect)?;
        Ok(ValidAuthorization {
            client_id: client_id.to_owned(),
            app_name: app.name.clone(),
            redirect_uri: redirect_uri.to_owned(),
            challenge: get("code_challenge").unwrap_or_default().to_owned(),
            challenge_is_plain: get("code_challenge_method") == Some("plain"),
            scopes,
            state,
        })
    }

    /// Remembers a validated request shown to `session`; answers the id for the form. It
    /// waits for the person's decision as long as a code lives, and at least
    /// [`MIN_CONSENT_SECS`]: a 60-second code (FX-TOKEN-4) starts at the decision, not at
    /// the page.
    pub fn begin_consent(&self, session: &str, request: ValidAuthorization) -> String {
        let id = random_token("ppar_");
        let wait = self
            .profile
            .lifetimes
            .authorization_code
            .max(MIN_CONSENT_SECS);
        let expires_at = self.now() + secs(wait);
        self.lock().pending.insert(
            id.clone(),
            PendingAuthorization {
                session: session.to_owned(),
                request,
                expires_at,
            },
        );
        id
    }

    /// The pending request `id`, if it belongs to `session` and is still fresh.
    pub fn take_pending(&self, session: &str, id: &str) -> Option<ValidAuthorization> {
        let now = self.now();
        let mut state = self.lock();
        match state.pending.get(id) {
            Some(p) if p.session == session && p.expires_at > now => {
                state.pending.remove(id).map(|p| p.request)
            }
            _ => None,
        }
    }

    /// The user's decision on a validated request: the `Location` the browser gets
    /// (PP-AUTHZ-3 on approval, PP-AUTHZ-4 `access_denied` on denial).
    pub fn decide_authorization(
        &self,
        user: &str,
        request: &ValidAuthorization,
        approve: bool,
        request_id: &str,
    ) -> String {
        if !approve {
            let mut params = vec![("error", "access_denied")];
            if let Some(s) = request.state.as_deref() {
                params.push(("state", s));
            }
            params.push(("request_id", request_id));
            return redirect_with(&request.redirect_uri, &params);
        }
        let rules = self.components();
        let mut state = self.lock();
        let code = random_token("ppac_");
        let lifetime = rules
            .code_lifetime
            .seconds(self.profile.lifetimes.authorization_code);
        let expires_at = self.now() + secs(lifetime);
        state.codes.insert(
            code.clone(),
            Box::new(AuthorizationCode {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                challenge: request.challenge.clone(),
                challenge_is_plain: request.challenge_is_plain,
                scopes: request.scopes.clone(),
                user: user.to_owned(),
                expires_at,
                redeemed: None,
            }),
            expires_at,
        );
        let scope = request.scopes.to_wire();
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = request.state.as_deref() {
            params.push(("state", s));
        }
        params.push(("scope", scope.as_str()));
        redirect_with(&request.redirect_uri, &params)
    }
}
