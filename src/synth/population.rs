//! The synthetic adult population the generated deliveries are weighted to: adults per
//! municipality, year and `ch02` age band, and the national (`NL01`) figures, written as
//! `population/population.csv` in the layout of the CBS population table the pipeline reads.
//!
//! Shares used for a delivery's `weging` are always derived from the integer counts of this
//! table, so anyone holding the file can recompute the weights exactly.

use std::fmt::Write as _;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The `ch02` age bands: `(age_from, age_to)`, `None` = open band. Code `i + 1` is band `i`.
pub const AGE_BANDS: [(u8, Option<u8>); 6] =
    [(18, Some(29)), (30, Some(39)), (40, Some(54)), (55, Some(64)), (65, Some(74)), (75, None)];

/// Adult population shares per band, roughly those of the Netherlands (CBS, ~2020).
pub const POPULATION_SHARES: [f64; 6] = [0.19, 0.16, 0.25, 0.17, 0.13, 0.10];

/// Region code of the national rows.
pub const NATIONAL_REGION: &str = "NL01";

/// Header of `population.csv`.
pub const HEADER: &str = "year,region,age_from,age_to,sex,count";

/// The year the drawn adult totals refer to; other years drift from it.
const REFERENCE_YEAR: i32 = 2019;
const NATIONAL_ADULTS: f64 = 14_500_000.0;
const NATIONAL_GROWTH: f64 = 0.006;
const MIN_ADULTS: f64 = 10_000.0;
const MAX_ADULTS: f64 = 200_000.0;

/// A municipality's population: fixed size and age structure, drifting slowly by year.
#[derive(Clone, Debug)]
pub struct PopulationProfile {
    adults: f64,
    growth: f64,
    shares: [f64; 6],
}

impl PopulationProfile {
    /// Draws a profile. Sizes are log-uniform because most Dutch municipalities are small
    /// and a few are large.
    pub fn draw(rng: &mut ChaCha8Rng) -> PopulationProfile {
        // Leave head room so the yearly drift stays inside 10,000-200,000.
        let (lo, hi) = ((MIN_ADULTS * 1.1).ln(), (MAX_ADULTS * 0.9).ln());
        let adults = rng.random_range(lo..hi).exp();
        let growth = rng.random_range(-0.004..0.010);
        let mut shares = POPULATION_SHARES;
        for s in &mut shares {
            *s *= rng.random_range(0.85..1.15);
        }
        let total: f64 = shares.iter().sum();
        for s in &mut shares {
            *s /= total;
        }
        PopulationProfile { adults, growth, shares }
    }

    /// Adults per age band in `year`.
    pub fn counts(&self, year: u16) -> [u64; 6] {
        let adults =
            (self.adults * (1.0 + self.growth).powi(i32::from(year) - REFERENCE_YEAR)).clamp(MIN_ADULTS, MAX_ADULTS);
        band_counts(adults, &self.shares)
    }
}

/// National adults per age band in `year`.
pub fn national_counts(year: u16) -> [u64; 6] {
    let adults = NATIONAL_ADULTS * (1.0 + NATIONAL_GROWTH).powi(i32::from(year) - REFERENCE_YEAR);
    band_counts(adults, &POPULATION_SHARES)
}

fn band_counts(adults: f64, shares: &[f64; 6]) -> [u64; 6] {
    shares.map(|s| (adults * s).round() as u64)
}

/// Each band's share of the total.
pub fn shares(counts: &[u64; 6]) -> [f64; 6] {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return [0.0; 6];
    }
    counts.map(|c| c as f64 / total as f64)
}

/// One region's counts for one year.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionYear {
    pub year: u16,
    pub region: String,
    pub counts: [u64; 6],
}

/// The CSV text of the population table, sorted by year, region and age band.
pub fn to_csv(rows: &[RegionYear]) -> String {
    let mut sorted: Vec<&RegionYear> = rows.iter().collect();
    sorted.sort_by(|a, b| (a.year, &a.region).cmp(&(b.year, &b.region)));
    let mut out = String::with_capacity(64 * 6 * rows.len() + HEADER.len() + 1);
    out.push_str(HEADER);
    out.push('\n');
    for r in sorted {
        for (band, count) in AGE_BANDS.iter().zip(r.counts) {
            let to = band.1.map(|t| t.to_string()).unwrap_or_default();
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{},{},{},{},total,{}", r.year, r.region, band.0, to, count);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn profiles_stay_in_the_documented_size_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..500 {
            let p = PopulationProfile::draw(&mut rng);
            for year in 2010..=2030 {
                let total: u64 = p.counts(year).iter().sum();
                assert!((9_990..=200_010).contains(&total), "{total}");
            }
        }
    }

    #[test]
    fn csv_is_sorted_with_open_last_band() {
        let rows = vec![
            RegionYear { year: 2020, region: "NL01".into(), counts: national_counts(2020) },
            RegionYear { year: 2019, region: "GM0344".into(), counts: [1, 2, 3, 4, 5, 6] },
        ];
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "2019,GM0344,18,29,total,1");
        assert_eq!(lines[6], "2019,GM0344,75,,total,6");
        assert!(lines[7].starts_with("2020,NL01,18,29,total,"));
        assert_eq!(lines.len(), 13);
        let national: u64 = national_counts(2019).iter().sum();
        assert!((14_400_000..14_600_000).contains(&national));
    }
}
