//! Spec snapshots: the redacted transcript of each check, committed in insta's `.snap`
//! format under `fixtures/snapshots/<profile>/`. The CLI reads them with
//! `insta::Snapshot::from_file` and compares without panicking ([`compare`]); `cargo
//! test` gates on the same files through insta's macros. Writing happens only on request
//! (`--update-snapshots`) and never when `CI` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use insta::internals::TextSnapshotContents;
use insta::{Snapshot, TextSnapshotKind};
use serde::Serialize;

mod compare;

pub use compare::{Comparison, compare, compare_for, diff};

use crate::free::Freedoms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare with the committed file; a mismatch or a missing file fails the check.
    Compare,
    /// Compare, and write the new text where it differs (not in CI).
    Update,
    /// Do not compare.
    Off,
}

/// What comparing one check's transcript with its snapshot found.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotStatus {
    Matched,
    /// Differs from the committed text only where the contract leaves a deployment free:
    /// extension members (listed, as JSON paths like `$.apps[].x_trace`), header-name case,
    /// parameters of a content type, headers and bodies the snapshot does not pin.
    Equivalent {
        extensions: Vec<String>,
    },
    /// Differs; `diff` lists the differences that fail, then a unified diff, committed
    /// text first.
    Mismatched {
        diff: String,
        /// The first line (1-based) of this run's transcript that differs from the
        /// snapshot (one past its end when the snapshot goes on longer).
        first_differing_line: usize,
        /// Every difference that fails, with its line: the runner tells a check's own
        /// from those in answers it passed through (issue 18 item 4).
        #[serde(skip)]
        differences: Vec<(usize, String)>,
    },
    Missing,
    Written,
    NotCompared,
}

impl SnapshotStatus {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SnapshotStatus::Mismatched { .. } | SnapshotStatus::Missing
        )
    }
}

pub struct SnapshotStore {
    pub dir: PathBuf,
    pub mode: SnapshotMode,
}

/// True when the environment says this is CI (`CI` set to anything but `false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl SnapshotStore {
    pub fn path_for(&self, snapshot_name: &str) -> PathBuf {
        self.dir.join(format!("{snapshot_name}.snap"))
    }

    /// Compares `text` with the committed snapshot (and writes it in update mode), what
    /// the family's contract leaves `free` tolerated.
    pub fn check(
        &self,
        check_id: &str,
        snapshot_name: &str,
        text: &str,
        free: &Freedoms,
    ) -> SnapshotStatus {
        if self.mode == SnapshotMode::Off {
            return SnapshotStatus::NotCompared;
        }
        let path = self.path_for(snapshot_name);
        let new = TextSnapshotContents::new(text.to_owned(), TextSnapshotKind::File);
        let old = read(&path);
        let status = match &old {
            None => SnapshotStatus::Missing,
            Some(old) if old.matches_latest(&new) => return SnapshotStatus::Matched,
            Some(old) => {
                let (old, new) = (format!("{old}\n"), format!("{new}\n"));
                let found = compare_for(check_id, free, &old, &new);
                if found.differences.is_empty() {
                    return SnapshotStatus::Equivalent {
                        extensions: found.extensions.into_iter().collect(),
                    };
                }
                SnapshotStatus::Mismatched {
                    diff: format!("{}\n{}", found.describe(), diff(&old, &new)),
                    first_differing_line: found.differences[0].0,
                    differences: found.differences.clone(),
                }
            }
        };
        if self.mode == SnapshotMode::Update && !in_ci() && write(&path, check_id, text).is_ok() {
            return SnapshotStatus::Written;
        }
        status
    }
}

fn read(path: &Path) -> Option<TextSnapshotContents> {
    let snap = Snapshot::from_file(path).ok()?;
    snap.contents().as_text().cloned()
}

/// Writes a snapshot file the way insta does: a YAML header, `---`, the text.
fn write(path: &Path, check_id: &str, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let body = TextSnapshotContents::new(text.to_owned(), TextSnapshotKind::File).to_string();
    let header =
        format!("---\nsource: conformance/tests/checks.rs\nexpression: \"{check_id}\"\n---\n");
    std::fs::write(path, format!("{header}{body}\n"))
}

/// The run's note on extension members: every JSON path seen beyond a snapshot, once,
/// with how many checks saw it. None when no check saw any.
pub fn extensions_note<'a>(
    statuses: impl IntoIterator<Item = &'a SnapshotStatus>,
) -> Option<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for status in statuses {
        if let SnapshotStatus::Equivalent { extensions } = status {
            for path in extensions {
                *seen.entry(path.as_str()).or_insert(0) += 1;
            }
        }
    }
    if seen.is_empty() {
        return None;
    }
    let listed: Vec<String> = seen
        .iter()
        .map(|(path, n)| format!("`{path}` ({n} check{})", if *n == 1 { "" } else { "s" }))
        .collect();
    Some(format!(
        "the target's JSON carries extension members the snapshots do not pin (tolerated; RFC 6749 §5.1 allows them): {}",
        listed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extensions_note_lists_each_path_once() {
        let statuses = [
            SnapshotStatus::Equivalent {
                extensions: vec!["$.x".into()],
            },
            SnapshotStatus::Equivalent {
                extensions: vec!["$.x".into(), "$.apps[].x".into()],
            },
            SnapshotStatus::Matched,
        ];
        let note = extensions_note(&statuses).expect("a note");
        assert!(
            note.contains("`$.apps[].x` (1 check), `$.x` (2 checks)"),
            "{note}"
        );
        assert!(extensions_note(&[SnapshotStatus::Matched]).is_none());
    }
}
