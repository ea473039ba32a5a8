//! Client authentication at the token endpoints (RFC 6749 §2.3; PP-APP-2..4, PP-APP-8,
//! PP-TOKEN-5): the credentials a request presented, the [`ClientAuthenticator`] each
//! token endpoint names (the body or HTTP Basic, [`BodyOrBasic`], unless a family brings
//! its own), the components that decide whether a secret proves a client and whether an
//! app may run flows, and the faults that bend them.

use profile::AppKind;

use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::fault::{Bends, FaultSpec, Shape};
use super::registry::{AppRecord, Registry};
use crate::core::fault::bends;

/// The credentials a request presented, from the body or HTTP Basic, never both.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub via_basic: bool,
}

impl ClientCredentials {
    /// Combines HTTP Basic (already decoded) with the body's `client_id`/`client_secret`.
    /// Both methods at once is `invalid_request` (PP-TOKEN-5, RFC 6749 §2.3).
    pub fn from_parts(
        basic: Option<(String, String)>,
        body_id: Option<&str>,
        body_secret: Option<&str>,
    ) -> ProtocolResult<Self> {
        match basic {
            Some((id, secret)) => {
                if body_secret.is_some() {
                    return Err(ProtocolError::invalid_request(
                        "Send the client secret either with HTTP Basic or in the body, not both.",
                    ));
                }
                if body_id.is_some_and(|b| b != id) {
                    return Err(ProtocolError::invalid_request(
                        "The body's client_id differs from the HTTP Basic user name.",
                    ));
                }
                Ok(ClientCredentials {
                    client_id: Some(id),
                    client_secret: Some(secret),
                    via_basic: true,
                })
            }
            None => Ok(ClientCredentials {
                client_id: body_id.map(str::to_owned),
                client_secret: body_secret.map(str::to_owned),
                via_basic: false,
            }),
        }
    }
}

/// How a token endpoint tells who the client is: the registered app it proved to be,
/// or why not. Each endpoint names one (`token_endpoint::GrantEndpoint`).
pub trait ClientAuthenticator: Sync {
    fn authenticate<'r>(
        &self,
        registry: &'r Registry,
        creds: &ClientCredentials,
        bends: Bends,
    ) -> ProtocolResult<&'r AppRecord>;
}

/// Whether the secret a confidential app presented (or its absence) proves who it is
/// (PP-APP-3, PP-APP-8). [`CurrentSecretOnly`] is the rule.
pub trait SecretCheck: Sync {
    fn accepts(&self, app: &AppRecord, secret: Option<&str>) -> bool;
}

/// PP-APP-3, PP-APP-8: the app's current secret, compared in constant time; a
/// rotated-away secret no longer works.
pub struct CurrentSecretOnly;

impl SecretCheck for CurrentSecretOnly {
    fn accepts(&self, app: &AppRecord, secret: Option<&str>) -> bool {
        secret.is_some_and(|s| app.secret.as_ref().is_some_and(|d| d.matches(s)))
    }
}

/// The secret check the rules call.
pub fn secret_check(bends: Bends) -> &'static dyn SecretCheck {
    bends.pick::<dyn SecretCheck>(&CurrentSecretOnly)
}

/// Whether an app may run OAuth flows and be issued tokens (PP-APP-4, PP-APP-5).
/// [`ActiveAppsOnly`] is the rule.
pub trait AppActivity: Sync {
    fn allows(&self, app: &AppRecord) -> bool;
}

/// PP-APP-4: only an active app.
pub struct ActiveAppsOnly;

impl AppActivity for ActiveAppsOnly {
    fn allows(&self, app: &AppRecord) -> bool {
        app.active
    }
}

/// The activity rule the rules call.
pub fn app_activity(bends: Bends) -> &'static dyn AppActivity {
    bends.pick::<dyn AppActivity>(&ActiveAppsOnly)
}

/// PP-APP-4: an inactive app is `unauthorized_client`.
pub fn inactive_client() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::UnauthorizedClient,
        "This app is inactive. Its owner can create a new app at Get API key.",
    )
}

/// `invalid_client`, with the Basic challenge when Basic was used (RFC 6749 §5.2).
pub fn invalid_client(creds: &ClientCredentials, message: &str) -> ProtocolError {
    let mut e = ProtocolError::new(ErrorCode::InvalidClient, message);
    e.basic_challenge = creds.via_basic;
    e
}

/// The body or HTTP Basic (PP-APP-2, PP-TOKEN-5): a confidential client proves itself
/// with its secret, a public one sends its `client_id` only; then the app must be active
/// (PP-APP-4 applies to an app that proved who it is: a wrong secret is `invalid_client`
/// first).
pub struct BodyOrBasic;

impl ClientAuthenticator for BodyOrBasic {
    fn authenticate<'r>(
        &self,
        registry: &'r Registry,
        creds: &ClientCredentials,
        bends: Bends,
    ) -> ProtocolResult<&'r AppRecord> {
        let Some(client_id) = creds.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return Err(ProtocolError::invalid_request("client_id is required."));
        };
        // PP-APP-4 (DECIDED): an unknown client_id at a token/device endpoint is
        // invalid_client.
        let Some(app) = registry.apps.get(client_id) else {
            return Err(invalid_client(
                creds,
                "Unknown client_id, or a wrong client_id/client_secret pair.",
            ));
        };
        match (app.kind, creds.client_secret.as_deref()) {
            // PP-APP-3 (DECIDED): a public client must not send a secret.
            (AppKind::Public, Some(secret)) => {
                if !secret.is_empty() {
                    super::notes::note(|n| n.public_client_secret = true);
                }
                return Err(invalid_client(
                    creds,
                    "This app is public: send client_id only, never a client_secret.",
                ));
            }
            (AppKind::Public, None) => {}
            // PP-APP-3: a confidential client proves itself with its secret.
            (AppKind::Confidential, secret) if !secret_check(bends).accepts(app, secret) => {
                return Err(invalid_client(
                    creds,
                    if secret.is_none() {
                        "This app is confidential: send its client_secret."
                    } else {
                        "Unknown client_id, or a wrong client_id/client_secret pair."
                    },
                ));
            }
            (AppKind::Confidential, _) => {}
        }
        if !app_activity(bends).allows(app) {
            return Err(inactive_client());
        }
        Ok(app)
    }
}

/// `secret_not_checked` (PP-APP-3): any secret, or none, proves a confidential client.
pub struct SecretNotChecked;

impl SecretCheck for SecretNotChecked {
    fn accepts(&self, _app: &AppRecord, _secret: Option<&str>) -> bool {
        true
    }
}

pub static SECRET_NOT_CHECKED: FaultSpec = FaultSpec::bending(
    "secret_not_checked",
    "PP-APP-3",
    "a confidential client's secret is not checked at the token endpoint",
    bends!(dyn SecretCheck = SecretNotChecked),
);

/// `old_secret_still_valid` (PP-APP-8): the rotated-away secret works too.
struct OldSecretStillValid;

impl SecretCheck for OldSecretStillValid {
    fn accepts(&self, app: &AppRecord, secret: Option<&str>) -> bool {
        CurrentSecretOnly.accepts(app, secret)
            || secret.is_some_and(|s| app.previous_secret.as_ref().is_some_and(|d| d.matches(s)))
    }
}

pub static OLD_SECRET_STILL_VALID: FaultSpec = FaultSpec::bending(
    "old_secret_still_valid",
    "PP-APP-8",
    "a rotated-away client secret keeps working",
    bends!(dyn SecretCheck = OldSecretStillValid),
);

/// `inactive_app_allowed` (PP-APP-4): every app counts as active.
pub struct InactiveAppAllowed;

impl AppActivity for InactiveAppAllowed {
    fn allows(&self, _app: &AppRecord) -> bool {
        true
    }
}

pub static INACTIVE_APP_ALLOWED: FaultSpec = FaultSpec::bending(
    "inactive_app_allowed",
    "PP-APP-4",
    "a deactivated app may still run OAuth flows",
    bends!(dyn AppActivity = InactiveAppAllowed),
);

pub static INVALID_CLIENT_400: FaultSpec = FaultSpec::shaping(
    "invalid_client_400",
    "PP-APP-3",
    "invalid_client is answered with 400 instead of 401",
    Shape::InvalidClientAs400,
);
