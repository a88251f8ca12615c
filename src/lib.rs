//! `burgerpeiling`: turns the respondent files of the VNG Burgerpeiling (the Dutch municipal
//! citizen survey) into one harmonised, deduplicated, weighted Parquet lake.
//!
//! Start with `ARCHITECTURE.md` at the project root: it maps these modules onto the data flow
//! `inbox → ingest → harmonise → (per year) assemble → lake`.

pub mod assemble;
pub mod cli;
pub mod codebook;
pub mod config;
pub mod dedup;
pub mod finding;
pub mod harmonise;
pub mod indicators;
pub mod ingest;
pub mod init;
pub mod lake;
pub mod municipality;
pub mod outcome;
pub mod pipeline;
pub mod population;
pub mod report;
pub mod state;
#[cfg(feature = "synth")]
pub mod synth;
pub mod weight;
