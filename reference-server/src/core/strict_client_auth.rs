//! Flexslot's client authentication (FX-TOKEN-3): HTTP Basic only for a confidential
//! client, `client_id` in the body for a public one. Its own file so that the token
//! endpoint and the strict rules both import it, and neither imports the other.

use profile::AppKind;

use super::client_auth::ClientCredentials;
use super::components::Components;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::registry::{AppRecord, Registry};

/// `invalid_client`, with the Basic challenge when Basic was used (FX-TOKEN-3, RFC 6749
/// §5.2).
pub(super) fn invalid_client(creds: &ClientCredentials, message: &str) -> ProtocolError {
    let mut e = ProtocolError::new(ErrorCode::InvalidClient, message);
    e.basic_challenge = creds.via_basic;
    e
}

/// Authenticates a client as flexslot documents (FX-TOKEN-3): a confidential client with
/// HTTP Basic only (RFC 6749 §2.3.1), a public one by `client_id` in the body and no
/// secret anywhere; a disabled client is `invalid_client` too.
pub fn authenticate_basic_only<'r>(
    registry: &'r Registry,
    creds: &ClientCredentials,
    rules: &Components,
) -> ProtocolResult<&'r AppRecord> {
    let Some(client_id) = creds.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(invalid_client(
            creds,
            "Client authentication is required: HTTP Basic for a confidential client, client_id in the body for a public one.",
        ));
    };
    let Some(app) = registry.apps.get(client_id) else {
        return Err(invalid_client(
            creds,
            "Unknown client_id, or wrong client credentials.",
        ));
    };
    let secret = creds.client_secret.as_deref();
    match app.kind {
        AppKind::Confidential if creds.via_basic => {
            if !rules.secrets.accepts(app, secret) {
                return Err(invalid_client(
                    creds,
                    "Unknown client_id, or wrong client credentials.",
                ));
            }
        }
        AppKind::Confidential => {
            if !(rules.client_auth_methods.body_secret_allowed(app)
                && rules.secrets.accepts(app, secret))
            {
                return Err(invalid_client(
                    creds,
                    "This client is confidential: authenticate with HTTP Basic (RFC 6749 section 2.3.1), not with credentials in the body.",
                ));
            }
        }
        AppKind::Public if creds.via_basic || secret.is_some() => {
            return Err(invalid_client(
                creds,
                "This client is public: send client_id in the body and no secret.",
            ));
        }
        AppKind::Public => {}
    }
    if !rules.activity.allows(app) {
        return Err(invalid_client(creds, "This client is disabled."));
    }
    Ok(app)
}
