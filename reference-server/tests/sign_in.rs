//! Issue 12 item 6: the sign-in throttle (failed attempts only, per user and per
//! address, its own 429 page) and pages that cannot be framed.

mod common;

use common::{OTHER_USER, TestServer, USER, browser};
use reference_server::core::sessions::{FAILURE_WINDOW_SECS, MAX_FAILURES_PER_USER};

async fn wrong_password(s: &TestServer, user: &str) -> common::Reply {
    s.sign_in_with(&browser(), user, "not-it", "/").await
}

#[tokio::test]
async fn correct_sign_ins_are_never_throttled() {
    let s = TestServer::start().await;
    for _ in 0..(3 * MAX_FAILURES_PER_USER) {
        let reply = s.sign_in(&browser(), USER, "/").await;
        assert_eq!(reply.status, 303, "{}", reply.describe());
    }
}

#[tokio::test]
async fn failed_sign_ins_throttle_that_user_until_the_window_passes() {
    let s = TestServer::start().await;
    for _ in 0..MAX_FAILURES_PER_USER {
        assert_eq!(wrong_password(&s, USER).await.status, 401);
    }
    // Now even the right password waits: otherwise guessing would go on.
    let reply = s.sign_in(&browser(), USER, "/").await;
    assert_eq!(reply.status, 429, "{}", reply.describe());
    assert!(reply.is_html(), "its own page");
    assert!(reply.text().contains("Too many sign-in attempts"));
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= FAILURE_WINDOW_SECS, "{retry}");
    // Another user from the same address is not locked out by alice's failures.
    assert_eq!(s.sign_in(&browser(), OTHER_USER, "/").await.status, 303);
    s.advance(FAILURE_WINDOW_SECS as f64).await;
    assert_eq!(s.sign_in(&browser(), USER, "/").await.status, 303);
}

#[tokio::test]
async fn invented_user_names_share_one_key() {
    let s = TestServer::start().await;
    for i in 0..MAX_FAILURES_PER_USER {
        assert_eq!(wrong_password(&s, &format!("nobody-{i}")).await.status, 401);
    }
    assert_eq!(wrong_password(&s, "nobody-else").await.status, 429);
    assert_eq!(s.sign_in(&browser(), USER, "/").await.status, 303);
}

#[tokio::test]
async fn no_page_can_be_framed() {
    let s = TestServer::start().await;
    for path in ["/", "/login", "/activate"] {
        let reply = s.get(&s.url(path)).await;
        assert!(reply.is_html(), "{path}: {}", reply.describe());
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            reply.header("content-security-policy"),
            Some("frame-ancestors 'none'"),
            "{path}"
        );
    }
    let reply = wrong_password(&s, USER).await;
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
}
