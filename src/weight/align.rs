//! Band alignment: turns a region's population bands (any widths) into populations for the
//! questionnaire's `ch02` bands 18-29, 30-39, 40-54, 55-64, 65-74, 75+.
//!
//! Rules (see `docs/weighting.md`, "Band alignment"):
//! * a band lying inside one `ch02` band goes there whole (exact);
//! * a closed band straddling `ch02` bands (or age 18) is split uniformly by single years of
//!   age: 15-24 gives 7/10 to 18-29, and the 3/10 below 18 are outside the frame (approximate);
//! * an open band (65+) cannot be split: every `ch02` band it touches is merged into one
//!   weighting group (`ch02=5+6`), reported;
//! * ages 86+ stay in 75+ (as the golden `band_alignment` case does: 75..99 plus 100+).
//!
//! It must NOT look at respondents (sparse-cell merging is `cells.rs`), read files, or invent
//! population: overlapping bands, gaps in the ages 18+ and open bands starting below 18 are
//! errors, never guesses.

use crate::population::AgeBand;

/// `ch02` code 1..=6 → inclusive age range (`None` = open): the codebook's bands.
pub use crate::codebook::AGE_BANDS as CH02_BANDS;

/// Youngest age of the sampling frame.
pub const FRAME_FROM: u16 = 18;

/// A run of consecutive `ch02` codes `first..=last` weighted as one group.
#[derive(Clone, Debug, PartialEq)]
pub struct AlignedGroup {
    pub first: u8,
    pub last: u8,
    pub population: f64,
}

impl AlignedGroup {
    /// `ch02=3` or, for merged groups, `ch02=5+6`.
    pub fn label(&self) -> String {
        group_label(self.first, self.last)
    }
}

/// `ch02=3`, `ch02=5+6`, `ch02=1+2+3`.
pub fn group_label(first: u8, last: u8) -> String {
    let codes: Vec<String> = (first..=last).map(|c| c.to_string()).collect();
    format!("ch02={}", codes.join("+"))
}

/// The result of aligning one region's bands.
#[derive(Clone, Debug, PartialEq)]
pub struct Aligned {
    /// Consecutive, covering 1..=6, ordered.
    pub groups: Vec<AlignedGroup>,
    /// True when every band fell inside one `ch02` band and nothing was merged.
    pub exact: bool,
    /// One line per approximation or merge, e.g. `15-24 split uniformly: 7/10 to ch02=1,
    /// 3/10 below 18 outside the frame`.
    pub notes: Vec<String>,
    /// Short summary: `6 bands 18-29..75+, exact` or `5 bands 0-14..65+, approximated`.
    pub summary: String,
}

/// Which `ch02` band (0-based) holds `age`; `None` below 18.
fn band_index(age: u16) -> Option<usize> {
    CH02_BANDS.iter().rposition(|(from, _)| age >= *from)
}

/// Aligns bands (any order) to the `ch02` bands. Errors name the offending bands.
pub fn align(bands: &[AgeBand]) -> Result<Aligned, String> {
    let mut bands: Vec<AgeBand> = bands.to_vec();
    bands.sort();
    if bands.is_empty() {
        return Err("no age bands".to_string());
    }
    // Overlaps would count people twice: refuse them.
    for w in bands.windows(2) {
        match w[0].to {
            None => return Err(format!("open band {} is followed by band {}: they overlap", w[0], w[1])),
            Some(t) if t >= w[1].from => return Err(format!("bands {} and {} overlap", w[0], w[1])),
            _ => {}
        }
    }
    // Every age from 18 up to the top of the table must be covered, and the top must reach 75
    // (else ch02=6 would be empty). A missing age would silently shrink its ch02 band.
    let mut next = FRAME_FROM;
    for b in bands.iter().filter(|b| b.to.is_none_or(|t| t >= FRAME_FROM)) {
        if b.from > next {
            return Err(format!("ages {}-{} are in no band", next, b.from - 1));
        }
        next = match b.to {
            Some(t) => t + 1,
            None => u16::MAX,
        };
    }
    if next <= CH02_BANDS[CH02_BANDS.len() - 1].0 {
        return Err(format!("the bands end at age {}; ch02=6 (75+) has no population", next.saturating_sub(1)));
    }

    let mut contrib = [0.0f64; 6];
    // merge_next[k]: ch02 band k and k+1 must be one group (an open band spans them).
    let mut merge_next = [false; 5];
    let mut notes = Vec::new();
    let mut exact = true;
    for b in &bands {
        let count = b.count as f64;
        match b.to {
            Some(to) if to < FRAME_FROM => {} // wholly below the frame: not part of the population
            Some(to) => {
                let width = (to - b.from + 1) as f64;
                let mut parts = Vec::new();
                for (k, (lo, hi)) in CH02_BANDS.iter().enumerate() {
                    let hi = hi.unwrap_or(u16::MAX);
                    let (a, z) = (b.from.max(*lo), to.min(hi));
                    if a <= z {
                        let years = z - a + 1;
                        // Whole bands add the integer count unchanged, so exact alignment is
                        // bit-identical to summing the counts (as R's xtabs does).
                        if years as f64 == width {
                            contrib[k] += count;
                        } else {
                            contrib[k] += count * years as f64 / width;
                            parts.push(format!("{years}/{} to ch02={}", width as u16, k + 1));
                        }
                    }
                }
                if !parts.is_empty() {
                    exact = false;
                    if b.from < FRAME_FROM {
                        parts.push(format!("{}/{} below 18 outside the frame", FRAME_FROM - b.from, width as u16));
                    }
                    notes.push(format!("{b} split uniformly by years: {}", parts.join(", ")));
                }
            }
            None => {
                if b.from < FRAME_FROM {
                    return Err(format!("open band {b} starts below 18: the share aged 18+ is unknown"));
                }
                let first = band_index(b.from).unwrap_or(0);
                contrib[first] += count;
                if first < 5 {
                    exact = false;
                    for m in merge_next.iter_mut().skip(first) {
                        *m = true;
                    }
                    notes.push(format!(
                        "open band {b} cannot be split: {} merged into one cell",
                        group_label(first as u8 + 1, CH02_BANDS.len() as u8)
                    ));
                }
            }
        }
    }
    let mut groups: Vec<AlignedGroup> = Vec::new();
    for k in 0..CH02_BANDS.len() {
        let joins_previous = k > 0 && merge_next[k - 1];
        match groups.last_mut() {
            Some(g) if joins_previous => {
                g.last = k as u8 + 1;
                g.population += contrib[k];
            }
            _ => groups.push(AlignedGroup { first: k as u8 + 1, last: k as u8 + 1, population: contrib[k] }),
        }
    }
    let (lo, hi) = (bands[0], bands[bands.len() - 1]);
    let summary = format!("{} bands {}..{}, {}", bands.len(), lo, hi, if exact { "exact" } else { "approximated" });
    Ok(Aligned { groups, exact, notes, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(from: u16, to: Option<u16>, count: u64) -> AgeBand {
        AgeBand { from, to, count }
    }

    #[test]
    fn ch02_bands_are_exact() {
        let a = align(&[
            b(18, Some(29), 10),
            b(30, Some(39), 20),
            b(40, Some(54), 30),
            b(55, Some(64), 40),
            b(65, Some(74), 50),
            b(75, None, 60),
        ])
        .unwrap();
        assert!(a.exact);
        assert_eq!(a.groups.len(), 6);
        assert_eq!(a.groups[5].population, 60.0);
    }

    #[test]
    fn kwb_bands_split_and_merge() {
        let a = align(&[
            b(0, Some(14), 100),
            b(15, Some(24), 100),
            b(25, Some(44), 200),
            b(45, Some(64), 200),
            b(65, None, 300),
        ])
        .unwrap();
        assert!(!a.exact);
        let labels: Vec<String> = a.groups.iter().map(|g| g.label()).collect();
        assert_eq!(labels, ["ch02=1", "ch02=2", "ch02=3", "ch02=4", "ch02=5+6"]);
        assert_eq!(a.groups[0].population, 70.0 + 50.0);
        assert_eq!(a.groups[1].population, 100.0);
        assert_eq!(a.groups[2].population, 50.0 + 100.0);
        assert_eq!(a.groups[3].population, 100.0);
        assert_eq!(a.groups[4].population, 300.0);
    }

    #[test]
    fn overlaps_gaps_and_young_open_bands_are_errors() {
        assert!(align(&[b(18, Some(40), 1), b(30, None, 1)]).is_err());
        assert!(align(&[b(18, Some(29), 1), b(31, None, 1)]).is_err());
        assert!(align(&[b(0, None, 1)]).is_err());
        assert!(align(&[b(18, Some(70), 1)]).is_err());
    }
}
