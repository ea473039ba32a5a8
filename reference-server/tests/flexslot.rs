//! The flexslot family end to end (seed 004, FX-*): every FX clause's behaviour with its
//! exact bodies and headers, against the reference server with its fixtures. Lifetimes
//! come from the profile and move on the server's clock (`/__test/clock/advance`).

mod flexslot_support;

use contract_client::pkce::Pkce;
use flexslot_support::*;
use serde_json::json;

/// FX-TOKEN-1..4, FX-INTRO-1, FX-REVOKE-1: the whole life of a confidential client's
/// grant, with HTTP Basic, PKCE S256 and rotation.
#[tokio::test]
async fn a_confidential_client_signs_in_refreshes_introspects_and_revokes() {
    let fx = Fx::start().await;
    let (code, pkce) = fx.code(WEB, Some("profile slots:read")).await;
    let reply = fx.redeem(WEB, &code, &pkce).await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        members,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(body["expires_in"], fx.profile.lifetimes.access_token);
    let tokens = Tokens::from_reply(&reply);
    assert_eq!(tokens.scope, "profile slots:read");

    let me = fx.me(&tokens.access).await;
    assert_eq!(
        me.ok(),
        json!({"sub": "alice", "username": "alice", "display_name": "Alice Example"})
    );

    let info = fx.introspect(WEB, &tokens.access).await;
    let iat = info["iat"].as_i64().unwrap();
    assert_eq!(info["exp"].as_i64().unwrap() - iat, 3600);
    assert_eq!(
        info,
        json!({"active": true, "scope": "profile slots:read", "client_id": "fx-web",
               "exp": info["exp"], "iat": iat, "sub": "alice", "token_type": "Bearer",
               "username": "alice"})
    );

    let rotated = Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
    assert_ne!(rotated.refresh(), tokens.refresh());
    assert_eq!(rotated.scope, "profile slots:read");
    fx.me(&rotated.access).await.ok();

    let revoked = fx.revoke(WEB, rotated.refresh()).await;
    assert_eq!((revoked.status, revoked.body.as_str()), (200, ""));
    // Revoking the refresh token ended its grant: its access token too (RFC 7009 §2.1).
    assert_eq!(
        fx.introspect(WEB, &rotated.access).await,
        json!({"active": false})
    );
    fx.me(&rotated.access)
        .await
        .assert_error(401, "invalid_token");
}

/// FX-TOKEN-3: a public client names itself with `client_id` and no secret.
#[tokio::test]
async fn a_public_client_authenticates_by_client_id_alone() {
    let fx = Fx::start().await;
    let tokens = fx.login(SPA, Some("profile")).await;
    let rotated = Tokens::from_reply(&fx.refresh(SPA, tokens.refresh()).await);
    fx.me(&rotated.access).await.ok();
    assert_eq!(
        fx.introspect(SPA, &rotated.access).await["client_id"],
        "fx-spa"
    );

    // Without client_id: invalid_client, no Basic challenge (Basic was not used).
    let (code, pkce) = fx.code(SPA, None).await;
    let anonymous = send(fx.http.post(fx.endpoint("token")).form(&[
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_CALLBACK),
        ("code_verifier", pkce.verifier.as_str()),
    ]))
    .await;
    anonymous.assert_token_error(401, "invalid_client");
    assert_eq!(anonymous.header("www-authenticate"), None);
    // A public client may not send a secret, in the body or with Basic.
    let with_secret = fx
        .token(
            SPA,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rotated.refresh()),
                ("client_secret", "x"),
            ],
        )
        .await;
    with_secret.assert_token_error(401, "invalid_client");
    let basic = send(
        fx.http
            .post(fx.endpoint("token"))
            .basic_auth("fx-spa", Some(""))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rotated.refresh()),
            ]),
    )
    .await;
    basic.assert_basic_challenge();
}

/// FX-TOKEN-3: confidential clients authenticate with HTTP Basic only; a failure after
/// Basic carries the Basic challenge; a disabled client is invalid_client too.
#[tokio::test]
async fn confidential_clients_authenticate_with_basic_only() {
    let fx = Fx::start().await;
    let (code, pkce) = fx.code(WEB, None).await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    // The right id and secret, in the body: refused, no challenge.
    let mut in_body = redeem.to_vec();
    in_body.extend([("client_id", "fx-web"), ("client_secret", "fx-web-secret")]);
    let reply = send(fx.http.post(fx.endpoint("token")).form(&in_body)).await;
    let description = reply.assert_token_error(401, "invalid_client");
    assert!(description.contains("HTTP Basic"), "{description}");
    assert_eq!(reply.header("www-authenticate"), None);
    // client_id alone for a confidential client.
    let mut id_only = redeem.to_vec();
    id_only.push(("client_id", "fx-web"));
    send(fx.http.post(fx.endpoint("token")).form(&id_only))
        .await
        .assert_token_error(401, "invalid_client");

    for (id, secret) in [
        ("fx-web", "wrong"),
        ("nobody", "x"),
        ("fx-disabled", "fx-disabled-secret"),
    ] {
        let reply = send(
            fx.http
                .post(fx.endpoint("token"))
                .basic_auth(id, Some(secret))
                .form(&redeem),
        )
        .await;
        reply.assert_basic_challenge();
    }
    // Malformed Basic credentials are invalid_client with the challenge.
    let malformed = send(
        fx.http
            .post(fx.endpoint("token"))
            .header("authorization", "Basic !!!")
            .form(&redeem),
    )
    .await;
    malformed.assert_basic_challenge();
    // Two methods at once: RFC 6749 §5.2 invalid_request.
    let mut both = redeem.to_vec();
    both.push(("client_secret", "fx-web-secret"));
    fx.token(WEB, &both)
        .await
        .assert_token_error(400, "invalid_request");
    // The code survived every refusal: authentication came first.
    Tokens::from_reply(&fx.redeem(WEB, &code, &pkce).await);

    // Basic's id and secret are form-urlencoded (RFC 6749 §2.3.1).
    let (code, pkce) = fx.code(WEB, None).await;
    let encoded = send(
        fx.http
            .post(fx.endpoint("token"))
            .basic_auth("fx%2Dweb", Some("fx-web%2Dsecret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", pkce.verifier.as_str()),
            ]),
    )
    .await;
    Tokens::from_reply(&encoded);
}

/// FX-TOKEN-1, FX-TOKEN-2, FX-TOKEN-6 and the documented order: content type, client,
/// grant_type, the client's grant types, the grant's own fields.
#[tokio::test]
async fn token_requests_fail_in_the_documented_order() {
    let fx = Fx::start().await;
    let token = fx.endpoint("token");
    // FX-TOKEN-1: JSON, text and no body at all are invalid_request, before anything else.
    let json_body = send(
        fx.http
            .post(&token)
            .basic_auth("fx-web", Some("fx-web-secret"))
            .json(&json!({"grant_type": "refresh_token", "refresh_token": "x"})),
    )
    .await;
    let description = json_body.assert_token_error(400, "invalid_request");
    assert!(
        description.contains("application/x-www-form-urlencoded"),
        "{description}"
    );
    for (content_type, body) in [("text/plain", "grant_type=refresh_token"), ("", "")] {
        let mut req = fx
            .http
            .post(&token)
            .basic_auth("nobody", Some("x"))
            .body(body);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        send(req).await.assert_token_error(400, "invalid_request");
    }
    // A charset parameter is still a form.
    let with_charset = send(
        fx.http
            .post(&token)
            .basic_auth("fx-web", Some("fx-web-secret"))
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body("grant_type=password"),
    )
    .await;
    with_charset.assert_token_error(400, "unsupported_grant_type");

    // Client authentication before grant_type.
    send(
        fx.http
            .post(&token)
            .basic_auth("fx-web", Some("bad"))
            .form(&[("grant_type", "password")]),
    )
    .await
    .assert_token_error(401, "invalid_client");
    // FX-TOKEN-2: grant_type missing or empty.
    fx.token(WEB, &[])
        .await
        .assert_token_error(400, "invalid_request");
    fx.token(WEB, &[("grant_type", "")])
        .await
        .assert_token_error(400, "invalid_request");
    // FX-TOKEN-6: anything but the two grants, password and client_credentials included.
    for grant_type in [
        "password",
        "client_credentials",
        "authorization-code",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let reply = fx
            .token(
                WEB,
                &[
                    ("grant_type", grant_type),
                    ("username", "alice"),
                    ("password", "alice-password"),
                ],
            )
            .await;
        reply.assert_token_error(400, "unsupported_grant_type");
    }
    // FX-TOKEN-5 before the grant's fields: fx-codeonly may not refresh, even without a token.
    fx.token(CODE_ONLY, &[("grant_type", "refresh_token")])
        .await
        .assert_token_error(400, "unauthorized_client");
    // FX-TOKEN-2: each missing field of each grant.
    fx.token(WEB, &[("grant_type", "refresh_token")])
        .await
        .assert_token_error(400, "invalid_request");
    let (code, pkce) = fx.code(WEB, None).await;
    let full = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    for missing in ["code", "redirect_uri", "code_verifier"] {
        let form: Vec<_> = full
            .iter()
            .copied()
            .filter(|(k, _)| *k != missing)
            .collect();
        fx.token(WEB, &form)
            .await
            .assert_token_error(400, "invalid_request");
    }
    // None of that used the code.
    Tokens::from_reply(&fx.token(WEB, &full).await);
}

/// FX-TOKEN-2 (as written: `invalid_request`) and FX-TOKEN-4 (a wrong verifier).
#[tokio::test]
async fn a_differing_redirect_uri_or_verifier_does_not_redeem_a_code() {
    let fx = Fx::start().await;
    let (code, pkce) = fx.code(WEB, None).await;
    for other in [
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/spa",
        "http://localhost:8765/callback",
    ] {
        let reply = fx
            .token(
                WEB,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", other),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await;
        let description = reply.assert_token_error(400, "invalid_request");
        assert!(description.contains("redirect_uri"), "{description}");
    }
    let wrong = Pkce::new();
    fx.redeem(WEB, &code, &wrong)
        .await
        .assert_token_error(400, "invalid_grant");
    // A malformed verifier is a malformed request.
    fx.redeem(
        WEB,
        &code,
        &Pkce {
            verifier: "short".into(),
            challenge: String::new(),
        },
    )
    .await
    .assert_token_error(400, "invalid_request");
    // Another client's code is invalid_grant for this one.
    fx.redeem(CODE_ONLY, &code, &pkce)
        .await
        .assert_token_error(400, "invalid_grant");
    Tokens::from_reply(&fx.redeem(WEB, &code, &pkce).await);
}

/// FX-TOKEN-4: a code lives 60 seconds on the server's clock.
#[tokio::test]
async fn a_code_lives_sixty_seconds() {
    let fx = Fx::start().await;
    let lifetime = fx.profile.lifetimes.authorization_code;
    assert_eq!(lifetime, 60);
    let (code, pkce) = fx.code(WEB, None).await;
    fx.advance(lifetime - 1).await;
    Tokens::from_reply(&fx.redeem(WEB, &code, &pkce).await);

    let (code, pkce) = fx.code(WEB, None).await;
    fx.advance(lifetime + 1).await;
    fx.redeem(WEB, &code, &pkce)
        .await
        .assert_token_error(400, "invalid_grant");
}

/// FX-TOKEN-4: a code is single-use; its second redemption revokes what the first issued
/// (RFC 6749 §4.1.2).
#[tokio::test]
async fn a_used_code_is_invalid_grant_and_revokes_its_tokens() {
    let fx = Fx::start().await;
    let (code, pkce) = fx.code(WEB, None).await;
    let tokens = Tokens::from_reply(&fx.redeem(WEB, &code, &pkce).await);
    fx.redeem(WEB, &code, &pkce)
        .await
        .assert_token_error(400, "invalid_grant");
    fx.me(&tokens.access)
        .await
        .assert_error(401, "invalid_token");
    fx.refresh(WEB, tokens.refresh())
        .await
        .assert_token_error(400, "invalid_grant");
}

/// FX-TOKEN-4: a refresh token idle for 30 days is invalid_grant; each rotation starts the
/// idle time again.
#[tokio::test]
async fn a_refresh_token_idle_thirty_days_is_invalid_grant() {
    let fx = Fx::start().await;
    let idle = fx.profile.lifetimes.refresh_token_idle;
    assert_eq!(idle, 30 * 24 * 3600);
    let tokens = fx.login(WEB, None).await;
    fx.advance(idle - 1).await;
    let rotated = Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
    fx.advance(idle - 1).await;
    let again = Tokens::from_reply(&fx.refresh(WEB, rotated.refresh()).await);
    fx.advance(idle).await;
    fx.refresh(WEB, again.refresh())
        .await
        .assert_token_error(400, "invalid_grant");
    assert_eq!(
        fx.introspect(WEB, again.refresh()).await,
        json!({"active": false})
    );
}

/// FX-TOKEN-4: replaying a rotated refresh token is invalid_grant and revokes the grant,
/// the newest tokens included.
#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_grant() {
    let fx = Fx::start().await;
    let tokens = fx.login(WEB, None).await;
    let rotated = Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
    fx.refresh(WEB, tokens.refresh())
        .await
        .assert_token_error(400, "invalid_grant");
    fx.me(&rotated.access)
        .await
        .assert_error(401, "invalid_token");
    fx.refresh(WEB, rotated.refresh())
        .await
        .assert_token_error(400, "invalid_grant");
    assert_eq!(
        fx.introspect(WEB, rotated.refresh()).await,
        json!({"active": false})
    );
    // Another client presenting it learns nothing and revokes nothing else.
    let other = fx.login(WEB, None).await;
    fx.refresh(SPA, other.refresh())
        .await
        .assert_token_error(400, "invalid_grant");
    fx.me(&other.access).await.ok();
}

/// FX-TOKEN-8 with real concurrent requests: of two refreshes with one token exactly one
/// wins, the other is invalid_grant, and the replay revokes the winner's tokens too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_have_one_winner_and_revoke_the_grant() {
    let fx = Fx::start().await;
    for round in 0..8 {
        let tokens = fx.login(WEB, None).await;
        let (a, b) = tokio::join!(
            fx.refresh(WEB, tokens.refresh()),
            fx.refresh(WEB, tokens.refresh())
        );
        let (winner, loser) = if a.status == 200 { (a, b) } else { (b, a) };
        let won = Tokens::from_reply(&winner);
        loser.assert_token_error(400, "invalid_grant");
        fx.me(&won.access).await.assert_error(401, "invalid_token");
        assert_eq!(
            fx.introspect(WEB, &won.access).await,
            json!({"active": false}),
            "round {round}"
        );
        fx.refresh(WEB, won.refresh())
            .await
            .assert_token_error(400, "invalid_grant");
    }
}

/// FX-TOKEN-5: a client gets a refresh token only when configured for the refresh grant,
/// and the grant-types control changes that for tokens already issued.
#[tokio::test]
async fn grant_types_decide_refresh_and_the_control_changes_them() {
    let fx = Fx::start().await;
    let code_only = fx.login(CODE_ONLY, None).await;
    assert_eq!(
        code_only.refresh, None,
        "fx-codeonly is configured for the code only"
    );
    fx.me(&code_only.access).await.ok();

    let tokens = fx.login(WEB, None).await;
    let answer = fx.set_grant_types("fx-web", &["authorization_code"]).await;
    assert_eq!(answer["client_id"], "fx-web");
    assert_eq!(answer["grant_types"], json!(["authorization_code"]));
    fx.refresh(WEB, tokens.refresh())
        .await
        .assert_token_error(400, "unauthorized_client");
    // The refused refresh spent nothing: configured again, the same token refreshes.
    fx.set_grant_types(
        "fx-web",
        &["refresh_token", "authorization_code", "refresh_token"],
    )
    .await;
    Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);

    // A client no longer configured for the code grant: unauthorized_client at /authorize.
    fx.set_grant_types("fx-spa", &["refresh_token"]).await;
    let pkce = Pkce::new();
    let location = fx
        .decide(&fx.authorize_url(SPA, None, "s-9", &pkce), true)
        .await;
    let params = query_of(&location);
    assert_eq!(params["error"], "unauthorized_client");
    assert_eq!(params["state"], "s-9");

    for (path, body, status) in [
        ("apps/fx-web/grant-types", json!({"grant_types": []}), 400),
        (
            "apps/fx-web/grant-types",
            json!({"grant_types": ["password"]}),
            400,
        ),
        (
            "apps/fx-web/grant-types",
            json!({"grant_types": "refresh_token"}),
            400,
        ),
        (
            "apps/nobody/grant-types",
            json!({"grant_types": ["refresh_token"]}),
            404,
        ),
    ] {
        let reply = fx.control_reply(path, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
    }
    // Reset brings the fixtures back.
    fx.control("reset", json!({})).await;
    let code_only = fx.login(CODE_ONLY, None).await;
    assert_eq!(code_only.refresh, None);
}

/// FX-TOKEN-7 and FX-AUTHZ-1 `invalid_scope`: a scope unknown or not allowed to the client.
#[tokio::test]
async fn scopes_outside_the_client_are_invalid_scope() {
    let fx = Fx::start().await;
    let tokens = fx.login(WEB, None).await;
    assert_eq!(
        tokens.scope, "profile slots:read",
        "no scope asks for all allowed"
    );
    // A refresh may narrow, never widen nor name unknown scopes.
    let narrowed = Tokens::from_reply(
        &fx.token(
            WEB,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.refresh()),
                ("scope", "slots:read"),
            ],
        )
        .await,
    );
    assert_eq!(narrowed.scope, "slots:read");
    fx.me(&narrowed.access)
        .await
        .assert_error(403, "insufficient_scope");
    for scope in ["admin", "profile", "slots:read admin"] {
        fx.token(
            WEB,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", narrowed.refresh()),
                ("scope", scope),
            ],
        )
        .await
        .assert_token_error(400, "invalid_scope");
    }
    // The refused refreshes spent nothing.
    Tokens::from_reply(&fx.refresh(WEB, narrowed.refresh()).await);

    for (client, scope) in [(SPA, "slots:read"), (WEB, "admin")] {
        let pkce = Pkce::new();
        let location = fx
            .decide(&fx.authorize_url(client, Some(scope), "sc", &pkce), true)
            .await;
        let params = query_of(&location);
        assert_eq!(params["error"], "invalid_scope", "{location}");
        assert_eq!(params["state"], "sc");
    }
}

/// FX-RS-1: the resource's answers and RFC 6750 §3 challenges.
#[tokio::test]
async fn the_resource_answers_with_rfc_6750_challenges() {
    let fx = Fx::start().await;
    let me = fx.endpoint("me");
    // No credentials, or malformed ones: 401, the bare challenge, no body.
    for header in [
        None,
        Some("Basic Zng6eA=="),
        Some("Bearer"),
        Some("Bearer a b"),
        Some("bearer"),
    ] {
        let mut req = fx.http.get(&me);
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let reply = send(req).await;
        assert_eq!(reply.status, 401, "{header:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"flexslot\""),
            "{header:?}"
        );
        assert_eq!(reply.body, "", "{header:?}");
    }
    // An unknown token: invalid_token in the challenge and the body.
    let unknown = fx.me("not-a-token").await;
    let description = unknown.assert_error(401, "invalid_token");
    assert_eq!(
        unknown.header("www-authenticate").unwrap(),
        format!(
            "Bearer realm=\"flexslot\", error=\"invalid_token\", error_description=\"{description}\""
        )
    );
    // Expired and revoked alike.
    let tokens = fx.login(WEB, Some("profile")).await;
    fx.me(&tokens.access).await.ok();
    fx.advance(fx.profile.lifetimes.access_token).await;
    let expired = fx.me(&tokens.access).await;
    expired.assert_error(401, "invalid_token");
    assert!(
        expired
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let tokens = fx.login(WEB, Some("profile")).await;
    fx.revoke(WEB, &tokens.access).await;
    fx.me(&tokens.access)
        .await
        .assert_error(401, "invalid_token");
    // A token without the scope: 403 insufficient_scope with the scope it needs.
    let narrow = fx.login(WEB, Some("slots:read")).await;
    let refused = fx.me(&narrow.access).await;
    refused.assert_error(403, "insufficient_scope");
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"flexslot\", error=\"insufficient_scope\", scope=\"profile\"")
    );
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let tokens = fx.login(SPA, None).await;
    let lower = send(
        fx.http
            .get(&me)
            .header("authorization", format!("bearer {}", tokens.access)),
    )
    .await;
    assert_eq!(lower.ok()["username"], "alice");
}

/// FX-REVOKE-1 (RFC 7009 §2.1, §2.2): 200 and an empty body for any token once the client
/// authenticated; an access token ends alone, a refresh token ends its grant, another
/// client's token is left alone.
#[tokio::test]
async fn revoke_answers_200_for_any_token_and_ends_what_it_should() {
    let fx = Fx::start().await;
    let tokens = fx.login(WEB, None).await;
    for hint in [
        None,
        Some("access_token"),
        Some("refresh_token"),
        Some("something_else"),
    ] {
        let mut form = vec![("token", "unknown-token")];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint));
        }
        let reply = fx.post_as(WEB, "revoke", &form).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, ""), "{hint:?}");
    }
    // Another client's token: 200, and it still works.
    let reply = fx.revoke(SPA, &tokens.access).await;
    assert_eq!(reply.status, 200);
    fx.me(&tokens.access).await.ok();
    // The access token alone (with a misleading hint): its refresh token still works.
    let reply = fx
        .post_as(
            WEB,
            "revoke",
            &[
                ("token", &tokens.access),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    fx.me(&tokens.access)
        .await
        .assert_error(401, "invalid_token");
    // Revoked again: still 200.
    assert_eq!(fx.revoke(WEB, &tokens.access).await.status, 200);
    let rotated = Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
    // The refresh token: the grant ends.
    assert_eq!(fx.revoke(WEB, rotated.refresh()).await.status, 200);
    fx.me(&rotated.access)
        .await
        .assert_error(401, "invalid_token");
    fx.refresh(WEB, rotated.refresh())
        .await
        .assert_token_error(400, "invalid_grant");

    // Errors: a missing token, bad client credentials.
    fx.post_as(WEB, "revoke", &[])
        .await
        .assert_token_error(400, "invalid_request");
    fx.post_as(WEB, "revoke", &[("token", "")])
        .await
        .assert_token_error(400, "invalid_request");
    let bad = send(
        fx.http
            .post(fx.endpoint("revoke"))
            .basic_auth("fx-web", Some("wrong"))
            .form(&[("token", "x")]),
    )
    .await;
    bad.assert_basic_challenge();
    send(fx.http.post(fx.endpoint("revoke")).form(&[("token", "x")]))
        .await
        .assert_token_error(401, "invalid_client");
}

/// FX-INTRO-1 (RFC 7662 §2.2): active only for a live token of the asking client; HTTP
/// errors only for client authentication.
#[tokio::test]
async fn introspection_is_active_only_for_live_tokens() {
    let fx = Fx::start().await;
    let tokens = fx.login(SPA, None).await;
    let refresh = fx.introspect(SPA, tokens.refresh()).await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["client_id"], "fx-spa");
    assert_eq!(refresh["sub"], "alice");
    assert_eq!(
        refresh.get("token_type"),
        None,
        "a refresh token is no bearer token"
    );
    let access = fx.introspect(SPA, &tokens.access).await;
    assert_eq!(access["token_type"], "Bearer");
    assert_eq!(access["scope"], "profile");
    // Another client's live token reads as not active to this one.
    assert_eq!(
        fx.introspect(WEB, &tokens.access).await,
        json!({"active": false})
    );
    // Unknown, missing, empty, revoked, expired: all `{"active": false}`.
    for form in [vec![("token", "nope")], vec![], vec![("token", "")]] {
        let reply = fx.post_as(SPA, "introspect", &form).await;
        reply.assert_no_store();
        assert_eq!(reply.ok(), json!({"active": false}), "{form:?}");
    }
    fx.revoke(SPA, &tokens.access).await;
    assert_eq!(
        fx.introspect(SPA, &tokens.access).await,
        json!({"active": false})
    );
    let other = fx.login(SPA, None).await;
    fx.advance(fx.profile.lifetimes.access_token).await;
    assert_eq!(
        fx.introspect(SPA, &other.access).await,
        json!({"active": false})
    );
    // Client authentication failures are the only HTTP errors.
    let reply = send(
        fx.http
            .post(fx.endpoint("introspect"))
            .basic_auth("fx-web", Some("wrong"))
            .form(&[("token", "x")]),
    )
    .await;
    reply.assert_basic_challenge();
}

/// FX-AUTHZ-1: errors redirect with `error`, `error_description` and `state`, no request
/// id; FX-AUTHZ-2: an unknown client or unregistered redirect URI is a 400 page.
#[tokio::test]
async fn authorize_errors_redirect_with_state_or_show_the_error_page() {
    let fx = Fx::start().await;
    let pkce = Pkce::new();
    let challenge = pkce.challenge.as_str();
    let base = [
        ("response_type", "code"),
        ("client_id", "fx-web"),
        ("redirect_uri", CALLBACK),
        ("state", "s 1/ü"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let with = |changes: &[(&'static str, Option<&'static str>)]| {
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            if let Some(value) = value {
                pairs.push((key, value));
            }
        }
        fx.authorize_url_from(&pairs)
    };
    let cases = [
        (with(&[("response_type", None)]), "invalid_request"),
        (
            with(&[("response_type", Some("token"))]),
            "unsupported_response_type",
        ),
        (with(&[("code_challenge", None)]), "invalid_request"),
        (with(&[("code_challenge_method", None)]), "invalid_request"),
        (
            with(&[("code_challenge_method", Some("plain"))]),
            "invalid_request",
        ),
        (
            with(&[("code_challenge", Some("too-short"))]),
            "invalid_request",
        ),
        (with(&[("scope", Some("admin"))]), "invalid_scope"),
        (
            with(&[("client_id", Some("fx-disabled"))]),
            "unauthorized_client",
        ),
    ];
    for (url, error) in &cases {
        let reply = send(fx.http.get(url)).await;
        assert_eq!(reply.status, 302, "{url}: {}", reply.body);
        let location = reply.location();
        assert!(location.starts_with(CALLBACK), "{location}");
        let params = query_of(location);
        let keys: Vec<&str> = params.keys().map(String::as_str).collect();
        assert_eq!(keys, ["error", "error_description", "state"], "{location}");
        assert_eq!(&params["error"], error, "{url}");
        assert_eq!(params["state"], "s 1/ü");
        // The test control's decision sends the browser to the same place.
        assert_eq!(&fx.decide(url, true).await, location);
    }
    // Without a state, no state.
    let reply = send(
        fx.http
            .get(with(&[("state", None), ("response_type", Some("token"))])),
    )
    .await;
    assert!(!query_of(reply.location()).contains_key("state"));

    // Deny: access_denied with the state.
    let location = fx
        .decide(&fx.authorize_url(WEB, None, "den", &pkce), false)
        .await;
    let params = query_of(&location);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "den");
    assert!(!params.contains_key("request_id"));

    // FX-AUTHZ-2: never a redirect, whatever else is wrong.
    for url in [
        with(&[("client_id", Some("nobody"))]),
        with(&[("client_id", None)]),
        with(&[("redirect_uri", Some("http://127.0.0.1:8765/callback/"))]),
        with(&[("redirect_uri", Some("http://127.0.0.1:8765/Callback"))]),
        with(&[
            ("redirect_uri", Some("https://evil.example/callback")),
            ("response_type", None),
        ]),
        with(&[("redirect_uri", None)]),
        with(&[("client_id", Some("fx-spa"))]),
    ] {
        let reply = send(fx.http.get(&url)).await;
        assert_eq!(reply.status, 400, "{url}");
        assert_eq!(reply.header("location"), None);
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            reply.body.contains("This sign-in link is not valid"),
            "{}",
            reply.body
        );
        let decided = fx
            .control_reply(
                "authorize/decide",
                json!({"url": url, "username": "alice", "approve": true}),
            )
            .await;
        decided.assert_error(400, "invalid_request");
    }

    // The mode control: server_error and temporarily_unavailable redirects.
    for mode in ["server_error", "temporarily_unavailable"] {
        fx.control("mode", json!({"mode": mode})).await;
        let reply = send(fx.http.get(fx.authorize_url(WEB, None, "m", &pkce))).await;
        let params = query_of(reply.location());
        assert_eq!(params["error"], mode);
        assert_eq!(params["state"], "m");
    }
}

/// The mode control at /token: 500 server_error and 503 temporarily_unavailable.
#[tokio::test]
async fn the_mode_control_fails_the_token_endpoint() {
    let fx = Fx::start().await;
    let tokens = fx.login(WEB, None).await;
    for (mode, status) in [("server_error", 500), ("temporarily_unavailable", 503)] {
        fx.control("mode", json!({"mode": mode})).await;
        fx.refresh(WEB, tokens.refresh())
            .await
            .assert_token_error(status, mode);
    }
    fx.control("mode", json!({"mode": "normal"})).await;
    Tokens::from_reply(&fx.refresh(WEB, tokens.refresh()).await);
}

/// RFC 8414 §2-3: the metadata names this server's issuer (as the client reached it) and
/// endpoints, and what it supports.
#[tokio::test]
async fn metadata_describes_this_server() {
    let fx = Fx::start().await;
    let reply = send(
        fx.http
            .get(fx.url("/.well-known/oauth-authorization-server")),
    )
    .await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let base = &fx.base;
    assert_eq!(
        reply.ok(),
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "revocation_endpoint": format!("{base}/revoke"),
            "introspection_endpoint": format!("{base}/introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            "scopes_supported": ["profile", "slots:read"],
        })
    );
    // Reached as localhost, the issuer says localhost.
    let port = fx.addr().port();
    let local = format!("http://localhost:{port}");
    let reply = send(
        fx.http
            .get(format!("{local}/.well-known/oauth-authorization-server")),
    )
    .await;
    let body = reply.ok();
    assert_eq!(body["issuer"], local);
    assert_eq!(body["token_endpoint"], format!("{local}/token"));
}

/// Unknown routes, wrong methods, malformed and oversized bodies: a clear JSON error,
/// never a 500 or a hang; the server keeps serving.
#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let fx = Fx::start().await;
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/token"),
        ("DELETE", "/api/public/v1/me"),
        ("POST", "/api/public/v1/me"),
        ("GET", "/api/public/v1/you"),
        ("PUT", "/revoke"),
    ] {
        let reply = send(fx.http.request(method.parse().unwrap(), fx.url(path))).await;
        let description = reply.assert_error(404, "not_found");
        assert!(description.contains(path), "{description}");
    }
    let token = fx.endpoint("token");
    let basic = |req: reqwest::RequestBuilder| req.basic_auth("fx-web", Some("fx-web-secret"));
    // Malformed forms and repeated parameters.
    for body in [
        &b"grant_type=refresh_token&grant_type=refresh_token"[..],
        b"\xff\xfe",
    ] {
        let reply = send(
            basic(fx.http.post(&token))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_vec()),
        )
        .await;
        reply.assert_token_error(400, "invalid_request");
    }
    // Oversized bodies: 413 invalid_request, at every strict endpoint.
    let big = "token=".to_owned() + &"a".repeat(fx.profile.http.max_body_bytes + 1);
    for endpoint in ["token", "revoke", "introspect"] {
        let reply = send(
            basic(fx.http.post(fx.endpoint(endpoint)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(big.clone()),
        )
        .await;
        reply.assert_error(413, "invalid_request");
    }
    // JSON at /revoke and /introspect: the same invalid_request as at /token.
    for endpoint in ["revoke", "introspect"] {
        send(basic(fx.http.post(fx.endpoint(endpoint))).json(&json!({"token": "x"})))
            .await
            .assert_token_error(400, "invalid_request");
    }
    // Oversized headers.
    let reply = send(
        fx.http
            .get(fx.endpoint("me"))
            .header("x-filler", "a".repeat(fx.profile.http.max_header_bytes + 1)),
    )
    .await;
    reply.assert_error(431, "invalid_request");
    // An unknown fault name, a malformed control body.
    let reply = fx.control_reply("fault", json!({"fault": "fx_nope"})).await;
    reply.assert_error(400, "invalid_request");
    let reply = send(
        fx.http
            .post(fx.url("/__test/apps/fx-web/grant-types"))
            .body("{"),
    )
    .await;
    reply.assert_error(400, "invalid_request");
    // Still serving.
    fx.login(WEB, None).await;
}

/// `reference-server --profile flexslot` serves the family: its banner names the
/// metadata, and the metadata answers (issue 9 item 1).
#[tokio::test]
async fn the_binary_serves_flexslot() {
    use std::io::BufRead as _;

    /// Kills the server however the test ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_reference-server"))
            .args(["--profile", "flexslot", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    );
    // The ready line on stdout, the banner on stderr (issue 21 item 1).
    let stdout = child.0.stdout.take().unwrap();
    let stderr = child.0.stderr.take().unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut ready = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut ready)
            .unwrap();
        let mut banner = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Ctrl-C");
            banner.push(line);
            if done {
                break;
            }
        }
        (ready, banner)
    });
    let (ready, banner) = tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("the banner within 20 s")
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("a JSON ready line");
    let first = &banner[0];
    assert!(
        first.starts_with("Flexslot authorization server reference server on http://"),
        "{first}"
    );
    let base = first.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(ready["base_url"], base.as_str());
    let metadata_line = banner
        .iter()
        .find(|l| l.contains("metadata: "))
        .expect("metadata");
    assert!(
        metadata_line.ends_with(&format!("{base}/.well-known/oauth-authorization-server")),
        "{metadata_line}"
    );
    assert!(
        !banner.iter().any(|l| l.contains("activate a device")),
        "{banner:?}"
    );
    let reply = send(http().get(format!("{base}/.well-known/oauth-authorization-server"))).await;
    assert_eq!(reply.ok()["issuer"], base);
    // Without --test-controls there are none.
    let control = send(http().post(format!("{base}/__test/reset"))).await;
    control.assert_error(404, "not_found");
    drop(child);
}

/// With `--public-url`, the issuer and endpoints are the public URL's, whatever the Host.
#[tokio::test]
async fn the_metadata_follows_the_public_url() {
    let config = reference_server::ServerConfig {
        public_url: Some("https://auth.flexslot.example".parse().unwrap()),
        ..reference_server::ServerConfig::flexslot()
    };
    let server = reference_server::spawn(config).await.unwrap();
    let reply = send(http().get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.base_url()
    )))
    .await;
    let body = reply.ok();
    assert_eq!(body["issuer"], "https://auth.flexslot.example");
    assert_eq!(
        body["revocation_endpoint"],
        "https://auth.flexslot.example/revoke"
    );
}
