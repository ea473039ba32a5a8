//! Issue 12 item 8: property tests over every parser the server has. Any input: no panic,
//! and a clear error where it is refused; where a parser has a renderer, parse(render(x))
//! is x. Case counts are bounded so `cargo test` stays quick.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue};
use profile::{Identities, PathTemplate, Profile};
use proptest::prelude::*;
use reference_server::core::error::ErrorCode;
use reference_server::core::pkce;
use reference_server::core::scope::{self, ScopeSet};
use reference_server::http::request;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn headers(name: hyper::header::HeaderName, value: &str) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_str(value).ok()?);
    Some(h)
}

/// Parameter names and values: anything printable, `&`, `=`, `%` and `+` included.
fn text() -> impl Strategy<Value = String> {
    "[ -~éü\u{1F600}]{0,24}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn forms_parse_without_panic_and_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        pairs in proptest::collection::btree_map(text(), text(), 0..8),
    ) {
        let _ = request::parse_form(&body);
        let _ = request::form_pairs(&body);
        let rendered = serde_urlencoded::to_string(&pairs).unwrap();
        let parsed = request::parse_form(rendered.as_bytes()).unwrap();
        prop_assert_eq!(parsed, pairs);
    }

    #[test]
    fn json_parameters_parse_without_panic_and_round_trip(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        pairs in proptest::collection::btree_map(text(), text(), 0..8),
    ) {
        let json = headers(CONTENT_TYPE, "application/json").unwrap();
        if let Err(e) = request::parse_params(&json, &body) {
            prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
        }
        let rendered = serde_json::to_vec(&pairs).unwrap();
        prop_assert_eq!(request::parse_params(&json, &rendered).unwrap(), pairs.clone());
        // The same parameters as a form give the same answer (issue 12 item 5).
        let form = headers(CONTENT_TYPE, "application/x-www-form-urlencoded").unwrap();
        let as_form = serde_urlencoded::to_string(&pairs).unwrap();
        prop_assert_eq!(request::parse_params(&form, as_form.as_bytes()).unwrap(), pairs);
    }

    #[test]
    fn repeated_members_are_refused_in_json_and_forms(key in "[a-z_]{1,12}", a in text(), b in text()) {
        let json = headers(CONTENT_TYPE, "application/json").unwrap();
        let body = format!(
            "{{{k}:{a},{k}:{b}}}",
            k = serde_json::to_string(&key).unwrap(),
            a = serde_json::to_string(&a).unwrap(),
            b = serde_json::to_string(&b).unwrap()
        );
        let from_json = request::parse_params(&json, body.as_bytes()).unwrap_err();
        let form = serde_urlencoded::to_string([(&key, &a), (&key, &b)]).unwrap();
        let from_form = request::parse_form(form.as_bytes()).unwrap_err();
        prop_assert_eq!(from_json.message, from_form.message);
    }

    #[test]
    fn basic_credentials_parse_without_panic_and_round_trip(
        raw in "[ -~]{0,80}",
        id in "[ -~]{1,20}",
        secret in "[ -~]{0,20}",
    ) {
        if let Some(h) = headers(AUTHORIZATION, &raw)
            && let Err(e) = request::basic_credentials(&h)
        {
            prop_assert_eq!(e.code, ErrorCode::InvalidClient);
        }
        // RFC 6749 §2.3.1: form-urlencoded, then base64.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let value = format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret))));
        let h = headers(AUTHORIZATION, &value).unwrap();
        prop_assert_eq!(request::basic_credentials(&h).unwrap(), Some((id, secret)));
    }

    #[test]
    fn bearer_tokens_parse_without_panic_and_round_trip(raw in "[ -~]{0,80}", token in "[!-~]{1,60}") {
        if let Some(h) = headers(AUTHORIZATION, &raw) {
            let _ = request::bearer_token(&h);
        }
        let h = headers(AUTHORIZATION, &format!("Bearer {token}")).unwrap();
        prop_assert_eq!(request::bearer_token(&h), Some(token.as_str()));
    }

    #[test]
    fn cookies_parse_without_panic_and_round_trip(raw in "[ -~]{0,80}", value in "[!-:<-~]{1,40}") {
        if let Some(h) = headers(COOKIE, &raw) {
            let _ = request::cookie(&h, "pp_session");
        }
        let h = headers(COOKIE, &format!("a=b; pp_session={value}; c=d")).unwrap();
        prop_assert_eq!(request::cookie(&h, "pp_session"), Some(value.as_str()));
    }

    #[test]
    fn queries_parse_without_panic(raw in "[ -~]{0,120}") {
        let _ = request::query_params(Some(&raw));
        let (_, repeated) = request::query_params_with_repeats(Some(&raw));
        prop_assert!(repeated.len() <= raw.len());
    }

    #[test]
    fn pkce_verifiers_and_challenges_never_panic_and_s256_verifies(
        raw in "[ -~]{0,140}",
        method in proptest::option::of("[ -~]{0,10}"),
        verifier in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let _ = pkce::check_verifier_format(&raw);
        let _ = pkce::check_challenge(Some(&raw), method.as_deref());
        prop_assert!(pkce::check_verifier_format(&verifier).is_ok());
        let challenge = pkce::s256(&verifier);
        prop_assert!(pkce::check_challenge(Some(&challenge), Some("S256")).is_ok());
        prop_assert!(pkce::verifier_matches(&verifier, &challenge));
    }

    #[test]
    fn scopes_resolve_without_panic_and_round_trip(
        raw in "[ -~]{0,80}",
        picks in proptest::collection::vec(any::<bool>(), 4),
    ) {
        let known = Profile::punchplay().scopes.known;
        let all = ScopeSet::from_known(&known, |_| true);
        if let Err(e) = scope::resolve(Some(&raw), &all, &known) {
            prop_assert_eq!(e.code, ErrorCode::InvalidScope);
        }
        let chosen = ScopeSet::from_known(&known, |s| {
            known.iter().position(|k| k == s).is_some_and(|i| picks[i % picks.len()])
        });
        let wire = chosen.to_wire();
        let resolved = scope::resolve(Some(&wire), &all, &known).unwrap();
        // An empty request grants every allowed scope (PP-SCOPE-2).
        prop_assert_eq!(resolved, if wire.is_empty() { all } else { chosen });
    }

    #[test]
    fn path_templates_match_without_panic_and_round_trip(
        path in "[ -~]{0,60}",
        value in "[A-Za-z0-9._~-]{1,20}",
    ) {
        let profile = Profile::punchplay();
        let template = PathTemplate::new(profile.path("playback"));
        let _ = template.matches(&path);
        let filled = template.fill(&[("action", &value)]);
        let matched = template.matches(&filled).unwrap();
        prop_assert_eq!(matched.first().map(|(_, v)| *v), Some(value.as_str()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Profile and identities TOML: any text is an error or a profile, never a panic; a
    /// line of the shipped file changed at random likewise.
    #[test]
    fn profile_and_identities_toml_never_panic(
        raw in "\\PC{0,200}",
        line in 0usize..200,
        replacement in "[ -~]{0,40}",
    ) {
        let _ = Profile::from_toml_str(&raw);
        let _ = Identities::from_toml_str(&raw, |_| None);
        let shipped = include_str!("../../fixtures/profiles/punchplay.toml");
        let mut lines: Vec<&str> = shipped.lines().collect();
        let n = lines.len();
        lines[line % n] = &replacement;
        let _ = Profile::from_toml_str(&lines.join("\n"));
        let ids = include_str!("../../fixtures/identities/punchplay.toml");
        let mut lines: Vec<&str> = ids.lines().collect();
        let n = lines.len();
        lines[line % n] = &replacement;
        let _ = Identities::from_toml_str(&lines.join("\n"), |_| Some("x".to_owned()));
    }
}
