//! Fuzzes `ingest::excel::read` with arbitrary bytes. The container is recognised by content, so
//! one target covers `.xlsx`, `.xls` and `.ods`; the first input byte picks the format the file
//! name would claim (the hint matters for zip files: `.ods` forces the OpenDocument reader).
//! The reader opens workbooks under `catch_unwind` (calamine panics on some damaged files): a
//! panic it catches is no crash here, one that escapes it is.

#![no_main]

mod common;

use burgerpeiling::ingest::{Format, excel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: { common::init(); common::record_panics(); },
    |data: &[u8]| common::no_escaping_panic(|| check(data))
);

fn check(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let format = match selector % 4 {
        0 => Format::Xlsx,
        1 => Format::Xlsm,
        2 => Format::Xls,
        _ => Format::Ods,
    };
    let (table, findings) = excel::read(bytes, format, common::DELIVERY_ID, &common::known, common::MAX_DECOMPRESSED);
    if let Some(t) = common::check_read(table, &findings) {
        assert!(t.sheet.is_some(), "a spreadsheet table names its sheet");
        assert!(t.header.len() <= excel::MAX_COLUMNS as usize, "header wider than MAX_COLUMNS");
    }
}
