//! Command-line interface: the arguments, and the subcommands that need no terminal UI.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::drill::Mode;
use crate::playbook::duration::format_duration;
use crate::playbook::{self, Diagnostic, Library};
use crate::store::{self, Store, StoreError};

/// Exit codes, as documented in `--help`.
pub mod exit {
    pub const OK: i32 = 0;
    /// A playbook has problems (`check`), or a drill could not be started.
    pub const INVALID: i32 = 1;
    /// Bad arguments, or no terminal for the interactive app.
    pub const USAGE: i32 = 2;
    /// The drill log cannot be opened or written (locked, corrupt, no permission).
    pub const DATABASE: i32 = 3;
    /// No playbook with that id or path.
    pub const NOT_FOUND: i32 = 4;
    /// `rehearse`: the playbook does not load, or a variable it uses has no value.
    pub const UNRUNNABLE: i32 = 5;
}

const AFTER_HELP: &str = "\
Examples:
  rollsafe                                 open Home: pick a playbook, or resume a drill
  rollsafe run pg-rename-column            rehearse a bundled runbook (tabletop: nothing runs)
  rollsafe run ./my-rollback.md --mode live --var DATABASE_URL=postgres://localhost/app
  rollsafe rehearse pg-rehearse-index-concurrently --live --yes
                                           a live drill without the UI, for CI (see rehearse --help)
  rollsafe check runbooks/*.toml           validate playbooks; every problem with file:line:col
  rollsafe history --json | jq '.[0]'      drills for scripts
  rollsafe plan --deploy canary --engine postgres:15 --tool flyway --change 'rename column users.name to full_name'
                                           plan a change: playbook, verdict, checklist

Files:
  drill log      $ROLLSAFE_DB or --db, else drills.db in the user data directory
                 (Linux: ~/.local/share/rollsafe/drills.db)
  playbooks      bundled in the binary, plus *.toml and *.md in the user config directory
                 (Linux: ~/.config/rollsafe/playbooks/); a file there replaces a bundled id

Exit codes:
  0  success
  1  a playbook has problems (check), or a drill could not start
  2  bad arguments, or no terminal for the interactive app
  3  the drill log cannot be opened or written (locked, corrupt, permissions)
  4  no playbook with that id or path
  rehearse adds 5 (playbook or variables not runnable) and 128+N (signal N); see rehearse --help

Colour follows NO_COLOR and is off when output is not a terminal.";

#[derive(Debug, Parser)]
#[command(
    name = "rollsafe",
    version,
    about = "Rehearse database migrations and rollbacks: runbooks, timed drills, a crash-safe log",
    long_about = "rollsafe walks you through a runbook step by step, tabletop (talk it through) or \
                  live (commands run after you confirm each one), with timers, timeboxes, notes and \
                  points of no return. Every event is written to a local SQLite log before the \
                  screen shows it, so a crash or a closed terminal loses nothing: start rollsafe \
                  again and resume.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The drill log (SQLite). Default: drills.db in the user data directory.
    #[arg(long, global = true, env = "ROLLSAFE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Directory of your own playbooks. Default: playbooks/ in the user config directory.
    #[arg(long, global = true, env = "ROLLSAFE_PLAYBOOKS", value_name = "DIR")]
    pub playbooks: Option<PathBuf>,
    /// Who runs the drill, as recorded in the log. Default: $USER.
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,
    /// Set a playbook variable used as ${NAME} in commands (repeatable).
    #[arg(long = "var", global = true, value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// No colour, whatever the terminal supports (NO_COLOR does the same).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a drill of a playbook in the interactive runner.
    Run {
        /// A bundled or user playbook id, or a path to a .toml or .md file.
        playbook: String,
        /// tabletop: talk it through, nothing runs. live: commands run after you confirm each.
        #[arg(long, value_enum, default_value_t = ModeArg::Tabletop)]
        mode: ModeArg,
    },
    /// Resume an unfinished drill (the most recent one when no id is given).
    Resume { drill: Option<i64> },
    /// List the playbooks: bundled, yours, and any that do not load.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Validate playbook files; prints every problem as file:line:col and exits 1 if any.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Print a playbook's phases and steps.
    Show {
        /// A playbook id or a path.
        playbook: String,
        #[arg(long)]
        json: bool,
        /// Print it in the native TOML format instead (e.g. to convert a Markdown playbook).
        #[arg(long, conflicts_with = "json")]
        toml: bool,
    },
    /// List drills, newest first.
    History {
        #[arg(long)]
        json: bool,
        /// How many drills to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print where rollsafe keeps its log and looks for playbooks.
    Paths,
    /// After-action report of one drill: summary, timeline, steps, deviations, follow-ups.
    Report {
        drill: i64,
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Statistics from past drills: success rate, median and p90 durations, per step.
    Stats {
        /// One playbook id; all playbooks with drills when left out.
        playbook: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Plan a schema change: phased playbook, roll-forward verdict, rehearsal checklist.
    Plan(crate::planner::cli::PlanArgs),
    /// Run a live drill without the UI: every command and verification, on_fail paths followed, a per-step summary.
    Rehearse(crate::rehearse::cli::RehearseArgs),
    /// Lint migration SQL: locks, rewrites, app breakage, lossy rollback; file:line:col per finding.
    Lint(crate::lint::cli::LintArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Tabletop,
    Live,
}

impl From<ModeArg> for Mode {
    fn from(value: ModeArg) -> Self {
        match value {
            ModeArg::Tabletop => Mode::Tabletop,
            ModeArg::Live => Mode::Live,
        }
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got \"{text}\""))?;
    let valid = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "\"{name}\" is not a variable name (letters, digits, _)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

impl Global {
    pub fn db_path(&self) -> Result<PathBuf, String> {
        match &self.db {
            Some(path) => Ok(path.clone()),
            None => store::default_path().ok_or_else(|| {
                "no home directory to keep the drill log in; pass --db PATH".to_string()
            }),
        }
    }

    pub fn playbooks_dir(&self) -> Option<PathBuf> {
        self.playbooks
            .clone()
            .or_else(crate::paths::user_playbooks_dir)
    }

    pub fn library(&self) -> Library {
        Library::load(self.playbooks_dir().as_deref())
    }

    pub fn operator(&self) -> String {
        self.operator
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "operator".to_string())
    }

    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.vars.iter().cloned().collect()
    }

    /// Colour on stdout: a terminal, no NO_COLOR, no --no-color.
    pub fn stdout_color(&self) -> bool {
        !self.no_color
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }

    pub fn open_store(&self) -> Result<Store, (i32, String)> {
        let path = self.db_path().map_err(|e| (exit::USAGE, e))?;
        Store::open(&path).map_err(|e| (exit::DATABASE, e.to_string()))
    }

    /// Opens the drill log; on failure says why on stderr and gives the exit code.
    pub fn open_store_or_exit(&self) -> Result<Store, i32> {
        self.open_store().map_err(|(code, message)| {
            eprintln!("rollsafe: {message}");
            code
        })
    }
}

/// Writes a command's output to `out`, or to standard output.
pub fn emit(text: &str, out: Option<&std::path::Path>, what: &str) -> i32 {
    match out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                eprintln!("rollsafe: wrote {what} to {}", path.display());
                exit::OK
            }
            Err(e) => {
                eprintln!("rollsafe: cannot write {}: {e}", path.display());
                exit::INVALID
            }
        },
        None => {
            print!("{text}");
            exit::OK
        }
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(&self, text: &str) -> String {
        self.wrap("31;1", text)
    }
    fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }
    fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
}

fn print_json<T: Serialize>(value: &T) -> i32 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("rollsafe: cannot write JSON: {e}");
            exit::INVALID
        }
    }
}

#[derive(Serialize)]
struct PlaybookSummary<'a> {
    id: &'a str,
    title: &'a str,
    kind: &'a str,
    origin: &'a str,
    source: &'a str,
    phases: usize,
    steps: usize,
    points_of_no_return: usize,
    budget_seconds: Option<u64>,
    tags: &'a [String],
}

pub fn list(global: &Global, json: bool) -> i32 {
    let library = global.library();
    if json {
        #[derive(Serialize)]
        struct Listing<'a> {
            playbooks: Vec<PlaybookSummary<'a>>,
            broken: Vec<&'a Diagnostic>,
        }
        let listing = Listing {
            playbooks: library
                .playbooks
                .iter()
                .map(|l| PlaybookSummary {
                    id: &l.playbook.id,
                    title: &l.playbook.title,
                    kind: l.playbook.kind.as_str(),
                    origin: match l.origin {
                        playbook::Origin::Bundled(_) => "bundled",
                        playbook::Origin::File(_) => "file",
                    },
                    source: l.origin.label(),
                    phases: l.playbook.phases.len(),
                    steps: l.playbook.step_count(),
                    points_of_no_return: l.playbook.points_of_no_return(),
                    budget_seconds: l.playbook.budget.map(|b| b.as_secs()),
                    tags: &l.playbook.tags,
                })
                .collect(),
            broken: library.broken.iter().flat_map(|b| &b.problems).collect(),
        };
        return print_json(&listing);
    }
    let paint = Paint {
        on: global.stdout_color(),
    };
    let id_width = library
        .playbooks
        .iter()
        .map(|l| l.playbook.id.len())
        .max()
        .unwrap_or(2);
    for loaded in &library.playbooks {
        let p = &loaded.playbook;
        let budget = p
            .budget
            .map(|b| format!(" · budget {}", format_duration(b)))
            .unwrap_or_default();
        println!(
            "{}  {:<9} {:>2} steps{}  {}",
            paint.bold(&format!("{:<id_width$}", p.id)),
            p.kind.as_str(),
            p.step_count(),
            budget,
            paint.dim(&p.title)
        );
    }
    for broken in &library.broken {
        for problem in &broken.problems {
            eprintln!("{} {problem}", paint.red("error:"));
        }
    }
    if library.broken.is_empty() {
        exit::OK
    } else {
        exit::INVALID
    }
}

pub fn check(global: &Global, files: &[PathBuf], json: bool) -> i32 {
    #[derive(Serialize)]
    struct FileResult {
        file: String,
        ok: bool,
        id: Option<String>,
        steps: usize,
        problems: Vec<Diagnostic>,
    }
    let mut results = Vec::new();
    for file in files {
        match playbook::load_file(file) {
            Ok(loaded) => results.push(FileResult {
                file: file.display().to_string(),
                ok: true,
                id: Some(loaded.playbook.id.clone()),
                steps: loaded.playbook.step_count(),
                problems: Vec::new(),
            }),
            Err(broken) => results.push(FileResult {
                file: file.display().to_string(),
                ok: false,
                id: None,
                steps: 0,
                problems: broken.problems,
            }),
        }
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    if json {
        print_json(&results);
    } else {
        let paint = Paint {
            on: global.stdout_color(),
        };
        for r in &results {
            if r.ok {
                println!(
                    "{} {} ({}, {} steps)",
                    paint.green("ok"),
                    r.file,
                    r.id.as_deref().unwrap_or(""),
                    r.steps
                );
            }
            for problem in &r.problems {
                println!("{} {problem}", paint.red("error:"));
            }
        }
        let problems: usize = results.iter().map(|r| r.problems.len()).sum();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        println!(
            "{} checked, {failed} with problems, {}",
            plural(results.len(), "file"),
            plural(problems, "problem")
        );
    }
    if failed > 0 { exit::INVALID } else { exit::OK }
}

pub fn show(global: &Global, id_or_path: &str, json: bool, toml: bool) -> i32 {
    let library = global.library();
    let loaded = match library.resolve(id_or_path) {
        Ok(l) => l,
        Err(broken) => {
            for p in &broken.problems {
                eprintln!("rollsafe: {p}");
            }
            return if std::path::Path::new(id_or_path).exists() {
                exit::INVALID
            } else {
                exit::NOT_FOUND
            };
        }
    };
    if json {
        return print_json(&loaded.playbook);
    }
    if toml {
        print!("{}", playbook::toml_format::to_toml(&loaded.playbook));
        return exit::OK;
    }
    let paint = Paint {
        on: global.stdout_color(),
    };
    let p = &loaded.playbook;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}  ({}, {})",
        paint.bold(&p.title),
        p.id,
        p.kind.as_str()
    );
    if let Some(b) = p.budget {
        let _ = writeln!(out, "budget {}", format_duration(b));
    }
    if !p.description.is_empty() {
        let _ = writeln!(out, "\n{}", p.description);
    }
    if !p.variables.is_empty() {
        let _ = writeln!(out, "\nvariables:");
        for v in &p.variables {
            let default = v
                .default
                .as_deref()
                .map(|d| format!(" = {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  ${{{}}}{default}  {}",
                v.name,
                paint.dim(&v.description)
            );
        }
    }
    for (pi, phase) in p.phases.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("{} {}", pi + 1, phase.title))
        );
        for (si, step) in phase.steps.iter().enumerate() {
            let timebox = step
                .timebox
                .map(|t| format!(" [{}]", format_duration(t)))
                .unwrap_or_default();
            let pnr = if step.point_of_no_return {
                paint.red(" ⛔ point of no return")
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {}.{} {}{timebox}{pnr}", pi + 1, si + 1, step.title);
            if let Some(command) = &step.command {
                for line in command.lines() {
                    let _ = writeln!(out, "      $ {line}");
                }
            }
            if let Some(verify) = &step.verify {
                let _ = writeln!(
                    out,
                    "      verify: {} → {}",
                    verify.command.lines().next().unwrap_or(""),
                    verify.expect.describe()
                );
            }
        }
    }
    if !p.sources.is_empty() {
        let _ = writeln!(out, "\nsources:");
        for s in &p.sources {
            let _ = writeln!(out, "  {s}");
        }
    }
    exit::OK
}

pub fn history(global: &Global, json: bool, limit: usize) -> i32 {
    let store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rows = match store.list_drills(limit, 0) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::DATABASE;
        }
    };
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("no drills yet: `rollsafe run <playbook>` starts one");
        return exit::OK;
    }
    println!(
        "{:>5}  {:<17}  {:<28} {:<8} {:<9} {:>5} {:>4} {:>4} {:>4}",
        "id", "started (UTC)", "playbook", "mode", "status", "steps", "pass", "fail", "skip"
    );
    for r in rows {
        println!(
            "{:>5}  {:<17}  {:<28} {:<8} {:<9} {:>5} {:>4} {:>4} {:>4}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M"),
            r.playbook_id,
            r.mode.as_str(),
            r.status,
            r.steps_total,
            r.passed,
            r.failed,
            r.skipped
        );
    }
    exit::OK
}

pub fn paths(global: &Global) -> i32 {
    let db = global
        .db_path()
        .unwrap_or_else(|e| PathBuf::from(format!("(none: {e})")));
    println!("drill log:  {}", db.display());
    match global.playbooks_dir() {
        Some(dir) => println!("playbooks:  {}", dir.display()),
        None => println!("playbooks:  (no config directory)"),
    }
    exit::OK
}

/// `rollsafe plan`: see [`crate::planner::cli`].
pub fn plan(global: &Global, args: &crate::planner::cli::PlanArgs) -> i32 {
    crate::planner::cli::plan_command(global, args)
}

/// `rollsafe lint`: see [`crate::lint::cli`].
pub fn lint(global: &Global, args: &crate::lint::cli::LintArgs) -> i32 {
    crate::lint::cli::lint_command(global, args)
}

/// `rollsafe rehearse`: see [`crate::rehearse::cli`].
pub fn rehearse(global: &Global, args: &crate::rehearse::cli::RehearseArgs) -> i32 {
    crate::rehearse::cli::rehearse_command(global, args)
}

/// Store errors mapped to exit codes.
pub fn store_exit(err: &StoreError) -> i32 {
    match err {
        StoreError::NoSuchDrill(_) => exit::NOT_FOUND,
        _ => exit::DATABASE,
    }
}

pub fn report(
    global: &Global,
    drill: i64,
    format: ReportFormat,
    out: Option<&std::path::Path>,
) -> i32 {
    let store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let session = match crate::drill::Session::resume(&store, drill) {
        Ok(s) => s,
        Err(crate::drill::SessionError::Store(e)) => {
            eprintln!("rollsafe: {e}");
            return store_exit(&e);
        }
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::INVALID;
        }
    };
    let text = match format {
        ReportFormat::Json => match serde_json::to_string_pretty(&crate::report::journal(&session))
        {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!("rollsafe: cannot write JSON: {e}");
                return exit::INVALID;
            }
        },
        ReportFormat::Markdown => {
            let events = match store.events(drill) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    return store_exit(&e);
                }
            };
            crate::report::markdown(&session, &events)
        }
    };
    emit(&text, out, &format!("the report of drill #{drill}"))
}

pub fn stats(global: &Global, playbook: Option<&str>, json: bool) -> i32 {
    let store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let library = global.library();
    let ids: Vec<String> = match playbook {
        Some(id) => vec![id.to_string()],
        None => match store.playbook_ids() {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return store_exit(&e);
            }
        },
    };
    let now = chrono::Utc::now();
    let mut all = Vec::new();
    for id in &ids {
        match crate::insight::gather(
            &store,
            id,
            library.get(id),
            now,
            crate::insight::Depth::Full,
        ) {
            Ok(insight) => all.push(insight),
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return store_exit(&e);
            }
        }
    }
    if json {
        return print_json(&all);
    }
    if all
        .iter()
        .all(|r| r.stats.drills == 0 && r.recommendations.is_empty())
    {
        println!(
            "no drills yet{}",
            playbook.map(|p| format!(" of {p}")).unwrap_or_default()
        );
        return exit::OK;
    }
    let fmt = |d: Option<std::time::Duration>| {
        d.map(crate::playbook::duration::format_clock)
            .unwrap_or_else(|| "–".into())
    };
    for record in all
        .iter()
        .filter(|r| r.stats.drills > 0 || !r.recommendations.is_empty())
    {
        let s = &record.stats;
        println!(
            "{}: {} drills ({} completed, {} aborted, {} running) · {:.0}% succeeded · median {} · p90 {} · readiness {}/100{}",
            s.playbook_id,
            s.drills,
            s.completed,
            s.aborted,
            s.running,
            s.success_rate() * 100.0,
            fmt(s.median_total),
            fmt(s.p90_total),
            record.readiness,
            if s.changed_since_last_drill == Some(true) {
                " · changed since its last drill"
            } else {
                ""
            }
        );
        for step in &s.steps {
            println!(
                "  {:<40} runs {:>3} · median {:>7} · p90 {:>7} · failed {:>3.0}% · skipped {:>3.0}%",
                step.step_id,
                step.runs,
                fmt(step.median),
                fmt(step.p90),
                step.failure_rate() * 100.0,
                step.skip_rate() * 100.0
            );
        }
        for r in &record.recommendations {
            let evidence: Vec<String> = r.evidence.iter().map(|id| format!("#{id}")).collect();
            println!(
                "  ⚠ {:<8} {}{}",
                format!("{:?}", r.severity).to_ascii_lowercase(),
                r.why,
                if evidence.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", evidence.join(" "))
                }
            );
        }
    }
    exit::OK
}
