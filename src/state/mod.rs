//! The state directory: the lock that lets one run at a time change the lake, the ledger, the
//! cache of harmonised deliveries and the stored results of built years.
//!
//! Layout (`docs/state.md` has the details):
//!
//! ```text
//! <state>/lock                 advisory lock held by the run (flock / LockFileEx)
//! <state>/ledger.sqlite        the ledger (`ledger`)
//! <state>/cache/<key>.entry    one delivery's harmonised result: header, sidecar (JSON), batch (Arrow IPC)
//! <state>/years/<key>.year     what building a survey year found (dedup, weighting: JSON; figures: Arrow IPC), by build key
//! <state>/years/<key>.csv      a survey year's lines of the CSV exports, by build key
//! ```
//!
//! What it must NOT do: decide what a run rebuilds, read the inbox, or write into the lake (the
//! recovery of an interrupted publish is `lake::clean_leftovers`). Everything here is safe to interrupt at any instant: a write lands
//! whole (temp file, rename) or not at all, and a damaged cache entry is only a miss.

mod cache;
pub mod ledger;
mod years;

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use cache::{CACHE_DIR, Cached, Lookup, cache_key, load, load_summary, prune, store};
pub use years::{StoredYear, YEARS_DIR, load_exports, load_year, prune_years, store_exports, store_year};

/// The lock file's name inside the state directory.
pub const LOCK_FILE: &str = "lock";

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or another handle in this one) holds the lock: the CLI exits with 4.
    #[error(
        "another run holds the lock on the state directory {}{}; wait for it to finish",
        dir.display(),
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Held { dir: PathBuf, holder: Option<String> },
    #[error("cannot lock the state directory {}: {source}", dir.display())]
    Io { dir: PathBuf, source: std::io::Error },
}

/// Exclusive hold on a state directory for as long as the value lives.
///
/// An OS advisory lock on `<state>/lock` (flock on Unix, LockFileEx on Windows, through
/// `std::fs::File::try_lock`), so the operating system releases it when the process ends in
/// any way, killed included: a stale lock cannot outlive its holder, unlike a pid file. The
/// file itself stays after release; it is never deleted, because deleting a lock file lets a
/// second process lock a fresh file while a third still holds the old one.
///
/// The state directory must be on a local file system: advisory locks over network file
/// systems are not reliable.
#[derive(Debug)]
pub struct StateLock {
    // Held only for its lock: dropping (closing) the handle releases it.
    _file: File,
    dir: PathBuf,
}

impl StateLock {
    /// Takes the lock without waiting: fails with [`LockError::Held`] at once when another
    /// run holds it. Creates the state directory if needed.
    pub fn acquire(state_dir: &Path) -> Result<StateLock, LockError> {
        let io = |source| LockError::Io { dir: state_dir.to_path_buf(), source };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let path = state_dir.join(LOCK_FILE);
        // Not truncated on open: the holder's note must survive a failed attempt.
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held { dir: state_dir.to_path_buf(), holder: holder_note(&path) });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the message a second run prints. Best effort: the lock is what
        // counts, the note is only a hint.
        let note = format!("pid {}", std::process::id());
        let written = file.set_len(0).and_then(|()| file.write_all(note.as_bytes())).and_then(|()| file.flush());
        if let Err(e) = written {
            tracing::debug!(error = %e, "could not write the lock holder's note");
        }
        Ok(StateLock { _file: file, dir: state_dir.to_path_buf() })
    }

    /// The locked state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// What the lock holder wrote into the lock file, if it can be read.
fn holder_note(path: &Path) -> Option<String> {
    let mut text = String::new();
    File::open(path).ok()?.take(200).read_to_string(&mut text).ok()?;
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}
