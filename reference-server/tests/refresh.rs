//! Refresh with rotation, replay detection and one winner among concurrent refreshes
//! (PP-REFRESH-*), at both refresh endpoints.

mod common;

use std::net::Ipv4Addr;

use common::{
    ClientApp, Reply, TestServer, Tokens, USER, assert_no_server_errors, client_from, concurrently,
    status_counts,
};

/// PP-REFRESH-1, PP-REFRESH-2: a refresh at the token endpoint answers a new pair; the old
/// refresh token is spent; the old access token keeps working until it expires.
#[tokio::test]
async fn refresh_at_the_token_endpoint_rotates_the_pair() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let first = s
        .code_login(&web, USER, Some("profile:read playback:read"))
        .await;
    let second = Tokens::from_reply(&s.refresh_at_token(&web, &first.refresh_token).await);
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.scope, "profile:read playback:read", "PP-SCOPE-4");
    assert_eq!(s.me(&second.access_token).await.ok()["username"], USER);
    let third = Tokens::from_reply(&s.refresh_at_token(&web, &second.refresh_token).await);
    s.assert_live(&third).await;
}

/// PP-REFRESH-1: device-flow apps refresh at `auth/refresh` with `client_id` and
/// `refresh_token`; an optional grant_type must say `refresh_token`.
#[tokio::test]
async fn device_apps_refresh_at_auth_refresh() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let tokens = s.device_login(&tv, USER, None).await;
    let next = Tokens::from_reply(&s.refresh_at_auth(&tv, &tokens.refresh_token).await);
    s.assert_live(&next).await;

    let url = s.endpoint("refresh");
    let with_grant = |grant: &str, token: &str| {
        vec![
            ("client_id".to_owned(), "pp-tv".to_owned()),
            ("refresh_token".to_owned(), token.to_owned()),
            ("grant_type".to_owned(), grant.to_owned()),
        ]
    };
    s.post_form(&url, &with_grant("authorization_code", &next.refresh_token))
        .await
        .assert_error(400, "unsupported_grant_type");
    let reply = s
        .post_form(&url, &with_grant("refresh_token", &next.refresh_token))
        .await;
    Tokens::from_reply(&reply);
    // JSON as well as forms (PP-TOKEN-4).
    let json_tokens = s.device_login(&tv, USER, None).await;
    let reply = s
        .post_json(
            &url,
            &serde_json::json!({"client_id": "pp-tv", "refresh_token": json_tokens.refresh_token}),
        )
        .await;
    Tokens::from_reply(&reply);
}

/// PP-REFRESH-2: a spent refresh token is `invalid_grant`.
#[tokio::test]
async fn spent_refresh_token_is_invalid_grant() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tokens = s.code_login(&web, USER, None).await;
    Tokens::from_reply(&s.refresh_at_token(&web, &tokens.refresh_token).await);
    s.refresh_at_token(&web, &tokens.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
    s.refresh_at_token(&web, "pprt_never-issued")
        .await
        .assert_error(400, "invalid_grant");
}

/// PP-REFRESH-3: replaying a spent refresh token revokes the whole grant: the newest
/// refresh token and the access tokens too. Other grants of the user stay alive.
#[tokio::test]
async fn replayed_refresh_token_revokes_the_grant() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let bystander = s.code_login(&web, USER, None).await;
    let first = s.code_login(&web, USER, None).await;
    let second = Tokens::from_reply(&s.refresh_at_token(&web, &first.refresh_token).await);
    let third = Tokens::from_reply(&s.refresh_at_token(&web, &second.refresh_token).await);
    s.assert_live(&third).await;

    s.refresh_at_token(&web, &first.refresh_token)
        .await
        .assert_error(400, "invalid_grant");

    for tokens in [&first, &second, &third] {
        s.me(&tokens.access_token)
            .await
            .assert_error(401, "invalid_token");
    }
    s.refresh_at_token(&web, &third.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
    s.assert_live(&bystander).await;
    Tokens::from_reply(&s.refresh_at_token(&web, &bystander.refresh_token).await);
}

/// PP-REFRESH-3 at `auth/refresh` as well.
#[tokio::test]
async fn replay_at_auth_refresh_revokes_the_grant_too() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let first = s.device_login(&tv, USER, None).await;
    let second = Tokens::from_reply(&s.refresh_at_auth(&tv, &first.refresh_token).await);
    s.refresh_at_auth(&tv, &first.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
    s.assert_revoked(&tv, &second).await;
}

/// A refresh token works only for the app it was issued to; trying it from another app
/// does not count as a replay of the owner's token.
#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let tokens = s.device_login(&tv, USER, None).await;
    s.refresh_at_auth(&ClientApp::spa(), &tokens.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
    s.refresh_at_token(&ClientApp::web(), &tokens.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
    Tokens::from_reply(&s.refresh_at_auth(&tv, &tokens.refresh_token).await);
    // PP-APP-3: a confidential app's refresh needs its secret.
    let web = ClientApp::web();
    let web_tokens = s.code_login(&web, USER, None).await;
    let mut no_secret = web.clone();
    no_secret.secret = None;
    s.refresh_at_auth(&no_secret, &web_tokens.refresh_token)
        .await
        .assert_error(401, "invalid_client");
    Tokens::from_reply(&s.refresh_at_auth(&web, &web_tokens.refresh_token).await);
}

/// PP-REFRESH-5: a refresh token expires after its idle lifetime without use; each use
/// starts the idle time again.
#[tokio::test]
async fn refresh_token_expires_after_its_idle_lifetime() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let idle = s.profile.lifetimes.refresh_token_idle as f64;
    let tokens = s.code_login(&web, USER, None).await;
    s.advance(idle - 60.0).await;
    let next = Tokens::from_reply(&s.refresh_at_auth(&web, &tokens.refresh_token).await);
    s.advance(idle - 60.0).await;
    let last = Tokens::from_reply(&s.refresh_at_auth(&web, &next.refresh_token).await);
    s.advance(idle).await;
    s.refresh_at_auth(&web, &last.refresh_token)
        .await
        .assert_error(400, "invalid_grant");
}

/// PP-REFRESH-5: a refresh may narrow scope, never widen it.
#[tokio::test]
async fn refresh_may_narrow_scope_but_not_widen_it() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tokens = s
        .code_login(&web, USER, Some("profile:read playback:read"))
        .await;
    let mut form = s.refresh_form(&web, &tokens.refresh_token);
    form.push(("scope".into(), "profile:read playback:write".into()));
    s.post_form(&s.endpoint("token"), &form)
        .await
        .assert_error(400, "invalid_scope");

    let mut form = s.refresh_form(&web, &tokens.refresh_token);
    form.push(("scope".into(), "profile:read".into()));
    let narrow = Tokens::from_reply(&s.post_form(&s.endpoint("token"), &form).await);
    assert_eq!(narrow.scope, "profile:read");
    // The narrowed token really is narrower (PP-API-2).
    let reply = s
        .get_with_bearer(&s.endpoint("now_playing"), &narrow.access_token)
        .await;
    assert_eq!(
        reply.assert_error(403, "insufficient_scope")["required_scope"],
        "playback:read"
    );

    // And it cannot grow back.
    let mut form = s.refresh_form(&web, &narrow.refresh_token);
    form.push(("scope".into(), "profile:read playback:read".into()));
    s.post_form(&s.endpoint("token"), &form)
        .await
        .assert_error(400, "invalid_scope");
}

/// Checks the outcome of a refresh race: one 200, every other `invalid_grant`, no 5xx;
/// then PP-REFRESH-3: the losers' replays revoked the grant, so the winner's new access
/// token is `invalid_token` and its new refresh token `invalid_grant`.
async fn assert_one_winner_and_grant_revoked(s: &TestServer, app: &ClientApp, replies: &[Reply]) {
    assert_no_server_errors(replies);
    let counts = status_counts(replies);
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "PP-REFRESH-4: exactly one refresh wins: {counts:?}"
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_grant");
    }
    let won = Tokens::from_reply(winners[0]);
    s.assert_revoked(app, &won).await;
}

/// PP-REFRESH-4, PP-REFRESH-3: 64 concurrent refreshes of one token at the token endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_refreshes_have_one_winner_and_revoke_the_grant() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tokens = s.code_login(&web, USER, None).await;
    let form = s.refresh_form(&web, &tokens.refresh_token);
    let url = s.endpoint("token");
    let replies = concurrently(64, |_| s.http.post(&url).form(&form)).await;
    assert_one_winner_and_grant_revoked(&s, &web, &replies).await;
    s.me(&tokens.access_token)
        .await
        .assert_error(401, "invalid_token");
}

/// PP-REFRESH-4, PP-REFRESH-3 at `auth/refresh`: 64 concurrent refreshes from 64 source
/// addresses, so the per-IP limit (PP-RATE-4) refuses none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_refreshes_at_auth_refresh_have_one_winner() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let tokens = s.device_login(&tv, USER, None).await;
    let mut form = tv.credentials();
    form.push(("refresh_token".into(), tokens.refresh_token.clone()));
    let url = s.endpoint("refresh");
    let clients: Vec<_> = (0..64u8)
        .map(|i| client_from(Ipv4Addr::new(127, 0, 1, i + 1)))
        .collect();
    let replies = concurrently(64, |i| clients[i].post(&url).form(&form)).await;
    assert_one_winner_and_grant_revoked(&s, &tv, &replies).await;
}
