//! Spec snapshots: the redacted transcript of each check, committed in insta's `.snap`
//! format under `fixtures/snapshots/<profile>/`. The CLI reads them with
//! `insta::Snapshot::from_file` and compares without panicking; `cargo test` gates on the
//! same files through insta's macros. Writing happens only on request
//! (`--update-snapshots`) and never when `CI` is set.

use std::path::{Path, PathBuf};

use insta::internals::TextSnapshotContents;
use insta::{Snapshot, TextSnapshotKind};
use serde::Serialize;

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
    /// Differs; `diff` is a unified diff, committed text first.
    Mismatched {
        diff: String,
        /// The first line (1-based) of this run's transcript that differs from the
        /// snapshot (one past its end when the snapshot goes on longer).
        first_differing_line: usize,
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

    /// Compares `text` with the committed snapshot (and writes it in update mode).
    pub fn check(&self, check_id: &str, snapshot_name: &str, text: &str) -> SnapshotStatus {
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
                SnapshotStatus::Mismatched {
                    diff: diff(&old, &new),
                    first_differing_line: first_differing_line(&old, &new),
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

/// The first line (1-based) of `new` that is not in `old` where it should be.
fn first_differing_line(old: &str, new: &str) -> usize {
    similar::TextDiff::from_lines(old, new)
        .ops()
        .iter()
        .find(|op| op.tag() != similar::DiffTag::Equal)
        .map_or(1, |op| op.new_range().start + 1)
}

/// A unified diff, committed (`-`) against this run (`+`).
pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("committed snapshot", "this run")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::first_differing_line;

    #[test]
    fn the_first_differing_line_is_counted_in_this_runs_text() {
        assert_eq!(first_differing_line("a\nb\nc\n", "a\nB\nc\n"), 2);
        assert_eq!(
            first_differing_line("a\nb\n", "a\nx\nb\n"),
            2,
            "an insertion"
        );
        assert_eq!(
            first_differing_line("a\nb\nc\n", "a\nb\n"),
            3,
            "the snapshot goes on"
        );
    }
}
