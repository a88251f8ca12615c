//! Municipalities: the current CBS list and the mergers since 2018, loaded from
//! `config/municipalities.csv` and `config/municipal-mergers.csv`.
//!
//! Answers two questions: which current municipality does a delivered `gemnr` belong to today
//! (a 2021 delivery for Weesp is Amsterdam now), and which municipality does a file name such as
//! `BP-2023-2-'s-Hertogenbosch.xlsx` mean. No I/O beyond loading the two config files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::ConfigSource;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

/// A current municipality: CBS code (`GM0363`) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Municipality {
    pub code: String,
    pub name: String,
}

impl Municipality {
    /// The CBS number without `GM`, as the dataformat's `gemnr` holds it.
    pub fn number(&self) -> u16 {
        code_number(&self.code).unwrap_or(0)
    }
}

/// What a delivered municipality number means today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Current(Municipality),
    /// Merged into `into` since the survey (possibly in several steps).
    Merged {
        from: String,
        into: Municipality,
    },
    /// Divided over several current municipalities: cannot be assigned from `gemnr` alone.
    Split {
        from: String,
        into: Vec<Municipality>,
    },
    Unknown,
}

#[derive(Deserialize)]
struct MunicipalityRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct MergerRow {
    old_code: String,
    old_name: String,
    new_code: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The municipality list with its history.
#[derive(Clone, Debug)]
pub struct Municipalities {
    current: BTreeMap<String, Municipality>,
    /// old code → new codes (one for a merger, several for a split).
    successors: BTreeMap<String, BTreeSet<String>>,
    /// folded name → code (current and historical names).
    by_name: BTreeMap<String, String>,
    /// old code → its name, for municipalities that no longer exist.
    historical: BTreeMap<String, String>,
}

impl Municipalities {
    pub fn load(config_dir: &Path) -> Result<Municipalities> {
        Municipalities::load_from(&ConfigSource::Dir(config_dir.to_path_buf()))
    }

    /// Loads the list from a configuration on disk or embedded.
    pub fn load_from(config: &ConfigSource) -> Result<Municipalities> {
        let read = |file: &str| -> Result<csv::Reader<std::io::Cursor<Vec<u8>>>> {
            Ok(csv::Reader::from_reader(std::io::Cursor::new(config.read(file)?)))
        };
        let rows: Vec<MunicipalityRow> = read("municipalities.csv")?
            .deserialize()
            .collect::<Result<_, _>>()
            .context("config/municipalities.csv is malformed")?;
        let mergers: Vec<MergerRow> = read("municipal-mergers.csv")?
            .deserialize()
            .collect::<Result<_, _>>()
            .context("config/municipal-mergers.csv is malformed")?;
        Municipalities::build(rows, mergers)
    }

    fn build(rows: Vec<MunicipalityRow>, mergers: Vec<MergerRow>) -> Result<Municipalities> {
        let mut current = BTreeMap::new();
        let mut by_name = BTreeMap::new();
        for r in rows {
            if code_number(&r.code).is_none() {
                bail!("config/municipalities.csv: {:?} is not a GM code", r.code);
            }
            by_name.insert(fold_name(&r.name), r.code.clone());
            current.insert(r.code.clone(), Municipality { code: r.code, name: r.name });
        }
        let mut successors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut historical = BTreeMap::new();
        for m in mergers {
            historical.entry(m.old_code.clone()).or_insert_with(|| m.old_name.clone());
            if m.kind != "merger" && m.kind != "split" {
                bail!("config/municipal-mergers.csv: unknown type {:?}", m.kind);
            }
            successors.entry(m.old_code.clone()).or_default().insert(m.new_code);
            by_name.entry(fold_name(&m.old_name)).or_insert(m.old_code);
        }
        Ok(Municipalities { current, successors, by_name, historical })
    }

    /// The current municipalities, ordered by code.
    pub fn current(&self) -> impl Iterator<Item = &Municipality> {
        self.current.values()
    }

    pub fn get(&self, code: &str) -> Option<&Municipality> {
        self.current.get(code)
    }

    /// The name of a municipality that no longer exists (`GM0140` → Littenseradiel).
    pub fn historical_name(&self, code: &str) -> Option<&str> {
        self.historical.get(code).map(String::as_str)
    }

    /// Resolves a CBS municipality number (`363`) to today's municipality.
    pub fn resolve_number(&self, gemnr: u16) -> Resolution {
        self.resolve_code(&municipality_code(gemnr))
    }

    /// Resolves a CBS code (`GM0363`) to today's municipality, following mergers.
    pub fn resolve_code(&self, code: &str) -> Resolution {
        if let Some(m) = self.current.get(code) {
            return Resolution::Current(m.clone());
        }
        let mut ends = BTreeSet::new();
        let mut todo = vec![code.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(c) = todo.pop() {
            if !seen.insert(c.clone()) {
                continue;
            }
            match self.successors.get(&c) {
                Some(next) => todo.extend(next.iter().cloned()),
                None if c != code => {
                    if let Some(m) = self.current.get(&c) {
                        ends.insert(m.clone());
                    }
                }
                None => {}
            }
        }
        match ends.len() {
            0 => Resolution::Unknown,
            1 => Resolution::Merged { from: code.to_string(), into: ends.into_iter().next().expect("one element") },
            _ => Resolution::Split { from: code.to_string(), into: ends.into_iter().collect() },
        }
    }

    /// The CBS code of a municipality name, current or historical, matched without regard to
    /// case, diacritics, a `'s-` prefix, hyphens or spaces.
    pub fn code_by_name(&self, name: &str) -> Option<&str> {
        self.by_name.get(&fold_name(name)).map(String::as_str)
    }
}

/// The region code of the Netherlands as a whole in CBS tables (`NL01`): national weights and
/// population rows.
pub const NATIONAL_REGION: &str = "NL01";

/// 363 → `GM0363`: the CBS code of a municipality number.
pub fn municipality_code(number: u16) -> String {
    format!("GM{number:04}")
}

/// `WK036301` → `GM0363`: the municipality a normalised district code (`WK` + 6 digits) lies in.
pub fn municipality_of_district(district: &str) -> Option<String> {
    let digits = district.strip_prefix("WK")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("GM{}", &digits[..4]))
}

/// `GM0363` → 363.
pub fn code_number(code: &str) -> Option<u16> {
    let digits = code.strip_prefix("GM")?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Folds a municipality name for matching: lower case, no diacritics, no `'s-`/`'t-` prefix,
/// only letters and digits.
pub fn fold_name(name: &str) -> String {
    let lower: String = name.nfd().filter(|c| !is_combining(*c)).collect::<String>().to_lowercase();
    let trimmed = lower.trim();
    let without_prefix =
        ["'s-", "'s ", "’s-", "'t ", "'t-"].iter().find_map(|p| trimmed.strip_prefix(p)).unwrap_or(trimmed);
    without_prefix.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn municipalities() -> Municipalities {
        Municipalities::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    #[test]
    fn list_has_342_current_municipalities() {
        assert_eq!(municipalities().current().count(), 342);
    }

    #[test]
    fn current_numbers_resolve_to_themselves() {
        let m = municipalities();
        match m.resolve_number(363) {
            Resolution::Current(x) => assert_eq!((x.code.as_str(), x.name.as_str()), ("GM0363", "Amsterdam")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn weesp_is_amsterdam_today() {
        let m = municipalities();
        match m.resolve_number(457) {
            Resolution::Merged { into, .. } => assert_eq!(into.code, "GM0363"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn split_municipalities_are_not_guessed() {
        // Littenseradiel (140) was divided over Leeuwarden, Súdwest-Fryslân and Waadhoeke.
        assert!(matches!(municipalities().resolve_number(140), Resolution::Split { .. }));
        assert_eq!(municipalities().resolve_number(9999), Resolution::Unknown);
    }

    #[test]
    fn names_match_loosely() {
        let m = municipalities();
        assert_eq!(m.code_by_name("'s-Hertogenbosch"), Some("GM0796"));
        assert_eq!(m.code_by_name("HERTOGENBOSCH"), Some("GM0796"));
        assert_eq!(m.code_by_name("sudwest fryslan"), Some("GM1900"));
        assert_eq!(m.code_by_name("Weesp"), Some("GM0457"));
    }
}
