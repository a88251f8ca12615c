//! Discovery: walks the inbox, hashes each file and parses the hints in its name.
//!
//! A delivery's id is the first 16 hex characters of the BLAKE3 hash of its bytes, so a file
//! renamed or copied keeps its id. Files of kinds the product does not read are returned as
//! ignored, with their path relative to the inbox, for the run report. A symbolic link is
//! followed only when it leads to a file inside the inbox; a file over the size limit is not
//! read at all. Such files come back as deliveries with a `refused` finding, so they are
//! reported like any other rejected delivery.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Format;
use crate::finding::{self, Finding};

/// One file in the inbox that the product will try to read.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// First 16 hex characters of the BLAKE3 hash of the file (`""` if it could not be read).
    pub id: String,
    /// Full BLAKE3 hash, hex.
    pub blake3: String,
    pub path: PathBuf,
    /// Path relative to the inbox, with `/` separators: the name reports show.
    pub file_name: String,
    pub format: Format,
    pub bytes: u64,
    /// Modification time, seconds since the Unix epoch.
    pub modified: i64,
    pub hints: NameHints,
    /// Why the file is not read (then `id` is derived from its name and `blake3` is empty).
    pub refused: Option<Finding>,
}

/// What the protocol's file name `BP-<jr>-<kw>-<municipality name>.<ext>` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameHints {
    pub year: Option<u16>,
    pub quarter: Option<u8>,
    pub municipality_name: Option<String>,
}

/// The inbox's contents: deliveries to read and files of other kinds.
#[derive(Clone, Debug, Default)]
pub struct Inbox {
    pub deliveries: Vec<Delivery>,
    pub ignored: Vec<String>,
}

/// Walks `inbox` recursively, in name order, so the result does not depend on the filesystem.
/// Files over `max_file_bytes` are refused unread.
pub fn discover(inbox: &Path, max_file_bytes: u64) -> Result<Inbox> {
    discover_with(inbox, max_file_bytes, &|_, _, _| None)
}

/// The BLAKE3 hash of a file already known by (name, size, modification time), if any: such a
/// file is not hashed again (the ledger answers this for the nightly run).
pub type Fingerprint<'a> = &'a dyn Fn(&str, u64, i64) -> Option<String>;

/// [`discover`], hashing only the files `fingerprint` does not already know.
pub fn discover_with(inbox: &Path, max_file_bytes: u64, fingerprint: Fingerprint) -> Result<Inbox> {
    let root = inbox.canonicalize().with_context(|| format!("cannot open the inbox {}", inbox.display()))?;
    let mut entries = Vec::new();
    walk(inbox, &mut entries).with_context(|| format!("cannot list the inbox {}", inbox.display()))?;
    entries.sort();
    let mut out = Inbox::default();
    for (path, is_link) in entries {
        let file_name = relative_name(inbox, &path);
        let format = path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension);
        let Some(format) = format else {
            out.ignored.push(file_name);
            continue;
        };
        if is_link {
            let inside = path.canonicalize().is_ok_and(|target| target.starts_with(&root) && target.is_file());
            if !inside {
                let why = "is a symbolic link that leads outside the inbox (or nowhere); \
                           it is not followed";
                out.deliveries.push(refused(&path, file_name, format, finding::SYMLINK_OUTSIDE, why));
                continue;
            }
        }
        out.deliveries.push(describe(&path, file_name, format, max_file_bytes, fingerprint));
    }
    Ok(out)
}

/// Collects files (and symbolic links, flagged) below `dir`; hidden entries are skipped and
/// linked folders are not entered.
fn walk(dir: &Path, files: &mut Vec<(PathBuf, bool)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if kind.is_dir() {
            walk(&path, files)?;
        } else if kind.is_file() {
            files.push((path, false));
        } else if kind.is_symlink() && !path.is_dir() {
            files.push((path, true));
        }
    }
    Ok(())
}

fn relative_name(inbox: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(inbox).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// A delivery named by its path (for `check`): the file name is the path as given.
pub fn describe_file(path: &Path, format: Format, max_file_bytes: u64) -> Delivery {
    describe(path, path.to_string_lossy().into_owned(), format, max_file_bytes, &|_, _, _| None)
}

fn describe(path: &Path, file_name: String, format: Format, max_file_bytes: u64, fingerprint: Fingerprint) -> Delivery {
    let meta = std::fs::metadata(path);
    let bytes = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    let modified = meta.as_ref().map(modified_seconds).unwrap_or(0);
    if bytes > max_file_bytes {
        let why = format!(
            "is {bytes} bytes, over the limit of {max_file_bytes} bytes (limits.max_file_bytes \
             in the pipeline file); it is not read"
        );
        return refused(path, file_name, format, finding::FILE_TOO_LARGE, &why);
    }
    let known = fingerprint(&file_name, bytes, modified).filter(|h| h.len() == 64);
    match known.map(Ok).unwrap_or_else(|| hash_file(path)) {
        Ok(hash) => Delivery {
            id: hash[..16].to_string(),
            blake3: hash,
            path: path.to_path_buf(),
            hints: parse_name(&file_name),
            file_name,
            format,
            bytes,
            modified,
            refused: None,
        },
        Err(e) => {
            let why = format!("cannot be read: {e}");
            refused(path, file_name, format, finding::FILE_UNREADABLE, &why)
        }
    }
}

/// A file the product will not read: a stable id from its name, and the finding saying why.
fn refused(path: &Path, file_name: String, format: Format, rule: finding::Rule, why: &str) -> Delivery {
    let id = blake3::hash(file_name.as_bytes()).to_hex()[..16].to_string();
    let meta = std::fs::symlink_metadata(path);
    Delivery {
        refused: Some(Finding::new(rule, &id, format!("{file_name} {why}"))),
        id,
        blake3: String::new(),
        path: path.to_path_buf(),
        hints: parse_name(&file_name),
        file_name,
        format,
        bytes: meta.as_ref().map(|m| m.len()).unwrap_or(0),
        modified: meta.map(|m| modified_seconds(&m)).unwrap_or(0),
    }
}

fn modified_seconds(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Parses `BP-<jr>-<kw>-<municipality name>.<ext>` (the file name, not its folder). The quarter
/// may be written `2` or `Q2`; anything that does not fit gives no hints.
pub fn parse_name(file_name: &str) -> NameHints {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base);
    let mut parts = stem.splitn(4, '-');
    let (Some(bp), Some(year), Some(quarter), Some(name)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return NameHints::default();
    };
    if !bp.trim().eq_ignore_ascii_case("bp") {
        return NameHints::default();
    }
    let year = year.trim().parse::<u16>().ok().filter(|y| (2000..2100).contains(y));
    let q = quarter.trim();
    let q = q.strip_prefix(['Q', 'q']).unwrap_or(q);
    let quarter = q.parse::<u8>().ok().filter(|q| (1..=4).contains(q));
    let name = name.trim();
    NameHints { year, quarter, municipality_name: (!name.is_empty()).then(|| name.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_are_parsed() {
        let h = parse_name("2023/BP-2023-2-'s-Hertogenbosch.xlsx");
        assert_eq!(h.year, Some(2023));
        assert_eq!(h.quarter, Some(2));
        assert_eq!(h.municipality_name.as_deref(), Some("'s-Hertogenbosch"));
        let h = parse_name("BP-2021-Q4-Súdwest-Fryslân.csv");
        assert_eq!((h.year, h.quarter), (Some(2021), Some(4)));
        assert_eq!(h.municipality_name.as_deref(), Some("Súdwest-Fryslân"));
    }

    #[test]
    fn other_names_give_no_hints() {
        assert_eq!(parse_name("export.csv"), NameHints::default());
        assert_eq!(parse_name("BP-abc-x-Foo.csv").municipality_name.as_deref(), Some("Foo"));
        assert_eq!(parse_name("BP-abc-x-Foo.csv").year, None);
    }

    #[test]
    fn discovery_is_ordered_and_hashes_contents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.csv"), b"x").unwrap();
        std::fs::write(dir.path().join("a.csv"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.pdf"), b"%PDF").unwrap();
        let inbox = discover(dir.path(), u64::MAX).unwrap();
        let names: Vec<_> = inbox.deliveries.iter().map(|d| d.file_name.as_str()).collect();
        assert_eq!(names, ["a.csv", "sub/b.csv"]);
        assert_eq!(inbox.deliveries[0].id, inbox.deliveries[1].id);
        assert_eq!(inbox.deliveries[0].id, &blake3::hash(b"x").to_hex().to_string()[..16]);
        assert_eq!(inbox.ignored, ["notes.pdf"]);
    }

    #[test]
    fn links_outside_the_inbox_and_large_files_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.csv"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.csv"), vec![b'x'; 100]).unwrap();
        std::fs::write(dir.path().join("real.csv"), b"y").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.csv"), dir.path().join("out.csv")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.csv"), dir.path().join("in.csv")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked-folder")).unwrap();
        let inbox = discover(dir.path(), 10).unwrap();
        let rule = |name: &str| {
            let d = inbox.deliveries.iter().find(|d| d.file_name == name).unwrap();
            d.refused.as_ref().map(|f| f.rule)
        };
        assert_eq!(rule("big.csv"), Some(finding::FILE_TOO_LARGE.id));
        assert_eq!(rule("out.csv"), Some(finding::SYMLINK_OUTSIDE.id));
        assert_eq!(rule("in.csv"), None);
        assert_eq!(rule("real.csv"), None);
        assert_eq!(inbox.deliveries.len(), 4, "the linked folder is not entered");
    }
}
