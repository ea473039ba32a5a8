//! The authorization code flow as flexslot documents it (FX-AUTHZ-1, FX-AUTHZ-2,
//! FX-TOKEN-2, FX-TOKEN-4): the kernel's authorize checks and consent pages with
//! flexslot's redirects (`error_description`, no request id), its code grant (a
//! `redirect_uri` that differs from the authorize request's is `invalid_request`, as
//! FX-TOKEN-2 is written), and the faults that bend the code's rules.

use super::envelope::quotable;
use crate::core::authorization_code::{
    AuthorizationCodeGrant, AuthorizeError, CodeLifetime, ExactRedirects, RedirectCheck,
    ValidAuthorization, redirect_with,
};
use crate::core::error::{ErrorCode, ProtocolError};
use crate::core::fault::bends;
use crate::core::fault::{FaultSpec, Shape};
use crate::core::registry::AppRecord;
use crate::http::consent::AuthorizeRedirects;
use crate::http::{App, Ctx};

/// `grant_type=authorization_code` at `/token`: a mismatched `redirect_uri` is
/// `invalid_request` (FX-TOKEN-2 as written; the seed lists it under `invalid_grant` too).
pub static STRICT_CODE_GRANT: AuthorizationCodeGrant = AuthorizationCodeGrant {
    redirect_mismatch: ErrorCode::InvalidRequest,
};

/// An error redirect to the client (FX-AUTHZ-1, RFC 6749 §4.1.2.1): `error`,
/// `error_description` and `state` when the request had one; no request id.
pub fn error_location(redirect_uri: &str, state: Option<&str>, error: &ProtocolError) -> String {
    let description = quotable(&error.message);
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(redirect_uri, &params)
}

/// Flexslot's redirects: errors and denials as [`error_location`] writes them, an
/// approval the kernel's code redirect.
pub struct Redirects;

impl AuthorizeRedirects for Redirects {
    fn error_location(&self, _app: &App, _ctx: &Ctx, err: &AuthorizeError) -> Option<String> {
        match err {
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
            } => Some(error_location(redirect_uri, state.as_deref(), error)),
            AuthorizeError::Page(_) => None,
        }
    }

    fn decision_location(
        &self,
        app: &App,
        _ctx: &Ctx,
        user: &str,
        request: &ValidAuthorization,
        approve: bool,
    ) -> String {
        if approve {
            return app.core.issue_code(user, request);
        }
        let denied = ProtocolError::new(ErrorCode::AccessDenied, "The user denied the request.");
        error_location(&request.redirect_uri, request.state.as_deref(), &denied)
    }
}

/// `fx_code_outlives_60s` (FX-TOKEN-4): codes live twice the profile's lifetime.
struct CodeOutlives60s;

impl CodeLifetime for CodeOutlives60s {
    fn seconds(&self, configured: u64) -> u64 {
        configured.saturating_mul(2)
    }
}

pub static FX_CODE_OUTLIVES_60S: FaultSpec = FaultSpec::bending(
    "fx_code_outlives_60s",
    "FX-TOKEN-4",
    "authorization codes live twice their 60 s, so a code is still redeemed at 61 s",
    bends!(dyn CodeLifetime = CodeOutlives60s),
);

/// `fx_redirect_uri_mismatch_accepted` (FX-TOKEN-2): any `redirect_uri` redeems a code;
/// the authorize endpoint still matches registered URIs exactly.
struct RedirectUriMismatchAccepted;

impl RedirectCheck for RedirectUriMismatchAccepted {
    fn is_registered(&self, app: &AppRecord, redirect_uri: &str) -> bool {
        ExactRedirects.is_registered(app, redirect_uri)
    }

    fn same_redirect(&self, _issued_for: &str, _sent: &str) -> bool {
        true
    }
}

pub static FX_REDIRECT_URI_MISMATCH_ACCEPTED: FaultSpec = FaultSpec::bending(
    "fx_redirect_uri_mismatch_accepted",
    "FX-TOKEN-2",
    "a /token redirect_uri that differs from the one sent to /authorize is accepted",
    bends!(dyn RedirectCheck = RedirectUriMismatchAccepted),
);

pub static FX_ERROR_STATE_DROPPED: FaultSpec = FaultSpec::shaping(
    "fx_error_state_dropped",
    "FX-AUTHZ-1",
    "error redirects from /authorize leave out state",
    Shape::ErrorRedirectWithoutState,
);
