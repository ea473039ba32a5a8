//! What a scenario needs before its first request: device codes to poll, and users'
//! access tokens for the per-user limit, from the device flow with test controls
//! (PP-DEVICE-1, PP-DEVICE-3, `POST /__test/device/decide`) or from a tokens file for a
//! deployment.
//!
//! Setup requests go from the target's control client (the default address), never from
//! the source addresses the scenarios use as keys.

use std::collections::BTreeMap;
use std::path::Path;

use profile::{Identities, Profile, Secret};
use serde::Deserialize;
use serde_json::Value;

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

fn form(
    client: &ClientCredentials,
    mut fields: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    fields.push(("client_id", client.client_id.clone()));
    if let Some(s) = &client.secret {
        fields.push(("client_secret", s.expose().to_owned()));
    }
    fields
}

async fn post_form(
    target: &Target,
    path: &str,
    fields: &[(&'static str, String)],
) -> Result<(u16, Value), SetupError> {
    let response = target
        .client()
        .post(target.url(path))
        .form(fields)
        .send()
        .await
        .map_err(|e| SetupError::Flow(format!("POST {path} failed: {e}")))?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Starts the device flow for `client` (PP-DEVICE-1): `(device_code, user_code)`.
async fn start_device_flow(
    target: &Target,
    profile: &Profile,
    client: &ClientCredentials,
) -> Result<(String, String), SetupError> {
    let path = profile.path("device_code");
    let (status, body) = post_form(target, path, &form(client, vec![])).await?;
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    match (status, field("device_code"), field("user_code")) {
        (200, Some(d), Some(u)) => Ok((d, u)),
        _ => Err(SetupError::Flow(format!(
            "POST {path} for {} answered {status} {body}; expected 200 with device_code and user_code (PP-DEVICE-1)",
            client.client_id
        ))),
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
    for client in clients {
        if let Ok((device_code, _)) = start_device_flow(target, profile, client).await {
            codes.insert(client.client_id.clone(), device_code);
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
    let token_path = profile.path("device_token");
    let mut tokens = Vec::new();
    for user in &identities.users {
        for client in &clients {
            let (device_code, user_code) = start_device_flow(target, profile, client).await?;
            target.decide_device(&user_code, &user.username).await?;
            let fields = form(
                client,
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:device_code".into(),
                    ),
                    ("device_code", device_code),
                ],
            );
            let (status, body) = post_form(target, token_path, &fields).await?;
            let Some(access) = body.get("access_token").and_then(Value::as_str) else {
                return Err(SetupError::Flow(format!(
                    "POST {token_path} after approval answered {status} {body}; expected 200 \
                     with access_token (PP-DEVICE-3)"
                )));
            };
            tokens.push(UserToken {
                username: user.username.clone(),
                client_id: Some(client.client_id.clone()),
                access_token: Secret::new(access),
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
