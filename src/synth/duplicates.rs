//! Planted duplicates: every kind the dedup rules handle, put into a synthetic corpus at a given
//! rate and recorded, so tests can check that dedup finds exactly what was planted.
//!
//! Per delivery, a share `rate` of its respondents get each of: an exact copy (rule 3), a record
//! in the other mode under the same number (rule 4), another person under the same number and
//! mode (rule 5), and a near-copy under a new number (rule 6); every planted row lands at a
//! random place after its source. A share `rate` of deliveries is redelivered as `<name>_v2`
//! (rule 2, with a few corrected answers), and a share `rate` of files gets a byte copy under
//! `kopie/` (rule 1; the first one, when possible, of a file that a `_v2` supersedes).
//!
//! Must NOT change anything when `rate` is 0 (the plain corpus stays byte-identical), and must
//! NOT plant what the rules could read differently from what is recorded: changes are made only
//! to closed questions outside the routing rules, never to recoded 2019 variables, `ch01` or
//! `ch02`, and always to another valid code.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::answers::{FormatPlan, Kind};
use super::{GeneratedDelivery, GeneratedRespondent, Plan, SynthOptions, SynthSummary};
use crate::codebook::{Codebook, Target};
use crate::municipality::Municipalities;

/// Folder (under the inbox) of the byte copies.
pub const COPY_FOLDER: &str = "kopie";
/// Suffix of redelivered files, before the extension.
pub const REDELIVERY_SUFFIX: &str = "_v2";
/// Rows of a redelivery whose answers are corrected.
const CORRECTIONS: usize = 3;

/// Which dedup rule a planted duplicate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlantedKind {
    /// Rule 1: `file` is a byte copy of `of_file`.
    DuplicateFile,
    /// Rule 2: `file` (`_v2`) supersedes `of_file`.
    Redelivery,
    /// Rule 3: `row` is dropped as an exact duplicate of `of_row`.
    ExactRow,
    /// Rule 4: `row` is dropped as the cross-mode duplicate of `of_row` (the planted record or
    /// its source, whichever the rule drops).
    CrossMode,
    /// Rule 5: `row` shares the number and mode of the earlier `of_row`; both kept, `row` suffixed.
    ConflictingNumber,
    /// Rule 6: `row` (a new number) is a near-duplicate of the earlier `of_row`.
    NearDuplicate,
}

/// One planted duplicate. Rows are 1-based data rows of `file` (header not counted); for row
/// kinds `file` is the delivery that is published (the `_v2` when the delivery was redelivered).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlantedDuplicate {
    pub kind: PlantedKind,
    /// Relative to the inbox.
    pub file: String,
    pub row: Option<u32>,
    pub of_file: String,
    pub of_row: Option<u32>,
}

/// Items a plant may blank or change, per questionnaire variable of a format plan: the other
/// valid codes it may be changed to (empty: not to be touched).
fn changeable(plan: &FormatPlan, codebook: &Codebook) -> Vec<Vec<i16>> {
    let q = codebook.formats.iter().find(|f| f.name == plan.dataformat).map(|f| f.questionnaire);
    let mut routed: BTreeSet<usize> = BTreeSet::new();
    for r in &plan.routes {
        routed.insert(r.condition);
        routed.extend(&r.skipped);
    }
    let mut routed_columns: BTreeSet<usize> = BTreeSet::new();
    for rule in &codebook.routing {
        for (rq, condition, _, skipped) in &rule.per_version {
            if Some(*rq) == q {
                routed_columns.insert(*condition);
                routed_columns.extend(skipped);
            }
        }
    }
    plan.names
        .iter()
        .zip(&plan.kinds)
        .enumerate()
        .map(|(i, (name, kind))| {
            let Kind::Closed { cdf, missing } = kind else { return Vec::new() };
            let Some(Target::Answer(a)) = q.and_then(|q| codebook.target(q, name)) else { return Vec::new() };
            if routed.contains(&i)
                || routed_columns.contains(&a.column)
                || a.recode.is_some()
                || name == "ch01"
                || name == "ch02"
            {
                return Vec::new();
            }
            let codes: BTreeSet<i16> = cdf
                .iter()
                .map(|(_, c)| *c)
                .filter(|c| !missing.contains(c) && !a.user_missing.contains(*c) && a.is_valid(*c))
                .collect();
            if codes.len() < 2 { Vec::new() } else { codes.into_iter().collect() }
        })
        .collect()
}

/// Positions of `answers` that a plant may touch (answered with a code that has an alternative).
fn touchable(answers: &[Option<i16>], alternatives: &[Vec<i16>]) -> Vec<usize> {
    (0..answers.len())
        .filter(|&i| alternatives[i].len() > 1 && answers[i].is_some_and(|c| alternatives[i].contains(&c)))
        .collect()
}

fn change_one(rng: &mut ChaCha8Rng, answers: &mut [Option<i16>], alternatives: &[Vec<i16>]) -> bool {
    let items = touchable(answers, alternatives);
    if items.is_empty() {
        return false;
    }
    let i = items[rng.random_range(0..items.len())];
    let others: Vec<i16> = alternatives[i].iter().copied().filter(|c| Some(*c) != answers[i]).collect();
    answers[i] = Some(others[rng.random_range(0..others.len())]);
    true
}

fn blank_one(rng: &mut ChaCha8Rng, answers: &mut [Option<i16>], alternatives: &[Vec<i16>]) -> bool {
    let items = touchable(answers, alternatives);
    if items.is_empty() {
        return false;
    }
    answers[items[rng.random_range(0..items.len())]] = None;
    true
}

/// `x` rounded up or down at random, in proportion, so small deliveries still get plants.
fn stochastic_round(rng: &mut ChaCha8Rng, x: f64) -> usize {
    let floor = x.floor();
    floor as usize + usize::from(rng.random::<f64>() < x - floor)
}

/// A planted row before its final place is known: `source` is its source's original index.
struct NewRow {
    kind: PlantedKind,
    source: usize,
    slot: usize,
    row: GeneratedRespondent,
    /// Rule 4 only: true when the rule drops the source, not the planted record.
    source_dropped: bool,
}

/// Plants the row-level duplicates into one delivery; returns the records with rows relative to
/// the delivery (`file` is filled in by the caller) and the indexes of untouched rows.
fn plant_rows(
    plan: &Plan,
    alternatives: &[Vec<i16>],
    fp: &FormatPlan,
    d: &mut GeneratedDelivery,
    rate: f64,
) -> (Vec<PlantedDuplicate>, Vec<usize>) {
    let mut rng = super::rng_for(plan.seed, &["duplicates", &d.gemeente_code, &d.year.to_string()]);
    let charted = fp.year_draws(plan.charted, d.year);
    let n = d.respondents.len();
    let per_kind = stochastic_round(&mut rng, rate * n as f64).min(n / 4);
    let mut order: Vec<usize> = (0..n).collect();
    // Partial Fisher-Yates: distinct sources, so plants never interact.
    for i in 0..order.len() {
        let j = rng.random_range(i..order.len());
        order.swap(i, j);
    }
    let mut sources = order.into_iter();
    let mut next_number = d.respondents.iter().map(|r| r.respondent).max().unwrap_or(0) + 1;
    let mut new_rows: Vec<NewRow> = Vec::new();
    let kinds =
        [PlantedKind::ExactRow, PlantedKind::CrossMode, PlantedKind::ConflictingNumber, PlantedKind::NearDuplicate];
    for kind in kinds {
        let mut planted = 0;
        while planted < per_kind {
            let Some(s) = sources.next() else { break };
            let source = &d.respondents[s];
            let mut row = source.clone();
            let mut source_dropped = false;
            let ok = match kind {
                PlantedKind::ExactRow => true,
                PlantedKind::CrossMode => {
                    row.veldwerkmodus = if source.veldwerkmodus == 1 { 2 } else { 1 };
                    if rng.random_bool(0.5) {
                        // Less complete: the source is kept.
                        blank_one(&mut rng, &mut row.answers, alternatives)
                    } else {
                        // As complete: the web record is kept.
                        source_dropped = row.veldwerkmodus == 1;
                        change_one(&mut rng, &mut row.answers, alternatives)
                    }
                }
                PlantedKind::ConflictingNumber => {
                    row.answers = fp.answer(&mut rng, &charted);
                    row.answers != source.answers
                }
                PlantedKind::NearDuplicate => {
                    // Enough items both answered that one changed item keeps 95% agreement.
                    let answered = source.answers.iter().filter(|a| a.is_some()).count();
                    // Sex and age must survive harmonising (not blank, not a declared missing code):
                    // rule 6 blocks on them.
                    let demographics = (0..fp.names.len())
                        .filter(|&i| fp.names[i] == "ch01" || fp.names[i] == "ch02")
                        .filter(|&i| match (&fp.kinds[i], source.answers[i]) {
                            (_, None) => false,
                            (Kind::Closed { missing, .. }, Some(c)) => !missing.contains(&c),
                            _ => true,
                        })
                        .count();
                    row.respondent = next_number;
                    demographics == 2 && answered >= 60 && change_one(&mut rng, &mut row.answers, alternatives)
                }
                PlantedKind::DuplicateFile | PlantedKind::Redelivery => false,
            };
            if !ok {
                continue;
            }
            if kind == PlantedKind::NearDuplicate {
                next_number += 1;
            }
            let slot = rng.random_range(s + 1..=n);
            new_rows.push(NewRow { kind, source: s, slot, row, source_dropped });
            planted += 1;
        }
    }
    let touched: BTreeSet<usize> = new_rows.iter().map(|r| r.source).collect();
    let untouched: Vec<usize> = (0..n).filter(|i| !touched.contains(i)).collect();

    // Final order: before original row k come the planted rows with slot k, in plant order.
    new_rows.sort_by_key(|r| r.slot);
    let mut originals = std::mem::take(&mut d.respondents).into_iter();
    let mut position_of_original = Vec::with_capacity(n);
    let mut position_of_new = vec![0usize; new_rows.len()];
    let mut out = Vec::with_capacity(n + new_rows.len());
    let mut pending = new_rows.iter().enumerate().peekable();
    for k in 0..=n {
        while let Some((j, r)) = pending.next_if(|(_, r)| r.slot == k) {
            position_of_new[j] = out.len();
            out.push(r.row.clone());
        }
        if let Some(o) = originals.next() {
            position_of_original.push(out.len());
            out.push(o);
        }
    }
    d.respondents = out;
    let row = |p: usize| Some(u32::try_from(p + 1).unwrap_or(u32::MAX));
    let records = new_rows
        .iter()
        .zip(&position_of_new)
        .map(|(r, &p)| {
            let (planted, source) = (row(p), row(position_of_original[r.source]));
            let (row, of_row) = if r.source_dropped { (source, planted) } else { (planted, source) };
            PlantedDuplicate { kind: r.kind, file: String::new(), row, of_file: String::new(), of_row }
        })
        .collect();
    let untouched = untouched.into_iter().map(|i| position_of_original[i]).collect();
    (records, untouched)
}

fn redelivery_name(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}{REDELIVERY_SUFFIX}.{ext}"),
        None => format!("{file_name}{REDELIVERY_SUFFIX}"),
    }
}

/// `count` distinct indexes below `n`, chosen with `rng`, ascending.
fn choose(rng: &mut ChaCha8Rng, n: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let count = count.min(n);
    for i in 0..count {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    let mut out = all[..count].to_vec();
    out.sort_unstable();
    out
}

/// Plants duplicates of every kind into `deliveries` (rate 0: returns them untouched).
fn plant(
    plan: &Plan,
    codebook: &Codebook,
    mut deliveries: Vec<GeneratedDelivery>,
    rate: f64,
) -> (Vec<GeneratedDelivery>, Vec<PlantedDuplicate>) {
    if rate <= 0.0 || deliveries.is_empty() {
        return (deliveries, Vec::new());
    }
    let alt2019 = changeable(&plan.v2019, codebook);
    let alt2022 = changeable(&plan.v2022, codebook);
    let rows: Vec<(Vec<PlantedDuplicate>, Vec<usize>)> = deliveries
        .par_iter_mut()
        .map(|d| {
            let fp = super::format_plan(plan, d.year);
            let alternatives = if std::ptr::eq(fp, &plan.v2019) { &alt2019 } else { &alt2022 };
            plant_rows(plan, alternatives, fp, d, rate)
        })
        .collect();

    let mut rng = super::rng_for(plan.seed, &["duplicates", "deliveries"]);
    let count = (rate * deliveries.len() as f64).ceil() as usize;
    let redelivered = choose(&mut rng, deliveries.len(), count);
    let copied = {
        let mut c = choose(&mut rng, deliveries.len(), count);
        // The interplay of rules 1 and 2: a copy of a file that a redelivery supersedes.
        if let Some(&r) = redelivered.first()
            && !c.contains(&r)
            && !c.is_empty()
        {
            c[0] = r;
            c.sort_unstable();
        }
        c
    };

    let mut out = Vec::with_capacity(deliveries.len() + redelivered.len());
    let mut planted = Vec::new();
    for (i, (mut d, (records, untouched))) in deliveries.into_iter().zip(rows).enumerate() {
        let original = d.file_name.clone();
        if copied.binary_search(&i).is_ok() {
            planted.push(PlantedDuplicate {
                kind: PlantedKind::DuplicateFile,
                file: format!("{COPY_FOLDER}/{original}"),
                row: None,
                of_file: original.clone(),
                of_row: None,
            });
        }
        let mut published = original.clone();
        let mut v2 = None;
        if redelivered.binary_search(&i).is_ok() {
            let mut r = d.clone();
            r.file_name = redelivery_name(&original);
            let fp = super::format_plan(plan, d.year);
            let alternatives = if std::ptr::eq(fp, &plan.v2019) { &alt2019 } else { &alt2022 };
            let mut rng = super::rng_for(plan.seed, &["duplicates", "redelivery", &original]);
            for &p in untouched.iter().take(CORRECTIONS) {
                change_one(&mut rng, &mut r.respondents[p].answers, alternatives);
            }
            planted.push(PlantedDuplicate {
                kind: PlantedKind::Redelivery,
                file: r.file_name.clone(),
                row: None,
                of_file: original.clone(),
                of_row: None,
            });
            published = r.file_name.clone();
            v2 = Some(r);
        }
        for mut p in records {
            p.file = published.clone();
            p.of_file = published.clone();
            planted.push(p);
        }
        d.file_name = original;
        out.push(d);
        out.extend(v2);
    }
    planted.sort();
    (out, planted)
}

/// [`super::generate`] with duplicates planted at `rate` (0: the same deliveries, nothing
/// planted). Redeliveries are extra deliveries (`_v2`); byte copies are only in the records.
pub fn generate_with_duplicates(
    opts: &SynthOptions,
    rate: f64,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> (Vec<GeneratedDelivery>, Vec<PlantedDuplicate>) {
    let plan = super::plan(opts, codebook, municipalities);
    plant(&plan, codebook, super::generate_plan(&plan), rate)
}

/// Modification times of planted files, so "later" is what the records say whatever order the
/// files were written in: originals at the end of their fieldwork year, redeliveries a week later,
/// copies a day after their original.
fn mtime(year: u16, days_after: u64) -> SystemTime {
    let years = u64::from(year.saturating_sub(1970)) + 1;
    SystemTime::UNIX_EPOCH + Duration::from_secs(years * 365 * 86_400 + days_after * 86_400)
}

fn set_mtime(path: &Path, time: SystemTime) -> Result<()> {
    let file =
        std::fs::File::options().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.set_modified(time).with_context(|| format!("cannot set the modification time of {}", path.display()))
}

/// [`super::synth`] with duplicates planted at `rate`: also writes the `_v2` redeliveries and the
/// byte copies under `<inbox>/kopie/`, and sets the modification times of the files involved.
/// With `rate` 0 it writes exactly what [`super::synth`] writes.
pub fn synth_with_duplicates(
    opts: &SynthOptions,
    rate: f64,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> Result<(SynthSummary, Vec<PlantedDuplicate>)> {
    if !(0.0..=0.25).contains(&rate) {
        bail!("the duplicate rate must lie in 0-0.25 (each of six kinds is planted at it), not {rate}");
    }
    if rate == 0.0 {
        return Ok((super::synth(opts, codebook, municipalities)?, Vec::new()));
    }
    super::validate(opts, municipalities)?;
    let inbox = opts.out.join("inbox");
    if inbox.exists()
        && std::fs::read_dir(&inbox).with_context(|| format!("cannot list {}", inbox.display()))?.next().is_some()
    {
        bail!("{} already holds files; remove it or choose another --out", inbox.display());
    }
    let plan = super::plan(opts, codebook, municipalities);
    let (deliveries, planted) = plant(&plan, codebook, super::generate_plan(&plan), rate);
    for year in &plan.years {
        for dir in [inbox.join(year.to_string()), inbox.join(COPY_FOLDER).join(year.to_string())] {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    deliveries.par_iter().try_for_each(|d| super::write_delivery(&plan, codebook, &inbox, d))?;
    let year_of = |name: &str| deliveries.iter().find(|d| d.file_name == name).map_or(2000, |d| d.year);
    for p in &planted {
        match p.kind {
            PlantedKind::DuplicateFile => {
                std::fs::copy(inbox.join(&p.of_file), inbox.join(&p.file))
                    .with_context(|| format!("cannot copy {} to {}", p.of_file, p.file))?;
                set_mtime(&inbox.join(&p.of_file), mtime(year_of(&p.of_file), 0))?;
                set_mtime(&inbox.join(&p.file), mtime(year_of(&p.of_file), 1))?;
            }
            PlantedKind::Redelivery => {
                set_mtime(&inbox.join(&p.of_file), mtime(year_of(&p.of_file), 0))?;
                set_mtime(&inbox.join(&p.file), mtime(year_of(&p.of_file), 7))?;
            }
            _ => {}
        }
    }
    let population_dir = opts.out.join("population");
    std::fs::create_dir_all(&population_dir).with_context(|| format!("cannot create {}", population_dir.display()))?;
    let population_file = population_dir.join("population.csv");
    std::fs::write(&population_file, super::population::to_csv(&super::population_rows(&plan)))
        .with_context(|| format!("cannot write {}", population_file.display()))?;
    Ok((SynthSummary { deliveries, population_file }, planted))
}
