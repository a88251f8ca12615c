//! Values: turns delivered cells into codes and numbers.
//!
//! Codes come as numbers or numeric text (`3`, `"3.0"`, `" 3 "`, `"3,0"`) or as the variable's
//! value labels (`"helemaal eens"`). Declared missing codes become null, invalid codes become
//! null and are counted, 2019 codes are recoded onto 2022 codes where an exact rule exists.
//! Decimal numbers (`weging`) get their decimal mark decided per column. Pure; no findings are
//! built here, only the row indexes they need.

use crate::codebook::Answer;
use crate::ingest::Value;

/// One delivered questionnaire column, converted, with the rows (indexes into the table) of
/// each kind of problem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerColumn {
    /// The values for the target column (2022 codes).
    pub values: Vec<Option<i16>>,
    /// The valid 2019 codes as delivered, when the recode keeps a `<name>_2019` column.
    pub original: Option<Vec<Option<i16>>>,
    pub not_a_code: Vec<usize>,
    pub dates: Vec<usize>,
    pub invalid: Vec<usize>,
    pub unmappable: Vec<usize>,
    pub from_labels: Vec<usize>,
}

/// Converts the cells of one delivered questionnaire variable.
pub fn answer_column<'a>(cells: impl Iterator<Item = Value<'a>>, answer: &Answer) -> AnswerColumn {
    let keep_original = answer.recode.as_ref().is_some_and(|r| r.keep_2019.is_some());
    let mut out = AnswerColumn::default();
    let mut original = Vec::new();
    for (r, cell) in cells.enumerate() {
        let code = match parse_code(cell) {
            Ok(c) => c,
            Err(()) => match cell {
                Value::Date(_) => {
                    out.dates.push(r);
                    None
                }
                Value::Text(t) => match answer.code_of_label(t) {
                    Some(c) => {
                        out.from_labels.push(r);
                        Some(c)
                    }
                    None => {
                        out.not_a_code.push(r);
                        None
                    }
                },
                _ => {
                    out.not_a_code.push(r);
                    None
                }
            },
        };
        let code = code.filter(|c| !answer.user_missing.contains(*c));
        let code = match code {
            Some(c) if !answer.is_valid(c) => {
                out.invalid.push(r);
                None
            }
            other => other,
        };
        let value = match code {
            Some(c) => {
                let v = answer.recoded(c);
                if v.is_none() {
                    out.unmappable.push(r);
                }
                v
            }
            None => None,
        };
        out.values.push(value);
        if keep_original {
            original.push(code);
        }
    }
    if keep_original {
        out.original = Some(original);
    }
    out
}

/// A cell as a whole-number code: `3`, `3.0`, `" 3 "`, `"3,0"`. Empty is `Ok(None)`; anything
/// else (text, fractions, out of range, dates) is `Err`.
pub(crate) fn parse_code(cell: Value) -> Result<Option<i16>, ()> {
    let v = match parse_number(cell)? {
        None => return Ok(None),
        Some(v) => v,
    };
    // -32768 is refused too: `Answers` stores no answer as that value (`NO_ANSWER`).
    if v.fract() != 0.0 || v <= f64::from(super::NO_ANSWER) || v > f64::from(i16::MAX) {
        return Err(());
    }
    Ok(Some(v as i16))
}

/// A cell as a number; text may use a decimal comma (`1,25`) or point. Empty is `Ok(None)`.
pub(crate) fn parse_number(cell: Value) -> Result<Option<f64>, ()> {
    parse_decimal(cell, None)
}

/// The thousands separator of a column of decimal numbers, decided from all its values: when
/// some value holds both `.` and `,`, the one that comes first groups thousands (`1.234,5`,
/// `1,234.5`); otherwise there is none, and a lone `,` or `.` is the decimal mark, so `1,234`
/// is 1.234 (a weight, not twelve hundred).
pub fn grouping_mark<'a>(cells: impl Iterator<Item = Value<'a>>) -> Option<char> {
    let (mut comma_first, mut point_first) = (0usize, 0usize);
    for cell in cells {
        if let Value::Text(t) = cell
            && let (Some(c), Some(p)) = (t.find(','), t.find('.'))
        {
            if c < p { comma_first += 1 } else { point_first += 1 }
        }
    }
    match (comma_first, point_first) {
        (0, 0) => None,
        (c, p) if c >= p => Some(','),
        _ => Some('.'),
    }
}

/// A cell as a number, with `grouping` (if any) as the column's thousands separator: groups
/// must then be of three digits, and the other separator is the decimal mark.
pub(crate) fn parse_decimal(cell: Value, grouping: Option<char>) -> Result<Option<f64>, ()> {
    let t = match cell {
        Value::Empty => return Ok(None),
        Value::Number(v) if v.is_finite() => return Ok(Some(v)),
        Value::Number(_) | Value::Date(_) => return Err(()),
        Value::Text(t) => t.trim(),
    };
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(v) = plain_integer(t) {
        return Ok(Some(v));
    }
    let mut plain = String::with_capacity(t.len());
    let (int_part, frac_part) = match grouping {
        Some(g) => {
            let decimal = if g == ',' { '.' } else { ',' };
            let (int_part, frac) = t.split_once(decimal).map_or((t, None), |(a, b)| (a, Some(b)));
            let mut groups = int_part.split(g);
            let first = groups.next().unwrap_or("");
            if groups.clone().any(|grp| grp.len() != 3)
                || (int_part.contains(g) && first.trim_start_matches(['-', '+']).is_empty())
            {
                return Err(());
            }
            plain.push_str(&int_part.replace(g, ""));
            (plain.as_str(), frac)
        }
        None => {
            if t.contains(',') && t.contains('.') {
                return Err(());
            }
            t.split_once([',', '.']).map_or((t, None), |(a, b)| (a, Some(b)))
        }
    };
    let number = match frac_part {
        Some(f) => format!("{int_part}.{f}"),
        None => int_part.to_string(),
    };
    // Only plain decimal notation: no exponents, no inf/nan words.
    if !number.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
        return Err(());
    }
    number.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some).ok_or(())
}

/// `-?[0-9]{1,15}` as a number, without allocating: the answer codes of text files, which are
/// nearly every cell. Anything else is left to the general parser.
fn plain_integer(t: &str) -> Option<f64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
    Some(if digits.len() < t.len() { -(n as f64) } else { n as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codebook::{CodeSet, Recode};

    fn text(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    #[test]
    fn plain_integers_parse_as_the_general_parser_would() {
        for t in ["0", "7", "-12", "000123", "-0", "999999999999999"] {
            assert_eq!(plain_integer(t).map(f64::to_bits), t.parse::<f64>().ok().map(f64::to_bits), "{t}");
        }
        for t in ["", "-", "1.5", "1,5", "+3", "1e3", "9999999999999999", " 3"] {
            assert_eq!(plain_integer(t), None, "{t}");
        }
    }

    #[test]
    fn codes_parse_from_numbers_and_numeric_text() {
        assert_eq!(parse_code(Value::Number(3.0)), Ok(Some(3)));
        assert_eq!(parse_code(text(" 3 ")), Ok(Some(3)));
        assert_eq!(parse_code(text("3.0")), Ok(Some(3)));
        assert_eq!(parse_code(text("3,0")), Ok(Some(3)));
        assert_eq!(parse_code(Value::Empty), Ok(None));
        assert_eq!(parse_code(text("3,5")), Err(()));
        assert_eq!(parse_code(text("ja")), Err(()));
        // The whole i16 range but its lowest value, which `Answers` keeps for "no answer".
        assert_eq!(parse_code(Value::Number(-32767.0)), Ok(Some(-32767)));
        assert_eq!(parse_code(Value::Number(32767.0)), Ok(Some(32767)));
        assert_eq!(parse_code(Value::Number(-32768.0)), Err(()));
        assert_eq!(parse_code(Value::Number(32768.0)), Err(()));
        assert_eq!(parse_number(text("1,234")), Ok(Some(1.234)));
        assert_eq!(parse_number(text("1e3")), Err(()));
    }

    #[test]
    fn decimal_marks_are_decided_per_column() {
        let col = |v: &[&'static str]| v.iter().map(|s| text(s)).collect::<Vec<_>>();
        // Only lone separators: each is a decimal mark.
        let weights = col(&["1,234", "0,9", "1.5", ""]);
        let g = grouping_mark(weights.iter().copied());
        assert_eq!(g, None);
        let parsed: Vec<_> = weights.iter().map(|c| parse_decimal(*c, g)).collect();
        assert_eq!(parsed, [Ok(Some(1.234)), Ok(Some(0.9)), Ok(Some(1.5)), Ok(None)]);
        // A value with both: the first groups thousands, in every value of the column.
        let dutch = col(&["1.234,5", "1,25", "2.000"]);
        let g = grouping_mark(dutch.iter().copied());
        assert_eq!(g, Some('.'));
        let parsed: Vec<_> = dutch.iter().map(|c| parse_decimal(*c, g)).collect();
        assert_eq!(parsed, [Ok(Some(1234.5)), Ok(Some(1.25)), Ok(Some(2000.0))]);
        let english = col(&["1,234.5", "12.5"]);
        let g = grouping_mark(english.iter().copied());
        assert_eq!(g, Some(','));
        assert_eq!(parse_decimal(english[0], g), Ok(Some(1234.5)));
        assert_eq!(parse_decimal(text("1,23.5"), g), Err(()), "groups of three only");
    }

    fn answer(valid: &[i16], recode: Option<Recode>) -> Answer {
        Answer {
            column: 0,
            user_missing: CodeSet::new(&[-1, 88, 99]),
            valid: CodeSet::new(valid),
            labels: vec![("helemaal eens".into(), 1), ("eens".into(), 2)],
            recode,
        }
    }

    #[test]
    fn answer_columns_sort_every_cell() {
        let cells = [
            Value::Number(1.0),
            text("Helemaal eens"),
            text("99"),
            Value::Number(7.0),
            Value::Date(45000.0),
            text("misschien"),
            Value::Empty,
            text("2,0"),
        ];
        let c = answer_column(cells.iter().copied(), &answer(&[1, 2, 3, 4, 5, 6], None));
        assert_eq!(c.values, [Some(1), Some(1), None, None, None, None, None, Some(2)]);
        assert_eq!((c.from_labels, c.invalid, c.dates, c.not_a_code), (vec![1], vec![3], vec![4], vec![5]));
        assert_eq!(c.original, None);
    }

    #[test]
    fn recodes_map_and_keep_what_they_cannot() {
        let recode = Recode { map: vec![(1, 1), (7, 8)], keep_2019: Some(5) };
        let cells = [Value::Number(7.0), Value::Number(2.0), Value::Number(1.0), text("88")];
        let c = answer_column(cells.iter().copied(), &answer(&[1, 2, 7], Some(recode)));
        assert_eq!(c.values, [Some(8), None, Some(1), None]);
        assert_eq!(c.unmappable, [1]);
        assert_eq!(c.original, Some(vec![Some(7), Some(2), Some(1), None]));
    }
}
