//! How one respondent answers one dataformat's questionnaire: which variables are written, a
//! plausible answer distribution per variable, and the routing that blanks skipped questions.
//!
//! A [`FormatPlan`] is built once per dataformat and shared by every delivery in that format,
//! so per-respondent work is one random number per variable and a short table lookup. The
//! variables the findings pages chart are drawn by age class and year ([`YearDraws`], shares
//! from [`super::article`]); the rest the same for everyone.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::article::{self, CANNOT, CLASSES, ChartedAnswers, DONT_KNOW, ITEMS, Item, KINDS, SET_BLANK, WILL_NOT};
use super::population::AGE_BANDS;
use crate::codebook::{Codebook, Dataformat, Questionnaire, ResearchVariable, Target, Variable};

/// Share of blank cells on an ordinary closed question.
const BLANK: f64 = 0.03;
/// Share of a declared user-missing code (`-1`, `88`, `99`, ...) on a closed question.
const DECLARED_MISSING: f64 = 0.005;
/// Probability that a multiple-response checkbox is ticked.
const TICKED: f64 = 0.25;
/// Probability that an exclusive option ("none of these") is ticked: lower, else it would
/// wipe out too many of the set's other ticks.
const TICKED_EXCLUSIVE: f64 = 0.06;
/// Share of respondents who leave the age question blank (they then get weight 1).
const AGE_BLANK: f64 = 0.02;
/// Age structure of respondents: older than the population, as in real response.
pub const RESPONDENT_AGE_SHARES: [f64; 6] = [0.10, 0.12, 0.24, 0.20, 0.20, 0.14];

/// The age variable the agency weights on.
pub const AGE_VARIABLE: &str = "ch02";

/// Variables in the 2022 dataformat without a question in the 2022 questionnaire: agencies
/// leave them empty (questionnaire.md §4, R2).
const NOT_FIELDED_2022: [&str; 1] = ["dv13"];

/// Hand-set weights (code, weight) where the generic scale shape would be implausible: a third
/// of respondents answering "anders" to sex, or most people volunteering (which would also
/// leave the R3/R4 routing almost nothing to skip).
const OVERRIDES: [(&str, &[(i16, f64)]); 5] = [
    ("ch01", &[(1, 0.48), (2, 0.51), (3, 0.01)]),
    ("dv02", &[(1, 0.55), (2, 0.45)]),
    ("ch04", &[(1, 0.42), (2, 0.07), (3, 0.03), (4, 0.03), (5, 0.04), (6, 0.28), (7, 0.04), (8, 0.05), (9, 0.04)]),
    // Informal care and volunteering: vaak / af en toe / (bijna) nooit.
    ("zw06_0", &[(1, 0.14), (2, 0.24), (3, 0.62)]),
    ("zw06_3", &[(1, 0.16), (2, 0.20), (3, 0.64)]),
];

/// Checkbox options that exclude the others of their set ("niet actief", "geen", "weet niet").
const EXCLUSIVE: [(&str, &str); 5] =
    [("zw05_", "zw05_4"), ("zw13_", "zw13_9"), ("zw13_", "zw13_10"), ("zw14_", "zw14_6"), ("zw17_", "zw17_8")];

/// How a variable's answers are drawn.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Always blank: no value labels, or not fielded.
    Blank,
    /// Multiple-response item: `1` with probability `ticked`, else blank.
    Checkbox { ticked: f64 },
    /// Closed question: cumulative probabilities over codes, plus the declared missing codes.
    Closed { cdf: Vec<(f64, i16)>, missing: Vec<i16> },
    /// `ch02`, drawn from [`RESPONDENT_AGE_SHARES`]; code = band + 1.
    Age,
}

/// Which variables to blank when a condition holds (questionnaire.md §4, R1, R3, R4).
#[derive(Clone, Debug)]
pub struct Route {
    pub condition: usize,
    pub codes: &'static [i16],
    pub skipped: Vec<usize>,
}

/// A multiple-response set with an exclusive option.
#[derive(Clone, Debug)]
struct Exclusive {
    option: usize,
    others: Vec<usize>,
}

/// Everything needed to answer one dataformat's questionnaire.
#[derive(Clone, Debug)]
pub struct FormatPlan {
    pub dataformat: &'static str,
    /// Research variables in dataformat order.
    pub research: Vec<ResearchVariable>,
    /// Questionnaire variables written, in dataformat order.
    pub names: Vec<String>,
    pub kinds: Vec<Kind>,
    pub routes: Vec<Route>,
    exclusive: Vec<Exclusive>,
    /// Index of `ch02` in `names`.
    pub age: Option<usize>,
    /// The charted closed questions this format has.
    charted: Vec<ChartedItem>,
    /// The willingness set `zw13`, when the format has all of it.
    willingness: Option<WillingnessSet>,
}

/// A charted closed question in one format: its place and its codebook codes.
#[derive(Clone, Debug)]
struct ChartedItem {
    position: usize,
    item: &'static Item,
    dont_know: Vec<i16>,
    missing: Vec<i16>,
}

/// The willingness set `zw13` in one format: places of the kinds (in [`KINDS`] order), of
/// "cannot" and "will not", and the kinds' tick probabilities for the willing.
#[derive(Clone, Debug)]
struct WillingnessSet {
    kinds: Vec<usize>,
    cannot: usize,
    will_not: usize,
    ticks: Vec<f64>,
}

/// The charted questions' answer distributions for one survey year: per question its place and
/// one distribution per `lft_cy` class, then one with the national share for a blank age.
#[derive(Clone, Debug)]
pub struct YearDraws {
    items: Vec<(usize, [Kind; CLASSES + 1])>,
}

impl FormatPlan {
    /// Builds the plan for `format`. `seed` makes each variable's distribution depend only on
    /// (seed, variable name), not on the municipality or year.
    pub fn new(codebook: &Codebook, format: &Dataformat, dataformat: &'static str, seed: u64) -> FormatPlan {
        let research: Vec<ResearchVariable> = format
            .variables
            .iter()
            .filter_map(|v| ResearchVariable::ALL.into_iter().find(|r| r.name() == v.name))
            .collect();
        let written: Vec<&Variable> = format.variables.iter().filter(|v| is_written(codebook, format, v)).collect();
        let names: Vec<String> = written.iter().map(|v| v.name.clone()).collect();
        let kinds: Vec<Kind> = written.iter().map(|v| kind_of(v, format.questionnaire, seed)).collect();
        let index = |name: &str| names.iter().position(|n| n == name);
        let indices = |pred: &dyn Fn(&str) -> bool| -> Vec<usize> {
            names.iter().enumerate().filter(|(_, n)| pred(n)).map(|(i, _)| i).collect()
        };

        let mut routes = Vec::new();
        let v2019 = format.questionnaire == Questionnaire::V2019;
        // R1: no contact with the municipality skips the contact block.
        if let Some(dv02) = index("dv02") {
            let skipped = indices(&|n| {
                matches!(n, "dv00" | "dv12" | "dv05_0" | "mm02_0")
                    || n.starts_with("dv07_")
                    || n.starts_with("mm01_")
                    || (v2019 && n == "dv13")
            });
            routes.push(Route { condition: dv02, codes: &[2], skipped });
        }
        // R3: volunteers skip the reasons for not volunteering.
        if let Some(zw06_3) = index("zw06_3") {
            let skipped = indices(&|n| n.starts_with("zw08_"));
            routes.push(Route { condition: zw06_3, codes: &[1, 2], skipped });
        }
        // R4: no informal care skips the care burden question.
        if let Some(zw06_0) = index("zw06_0") {
            let skipped = indices(&|n| n == "zw09");
            routes.push(Route { condition: zw06_0, codes: &[3], skipped });
        }

        let exclusive = EXCLUSIVE
            .iter()
            .filter_map(|(set, option)| {
                let option = index(option)?;
                let others = indices(&|n| n.starts_with(set)).into_iter().filter(|&i| i != option);
                Some(Exclusive { option, others: others.collect() })
            })
            .collect();

        let age = index(AGE_VARIABLE);
        let charted = charted_items(&written, &names);
        let willingness = willingness_set(&index);
        FormatPlan { dataformat, research, names, kinds, routes, exclusive, age, charted, willingness }
    }

    /// The charted questions' distributions in `year` under `model`.
    pub fn year_draws(&self, model: ChartedAnswers, year: u16) -> YearDraws {
        let items = self
            .charted
            .iter()
            .map(|c| {
                let shares = c.item.shares(model, year);
                let kind =
                    |p: f64| Kind::Closed { cdf: charted_cdf(c.item, p, &c.dont_know), missing: c.missing.clone() };
                let kinds: [Kind; CLASSES + 1] =
                    std::array::from_fn(|k| kind(if k < CLASSES { shares[k] } else { c.item.national(year) }));
                (c.position, kinds)
            })
            .collect();
        YearDraws { items }
    }

    /// One respondent's answers, aligned with `names`, routing already applied. One random
    /// number per variable, always, so the other variables do not depend on the charted ones.
    pub fn answer(&self, rng: &mut ChaCha8Rng, charted: &YearDraws) -> Vec<Option<i16>> {
        let u: Vec<f64> = self.kinds.iter().map(|_| rng.random::<f64>()).collect();
        let mut answers: Vec<Option<i16>> = self.kinds.iter().zip(&u).map(|(k, &u)| draw(k, u)).collect();
        self.draw_charted(charted, &u, &mut answers);
        for x in &self.exclusive {
            if answers[x.option].is_some() {
                for &i in &x.others {
                    answers[i] = None;
                }
            }
        }
        for r in &self.routes {
            if answers[r.condition].is_some_and(|c| r.codes.contains(&c)) {
                for &i in &r.skipped {
                    answers[i] = None;
                }
            }
        }
        answers
    }

    /// Replaces the charted answers by draws for the respondent's age class, with the same
    /// uniform numbers `u`.
    fn draw_charted(&self, charted: &YearDraws, u: &[f64], answers: &mut [Option<i16>]) {
        // Without an age the respondent has weight 1 nationally; answering with the national
        // share keeps the national figure an estimate of exactly that share.
        let class = self.age.and_then(|a| answers[a]).and_then(article::class_of).unwrap_or(CLASSES);
        for (position, kinds) in &charted.items {
            answers[*position] = draw(&kinds[class], u[*position]);
        }
        if let Some(set) = &self.willingness {
            set.draw(u, answers);
        }
    }
}

impl WillingnessSet {
    /// The set for one respondent: blank (no box), "cannot", "will not", or willing with at
    /// least one kind ticked. `u` of "cannot" decides which; each kind's `u` its box.
    fn draw(&self, u: &[f64], answers: &mut [Option<i16>]) {
        for &i in self.kinds.iter().chain([&self.cannot, &self.will_not]) {
            answers[i] = None;
        }
        let v = u[self.cannot];
        if v < SET_BLANK {
            return;
        }
        let v = (v - SET_BLANK) / (1.0 - SET_BLANK);
        if v < CANNOT.1 {
            answers[self.cannot] = Some(1);
            return;
        }
        if v < CANNOT.1 + WILL_NOT.1 {
            answers[self.will_not] = Some(1);
            return;
        }
        let mut ticks: Vec<bool> = self.kinds.iter().zip(&self.ticks).map(|(&i, q)| u[i] < *q).collect();
        if !ticks.contains(&true) {
            // Drawn again until a box is ticked (the targets assume it), from a stream seeded by
            // this respondent's own number, so the main stream keeps one number per variable.
            let mut again = ChaCha8Rng::seed_from_u64(v.to_bits());
            while !ticks.contains(&true) {
                ticks = self.ticks.iter().map(|q| again.random::<f64>() < *q).collect();
            }
        }
        for (&i, ticked) in self.kinds.iter().zip(ticks) {
            if ticked {
                answers[i] = Some(1);
            }
        }
    }
}

/// The charted closed questions among the written variables whose codes the codebook labels.
fn charted_items(written: &[&Variable], names: &[String]) -> Vec<ChartedItem> {
    ITEMS
        .iter()
        .filter_map(|item| {
            let position = names.iter().position(|n| n == item.variable)?;
            let v = written[position];
            let labelled = |c: &i16| v.value_labels.iter().any(|(code, _)| code == c);
            let codes_known = item.positive.iter().chain(item.negative).all(|(c, _)| labelled(c));
            codes_known.then(|| ChartedItem {
                position,
                item,
                dont_know: v.nonsubstantive.clone(),
                missing: v.user_missing.clone(),
            })
        })
        .collect()
}

/// The willingness set, when every one of its boxes is written.
fn willingness_set(index: &dyn Fn(&str) -> Option<usize>) -> Option<WillingnessSet> {
    let kinds: Option<Vec<usize>> = KINDS.iter().map(|(name, _)| index(name)).collect();
    Some(WillingnessSet {
        kinds: kinds?,
        cannot: index(CANNOT.0)?,
        will_not: index(WILL_NOT.0)?,
        ticks: article::tick_probabilities(&article::willing_targets()),
    })
}

/// A charted question's distribution: `p` of the substantive answers on its positive codes,
/// the rest on the others, plus [`DONT_KNOW`] on its "don't know" code(s).
fn charted_cdf(item: &Item, p: f64, dont_know: &[i16]) -> Vec<(f64, i16)> {
    let d = if dont_know.is_empty() { 0.0 } else { DONT_KNOW };
    let mut weights: Vec<(i16, f64)> = Vec::new();
    weights.extend(item.positive.iter().map(|&(c, w)| (c, (1.0 - d) * p * w)));
    weights.extend(item.negative.iter().map(|&(c, w)| (c, (1.0 - d) * (1.0 - p) * w)));
    weights.extend(dont_know.iter().map(|&c| (c, d / dont_know.len() as f64)));
    cumulative(&weights)
}

/// Numeric questionnaire variables: no research variables, no text, nothing the codebook
/// excludes as personal data.
fn is_written(codebook: &Codebook, format: &Dataformat, v: &Variable) -> bool {
    !v.text
        && v.name != "ch08"
        && ResearchVariable::ALL.iter().all(|r| r.name() != v.name)
        && !matches!(codebook.target(format.questionnaire, &v.name), Some(Target::Excluded { .. }))
}

/// Maps one uniform draw `u` to an answer, so a variable costs one random number.
fn draw(kind: &Kind, u: f64) -> Option<i16> {
    match kind {
        Kind::Blank => None,
        Kind::Checkbox { ticked } => (u < *ticked).then_some(1),
        Kind::Age => {
            if u < AGE_BLANK {
                return None;
            }
            let v = (u - AGE_BLANK) / (1.0 - AGE_BLANK);
            let mut acc = 0.0;
            for (band, share) in RESPONDENT_AGE_SHARES.iter().enumerate() {
                acc += share;
                if v < acc {
                    return Some(band as i16 + 1);
                }
            }
            Some(AGE_BANDS.len() as i16)
        }
        Kind::Closed { cdf, missing } => {
            if u < BLANK {
                return None;
            }
            if u < BLANK + DECLARED_MISSING && !missing.is_empty() {
                let pick = ((u - BLANK) / DECLARED_MISSING * missing.len() as f64) as usize;
                return Some(missing[pick.min(missing.len() - 1)]);
            }
            let v = (u - BLANK - DECLARED_MISSING) / (1.0 - BLANK - DECLARED_MISSING);
            cdf.iter().find(|(p, _)| v < *p).or(cdf.last()).map(|(_, code)| *code)
        }
    }
}

fn kind_of(v: &Variable, questionnaire: Questionnaire, seed: u64) -> Kind {
    if questionnaire == Questionnaire::V2022 && NOT_FIELDED_2022.contains(&v.name.as_str()) {
        return Kind::Blank;
    }
    if v.name == AGE_VARIABLE {
        return Kind::Age;
    }
    match v.value_labels.len() {
        0 => Kind::Blank,
        // A single labelled code is a checkbox ("1=aangevinkt"); unticked is empty.
        1 if EXCLUSIVE.iter().any(|(_, option)| *option == v.name) => Kind::Checkbox { ticked: TICKED_EXCLUSIVE },
        1 => Kind::Checkbox { ticked: TICKED },
        _ => {
            let mut rng = super::rng_for(seed, &["variable", &v.name]);
            Kind::Closed { cdf: distribution(v, &mut rng), missing: v.user_missing.clone() }
        }
    }
}

/// A categorical distribution over the variable's labelled codes: substantive codes peak at
/// the positive middle of the scale ("eens" on agree scales, 7 on 1-10 grades), with jitter
/// per variable; "don't know" codes get a few percent together.
fn distribution(v: &Variable, rng: &mut ChaCha8Rng) -> Vec<(f64, i16)> {
    let mut substantive: Vec<i16> = v
        .value_labels
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !v.nonsubstantive.contains(c) && !v.user_missing.contains(c))
        .collect();
    substantive.sort_unstable();
    let dont_know: Vec<i16> = v.value_labels.iter().map(|(c, _)| *c).filter(|c| v.nonsubstantive.contains(c)).collect();

    let mut weights: Vec<(i16, f64)> = match OVERRIDES.iter().find(|(name, _)| *name == v.name) {
        Some((_, w)) => w.iter().filter(|(c, _)| substantive.contains(c)).copied().collect(),
        None => {
            let k = substantive.len() as f64;
            let (peak, sigma) = if k >= 7.0 { (0.68 * (k - 1.0), 0.18 * k) } else { (0.3 * (k - 1.0), 0.5 + 0.15 * k) };
            let peak = peak + rng.random_range(-0.5..0.5);
            substantive
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let d = i as f64 - peak;
                    let w = (-(d * d) / (2.0 * sigma * sigma)).exp() + 0.02;
                    (c, w * rng.random_range(0.6..1.4))
                })
                .collect()
        }
    };
    if weights.is_empty() {
        // Only "don't know" codes are labelled: they are the answer.
        weights = dont_know.iter().map(|&c| (c, 1.0)).collect();
    } else if !dont_know.is_empty() {
        let total: f64 = weights.iter().map(|(_, w)| w).sum();
        let share = rng.random_range(0.02..0.06);
        // Add them so they make up `share` of the final distribution.
        let each = total * share / (1.0 - share) / dont_know.len() as f64;
        weights.extend(dont_know.iter().map(|&c| (c, each)));
    }
    cumulative(&weights)
}

/// Cumulative probabilities over codes from weights (normalised); the last is infinite, so
/// rounding never leaves a gap below 1.
fn cumulative(weights: &[(i16, f64)]) -> Vec<(f64, i16)> {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut acc = 0.0;
    let mut cdf: Vec<(f64, i16)> = weights
        .iter()
        .map(|(c, w)| {
            acc += w / total;
            (acc, *c)
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        // Rounding must not leave a gap below 1.
        last.0 = f64::INFINITY;
    }
    cdf
}
