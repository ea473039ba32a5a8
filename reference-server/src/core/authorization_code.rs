//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636): the authorize
//! request's checks (PP-AUTHZ-1..6, FX-AUTHZ-1, FX-AUTHZ-2), the pending consent, the code
//! a decision issues (PP-AUTHZ-3, PP-AUTHZ-7), and the grant that redeems it at a token
//! endpoint (PP-TOKEN-1, PP-TOKEN-2, PP-AUTHZ-8; FX-TOKEN-2, FX-TOKEN-4), with the
//! components these rules call (which redirect URIs match, how a code is found, how long
//! it lives) and the faults that bend them. Where an error or a decision sends the
//! browser is the family's: the family formats the redirect.

use std::collections::{HashMap, VecDeque};

use super::clock::{Millis, secs};
use super::codes::{AuthorizationCode, Codes};
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::expiring::Expiring;
use super::fault::{Bends, FaultSpec, Shape};
use super::grants::TokenPair;
use super::pkce;
use super::registry::AppRecord;
use super::scope::{self, ScopeSet};
use super::secrets::random_token;
use super::token_endpoint::{GrantHandler, GrantRequest, grant_types};
use super::{Core, Mode, Params, client_auth};
use crate::core::fault::bends;

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

/// The code store the rules call.
pub fn code_store(bends: Bends) -> &'static dyn CodeStore {
    bends.pick::<dyn CodeStore>(&RedeemOnce)
}

/// `code_reusable` (PP-AUTHZ-8): the store forgets that a code was redeemed.
struct CodeReusable;

impl CodeStore for CodeReusable {
    fn find(&self, codes: &Codes, code: &str) -> Option<AuthorizationCode> {
        let mut record = RedeemOnce.find(codes, code)?;
        record.redeemed = None;
        Some(record)
    }
}

pub static CODE_REUSABLE: FaultSpec = FaultSpec::bending(
    "code_reusable",
    "PP-AUTHZ-8",
    "an authorization code can be redeemed more than once",
    bends!(dyn CodeStore = CodeReusable),
);

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

/// The redirect rule the rules call.
pub fn redirect_check(bends: Bends) -> &'static dyn RedirectCheck {
    bends.pick::<dyn RedirectCheck>(&ExactRedirects)
}

/// `open_redirect` (PP-AUTHZ-5): any redirect URI counts as registered.
struct OpenRedirect;

impl RedirectCheck for OpenRedirect {
    fn is_registered(&self, _app: &AppRecord, _redirect_uri: &str) -> bool {
        true
    }
}

pub static OPEN_REDIRECT: FaultSpec = FaultSpec::bending(
    "open_redirect",
    "PP-AUTHZ-5",
    "an unregistered redirect_uri gets a redirect instead of an error page",
    bends!(dyn RedirectCheck = OpenRedirect),
);

/// How long an authorization code lives, from the profile's lifetime (PP-AUTHZ-7: 600 s,
/// FX-TOKEN-4: 60 s). The default method is the contract.
pub trait CodeLifetime: Sync {
    fn seconds(&self, configured: u64) -> u64 {
        configured
    }
}

/// The profile's lifetime as written.
pub struct ConfiguredCodeLifetime;

impl CodeLifetime for ConfiguredCodeLifetime {}

/// The lifetime rule the rules call.
pub fn code_lifetime(bends: Bends) -> &'static dyn CodeLifetime {
    bends.pick::<dyn CodeLifetime>(&ConfiguredCodeLifetime)
}

pub static STATE_NOT_ECHOED: FaultSpec = FaultSpec::shaping(
    "state_not_echoed",
    "PP-AUTHZ-3",
    "the approval redirect drops `state`",
    Shape::ApprovalWithoutState,
);

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

impl Core {
    /// Validates `GET /oauth/authorize` (PP-AUTHZ-1, -4, -5, -6; PP-SCOPE-3). `repeated`
    /// names the parameters the query held more than once (RFC 6749 §4.1.2.1:
    /// `invalid_request`; a repeated client_id or redirect_uri cannot be redirected to).
    // The error is 128 bytes since ProtocolError carries EN-VALID-1's fields; it is made
    // once per refused authorize request, where boxing it would buy nothing measurable.
    #[allow(clippy::result_large_err)]
    pub fn validate_authorize(
        &self,
        params: &Params,
        repeated: &[String],
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let bends = self.bends();
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
        if !redirect_check(bends).is_registered(app, redirect_uri) {
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
        if !client_auth::app_activity(bends).allows(app) {
            return Err(redirect(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                "This app is inactive.",
            )));
        }
        // FX-AUTHZ-1: a client not configured for the code grant (apps that name no grant
        // types are configured for all).
        if !grant_types(bends).allows(app, "authorization_code") {
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
        super::notes::note(|n| {
            n.authorization = Some(super::notes::PkceSeen::of(
                get("code_challenge"),
                get("code_challenge_method"),
            ))
        });
        pkce::policy(bends)
            .check_challenge(get("code_challenge"), get("code_challenge_method"))
            .map_err(redirect)?;
        let scopes = scope::policy(bends)
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

    /// Approval of a validated request by `user`: a fresh code bound to the request, and
    /// the `Location` that takes it to the client with `code`, `state` (if sent) and
    /// `scope` (PP-AUTHZ-3, PP-AUTHZ-7). A denial's redirect is the family's to write.
    pub fn issue_code(&self, user: &str, request: &ValidAuthorization) -> String {
        let bends = self.bends();
        let code = random_token(&self.profile.tokens.code);
        let lifetime = code_lifetime(bends).seconds(self.profile.lifetimes.authorization_code);
        let expires_at = self.now() + secs(lifetime);
        self.lock().codes.insert(
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

/// `grant_type=authorization_code` at a token endpoint (PP-TOKEN-1, PP-TOKEN-2,
/// PP-AUTHZ-7, PP-AUTHZ-8; FX-TOKEN-2, FX-TOKEN-4). A `redirect_uri` that differs from the
/// one sent to the authorize endpoint is `redirect_mismatch`: `invalid_grant` as RFC 6749
/// §5.2 names it ([`AuthorizationCodeGrant::RFC_6749`]), or what a family documents.
pub struct AuthorizationCodeGrant {
    pub redirect_mismatch: ErrorCode,
}

impl AuthorizationCodeGrant {
    pub const RFC_6749: AuthorizationCodeGrant = AuthorizationCodeGrant {
        redirect_mismatch: ErrorCode::InvalidGrant,
    };
}

impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> &'static str {
        "authorization_code"
    }

    /// Redeems the code for the authenticated client.
    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let code = g
            .param("code")
            .ok_or_else(|| ProtocolError::invalid_request("code is required."))?;
        let redirect_uri = g
            .param("redirect_uri")
            .ok_or_else(|| ProtocolError::invalid_request("redirect_uri is required."))?;
        let verifier = g
            .param("code_verifier")
            .ok_or_else(|| ProtocolError::invalid_request("code_verifier is required (PKCE)."))?;
        pkce::check_verifier_format(verifier)?;

        let bad = || {
            ProtocolError::invalid_grant(
                "The authorization code is invalid, expired, already used, or was issued for another client or redirect URI.",
            )
        };
        let record = code_store(g.bends).find(g.codes, code).ok_or_else(bad)?;
        if record.expires_at <= g.now || record.client_id != g.client.client_id {
            return Err(bad());
        }
        if let Some(grant) = record.redeemed {
            // PP-AUTHZ-8: a second redemption revokes what the first one issued.
            g.tokens.revoke(grant);
            return Err(bad());
        }
        if !redirect_check(g.bends).same_redirect(&record.redirect_uri, redirect_uri) {
            super::notes::note(|n| n.redirect_mismatch = true);
            return Err(ProtocolError::new(
                self.redirect_mismatch,
                "redirect_uri differs from the one sent to the authorize endpoint.",
            ));
        }
        if !pkce::policy(g.bends).verifies(verifier, &record.challenge, record.challenge_is_plain) {
            return Err(ProtocolError::invalid_grant(
                "code_verifier does not match the code_challenge.",
            ));
        }
        let grant = g
            .tokens
            .create(&record.user, &g.client.client_id, record.scopes.clone());
        if let Some(c) = g.codes.get_mut(code) {
            c.redeemed = Some(grant);
        }
        Ok(g.issue(grant, &record.scopes))
    }
}
