//! Weighting cells for post-stratification: counting respondents per aligned age group
//! (optionally within one district), merging empty and sparse cells with the adjacent age
//! band, and the cell weights (population share) / (sample share).
//!
//! It must NOT merge across districts (a district's cells are handled on their own), drop a
//! respondent, or decide anything about missing ages (the caller passes only rows in scope).

use super::align::{Aligned, group_label};

/// One weighting cell: `ch02` codes `first..=last`, optionally within a district.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub district: Option<String>,
    pub first: u8,
    pub last: u8,
    pub population: f64,
    pub respondents: usize,
    /// Labels of the original cells merged into this one (empty when not merged).
    pub collapsed_from: Vec<String>,
}

impl Cell {
    /// `ch02=3`, `ch02=5+6`, `ch02=3;wijk=WK036301` (the contract's `weight_cell` style).
    pub fn label(&self) -> String {
        label(self.first, self.last, self.district.as_deref())
    }

    pub fn contains(&self, ch02: u8) -> bool {
        (self.first..=self.last).contains(&ch02)
    }

    /// The original cells this one stands for: itself, or what was merged into it.
    fn parts(&self) -> Vec<String> {
        if self.collapsed_from.is_empty() { vec![self.label()] } else { self.collapsed_from.clone() }
    }

    /// Sparse or empty (population without respondents), or respondents without population
    /// (a zero weight is not allowed).
    fn needs_merge(&self, min_cell: usize) -> bool {
        (self.population > 0.0 && self.respondents < min_cell) || (self.respondents > 0 && self.population <= 0.0)
    }
}

pub fn label(first: u8, last: u8, district: Option<&str>) -> String {
    match district {
        Some(d) => format!("{};wijk={d}", group_label(first, last)),
        None => group_label(first, last),
    }
}

/// Cells of one aligned population, with respondents counted from `ages` (the `ch02` codes of
/// the rows in scope). Groups merged by alignment (an open band) list their `ch02` codes in
/// `collapsed_from`.
pub fn from_aligned(aligned: &Aligned, district: Option<&str>, ages: impl Iterator<Item = u8>) -> Vec<Cell> {
    let mut cells: Vec<Cell> = aligned
        .groups
        .iter()
        .map(|g| Cell {
            district: district.map(str::to_string),
            first: g.first,
            last: g.last,
            population: g.population,
            respondents: 0,
            collapsed_from: if g.first == g.last {
                Vec::new()
            } else {
                (g.first..=g.last).map(|c| label(c, c, district)).collect()
            },
        })
        .collect();
    for a in ages {
        if let Some(c) = cells.iter_mut().find(|c| c.contains(a)) {
            c.respondents += 1;
        }
    }
    cells
}

/// Merges cells with fewer than `min_cell` respondents (or population but none) into an
/// adjacent age band until none is left or one cell remains. The sparsest cell goes first
/// (ties: the youngest); it joins the neighbour with fewer respondents (ties: the younger
/// neighbour), because that spreads the merge least over well-filled cells. Returns one note
/// per merge.
pub fn merge_sparse(cells: &mut Vec<Cell>, min_cell: usize) -> Vec<String> {
    let mut notes = Vec::new();
    while cells.len() > 1 {
        let Some(i) =
            (0..cells.len()).filter(|&i| cells[i].needs_merge(min_cell)).min_by_key(|&i| (cells[i].respondents, i))
        else {
            break;
        };
        let j = if i == 0 {
            1
        } else if i == cells.len() - 1 {
            i - 1
        } else if cells[i + 1].respondents < cells[i - 1].respondents {
            i + 1
        } else {
            i - 1
        };
        let (lo, hi) = (i.min(j), i.max(j));
        let b = cells.remove(hi);
        let a = &mut cells[lo];
        let before =
            format!("{} ({} respondents) and {} ({} respondents)", a.label(), a.respondents, b.label(), b.respondents);
        let mut parts = a.parts();
        parts.extend(b.parts());
        a.last = b.last;
        a.population += b.population;
        a.respondents += b.respondents;
        a.collapsed_from = parts;
        notes.push(format!("{before} merged into {} (minimum {min_cell} respondents per cell)", a.label()));
    }
    for c in cells.iter() {
        if c.needs_merge(min_cell) {
            notes.push(format!(
                "{} keeps {} respondents for population {}: nothing left to merge it with",
                c.label(),
                c.respondents,
                c.population
            ));
        }
    }
    notes
}

/// Cell weights (N_c/N) / (n_c/n) over the cells that have respondents; `None` for the others
/// (they take no part: N and n are summed over cells with respondents, in order).
pub fn weights(cells: &[Cell]) -> Vec<Option<f64>> {
    let pop: f64 = cells.iter().filter(|c| c.respondents > 0).map(|c| c.population).sum();
    let n: usize = cells.iter().map(|c| c.respondents).sum();
    cells
        .iter()
        .map(|c| (c.respondents > 0).then(|| (c.population / pop) / (c.respondents as f64 / n as f64)))
        .collect()
}

/// Population share N_c/N of each cell among the cells with respondents (`None` otherwise).
pub fn shares(cells: &[Cell]) -> Vec<Option<f64>> {
    let pop: f64 = cells.iter().filter(|c| c.respondents > 0).map(|c| c.population).sum();
    cells.iter().map(|c| (c.respondents > 0).then(|| c.population / pop)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(first: u8, pop: f64, n: usize) -> Cell {
        Cell { district: None, first, last: first, population: pop, respondents: n, collapsed_from: Vec::new() }
    }

    #[test]
    fn sparse_cell_joins_smaller_neighbour() {
        let mut cells = vec![cell(1, 10.0, 50), cell(2, 10.0, 3), cell(3, 10.0, 20), cell(4, 10.0, 40)];
        let notes = merge_sparse(&mut cells, 10);
        assert_eq!(notes.len(), 1);
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[1].label(), "ch02=2+3");
        assert_eq!(cells[1].collapsed_from, vec!["ch02=2".to_string(), "ch02=3".to_string()]);
        assert_eq!(cells[1].respondents, 23);
    }

    #[test]
    fn empty_edge_cell_merges_inward() {
        let mut cells = vec![cell(1, 10.0, 0), cell(2, 10.0, 30)];
        merge_sparse(&mut cells, 10);
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].label(), "ch02=1+2");
    }
}
