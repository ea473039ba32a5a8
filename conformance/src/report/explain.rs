//! What a failed check needs beside its verdict so that a reader can act on it (issue 23
//! item 6): what the check asserts (its description), its clause's text from the
//! contract with a link to the clause, and the exact command that reruns it alone. Also
//! the folding of long opaque values (data URIs, tokens) that would otherwise fill a
//! report's body blocks.
//!
//! The clause texts come from the profile (`[[clauses]]` `summary`, the contract's
//! clause in one sentence); a profile file that lacks one shows the id and the link only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use profile::Profile;

/// How the reports explain a failure; [`Explain::default`] explains nothing more than
/// the check's own description.
#[derive(Debug, Clone, Default)]
pub struct Explain {
    /// Clause id to its text.
    clauses: BTreeMap<String, String>,
    /// Where the contract is, as a link (a `file://` URL to this workspace's copy, or
    /// its name when there is none).
    contract: String,
    /// Area (`PP-APP`) to the anchor of its heading in the contract.
    anchors: BTreeMap<String, String>,
    /// The command line of this run without `--only`, ready for `--only ID`.
    rerun: Vec<String>,
}

/// The contract this workspace is built against, where it lies beside the checkout.
fn contract_file() -> Option<PathBuf> {
    // `shared/` lies beside the checkout (`../shared/spec/CONTRACT.md` from the
    // workspace); a worktree sits deeper, so every ancestor is asked.
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/spec/CONTRACT.md"))
        .find(|path| path.is_file())
        .and_then(|path| path.canonicalize().ok())
}

/// A heading's anchor as GitHub and most Markdown renderers make it: lower case, spaces
/// to hyphens, punctuation other than hyphens and underscores dropped.
pub fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

impl Explain {
    /// The explanations for a run of `profile`, rerun with `command` (the run's argv).
    pub fn new(profile: &Profile, command: &[String]) -> Explain {
        let clauses = profile
            .clauses
            .iter()
            .map(|c| (c.id.clone(), c.summary.clone()))
            .collect();
        let (contract, anchors) = match contract_file() {
            Some(path) => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let anchors = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("### "))
                    .filter_map(|h| {
                        let area = h.split_whitespace().next()?;
                        area.contains('-').then(|| (area.to_owned(), anchor_of(h)))
                    })
                    .collect();
                (format!("file://{}", path.display()), anchors)
            }
            None => ("CONTRACT.md".to_owned(), BTreeMap::new()),
        };
        Explain {
            clauses,
            contract,
            anchors,
            rerun: rerun_base(command),
        }
    }

    /// The clause's text, if the profile has it.
    pub fn clause_text(&self, clause: &str) -> Option<&str> {
        self.clauses
            .get(clause)
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }

    /// A link to the clause: the contract, at its area's heading where known.
    pub fn clause_link(&self, clause: &str) -> String {
        let area: String = clause
            .rsplit_once('-')
            .map_or(clause, |(area, _)| area)
            .to_owned();
        match self.anchors.get(&area) {
            Some(anchor) => format!("{}#{anchor}", self.contract),
            None if self.contract.is_empty() => "CONTRACT.md".into(),
            None => self.contract.clone(),
        }
    }

    /// The command that reruns check `id` alone, or `None` without a command line.
    pub fn rerun(&self, id: &str) -> Option<String> {
        if self.rerun.is_empty() {
            return None;
        }
        let mut words = self.rerun.clone();
        words.push("--only".into());
        words.push(id.into());
        Some(
            words
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

/// The run's command line without `--only` (and the value it takes), with every
/// `--header` value redacted: the rerun command goes into reports.
fn rerun_base(command: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut words = command.iter();
    if let Some(program) = words.next() {
        // `target/release/conformance` is run as `conformance` from anywhere on PATH; a
        // path is kept as given so the command works where it was run.
        out.push(program.clone());
    }
    while let Some(word) = words.next() {
        if word == "--only" {
            words.next();
            continue;
        }
        if word.starts_with("--only=") {
            continue;
        }
        if word == "--header" {
            out.push(word.clone());
            if let Some(value) = words.next() {
                out.push(redact_header(value));
            }
            continue;
        }
        if let Some(value) = word.strip_prefix("--header=") {
            out.push(format!("--header={}", redact_header(value)));
            continue;
        }
        out.push(word.clone());
    }
    out
}

fn redact_header(value: &str) -> String {
    match value.split_once(':') {
        Some((name, _)) => format!("{}: [redacted]", name.trim()),
        None => "[redacted]".into(),
    }
}

/// A word as a POSIX shell reads it back.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The longest opaque run (no whitespace) shown as is; longer ones are folded.
const OPAQUE_MAX: usize = 120;
/// Characters kept at each end of a folded value.
const OPAQUE_KEEP: usize = 40;

/// Folds every long opaque value in `text` (a data URI, a token, a base64 blob) to its
/// ends and its length: `data:image/png;base64,iVBO…(2,345 characters folded)…AAAA`.
pub fn fold_opaque(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(64 * 1024));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let n = run.chars().count();
        if n > OPAQUE_MAX {
            let head: String = run.chars().take(OPAQUE_KEEP).collect();
            let tail: String = run.chars().skip(n - OPAQUE_KEEP / 4).collect();
            out.push_str(&format!(
                "{head}…({} characters folded)…{tail}",
                n - OPAQUE_KEEP - OPAQUE_KEEP / 4
            ));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        // Quotes and JSON punctuation end a value as whitespace does.
        if c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ',' | '{' | '}' | '[' | ']') {
            flush(&mut run, &mut out);
            out.push(c);
        } else {
            run.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_data_uri_is_folded_and_short_values_are_kept() {
        let uri = format!("data:image/png;base64,{}", "A".repeat(3000));
        let text = format!("{{\"verification_uri_qr\":\"{uri}\",\"user_code\":\"WDJB-MJHT\"}}");
        let folded = fold_opaque(&text);
        assert!(folded.len() < 300, "{folded}");
        assert!(folded.contains("characters folded"), "{folded}");
        assert!(folded.contains("\"user_code\":\"WDJB-MJHT\""), "{folded}");
        assert_eq!(fold_opaque("plain words stay"), "plain words stay");
    }

    #[test]
    fn the_rerun_command_drops_only_and_hides_header_values() {
        let argv: Vec<String> = [
            "conformance",
            "--target",
            "https://staging.example",
            "--only",
            "PP-API",
            "--header",
            "X-Gateway-Key: s3cret",
        ]
        .map(String::from)
        .to_vec();
        let e = Explain {
            rerun: rerun_base(&argv),
            ..Explain::default()
        };
        let cmd = e.rerun("PP-API-1/me").unwrap();
        assert_eq!(
            cmd,
            "conformance --target https://staging.example --header 'X-Gateway-Key: [redacted]' --only PP-API-1/me"
        );
    }

    #[test]
    fn anchors_follow_the_headings() {
        assert_eq!(anchor_of("PP-APP — apps (clients)"), "pp-app--apps-clients");
    }
}
