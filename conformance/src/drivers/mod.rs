//! Approval drivers: how the user's "approve" or "deny" happens during a run. The
//! reference server's test controls decide directly; the pages driver signs in and clicks
//! through the real HTML forms with a cookie jar, as a browser would (it GETs each form's
//! page and submits every hidden input of the form, a CSRF token included, with the
//! fields it fills); a command of the
//! user's (e.g. a Playwright script) can do it; or a person at the keyboard. Driver
//! traffic is marked so that snapshots leave it out: the contract is what the flows
//! answer, not how a user reached the approve button.

use profile::User;
use serde_json::json;
use url::Url;

use contract_client::flows::{Approver, DeviceCode, FlowError};

use crate::check::Ctx;
use crate::client::Req;
use crate::outcome::{CheckResult, Problem};

pub use crate::approval::Driver;
pub use terminal::{LineReader, countdown_line, terminal_qr};

mod command;
mod terminal;

use command::run_command;
use terminal::read_line_with_countdown;

impl Driver {
    /// Decides an authorization request; answers the URL the browser is redirected to.
    pub async fn authorize(
        &self,
        ctx: &mut Ctx,
        authorize_path: &str,
        user: &User,
        approve: bool,
    ) -> Result<Url, Problem> {
        match self {
            Driver::TestControls => {
                let url = ctx.http.url(authorize_path);
                let r = ctx
                    .send(
                        Req::post("/__test/authorize/decide")
                            .json(
                                json!({"url": url, "username": user.username, "approve": approve}),
                            )
                            .driver(),
                    )
                    .await?;
                if r.status() != 200 {
                    return Err(r.fail(format!(
                        "the authorize request could not be decided: {} {}",
                        r.status(),
                        r.body()
                    )));
                }
                let body = r.json()?;
                let loc = body
                    .get("location")
                    .and_then(|l| l.as_str())
                    .unwrap_or_default();
                Url::parse(loc)
                    .map_err(|e| r.fail(format!("the decided location {loc:?} is not a URL: {e}")))
            }
            Driver::Pages => pages_authorize(ctx, authorize_path, user, approve).await,
            Driver::Command(cmd) => {
                let url = ctx.http.url(authorize_path);
                let out = run_command(cmd, "authorize", &url, None, user, approve).await?;
                let line = out
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                Url::parse(&line).map_err(|e| {
                    Problem::error(format!(
                        "--approve-cmd must print the redirect URL last; it printed {line:?} ({e})"
                    ))
                })
            }
            Driver::Manual { timeout } => {
                let url = ctx.http.url(authorize_path);
                let decision = if approve { "APPROVE" } else { "DENY" };
                let prompt = format!(
                    "Open this address, sign in as `{}` and {decision}. The browser then fails to load the app's \
                     redirect address; copy that address from the address bar and paste it here.\n{url}\n{}",
                    user.username,
                    terminal_qr(&url)
                );
                let line = read_line_with_countdown(&prompt, *timeout).await?;
                Url::parse(line.trim())
                    .map_err(|e| Problem::error(format!("the pasted address is not a URL: {e}")))
            }
        }
    }

    /// Approves or denies a pending device code.
    pub async fn device(
        &self,
        ctx: &mut Ctx,
        user_code: &str,
        complete_uri: &str,
        user: &User,
        approve: bool,
    ) -> CheckResult {
        match self {
            Driver::TestControls => {
                let r = ctx
                    .send(
                        Req::post("/__test/device/decide")
                            .json(json!({"user_code": user_code, "username": user.username, "approve": approve}))
                            .driver(),
                    )
                    .await?;
                if r.status() != 200 {
                    return Err(r.fail(format!(
                        "the device code could not be decided: {} {}",
                        r.status(),
                        r.body()
                    )));
                }
                Ok(())
            }
            Driver::Pages => pages_device(ctx, user_code, user, approve).await,
            Driver::Command(cmd) => {
                run_command(cmd, "device", complete_uri, Some(user_code), user, approve)
                    .await
                    .map(drop)
            }
            Driver::Manual { .. } => {
                let decision = if approve { "APPROVE" } else { "DENY" };
                eprintln!(
                    "\nOn another device, open {complete_uri} (or scan the code), sign in as `{}` and {decision} code {user_code}.\n{}",
                    user.username,
                    terminal_qr(complete_uri)
                );
                Ok(())
            }
        }
    }
}

/// A driver deciding as one user: the client crate's flows ask it for approvals.
pub struct AsUser<'a> {
    pub driver: &'a Driver,
    pub user: &'a User,
}

impl Approver<Ctx> for AsUser<'_> {
    async fn authorize(
        &self,
        ctx: &mut Ctx,
        authorize_path: &str,
        approve: bool,
    ) -> Result<String, FlowError<Problem>> {
        let location = self
            .driver
            .authorize(ctx, authorize_path, self.user, approve)
            .await?;
        Ok(location.to_string())
    }

    async fn device(
        &self,
        ctx: &mut Ctx,
        code: &DeviceCode,
        approve: bool,
    ) -> Result<(), FlowError<Problem>> {
        let complete = &code.verification_uri_complete;
        Ok(self
            .driver
            .device(ctx, &code.user_code, complete, self.user, approve)
            .await?)
    }

    fn decides_at_once(&self) -> bool {
        self.driver.is_immediate()
    }
}

fn password(user: &User) -> Result<String, Problem> {
    user.password.as_ref().map(|p| p.expose().to_owned()).ok_or_else(|| {
        Problem::skip(format!(
            "the pages driver signs in as `{}` and needs its `password` or `password_env` in the credentials file",
            user.username
        ))
    })
}

/// Signs in through the sign-in form (PP-AUTHZ-2's "sign-in form first").
pub async fn sign_in(
    ctx: &mut Ctx,
    user: &User,
    next: &str,
) -> Result<crate::client::Resp, Problem> {
    let pw = password(user)?;
    let login = ctx.path("login");
    let page = ctx.send(Req::get(&login).driver()).await?;
    let hidden = hidden_inputs(page.body(), "name=\"password\"").unwrap_or_default();
    ctx.send(
        Req::post(login)
            .page_form(
                hidden,
                [
                    ("username", user.username.as_str()),
                    ("password", pw.as_str()),
                    ("next", next),
                ],
            )
            .driver(),
    )
    .await
}

async fn pages_authorize(
    ctx: &mut Ctx,
    authorize_path: &str,
    user: &User,
    approve: bool,
) -> Result<Url, Problem> {
    // Decided before the driver sends anything: signing in needs the password.
    password(user)?;
    let mut page = ctx.send(Req::get(authorize_path).driver()).await?;
    if redirects(&page) {
        return page.location();
    }
    if page.status() == 200 && find_input(page.body(), "authorization").is_none() {
        let signed = sign_in(ctx, user, authorize_path).await?;
        if !(300..400).contains(&signed.status()) {
            return Err(signed.fail(format!(
                "signing in as `{}` failed with {}",
                user.username,
                signed.status()
            )));
        }
        page = ctx.send(Req::get(authorize_path).driver()).await?;
        if redirects(&page) {
            return page.location();
        }
    }
    let Some(authorization) = find_input(page.body(), "authorization") else {
        return Err(page.fail(format!(
            "the approval page ({}) has no hidden `authorization` field to submit",
            page.status()
        )));
    };
    let hidden = hidden_inputs(page.body(), "name=\"authorization\"").unwrap_or_default();
    let action = ctx.path("authorize");
    let decided = ctx
        .send(
            Req::post(action)
                .page_form(
                    hidden,
                    [
                        ("authorization", authorization.as_str()),
                        ("decision", if approve { "approve" } else { "deny" }),
                    ],
                )
                .driver(),
        )
        .await?;
    decided.location()
}

async fn pages_device(ctx: &mut Ctx, user_code: &str, user: &User, approve: bool) -> CheckResult {
    password(user)?;
    let path = format!("{}?user_code={}", ctx.path("activate"), enc(user_code));
    let mut page = ctx.send(Req::get(&path).driver()).await?;
    if page.status() == 200 && !page.body().contains("name=\"decision\"") {
        sign_in(ctx, user, &path).await?;
        page = ctx.send(Req::get(&path).driver()).await?;
    }
    if page.status() != 200 || !page.body().contains("name=\"decision\"") {
        return Err(page.fail(format!(
            "the activate page ({}) shows no approve/deny form",
            page.status()
        )));
    }
    let hidden = hidden_inputs(page.body(), "name=\"decision\"").unwrap_or_default();
    let action = ctx.path("activate");
    let r = ctx
        .send(
            Req::post(action)
                .page_form(
                    hidden,
                    [
                        ("user_code", user_code),
                        ("decision", if approve { "approve" } else { "deny" }),
                    ],
                )
                .driver(),
        )
        .await?;
    if r.status() != 200 {
        return Err(r.fail(format!(
            "deciding the device code on the activate page answered {}",
            r.status()
        )));
    }
    Ok(())
}

/// Whether an answer sends the browser elsewhere, as a browser follows it: any 3xx with a
/// `Location` (a 302 or a 303, whichever the server chose).
fn redirects(page: &crate::client::Resp) -> bool {
    (300..400).contains(&page.status()) && page.header("location").is_some()
}

/// The hidden inputs (name, value) of the first `<form>` of `html` whose text contains
/// `needle` (a field's `name="…"`, or part of its action), entities decoded: what a
/// browser submits besides the fields a person fills, a CSRF token among them. None when
/// no form contains `needle`.
pub fn hidden_inputs(html: &str, needle: &str) -> Option<Vec<(String, String)>> {
    let form = html
        .match_indices("<form")
        .map(|(start, _)| {
            let rest = &html[start..];
            &rest[..rest.find("</form>").unwrap_or(rest.len())]
        })
        .find(|form| form.contains(needle))?;
    Some(
        form.split('<')
            .filter(|t| t.starts_with("input"))
            .map(|t| t.split('>').next().unwrap_or(t))
            .filter(|tag| attribute(tag, "type").is_some_and(|t| t.eq_ignore_ascii_case("hidden")))
            .filter_map(|tag| {
                Some((
                    attribute(tag, "name")?,
                    attribute(tag, "value").unwrap_or_default(),
                ))
            })
            .collect(),
    )
}

/// An attribute of a tag's text (`input type="hidden" name=x`), quoted either way or
/// not, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + name.len()..].trim_start();
        rest = &rest[i + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let raw = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or(""),
        };
        return Some(html_escape::decode_html_entities(raw).into_owned());
    }
    None
}

/// The `value` of the `<input>` named `name`, HTML entities decoded.
pub fn find_input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    for tag in html.split('<').filter(|t| t.starts_with("input")) {
        let tag = tag.split('>').next().unwrap_or(tag);
        if tag.contains(&needle) {
            let v = tag.split("value=\"").nth(1)?.split('"').next()?;
            return Some(html_escape::decode_html_entities(v).into_owned());
        }
    }
    None
}

pub use contract_client::request::enc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_inputs_come_from_the_form_that_has_the_field() {
        let html = r#"<form method="post" action="/logout"><input type="hidden" name="csrf" value="out"></form>
<form method="post" action="/oauth/authorize"><input type='hidden' name="csrf" value="t&amp;1">
<input type=hidden name=authorization value=abc><input type="text" name="note" value="typed">
<button name="decision" value="approve">Approve</button></form>"#;
        assert_eq!(
            hidden_inputs(html, "name=\"decision\"").expect("the approval form"),
            vec![
                ("csrf".to_owned(), "t&1".to_owned()),
                ("authorization".to_owned(), "abc".to_owned())
            ]
        );
        assert_eq!(
            hidden_inputs(html, "/logout").expect("the sign-out form"),
            vec![("csrf".to_owned(), "out".to_owned())]
        );
        assert!(hidden_inputs(html, "name=\"password\"").is_none());
    }
}
