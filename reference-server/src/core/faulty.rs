//! The faults of state (issue 7 item 3): each is a wrapper of one component the rules
//! call (`components.rs`), doing what the strict component does but for the one defect
//! its fault names, as a faulty issuer would wrap oxide-auth's `Issuer`. This is the one
//! place in the core that maps a fault to behaviour; the protocol files name no fault.
//!
//! Faults of shape (a header, a member, a status, a redirect parameter) are not here:
//! the http shell's fault layer bends the answer after the rules ran.

use crate::faults::Fault;

use super::State;
use super::authorization_code::ExactRedirects;
use super::authorization_code::{AuthorizationCode, CodeStore, Codes, RedeemOnce, RedirectCheck};
use super::client_auth::{AppActivity, CurrentSecretOnly, SecretCheck};
use super::clock::Millis;
use super::components::Components;
use super::device_code::{
    DeviceAuthorization, DevicePolls, DeviceState, PollRules, authorization_pending,
};
use super::error::ProtocolResult;
use super::grants::{AccessExpiry, Grants, SpentRefresh, TokenKey};
use super::pkce::{PkcePolicy, S256Only};
use super::playback::{Action, LiveFeed, PlaybackOrder};
use super::rate_limit::LimitPolicy;
use super::refresh_token::{RefreshRotation, Replay, RotateAndRevokeReplays};
use super::registry::AppRecord;
use super::revocation::RevocationPolicy;
use super::scope::{self, ScopePolicy, ScopeSet};
use super::strict_rules::{
    BodyTypes, ClientAuthMethods, CodeLifetime, FORM, GrantTypes, TokenOracle,
};

/// How long a spent refresh token is wrongly honoured under fault `refresh_race`: the
/// "reuse grace period" that lets two concurrent refreshes both win.
const RACE_GRACE_MS: Millis = 2_000;

/// The components for `fault`: the strict set with the fault's one wrapper in place.
pub fn components_for(fault: Option<Fault>) -> Components {
    let mut c = Components::STRICT;
    let Some(fault) = fault else {
        return c;
    };
    match fault {
        Fault::SecretNotChecked => c.secrets = &SecretNotChecked,
        Fault::OldSecretStillValid => c.secrets = &OldSecretStillValid,
        Fault::InactiveAppAllowed => c.activity = &InactiveAppAllowed,
        Fault::OpenRedirect => c.redirects = &OpenRedirect,
        Fault::PlainPkceAccepted => c.pkce = &PlainPkceAccepted,
        Fault::VerifierIgnored => c.pkce = &VerifierIgnored,
        Fault::CodeReusable => c.codes = &CodeReusable,
        Fault::UnknownScopeGranted => c.scopes = &UnknownScopeGranted,
        Fault::RefreshWidensScope => c.scopes = &RefreshWidensScope,
        Fault::ScopeCheckSkipped => c.scopes = &ScopeCheckSkipped,
        Fault::DeviceTokensTwice => c.device_polls = &DeviceTokensTwice,
        Fault::DeviceDenyPending => c.device_polls = &DeviceDenyPending,
        Fault::RefreshNotRotated => c.refresh = &RefreshNotRotated,
        Fault::ReplayNotRevoking => c.refresh = &ReplayNotRevoking,
        Fault::RefreshRace => c.refresh = &RefreshRace,
        Fault::ExpiredTokenAccepted => c.access_expiry = &ExpiredTokenAccepted,
        Fault::DeactivationKeepsTokens => c.revocation = &DeactivationKeepsTokens,
        Fault::RevokeKeepsTokens => c.revocation = &RevokeKeepsTokens,
        Fault::LimiterAdmitsExtra => c.limits = &LimiterAdmitsExtra,
        Fault::LimiterCountsRejected => c.limits = &LimiterCountsRejected,
        Fault::StaleEventApplied => c.playback_order = &StaleEventApplied,
        Fault::FxBodyCredentialsAccepted => c.client_auth_methods = &FxBodyCredentialsAccepted,
        Fault::FxCodeOutlives60s => c.code_lifetime = &FxCodeOutlives60s,
        Fault::FxRedirectUriMismatchAccepted => c.redirects = &FxRedirectUriMismatchAccepted,
        Fault::FxJsonBodyAccepted => c.body_types = &FxJsonBodyAccepted,
        Fault::FxGrantTypesIgnored => c.grant_types = &FxGrantTypesIgnored,
        Fault::FxUnknownScopeGranted => c.scopes = &FxUnknownScopeGranted,
        Fault::FxRevokeUnknown400 => c.token_oracle = &FxRevokeUnknown400,
        Fault::FxRevokedTokenActive => c.token_oracle = &FxRevokedTokenActive,
        Fault::SseDropsStops => c.live_feed = &SseDropsStops,
        // Faults of shape: the http shell's fault layer applies them.
        Fault::InvalidClient400
        | Fault::FxBasicChallengeMissing
        | Fault::FxErrorStateDropped
        | Fault::FxBearerChallengeMissing
        | Fault::ScopeOmitted
        | Fault::StateNotEchoed
        | Fault::ErrorRedirectWithoutRequestId
        | Fault::NoStoreMissing
        | Fault::WrongGrantTypeError
        | Fault::QrWrongUrl
        | Fault::UnknownRouteServerError
        | Fault::PublicUserNeedsToken
        | Fault::RequestIdMismatch
        | Fault::RetryAfterMissing => {}
    }
    c
}

/// `secret_not_checked` (PP-APP-3): any secret, or none, proves a confidential client.
struct SecretNotChecked;

impl SecretCheck for SecretNotChecked {
    fn accepts(&self, _app: &AppRecord, _secret: Option<&str>) -> bool {
        true
    }
}

/// `old_secret_still_valid` (PP-APP-8): the rotated-away secret works too.
struct OldSecretStillValid;

impl SecretCheck for OldSecretStillValid {
    fn accepts(&self, app: &AppRecord, secret: Option<&str>) -> bool {
        CurrentSecretOnly.accepts(app, secret)
            || secret.is_some_and(|s| app.previous_secret.as_ref().is_some_and(|d| d.matches(s)))
    }
}

/// `inactive_app_allowed` (PP-APP-4): every app counts as active.
struct InactiveAppAllowed;

impl AppActivity for InactiveAppAllowed {
    fn allows(&self, _app: &AppRecord) -> bool {
        true
    }
}

/// `open_redirect` (PP-AUTHZ-5): any redirect URI counts as registered.
struct OpenRedirect;

impl RedirectCheck for OpenRedirect {
    fn is_registered(&self, _app: &AppRecord, _redirect_uri: &str) -> bool {
        true
    }
}

/// `plain_pkce_accepted` (PP-AUTHZ-6): `plain` challenges pass, and are compared as is.
struct PlainPkceAccepted;

impl PkcePolicy for PlainPkceAccepted {
    fn check_challenge(&self, challenge: Option<&str>, method: Option<&str>) -> ProtocolResult<()> {
        if method == Some("plain") && challenge.is_some_and(|c| !c.is_empty()) {
            return Ok(());
        }
        S256Only.check_challenge(challenge, method)
    }

    fn verifies(&self, verifier: &str, challenge: &str, challenge_is_plain: bool) -> bool {
        if challenge_is_plain {
            return verifier == challenge;
        }
        S256Only.verifies(verifier, challenge, challenge_is_plain)
    }
}

/// `verifier_ignored` (PP-AUTHZ-7): any well-formed verifier passes.
struct VerifierIgnored;

impl PkcePolicy for VerifierIgnored {
    fn verifies(&self, _verifier: &str, _challenge: &str, _challenge_is_plain: bool) -> bool {
        true
    }
}

/// `code_reusable` (PP-AUTHZ-8): the store forgets that a code was redeemed.
struct CodeReusable;

impl CodeStore for CodeReusable {
    fn find(&self, codes: &Codes, code: &str) -> Option<AuthorizationCode> {
        let mut record = RedeemOnce.find(codes, code)?;
        record.redeemed = None;
        Some(record)
    }
}

/// `unknown_scope_granted` (PP-SCOPE-3): scopes outside the app's are dropped, not refused.
struct UnknownScopeGranted;

impl ScopePolicy for UnknownScopeGranted {
    fn grant(
        &self,
        requested: Option<&str>,
        allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        let Some(names) = scope::requested_names(requested) else {
            return Ok(allowed.clone());
        };
        Ok(ScopeSet::from_known(known, |s| {
            names.contains(&s) && allowed.contains(s)
        }))
    }
}

/// `refresh_widens_scope` (PP-REFRESH-5): a refresh gets any scope the app is allowed.
struct RefreshWidensScope;

impl ScopePolicy for RefreshWidensScope {
    fn refresh(
        &self,
        requested: &[&str],
        granted: &ScopeSet,
        allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        Ok(ScopeSet::from_known(known, |s| {
            requested.contains(&s) && (granted.contains(s) || allowed.contains(s))
        }))
    }
}

/// `scope_check_skipped` (PP-API-2): every token covers every endpoint.
struct ScopeCheckSkipped;

impl ScopePolicy for ScopeCheckSkipped {
    fn covers(&self, _held: &ScopeSet, _required: &str) -> bool {
        true
    }
}

/// `device_tokens_twice` (PP-DEVICE-3): an approved code is never used up.
struct DeviceTokensTwice;

impl DevicePolls for DeviceTokensTwice {
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String> {
        let before = device.state.clone();
        let user = PollRules.poll(device)?;
        device.state = before;
        Ok(user)
    }
}

/// `device_deny_pending` (PP-DEVICE-4): a denied code reads as still pending.
struct DeviceDenyPending;

impl DevicePolls for DeviceDenyPending {
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String> {
        if device.state == DeviceState::Denied {
            return Err(authorization_pending());
        }
        PollRules.poll(device)
    }
}

/// `refresh_not_rotated` (PP-REFRESH-2): a used refresh token is never spent.
struct RefreshNotRotated;

impl RefreshRotation for RefreshNotRotated {
    fn spend(&self, _grants: &mut Grants, _token: &TokenKey, _now: Millis) {}
}

/// `replay_not_revoking` (PP-REFRESH-3): a replay is refused but the grant lives on.
struct ReplayNotRevoking;

impl RefreshRotation for ReplayNotRevoking {
    fn on_replay(&self, _grants: &mut Grants, _spent: &SpentRefresh, _now: Millis) -> Replay {
        Replay::Refused
    }
}

/// `refresh_race` (PP-REFRESH-4): a token spent less than [`RACE_GRACE_MS`] ago is
/// honoured again, so concurrent refreshes can both win.
struct RefreshRace;

impl RefreshRotation for RefreshRace {
    fn on_replay(&self, grants: &mut Grants, spent: &SpentRefresh, now: Millis) -> Replay {
        if now - spent.spent_at < RACE_GRACE_MS {
            return Replay::Honoured;
        }
        RotateAndRevokeReplays.on_replay(grants, spent, now)
    }
}

/// `expired_token_accepted` (PP-API-1): access tokens never expire, so none is forgotten.
struct ExpiredTokenAccepted;

impl AccessExpiry for ExpiredTokenAccepted {
    fn is_expired(&self, _expires_at: Millis, _now: Millis) -> bool {
        false
    }

    fn forgets_expired(&self) -> bool {
        false
    }
}

/// `deactivation_keeps_tokens` (PP-APP-5): deactivating an app ends none of its tokens.
struct DeactivationKeepsTokens;

impl RevocationPolicy for DeactivationKeepsTokens {
    fn deactivated(&self, _grants: &mut Grants, _client_id: &str) -> usize {
        0
    }
}

/// `revoke_keeps_tokens` (PP-REVOKE-1): a user's revoke ends nothing.
struct RevokeKeepsTokens;

impl RevocationPolicy for RevokeKeepsTokens {
    fn revoked_by_user(&self, _state: &mut State, _user: &str, _client_id: &str) -> usize {
        0
    }
}

/// `limiter_admits_extra` (PP-RATE-1): every window holds one more than documented.
struct LimiterAdmitsExtra;

impl LimitPolicy for LimiterAdmitsExtra {
    fn room(&self, max: u32) -> usize {
        max as usize + 1
    }
}

/// `limiter_counts_rejected` (PP-RATE-3): refusals fill the window too.
struct LimiterCountsRejected;

impl LimitPolicy for LimiterCountsRejected {
    fn records_refusals(&self) -> bool {
        true
    }
}

/// `stale_event_applied` (PP-API-4): no event counts as older than the last applied.
struct StaleEventApplied;

impl PlaybackOrder for StaleEventApplied {
    fn is_stale(&self, _last_applied: Option<Millis>, _occurred_at: Millis) -> bool {
        false
    }
}

/// `fx_body_credentials_accepted` (FX-TOKEN-3): a confidential client may send its secret
/// in the body.
struct FxBodyCredentialsAccepted;

impl ClientAuthMethods for FxBodyCredentialsAccepted {
    fn body_secret_allowed(&self, _app: &AppRecord) -> bool {
        true
    }
}

/// `fx_code_outlives_60s` (FX-TOKEN-4): codes live twice the profile's lifetime.
struct FxCodeOutlives60s;

impl CodeLifetime for FxCodeOutlives60s {
    fn seconds(&self, configured: u64) -> u64 {
        configured.saturating_mul(2)
    }
}

/// `fx_redirect_uri_mismatch_accepted` (FX-TOKEN-2): any `redirect_uri` redeems a code;
/// the authorize endpoint still matches registered URIs exactly.
struct FxRedirectUriMismatchAccepted;

impl RedirectCheck for FxRedirectUriMismatchAccepted {
    fn is_registered(&self, app: &AppRecord, redirect_uri: &str) -> bool {
        ExactRedirects.is_registered(app, redirect_uri)
    }

    fn same_redirect(&self, _issued_for: &str, _sent: &str) -> bool {
        true
    }
}

/// `fx_json_body_accepted` (FX-TOKEN-1): JSON bodies are read as well as forms.
struct FxJsonBodyAccepted;

impl BodyTypes for FxJsonBodyAccepted {
    fn accepts(&self, media_type: Option<&str>) -> bool {
        matches!(media_type, Some(FORM | "application/json"))
    }
}

/// `fx_grant_types_ignored` (FX-TOKEN-5): every client may use every grant.
struct FxGrantTypesIgnored;

impl GrantTypes for FxGrantTypesIgnored {
    fn allows(&self, _app: &AppRecord, _grant_type: &str) -> bool {
        true
    }
}

/// `fx_unknown_scope_granted` (FX-TOKEN-7): a refresh drops the scopes it may not have
/// (and with none left keeps the grant's) instead of refusing them.
struct FxUnknownScopeGranted;

impl ScopePolicy for FxUnknownScopeGranted {
    fn refresh(
        &self,
        requested: &[&str],
        granted: &ScopeSet,
        _allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        let kept = ScopeSet::from_known(known, |s| requested.contains(&s) && granted.contains(s));
        Ok(if kept.iter().next().is_none() {
            granted.clone()
        } else {
            kept
        })
    }
}

/// `fx_revoke_unknown_400` (FX-REVOKE-1): `/revoke` tells an unknown token apart.
struct FxRevokeUnknown400;

impl TokenOracle for FxRevokeUnknown400 {
    fn revoke_unknown_succeeds(&self) -> bool {
        false
    }
}

/// `fx_revoked_token_active` (FX-INTRO-1): a token that is not live introspects active.
struct FxRevokedTokenActive;

impl TokenOracle for FxRevokedTokenActive {
    fn dead_token_active(&self) -> bool {
        true
    }
}

/// `sse_drops_stops` (PP-API-8): `playback.stopped` never reaches the live stream.
struct SseDropsStops;

impl LiveFeed for SseDropsStops {
    fn publishes(&self, action: Action) -> bool {
        action != Action::Stop
    }
}
