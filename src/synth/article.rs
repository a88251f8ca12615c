//! The answers the findings pages chart, drawn so the sample tells the story of the VNG article
//! "Verbondenheid door burenhulp" (`../shared/domain/indicators.md` §6): 85% feel at home, half
//! feel involved, 70% trust their neighbours, two thirds say residents stand ready for each
//! other and gave neighbour help (40-74-year-olds most, about 70%), willingness per kind of help
//! from 61% down to 6%, 6% cannot and 5% will not help, and the rise since 2014.
//!
//! This module holds the shares and the arithmetic on them (pure, no random draws); `answers.rs`
//! turns them into answer distributions. `docs/synth.md` ("Charted answers") gives the
//! derivation of every probability below.

/// How `synth` draws the charted answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartedAnswers {
    /// The article's shares with its age pattern and its rise since 2014 (the default sample).
    #[default]
    Article,
    /// Every respondent, whatever their age, answers with the year's national share of the
    /// article: the probability behind each national figure, every age class included, is then
    /// exactly [`expected_national`] (for testing the intervals).
    AgeIndependent,
}

/// Number of `lft_cy` age classes: 18-39, 40-64, 65-74, 75+.
pub const CLASSES: usize = 4;

/// Share of "don't know" (the codebook's non-substantive code) on each charted closed question,
/// the same for every age and year: small, so the valid base stays close to everyone.
pub const DONT_KNOW: f64 = 0.03;

/// Share of respondents who leave the whole willingness set `zw13` empty (no box ticked): they
/// are outside the base of its percentages, like item non-response elsewhere.
pub const SET_BLANK: f64 = 0.03;

/// One charted closed question: how its "yes" share spreads over codes, and that share per age
/// class at anchor years (linear in between, constant before the first and after the last).
#[derive(Debug)]
pub struct Item {
    pub variable: &'static str,
    /// The codes the indicator counts (catalogue `1|2`) and each one's part of the "yes" share.
    pub positive: &'static [(i16, f64)],
    /// The other substantive codes and each one's part of the rest.
    pub negative: &'static [(i16, f64)],
    /// (year, probability of a positive code among substantive answers, per `lft_cy` class).
    pub anchors: &'static [(u16, [f64; CLASSES])],
}

/// Agree scales: "helemaal eens" a third of the agreeing, "eens" two thirds; of the others most
/// are neutral.
const AGREE: [(i16, f64); 2] = [(1, 0.35), (2, 0.65)];
const DISAGREE: [(i16, f64); 3] = [(3, 0.60), (4, 0.28), (5, 0.12)];

/// The charted closed questions. The article gives an age pattern only for neighbour help, so
/// the others are the same for every age class; it gives a rise for neighbour help (about half
/// in 2014, two thirds in 2021) and for standing ready (below 60% before Corona, two thirds after).
pub const ITEMS: [Item; 5] = [
    // Feel at home in the neighbourhood: 85%.
    Item { variable: "wl02_0", positive: &AGREE, negative: &DISAGREE, anchors: &[(2014, [0.85; CLASSES])] },
    // Residents stand ready for each other: 58% until 2019, two thirds from 2021.
    Item {
        variable: "wl03_1",
        positive: &AGREE,
        negative: &DISAGREE,
        anchors: &[(2019, [0.58; CLASSES]), (2021, [2.0 / 3.0; CLASSES])],
    },
    // Trust the neighbours: 70%.
    Item { variable: "wl03_2", positive: &AGREE, negative: &DISAGREE, anchors: &[(2014, [0.70; CLASSES])] },
    // Feel involved with the people in the neighbourhood: half ("bijna iedereen" 10%, "de
    // meeste" 40%).
    Item {
        variable: "wl18",
        positive: &[(1, 0.2), (2, 0.8)],
        negative: &[(3, 0.55), (4, 0.30), (5, 0.15)],
        anchors: &[(2014, [0.50; CLASSES])],
    },
    // Neighbour help in the past 12 months ("vaak" 3 in 10 of the helpers): the article's age
    // chart, 2014 and 2021, scaled so the population-weighted share is one half and two thirds.
    Item {
        variable: "zw06_1",
        positive: &[(1, 0.3), (2, 0.7)],
        negative: &[(3, 1.0)],
        anchors: &[(2014, [0.50, 0.525, 0.525, 0.36]), (2021, [0.64, 0.70, 0.70, 0.58])],
    },
];

/// Willingness per kind of help (`zw13_0` … `zw13_8`): the share of everyone who answered the
/// set that ticks the box. `zw13_8` "anders" is not in the article; 4% is our choice.
pub const KINDS: [(&str, f64); 9] = [
    ("zw13_0", 0.49), // boodschappen
    ("zw13_1", 0.39), // vervoer
    ("zw13_2", 0.61), // oogje in het zeil
    ("zw13_3", 0.06), // schoonmaken of koken
    ("zw13_4", 0.25), // klusjes
    ("zw13_5", 0.08), // medicijnen of verzorging
    ("zw13_6", 0.21), // kinderen of huisdieren
    ("zw13_7", 0.22), // aanvraag, administratie, advies
    ("zw13_8", 0.04), // anders
];
/// "Geen, ik kan … geen burenhulp geven": 6%.
pub const CANNOT: (&str, f64) = ("zw13_9", 0.06);
/// "Geen, ik wil geen burenhulp geven": 5%.
pub const WILL_NOT: (&str, f64) = ("zw13_10", 0.05);

/// The `lft_cy` classes' shares of the adult population: the national `ch02` band shares
/// summed per class (ch02 1-2, 3-4, 5, 6), what `weight_national` calibrates to.
pub fn class_shares() -> [f64; CLASSES] {
    let s = super::population::POPULATION_SHARES;
    [s[0] + s[1], s[2] + s[3], s[4], s[5]]
}

/// The `lft_cy` class (0-based) of a `ch02` code.
pub fn class_of(ch02: i16) -> Option<usize> {
    match ch02 {
        1 | 2 => Some(0),
        3 | 4 => Some(1),
        5 => Some(2),
        6 => Some(3),
        _ => None,
    }
}

impl Item {
    /// The positive share per class in `year`.
    pub fn by_class(&self, year: u16) -> [f64; CLASSES] {
        let (first, last) = (self.anchors[0], self.anchors[self.anchors.len() - 1]);
        if year <= first.0 {
            return first.1;
        }
        if year >= last.0 {
            return last.1;
        }
        let i = self.anchors.iter().position(|a| a.0 > year).unwrap_or(self.anchors.len() - 1);
        let ((y0, p0), (y1, p1)) = (self.anchors[i - 1], self.anchors[i]);
        let t = f64::from(year - y0) / f64::from(y1 - y0);
        std::array::from_fn(|c| p0[c] + t * (p1[c] - p0[c]))
    }

    /// The population-weighted share in `year`: what a national figure estimates.
    pub fn national(&self, year: u16) -> f64 {
        self.by_class(year).iter().zip(class_shares()).map(|(p, s)| p * s).sum()
    }

    /// The positive share per class under `model` in `year`.
    pub fn shares(&self, model: ChartedAnswers, year: u16) -> [f64; CLASSES] {
        match model {
            ChartedAnswers::Article => self.by_class(year),
            ChartedAnswers::AgeIndependent => [self.national(year); CLASSES],
        }
    }
}

/// The probability a national figure of `indicator` (a catalogue code the findings pages chart)
/// estimates in `year`, as a fraction; `None` for an indicator this module does not draw. Under
/// [`ChartedAnswers::AgeIndependent`] it is also the probability of each age class's figure.
pub fn expected_national(indicator: &str, year: u16) -> Option<f64> {
    if let Some(item) = ITEMS.iter().find(|i| i.variable == indicator) {
        return Some(item.national(year));
    }
    // `wl18_pin_K`: the share of code K.
    if let Some((variable, code)) = indicator.split_once("_pin_") {
        let item = ITEMS.iter().find(|i| i.variable == variable)?;
        let code: i16 = code.parse().ok()?;
        let (yes, no) = (item.national(year), 1.0 - item.national(year));
        let part = |codes: &[(i16, f64)]| codes.iter().find(|(c, _)| *c == code).map(|(_, w)| *w);
        return part(item.positive).map(|w| w * yes).or_else(|| part(item.negative).map(|w| w * no));
    }
    let variable = indicator.strip_suffix("_pin")?;
    KINDS.iter().chain([&CANNOT, &WILL_NOT]).find(|(v, _)| *v == variable).map(|(_, p)| *p)
}

/// Per-box tick probabilities for a respondent willing to help, such that among the willing
/// who tick at least one box (the others are drawn again) box k is ticked with probability
/// `targets[k]`: with independent boxes, P(k | at least one) = q_k / (1 - Π(1 - q_j)), so q is
/// the fixed point of q_k = t_k · (1 - Π(1 - q_j)). The product is a few percent, so the
/// iteration contracts fast; 100 rounds reach the limit in f64.
pub fn tick_probabilities(targets: &[f64]) -> Vec<f64> {
    let mut q = targets.to_vec();
    for _ in 0..100 {
        let none: f64 = q.iter().map(|x| 1.0 - x).product();
        q = targets.iter().map(|t| t * (1.0 - none)).collect();
    }
    q
}

/// The willingness targets among the willing: each kind's share of all who answered the set,
/// divided by the share that is willing (neither "cannot" nor "will not").
pub fn willing_targets() -> Vec<f64> {
    let willing = 1.0 - CANNOT.1 - WILL_NOT.1;
    KINDS.iter().map(|(_, p)| p / willing).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> &'static Item {
        ITEMS.iter().find(|i| i.variable == name).unwrap()
    }

    #[test]
    fn population_weighted_shares_are_the_articles() {
        let close = |a: f64, b: f64| (a - b).abs() < 0.001;
        assert!(close(item("wl02_0").national(2023), 0.85));
        assert!(close(item("wl03_2").national(2023), 0.70));
        assert!(close(item("wl18").national(2023), 0.50));
        assert!(close(item("wl03_1").national(2019), 0.58) && close(item("wl03_1").national(2021), 2.0 / 3.0));
        // Neighbour help: about half in 2014, two thirds from 2021, 40-74 at 70%.
        let help = item("zw06_1");
        assert!(close(help.national(2014), 0.50) && close(help.national(2021), 2.0 / 3.0));
        assert!(close(help.national(2024), 2.0 / 3.0));
        assert_eq!(help.by_class(2021)[1..3], [0.70, 0.70]);
        let rising: Vec<f64> = (2014..=2021).map(|y| help.national(y)).collect();
        assert!(rising.windows(2).all(|w| w[0] < w[1]), "{rising:?}");
        assert!((class_shares().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn age_independent_shares_equal_the_national_share_in_every_class() {
        let help = item("zw06_1");
        for year in [2014, 2019, 2022] {
            let flat = help.shares(ChartedAnswers::AgeIndependent, year);
            assert!(flat.iter().all(|&p| p == help.national(year)));
        }
    }

    #[test]
    fn tick_probabilities_give_the_targets_among_those_who_tick() {
        let targets = willing_targets();
        let q = tick_probabilities(&targets);
        let none: f64 = q.iter().map(|x| 1.0 - x).product();
        for (t, q) in targets.iter().zip(&q) {
            assert!((q / (1.0 - none) - t).abs() < 1e-12, "{t} {q}");
        }
    }

    #[test]
    fn expected_national_covers_every_charted_code() {
        assert_eq!(expected_national("zw13_2_pin", 2023), Some(0.61));
        assert_eq!(expected_national("zw13_9_pin", 2023), Some(0.06));
        assert_eq!(expected_national("zw13_10_pin", 2023), Some(0.05));
        assert!((expected_national("wl18_pin_1", 2023).unwrap() - 0.10).abs() < 1e-12);
        assert!((expected_national("wl18_pin_2", 2023).unwrap() - 0.40).abs() < 1e-12);
        assert!((expected_national("wl02_0", 2023).unwrap() - 0.85).abs() < 1e-12);
        assert_eq!(expected_national("wl01", 2023), None);
    }
}
