//! The command line: argument parsing, logging set-up, summary output and exit codes.
//!
//! Exit codes (contract): 0 success (deliveries may have been rejected; the lake says which),
//! 1 the run failed, 2 usage or configuration error, 3 `run --strict` with a rejected delivery.
//! No pipeline logic lives here.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, PipelineFile, UsageError};
use crate::outcome::{DeliveryOutcome, Status};
use crate::pipeline::{self, RunOptions};
use crate::synth::{self, SynthOptions};

#[derive(Parser, Debug)]
#[command(name = "burgerpeiling", version, about = "Harmonised, weighted Parquet lake from Burgerpeiling deliveries")]
struct Cli {
    /// Pipeline definition (TOML).
    #[arg(long, global = true, default_value = "pipelines/nightly.toml")]
    pipeline: PathBuf,
    /// Directory with codebook, mappings and municipalities.
    #[arg(long, global = true, default_value = "config")]
    config: PathBuf,
    /// Human lines on stderr, or one JSON object a line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Progress bars on stderr (auto: only on a terminal).
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
    /// Quieter (repeat for less).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    quiet: u8,
    /// More verbose (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Progress {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The nightly job: ingest the inbox and publish every survey year it holds.
    Run {
        /// Inbox directory (default: the pipeline file's `paths.inbox`).
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// Lake directory (default: the pipeline file's `paths.lake`).
        #[arg(long)]
        lake: Option<PathBuf>,
        /// Population tables: every `*.csv` in it (default: `paths.population`, else
        /// `<config>/population`).
        #[arg(long)]
        population: Option<PathBuf>,
        /// State directory: ledger, delivery cache, lock (default: the pipeline file's
        /// `paths.state`).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Rebuild every year, whether its inputs changed or not.
        #[arg(long)]
        full: bool,
        /// Drop deliveries whose file left the inbox (otherwise they stay published).
        #[arg(long)]
        prune: bool,
        /// Exit with code 3 when any delivery was rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Rebuild one survey year from all its deliveries, ignoring every cache for it.
    Reprocess {
        #[arg(long)]
        year: u16,
        #[arg(long)]
        inbox: Option<PathBuf>,
        #[arg(long)]
        lake: Option<PathBuf>,
        #[arg(long)]
        state: Option<PathBuf>,
        #[arg(long)]
        population: Option<PathBuf>,
    },
    /// What the ledger knows: deliveries by status, the last runs, the published years, and
    /// what the next run would do.
    Status {
        #[arg(long)]
        state: Option<PathBuf>,
        #[arg(long)]
        inbox: Option<PathBuf>,
        #[arg(long)]
        lake: Option<PathBuf>,
    },
    /// Validate deliveries the way `run` would, without touching the lake; exit 3 when one
    /// would be rejected.
    Check {
        /// Delivery files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write each delivery's report (JSON and HTML) into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Findings as text lines or as JSON.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Population tables, for the age chart of the reports.
        #[arg(long)]
        population: Option<PathBuf>,
    },
    /// Population tables: convert a source into the contract's table format.
    Population {
        #[command(subcommand)]
        command: PopulationCommand,
    },
    /// Write realistic synthetic deliveries and their population table.
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of municipalities.
        #[arg(long, default_value_t = 6)]
        municipalities: usize,
        /// Survey years, inclusive: `2019-2024`.
        #[arg(long, default_value = "2019-2024", value_parser = parse_years)]
        years: (u16, u16),
        /// Mean number of respondents per delivery.
        #[arg(long, default_value_t = 600)]
        respondents: usize,
        /// Write the same answers in every messy variant agencies deliver.
        #[arg(long)]
        messy: bool,
        /// Plant each kind of duplicate (copied files, redeliveries, exact, cross-mode,
        /// conflicting-number and near-duplicate rows) at this rate, 0 to 0.25.
        #[arg(long, default_value_t = 0.0)]
        duplicates: f64,
        /// File formats of plain deliveries as shares, e.g. `xlsx=50,csv=40,sav=5,xls=5`
        /// (formats: xlsx, xlsm, xls, ods, csv, txt, sav; default xlsx=11,csv=9).
        #[arg(long, value_parser = synth::FormatMix::parse, conflicts_with = "messy")]
        formats: Option<synth::FormatMix>,
        /// Wrap every delivery into a zip bundle with a questionnaire PDF: `plain`, `zipcrypto`,
        /// `aes` or `mixed` (in turn); the keys go to `<out>/secrets/passwords.toml`.
        #[arg(long, value_parser = synth::bundle::BundleMode::parse)]
        bundles: Option<synth::bundle::BundleMode>,
    },
}

#[derive(Subcommand, Debug)]
enum PopulationCommand {
    /// Convert a CBS StatLine export (`cbs-kwb`: Kerncijfers wijken en buurten, gemeenten and
    /// wijken; `cbs-70072ned`: Regionale kerncijfers, municipalities by name).
    Import {
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::population::IMPORT_KINDS))]
        kind: String,
        file: PathBuf,
        /// Reference year of the counts (default: what the file or its name states).
        #[arg(long)]
        year: Option<u16>,
        /// Write the table here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_years(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("expected a year range like 2019-2024, got {s:?}");
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a > b || !(2000..2100).contains(&a) || !(2000..2100).contains(&b) {
        return Err(bad());
    }
    Ok((a, b))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging(&cli);
    match execute(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<pipeline::LockHeld>().is_some() {
                4
            } else if e.downcast_ref::<UsageError>().is_some() {
                2
            } else {
                1
            }
        }
    }
}

fn execute(cli: &Cli) -> Result<i32> {
    match &cli.command {
        Command::Run { inbox, lake, population, state, full, prune, strict } => {
            let summary = run_pipeline(cli, inbox, lake, state, population, *full, *prune, None)?;
            Ok(if *strict && summary.rejected > 0 { 3 } else { 0 })
        }
        Command::Reprocess { year, inbox, lake, state, population } => {
            run_pipeline(cli, inbox, lake, state, population, false, false, Some(*year))?;
            Ok(0)
        }
        Command::Status { state, inbox, lake } => {
            let (pipeline, _) = PipelineFile::load(&cli.pipeline)?;
            let state = pick(cli, state, &pipeline.paths.state, "state")?;
            let ledger = crate::state::ledger::Ledger::open(&state)?;
            println!("state: {}", state.display());
            println!("deliveries by status:");
            for (status, n) in ledger.deliveries_by_status()? {
                println!("  {status}: {n}");
            }
            println!("last runs:");
            for r in ledger.last_runs(5)? {
                let years: Vec<String> = r.years_rebuilt.iter().map(|y| y.to_string()).collect();
                println!(
                    "  {} {} {} (years rebuilt: {})",
                    r.run_id,
                    r.command,
                    r.outcome,
                    if years.is_empty() { "none".into() } else { years.join(", ") }
                );
            }
            println!("published years:");
            for p in ledger.partitions()? {
                println!("  {}: {} rows from {} deliveries (run {})", p.year, p.rows, p.delivery_ids.len(), p.run_id);
            }
            // What the next run would do: files the ledger does not know yet, and files it
            // knows that left the inbox.
            let inbox = pick(cli, inbox, &pipeline.paths.inbox, "inbox")?;
            let _ = lake;
            let fingerprint =
                |name: &str, size: u64, mtime: i64| ledger.file_fingerprint(name, size, mtime).ok().flatten();
            let found = crate::ingest::discover::discover_with(&inbox, pipeline.limits.max_file_bytes, &fingerprint)?;
            let rows = ledger.known_deliveries()?;
            let known: std::collections::BTreeSet<String> = rows.iter().map(|d| d.delivery_id.clone()).collect();
            // Rejected and copied files publish nothing, so their absence changes nothing.
            let published: std::collections::BTreeSet<String> = rows
                .into_iter()
                .filter(|d| !matches!(d.status, Status::Rejected | Status::DuplicateFile))
                .map(|d| d.delivery_id)
                .collect();
            let new: Vec<&str> =
                found.deliveries.iter().filter(|d| !known.contains(&d.id)).map(|d| d.file_name.as_str()).collect();
            let present: std::collections::BTreeSet<&str> = found.deliveries.iter().map(|d| d.id.as_str()).collect();
            let gone = published.iter().filter(|k| !present.contains(k.as_str())).count();
            if new.is_empty() && gone == 0 {
                println!(
                    "next run: no new or changed files (it rebuilds nothing unless config, pipeline file or population tables changed)"
                );
            } else {
                println!("next run: {} new or changed file(s), {} known file(s) gone from the inbox", new.len(), gone);
                for n in new.iter().take(20) {
                    println!("  new: {n}");
                }
            }
            Ok(0)
        }
        Command::Check { files, report, format, population } => {
            let (pipeline, _) = PipelineFile::load(&cli.pipeline)?;
            let config = Config::load(&cli.config)?;
            let forced = pipeline.forced_versions().map_err(UsageError)?;
            let outcomes = pipeline::check(files, &config, &pipeline.limits, &forced, &pipeline.passwords)?;
            let run_id = format!("check-{}", pipeline::new_run_id());
            // The population only feeds the reports' age chart: without it `check` still checks.
            let population = pipeline.population(population.as_deref(), &cli.config).unwrap_or_else(|e| {
                tracing::warn!("no population tables, the age chart shows respondents only: {e}");
                crate::population::PopulationTable::default()
            });
            let reports: Vec<_> = outcomes
                .iter()
                .map(|o| {
                    let shares = o.summary.as_ref().and_then(|b| {
                        crate::weight::age_band_shares(&population, &b.municipalities.first()?.code, b.year)
                    });
                    crate::report::delivery_report(&run_id, o, &config.codebook, shares)
                })
                .collect();
            if let Some(dir) = report {
                for r in &reports {
                    crate::report::write_delivery_report(dir, r)?;
                }
            }
            match format {
                CheckFormat::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
                CheckFormat::Text => print_check(&outcomes),
            }
            let rejected = outcomes.iter().any(|o| o.status == Status::Rejected);
            Ok(if rejected { 3 } else { 0 })
        }
        Command::Population { command: PopulationCommand::Import { kind, file, year, out } } => {
            let config = Config::load(&cli.config)?;
            let bytes = std::fs::read(file).map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let year = year.or_else(|| crate::population::year_from_file_name(&name));
            let (rows, problems) = crate::population::import(kind, &bytes, year, &config.municipalities)
                .map_err(|e| UsageError(format!("{}: {e:#}", file.display())))?;
            for p in &problems {
                tracing::warn!("{}: {p}", file.display());
            }
            let csv = crate::population::render_csv(&rows);
            match out {
                Some(path) => {
                    std::fs::write(path, &csv).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    if cli.quiet == 0 {
                        println!("{}: {} rows, {} problems reported", path.display(), rows.len(), problems.len());
                    }
                }
                None => print!("{csv}"),
            }
            Ok(0)
        }
        Command::Synth { out, seed, municipalities, years, respondents, messy, duplicates, formats, bundles } => {
            let config = Config::load(&cli.config)?;
            let opts = SynthOptions {
                out: out.clone(),
                seed: *seed,
                municipalities: *municipalities,
                years: *years,
                respondents: *respondents,
                messy: *messy,
            };
            let (summary, planted) = match formats {
                // Planting duplicates keeps the default formats; a mix is for benchmark corpora.
                Some(_) if *duplicates != 0.0 => {
                    return Err(UsageError(
                        "--formats cannot be combined with --duplicates yet: synthesise the \
                         duplicates corpus with the default formats, or leave --duplicates out"
                            .to_string(),
                    )
                    .into());
                }
                Some(mix) => {
                    (synth::synth_with_formats(&opts, mix, &config.codebook, &config.municipalities)?, Vec::new())
                }
                None => synth::duplicates::synth_with_duplicates(
                    &opts,
                    *duplicates,
                    &config.codebook,
                    &config.municipalities,
                )?,
            };
            if cli.quiet == 0 {
                let n: usize = summary.deliveries.iter().map(|d| d.respondents.len()).sum();
                println!(
                    "synth: {} deliveries, {n} respondents under {}",
                    summary.deliveries.len(),
                    out.join("inbox").display()
                );
                println!("population: {}", summary.population_file.display());
                if !planted.is_empty() {
                    println!("planted duplicates: {}", planted.len());
                }
            }
            if let Some(mode) = bundles {
                let wrapped = synth::bundle::wrap_inbox(out, *mode, *seed)?;
                if cli.quiet == 0 {
                    println!("bundels: {}, sleutels in {}", wrapped.bundles.len(), wrapped.password_file.display());
                }
            }
            Ok(0)
        }
    }
}

/// A directory from its flag, else the pipeline file's `paths.<what>`.
fn pick(cli: &Cli, flag: &Option<PathBuf>, file: &Option<PathBuf>, what: &str) -> Result<PathBuf, UsageError> {
    flag.clone().or_else(|| file.clone()).ok_or_else(|| {
        UsageError(format!("no {what} directory: pass --{what} or set paths.{what} in {}", cli.pipeline.display()))
    })
}

/// `run` and `reprocess`.
#[allow(clippy::too_many_arguments)]
fn run_pipeline(
    cli: &Cli,
    inbox: &Option<PathBuf>,
    lake: &Option<PathBuf>,
    state: &Option<PathBuf>,
    population: &Option<PathBuf>,
    full: bool,
    prune: bool,
    reprocess: Option<u16>,
) -> Result<pipeline::RunSummary> {
    let (pipeline, pipeline_bytes) = PipelineFile::load(&cli.pipeline)?;
    let config = Config::load(&cli.config)?;
    let opts = RunOptions {
        inbox: pick(cli, inbox, &pipeline.paths.inbox, "inbox")?,
        lake: pick(cli, lake, &pipeline.paths.lake, "lake")?,
        state: pick(cli, state, &pipeline.paths.state, "state")?,
        limits: pipeline.limits,
        forced_versions: pipeline.forced_versions().map_err(UsageError)?,
        dedup: pipeline.dedup,
        population: pipeline.population(population.as_deref(), &cli.config)?,
        weighting: pipeline.weighting.clone(),
        full,
        prune,
        reprocess,
        progress: show_progress(cli.progress),
        passwords: pipeline.passwords.clone(),
    };
    let summary = pipeline::run(&opts, &config, &pipeline_bytes)?;
    if cli.quiet == 0 {
        println!("lake: {}", summary.lake.display());
        if summary.nothing_new {
            println!("nothing new since the last run: nothing was written");
        }
        for y in &summary.years {
            let what = if y.rebuilt { format!("rebuilt ({})", y.why) } else { "unchanged".to_string() };
            println!("{}: {} deliveries, {} respondents, {what}", y.year, y.deliveries, y.respondents);
        }
        if summary.rejected > 0 {
            println!("rejected: {} deliveries (see deliveries.parquet)", summary.rejected);
        }
        if !summary.ignored_files.is_empty() {
            println!("ignored: {} files that are not deliveries", summary.ignored_files.len());
        }
    }
    Ok(summary)
}

/// Findings grouped by file, then severity (errors first).
fn print_check(outcomes: &[DeliveryOutcome]) {
    for o in outcomes {
        let what = match &o.reason {
            Some(r) => format!("{}: {r}", o.status.as_str()),
            None => o.status.as_str().to_string(),
        };
        println!("{} [{}]", o.delivery.file_name, what);
        let mut findings: Vec<_> = o.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in findings {
            let column = f.column.as_deref().map(|c| format!(" column {c}")).unwrap_or_default();
            let rows = if f.rows.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = f.rows.iter().map(|r| r.to_string()).collect();
                format!(" rows {}{}", list.join(","), if f.count as usize > f.rows.len() { ",…" } else { "" })
            };
            println!("  {:7} {}{column}{rows}: {}", f.severity.as_str(), f.rule, f.message);
        }
    }
}

fn show_progress(p: Progress) -> bool {
    match p {
        Progress::Always => true,
        Progress::Never => false,
        Progress::Auto => std::io::stderr().is_terminal(),
    }
}

fn init_logging(cli: &Cli) {
    let level = match (cli.verbose as i8) - (cli.quiet as i8) {
        i8::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BURGERPEILING_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("burgerpeiling={level}")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match cli.log_format {
        LogFormat::Text => {
            builder.with_target(false).without_time().with_ansi(std::io::stderr().is_terminal()).try_init()
        }
        LogFormat::Json => builder.json().try_init(),
    };
}
