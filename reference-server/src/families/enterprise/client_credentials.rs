//! The client-credentials grant as enterprise documents it (RFC 6749 §4.4; EN-TOKEN-1..4,
//! EN-VALID-1): `POST /oauth/access-token` with `client_id` and `client_secret` in JSON,
//! validated before anything else (EN-VALID-1), served by the kernel's token endpoint with
//! enterprise's authenticator (EN-TOKEN-2) and grant (EN-TOKEN-3, EN-TOKEN-4); the tokens
//! it issues, kept in enterprise's own table ([`ClientTokens`]); the rules these call and
//! the faults that bend them.
//!
//! Bounds (issue 12 item 1): tokens are kept under their [`TokenKey`] (a SHA-256 prefix,
//! never the value), at most [`MAX_CLIENT_TOKENS`] in all and [`MAX_TOKENS_PER_CLIENT`]
//! per client; past either bound the oldest token is forgotten, which only ends it early.
//! Tokens share one lifetime, so they expire in the order they were issued and
//! [`ClientTokens::purge`] drops what expired in work proportional to it.

use std::collections::VecDeque;
use std::sync::Arc;

use hyper::{Response, StatusCode};

use super::EnterpriseState;
use super::body::{Field, Fields, body_fields, field};
use super::envelope::INACTIVE_ENTERPRISE;
use crate::core::client_auth::{ClientAuthenticator, ClientCredentials, secret_check};
use crate::core::clock::{Millis, secs};
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::expiring::Expiring;
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec, Shape};
use crate::core::grants::{MintedToken, TokenKey, TokenPair};
use crate::core::registry::{AppRecord, Registry};
use crate::core::scope::{self, ScopeSet};
use crate::core::token_endpoint::{
    GrantEndpoint, GrantHandler, GrantRequest, GrantTypeParam, Issues, Order,
};
use crate::core::{Mode, Params};
use crate::http::pack::MintRequest;
use crate::http::request::RequestBody;
use crate::http::respond::{self, Body, JsonText};
use crate::http::{App, Ctx};

const INVALID_CLIENT: &str = "Client authentication failed. Check client ID/secret.";

/// `POST /oauth/access-token`: one grant, no `grant_type` (seed 003 documents none).
pub static TOKEN: GrantEndpoint = GrantEndpoint {
    handlers: &[&ClientCredentialsGrant],
    grant_type: GrantTypeParam::Implied,
    order: Order::GrantTypeFirst,
    authenticator: &SecretInBody,
    issues: Issues::AccessToken,
};

/// EN-TOKEN-1's answer, `{success, message, data: {access_token, token_type, expires_in,
/// scope}}`, written by hand: it is the hot path of issuance (issue 20 item 8); a test
/// holds it to the serde shape.
fn issued_answer(
    access_token: &str,
    token_type: &str,
    expires_in: u64,
    scope: &str,
) -> bytes::Bytes {
    let mut out = JsonText::new();
    out.raw(r#"{"success":true,"message":"Access token issued.","data":{"access_token":"#)
        .string(access_token)
        .raw(r#","token_type":"#)
        .string(token_type)
        .raw(r#","expires_in":"#)
        .number(expires_in)
        .raw(r#","scope":"#)
        .string(scope)
        .raw("}}");
    out.into_bytes()
}

/// `POST /oauth/access-token`: the failure mode (`/__test/mode`), then validation before
/// authentication (EN-VALID-1), then the kernel's token endpoint (EN-TOKEN-1..4).
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await;
    match app.core.mode() {
        Mode::Normal => {}
        Mode::ServerError => {
            return Err(ProtocolError::new(ErrorCode::ServerError, "Server error."));
        }
        Mode::TemporarilyUnavailable => {
            return Err(ProtocolError::new(
                ErrorCode::TemporarilyUnavailable,
                "Service temporarily unavailable.",
            ));
        }
    }
    let bytes = bytes?;
    let fields = body_fields(&ctx.headers, &bytes);
    let mut validation = Validation::default();
    let client_id = validation.required(&fields, "client_id");
    let client_secret = validation.required(&fields, "client_secret");
    let scope = validation.optional(&fields, "scope");
    let (Some(client_id), Some(client_secret), true) =
        (client_id, client_secret, validation.passed())
    else {
        return Err(validation.into_error(app.core.bends()));
    };
    let mut params = Params::new();
    if let Some(scope) = scope {
        params.insert("scope".to_owned(), scope.to_owned());
    }
    let creds = ClientCredentials {
        client_id: Some(client_id.to_owned()),
        client_secret: Some(client_secret.to_owned()),
        via_basic: false,
    };
    let issued = app.core.serve_grant(&TOKEN, &params, &creds)?;
    // RFC 6749 §5.1: a token answer is never cached.
    Ok(respond::no_store(respond::json_bytes(
        StatusCode::OK,
        issued_answer(
            &issued.access_token,
            issued.token_type,
            issued.expires_in,
            issued.scope.as_deref().unwrap_or_default(),
        ),
    )))
}

/// EN-TOKEN-2: a wrong client id or secret is `invalid_client` (an unknown client_id the
/// same answer); the secret compared as a SHA-256 digest in constant time (PP-APP-6's
/// rule). Whether the client's enterprise is active is the grant's (EN-TOKEN-3 comes after
/// the secret).
pub struct SecretInBody;

impl ClientAuthenticator for SecretInBody {
    fn authenticate<'r>(
        &self,
        registry: &'r Registry,
        creds: &ClientCredentials,
        bends: Bends,
    ) -> ProtocolResult<&'r AppRecord> {
        let invalid_client = || ProtocolError::new(ErrorCode::InvalidClient, INVALID_CLIENT);
        let app = creds
            .client_id
            .as_deref()
            .and_then(|id| registry.apps.get(id))
            .ok_or_else(invalid_client)?;
        if !secret_check(bends).accepts(app, creds.client_secret.as_deref()) {
            return Err(invalid_client());
        }
        Ok(app)
    }
}

/// The client-credentials grant (EN-TOKEN-1, EN-TOKEN-3, EN-TOKEN-4): an active
/// enterprise's client gets a token of the scopes it asks among its own (all of them when
/// it asks none), kept in enterprise's table.
pub struct ClientCredentialsGrant;

impl GrantHandler for ClientCredentialsGrant {
    fn grant_type(&self) -> &'static str {
        "client_credentials"
    }

    fn handle(&self, mut g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let (client, bends, now, profile) = (g.client, g.bends, g.now, g.profile);
        let scope = g.param("scope");
        let lifetime = profile.lifetimes.access_token;
        let minted = g.access_token();
        let state: &mut EnterpriseState = g.family();
        let active = state.directory.enterprise_active(&client.client_id);
        if !activity(bends).issues_to(active) {
            return Err(ProtocolError::new(
                INACTIVE_ENTERPRISE,
                "Inactive enterprise.",
            ));
        }
        let scopes =
            scope::policy(bends).grant(scope, &client.allowed_scopes, &profile.scopes.known)?;
        let scope = scopes.to_wire();
        state
            .tokens
            .issue(&minted, &client.client_id, scopes, now + secs(lifetime));
        Ok(TokenPair {
            access_token: minted.value,
            token_type: "Bearer",
            expires_in: lifetime,
            refresh_token: String::new(),
            scope: Some(scope),
        })
    }
}

/// `POST /__test/tokens` for enterprise (issue 21 item 2): the token the grant issues
/// the client (no user: EN-TOKEN-1 is client credentials), stored as the grant stores it,
/// refused as it refuses an inactive enterprise (EN-TOKEN-3). Answers the members of
/// EN-TOKEN-1's `data`.
pub fn mint(app: &App, request: &MintRequest) -> ProtocolResult<serde_json::Value> {
    if request.username.is_some() {
        return Err(ProtocolError::invalid_request(
            "Enterprise tokens are a client's own (client credentials, EN-TOKEN-1); leave out username.",
        ));
    }
    let core = &app.core;
    let lifetime = core.profile.lifetimes.access_token;
    let minted = MintedToken::new(&core.profile.tokens.access);
    let now = core.now();
    core.with_family_and_registry(|registry, state: &mut EnterpriseState| {
        let (client, scopes) =
            core.mintable_app(registry, &request.client_id, request.scopes.as_deref())?;
        if !state.directory.enterprise_active(&client.client_id) {
            return Err(ProtocolError::invalid_request(format!(
                "The enterprise of `{}` is inactive: it gets no tokens (EN-TOKEN-3). Activate it first.",
                client.client_id
            )));
        }
        let scope = scopes.to_wire();
        state
            .tokens
            .issue(&minted, &client.client_id, scopes, now + secs(lifetime));
        Ok(serde_json::json!({
            "access_token": minted.value,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        }))
    })
}

/// The most client-credential tokens kept at once, over every client.
pub const MAX_CLIENT_TOKENS: usize = 100_000;
/// The most one client holds at once; its oldest is forgotten to make room.
pub const MAX_TOKENS_PER_CLIENT: usize = 10_000;

/// A live client-credential token as the rules see it.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub client_id: Arc<str>,
    pub scopes: ScopeSet,
    pub expires_at: Millis,
}

#[derive(Debug)]
pub struct ClientTokens {
    /// Keyed by digests of server-minted tokens: FxHash (`core/grants.rs` says why).
    tokens: Expiring<TokenKey, ClientToken, rustc_hash::FxBuildHasher>,
    /// Each client's tokens, oldest first, for the per-client bound. An entry whose token
    /// ended early (revoked, evicted) stays until it reaches the front. FxHash: only an
    /// authenticated client's id is ever a key, so no caller chooses keys.
    by_client: rustc_hash::FxHashMap<Arc<str>, VecDeque<TokenKey>>,
}

impl Default for ClientTokens {
    fn default() -> Self {
        ClientTokens {
            tokens: Expiring::with_hasher(MAX_CLIENT_TOKENS, rustc_hash::FxBuildHasher),
            by_client: rustc_hash::FxHashMap::default(),
        }
    }
}

impl ClientTokens {
    /// Stores `minted` for `client_id` until `expires_at`.
    pub fn issue(
        &mut self,
        minted: &MintedToken,
        client_id: &str,
        scopes: ScopeSet,
        expires_at: Millis,
    ) {
        let client: Arc<str> = self
            .by_client
            .get_key_value(client_id)
            .map_or_else(|| Arc::from(client_id), |(k, _)| k.clone());
        let token = ClientToken {
            client_id: client.clone(),
            scopes,
            expires_at,
        };
        if let Some((_, evicted)) = self.tokens.insert(minted.key, token, expires_at) {
            self.forget_front_of(&evicted.client_id);
        }
        let queue = self.by_client.entry(client).or_default();
        queue.push_back(minted.key);
        if queue.len() > MAX_TOKENS_PER_CLIENT
            && let Some(oldest) = queue.pop_front()
        {
            self.tokens.remove(&oldest);
        }
    }

    /// The token stored under `key`, expired or not.
    pub fn get(&self, key: &TokenKey) -> Option<&ClientToken> {
        self.tokens.get(key)
    }

    /// Forgets the token under `key`; answers whether there was one.
    pub fn remove(&mut self, key: &TokenKey) -> bool {
        self.tokens.remove(key).is_some()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Drops tokens that expired by `now`, at most `budget`; answers whether none due is
    /// left.
    pub fn purge(&mut self, now: Millis, budget: usize) -> bool {
        let mut expired_clients = Vec::new();
        let done = self.tokens.purge(now, budget, |_, token| {
            expired_clients.push(token.client_id)
        });
        for client in expired_clients {
            self.forget_front_of(&client);
        }
        done
    }

    /// Pops the client's queue entries whose tokens ended, oldest first; a client left
    /// with none is forgotten.
    fn forget_front_of(&mut self, client: &str) {
        let Some(queue) = self.by_client.get_mut(client) else {
            return;
        };
        while queue.front().is_some_and(|k| !self.tokens.contains_key(k)) {
            queue.pop_front();
        }
        if queue.is_empty() {
            self.by_client.remove(client);
        }
    }
}

/// Whether a client whose enterprise is (in)active gets a token (EN-TOKEN-3);
/// [`ActiveEnterprisesOnly`] is the rule.
pub trait EnterpriseActivity: Sync {
    fn issues_to(&self, enterprise_active: bool) -> bool {
        enterprise_active
    }
}

/// EN-TOKEN-3 as written.
pub struct ActiveEnterprisesOnly;

impl EnterpriseActivity for ActiveEnterprisesOnly {}

fn activity(bends: Bends) -> &'static dyn EnterpriseActivity {
    bends.pick::<dyn EnterpriseActivity>(&ActiveEnterprisesOnly)
}

/// Collects EN-VALID-1's answer, one entry per failing field, in the request's order.
#[derive(Default)]
struct Validation {
    invalid: Vec<(&'static str, String)>,
}

impl Validation {
    /// A required string: "The client id field is required." / "… must be a string.".
    fn required<'f>(&mut self, fields: &'f Fields<'_>, name: &'static str) -> Option<&'f str> {
        let label = || name.replace('_', " ");
        match field(fields, name) {
            Field::Text(s) => return Some(s),
            Field::Missing => self
                .invalid
                .push((name, format!("The {} field is required.", label()))),
            Field::NotText => self
                .invalid
                .push((name, format!("The {} field must be a string.", label()))),
        }
        None
    }

    /// An optional string: absent is fine, a non-string is not.
    fn optional<'f>(&mut self, fields: &'f Fields<'_>, name: &'static str) -> Option<&'f str> {
        match field(fields, name) {
            Field::Text(s) => Some(s),
            Field::Missing => None,
            Field::NotText => {
                let label = name.replace('_', " ");
                self.invalid
                    .push((name, format!("The {label} field must be a string.")));
                None
            }
        }
    }

    fn passed(&self) -> bool {
        self.invalid.is_empty()
    }

    /// The 422 answer listing the failing fields the report rule keeps (EN-VALID-1).
    fn into_error(self, bends: Bends) -> ProtocolError {
        let mut e = ProtocolError::new(
            ErrorCode::Validation,
            "Send full JSON body with client_id and client_secret.",
        );
        let report = bends.pick::<dyn ValidationReport>(&EveryField);
        e.invalid_fields = Some(Box::new(report.fields(self.invalid)));
        e
    }
}

/// Which failing fields EN-VALID-1's 422 lists; [`EveryField`] is the rule.
pub trait ValidationReport: Sync {
    fn fields(&self, failing: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        failing
    }
}

/// EN-VALID-1: one entry per missing field.
pub struct EveryField;

impl ValidationReport for EveryField {}

/// `en_inactive_enterprise_allowed` (EN-TOKEN-3): every enterprise counts as active.
struct InactiveEnterpriseAllowed;

impl EnterpriseActivity for InactiveEnterpriseAllowed {
    fn issues_to(&self, _enterprise_active: bool) -> bool {
        true
    }
}

pub static EN_INACTIVE_ENTERPRISE_ALLOWED: FaultSpec = FaultSpec::bending(
    "en_inactive_enterprise_allowed",
    "EN-TOKEN-3",
    "a client of an inactive enterprise still gets tokens",
    bends!(dyn EnterpriseActivity = InactiveEnterpriseAllowed),
);

/// `en_validation_drops_field` (EN-VALID-1): the 422 map leaves out its last field.
struct DropsLastField;

impl ValidationReport for DropsLastField {
    fn fields(&self, mut failing: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        failing.pop();
        failing
    }
}

pub static EN_VALIDATION_DROPS_FIELD: FaultSpec = FaultSpec::bending(
    "en_validation_drops_field",
    "EN-VALID-1",
    "the 422 validation map leaves out its last missing field",
    bends!(dyn ValidationReport = DropsLastField),
);

pub static EN_INVALID_CLIENT_400: FaultSpec = FaultSpec::shaping(
    "en_invalid_client_400",
    "EN-TOKEN-2",
    "a wrong client id or secret is answered with 400 instead of 401",
    Shape::InvalidClientAs400,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_lists_each_failing_field_once_in_order() {
        let mut json = hyper::HeaderMap::new();
        json.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        let body = br#"{"client_id":7,"client_secret":"  ","scope":["x"]}"#;
        let fields = body_fields(&json, body);
        let mut v = Validation::default();
        assert!(v.required(&fields, "client_id").is_none());
        assert!(v.required(&fields, "client_secret").is_none());
        assert!(v.optional(&fields, "scope").is_none());
        assert!(!v.passed());
        let e = v.into_error(Bends::NONE);
        assert_eq!(
            *e.invalid_fields.unwrap(),
            [
                (
                    "client_id",
                    "The client id field must be a string.".to_owned()
                ),
                (
                    "client_secret",
                    "The client secret field is required.".to_owned()
                ),
                ("scope", "The scope field must be a string.".to_owned()),
            ]
        );
    }

    #[test]
    fn a_client_holds_at_most_its_bound_and_its_oldest_token_goes_first() {
        let mut tokens = ClientTokens::default();
        let first = MintedToken::new("enat_");
        tokens.issue(&first, "en-acme", ScopeSet::default(), 10_000);
        for _ in 0..MAX_TOKENS_PER_CLIENT {
            tokens.issue(
                &MintedToken::new("enat_"),
                "en-acme",
                ScopeSet::default(),
                10_000,
            );
        }
        assert_eq!(tokens.len(), MAX_TOKENS_PER_CLIENT);
        assert!(tokens.get(&first.key).is_none(), "the oldest made room");
        assert!(tokens.purge(10_000, usize::MAX));
        assert!(tokens.is_empty());
        assert!(
            tokens.by_client.is_empty(),
            "no client is remembered for nothing"
        );
    }

    #[test]
    fn an_expired_token_is_purged_and_a_removed_one_is_gone() {
        let mut tokens = ClientTokens::default();
        let (a, b) = (MintedToken::new("enat_"), MintedToken::new("enat_"));
        tokens.issue(&a, "en-acme", ScopeSet::default(), 1_000);
        tokens.issue(&b, "en-acme", ScopeSet::default(), 2_000);
        assert!(tokens.remove(&b.key));
        assert!(!tokens.remove(&b.key), "a token is removed once");
        assert!(tokens.purge(1_000, 10));
        assert!(tokens.get(&a.key).is_none());
        assert!(tokens.by_client.is_empty());
    }

    /// Tables are bounded: a client holds at most `MAX_TOKENS_PER_CLIENT` live tokens, its
    /// oldest going first, and nothing a caller sends without a valid secret is stored.
    #[test]
    fn a_client_s_tokens_are_bounded_and_its_oldest_goes_first() {
        let app = crate::http::App::new(crate::config::ServerConfig::enterprise()).unwrap();
        let creds = |secret: &str| ClientCredentials {
            client_id: Some("en-acme".into()),
            client_secret: Some(secret.into()),
            via_basic: false,
        };
        let issue = |secret: &str| app.core.serve_grant(&TOKEN, &Params::new(), &creds(secret));
        let held = || {
            app.core
                .with_family(|state: &mut EnterpriseState| state.tokens.len())
        };
        let first = issue("en-acme-secret").unwrap().access_token;
        assert!(first.starts_with("enat_"), "{first}");
        for _ in 0..MAX_TOKENS_PER_CLIENT {
            issue("en-acme-secret").unwrap();
        }
        assert_eq!(held(), MAX_TOKENS_PER_CLIENT);
        let key = crate::core::grants::token_key(&first);
        let first_held = app
            .core
            .with_family(|state: &mut EnterpriseState| state.tokens.get(&key).is_some());
        assert!(!first_held, "the oldest made room");
        for _ in 0..100 {
            assert!(issue("wrong").is_err());
        }
        assert_eq!(held(), MAX_TOKENS_PER_CLIENT);
    }
}

#[cfg(test)]
mod answer_tests {
    use serde::Serialize;

    use super::issued_answer;
    use crate::families::enterprise::envelope::success_bytes;

    #[derive(Serialize)]
    struct IssuedData<'a> {
        access_token: &'a str,
        token_type: &'a str,
        expires_in: u64,
        scope: &'a str,
    }

    #[test]
    fn the_written_answer_is_the_serde_shape_byte_for_byte() {
        for (access_token, token_type, expires_in, scope) in [
            (
                "enat_abc-DEF_123",
                "Bearer",
                3600,
                "reports:read users:read",
            ),
            ("", "", 0, ""),
            (
                "quote\"back\\slash",
                "tab\tnew\nline\u{1}",
                u64::MAX,
                "\u{7f}",
            ),
            ("caf\u{e9} \u{1F600} /", "Bearer", 1, "</script>"),
        ] {
            let serde = success_bytes(
                "Access token issued.",
                IssuedData {
                    access_token,
                    token_type,
                    expires_in,
                    scope,
                },
            );
            assert_eq!(
                String::from_utf8(
                    issued_answer(access_token, token_type, expires_in, scope).to_vec()
                )
                .unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }
}
