//! Stage 5b, indicators: from a survey year's assembled and weighted rows (the record batch the
//! lake partition is written from) to its respondent-level indicators and its published
//! figures. Runs inside the year stage, so a year's indicators are rebuilt exactly when its
//! partition is (same build key) and published with the same exchange.
//!
//! What it must NOT do: compute a formula or a statistic itself (`indicators` does), or write
//! anything (the year stage stages, through the writer it passes in; `publish` swaps).

use anyhow::{Context, Result};
use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::DataType;

use crate::config::Config;
use crate::indicators::figures::{PublicationRules, YearFigures, YearRows, year_figures};
use crate::indicators::{self, Items};

/// A year's indicators: the respondent-level table to write and the figures.
pub struct YearIndicators {
    pub respondents: RecordBatch,
    pub figures: YearFigures,
}

/// The lake columns the stage reads besides the Int16 items.
const READS: [&str; 6] = ["respondent_key", "vragenlijst", "gemeente_code", "complete", "weight", "weight_national"];

/// Scores every respondent of the year and computes every catalogue figure. Takes the year's
/// rows and keeps only the columns it reads, so the rest (the strings, and the answers no
/// indicator reads: a third of them) is freed before the indicators are computed, once the
/// year's respondents partition is written. At ten times the benchmark corpus two years'
/// indicators side by side are the run's peak memory.
pub fn year_indicators(
    year: u16,
    lake_rows: RecordBatch,
    config: &Config,
    rules: &PublicationRules,
) -> Result<YearIndicators> {
    year_indicators_writing(year, lake_rows, config, rules, false, |_| ()).map(|(indicators, ())| indicators)
}

/// As [`year_indicators`], and hands the respondent-level table to `write` as soon as it is
/// scored, before the figures are computed; `side_by_side` runs `write` beside the figures
/// (the year stage encodes the partition there: on a nightly run the figures and the encoding
/// share the cores). The table is the one returned.
pub fn year_indicators_writing<T: Send>(
    year: u16,
    lake_rows: RecordBatch,
    config: &Config,
    rules: &PublicationRules,
    side_by_side: bool,
    write: impl FnOnce(&RecordBatch) -> T + Send,
) -> Result<(YearIndicators, T)> {
    let items = indicators::definitions::all_items();
    let read = |name: &str| items.contains(&name) || config.catalogue.reads(name);
    let keep: Vec<usize> = (lake_rows.schema_ref().fields().iter().enumerate())
        .filter(|(_, f)| (f.data_type() == &DataType::Int16 && read(f.name())) || READS.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    // The projection shares the kept columns; dropping the whole batch here is what frees the
    // others (a shadowed binding would keep them until the function returns).
    let projected = lake_rows.project(&keep).context("keeping the columns the indicators read")?;
    drop(lake_rows);
    let lake_rows = &projected;
    let items = Items::from_batch(lake_rows, &config.scoring)?;
    let scored = indicators::score(&items, &config.scoring)?;
    let codes = column::<StringArray>(lake_rows, "gemeente_code")?;
    let gemeente_code: Vec<&str> = (0..codes.len()).map(|i| codes.value(i)).collect();
    let floats =
        |name: &str| -> Result<Vec<Option<f64>>> { Ok(column::<Float64Array>(lake_rows, name)?.iter().collect()) };
    let complete: Vec<bool> = column::<BooleanArray>(lake_rows, "complete")?.iter().map(|c| c == Some(true)).collect();
    let (weight, weight_national) = (floats("weight")?, floats("weight_national")?);
    let rows = YearRows {
        year,
        items: &items,
        indicators: &scored,
        gemeente_code: &gemeente_code,
        complete: &complete,
        weight: &weight,
        weight_national: &weight_national,
    };
    let respondents = scored.record_batch();
    let (written, figures) = if side_by_side {
        rayon::join(|| write(respondents), || year_figures(&config.catalogue, &rows, rules))
    } else {
        (write(respondents), year_figures(&config.catalogue, &rows, rules))
    };
    Ok((YearIndicators { respondents: scored.into_record_batch(), figures: figures? }, written))
}

/// A column of the lake's respondents batch by name and type: the lake's schema guarantees
/// both, so a miss is a wiring error.
fn column<'a, A: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a A> {
    batch
        .column_by_name(name)
        .with_context(|| format!("the respondents batch has no column {name}"))?
        .as_any()
        .downcast_ref::<A>()
        .with_context(|| format!("column {name} has another type than the lake's"))
}
