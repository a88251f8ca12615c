//! Helpers shared by the integration tests.
// Each test crate compiles this module whole and uses only some of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `shared/` beside the project (as CI lays it out), else `$BURGERPEILING_SHARED`.
pub fn shared() -> PathBuf {
    let beside = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared"));
    if beside.is_dir() {
        return beside;
    }
    std::env::var_os("BURGERPEILING_SHARED")
        .map(PathBuf::from)
        .expect("shared/ is neither beside the project nor named by BURGERPEILING_SHARED")
}

/// The binary, run from the project root without a progress bar.
pub fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
    c.current_dir(ROOT).args(["--progress", "never"]);
    c
}

/// Appends `run` over a synthesised sample to `c` (the binary and any global options): the
/// `inbox/` and `population/` that `synth` wrote under `sample`, into `lake`, state in `state`.
pub fn run_args<'c>(c: &'c mut Command, sample: &Path, lake: &Path, state: &Path) -> &'c mut Command {
    c.args(["run", "--inbox"]).arg(sample.join("inbox")).arg("--lake").arg(lake);
    c.arg("--population").arg(sample.join("population")).arg("--state").arg(state)
}

/// The whole of a Parquet file as one batch.
pub fn read_parquet(path: &Path) -> RecordBatch {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// The string column `name` of `b`.
pub fn strings<'a>(b: &'a RecordBatch, name: &str) -> &'a StringArray {
    b.column_by_name(name).unwrap().as_any().downcast_ref().unwrap()
}
