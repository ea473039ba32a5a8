//! Punchplay's checks (seeds 000-002, PP-*), one file per area of the contract. Each
//! file's `checks()` lists its checks, each with its request budget per rate limit
//! declared on it;
//! [`Punchplay::checks`] is the family's suite, in the order the reports and snapshots
//! have always had. [`Punchplay`] is the family's part of the suite (its dialect: the
//! `{error, message, request_id}` envelope, PP-ERR-1/2); the helpers below are shared by
//! the area files.

use profile::{App, AppKind, Profile};
use serde_json::{Value, json};

use contract_client::families::punchplay::{EnvelopeProblem, ErrorAnswer};

use crate::check::{Check, Ctx, str_of};
use crate::client::{Req, Resp};
use crate::dialect::{self, Dialect};
use crate::drivers::sign_in;
use crate::ensure;
use crate::family::SuiteFamily;
use crate::free::{self, Freedoms, OwnedStatus};
use crate::kit::rate::{self as rate_kit, RateFamily};
use crate::kit::redirect;
use crate::outcome::Problem;
use crate::passing::Step;
use crate::redact::FamilyMembers;

pub mod api;
pub mod app;
pub mod authorize;
pub mod device;
pub mod errors;
pub mod members;
pub mod public;
pub mod rate;
pub mod refresh;
pub mod revoke;
pub mod roles;
pub mod scope;
pub mod token;

pub use roles::{Roles, roles};

/// Punchplay's: values its clauses do not name. A 303 still fails PP-AUTHZ-3, a token
/// answer without `scope` still fails PP-SCOPE-4.
pub static FREEDOMS: Freedoms = Freedoms {
    redirect_statuses: &[302],
    free_text: &[],
    optional: &[],
    case_free: free::CASE_FREE,
    challenge_params: free::CHALLENGE_PARAMS,
    one_of: &[],
    // PP-AUTHZ-3 names the approval's 302; PP-AUTHZ-2's page check approves too.
    statuses_only_in_their_checks: &[OwnedStatus {
        status: 302,
        request: &[],
        answer: "location: [redirect-uri]?code=",
        counts_in: &["PP-AUTHZ-3/"],
    }],
    only_in_their_checks: &[
        // PP-TOKEN-4: no-store is SHOULD (RFC 6749 §5.1).
        ("cache-control", Some("PP-TOKEN-4/")),
        // PP-RATE-2: Retry-After "may" (DECIDED); PP-RATE-2/*-refusal-has-retry-after,
        // PP-RATE-3/*-reopens-at-retry-after.
        ("retry-after", Some("retry-after")),
    ],
};

/// The punchplay family's suite.
pub struct Punchplay;

impl Dialect for Punchplay {
    fn roles(
        &self,
        ids: &profile::Identities,
        profile: &Profile,
    ) -> Result<Box<dyn dialect::Roles>, String> {
        Ok(Box::new(Roles::pick(ids, profile)?))
    }

    fn members(&self, profile: &Profile) -> FamilyMembers {
        FamilyMembers {
            secrets: members::SECRETS,
            request_id_member: members::REQUEST_ID,
            request_id: profile.request_id().cloned(),
            prose: members::PROSE,
            data_uris: members::DATA_URIS,
            event_ids: members::EVENT_IDS,
            unix_times: &[],
        }
    }

    /// The error envelope (PP-ERR-1) with `code` and the status the profile gives it
    /// (PP-ERR-3), its request id in the header and the body, equal (PP-ERR-2).
    fn error(&self, profile: &Profile, resp: &Resp, code: &str) -> Result<Value, Problem> {
        let status = profile.status_of(code);
        let got = resp.error_code();
        // The right status with no envelope to read the code from (a text/plain or
        // HTML body): the envelope is PP-ERR-1's; the status is the asserting check's.
        if resp.status() == status && got.is_none() {
            return Err(resp.fail(format!(
                "PP-ERR-1: the {status} answer (`{code}` expected) carries no JSON error envelope with an `error` member; content-type {:?}",
                resp.header("content-type").unwrap_or("none")
            )));
        }
        if resp.status() != status || got.as_deref() != Some(code) {
            return Err(resp.fail(format!(
                "expected {status} `{code}`, got {} {}",
                resp.status(),
                got.map_or_else(
                    || "without an `error` member".to_owned(),
                    |c| format!("`{c}`")
                )
            )));
        }
        let body = resp.json()?;
        let Some(format) = profile.request_id() else {
            return Err(Problem::error(
                "the punchplay profile has no request-id format (PP-ERR-2)",
            ));
        };
        let answer = ErrorAnswer::of_exchange(&format.header, &resp.ex);
        match answer
            .envelope_problem()
            .or_else(|| answer.format_problem(format))
        {
            None => Ok(body),
            Some(EnvelopeProblem::NoMessage) => Err(resp.fail(
                "PP-ERR-1: the error body has no non-empty `message`",
            )),
            // PP-ERR-1 names the member, PP-ERR-2 its equality with the header and format.
            Some(
                p @ (EnvelopeProblem::NoHeaderRequestId
                | EnvelopeProblem::RequestIdsDiffer { .. }
                | EnvelopeProblem::RequestIdFormat(_)),
            ) => Err(resp.fail(format!(
                "PP-ERR-2: body request_id {:?} and header {} {:?} must be equal and in the `{}` format ({p})",
                answer.body_request_id, format.header, answer.header_request_id, format.prefix
            ))),
            Some(other) => Err(resp.fail(other.to_string())),
        }
    }

    fn free(&self) -> &'static Freedoms {
        &FREEDOMS
    }

    fn over_admission_clause(&self) -> Option<&'static str> {
        Some(rate::OVER_ADMISSION_CLAUSE)
    }

    /// The clauses that describe the answers of the steps a check passes through.
    fn step_clause(&self, step: Step) -> Option<&'static str> {
        Some(match step {
            Step::Approval => "PP-AUTHZ-3",
            Step::CodeRedemption => "PP-TOKEN-1",
            Step::DeviceCode => "PP-DEVICE-1",
            Step::DeviceToken => "PP-DEVICE-3",
            Step::Refresh => "PP-REFRESH-1",
            Step::ClientCredentials => return None,
        })
    }

    /// Members and headers one clause singles out, wherever they appear; the request-id
    /// header (the profile names it) is PP-ERR-2's, a challenge the token endpoint's
    /// (Basic, PP-TOKEN-5) or the bearer API's (PP-API-1).
    fn named_by(&self, profile: &Profile, route: &str, name: &str) -> Option<&'static str> {
        if profile
            .request_id()
            .is_some_and(|f| f.header.eq_ignore_ascii_case(name))
        {
            return Some("PP-ERR-2");
        }
        if name.eq_ignore_ascii_case("www-authenticate") {
            let oauth = ["token", "refresh", "device_code", "device_token"]
                .iter()
                .any(|e| profile.paths.get(*e).is_some_and(|p| p == route));
            return Some(if oauth { "PP-TOKEN-5" } else { "PP-API-1" });
        }
        NAMED_BY
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, clause)| *clause)
    }

    /// PP-ERR-1: every platform error body is JSON.
    fn error_body_clause(&self) -> Option<&'static str> {
        Some("PP-ERR-1")
    }

    /// PP-APP-3 names invalid_client's 401 in particular; every other code's status is
    /// the sweep's or the asserting check's.
    fn status_clause(&self, _profile: &Profile, code: &str) -> Option<&'static str> {
        (code == "invalid_client").then_some("PP-APP-3")
    }
}

/// The members and headers of punchplay's answers that one clause names, whatever answer
/// carries them (issue 18 item 4: a difference fails only that clause's checks).
const NAMED_BY: &[(&str, &str)] = &[
    // "token responses and the device-code response carry `scope`".
    ("scope", "PP-SCOPE-4"),
    // No-store is PP-TOKEN-4's SHOULD part; Retry-After is PP-RATE-2's.
    ("cache-control", "PP-TOKEN-4"),
    ("retry-after", "PP-RATE-2"),
    // The body's request id: its format and equality with the header are PP-ERR-2's.
    ("request_id", "PP-ERR-2"),
    ("message", "PP-ERR-1"),
];

impl SuiteFamily for Punchplay {
    fn checks(&self, profile: &Profile) -> Vec<Check> {
        let mut v = Vec::new();
        v.extend(app::checks());
        v.extend(scope::checks());
        v.extend(authorize::checks());
        v.extend(token::checks());
        v.extend(device::checks());
        v.extend(refresh::checks());
        v.extend(api::checks());
        v.extend(public::checks());
        v.extend(revoke::checks());
        v.extend(errors::checks());
        v.extend(rate_kit::checks(profile, &rate::Recipe));
        v
    }

    /// An unknown platform route and `me` without a token, both answered in the error
    /// envelope (PP-ERR-1).
    fn probe_paths(&self, profile: &Profile) -> [String; 2] {
        [
            format!("{}/conformance-probe", profile.path("platform_api")),
            profile.path("me").to_owned(),
        ]
    }

    fn rate(&self) -> Option<&'static dyn RateFamily> {
        Some(&rate::Recipe)
    }
}

/// An id the target remembers once sent (a playback `event_id`): fresh per run, so a
/// second run against the same target never repeats one of the first (issue 10 item 4),
/// and redacted to `[kind-n]` so the snapshot stays the same.
pub fn fresh_id(ctx: &mut Ctx, stem: &str, kind: &str) -> String {
    let id = format!("{stem}-{:016x}", rand::random::<u64>());
    ctx.volatile(&id, kind);
    id
}

/// Signs the primary user in through the sign-in form (recorded: the page flow is part
/// of what some checks assert).
pub async fn signed_in(ctx: &mut Ctx, other: bool) -> Result<profile::User, Problem> {
    let user = if other {
        roles(ctx)?
            .other_user
            .clone()
            .ok_or_else(|| Problem::skip("needs a second test user in the credentials"))?
    } else {
        roles(ctx)?.user.clone()
    };
    let r = sign_in(ctx, &user, "/").await?;
    if !(300..400).contains(&r.status()) {
        return Err(r.fail(format!(
            "signing in as `{}` through the sign-in form answered {}",
            user.username,
            r.status()
        )));
    }
    Ok(user)
}

/// Registers an app as the signed-in user through `/developer/apps` (JSON, PP-APP-7) and
/// returns it with its secret; the new client id and secret are redacted.
pub async fn register_app(ctx: &mut Ctx, kind: AppKind) -> Result<(App, Resp), Problem> {
    let redirect = roles(ctx)?.web.redirect_uris[0].clone();
    let scopes = ctx.env.profile.scopes.known.clone();
    let kind_s = match kind {
        AppKind::Public => "public",
        AppKind::Confidential => "confidential",
    };
    let path = ctx.path("developer_apps");
    // A name of its own per run, so a rerun's apps are told from the last run's.
    let name = fresh_id(ctx, "Conformance Probe", "app-name");
    let r = ctx
        .send(Req::post(path).header("accept", "application/json").json(json!({
            "name": name, "kind": kind_s, "redirect_uris": [redirect], "allowed_scopes": scopes,
        })))
        .await?;
    if r.status() != 201 {
        return Err(r.fail(format!(
            "PP-APP-7: registering an app answered {}, expected 201: {}",
            r.status(),
            r.body()
        )));
    }
    let body = r.json()?;
    let app_v = body.get("app").unwrap_or(&body);
    let client_id = str_of(&r, app_v, "client_id")
        .or_else(|_| str_of(&r, &body, "client_id"))?
        .to_owned();
    ctx.volatile(&client_id, "client-id");
    let secret = body
        .get("client_secret")
        .or_else(|| app_v.get("client_secret"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(s) = &secret {
        ctx.volatile(s, "client-secret");
    }
    let app = App {
        client_id,
        name,
        kind,
        secret: secret.map(profile::Secret::new),
        secret_env: None,
        allowed_scopes: ctx.env.profile.scopes.known.clone(),
        redirect_uris: vec![redirect],
        active: true,
        grant_types: Vec::new(),
        enterprise: None,
        company: None,
    };
    Ok((app, r))
}

/// Fails unless `resp` is a 302 whose Location is `redirect_uri` with `error=code`,
/// `state` echoed and a `request_id` in the profile's format (PP-AUTHZ-4).
pub fn error_redirect(
    ctx: &Ctx,
    resp: &Resp,
    redirect_uri: &str,
    code: &str,
    state: &str,
) -> Result<(), Problem> {
    let statuses = FREEDOMS.redirect_statuses;
    let r = redirect::error_redirect(resp, statuses, "PP-AUTHZ-4", redirect_uri, code, state)?;
    let rid = r.param("request_id");
    let format = ctx.profile().request_id();
    // The request id of an error redirect is PP-AUTHZ-4's, whichever check meets it.
    if !rid.zip(format).is_some_and(|(rid, f)| f.matches(rid)) {
        let p = resp.fail(format!(
            "PP-AUTHZ-4: the error redirect carries request_id={rid:?}, expected `{}` + {} hex",
            format.map(|f| f.prefix.as_str()).unwrap_or_default(),
            format.map_or(0, |f| f.hex_len)
        ));
        ctx.in_passing(Err::<(), _>(p.of_clause("PP-AUTHZ-4")))?;
    }
    Ok(())
}

/// How a check names a page a person reads, in the failures of [`page_shows_app`].
pub struct PageWording {
    /// What answered, as in "… answered 500".
    pub answered: &'static str,
    /// The failure when the app's name is missing; the name follows.
    pub lacks_name: &'static str,
    /// The failure when a scope is missing; the scope follows in backticks.
    pub lacks_scope: &'static str,
}

/// The page is a 200 showing the app's name, HTML-escaped, and each of `scopes`: what a
/// person must see before deciding for an app (approval, activate) or revoking it
/// (connected apps).
pub fn page_shows_app<'s>(
    r: &Resp,
    wording: &PageWording,
    app: &App,
    scopes: impl IntoIterator<Item = &'s str>,
) -> Result<(), Problem> {
    ensure!(
        r.status() == 200,
        r,
        "{} answered {}",
        wording.answered,
        r.status()
    );
    let name = html_escape::encode_text(&app.name).into_owned();
    ensure!(
        r.body().contains(&name),
        r,
        "{} {:?}",
        wording.lacks_name,
        app.name
    );
    for s in scopes {
        ensure!(r.body().contains(s), r, "{} `{s}`", wording.lacks_scope);
    }
    Ok(())
}

/// The owner deactivates `app` on the developer pages (PP-APP-8), asking for JSON.
pub async fn deactivate_app(ctx: &mut Ctx, app: &App) -> Result<Resp, Problem> {
    let path = format!(
        "{}/{}/deactivate",
        ctx.path("developer_apps"),
        app.client_id
    );
    // A JSON body, as a script sends it: a page's form would carry the page's CSRF token
    // instead, and `Accept` alone proves nothing about where the request came from.
    ctx.send(
        Req::post(path)
            .header("accept", "application/json")
            .json(json!({})),
    )
    .await
}

pub use crate::kit::flows::scope_set;

/// `POST auth/refresh` (device-flow apps, PP-REFRESH-1).
pub fn refresh_device_req(ctx: &Ctx, app: &App, refresh: &str) -> Req {
    contract_client::flows::refresh_req(
        ctx.profile(),
        &contract_client::flows::ClientAuth::of_app(app),
        refresh,
    )
}

pub async fn refresh_device(ctx: &mut Ctx, app: &App, refresh: &str) -> Result<Resp, Problem> {
    let req = refresh_device_req(ctx, app, refresh);
    ctx.send(req).await
}

/// The public app the checks use when a narrow public app is needed but absent.
pub fn spa_or_skip(ctx: &Ctx) -> Result<App, Problem> {
    roles(ctx)?.spa.clone().ok_or_else(|| {
        Problem::skip("needs an active public app with a redirect URI and fewer scopes than the profile knows")
    })
}

pub fn inactive_or_skip(ctx: &Ctx) -> Result<App, Problem> {
    roles(ctx)?
        .inactive
        .clone()
        .ok_or_else(|| Problem::skip("needs a deactivated app in the credentials"))
}

/// The app's client secret in the clear, for HTTP Basic; empty when it has none.
pub fn client_secret(app: &App) -> String {
    app.secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default()
}

/// A copy of `app` whose secret is replaced.
pub fn with_secret(app: &App, secret: &str) -> App {
    let mut a = app.clone();
    a.secret = Some(profile::Secret::new(secret));
    a.kind = AppKind::Confidential;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punchplay_frees_only_what_its_clauses_do_not_name() {
        assert!(!FREEDOMS.redirects_with(303), "PP-AUTHZ-3 says 302");
        assert!(
            !FREEDOMS.may_omit("scope", "PP-SCOPE-4/x"),
            "PP-SCOPE-4 names scope"
        );
        assert!(FREEDOMS.same("token_type", "Bearer", "bearer"));
        assert!(!FREEDOMS.same("error", "invalid_grant", "Invalid_Grant"));
        assert!(FREEDOMS.counts_in("cache-control", "PP-TOKEN-4/token-responses-carry-no-store"));
        assert!(!FREEDOMS.counts_in("cache-control", "PP-API-1/x"));
        assert!(FREEDOMS.counts_in("content-type", "PP-API-1/x"));
    }
}
