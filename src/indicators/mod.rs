//! The indicators stage's mathematics: respondent-level indicators and scale scores
//! (`../shared/domain/indicators.md` §1-§4) and the weighted aggregates with the conventions of
//! R `survey` (§5), as pure functions on plain data and Arrow batches.
//!
//! - `dont_know`: the dk / n.a. code of each lake column, from the codebook's value labels;
//! - `catalogue`: the published figures (`config/indicators/`): which code is computed from which
//!   lake column or respondent-level indicator, as what;
//! - `definitions`: every respondent-level indicator's name, Dutch label, definition and inputs;
//! - `formulas`: VNG's R formulas with R's missing-value semantics;
//! - `respondent`: lake batch → clean items (a view) → indicators (with the 2019 rule), kept as
//!   the record batch that is written;
//! - `aggregate`: domain estimates, standard errors, Wald and logit intervals, shares of a
//!   multiple-response set.
//!
//! Nothing here touches the file system, the clock or the pipeline: the caller reads the lake,
//! writes `indicators/respondents/jaar=YYYY/part-0000.parquet` and chooses the designs.
//! Decisions and every difference from VNG's code: `docs/indicators.md`.

pub mod aggregate;
pub mod catalogue;
pub mod definitions;
pub mod dont_know;
pub mod export;
pub mod figures;
pub mod formulas;
pub mod respondent;
mod student_t;

pub use aggregate::{
    CLASSES, DesignRow, Figure, Statistic, YearDesign, YearEstimates, estimate_domains, estimate_year,
    multiple_response_values, percent_values, ticked, ticked_any, usable_weights,
};
pub use definitions::{DEFINITIONS, Definition, Kind};
pub use respondent::{Items, RespondentIndicators, ScoringRules, score};
