//! A real OAuth client agrees with the flexslot server (issue 9 item 3): the `oauth2` crate
//! (not the suite's own client), on the workspace's reqwest 0.13 through `oauth2-reqwest`,
//! configures itself from the RFC 8414 metadata and drives code + PKCE S256 with HTTP Basic
//! (RFC 6749 §2.3.1), refresh with rotation, revocation (RFC 7009) and introspection (RFC
//! 7662), and reads `invalid_grant` and `invalid_client` into its own error types
//! (RFC 6749 §5.2). The user's approval is the reference server's test control, as a
//! browser's would be. Where the client and the server disagree, the server is wrong unless
//! an RFC says otherwise; each assertion names the section it rests on.

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use oauth2_reqwest::ReqwestClient;
use profile::{Identities, Profile};
use serde_json::{Value, json};

/// The client as configured from the metadata: every endpoint set.
type FlexslotClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointSet,
>;

fn flexslot() -> (Profile, Identities) {
    let b = profile::builtin::find("flexslot").expect("flexslot is built in");
    (b.profile(), b.identities())
}

async fn start() -> reference_server::RunningServer {
    let (profile, identities) = flexslot();
    reference_server::spawn(reference_server::ServerConfig {
        profile,
        identities,
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the flexslot server starts")
}

/// A reqwest client that follows no redirect (what oauth2-reqwest asks, against SSRF).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// RFC 8414 §3: the metadata at `/.well-known/oauth-authorization-server`.
async fn metadata(http: &reqwest::Client, base: &str) -> Value {
    let r = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("the metadata answers");
    assert_eq!(r.status(), 200, "RFC 8414 §3.2: the metadata is a 200");
    r.json().await.expect("RFC 8414 §3.2: the metadata is JSON")
}

fn endpoint(meta: &Value, name: &str) -> String {
    meta[name]
        .as_str()
        .unwrap_or_else(|| panic!("RFC 8414 §2: the metadata has no `{name}`: {meta}"))
        .to_owned()
}

/// RFC 7009 §2: "Clients MUST verify that the URL is an HTTPS URL", and oauth2 does. The
/// server publishes its own origin (plain HTTP on loopback in tests, RFC 8414 §2), so the
/// client is given the `https` URL a deployment behind TLS would publish and
/// [`LoopbackTls`] delivers it to the loopback listener, as a TLS terminator would.
fn as_https(url: &str) -> String {
    url.replacen("http://", "https://", 1)
}

/// The transport a TLS terminator in front of the test server amounts to: an `https`
/// request to a loopback address goes to the same address over plain HTTP.
struct LoopbackTls(ReqwestClient);

impl<'c> oauth2::AsyncHttpClient<'c> for LoopbackTls {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = <ReqwestClient as oauth2::AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: oauth2::HttpRequest) -> Self::Future {
        let uri = request.uri().to_string();
        let loopback = url::Url::parse(&uri).is_ok_and(|u| {
            u.scheme() == "https"
                && u.host_str()
                    .is_some_and(|h| h == "127.0.0.1" || h == "localhost")
        });
        if loopback {
            *request.uri_mut() = uri
                .replacen("https://", "http://", 1)
                .parse()
                .expect("the same URI over http");
        }
        self.0.call(request)
    }
}

/// The client for `client_id`/`secret`, its endpoints discovered from the metadata, Basic.
fn client(meta: &Value, client_id: &str, secret: &str, redirect: &str) -> FlexslotClient {
    BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_type(AuthType::BasicAuth)
        .set_auth_uri(AuthUrl::new(endpoint(meta, "authorization_endpoint")).expect("a URL"))
        .set_token_uri(TokenUrl::new(endpoint(meta, "token_endpoint")).expect("a URL"))
        .set_revocation_url(
            RevocationUrl::new(as_https(&endpoint(meta, "revocation_endpoint"))).expect("a URL"),
        )
        .set_introspection_url(
            IntrospectionUrl::new(endpoint(meta, "introspection_endpoint")).expect("a URL"),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).expect("a URL"))
}

/// The user approves through the test control; answers the code and the verifier's
/// secret. The client checks the `state` it made (RFC 6749 §4.1.2, §10.12).
async fn approve(
    http: &reqwest::Client,
    base: &str,
    client: &FlexslotClient,
    username: &str,
) -> (AuthorizationCode, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let decided: Value = http
        .post(format!("{base}/__test/authorize/decide"))
        .json(&json!({"url": url.as_str(), "username": username, "approve": true}))
        .send()
        .await
        .expect("the decide control answers")
        .json()
        .await
        .expect("JSON");
    let location = decided["location"].as_str().expect("a location");
    let location = url::Url::parse(location).expect("an absolute redirect");
    let q = |k: &str| {
        location
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        q("state").as_deref(),
        Some(state.secret().as_str()),
        "RFC 6749 §4.1.2: the redirect echoes the client's state"
    );
    let code = q("code").expect("RFC 6749 §4.1.2: the approval carries a code");
    (AuthorizationCode::new(code), verifier.secret().to_owned())
}

fn server_error<T: std::fmt::Debug>(
    result: Result<
        T,
        RequestTokenError<
            oauth2::HttpClientError<reqwest::Error>,
            oauth2::basic::BasicErrorResponse,
        >,
    >,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => e.error().clone(),
        other => panic!("expected an RFC 6749 §5.2 error the client reads, got {other:?}"),
    }
}

#[tokio::test]
async fn the_oauth2_crate_drives_the_whole_flexslot_flow() {
    let server = start().await;
    let base = server.base_url();
    let http = http();
    let meta = metadata(&http, &base).await;
    // RFC 8414 §2 / §3.3: the issuer is the server's own origin.
    assert_eq!(meta["issuer"], base.trim_end_matches('/'));
    assert!(
        meta["code_challenge_methods_supported"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("S256"))),
        "RFC 8414 §2: S256 is listed"
    );
    assert!(
        meta["token_endpoint_auth_methods_supported"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("client_secret_basic"))),
        "RFC 8414 §2: client_secret_basic is listed"
    );

    let (_, ids) = flexslot();
    let web = ids
        .apps
        .iter()
        .find(|a| a.client_id == "fx-web")
        .expect("fx-web");
    let secret = web.secret.as_ref().expect("a secret").expose().to_owned();
    let redirect = &web.redirect_uris[0];
    let client = client(&meta, &web.client_id, &secret, redirect);
    let http_client = ReqwestClient::from(http.clone());
    let tls_client = LoopbackTls(ReqwestClient::from(http.clone()));

    // Code + PKCE S256 with Basic (RFC 6749 §4.1.3, §2.3.1; RFC 7636 §4.5).
    let (code, verifier) = approve(&http, &base, &client, "alice").await;
    let tokens = client
        .exchange_code(code)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http_client)
        .await
        .expect("RFC 6749 §5.1: the code redeems");
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert_eq!(
        tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>()),
        Some(vec!["profile".to_owned()])
    );
    let first_refresh = tokens
        .refresh_token()
        .expect("a client configured for refresh_token gets one")
        .clone();

    // The resource accepts the access token (RFC 6750 §2.1).
    let me = http
        .get(format!("{base}/api/public/v1/me"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("me answers");
    assert_eq!(me.status(), 200);

    // Refresh with rotation (RFC 6749 §6, RFC 9700 §4.14.2).
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http_client)
        .await
        .expect("RFC 6749 §6: the refresh token refreshes");
    let second_refresh = refreshed
        .refresh_token()
        .expect("rotation: a new refresh token");
    assert_ne!(second_refresh.secret(), first_refresh.secret());

    // Introspection (RFC 7662 §2.2): live, with the client and the scope.
    let live = refreshed.access_token().clone();
    let info = client
        .introspect(&live)
        .request_async(&http_client)
        .await
        .expect("RFC 7662 §2.2: introspection answers");
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some("fx-web"));
    assert_eq!(info.token_type(), Some(&BasicTokenType::Bearer));
    assert!(info.exp().is_some(), "RFC 7662 §2.2: exp");

    // Revocation (RFC 7009 §2.1), then introspection says inactive (RFC 7662 §2.2).
    client
        .revoke_token(StandardRevocableToken::AccessToken(live.clone()))
        .expect("a revocation URL is set")
        .request_async(&tls_client)
        .await
        .expect("RFC 7009 §2.2: revocation answers 200");
    let info = client
        .introspect(&live)
        .request_async(&http_client)
        .await
        .expect("RFC 7662 §2.2: introspection answers for a revoked token");
    assert!(!info.active(), "RFC 7662 §2.2: a revoked token is inactive");
    // RFC 7009 §2.2: an invalid token is a 200 too.
    client
        .revoke_token(StandardRevocableToken::AccessToken(AccessToken::new(
            "never-issued".into(),
        )))
        .expect("a revocation URL is set")
        .request_async(&tls_client)
        .await
        .expect("RFC 7009 §2.2: revoking an unknown token answers 200");

    // The rotated refresh token replayed: invalid_grant in the client's own type (RFC 6749
    // §5.2), and the grant is revoked (RFC 9700 §4.14.2): the newest refresh token too.
    let replay = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http_client)
        .await;
    assert_eq!(server_error(replay), BasicErrorResponseType::InvalidGrant);
    let after = client
        .exchange_refresh_token(&RefreshToken::new(second_refresh.secret().clone()))
        .request_async(&http_client)
        .await;
    assert_eq!(server_error(after), BasicErrorResponseType::InvalidGrant);

    // A code redeemed twice: invalid_grant (RFC 6749 §4.1.2, §5.2).
    let (code, verifier) = approve(&http, &base, &client, "alice").await;
    let code_again = AuthorizationCode::new(code.secret().clone());
    client
        .exchange_code(code)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()))
        .request_async(&http_client)
        .await
        .expect("the fresh code redeems");
    let second = client
        .exchange_code(code_again)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http_client)
        .await;
    assert_eq!(server_error(second), BasicErrorResponseType::InvalidGrant);

    // A wrong secret: invalid_client (RFC 6749 §5.2, 401 with Basic).
    let wrong = self::client(&meta, &web.client_id, "not-the-secret", redirect);
    let (code, verifier) = approve(&http, &base, &client, "alice").await;
    let refused = wrong
        .exchange_code(code)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http_client)
        .await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidClient);

    // Client observation (issue 22 item 3): the flow's one deliberate breach, the
    // replayed refresh token (a race when it came within a second), and nothing else.
    let found: Vec<&str> = server
        .client_findings(None)
        .iter()
        .map(|f| f.rule.id)
        .collect();
    assert!(
        found == ["concurrent-refresh"] || found == ["refresh-replay"],
        "{found:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_public_client_sends_its_client_id_in_the_body() {
    let server = start().await;
    let base = server.base_url();
    let http = http();
    let meta = metadata(&http, &base).await;
    let (_, ids) = flexslot();
    let spa = ids
        .apps
        .iter()
        .find(|a| a.client_id == "fx-spa")
        .expect("fx-spa");
    // No secret: oauth2 sends `client_id` in the body even with AuthType::BasicAuth
    // (RFC 6749 §2.3.1 is for clients with a password).
    let client = BasicClient::new(ClientId::new(spa.client_id.clone()))
        .set_auth_type(AuthType::BasicAuth)
        .set_auth_uri(AuthUrl::new(endpoint(&meta, "authorization_endpoint")).expect("a URL"))
        .set_token_uri(TokenUrl::new(endpoint(&meta, "token_endpoint")).expect("a URL"))
        .set_redirect_uri(RedirectUrl::new(spa.redirect_uris[0].clone()).expect("a URL"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let decided: Value = http
        .post(format!("{base}/__test/authorize/decide"))
        .json(&json!({"url": url.as_str(), "username": "bob", "approve": true}))
        .send()
        .await
        .expect("decide")
        .json()
        .await
        .expect("JSON");
    let location = url::Url::parse(decided["location"].as_str().expect("a location")).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&ReqwestClient::from(http.clone()))
        .await
        .expect("RFC 6749 §4.1.3: a public client redeems with client_id");
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    // Client observation (issue 22 item 3): a library's well-behaved flow, no finding.
    assert!(server.client_findings(None).is_empty());
    server.stop().await;
}
