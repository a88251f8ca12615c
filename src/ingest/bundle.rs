//! Zip bundles: the protocol's delivery form, one (usually password-protected) zip per survey
//! holding the dataset, the questionnaire(s) and the research report.
//!
//! [`list`] tells from a bundle's directory (and that of a zip nested one level inside it) which
//! entries are datasets, which are attachments and which are not read, after the zip-bomb
//! checks; [`read_member`] decrypts and unpacks one dataset entry into memory. Unencrypted,
//! ZipCrypto and AES entries are read; a nested zip is opened with the outer bundle's keys.
//!
//! What it must NOT do: write anything anywhere (an entry named `../x.csv` is a name, nothing
//! more: it is reported and not read), read an attachment's contents, or put a password or an
//! entry's contents into an error. A bundle that cannot be read is an [`BundleError`], which
//! discovery and reading turn into a finding; never a panic.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use super::Format;
use super::passwords::Password;

/// A bundle holds a handful of files; more entries than this is a zip bomb or not a delivery.
pub const MAX_ENTRIES: usize = 1000;
/// Largest unpacked/packed ratio accepted for an entry of at least [`RATIO_FROM_BYTES`]: real
/// respondent files pack 5–20×, a zip bomb packs 1000×. Apache POI refuses at the same ratio
/// (its `ZipSecureFile` minimum inflate ratio is 0.01).
pub const MAX_RATIO: u64 = 100;
/// Entries smaller than this unpack to little whatever their ratio (an all-blank sheet packs
/// very well), so the ratio is not checked for them.
pub const RATIO_FROM_BYTES: u64 = 1 << 20;
/// Separates a bundle from the entry inside it in a delivery's name: `bundle.zip!data.csv`.
pub const MEMBER_SEPARATOR: char = '!';

/// How much a bundle may hold: the pipeline file's `[limits]`. `max_file_bytes` bounds each
/// dataset entry (unpacked), as a file in the inbox; `max_decompressed_bytes` the total of
/// declared unpacked sizes over the bundle and a nested zip together.
pub type BundleLimits = crate::config::Limits;

/// A dataset in a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetEntry {
    /// Its path in the bundle; in a nested zip `inner.zip!data.csv`.
    pub name: String,
    pub format: Format,
    /// Unpacked size as the zip directory declares it.
    pub size: u64,
}

/// An entry that is not read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub why: SkipReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Absolute, `..`, a drive letter or a link: a name that would leave a folder if unpacked.
    UnsafeName,
    /// A zip inside a nested zip: only one level is opened.
    TooDeep,
}

/// What a bundle holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub datasets: Vec<DatasetEntry>,
    /// Everything else (questionnaire, report, …): named, never read.
    pub attachments: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// Why a bundle (or one of its entries) cannot be read. Messages are Dutch and name entries,
/// never contents or keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// An encrypted entry and no key, or none of the keys opens it.
    Password { entry: String, keys_tried: usize },
    /// Over a zip-bomb limit.
    TooLarge(String),
    /// Not a readable zip, or a damaged entry.
    Corrupt(String),
}

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// Lists a bundle: datasets, attachments and entries not read, checking the zip-bomb limits
/// over the bundle and any zip nested in it. Opening a nested zip needs its bytes, so an
/// encrypted nested zip is decrypted here (with `keys`); nothing else is unpacked.
pub fn list(bytes: &[u8], keys: &[Password], limits: &BundleLimits) -> Result<Listing, BundleError> {
    let mut archive = open(bytes, "")?;
    let mut budget = limits.max_decompressed_bytes;
    check_sizes(&mut archive, "", &mut budget)?;
    let mut listing = Listing::default();
    for i in 0..archive.len() {
        let (name, kind) = classify(&mut archive, i)?;
        match kind {
            Kind::Ignored => {}
            Kind::Unsafe => listing.skipped.push(Skipped { name, why: SkipReason::UnsafeName }),
            Kind::Attachment => listing.attachments.push(name),
            Kind::Dataset(format, size) => listing.datasets.push(DatasetEntry { name, format, size }),
            Kind::Nested(size) => {
                let limit = size.min(limits.max_decompressed_bytes);
                let inner = read_entry(&mut archive, i, &name, keys, limit)?;
                list_nested(&inner, &name, &mut budget, &mut listing)?;
            }
        }
    }
    demote_notes(&mut listing);
    listing.attachments.sort();
    Ok(listing)
}

/// A `.txt` beside another dataset is a note (a read-me, the field report), not a second
/// dataset: it becomes an attachment. Alone in a bundle it is the dataset, delimited text.
fn demote_notes(listing: &mut Listing) {
    let is_txt = |d: &DatasetEntry| d.format == Format::Txt;
    if listing.datasets.iter().any(|d| !is_txt(d)) {
        let (notes, datasets) = std::mem::take(&mut listing.datasets).into_iter().partition(is_txt);
        listing.datasets = datasets;
        listing.attachments.extend(notes.into_iter().map(|d: DatasetEntry| d.name));
    }
}

/// Adds a nested zip's entries to `listing`, named `outer!entry`; zips in it are not opened.
fn list_nested(bytes: &[u8], outer: &str, budget: &mut u64, listing: &mut Listing) -> Result<(), BundleError> {
    let mut archive = open(bytes, outer)?;
    check_sizes(&mut archive, outer, budget)?;
    for i in 0..archive.len() {
        let (name, kind) = classify(&mut archive, i)?;
        let name = format!("{outer}{MEMBER_SEPARATOR}{name}");
        match kind {
            Kind::Ignored => {}
            Kind::Unsafe => listing.skipped.push(Skipped { name, why: SkipReason::UnsafeName }),
            Kind::Attachment => listing.attachments.push(name),
            Kind::Dataset(format, size) => listing.datasets.push(DatasetEntry { name, format, size }),
            Kind::Nested(_) => listing.skipped.push(Skipped { name, why: SkipReason::TooDeep }),
        }
    }
    Ok(())
}

/// Unpacks one dataset entry (`name` as [`list`] gives it) into memory, decrypting with the
/// first of `keys` that opens it. The zip-bomb limits are checked again: the bundle may have
/// changed since it was listed.
pub fn read_member(bytes: &[u8], name: &str, keys: &[Password], limits: &BundleLimits) -> Result<Vec<u8>, BundleError> {
    let mut archive = open(bytes, "")?;
    let mut budget = limits.max_decompressed_bytes;
    check_sizes(&mut archive, "", &mut budget)?;
    if let Some(i) = archive.index_for_name(name) {
        return read_dataset(&mut archive, i, name, keys, limits.max_file_bytes);
    }
    // `inner.zip!data.csv`: the outer entry is the longest prefix that is a zip in the bundle.
    let split = name
        .match_indices(MEMBER_SEPARATOR)
        .map(|(at, _)| (&name[..at], &name[at + 1..]))
        .filter(|(outer, _)| is_zip_name(outer))
        .find_map(|(outer, inner)| archive.index_for_name(outer).map(|i| (i, outer, inner)));
    let Some((i, outer, inner)) = split else {
        return Err(BundleError::Corrupt(format!("de bundel bevat {name:?} niet (meer)")));
    };
    let size = archive.by_index_raw(i).map(|e| e.size()).map_err(|e| corrupt(outer, &e))?;
    let nested = read_entry(&mut archive, i, outer, keys, size.min(limits.max_decompressed_bytes))?;
    let mut archive = open(&nested, outer)?;
    check_sizes(&mut archive, outer, &mut budget)?;
    let Some(j) = archive.index_for_name(inner) else {
        return Err(BundleError::Corrupt(format!("de bundel bevat {name:?} niet (meer)")));
    };
    read_dataset(&mut archive, j, name, keys, limits.max_file_bytes)
}

/// A name ends in `.zip` (any case).
pub fn is_zip_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("zip"))
}

fn open<'a>(bytes: &'a [u8], outer: &str) -> Result<Archive<'a>, BundleError> {
    ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        let what =
            if outer.is_empty() { "de bundel".to_string() } else { format!("het zip-bestand {outer:?} in de bundel") };
        BundleError::Corrupt(format!("{what} is geen leesbaar zip-bestand ({e})"))
    })
}

/// The zip-bomb checks on a directory: entry count, ratio of each large entry, and the total
/// declared unpacked size against what is left of `budget`.
fn check_sizes(archive: &mut Archive, outer: &str, budget: &mut u64) -> Result<(), BundleError> {
    let at = if outer.is_empty() { String::new() } else { format!(" (in {outer:?})") };
    if archive.len() > MAX_ENTRIES {
        return Err(BundleError::TooLarge(format!(
            "de bundel{at} heeft {} bestanden, meer dan de {MAX_ENTRIES} die een levering kan bevatten; \
             hij wordt niet geopend",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| corrupt(outer, &e))?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        if size >= RATIO_FROM_BYTES && size / packed.max(1) > MAX_RATIO {
            let name = entry_name(&entry);
            return Err(BundleError::TooLarge(format!(
                "{name:?}{at} pakt {size} bytes uit uit {packed} bytes, meer dan {MAX_RATIO} keer \
                 zo groot (een zip-bom); de bundel wordt niet geopend"
            )));
        }
        total = total.saturating_add(size);
    }
    if total > *budget {
        return Err(BundleError::TooLarge(format!(
            "de bundel{at} zou uitpakken tot {total} bytes, boven de grens van nog {budget} bytes \
             (limits.max_decompressed_bytes); hij wordt niet geopend"
        )));
    }
    *budget -= total;
    Ok(())
}

enum Kind {
    /// Folders, hidden files and the `__MACOSX/` resource forks macOS adds to every zip.
    Ignored,
    Unsafe,
    Attachment,
    Dataset(Format, u64),
    Nested(u64),
}

fn classify(archive: &mut Archive, i: usize) -> Result<(String, Kind), BundleError> {
    let entry = archive.by_index_raw(i).map_err(|e| corrupt("", &e))?;
    let name = entry_name(&entry);
    let base = name.rsplit(['/', '\\']).next().unwrap_or(&name);
    let kind = if entry.is_dir() || name.ends_with('/') {
        Kind::Ignored
    } else if is_unsafe(&name) || entry.is_symlink() {
        Kind::Unsafe
    } else if name.starts_with("__MACOSX/") || base.starts_with('.') || base.is_empty() {
        Kind::Ignored
    } else if is_zip_name(base) {
        Kind::Nested(entry.size())
    } else {
        let format = base.rsplit_once('.').and_then(|(_, ext)| Format::from_extension(ext));
        match format {
            Some(f) => Kind::Dataset(f, entry.size()),
            None => Kind::Attachment,
        }
    };
    Ok((name, kind))
}

/// The entry's name as text (zip names are UTF-8 or CP437; the crate decodes both).
fn entry_name<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> String {
    match entry.name() {
        Ok(n) => n.into_owned(),
        Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
    }
}

/// A name that would leave the folder it is unpacked into: absolute, a `..` component, a
/// Windows drive or a NUL. Nothing is ever unpacked, but such an entry is not a dataset either.
fn is_unsafe(name: &str) -> bool {
    let drive = name.as_bytes().get(1) == Some(&b':');
    name.starts_with(['/', '\\']) || drive || name.contains('\0') || name.split(['/', '\\']).any(|part| part == "..")
}

/// A dataset entry, refused over `max_file_bytes` before anything is unpacked.
fn read_dataset(
    archive: &mut Archive,
    i: usize,
    name: &str,
    keys: &[Password],
    max_file_bytes: u64,
) -> Result<Vec<u8>, BundleError> {
    let size = archive.by_index_raw(i).map(|e| e.size()).map_err(|e| corrupt(name, &e))?;
    if size > max_file_bytes {
        return Err(BundleError::TooLarge(format!(
            "{name:?} pakt uit tot {size} bytes, boven de grens van {max_file_bytes} bytes \
             (limits.max_file_bytes); het wordt niet gelezen"
        )));
    }
    read_entry(archive, i, name, keys, size)
}

/// Unpacks entry `i`, at most `limit` bytes (its declared size: an entry that unpacks to more
/// lies about itself and is refused). An encrypted entry is tried with each key in turn; a
/// ZipCrypto key passes its check byte by chance 1 time in 256, and then the unpacking or the
/// checksum fails, so such a failure counts as a wrong key.
fn read_entry(
    archive: &mut Archive,
    i: usize,
    name: &str,
    keys: &[Password],
    limit: u64,
) -> Result<Vec<u8>, BundleError> {
    let encrypted = archive.by_index_raw(i).map_err(|e| corrupt(name, &e))?.encrypted();
    if !encrypted {
        let entry = archive.by_index(i).map_err(|e| corrupt(name, &e))?;
        return read_limited(entry, name, limit);
    }
    for key in keys {
        match archive.by_index_decrypt(i, key.bytes()) {
            Ok(entry) => match read_limited(entry, name, limit) {
                Ok(bytes) => return Ok(bytes),
                Err(BundleError::Corrupt(_)) => continue,
                Err(other) => return Err(other),
            },
            Err(ZipError::InvalidPassword) => continue,
            Err(e) => return Err(corrupt(name, &e)),
        }
    }
    Err(BundleError::Password { entry: name.to_string(), keys_tried: keys.len() })
}

fn read_limited<R: Read>(entry: zip::read::ZipFile<'_, R>, name: &str, limit: u64) -> Result<Vec<u8>, BundleError> {
    // Capacity from the declared size, capped: the declaration may lie.
    let mut bytes = Vec::with_capacity(limit.min(64 << 20) as usize);
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::Corrupt(format!("{name:?} in de bundel is beschadigd ({e})")))?;
    if bytes.len() as u64 > limit {
        return Err(BundleError::TooLarge(format!(
            "{name:?} pakt uit tot meer dan de {limit} bytes die de bundel opgeeft; het wordt niet gelezen"
        )));
    }
    Ok(bytes)
}

fn corrupt(name: &str, e: &ZipError) -> BundleError {
    let what = if name.is_empty() { "de bundel".to_string() } else { format!("{name:?} in de bundel") };
    BundleError::Corrupt(format!("{what} is beschadigd ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::{SimpleFileOptions, ZipWriter};

    const LIMITS: BundleLimits = BundleLimits { max_file_bytes: 1 << 30, max_decompressed_bytes: 1 << 30 };

    fn zip(entries: &[(&str, &[u8])], key: Option<&str>) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            let opts = SimpleFileOptions::default();
            let opts = match key {
                Some(k) => opts.with_aes_encryption(zip::AesMode::Aes256, k),
                None => opts,
            };
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn keys(k: &[&str]) -> Vec<Password> {
        k.iter().map(|k| Password::new(*k)).collect()
    }

    #[test]
    fn datasets_attachments_and_unsafe_names_are_told_apart() {
        let bytes = zip(
            &[
                ("data/BP-2023-2-Utrecht.csv", b"a;b\n1;2\n"),
                ("Vragenlijst.pdf", b"%PDF"),
                ("../evil.csv", b"x"),
                ("__MACOSX/._x.csv", b"x"),
                ("map/", b""),
            ],
            None,
        );
        let l = list(&bytes, &[], &LIMITS).unwrap();
        assert_eq!(
            l.datasets,
            [DatasetEntry { name: "data/BP-2023-2-Utrecht.csv".into(), format: Format::Csv, size: 8 }]
        );
        assert_eq!(l.attachments, ["Vragenlijst.pdf"]);
        assert_eq!(l.skipped, [Skipped { name: "../evil.csv".into(), why: SkipReason::UnsafeName }]);
        assert_eq!(read_member(&bytes, "data/BP-2023-2-Utrecht.csv", &[], &LIMITS).unwrap(), b"a;b\n1;2\n");
    }

    #[test]
    fn an_encrypted_bundle_needs_the_right_key() {
        let bytes = zip(&[("d.csv", b"a;b\n1;2\n")], Some("juist"));
        // The directory is readable without a key.
        assert_eq!(list(&bytes, &[], &LIMITS).unwrap().datasets.len(), 1);
        let err = read_member(&bytes, "d.csv", &[], &LIMITS).unwrap_err();
        assert_eq!(err, BundleError::Password { entry: "d.csv".into(), keys_tried: 0 });
        let err = read_member(&bytes, "d.csv", &keys(&["fout"]), &LIMITS).unwrap_err();
        assert!(matches!(err, BundleError::Password { keys_tried: 1, .. }));
        assert_eq!(read_member(&bytes, "d.csv", &keys(&["fout", "juist"]), &LIMITS).unwrap(), b"a;b\n1;2\n");
        assert!(!format!("{err:?}").contains("fout"));
    }

    #[test]
    fn a_nested_zip_is_opened_one_level_deep() {
        let deepest = zip(&[("x.csv", b"1")], None);
        let inner = zip(&[("d.sav", b"$FL2"), ("rapport.docx", b"PK"), ("diep.zip", &deepest)], Some("k"));
        let outer = zip(&[("inner.zip", &inner), ("leesmij.txt", b"hallo")], Some("k"));
        let err = list(&outer, &[], &LIMITS).unwrap_err();
        assert!(matches!(err, BundleError::Password { ref entry, .. } if entry == "inner.zip"));
        let l = list(&outer, &keys(&["k"]), &LIMITS).unwrap();
        let names: Vec<_> = l.datasets.iter().map(|d| d.name.as_str()).collect();
        // A .txt beside a dataset is a note.
        assert_eq!(names, ["inner.zip!d.sav"]);
        assert_eq!(l.attachments, ["inner.zip!rapport.docx", "leesmij.txt"]);
        assert_eq!(l.skipped, [Skipped { name: "inner.zip!diep.zip".into(), why: SkipReason::TooDeep }]);
        assert_eq!(read_member(&outer, "inner.zip!d.sav", &keys(&["k"]), &LIMITS).unwrap(), b"$FL2");
    }

    #[test]
    fn zip_bombs_are_refused_before_unpacking() {
        let zeros = vec![0u8; 4 << 20];
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("d.csv", deflated).unwrap();
        w.write_all(&zeros).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert!(matches!(list(&bytes, &[], &LIMITS), Err(BundleError::TooLarge(m)) if m.contains("zip-bom")));
        let small = zip(&[("a.csv", b"12345678"), ("b.csv", b"12345678")], None);
        let tight = BundleLimits { max_file_bytes: 1 << 30, max_decompressed_bytes: 10 };
        assert!(matches!(list(&small, &[], &tight), Err(BundleError::TooLarge(_))));
        let one_file = BundleLimits { max_file_bytes: 4, max_decompressed_bytes: 1 << 30 };
        assert!(matches!(read_member(&small, "a.csv", &[], &one_file), Err(BundleError::TooLarge(_))));
        let many: Vec<(String, Vec<u8>)> = (0..=MAX_ENTRIES).map(|i| (format!("{i}.pdf"), Vec::new())).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        assert!(matches!(list(&zip(&many, None), &[], &LIMITS), Err(BundleError::TooLarge(_))));
    }

    #[test]
    fn damaged_bundles_are_corrupt_not_panics() {
        assert!(matches!(list(b"PK\x03\x04 not a zip", &[], &LIMITS), Err(BundleError::Corrupt(_))));
        let bytes = zip(&[("d.csv", b"a;b\n1;2\n")], None);
        let cut = &bytes[..bytes.len() - 10];
        assert!(matches!(list(cut, &[], &LIMITS), Err(BundleError::Corrupt(_))));
        assert!(matches!(read_member(&bytes, "absent.csv", &[], &LIMITS), Err(BundleError::Corrupt(_))));
    }
}
