//! Flexslot deployments that answer as the RFCs allow, each CONFORMANT, and ones with the
//! suite's old blind spots, each NOT CONFORMANT failing exactly its clause (issue 18 item
//! 8). Each is the reference flexslot server behind a proxy that rewrites what it says
//! (`support/rewrite.rs`), judged as the CLI judges a `--target` (the probe, then every
//! check, snapshots compared, every level gating; `support/variant_suite.rs`). The
//! enterprise and punchplay variants (item 9) are in `tests/rfc_variants_families.rs`.
//!
//! Allowed (CONTRACT.md, the paragraph after the FX clauses): 303 error redirects;
//! `bearer` in lower case; other `error_description` wording, or none (which fails only
//! FX-TOKEN-1's SHOULD); another realm; errors for
//! `response_type=token` in the fragment (RFC 6749 §4.2.2.1); revoking an access token
//! revokes its grant (RFC 7009 §2.1); a relative `Location` (RFC 9110 §10.2.2); text/plain
//! 404s on unknown routes; a scope-less authorize request refused with `invalid_scope`
//! (RFC 6749 §3.3). Blind spots: an inactive introspection answer with other members and
//! introspection answers cached past revocation (FX-INTRO-1); a `code_challenge` without
//! `code_challenge_method` accepted as `plain` (FX-AUTHZ-1).
//!
//! Over 600 lines on purpose: each variant's rewrite sits beside its one test, so a reader
//! finds an RFC freedom, how it is played, and the verdict in one place.

#[path = "support/rewrite.rs"]
mod rewrite;
#[path = "support/variant_suite.rs"]
mod variant_suite;

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use conformance::drivers::Driver;
use rewrite::{Answer, Rewrite, Sent, Step};
use serde_json::{Value, json};
use sha2::Digest as _;
use variant_suite::{
    Judged, assert_conformant, assert_conformant_at, assert_fails_only, assert_fails_only_checks,
};

fn flexslot() -> &'static profile::builtin::Builtin {
    profile::builtin::find("flexslot").expect("flexslot is built in")
}

/// The flexslot server with `ids` behind `rewrite`, judged with `driver`.
async fn judge_with(
    ids: impl FnOnce(&url::Url) -> profile::Identities,
    rewrite: impl Rewrite,
    driver: Driver,
) -> Judged {
    let mut chosen = None;
    let (server, proxy) = rewrite::reference_behind(
        |public| {
            let ids = ids(public);
            chosen = Some(ids.clone());
            reference_server::ServerConfig {
                identities: ids,
                ..reference_server::ServerConfig::flexslot()
            }
        },
        rewrite,
    )
    .await;
    let ids = chosen.expect("the identities were chosen");
    let judged =
        variant_suite::judge(&proxy.base_url(), flexslot().profile(), ids, true, driver).await;
    server.stop().await;
    judged
}

/// The flexslot fixtures behind `rewrite`, approvals through the test controls.
async fn judge(rewrite: impl Rewrite) -> Judged {
    judge_with(|_| flexslot().identities(), rewrite, Driver::TestControls).await
}

// --- small readers and writers of what a deployment says ---

/// `url` with its query parameters passed through `f` (none kept: no `?`).
fn map_query(url: &str, f: impl Fn(Vec<(String, String)>) -> Vec<(String, String)>) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let pairs = f(u.query_pairs().into_owned().collect());
    u.set_query(None);
    if !pairs.is_empty() {
        u.query_pairs_mut().extend_pairs(pairs);
    }
    u.to_string()
}

/// A challenge with its `name="…"` parameter replaced by `with` (None: removed).
fn map_param(challenge: &str, name: &str, with: Option<&str>) -> String {
    let key = format!("{name}=\"");
    let Some(start) = challenge.find(&key) else {
        return challenge.to_owned();
    };
    let value_start = start + key.len();
    let Some(len) = challenge[value_start..].find('"') else {
        return challenge.to_owned();
    };
    let end = value_start + len + 1;
    match with {
        Some(text) => format!("{}{key}{text}\"{}", &challenge[..start], &challenge[end..]),
        None => {
            let before = challenge[..start].trim_end_matches([' ', ',']);
            let after = challenge[end..].trim_start_matches([',', ' ']);
            match (before.is_empty(), after.is_empty()) {
                (_, true) => before.to_owned(),
                (true, false) => after.to_owned(),
                (false, false)
                    if before.ends_with(|c: char| c.is_ascii_alphanumeric())
                        && !before.contains('=') =>
                {
                    format!("{before} {after}")
                }
                (false, false) => format!("{before}, {after}"),
            }
        }
    }
}

/// Every JSON object in `json`, nested ones included, through `f`.
fn each_object(json: &mut Value, f: &impl Fn(&mut serde_json::Map<String, Value>)) {
    match json {
        Value::Object(map) => {
            map.values_mut().for_each(|v| each_object(v, f));
            f(map);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| each_object(v, f)),
        _ => {}
    }
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Bounded maps for the variants that remember tokens.
const MAX_REMEMBERED: usize = 10_000;

fn remember(map: &Mutex<HashMap<String, String>>, key: String, value: String) {
    let mut m = map.lock().expect("not poisoned");
    if m.len() >= MAX_REMEMBERED {
        m.clear();
    }
    m.insert(key, value);
}

// --- answered as the RFCs allow: each CONFORMANT ---

/// Error redirects (and every other redirect of `/authorize`) as 303 See Other.
struct Redirects303;

impl Rewrite for Redirects303 {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.path() == "/authorize" && answer.status == 302 {
            answer.status = 303;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_redirects_answered_303_are_conformant() {
    assert_conformant(&judge(Redirects303).await);
}

/// `token_type` and the challenge scheme in lower case (RFC 6749 §5.1, RFC 9110 §11.1).
struct LowerCaseBearer;

impl Rewrite for LowerCaseBearer {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        answer.map_header("www-authenticate", |v| match v.strip_prefix("Bearer") {
            Some(rest) => format!("bearer{rest}"),
            None => v.to_owned(),
        });
        if let Some(mut json) = answer.json() {
            each_object(&mut json, &|o| {
                if let Some(Value::String(t)) = o.get_mut("token_type") {
                    *t = t.to_ascii_lowercase();
                }
            });
            answer.set_json(&json);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_case_bearer_is_conformant() {
    assert_conformant(&judge(LowerCaseBearer).await);
}

/// `error_description` left out everywhere (`None`), or worded otherwise.
struct ErrorDescription(Option<&'static str>);

impl Rewrite for ErrorDescription {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        let with = self.0;
        answer.map_header("www-authenticate", |v| {
            map_param(v, "error_description", with)
        });
        answer.map_header("location", |loc| {
            map_query(loc, |pairs| {
                pairs
                    .into_iter()
                    .filter_map(|(k, v)| match (k.as_str(), with) {
                        ("error_description", None) => None,
                        ("error_description", Some(t)) => Some((k, t.to_owned())),
                        _ => Some((k, v)),
                    })
                    .collect()
            })
        });
        if let Some(mut json) = answer.json().filter(|j| j.get("error").is_some()) {
            match with {
                None => json.as_object_mut().map(|o| o.remove("error_description")),
                Some(t) => json
                    .as_object_mut()
                    .map(|o| o.insert("error_description".into(), json!(t))),
            };
            answer.set_json(&json);
        }
    }
}

/// FX-TOKEN-1 makes `error_description` a SHOULD (RFC 6749 §5.2 makes it optional): a
/// deployment that never sends it is CONFORMANT at MUST, and fails that SHOULD check and
/// nothing else (issue 18 asked for CONFORMANT at every level; the contract's SHOULD
/// says otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_without_error_description_fail_only_fx_token_1s_should() {
    let judged = judge(ErrorDescription(None)).await;
    assert_fails_only_checks(
        &judged,
        &["FX-TOKEN-1/error-bodies-carry-an-error-description"],
    );
    assert_conformant_at(&judged, &[profile::Level::Must, profile::Level::Decided]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_with_other_error_description_wording_are_conformant() {
    let other = ErrorDescription(Some("Request refused by partner edge (ref 7431)"));
    assert_conformant(&judge(other).await);
}

/// Another realm in every challenge, Bearer and Basic.
struct OtherRealm;

impl Rewrite for OtherRealm {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        answer.map_header("www-authenticate", |v| {
            map_param(v, "realm", Some("partner-edge.example"))
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_realm_is_conformant() {
    assert_conformant(&judge(OtherRealm).await);
}

/// The error for `response_type=token` in the fragment (RFC 6749 §4.2.2.1).
struct FragmentErrors;

impl Rewrite for FragmentErrors {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.query_value("response_type").as_deref() == Some("token") {
            answer.map_header("location", |loc| loc.replacen('?', "#", 1));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_for_response_type_token_in_the_fragment_are_conformant() {
    assert_conformant(&judge(FragmentErrors).await);
}

/// Revoking an access token revokes its grant, refresh token included (RFC 7009 §2.1):
/// the proxy remembers each token answer's pair and revokes the refresh token first.
#[derive(Default)]
struct GrantWideRevocation {
    refresh_of: Mutex<HashMap<String, String>>,
}

impl Rewrite for GrantWideRevocation {
    fn request(&self, sent: &mut Sent) -> Step {
        if sent.path() != "/revoke" {
            return Step::Forward;
        }
        let token = sent.form_value("token").unwrap_or_default();
        let refresh = self
            .refresh_of
            .lock()
            .expect("not poisoned")
            .get(&token)
            .cloned();
        let Some(refresh) = refresh else {
            return Step::Forward;
        };
        let form: Vec<(String, String)> = sent
            .form()
            .into_iter()
            .filter(|(k, _)| k != "token_type_hint")
            .map(|(k, v)| {
                if k == "token" {
                    (k, refresh.clone())
                } else {
                    (k, v)
                }
            })
            .collect();
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Step::SendFirst(vec![sent.with_form(&pairs)])
    }

    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.path() != "/token" || answer.status != 200 {
            return;
        }
        if let Some(json) = answer.json()
            && let (Some(a), Some(r)) = (
                json["access_token"].as_str(),
                json["refresh_token"].as_str(),
            )
        {
            remember(&self.refresh_of, a.to_owned(), r.to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_access_token_revokes_its_grant_and_is_conformant() {
    assert_conformant(&judge(GrantWideRevocation::default()).await);
}

/// Redirects to the server's own origin written as a path (RFC 9110 §10.2.2), the
/// clients' redirect URIs on that origin; approvals through the real pages.
struct RelativeLocation {
    base: String,
}

impl Rewrite for RelativeLocation {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        let base = self.base.trim_end_matches('/');
        answer.map_header("location", |loc| match loc.strip_prefix(base) {
            Some(path) if path.starts_with('/') => path.to_owned(),
            _ => loc.to_owned(),
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_locations_are_conformant() {
    let base = std::sync::Arc::new(Mutex::new(String::new()));
    let seen = base.clone();
    let ids = move |public: &url::Url| {
        *seen.lock().expect("not poisoned") = public.to_string();
        let mut ids = flexslot().identities();
        for app in &mut ids.apps {
            for uri in &mut app.redirect_uris {
                let path = url::Url::parse(uri).expect("a URL").path().to_owned();
                *uri = public.join(&path).expect("a URL").to_string();
            }
        }
        ids
    };
    // The proxy learns its own base before the first request: the server's config is
    // made (and the listener bound) before any request can arrive.
    struct Deferred(std::sync::Arc<Mutex<String>>);
    impl Rewrite for Deferred {
        fn answer(&self, sent: &Sent, answer: &mut Answer) {
            let base = self.0.lock().expect("not poisoned").clone();
            RelativeLocation { base }.answer(sent, answer);
        }
    }
    assert_conformant(&judge_with(ids, Deferred(base), Driver::Pages).await);
}

/// Unknown routes answered with a plain-text 404, as most frameworks do.
struct PlainTextNotFound;

impl Rewrite for PlainTextNotFound {
    fn answer(&self, _sent: &Sent, answer: &mut Answer) {
        let not_found =
            answer.status == 404 && answer.json().is_some_and(|j| j["error"] == "not_found");
        if not_found {
            answer.set_text("text/plain; charset=utf-8", "Not Found");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_plain_404s_on_unknown_routes_are_conformant() {
    assert_conformant(&judge(PlainTextNotFound).await);
}

/// An authorize request without `scope` is refused with `invalid_scope` (RFC 6749 §3.3),
/// after every other check of the request: where the server would sign the user in or
/// issue a code, it redirects the error instead.
struct ScopelessIsInvalidScope;

fn invalid_scope_redirect(authorize_query: &[(String, String)]) -> Option<String> {
    let get = |k: &str| {
        authorize_query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut u = url::Url::parse(&get("redirect_uri")?).ok()?;
    u.query_pairs_mut().append_pair("error", "invalid_scope");
    u.query_pairs_mut()
        .append_pair("error_description", "This server needs a scope.");
    if let Some(state) = get("state") {
        u.query_pairs_mut().append_pair("state", &state);
    }
    Some(u.to_string())
}

impl Rewrite for ScopelessIsInvalidScope {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.path() == "/authorize" && sent.method == hyper::Method::GET {
            let query = sent.query();
            let served = answer.status == 200
                || answer
                    .header("location")
                    .is_some_and(|l| l.contains("code="));
            if served
                && !query.iter().any(|(k, _)| k == "scope")
                && let Some(to) = invalid_scope_redirect(&query)
            {
                *answer = Answer::new(302);
                answer.set_header("location", &to);
            }
        }
        if sent.path() == "/__test/authorize/decide" {
            let Some(url) = sent
                .json()
                .and_then(|j| j["url"].as_str().map(str::to_owned))
            else {
                return;
            };
            let Ok(u) = url::Url::parse(&url) else { return };
            let query: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            let issued = answer
                .json()
                .is_some_and(|j| j["location"].as_str().is_some_and(|l| l.contains("code=")));
            if issued
                && !query.iter().any(|(k, _)| k == "scope")
                && let (Some(to), Some(mut json)) = (invalid_scope_redirect(&query), answer.json())
            {
                json["location"] = json!(to);
                answer.set_json(&json);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopeless_requests_refused_with_invalid_scope_are_conformant() {
    assert_conformant(&judge(ScopelessIsInvalidScope).await);
}

// --- the blind spots: each NOT CONFORMANT, failing its clause ---

/// `{"active": false}` with other members (FX-INTRO-1's SHOULD, RFC 7662 §2.2).
struct InactiveIntrospectionWithMembers;

impl Rewrite for InactiveIntrospectionWithMembers {
    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.path() == "/introspect" && answer.json().is_some_and(|j| j["active"] == false) {
            answer.set_json(&json!({"active": false, "client_id": "fx-web", "scope": "profile"}));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_introspection_answer_with_other_members_fails_fx_intro_1() {
    assert_fails_only(
        &judge(InactiveIntrospectionWithMembers).await,
        &["FX-INTRO-1"],
    );
}

/// Active introspection answers cached by token and served again after revocation or
/// rotation (FX-INTRO-1: an invalid token is `{"active": false}`).
#[derive(Default)]
struct CachedIntrospection {
    active: Mutex<HashMap<String, String>>,
}

impl Rewrite for CachedIntrospection {
    fn request(&self, sent: &mut Sent) -> Step {
        if sent.path() != "/introspect" {
            return Step::Forward;
        }
        let token = sent.form_value("token").unwrap_or_default();
        match self.active.lock().expect("not poisoned").get(&token) {
            Some(body) => {
                let mut a = Answer::new(200);
                a.set_text("application/json", body);
                Step::Reply(a)
            }
            None => Step::Forward,
        }
    }

    fn answer(&self, sent: &Sent, answer: &mut Answer) {
        if sent.path() == "/introspect" && answer.json().is_some_and(|j| j["active"] == true) {
            let token = sent.form_value("token").unwrap_or_default();
            let body = String::from_utf8_lossy(&answer.body).into_owned();
            remember(&self.active, token, body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_cached_past_revocation_and_rotation_fails_fx_intro_1() {
    assert_fails_only(
        &judge(CachedIntrospection::default()).await,
        &["FX-INTRO-1"],
    );
}

/// A `code_challenge` without `code_challenge_method` is accepted as `plain` (RFC 7636
/// §4.3's default), where Flexslot requires the method (FX-AUTHZ-1, S256 only): the
/// proxy turns such a request into the S256 request whose verifier is the challenge.
struct ChallengeWithoutMethodIsPlain;

fn as_plain(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let has_method = pairs.iter().any(|(k, _)| k == "code_challenge_method");
    if has_method || !pairs.iter().any(|(k, _)| k == "code_challenge") {
        return pairs;
    }
    let mut out: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            if k == "code_challenge" {
                (k, s256(&v))
            } else {
                (k, v)
            }
        })
        .collect();
    out.push(("code_challenge_method".into(), "S256".into()));
    out
}

impl Rewrite for ChallengeWithoutMethodIsPlain {
    fn request(&self, sent: &mut Sent) -> Step {
        if sent.path() == "/authorize" && sent.method == hyper::Method::GET {
            let pairs = as_plain(sent.query());
            sent.set_query(&pairs);
        }
        if sent.path() == "/__test/authorize/decide"
            && let Some(mut json) = sent.json()
            && let Some(url) = json["url"].as_str()
        {
            json["url"] = json!(map_query(url, as_plain));
            sent.body = bytes::Bytes::from(json.to_string());
        }
        Step::Forward
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_without_method_accepted_as_plain_fails_fx_authz_1() {
    assert_fails_only(&judge(ChallengeWithoutMethodIsPlain).await, &["FX-AUTHZ-1"]);
}

#[test]
fn challenge_parameters_are_replaced_and_removed_whole() {
    let c = r#"Bearer realm="flexslot", error="invalid_token", error_description="a, b""#;
    assert_eq!(
        map_param(c, "error_description", None),
        r#"Bearer realm="flexslot", error="invalid_token""#
    );
    assert_eq!(
        map_param(r#"Bearer realm="flexslot""#, "realm", None),
        "Bearer"
    );
    assert_eq!(
        map_param(r#"Basic realm="flexslot""#, "realm", Some("x")),
        r#"Basic realm="x""#
    );
    assert_eq!(map_param("Bearer", "realm", None), "Bearer");
}

// --- the blind-spot variants do what they say (so their verdicts mean something) ---

/// Alice approves fx-web's authorize request with `pkce` (its query pairs) through the
/// decide control and the code is redeemed with `verifier`: the token answer.
async fn tokens_through(base: &str, pkce: &[(&str, &str)], verifier: &str) -> reqwest::Response {
    let http = reqwest::Client::new();
    let redirect = "http://127.0.0.1:8765/callback";
    let mut url = url::Url::parse(&format!("{base}/authorize")).expect("a URL");
    url.query_pairs_mut()
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "fx-web"),
            ("redirect_uri", redirect),
            ("scope", "profile"),
            ("state", "s"),
        ])
        .extend_pairs(pkce);
    let decided: Value = http
        .post(format!("{base}/__test/authorize/decide"))
        .json(&json!({"url": url.as_str(), "username": "alice", "approve": true}))
        .send()
        .await
        .expect("the decide control answers")
        .json()
        .await
        .expect("JSON");
    let location =
        url::Url::parse(decided["location"].as_str().expect("a location")).expect("a URL");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"));
    http.post(format!("{base}/token"))
        .basic_auth("fx-web", Some("fx-web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
}

async fn introspect(base: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/introspect"))
        .basic_auth("fx-web", Some("fx-web-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection answers")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blind_spot_variants_misbehave_as_described() {
    let verifier = "conformance-variant-verifier-0123456789-abcdefghij";
    // A challenge without a method is redeemed with the challenge itself (plain).
    let (server, proxy) = rewrite::reference_behind(
        |_| reference_server::ServerConfig::flexslot(),
        ChallengeWithoutMethodIsPlain,
    )
    .await;
    let r = tokens_through(&proxy.base_url(), &[("code_challenge", verifier)], verifier).await;
    assert_eq!(r.status(), 200, "accepted as plain: {:?}", r.text().await);
    server.stop().await;
    // A revoked token still introspects as active.
    let (server, proxy) = rewrite::reference_behind(
        |_| reference_server::ServerConfig::flexslot(),
        CachedIntrospection::default(),
    )
    .await;
    let base = proxy.base_url();
    let challenge = s256(verifier);
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let tokens: Value = tokens_through(&base, &pkce, verifier)
        .await
        .json()
        .await
        .expect("JSON");
    let access = tokens["access_token"].as_str().expect("an access token");
    assert_eq!(introspect(&base, access).await["active"], true);
    let revoked = reqwest::Client::new()
        .post(format!("{base}/revoke"))
        .basic_auth("fx-web", Some("fx-web-secret"))
        .form(&[("token", access)])
        .send()
        .await
        .expect("revocation answers");
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(&base, access).await["active"],
        true,
        "served from the cache"
    );
    server.stop().await;
}
