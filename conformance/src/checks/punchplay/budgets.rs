//! The request budget of each ordinary check per rate limit, as data: what the runner
//! plans with against a target without clock control (see `runner::plan`).
//! `tests/checks.rs` fails when a check sends more than its row says, so the table
//! cannot drift from the checks.

/// (check id, rate-limit name, requests). Playback checks that first bring now-playing
/// to idle count one request more for that.
pub const BUDGETS: &[(&str, &str, u32)] = &[
    (
        "PP-APP-2/confidential-client-authenticates-everywhere",
        "device-code",
        3,
    ),
    (
        "PP-APP-2/confidential-client-authenticates-everywhere",
        "device-token",
        1,
    ),
    (
        "PP-APP-2/confidential-client-authenticates-everywhere",
        "refresh",
        1,
    ),
    (
        "PP-APP-2/confidential-client-authenticates-everywhere",
        "token",
        1,
    ),
    (
        "PP-APP-3/wrong-or-missing-secret-is-invalid-client",
        "token",
        2,
    ),
    (
        "PP-APP-3/public-client-sending-secret-is-invalid-client",
        "device-code",
        1,
    ),
    (
        "PP-APP-3/public-client-sending-secret-is-invalid-client",
        "token",
        1,
    ),
    (
        "PP-APP-4/inactive-app-is-unauthorized-client",
        "device-code",
        1,
    ),
    ("PP-APP-4/inactive-app-is-unauthorized-client", "token", 1),
    (
        "PP-APP-4/unknown-client-is-invalid-client",
        "device-code",
        1,
    ),
    ("PP-APP-4/unknown-client-is-invalid-client", "token", 1),
    ("PP-APP-5/deactivation-revokes-every-token", "token", 2),
    ("PP-APP-6/secrets-are-never-echoed", "token", 1),
    (
        "PP-APP-8/rotated-secret-replaces-the-old-one-at-once",
        "token",
        2,
    ),
    ("PP-APP-8/owner-deactivates-app", "token", 1),
    ("PP-SCOPE-1/every-documented-scope-is-grantable", "token", 1),
    ("PP-SCOPE-2/omitted-scope-grants-allowed-scopes", "token", 1),
    (
        "PP-SCOPE-3/device-code-with-unknown-scope-is-invalid-scope",
        "device-code",
        2,
    ),
    (
        "PP-SCOPE-4/token-and-device-responses-carry-the-granted-scope",
        "device-code",
        1,
    ),
    (
        "PP-SCOPE-4/token-and-device-responses-carry-the-granted-scope",
        "device-token",
        1,
    ),
    (
        "PP-SCOPE-4/token-and-device-responses-carry-the-granted-scope",
        "token",
        1,
    ),
    ("PP-AUTHZ-1/code-flow-with-s256-completes", "token", 1),
    (
        "PP-AUTHZ-3/approval-redirects-with-code-state-and-scope",
        "token",
        1,
    ),
    (
        "PP-AUTHZ-6/verifier-outside-43-128-unreserved-is-refused",
        "token",
        3,
    ),
    ("PP-AUTHZ-7/code-is-bound-to-the-challenge", "token", 1),
    (
        "PP-AUTHZ-7/code-is-bound-to-client-and-redirect-uri",
        "token",
        2,
    ),
    ("PP-AUTHZ-7/code-expires-after-its-lifetime", "token", 2),
    (
        "PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens",
        "token",
        3,
    ),
    (
        "PP-TOKEN-1/code-redemption-answers-a-bearer-token-pair",
        "token",
        1,
    ),
    (
        "PP-TOKEN-2/unknown-code-and-refresh-token-are-invalid-grant",
        "token",
        2,
    ),
    ("PP-TOKEN-3/other-grant-types-are-unsupported", "token", 3),
    ("PP-TOKEN-3/missing-fields-are-invalid-request", "token", 4),
    ("PP-TOKEN-4/json-bodies-are-accepted", "device-code", 1),
    ("PP-TOKEN-4/json-bodies-are-accepted", "device-token", 1),
    ("PP-TOKEN-4/json-bodies-are-accepted", "refresh", 1),
    ("PP-TOKEN-4/json-bodies-are-accepted", "token", 2),
    (
        "PP-TOKEN-4/other-content-types-are-invalid-request",
        "device-code",
        1,
    ),
    (
        "PP-TOKEN-4/other-content-types-are-invalid-request",
        "device-token",
        1,
    ),
    (
        "PP-TOKEN-4/other-content-types-are-invalid-request",
        "refresh",
        1,
    ),
    (
        "PP-TOKEN-4/other-content-types-are-invalid-request",
        "token",
        1,
    ),
    (
        "PP-TOKEN-4/token-responses-carry-no-store",
        "device-code",
        1,
    ),
    (
        "PP-TOKEN-4/token-responses-carry-no-store",
        "device-token",
        1,
    ),
    ("PP-TOKEN-4/token-responses-carry-no-store", "refresh", 1),
    ("PP-TOKEN-4/token-responses-carry-no-store", "token", 2),
    (
        "PP-TOKEN-4/access-tokens-live-the-documented-lifetime",
        "token",
        1,
    ),
    (
        "PP-TOKEN-5/wrong-basic-credentials-are-invalid-client-with-a-basic-challenge",
        "token",
        1,
    ),
    ("PP-TOKEN-5/http-basic-client-authentication", "token", 1),
    (
        "PP-TOKEN-5/basic-and-body-credentials-together-are-invalid-request",
        "token",
        1,
    ),
    (
        "PP-DEVICE-1/device-code-response-has-every-field",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-1/interval-lifetime-and-user-code-shape",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-2/qr-code-decodes-to-verification-uri-complete",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-3/polling-pending-then-tokens-once-then-expired",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-3/polling-pending-then-tokens-once-then-expired",
        "device-token",
        3,
    ),
    (
        "PP-DEVICE-3/unknown-device-code-is-expired",
        "device-token",
        1,
    ),
    (
        "PP-DEVICE-3/timed-out-device-code-is-expired",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-3/timed-out-device-code-is-expired",
        "device-token",
        2,
    ),
    (
        "PP-DEVICE-4/denied-device-code-is-access-denied",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-4/denied-device-code-is-access-denied",
        "device-token",
        1,
    ),
    (
        "PP-DEVICE-5/activate-page-shows-app-and-scopes",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-5/rfc8628-grant-type-is-accepted",
        "device-code",
        1,
    ),
    (
        "PP-DEVICE-5/rfc8628-grant-type-is-accepted",
        "device-token",
        2,
    ),
    (
        "PP-REFRESH-1/browser-app-refreshes-at-the-token-endpoint",
        "token",
        2,
    ),
    (
        "PP-REFRESH-1/device-app-refreshes-at-auth-refresh",
        "device-code",
        1,
    ),
    (
        "PP-REFRESH-1/device-app-refreshes-at-auth-refresh",
        "device-token",
        1,
    ),
    (
        "PP-REFRESH-1/device-app-refreshes-at-auth-refresh",
        "refresh",
        1,
    ),
    (
        "PP-REFRESH-2/spent-refresh-token-is-invalid-grant",
        "token",
        3,
    ),
    ("PP-REFRESH-3/replay-revokes-the-grant", "token", 4),
    (
        "PP-REFRESH-4/concurrent-refreshes-exactly-one-wins",
        "token",
        5,
    ),
    (
        "PP-REFRESH-5/narrower-scope-allowed-wider-refused",
        "token",
        3,
    ),
    ("PP-REFRESH-5/refresh-token-idles-out", "token", 2),
    ("PP-API-1/expired-access-token-is-invalid-token", "token", 1),
    (
        "PP-API-2/token-without-the-scope-is-insufficient-scope",
        "playback",
        1,
    ),
    (
        "PP-API-2/token-without-the-scope-is-insufficient-scope",
        "token",
        4,
    ),
    ("PP-API-3/every-playback-action-applies", "playback", 6),
    ("PP-API-3/every-playback-action-applies", "token", 1),
    ("PP-API-3/unknown-action-is-not-found", "playback", 1),
    ("PP-API-3/unknown-action-is-not-found", "token", 1),
    (
        "PP-API-3/malformed-body-is-invalid-request-naming-the-field",
        "playback",
        6,
    ),
    (
        "PP-API-3/malformed-body-is-invalid-request-naming-the-field",
        "token",
        1,
    ),
    (
        "PP-API-4/older-event-is-accepted-and-changes-nothing",
        "playback",
        3,
    ),
    (
        "PP-API-4/older-event-is-accepted-and-changes-nothing",
        "token",
        1,
    ),
    ("PP-API-4/repeated-event-id-changes-nothing", "playback", 4),
    ("PP-API-4/repeated-event-id-changes-nothing", "token", 1),
    (
        "PP-API-5/start-of-another-item-ends-the-first",
        "playback",
        3,
    ),
    ("PP-API-5/start-of-another-item-ends-the-first", "token", 1),
    (
        "PP-API-6/now-playing-has-state-media-position-updated-at",
        "playback",
        3,
    ),
    (
        "PP-API-6/now-playing-has-state-media-position-updated-at",
        "token",
        1,
    ),
    ("PP-API-7/me-answers-username-and-display-name", "token", 1),
    (
        "PP-API-8/stream-delivers-every-action-in-order",
        "playback",
        6,
    ),
    ("PP-API-8/stream-delivers-every-action-in-order", "token", 1),
    ("PP-API-8/last-event-id-resumes-the-stream", "playback", 3),
    ("PP-API-8/last-event-id-resumes-the-stream", "token", 1),
    (
        "PP-API-8/stream-ends-when-the-grant-is-revoked",
        "playback",
        2,
    ),
    ("PP-API-8/stream-ends-when-the-grant-is-revoked", "token", 2),
    ("PP-API-8/query-string-token-is-refused", "token", 1),
    ("PP-API-9/unknown-platform-route-is-not-found", "token", 1),
    ("PP-PUBLIC-1/user-profile-needs-no-token", "public-user", 2),
    ("PP-PUBLIC-1/unknown-user-is-not-found", "public-user", 1),
    (
        "PP-REVOKE-1/connected-apps-revoke-ends-every-token",
        "token",
        2,
    ),
    (
        "PP-ERR-1/error-bodies-carry-error-message-request-id",
        "device-code",
        1,
    ),
    (
        "PP-ERR-1/error-bodies-carry-error-message-request-id",
        "device-token",
        1,
    ),
    (
        "PP-ERR-1/error-bodies-carry-error-message-request-id",
        "public-user",
        1,
    ),
    (
        "PP-ERR-1/error-bodies-carry-error-message-request-id",
        "token",
        3,
    ),
    (
        "PP-ERR-2/request-id-on-every-response-unique-and-equal-to-the-body",
        "public-user",
        3,
    ),
    (
        "PP-ERR-3/statuses-follow-the-documented-table",
        "device-code",
        1,
    ),
    (
        "PP-ERR-3/statuses-follow-the-documented-table",
        "device-token",
        1,
    ),
    (
        "PP-ERR-3/statuses-follow-the-documented-table",
        "public-user",
        1,
    ),
    ("PP-ERR-3/statuses-follow-the-documented-table", "token", 3),
    (
        "PP-ERR-3/temporary-failure-is-500-server-error",
        "device-code",
        1,
    ),
    ("PP-ERR-3/temporary-failure-is-500-server-error", "token", 1),
    (
        "PP-ERR-4/error-codes-come-from-the-documented-table",
        "device-code",
        1,
    ),
    (
        "PP-ERR-4/error-codes-come-from-the-documented-table",
        "device-token",
        1,
    ),
    (
        "PP-ERR-4/error-codes-come-from-the-documented-table",
        "public-user",
        1,
    ),
    (
        "PP-ERR-4/error-codes-come-from-the-documented-table",
        "token",
        3,
    ),
    (
        "PP-ERR-4/temporarily-unavailable-answers-server-error",
        "token",
        1,
    ),
];
