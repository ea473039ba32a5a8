//! The API-key family served through the real shell: it serves a good key, counting in
//! its own table; refuses a bad one in its own envelope; its route table gives 405 and
//! `Allow`; the profile's limit on its endpoint holds; its fault is switched on and off by
//! the shared test controls, which refuse another family's.

use std::sync::Arc;

use profile::{Identities, LimitTarget, Profile};
use serde_json::{Value, json};

use super::ApiKey;
use crate::config::ServerConfig;
use crate::http::App;

/// The profile crate knows three families; a test family borrows a parsed profile without
/// a family section and replaces everything it names.
fn profile() -> Profile {
    let mut p = profile::builtin::find("enterprise").unwrap().profile();
    p.name = "api-key".into();
    p.title = "API key example".into();
    p.product = "Keys".into();
    p.paths = [("item".to_owned(), "/v1/item".to_owned())].into();
    p.errors = [
        ("invalid_api_key", 401),
        ("invalid_request", 400),
        ("not_found", 404),
        ("rate_limited", 429),
        ("server_error", 500),
    ]
    .map(|(code, status)| (code.to_owned(), status))
    .into();
    let mut limit = p.rate_limits[0].clone();
    limit.name = "item".into();
    limit.method = "GET".into();
    limit.target = LimitTarget::Endpoint("item".into());
    limit.max = 5;
    p.rate_limits = vec![limit];
    p.clauses.clear();
    p.scopes.required.clear();
    p
}

fn identities() -> Identities {
    let text = r#"
[[apps]]
client_id = "k-one"
name = "Key One"
kind = "confidential"
secret = "k-one-secret"
allowed_scopes = []
"#;
    Identities::from_toml_str(text, |_| None).unwrap()
}

async fn serve() -> (String, tokio::sync::oneshot::Sender<()>) {
    let config = ServerConfig {
        profile: profile(),
        identities: identities(),
        test_controls: true,
        ..ServerConfig::punchplay()
    };
    let app = Arc::new(App::with_pack(config, &ApiKey).expect("the family is served"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crate::http::server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn get(base: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{base}/v1/item"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let reply = request.send().await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn control(base: &str, path: &str, body: Value) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{base}/__test/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_family_added_as_one_folder_serves_and_refuses() {
    let (base, _stop) = serve().await;
    let good = Some("k-one:k-one-secret");
    assert_eq!(
        get(&base, good).await,
        (200, json!({"client_id": "k-one", "requests": 1}))
    );
    assert_eq!(
        get(&base, good).await.1["requests"],
        2,
        "its own table counts"
    );
    let refused = (401, json!({"error": "invalid_api_key"}));
    assert_eq!(get(&base, Some("k-one:wrong")).await, refused);
    assert_eq!(get(&base, Some("nobody:x")).await, refused);
    assert_eq!(get(&base, None).await, refused);
    // Five admitted, whatever they answered (PP-RATE-3's rule); the sixth is over the
    // profile's limit on its endpoint, refused in its envelope.
    assert_eq!(
        get(&base, good).await,
        (429, json!({"error": "rate_limited"}))
    );

    // The route table: another method on its path is 405 with Allow; elsewhere 404.
    let post = reqwest::Client::new()
        .post(format!("{base}/v1/item"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let nope = reqwest::get(format!("{base}/nope")).await.unwrap();
    assert_eq!(nope.status(), 404);

    // Its fault, through the shared test controls; another family's is refused.
    control(&base, "reset", json!({})).await;
    let (status, answer) = control(&base, "fault", json!({"fault": "code_reusable"})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = control(&base, "fault", json!({"fault": "ak_key_not_checked"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        get(&base, Some("k-one:wrong")).await.0,
        200,
        "any secret opens it"
    );
    control(&base, "fault", json!({"fault": null})).await;
    assert_eq!(get(&base, Some("k-one:wrong")).await.0, 401);
}
