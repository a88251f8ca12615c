//! Which answer codes of a questionnaire column mean "don't know / not applicable / rather not
//! say", derived from the column's value labels in the codebook.
//!
//! This is the "recommended rule" of `indicators.md` §1: the dk code of each variable is the
//! code whose label says so (`11 = weet niet / geen mening`, `5 = zeg ik liever niet`,
//! `8 = wil ik niet zeggen / weet niet`, ...), per variable and per questionnaire version, and
//! never the VNG R heuristic "the observed maximum is 6". It must not look at data: a code is a
//! dk code because of its label, whether or not anybody chose it.

use std::collections::BTreeMap;

use crate::codebook::{Codebook, fold_label};

/// Phrases (folded by [`fold_label`]) that mark a value label as non-substantive. The
/// dataformats spell them in several ways: `weet niet / geen mening`, `n.v.t. / weet niet`,
/// `n.v.t / weet niet`, `n.v.t.`, `wil ik niet zeggen / weet niet`, `zeg ik liever niet`,
/// `wil ik liever niet zeggen`. Substantive labels containing `niet` (`nee, (bijna) niet`,
/// `niet eens / niet oneens`) contain none of these phrases.
const NON_SUBSTANTIVE_PHRASES: [&str; 5] = ["weet niet", "geen mening", "n.v.t", "niet zeggen", "liever niet"];

/// True when a value label means "don't know", "not applicable" or "rather not say".
pub fn is_dont_know_label(label: &str) -> bool {
    let folded = fold_label(label);
    NON_SUBSTANTIVE_PHRASES.iter().any(|p| folded.contains(p))
}

/// The dk codes among a column's value labels, in code order.
pub fn dont_know_codes(value_labels: &[(i16, String)]) -> Vec<i16> {
    let mut codes: Vec<i16> = value_labels.iter().filter(|(_, l)| is_dont_know_label(l)).map(|(c, _)| *c).collect();
    codes.sort_unstable();
    codes
}

/// The dk codes of every lake column that has any, by column name. The value labels of a lake
/// column are those of the version whose codes it holds (2022 codes for a 2022 column, also for
/// 2019 rows recoded onto it; 2019 codes for a `<name>_2019` column).
pub fn dont_know_by_column(codebook: &Codebook) -> BTreeMap<String, Vec<i16>> {
    codebook
        .columns
        .iter()
        .map(|c| (c.name.clone(), dont_know_codes(&c.value_labels)))
        .filter(|(_, codes)| !codes.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn codebook() -> Codebook {
        Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    #[test]
    fn labels_give_the_documented_codes() {
        assert!(is_dont_know_label("weet niet /  geen mening"));
        assert!(is_dont_know_label("n.v.t / weet niet"));
        assert!(is_dont_know_label("Zeg ik liever niet"));
        assert!(is_dont_know_label("wil ik liever niet zeggen"));
        assert!(!is_dont_know_label("nee, (bijna) niet"));
        assert!(!is_dont_know_label("niet eens / niet oneens"));
        assert!(!is_dont_know_label("ik heb (nog) geen inkomen"));
        assert!(!is_dont_know_label("meer dan 10"));
    }

    /// The derivation agrees with the dataformats' own `nonsubstantive_codes` for every
    /// variable of every version (2022 and the three 2019 builds).
    #[test]
    fn derivation_matches_every_dataformat() {
        let cb = codebook();
        let mut checked = 0;
        for f in &cb.formats {
            for v in &f.variables {
                let mut declared = v.nonsubstantive.clone();
                declared.sort_unstable();
                assert_eq!(dont_know_codes(&v.value_labels), declared, "{} {}", f.name, v.name);
                checked += 1;
            }
        }
        assert!(checked > 700, "{checked}");
    }

    #[test]
    fn derivation_matches_the_golden_missing_codes() {
        let cb = codebook();
        let by_column = dont_know_by_column(&cb);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/golden/indicators/respondent_scores/missing_codes.csv");
        let mut reader = csv::Reader::from_path(path).unwrap();
        let mut rows = 0;
        for record in reader.records() {
            let record = record.unwrap();
            let expected: Vec<i16> = record[1].parse::<i16>().map(|c| vec![c]).unwrap_or_default();
            let got = by_column.get(&record[0]).cloned().unwrap_or_default();
            assert_eq!(got, expected, "{}", &record[0]);
            assert_eq!(&record[2], "-1|88|99");
            rows += 1;
        }
        assert_eq!(rows, 88);
    }

    #[test]
    fn changed_versions_keep_their_own_dk_code() {
        let by_column = dont_know_by_column(&codebook());
        // ch06: 2019 code 7 was recoded to 8 in the lake; 7 is "no income" in 2022.
        assert_eq!(by_column["ch06"], vec![8]);
        assert_eq!(by_column["ch01"], vec![4]);
        assert_eq!(by_column["zw04_2019"], vec![5]);
        assert_eq!(by_column["wl06_2019"], vec![5]);
        assert!(!by_column.contains_key("dv04"), "dv04 6 = meer dan 10 is valid");
    }
}
