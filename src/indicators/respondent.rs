//! From the lake's columns of one survey year to the respondent-level indicators, and from
//! those to the Arrow record batch of `indicators/respondents/jaar=YYYY/part-0000.parquet`.
//!
//! This is where the lake's codes meet the formulas: dk codes (per column, from the codebook's
//! value labels) become missing, the checkbox sets VNG's `recode.R` fills with 0 get their 0,
//! and the 2019 rule is applied (an indicator that needs an item whose meaning changed in 2022
//! is null for 2019 rows). It must not write files or read the clock; the formulas themselves
//! live in `formulas.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::{Array, ArrayRef, Float64Array, Int16Array, RecordBatch, StringArray, new_empty_array};
use arrow_schema::{DataType, Field, Schema};
use arrow_select::concat::concat;
use rayon::prelude::*;

use super::definitions::{DEFINITIONS, Kind, items_needed};
use super::dont_know::dont_know_by_column;
use super::formulas::{self, ItemColumns, PART_BREAKS, QOL_BREAKS};
use crate::codebook::{CodeSet, Codebook, Comparability, SUFFIX_2019};

/// Checkbox items whose unticked (missing) box `recode.R` counts as 0. Not `zw13_9` and
/// `zw13_10` ("cannot" / "will not"): VNG leaves those missing, which `hlp_wei` depends on.
const CHECKBOX_ZERO: [&str; 15] = [
    "zw05_0", "zw05_1", "zw05_2", "zw05_3", "zw05_4", "zw05_5", "zw13_0", "zw13_1", "zw13_2", "zw13_3", "zw13_4",
    "zw13_5", "zw13_6", "zw13_7", "zw13_8",
];

/// What the stage needs to know from the codebook, derived once.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringRules {
    /// dk / n.a. / refusal codes per lake column (value-label derived).
    pub dont_know: BTreeMap<String, Vec<i16>>,
    /// Items whose 2019 answers live in `<name>_2019` because their meaning changed: an
    /// indicator that needs one of them is null for 2019 rows.
    pub changed_in_2022: BTreeSet<String>,
}

impl ScoringRules {
    pub fn from_codebook(codebook: &Codebook) -> ScoringRules {
        let changed_in_2022 = codebook
            .columns
            .iter()
            .filter(|c| c.comparability == Comparability::Only2022)
            .filter(|c| codebook.column_index(&format!("{}{SUFFIX_2019}", c.name)).is_some())
            .map(|c| c.name.clone())
            .collect();
        ScoringRules { dont_know: dont_know_by_column(codebook), changed_in_2022 }
    }
}

/// The clean questionnaire items of one survey year: a view of every int16 column of the lake
/// batch, dk codes missing, checkbox sets filled with 0 as `recode.R` does.
///
/// A view, not a copy: a column is decoded when a formula or a figure asks for it, and lives
/// only as long as that caller needs it. At ten times the benchmark corpus a year's 196 items
/// as `Option<f64>` columns took a gigabyte, two years at a time (issue 17).
pub struct Items<'a> {
    respondent_key: &'a ArrayRef,
    /// True for rows of a 2019 questionnaire (`vragenlijst` = "2019").
    pub is_2019: Vec<bool>,
    columns: BTreeMap<&'a str, ItemColumn<'a>>,
}

/// One lake column and how to clean it.
struct ItemColumn<'a> {
    codes: &'a Int16Array,
    dont_know: CodeSet,
    /// An unticked box of a checkbox set counts 0 (`CHECKBOX_ZERO`).
    zero: bool,
}

impl ItemColumn<'_> {
    /// The clean values of `rows`, NaN for missing. One pass over the codes and the validity
    /// bits: decoding row by row through `Option` was a sixth of the indicators' time.
    fn decode(&self, rows: Range<usize>) -> Vec<f64> {
        let missing = if self.zero { 0.0 } else { f64::NAN };
        let clean = |code: i16| if self.dont_know.contains(code) { missing } else { f64::from(code) };
        let codes = &self.codes.values()[rows.clone()];
        match self.codes.nulls() {
            None => codes.iter().map(|&c| clean(c)).collect(),
            Some(valid) => rows.zip(codes).map(|(r, &c)| if valid.is_valid(r) { clean(c) } else { missing }).collect(),
        }
    }
}

impl<'a> Items<'a> {
    /// Reads the lake batch. `Err` only when `respondent_key` or `vragenlijst` is absent or of
    /// the wrong type, or `vragenlijst` holds another value than 2019 or 2022: the lake's schema
    /// guarantees all three, so this is a wiring error, not a data problem.
    pub fn from_batch(batch: &'a RecordBatch, rules: &'a ScoringRules) -> Result<Items<'a>> {
        string_column(batch, "respondent_key")?;
        let respondent_key = batch.column_by_name("respondent_key").context("the batch has no respondent_key")?;
        let versions = string_column(batch, "vragenlijst")?;
        let mut is_2019 = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            match versions.is_valid(i).then(|| versions.value(i)) {
                Some("2019") => is_2019.push(true),
                Some("2022") => is_2019.push(false),
                other => bail!("vragenlijst of row {i} is {other:?}, expected 2019 or 2022"),
            }
        }
        let mut columns = BTreeMap::new();
        for (field, array) in batch.schema_ref().fields().iter().zip(batch.columns()) {
            let Some(codes) = array.as_any().downcast_ref::<Int16Array>() else { continue };
            let name = field.name().as_str();
            let dont_know = CodeSet::new(rules.dont_know.get(name).map_or(&[], Vec::as_slice));
            columns.insert(name, ItemColumn { codes, dont_know, zero: CHECKBOX_ZERO.contains(&name) });
        }
        Ok(Items { respondent_key, is_2019, columns })
    }

    pub fn rows(&self) -> usize {
        self.is_2019.len()
    }

    /// A clean item column with NaN for missing, as the formulas and the figures take it, for
    /// `rows`; `None` when the batch has no such column.
    pub fn get_nan(&self, name: &str, rows: Range<usize>) -> Option<Vec<f64>> {
        Some(self.columns.get(name)?.decode(rows))
    }

    /// The item columns' names, in name order.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.columns.keys().copied()
    }
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .with_context(|| format!("the batch has no column {name}"))?
        .as_any()
        .downcast_ref::<StringArray>()
        .with_context(|| format!("column {name} is not a string column"))
}

/// The respondent-level indicators of one survey year: the record batch of
/// `indicators/respondents/jaar=YYYY/part-0000.parquet` itself (`respondent_key`, then every
/// indicator in `definitions::DEFINITIONS` order: Int16 for 0/1 and whole numbers, Float64 for
/// scores, each field with its Dutch `label` and `definition`).
///
/// The figures read their columns from it too, so a year's indicators exist once, in the
/// compact form they are written in.
#[derive(Clone, Debug, PartialEq)]
pub struct RespondentIndicators {
    batch: RecordBatch,
}

impl RespondentIndicators {
    /// An indicator's values, `None` when there is no such indicator.
    pub fn column(&self, name: &str) -> Option<Vec<Option<f64>>> {
        let array = self.batch.column_by_name(name)?;
        if let Some(a) = array.as_any().downcast_ref::<Int16Array>() {
            return Some(a.iter().map(|v| v.map(f64::from)).collect());
        }
        array.as_any().downcast_ref::<Float64Array>().map(|a| a.iter().collect())
    }

    /// An indicator's values with NaN for null, as the figures take them; `None` when there is
    /// no such indicator.
    pub fn column_nan(&self, name: &str) -> Option<Vec<f64>> {
        let array = self.batch.column_by_name(name)?;
        if let Some(a) = array.as_any().downcast_ref::<Int16Array>() {
            return Some(a.iter().map(|v| v.map_or(f64::NAN, f64::from)).collect());
        }
        array.as_any().downcast_ref::<Float64Array>().map(|a| a.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// The indicators' names, in `DEFINITIONS` order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.batch.schema_ref().fields().iter().skip(1).map(|f| f.name().as_str())
    }

    pub fn respondent_key(&self, row: usize) -> &str {
        self.batch.column(0).as_any().downcast_ref::<StringArray>().map_or("", |a| a.value(row))
    }

    pub fn record_batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn into_record_batch(self) -> RecordBatch {
        self.batch
    }
}

/// Rows scored at a time. Every formula is row-wise (the typology's breaks are frozen, nothing
/// is estimated from the column), so a year is scored in chunks, in parallel, and the
/// formulas' intermediate columns exist per chunk instead of for the whole year: at ten times
/// the benchmark corpus they were 200 MB a year.
const CHUNK_ROWS: usize = 1 << 15;

/// Computes every indicator, then applies the 2019 rule, into the record batch to write.
pub fn score(items: &Items, rules: &ScoringRules) -> Result<RespondentIndicators> {
    let changed: Vec<bool> =
        DEFINITIONS.iter().map(|d| items_needed(d.name).iter().any(|i| rules.changed_in_2022.contains(*i))).collect();
    let starts: Vec<usize> = (0..items.rows()).step_by(CHUNK_ROWS).collect();
    let chunks: Vec<Vec<ArrayRef>> = starts
        .par_iter()
        .map(|&start| score_rows(items, start..(start + CHUNK_ROWS).min(items.rows()), &changed))
        .collect();
    // Each column's parts are taken out of the chunks, so they are freed as soon as that
    // column is joined: holding every chunk until all columns were joined doubled a year's
    // indicators for a moment, and two years of that were the peak of a run at ten times the
    // benchmark corpus.
    let mut per_column: Vec<Vec<ArrayRef>> = DEFINITIONS.iter().map(|_| Vec::with_capacity(chunks.len())).collect();
    for chunk in chunks {
        for (parts, array) in per_column.iter_mut().zip(chunk) {
            parts.push(array);
        }
    }
    let mut fields = vec![Field::new("respondent_key", DataType::Utf8, false)];
    let mut arrays: Vec<ArrayRef> = vec![items.respondent_key.clone()];
    for (def, parts) in DEFINITIONS.iter().zip(per_column) {
        let data_type = match def.kind {
            Kind::Binary | Kind::Whole => DataType::Int16,
            Kind::Score => DataType::Float64,
        };
        let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        arrays.push(match parts.as_slice() {
            [] => new_empty_array(&data_type),
            [one] => one.slice(0, one.len()),
            _ => concat(&parts).context("joining the scored chunks")?,
        });
        let metadata = HashMap::from([
            ("label".to_string(), def.label.to_string()),
            ("definition".to_string(), def.definition.to_string()),
        ]);
        fields.push(Field::new(def.name, data_type, true).with_metadata(metadata));
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema_metadata()));
    let batch = RecordBatch::try_new(schema, arrays).context("building the indicators record batch")?;
    Ok(RespondentIndicators { batch })
}

/// Every indicator of `rows`, in `DEFINITIONS` order; `changed[i]`: definition `i` needs an
/// item whose meaning changed in 2022 (null for 2019 rows).
fn score_rows(items: &Items, rows: Range<usize>, changed: &[bool]) -> Vec<ArrayRef> {
    let computed =
        formulas::compute(&ItemColumns { rows: rows.len(), column: &|name| items.get_nan(name, rows.clone()) });
    let is_2019 = &items.is_2019[rows.clone()];
    DEFINITIONS
        .iter()
        .zip(changed)
        .map(|(def, &changed)| {
            let raw = computed.get(def.name);
            let values = (0..rows.len()).map(|r| {
                let v = raw.map_or(f64::NAN, |c| c[r]);
                (v.is_finite() && !(changed && is_2019[r])).then_some(v)
            });
            match def.kind {
                // Whole-number indicators are small counts and codes (at most 8).
                Kind::Binary | Kind::Whole => {
                    Arc::new(values.map(|v| v.map(|x| x as i16)).collect::<Int16Array>()) as ArrayRef
                }
                Kind::Score => Arc::new(values.collect::<Float64Array>()),
            }
        })
        .collect()
}

/// Schema metadata of the indicators file: the frozen breaks and where the formulas come from.
pub fn schema_metadata() -> HashMap<String, String> {
    let breaks = |b: &[f64; 4]| format!("-Inf,{},Inf", b.map(|t| t.to_string()).join(","));
    HashMap::from([
        ("part_score_bin_breaks".to_string(), breaks(&PART_BREAKS)),
        ("qol_score_bin_breaks".to_string(), breaks(&QOL_BREAKS)),
        (
            "bins".to_string(),
            "rechts gesloten klassen (a,b], de laagste inclusief -Inf; vaste grenzen (SPSS-constanten), \
             niet opnieuw geschat"
                .to_string(),
        ),
        (
            "source".to_string(),
            "VNG-Realisatie/Burgerpeiling R/SRC/recode.R, ss_recode.R, typology.R (ccec9ed850); \
             zie docs/indicators.md"
                .to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Int16Builder, StringBuilder};
    use std::path::Path;

    fn rules() -> ScoringRules {
        ScoringRules::from_codebook(&codebook())
    }

    /// A lake batch: one row per (questionnaire, answers); every named item an int16 column,
    /// -1 (declared missing) null as in the lake.
    fn batch(rows: &[(&str, BTreeMap<String, i16>)]) -> RecordBatch {
        let names: BTreeSet<&String> = rows.iter().flat_map(|(_, a)| a.keys()).collect();
        let mut keys = StringBuilder::new();
        let mut versions = StringBuilder::new();
        for (i, (v, _)) in rows.iter().enumerate() {
            keys.append_value(format!("GM0599-2023-Q1-{i:06}"));
            versions.append_value(v);
        }
        let mut fields =
            vec![Field::new("respondent_key", DataType::Utf8, false), Field::new("vragenlijst", DataType::Utf8, false)];
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(keys.finish()), Arc::new(versions.finish())];
        for name in names {
            let mut b = Int16Builder::new();
            rows.iter().for_each(|(_, a)| b.append_option(a.get(name).copied().filter(|c| *c != -1)));
            fields.push(Field::new(name.as_str(), DataType::Int16, true));
            arrays.push(Arc::new(b.finish()));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn codebook() -> Codebook {
        Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    /// Every 2022 questionnaire column, not only those the catalogue declares.
    fn lake_items() -> Vec<String> {
        codebook()
            .columns
            .iter()
            .filter(|c| c.comparability != Comparability::Only2019)
            .map(|c| c.name.clone())
            .collect()
    }

    fn answers(code: i16) -> BTreeMap<String, i16> {
        lake_items().into_iter().map(|i| (i, code)).collect()
    }

    #[test]
    fn changed_items_come_from_the_codebook() {
        let changed = rules().changed_in_2022;
        for name in ["wl06", "wl12_0", "wl12_1", "wl12_2", "zw04", "zw09", "zw20"] {
            assert!(changed.contains(name), "{name}");
        }
        for name in ["wl01", "ch06", "zw01_0", "wl02_2"] {
            assert!(!changed.contains(name), "{name}");
        }
    }

    /// Every output that changes when one item is blanked must declare that item among its
    /// inputs: the 2019 rule relies on the declarations being complete.
    #[test]
    fn declared_inputs_are_complete() {
        let rules = rules();
        for code in [1, 2, 3] {
            let full = answers(code);
            let full_batch = batch(&[("2022", full.clone())]);
            let base = score(&Items::from_batch(&full_batch, &rules).unwrap(), &rules).unwrap();
            for item in lake_items() {
                let mut blanked = full.clone();
                blanked.insert(item.clone(), -1);
                let b = batch(&[("2022", blanked)]);
                let got = score(&Items::from_batch(&b, &rules).unwrap(), &rules).unwrap();
                for name in base.names() {
                    if base.column(name) != got.column(name) {
                        assert!(items_needed(name).contains(&item.as_str()), "{name} depends on {item}");
                    }
                }
            }
        }
    }

    #[test]
    fn rows_of_2019_get_no_indicator_of_a_changed_item() {
        let rules = rules();
        let mut a2022 = answers(2);
        let mut a2019 = answers(2);
        // The lake: a 2019 row has its wl06, wl12_*, zw04, zw09 answers in `<name>_2019`
        // and no wl02_2 (not asked in 2019).
        for name in ["wl06", "wl12_0", "wl12_2", "zw04", "zw09", "wl02_2"] {
            a2019.remove(name);
        }
        a2019.insert("wl06_2019".into(), 2);
        a2022.insert("wl06_2019".into(), -1);
        let b = batch(&[("2019", a2019), ("2022", a2022)]);
        let s = score(&Items::from_batch(&b, &rules).unwrap(), &rules).unwrap();
        let get = |n: &str| s.column(n).unwrap();
        for name in
            ["safe_ss", "samenredzaam_ss", "betrouwbaar_ss", "alone", "socrel_ss", "mz_ob", "qol_score", "typology"]
        {
            assert_eq!(get(name)[0], None, "{name} 2019");
            assert!(get(name)[1].is_some(), "{name} 2022");
        }
        // Not asked in 2019: a missing item, the mean of the others (all agree4(2) = 3).
        assert_eq!(get("verbonden_ss"), vec![Some(7.5), Some(7.5)]);
        assert_eq!(get("fk_ss"), get("fk_ss").iter().map(|_| Some(7.5)).collect::<Vec<_>>());
        assert_eq!(get("part_score")[0], get("part_score")[1]);
    }

    #[test]
    fn dk_codes_are_missing_and_unknown_versions_refused() {
        let rules = rules();
        let mut a = BTreeMap::new();
        a.insert("wl01".to_string(), 11);
        a.insert("zw02".to_string(), 7);
        let b = batch(&[("2022", a.clone())]);
        let items = Items::from_batch(&b, &rules).unwrap();
        assert!(items.get_nan("wl01", 0..1).is_some_and(|v| v.len() == 1 && v[0].is_nan()));
        assert_eq!(items.get_nan("zw02", 0..1), Some(vec![7.0]));
        assert!(Items::from_batch(&batch(&[("2024", a)]), &rules).is_err());
    }

    #[test]
    fn record_batch_carries_labels_definitions_and_breaks() {
        let rules = rules();
        let lake = batch(&[("2022", answers(1))]);
        let s = score(&Items::from_batch(&lake, &rules).unwrap(), &rules).unwrap();
        let b = s.record_batch();
        let schema = b.schema();
        assert_eq!(schema.metadata()["part_score_bin_breaks"], "-Inf,1,3,4,7,Inf");
        let typology = schema.field_with_name("typology").unwrap();
        assert_eq!(typology.data_type(), &DataType::Int16);
        assert_eq!(typology.metadata()["label"], "Typologie vitaliteit van inwoners");
        assert_eq!(schema.field_with_name("safe_ss").unwrap().data_type(), &DataType::Float64);
        assert!(schema.fields().iter().skip(1).all(|f| f.metadata().contains_key("definition")));
    }
}
