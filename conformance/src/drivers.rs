//! Approval drivers: how the user's "approve" or "deny" happens during a run. The
//! reference server's test controls decide directly; the pages driver signs in and clicks
//! through the real HTML forms with a cookie jar, as a browser would (it GETs each form's
//! page and submits every hidden input of the form, a CSRF token included, with the
//! fields it fills); a command of the
//! user's (e.g. a Playwright script) can do it; or a person at the keyboard. Driver
//! traffic is marked so that snapshots leave it out: the contract is what the flows
//! answer, not how a user reached the approve button.

use std::io::{BufRead, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use profile::User;
use serde_json::json;
use url::Url;

use contract_client::flows::{Approver, DeviceCode, FlowError};

use crate::check::Ctx;
use crate::client::Req;
use crate::outcome::{CheckResult, Problem};

pub use crate::approval::Driver;

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
    let mut page = ctx.send(Req::get(authorize_path).driver()).await?;
    if page.status() == 302 {
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
        if page.status() == 302 {
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

async fn run_command(
    cmd: &str,
    flow: &str,
    url: &str,
    user_code: Option<&str>,
    user: &User,
    approve: bool,
) -> Result<String, Problem> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .env("PP_FLOW", flow)
        .env("PP_URL", url)
        .env("PP_USER_CODE", user_code.unwrap_or(""))
        .env("PP_USERNAME", &user.username)
        .env("PP_DECISION", if approve { "approve" } else { "deny" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(p) = &user.password {
        command.env("PP_PASSWORD", p.expose());
    }
    let cmd_text = cmd.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().map_err(|e| {
            Problem::error(format!("--approve-cmd {cmd_text:?} could not start: {e}"))
        })?;
        // Read stdout while the command runs: a pipe holds about 64 KiB, and a command
        // that writes more would otherwise block until it is killed.
        let output = child.stdout.take().map(CommandOutput::read);
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Problem::error(format!(
                        "--approve-cmd did not finish within {} s and was stopped",
                        COMMAND_TIMEOUT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    return Err(Problem::error(format!(
                        "waiting for --approve-cmd failed: {e}"
                    )));
                }
            }
        };
        if !status.success() {
            return Err(Problem::error(format!(
                "--approve-cmd exited with {status}"
            )));
        }
        Ok(output.map(CommandOutput::finish).unwrap_or_default())
    })
    .await
    .map_err(|e| Problem::error(format!("the approval command task failed: {e}")))?
}

/// How long an `--approve-cmd` may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);
/// How much of an `--approve-cmd`'s output is kept: the end, where its last line is.
const COMMAND_OUTPUT_KEPT: usize = 64 * 1024;

/// The standard output of an `--approve-cmd`, read on a thread of its own as it comes,
/// keeping only the last [`COMMAND_OUTPUT_KEPT`] bytes.
struct CommandOutput {
    done: std::sync::mpsc::Receiver<()>,
    kept: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CommandOutput {
    fn read(mut pipe: std::process::ChildStdout) -> CommandOutput {
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, done) = std::sync::mpsc::channel();
        let sink = kept.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = std::io::Read::read(&mut pipe, &mut chunk) {
                let mut kept = sink.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > 2 * COMMAND_OUTPUT_KEPT {
                    let cut = kept.len() - COMMAND_OUTPUT_KEPT;
                    kept.drain(..cut);
                }
            }
            let _ = tx.send(());
        });
        CommandOutput { done, kept }
    }

    /// The output once the command has exited. A process it left running in the
    /// background may hold the pipe open: after a second, what arrived is the answer.
    fn finish(self) -> String {
        let _ = self.done.recv_timeout(Duration::from_secs(1));
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let from = kept.len().saturating_sub(COMMAND_OUTPUT_KEPT);
        String::from_utf8_lossy(&kept[from..]).into_owned()
    }
}

/// A QR code of `text` drawn with Unicode half blocks, for a phone to scan.
pub fn terminal_qr(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build(),
        Err(_) => String::new(),
    }
}

async fn read_line_with_countdown(prompt: &str, timeout: Duration) -> Result<String, Problem> {
    eprintln!("\n{prompt}");
    LineReader::stdin().read_line(timeout).await
}

/// The one reader of a line source (standard input, for the manual driver): a thread
/// started once feeds its lines into a channel that each prompt reads in turn. A prompt
/// that times out leaves no reader of its own behind to swallow the next answer.
pub struct LineReader {
    lines: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

impl LineReader {
    /// Starts the thread that reads `source` line by line.
    pub fn spawn(source: impl BufRead + Send + 'static) -> LineReader {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in source.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LineReader {
            lines: tokio::sync::Mutex::new(rx),
        }
    }

    /// The reader of standard input, started on first use.
    pub fn stdin() -> &'static LineReader {
        static STDIN: std::sync::OnceLock<LineReader> = std::sync::OnceLock::new();
        STDIN.get_or_init(|| LineReader::spawn(std::io::BufReader::new(std::io::stdin())))
    }

    /// The next line typed after this prompt, with a visible countdown. Lines typed while
    /// no prompt waited (a late answer to one that timed out) answer nothing and are
    /// dropped.
    pub async fn read_line(&self, timeout: Duration) -> Result<String, Problem> {
        let mut lines = self.lines.lock().await;
        while let Ok(stale) = lines.try_recv() {
            eprintln!("  (ignoring {stale:?}, typed before this prompt)");
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                eprintln!();
                return Err(Problem::skip(format!(
                    "nobody answered within {} s",
                    timeout.as_secs()
                )));
            }
            eprint!("\r  waiting for you: {:>4} s left ", left.as_secs());
            let _ = std::io::stderr().flush();
            tokio::select! {
                line = lines.recv() => {
                    eprintln!();
                    return line.ok_or_else(|| Problem::error("standard input closed"));
                }
                _ = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
            }
        }
    }
}

/// Shows a countdown on the terminal while a person decides (manual driver).
pub fn countdown_line(left: Duration) {
    eprint!(
        "\r  waiting for the approval: {:>4} s left ",
        left.as_secs()
    );
    let _ = std::io::stderr().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn after_a_prompt_times_out_the_next_prompt_gets_the_next_answer() {
        let (source, mut typing) = std::io::pipe().expect("a pipe");
        let reader = LineReader::spawn(std::io::BufReader::new(source));
        let first = reader.read_line(Duration::from_millis(200)).await;
        assert!(
            matches!(first, Err(Problem::Skip { .. })),
            "nobody typed: {first:?}"
        );
        let second = reader.read_line(Duration::from_secs(10));
        let typed = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            typing
                .write_all(b"http://127.0.0.1:8765/callback?code=c\n")
                .expect("type");
        };
        let (second, ()) = tokio::join!(second, typed);
        assert_eq!(
            second.expect("the answer reaches the prompt that waits"),
            "http://127.0.0.1:8765/callback?code=c"
        );
        drop(typing);
        let closed = reader.read_line(Duration::from_secs(10)).await;
        assert!(matches!(closed, Err(Problem::Error { .. })), "{closed:?}");
    }

    #[tokio::test]
    async fn a_line_typed_before_the_prompt_is_not_taken_as_its_answer() {
        let (source, mut typing) = std::io::pipe().expect("a pipe");
        let reader = LineReader::spawn(std::io::BufReader::new(source));
        typing
            .write_all(b"late answer to an earlier prompt\n")
            .expect("type");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = reader.read_line(Duration::from_millis(300)).await;
        assert!(matches!(got, Err(Problem::Skip { .. })), "{got:?}");
    }

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

    fn user() -> User {
        profile::Identities::punchplay().users[0].clone()
    }

    #[tokio::test]
    async fn an_approve_cmd_writing_more_than_a_pipe_holds_is_read_while_it_runs() {
        // 1 MiB of output, then the redirect URL as the last line.
        let cmd = "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo http://127.0.0.1:8765/callback?code=c";
        let started = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            run_command(cmd, "authorize", "http://x/", None, &user(), true),
        )
        .await
        .expect("the command is not blocked on a full pipe")
        .expect("it succeeds");
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(
            out.lines().last(),
            Some("http://127.0.0.1:8765/callback?code=c")
        );
        assert!(out.len() <= COMMAND_OUTPUT_KEPT, "kept {} bytes", out.len());
    }
}
