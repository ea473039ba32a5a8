//! The comparison against hand-written transcripts: what is tolerated and what fails.

use super::*;

/// Freedoms as punchplay's are written (`checks/punchplay/mod.rs`): only `token_type`'s
/// case, and no-store and Retry-After counted in their own checks.
static PUNCHPLAY_LIKE: Freedoms = Freedoms {
    redirect_statuses: &[302],
    free_text: &[],
    optional: &[],
    case_free: free::CASE_FREE,
    challenge_params: free::CHALLENGE_PARAMS,
    one_of: &[],
    statuses_only_in_their_checks: &[],
    only_in_their_checks: &[
        ("cache-control", Some("PP-TOKEN-4/")),
        ("retry-after", Some("retry-after")),
    ],
};

const PINNED: &str = "\
→ POST /api/platform/v1/oauth/token
  [form]
  grant_type=authorization_code
  client_id=[client:web]
← 200
  content-type: application/json
  cache-control: no-store
  x-punchplay-request-id: [request-id]
  {
    \"access_token\": \"[access-token-1]\",
    \"expires_in\": 3600,
    \"scope\": \"profile:read\",
    \"token_type\": \"Bearer\"
  }
→ GET /api/platform/v1/me
  authorization: Bearer [access-token-1]
← 401
  content-type: application/json
  www-authenticate: Bearer error=\"invalid_token\"
  x-punchplay-request-id: [request-id]
  {
    \"error\": \"invalid_token\",
    \"message\": \"[message]\",
    \"request_id\": \"[request-id]\"
  }
";

fn differences(run: &str) -> Vec<String> {
    compare(PINNED, run)
        .differences
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

#[test]
fn the_same_text_has_no_differences() {
    let found = compare(PINNED, PINNED);
    assert!(found.differences.is_empty() && found.extensions.is_empty());
}

#[test]
fn extension_members_key_order_whitespace_and_header_case_are_tolerated() {
    let run = PINNED
        .replace(
            "    \"access_token\": \"[access-token-1]\",",
            "    \"x_gateway\": {\"hop\": 1},\n    \"access_token\": \"[access-token-1]\",",
        )
        .replace(
            "    \"error\": \"invalid_token\",",
            "\"error\":\"invalid_token\", \"x_gateway\": {\"hop\": 1},",
        )
        .replace(
            "content-type: application/json",
            "Content-Type: application/json; charset=utf-8",
        )
        .replace(
            "  cache-control: no-store",
            "  Cache-Control: no-store\n  x-punchplay-request-id: [request-id]",
        );
    let found = compare(PINNED, &run);
    assert!(found.differences.is_empty(), "{:?}", found.differences);
    assert_eq!(
        found.extensions.into_iter().collect::<Vec<_>>(),
        vec!["$.x_gateway".to_owned()]
    );
}

#[test]
fn a_nested_extension_is_listed_once_by_its_generic_path() {
    let pinned = "← 200\n  {\"apps\": [{\"id\": 1}, {\"id\": 2}]}\n";
    let run = "← 200\n  {\"apps\": [{\"id\": 1, \"x\": 0}, {\"id\": 2, \"x\": 0}], \"x\": 0}\n";
    let found = compare(pinned, run);
    assert!(found.differences.is_empty(), "{:?}", found.differences);
    assert_eq!(
        found.extensions.into_iter().collect::<Vec<_>>(),
        vec!["$.apps[].x".to_owned(), "$.x".to_owned()]
    );
}

#[test]
fn a_changed_status_fails() {
    let d = differences(&PINNED.replace("← 401", "← 400"));
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("← 400"), "{d:?}");
}

#[test]
fn a_missing_documented_member_fails() {
    let d = differences(&PINNED.replace("    \"expires_in\": 3600,\n", ""));
    assert_eq!(d, vec!["member `$.expires_in` is missing".to_owned()]);
}

#[test]
fn a_renamed_error_code_fails() {
    let d =
        differences(&PINNED.replace("\"error\": \"invalid_token\"", "\"error\": \"bad_token\""));
    assert_eq!(
        d,
        vec!["`$.error` is \"bad_token\" where the snapshot has \"invalid_token\"".to_owned()]
    );
}

#[test]
fn a_wrong_type_fails() {
    let d = differences(&PINNED.replace("\"expires_in\": 3600", "\"expires_in\": \"3600\""));
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("`$.expires_in` is a string"), "{d:?}");
}

#[test]
fn a_missing_or_changed_named_header_fails() {
    let d = differences(&PINNED.replace("  cache-control: no-store\n", ""));
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains("`cache-control` is missing"), "{d:?}");
    let d =
        differences(&PINNED.replace("content-type: application/json", "content-type: text/html"));
    assert_eq!(d.len(), 2, "{d:?}");
}

#[test]
fn named_headers_compare_what_the_contract_pins() {
    let m = |n: &str, p: &str, s: &str| header_value_matches(n, p, s, &free::STRICT, false);
    assert!(m("cache-control", "no-store", "private, no-store"));
    assert!(!m("cache-control", "no-store", "no-cache"));
    let pinned = "[redirect-uri]?code=[code-1]&state=[state-1]";
    assert!(m(
        "location",
        pinned,
        "[redirect-uri]?state=[state-1]&code=[code-1]&iss=x"
    ));
    assert!(!m("location", pinned, "[redirect-uri]?code=[code-1]"));
    assert!(!m(
        "location",
        pinned,
        "[redirect-uri]/x?code=[code-1]&state=[state-1]"
    ));
    let pinned = r#"Bearer realm="punchplay", error="invalid_token""#;
    assert!(m(
        "www-authenticate",
        pinned,
        r#"bearer error="invalid_token""#
    ));
    assert!(m(
        "www-authenticate",
        pinned,
        r#"Bearer error_description="expired, sorry", realm="api", error="invalid_token""#
    ));
    assert!(!m(
        "www-authenticate",
        pinned,
        r#"Bearer realm="punchplay""#
    ));
    assert!(!m(
        "www-authenticate",
        pinned,
        r#"Basic error="invalid_token""#
    ));
    assert!(!m(
        "www-authenticate",
        pinned,
        r#"Bearer error="invalid_request""#
    ));
}

#[test]
fn a_redirect_or_challenge_that_says_more_than_the_snapshot_fails() {
    let m = |n: &str, p: &str, s: &str| header_value_matches(n, p, s, &free::STRICT, false);
    let approval =
        "[redirect-uri]?code=[code-1]&state=[state-1]&scope=profile%3Aread+playback%3Aread";
    // The same parameters, encoded another way (RFC 3986 allows both), still match.
    assert!(m(
        "location",
        approval,
        "[redirect-uri]?scope=profile:read%20playback:read&state=[state-1]&code=[code-1]"
    ));
    // PP-AUTHZ-3: an approval that also carries an error code says something else.
    assert!(!m(
        "location",
        approval,
        &format!("{approval}&error=access_denied")
    ));
    let refusal = "[redirect-uri]?error=invalid_scope&state=[state-1]&request_id=[request-id]";
    assert!(m(
        "location",
        refusal,
        &format!("{refusal}&iss=https%3A%2F%2Fas")
    ));
    // PP-AUTHZ-4: an error redirect that hands out a code, or a second error, fails.
    assert!(!m("location", refusal, &format!("{refusal}&code=[code-1]")));
    assert!(!m(
        "location",
        refusal,
        &format!("{refusal}&error=server_error")
    ));
    // A redirect to the target's own page, absolute or not, is the same redirect.
    assert!(m(
        "location",
        "/settings/connected-apps",
        "[base]/settings/connected-apps"
    ));
    assert!(!m(
        "location",
        "/settings/connected-apps",
        "[redirect-uri]/settings/connected-apps"
    ));
    // A session cookie is the deployment's own: its name is not the contract's.
    assert!(m(
        "set-cookie",
        "pp_session=[cookie]",
        "__Host-sid=[cookie]"
    ));
    let signed_in = "← 303\n  set-cookie: pp_session=[cookie]\n";
    assert_eq!(compare(signed_in, "← 303\n").differences.len(), 1);
    // RFC 6750 §3.1: a bare challenge carries no error code.
    assert!(m(
        "www-authenticate",
        r#"Bearer realm="punchplay""#,
        r#"Bearer realm="api""#
    ));
    assert!(!m(
        "www-authenticate",
        r#"Bearer realm="punchplay""#,
        r#"Bearer realm="punchplay", error="invalid_token""#
    ));
    assert!(!m(
        "www-authenticate",
        r#"Bearer error="invalid_token""#,
        r#"Bearer error="invalid_token", error="insufficient_scope""#
    ));
}

#[test]
fn a_header_of_a_should_clause_counts_only_in_its_clauses_checks() {
    let run = PINNED.replace("  cache-control: no-store\n", "");
    // PP-TOKEN-4 (SHOULD) owns `no-store`: its checks fail on it...
    let found = compare_for(
        "PP-TOKEN-4/token-responses-carry-no-store",
        &PUNCHPLAY_LIKE,
        PINNED,
        &run,
    );
    assert_eq!(found.differences.len(), 1, "{:?}", found.differences);
    // ...a MUST check whose flow redeems a code on the way does not.
    let found = compare_for(
        "PP-API-1/expired-access-token-is-invalid-token",
        &PUNCHPLAY_LIKE,
        PINNED,
        &run,
    );
    assert!(found.differences.is_empty(), "{:?}", found.differences);
    // Retry-After ("may", DECIDED) counts in the checks named for it only.
    let pinned = "← 429\n  retry-after: [seconds]\n";
    let run = "← 429\n";
    let id = "PP-RATE-2/token-refusal-has-retry-after";
    assert_eq!(
        compare_for(id, &PUNCHPLAY_LIKE, pinned, run)
            .differences
            .len(),
        1
    );
    let id = "PP-RATE-2/token-refusal-is-rate-limited-with-request-id";
    assert!(
        compare_for(id, &PUNCHPLAY_LIKE, pinned, run)
            .differences
            .is_empty()
    );
    // Every other named header still counts everywhere.
    let run = PINNED.replace("content-type: application/json", "content-type: text/html");
    let found = compare_for(
        "PP-API-1/expired-access-token-is-invalid-token",
        &PUNCHPLAY_LIKE,
        PINNED,
        &run,
    );
    assert_eq!(found.differences.len(), 2, "{:?}", found.differences);
}

#[test]
fn a_changed_request_or_a_missing_exchange_fails() {
    let d = differences(&PINNED.replace("client_id=[client:web]", "client_id=[client:tv]"));
    assert_eq!(d.len(), 1, "{d:?}");
    let cut = &PINNED[..PINNED.find("→ GET").expect("two exchanges")];
    let d = differences(cut);
    assert!(d[0].contains("the snapshot goes on"), "{d:?}");
}

#[test]
fn a_note_quoting_json_tolerates_extensions_but_not_changes() {
    let pinned = "· the list has the app: {\"name\":\"[app-name-1]\"}\n";
    let run = "· the list has the app: {\"name\":\"[app-name-1]\",\"x\":1}\n";
    let found = compare(pinned, run);
    assert!(found.differences.is_empty(), "{:?}", found.differences);
    assert_eq!(found.extensions.len(), 1);
    let wrong = "· the list has the app: {\"title\":\"[app-name-1]\"}\n";
    assert_eq!(compare(pinned, wrong).differences.len(), 1);
    let other = "· the list lacks the app: {\"name\":\"[app-name-1]\"}\n";
    assert_eq!(compare(pinned, other).differences.len(), 1);
}

#[test]
fn event_stream_data_is_compared_as_json() {
    let pinned = "← 200\n  content-type: text/event-stream\n  id: [event-id]\n  data: {\"action\":\"start\"}\n";
    let run = pinned.replace(
        "{\"action\":\"start\"}",
        "{\"x\": 1, \"action\": \"start\"}",
    );
    assert!(compare(pinned, &run).differences.is_empty());
    let wrong = pinned.replace("start", "stop");
    assert_eq!(compare(pinned, &wrong).differences.len(), 1);
}

/// A flexslot error redirect and token answers as the reference server words them.
const FLEXSLOT: &str = "\
→ GET /authorize?response_type=code&client_id=[client:web]&state=[state-1]
← 302
  location: [redirect-uri]?error=invalid_scope&state=[state-1]
→ POST /token
  [form]
  grant_type=refresh_token
← 200
  content-type: application/json
  cache-control: no-store
  {
    \"access_token\": \"[access-token-1]\",
    \"expires_in\": 3600,
    \"scope\": \"profile\",
    \"token_type\": \"Bearer\"
  }
→ POST /token
  [form]
  grant_type=password
← 400
  content-type: application/json
  {
    \"error\": \"unsupported_grant_type\",
    \"error_description\": \"[message]\"
  }
→ GET /api/public/v1/me
← 401
  www-authenticate: Bearer error=\"invalid_token\"
";

fn flexslot_differences(check_id: &str, run: &str) -> Vec<String> {
    compare_for(check_id, &free::RFC_6749, FLEXSLOT, run)
        .differences
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

#[test]
fn flexslot_snapshots_pin_nothing_the_rfcs_leave_to_the_server() {
    let run = FLEXSLOT
        // A 303 and free text in the redirect, and RFC 9207's iss.
        .replace(
            "← 302\n  location: [redirect-uri]?error=invalid_scope&state=[state-1]",
            "← 303\n  location: [redirect-uri]?state=[state-1]&error=invalid_scope&error_description=Nope.&iss=https%3A%2F%2Fas",
        )
        // No expires_in, no scope (the refresh kept it), token_type in lower case.
        .replace("    \"expires_in\": 3600,\n", "")
        .replace("    \"scope\": \"profile\",\n", "")
        .replace("\"token_type\": \"Bearer\"", "\"token_type\": \"bearer\"")
        // No error_description.
        .replace(
            "    \"error\": \"unsupported_grant_type\",\n    \"error_description\": \"[message]\"",
            "    \"error\": \"unsupported_grant_type\"",
        )
        // Another realm and more auth-params.
        .replace(
            "www-authenticate: Bearer error=\"invalid_token\"",
            "www-authenticate: Bearer realm=\"api\", error=\"invalid_token\", error_description=\"expired\", scope=\"profile\"",
        );
    assert_eq!(
        flexslot_differences("FX-TOKEN-4/x", &run),
        Vec::<String>::new()
    );
    // A missing expires_in fails only where its SHOULD is checked.
    assert_eq!(
        flexslot_differences("FX-TOKEN-3/token-answer-carries-expires-in", &run),
        vec!["member `$.expires_in` is missing".to_owned()]
    );
    // What the contract names still counts: another error code, another status class, an
    // error the challenge did not have.
    for (from, to) in [
        ("error=invalid_scope", "error=access_denied"),
        ("← 302", "← 200"),
        (
            "\"error\": \"unsupported_grant_type\"",
            "\"error\": \"invalid_request\"",
        ),
        (
            "www-authenticate: Bearer error=\"invalid_token\"",
            "www-authenticate: Bearer error=\"insufficient_scope\"",
        ),
    ] {
        let d = flexslot_differences("FX-TOKEN-4/x", &FLEXSLOT.replace(from, to));
        assert_eq!(d.len(), 1, "{from} -> {to}: {d:?}");
    }
}

#[test]
fn punchplay_frees_only_token_type_case_and_what_its_clauses_do_not_name() {
    let pp = |run: &str| compare_for("PP-API-1/x", &PUNCHPLAY_LIKE, PINNED, run).differences;
    assert!(pp(&PINNED.replace("\"Bearer\"", "\"BEARER\"")).is_empty());
    // PP-SCOPE-4 names `scope`: a token answer without it differs.
    assert_eq!(
        pp(&PINNED.replace("    \"scope\": \"profile:read\",\n", "")).len(),
        1
    );
    // PP-AUTHZ-3 says 302.
    let redirect = "← 302\n  location: [redirect-uri]?code=[code-1]&state=[state-1]\n";
    let found = compare_for(
        "PP-AUTHZ-3/x",
        &PUNCHPLAY_LIKE,
        redirect,
        &redirect.replace("302", "303"),
    );
    assert_eq!(found.differences.len(), 1);
}

#[test]
fn a_basic_challenge_pins_its_scheme_only() {
    // FX-TOKEN-3 asks for the Basic scheme; an `error` auth-param and a realm on it are
    // the server's (RFC 6750 §3.1's bare-challenge rule is Bearer's).
    let m =
        |p: &str, s: &str| header_value_matches("www-authenticate", p, s, &free::RFC_6749, false);
    assert!(m(
        "Basic",
        r#"Basic realm="[base]", error="invalid_client""#
    ));
    assert!(m(
        r#"Basic realm="flexslot""#,
        r#"basic error="invalid_client""#
    ));
    assert!(!m("Basic", r#"Bearer error="invalid_client""#));
    // A bare Bearer challenge still carries no error code.
    assert!(!m("Bearer", r#"Bearer error="invalid_token""#));
}

#[test]
fn redirect_parameters_count_in_the_fragment_where_the_response_type_puts_them() {
    let m = |p: &str, s: &str, fragment: bool| {
        header_value_matches("location", p, s, &free::RFC_6749, fragment)
    };
    let pinned = "[redirect-uri]?error=unsupported_response_type&state=[state-1]";
    let in_fragment = "[redirect-uri]#error=unsupported_response_type&state=[state-1]";
    assert!(m(pinned, in_fragment, true));
    assert!(!m(pinned, in_fragment, false));
    let request = "→ GET /authorize?response_type=token&client_id=[client:web]&state=[state-1]\n";
    let snapshot = format!("{request}← 302\n  location: {pinned}\n");
    let run = format!("{request}← 302\n  location: {in_fragment}\n");
    assert!(
        compare_for("FX-AUTHZ-1/x", &free::RFC_6749, &snapshot, &run)
            .differences
            .is_empty()
    );
    let code = |t: &str| t.replace("response_type=token", "response_type=code");
    assert_eq!(
        compare_for(
            "FX-AUTHZ-1/x",
            &free::RFC_6749,
            &code(&snapshot),
            &code(&run)
        )
        .differences
        .len(),
        1
    );
}

#[test]
fn a_value_a_clause_allows_among_others_is_no_difference_in_its_checks() {
    let pinned = "← 400\n  {\n    \"error\": \"invalid_request\"\n  }\n";
    let run = pinned.replace("invalid_request", "invalid_grant");
    let id = "FX-TOKEN-2/redirect-uri-differing-from-authorize-is-invalid-request-or-invalid-grant";
    assert!(
        compare_for(id, &free::RFC_6749, pinned, &run)
            .differences
            .is_empty()
    );
    let other = "FX-TOKEN-2/missing-parameters-are-invalid-request";
    assert_eq!(
        compare_for(other, &free::RFC_6749, pinned, &run)
            .differences
            .len(),
        1
    );
}

#[test]
fn a_decided_status_fails_only_the_checks_of_its_part() {
    static DECIDED: Freedoms = Freedoms {
        statuses_only_in_their_checks: &[free::OwnedStatus {
            status: 422,
            request: &["POST /oauth/revoke", "\"token\": "],
            answer: r#""success": false"#,
            counts_in: &["token-not-found-is-422"],
        }],
        ..free::STRICT_VALUES
    };
    let pinned = "→ POST /oauth/revoke\n  [json]\n  {\n    \"token\": \"[access-token-1]\"\n  }\n← 422\n  content-type: application/json\n  {\n    \"message\": \"[message]\",\n    \"success\": false\n  }\n";
    let run = pinned.replace("← 422", "← 404");
    assert!(
        compare_for(
            "EN-REVOKE-1/unknown-token-is-token-not-found",
            &DECIDED,
            pinned,
            &run
        )
        .differences
        .is_empty()
    );
    assert_eq!(
        compare_for("EN-REVOKE-1/token-not-found-is-422", &DECIDED, pinned, &run)
            .differences
            .len(),
        1
    );
    // The body still counts.
    let worded = run.replace("\"success\": false", "\"success\": true");
    assert!(
        !compare_for(
            "EN-REVOKE-1/unknown-token-is-token-not-found",
            &DECIDED,
            pinned,
            &worded
        )
        .differences
        .is_empty()
    );
}
