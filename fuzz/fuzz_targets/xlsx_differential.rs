//! Differential fuzzing of the fast `.xlsx` reader (`ingest::xlsx`, issue 17) against calamine's
//! path: for every input both accept, the sheets (every cell and its type) and the table made of
//! them (sheet choice, header row, findings) must be identical; an input the fast reader accepts
//! must not be one calamine refuses (production would then give a table where it gave a
//! finding). The fast reader runs outside any `catch_unwind`: a panic in it is a crash. Inputs
//! are the `excel` target's (first byte the format hint, ignored here), so its seeds serve.

#![no_main]

mod common;

use burgerpeiling::ingest::excel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: { common::init(); common::record_panics(); },
    |data: &[u8]| common::no_escaping_panic(|| check(data))
);

fn check(data: &[u8]) {
    let Some((_, bytes)) = data.split_first() else { return };
    // What `excel::read` gives the xlsx readers: a zip within the size limit.
    if !bytes.starts_with(b"PK\x03\x04") || excel::check_zip_sizes(bytes, common::MAX_DECOMPRESSED).is_err() {
        return;
    }
    let Ok(fast) = excel::read_xlsx_fast(bytes) else { return };
    let calamine = match excel::read_xlsx_calamine(bytes) {
        Ok(sheets) => sheets,
        Err(e) => panic!("the fast reader read a workbook calamine refuses ({e})"),
    };
    assert_eq!(fast, calamine, "the readers' sheets differ");
    let (ft, ff) = excel::table_of_sheets(fast, common::DELIVERY_ID, &common::known);
    let (ct, cf) = excel::table_of_sheets(calamine, common::DELIVERY_ID, &common::known);
    assert_eq!(ft, ct, "the readers' tables differ");
    assert_eq!(format!("{ff:?}"), format!("{cf:?}"), "the readers' findings differ");
    common::show(ft.as_ref().map(|t| (t.header.len(), t.rows.len())), &ff);
}
