//! Shared by the fuzz targets: the `known` predicate the pipeline uses, and the invariants every
//! reader promises (see `src/ingest/mod.rs` and `src/finding.rs`). A broken invariant panics,
//! which libFuzzer reports as a crash, exactly like a panic inside a reader.

#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use burgerpeiling::codebook::{Codebook, canonical_name};
use burgerpeiling::finding::{Finding, MAX_ROWS_LISTED, RULES, Severity};
use burgerpeiling::ingest::{RawTable, Value};

/// The delivery id the targets pass; every finding must carry it.
pub const DELIVERY_ID: &str = "fuzz";

/// The spreadsheet targets' limit on a workbook's unpacked size: lower than production's 1 GiB
/// so one input cannot make the fuzzer unpack hundreds of MB; the zip-bomb check itself is still
/// exercised on both sides of the limit.
pub const MAX_DECOMPRESSED: u64 = 64 << 20;

/// The real codebook (`config/`), loaded once, so header detection sees the same variable names
/// as in production.
fn codebook() -> &'static Codebook {
    static CODEBOOK: OnceLock<Codebook> = OnceLock::new();
    CODEBOOK.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        Codebook::load(&dir).unwrap_or_else(|e| panic!("cannot load the codebook from {}: {e:#}", dir.display()))
    })
}

/// What `pipeline.rs` passes as `known`: the codebook's names after canonical folding.
pub fn known(name: &str) -> bool {
    codebook().is_known(&canonical_name(name))
}

/// Loads the codebook before the first input, so its cost is not charged to an input.
pub fn init() {
    let _ = codebook();
}

/// The findings are well formed: a known rule with its own severity, this delivery's id, row
/// lists capped, increasing and counted.
pub fn check_findings(findings: &[Finding]) {
    for f in findings {
        let rule = RULES.iter().find(|r| r.id == f.rule).unwrap_or_else(|| panic!("unknown rule id {:?}", f.rule));
        assert_eq!(
            f.severity, rule.severity,
            "finding {:?} has severity {:?}, its rule says {:?}",
            f.rule, f.severity, rule.severity
        );
        assert!(f.rule.starts_with("ingest."), "a reader emitted a non-ingest rule {:?}", f.rule);
        assert_eq!(f.delivery_id, DELIVERY_ID, "finding {:?} carries another delivery id", f.rule);
        assert!(!f.message.is_empty(), "finding {:?} has an empty message", f.rule);
        assert!(
            f.rows.len() <= MAX_ROWS_LISTED,
            "finding {:?} lists {} rows (cap {MAX_ROWS_LISTED})",
            f.rule,
            f.rows.len()
        );
        if !f.rows.is_empty() {
            assert!(
                f.count >= f.rows.len() as u64,
                "finding {:?}: count {} < {} listed rows",
                f.rule,
                f.count,
                f.rows.len()
            );
            assert!(f.rows.windows(2).all(|w| w[0] < w[1]), "finding {:?}: rows not increasing: {:?}", f.rule, f.rows);
            assert!(f.rows[0] >= 1, "finding {:?}: row numbers are 1-based: {:?}", f.rule, f.rows);
        }
    }
}

/// What a table reader returned passes the checks every reader's does (findings, outcome, table
/// shape, header found); the table is handed back for the target's own checks.
pub fn check_read(table: Option<RawTable>, findings: &[Finding]) -> Option<RawTable> {
    show(table.as_ref().map(|t| (t.header.len(), t.rows.len())), findings);
    check_findings(findings);
    check_outcome(table.is_some(), findings);
    if let Some(t) = &table {
        check_table(t);
        check_header_found(t);
    }
    table
}

/// The outcome contract of `ingest::read`: a table and no error, or no table and at least one
/// error finding.
pub fn check_outcome(has_table: bool, findings: &[Finding]) {
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    if has_table {
        assert_eq!(errors, 0, "a table was returned together with error findings: {findings:?}");
    } else {
        assert!(errors >= 1, "no table and no error finding: {findings:?}");
    }
}

/// The shape every `RawTable` promises.
pub fn check_table(t: &RawTable) {
    let width = t.header.len();
    assert!(!t.rows.is_empty(), "a table is returned without data rows");
    assert_eq!(t.rows.len(), t.source_rows.len(), "rows and source_rows differ in length");
    for (i, row) in t.rows.iter().enumerate() {
        assert_eq!(
            row.len(),
            width,
            "row {i} (source row {}) has {} cells, header has {width}",
            t.source_rows[i],
            row.len()
        );
    }
    assert!(t.source_rows[0] >= 1, "source rows are 1-based, first is {}", t.source_rows[0]);
    assert!(t.source_rows.windows(2).all(|w| w[0] < w[1]), "source_rows not strictly increasing");
    for r in 0..t.rows.len() {
        for c in t.row(r) {
            if let Value::Text(s) = c {
                assert!(!s.is_empty(), "an empty text cell must be Cell::Empty");
            }
        }
    }
}

/// What the delimited and spreadsheet readers add (both go through `table_below_header`): the
/// header holds at least two known names, its names are trimmed, and it does not end in an
/// unnamed column.
pub fn check_header_found(t: &RawTable) {
    let named = t.header.iter().filter(|h| known(h)).count();
    assert!(named >= burgerpeiling::ingest::MIN_HEADER_MATCHES, "header {:?} has {named} known names", t.header);
    assert!(t.header.iter().all(|h| h.trim() == h), "header names are not trimmed: {:?}", t.header);
    assert!(t.header.last().is_some_and(|h| !h.is_empty()), "header ends in an unnamed column: {:?}", t.header);
    // Both readers turn a whitespace-only field into `Cell::Empty`.
    for r in 0..t.rows.len() {
        for c in t.row(r) {
            if let Value::Text(s) = c {
                assert!(!s.trim().is_empty(), "a whitespace-only text cell must be Cell::Empty");
            }
        }
    }
}

/// With `FUZZ_SHOW=1` in the environment, prints what the reader made of each input (header
/// width, row count, findings): for looking at a seed or a crash input, not while fuzzing.
pub fn show(shape: Option<(usize, usize)>, findings: &[Finding]) {
    static SHOW: OnceLock<bool> = OnceLock::new();
    if *SHOW.get_or_init(|| std::env::var_os("FUZZ_SHOW").is_some()) {
        match shape {
            Some((w, n)) => eprintln!("table: {w} columns, {n} rows"),
            None => eprintln!("no table"),
        }
        for f in findings {
            eprintln!("  {} {}: {}", f.severity.as_str(), f.rule, f.message);
        }
    }
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces libfuzzer-sys's panic hook (print, then abort at once) with one that only records
/// the panic, for a reader that catches panics of a dependency itself (`excel::read` opens
/// workbooks under `catch_unwind`, as calamine panics on some damaged files). Use with
/// [`no_escaping_panic`]: a panic the reader catches is then no crash, one that escapes is.
pub fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        let trace = std::backtrace::Backtrace::force_capture();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{info}\n{trace}")));
    }));
}

/// Runs `f` (the whole check of one input); a panic that escapes it, from the reader or from a
/// broken invariant, is printed with its backtrace and aborts (a crash for libFuzzer). With
/// `FUZZ_SHOW` set, a panic caught inside `f` is printed too.
pub fn no_escaping_panic<T>(f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => {
            if let Some(caught) = LAST_PANIC.with(|p| p.borrow_mut().take()) {
                if std::env::var_os("FUZZ_SHOW").is_some() {
                    eprintln!("a panic inside the reader was caught by it: {}", caught.lines().next().unwrap_or(""));
                }
            }
            v
        }
        Err(_) => {
            let msg = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
            eprintln!("panic escaped the reader: {msg}");
            std::process::abort();
        }
    }
}
