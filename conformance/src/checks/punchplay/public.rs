//! PP-PUBLIC: the public users API.

use serde_json::Value;

use super::roles;
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::outcome::CheckResult;
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-PUBLIC-1/user-profile-needs-no-token",
            "GET users/{username} without a token answers {username, display_name} with a request id",
            run!(profile),
        )
        .budget("public-user", 2),
        Check::new(
            "PP-PUBLIC-1/unknown-user-is-not-found",
            "An unknown username is 404 not_found in the platform's envelope",
            run!(unknown),
        )
        .budget("public-user", 1),
    ]
}

async fn profile(ctx: &mut Ctx) -> CheckResult {
    let second = roles(ctx)?.other_user.clone().ok_or_else(|| {
        crate::outcome::Problem::skip("needs a second test user in the credentials")
    })?;
    let users = [roles(ctx)?.user.clone(), second];
    for user in &users {
        let path = ctx.path_with("public_user", &[("username", &user.username)]);
        let r = ctx.send(Req::get(path)).await?;
        let b = ctx.ok_json(&r)?;
        ensure!(
            b.get("username").and_then(Value::as_str) == Some(user.username.as_str()),
            r,
            "username is {:?}",
            b.get("username")
        );
        ensure!(
            b.get("display_name").and_then(Value::as_str) == Some(user.display_name.as_str()),
            r,
            "display_name is {:?}, expected {:?}",
            b.get("display_name"),
            user.display_name
        );
    }
    Ok(())
}

async fn unknown(ctx: &mut Ctx) -> CheckResult {
    let path = ctx.path_with("public_user", &[("username", "conformance-nobody")]);
    let r = ctx.send(Req::get(path)).await?;
    ctx.error(&r, "not_found")?;
    Ok(())
}
