//! The command line: argument parsing, logging set-up, summary output and exit codes.
//!
//! Exit codes (contract): 0 success (deliveries may have been rejected; the lake says which),
//! 1 the run failed, 2 usage or configuration error, 3 `run --strict` with a rejected delivery.
//! Which configuration and pipeline file a command uses (a flag, the checkout's defaults in the
//! working directory, or the copies embedded in the binary) is `config::resolve_defaults`'s
//! decision; `init` writes a nightly job (`crate::init`). No pipeline logic lives here.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigSource, PipelineFile, PipelineSource, UsageError, resolve_defaults};
use crate::lake::io_error::{self, Place};
use crate::outcome::{DeliveryOutcome, Status};
use crate::pipeline::{self, RunOptions};
#[cfg(feature = "synth")]
use crate::synth::{self, SynthOptions};

#[derive(Parser, Debug)]
#[command(name = "burgerpeiling", version, about = "Harmonised, weighted Parquet lake from Burgerpeiling deliveries")]
struct Cli {
    /// Pipeline definition (TOML) (default: pipelines/nightly.toml in the working directory,
    /// else the copy embedded in the binary).
    #[arg(long, global = true)]
    pipeline: Option<PathBuf>,
    /// Directory with codebook, mappings, municipalities and population tables (default:
    /// config/ in the working directory, else the copy embedded in the binary).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
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
enum FigureFormat {
    Table,
    Json,
    Csv,
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
        #[command(flatten)]
        at: Locations,
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
        #[command(flatten)]
        at: Locations,
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
    /// Print published indicator figures: national (all ages and per age class), or one
    /// municipality's with `--municipality`.
    Indicators {
        /// Lake directory (default: the pipeline file's `paths.lake`).
        #[arg(long)]
        lake: Option<PathBuf>,
        /// Only this survey year.
        #[arg(long)]
        year: Option<u16>,
        /// One municipality's figures (`GM0363`) instead of the national ones.
        #[arg(long)]
        municipality: Option<String>,
        /// Only these indicator codes (comma-separated).
        #[arg(long, value_delimiter = ',')]
        indicator: Vec<String>,
        #[arg(long, value_enum, default_value_t = FigureFormat::Table)]
        format: FigureFormat,
    },
    /// Write the findings pages (HTML and JSON) from the published lake: the national trends,
    /// or one municipality's benchmark page.
    Report {
        #[command(subcommand)]
        page: ReportPage,
        /// Lake directory (default: the pipeline file's `paths.lake`).
        #[arg(long, global = true)]
        lake: Option<PathBuf>,
        /// Population tables, for the size classes (default: as `run`).
        #[arg(long, global = true)]
        population: Option<PathBuf>,
        /// Directory to write the pages into.
        #[arg(long, global = true, default_value = ".")]
        out: PathBuf,
    },
    /// Set up a nightly job in DIR: an editable pipeline file, a copy of the configuration and a
    /// systemd service and timer pair (install them yourself: see docs/operations.md).
    Init {
        dir: PathBuf,
        /// The nightly start time (24-hour clock).
        #[arg(long, default_value = "02:00", value_parser = crate::init::parse_time)]
        at: (u8, u8),
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Population tables: convert a source into the contract's table format.
    Population {
        #[command(subcommand)]
        command: PopulationCommand,
    },
    /// Write realistic synthetic deliveries and their population table.
    #[cfg(feature = "synth")]
    Synth(SynthArgs),
}

/// Where `run` and `reprocess` read and write; each defaults to the pipeline file's `[paths]`.
#[derive(Args, Debug)]
struct Locations {
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
}

/// `synth`'s arguments.
#[cfg(feature = "synth")]
#[derive(Args, Debug)]
struct SynthArgs {
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
}

#[derive(Subcommand, Debug)]
enum ReportPage {
    /// The national trend page.
    National,
    /// One municipality's page (`GM0363`).
    Municipality { code: String },
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

#[cfg(feature = "synth")]
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
            // A full, read-only or forbidden file system gets its explanation in Dutch.
            match e.downcast_ref::<crate::lake::io_error::IoFailure>() {
                Some(failure) => eprintln!("fout: {failure}"),
                None => eprintln!("error: {e:#}"),
            }
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
        Command::Run { at, full, prune, strict } => {
            let summary = run_pipeline(cli, at, RunMode { full: *full, prune: *prune, reprocess: None })?;
            Ok(if *strict && summary.rejected > 0 { 3 } else { 0 })
        }
        Command::Reprocess { year, at } => {
            run_pipeline(cli, at, RunMode { full: false, prune: false, reprocess: Some(*year) })?;
            Ok(0)
        }
        Command::Status { state, inbox, lake: _ } => status(cli, state, inbox),
        Command::Check { files, report, format, population } => {
            check(cli, files, report.as_deref(), *format, population)
        }
        Command::Indicators { lake, year, municipality, indicator, format } => {
            let (pipeline, _) = cli.load_pipeline()?;
            let lake = pick(cli, lake, &pipeline.paths.lake, "lake")?;
            let query = FigureQuery { year: *year, municipality: municipality.clone(), indicators: indicator.clone() };
            print_figures(&lake, &query, *format)?;
            Ok(0)
        }
        Command::Population { command: PopulationCommand::Import { kind, file, year, out } } => {
            population_import(cli, kind, file, *year, out.as_deref())
        }
        Command::Report { page, lake, population, out } => findings_report(cli, page, lake, population, out),
        Command::Init { dir, at, force } => init(cli, dir, *at, *force),
        #[cfg(feature = "synth")]
        Command::Synth(args) => synthesise(cli, args),
    }
}

impl Cli {
    /// The configuration in use: `--config`, else `config/` here, else the embedded copy.
    fn config_source(&self) -> ConfigSource {
        resolve_defaults(self.config.as_deref(), self.pipeline.as_deref()).0
    }

    /// The pipeline file in use: `--pipeline`, else `pipelines/nightly.toml` here, else the
    /// embedded copy.
    fn pipeline_source(&self) -> PipelineSource {
        resolve_defaults(self.config.as_deref(), self.pipeline.as_deref()).1
    }

    fn load_pipeline(&self) -> Result<(PipelineFile, Vec<u8>), UsageError> {
        PipelineFile::load_from(&self.pipeline_source())
    }

    fn load_config(&self) -> Result<Config, UsageError> {
        Config::load_from(&self.config_source())
    }
}

/// `init DIR`: the job's files, then what to do with them.
fn init(cli: &Cli, dir: &std::path::Path, at: (u8, u8), force: bool) -> Result<i32> {
    let binary = std::env::current_exe().map_err(|e| {
        anyhow::anyhow!("kan het pad van dit programma niet bepalen (nodig voor de systemd-service): {e}")
    })?;
    let opts = crate::init::InitOptions {
        dir: dir.to_path_buf(),
        at,
        force,
        binary,
        config: cli.config_source(),
        pipeline: cli.pipeline_source(),
    };
    let summary = crate::init::init(&opts)?;
    if cli.quiet == 0 {
        println!("init: {} bestanden geschreven onder {}", summary.files.len(), summary.dir.display());
        println!("pipeline-bestand: {}", summary.dir.join(crate::init::PIPELINE_FILE).display());
        println!("configuratie: {}", summary.dir.join(crate::init::CONFIG_DIR).display());
        println!(
            "systemd: {} en {} (installeren: zie docs/operations.md)",
            summary.dir.join(crate::init::SERVICE_FILE).display(),
            summary.dir.join(crate::init::TIMER_FILE).display()
        );
        println!("of met cron:\n  {}", summary.crontab);
    }
    Ok(0)
}

/// `status`: what the ledger knows, and what the next run would do.
fn status(cli: &Cli, state: &Option<PathBuf>, inbox: &Option<PathBuf>) -> Result<i32> {
    let (pipeline, _) = cli.load_pipeline()?;
    let config = cli.config_source();
    let hash = crate::config::hash_source(&config).map_err(|e| UsageError(format!("{e:#}")))?;
    println!("configuratie: {} (hash {hash})", config.describe());
    println!("pipeline-bestand: {}", cli.pipeline_source().describe());
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
        let years = if years.is_empty() { "none".into() } else { years.join(", ") };
        println!("  {} {} {} (years rebuilt: {years})", r.run_id, r.command, r.outcome);
    }
    println!("published years:");
    for p in ledger.partitions()? {
        println!("  {}: {} rows from {} deliveries (run {})", p.year, p.rows, p.delivery_ids.len(), p.run_id);
    }
    let inbox = pick(cli, inbox, &pipeline.paths.inbox, "inbox")?;
    let next = pipeline::preview(&inbox, &pipeline.limits, &ledger)?;
    if next.new.is_empty() && next.gone == 0 {
        println!(
            "next run: no new or changed files (it rebuilds nothing unless config, pipeline file or population tables changed)"
        );
    } else {
        println!(
            "next run: {} new or changed file(s), {} known file(s) gone from the inbox",
            next.new.len(),
            next.gone
        );
        for n in next.new.iter().take(20) {
            println!("  new: {n}");
        }
    }
    Ok(0)
}

/// `check`: the findings of the given files, as text or JSON, and optionally their reports.
fn check(
    cli: &Cli,
    files: &[PathBuf],
    report: Option<&std::path::Path>,
    format: CheckFormat,
    population: &Option<PathBuf>,
) -> Result<i32> {
    let (pipeline, _) = cli.load_pipeline()?;
    let config = cli.load_config()?;
    let forced = pipeline.forced_versions().map_err(UsageError)?;
    let outcomes = pipeline::check(files, &config, &pipeline.limits, &forced, &pipeline.passwords)?;
    let run_id = format!("check-{}", pipeline::new_run_id());
    // The population only feeds the reports' age chart: without it `check` still checks.
    let population = pipeline.population(population.as_deref(), &cli.config_source()).unwrap_or_else(|e| {
        tracing::warn!("no population tables, the age chart shows respondents only: {e}");
        crate::population::PopulationTable::default()
    });
    let reports: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let shares = o
                .summary
                .as_ref()
                .and_then(|b| crate::weight::age_band_shares(&population, &b.municipalities.first()?.code, b.year));
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
    Ok(if outcomes.iter().any(|o| o.status == Status::Rejected) { 3 } else { 0 })
}

/// Which published figures `indicators` prints.
struct FigureQuery {
    year: Option<u16>,
    municipality: Option<String>,
    indicators: Vec<String>,
}

/// One printed figure: where, what, and its numbers.
#[derive(serde::Serialize)]
struct FigureLine {
    indicator: String,
    gemeente_code: Option<String>,
    jaar: i16,
    lft_cy: Option<i16>,
    estimate: Option<f64>,
    se: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    n: i64,
    published: bool,
    reason: Option<String>,
}

/// The [`FigureLine`] of a municipality or national figure (`$f`, a binding, moved from field by
/// field) with its `gemeente_code` and `lft_cy`, the fields only one of the two kinds has. A macro
/// rather than a function: the two figure types are distinct lake records that merely name the
/// shared fields alike.
macro_rules! figure_line {
    ($f:ident, $gemeente_code:expr, $lft_cy:expr) => {
        FigureLine {
            indicator: $f.indicator,
            gemeente_code: $gemeente_code,
            jaar: $f.jaar,
            lft_cy: $lft_cy,
            estimate: $f.estimate,
            se: $f.se,
            ci_low: $f.ci_low,
            ci_high: $f.ci_high,
            n: $f.n,
            published: $f.published,
            reason: $f.reason,
        }
    };
}

/// `indicators`: the published figures from `indicators/national.parquet` or
/// `indicators/municipality.parquet`, as they are in the file.
fn print_figures(lake: &std::path::Path, query: &FigureQuery, format: FigureFormat) -> Result<()> {
    use crate::indicators::figures::{MunicipalityFigure, NationalFigure};
    let file = if query.municipality.is_some() { "municipality" } else { "national" };
    let path = lake.join(format!("indicators/{file}.parquet"));
    if !path.is_file() {
        return Err(UsageError(format!("{} does not exist: run the nightly job first", path.display())).into());
    }
    let unreadable =
        || anyhow::anyhow!("{} does not have the columns of this version; run again with --full", path.display());
    let mut lines = Vec::new();
    for batch in crate::lake::read_parquet(&path)? {
        if query.municipality.is_some() {
            let rows = MunicipalityFigure::from_record_batch(&batch).ok_or_else(unreadable)?;
            lines.extend(rows.into_iter().map(|f| figure_line!(f, Some(f.gemeente_code), None)));
        } else {
            let rows = NationalFigure::from_record_batch(&batch).ok_or_else(unreadable)?;
            lines.extend(rows.into_iter().map(|f| figure_line!(f, None, f.lft_cy)));
        }
    }
    lines.retain(|l| {
        query.year.is_none_or(|y| l.jaar == y as i16)
            && query.municipality.as_ref().is_none_or(|m| l.gemeente_code.as_deref() == Some(m.as_str()))
            && (query.indicators.is_empty() || query.indicators.contains(&l.indicator))
    });
    match format {
        FigureFormat::Json => println!("{}", serde_json::to_string_pretty(&lines)?),
        FigureFormat::Csv => {
            println!("indicator,gemeente_code,jaar,lft_cy,estimate,se,ci_low,ci_high,n,published,reason");
            for l in &lines {
                let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                println!(
                    "{},{},{},{},{},{},{},{},{},{},\"{}\"",
                    l.indicator,
                    l.gemeente_code.as_deref().unwrap_or(""),
                    l.jaar,
                    l.lft_cy.map(|c| c.to_string()).unwrap_or_default(),
                    num(l.estimate),
                    num(l.se),
                    num(l.ci_low),
                    num(l.ci_high),
                    l.n,
                    l.published,
                    l.reason.as_deref().unwrap_or("").replace('"', "\"\"")
                );
            }
        }
        FigureFormat::Table => {
            println!(
                "{:<24} {:<7} {:>4} {:>6} {:>10} {:>8} {:>21} {:>7}  opmerking",
                "indicator", "gemeente", "jaar", "leeft.", "waarde", "se", "95%-interval", "n"
            );
            for l in &lines {
                let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
                let interval = match (l.ci_low, l.ci_high) {
                    (Some(a), Some(b)) => format!("{a:.2} – {b:.2}"),
                    _ => "-".into(),
                };
                println!(
                    "{:<24} {:<7} {:>4} {:>6} {:>10} {:>8} {:>21} {:>7}  {}",
                    l.indicator,
                    l.gemeente_code.as_deref().unwrap_or("NL"),
                    l.jaar,
                    l.lft_cy.map_or("alle".into(), |c| c.to_string()),
                    num(l.estimate),
                    num(l.se),
                    interval,
                    l.n,
                    l.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

/// `population import`.
fn population_import(
    cli: &Cli,
    kind: &str,
    file: &std::path::Path,
    year: Option<u16>,
    out: Option<&std::path::Path>,
) -> Result<i32> {
    let config = cli.load_config()?;
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

/// `synth`.
#[cfg(feature = "synth")]
fn synthesise(cli: &Cli, args: &SynthArgs) -> Result<i32> {
    let config = cli.load_config()?;
    let opts = SynthOptions {
        out: args.out.clone(),
        seed: args.seed,
        municipalities: args.municipalities,
        years: args.years,
        respondents: args.respondents,
        messy: args.messy,
        ..SynthOptions::default()
    };
    let (summary, planted) = match &args.formats {
        // Planting duplicates keeps the default formats; a mix is for benchmark corpora.
        Some(_) if args.duplicates != 0.0 => {
            return Err(UsageError(
                "--formats cannot be combined with --duplicates yet: synthesise the \
                 duplicates corpus with the default formats, or leave --duplicates out"
                    .to_string(),
            )
            .into());
        }
        Some(mix) => (synth::synth_with_formats(&opts, mix, &config.codebook, &config.municipalities)?, Vec::new()),
        None => {
            synth::duplicates::synth_with_duplicates(&opts, args.duplicates, &config.codebook, &config.municipalities)?
        }
    };
    if cli.quiet == 0 {
        let n: usize = summary.deliveries.iter().map(|d| d.respondents.len()).sum();
        println!(
            "synth: {} deliveries, {n} respondents under {}",
            summary.deliveries.len(),
            args.out.join("inbox").display()
        );
        println!("population: {}", summary.population_file.display());
        if !planted.is_empty() {
            println!("planted duplicates: {}", planted.len());
        }
    }
    if let Some(mode) = args.bundles {
        let wrapped = synth::bundle::wrap_inbox(&args.out, mode, args.seed)?;
        if cli.quiet == 0 {
            println!("bundels: {}, sleutels in {}", wrapped.bundles.len(), wrapped.password_file.display());
        }
    }
    Ok(0)
}

/// `report national|municipality`: one findings page from the published lake into `out`.
fn findings_report(
    cli: &Cli,
    page: &ReportPage,
    lake: &Option<PathBuf>,
    population: &Option<PathBuf>,
    out: &std::path::Path,
) -> Result<i32> {
    use crate::report::findings;
    let (pipeline, _) = cli.load_pipeline()?;
    let config = cli.load_config()?;
    let lake = pick(cli, lake, &pipeline.paths.lake, "lake")?;
    let population = pipeline.population(population.as_deref(), &cli.config_source())?;
    let input = findings::load(&lake, &config, &population, None).map_err(|e| UsageError(format!("{e:#}")))?;
    let built = match page {
        ReportPage::National => findings::national_page(&input)?,
        ReportPage::Municipality { code } => {
            findings::municipality_page(&input, code).map_err(|e| UsageError(format!("{e:#}")))?
        }
    };
    let (html, json) = findings::write_page(out, &built)?;
    println!("{}", html.display());
    println!("{}", json.display());
    Ok(0)
}

/// A directory from its flag, else the pipeline file's `paths.<what>`.
fn pick(cli: &Cli, flag: &Option<PathBuf>, file: &Option<PathBuf>, what: &str) -> Result<PathBuf, UsageError> {
    flag.clone().or_else(|| file.clone()).ok_or_else(|| {
        UsageError(format!(
            "no {what} directory: pass --{what} or set paths.{what} in {}",
            cli.pipeline_source().describe()
        ))
    })
}

/// How `run` or `reprocess` was asked to run.
struct RunMode {
    full: bool,
    prune: bool,
    reprocess: Option<u16>,
}

/// `run` and `reprocess`.
fn run_pipeline(cli: &Cli, at: &Locations, mode: RunMode) -> Result<pipeline::RunSummary> {
    let (pipeline, pipeline_bytes) = cli.load_pipeline()?;
    let config = cli.load_config()?;
    let opts = RunOptions {
        inbox: pick(cli, &at.inbox, &pipeline.paths.inbox, "inbox")?,
        lake: pick(cli, &at.lake, &pipeline.paths.lake, "lake")?,
        state: pick(cli, &at.state, &pipeline.paths.state, "state")?,
        limits: pipeline.limits,
        forced_versions: pipeline.forced_versions().map_err(UsageError)?,
        dedup: pipeline.dedup,
        population: pipeline.population(at.population.as_deref(), &cli.config_source())?,
        weighting: pipeline.weighting.clone(),
        indicators: pipeline.indicators,
        full: mode.full,
        prune: mode.prune,
        reprocess: mode.reprocess,
        progress: show_progress(cli.progress),
        passwords: pipeline.passwords.clone(),
    };
    let places = [
        Place { name: "het meer", flag: "--lake", dir: opts.lake.clone() },
        Place { name: "de state-map", flag: "--state", dir: opts.state.clone() },
    ];
    let summary = pipeline::run(&opts, &config, &pipeline_bytes).map_err(|e| io_error::explain(e, &places))?;
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
