//! Where a run's reports go, alike in the suite and in load (issue 23 item 4): a folder of
//! its own, `<dir>/<profile>-<UTC time>/`, never another run's, and `<dir>/latest`
//! pointing at the last one.

use std::path::{Path, PathBuf};

/// Creates a new folder `<dir>/<profile>-<UTC time>` (a suffix if two runs share a
/// millisecond) and answers its path.
pub fn create(dir: &Path, profile: &str) -> std::io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut folder = dir.join(format!("{profile}-{stamp}"));
    let mut n = 1;
    while folder.exists() {
        n += 1;
        folder = dir.join(format!("{profile}-{stamp}-{n}"));
    }
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

/// Points `<dir>/latest` at `run_dir` (a relative symbolic link where the platform has
/// them, else a file naming it). A folder of that name, someone's own, is left alone.
pub fn point_latest(dir: &Path, run_dir: &Path) -> std::io::Result<()> {
    let latest = dir.join("latest");
    let name = run_dir.file_name().unwrap_or(run_dir.as_os_str());
    match std::fs::symlink_metadata(&latest) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => std::fs::remove_file(&latest)?,
        Err(_) => {}
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(name, &latest)
    }
    #[cfg(not(unix))]
    {
        std::fs::write(&latest, name.to_string_lossy().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_its_own_folder_and_latest_the_last() {
        let dir = std::env::temp_dir().join(format!("run-folder-{}", std::process::id()));
        let a = create(&dir, "punchplay").unwrap();
        point_latest(&dir, &a).unwrap();
        let b = create(&dir, "punchplay").unwrap();
        point_latest(&dir, &b).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            std::fs::canonicalize(dir.join("latest")).unwrap(),
            std::fs::canonicalize(&b).unwrap()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
