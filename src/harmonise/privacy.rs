//! Privacy scan: decides which delivered columns hold, or are named after, personal data, so
//! that harmonise can drop them before anything is stored.
//!
//! Two checks, both pure (no I/O, no logging):
//! - [`name_kind`] looks only at a column's name (postcode, `ch08`, e-mail, naam, adres,
//!   telefoon, bsn, ip, open answers, `*_text`); a column it names is dropped unread.
//! - [`scan_column`] reads the cells of every other column and recognises e-mail addresses,
//!   Dutch phone numbers, postcodes, IBANs and BSNs (eleven-test); a column where one is found is
//!   dropped as a whole.
//!
//! What this module must never do: return, format, log or otherwise copy a cell value. Its
//! results are a kind and a count, and the findings it builds name the column and the kind
//! only. It also does not decide what is stored: the caller drops the columns. `docs/privacy.md`
//! describes the patterns, the thresholds and the known limits.

use crate::codebook::canonical_name;
use crate::finding::{self, Finding};
use crate::ingest::Value;

/// What kind of personal data a column holds or is named after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PersonalKind {
    Postcode,
    Email,
    Name,
    Address,
    Phone,
    Bsn,
    IpAddress,
    Iban,
    OpenText,
}

impl PersonalKind {
    /// The kind in words, for finding messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalKind::Postcode => "postcode",
            PersonalKind::Email => "e-mail address",
            PersonalKind::Name => "person's name",
            PersonalKind::Address => "address",
            PersonalKind::Phone => "phone number",
            PersonalKind::Bsn => "BSN (citizen service number)",
            PersonalKind::IpAddress => "IP address",
            PersonalKind::Iban => "IBAN (bank account number)",
            PersonalKind::OpenText => "open text answer",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// By name
// ---------------------------------------------------------------------------------------------

/// Words that name a place or an organisation, not a person: `gemeente_naam` or `wijk_name` is
/// not a person's name, and reporting it as one would make the finding misleading.
const NOT_A_PERSON: &[&str] =
    &["gemeente", "wijk", "buurt", "municipality", "district", "org", "organisatie", "bestand", "file", "sheet"];

/// The kind of personal data a column is named after, if any.
///
/// Works on the canonical name (see [`canonical_name`]) split into words at every character that
/// is not a letter or digit, so `E-mail`, `e_mail`, `IP-adres` and `Tel.nr` fall apart into words.
/// Words are matched exactly, by prefix or by a few Dutch compound stems (`emailadres`,
/// `telefoonnummer`, `straatnaam`). The dataformat's own variables never match except the postcode
/// `ch08` and the `*_text` open answers (a test over every dataformat version checks this); the
/// other open-text variables (`wl10`, `inv01`, ...) have opaque names and are excluded by the
/// codebook instead.
pub fn name_kind(column_name: &str) -> Option<PersonalKind> {
    let canonical = canonical_name(column_name);
    let words: Vec<&str> = canonical.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let any = |f: &dyn Fn(&str) -> bool| words.iter().any(|w| f(w));
    let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);

    // Order matters where stems overlap: `emailadres` and `ip_adres` contain `adres` but are an
    // e-mail and an IP address; `straatnaam` contains `naam` but is an address.
    if words.first() == Some(&"ch08")
        || any(&|w| {
            w.contains("postcode")
                || w.contains("postalcode")
                || w.contains("zipcode")
                || matches!(w, "pc" | "pc4" | "pc5" | "pc6" | "zip" | "postal")
        })
    {
        return Some(PersonalKind::Postcode);
    }
    if pair("e", "mail") || any(&|w| w.contains("email") || w.starts_with("mail")) {
        return Some(PersonalKind::Email);
    }
    if any(&|w| matches!(w, "ip" | "ipv4" | "ipv6") || w.starts_with("ipadres") || w.starts_with("ipaddress")) {
        return Some(PersonalKind::IpAddress);
    }
    if any(&|w| {
        w == "bsn"
            || w.starts_with("bsn")
            || w == "sofi"
            || w.contains("burgerservicenummer")
            || w.contains("sofinummer")
    }) {
        return Some(PersonalKind::Bsn);
    }
    if any(&|w| {
        matches!(w, "tel" | "telnr" | "gsm" | "mobile")
            || w.starts_with("telefoon")
            || w.starts_with("telnummer")
            || w.starts_with("mobiel")
            || w.contains("phone")
    }) {
        return Some(PersonalKind::Phone);
    }
    if any(&|w| {
        w.contains("adres")
            || w.contains("address")
            || w.starts_with("straat")
            || w.contains("straatnaam")
            || w.contains("street")
            || w.contains("huisnummer")
            || matches!(w, "huisnr" | "huisletter")
            || w.contains("woonplaats")
    }) {
        return Some(PersonalKind::Address);
    }
    let person_name = words.iter().enumerate().any(|(i, w)| {
        let plain = matches!(*w, "naam" | "name");
        let compound = matches!(
            *w,
            "voornaam"
                | "achternaam"
                | "roepnaam"
                | "familienaam"
                | "geboortenaam"
                | "voorletters"
                | "tussenvoegsel"
                | "initialen"
                | "firstname"
                | "lastname"
                | "surname"
                | "fullname"
        ) || w.ends_with("voornaam")
            || w.ends_with("achternaam");
        let of_a_place = i > 0 && NOT_A_PERSON.contains(&words[i - 1]);
        compound || (plain && !of_a_place)
    });
    if person_name {
        return Some(PersonalKind::Name);
    }
    let last = words.last().copied().unwrap_or("");
    if matches!(last, "text" | "tekst" | "txt")
        || pair("anders", "namelijk")
        || any(&|w| {
            matches!(w, "open" | "namelijk" | "andersnamelijk" | "feedback")
                || w.starts_with("opmerking")
                || w.starts_with("toelichting")
                || w.starts_with("remark")
                || w.starts_with("comment")
                || w.starts_with("openantwoord")
                || w.starts_with("openvraag")
                || w.starts_with("vrijetekst")
        })
    {
        return Some(PersonalKind::OpenText);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// By content
// ---------------------------------------------------------------------------------------------

/// The kinds the content scan recognises, in the order that breaks a tie between two kinds found
/// equally often: the ones with a check digit first, because they are the least likely by chance.
const SCANNED: [PersonalKind; 5] =
    [PersonalKind::Bsn, PersonalKind::Iban, PersonalKind::Email, PersonalKind::Phone, PersonalKind::Postcode];

fn slot(kind: PersonalKind) -> usize {
    SCANNED.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Scans a column's cells for personal data. Returns the kind found in the most cells and the
/// number of cells it was found in, or `None` when the column looks clean.
///
/// Text cells are searched for e-mail addresses, phone numbers, postcodes, IBANs, and BSNs that
/// stand next to the word `bsn` (or `burgerservicenummer`, `sofinummer`); one such cell is enough
/// to flag the column. A cell that is *only* a number (a whole-number `Number` cell, or text of
/// digits only, or a BSN written `1234.56.782`) is different: respondent and login numbers look
/// just like that and about 1 in 11 random 9-digit numbers pass the eleven-test. Such cells count
/// as BSN (eleven-test on 9 digits, or 8 digits that lost their leading 0) or phone number
/// (`0612345678`, `31612345678`, and `612345678`, a mobile number whose leading 0 a spreadsheet
/// dropped) only when they are at least half of the column's non-empty cells and at least 3 of
/// them (or all of them, in a column of fewer than 3 values). A landline stored as a number
/// (`201234567`) is not recognised as a phone number: any 9-digit code would match.
/// Date cells are never personal data.
pub fn scan_column<'a>(cells: impl Iterator<Item = Value<'a>>) -> Option<(PersonalKind, usize)> {
    let mut non_empty = 0usize;
    // Per kind, in `SCANNED` order: cells where one match is enough, and bare-number cells.
    let mut strong = [0usize; SCANNED.len()];
    let mut bare = [0usize; SCANNED.len()];
    for cell in cells {
        match cell {
            Value::Empty => {}
            Value::Date(_) => non_empty += 1,
            Value::Number(x) => {
                non_empty += 1;
                if let Some(digits) = whole_number_digits(x) {
                    count_bare(&digits, &mut bare);
                }
            }
            Value::Text(s) => {
                let t = s.trim();
                if t.is_empty() {
                    continue;
                }
                non_empty += 1;
                if t.bytes().all(|b| b.is_ascii_digit()) {
                    count_bare(t, &mut bare);
                } else if let Some(digits) = dotted_bsn(t.as_bytes()) {
                    if is_bsn(&digits) {
                        bare[slot(PersonalKind::Bsn)] += 1;
                    }
                } else {
                    let b = t.as_bytes();
                    let found = [
                        contains_bsn_with_keyword(t),
                        contains_iban(b),
                        contains_email(b),
                        contains_phone(b),
                        contains_postcode(b),
                    ];
                    for (k, hit) in found.iter().enumerate() {
                        if *hit {
                            strong[k] += 1;
                        }
                    }
                }
            }
        }
    }
    let mut best: Option<(PersonalKind, usize)> = None;
    for (k, kind) in SCANNED.iter().enumerate() {
        let bare_counts = bare[k] > 0 && bare[k] * 2 >= non_empty && bare[k] >= non_empty.min(3);
        let count = strong[k] + if bare_counts { bare[k] } else { 0 };
        // Strictly greater: an earlier kind in `SCANNED` wins a tie.
        if count > 0 && best.is_none_or(|(_, c)| count > c) {
            best = Some((*kind, count));
        }
    }
    best
}

/// The digits of a non-negative whole number, as a spreadsheet would show them. Larger numbers
/// than 10^15 are not exact in an `f64` and are no kind we recognise anyway.
fn whole_number_digits(x: f64) -> Option<String> {
    // Below 8 digits a number is neither a BSN nor a phone number: answer codes, the bulk of
    // every column, are not formatted at all.
    if x.is_finite() && (1e7..1e15).contains(&x) && x.fract() == 0.0 { Some(format!("{}", x as u64)) } else { None }
}

/// Counts a cell that is nothing but digits towards the bare-number kinds it could be.
fn count_bare(digits: &str, bare: &mut [usize; SCANNED.len()]) {
    if is_bsn(digits) {
        bare[slot(PersonalKind::Bsn)] += 1;
    }
    if is_bare_phone(digits.as_bytes()) {
        bare[slot(PersonalKind::Phone)] += 1;
    }
}

/// A phone number written as digits only: `0[1-9]` + 8 digits, `31` or `0031` + 9 digits, or a
/// mobile number `6` + 8 digits that lost its leading 0 in a spreadsheet.
fn is_bare_phone(d: &[u8]) -> bool {
    let nonzero = |i: usize| d.get(i).is_some_and(|b| (b'1'..=b'9').contains(b));
    match d.len() {
        10 => d[0] == b'0' && nonzero(1),
        9 => d[0] == b'6',
        11 => d.starts_with(b"31") && nonzero(2),
        13 => d.starts_with(b"0031") && nonzero(4),
        _ => false,
    }
}

/// The BSN eleven-test ("elfproef"): 9 digits d1..d9 (or 8, taken as having lost a leading 0)
/// with 9·d1 + 8·d2 + ... + 2·d8 − 1·d9 divisible by 11, and not all zeros.
pub fn is_bsn(digits: &str) -> bool {
    let b = digits.as_bytes();
    if !(b.len() == 8 || b.len() == 9) || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut d = [0i64; 9];
    let offset = 9 - b.len();
    for (k, c) in b.iter().enumerate() {
        d[offset + k] = i64::from(c - b'0');
    }
    if d.iter().all(|x| *x == 0) {
        return false;
    }
    let sum: i64 = (0..8).map(|k| (9 - k as i64) * d[k]).sum::<i64>() - d[8];
    sum.rem_euclid(11) == 0
}

/// The IBAN check (ISO 13616): check digits 02..98, and the number with its first four
/// characters moved to the end, letters as 10..35, is 1 modulo 97. `iban` is upper case
/// without spaces.
pub fn is_iban(iban: &str) -> bool {
    let b = iban.as_bytes();
    if b.len() < 15
        || b.len() > 34
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || matches!(&b[2..4], b"00" | b"01" | b"99")
    {
        return false;
    }
    let mut r: u32 = 0;
    for c in b[4..].iter().chain(&b[..4]) {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    r == 1
}

/// IBAN lengths of the SEPA countries (and Turkey): knowing the length tells where an IBAN
/// written in groups of four ends, so the next word of the sentence is not taken for part of it.
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AT", 20), (b"BE", 16), (b"BG", 22), (b"CH", 21), (b"CY", 28), (b"CZ", 24),
    (b"DE", 22), (b"DK", 18), (b"EE", 20), (b"ES", 24), (b"FI", 18), (b"FO", 18), (b"FR", 27),
    (b"GB", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"HR", 21), (b"HU", 28), (b"IE", 22),
    (b"IS", 26), (b"IT", 27), (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21), (b"MC", 27),
    (b"MT", 31), (b"NL", 18), (b"NO", 15), (b"PL", 28), (b"PT", 25), (b"RO", 24), (b"SE", 24),
    (b"SI", 19), (b"SK", 24), (b"SM", 27), (b"TR", 26),
];

/// A letter or digit, or any non-ASCII byte: a digit run touching `é` is part of a word, not a
/// number standing on its own, so it is not taken for one.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Whether a token may start at `i`: not inside a word, and not the part after the decimal
/// mark, date dash or slash of a number (`1,234`, `2023-05-01`, `3/4`).
fn token_start(s: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let prev = s[i - 1];
    if is_word_byte(prev) {
        return false;
    }
    !(matches!(prev, b'.' | b',' | b'-' | b'/' | b':') && i >= 2 && s[i - 2].is_ascii_digit())
}

/// Whether a token may end before `j`: followed by nothing, or by something that cannot
/// continue it (not a letter or digit, and not a decimal mark or dash followed by a digit).
fn token_end(s: &[u8], j: usize) -> bool {
    match s.get(j) {
        None => true,
        Some(b) if is_word_byte(*b) => false,
        Some(b'.' | b',' | b'-' | b'/' | b':') => !s.get(j + 1).is_some_and(u8::is_ascii_digit),
        Some(_) => true,
    }
}

/// `local@domain.tld`: at least one local-part character before the `@`, and a domain of two or
/// more dot-separated labels whose last is at least two letters.
fn contains_email(s: &[u8]) -> bool {
    let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    s.iter().enumerate().any(|(i, b)| {
        if *b != b'@' || i == 0 || !local(s[i - 1]) {
            return false;
        }
        let rest = &s[i + 1..];
        let end =
            rest.iter().position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))).unwrap_or(rest.len());
        // A sentence may end right after the address: `mail me: a@b.nl.`
        let mut domain = &rest[..end];
        while let [head @ .., b'.'] = domain {
            domain = head;
        }
        let labels: Vec<&[u8]> = domain.split(|b| *b == b'.').collect();
        labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic))
    })
}

fn is_phone_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/')
}

/// A Dutch phone number anywhere in the text.
fn contains_phone(s: &[u8]) -> bool {
    (0..s.len()).any(|i| token_start(s, i) && phone_at(s, i))
}

/// A Dutch phone number starting at `i`: `+31`/`0031` and 9 digits (an optional `(0)` after the
/// country code), or 10 digits starting with `0` and a non-zero digit. Digits may be grouped by
/// spaces, dashes, dots, slashes and parentheses, at most two separators in a row. Grouped
/// national numbers must start with `06` or a 3-4 digit area code (`020`, `0299`), so a date
/// `01-02-2023 12` is not taken for one.
fn phone_at(s: &[u8], i: usize) -> bool {
    let mut j = i;
    let international = if s[j..].starts_with(b"+31") {
        j += 3;
        true
    } else if s[j..].starts_with(b"0031") {
        j += 4;
        true
    } else {
        false
    };
    if international {
        while s.get(j).is_some_and(|b| *b == b' ' || *b == b'-') {
            j += 1;
        }
        if s[j..].starts_with(b"(0)") {
            j += 3;
        }
    } else if !matches!(s.get(j), Some(b'0' | b'(')) {
        return false;
    }
    let need = if international { 9 } else { 10 };
    let mut digits: Vec<u8> = Vec::with_capacity(need);
    let mut first_group: Option<usize> = None;
    let mut separators_in_row = 0;
    while digits.len() < need {
        match s.get(j) {
            Some(b) if b.is_ascii_digit() => {
                digits.push(*b);
                separators_in_row = 0;
            }
            Some(b) if is_phone_separator(*b) && separators_in_row < 2 => {
                if !digits.is_empty() && first_group.is_none() {
                    first_group = Some(digits.len());
                }
                separators_in_row += 1;
            }
            _ => return false,
        }
        j += 1;
    }
    if s.get(j) == Some(&b')') {
        return false;
    }
    if !token_end(s, j) {
        return false;
    }
    if international {
        return digits[0] != b'0';
    }
    let area_ok = match first_group {
        None => true,
        Some(2) => digits.starts_with(b"06"),
        Some(n) => n == 3 || n == 4,
    };
    digits[0] == b'0' && digits[1] != b'0' && area_ok
}

/// A Dutch postcode: four digits, the first not 0, then two letters. Written `1234 AB` the
/// letters must be capitals (so `in 2019 en 2020` is not one); written `1234ab` either case.
/// PostNL does not use the letter pairs SA, SD and SS, so those are not postcodes.
fn contains_postcode(s: &[u8]) -> bool {
    (0..s.len()).any(|i| {
        if !token_start(s, i) || !matches!(s[i], b'1'..=b'9') || s.len() < i + 6 {
            return false;
        }
        if !s[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            return false;
        }
        let (letters, end) = if s[i + 4] == b' ' {
            match s.get(i + 5..i + 7) {
                Some(l) if l.iter().all(u8::is_ascii_uppercase) => (l, i + 7),
                _ => return false,
            }
        } else {
            (&s[i + 4..i + 6], i + 6)
        };
        if !letters.iter().all(u8::is_ascii_alphabetic) || !token_end(s, end) {
            return false;
        }
        let upper = [letters[0].to_ascii_uppercase(), letters[1].to_ascii_uppercase()];
        !matches!(&upper, b"SA" | b"SD" | b"SS")
    })
}

/// An IBAN anywhere in the text, written whole or in groups separated by single spaces, upper
/// or lower case, passing the mod-97 check.
fn contains_iban(s: &[u8]) -> bool {
    (0..s.len()).any(|i| {
        if !token_start(s, i) || s.len() < i + 2 || !s[i].is_ascii_alphabetic() || !s[i + 1].is_ascii_alphabetic() {
            return false;
        }
        let country = [s[i].to_ascii_uppercase(), s[i + 1].to_ascii_uppercase()];
        let Some((_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| **c == country) else {
            return false;
        };
        let mut chars = Vec::with_capacity(*len);
        let mut j = i;
        while chars.len() < *len {
            match s.get(j) {
                Some(b) if b.is_ascii_alphanumeric() => chars.push(b.to_ascii_uppercase()),
                Some(b' ') if s.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) && !chars.is_empty() => {}
                _ => return false,
            }
            j += 1;
        }
        token_end(s, j) && std::str::from_utf8(&chars).is_ok_and(is_iban)
    })
}

/// A BSN written `1234.56.782` as the whole cell: its 9 digits.
fn dotted_bsn(s: &[u8]) -> Option<String> {
    let shape = s.len() == 11
        && s[4] == b'.'
        && s[7] == b'.'
        && s.iter().enumerate().all(|(k, b)| k == 4 || k == 7 || b.is_ascii_digit());
    shape.then(|| s.iter().filter(|b| b.is_ascii_digit()).map(|b| *b as char).collect())
}

/// A BSN inside free text, counted only when the text also says it is one: a 9-digit number
/// passes the eleven-test by chance 1 time in 11, so without the word it proves nothing.
fn contains_bsn_with_keyword(t: &str) -> bool {
    let lower = t.to_lowercase();
    if !(lower.contains("bsn") || lower.contains("burgerservicenummer") || lower.contains("sofinummer")) {
        return false;
    }
    let s = t.as_bytes();
    (0..s.len()).any(|i| {
        if !token_start(s, i) || !s[i].is_ascii_digit() {
            return false;
        }
        let run = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = if run == 9 && token_end(s, i + 9) {
            std::str::from_utf8(&s[i..i + 9]).ok().map(str::to_string)
        } else if run == 4 && token_end(s, i + 11) {
            s.get(i..i + 11).and_then(dotted_bsn)
        } else {
            None
        };
        digits.is_some_and(|d| is_bsn(&d))
    })
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// The finding for a column dropped because of its name.
pub fn name_finding(delivery_id: &str, column: &str, kind: PersonalKind) -> Finding {
    Finding::new(
        finding::PERSONAL_DATA_COLUMN,
        delivery_id,
        format!("column {column:?} is dropped unread: its name says it holds personal data ({})", kind.as_str()),
    )
    .column(column.to_string())
}

/// The finding for a column dropped because of what its cells hold. Names the kind and how many
/// cells, never a value or a row's contents.
pub fn content_finding(delivery_id: &str, column: &str, kind: PersonalKind, cells: usize) -> Finding {
    let mut f = Finding::new(
        finding::PERSONAL_DATA_FOUND,
        delivery_id,
        format!(
            "column {column:?} is dropped: {cells} cell(s) hold personal data ({}); the values \
             are not shown",
            kind.as_str()
        ),
    )
    .column(column.to_string());
    f.count = cells as u64;
    f
}

/// Both checks for one column: by name first (then its cells are not read at all), else by
/// content. `Some` means the column must be dropped, with the finding that says why.
pub fn check_column<'a>(delivery_id: &str, column: &str, cells: impl Iterator<Item = Value<'a>>) -> Option<Finding> {
    if let Some(kind) = name_kind(column) {
        return Some(name_finding(delivery_id, column, kind));
    }
    scan_column(cells).map(|(kind, n)| content_finding(delivery_id, column, kind, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn text(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    /// A column of ordinary survey answers with `planted` in the middle.
    fn planted(value: &str) -> Vec<Value<'_>> {
        let mut col: Vec<Value<'_>> =
            ["1", "2", "", "nvt", "3", "weet niet", "99", "1,5"].iter().map(|s| text(s)).collect();
        col.insert(4, text(value));
        col
    }

    #[test]
    fn name_kind_recognises_personal_names() {
        use PersonalKind::*;
        let cases: &[(&str, Option<PersonalKind>)] = &[
            ("postcode", Some(Postcode)),
            ("Postcode", Some(Postcode)),
            ("PC4", Some(Postcode)),
            ("pc6", Some(Postcode)),
            ("ch08", Some(Postcode)),
            ("CH08", Some(Postcode)),
            ("postcode_respondent", Some(Postcode)),
            ("E-mail", Some(Email)),
            ("e_mail", Some(Email)),
            ("e mail", Some(Email)),
            ("Emailadres", Some(Email)),
            ("E-mailadres", Some(Email)),
            ("mail", Some(Email)),
            ("naam", Some(Name)),
            ("Naam respondent", Some(Name)),
            ("Voornaam", Some(Name)),
            ("achternaam", Some(Name)),
            ("first_name", Some(Name)),
            ("tussenvoegsel", Some(Name)),
            ("adres", Some(Address)),
            ("Address", Some(Address)),
            ("straatnaam", Some(Address)),
            ("huisnummer", Some(Address)),
            ("woonplaats", Some(Address)),
            ("telefoon", Some(Phone)),
            ("Telefoonnummer", Some(Phone)),
            ("tel.nr", Some(Phone)),
            ("tel", Some(Phone)),
            ("phone", Some(Phone)),
            ("Mobiel", Some(Phone)),
            ("BSN", Some(Bsn)),
            ("burgerservicenummer", Some(Bsn)),
            ("ip", Some(IpAddress)),
            ("IP-adres", Some(IpAddress)),
            ("ip_adres", Some(IpAddress)),
            ("IPAddress", Some(IpAddress)),
            ("opmerking", Some(OpenText)),
            ("Opmerkingen", Some(OpenText)),
            ("toelichting", Some(OpenText)),
            ("remarks", Some(OpenText)),
            ("open", Some(OpenText)),
            ("anders_namelijk", Some(OpenText)),
            ("anders, namelijk", Some(OpenText)),
            ("zw08_6_text", Some(OpenText)),
            ("Q12_TEXT", Some(OpenText)),
            ("wl01", None),
            ("respondent", None),
            ("wijknr", None),
            ("weging", None),
            ("org", None),
            ("gemnr", None),
            ("veldwerkmodus", None),
            ("gemeentenaam", None),
            ("gemeente_naam", None),
            ("wijk naam", None),
            ("openbaar_vervoer", None),
            ("telefonisch", None),
            ("pipeline", None),
            ("zip_ok", Some(Postcode)),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(name_kind(name), *want, "name {name:?}");
        }
    }

    fn codebook_dir() -> &'static str {
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/codebook/")
    }

    /// Every (name, spss_type) of one dataformat CSV.
    fn dataformat_variables(file: &str) -> Vec<(String, String)> {
        let path = format!("{}{file}", codebook_dir());
        let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let headers = reader.headers().cloned().unwrap_or_else(|e| panic!("{path}: {e}"));
        let col = |h: &str| headers.iter().position(|x| x == h).unwrap_or_else(|| panic!("{path} lacks {h}"));
        let (name, ty) = (col("name"), col("spss_type"));
        reader
            .records()
            .map(|r| {
                let r = r.unwrap_or_else(|e| panic!("{path}: {e}"));
                (r[name].to_string(), r[ty].to_string())
            })
            .collect()
    }

    #[test]
    fn dataformat_names_match_only_excluded_string_variables() {
        let excluded: BTreeSet<String> = {
            let path = format!("{}excluded-variables.csv", codebook_dir());
            let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            reader.records().map(|r| r.unwrap_or_else(|e| panic!("{path}: {e}"))[0].to_string()).collect()
        };
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for file in
            ["dataformat-2019-v11.csv", "dataformat-2019-v12.csv", "dataformat-2019-v13.csv", "dataformat-2022.csv"]
        {
            let vars = dataformat_variables(file);
            assert!(vars.len() > 150, "{file} has {} variables", vars.len());
            types.extend(vars);
        }
        let mut matched = BTreeSet::new();
        for (name, ty) in &types {
            if let Some(kind) = name_kind(name) {
                assert_eq!(ty, "string", "{name} is a {ty} variable but matches {kind:?}");
                assert!(excluded.contains(name), "{name} matches {kind:?} but is not excluded");
                matched.insert(name.clone());
            }
        }
        // What the name patterns can see: the postcode and the `*_text` answers. The other open
        // answers (`wl10`, `inv01`, ...) have opaque names; the codebook excludes them.
        let expected: BTreeSet<String> =
            ["ch08", "zw08_6_text", "zw13_8_text", "zw14_5_text"].iter().map(|s| s.to_string()).collect();
        assert_eq!(matched, expected);
    }

    #[test]
    fn planted_personal_data_is_detected() {
        use PersonalKind::*;
        let cases: &[(&str, PersonalKind)] = &[
            ("jan.jansen@example.nl", Email),
            ("mail me op j_de-vries+bp@mail.gemeente.nl.", Email),
            ("06-12345678", Phone),
            ("0612345678 graag bellen", Phone),
            ("bel +31 6 1234 5678", Phone),
            ("+31 (0)20 123 4567", Phone),
            ("+31612345678", Phone),
            ("0031 6 12345678", Phone),
            ("020-1234567", Phone),
            ("(020) 123 45 67", Phone),
            ("0299 123456", Phone),
            ("06 12 34 56 78", Phone),
            ("1234 AB", Postcode),
            ("1234AB", Postcode),
            ("ik woon in 3511ab utrecht", Postcode),
            ("NL91ABNA0417164300", Iban),
            ("NL91 ABNA 0417 1643 00", Iban),
            ("rekening nl91abna0417164300 graag", Iban),
            ("BE68539007547034", Iban),
            ("DE89 3704 0044 0532 0130 00", Iban),
            ("mijn bsn is 111222333", Bsn),
            ("BSN: 1234.56.782", Bsn),
        ];
        for (value, kind) in cases {
            let col = planted(value);
            assert_eq!(scan_column(col.iter().copied()), Some((*kind, 1)), "planted {value:?}");
        }
    }

    #[test]
    fn bare_numbers_need_a_majority() {
        use PersonalKind::*;
        let num = |x: f64| Value::Number(x);
        type Case = (Vec<Value<'static>>, Option<(PersonalKind, usize)>);
        let cases: &[Case] = &[
            // A respondent-number column of BSNs.
            (vec![text("111222333"), text("123456782"), text("12345672"), text("")], Some((Bsn, 3))),
            (vec![num(111222333.0), num(123456782.0), num(10000008.0), num(1.0)], Some((Bsn, 3))),
            (vec![text("1234.56.782"), text("1112.22.333"), text("0100.00.008")], Some((Bsn, 3))),
            // One or two eleven-proof numbers among codes prove nothing.
            (vec![text("111222333"), text("1"), text("2"), text("3"), text("4")], None),
            (vec![text("111222333"), text("123456782"), text("1"), text("2"), text("3"), text("4")], None),
            // A lone value is the whole column.
            (vec![text("123456782")], Some((Bsn, 1))),
            // Mobile numbers whose leading 0 a spreadsheet dropped, and as text.
            (vec![num(612345678.0), num(687654321.0), num(611111111.0)], Some((Phone, 3))),
            (vec![text("0612345678"), text("0201234567"), text("31612345678"), text("")], Some((Phone, 3))),
            // A landline stored as a number is indistinguishable from a code.
            (vec![num(301234567.0), num(401234567.0), num(501234568.0)], None),
        ];
        for (col, want) in cases {
            assert_eq!(scan_column(col.iter().copied()), *want, "column {col:?}");
        }
    }

    #[test]
    fn ordinary_survey_columns_are_not_detected() {
        // The texts live as long as the test: a cell borrows its text.
        let texts = |v: Vec<String>| v.into_iter().map(|s| Value::Text(s.leak())).collect::<Vec<_>>();
        let columns: Vec<(&str, Vec<Value<'_>>)> = vec![
            ("codes", (0..200).map(|i| Value::Number(f64::from(i % 12))).collect()),
            ("text codes", texts((0..200).map(|i| format!("{}", [1, 2, 11, 99][i % 4])).collect())),
            ("weights", texts((0..200).map(|i| format!("{},{:03}", i % 3, i * 7 % 1000)).collect())),
            ("weights as numbers", (0..200).map(|i| Value::Number(0.5 + f64::from(i) / 97.0)).collect()),
            ("respondent 1..5000", (1..=5000).map(|i| Value::Number(f64::from(i))).collect()),
            ("respondent text", texts((1..=5000).map(|i| i.to_string()).collect())),
            ("zero-padded", texts((1..=5000).map(|i| format!("{i:06}")).collect())),
            ("10-digit padded", texts((1..=5000).map(|i| format!("{i:010}")).collect())),
            ("8-digit logins", (10_000_000..10_005_000).map(|i| Value::Number(f64::from(i))).collect()),
            ("9-digit logins", texts((100_000_000..100_005_000).map(|i: u32| i.to_string()).collect())),
            ("districts", texts((0..300).map(|i| format!("WK0363{:02}", i % 100)).collect())),
            ("neighbourhoods", texts((0..300).map(|i| format!("BU0363{:04}", i)).collect())),
            ("iso dates", texts((1..=28).map(|d| format!("2023-05-{d:02}")).collect())),
            ("dutch dates", texts((1..=28).map(|d| format!("{d:02}-02-2023 12:30")).collect())),
            ("dutch dates with slashes", texts((1..=28).map(|d| format!("{d:02}/02/2023")).collect())),
            ("spreadsheet dates", (0..100).map(|d| Value::Date(45000.0 + f64::from(d))).collect()),
            ("timestamps", texts((0..60).map(|m| format!("2023-05-01 08:{m:02}:00")).collect())),
            (
                "free text",
                vec![
                    text("in 2019 en 2020 was het beter"),
                    text("ik woon hier al 20 jaar"),
                    text("@gemeente op twitter"),
                    text("tussen 0 en 10: een 8"),
                    text("versie 1.2.3.4 van de app"),
                    text("ruim 1.234.567 inwoners"),
                ],
            ),
            (
                "negative and huge numbers",
                vec![Value::Number(-612345678.0), Value::Number(1e300), Value::Number(f64::NAN)],
            ),
            ("empty", vec![Value::Empty, text("  ")]),
        ];
        for (what, col) in columns {
            assert_eq!(scan_column(col.iter().copied()), None, "{what}");
        }
    }

    #[test]
    fn bsn_eleven_test() {
        let cases = [
            ("111222333", true),
            ("123456782", true),
            ("100000009", true),
            ("12345672", true), // 8 digits: 012345672
            ("10000008", true),
            ("123456789", false),
            ("111222334", false),
            ("000000000", false),
            ("00000000", false),
            ("12345678", false),
            ("1234567820", false),
            ("1234567", false),
            ("12345678a", false),
            ("", false),
        ];
        for (digits, want) in cases {
            assert_eq!(is_bsn(digits), want, "{digits}");
        }
    }

    #[test]
    fn iban_mod_97() {
        let cases = [
            ("NL91ABNA0417164300", true),
            ("NL20INGB0001234567", true),
            ("GB82WEST12345698765432", true),
            ("BE68539007547034", true),
            ("NL91ABNA0417164301", false),
            ("NL19ABNA0417164300", false),
            ("NL91ABNA041716430", false),
            ("nl91abna0417164300", false), // callers upper-case first
            ("NL9XABNA0417164300", false),
            ("", false),
        ];
        for (iban, want) in cases {
            assert_eq!(is_iban(iban), want, "{iban}");
        }
        // A valid-looking IBAN with a wrong check digit is not found in text either.
        assert_eq!(scan_column(planted("NL91ABNA0417164301").iter().copied()), None);
    }

    #[test]
    fn findings_never_contain_the_value() {
        let values = ["jan.jansen@example.nl", "06-12345678", "1234 AB", "NL91ABNA0417164300", "mijn bsn is 111222333"];
        for value in values {
            for column in ["opmerking", "wl99"] {
                let f = check_column("d1", column, planted(value).iter().copied())
                    .unwrap_or_else(|| panic!("{value:?} in {column} not detected"));
                let json = serde_json::to_string(&f).unwrap_or_default();
                assert!(!json.is_empty());
                for part in value.split(' ').filter(|p| p.len() > 3) {
                    assert!(!json.contains(part), "{json} contains {part}");
                }
                assert!(!json.contains("12345678") && !json.contains("111222333"), "{json}");
                assert_eq!(f.column.as_deref(), Some(column));
            }
        }
        let by_content = check_column("d1", "wl99", planted("06-12345678").iter().copied());
        assert!(by_content.is_some_and(|f| f.rule == finding::PERSONAL_DATA_FOUND.id && f.count == 1));
        let by_name = check_column("d1", "E-mail", planted("x").iter().copied());
        assert!(by_name.is_some_and(|f| f.rule == finding::PERSONAL_DATA_COLUMN.id));
        assert_eq!(check_column("d1", "wl01", planted("4").iter().copied()), None);
    }

    /// A 9-digit string that passes the eleven-test, from 8 digits and the check digit they need.
    fn eleven_proof() -> impl Strategy<Value = String> {
        "[0-9]{8}".prop_filter_map("no check digit fits", |head| {
            let d: Vec<i64> = head.bytes().map(|b| i64::from(b - b'0')).collect();
            let check = (0..8).map(|k| (9 - k as i64) * d[k]).sum::<i64>().rem_euclid(11);
            let s = format!("{head}{check}");
            (check < 10 && is_bsn(&s)).then_some(s)
        })
    }

    proptest! {
        #[test]
        fn no_panic_on_arbitrary_strings(s in any::<String>(), t in "[0-9 +()@.,-]{0,40}[A-Za-z]{0,3}") {
            let _ = name_kind(&s);
            let both = format!("{t}{s}");
            let col = [Value::Text(&s), Value::Text(&t), Value::Text(&both)];
            let _ = scan_column(col.iter().copied());
            let _ = check_column("d", &s, col.iter().copied());
            let _ = is_bsn(&s);
            let _ = is_iban(&s);
        }

        #[test]
        fn eleven_proof_column_is_detected(bsn in eleven_proof(), n in 1usize..20) {
            let texts: Vec<Value<'_>> = (0..n).map(|_| Value::Text(&bsn)).collect();
            prop_assert_eq!(scan_column(texts.iter().copied()), Some((PersonalKind::Bsn, n)));
            // As a number it loses its leading zeros; the official rule pads only one back, so
            // a BSN starting with `00` is not one (and no BSN is issued like that).
            if !bsn.starts_with("00") {
                let value: f64 = bsn.parse().unwrap_or(f64::NAN);
                let numbers: Vec<Value<'_>> = (0..n).map(|_| Value::Number(value)).collect();
                prop_assert_eq!(scan_column(numbers.iter().copied()), Some((PersonalKind::Bsn, n)));
            }
        }
    }
}
