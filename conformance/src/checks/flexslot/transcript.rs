//! What a flexslot transcript keeps of an exchange: only what the contract says of the
//! answer, so that a snapshot recorded against one RFC server gates another. The checks
//! judge the whole answer; this trims only what their snapshots pin.

use contract_client::families::flexslot::Challenge;
use profile::Profile;

use crate::free;
use serde_json::Value;

/// Introspection members a transcript keeps: `active`, and FX-INTRO-1's SHOULD list in
/// the check of that part only ([`SHOULD_INTROSPECTION_CHECK`]), so that a deployment
/// leaving one out fails that SHOULD check and no MUST one. The rest (`iat`, `username`,
/// RFC 7662's other optional members) is the deployment's own.
const PINNED_INTROSPECTION: &[&str] = &["active", "scope", "client_id", "exp", "sub", "token_type"];

/// The check of FX-INTRO-1's SHOULD members of a live token's answer.
const SHOULD_INTROSPECTION_CHECK: &str = "live-token-carries-";

/// The exchange as its snapshot pins it: only what the contract says of the answer. A
/// resource answer's body and content type are the deployment's (RFC 6750 §3 needs only
/// the status and the challenge; the contract names no body for `me`); `Cache-Control`
/// is pinned only on a 200 token answer (RFC 6749 §5.1); introspection keeps `active`,
/// and the members FX-INTRO-1's SHOULD lists in that part's check; a challenge keeps its scheme and `error` ([`pinned_challenges`]); a
/// redirect drops its free text (`error_description`). What is free is
/// [`free::RFC_6749`]'s, which the checks and the snapshot comparison read too. Checks
/// judge the whole answer; only the transcript is trimmed.
pub fn pinned(
    profile: &Profile,
    check_id: &str,
    mut ex: contract_client::Exchange,
) -> contract_client::Exchange {
    let route = ex.req.route().to_owned();
    // FX-TOKEN-3's Basic challenge is a SHOULD: pinned in its own check only.
    if route != profile.path("me") && !check_id.contains("basic-challenge") {
        ex.headers.retain(|(k, _)| k != "www-authenticate");
    }
    let token_200 = route == profile.path("token") && ex.status == 200;
    if !token_200 {
        ex.headers.retain(|(k, _)| k != "cache-control");
    }
    if route == profile.path("me") {
        ex.headers.retain(|(k, _)| k != "content-type");
        ex.body.clear();
    }
    for (name, value) in &mut ex.headers {
        if name == "www-authenticate" {
            *value = pinned_challenges(value);
        } else if name == "location" {
            *value = without_free_text(value);
        }
    }
    if route == profile.path("introspect")
        && let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(&ex.body)
    {
        let should_members = check_id.contains(SHOULD_INTROSPECTION_CHECK);
        body.retain(|k, _| {
            k == "active" || (should_members && PINNED_INTROSPECTION.contains(&k.as_str()))
        });
        ex.body = Value::Object(body).to_string();
    }
    ex
}

/// A redirect's `Location` without its free-text parameters (RFC 6749 §4.1.2.1's
/// `error_description` and `error_uri`: the server's words), in the query or the
/// fragment; the rest as sent.
fn without_free_text(location: &str) -> String {
    let keep = |params: &str| -> String {
        params
            .split('&')
            .filter(|pair| !free::RFC_6749.is_free_text(pair.split('=').next().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("&")
    };
    let (before_fragment, fragment) = location
        .split_once('#')
        .map_or((location, None), |(b, f)| (b, Some(f)));
    let mut out = match before_fragment.split_once('?') {
        Some((target, query)) => format!("{target}?{}", keep(query)),
        None => before_fragment.to_owned(),
    };
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&keep(f));
    }
    out
}

/// A `WWW-Authenticate` value with only what FX-RS-1 and FX-TOKEN-3 pin: each scheme and
/// the auth-params the contract names for it (a Bearer challenge's `error`); a realm, an
/// `error_description` and a `scope` are the deployment's (RFC 6750 §3), and so is every
/// auth-param of a Basic challenge (FX-TOKEN-3 names only the scheme). A value that does
/// not parse is kept.
fn pinned_challenges(value: &str) -> String {
    let Ok(challenges) = Challenge::parse_all(value) else {
        return value.to_owned();
    };
    challenges
        .iter()
        .map(|c| {
            let params: Vec<String> = c
                .params
                .iter()
                .filter(|(k, _)| free::RFC_6749.names_challenge_param(&c.scheme, k))
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            if params.is_empty() {
                c.scheme.clone()
            } else {
                format!("{} {}", c.scheme, params.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Req;
    use serde_json::json;

    fn flexslot() -> Profile {
        profile::builtin::find("flexslot")
            .expect("built in")
            .profile()
    }

    fn exchange(
        req: Req,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> contract_client::Exchange {
        contract_client::Exchange {
            req,
            at: chrono::Utc::now(),
            elapsed: std::time::Duration::ZERO,
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn a_challenge_keeps_its_scheme_and_error_only() {
        assert_eq!(
            pinned_challenges(
                r#"bearer error_description="a, b", scope="profile", error=invalid_token, realm="x""#
            ),
            r#"bearer error="invalid_token""#
        );
        assert_eq!(pinned_challenges("Bearer"), "Bearer");
        assert_eq!(
            pinned_challenges(r#"Basic realm="x", error="invalid_client""#),
            "Basic"
        );
        assert_eq!(pinned_challenges(r#"Bearer a="open"#), r#"Bearer a="open"#);
    }

    #[test]
    fn transcripts_keep_what_the_contract_pins_of_an_answer() {
        let p = flexslot();
        let json = ("content-type", "application/json");
        let no_store = ("cache-control", "no-store");
        let challenge = (
            "www-authenticate",
            r#"Bearer realm="x", error="invalid_token", error_description="d""#,
        );
        let me = pinned(
            &p,
            "FX-RS-1/x",
            exchange(
                Req::get(p.path("me")),
                401,
                &[json, no_store, challenge],
                r#"{"error":"invalid_token"}"#,
            ),
        );
        assert_eq!(me.body, "");
        assert_eq!(
            me.headers,
            vec![(
                "www-authenticate".to_owned(),
                r#"Bearer error="invalid_token""#.to_owned()
            )]
        );
        let basic = ("www-authenticate", r#"Basic realm="x""#);
        let token_401 = exchange(
            Req::post(p.path("token")),
            401,
            &[json, no_store, basic],
            "{}",
        );
        let elsewhere = pinned(&p, "FX-TOKEN-3/wrong-secret", token_401.clone());
        assert_eq!(
            elsewhere.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        let own = pinned(
            &p,
            "FX-TOKEN-3/basic-failure-carries-a-basic-challenge",
            token_401,
        );
        assert!(own.header("www-authenticate").is_some());
        let token_200 = pinned(
            &p,
            "x",
            exchange(Req::post(p.path("token")), 200, &[json, no_store], "{}"),
        );
        assert_eq!(token_200.header("cache-control"), Some("no-store"));
        let live = exchange(
            Req::post(p.path("introspect")),
            200,
            &[json],
            r#"{"active":true,"iat":1,"username":"u","exp":2,"client_id":"c","x":1}"#,
        );
        let intro = pinned(
            &p,
            "FX-INTRO-1/live-token-carries-scope-client-id-exp-sub-token-type",
            live.clone(),
        );
        assert_eq!(
            intro.json().unwrap(),
            json!({"active": true, "exp": 2, "client_id": "c"})
        );
        // A MUST check pins `active` alone: the SHOULD members are that part's.
        let must = pinned(&p, "FX-INTRO-1/live-token-is-active", live);
        assert_eq!(must.json().unwrap(), json!({"active": true}));
    }

    #[test]
    fn a_redirect_keeps_everything_but_its_free_text() {
        assert_eq!(
            without_free_text(
                "[redirect-uri]?error=invalid_scope&error_description=Ask+less.&state=[state-1]&iss=x"
            ),
            "[redirect-uri]?error=invalid_scope&state=[state-1]&iss=x"
        );
        assert_eq!(without_free_text("[redirect-uri]"), "[redirect-uri]");
        assert_eq!(
            without_free_text("http://cb/x?a=1#error=e&error_uri=u"),
            "http://cb/x?a=1#error=e"
        );
    }
}
