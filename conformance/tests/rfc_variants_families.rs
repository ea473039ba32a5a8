//! Enterprise and punchplay deployments that differ from the reference server (issue 18
//! item 9), each the reference server of its family behind a proxy that rewrites what it
//! says (`support/rewrite.rs`), judged as the CLI judges a `--target`
//! (`support/variant_suite.rs`):
//!
//! - enterprise, `token_type: "bearer"` and extension members: CONFORMANT (RFC 6749 §5.1;
//!   the contract's line under "Levels");
//! - enterprise, "Token not found." answered 404 instead of 422: EN-REVOKE-1's status is
//!   DECIDED, so it fails at `--level decided` only;
//! - enterprise, an `/api/*` that redirects to a login page: fails EN-API-1, judged by the
//!   checks rather than refused up front;
//! - punchplay, error bodies as text/plain: fails PP-ERR-1 only;
//! - punchplay, the approval redirect answered 303: fails PP-AUTHZ-3, which says 302.
//!
//! The flexslot variants are in `tests/rfc_variants.rs`.

#[path = "support/rewrite.rs"]
mod rewrite;
#[path = "support/variant_suite.rs"]
mod variant_suite;

use conformance::drivers::Driver;
use profile::{Level, Profile};
use rewrite::{Answer, Rewrite, Sent};
use serde_json::{Value, json};
use variant_suite::{Judged, assert_conformant, assert_fails_only, bad_checks, ran};

/// The reference server of `family` behind `rewrite`, judged with `driver`.
async fn judge(family: &str, rewrite: impl Rewrite, driver: Driver) -> Judged {
    let builtin = profile::builtin::find(family).expect("a built-in family");
    let (profile, ids) = (builtin.profile(), builtin.identities());
    let server_profile = profile.clone();
    let server_ids = ids.clone();
    let (server, proxy) = rewrite::reference_behind(
        move |_| reference_server::ServerConfig {
            profile: server_profile,
            identities: server_ids,
            ..reference_server::ServerConfig::punchplay()
        },
        rewrite,
    )
    .await;
    let judged = variant_suite::judge(&proxy.base_url(), profile, ids, true, driver).await;
    server.stop().await;
    judged
}

fn enterprise() -> Profile {
    profile::builtin::find("enterprise")
        .expect("built in")
        .profile()
}

// --- enterprise ---

/// `token_type` in lower case and an extension member in every JSON object.
struct LowerBearerAndExtensions;

fn lower_and_extend(json: &mut Value) {
    match json {
        Value::Object(map) => {
            map.values_mut().for_each(lower_and_extend);
            if let Some(Value::String(t)) = map.get_mut("token_type") {
                *t = t.to_ascii_lowercase();
            }
            map.entry("x_partner")
                .or_insert_with(|| json!({"region": "eu-1"}));
        }
        Value::Array(items) => items.iter_mut().for_each(lower_and_extend),
        _ => {}
    }
}

impl Rewrite for LowerBearerAndExtensions {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        if let Some(mut json) = answer.json() {
            lower_and_extend(&mut json);
            answer.set_json(&json);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_lower_case_bearer_and_extension_members_are_conformant() {
    let judged = judge("enterprise", LowerBearerAndExtensions, Driver::TestControls).await;
    assert_conformant(&judged);
}

/// "Token not found." with 404, where the reference server's DECIDED status is 422.
struct TokenNotFoundIs404;

impl Rewrite for TokenNotFoundIs404 {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        let revoke = enterprise().path("revoke").to_owned();
        let not_found = answer
            .json()
            .is_some_and(|j| j["message"] == "Token not found.");
        if sent.path() == revoke && not_found {
            answer.status = 404;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_token_not_found_with_another_status_fails_only_at_decided() {
    let judged = judge("enterprise", TokenNotFoundIs404, Driver::TestControls).await;
    assert_fails_only(&judged, &["EN-REVOKE-1"]);
    let mut report = ran(&judged).clone();
    let bad: Vec<_> = report.checks.iter().filter(|c| c.status.is_bad()).collect();
    assert!(
        bad.iter().all(|c| c.level == Level::Decided),
        "only DECIDED checks may fail:\n{}",
        bad_checks(&report).join("\n")
    );
    report.gate = vec![Level::Must, Level::Should];
    assert!(report.conformant(), "conformant at --level should");
}

/// Every `/api/*` answer that would be 401 redirects to a sign-in page instead.
struct ApiRedirectsToLogin;

impl Rewrite for ApiRedirectsToLogin {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        let api = format!("{}/", enterprise().path("api"));
        if sent.path().starts_with(&api) && answer.status == 401 {
            *answer = Answer::new(302);
            answer.set_header("location", "/login?next=%2Fapi");
            answer.set_text("text/html; charset=utf-8", "<a href=\"/login\">Sign in</a>");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_api_redirecting_to_a_login_page_fails_en_api_1() {
    let judged = judge("enterprise", ApiRedirectsToLogin, Driver::TestControls).await;
    assert_fails_only(&judged, &["EN-API-1"]);
    // The redirects a revocation check and a rate check met are reported under EN-API-1.
    assert_seen_under(&judged, "EN-API-1", &["EN-REVOKE-1/", "EN-RATE-1/"]);
}

/// `clause` is a root of the run: its checks fail, and the checks of each of `seen_in`
/// (id prefixes) met its difference on their way, reported under it, not failed by it.
fn assert_seen_under(judged: &Judged, clause: &str, seen_in: &[&str]) {
    let report = ran(judged);
    let root = report
        .root_causes
        .iter()
        .find(|c| c.clause == clause)
        .unwrap_or_else(|| panic!("no root for {clause}: {:?}", report.root_causes));
    assert!(root.root().is_some(), "{clause}'s checks fail: {root:?}");
    for prefix in seen_in {
        assert!(
            root.seen_in.iter().any(|id| id.starts_with(prefix)),
            "no {prefix} check reported as seeing {clause}'s difference: {:?}",
            root.seen_in
        );
    }
}

// --- punchplay ---

/// Every JSON error body as text/plain, status and headers kept.
struct TextPlainErrors;

impl Rewrite for TextPlainErrors {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        if answer.status < 400 {
            return;
        }
        if let Some(json) = answer.json().filter(|j| j.get("error").is_some()) {
            let text = format!(
                "{}: {}",
                json["error"].as_str().unwrap_or_default(),
                json["message"].as_str().unwrap_or_default()
            );
            answer.set_text("text/plain; charset=utf-8", &text);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn punchplay_text_plain_error_bodies_fail_pp_err_1() {
    let judged = judge("punchplay", TextPlainErrors, Driver::TestControls).await;
    assert_fails_only(&judged, &["PP-ERR-1"]);
    // Every check that asserted an error met the text body; its status was judged, the
    // body reported under PP-ERR-1.
    assert_seen_under(
        &judged,
        "PP-ERR-1",
        &["PP-API-1/", "PP-TOKEN-3/", "PP-RATE-2/", "PP-ERR-2/"],
    );
}

/// The approval redirect (the one with a `code`) answered 303 instead of 302; approvals
/// through the real pages, where the status is seen.
struct ApprovalRedirects303;

impl Rewrite for ApprovalRedirects303 {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        let approval = answer
            .header("location")
            .is_some_and(|l| l.contains("code="));
        if answer.status == 302 && approval {
            answer.status = 303;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn punchplay_approval_answered_303_fails_pp_authz_3() {
    let judged = judge("punchplay", ApprovalRedirects303, Driver::Pages).await;
    assert_fails_only(&judged, &["PP-AUTHZ-3"]);
}
