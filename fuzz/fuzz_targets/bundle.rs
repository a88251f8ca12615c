//! Fuzzes `ingest::bundle` with arbitrary bytes: `list`, then `read_member` of every dataset
//! it names, and the finding discovery makes of any error. The first input byte picks the keys
//! the password file would give (`% 3`: 0 none, 1 the seeds' key, 2 a wrong key, then it),
//! so the decryption paths (ZipCrypto and AES, both sides of the key check) are reached.

#![no_main]

mod common;

use burgerpeiling::config::Limits;
use burgerpeiling::finding::{RULES, Severity};
use burgerpeiling::ingest::Format;
use burgerpeiling::ingest::bundle::{self, BundleError, MEMBER_SEPARATOR};
use burgerpeiling::ingest::discover::bundle_finding;
use burgerpeiling::ingest::passwords::Password;
use libfuzzer_sys::fuzz_target;

/// Lower than production's 1 GiB, as in the `excel` target: one input cannot make the fuzzer
/// unpack hundreds of MB, and the limits are still exercised on both sides.
const LIMITS: Limits = Limits { max_file_bytes: 16 << 20, max_decompressed_bytes: 64 << 20 };
/// The key the encrypted seeds were written with.
const SECRET: &str = "sleutel-7Qx";

fuzz_target!(
    init: { common::init(); },
    |data: &[u8]| check(data)
);

fn check(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let keys: Vec<Password> = match selector % 3 {
        0 => Vec::new(),
        1 => vec![Password::new(SECRET)],
        _ => vec![Password::new("fout"), Password::new(SECRET)],
    };
    let listing = match bundle::list(bytes, &keys, &LIMITS) {
        Ok(l) => l,
        Err(e) => return check_error(&e, "bundel.zip", bytes),
    };
    for d in &listing.datasets {
        assert_ne!(d.format, Format::Zip, "a zip listed as a dataset: {:?}", d.name);
        assert!(d.name.split(MEMBER_SEPARATOR).count() <= 2, "nested deeper than one level: {:?}", d.name);
        assert!(
            !d.name.split(['/', '\\', MEMBER_SEPARATOR]).any(|p| p == ".."),
            "an unsafe name listed as a dataset: {:?}",
            d.name
        );
        match bundle::read_member(bytes, &d.name, &keys, &LIMITS) {
            Ok(member) => {
                assert!(member.len() as u64 <= d.size, "{:?} unpacked to more than it declared", d.name);
                assert!(member.len() as u64 <= LIMITS.max_file_bytes, "{:?} over max_file_bytes", d.name);
            }
            Err(e) => check_error(&e, &format!("bundel.zip{MEMBER_SEPARATOR}{}", d.name), bytes),
        }
    }
}

/// An error becomes a well-formed `ingest.*` error finding that holds no key (unless the input
/// itself spells the key, say as an entry name).
fn check_error(e: &BundleError, name: &str, input: &[u8]) {
    let f = bundle_finding(e, common::DELIVERY_ID, name, &None);
    common::show(None, std::slice::from_ref(&f));
    common::check_findings(std::slice::from_ref(&f));
    assert_eq!(f.severity, Severity::Error, "a bundle error must reject: {f:?}");
    assert!(RULES.iter().any(|r| r.id == f.rule));
    let spelled = input.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    assert!(spelled || !f.message.contains(SECRET), "a key in a finding: {}", f.message);
}
