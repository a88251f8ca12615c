//! What to tell a person when writing the lake or the state directory fails on the file system
//! itself (full, read-only, no permission): which directory, on which file system, how much
//! space is free, that nothing was published, and what to do. The CLI's error printer shows the
//! text; the original error stays below it as the technical message.
//!
//! What it must NOT do: retry, clean up or change anything; it only looks at the file system
//! (`statvfs`, `/proc/self/mountinfo`) to describe it. Other errors pass through unchanged, so
//! the CLI's exit codes (lock held, usage) keep working.

use std::path::{Path, PathBuf};

/// A directory the failed command writes to, with the Dutch name a reader knows it by and the
/// flag that chooses it.
#[derive(Clone, Debug)]
pub struct Place {
    pub name: &'static str,
    pub flag: &'static str,
    pub dir: PathBuf,
}

/// What went wrong on the file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    Full,
    ReadOnly,
    NoPermission,
}

/// An I/O failure explained in Dutch; `Display` is the whole text the CLI prints.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
pub struct IoFailure {
    pub trouble: Trouble,
    pub text: String,
}

/// The error as an [`IoFailure`] when it is a full, read-only or forbidden file system,
/// otherwise unchanged.
pub fn explain(err: anyhow::Error, places: &[Place]) -> anyhow::Error {
    let Some(trouble) = trouble_of(&err) else { return err };
    let technical = format!("{err:#}");
    let place = pick_place(&technical, places, trouble);
    let text = describe(trouble, place, &technical);
    anyhow::Error::new(IoFailure { trouble, text })
}

/// Finds an `io::Error` in the chain (or, for errors that carry only its text, the OS error
/// number; SQLite's full or read-only database has neither, only its own words).
fn trouble_of(err: &anyhow::Error) -> Option<Trouble> {
    let from_io =
        err.chain().filter_map(|e| e.downcast_ref::<std::io::Error>()).find_map(|e| from_os(e.raw_os_error()));
    from_io.or_else(|| {
        let text = format!("{err:#}");
        if text.contains("(os error 28)") || text.contains("(os error 122)") || text.contains("disk is full") {
            Some(Trouble::Full)
        } else if text.contains("(os error 30)") || text.contains("readonly database") {
            Some(Trouble::ReadOnly)
        } else if text.contains("(os error 13)") {
            Some(Trouble::NoPermission)
        } else {
            None
        }
    })
}

fn from_os(code: Option<i32>) -> Option<Trouble> {
    match code? {
        28 | 122 => Some(Trouble::Full), // ENOSPC, EDQUOT
        30 => Some(Trouble::ReadOnly),   // EROFS
        1 | 13 => Some(Trouble::NoPermission),
        _ => None,
    }
}

/// The place the message names, else the one whose file system shows the trouble (read-only,
/// or the least free space), else the first.
fn pick_place<'a>(technical: &str, places: &'a [Place], trouble: Trouble) -> Option<&'a Place> {
    let named = places.iter().find(|p| technical.contains(&p.dir.display().to_string()));
    named
        .or_else(|| match trouble {
            Trouble::ReadOnly => places.iter().find(|p| space(&p.dir).is_some_and(|s| s.read_only)),
            Trouble::Full => places.iter().min_by_key(|p| space(&p.dir).map_or(u64::MAX, |s| s.free)),
            Trouble::NoPermission => None,
        })
        .or(places.first())
}

fn describe(trouble: Trouble, place: Option<&Place>, technical: &str) -> String {
    let what = match trouble {
        Trouble::Full => "het bestandssysteem is vol",
        Trouble::ReadOnly => "het bestandssysteem is alleen-lezen",
        Trouble::NoPermission => "er is geen toestemming om te schrijven",
    };
    let mut text = format!("schrijven is mislukt: {what}.\n");
    if let Some(p) = place {
        text.push_str(&format!("  map: {} ({})\n", p.dir.display(), p.name));
        text.push_str(&format!("  bestandssysteem: {}\n", file_system(&p.dir)));
    }
    text.push_str("  Er is niets gepubliceerd: het meer is dat van de vorige geslaagde run.\n");
    let flag = place.map_or("--lake of --state", |p| p.flag);
    let todo = match trouble {
        Trouble::Full => format!(
            "maak ruimte vrij op dit bestandssysteem, of kies met {flag} een map met meer ruimte, en start de run opnieuw"
        ),
        Trouble::ReadOnly => {
            format!(
                "koppel het bestandssysteem weer schrijfbaar aan, of kies met {flag} een schrijfbare map, en start de run opnieuw"
            )
        }
        Trouble::NoPermission => {
            format!(
                "geef de gebruiker van de run schrijfrecht op de map, of kies met {flag} een andere, en start de run opnieuw"
            )
        }
    };
    text.push_str(&format!("  Wat te doen: {todo}; wat de afgebroken run achterliet ruimt de volgende zelf op.\n"));
    text.push_str(&format!("  technische melding: {technical}"));
    text
}

/// Free space and flags of the file system holding `dir` (or its nearest existing parent).
struct Space {
    free: u64,
    total: u64,
    read_only: bool,
}

fn existing(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|a| a.exists())
}

fn space(dir: &Path) -> Option<Space> {
    let s = rustix::fs::statvfs(existing(dir)?).ok()?;
    Some(Space {
        free: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
        read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}

/// `tmpfs, aangekoppeld op /x; vrij 0 B van 16,0 MiB (alleen-lezen)`.
fn file_system(dir: &Path) -> String {
    let mount = existing(dir).and_then(|d| std::fs::canonicalize(d).ok()).and_then(|d| mount_of(&d));
    let mut text = match mount {
        Some((point, kind)) => format!("{kind}, aangekoppeld op {}", point.display()),
        None => "onbekend".to_string(),
    };
    match space(dir) {
        Some(s) => {
            text.push_str(&format!("; vrij {} van {}", bytes(s.free), bytes(s.total)));
            if s.read_only {
                text.push_str(" (alleen-lezen)");
            }
        }
        None => text.push_str("; vrije ruimte onbekend"),
    }
    text
}

/// The mount point and file-system type that hold `path`: the longest mount point above it
/// in `/proc/self/mountinfo` (Linux; elsewhere `None`).
fn mount_of(path: &Path) -> Option<(PathBuf, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = PathBuf::from(fields.get(4)?.replace("\\040", " "));
            let dash = fields.iter().position(|f| *f == "-")?;
            Some((point, fields.get(dash + 1)?.to_string()))
        })
        .filter(|(point, _)| path.starts_with(point))
        .max_by_key(|(point, _)| point.as_os_str().len())
}

/// Bytes for a reader: `0 B`, `512 KiB`, `16,0 MiB`, with a decimal comma.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]).replace('.', ",") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(dir: &Path) -> Vec<Place> {
        vec![
            Place { name: "het meer", flag: "--lake", dir: dir.join("lake") },
            Place { name: "de state-map", flag: "--state", dir: dir.join("state") },
        ]
    }

    #[test]
    fn a_full_disk_names_the_place_the_file_system_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let io = std::io::Error::from_raw_os_error(28);
        let err = anyhow::Error::new(io).context(format!("cannot write {}/state/x", dir.path().display()));
        let explained = explain(err, &places(dir.path()));
        let f = explained.downcast_ref::<IoFailure>().expect("explained");
        assert_eq!(f.trouble, Trouble::Full);
        assert!(f.text.contains("het bestandssysteem is vol"), "{}", f.text);
        assert!(f.text.contains(&format!("map: {}/state (de state-map)", dir.path().display())), "{}", f.text);
        assert!(f.text.contains("aangekoppeld op /") && f.text.contains("; vrij "), "{}", f.text);
        assert!(f.text.contains("Er is niets gepubliceerd") && f.text.contains("--state"), "{}", f.text);
        assert!(f.text.contains("(os error 28)"), "the technical message stays: {}", f.text);
    }

    #[test]
    fn other_errors_pass_through() {
        let err = explain(anyhow::anyhow!("the inbox is not a directory"), &[]);
        assert!(err.downcast_ref::<IoFailure>().is_none());
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(16 * 1024 * 1024), "16,0 MiB");
    }
}
