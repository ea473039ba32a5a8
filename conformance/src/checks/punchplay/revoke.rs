//! PP-REVOKE: the user's connected-apps page and its revoke button.

use profile::AppKind;

use super::{PageWording, page_shows_app};
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::drivers::hidden_inputs;
use crate::kit::flows;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![Check::new(
        "PP-REVOKE-1/connected-apps-revoke-ends-every-token",
        "The connected-apps page lists an approved app; revoking it ends that user's access and refresh tokens at once",
        run!(revoke),
    )
    .budget("token", 2)
    .lock("user:other")]
}

/// The connected-apps page, as the revocation check's failures name it.
const CONNECTED_APPS_PAGE: PageWording = PageWording {
    answered: "the connected-apps page",
    lacks_name: "the connected-apps page does not list",
    lacks_scope: "the connected-apps page does not show the scope",
};

async fn revoke(ctx: &mut Ctx) -> CheckResult {
    // The second user, so the primary user's grants of concurrent checks stay alive, and
    // an app of the check's own, registered by that user, so that another run revoking
    // at the same time (on the same deployment, as the same user) revokes its own
    // (issue 18 item 7a).
    let user = super::signed_in(ctx, true).await?;
    let (web, _) = super::register_app(ctx, AppKind::Confidential).await?;
    let pkce = flows::pkce(ctx);
    let path = flows::approval_path(ctx, &web, &pkce, None);
    let loc = flows::decide_as(ctx, &path, &user, true).await?;
    let code = flows::query(&loc, "code")
        .ok_or_else(|| Problem::fail(format!("the approval redirect {loc} has no code")))?;
    ctx.volatile(&code, "code");
    let r = flows::redeem(ctx, &web, &code, &web.redirect_uris[0], &pkce.verifier).await?;
    let body = ctx.ok_json(&r)?;
    let t = flows::Tokens::from(&r, &body)?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.ok_json(&r)?;
    let page = ctx.path("connected_apps");
    let r = ctx.send(Req::get(&page)).await?;
    page_shows_app(&r, &CONNECTED_APPS_PAGE, &web, [])?;
    let action = format!("{page}/{}/revoke", web.client_id);
    let hidden = hidden_inputs(r.body(), &action).unwrap_or_default();
    let r = ctx
        .send(Req::post(&action).page_form(hidden, Vec::<(String, String)>::new()))
        .await?;
    ensure!(
        (200..400).contains(&r.status()),
        r,
        "revoking on the connected-apps page answered {}",
        r.status()
    );
    let r = flows::me(ctx, &t.access).await?;
    ctx.error(&r, "invalid_token")?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}
