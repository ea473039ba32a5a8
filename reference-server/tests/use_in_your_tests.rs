//! The README's "Use it in your tests", Rust (issue 21 items 3 and 4): a small client app,
//! as an integrator writes one against Flexslot, tested against
//! `reference_server::test_server::TestServer` started by its builder. The app signs a
//! user in with code + PKCE, calls the API, and refreshes once when its access token has
//! expired; the tests drive it as an integrator's own tests would.

use std::time::Duration;

use reference_server::test_server::{TestClient, TestServer};

/// The app under test: a small Flexslot integration. It knows nothing of the test server;
/// it is configured with a base URL, as it would be for production.
mod planner {
    use base64::Engine as _;
    use serde_json::Value;
    use tokio::sync::Mutex;

    #[derive(Debug)]
    pub struct Tokens {
        pub access: String,
        pub refresh: String,
    }

    pub struct Planner {
        http: reqwest::Client,
        base: String,
        client_id: String,
        secret: String,
        redirect_uri: String,
        /// One refresh at a time (seed 004's per-user mutex).
        tokens: Mutex<Option<Tokens>>,
    }

    impl Planner {
        pub fn new(base: &str, client_id: &str, secret: &str, redirect_uri: &str) -> Self {
            Planner {
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .expect("a client"),
                base: base.to_owned(),
                client_id: client_id.to_owned(),
                secret: secret.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                tokens: Mutex::new(None),
            }
        }

        /// Where the browser goes to sign in.
        pub fn authorize_url(&self, state: &str, challenge: &str) -> String {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", "profile")
                .append_pair("state", state)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256")
                .finish();
            format!("{}/authorize?{query}", self.base)
        }

        fn basic(&self) -> String {
            let pair = format!("{}:{}", self.client_id, self.secret);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        }

        async fn token(&self, form: &[(&str, &str)]) -> Result<Tokens, String> {
            let reply = self
                .http
                .post(format!("{}/token", self.base))
                .header("authorization", self.basic())
                .form(form)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = reply.status();
            let body: Value = reply.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("token endpoint: {status} {body}"));
            }
            Ok(Tokens {
                access: body["access_token"].as_str().unwrap_or_default().to_owned(),
                refresh: body["refresh_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            })
        }

        /// The callback: redeems the code.
        pub async fn finish_sign_in(&self, code: &str, verifier: &str) -> Result<(), String> {
            let tokens = self
                .token(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", verifier),
                ])
                .await?;
            *self.tokens.lock().await = Some(tokens);
            Ok(())
        }

        /// Tokens from elsewhere (a session store).
        pub async fn restore(&self, tokens: Tokens) {
            *self.tokens.lock().await = Some(tokens);
        }

        /// The signed-in user's profile; on 401 it refreshes once and tries again.
        pub async fn profile(&self) -> Result<Value, String> {
            let mut held = self.tokens.lock().await;
            let tokens = held.as_mut().ok_or("not signed in")?;
            for attempt in 0..2 {
                let reply = self
                    .http
                    .get(format!("{}/api/public/v1/me", self.base))
                    .bearer_auth(&tokens.access)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if reply.status() == 401 && attempt == 0 && !tokens.refresh.is_empty() {
                    *tokens = self
                        .token(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", &tokens.refresh),
                        ])
                        .await?;
                    continue;
                }
                if !reply.status().is_success() {
                    return Err(format!("me: {}", reply.status()));
                }
                return reply.json().await.map_err(|e| e.to_string());
            }
            Err("me: still 401 after a refresh".to_owned())
        }

        /// The current refresh token, for assertions.
        pub async fn refresh_token(&self) -> Option<String> {
            self.tokens.lock().await.as_ref().map(|t| t.refresh.clone())
        }
    }
}

const REDIRECT: &str = "http://127.0.0.1:3000/callback";

async fn server() -> TestServer {
    TestServer::builder()
        .profile("flexslot")
        .client(
            TestClient::confidential("planner", "planner-secret")
                .name("Planner")
                .scopes(["profile"])
                .redirect_uri(REDIRECT),
        )
        .user("carol", "carol-password")
        .start()
        .await
        .expect("the test server starts")
}

/// Approves the app's authorize URL as `user` without a browser (the test controls'
/// `authorize/decide`) and answers the code the callback gets.
async fn approve(server: &TestServer, url: &str, user: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/__test/authorize/decide", server.base_url()))
        .json(&serde_json::json!({"url": url, "username": user, "approve": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = url::Url::parse(answer["location"].as_str().expect("a location")).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    let code = location.query_pairs().find(|(k, _)| k == "code");
    code.expect("a code").1.into_owned()
}

#[tokio::test]
async fn the_app_signs_a_user_in_with_code_and_pkce() {
    let server = server().await;
    let app = planner::Planner::new(server.base_url(), "planner", "planner-secret", REDIRECT);
    let pkce = contract_client::Pkce::new();
    let code = approve(&server, &app.authorize_url("xyz", &pkce.challenge), "carol").await;
    app.finish_sign_in(&code, &pkce.verifier).await.unwrap();
    let me = app.profile().await.unwrap();
    assert!(me.to_string().contains("carol"), "{me}");
    let sent = server.received_requests(Some("planner"));
    let token = sent
        .iter()
        .find(|r| &*r.path == "/token")
        .expect("the exchange");
    assert_eq!((token.method.as_str(), token.status), ("POST", 200));
    assert!(token.seq > 0, "numbered in the recorder");
}

#[tokio::test]
async fn the_app_refreshes_once_its_access_token_expires() {
    let server = server().await;
    let app = planner::Planner::new(server.base_url(), "planner", "planner-secret", REDIRECT);
    // Skip the sign-in: a token minted for carol, as if from the app's session store.
    let minted = server
        .mint_token("planner", Some("carol"), &["profile"])
        .unwrap();
    let first_refresh = minted.refresh_token.clone().expect("a refresh token");
    app.restore(planner::Tokens {
        access: minted.access_token,
        refresh: first_refresh.clone(),
    })
    .await;
    app.profile().await.unwrap();
    // An hour and a second later the access token has expired (FX-TOKEN-4's lifetimes).
    server.advance_clock(Duration::from_secs(
        server.profile().lifetimes.access_token + 1,
    ));
    let me = app.profile().await.unwrap();
    assert!(me.to_string().contains("carol"), "{me}");
    let rotated = app.refresh_token().await.unwrap();
    assert_ne!(
        rotated, first_refresh,
        "FX-TOKEN-7: the refresh token rotates"
    );
    // What the app sent: me (200), me again (401, expired), one refresh, me (200).
    // (Whether the recorder names the client of an expired token is its own business:
    // the 401 is left out here.)
    let sent: Vec<(String, String, u16)> = server
        .received_requests(Some("planner"))
        .iter()
        .filter(|r| r.status != 401)
        .map(|r| (r.method.to_string(), r.path.to_string(), r.status))
        .collect();
    let me = "/api/public/v1/me".to_owned();
    assert_eq!(
        sent,
        [
            ("GET".to_owned(), me.clone(), 200),
            ("POST".to_owned(), "/token".to_owned(), 200),
            ("GET".to_owned(), me, 200),
        ]
    );
    // No token or secret reached the recorder.
    for r in server.received_requests(None) {
        let query = r.query.as_deref().unwrap_or_default();
        assert!(
            !query.contains("fxrt_") && !query.contains("fxat_"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_misconfigured_client_fails_start_with_the_reason() {
    let refused = TestServer::builder()
        .profile("flexslot")
        .client(TestClient::confidential("planner", "s").redirect_uri("http://planner.example/cb"))
        .start()
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("client `planner`")
            && refused.to_string().contains("https, or http on a loopback"),
        "{refused}"
    );
    let refused = TestServer::builder()
        .profile("flexslot")
        .client(TestClient::public("fx-web"))
        .start()
        .await
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("exists already"), "{refused}");
}
