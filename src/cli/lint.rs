//! `rollsafe lint`: arguments, then the report as text or JSON, and the exit code.

use std::io::Read;

use clap::{Args, ValueEnum};

use super::{Global, exit};
use crate::lint::{Catalogue, Engine, Options, Report, Severity, config, inputs, render};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Never,
}

/// How findings are written.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LintFormat {
    /// For people: source excerpt, caret, lock, what breaks, rollback class, safe recipe.
    Human,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
    /// GitLab code quality report (JSON), for merge request widgets.
    Gitlab,
    /// One `file:line:col: severity: message [rule]` line per finding.
    Line,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// SQL files or migration directories (Flyway, golang-migrate, dbmate, Diesel, Prisma, sqitch, Liquibase formatted SQL, plain), or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Engine and version: postgres:16, mysql:8.0.29, mariadb:10.11, sqlite:3.45. Required unless rollsafe-lint.toml sets it.
    #[arg(long, value_name = "ENGINE:VERSION")]
    pub engine: Option<String>,
    /// Migration tool, for its transaction wrapping: flyway, liquibase, alembic, django, rails, prisma, golang-migrate, dbmate, diesel, goose, atlas, knex, efcore, sqitch, sql. Inferred from the file layout or markers when left out.
    #[arg(long, value_name = "TOOL")]
    pub tool: Option<String>,
    /// Rows of a table, e.g. users=50000000 or users=50m (repeatable): large tables raise severity, small ones lower it.
    #[arg(long = "rows", value_name = "TABLE=COUNT")]
    pub rows: Vec<String>,
    /// lock_timeout / lock_wait_timeout is set outside the files (on the role, in the connection).
    #[arg(long)]
    pub assume_lock_timeout: bool,
    /// Switch a rule off (repeatable). Per statement: a `-- rollsafe:ignore RULE` comment; per file: `-- rollsafe:ignore-file RULE[,RULE]`.
    #[arg(long = "disable", value_name = "RULE")]
    pub disable: Vec<String>,
    /// Exit 1 when a finding is at or above this severity (default: warning, or fail_on in rollsafe-lint.toml).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Settings file; by default the nearest rollsafe-lint.toml at or above the first path.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Open the findings in the interactive screen: details, then plan and rehearse from them.
    #[arg(long, conflicts_with_all = ["json", "format"])]
    pub tui: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// Which files are new. The others are history: already applied, replayed as schema context
/// (tables, columns, indexes, constraints, functions) and reporting nothing. A file named on
/// its own next to its folder (`lint migrations/ migrations/0042_x.sql`) is new too.
#[derive(Debug, Clone, Default, Args)]
pub struct HistoryArgs {
    /// Lint only files of this version and later, e.g. --since 20240101120000 or --since V42.
    #[arg(long, value_name = "VERSION", conflicts_with = "changed")]
    pub since: Option<String>,
    /// Lint only the files added or changed against --base (git: committed, staged, unstaged and untracked).
    #[arg(long)]
    pub changed: bool,
    /// The git revision --changed compares against.
    #[arg(
        long,
        value_name = "REF",
        default_value = "origin/main",
        requires = "changed"
    )]
    pub base: String,
}

impl LintArgs {
    /// The arguments of `rollsafe lint PATHS [--engine ENGINE]`, everything else default.
    pub fn for_paths(paths: Vec<String>, engine: Option<String>) -> LintArgs {
        LintArgs {
            paths,
            engine,
            tool: None,
            rows: Vec::new(),
            assume_lock_timeout: false,
            disable: Vec::new(),
            fail_on: None,
            config: None,
            format: LintFormat::Human,
            json: false,
            tui: false,
            history: HistoryArgs::default(),
        }
    }
}

/// Everything a lint run needs, with the settings file merged in.
#[derive(Debug)]
pub struct Prepared {
    pub opts: Options,
    pub files: Vec<inputs::SourceFile>,
    pub tool_from: Option<String>,
    pub fail_on: FailOn,
    /// The engine as given (flag or settings file), e.g. "postgres:16".
    pub engine_text: String,
    /// The settings file used.
    pub config: Option<std::path::PathBuf>,
}

fn fail_on_named(text: &str) -> Option<FailOn> {
    FailOn::from_str(text, true).ok()
}

/// Builds the options and reads the inputs; an error is a usage problem.
pub fn prepare(args: &LintArgs, cat: &Catalogue) -> Result<Prepared, String> {
    let config_path = match &args.config {
        Some(p) => Some(p.clone()),
        None => args
            .paths
            .iter()
            .find(|p| *p != "-")
            .and_then(|p| config::find(std::path::Path::new(p))),
    };
    let cfg = match &config_path {
        Some(p) => config::Config::load(p)?,
        None => config::Config::default(),
    };
    let at = |what: &str| {
        config_path
            .as_ref()
            .map(|p| format!("{} ({what})", p.display()))
            .unwrap_or_default()
    };
    let engine_text = args.engine.clone().or(cfg.engine.clone()).ok_or_else(|| {
        "no engine: pass --engine (e.g. postgres:16, mysql:8.0.29) or set engine in rollsafe-lint.toml".to_string()
    })?;
    let engine = Engine::parse(&engine_text)?;
    let mut opts = Options::new(engine);
    let mut rows: Vec<String> = cfg.rows.iter().map(|(t, n)| n.flag(t)).collect();
    rows.extend(args.rows.iter().cloned());
    for r in &rows {
        let (t, n) = crate::lint::parse_rows(r)?;
        opts.rows.insert(t, n);
    }
    let mut disabled: Vec<String> = cfg.disable.clone();
    disabled.extend(args.disable.iter().cloned());
    for d in &disabled {
        if cat.rule(d).is_none() {
            let from = if args.disable.contains(d) {
                "--disable".to_string()
            } else {
                at("disable")
            };
            return Err(format!(
                "{from} {d}: no such rule; rules: {}",
                cat.rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    opts.disabled = disabled;
    opts.assume_lock_timeout = args.assume_lock_timeout;
    let fail_on = match (args.fail_on, &cfg.fail_on) {
        (Some(f), _) => f,
        (None, Some(text)) => fail_on_named(text).ok_or_else(|| {
            format!(
                "{}: fail_on = \"{text}\" is not one of info, warning, error, never",
                at("fail_on")
            )
        })?,
        (None, None) => FailOn::Warning,
    };
    let collected = inputs::collect(&args.paths, || {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    })?;
    opts.history = history(args, &collected)?;
    let tool_from = match args
        .tool
        .clone()
        .map(|t| (t, "--tool".to_string()))
        .or_else(|| cfg.tool.clone().map(|t| (t, at("tool"))))
    {
        Some((t, from)) => {
            if cat.tool(&t).is_none() {
                return Err(format!(
                    "unknown tool \"{t}\"; accepted: {}",
                    cat.tools
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            opts.tool = Some(t);
            Some(from)
        }
        None => collected.inferred_tool.map(|(t, why)| {
            opts.tool = Some(t);
            format!("inferred from {why}")
        }),
    };
    if collected.files.is_empty() {
        return Err("no .sql files found".into());
    }
    Ok(Prepared {
        opts,
        files: collected.files,
        tool_from,
        fail_on,
        engine_text,
        config: config_path,
    })
}

/// The files replayed as history, from --since, --changed or files named next to their folder.
fn history(
    args: &LintArgs,
    collected: &inputs::Collected,
) -> Result<std::collections::HashSet<String>, String> {
    use crate::lint::history as h;
    if let Some(v) = &args.history.since {
        return h::before_version(&collected.files, v);
    }
    if args.history.changed {
        let first = args.paths.iter().find(|p| *p != "-").map(String::as_str);
        let changed = git_changed(first.unwrap_or("."), &args.history.base)?;
        let history = h::all_but(&collected.files, &changed);
        if history.len() == collected.files.len() {
            return Err(format!(
                "--changed: no migration file changed against {}, nothing to lint",
                args.history.base
            ));
        }
        return Ok(history);
    }
    if !collected.named_in_folders.is_empty() {
        return Ok(h::all_but(&collected.files, &collected.named_in_folders));
    }
    Ok(Default::default())
}

/// Paths (absolute) of files added or changed against `base`: committed since the merge base,
/// staged, unstaged and untracked.
fn git_changed(path: &str, base: &str) -> Result<Vec<String>, String> {
    let dir = std::path::Path::new(path);
    let dir = if dir.is_dir() {
        dir
    } else {
        dir.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
    };
    let git = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| format!("--changed needs git: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "--changed: git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let root = git(&["rev-parse", "--show-toplevel"])?.trim().to_string();
    let range = format!("{base}...HEAD");
    let mut names = git(&["diff", "--name-only", "--diff-filter=ACMR", &range])?;
    names.push_str(&git(&[
        "diff",
        "--name-only",
        "--diff-filter=ACMR",
        "HEAD",
    ])?);
    names.push_str(&git(&[
        "ls-files",
        "--others",
        "--exclude-standard",
        "--full-name",
    ])?);
    Ok(names
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{root}/{l}"))
        .collect())
}

pub fn lint_command(global: &Global, args: &LintArgs) -> i32 {
    let cat = Catalogue::bundled();
    let prepared = match prepare(args, &cat) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::USAGE;
        }
    };
    let mut report = crate::lint::lint_files(&prepared.files, &prepared.opts, &cat);
    report.tool_from = prepared.tool_from.clone();
    let format = if args.json {
        LintFormat::Json
    } else {
        args.format
    };
    let text = match format {
        LintFormat::Json => serde_json::to_string_pretty(&report).map(|t| t + "\n"),
        LintFormat::Gitlab => {
            serde_json::to_string_pretty(&render::gitlab(&report)).map(|t| t + "\n")
        }
        LintFormat::Sarif => {
            serde_json::to_string_pretty(&render::sarif(&report, &cat)).map(|t| t + "\n")
        }
        LintFormat::Line => Ok(render::lines(&report)),
        LintFormat::Human => Ok(render::human(
            &report,
            &prepared.files,
            global.stdout_color(),
        )),
    };
    match text {
        Ok(t) => print!("{t}"),
        Err(e) => {
            eprintln!("rollsafe: cannot write JSON: {e}");
            return exit::INVALID;
        }
    }
    exit_code(&report, prepared.fail_on)
}

pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    let threshold = match fail_on {
        FailOn::Info => Severity::Info,
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
        FailOn::Never => return exit::OK,
    };
    if report.count_at_least(threshold) > 0 {
        exit::INVALID
    } else {
        exit::OK
    }
}
