//! The command driver: `sh -c CMD` with the flow's facts in its environment
//! (`PP_FLOW`, `PP_URL`, `PP_USER_CODE`, `PP_USERNAME`, `PP_PASSWORD`, `PP_DECISION`),
//! bounded in time and in the output it keeps.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use profile::User;

use crate::outcome::Problem;

pub(super) async fn run_command(
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

#[cfg(test)]
mod tests {
    use super::*;

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
