//! Fuzzes `ingest::spss::read` (`.sav`) with arbitrary bytes.

#![no_main]

mod common;

use burgerpeiling::ingest::spss;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (file, findings) = spss::read(data, common::DELIVERY_ID);
    common::show(file.as_ref().map(|f| (f.table.header.len(), f.table.rows.len())), &findings);
    common::check_findings(&findings);
    common::check_outcome(file.is_some(), &findings);
    if let Some(f) = file {
        let t = &f.table;
        common::check_table(t);
        assert!(!f.variables.is_empty(), "a file is returned without variables");
        assert_eq!(t.header.len(), f.variables.len(), "header and dictionary differ in length");
        for (h, v) in t.header.iter().zip(&f.variables) {
            assert_eq!(h, &v.name, "header name differs from the dictionary's");
            assert!(!v.text || v.width >= 1, "string variable {:?} of width 0", v.name);
            if let Some((lo, hi)) = v.missing_range {
                assert!(!v.text, "string variable {:?} with a missing range {lo}..={hi}", v.name);
            }
        }
        // `source_rows` are 1..=n for a .sav: every case is a row.
        assert!(t.source_rows.iter().copied().eq(1..=t.rows.len() as u32), "source_rows are not 1..=n");
        assert!(t.sheet.is_none(), "a .sav table has no sheet");
        // Numeric variables give numbers or system-missing, string variables text or blank.
        for row in &t.rows {
            for (c, v) in row.iter().zip(&f.variables) {
                use burgerpeiling::ingest::Cell;
                match *c {
                    Cell::Number(x) => {
                        assert!(!v.text, "string variable {:?} holds a number", v.name);
                        assert!(x.is_finite(), "a non-finite number is system-missing, Cell::Empty ({:?})", v.name);
                    }
                    Cell::Text(_) => assert!(v.text, "numeric variable {:?} holds text", v.name),
                    Cell::Date(_) => panic!("a .sav reader returned a spreadsheet date for {:?}", v.name),
                    Cell::Empty => {}
                }
            }
        }
    }
});
