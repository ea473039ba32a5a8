//! Issue 12 item 7: absolute URLs come from `--public-url` or from a Host that names this
//! server, never from a forged Host; and item 3: connection caps.

mod common;

use std::time::Duration;

use common::{TestServer, decode_qr, send};
use reference_server::ServerConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn device_start(s: &TestServer, host: &str) -> common::Reply {
    send(
        s.http
            .post(s.endpoint("device_code"))
            .header("host", host)
            .form(&[("client_id", "pp-tv")]),
    )
    .await
}

#[tokio::test]
async fn every_name_of_this_server_is_served_and_used() {
    let s = TestServer::start().await;
    let port = s.addr().port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("127.0.0.2:{port}"),
        format!("[::1]:{port}"),
        // A gateway on this host in front of the server, with its own port.
        "127.0.0.1:1".to_owned(),
        "localhost:8443".to_owned(),
    ] {
        let reply = device_start(&s, &host).await;
        assert_eq!(reply.status, 200, "{host}: {}", reply.describe());
        let body = reply.json();
        let expected = format!("http://{host}/activate");
        assert_eq!(body["verification_uri"], expected.as_str());
        assert_eq!(
            decode_qr(body["verification_uri_qr"].as_str().unwrap()),
            body["verification_uri_complete"].as_str().unwrap()
        );
    }
}

/// Sends a device-code request with exactly this Host on a fresh connection; answers the
/// raw answer.
async fn raw_device_start(s: &TestServer, host: &str) -> String {
    let body = "client_id=pp-tv";
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.profile.path("device_code"),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_forged_host_is_refused_with_the_envelope() {
    let s = TestServer::start().await;
    let port = s.addr().port();
    for host in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        "127.0.0.1:port".to_owned(),
        "127.0.0.1:70000".to_owned(),
        format!("10.0.0.1:{port}"),
        format!("[::1]x:{port}"),
    ] {
        let answer = raw_device_start(&s, &host).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{host}: {answer}");
        assert!(answer.contains(r#""error":"invalid_request""#), "{answer}");
        assert!(answer.contains("x-punchplay-request-id"), "{answer}");
        assert!(!answer.contains("verification_uri"), "{answer}");
    }
}

#[tokio::test]
async fn a_public_url_is_the_base_whatever_the_host() {
    let public = "https://play.example:8443";
    let s = TestServer::start_with(ServerConfig {
        test_controls: true,
        public_url: Some(url::Url::parse(public).unwrap()),
        ..ServerConfig::punchplay()
    })
    .await;
    for host in ["evil.example", "127.0.0.1"] {
        let answer = raw_device_start(&s, host).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
        let body: serde_json::Value =
            serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..]).unwrap();
        let expected = format!("{public}/activate");
        assert_eq!(body["verification_uri"], expected.as_str());
        assert_eq!(
            decode_qr(body["verification_uri_qr"].as_str().unwrap()),
            body["verification_uri_complete"].as_str().unwrap()
        );
        assert!(
            body["verification_uri_complete"]
                .as_str()
                .unwrap()
                .starts_with(&expected)
        );
    }
}

/// Past the per-address cap a new connection is closed at once, and an admitted one
/// keeps answering; a closed connection frees its place.
#[tokio::test]
async fn connections_past_the_cap_are_closed_and_admitted_ones_stay_fast() {
    let s = TestServer::start_with(ServerConfig {
        test_controls: true,
        max_connections: 1000,
        max_connections_per_ip: 4,
        ..ServerConfig::punchplay()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tokio::net::TcpStream::connect(s.addr()).await.unwrap());
    }
    // Let the server accept them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let _ = extra
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a connection past the cap is closed without an answer: {read:?} {}",
        String::from_utf8_lossy(&answer)
    );
    // An admitted connection still answers at once.
    let mut first = idle.pop().unwrap();
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut answer))
        .await
        .expect("an admitted connection answers")
        .unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // Its place is free again once it closed.
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.assert_still_serving().await;
}
