//! Synthetic zip bundles: wraps the deliveries `synth` wrote into the protocol's delivery form,
//! one zip per survey holding the dataset and a questionnaire PDF stand-in, unencrypted,
//! ZipCrypto or AES-256, and writes the password file the pipeline reads
//! (`<out>/secrets/passwords.toml`, owner-only).
//!
//! What it must NOT do: touch anything outside the inbox and the secrets folder of its own
//! output, or print a password. Plain and AES bundles are byte-identical for a seed (the AES
//! salt is derived from seed and name, acceptable for synthetic data only); ZipCrypto bundles
//! are not, because the `zip` crate draws their encryption header at random. The datasets
//! inside, and so the delivery ids, are the same either way.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use zip::unstable::write::FileOptionsExt;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::ingest::Format;

/// How `synth --bundles` wraps deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleMode {
    /// Zips without a password.
    Plain,
    ZipCrypto,
    Aes256,
    /// Plain, ZipCrypto and AES-256 in turn, in inbox name order.
    Mixed,
}

/// How one bundle is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    None,
    ZipCrypto,
    Aes256,
}

impl BundleMode {
    /// `plain`, `zipcrypto`, `aes` or `mixed`.
    pub fn parse(s: &str) -> std::result::Result<BundleMode, String> {
        match s {
            "plain" => Ok(BundleMode::Plain),
            "zipcrypto" => Ok(BundleMode::ZipCrypto),
            "aes" => Ok(BundleMode::Aes256),
            "mixed" => Ok(BundleMode::Mixed),
            other => Err(format!("unknown bundle mode {other:?}: plain, zipcrypto, aes or mixed")),
        }
    }

    fn encryption(self, index: usize) -> Encryption {
        match self {
            BundleMode::Plain => Encryption::None,
            BundleMode::ZipCrypto => Encryption::ZipCrypto,
            BundleMode::Aes256 => Encryption::Aes256,
            BundleMode::Mixed => [Encryption::None, Encryption::ZipCrypto, Encryption::Aes256][index % 3],
        }
    }
}

/// What [`wrap_inbox`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleSummary {
    /// Bundle paths relative to the inbox, with their encryption.
    pub bundles: Vec<(String, Encryption)>,
    /// The password file (written even when no bundle is encrypted, then with no keys).
    pub password_file: PathBuf,
}

/// The questionnaire stand-in every bundle carries beside its dataset.
pub const QUESTIONNAIRE_NAME: &str = "Vragenlijst Burgerpeiling.pdf";

/// Replaces every dataset file under `<out>/inbox` by a bundle beside it (`x.csv` →
/// `x.zip` holding `x.csv` and [`QUESTIONNAIRE_NAME`]) and writes `<out>/secrets/passwords.toml`
/// with each encrypted bundle's key.
pub fn wrap_inbox(out: &Path, mode: BundleMode, seed: u64) -> Result<BundleSummary> {
    let inbox = out.join("inbox");
    let mut files = Vec::new();
    collect_datasets(&inbox, &mut files).with_context(|| format!("cannot list {}", inbox.display()))?;
    files.sort();
    let mut bundles = Vec::new();
    let mut keys =
        String::from("# Written by burgerpeiling synth: bundle (path in the inbox) = password.\n[passwords]\n");
    for (index, file) in files.iter().enumerate() {
        let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let target = file.with_extension("zip");
        if target.exists() {
            bail!("{} already exists; synthesise into an empty --out", target.display());
        }
        let relative = target.strip_prefix(&inbox).unwrap_or(&target).to_string_lossy().replace('\\', "/");
        let encryption = mode.encryption(index);
        let password = password_for(seed, &relative);
        let inner = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let pdf = questionnaire_pdf(&inner);
        let entries: [(&str, &[u8]); 2] = [(inner.as_str(), &data), (QUESTIONNAIRE_NAME, &pdf)];
        let bytes = zip_bytes(&entries, encryption, &password, &format!("{seed}/{relative}"))?;
        std::fs::write(&target, bytes).with_context(|| format!("cannot write {}", target.display()))?;
        std::fs::remove_file(file).with_context(|| format!("cannot remove {}", file.display()))?;
        if encryption != Encryption::None {
            keys.push_str(&format!("{relative:?} = {password:?}\n"));
        }
        bundles.push((relative, encryption));
    }
    let password_file = write_private(&out.join("secrets"), "passwords.toml", keys.as_bytes())?;
    Ok(BundleSummary { bundles, password_file })
}

fn collect_datasets(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_datasets(&path, out)?;
        } else if path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// A bundle's password: from seed and name, so tests can rebuild it; never printed.
pub fn password_for(seed: u64, bundle: &str) -> String {
    let hash = blake3::hash(format!("synth-password/{seed}/{bundle}").as_bytes());
    format!("bp-{}", &hash.to_hex()[..16])
}

/// A zip of `entries` (name, bytes), deflated, every entry encrypted as asked. `salt_source`
/// seeds the AES salt, so AES bundles are deterministic.
pub fn zip_bytes(
    entries: &[(&str, &[u8])],
    encryption: Encryption,
    password: &str,
    salt_source: &str,
) -> Result<Vec<u8>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (i, (name, data)) in entries.iter().enumerate() {
        let base = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        let options = match encryption {
            Encryption::None => base,
            Encryption::ZipCrypto => base.with_deprecated_encryption(password.as_bytes())?,
            Encryption::Aes256 => {
                let hash = blake3::hash(format!("{salt_source}/{i}").as_bytes());
                let mut salt = [0u8; 16];
                salt.copy_from_slice(&hash.as_bytes()[..16]);
                base.with_aes_encryption_and_salt(password.as_bytes(), zip::AesSalt::Aes256(salt))
            }
        };
        w.start_file(*name, options)?;
        w.write_all(data)?;
    }
    Ok(w.finish()?.into_inner())
}

/// A one-page PDF saying it stands in for the questionnaire of `dataset`: enough for a PDF
/// viewer, and for the pipeline to list as an attachment.
pub fn questionnaire_pdf(dataset: &str) -> Vec<u8> {
    let text: String = format!("Vragenlijst bij {dataset} (synthetisch)")
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for o in offsets {
        pdf.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    pdf.into_bytes()
}

/// Writes `dir/name` readable by its owner only (created so, never widened afterwards).
fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut f = options.open(&path).with_context(|| format!("cannot write {}", path.display()))?;
        // An existing file keeps its mode on open: narrow it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    #[cfg(not(unix))]
    options.open(&path)?.write_all(bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::bundle::{self, BundleError};
    use crate::ingest::passwords::Password;

    #[test]
    fn every_encryption_reads_back_with_its_key_only() {
        let limits = crate::config::Limits::default();
        let csv: &[u8] = b"respondent;gemnr\n1;344\n";
        for encryption in [Encryption::None, Encryption::ZipCrypto, Encryption::Aes256] {
            let bytes =
                zip_bytes(&[("d.csv", csv), (QUESTIONNAIRE_NAME, b"%PDF")], encryption, "sleutel", "t").unwrap();
            let listing = bundle::list(&bytes, &[], &limits).unwrap();
            assert_eq!(listing.attachments, [QUESTIONNAIRE_NAME]);
            let key = [Password::new("sleutel")];
            assert_eq!(bundle::read_member(&bytes, "d.csv", &key, &limits).unwrap(), csv, "{encryption:?}");
            let without = bundle::read_member(&bytes, "d.csv", &[], &limits);
            if encryption == Encryption::None {
                assert!(without.is_ok());
            } else {
                assert!(matches!(without, Err(BundleError::Password { .. })), "{encryption:?}");
                let wrong = bundle::read_member(&bytes, "d.csv", &[Password::new("fout")], &limits);
                assert!(matches!(wrong, Err(BundleError::Password { .. })), "{encryption:?}");
            }
        }
    }

    #[test]
    fn aes_bundles_are_deterministic() {
        let a = zip_bytes(&[("d.csv", b"1;2\n")], Encryption::Aes256, "k", "seed/x").unwrap();
        let b = zip_bytes(&[("d.csv", b"1;2\n")], Encryption::Aes256, "k", "seed/x").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_inbox_is_wrapped_and_the_password_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let out = tempfile::tempdir().unwrap();
        let inbox = out.path().join("inbox/2023");
        std::fs::create_dir_all(&inbox).unwrap();
        for name in ["BP-2023-1-A.csv", "BP-2023-2-B.xlsx", "BP-2023-3-C.sav"] {
            std::fs::write(inbox.join(name), name.as_bytes()).unwrap();
        }
        let s = wrap_inbox(out.path(), BundleMode::Mixed, 7).unwrap();
        let kinds: Vec<_> = s.bundles.iter().map(|(n, e)| (n.as_str(), *e)).collect();
        assert_eq!(
            kinds,
            [
                ("2023/BP-2023-1-A.zip", Encryption::None),
                ("2023/BP-2023-2-B.zip", Encryption::ZipCrypto),
                ("2023/BP-2023-3-C.zip", Encryption::Aes256)
            ]
        );
        assert!(!inbox.join("BP-2023-1-A.csv").exists());
        let mode = std::fs::metadata(&s.password_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let keys = std::fs::read_to_string(&s.password_file).unwrap();
        assert!(keys.contains(&password_for(7, "2023/BP-2023-3-C.zip")));
        assert!(!keys.contains("BP-2023-1-A.zip"), "a plain bundle needs no key");
        let pdf = questionnaire_pdf("x.csv");
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    }
}
