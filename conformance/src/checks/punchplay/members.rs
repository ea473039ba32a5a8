//! The member names of punchplay's answers that the redactor must know (PP-TOKEN-1,
//! PP-DEVICE-1, PP-ERR-1, PP-API-8): which carry credentials or codes, the request id,
//! human text, the QR data URI and event ids. Data only: the redactor reads it through
//! `redact::FamilyMembers::of`.

/// Members whose values are credentials or one-time codes, and their placeholder kinds.
pub const SECRETS: &[(&str, &str)] = &[
    ("access_token", "access-token"),
    ("refresh_token", "refresh-token"),
    ("device_code", "device-code"),
    ("user_code", "user-code"),
    ("code", "code"),
    ("client_secret", "client-secret"),
    ("cookie", "cookie"),
];

/// The error body's request id (PP-ERR-1), checked against the profile's format.
pub const REQUEST_ID: &str = "request_id";

/// Human text a deployment words its own way (PP-ERR-1's `message`).
pub const PROSE: &[&str] = &["message"];

/// Members holding a `data:` URI (PP-DEVICE-2's QR image).
pub const DATA_URIS: &[&str] = &["verification_uri_qr"];

/// Number members that are event ids (PP-API-8).
pub const EVENT_IDS: &[&str] = &["id", "last_event_id"];
