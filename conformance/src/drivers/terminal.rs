//! The manual driver's terminal: a QR code a phone scans, the countdown while a person
//! decides, and the one reader of standard input the prompts take turns on.

use std::io::{BufRead, Write as _};
use std::time::Duration;

use crate::outcome::Problem;

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

pub(super) async fn read_line_with_countdown(
    prompt: &str,
    timeout: Duration,
) -> Result<String, Problem> {
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
}
