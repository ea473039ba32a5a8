//! The faults that break flexslot's clauses (FX-*): each one, switched on, makes the
//! server break the behaviour its clause names, and switched off the same probe passes.
//! The `fx_` faults are flexslot's own; the others are generic faults whose component
//! flexslot calls too (docs/flexslot.md, "Faults").

mod flexslot_support;

use contract_client::pkce::Pkce;
use flexslot_support::*;
use reference_server::Fault;
use serde_json::json;

/// Every fault this file proves, with the flexslot clause it breaks.
const FAULTS: &[(&str, &str)] = &[
    ("fx_body_credentials_accepted", "FX-TOKEN-3"),
    ("fx_basic_challenge_missing", "FX-TOKEN-3"),
    ("fx_code_outlives_60s", "FX-TOKEN-4"),
    ("fx_redirect_uri_mismatch_accepted", "FX-TOKEN-2"),
    ("fx_json_body_accepted", "FX-TOKEN-1"),
    ("fx_grant_types_ignored", "FX-TOKEN-5"),
    ("fx_unknown_scope_granted", "FX-TOKEN-7"),
    ("fx_revoke_unknown_400", "FX-REVOKE-1"),
    ("fx_revoked_token_active", "FX-INTRO-1"),
    ("fx_error_state_dropped", "FX-AUTHZ-1"),
    ("fx_bearer_challenge_missing", "FX-RS-1"),
    ("replay_not_revoking", "FX-TOKEN-4"),
    ("refresh_race", "FX-TOKEN-8"),
    ("open_redirect", "FX-AUTHZ-2"),
    ("wrong_grant_type_error", "FX-TOKEN-6"),
    ("verifier_ignored", "FX-TOKEN-4"),
    ("code_reusable", "FX-TOKEN-4"),
    ("plain_pkce_accepted", "FX-AUTHZ-1"),
    ("expired_token_accepted", "FX-RS-1"),
    ("scope_check_skipped", "FX-RS-1"),
    ("inactive_app_allowed", "FX-TOKEN-3"),
    ("secret_not_checked", "FX-TOKEN-3"),
    ("no_store_missing", "FX-TOKEN-1"),
];

/// Whether the server holds the behaviour `fault` would break.
async fn holds(fx: &Fx, fault: &str) -> bool {
    match fault {
        "fx_body_credentials_accepted" => {
            let (code, pkce) = fx.code(WEB, None).await;
            let reply = send(fx.http.post(fx.endpoint("token")).form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", pkce.verifier.as_str()),
                ("client_id", "fx-web"),
                ("client_secret", "fx-web-secret"),
            ]))
            .await;
            reply.status == 401
        }
        "fx_basic_challenge_missing" => {
            let reply = send(
                fx.http
                    .post(fx.endpoint("token"))
                    .basic_auth("fx-web", Some("wrong"))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
            )
            .await;
            reply.status == 401
                && reply.header("www-authenticate") == Some("Basic realm=\"flexslot\"")
        }
        "fx_code_outlives_60s" => {
            let (code, pkce) = fx.code(WEB, None).await;
            fx.advance(61).await;
            fx.redeem(WEB, &code, &pkce).await.status == 400
        }
        "fx_redirect_uri_mismatch_accepted" => {
            let (code, pkce) = fx.code(WEB, None).await;
            let reply = fx
                .token(
                    WEB,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", "http://127.0.0.1:8765/callback/"),
                        ("code_verifier", &pkce.verifier),
                    ],
                )
                .await;
            reply.status == 400 && reply.json()["error"] == "invalid_request"
        }
        "fx_json_body_accepted" => {
            let tokens = fx.login(WEB, None).await;
            let reply = send(
                fx.http
                    .post(fx.endpoint("token"))
                    .basic_auth("fx-web", Some("fx-web-secret"))
                    .json(
                        &json!({"grant_type": "refresh_token", "refresh_token": tokens.refresh()}),
                    ),
            )
            .await;
            reply.status == 400 && reply.json()["error"] == "invalid_request"
        }
        "fx_grant_types_ignored" => fx.login(CODE_ONLY, None).await.refresh.is_none(),
        "fx_unknown_scope_granted" => {
            let tokens = fx.login(WEB, Some("profile")).await;
            let reply = fx
                .token(
                    WEB,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", tokens.refresh()),
                        ("scope", "profile admin"),
                    ],
                )
                .await;
            reply.status == 400 && reply.json()["error"] == "invalid_scope"
        }
        "fx_revoke_unknown_400" => fx.revoke(WEB, "never-issued").await.status == 200,
        "fx_revoked_token_active" => {
            let tokens = fx.login(WEB, None).await;
            fx.revoke(WEB, &tokens.access).await;
            fx.introspect(WEB, &tokens.access).await == json!({"active": false})
        }
        "fx_error_state_dropped" => {
            let pkce = Pkce::new();
            let url = fx.authorize_url(WEB, Some("admin"), "keep-me", &pkce);
            let reply = send(fx.http.get(&url)).await;
            let decided = fx.decide(&url, true).await;
            query_of(reply.location()).get("state").map(String::as_str) == Some("keep-me")
                && query_of(&decided).get("state").map(String::as_str) == Some("keep-me")
        }
        "fx_bearer_challenge_missing" => {
            let bare = send(fx.http.get(fx.endpoint("me"))).await;
            let bad = fx.me("nope").await;
            bare.header("www-authenticate") == Some("Bearer realm=\"flexslot\"")
                && bad
                    .header("www-authenticate")
                    .is_some_and(|c| c.contains("error=\"invalid_token\""))
        }
        "replay_not_revoking" => {
            let tokens = fx.login(WEB, None).await;
            let rotated = Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
            fx.refresh(WEB, tokens.refresh()).await;
            fx.me(&rotated.access).await.status == 401
        }
        "refresh_race" => {
            let tokens = fx.login(WEB, None).await;
            let (a, b) = tokio::join!(
                fx.refresh(WEB, tokens.refresh()),
                fx.refresh(WEB, tokens.refresh())
            );
            [a.status, b.status].iter().filter(|s| **s == 200).count() == 1
        }
        "open_redirect" => {
            let pkce = Pkce::new();
            let url = fx.authorize_url(
                Client {
                    redirect_uri: "https://evil.example/cb",
                    ..WEB
                },
                None,
                "s",
                &pkce,
            );
            send(fx.http.get(url)).await.status == 400
        }
        "wrong_grant_type_error" => {
            let reply = fx
                .token(
                    WEB,
                    &[
                        ("grant_type", "password"),
                        ("username", "alice"),
                        ("password", "alice-password"),
                    ],
                )
                .await;
            reply.json()["error"] == "unsupported_grant_type"
        }
        "verifier_ignored" => {
            let (code, _) = fx.code(WEB, None).await;
            fx.redeem(WEB, &code, &Pkce::new()).await.status == 400
        }
        "code_reusable" => {
            let (code, pkce) = fx.code(WEB, None).await;
            fx.redeem(WEB, &code, &pkce).await;
            fx.redeem(WEB, &code, &pkce).await.status == 400
        }
        "plain_pkce_accepted" => {
            let url = fx.authorize_url_from(&[
                ("response_type", "code"),
                ("client_id", "fx-web"),
                ("redirect_uri", CALLBACK),
                ("code_challenge", &"a".repeat(43)),
                ("code_challenge_method", "plain"),
            ]);
            query_of(&fx.decide(&url, true).await)
                .get("error")
                .map(String::as_str)
                == Some("invalid_request")
        }
        "expired_token_accepted" => {
            let tokens = fx.login(WEB, None).await;
            fx.advance(fx.profile.lifetimes.access_token).await;
            fx.me(&tokens.access).await.status == 401
        }
        "scope_check_skipped" => {
            let tokens = fx.login(WEB, Some("slots:read")).await;
            fx.me(&tokens.access).await.status == 403
        }
        "inactive_app_allowed" => {
            fx.token(
                DISABLED,
                &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            )
            .await
            .status
                == 401
        }
        "secret_not_checked" => {
            let wrong = Client {
                secret: Some("wrong"),
                ..WEB
            };
            fx.token(
                wrong,
                &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            )
            .await
            .status
                == 401
        }
        "no_store_missing" => {
            let (code, pkce) = fx.code(WEB, None).await;
            fx.redeem(WEB, &code, &pkce).await.header("cache-control") == Some("no-store")
        }
        other => panic!("no probe for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_breaks_the_behaviour_of_its_clause_and_only_when_on() {
    let fx = Fx::start().await;
    for (fault, clause) in FAULTS {
        let known: Fault = fault.parse().expect("a fault of the table");
        if fault.starts_with("fx_") {
            assert_eq!(known.clause(), *clause, "{fault}");
        }
        fx.control("reset", json!({})).await;
        assert!(holds(&fx, fault).await, "{fault} off: {clause} holds");
        fx.control("reset", json!({})).await;
        fx.fault(Some(fault)).await;
        assert!(!holds(&fx, fault).await, "{fault} on: {clause} is broken");
    }
}

/// Every `fx_` fault of the server's table is proved above.
#[test]
fn every_fx_fault_has_a_probe() {
    for fault in Fault::ALL.iter().filter(|f| f.name().starts_with("fx_")) {
        assert!(
            FAULTS.iter().any(|(name, _)| *name == fault.name()),
            "{} has no probe",
            fault.name()
        );
    }
}
