//! Fuzzes `ingest::delimited::read` (`.csv`, `.txt`) with arbitrary bytes.

#![no_main]

mod common;

use burgerpeiling::ingest::{Cell, delimited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: { common::init(); },
    |data: &[u8]| {
        let (table, findings) = delimited::read(data, common::DELIVERY_ID, &common::known);
        if let Some(t) = common::check_read(table, &findings) {
            assert!(t.sheet.is_none(), "a delimited table has no sheet");
            // Reading interprets nothing: every field is text.
            for row in &t.rows {
                assert!(
                    row.iter().all(|c| matches!(c, Cell::Empty | Cell::Text(_))),
                    "a delimited field was read as something other than text"
                );
            }
        }
    }
);
