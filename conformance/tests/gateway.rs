//! The test gateway (`support::gateway`) does what it says, so that the suites run through
//! it prove what they claim: extra headers, extension members in nested JSON objects,
//! latency, the client's address forwarded and server-sent events streamed.

mod support;

use std::time::{Duration, Instant};

use reference_server::ServerConfig;
use support::gateway::{self, GatewayOptions};

#[tokio::test]
async fn the_gateway_adds_headers_members_and_latency_and_forwards_the_client_address() {
    // The gateway keeps the client's Host: the server is told its public URL.
    let listener = gateway::bind().await;
    let server = reference_server::spawn(ServerConfig {
        trust_proxy: true,
        public_url: Some(gateway::url_of(&listener)),
        ..ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let options = GatewayOptions {
        latency: Some(Duration::from_millis(20)..Duration::from_millis(50)),
        ..GatewayOptions::ordinary()
    };
    let gw = gateway::start_on(listener, &server.base_url(), options);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let res = client
        .get(format!("{}/api/public/v1/users/alice", gw.base_url()))
        .send()
        .await
        .expect("the gateway answers");
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["via"], "1.1 gateway");
    assert!(res.headers().contains_key("x-punchplay-request-id"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["username"], "alice");
    assert_eq!(body["x_gateway"], "edge-1");

    // Nested objects get the member too; the error envelope keeps its own members.
    let res = client
        .get(format!("{}/api/public/v1/users/nobody", gw.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["x_gateway"], "edge-1");

    // The limit keys on the forwarded client address: 60 from one address exhaust it
    // for that address only.
    let limit = profile::Profile::punchplay()
        .rate_limit("public-user")
        .unwrap()
        .max;
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let (a, b) = (from([127, 0, 9, 2]), from([127, 0, 9, 3]));
    for _ in 0..limit {
        let r = a
            .get(format!("{}/api/public/v1/users/bob", gw.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let url = format!("{}/api/public/v1/users/bob", gw.base_url());
    assert_eq!(a.get(&url).send().await.unwrap().status(), 429);
    assert_eq!(b.get(&url).send().await.unwrap().status(), 200);
}
