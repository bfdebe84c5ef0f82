//! `rollsafe lint`: arguments, then the report as text or JSON, and the exit code.

use std::io::Read;

use clap::{Args, ValueEnum};

use super::{Catalogue, Engine, Options, Report, Severity, inputs};
use crate::cli::{Global, exit};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// SQL files or migration directories (Flyway, golang-migrate, dbmate, Diesel, Prisma, sqitch, plain), or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Engine and version: postgres:16, mysql:8.0.29, mariadb:10.11, sqlite:3.45.
    #[arg(long, value_name = "ENGINE:VERSION")]
    pub engine: String,
    /// Migration tool, for its transaction wrapping: flyway, liquibase, alembic, django, rails, prisma, golang-migrate, dbmate, diesel, goose, atlas, knex, efcore, sqitch, sql. Inferred from the file layout when left out.
    #[arg(long, value_name = "TOOL")]
    pub tool: Option<String>,
    /// Rows of a table, e.g. users=50000000 or users=50m (repeatable): large tables raise severity, small ones lower it.
    #[arg(long = "rows", value_name = "TABLE=COUNT")]
    pub rows: Vec<String>,
    /// lock_timeout / lock_wait_timeout is set outside the files (on the role, in the connection).
    #[arg(long)]
    pub assume_lock_timeout: bool,
    /// Switch a rule off (repeatable); per statement: a `-- rollsafe:ignore RULE` comment.
    #[arg(long = "disable", value_name = "RULE")]
    pub disable: Vec<String>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    #[arg(long)]
    pub json: bool,
}

/// Builds the options and reads the inputs; an error is a usage problem.
pub fn prepare(
    args: &LintArgs,
    cat: &Catalogue,
) -> Result<(Options, Vec<inputs::SourceFile>, Option<String>), String> {
    let engine = Engine::parse(&args.engine)?;
    let mut opts = Options::new(engine);
    for r in &args.rows {
        let (t, n) = super::parse_rows(r)?;
        opts.rows.insert(t, n);
    }
    for d in &args.disable {
        if cat.rule(d).is_none() {
            return Err(format!(
                "--disable {d}: no such rule; rules: {}",
                cat.rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    opts.disabled = args.disable.clone();
    opts.assume_lock_timeout = args.assume_lock_timeout;
    let collected = inputs::collect(&args.paths, || {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    })?;
    let tool_from = match &args.tool {
        Some(t) => {
            if cat.tool(t).is_none() {
                return Err(format!(
                    "unknown tool \"{t}\"; accepted: {}",
                    cat.tools
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            opts.tool = Some(t.clone());
            Some("--tool".to_string())
        }
        None => collected.inferred_tool.map(|(t, why)| {
            opts.tool = Some(t);
            format!("inferred from {why}")
        }),
    };
    if collected.files.is_empty() {
        return Err("no .sql files found".into());
    }
    Ok((opts, collected.files, tool_from))
}

pub fn lint_command(global: &Global, args: &LintArgs) -> i32 {
    let cat = Catalogue::bundled();
    let (opts, files, tool_from) = match prepare(args, &cat) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::USAGE;
        }
    };
    let mut report = super::lint_files(&files, &opts, &cat);
    report.tool_from = tool_from;
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("rollsafe: cannot write JSON: {e}");
                return exit::INVALID;
            }
        }
    } else {
        print!("{}", human(&report, global.stdout_color()));
    }
    exit_code(&report, args.fail_on)
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

/// The report for people: one `file:line:col: severity: message [rule]` line per finding, then
/// the statement, why, the safe alternative, rollback class and source.
pub fn human(report: &Report, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for f in &report.findings {
        let sev = match f.severity {
            Severity::Error => paint("31;1", "error"),
            Severity::Warning => paint("33;1", "warning"),
            Severity::Info => paint("36", "info"),
        };
        out.push_str(&format!(
            "{}:{}:{}: {sev}: {} [{}]\n",
            f.file, f.line, f.column, f.message, f.rule
        ));
        out.push_str(&format!("  | {}\n", paint("2", &f.statement)));
        out.push_str(&format!("  why: {}\n", f.why));
        if let Some(lock) = &f.lock {
            out.push_str(&format!("  lock: {lock}\n"));
        }
        out.push_str(&format!("  instead: {}\n", f.suggestion));
        let rollback = if f.lossy_rollback {
            paint("31", &format!("{} (rolling back loses data)", f.rollback))
        } else {
            f.rollback.clone()
        };
        out.push_str(&format!(
            "  rollback: {rollback}{}\n",
            if f.direction == super::Direction::Down {
                " · in a down/undo script"
            } else {
                ""
            }
        ));
        out.push_str(&format!("  source: {}\n", paint("2", &f.source)));
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    out.push_str(&format!(
        "{} files, {} statements ({} unparsed) · {} errors, {} warnings, {} infos · {}{}\n",
        report.files.len(),
        report.statements,
        report.unparsed,
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        report.engine,
        match (&report.tool, &report.tool_from) {
            (Some(t), Some(from)) => format!(" · tool {t} ({from})"),
            (Some(t), None) => format!(" · tool {t}"),
            _ => " · no tool: no implicit transaction assumed".to_string(),
        }
    ));
    out
}
