//! The fast `.xlsx` reader (`ingest::xlsx`) against calamine's path (issue 17): every `.xlsx`
//! and `.xlsm` that `synth` and `synth --messy` write, and every real `.xlsx` under `../shared/`,
//! is read by both; the sheets (names, every cell with its type, cells beyond the column limit)
//! and the table made of them (sheet choice, header row, rows, findings) must be identical.
//! The `.xlsx` seeds of the fuzz targets are compared too.
//! The synthetic files must all be understood by the fast reader (else this test would compare
//! nothing); a real file it leaves to calamine is listed, not failed.

use std::path::{Path, PathBuf};

use burgerpeiling::codebook::{Codebook, canonical_name};
use burgerpeiling::ingest::excel;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    (Codebook::load(dir).unwrap(), Municipalities::load(dir).unwrap())
}

fn workbooks_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if p.is_dir() {
            workbooks_under(&p, out);
        } else if matches!(ext.as_deref(), Some("xlsx" | "xlsm")) {
            out.push(p);
        }
    }
}

/// Reads one file with both readers and compares. Returns whether the fast reader understood it.
fn compare(path: &Path, cb: &Codebook) -> bool {
    compare_bytes(&std::fs::read(path).unwrap(), &path.display().to_string(), cb)
}

fn compare_bytes(bytes: &[u8], what: &str, cb: &Codebook) -> bool {
    let calamine = excel::read_xlsx_calamine(bytes);
    let fast = match excel::read_xlsx_fast(bytes) {
        Ok(sheets) => sheets,
        Err(why) => {
            eprintln!("{what}: left to calamine ({why})");
            return false;
        }
    };
    let calamine = calamine.unwrap_or_else(|e| panic!("{what}: the fast reader read a file calamine refuses: {e}"));
    assert_eq!(fast.len(), calamine.len(), "{what}: number of sheets");
    for (f, c) in fast.iter().zip(&calamine) {
        assert_eq!(f.name, c.name, "{what}: sheet name");
        assert_eq!(f.far_cells, c.far_cells, "{what}: sheet {}: cells beyond the column limit", f.name);
        assert_eq!(f.rows.len(), c.rows.len(), "{what}: sheet {}: rows", f.name);
        // Cells compare by their texts, not their spans: the two readers fill their arenas
        // differently (the fast one starts from the shared strings).
        for (i, (fr, cr)) in f.rows.iter().zip(&c.rows).enumerate() {
            let fv: Vec<_> = fr.iter().map(|x| f.texts.value(*x)).collect();
            let cv: Vec<_> = cr.iter().map(|x| c.texts.value(*x)).collect();
            assert_eq!(fv, cv, "{what}: sheet {}, row {}", f.name, i + 1);
        }
    }
    let known = |n: &str| cb.is_known(&canonical_name(n));
    let (ft, ff) = excel::table_of_sheets(fast, "d", &known);
    let (ct, cf) = excel::table_of_sheets(calamine, "d", &known);
    // `RawTable`'s equality compares cell values through each table's own arena.
    assert_eq!(ft, ct, "{what}: table");
    assert_eq!(format!("{ff:?}"), format!("{cf:?}"), "{what}: findings");
    true
}

#[test]
fn both_readers_agree_on_every_synthetic_workbook() {
    let (cb, m) = config();
    let mut files = Vec::new();
    for messy in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions { out: dir.path().to_path_buf(), respondents: 60, messy, ..SynthOptions::default() };
        synth::synth(&opts, &cb, &m).unwrap();
        let before = files.len();
        workbooks_under(&dir.path().join("inbox"), &mut files);
        assert!(files.len() > before, "synth (messy: {messy}) wrote no .xlsx");
        for path in &files[before..] {
            assert!(compare(path, &cb), "{}: the fast reader left a synthetic file to calamine", path.display());
        }
    }
    eprintln!("{} synthetic workbooks compared", files.len());
}

#[test]
fn both_readers_agree_on_the_real_workbooks_in_shared() {
    let (cb, _) = config();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut files = Vec::new();
    workbooks_under(&shared, &mut files);
    assert!(!files.is_empty(), "no .xlsx under {}", shared.display());
    let understood = files.iter().filter(|p| compare(p, &cb)).count();
    eprintln!("{} real workbooks, {understood} read by the fast reader and identical", files.len());
}

#[test]
fn both_readers_agree_on_the_fuzz_seeds() {
    // The `excel` fuzz target's `.xlsx` seeds (first byte: the format hint), which the
    // `xlsx_differential` target starts from.
    let (cb, _) = config();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/excel");
    let mut understood = 0;
    for e in std::fs::read_dir(&seeds).unwrap() {
        let path = e.unwrap().path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("xlsx")) {
            let bytes = std::fs::read(&path).unwrap();
            understood += usize::from(compare_bytes(&bytes[1..], &path.display().to_string(), &cb));
        }
    }
    assert!(understood >= 3, "only {understood} seeds read by the fast reader");
}
