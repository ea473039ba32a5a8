//! Client authentication at the token, refresh and device endpoints (PP-APP-2, PP-APP-3,
//! PP-APP-4, PP-TOKEN-5).

use profile::AppKind;

use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::registry::{AppRecord, Registry};

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

/// PP-APP-4: an inactive app is `unauthorized_client`.
pub fn inactive_client() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::UnauthorizedClient,
        "This app is inactive. Its owner can create a new app at Get API key.",
    )
}

fn invalid_client(creds: &ClientCredentials, message: &str) -> ProtocolError {
    let mut e = ProtocolError::new(ErrorCode::InvalidClient, message);
    e.basic_challenge = creds.via_basic;
    e
}

/// Authenticates the client, then checks that it is active (PP-APP-4 applies to an app
/// that proved who it is; a wrong secret is `invalid_client` first).
pub fn authenticate<'r>(
    registry: &'r Registry,
    creds: &ClientCredentials,
    secrets: &dyn SecretCheck,
    activity: &dyn AppActivity,
) -> ProtocolResult<&'r AppRecord> {
    let Some(client_id) = creds.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(ProtocolError::invalid_request("client_id is required."));
    };
    // PP-APP-4 (DECIDED): an unknown client_id at a token/device endpoint is invalid_client.
    let Some(app) = registry.apps.get(client_id) else {
        return Err(invalid_client(
            creds,
            "Unknown client_id, or a wrong client_id/client_secret pair.",
        ));
    };
    match (app.kind, creds.client_secret.as_deref()) {
        // PP-APP-3 (DECIDED): a public client must not send a secret.
        (AppKind::Public, Some(_)) => {
            return Err(invalid_client(
                creds,
                "This app is public: send client_id only, never a client_secret.",
            ));
        }
        (AppKind::Public, None) => {}
        // PP-APP-3: a confidential client proves itself with its secret.
        (AppKind::Confidential, secret) if !secrets.accepts(app, secret) => {
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
    if !activity.allows(app) {
        return Err(inactive_client());
    }
    Ok(app)
}
