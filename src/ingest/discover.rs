//! Discovery: walks the inbox, hashes each file and parses the hints in its name.
//!
//! A delivery's id is the first 16 hex characters of the BLAKE3 hash of its bytes, so a file
//! renamed or copied keeps its id. Files of kinds the product does not read are returned as
//! ignored, with their path relative to the inbox, for the run report. A symbolic link is
//! followed only when it leads to a file inside the inbox; a file over the size limit is not
//! read at all. Such files come back as deliveries with a `refused` finding, so they are
//! reported like any other rejected delivery.
//!
//! A zip bundle yields one delivery per dataset inside it, named `bundle.zip!inner.csv`, its
//! id the hash of the inner file's bytes (unpacked in memory, never to disk), its name hints
//! from the inner name and then the bundle's. The bundle's other files are returned as ignored
//! (`bundle.zip!vragenlijst.pdf`). A bundle that cannot be opened (no or wrong password, a zip
//! bomb, damage, no dataset) is one refused delivery of format `zip`, so it is reported, and
//! retried by the next run: a refused delivery is never cached.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Format;
use super::bundle::{self, BundleError, BundleLimits, MEMBER_SEPARATOR, SkipReason, Skipped};
use super::passwords::{PASSWORDS_ENV, Password, Passwords};
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
    /// Set when the delivery is a dataset inside a zip bundle (`path` is the bundle's).
    pub bundle: Option<BundleMember>,
}

/// Where in its bundle a delivery lies, and how to open it.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleMember {
    /// The dataset's path in the bundle; in a nested zip `inner.zip!data.csv`.
    pub entry: String,
    /// The password file's keys for this bundle, tried in turn (empty: none configured).
    pub keys: Vec<Password>,
    /// The password file they came from, for messages.
    pub password_file: Option<PathBuf>,
    /// The bundle's other files, named, never read.
    pub attachments: Vec<String>,
    /// Entries not read for safety.
    pub skipped: Vec<Skipped>,
}

/// What discovery needs to open bundles.
#[derive(Clone, Copy, Debug)]
pub struct DiscoverOptions<'a> {
    pub limits: BundleLimits,
    pub passwords: &'a Passwords,
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
/// Files over `max_file_bytes` are refused unread; bundles are opened without passwords.
pub fn discover(inbox: &Path, max_file_bytes: u64) -> Result<Inbox> {
    discover_with(inbox, max_file_bytes, &|_, _, _| None)
}

/// The unpacked-size limit used when the caller gives none: the pipeline file's default.
const DEFAULT_MAX_DECOMPRESSED: u64 = 1 << 30;

/// The BLAKE3 hash of a file already known by (name, size, modification time), if any: such a
/// file is not hashed again (the ledger answers this for the nightly run).
pub type Fingerprint<'a> = &'a dyn Fn(&str, u64, i64) -> Option<String>;

/// [`discover`], hashing only the files `fingerprint` does not already know.
pub fn discover_with(inbox: &Path, max_file_bytes: u64, fingerprint: Fingerprint) -> Result<Inbox> {
    let none = Passwords::default();
    let limits = BundleLimits { max_file_bytes, max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED };
    discover_inbox(inbox, &DiscoverOptions { limits, passwords: &none }, fingerprint)
}

/// [`discover_with`], opening bundles with the password file's keys and the pipeline's limits.
pub fn discover_inbox(inbox: &Path, opts: &DiscoverOptions, fingerprint: Fingerprint) -> Result<Inbox> {
    let max_file_bytes = opts.limits.max_file_bytes;
    let root = inbox.canonicalize().with_context(|| format!("cannot open the inbox {}", inbox.display()))?;
    let mut entries = Vec::new();
    walk(inbox, &mut entries).with_context(|| format!("cannot list the inbox {}", inbox.display()))?;
    entries.sort();
    let mut out = Inbox::default();
    for (path, is_link) in entries {
        let file_name = relative_name(inbox, &path);
        let is_bundle = bundle::is_zip_name(&file_name);
        let format = path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension);
        let format = if is_bundle { Some(Format::Zip) } else { format };
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
        if is_bundle {
            describe_bundle(&path, file_name, opts, fingerprint, &mut out);
        } else {
            out.deliveries.push(describe(&path, file_name, format, max_file_bytes, fingerprint));
        }
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

/// The deliveries of a file named by its path (for `check`): the file itself, or the datasets
/// of a bundle (named `path!entry`). A file of no delivery format is an error message.
pub fn describe_given(path: &Path, limits: BundleLimits, passwords: &Passwords) -> Result<Vec<Delivery>, String> {
    let name = path.to_string_lossy().into_owned();
    if bundle::is_zip_name(&name) {
        let mut out = Inbox::default();
        describe_bundle(path, name, &DiscoverOptions { limits, passwords }, &|_, _, _| None, &mut out);
        return Ok(out.deliveries);
    }
    let format = path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension).ok_or_else(|| {
        format!("{}: not a delivery format (.xlsx .xlsm .xls .ods .csv .txt .sav .zip)", path.display())
    })?;
    Ok(vec![describe_file(path, format, limits.max_file_bytes)])
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
            bundle: None,
        },
        Err(e) => {
            let why = format!("cannot be read: {e}");
            refused(path, file_name, format, finding::FILE_UNREADABLE, &why)
        }
    }
}

/// A file the product will not read: a stable id from its name, and the finding saying why.
fn refused(path: &Path, file_name: String, format: Format, rule: finding::Rule, why: &str) -> Delivery {
    let message = format!("{file_name} {why}");
    refused_by(path, file_name, format, |id| Finding::new(rule, id, message))
}

/// [`refused`] with a finding made for the delivery's id.
fn refused_by(path: &Path, file_name: String, format: Format, finding: impl FnOnce(&str) -> Finding) -> Delivery {
    let id = blake3::hash(file_name.as_bytes()).to_hex()[..16].to_string();
    let meta = std::fs::symlink_metadata(path);
    Delivery {
        refused: Some(finding(&id)),
        id,
        blake3: String::new(),
        path: path.to_path_buf(),
        hints: parse_name(&file_name),
        file_name,
        format,
        bytes: meta.as_ref().map(|m| m.len()).unwrap_or(0),
        modified: meta.map(|m| modified_seconds(&m)).unwrap_or(0),
        bundle: None,
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

/// A bundle's deliveries: one per dataset inside it, or one refused delivery for the bundle.
/// A dataset already known by (name, size, bundle modification time) is not unpacked again.
fn describe_bundle(path: &Path, file_name: String, opts: &DiscoverOptions, fingerprint: Fingerprint, out: &mut Inbox) {
    let limits = opts.limits;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > limits.max_file_bytes {
        let why = format!(
            "is {size} bytes, over the limit of {} bytes (limits.max_file_bytes in the pipeline \
             file); it is not read",
            limits.max_file_bytes
        );
        out.deliveries.push(refused(path, file_name, Format::Zip, finding::FILE_TOO_LARGE, &why));
        return;
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("cannot be read: {e}");
            out.deliveries.push(refused(path, file_name, Format::Zip, finding::FILE_UNREADABLE, &why));
            return;
        }
    };
    let keys = opts.passwords.candidates(&file_name);
    let refuse_bundle = |e: &BundleError| {
        refused_by(path, file_name.clone(), Format::Zip, |id| bundle_finding(e, id, &file_name, &opts.passwords.source))
    };
    let listing = match bundle::list(&data, &keys, &limits) {
        Ok(l) => l,
        Err(e) => return out.deliveries.push(refuse_bundle(&e)),
    };
    if listing.datasets.is_empty() {
        let message = no_dataset_message(&file_name, &listing);
        let rule = finding::BUNDLE_NO_DATASET;
        return out.deliveries.push(refused_by(path, file_name, Format::Zip, |id| Finding::new(rule, id, message)));
    }
    let modified = std::fs::metadata(path).map(|m| modified_seconds(&m)).unwrap_or(0);
    let mut members = Vec::new();
    for entry in &listing.datasets {
        let name = format!("{file_name}{MEMBER_SEPARATOR}{}", entry.name);
        let member = BundleMember {
            entry: entry.name.clone(),
            keys: keys.clone(),
            password_file: opts.passwords.source.clone(),
            attachments: listing.attachments.clone(),
            skipped: listing.skipped.clone(),
        };
        let known = fingerprint(&name, entry.size, modified).filter(|h| h.len() == 64);
        let hash = match known {
            Some(h) => Ok(h),
            None => {
                bundle::read_member(&data, &entry.name, &keys, &limits).map(|b| blake3::hash(&b).to_hex().to_string())
            }
        };
        let mut d = Delivery {
            id: String::new(),
            blake3: String::new(),
            path: path.to_path_buf(),
            hints: member_hints(&file_name, &entry.name),
            file_name: name,
            format: entry.format,
            bytes: entry.size,
            modified,
            refused: None,
            bundle: Some(member),
        };
        match hash {
            Ok(h) => {
                d.id = h[..16].to_string();
                d.blake3 = h;
            }
            // The bundle's key is wrong or missing: the bundle is refused as a whole, once.
            Err(e @ BundleError::Password { .. }) => return out.deliveries.push(refuse_bundle(&e)),
            Err(e) => {
                d.id = blake3::hash(d.file_name.as_bytes()).to_hex()[..16].to_string();
                d.refused = Some(bundle_finding(&e, &d.id, &d.file_name, &opts.passwords.source));
            }
        }
        members.push(d);
    }
    out.ignored.extend(listing.attachments.iter().map(|a| format!("{file_name}{MEMBER_SEPARATOR}{a}")));
    out.deliveries.extend(members);
}

/// Name hints of a dataset in a bundle: from its own file name, then a nested zip's, then the
/// bundle's (agencies often name only the bundle after the protocol).
fn member_hints(bundle_name: &str, entry: &str) -> NameHints {
    let mut names: Vec<&str> = entry.rsplit(MEMBER_SEPARATOR).collect();
    names.push(bundle_name);
    let mut hints = NameHints::default();
    for h in names.iter().map(|n| parse_name(n)) {
        hints.year = hints.year.or(h.year);
        hints.quarter = hints.quarter.or(h.quarter);
        hints.municipality_name = hints.municipality_name.or(h.municipality_name);
    }
    hints
}

/// The bundle a delivery name lies in and the entry inside it: `a/b.zip!c.csv` →
/// (`a/b.zip`, `Some("c.csv")`); a plain file name → (name, `None`).
pub fn split_member(file_name: &str) -> (&str, Option<&str>) {
    file_name
        .match_indices(MEMBER_SEPARATOR)
        .map(|(at, _)| (&file_name[..at], &file_name[at + 1..]))
        .find(|(outer, _)| bundle::is_zip_name(outer))
        .map_or((file_name, None), |(outer, inner)| (outer, Some(inner)))
}

/// The finding for a bundle (or a dataset in it, `name`) that cannot be read. A password
/// problem says which bundle needs which key and where keys go; it never holds a key.
pub fn bundle_finding(e: &BundleError, delivery_id: &str, name: &str, password_file: &Option<PathBuf>) -> Finding {
    let (bundle_name, _) = split_member(name);
    match e {
        BundleError::Password { entry, keys_tried } => {
            let file = match password_file {
                Some(p) => format!("het wachtwoordbestand {}", p.display()),
                None => format!(
                    "een wachtwoordbestand (er is er geen ingesteld: [secrets] passwords in het \
                     pipelinebestand, of de omgevingsvariabele {PASSWORDS_ENV})"
                ),
            };
            let what = if *keys_tried == 0 {
                format!("{bundle_name} is versleuteld ({entry:?}) en {file} heeft geen wachtwoord voor deze bundel")
            } else {
                format!("geen van de {keys_tried} wachtwoorden in {file} die bij {bundle_name} passen opent {entry:?}")
            };
            let message = format!(
                "{what}; zet het wachtwoord dat de leverancier apart stuurde onder [passwords] als \
                 \"{bundle_name}\" = \"…\" (of een patroon dat erop past, zoals \"BP-*.zip\"); de \
                 volgende run probeert de bundel opnieuw"
            );
            Finding::new(finding::ZIP_PASSWORD, delivery_id, message)
        }
        BundleError::TooLarge(m) => Finding::new(finding::ZIP_BOMB, delivery_id, format!("{name}: {m}")),
        BundleError::Corrupt(m) => Finding::new(finding::FILE_CORRUPT, delivery_id, format!("{name}: {m}")),
    }
}

fn no_dataset_message(bundle_name: &str, listing: &bundle::Listing) -> String {
    let mut seen: Vec<String> = listing.attachments.iter().take(10).map(|a| format!("{a:?}")).collect();
    seen.extend(listing.skipped.iter().take(10).map(|s| format!("{:?}", s.name)));
    let held = if seen.is_empty() { "niets".to_string() } else { seen.join(", ") };
    format!(
        "de bundel {bundle_name} bevat geen databestand (.sav, .csv, .xlsx, .xlsm, .xls, .ods of \
         .txt), alleen: {held}; lever het respondentenbestand mee in de bundel"
    )
}

/// What a dataset's delivery report says about the rest of its bundle: the attachments (info)
/// and the entries not read (warning). Added by the read stage beside, not into, the cached
/// findings, so they always describe the bundle as it is now.
pub fn bundle_notes(d: &Delivery) -> Vec<Finding> {
    let Some(member) = &d.bundle else { return Vec::new() };
    let (bundle_name, _) = split_member(&d.file_name);
    let mut notes = Vec::new();
    if !member.attachments.is_empty() {
        let names: Vec<String> = member.attachments.iter().map(|a| format!("{a:?}")).collect();
        let message = format!(
            "de bundel {bundle_name} bevat ook {} bijlage(n), die niet gelezen worden: {}",
            names.len(),
            names.join(", ")
        );
        notes.push(Finding::new(finding::BUNDLE_ATTACHMENTS, &d.id, message));
    }
    for Skipped { name, why } in &member.skipped {
        let (rule, message) = match why {
            SkipReason::UnsafeName => (
                finding::BUNDLE_ENTRY_UNSAFE,
                format!(
                    "{name:?} in de bundel {bundle_name} heeft een naam die buiten zijn map wijst \
                     (absoluut pad, '..' of een koppeling); het wordt niet gelezen"
                ),
            ),
            SkipReason::TooDeep => (
                finding::BUNDLE_TOO_DEEP,
                format!(
                    "{name:?} in de bundel {bundle_name} is een zip in een zip in de bundel; alleen \
                     één niveau wordt geopend, dit bestand niet"
                ),
            ),
        };
        notes.push(Finding::new(rule, &d.id, message));
    }
    notes
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

    #[cfg(feature = "synth")]
    fn bundle_inbox(encryption: crate::synth::bundle::Encryption) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("2023")).unwrap();
        let entries: [(&str, &[u8]); 2] = [("data.csv", b"respondent;gemnr\n1;344\n"), ("Vragenlijst.pdf", b"%PDF")];
        let bytes = crate::synth::bundle::zip_bytes(&entries, encryption, "sleutel", "t").unwrap();
        std::fs::write(dir.path().join("2023/BP-2023-2-Utrecht.zip"), bytes).unwrap();
        dir
    }

    #[cfg(feature = "synth")]
    fn options(passwords: &Passwords) -> DiscoverOptions<'_> {
        DiscoverOptions { limits: BundleLimits::default(), passwords }
    }

    #[test]
    #[cfg(feature = "synth")]
    fn a_bundle_yields_its_datasets_named_after_the_bundle() {
        let dir = bundle_inbox(crate::synth::bundle::Encryption::Aes256);
        let keys = Passwords::from_pairs([("BP-2023-*.zip", "sleutel")]);
        let inbox = discover_inbox(dir.path(), &options(&keys), &|_, _, _| None).unwrap();
        assert_eq!(inbox.deliveries.len(), 1);
        let d = &inbox.deliveries[0];
        assert_eq!(d.file_name, "2023/BP-2023-2-Utrecht.zip!data.csv");
        assert_eq!(d.id, &blake3::hash(b"respondent;gemnr\n1;344\n").to_hex()[..16]);
        assert_eq!((d.format, d.bytes, d.refused.as_ref()), (Format::Csv, 23, None));
        // The inner name says nothing; the bundle's name gives the hints.
        assert_eq!((d.hints.year, d.hints.quarter), (Some(2023), Some(2)));
        assert_eq!(d.hints.municipality_name.as_deref(), Some("Utrecht"));
        assert_eq!(inbox.ignored, ["2023/BP-2023-2-Utrecht.zip!Vragenlijst.pdf"]);
        assert_eq!(bundle_notes(d).iter().map(|f| f.rule).collect::<Vec<_>>(), [finding::BUNDLE_ATTACHMENTS.id]);
    }

    #[test]
    #[cfg(feature = "synth")]
    fn without_its_key_a_bundle_is_one_refused_delivery_unless_it_is_known() {
        let dir = bundle_inbox(crate::synth::bundle::Encryption::ZipCrypto);
        let none = Passwords::default();
        let inbox = discover_inbox(dir.path(), &options(&none), &|_, _, _| None).unwrap();
        assert_eq!(inbox.deliveries.len(), 1);
        let d = &inbox.deliveries[0];
        assert_eq!((d.file_name.as_str(), d.format), ("2023/BP-2023-2-Utrecht.zip", Format::Zip));
        let f = d.refused.as_ref().unwrap();
        assert_eq!(f.rule, finding::ZIP_PASSWORD.id);
        assert!(f.message.contains("\"2023/BP-2023-2-Utrecht.zip\" = "), "{}", f.message);
        // Known from an earlier run (name, size, modification time): not unpacked, so no key
        // is needed to discover it.
        let hash = blake3::hash(b"respondent;gemnr\n1;344\n").to_hex().to_string();
        let known = |name: &str, size: u64, _: i64| (name.ends_with("!data.csv") && size == 23).then(|| hash.clone());
        let inbox = discover_inbox(dir.path(), &options(&none), &known).unwrap();
        assert_eq!(inbox.deliveries[0].file_name, "2023/BP-2023-2-Utrecht.zip!data.csv");
        assert_eq!(inbox.deliveries[0].blake3, hash);
    }

    #[test]
    fn member_names_split_at_the_bundle() {
        assert_eq!(split_member("a/b.zip!c.csv"), ("a/b.zip", Some("c.csv")));
        assert_eq!(split_member("b.ZIP!n.zip!c.csv"), ("b.ZIP", Some("n.zip!c.csv")));
        assert_eq!(split_member("wow!.csv"), ("wow!.csv", None));
        let h = member_hints("BP-2022-1-Urk.zip", "inner.zip!BP-2023-x-.csv");
        assert_eq!((h.year, h.quarter, h.municipality_name.as_deref()), (Some(2023), Some(1), Some("Urk")));
    }
}
