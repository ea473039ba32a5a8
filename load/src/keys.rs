//! The keys a limit counts by (PP-RATE-4), made real: which source addresses, clients and
//! users' tokens the goose users send from, so that each key's window can be judged on
//! its own.
//!
//! This module owns the plan only; it sends nothing.

use std::net::{IpAddr, Ipv4Addr};

use profile::{App, AppKind, Identities, LimitKey, Secret};
use serde::Serialize;

/// A client as it authenticates on the OAuth endpoints (PP-APP-2).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<Secret>,
}

impl ClientCredentials {
    pub fn of(app: &App) -> Self {
        ClientCredentials {
            client_id: app.client_id.clone(),
            secret: match app.kind {
                AppKind::Confidential => app.secret.clone(),
                AppKind::Public => None,
            },
        }
    }
}

/// An access token of a known user, for the per-user limit.
#[derive(Debug, Clone)]
pub struct UserToken {
    pub username: String,
    /// Which app the token was issued to, when known (for reports only).
    pub client_id: Option<String>,
    pub access_token: Secret,
}

/// One key of a limit: everything sent for it is counted in one window.
#[derive(Debug, Clone, Serialize)]
pub struct LoadKey {
    /// How the key reads in reports: `127.0.0.2`, `pp-web @ 127.0.0.3`, `alice`.
    pub label: String,
    /// Source addresses; goose user `slot` of this key sends from `sources[slot % len]`.
    /// `None` lets the operating system choose.
    pub sources: Vec<Option<IpAddr>>,
    /// Clients, cycled request by request.
    #[serde(skip)]
    pub clients: Vec<ClientCredentials>,
    /// Bearer tokens of the key's user, cycled request by request.
    #[serde(skip)]
    pub tokens: Vec<Secret>,
}

impl LoadKey {
    pub fn source_for_slot(&self, slot: usize) -> Option<IpAddr> {
        self.sources[slot % self.sources.len()]
    }
}

/// The keys of one limit, and the requests that must not count against any of them.
#[derive(Debug, Clone)]
pub struct KeyPlan {
    pub keys: Vec<LoadKey>,
    /// Tokens that fail authentication; their requests must not be counted against a
    /// user (PP-RATE-4). Empty for limits not keyed by user.
    pub noise_tokens: Vec<Secret>,
}

/// Why a plan could not be made; each says what to supply.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no active app can authenticate at this endpoint; list one in the identities file")]
    NoClients,
    #[error(
        "the per-user limit needs users' access tokens with the scope its endpoint requires: \
         run against a server with test controls, or pass --tokens FILE"
    )]
    NoTokens,
}

/// Source addresses 127.0.0.2, 127.0.0.3, … for a loopback target; the operating
/// system's choice (one key) otherwise, unless the user named addresses.
pub fn loopback_sources(count: usize) -> Vec<Option<IpAddr>> {
    (0..count)
        .map(|i| {
            let n = 2 + i as u32;
            Some(IpAddr::V4(Ipv4Addr::from(
                u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n,
            )))
        })
        .collect()
}

pub fn label_of(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "default address".to_owned(), |a| a.to_string())
}

/// The plan for a limit keyed by `key`.
///
/// - IP: one key per source address; the clients alternate within a key, which shows
///   the key is the address alone.
/// - client and IP: every client on each of (at most) four addresses, which shows the
///   key is neither the client alone nor the address alone.
/// - user: one key per user; each user's tokens (from several apps) alternate and its
///   goose users send from every address, which shows the key is the user.
pub fn plan(
    key: LimitKey,
    sources: &[Option<IpAddr>],
    clients: &[ClientCredentials],
    tokens: &[UserToken],
    noise_tokens: &[Secret],
) -> Result<KeyPlan, PlanError> {
    let keys = match key {
        LimitKey::Ip => {
            if clients.is_empty() {
                return Err(PlanError::NoClients);
            }
            sources
                .iter()
                .map(|&s| LoadKey {
                    label: label_of(s),
                    sources: vec![s],
                    clients: clients.to_vec(),
                    tokens: Vec::new(),
                })
                .collect()
        }
        LimitKey::ClientAndIp => {
            if clients.is_empty() {
                return Err(PlanError::NoClients);
            }
            let mut keys = Vec::new();
            for &s in sources.iter().take(4) {
                for c in clients {
                    keys.push(LoadKey {
                        label: format!("{} @ {}", c.client_id, label_of(s)),
                        sources: vec![s],
                        clients: vec![c.clone()],
                        tokens: Vec::new(),
                    });
                }
            }
            keys
        }
        LimitKey::User => {
            let mut keys: Vec<LoadKey> = Vec::new();
            for t in tokens {
                match keys.iter_mut().find(|k| k.label == t.username) {
                    Some(k) => k.tokens.push(t.access_token.clone()),
                    None => keys.push(LoadKey {
                        label: t.username.clone(),
                        sources: sources.to_vec(),
                        clients: Vec::new(),
                        tokens: vec![t.access_token.clone()],
                    }),
                }
            }
            if keys.is_empty() {
                return Err(PlanError::NoTokens);
            }
            keys
        }
    };
    Ok(KeyPlan {
        keys,
        noise_tokens: if key == LimitKey::User {
            noise_tokens.to_vec()
        } else {
            Vec::new()
        },
    })
}

/// The active apps of `identities` that can authenticate (a confidential one needs its
/// secret).
pub fn usable_clients(identities: &Identities) -> Vec<ClientCredentials> {
    identities
        .apps
        .iter()
        .filter(|a| a.active && (a.kind == AppKind::Public || a.secret.is_some()))
        .map(ClientCredentials::of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_sources_start_at_127_0_0_2() {
        let s = loopback_sources(3);
        assert_eq!(label_of(s[0]), "127.0.0.2");
        assert_eq!(label_of(s[2]), "127.0.0.4");
    }

    #[test]
    fn client_and_ip_keys_cross_clients_with_addresses() {
        let ids = Identities::punchplay();
        let clients = usable_clients(&ids);
        assert_eq!(clients.len(), 3, "pp-inactive is left out");
        let plan = plan(
            LimitKey::ClientAndIp,
            &loopback_sources(8),
            &clients,
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(plan.keys.len(), 12);
        assert!(plan.keys.iter().any(|k| k.label == "pp-tv @ 127.0.0.5"));
    }

    #[test]
    fn user_keys_group_tokens_by_user() {
        let t = |u: &str, v: &str| UserToken {
            username: u.into(),
            client_id: None,
            access_token: Secret::new(v),
        };
        let tokens = [t("alice", "a1"), t("bob", "b1"), t("alice", "a2")];
        let plan = plan(
            LimitKey::User,
            &loopback_sources(2),
            &[],
            &tokens,
            &[Secret::new("x")],
        )
        .unwrap();
        assert_eq!(plan.keys.len(), 2);
        assert_eq!(plan.keys[0].tokens.len(), 2);
        assert_eq!(plan.keys[0].source_for_slot(3), loopback_sources(2)[1]);
        assert_eq!(plan.noise_tokens.len(), 1);
    }
}
