//! How one respondent answers one dataformat's questionnaire: which variables are written, a
//! plausible answer distribution per variable, and the routing that blanks skipped questions.
//!
//! A [`FormatPlan`] is built once per dataformat and shared by every delivery in that format,
//! so per-respondent work is one random number per variable and a short table lookup.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

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
        FormatPlan { dataformat, research, names, kinds, routes, exclusive, age }
    }

    /// One respondent's answers, aligned with `names`, routing already applied.
    pub fn answer(&self, rng: &mut ChaCha8Rng) -> Vec<Option<i16>> {
        let mut answers: Vec<Option<i16>> = self.kinds.iter().map(|k| draw(k, rng.random::<f64>())).collect();
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
