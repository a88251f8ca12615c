//! Cells and the text arena they point into.
//!
//! A table's texts live in one `String` ([`Texts`]); a text [`Cell`] holds only the span of its
//! text there, so a cell is 16 bytes and `Copy`, and reading 340,000 rows of ~100 text cells
//! costs a few growing buffers instead of 34 million `String`s. Whoever reads a cell's text
//! goes through the arena: [`Texts::value`] or [`super::RawTable::value`] give a [`Value`],
//! the same cell with its text borrowed.
//!
//! This module stores and hands out texts; it must not interpret them (that is harmonise's).

/// Where a text sits in its table's arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

/// One cell as a table stores it; a text is a [`Span`] of the table's [`Texts`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Number(f64),
    Text(Span),
    /// A spreadsheet date or time, as the spreadsheet serial number.
    Date(f64),
}

/// One cell with its text borrowed from the arena: what harmonise reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Empty,
    Number(f64),
    Text(&'a str),
    /// A spreadsheet date or time, as the spreadsheet serial number.
    Date(f64),
}

/// A table's texts, appended one after another.
#[derive(Clone, Debug, Default)]
pub struct Texts {
    buf: String,
    /// Set when a text did not fit the `u32` spans (an arena over 4 GiB): that text was read as
    /// empty, and the reader must refuse the file rather than return a wrong table.
    overflowed: bool,
}

impl Texts {
    pub fn with_capacity(bytes: usize) -> Texts {
        Texts { buf: String::with_capacity(bytes), overflowed: false }
    }

    /// The cell for a delivered text: [`Cell::Empty`] when it is blank (white space only),
    /// else a text cell whose text is appended to the arena.
    pub fn cell(&mut self, s: &str) -> Cell {
        if s.trim().is_empty() {
            return Cell::Empty;
        }
        match self.push(s) {
            Some(span) => Cell::Text(span),
            None => Cell::Empty,
        }
    }

    /// Appends `s` and returns its span, or `None` (and remembers it) when the arena would pass
    /// what a `u32` can address.
    pub fn push(&mut self, s: &str) -> Option<Span> {
        let start = u32::try_from(self.buf.len()).ok();
        let len = u32::try_from(s.len()).ok();
        match (start, len) {
            (Some(start), Some(len)) if start.checked_add(len).is_some() => {
                self.buf.push_str(s);
                Some(Span { start, len })
            }
            _ => {
                self.overflowed = true;
                None
            }
        }
    }

    /// The text of a span this arena handed out.
    pub fn get(&self, span: Span) -> &str {
        let start = span.start as usize;
        &self.buf[start..start + span.len as usize]
    }

    /// A cell with its text borrowed from this arena.
    pub fn value(&self, cell: Cell) -> Value<'_> {
        match cell {
            Cell::Empty => Value::Empty,
            Cell::Number(n) => Value::Number(n),
            Cell::Text(span) => Value::Text(self.get(span)),
            Cell::Date(d) => Value::Date(d),
        }
    }

    /// The cell for a value, its text (if any) appended to this arena as it is (a blank text
    /// stays a text: the value may come from a table that kept one).
    pub fn store(&mut self, value: Value) -> Cell {
        match value {
            Value::Empty => Cell::Empty,
            Value::Number(n) => Cell::Number(n),
            Value::Text(t) => self.push(t).map_or(Cell::Empty, Cell::Text),
            Value::Date(d) => Cell::Date(d),
        }
    }

    /// Whether a text did not fit (see [`Texts::push`]).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Bytes of text held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_back_and_blanks_are_empty() {
        let mut t = Texts::default();
        let a = t.cell("één");
        let blank = t.cell("  \t");
        let b = t.cell(" b ");
        assert_eq!(blank, Cell::Empty);
        assert_eq!(t.value(a), Value::Text("één"));
        assert_eq!(t.value(b), Value::Text(" b "));
        assert_eq!(t.value(Cell::Number(2.0)), Value::Number(2.0));
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }
}
