//! The components the protocol rules call for every decision a fault of state can bend
//! (issue 7 item 3): who a secret proves, which apps are active, which redirect URIs
//! match, PKCE, scopes, codes, device polls, refresh rotation and replay, access-token
//! expiry, revocation, rate windows, playback order and the live feed.
//!
//! The rules never ask which fault is on: they call the component, and
//! [`faulty::components_for`](super::faulty::components_for) picks the implementation,
//! [`Components::STRICT`] (the contract as written) or a faulty wrapper of one part of
//! it, the way a faulty issuer would wrap oxide-auth's `Issuer`.

use super::authorization_code::{CodeStore, ExactRedirects, RedeemOnce, RedirectCheck};
use super::client_auth::{ActiveAppsOnly, AppActivity, CurrentSecretOnly, SecretCheck};
use super::device_code::{DevicePolls, PollRules};
use super::grants::{AccessExpires, AccessExpiry};
use super::pkce::{PkcePolicy, S256Only};
use super::playback::{EveryEvent, LiveFeed, NewestWins, PlaybackOrder};
use super::rate_limit::{ExactLimits, LimitPolicy};
use super::refresh_token::{RefreshRotation, RotateAndRevokeReplays};
use super::revocation::{RevocationPolicy, RevokeEverything};
use super::scope::{ScopePolicy, StrictScopes};
use super::strict_rules::{
    BasicOnly, BodyTypes, ClientAuthMethods, CodeLifetime, ConfiguredCodeLifetime,
    ConfiguredGrantsOnly, FormsOnly, GrantTypes, NoOracle, TokenOracle,
};

/// One implementation of each component, as the current fault picks them.
#[derive(Clone, Copy)]
pub struct Components {
    /// PP-APP-3, PP-APP-8.
    pub secrets: &'static dyn SecretCheck,
    /// PP-APP-4.
    pub activity: &'static dyn AppActivity,
    /// PP-AUTHZ-5.
    pub redirects: &'static dyn RedirectCheck,
    /// PP-AUTHZ-6, PP-AUTHZ-7.
    pub pkce: &'static dyn PkcePolicy,
    /// PP-AUTHZ-8.
    pub codes: &'static dyn CodeStore,
    /// PP-SCOPE-3, PP-REFRESH-5, PP-API-2.
    pub scopes: &'static dyn ScopePolicy,
    /// PP-DEVICE-3, PP-DEVICE-4.
    pub device_polls: &'static dyn DevicePolls,
    /// PP-REFRESH-2, PP-REFRESH-3, PP-REFRESH-4.
    pub refresh: &'static dyn RefreshRotation,
    /// PP-API-1.
    pub access_expiry: &'static dyn AccessExpiry,
    /// PP-APP-5, PP-REVOKE-1.
    pub revocation: &'static dyn RevocationPolicy,
    /// PP-RATE-1, PP-RATE-3.
    pub limits: &'static dyn LimitPolicy,
    /// PP-API-4.
    pub playback_order: &'static dyn PlaybackOrder,
    /// FX-TOKEN-3.
    pub client_auth_methods: &'static dyn ClientAuthMethods,
    /// FX-TOKEN-5, FX-AUTHZ-1.
    pub grant_types: &'static dyn GrantTypes,
    /// FX-TOKEN-1.
    pub body_types: &'static dyn BodyTypes,
    /// FX-TOKEN-4 (and every family's code lifetime).
    pub code_lifetime: &'static dyn CodeLifetime,
    /// FX-REVOKE-1, FX-INTRO-1.
    pub token_oracle: &'static dyn TokenOracle,
    /// PP-API-8.
    pub live_feed: &'static dyn LiveFeed,
}

impl Components {
    /// Every component as the contract says.
    pub const STRICT: Components = Components {
        secrets: &CurrentSecretOnly,
        activity: &ActiveAppsOnly,
        redirects: &ExactRedirects,
        pkce: &S256Only,
        codes: &RedeemOnce,
        scopes: &StrictScopes,
        device_polls: &PollRules,
        refresh: &RotateAndRevokeReplays,
        access_expiry: &AccessExpires,
        revocation: &RevokeEverything,
        limits: &ExactLimits,
        playback_order: &NewestWins,
        client_auth_methods: &BasicOnly,
        grant_types: &ConfiguredGrantsOnly,
        body_types: &FormsOnly,
        code_lifetime: &ConfiguredCodeLifetime,
        token_oracle: &NoOracle,
        live_feed: &EveryEvent,
    };
}
