//! `burgerpeiling init DIR`: sets up a nightly job outside the checkout. It writes an editable
//! pipeline file with absolute paths, a copy of the configuration in use (embedded or
//! `--config`), an empty inbox, and a systemd service and timer pair whose `ExecStart` runs
//! `run` with absolute `--pipeline` and `--config` paths, so it works from any working
//! directory; the lock's exit code 4 ("another run holds the state directory") counts as
//! success there. The equivalent crontab line is in `docs/operations.md` and printed by `init`.
//!
//! What it must NOT do: overwrite an existing file without `force` (it checks every file before
//! writing any), install or start units (the user's system schedules the job, not the
//! product), or run the pipeline.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{ConfigSource, EMBEDDED_PIPELINE, PipelineFile, PipelineSource, UsageError};

/// The unit names; rename both files together to run more than one job on a machine.
pub const SERVICE_FILE: &str = "systemd/burgerpeiling.service";
pub const TIMER_FILE: &str = "systemd/burgerpeiling.timer";
pub const PIPELINE_FILE: &str = "pipeline.toml";
pub const CONFIG_DIR: &str = "config";
/// The exit code of a run that found the state directory locked by another run.
pub const EXIT_LOCK_HELD: i32 = 4;

/// What `init` is asked to write.
pub struct InitOptions {
    /// The job's directory; made absolute before anything is written.
    pub dir: PathBuf,
    /// The nightly start time, hour and minute.
    pub at: (u8, u8),
    /// Overwrite existing files.
    pub force: bool,
    /// The binary the units run (the one running `init`).
    pub binary: PathBuf,
    /// The configuration to copy.
    pub config: ConfigSource,
    /// The pipeline file whose settings the new one starts from.
    pub pipeline: PipelineSource,
}

/// What `init` wrote, for the summary it prints.
pub struct InitSummary {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub crontab: String,
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_time(s: &str) -> Result<(u8, u8), String> {
    let bad = || format!("verwacht een tijd als 02:00 (uren 00-23, minuten 00-59), niet {s:?}");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || s.len() != 5 {
        return Err(bad());
    }
    Ok((h, m))
}

/// Writes the job's files under `opts.dir`; refuses (a [`UsageError`], exit 2) when one exists
/// and `opts.force` is not set.
pub fn init(opts: &InitOptions) -> Result<InitSummary> {
    let dir = std::path::absolute(&opts.dir)
        .map_err(|e| UsageError(format!("kan de map {} niet bepalen: {e}", opts.dir.display())))?;
    let job = Job { dir: dir.clone(), binary: opts.binary.clone(), at: opts.at };
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (dir.join(PIPELINE_FILE), pipeline_text(&base_pipeline(&opts.pipeline)?, &dir)?.into_bytes()),
        (dir.join(SERVICE_FILE), service_unit(&job)?.into_bytes()),
        (dir.join(TIMER_FILE), timer_unit(&job).into_bytes()),
    ];
    for rel in opts.config.list()? {
        files.push((dir.join(CONFIG_DIR).join(&rel), opts.config.read(&rel)?));
    }
    let existing: Vec<String> =
        files.iter().filter(|(p, _)| p.exists()).map(|(p, _)| p.display().to_string()).collect();
    if !existing.is_empty() && !opts.force {
        return Err(UsageError(format!(
            "init schrijft niets: {} bestand(en) bestaan al ({}{}); kies een andere map of geef --force om ze te overschrijven",
            existing.len(),
            existing.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if existing.len() > 3 { ", …" } else { "" }
        ))
        .into());
    }
    for (path, bytes) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("kan {} niet aanmaken", parent.display()))?;
        }
        std::fs::write(path, bytes).with_context(|| format!("kan {} niet schrijven", path.display()))?;
    }
    std::fs::create_dir_all(dir.join("inbox")).with_context(|| format!("kan {}/inbox niet aanmaken", dir.display()))?;
    Ok(InitSummary { crontab: crontab_line(&job)?, dir, files: files.into_iter().map(|(p, _)| p).collect() })
}

/// The job as the units and the crontab line run it.
struct Job {
    dir: PathBuf,
    binary: PathBuf,
    at: (u8, u8),
}

impl Job {
    /// The command line of the nightly run, one argument per item, every path absolute.
    fn command(&self) -> Vec<String> {
        [
            self.binary.clone(),
            "--pipeline".into(),
            self.dir.join(PIPELINE_FILE),
            "--config".into(),
            self.dir.join(CONFIG_DIR),
            "--progress".into(),
            "never".into(),
            "run".into(),
        ]
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
    }

    /// Unit files and crontabs are text: a path that is not UTF-8 cannot be written into them.
    fn check_paths(&self) -> Result<(), UsageError> {
        for p in [&self.dir, &self.binary] {
            if p.to_str().is_none() {
                return Err(UsageError(format!("het pad {} is geen UTF-8: kies een ander pad", p.display())));
            }
        }
        Ok(())
    }
}

/// The pipeline file the new one starts from: its settings (limits, dedup, weighting) are kept.
fn base_pipeline(source: &PipelineSource) -> Result<String, UsageError> {
    match source {
        PipelineSource::Embedded => Ok(EMBEDDED_PIPELINE.to_string()),
        PipelineSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read the pipeline file {}: {e}", path.display()))),
    }
}

/// The base pipeline file with its leading comment and `[paths]` table replaced by absolute
/// paths under `dir`; every other table is kept as written, comments and all. The result is
/// parsed as `run` would parse it, so `init` never writes a file `run` refuses.
fn pipeline_text(base: &str, dir: &Path) -> Result<String> {
    let quoted = |rel: &str| toml::Value::String(dir.join(rel).to_string_lossy().into_owned()).to_string();
    let mut out = format!(
        "# The nightly job written by `burgerpeiling init`. Edit freely: every path is absolute, so\n\
         # the job runs from any working directory. The population tables come from\n\
         # {config}/population unless [paths] population names another directory.\n",
        config = dir.join(CONFIG_DIR).display()
    );
    let paths_table =
        format!("[paths]\ninbox = {}\nlake = {}\nstate = {}\n\n", quoted("inbox"), quoted("lake"), quoted("state"));
    let (mut in_paths, mut wrote_paths, mut past_header) = (false, false, false);
    for line in base.lines() {
        let trimmed = line.trim_start();
        if !past_header && (trimmed.starts_with('#') || trimmed.is_empty()) {
            continue;
        }
        past_header = true;
        if trimmed.starts_with('[') {
            in_paths = trimmed.starts_with("[paths]");
            if in_paths {
                out.push_str(&paths_table);
                wrote_paths = true;
                continue;
            }
        }
        if !in_paths {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !wrote_paths {
        out.push_str(&paths_table);
    }
    let _: PipelineFile =
        toml::from_str(&out).map_err(|e| UsageError(format!("the pipeline file init would write is invalid: {e}")))?;
    Ok(out)
}

/// One argument as systemd's `ExecStart=` reads it: `%` and `$` escaped (specifiers and
/// variables), double quotes around an argument with spaces, quotes or backslashes.
pub fn systemd_quote(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    if escaped.is_empty() || escaped.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'') {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

fn service_unit(job: &Job) -> Result<String, UsageError> {
    job.check_paths()?;
    let exec: Vec<String> = job.command().iter().map(|a| systemd_quote(a)).collect();
    Ok(format!(
        "# Written by `burgerpeiling init`. Install: see docs/operations.md.\n\
         [Unit]\n\
         Description=Burgerpeiling: de nachtelijke run (inbox naar meer)\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={}\n\
         # Exit code {EXIT_LOCK_HELD}: another run still holds the state directory; this one is skipped, not failed.\n\
         SuccessExitStatus={EXIT_LOCK_HELD}\n\
         Nice=10\n",
        exec.join(" ")
    ))
}

fn timer_unit(job: &Job) -> String {
    let (h, m) = job.at;
    format!(
        "# Written by `burgerpeiling init`. Install: see docs/operations.md.\n\
         [Unit]\n\
         Description=Burgerpeiling: de nachtelijke run, elke dag om {h:02}:{m:02}\n\
         \n\
         [Timer]\n\
         OnCalendar=*-*-* {h:02}:{m:02}:00\n\
         # A night missed while the machine was off is run at the next start.\n\
         Persistent=true\n\
         Unit=burgerpeiling.service\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    )
}

/// The crontab line equivalent to the timer: output appended to `DIR/nightly.log`, exit code 4
/// counted as success, any other failure announced on cron's mail (its standard output).
fn crontab_line(job: &Job) -> Result<String, UsageError> {
    job.check_paths()?;
    let (h, m) = job.at;
    // cron hands the line to /bin/sh and treats `%` as a newline: quote for the shell, escape `%`.
    let sh = |a: &str| format!("'{}'", a.replace('\'', "'\\''")).replace('%', "\\%");
    let command: Vec<String> = job.command().iter().map(|a| sh(a)).collect();
    let log = sh(&job.dir.join("nightly.log").to_string_lossy());
    Ok(format!(
        "{m} {h} * * * {} >>{log} 2>&1 || [ $? -eq {EXIT_LOCK_HELD} ] || echo \"burgerpeiling: de nachtelijke run is mislukt, zie {}\"",
        command.join(" "),
        job.dir.join("nightly.log").display().to_string().replace('%', "\\%")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_on_a_24_hour_clock() {
        assert_eq!(parse_time("02:00"), Ok((2, 0)));
        assert_eq!(parse_time("23:59"), Ok((23, 59)));
        for bad in ["24:00", "2:00", "02:60", "0200", "02:0x", ""] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn systemd_quoting_escapes_specifiers_and_spaces() {
        assert_eq!(systemd_quote("/usr/bin/burgerpeiling"), "/usr/bin/burgerpeiling");
        assert_eq!(systemd_quote("/srv/nacht job/p.toml"), "\"/srv/nacht job/p.toml\"");
        assert_eq!(systemd_quote("/srv/100%/a$b"), "/srv/100%%/a$$b");
        assert_eq!(systemd_quote("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn the_written_pipeline_keeps_settings_and_makes_paths_absolute() {
        let dir = Path::new("/srv/burgerpeiling");
        let text = pipeline_text(EMBEDDED_PIPELINE, dir).unwrap();
        let parsed: PipelineFile = toml::from_str(&text).unwrap();
        assert_eq!(parsed.paths.inbox.as_deref(), Some(dir.join("inbox").as_path()));
        assert_eq!(parsed.paths.lake.as_deref(), Some(dir.join("lake").as_path()));
        assert_eq!(parsed.paths.state.as_deref(), Some(dir.join("state").as_path()));
        assert_eq!(parsed.paths.population, None, "the population comes from the copied config");
        let original: PipelineFile = toml::from_str(EMBEDDED_PIPELINE).unwrap();
        assert_eq!(parsed.name, original.name);
        assert_eq!(parsed.limits.max_file_bytes, original.limits.max_file_bytes);
        assert!(text.contains("near_duplicates"), "the other tables keep their comments and values");
    }

    #[test]
    fn the_timer_fires_at_the_set_hour_and_the_service_tolerates_the_lock() {
        let job = Job { dir: "/srv/j".into(), binary: "/usr/bin/burgerpeiling".into(), at: (3, 15) };
        assert!(timer_unit(&job).contains("OnCalendar=*-*-* 03:15:00\n"));
        let service = service_unit(&job).unwrap();
        assert!(service.contains("SuccessExitStatus=4\n"));
        assert!(service.contains(
            "ExecStart=/usr/bin/burgerpeiling --pipeline /srv/j/pipeline.toml --config /srv/j/config --progress never run\n"
        ));
        let cron = crontab_line(&job).unwrap();
        assert!(cron.starts_with("15 3 * * * '/usr/bin/burgerpeiling' '--pipeline' '/srv/j/pipeline.toml'"), "{cron}");
        assert!(cron.contains("|| [ $? -eq 4 ] ||"), "{cron}");
    }
}
