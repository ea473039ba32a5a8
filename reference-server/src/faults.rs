//! Named defects the test controls can switch on (`POST /__test/fault`), one at a time, so
//! that the conformance suite can prove it notices each of them. Off by default and
//! unreachable without `--test-controls`.

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident = $name:literal, $clause:literal, $what:literal; )*) => {
        /// One named defect. Each breaks the clause it names, and only that.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault { $( $variant, )* }

        impl Fault {
            pub const ALL: &'static [Fault] = &[ $( Fault::$variant, )* ];

            /// The name used on the wire: `{"fault": "code_reusable"}`.
            pub fn name(self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }

            /// The clause the defect breaks.
            pub fn clause(self) -> &'static str {
                match self { $( Fault::$variant => $clause, )* }
            }

            /// What the defect does, for people reading a fault table.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $what, )* }
            }
        }

        impl FromStr for Fault {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(Fault::$variant), )*
                    other => Err(format!(
                        "unknown fault `{other}`; known faults: {}",
                        [$( $name ),*].join(", ")
                    )),
                }
            }
        }
    };
}

faults! {
    SecretNotChecked = "secret_not_checked", "PP-APP-3", "a confidential client's secret is not checked at the token endpoint";
    InvalidClient400 = "invalid_client_400", "PP-APP-3", "invalid_client is answered with 400 instead of 401";
    InactiveAppAllowed = "inactive_app_allowed", "PP-APP-4", "a deactivated app may still run OAuth flows";
    DeactivationKeepsTokens = "deactivation_keeps_tokens", "PP-APP-5", "deactivating an app leaves its tokens working";
    OldSecretStillValid = "old_secret_still_valid", "PP-APP-8", "a rotated-away client secret keeps working";
    UnknownScopeGranted = "unknown_scope_granted", "PP-SCOPE-3", "scopes outside allowed_scopes are silently dropped instead of refused";
    ScopeOmitted = "scope_omitted", "PP-SCOPE-4", "token responses leave out `scope`";
    StateNotEchoed = "state_not_echoed", "PP-AUTHZ-3", "the approval redirect drops `state`";
    ErrorRedirectWithoutRequestId = "error_redirect_without_request_id", "PP-AUTHZ-4", "error redirects leave out `request_id`";
    OpenRedirect = "open_redirect", "PP-AUTHZ-5", "an unregistered redirect_uri gets a redirect instead of an error page";
    PlainPkceAccepted = "plain_pkce_accepted", "PP-AUTHZ-6", "code_challenge_method=plain is accepted";
    VerifierIgnored = "verifier_ignored", "PP-AUTHZ-7", "the code_verifier is not checked against the challenge";
    CodeReusable = "code_reusable", "PP-AUTHZ-8", "an authorization code can be redeemed more than once";
    NoStoreMissing = "no_store_missing", "PP-TOKEN-4", "token responses lack Cache-Control: no-store";
    WrongGrantTypeError = "wrong_grant_type_error", "PP-TOKEN-3", "an unknown grant_type is answered with invalid_request";
    QrWrongUrl = "qr_wrong_url", "PP-DEVICE-2", "the QR code encodes verification_uri instead of verification_uri_complete";
    DeviceTokensTwice = "device_tokens_twice", "PP-DEVICE-3", "an approved device code yields tokens on every poll";
    DeviceDenyPending = "device_deny_pending", "PP-DEVICE-4", "a denied device code keeps answering authorization_pending";
    RefreshNotRotated = "refresh_not_rotated", "PP-REFRESH-2", "a used refresh token keeps working";
    ReplayNotRevoking = "replay_not_revoking", "PP-REFRESH-3", "replaying a spent refresh token leaves the grant alive";
    RefreshRace = "refresh_race", "PP-REFRESH-4", "concurrent refreshes of one token can both succeed";
    RefreshWidensScope = "refresh_widens_scope", "PP-REFRESH-5", "a refresh may ask for more scope than the grant has";
    ExpiredTokenAccepted = "expired_token_accepted", "PP-API-1", "expired access tokens are still accepted";
    ScopeCheckSkipped = "scope_check_skipped", "PP-API-2", "the bearer API does not check the token's scope";
    StaleEventApplied = "stale_event_applied", "PP-API-4", "playback events older than the last applied one change now-playing";
    SseDropsStops = "sse_drops_stops", "PP-API-8", "the live stream drops playback.stopped events";
    UnknownRouteServerError = "unknown_route_server_error", "PP-API-9", "unknown platform routes answer 500 instead of 404";
    PublicUserNeedsToken = "public_user_needs_token", "PP-PUBLIC-1", "the public users API demands a bearer token";
    RevokeKeepsTokens = "revoke_keeps_tokens", "PP-REVOKE-1", "revoking a connected app leaves its tokens working";
    RequestIdMismatch = "request_id_mismatch", "PP-ERR-2", "the request-id header differs from the error body's request_id";
    LimiterAdmitsExtra = "limiter_admits_extra", "PP-RATE-1", "every rate limit admits one request more than documented";
    RetryAfterMissing = "retry_after_missing", "PP-RATE-2", "429 answers carry no Retry-After";
    FxBodyCredentialsAccepted = "fx_body_credentials_accepted", "FX-TOKEN-3", "a confidential client's client_id and client_secret in the body are accepted instead of HTTP Basic only";
    FxBasicChallengeMissing = "fx_basic_challenge_missing", "FX-TOKEN-3", "invalid_client for a client that used HTTP Basic carries no WWW-Authenticate: Basic challenge";
    FxCodeOutlives60s = "fx_code_outlives_60s", "FX-TOKEN-4", "authorization codes live twice their 60 s, so a code is still redeemed at 61 s";
    FxRedirectUriMismatchAccepted = "fx_redirect_uri_mismatch_accepted", "FX-TOKEN-2", "a /token redirect_uri that differs from the one sent to /authorize is accepted";
    FxJsonBodyAccepted = "fx_json_body_accepted", "FX-TOKEN-1", "/token, /revoke and /introspect read a JSON body instead of refusing it with invalid_request";
    FxGrantTypesIgnored = "fx_grant_types_ignored", "FX-TOKEN-5", "a client's configured grant types are not checked: a code-only client refreshes";
    FxUnknownScopeGranted = "fx_unknown_scope_granted", "FX-TOKEN-7", "a refresh asking for a scope unknown or outside the grant drops it instead of answering invalid_scope";
    FxRevokeUnknown400 = "fx_revoke_unknown_400", "FX-REVOKE-1", "/revoke answers 400 invalid_request for a token it does not know (revoked, expired or unknown)";
    FxRevokedTokenActive = "fx_revoked_token_active", "FX-INTRO-1", "/introspect answers active: true for a token that is not live (revoked, expired or unknown)";
    FxErrorStateDropped = "fx_error_state_dropped", "FX-AUTHZ-1", "error redirects from /authorize leave out state";
    FxBearerChallengeMissing = "fx_bearer_challenge_missing", "FX-RS-1", "401 answers of the resource server carry no WWW-Authenticate: Bearer challenge";
    LimiterCountsRejected = "limiter_counts_rejected", "PP-RATE-3", "refused requests count against the window, so it never reopens on time";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
