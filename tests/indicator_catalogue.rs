//! The indicator catalogue against the VNG workbook `Metadata indicatoren WSJG rapportages.xlsx`
//! (`shared/reference-data/vng-indicators/`, sheet `Indicators`, 523 codes): every workbook code
//! is in exactly one of `config/indicators/catalogue.csv` and `not-computable.csv`, neither file
//! holds a code the workbook lacks, labels and data types are the workbook's, and the catalogue
//! loads and validates against the codebook. It also agrees with the definitions the golden
//! aggregate fixtures (`shared/golden/indicators/*/indicators.csv`) use.

mod common;
use common::shared;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::indicators::catalogue::{Catalogue, Kind};
use calamine::{Reader, Xlsx, open_workbook};

/// One workbook row: name (the label) and data type, by code.
struct WorkbookCode {
    name: String,
    data_type: String,
}

fn workbook() -> BTreeMap<String, WorkbookCode> {
    let path = shared().join("reference-data/vng-indicators/Metadata indicatoren WSJG rapportages.xlsx");
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let range = book.worksheet_range("Indicators").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name:?}"));
    let (code, name, data_type) = (at("Indicator code"), at("Name"), at("Data type"));
    let mut codes = BTreeMap::new();
    for row in rows {
        let code = row[code].to_string();
        if code.is_empty() {
            continue;
        }
        let entry = WorkbookCode { name: row[name].to_string(), data_type: row[data_type].to_string() };
        assert!(codes.insert(code.clone(), entry).is_none(), "workbook code {code} twice");
    }
    codes
}

fn catalogue() -> Catalogue {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let codebook = Codebook::load(&config).unwrap();
    Catalogue::load(&config, &codebook).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_workbook_code_is_in_exactly_one_file_and_no_code_is_invented() {
    let workbook = workbook();
    assert_eq!(workbook.len(), 523, "the workbook has 523 codes");
    let catalogue = catalogue();
    let computable: BTreeSet<&str> = catalogue.indicators.iter().map(|i| i.code.as_str()).collect();
    let not_computable: BTreeSet<&str> = catalogue.not_computable.iter().map(|n| n.code.as_str()).collect();
    let both: Vec<_> = computable.intersection(&not_computable).collect();
    assert!(both.is_empty(), "in both files: {both:?}");
    let listed: BTreeSet<&str> = computable.union(&not_computable).copied().collect();
    let forgotten: Vec<_> = workbook.keys().filter(|c| !listed.contains(c.as_str())).collect();
    assert!(forgotten.is_empty(), "workbook codes in neither file: {forgotten:?}");
    let invented: Vec<_> = listed.iter().filter(|c| !workbook.contains_key(**c)).collect();
    assert!(invented.is_empty(), "codes not in the workbook: {invented:?}");
    assert_eq!(catalogue.indicators.len() + catalogue.not_computable.len(), workbook.len());
}

#[test]
fn labels_and_data_types_are_the_workbooks() {
    let workbook = workbook();
    for i in &catalogue().indicators {
        let w = &workbook[&i.code];
        assert_eq!(i.label, w.name, "label of {}", i.code);
        assert_eq!(i.vng_type.as_str(), w.data_type, "data type of {}", i.code);
    }
}

#[test]
fn administrative_codes_and_2019_only_questions_are_not_computable() {
    let workbook = workbook();
    let catalogue = catalogue();
    // Enum codes say whether the municipality took part: no answer gives them.
    for (code, w) in &workbook {
        if w.data_type == "Enum" {
            assert!(catalogue.indicator(code).is_none(), "{code} is an Enum code");
        }
    }
    // The one Numeric code that is a figure: the unweighted number of respondents.
    assert_eq!(catalogue.indicator("bp_respons").map(|i| i.kind), Some(Kind::Count));
    for code in ["wl11_0", "vz02_0", "vz02_1", "bo04_0", "dv03_pin0", "sc01_0"] {
        assert!(catalogue.not_computable.iter().any(|n| n.code == code), "{code} is 2019-only");
    }
}

/// The golden aggregate fixtures name, per indicator code, the variable and the counted codes
/// (`indicators.csv`); the catalogue must define those codes the same way.
#[test]
fn catalogue_agrees_with_the_golden_aggregate_definitions() {
    let (catalogue, workbook) = (catalogue(), workbook());
    let (mut checked, mut unpublished) = (0, 0);
    for case in ["municipality_aggregates", "national_by_age"] {
        let file = shared().join("golden/indicators").join(case).join("indicators.csv");
        let mut reader = csv::Reader::from_path(&file).unwrap();
        let headers = reader.headers().unwrap().clone();
        let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
        for row in reader.records() {
            let row = row.unwrap();
            let (code, variable, numerator, base) =
                (&row[at("indicator")], &row[at("variable")], &row[at("numerator")], &row[at("base")]);
            // The fixtures also use items VNG does not publish (`wl02_2`, new in 2022): the
            // catalogue holds published codes only.
            let Some(i) = catalogue.indicator(code) else {
                assert!(!workbook.contains_key(code), "{case}: published code {code} not in the catalogue");
                unpublished += 1;
                continue;
            };
            assert_eq!(i.source, variable, "{case}: source of {code}");
            let codes: Vec<String> = i.codes.iter().map(|c| c.to_string()).collect();
            assert_eq!(codes.join("|"), numerator, "{case}: codes of {code}");
            let expected = match (numerator.is_empty(), base.contains("at least one")) {
                (true, _) => Kind::Mean,
                (false, true) => Kind::MrPercent,
                (false, false) => Kind::Percent,
            };
            assert_eq!(i.kind, expected, "{case}: kind of {code}");
            checked += 1;
        }
    }
    assert_eq!((checked, unpublished), (34 + 14 - 1, 1));
}
