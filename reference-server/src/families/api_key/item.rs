//! `GET item` with `X-Api-Key: client_id:secret`: the key names a registered confidential
//! app and proves it with its secret (compared as the kernel compares every secret); the
//! answer counts the client's requests in the family's own table. The rule that checks a
//! key, and the fault that bends it.

use hyper::Response;
use serde_json::json;

use super::Counts;
use crate::core::client_auth::secret_check;
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::fault::{Bends, FaultSpec, bends};
use crate::core::registry::AppRecord;
use crate::http::respond::Body;
use crate::http::{App, Ctx, ok_json};

/// A key that is missing, malformed or wrong.
pub const INVALID_API_KEY: ErrorCode = ErrorCode::Other("invalid_api_key");

/// `GET item`.
pub fn item(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let refused = || ProtocolError::new(INVALID_API_KEY, "Send X-Api-Key: client_id:secret.");
    let (client_id, secret) = ctx
        .headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(':'))
        .ok_or_else(refused)?;
    let bends = app.core.bends();
    let served = app
        .core
        .with_family_and_registry(|registry, counts: &mut Counts| {
            let app = registry.apps.get(client_id).ok_or_else(refused)?;
            if !key_check(bends).accepts(app, secret, bends) {
                return Err(refused());
            }
            let served = counts.served.entry(client_id.to_owned()).or_default();
            *served += 1;
            Ok(*served)
        })?;
    ok_json(&json!({"client_id": client_id, "requests": served}))
}

/// Whether a key's secret proves its client; [`SecretMatches`] is the rule.
pub trait KeyCheck: Sync {
    fn accepts(&self, app: &AppRecord, secret: &str, bends: Bends) -> bool {
        secret_check(bends).accepts(app, Some(secret))
    }
}

/// The app's current secret, as the kernel checks it.
pub struct SecretMatches;

impl KeyCheck for SecretMatches {}

fn key_check(bends: Bends) -> &'static dyn KeyCheck {
    bends.pick::<dyn KeyCheck>(&SecretMatches)
}

/// `ak_key_not_checked`: any secret opens the item.
struct KeyNotChecked;

impl KeyCheck for KeyNotChecked {
    fn accepts(&self, _app: &AppRecord, _secret: &str, _bends: Bends) -> bool {
        true
    }
}

pub static AK_KEY_NOT_CHECKED: FaultSpec = FaultSpec::bending(
    "ak_key_not_checked",
    "AK-1",
    "any secret in X-Api-Key is accepted",
    bends!(dyn KeyCheck = KeyNotChecked),
);
