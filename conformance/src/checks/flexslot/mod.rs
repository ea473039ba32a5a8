//! Flexslot's checks (seed 004, FX-*), one file per area: `authorize.rs` (FX-AUTHZ),
//! `token.rs` (FX-TOKEN-1..7), `refresh.rs` (rotation, idle expiry, grant configuration,
//! the race: FX-TOKEN-4/5/8), `resource.rs` (FX-RS-1), `revoke.rs` (FX-REVOKE-1,
//! FX-INTRO-1). [`Flexslot`] is the family's part of the suite: its dialect reads errors
//! as RFC 6749 §5.2 says, authenticates a confidential client with HTTP Basic only
//! (FX-TOKEN-3), and keeps of a transcript what the contract pins (`transcript.rs`). The
//! apps are picked by trait (`roles.rs`); the flows are the kit's. The helpers below are
//! the RFC readers' verdicts the area files share.
//!
//! What a conformant deployment may do differently and still pass: extension members,
//! `error_uri`, any `error_description` wording, other realms and extra challenge
//! parameters, extra headers, any token format, 302 or 303 for redirects. Flexslot has no
//! rate limits, so no check has a budget.

use contract_client::families::flexslot::{self as fx, Challenge, TokenError, header_values};
use contract_client::flows::ClientAuth;
use profile::{App, Profile};
use serde_json::{Value, json};

use crate::check::{Check, Ctx};
use crate::client::{Exchange, Req, Resp};
use crate::dialect::{self, Dialect, Kept};
use crate::ensure;
use crate::family::SuiteFamily;
use crate::free::{self, Freedoms};
use crate::kit::controls::control;
use crate::kit::flows;
use crate::kit::redirect::{self, Redirect};
use crate::outcome::{CheckResult, Problem};
use crate::redact::FamilyMembers;

pub mod authorize;
pub mod members;
pub mod refresh;
pub mod resource;
pub mod revoke;
pub mod roles;
pub mod token;
pub mod transcript;

pub use roles::{FxRoles, codeonly_or_skip, disabled_or_skip, roles, spa_or_skip};

/// The flexslot family's suite.
pub struct Flexslot;

impl Dialect for Flexslot {
    fn roles(
        &self,
        ids: &profile::Identities,
        _profile: &Profile,
    ) -> Result<Box<dyn dialect::Roles>, String> {
        Ok(Box::new(FxRoles::pick(ids)?))
    }

    fn members(&self, _profile: &Profile) -> FamilyMembers {
        FamilyMembers::without_request_id(members::SECRETS, members::PROSE, members::UNIX_TIMES)
    }

    /// The profile's status for `code` with an RFC 6749 §5.2 body naming it (FX-TOKEN-1:
    /// `error` MUST; `error_description` is SHOULD, judged by its own check).
    fn error(&self, profile: &Profile, r: &Resp, code: &str) -> Result<Value, Problem> {
        let status = profile.status_of(code);
        let e = TokenError::of_exchange(&r.ex);
        ensure!(
            r.status() == status && e.error.as_deref() == Some(code),
            r,
            "expected {status} `{code}`, got {} {}",
            r.status(),
            e.error.as_deref().map_or_else(
                || "without an `error` member".to_owned(),
                |c| format!("`{c}`")
            )
        );
        if let Some(p) = e.problem() {
            return Err(r.fail(format!("FX-TOKEN-1: {p}")));
        }
        Ok(e.body.unwrap_or_default())
    }

    /// A confidential client (one with a secret) by HTTP Basic only, a public client by
    /// `client_id` in the body (FX-TOKEN-3).
    fn authenticate(&self, req: Req, auth: &ClientAuth, pairs: &[(&str, &str)]) -> Req {
        fx::authenticate(req, auth, pairs)
    }

    /// What RFC 6749/6750/7009 leave to the server (CONTRACT.md, after FX-*).
    fn free(&self) -> &'static Freedoms {
        &free::RFC_6749
    }

    fn kept(&self, profile: &Profile, check_id: &str, ex: Exchange) -> Kept {
        Kept::Exchange(Box::new(transcript::pinned(profile, check_id, ex)))
    }

    /// A challenge is the resource server's (FX-RS-1), or the token endpoint's Basic one
    /// (FX-TOKEN-3's SHOULD part), by where it was answered.
    fn named_by(&self, profile: &Profile, route: &str, name: &str) -> Option<&'static str> {
        if !name.eq_ignore_ascii_case("www-authenticate") {
            return None;
        }
        let oauth = ["token", "revoke", "introspect"]
            .iter()
            .any(|e| profile.paths.get(*e).is_some_and(|p| p == route));
        Some(if oauth { "FX-TOKEN-3" } else { "FX-RS-1" })
    }
}

impl SuiteFamily for Flexslot {
    fn checks(&self, _profile: &Profile) -> Vec<Check> {
        let mut v = Vec::new();
        v.extend(authorize::checks());
        v.extend(token::checks());
        v.extend(refresh::checks());
        v.extend(resource::checks());
        v.extend(revoke::checks());
        v
    }

    /// An unknown route, and GET on the token endpoint (a 404 `not_found` in JSON; the
    /// resource's 401 may have no body, RFC 6750 §3).
    fn probe_paths(&self, profile: &Profile) -> [String; 2] {
        [
            "/conformance-probe".to_owned(),
            profile.path("token").to_owned(),
        ]
    }
}

/// The family's error answer `code` (see [`Flexslot::error`]).
pub fn token_error(ctx: &Ctx, r: &Resp, code: &str) -> CheckResult {
    ctx.error(r, code).map(drop)
}

/// The family's error answer with one of `codes` (a clause that allows several, as
/// [`Freedoms::one_of`] lists them); answers the code it had.
pub fn token_error_one_of(ctx: &Ctx, r: &Resp, codes: &[&str]) -> Result<String, Problem> {
    let got = TokenError::of_exchange(&r.ex).error;
    match codes.iter().find(|c| got.as_deref() == Some(**c)) {
        Some(code) => ctx.error(r, code).map(|_| (*code).to_owned()),
        None => {
            let listed: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            Err(r.fail(format!(
                "expected {} {}, got {} {}",
                ctx.profile()
                    .status_of(codes.first().copied().unwrap_or_default()),
                listed.join(" or "),
                r.status(),
                got.map_or_else(
                    || "without an `error` member".to_owned(),
                    |c| format!("`{c}`")
                )
            )))
        }
    }
}

/// The primary user decides an authorize request (`response_type=code`) through the
/// run's driver: the redirect as an RFC client reads it.
pub async fn decide(ctx: &mut Ctx, path: &str, approve: bool) -> Result<Redirect, Problem> {
    let url = flows::decide(ctx, path, approve).await?;
    Ok(Redirect::read(url, false))
}

/// Tokens of a 200 token answer: `refresh` only when the app was given one.
#[derive(Debug, Clone)]
pub struct FxTokens {
    pub access: String,
    pub refresh: Option<String>,
    pub scope: String,
}

/// Reads a 200 token answer (RFC 6749 §5.1): `access_token`, `token_type` Bearer (case
/// insensitive, RFC 6749 §7.1), an optional `refresh_token` and `scope`.
pub fn read_tokens(r: &Resp) -> Result<FxTokens, Problem> {
    ensure!(
        r.status() == 200,
        r,
        "expected 200 with tokens, got {}: {}",
        r.status(),
        r.body()
    );
    let body = r.json()?;
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let access =
        s("access_token").ok_or_else(|| r.fail("the token answer has no string `access_token`"))?;
    ensure!(
        s("token_type").is_some_and(|t| free::RFC_6749.same("token_type", "Bearer", &t)),
        r,
        "the token answer's `token_type` is {:?}, not Bearer (RFC 6749 §5.1)",
        body.get("token_type")
    );
    Ok(FxTokens {
        access,
        refresh: s("refresh_token"),
        scope: s("scope").unwrap_or_default(),
    })
}

/// The whole code flow for `app` (approved by the primary user): its tokens.
pub async fn code_tokens(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<FxTokens, Problem> {
    let r = flows::redeem_new_code(ctx, app, scope).await?;
    read_tokens(&r)
}

/// The code flow for the web app, whose tokens must include a refresh token.
pub async fn web_tokens(ctx: &mut Ctx, roles: &FxRoles) -> Result<(FxTokens, String), Problem> {
    let r = flows::redeem_new_code(ctx, &roles.web, None).await?;
    let t = read_tokens(&r)?;
    let refresh = t.refresh.clone().ok_or_else(|| {
        r.fail("the token answer of a client configured for refresh_token has no `refresh_token`")
    })?;
    Ok((t, refresh))
}

/// The answer is a redirect (302 or 303) to `redirect_uri` with `error=code`, the
/// `state` sent and no `code` (RFC 6749 §4.1.2.1, FX-AUTHZ-1).
pub fn error_redirect(r: &Resp, redirect_uri: &str, code: &str, state: &str) -> CheckResult {
    let statuses = free::RFC_6749.redirect_statuses;
    redirect::error_redirect(r, statuses, "FX-AUTHZ-1", redirect_uri, code, state).map(drop)
}

/// The resource server's challenges of `scheme` in the answer (RFC 6750 §3).
pub fn challenge(r: &Resp, scheme: &str) -> Result<Challenge, Problem> {
    let values = header_values(&r.ex, "www-authenticate");
    Challenge::find(values.iter().copied(), scheme)
        .map_err(|e| {
            r.fail(format!(
                "WWW-Authenticate does not parse (RFC 7235 §4.1): {e}"
            ))
        })?
        .ok_or_else(|| {
            r.fail(format!(
                "the {} answer has no `WWW-Authenticate: {scheme}` challenge (got {values:?})",
                r.status()
            ))
        })
}

/// Sets the grant types a client is configured for through the test control.
pub async fn set_grant_types(ctx: &mut Ctx, app: &App, grants: &[&str]) -> CheckResult {
    grant_types_control(ctx, app, grants).await?;
    ctx.note(format!("client grant types set to {grants:?}"));
    Ok(())
}

/// Gives a client back the grant types of the credentials file (none listed: both).
pub async fn restore_grant_types(ctx: &mut Ctx, app: &App) -> CheckResult {
    let grants: Vec<&str> = if app.grant_types.is_empty() {
        vec!["authorization_code", "refresh_token"]
    } else {
        app.grant_types.iter().map(String::as_str).collect()
    };
    grant_types_control(ctx, app, &grants).await?;
    ctx.note("client grant types restored");
    Ok(())
}

async fn grant_types_control(ctx: &mut Ctx, app: &App, grants: &[&str]) -> CheckResult {
    control(
        ctx,
        &format!("/__test/apps/{}/grant-types", app.client_id),
        json!({ "grant_types": grants }),
        "to change a client's grant types (partner admin)",
    )
    .await
}
