//! The enterprise family end to end against the in-process server (seed 003, EN-*):
//! every body to the character, validation per field, expiry on the moved clock,
//! introspection, revocation, the company-scoped API, the `/api/` limit exactly, the test
//! controls, bad input and concurrent revokes, and each `en_` fault bending only its
//! clause. Paths, lifetimes and limits are read from the profile.

use std::time::Duration;

use reference_server::{RunningServer, ServerConfig};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const ACME: (&str, &str) = ("en-acme", "en-acme-secret");
const DORMANT: (&str, &str) = ("en-dormant", "en-dormant-secret");
const ORPHAN: (&str, &str) = ("en-orphan", "en-orphan-secret");
const NARROW: (&str, &str) = ("en-narrow", "en-narrow-secret");

const INVALID_CLIENT: &str = r#"{"success":false,"message":"Client authentication failed. Check client ID/secret.","details":{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}}"#;
const INVALID_SCOPE: &str = r#"{"success":false,"message":"The requested scope is invalid, unknown, or malformed.","details":{"error":"invalid_scope","error_description":"The requested scope is invalid, unknown, or malformed.","message":"The requested scope is invalid, unknown, or malformed."}}"#;
const BOTH_MISSING: &str = r#"{"client_id":["The client id field is required."],"client_secret":["The client secret field is required."]}"#;
const UNAUTHENTICATED: &str = r#"{"message":"Unauthenticated."}"#;
const TOKEN_REQUIRED: &str = r#"{"success":false,"message":"Token required."}"#;
const INVALID_TOKEN: &str = r#"{"success":false,"message":"Invalid or expired token."}"#;
const TOKEN_NOT_FOUND: &str = r#"{"success":false,"message":"Token not found."}"#;
const TAGS: &str = r#"{"data":["enterprise","priority","wholesale"]}"#;

struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    /// Asserts the status and the body, byte for byte.
    #[track_caller]
    fn is(&self, status: u16, body: &str) {
        assert_eq!((self.status, self.text.as_str()), (status, body));
    }
}

struct Server {
    running: RunningServer,
    http: reqwest::Client,
    profile: profile::Profile,
}

impl Server {
    async fn start() -> Server {
        let config = ServerConfig {
            test_controls: true,
            ..ServerConfig::enterprise()
        };
        let profile = config.profile.clone();
        Server {
            running: reference_server::spawn(config)
                .await
                .expect("the server starts"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            profile,
        }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}{}", self.running.base_url(), self.profile.path(endpoint))
    }

    async fn read(response: reqwest::Response) -> Reply {
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Self::read(request.send().await.expect("the server answers")).await
    }

    /// POSTs `body` as it is, with `content_type`.
    async fn post_raw(&self, endpoint: &str, content_type: &str, body: &str) -> Reply {
        self.send(
            self.http
                .post(self.url(endpoint))
                .header("content-type", content_type)
                .body(body.to_owned()),
        )
        .await
    }

    async fn post_json(&self, endpoint: &str, body: &Value) -> Reply {
        self.send(self.http.post(self.url(endpoint)).json(body))
            .await
    }

    async fn token_reply(&self, (client_id, secret): (&str, &str)) -> Reply {
        self.post_json(
            "token",
            &json!({"client_id": client_id, "client_secret": secret}),
        )
        .await
    }

    async fn token(&self, client: (&str, &str)) -> String {
        let reply = self.token_reply(client).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["data"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn tags(&self, token: Option<&str>) -> Reply {
        let mut request = self.http.get(self.url("tags"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    async fn introspect(&self, token: &str) -> Reply {
        self.post_json("introspect", &json!({ "token": token }))
            .await
    }

    async fn revoke(&self, token: &str) -> Reply {
        self.post_json("revoke", &json!({ "token": token })).await
    }

    async fn control(&self, path: &str, body: Value) -> Reply {
        let url = format!("{}/__test/{path}", self.running.base_url());
        self.send(self.http.post(url).json(&body)).await
    }

    async fn advance(&self, seconds: u64) {
        let reply = self
            .control("clock/advance", json!({ "seconds": seconds }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    async fn fault(&self, name: &str) {
        let reply = self.control("fault", json!({ "fault": name })).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// EN-TOKEN-1: the success body, member by member and in order; scope space-separated,
/// and empty for a client allowed no scopes.
#[tokio::test]
async fn a_token_is_issued_with_the_documented_body() {
    let server = Server::start().await;
    let reply = server.token_reply(ACME).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let token = reply.json()["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.len() >= 32, "{token}");
    let lifetime = server.profile.lifetimes.access_token;
    assert_eq!(
        reply.text,
        format!(
            r#"{{"success":true,"message":"Access token issued.","data":{{"access_token":"{token}","token_type":"Bearer","expires_in":{lifetime},"scope":"tags:read"}}}}"#
        )
    );
    let narrow = server.token_reply(NARROW).await;
    assert_eq!(narrow.json()["data"]["scope"], "");
    // The vendor reads a form too; asking for an allowed scope grants it.
    let form = server
        .post_raw(
            "token",
            "application/x-www-form-urlencoded",
            "client_id=en-acme&client_secret=en-acme-secret&scope=tags%3Aread",
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert_eq!(form.json()["data"]["scope"], "tags:read");
    assert_ne!(form.json()["data"]["access_token"], token.as_str());
}

/// EN-TOKEN-2, EN-TOKEN-3, EN-TOKEN-4: wrong or unknown client, inactive enterprise
/// (only after the secret is checked), a scope the client is not allowed.
#[tokio::test]
async fn refusals_at_the_token_endpoint_have_their_documented_bodies() {
    let server = Server::start().await;
    server
        .token_reply(("en-acme", "wrong"))
        .await
        .is(401, INVALID_CLIENT);
    server
        .token_reply(("nobody", "en-acme-secret"))
        .await
        .is(401, INVALID_CLIENT);
    server
        .token_reply(("en-dormant", "wrong"))
        .await
        .is(401, INVALID_CLIENT);
    server
        .token_reply(DORMANT)
        .await
        .is(403, r#"{"success":false,"message":"Inactive enterprise."}"#);
    for scope in ["tags:write", "tags:read admin", "tags:read"] {
        let client = if scope == "tags:read" { NARROW } else { ACME };
        let body = json!({"client_id": client.0, "client_secret": client.1, "scope": scope});
        server
            .post_json("token", &body)
            .await
            .is(400, INVALID_SCOPE);
    }
}

/// EN-VALID-1: one entry per missing field, only those, before authentication; a
/// body that reads as nothing misses both; a non-string is "must be a string".
#[tokio::test]
async fn validation_names_each_missing_field_once() {
    let server = Server::start().await;
    server
        .post_json("token", &json!({}))
        .await
        .is(422, BOTH_MISSING);
    server
        .post_json("token", &json!({"client_id": "nobody"}))
        .await
        .is(
            422,
            r#"{"client_secret":["The client secret field is required."]}"#,
        );
    server
        .post_json("token", &json!({"client_secret": "x", "client_id": "  "}))
        .await
        .is(422, r#"{"client_id":["The client id field is required."]}"#);
    server
        .post_json("token", &json!({"client_id": 7, "client_secret": null, "scope": 1}))
        .await
        .is(
            422,
            r#"{"client_id":["The client id field must be a string."],"client_secret":["The client secret field is required."],"scope":["The scope field must be a string."]}"#,
        );
    for (content_type, body) in [
        ("application/json", "{\"client_id\": \"en-acme\","),
        ("application/json", ""),
        ("application/json", "[\"en-acme\"]"),
        (
            "text/plain",
            "client_id=en-acme&client_secret=en-acme-secret",
        ),
        ("application/xml", "<client_id>en-acme</client_id>"),
    ] {
        let reply = server.post_raw("token", content_type, body).await;
        assert_eq!(
            (reply.status, reply.text.as_str()),
            (422, BOTH_MISSING),
            "{content_type} {body}"
        );
    }
}

/// EN-INTRO-1 and EN-API-1 on the moved clock: a token lives exactly its lifetime.
#[tokio::test]
async fn a_token_expires_after_its_lifetime_everywhere() {
    let server = Server::start().await;
    let token = server.token(ACME).await;
    let introspected = server.introspect(&token).await;
    assert_eq!(introspected.status, 200);
    let exp = introspected.json()["data"]["exp"].as_i64().unwrap();
    assert_eq!(
        introspected.text,
        format!(
            r#"{{"success":true,"message":"Token is active.","data":{{"active":true,"client_id":"en-acme","scope":"tags:read","exp":{exp}}}}}"#
        )
    );
    let now = chrono::Utc::now().timestamp();
    let lifetime = server.profile.lifetimes.access_token as i64;
    assert!(
        (now + lifetime - 5..=now + lifetime + 5).contains(&exp),
        "{exp} vs {now}"
    );
    server.advance(lifetime as u64 - 2).await;
    server.tags(Some(&token)).await.is(200, TAGS);
    server.advance(2).await;
    server.tags(Some(&token)).await.is(401, UNAUTHENTICATED);
    server.introspect(&token).await.is(422, INVALID_TOKEN);
    server.revoke(&token).await.is(422, TOKEN_NOT_FOUND);
}

/// EN-REVOKE-1: a revoked token is rejected afterwards, everywhere; revoking it again
/// finds nothing. Another token of the same client is left alone.
#[tokio::test]
async fn a_revoked_token_is_refused_and_not_found_again() {
    let server = Server::start().await;
    let (token, other) = (server.token(ACME).await, server.token(ACME).await);
    server.revoke(&token).await.is(
        200,
        r#"{"success":true,"message":"Token revoked.","data":null}"#,
    );
    server.tags(Some(&token)).await.is(401, UNAUTHENTICATED);
    server.introspect(&token).await.is(422, INVALID_TOKEN);
    server.revoke(&token).await.is(422, TOKEN_NOT_FOUND);
    server.revoke("never-issued").await.is(422, TOKEN_NOT_FOUND);
    server.tags(Some(&other)).await.is(200, TAGS);
}

/// EN-INTRO-1, EN-REVOKE-1: a missing, empty or non-string token, or a body that reads as
/// nothing, is "Token required."; an unknown one is invalid.
#[tokio::test]
async fn introspect_and_revoke_require_a_token() {
    let server = Server::start().await;
    for endpoint in ["introspect", "revoke"] {
        for body in [
            json!({}),
            json!({"token": ""}),
            json!({"token": 5}),
            json!({"token": null}),
        ] {
            server
                .post_json(endpoint, &body)
                .await
                .is(422, TOKEN_REQUIRED);
        }
        server
            .post_raw(endpoint, "application/json", "{\"token\":")
            .await
            .is(422, TOKEN_REQUIRED);
        server
            .post_raw(endpoint, "text/plain", "token=abc")
            .await
            .is(422, TOKEN_REQUIRED);
    }
    server
        .introspect("enat_unknown")
        .await
        .is(422, INVALID_TOKEN);
    let token = server.token(ACME).await;
    let form = server
        .post_raw(
            "introspect",
            "application/x-www-form-urlencoded",
            &format!("token={token}"),
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.text);
}

/// EN-API-1: token, then scope, then company; unknown routes after authentication; a
/// wrong method is 405 with Allow; paths outside /api are 404.
#[tokio::test]
async fn the_api_checks_token_then_scope_then_company() {
    let server = Server::start().await;
    let acme = server.token(ACME).await;
    server.tags(Some(&acme)).await.is(200, TAGS);
    server.tags(None).await.is(401, UNAUTHENTICATED);
    server
        .tags(Some("not-a-token"))
        .await
        .is(401, UNAUTHENTICATED);
    let basic = server
        .send(
            server
                .http
                .get(server.url("tags"))
                .basic_auth("en-acme", Some("en-acme-secret")),
        )
        .await;
    basic.is(401, UNAUTHENTICATED);
    let narrow = server.token(NARROW).await;
    server.tags(Some(&narrow)).await.is(
        403,
        r#"{"message":"Token does not have the required scope."}"#,
    );
    let orphan = server.token(ORPHAN).await;
    let company_not_found = r#"{"message":"Company not found."}"#;
    server.tags(Some(&orphan)).await.is(404, company_not_found);
    let base = server.running.base_url();
    let unknown = format!("{base}{}/nope", server.profile.path("api"));
    server
        .send(server.http.get(&unknown))
        .await
        .is(401, UNAUTHENTICATED);
    server
        .send(server.http.post(&unknown).bearer_auth(&acme))
        .await
        .is(404, r#"{"message":"Not found."}"#);
    let wrong = server
        .send(server.http.delete(server.url("tags")).bearer_auth(&acme))
        .await;
    wrong.is(405, r#"{"message":"Method not allowed."}"#);
    assert_eq!(wrong.headers["allow"], "GET, HEAD");
    let head = server
        .send(server.http.head(server.url("tags")).bearer_auth(&acme))
        .await;
    assert_eq!((head.status, head.text.as_str()), (200, ""));
    server
        .send(server.http.get(format!("{base}/nowhere")))
        .await
        .is(404, r#"{"message":"Not found."}"#);
    server
        .send(server.http.get(server.url("token")))
        .await
        .is(405, r#"{"message":"Method not allowed."}"#);
}

/// The company and enterprise test controls: unlinking, linking to a company not
/// listed, deactivating (new tokens refused, issued ones kept), activating, reset.
#[tokio::test]
async fn test_controls_change_companies_and_enterprises_until_reset() {
    let server = Server::start().await;
    let acme = server.token(ACME).await;
    let unlinked = server
        .control("apps/en-acme/company", json!({"company": null}))
        .await;
    assert_eq!(unlinked.status, 200);
    assert_eq!(unlinked.json()["client_id"], "en-acme");
    assert_eq!(unlinked.json()["company"], Value::Null);
    server
        .tags(Some(&acme))
        .await
        .is(404, r#"{"message":"Company not found."}"#);
    server
        .control("apps/en-acme/company", json!({"company": "gone"}))
        .await;
    server
        .tags(Some(&acme))
        .await
        .is(404, r#"{"message":"Company not found."}"#);
    let orphan = server.token(ORPHAN).await;
    server
        .control("apps/en-orphan/company", json!({"company": "acme"}))
        .await;
    server.tags(Some(&orphan)).await.is(200, TAGS);
    let long = "x".repeat(101);
    let refused = server
        .control("apps/en-orphan/company", json!({"company": long}))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        server
            .control("apps/nobody/company", json!({"company": "acme"}))
            .await
            .status,
        404
    );

    let off = server
        .control("enterprises/acme/deactivate", json!({}))
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(
        (
            off.json()["enterprise"].clone(),
            off.json()["active"].clone()
        ),
        (json!("acme"), json!(false))
    );
    server
        .token_reply(ACME)
        .await
        .is(403, r#"{"success":false,"message":"Inactive enterprise."}"#);
    server.tags(Some(&orphan)).await.is(200, TAGS);
    let on = server
        .control("enterprises/dormant/activate", json!({}))
        .await;
    assert_eq!(on.json()["active"], true);
    server.token(DORMANT).await;
    assert_eq!(
        server
            .control("enterprises/nobody/activate", json!({}))
            .await
            .status,
        404
    );

    assert_eq!(server.control("reset", json!({})).await.status, 200);
    server.token(ACME).await;
    assert_eq!(server.token_reply(DORMANT).await.status, 403);
    server.tags(Some(&orphan)).await.is(401, UNAUTHENTICATED);
}

/// The mode control fails the token endpoint only, in the token layer's envelope.
#[tokio::test]
async fn the_mode_control_fails_the_token_endpoint() {
    let server = Server::start().await;
    let token = server.token(ACME).await;
    server
        .control("mode", json!({"mode": "server_error"}))
        .await;
    server
        .token_reply(ACME)
        .await
        .is(500, r#"{"success":false,"message":"Server error."}"#);
    server
        .control("mode", json!({"mode": "temporarily_unavailable"}))
        .await;
    server.post_json("token", &json!({})).await.is(
        503,
        r#"{"success":false,"message":"Service temporarily unavailable."}"#,
    );
    assert_eq!(server.introspect(&token).await.status, 200);
    server.tags(Some(&token)).await.is(200, TAGS);
    server.control("mode", json!({"mode": "normal"})).await;
    server.token(ACME).await;
}

/// EN-RATE-1 as PP-RATE-3: exactly the profile's max per window per IP, whatever each
/// answer; the next is 429 with Retry-After; the window slides on the moved clock,
/// shut a second before the oldest admission leaves, open when it has.
#[tokio::test]
async fn the_api_limit_admits_exactly_its_max_then_slides() {
    let server = Server::start().await;
    let limit = server
        .profile
        .rate_limit("api")
        .expect("the profile limits /api/")
        .clone();
    let token = server.token(ACME).await;
    let base = server.running.base_url();
    let unknown = format!("{base}{}/nope", server.profile.path("api"));
    for n in 0..limit.max {
        // Every status counts: 200, 401, 404 and 405 alike.
        let reply = match n % 4 {
            0 => server.tags(Some(&token)).await,
            1 => server.tags(None).await,
            2 => {
                server
                    .send(server.http.get(&unknown).bearer_auth(&token))
                    .await
            }
            _ => server.send(server.http.put(server.url("tags"))).await,
        };
        assert_ne!(reply.status, 429, "request {n} is within the limit");
    }
    let refused = server.tags(Some(&token)).await;
    refused.is(429, r#"{"message":"Too Many Attempts."}"#);
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=limit.window_secs).contains(&wait),
        "Retry-After {wait}"
    );
    // Outside /api the limit does not count.
    assert_eq!(server.introspect(&token).await.status, 200);
    server.advance(wait - 1).await;
    assert_eq!(
        server.tags(Some(&token)).await.status,
        429,
        "refusals do not count, and the window has not slid"
    );
    server.advance(1).await;
    server.tags(Some(&token)).await.is(200, TAGS);
}

/// Bad input: an oversized body, oversized headers, and nothing of it crashes.
#[tokio::test]
async fn oversized_requests_are_refused_in_the_layer_s_shape() {
    let server = Server::start().await;
    let big = format!(
        "{{\"client_id\":\"{}\"}}",
        "x".repeat(server.profile.http.max_body_bytes)
    );
    for endpoint in ["token", "introspect", "revoke"] {
        server
            .post_raw(endpoint, "application/json", &big)
            .await
            .is(413, r#"{"message":"Payload too large."}"#);
    }
    let header = "h".repeat(server.profile.http.max_header_bytes);
    server
        .send(server.http.get(server.url("tags")).header("x-big", header))
        .await
        .is(431, r#"{"message":"Request header fields too large."}"#);
    server.token(ACME).await;
}

/// EN-REVOKE-1 under concurrency: of twenty revokes of one token at once, exactly one
/// succeeds; the others find nothing, and the token is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revokes_of_one_token_succeed_once() {
    let server = std::sync::Arc::new(Server::start().await);
    let token = server.token(ACME).await;
    let revokes = (0..20).map(|_| {
        let (server, token) = (server.clone(), token.clone());
        tokio::spawn(async move { server.revoke(&token).await })
    });
    let mut statuses = Vec::new();
    for revoke in revokes {
        let reply = revoke.await.unwrap();
        if reply.status == 422 {
            assert_eq!(reply.text, TOKEN_NOT_FOUND);
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        19,
        "{statuses:?}"
    );
    server.tags(Some(&token)).await.is(401, UNAUTHENTICATED);
}

/// Each `en_` fault breaks its clause, as `GET /__test/fault` lists it.
#[tokio::test]
async fn each_enterprise_fault_bends_its_own_clause() {
    let server = Server::start().await;
    let listed = server
        .send(
            server
                .http
                .get(format!("{}/__test/fault", server.running.base_url())),
        )
        .await
        .json();
    let clause_of = |name: &str| {
        listed["faults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["clause"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{name} is not listed"))
    };

    assert_eq!(clause_of("en_invalid_client_400"), "EN-TOKEN-2");
    server.fault("en_invalid_client_400").await;
    // The fault layer re-renders the error, so its members may come in another order.
    let bent = server.token_reply(("en-acme", "wrong")).await;
    let body: Value = serde_json::from_str(INVALID_CLIENT).unwrap();
    assert_eq!((bent.status, bent.json()), (400, body));

    assert_eq!(clause_of("en_inactive_enterprise_allowed"), "EN-TOKEN-3");
    server.fault("en_inactive_enterprise_allowed").await;
    assert_eq!(server.token_reply(DORMANT).await.status, 200);

    assert_eq!(clause_of("en_validation_drops_field"), "EN-VALID-1");
    server.fault("en_validation_drops_field").await;
    server
        .post_json("token", &json!({}))
        .await
        .is(422, r#"{"client_id":["The client id field is required."]}"#);

    assert_eq!(clause_of("en_scope_check_skipped"), "EN-API-1");
    server.fault("en_scope_check_skipped").await;
    let narrow = server.token(NARROW).await;
    server.tags(Some(&narrow)).await.is(200, TAGS);

    assert_eq!(clause_of("en_company_check_skipped"), "EN-API-1");
    server.fault("en_company_check_skipped").await;
    let orphan = server.token(ORPHAN).await;
    server.tags(Some(&orphan)).await.is(200, r#"{"data":[]}"#);

    assert_eq!(clause_of("en_revoke_keeps_token"), "EN-REVOKE-1");
    server.fault("en_revoke_keeps_token").await;
    let acme = server.token(ACME).await;
    assert_eq!(server.revoke(&acme).await.status, 200);
    server.tags(Some(&acme)).await.is(200, TAGS);

    assert_eq!(clause_of("en_introspect_expired_active"), "EN-INTRO-1");
    server.fault("en_introspect_expired_active").await;
    server.advance(server.profile.lifetimes.access_token).await;
    assert_eq!(server.introspect(&acme).await.status, 200);
    server.tags(Some(&acme)).await.is(401, UNAUTHENTICATED);

    // With every fault off again, each clause holds.
    server.control("fault", json!({"fault": null})).await;
    server.introspect(&acme).await.is(422, INVALID_TOKEN);
    server
        .token_reply(("en-acme", "wrong"))
        .await
        .is(401, INVALID_CLIENT);
    assert_eq!(server.token_reply(DORMANT).await.status, 403);
    server
        .post_json("token", &json!({}))
        .await
        .is(422, BOTH_MISSING);
}

/// The generic limiter faults bend the `/api/` limit too (EN-RATE-1).
#[tokio::test]
async fn the_generic_limiter_faults_bend_the_api_limit() {
    let server = Server::start().await;
    let max = server.profile.rate_limit("api").unwrap().max;
    server.fault("limiter_admits_extra").await;
    for _ in 0..=max {
        assert_eq!(server.tags(None).await.status, 401);
    }
    assert_eq!(server.tags(None).await.status, 429);
    server.control("reset", json!({})).await;
    server.fault("retry_after_missing").await;
    for _ in 0..max {
        server.tags(None).await;
    }
    let refused = server.tags(None).await;
    assert_eq!(refused.status, 429);
    assert!(refused.headers.get("retry-after").is_none());
}
