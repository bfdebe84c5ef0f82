//! Command-line interface: the arguments, and the subcommands that need no terminal UI.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::drill::Mode;
use crate::playbook::Library;
use crate::store::{self, Store, StoreError};

pub mod abort;
pub mod check;
pub mod docs;
pub mod followup;
pub mod history;
pub mod lint;
pub mod list;
pub mod log;
pub mod paths;
pub mod plan;
pub mod rehearse;
pub mod report;
pub mod show;
pub mod stats;

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
  rollsafe abort 12 --reason 'CI runner was killed'
                                           end an unfinished drill without the UI
  rollsafe check runbooks/*.toml           validate playbooks; every problem with file:line:col
  rollsafe history --json | jq '.[0]'      drills for scripts
  rollsafe plan --deploy canary --engine postgres:15 --tool flyway --change 'rename column users.name to full_name'
                                           plan a change: playbook, verdict, checklist
  rollsafe lint db/migrations --engine postgres:16 --format sarif > lint.sarif
                                           what will lock, break or lose data, per statement
  rollsafe plan --from db/migrations/V3__rename.sql --engine postgres:16 --format toml > plan.toml
                                           the phased playbook for that migration's hazards

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
    /// The drill log: a SQLite file, or a team's shared log as a PostgreSQL URL
    /// (postgres://USER@HOST:PORT/DB; password from the URL, PGPASSWORD, ~/.pgpass
    /// or a service). Default: drills.db in the user data directory.
    #[arg(long, global = true, env = "ROLLSAFE_DB", value_name = "PATH|URL")]
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
    /// If another rollsafe drives it (a shared log), you follow it instead.
    Resume { drill: Option<i64> },
    /// Follow a drill someone else drives, e.g. on a shared PostgreSQL log:
    /// their outcomes appear as they land, n adds a note under your name,
    /// D takes the drive once they hand it over (H).
    Follow { drill: Option<i64> },
    /// End an unfinished drill as aborted, without the UI (e.g. a CI rehearsal that was killed).
    Abort {
        drill: i64,
        /// Why, as it will read in the log and the report.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Follow-ups (notes that start with TODO: or FOLLOW-UP:): open until closed, across drills.
    #[command(subcommand)]
    Followup(FollowupCommand),
    /// The drill log itself: copy it into a team's shared log.
    #[command(subcommand)]
    Log(LogCommand),
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
    Plan(crate::cli::plan::PlanArgs),
    /// Run a live drill without the UI: every command and verification, on_fail paths followed, a per-step summary.
    Rehearse(crate::cli::rehearse::RehearseArgs),
    /// Lint migration SQL: locks, rewrites, app breakage, lossy rollback; file:line:col per finding.
    Lint(crate::cli::lint::LintArgs),
    /// Print a shell completion script, e.g. `rollsafe completions bash > ~/.local/share/bash-completion/completions/rollsafe`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `rollsafe man | man -l -`.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Copy every finished drill of this log (--db) into another, e.g. a
    /// team's PostgreSQL log: whole drills only, each once (pushing again
    /// copies only what is new), follow-up closures included. Drills still
    /// running are left for a later push.
    Push {
        /// The log to copy into: a postgres:// URL or a SQLite file.
        #[arg(long, value_name = "URL|PATH")]
        to: std::path::PathBuf,
        /// The outcome as JSON: source drill ids pushed, already_there, still_running, unreadable.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum FollowupCommand {
    /// Open follow-ups, oldest first (with --all, closed ones too).
    List {
        /// Only this playbook's.
        #[arg(long, value_name = "PLAYBOOK")]
        playbook: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Close a follow-up, saying what was done (the id is in `followup list`).
    Close {
        id: i64,
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
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
        let mut store = Store::open_at(&path).map_err(|e| (exit::DATABASE, e.to_string()))?;
        // Others following a drill see this name as its driver or on notes.
        store.identify(&self.operator());
        for note in store.tightened() {
            eprintln!("rollsafe: note: {note}");
        }
        Ok(store)
    }

    /// Opens the drill log and checks every page of it, for the commands
    /// that list or summarise the whole log (a damaged page must exit 3,
    /// not read as fewer drills).
    pub fn open_checked_store_or_exit(&self) -> Result<Store, i32> {
        let store = self.open_store_or_exit()?;
        if let Err(e) = store.check_pages() {
            eprintln!("rollsafe: {e}");
            return Err(exit::DATABASE);
        }
        Ok(store)
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

pub(crate) struct Paint {
    pub(crate) on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub(crate) fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    pub(crate) fn red(&self, text: &str) -> String {
        self.wrap("31;1", text)
    }
    pub(crate) fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }
    pub(crate) fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    pub(crate) fn yellow(&self, text: &str) -> String {
        self.wrap("33", text)
    }
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> i32 {
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

/// Store errors mapped to exit codes.
pub fn store_exit(err: &StoreError) -> i32 {
    match err {
        StoreError::NoSuchDrill(_) => exit::NOT_FOUND,
        _ => exit::DATABASE,
    }
}

/// Runs a subcommand that needs no terminal UI; `None` for the interactive ones
/// (`run`, `resume`, `lint --tui`, no subcommand), which `main` opens in the app.
pub fn dispatch(cli: &Cli) -> Option<i32> {
    let global = &cli.global;
    Some(match cli.command.as_ref()? {
        Command::Abort { drill, reason } => abort::abort(global, *drill, reason),
        Command::Completions { shell } => docs::completions(*shell),
        Command::Man => docs::man(),
        Command::Followup(cmd) => followup::followup(global, cmd),
        Command::Log(LogCommand::Push { to, json }) => log::push(global, to, *json),
        Command::List { json } => list::list(global, *json),
        Command::Check { files, json } => check::check(global, files, *json),
        Command::Show {
            playbook,
            json,
            toml,
        } => show::show(global, playbook, *json, *toml),
        Command::History { json, limit } => history::history(global, *json, *limit),
        Command::Paths => paths::paths(global),
        Command::Report { drill, format, out } => {
            report::report(global, *drill, *format, out.as_deref())
        }
        Command::Stats { playbook, json } => stats::stats(global, playbook.as_deref(), *json),
        Command::Plan(args) => plan::plan_command(global, args),
        Command::Lint(args) if !args.tui => lint::lint_command(global, args),
        Command::Rehearse(args) => rehearse::rehearse_command(global, args),
        Command::Run { .. }
        | Command::Resume { .. }
        | Command::Follow { .. }
        | Command::Lint(_) => return None,
    })
}
