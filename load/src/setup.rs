//! What a scenario needs before its first request: device codes to poll, and users'
//! access tokens for the per-user limit, from the device flow with test controls
//! (PP-DEVICE-1, PP-DEVICE-3, `POST /__test/device/decide`) or from a tokens file for a
//! deployment.
//!
//! The flow itself is the client crate's (`contract_client::flows`); this module picks
//! the users and apps and approves with the test control. Setup requests go from the
//! target's control client (the default address), never from the source addresses the
//! scenarios use as keys.

use std::collections::BTreeMap;
use std::path::Path;

use contract_client::flows::{self, Approver, ClientAuth, DeviceCode, FlowError};
use contract_client::{HttpTransport, TransportError};
use profile::{Identities, Profile, Secret};
use serde::Deserialize;

use crate::keys::{ClientCredentials, UserToken, usable_clients};
use crate::target::{Target, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{0}")]
    Flow(String),
    #[error("cannot read the tokens file {path}: {why}")]
    TokensFile { path: String, why: String },
}

/// The setup's transport: plain requests from the target's control client.
fn transport(target: &Target) -> HttpTransport {
    HttpTransport::new(target.client().clone(), target.url("/").as_str())
}

fn auth(client: &ClientCredentials) -> ClientAuth {
    ClientAuth::new(
        &client.client_id,
        client.secret.as_ref().map(Secret::expose),
    )
}

fn flow_error(client: &ClientCredentials, e: FlowError<TransportError>) -> SetupError {
    SetupError::Flow(format!(
        "the device flow for {} stopped: {e} (PP-DEVICE-1, PP-DEVICE-3)",
        client.client_id
    ))
}

/// Approves device codes as one user with the test control `POST /__test/device/decide`.
struct TestControlApproval<'a> {
    target: &'a Target,
    username: &'a str,
}

impl Approver<HttpTransport> for TestControlApproval<'_> {
    async fn authorize(
        &self,
        _: &mut HttpTransport,
        _: &str,
        _: bool,
    ) -> Result<String, FlowError<TransportError>> {
        Err(FlowError::Flow(
            "load's setup approves device codes only".to_owned(),
        ))
    }

    async fn device(
        &self,
        _: &mut HttpTransport,
        code: &DeviceCode,
        _approve: bool,
    ) -> Result<(), FlowError<TransportError>> {
        self.target
            .decide_device(&code.user_code, self.username)
            .await
            .map_err(|e| FlowError::Transport(TransportError(e.to_string())))
    }
}

/// A pending device code per client, for the device-token scenario to poll. Clients the
/// server will not start a flow for are left out (their polls use a made-up code, which
/// is just as admitted: 400 `expired`).
pub async fn device_codes(
    target: &Target,
    profile: &Profile,
    clients: &[ClientCredentials],
) -> BTreeMap<String, String> {
    let mut codes = BTreeMap::new();
    let mut t = transport(target);
    for client in clients {
        if let Ok((code, _)) = flows::device_start(&mut t, profile, &auth(client), None).await {
            codes.insert(client.client_id.clone(), code.device_code);
        }
    }
    codes
}

/// Users' access tokens through the device flow, approved with test controls: every
/// fixture user with every active app allowed the playback scope. One user's token of
/// one app is then revoked (PP-REVOKE-1) and returned as noise: a token of a real user
/// that fails authentication, which must not count against that user (PP-RATE-4).
pub async fn tokens_by_device_flow(
    target: &Target,
    profile: &Profile,
    identities: &Identities,
) -> Result<(Vec<UserToken>, Vec<Secret>), SetupError> {
    let scope = profile
        .required_scope("playback")
        .unwrap_or("playback:write");
    let apps: Vec<_> = identities
        .apps
        .iter()
        .filter(|a| a.allowed_scopes.iter().any(|s| s == scope))
        .collect();
    let clients: Vec<ClientCredentials> = usable_clients(identities)
        .into_iter()
        .filter(|c| apps.iter().any(|a| a.client_id == c.client_id))
        .collect();
    if clients.is_empty() || identities.users.is_empty() {
        return Err(SetupError::Flow(format!(
            "the identities have no user or no active app allowed `{scope}`, so there is no \
             token for the per-user limit"
        )));
    }
    let mut t = transport(target);
    let mut tokens = Vec::new();
    for user in &identities.users {
        let approval = TestControlApproval {
            target,
            username: &user.username,
        };
        for client in &clients {
            let got = flows::device_tokens(&mut t, &approval, profile, &auth(client), None)
                .await
                .map_err(|e| flow_error(client, e))?;
            tokens.push(UserToken {
                username: user.username.clone(),
                client_id: Some(client.client_id.clone()),
                access_token: Secret::new(got.access),
            });
        }
    }
    let mut noise = vec![Secret::new("load-unknown-access-token")];
    if clients.len() > 1 {
        let first = &identities.users[0].username;
        let last_client = &clients[clients.len() - 1].client_id;
        target.revoke(first, last_client).await?;
        let (revoked, kept): (Vec<_>, Vec<_>) = tokens.into_iter().partition(|t| {
            &t.username == first && t.client_id.as_deref() == Some(last_client.as_str())
        });
        tokens = kept;
        noise.extend(revoked.into_iter().map(|t| t.access_token));
    }
    Ok((tokens, noise))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    user: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    access_token_env: Option<String>,
}

/// Reads a tokens file for a deployment:
///
/// ```toml
/// [[tokens]]
/// user = "alice"
/// access_token_env = "PP_ALICE_TOKEN"   # or access_token = "..."
/// ```
pub fn tokens_from_file(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<UserToken>, SetupError> {
    let err = |why: String| SetupError::TokensFile {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    tokens_from_str(&text, env).map_err(err)
}

fn tokens_from_str(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<UserToken>, String> {
    let file: TokensFile = toml::from_str(text).map_err(|e| e.to_string())?;
    file.tokens
        .into_iter()
        .map(|t| {
            let token = match (t.access_token, &t.access_token_env) {
                (Some(s), _) => s,
                (None, Some(var)) => Secret::new(env(var).ok_or_else(|| {
                    format!(
                        "user `{}` takes its token from ${var}, which is not set",
                        t.user
                    )
                })?),
                (None, None) => {
                    return Err(format!(
                        "user `{}` needs access_token or access_token_env",
                        t.user
                    ));
                }
            };
            Ok(UserToken {
                username: t.user,
                client_id: t.client_id,
                access_token: token,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_file_or_the_environment() {
        let text = r#"
            [[tokens]]
            user = "alice"
            access_token = "a"
            [[tokens]]
            user = "bob"
            access_token_env = "BOB"
        "#;
        let t = tokens_from_str(text, |v| (v == "BOB").then(|| "b".into())).unwrap();
        assert_eq!(t[1].access_token.expose(), "b");
        let e = tokens_from_str(text, |_| None).unwrap_err();
        assert!(e.contains("$BOB"), "{e}");
    }
}
