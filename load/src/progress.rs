//! Progress on the terminal: one line for the whole run saying which limit, window and
//! step the attack is at and what it waits for, with a countdown during real-time waits.
//! Drawn on standard error with indicatif; hidden with `--no-progress` or when standard
//! error is not a terminal, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::window::Phase;

#[derive(Debug, Clone, Default)]
pub struct Progress {
    line: Option<Arc<Line>>,
}

#[derive(Debug)]
struct Line {
    bar: ProgressBar,
    /// `token (4/6, 120 per 60 s)`.
    limit: Mutex<String>,
}

impl Progress {
    /// No output at all.
    pub fn hidden() -> Progress {
        Progress::default()
    }

    /// A progress line on standard error when `wanted` and standard error is a terminal.
    pub fn on_stderr(wanted: bool) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            line: Some(Arc::new(Line {
                bar,
                limit: Mutex::new(String::new()),
            })),
        }
    }

    /// A limit's attack begins.
    pub fn limit(&self, index: usize, total: usize, name: &str, max: u32, window_secs: u64) {
        if let Some(line) = &self.line {
            let text = format!("{name} ({}/{total}, {max} per {window_secs} s)", index + 1);
            line.bar.set_message(format!("{text}: setting up"));
            *line.limit.lock().unwrap_or_else(|p| p.into_inner()) = text;
        }
    }

    fn say(&self, what: &str) {
        if let Some(line) = &self.line {
            let limit = line.limit.lock().unwrap_or_else(|p| p.into_inner()).clone();
            line.bar.set_message(format!("{limit}: {what}"));
        }
    }

    /// The attack reached `phase`.
    pub fn phase(&self, phase: Phase) {
        self.say(&match phase {
            Phase::Ready => "seating the goose users".to_owned(),
            p => p.to_string(),
        });
    }

    /// Waits `wait` in real time, counting down.
    pub async fn countdown(&self, wait: Duration, waiting_for: &str) {
        // tokio's clock, so that tests can pause it.
        let until = tokio::time::Instant::now() + wait;
        // Bounded: ends at `until`.
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            self.say(&format!("{:.1} s to {waiting_for}", left.as_secs_f64()));
            tokio::time::sleep(left.min(Duration::from_millis(200))).await;
        }
    }

    /// Clears the line before the verdict is printed.
    pub fn finish(&self) {
        if let Some(line) = &self.line {
            line.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_countdown_waits_its_time_and_no_longer() {
        let began = tokio::time::Instant::now();
        Progress::hidden()
            .countdown(Duration::from_secs(3), "the window to empty")
            .await;
        let waited = began.elapsed();
        assert!(waited >= Duration::from_secs(3), "{waited:?}");
        assert!(waited < Duration::from_millis(3_300), "{waited:?}");
    }
}
