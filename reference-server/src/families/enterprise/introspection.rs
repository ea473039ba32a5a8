//! `POST /oauth/introspect` (EN-INTRO-1): the facts of a live client-credentials token,
//! with no client authentication (EN-TOKEN-4); the rule that says whether a token is
//! active and the fault that bends it.

use hyper::{Response, StatusCode};

use super::EnterpriseState;
use super::body::{Field, body_fields, field};
use super::envelope::TOKEN_REQUIRED;
use crate::core::clock::Millis;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::token_key;
use crate::http::request::RequestBody;
use crate::http::respond::{self, Body, JsonText};
use crate::http::{App, Ctx};

/// The `token` of an introspect or revoke body; missing, empty, not a string, or a body
/// that reads as nothing is "Token required." (EN-INTRO-1, EN-REVOKE-1).
pub async fn token_field(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<String> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    with_token(ctx, &bytes, str::to_owned)
}

/// `read` of the body's `token`, or "Token required." as [`token_field`] says.
fn with_token<R>(ctx: &Ctx, bytes: &[u8], read: impl FnOnce(&str) -> R) -> ProtocolResult<R> {
    match field(&body_fields(&ctx.headers, bytes), "token") {
        Field::Text(token) => Ok(read(token)),
        Field::Missing | Field::NotText => {
            Err(ProtocolError::new(TOKEN_REQUIRED, "Token required."))
        }
    }
}

/// EN-INTRO-1's answer for a live token, `{success, message, data: {active, client_id,
/// scope, exp}}`, written by hand: it is the hot path of introspection (issue 20 item 8);
/// the test below holds it to the serde shape.
fn active_answer(client_id: &str, scope: &str, exp: i64) -> bytes::Bytes {
    let mut out = JsonText::new();
    out.raw(r#"{"success":true,"message":"Token is active.","data":{"active":true,"client_id":"#)
        .string(client_id)
        .raw(r#","scope":"#)
        .string(scope)
        .raw(r#","exp":"#)
        .number(exp)
        .raw("}}");
    out.into_bytes()
}

/// `POST /oauth/introspect` (EN-INTRO-1; no client authentication, EN-TOKEN-4): an
/// unknown, expired or revoked token is "Invalid or expired token.".
pub async fn introspect(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    let key = with_token(ctx, &bytes, token_key)?;
    let bends = app.core.bends();
    let inactive = || ProtocolError::invalid_token("Invalid or expired token.");
    // Written under the lock, from the table's own strings.
    let answer = app
        .core
        .with_family_at(|state: &mut EnterpriseState, now| {
            let found = state.tokens.get(&key).ok_or_else(inactive)?;
            if !activity(bends).is_active(found.expires_at, now) {
                return Err(inactive());
            }
            Ok(active_answer(
                &found.client_id,
                found.scopes.as_wire(),
                found.expires_at.div_euclid(1000),
            ))
        })?;
    Ok(respond::json_bytes(StatusCode::OK, answer))
}

/// Whether introspection calls a token active (EN-INTRO-1); [`LiveOnly`] is the rule.
pub trait TokenActivity: Sync {
    fn is_active(&self, expires_at: Millis, now: Millis) -> bool {
        expires_at > now
    }

    /// Whether an expired token may be forgotten; a rule that still sees expired tokens
    /// needs them kept.
    fn forgets_expired(&self) -> bool {
        true
    }
}

/// EN-INTRO-1 as written: live until it expires.
pub struct LiveOnly;

impl TokenActivity for LiveOnly {}

pub fn activity(bends: Bends) -> &'static dyn TokenActivity {
    bends.pick::<dyn TokenActivity>(&LiveOnly)
}

/// `en_introspect_expired_active` (EN-INTRO-1): introspection calls an expired token
/// active, so expired tokens are kept for it to see (`/api/*` still refuses them).
struct ExpiredActive;

impl TokenActivity for ExpiredActive {
    fn is_active(&self, _expires_at: Millis, _now: Millis) -> bool {
        true
    }

    fn forgets_expired(&self) -> bool {
        false
    }
}

pub static EN_INTROSPECT_EXPIRED_ACTIVE: FaultSpec = FaultSpec::bending(
    "en_introspect_expired_active",
    "EN-INTRO-1",
    "introspection answers 200 active for an expired token",
    bends!(dyn TokenActivity = ExpiredActive),
);

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::active_answer;
    use crate::families::enterprise::envelope::success_bytes;

    #[derive(Serialize)]
    struct IntrospectData<'a> {
        active: bool,
        client_id: &'a str,
        scope: &'a str,
        exp: i64,
    }

    #[test]
    fn the_written_answer_is_the_serde_shape_byte_for_byte() {
        for (client_id, scope, exp) in [
            ("en-acme", "reports:read users:read", 1_767_000_000),
            ("", "", 0),
            ("quote\"back\\slash", "tab\tnew\nline\u{1}", -1),
            ("caf\u{e9} \u{1F600} /", "\u{7f}", i64::MAX),
        ] {
            let serde = success_bytes(
                "Token is active.",
                IntrospectData {
                    active: true,
                    client_id,
                    scope,
                    exp,
                },
            );
            assert_eq!(
                String::from_utf8(active_answer(client_id, scope, exp).to_vec()).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }
}
