//! Flexslot's client authentication (FX-TOKEN-3, RFC 6749 §2.3.1): HTTP Basic only for a
//! confidential client, `client_id` in the body and no secret for a public one, a disabled
//! client `invalid_client` too; the rule for how a confidential client may authenticate
//! and the faults that bend it. Its `/token`, `/revoke` and `/introspect` all use it.

use profile::AppKind;

use crate::core::client_auth::{
    ClientAuthenticator, ClientCredentials, app_activity, invalid_client, secret_check,
};
use crate::core::error::ProtocolResult;
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec, Shape};
use crate::core::registry::{AppRecord, Registry};

/// FX-TOKEN-3: HTTP Basic only for a confidential client.
pub struct BasicOnly;

impl ClientAuthenticator for BasicOnly {
    fn authenticate<'r>(
        &self,
        registry: &'r Registry,
        creds: &ClientCredentials,
        bends: Bends,
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
        let secrets = secret_check(bends);
        match app.kind {
            AppKind::Confidential if creds.via_basic => {
                if !secrets.accepts(app, secret) {
                    return Err(invalid_client(
                        creds,
                        "Unknown client_id, or wrong client credentials.",
                    ));
                }
            }
            AppKind::Confidential => {
                if !(auth_methods(bends).body_secret_allowed(app) && secrets.accepts(app, secret)) {
                    return Err(invalid_client(
                        creds,
                        "This client is confidential: authenticate with HTTP Basic (RFC 6749 section 2.3.1), not with credentials in the body.",
                    ));
                }
            }
            AppKind::Public if creds.via_basic || secret.is_some() => {
                if secret.is_some_and(|s| !s.is_empty()) {
                    crate::core::notes::note(|n| n.public_client_secret = true);
                }
                return Err(invalid_client(
                    creds,
                    "This client is public: send client_id in the body and no secret.",
                ));
            }
            AppKind::Public => {}
        }
        if !app_activity(bends).allows(app) {
            return Err(invalid_client(creds, "This client is disabled."));
        }
        Ok(app)
    }
}

/// How a confidential client proves who it is (FX-TOKEN-3, RFC 6749 §2.3.1).
pub trait ClientAuthMethods: Sync {
    /// Whether a confidential client may send its secret in the body instead of HTTP
    /// Basic. Never, as flexslot documents.
    fn body_secret_allowed(&self, _app: &AppRecord) -> bool {
        false
    }
}

/// FX-TOKEN-3 as written: HTTP Basic only.
pub struct Basic;

impl ClientAuthMethods for Basic {}

fn auth_methods(bends: Bends) -> &'static dyn ClientAuthMethods {
    bends.pick::<dyn ClientAuthMethods>(&Basic)
}

/// `fx_body_credentials_accepted` (FX-TOKEN-3): a confidential client may send its secret
/// in the body.
struct BodyCredentialsAccepted;

impl ClientAuthMethods for BodyCredentialsAccepted {
    fn body_secret_allowed(&self, _app: &AppRecord) -> bool {
        true
    }
}

pub static FX_BODY_CREDENTIALS_ACCEPTED: FaultSpec = FaultSpec::bending(
    "fx_body_credentials_accepted",
    "FX-TOKEN-3",
    "a confidential client's client_id and client_secret in the body are accepted instead of HTTP Basic only",
    bends!(dyn ClientAuthMethods = BodyCredentialsAccepted),
);

pub static FX_BASIC_CHALLENGE_MISSING: FaultSpec = FaultSpec::shaping(
    "fx_basic_challenge_missing",
    "FX-TOKEN-3",
    "invalid_client for a client that used HTTP Basic carries no WWW-Authenticate: Basic challenge",
    Shape::NoBasicChallenge,
);
