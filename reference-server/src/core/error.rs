//! One error type for every rule in the core. It knows its code and the facts the wire
//! form needs; the profile's envelope renderer (in `http`) turns it into bytes and picks
//! the status from the profile's `[errors]` table.

use std::fmt;

/// The error codes every family may answer: seed 000's table (PP-ERR-4), RFC 6749's and
/// RFC 6750's (`access_denied`, `temporarily_unavailable`), `validation` with its fields
/// (EN-VALID-1) and HTTP's 405; a family's own codes are [`ErrorCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The user has not approved the device code yet.
    AuthorizationPending,
    /// The device code is invalid or expired.
    Expired,
    /// client_id or client_secret is invalid.
    InvalidClient,
    /// Refresh token or authorization code is invalid, expired, revoked, or already used.
    InvalidGrant,
    /// Required fields are missing or malformed.
    InvalidRequest,
    /// The request asked for a scope outside the app's allowed_scopes.
    InvalidScope,
    /// The bearer token is not allowed to use the platform API.
    InvalidToken,
    /// The bearer token does not include the scope required by the endpoint.
    InsufficientScope,
    /// The requested platform resource does not exist.
    NotFound,
    /// The request exceeded a current limit.
    RateLimited,
    /// Temporary server-side failure.
    ServerError,
    /// The app is inactive or unknown for the attempted OAuth flow.
    UnauthorizedClient,
    /// grant_type is not supported.
    UnsupportedGrantType,
    /// response_type is not supported.
    UnsupportedResponseType,
    /// The user denied the request.
    AccessDenied,
    /// The server is overloaded or in maintenance (authorize redirects only).
    TemporarilyUnavailable,
    /// Required fields are missing or not strings, each named in
    /// [`ProtocolError::invalid_fields`] (EN-VALID-1).
    Validation,
    /// The path exists, but not for this method (RFC 9110 §15.5.6).
    MethodNotAllowed,
    /// A code of one family's own, by its name; its status is the profile's `[errors]`
    /// entry of that name, like every code's.
    Other(&'static str),
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::Expired => "expired",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ServerError => "server_error",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::Validation => "validation",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    /// A whole sentence for a person: what was wrong and what to do.
    pub message: String,
    /// PP-API-2: the scope the endpoint needs, on `insufficient_scope`.
    pub required_scope: Option<String>,
    /// PP-RATE-2: whole seconds until a retry is admitted, on `rate_limited`.
    pub retry_after: Option<u64>,
    /// RFC 6749 §5.2: the client authenticated with HTTP Basic, so a 401 carries the challenge.
    pub basic_challenge: bool,
    /// An HTTP-layer status that the code alone does not say (413, 431).
    pub status: Option<u16>,
    /// EN-VALID-1: on `validation`, each field that failed and its message, in order.
    /// Boxed, so that the many errors without fields stay small.
    pub invalid_fields: Option<Box<InvalidFields>>,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtocolError {
            code,
            message: message.into(),
            required_scope: None,
            retry_after: None,
            basic_challenge: false,
            status: None,
            invalid_fields: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn invalid_grant(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, message)
    }

    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ProtocolError {}

/// Fields that failed validation, each with its message (EN-VALID-1).
pub type InvalidFields = Vec<(&'static str, String)>;

pub type ProtocolResult<T> = Result<T, ProtocolError>;
