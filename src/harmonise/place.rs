//! Where a respondent lives: the municipality of every row, resolved to today's CBS code, and
//! the district code in its one canonical form.
//!
//! A row's own `gemnr` decides its municipality; rows without one take the municipality the
//! file name gives. One file may hold several municipalities (joint surveys). A municipality
//! that has merged is published under today's; one that was split keeps its old code unless the
//! row's district code says which new municipality it lies in; an unknown number drops the row
//! (and the delivery, when no row is left). Pure.

use std::collections::BTreeMap;

use crate::finding::{self, Finding};
use crate::ingest::Value;
use crate::ingest::discover::NameHints;
use crate::municipality::{
    Municipalities, Municipality, Resolution, code_number, municipality_code, municipality_of_district,
};

use super::values::parse_code;

/// The municipality of every row: `index[r]` points into `municipalities`, `None` when the row's
/// municipality is unknown (the row is dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub municipalities: Vec<Municipality>,
    pub index: Vec<Option<usize>>,
    /// The municipality number as delivered, or the number of the municipality a name in the
    /// `gemnr` column or the file name resolved to.
    pub gemnr: Vec<Option<i16>>,
}

/// The delivered columns [`place`] reads: each column's cells (`None` when the column is absent)
/// and the source row numbers, one per row.
pub struct PlaceColumns<'t> {
    pub gemnr: Option<Vec<Value<'t>>>,
    pub wijknr: Option<Vec<Value<'t>>>,
    pub source_rows: &'t [u32],
}

/// What [`place`] knows besides the columns.
pub struct PlaceContext<'a> {
    pub hints: &'a NameHints,
    pub municipalities: &'a Municipalities,
    pub delivery_id: &'a str,
}

/// The rows [`resolve_rows`] could not place as they are: for the findings.
#[derive(Default)]
struct Unplaced {
    /// Delivered code (empty: none at all) → source rows.
    unknown: BTreeMap<String, Vec<u32>>,
    /// Code of a split municipality whose rows keep it → source rows.
    split_kept: BTreeMap<String, Vec<u32>>,
    /// Delivered code → the municipality it merged into.
    merged: BTreeMap<String, Municipality>,
}

/// Resolves every row's municipality. Returns `None`, with an error finding, when no row can
/// be placed.
pub fn place(columns: &PlaceColumns, cx: &PlaceContext, findings: &mut Vec<Finding>) -> Option<Placement> {
    let rows = columns.source_rows.len();
    let hinted_code = cx.hints.municipality_name.as_deref().and_then(|n| cx.municipalities.code_by_name(n));
    let delivered: Vec<Option<String>> = match &columns.gemnr {
        Some(cells) => cells.iter().map(|c| delivered_code(*c, cx.municipalities)).collect(),
        None => vec![None; rows],
    };
    if let Some(h) = hinted_code
        && let Some(other) = delivered.iter().flatten().find(|c| c.as_str() != h)
        && !delivered.iter().flatten().any(|c| c == h)
    {
        findings.push(
            Finding::new(
                finding::NAME_HINT_DISAGREES,
                cx.delivery_id,
                format!("the file name says municipality {h}, the gemnr column {other}; the column is used"),
            )
            .column("gemnr"),
        );
    }
    let codes: Vec<Option<String>> =
        delivered.into_iter().map(|d| d.or_else(|| hinted_code.map(str::to_string))).collect();
    let (placement, unplaced) = resolve_rows(&codes, columns, cx.municipalities);
    changed_municipality_findings(&unplaced, cx, findings);
    if placement.municipalities.is_empty() {
        let message = match (&columns.gemnr, &cx.hints.municipality_name) {
            (None, None) => "neither a gemnr column nor the file name names the municipality".to_string(),
            (None, Some(name)) => {
                format!("no gemnr column, and the file name's municipality {name:?} is not in the CBS lists")
            }
            (Some(_), _) => {
                let codes: Vec<&str> = unplaced.unknown.keys().filter(|k| !k.is_empty()).map(String::as_str).collect();
                format!("no row has a municipality in the CBS lists (gemnr: {})", codes.join(", "))
            }
        };
        findings.push(Finding::new(finding::MUNICIPALITY_UNKNOWN, cx.delivery_id, message).column("gemnr"));
        return None;
    }
    unknown_rows_findings(&unplaced, cx.delivery_id, findings);
    if placement.municipalities.len() > 1 {
        let list: Vec<String> = placement.municipalities.iter().map(|m| m.code.clone()).collect();
        findings.push(Finding::new(
            finding::JOINT_SURVEY,
            cx.delivery_id,
            format!(
                "the file holds {} municipalities ({}); rows are assigned by their own gemnr",
                list.len(),
                list.join(", ")
            ),
        ));
    }
    Some(placement)
}

/// Each row's municipality from its code (`codes[r]`: delivered, else from the file name).
fn resolve_rows(
    codes: &[Option<String>],
    columns: &PlaceColumns,
    municipalities: &Municipalities,
) -> (Placement, Unplaced) {
    let rows = codes.len();
    let source_rows = columns.source_rows;
    let mut placement = Placement { municipalities: Vec::new(), index: vec![None; rows], gemnr: vec![None; rows] };
    let mut slot_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut unplaced = Unplaced::default();
    for r in 0..rows {
        let Some(code) = codes[r].clone() else {
            unplaced.unknown.entry(String::new()).or_default().push(source_rows[r]);
            continue;
        };
        placement.gemnr[r] = match columns.gemnr.as_ref().map(|cells| parse_code(cells[r])) {
            Some(Ok(Some(n))) => Some(n),
            _ => code_number(&code).map(|n| n as i16),
        };
        let municipality = match municipalities.resolve_code(&code) {
            Resolution::Current(m) => m,
            Resolution::Merged { into, .. } => {
                unplaced.merged.insert(code.clone(), into.clone());
                into
            }
            Resolution::Split { into, .. } => {
                let district = columns.wijknr.as_ref().and_then(|cells| district_code(cells[r], &code));
                let part = district.as_deref().and_then(municipality_of_district);
                match into.iter().find(|m| Some(&m.code) == part.as_ref()) {
                    Some(m) => m.clone(),
                    None => {
                        unplaced.split_kept.entry(code.clone()).or_default().push(source_rows[r]);
                        let name = municipalities.historical_name(&code).unwrap_or(&code).to_string();
                        Municipality { code: code.clone(), name }
                    }
                }
            }
            Resolution::Unknown => {
                unplaced.unknown.entry(code).or_default().push(source_rows[r]);
                continue;
            }
        };
        let next = slot_of.len();
        let slot = *slot_of.entry(municipality.code.clone()).or_insert(next);
        if slot == placement.municipalities.len() {
            placement.municipalities.push(municipality);
        }
        placement.index[r] = Some(slot);
    }
    (placement, unplaced)
}

/// Findings for rows published under another code than delivered: mergers and splits.
fn changed_municipality_findings(unplaced: &Unplaced, cx: &PlaceContext, findings: &mut Vec<Finding>) {
    for (from, into) in &unplaced.merged {
        findings.push(Finding::new(
            finding::MUNICIPALITY_MERGED,
            cx.delivery_id,
            format!("{from} has merged into {} {}; its rows are published under {}", into.code, into.name, into.code),
        ));
    }
    for (from, rows) in &unplaced.split_kept {
        let list: Vec<String> = match cx.municipalities.resolve_code(from) {
            Resolution::Split { into, .. } => into.iter().map(|m| m.code.clone()).collect(),
            _ => Vec::new(),
        };
        findings.push(
            Finding::new(
                finding::MUNICIPALITY_SPLIT,
                cx.delivery_id,
                format!(
                    "{from} was divided over {}; rows without a district code in one of them keep \
                     the old code {from}",
                    list.join(", ")
                ),
            )
            .column("gemnr")
            .rows(rows),
        );
    }
}

/// Findings for rows dropped because their municipality is unknown.
fn unknown_rows_findings(unplaced: &Unplaced, delivery_id: &str, findings: &mut Vec<Finding>) {
    for (code, rows) in &unplaced.unknown {
        let what = if code.is_empty() {
            "no municipality".to_string()
        } else {
            format!("{code}, which is not in the CBS lists")
        };
        findings.push(
            Finding::new(
                finding::ROWS_MUNICIPALITY_UNKNOWN,
                delivery_id,
                format!("{} row(s) have {what}; they are not published", rows.len()),
            )
            .column("gemnr")
            .rows(rows),
        );
    }
}

/// The CBS code a `gemnr` cell names: a number (`363`), a code (`GM0363`) or a name.
fn delivered_code(cell: Value, municipalities: &Municipalities) -> Option<String> {
    if let Ok(Some(n)) = parse_code(cell) {
        return u16::try_from(n).ok().filter(|&n| n > 0).map(municipality_code);
    }
    let Value::Text(t) = cell else { return None };
    let t = t.trim();
    let upper = t.to_ascii_uppercase();
    if code_number(&upper).is_some() {
        return Some(upper);
    }
    municipalities.code_by_name(t).map(str::to_string)
}

/// Normalises a district code to `WK` + 6 digits, from the forms agencies use: `WK036301`,
/// `WK 0363 01`, `036301`, `36301` (a full code that lost its leading zeros: 3 to 6 digits), or
/// a district number within the municipality (1 or 2 digits, prefixed with `gemeente_code`'s
/// digits). Anything else gives null.
pub fn district_code(cell: Value, gemeente_code: &str) -> Option<String> {
    let text = match cell {
        Value::Empty => return None,
        Value::Number(v) if v.fract() == 0.0 && v >= 0.0 => format!("{}", v as u64),
        Value::Number(_) | Value::Date(_) => return None,
        Value::Text(t) => t.to_ascii_uppercase(),
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact.strip_prefix("WK").unwrap_or(&compact);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.len() {
        1 | 2 => Some(format!("WK{}{:0>2}", gemeente_code.trim_start_matches("GM"), digits)),
        3..=6 => Some(format!("WK{digits:0>6}")),
        _ => None,
    }
}

/// The survey year: the `jr` column, else the file name. Several years reject the delivery.
pub fn survey_year(
    jr: &[Option<i16>],
    hints: &NameHints,
    delivery_id: &str,
    findings: &mut Vec<Finding>,
) -> Option<u16> {
    let mut years: Vec<i16> = jr.iter().flatten().copied().collect();
    years.sort_unstable();
    years.dedup();
    match years.as_slice() {
        [] => {
            if hints.year.is_none() {
                findings.push(Finding::new(
                    finding::YEAR_MISSING,
                    delivery_id,
                    "neither the jr column nor the file name gives the survey year",
                ));
            }
            hints.year
        }
        [y] => {
            let y = *y as u16;
            if let Some(h) = hints.year.filter(|h| *h != y) {
                findings.push(
                    Finding::new(
                        finding::NAME_HINT_DISAGREES,
                        delivery_id,
                        format!("the file name says year {h}, the jr column {y}; {y} is used"),
                    )
                    .column("jr"),
                );
            }
            Some(y)
        }
        many => {
            let list: Vec<String> = many.iter().map(|y| y.to_string()).collect();
            findings.push(
                Finding::new(
                    finding::YEAR_MIXED,
                    delivery_id,
                    format!("the jr column holds several years: {}", list.join(", ")),
                )
                .column("jr"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn municipalities() -> Municipalities {
        Municipalities::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn text(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    fn run(gemnr: &[&str], wijknr: &[&str], hints: &NameHints) -> (Option<Placement>, Vec<Finding>) {
        let g: Vec<Value<'_>> = gemnr.iter().map(|s| text(s)).collect();
        let w: Vec<Value<'_>> = wijknr.iter().map(|s| text(s)).collect();
        let rows: Vec<u32> = (1..=gemnr.len() as u32).collect();
        let mut f = Vec::new();
        let columns = PlaceColumns { gemnr: Some(g), wijknr: Some(w), source_rows: &rows };
        let municipalities = municipalities();
        let p = place(&columns, &PlaceContext { hints, municipalities: &municipalities, delivery_id: "d" }, &mut f);
        (p, f)
    }

    fn codes(p: &Placement) -> Vec<Option<&str>> {
        p.index.iter().map(|i| i.map(|i| p.municipalities[i].code.as_str())).collect()
    }

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn district_codes_come_in_many_forms() {
        for form in ["WK036301", "wk036301", "036301", "36301", "WK 0363 01", " WK0363 01 "] {
            assert_eq!(district_code(text(form), "GM0363").as_deref(), Some("WK036301"), "{form:?}");
        }
        assert_eq!(district_code(Value::Number(36301.0), "GM0363").as_deref(), Some("WK036301"));
        assert_eq!(district_code(text("3"), "GM0363").as_deref(), Some("WK036303"));
        assert_eq!(district_code(text("Noord"), "GM0363"), None);
        assert_eq!(district_code(text("1234567"), "GM0363"), None);
    }

    #[test]
    fn joint_surveys_assign_rows_by_their_own_number() {
        let (p, f) = run(&["344", "363", "GM0344", "Utrecht", "457"], &["", "", "", "", ""], &NameHints::default());
        let p = p.unwrap();
        // Weesp (457) merged into Amsterdam.
        assert_eq!(codes(&p), [Some("GM0344"), Some("GM0363"), Some("GM0344"), Some("GM0344"), Some("GM0363")]);
        assert_eq!(p.gemnr, [Some(344), Some(363), Some(344), Some(344), Some(457)]);
        assert_eq!(rules(&f), [finding::MUNICIPALITY_MERGED.id, finding::JOINT_SURVEY.id]);
    }

    #[test]
    fn unknown_numbers_drop_rows_or_the_delivery() {
        let (p, f) = run(&["344", "9999", ""], &["", "", ""], &NameHints::default());
        let p = p.unwrap();
        assert_eq!(codes(&p), [Some("GM0344"), None, None]);
        let dropped: Vec<_> =
            f.iter().filter(|f| f.rule == finding::ROWS_MUNICIPALITY_UNKNOWN.id).map(|f| f.rows.clone()).collect();
        assert_eq!(dropped, [vec![3], vec![2]]);
        let (p, f) = run(&["9999", "9998"], &["", ""], &NameHints::default());
        assert!(p.is_none());
        assert_eq!(rules(&f), [finding::MUNICIPALITY_UNKNOWN.id]);
        assert_eq!(f[0].severity, finding::Severity::Error);
    }

    #[test]
    fn split_municipalities_keep_their_code_unless_the_district_tells() {
        // Littenseradiel (140) was divided over Leeuwarden (80), Súdwest-Fryslân (1900) and
        // Waadhoeke (1949).
        let (p, f) = run(&["140", "140"], &["WK190001", ""], &NameHints::default());
        let p = p.unwrap();
        assert_eq!(codes(&p), [Some("GM1900"), Some("GM0140")]);
        assert_eq!(p.municipalities[1].name, "Littenseradiel");
        let split = f.iter().find(|f| f.rule == finding::MUNICIPALITY_SPLIT.id).unwrap();
        assert_eq!((split.severity, split.rows.as_slice()), (finding::Severity::Warning, &[2][..]));
    }

    #[test]
    fn the_file_name_fills_rows_without_a_number() {
        let hints = NameHints { year: None, quarter: None, municipality_name: Some("'s-Hertogenbosch".into()) };
        let (p, f) = run(&["", ""], &["", ""], &hints);
        assert_eq!(codes(&p.unwrap()), [Some("GM0796"), Some("GM0796")]);
        assert!(f.is_empty());
        let (_, f) = run(&["344"], &[""], &hints);
        assert_eq!(rules(&f), [finding::NAME_HINT_DISAGREES.id]);
    }
}
