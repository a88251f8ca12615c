//! The delivered columns of one delivery: which canonical column each one fills
//! ([`map_columns`]), and filling a batch column from its cells ([`fill_column`]).
//!
//! What it must NOT do: decide the version, the year or the municipality (the caller does, in
//! `harmonise`), or read a cell of a column it drops.

use std::collections::BTreeSet;

use super::place::{self, Placement};
use super::values::{self, grouping_mark, parse_code, parse_decimal, parse_number};
use super::{Batch, ColumnMapping, privacy};
use crate::codebook::{Answer, Codebook, Questionnaire, ResearchVariable, Target};
use crate::finding::{self, Finding};
use crate::ingest::{RawTable, Value};
use crate::municipality::{municipality_code, municipality_of_district};

/// Where a delivered column's cells go.
pub(super) enum Slot<'c> {
    Research(ResearchVariable),
    Answer(&'c Answer),
}

/// Whole-number codes of column `col` (null where a cell is not one); all null without it.
pub(super) fn codes_of(table: &RawTable, col: Option<usize>) -> Vec<Option<i16>> {
    match col {
        Some(c) => table.column(c).map(|v| parse_code(v).ok().flatten()).collect(),
        None => vec![None; table.rows.len()],
    }
}

/// Maps the delivered columns (by their screened `names`) onto the version's variables, first
/// occurrence wins; records every mapped and dropped column and the findings on them.
pub(super) fn map_columns<'c>(
    table: &RawTable,
    names: &[String],
    q: Questionnaire,
    codebook: &'c Codebook,
    delivery_id: &str,
    mapping: &mut ColumnMapping,
    findings: &mut Vec<Finding>,
) -> Vec<(usize, Slot<'c>)> {
    let mut slots: Vec<(usize, Slot)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    for (i, (delivered, name)) in table.header.iter().zip(names).enumerate() {
        if name.is_empty() {
            continue;
        }
        if !seen.insert(name.clone()) {
            findings.push(
                Finding::new(
                    finding::COLUMN_DUPLICATE,
                    delivery_id,
                    format!("column {delivered:?} occurs more than once; the first is used"),
                )
                .column(delivered.clone()),
            );
            mapping.dropped.push((delivered.clone(), "duplicate".into()));
            continue;
        }
        match codebook.target(q, name) {
            Some(Target::Research(r)) => {
                mapping.mapped.push((delivered.clone(), r.name().to_string()));
                slots.push((i, Slot::Research(*r)));
            }
            Some(Target::Answer(a)) => {
                mapping.mapped.push((delivered.clone(), codebook.columns[a.column].name.clone()));
                slots.push((i, Slot::Answer(a)));
            }
            Some(Target::Excluded { reason }) => {
                findings.push(
                    Finding::new(
                        finding::COLUMN_EXCLUDED,
                        delivery_id,
                        format!("column {delivered:?} is dropped unread: {reason}"),
                    )
                    .column(delivered.clone()),
                );
                mapping.dropped.push((delivered.clone(), reason.clone()));
            }
            None => match privacy::name_kind(name) {
                Some(kind) => {
                    findings.push(privacy::name_finding(delivery_id, delivered, kind));
                    mapping.dropped.push((delivered.clone(), format!("personal data by its name: {}", kind.as_str())));
                }
                None => {
                    unknown.push(delivered.clone());
                    mapping.dropped.push((delivered.clone(), "not a variable of this dataformat".into()));
                }
            },
        }
    }
    if !unknown.is_empty() {
        findings.push(Finding::new(
            finding::COLUMN_UNKNOWN,
            delivery_id,
            format!(
                "{} column(s) are not variables of the {} dataformat and were dropped: {}",
                unknown.len(),
                q.as_str(),
                unknown.join(", ")
            ),
        ));
    }
    if !slots.iter().any(|(_, s)| matches!(s, Slot::Answer { .. })) {
        findings.push(Finding::new(
            finding::NO_QUESTIONNAIRE_COLUMNS,
            delivery_id,
            "no column is a questionnaire variable of the dataformat",
        ));
    }
    slots
}

/// What filling a column needs besides the batch.
pub(super) struct Fill<'a> {
    pub table: &'a RawTable,
    pub codebook: &'a Codebook,
    pub delivery_id: &'a str,
    pub vragenlijst: Questionnaire,
    pub placement: &'a Placement,
}

/// Fills the batch column that delivered column `i` maps to, with its findings.
pub(super) fn fill_column(batch: &mut Batch, fill: &Fill, i: usize, slot: &Slot, findings: &mut Vec<Finding>) {
    match slot {
        Slot::Research(ResearchVariable::Respondent) => fill_respondent(batch, fill, i, findings),
        Slot::Research(ResearchVariable::Weging) => fill_weging(batch, fill, i, findings),
        Slot::Research(ResearchVariable::Wijknr) => fill_wijknr(batch, fill, i, findings),
        Slot::Research(var @ (ResearchVariable::Kw | ResearchVariable::Veldwerkmodus | ResearchVariable::Org)) => {
            fill_labelled_research(batch, fill, i, *var, findings)
        }
        // Read before the version and municipality were decided.
        Slot::Research(ResearchVariable::Gemnr | ResearchVariable::Jr) => {}
        Slot::Answer(answer) => fill_answer(batch, fill, i, answer, findings),
    }
}

/// Respondent numbers: whole numbers (`F8.0` in the dataformat). Anything else is not a
/// respondent number: the row stays, numbered after its source row like a row without one, so
/// every respondent key is built from a real number.
fn fill_respondent(batch: &mut Batch, fill: &Fill, i: usize, findings: &mut Vec<Finding>) {
    let table = fill.table;
    let mut not_numbers = Vec::new();
    for (r, cell) in table.column(i).enumerate() {
        let number = respondent_text(cell);
        match number {
            Some(n) if !n.bytes().all(|b| b.is_ascii_digit()) => not_numbers.push(table.source_rows[r]),
            _ => batch.respondent[r] = number,
        }
    }
    if !not_numbers.is_empty() {
        findings.push(
            Finding::new(
                finding::RESPONDENT_NOT_A_NUMBER,
                fill.delivery_id,
                format!(
                    "{} respondentnummer(s) zijn geen geheel getal; die rijen krijgen een nummer naar hun bronrij",
                    not_numbers.len()
                ),
            )
            .column(table.header[i].clone())
            .rows(&not_numbers),
        );
    }
}

/// `kw`, `veldwerkmodus` and `org`: codes, or value labels of the delivered version decoded by
/// the matcher the questionnaire answers use; for `org` also the agency table's names.
fn fill_labelled_research(
    batch: &mut Batch,
    fill: &Fill,
    i: usize,
    var: ResearchVariable,
    findings: &mut Vec<Finding>,
) {
    let table = fill.table;
    let target = match var {
        ResearchVariable::Kw => &mut batch.kw,
        ResearchVariable::Veldwerkmodus => &mut batch.veldwerkmodus,
        _ => &mut batch.org,
    };
    let (mut bad_rows, mut from_labels, mut unknown_agencies) = (Vec::new(), Vec::new(), Vec::new());
    for (r, cell) in table.column(i).enumerate() {
        let source_row = table.source_rows[r];
        match (parse_code(cell), cell) {
            (Ok(v), _) => target[r] = v,
            (Err(()), Value::Text(t)) => match fill.codebook.research_code_of_label(fill.vragenlijst, var, t) {
                Some(code) => {
                    target[r] = Some(code);
                    from_labels.push(source_row);
                }
                None if var == ResearchVariable::Org => unknown_agencies.push(source_row),
                None => bad_rows.push(source_row),
            },
            (Err(()), _) => bad_rows.push(source_row),
        }
    }
    let column_name = &table.header[i];
    let mut report = |rule: finding::Rule, rows: &[u32], message: String| {
        if !rows.is_empty() {
            findings.push(Finding::new(rule, fill.delivery_id, message).column(column_name.clone()).rows(rows));
        }
    };
    report(
        finding::VALUE_NOT_A_CODE,
        &bad_rows,
        format!("{} value(s) are not whole-number codes and were set to null", bad_rows.len()),
    );
    report(
        finding::LABELS_AS_CODES,
        &from_labels,
        format!("{} value(s) were delivered as value labels and read as their codes", from_labels.len()),
    );
    report(
        finding::AGENCY_UNKNOWN,
        &unknown_agencies,
        format!(
            "{} cel(len) noemen een onderzoeksbureau dat niet in de dataformat of in config/agencies.csv staat; \
             org is daar leeg. Voeg de naam (of schrijfwijze) toe aan config/agencies.csv",
            unknown_agencies.len()
        ),
    );
}

fn fill_weging(batch: &mut Batch, fill: &Fill, i: usize, findings: &mut Vec<Finding>) {
    let table = fill.table;
    let grouping = grouping_mark(table.column(i));
    let mut bad_rows = Vec::new();
    for (r, cell) in table.column(i).enumerate() {
        match parse_decimal(cell, grouping) {
            Ok(v) => batch.weging[r] = v,
            Err(()) => bad_rows.push(table.source_rows[r]),
        }
    }
    if !bad_rows.is_empty() {
        findings.push(
            Finding::new(
                finding::WEGING_INVALID,
                fill.delivery_id,
                format!("{} weging value(s) are not numbers and were set to null", bad_rows.len()),
            )
            .column(table.header[i].clone())
            .rows(&bad_rows),
        );
    }
}

fn fill_wijknr(batch: &mut Batch, fill: &Fill, i: usize, findings: &mut Vec<Finding>) {
    let table = fill.table;
    let mut elsewhere = Vec::new();
    for (r, cell) in table.column(i).enumerate() {
        let code = &batch.municipalities[batch.gemeente[r]].code;
        let district = place::district_code(cell, code);
        // A district of the municipality as delivered (before a merger) is fine.
        let delivered = batch.gemnr[r].and_then(|n| u16::try_from(n).ok()).map(municipality_code);
        if let Some(lies_in) = district.as_deref().and_then(municipality_of_district)
            && &lies_in != code
            && Some(&lies_in) != delivered.as_ref()
            && fill.placement.index[r].is_some()
        {
            elsewhere.push(table.source_rows[r]);
        }
        batch.wijknr[r] = district;
    }
    if !elsewhere.is_empty() {
        findings.push(
            Finding::new(
                finding::DISTRICT_OTHER_MUNICIPALITY,
                fill.delivery_id,
                format!("{} district code(s) lie in another municipality than the row's gemnr", elsewhere.len()),
            )
            .column(table.header[i].clone())
            .rows(&elsewhere),
        );
    }
}

fn fill_answer(batch: &mut Batch, fill: &Fill, i: usize, answer: &Answer, findings: &mut Vec<Finding>) {
    let table = fill.table;
    let column_name = &table.header[i];
    let column = values::answer_column(table.column(i), answer);
    batch.answers[answer.column] = column.values.into();
    if let (Some(keep), Some(original)) = (answer.recode.as_ref().and_then(|r| r.keep_2019), column.original) {
        batch.answers[keep] = original.into();
    }
    let rows_of = |idx: &[usize]| -> Vec<u32> { idx.iter().map(|&r| table.source_rows[r]).collect() };
    let target = &fill.codebook.columns[answer.column].name;
    let mut report = |rule: finding::Rule, idx: &[usize], what: String| {
        if !idx.is_empty() {
            findings.push(
                Finding::new(rule, fill.delivery_id, format!("{} {what}", idx.len()))
                    .column(column_name.clone())
                    .rows(&rows_of(idx)),
            );
        }
    };
    report(
        finding::DATE_IN_QUESTIONNAIRE,
        &column.dates,
        "cell(s) are formatted as dates, not codes (a spreadsheet may have turned a code into a date); \
         set to null"
            .into(),
    );
    report(
        finding::VALUE_NOT_A_CODE,
        &column.not_a_code,
        "value(s) are neither whole-number codes nor value labels of the variable; set to null".into(),
    );
    report(
        finding::CODE_INVALID,
        &column.invalid,
        format!(
            "value(s) are not valid codes of {} in the {} dataformat; set to null",
            column_name,
            fill.vragenlijst.as_str()
        ),
    );
    report(
        finding::RECODE_UNMAPPABLE,
        &column.unmappable,
        format!(
            "2019 answer(s) have no {target} code in 2022; {target} is null for them and {target}_2019 keeps \
             the 2019 code"
        ),
    );
    report(
        finding::LABELS_AS_CODES,
        &column.from_labels,
        "value(s) were delivered as value labels and read as their codes".into(),
    );
}

/// A respondent number as text: whole numbers without a decimal point, text trimmed.
fn respondent_text(cell: Value) -> Option<String> {
    match cell {
        Value::Empty => None,
        Value::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => Some(format!("{}", v as i64)),
        Value::Number(v) => Some(v.to_string()),
        Value::Text(t) => {
            let t = t.trim();
            // `1234.0` or `1234,00` from a tool that writes every number with decimals.
            match parse_number(Value::Text(t)) {
                Ok(Some(v)) if !t.bytes().all(|b| b.is_ascii_digit()) && v >= 0.0 && v.fract() == 0.0 && v < 1e15 => {
                    Some(format!("{}", v as i64))
                }
                _ => Some(t.to_string()).filter(|t| !t.is_empty()),
            }
        }
        Value::Date(d) => Some(d.to_string()),
    }
}
