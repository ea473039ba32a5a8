//! The enterprise family's checks (seed 003, clauses EN-*), one file per area: the token
//! endpoint and its validation ([`token`]), introspection and revocation ([`introspect`]),
//! the company-scoped API ([`api`]) and its limit ([`rate`], the kit's checks with this
//! family's recipe). Apps are picked by trait ([`roles`]). EN-OPEN-1 has no check: the
//! contract leaves its trigger open, and the run's notes list it
//! (`checks::clauses_without_checks`). [`Enterprise`] is the family's part of the suite;
//! the helpers below read the answers through the client crate's readers
//! (`contract_client::families::enterprise`) and assert what the clauses fix.

use profile::{App, Profile};
use serde_json::{Value, json};

use contract_client::families::enterprise::{self as answers, Issued, Refusal};

use crate::check::{Check, Ctx};
use crate::client::{Exchange, Req, Resp};
use crate::dialect::{self, Dialect, Kept};
use crate::family::SuiteFamily;
use crate::free::{self, Freedoms, OwnedStatus};
use crate::kit::rate::{self as rate_kit, RateFamily};
use crate::outcome::{CheckResult, Problem};
use crate::redact::FamilyMembers;

pub mod api;
pub mod introspect;
pub mod members;
pub mod rate;
pub mod roles;
pub mod token;

/// Enterprise's: as punchplay's, its clauses naming every other value.
pub static FREEDOMS: Freedoms = Freedoms {
    redirect_statuses: &[302],
    free_text: &[],
    optional: &[],
    case_free: free::CASE_FREE,
    challenge_params: free::CHALLENGE_PARAMS,
    one_of: &[],
    // EN-REVOKE-1: "Token not found." (a revocation of a token, refused) is MUST, its
    // status 422 DECIDED; pinned only in the checks of that part (token-not-found-is-422,
    // the DECIDED race). A revocation without a token is "Token required.", 422 MUST.
    statuses_only_in_their_checks: &[OwnedStatus {
        status: 422,
        request: &["POST /oauth/revoke", "\"token\": "],
        answer: r#""success": false"#,
        counts_in: &["token-not-found-is-422", "concurrent-revocations"],
    }],
    only_in_their_checks: &[
        ("cache-control", None),
        // EN-RATE-1: Retry-After is DECIDED; EN-RATE-1/*-refusal-has-retry-after,
        // EN-RATE-1/*-reopens-at-retry-after.
        ("retry-after", Some("retry-after")),
    ],
};

/// The enterprise family's suite.
pub struct Enterprise;

impl Dialect for Enterprise {
    /// Apps by trait; a missing one skips the checks that need it, so no file is refused.
    fn roles(
        &self,
        ids: &profile::Identities,
        profile: &Profile,
    ) -> Result<Box<dyn dialect::Roles>, String> {
        Ok(Box::new(roles::Apps::pick(ids, profile)))
    }

    fn members(&self, _profile: &Profile) -> FamilyMembers {
        FamilyMembers::without_request_id(members::SECRETS, members::PROSE, members::UNIX_TIMES)
    }

    /// The status the profile gives `code` and a JSON body: each layer's body (a
    /// refusal, a validation map, an `/api` message) is judged by the checks that know
    /// its wording ([`refusal`], [`api_error`], [`outcome_refusal`]).
    fn error(&self, profile: &Profile, resp: &Resp, code: &str) -> Result<Value, Problem> {
        let want = profile.status_of(code);
        if resp.status() != want {
            return Err(resp.fail(format!(
                "expected {want} for `{code}`, got {}: {}",
                resp.status(),
                resp.body()
            )));
        }
        resp.json()
    }

    /// A 200 of the tags route becomes a note: its body is the company's data (another
    /// deployment's list has another length), not the contract's, so it must not change
    /// the snapshot. The checks assert the list themselves.
    fn kept(&self, profile: &Profile, _check_id: &str, ex: Exchange) -> Kept {
        if ex.status == 200 && ex.req.route() == profile.path("tags") {
            Kept::Note(format!(
                "{} {}: 200 with the company's tags",
                ex.req.method,
                ex.req.route()
            ))
        } else {
            Kept::Exchange(Box::new(ex))
        }
    }

    fn free(&self) -> &'static Freedoms {
        &FREEDOMS
    }

    fn over_admission_clause(&self) -> Option<&'static str> {
        Some(rate::OVER_ADMISSION_CLAUSE)
    }
}

impl SuiteFamily for Enterprise {
    fn checks(&self, profile: &Profile) -> Vec<Check> {
        let mut v = Vec::new();
        v.extend(token::checks());
        v.extend(introspect::checks(profile));
        v.extend(api::checks(profile));
        v.extend(rate_kit::checks(profile, &rate::Recipe));
        v
    }

    /// An unknown route under `/api` and the tags route, both answered without a token in
    /// JSON (`{message}`, EN-API-1).
    fn probe_paths(&self, profile: &Profile) -> [String; 2] {
        [
            format!(
                "{}/conformance-probe",
                profile.path("api").trim_end_matches('/')
            ),
            profile.path("tags").to_owned(),
        ]
    }

    fn rate(&self) -> Option<&'static dyn RateFamily> {
        Some(&rate::Recipe)
    }
}

/// `POST` to the token endpoint with JSON credentials (EN-TOKEN-1), `scope` if given.
pub fn token_request(ctx: &Ctx, app: &App, scope: Option<&str>) -> Req {
    let secret = app
        .secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default();
    let mut body = json!({"client_id": app.client_id, "client_secret": secret});
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Req::post(ctx.path("token")).json(body)
}

/// Gets a token for `app` (EN-TOKEN-1), failing unless it is issued.
pub async fn issue(ctx: &mut Ctx, app: &App, scope: Option<&str>) -> Result<Issued, Problem> {
    let r = ctx.send(token_request(ctx, app, scope)).await?;
    issued(&r)
}

/// The token of a 200 from the token endpoint (EN-TOKEN-1), or the failure.
pub fn issued(r: &Resp) -> Result<Issued, Problem> {
    if r.status() != 200 {
        return Err(r.fail(format!(
            "EN-TOKEN-1: the token request answered {}, expected 200: {}",
            r.status(),
            r.body()
        )));
    }
    answers::read_issued(r.body().as_bytes()).map_err(|p| r.fail(format!("EN-TOKEN-1: {p}")))
}

/// `GET` the tags route, with a bearer token if given.
pub fn tags_request(ctx: &Ctx, token: Option<&str>) -> Req {
    let req = Req::get(ctx.path("tags"));
    match token {
        Some(t) => req.bearer(t),
        None => req,
    }
}

/// A `{token}` body for introspect or revoke (EN-TOKEN-4: no client authentication).
pub fn token_body(ctx: &Ctx, endpoint: &str, token: &str) -> Req {
    Req::post(ctx.path(endpoint)).json(json!({ "token": token }))
}

/// The status the profile gives an error, and a failure citing `clause` if `r` has another.
fn status_is(ctx: &Ctx, r: &Resp, error: &str, clause: &str) -> CheckResult {
    let want = ctx.profile().status_of(error);
    if r.status() != want {
        return Err(r.fail(format!(
            "{clause}: expected {want}, got {}: {}",
            r.status(),
            r.body()
        )));
    }
    Ok(())
}

/// An `/api/*` error: the profile's status for `error` and `{"message": message}`
/// exactly (EN-API-1, EN-RATE-1).
pub fn api_error(ctx: &Ctx, r: &Resp, error: &str, message: &str, clause: &str) -> CheckResult {
    status_is(ctx, r, error, clause)?;
    let got = answers::read_api_message(r.body().as_bytes())
        .map_err(|p| r.fail(format!("{clause}: {p}")))?;
    if got != message {
        return Err(r.fail(format!(
            "{clause}: `message` is {got:?}, expected {message:?}"
        )));
    }
    Ok(())
}

/// A token-endpoint refusal: the profile's status for `error`, `{success: false,
/// message}` with `message` exactly (EN-TOKEN-2/3/4).
pub fn refusal(
    ctx: &Ctx,
    r: &Resp,
    error: &str,
    message: &str,
    clause: &str,
) -> Result<Refusal, Problem> {
    status_is(ctx, r, error, clause)?;
    let got =
        answers::read_refusal(r.body().as_bytes()).map_err(|p| r.fail(format!("{clause}: {p}")))?;
    if got.message != message {
        return Err(r.fail(format!(
            "{clause}: `message` is {:?}, expected {message:?}",
            got.message
        )));
    }
    Ok(got)
}

/// An introspect or revoke refusal: `{success: false, message}` with `message` exactly,
/// and the profile's status for `error` when `status` says the status counts here (a
/// status the contract only DECIDED is checked apart).
pub fn outcome_refusal(
    ctx: &Ctx,
    r: &Resp,
    error: &str,
    message: &str,
    clause: &str,
) -> CheckResult {
    status_is(ctx, r, error, clause)?;
    refused_with(r, message, clause)
}

/// `{success: false, message}` with `message` exactly, at a 4xx status.
pub fn refused_with(r: &Resp, message: &str, clause: &str) -> CheckResult {
    if !(400..500).contains(&r.status()) {
        return Err(r.fail(format!(
            "{clause}: expected a 4xx refusal, got {}: {}",
            r.status(),
            r.body()
        )));
    }
    let got =
        answers::read_outcome(r.body().as_bytes()).map_err(|p| r.fail(format!("{clause}: {p}")))?;
    if got.success || got.message != message {
        return Err(r.fail(format!(
            "{clause}: expected {{success: false, message: {message:?}}}, got {}",
            r.body()
        )));
    }
    Ok(())
}

/// Calls the tags route with `token` and answers the tags, failing unless it is a 200
/// `{data: [...]}` (EN-API-1); the transcript notes it (see [`Enterprise::kept`]).
pub async fn tags_with(ctx: &mut Ctx, token: &str, clause: &str) -> Result<Vec<String>, Problem> {
    let r = ctx.send(tags_request(ctx, Some(token))).await?;
    if r.status() != 200 {
        return Err(r.fail(format!(
            "{clause}: GET {} with a live token answered {}, expected 200: {}",
            ctx.path("tags"),
            r.status(),
            r.body()
        )));
    }
    answers::read_tags(r.body().as_bytes()).map_err(|p| r.fail(format!("{clause}: {p}")))
}

pub use crate::kit::flows::scope_set;
