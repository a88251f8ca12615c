//! Recovery of the lake after a run that was killed while publishing.
//!
//! The lake writes every file under `<lake>/.staging/<run_id>/` and renames it into place; a
//! year partition is replaced by moving the old one aside to
//! `.staging/<run_id>/jaar=YYYY.old` (`indicators-jaar=YYYY.old` for the indicators table) and
//! then moving the new one in. A run killed between
//! those two renames leaves the year missing from `respondents/`; this puts the old one back.
//!
//! Part of `lake`, because the lake changes only through this module's functions.
//!
//! What it must NOT do: touch anything outside `<lake>/.staging` except to restore a partition
//! that is missing, and never replace a partition that exists. It must run under the state lock
//! (a live run's staging directory looks exactly like a dead one's), and one lake is only ever
//! written with one state directory.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};

use super::{STAGING_DIR, YearPartition};

/// Removes what interrupted runs left under `<lake>/.staging`, first restoring any
/// `respondents/jaar=YYYY` that is missing while its moved-aside copy is there. Returns one
/// line per action, for the log and the run report; empty when there was nothing to do.
///
/// The moved-aside copy is restored rather than the new partition moved in, because the new
/// one was never recorded in `_manifest.json` (which is written last) nor in the ledger:
/// restoring keeps the lake as the manifest describes it, and the next run rebuilds the year.
pub fn clean_leftovers(lake: &Path) -> Result<Vec<String>> {
    let staging = lake.join(STAGING_DIR);
    let mut runs = match fs::read_dir(&staging) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()
            .with_context(|| format!("cannot list {}", staging.display()))?,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", staging.display())),
    };
    // Run ids sort by start time; newest first, so that if two dead runs both moved the same
    // year aside (possible only if one never cleaned up), the later, newer copy is restored.
    runs.sort();
    runs.reverse();
    let mut actions = Vec::new();
    for run in runs {
        let name = file_name(&run);
        if run.is_dir() && !run.is_symlink() {
            for year_dir in moved_aside(&run)? {
                let staged = file_name(&year_dir);
                let Some((table, year)) = staged.strip_suffix(".old").and_then(YearPartition::of_staged_name) else {
                    continue;
                };
                let parent = lake.join(table.dir());
                let target = parent.join(&year);
                if exists(&target)? {
                    continue;
                }
                fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
                fs::rename(&year_dir, &target)
                    .with_context(|| format!("cannot restore {} from {}", target.display(), year_dir.display()))?;
                sync_dir(&parent)?;
                actions.push(format!("restored {}/{year} from {STAGING_DIR}/{name}/{staged}", table.dir()));
            }
            fs::remove_dir_all(&run).with_context(|| format!("cannot remove {}", run.display()))?;
        } else {
            fs::remove_file(&run).with_context(|| format!("cannot remove {}", run.display()))?;
        }
        actions.push(format!("removed {STAGING_DIR}/{name}"));
    }
    // Now empty; `lake::staging_dir` makes it anew for the next run.
    fs::remove_dir(&staging).with_context(|| format!("cannot remove {}", staging.display()))?;
    Ok(actions)
}

/// The moved-aside partitions (`jaar=YYYY.old`, `indicators-jaar=YYYY.old`) directly inside one
/// run's staging directory, in name order.
fn moved_aside(run: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(run).with_context(|| format!("cannot list {}", run.display()))? {
        let path = entry.with_context(|| format!("cannot list {}", run.display()))?.path();
        let name = file_name(&path);
        let is_year = name.strip_suffix(".old").and_then(YearPartition::of_staged_name).is_some();
        if is_year && path.is_dir() && !path.is_symlink() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether anything (even a dangling link) is at `path`; an error other than "not found" is
/// an error, so a permissions problem never reads as "missing" and triggers a restore.
fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Makes a rename durable: on Unix the directory entry itself must be synced.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
