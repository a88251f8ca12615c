//! The password file for encrypted zip bundles: which key opens which bundle.
//!
//! The protocol has agencies send a password-protected zip per survey and the password by
//! another channel; the data team writes it into a TOML file that only the owner may read:
//!
//! ```toml
//! [passwords]
//! "2023/BP-2023-2-Utrecht.zip" = "…"   # a bundle by its path in the inbox
//! "BP-2024-*.zip" = "…"                # or a glob on its file name (`*`, `?`)
//! ```
//!
//! The pipeline file points to it (`[secrets] passwords = "…"`), or the environment variable
//! [`PASSWORDS_ENV`] names it (the variable wins, so a scheduler can pass it).
//!
//! What it must NOT do: ever show a password. [`Password`] has no `Display`, no `Serialize`,
//! and its `Debug` prints `***`; errors name the file and the bundle pattern, never a value.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The environment variable that names the password file (overrides the pipeline file).
pub const PASSWORDS_ENV: &str = "BURGERPEILING_PASSWORDS";

/// A bundle's key. Only [`Password::bytes`] gives the value, to the zip reader.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Password {
        Password(value.into())
    }

    /// The key as the zip reader takes it.
    pub fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Every key of the password file, with the bundle name or glob it is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passwords {
    /// (pattern, key), in the file's key order (sorted: the TOML table is read as a map).
    entries: Vec<(String, Password)>,
    /// Where they came from, for messages (`None`: no password file configured).
    pub source: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordFile {
    #[serde(default)]
    passwords: std::collections::BTreeMap<String, String>,
}

impl Passwords {
    /// Loads the password file: `env` (the value of [`PASSWORDS_ENV`]) if set, else
    /// `configured` (the pipeline file's `[secrets] passwords`, relative to `base`, the folder
    /// of the pipeline file). No file configured: no passwords. A file that is missing,
    /// unreadable, readable by group or others, or not valid is an error whose text names the
    /// file and never a value.
    pub fn load(env: Option<PathBuf>, configured: Option<&Path>, base: &Path) -> Result<Passwords, String> {
        let path = match (env, configured) {
            (Some(p), _) => p,
            (None, Some(p)) if p.is_relative() => base.join(p),
            (None, Some(p)) => p.to_path_buf(),
            (None, None) => return Ok(Passwords::default()),
        };
        check_private(&path)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("het wachtwoordbestand {} is niet te lezen: {e}", path.display()))?;
        // toml's error text quotes the offending line, which may hold a password: only its
        // position is passed on.
        let parsed: PasswordFile = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| line_of(&text, s.start)).map(|l| format!(" (regel {l})")).unwrap_or_default();
            format!(
                "het wachtwoordbestand {} is geen geldige TOML met een tabel [passwords] van \
                 bundelnaam = \"wachtwoord\"{at}",
                path.display()
            )
        })?;
        let mut entries = Vec::new();
        for (pattern, key) in parsed.passwords {
            if key.is_empty() {
                return Err(format!("het wachtwoordbestand {} geeft {pattern:?} een leeg wachtwoord", path.display()));
            }
            entries.push((pattern, Password(key)));
        }
        Ok(Passwords { entries, source: Some(path) })
    }

    /// Passwords from (pattern, key) pairs, for tests and the generator.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Passwords {
        let entries = pairs.into_iter().map(|(p, k)| (p.to_string(), Password::new(k))).collect();
        Passwords { entries, source: None }
    }

    /// The keys for a bundle (`name`: its path relative to the inbox, `/`-separated), most
    /// specific first: the exact path, the exact file name, then matching globs, longest
    /// pattern first. Several are tried in turn, so one agency-wide glob may sit beside
    /// per-bundle keys.
    pub fn candidates(&self, name: &str) -> Vec<Password> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let mut ranked: Vec<(u8, usize, &str, &Password)> = self
            .entries
            .iter()
            .filter_map(|(pattern, key)| {
                let rank = if pattern == name {
                    0
                } else if pattern == base {
                    1
                } else if glob_matches(pattern, if pattern.contains('/') { name } else { base }) {
                    2
                } else {
                    return None;
                };
                Some((rank, usize::MAX - pattern.len(), pattern.as_str(), key))
            })
            .collect();
        ranked.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let mut keys: Vec<Password> = Vec::new();
        for (_, _, _, key) in ranked {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The file may be read by its owner only: the keys open respondent data.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("het wachtwoordbestand {} is niet te openen: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "het wachtwoordbestand {} is leesbaar of schrijfbaar voor groep of anderen (modus {mode:03o}); \
             maak het alleen voor de eigenaar toegankelijk: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

/// `*` matches any run of characters (not `/`), `?` one character; everything else itself.
/// Case-sensitive, as file names on the inbox's file system are.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice, no
    // recursion however many stars a pattern has.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == n[ni] || (p[pi] == '?' && n[ni] != '/')) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star.filter(|&(_, sn)| n[sn] != '/') {
            star = Some((sp, sn + 1));
            pi = sp + 1;
            ni = sn + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_without_crossing_folders() {
        assert!(glob_matches("BP-2024-*.zip", "BP-2024-2-Utrecht.zip"));
        assert!(glob_matches("*.zip", "a.zip"));
        assert!(glob_matches("BP-202?-*", "BP-2023-x"));
        assert!(!glob_matches("BP-2024-*.zip", "BP-2023-2-Utrecht.zip"));
        assert!(!glob_matches("*.zip", "a.zip.pdf"));
        assert!(!glob_matches("*.zip", "sub/a.zip"));
        assert!(glob_matches("2023/*.zip", "2023/a.zip"));
        assert!(!glob_matches("*/a.zip", "x/y/a.zip"));
        assert!(glob_matches("a*b*c", "aXXbYYbZc"));
    }

    #[test]
    fn the_most_specific_key_comes_first() {
        let p = Passwords::from_pairs([("*.zip", "all"), ("BP-2024-*.zip", "y2024"), ("2024/BP-2024-1-A.zip", "one")]);
        let keys = |name| {
            p.candidates(name).iter().map(|k| String::from_utf8_lossy(k.bytes()).into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(keys("2024/BP-2024-1-A.zip"), ["one", "y2024", "all"]);
        assert_eq!(keys("2024/BP-2024-2-B.zip"), ["y2024", "all"]);
        assert_eq!(keys("other.zip"), ["all"]);
        assert!(keys("other.csv").is_empty());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Passwords::from_pairs([("a.zip", "geheim123")]);
        assert!(!format!("{p:?}").contains("geheim123"));
        assert!(!format!("{:?}", p.candidates("a.zip")).contains("geheim123"));
    }

    #[test]
    fn the_file_must_be_private_and_valid() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("passwords.toml");
        std::fs::write(&file, "[passwords]\n\"a.zip\" = \"geheim123\"\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Passwords::load(None, Some(Path::new("passwords.toml")), dir.path()).unwrap_err();
        assert!(err.contains("chmod 600") && err.contains("644"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = Passwords::load(None, Some(Path::new("passwords.toml")), dir.path()).unwrap();
        assert_eq!(p.candidates("a.zip").len(), 1);
        // The environment's file wins over the pipeline file's.
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "[passwords]\n\"b.zip\" = \"x\"\n").unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = Passwords::load(Some(other.clone()), Some(Path::new("passwords.toml")), dir.path()).unwrap();
        assert!(p.candidates("a.zip").is_empty() && p.candidates("b.zip").len() == 1);
        // Invalid TOML: the error gives the line, not the text around it.
        std::fs::write(&other, "[passwords]\n\"b.zip\" = geheim456\n").unwrap();
        let err = Passwords::load(Some(other), None, dir.path()).unwrap_err();
        assert!(err.contains("regel 2") && !err.contains("geheim456"), "{err}");
        let err = Passwords::load(Some(dir.path().join("absent.toml")), None, dir.path()).unwrap_err();
        assert!(err.contains("absent.toml"), "{err}");
        assert!(Passwords::load(None, None, dir.path()).unwrap().is_empty());
    }
}
