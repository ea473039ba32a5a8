//! The suite's family seam (issue 19): a family is its dialect and its checks, nothing
//! else in the suite names it. A small family made here, with one check, runs through the
//! runner against a reference server; a profile copy that adds a rate limit on an
//! endpoint the family has a recipe for gets that limit's checks without a line of code,
//! and they pass against a server that enforces the copy; a limit without a recipe is
//! named in the run's notes; and every family's ordinary checks send no more than the
//! budget they declare.

#[path = "support/enterprise_suite.rs"]
mod enterprise_suite;
mod support;

use std::sync::Arc;
use std::time::Duration;

use profile::{App, Identities, Level, Profile};
use serde_json::Value;

use conformance::check::{Check, Ctx, Env, Schedule};
use conformance::client::{HttpOptions, Resp};
use conformance::dialect::{Dialect, Roles};
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::family::SuiteFamily;
use conformance::kit::flows;
use conformance::outcome::{CheckResult, Problem};
use conformance::redact::FamilyMembers;
use conformance::runner::{self, RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStore};

/// A family of one check, written here and registered nowhere but in its environment:
/// its dialect reads errors by their `error` member and names its one app `the-app`.
struct Tiny;

struct TinyRoles {
    app: String,
}

impl Roles for TinyRoles {
    fn app_role(&self, app: &App) -> Option<&'static str> {
        (app.client_id == self.app).then_some("the-app")
    }
}

impl Dialect for Tiny {
    fn roles(&self, ids: &Identities, _profile: &Profile) -> Result<Box<dyn Roles>, String> {
        let app = ids
            .apps
            .iter()
            .find(|a| a.active && !a.redirect_uris.is_empty())
            .ok_or("the tiny family needs an active app with a redirect URI")?;
        Ok(Box::new(TinyRoles {
            app: app.client_id.clone(),
        }))
    }

    fn members(&self, _profile: &Profile) -> FamilyMembers {
        FamilyMembers::without_request_id(
            &[
                ("access_token", "access-token"),
                ("refresh_token", "refresh-token"),
            ],
            &["message"],
            &[],
        )
    }

    fn error(&self, profile: &Profile, resp: &Resp, code: &str) -> Result<Value, Problem> {
        let want = profile.status_of(code);
        if resp.status() != want || resp.error_code().as_deref() != Some(code) {
            return Err(resp.fail(format!(
                "expected {want} `{code}`, got {} {:?}",
                resp.status(),
                resp.error_code()
            )));
        }
        resp.json()
    }
}

impl SuiteFamily for Tiny {
    fn checks(&self, _profile: &Profile) -> Vec<Check> {
        vec![Check::new(
            "PP-API-7/tiny-family-reads-me",
            "The app's user, approved through the kit's code flow, reads `me`; a token nobody issued is refused",
            conformance::run!(tiny_check),
        )]
    }

    fn probe_paths(&self, profile: &Profile) -> [String; 2] {
        [profile.path("me").to_owned(), profile.path("me").to_owned()]
    }
}

async fn tiny_check(ctx: &mut Ctx) -> CheckResult {
    let app = ctx
        .env
        .ids
        .apps
        .iter()
        .find(|a| ctx.env.role_names().app_role(a).is_some())
        .cloned()
        .ok_or_else(|| Problem::error("no app plays a role"))?;
    let tokens = flows::code_tokens(ctx, &app, None).await?;
    let r = flows::me(ctx, &tokens.access).await?;
    ctx.ok_json(&r)?;
    let r = flows::me(ctx, "conformance-unknown-access-token").await?;
    ctx.error(&r, "invalid_token")?;
    Ok(())
}

fn options(mode: SnapshotMode, dir: std::path::PathBuf) -> Arc<RunOptions> {
    Arc::new(RunOptions {
        concurrency: 4,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore { dir, mode },
        expected: Expected::default(),
    })
}

fn http(base: &str, profile: &Profile) -> HttpOptions {
    HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_registered_in_its_environment_runs_its_one_check_through_the_kit() {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let profile = Profile::punchplay();
    let env = Env::of_family(
        &Tiny,
        profile.clone(),
        Identities::punchplay(),
        http(&server.base_url(), &profile),
        true,
        Driver::TestControls,
        false,
    )
    .expect("the tiny family finds its app");
    let check = Tiny.checks(&profile).remove(0);
    let dir = std::env::temp_dir();
    let report = runner::run_one(Arc::new(env), check, options(SnapshotMode::Off, dir)).await;
    server.stop().await;
    assert_eq!(report.status, Status::Pass, "{:?}", report.message);
    assert_eq!(report.level, Level::Decided, "PP-API-7's level");
    // The kit sent the flow, the family's roles named the app, its members redacted the
    // tokens: the transcript shows the redemption and both calls, stable.
    let t = &report.transcript;
    assert!(t.contains("client_id=[client:the-app]"), "{t}");
    assert!(t.contains("authorization: Bearer [access-token-1]"), "{t}");
    assert!(t.matches("→ GET /api/platform/v1/me").count() == 2, "{t}");
}

/// The built-in enterprise profile with one more limit, written as a deployment's copy
/// would add it: on `introspect`, an endpoint enterprise's recipe knows.
fn enterprise_copy_with_an_introspect_limit() -> Profile {
    let text = format!(
        "{}\n{}",
        profile::ENTERPRISE_PROFILE_TOML,
        r#"
[[rate_limits]]
name = "introspect"
method = "POST"
endpoint = "introspect"
max = 5
window_secs = 60
key = "ip"
"#
    );
    Profile::from_toml_str(&text).expect("a valid profile copy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_added_on_an_endpoint_with_a_recipe_gets_its_checks_with_no_code() {
    let profile = enterprise_copy_with_an_introspect_limit();
    let ids = enterprise_suite::builtin().identities();
    let checks: Vec<Check> = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| c.exhausts == Some("introspect"))
        .collect();
    let ids_of: Vec<&str> = checks.iter().map(|c| c.id).collect();
    assert_eq!(
        ids_of,
        [
            "EN-RATE-1/introspect-admits-the-documented-number",
            "EN-RATE-1/introspect-refusal-has-retry-after",
            "EN-RATE-1/introspect-reopens-at-retry-after",
            "EN-RATE-1/introspect-counts-every-status",
            "EN-RATE-1/introspect-counts-per-source-address",
        ]
    );
    assert!(checks.iter().all(|c| c.schedule == Schedule::Exhausting));
    assert!(
        conformance::kit::rate::limits_without_recipe(
            &profile,
            conformance::checks::family(profile.family).rate()
        )
        .is_empty()
    );
    // A server that enforces the copy: the new checks pass against it.
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        identities: ids.clone(),
        test_controls: true,
        ..reference_server::ServerConfig::enterprise()
    })
    .await
    .expect("the reference server serves the copy");
    let report = enterprise_suite::run_checks(
        &server.base_url(),
        &profile,
        ids,
        SnapshotMode::Off,
        true,
        checks,
    )
    .await;
    server.stop().await;
    enterprise_suite::assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_on_an_endpoint_without_a_recipe_is_named_in_the_runs_notes() {
    // `me` is limited in this copy; punchplay's recipe has no request for it.
    let mut profile = Profile::punchplay();
    let mut limit = profile.rate_limits[0].clone();
    limit.name = "whoami".to_owned();
    limit.method = "GET".to_owned();
    limit.target = profile::LimitTarget::Endpoint("me".to_owned());
    limit.key = profile::LimitKey::Ip;
    profile.rate_limits.push(limit);
    assert!(
        conformance::checks::all(&profile)
            .iter()
            .all(|c| !c.id.contains("whoami") && c.exhausts != Some("whoami")),
        "no checks are made for a limit without a recipe"
    );
    let server = support::suite::reference(&profile, true, false).await;
    let env = support::suite::env(
        &server.base_url(),
        &profile,
        true,
        Driver::TestControls,
        false,
    );
    let one = conformance::checks::find(&profile, "PP-API-9/unknown-platform-route-is-not-found")
        .expect("a check");
    let report: RunReport = runner::run(
        env,
        vec![one],
        support::suite::options(SnapshotMode::Off, 30),
        |_| {},
    )
    .await;
    server.stop().await;
    let note = report
        .notes
        .iter()
        .find(|n| n.contains("`whoami`"))
        .unwrap_or_else(|| panic!("no note names the limit: {:#?}", report.notes));
    assert!(
        note.contains("endpoint `me`") && note.contains("no request recipe"),
        "{note}"
    );
}

/// Each family's ordinary checks, run against the reference server, send no more
/// requests to a limited endpoint than they declare (punchplay's are held one by one in
/// `tests/checks.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ordinary_check_stays_within_its_declared_budget() {
    let b = enterprise_suite::builtin();
    let profile = b.profile();
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        identities: b.identities(),
        test_controls: true,
        ..reference_server::ServerConfig::enterprise()
    })
    .await
    .expect("the reference server starts");
    let checks: Vec<Check> = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| c.schedule != Schedule::Exhausting)
        .collect();
    let declared: Vec<(String, Vec<(&'static str, u32)>)> = checks
        .iter()
        .map(|c| (c.id.to_owned(), c.budget.clone()))
        .collect();
    let report = enterprise_suite::run_checks(
        &server.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Off,
        true,
        checks,
    )
    .await;
    server.stop().await;
    enterprise_suite::assert_all_pass(&report);
    let mut sent_somewhere = false;
    for c in &report.checks {
        let budget = &declared.iter().find(|(id, _)| *id == c.id).expect("run").1;
        for (limit, used) in &c.usage {
            sent_somewhere |= *used > 0;
            let allowed = budget
                .iter()
                .find(|(n, _)| n == limit)
                .map_or(0, |(_, n)| *n);
            assert!(
                *used <= allowed,
                "{} sent {used} requests that `{limit}` counts but declares {allowed}",
                c.id
            );
        }
    }
    assert!(sent_somewhere, "the ordinary checks call /api");
}
