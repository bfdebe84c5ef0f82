//! `rollsafe rehearse`: arguments, the checks before anything runs, the
//! signal handlers, and the exit code.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::{Global, exit};
use crate::drill::live::Verdict;
use crate::drill::{CommandPurpose, EventKind, Mode, Outcome, Session};
use crate::playbook::vars::{self, Vars};
use crate::playbook::{Loaded, Step};
use crate::probe::Probe;
use crate::rehearse::driver::{Driver, Ending, StepObserver};
use crate::rehearse::probe_windows::ProbeWindows;
use crate::rehearse::summary;

/// Who a headless drill is recorded as.
pub const OPERATOR: &str = "automated";

pub const AFTER_HELP: &str = "\
What happens:
  1. The playbook is loaded and every ${VARIABLE} its commands use is resolved
     (--var NAME=VALUE, then the environment, then the playbook's default) and
     printed as NAME = value (source). A variable with no value is an error
     before anything runs.
  2. Without --live: the steps are listed with their commands as they would run.
     Nothing runs and nothing is logged (a dry run).
     With --live but without --yes: the same list, then a refusal (exit 2).
  3. With --live --yes: a live drill is logged, operator \"automated\" (with
     --operator NAME: \"automated (NAME)\"). Each step runs its command, then
     its verification; a step passes when both pass. A step with neither is
     skipped (nobody performed it). On failure the step's on_fail decides:
     continue, goto:STEP (restart that step, walk on from it), stop or rollback
     (the drill ends aborted; rollback notes are logged for people, not run).
     Points of no return are crossed automatically and each confirmation is
     logged. Steps jumped over by a goto stay not run.
  4. A per-step summary is printed (--json: the drill's journal with the result).

A playbook with a [probe] table gets it with --live --yes: its statement runs on
its own connection (psql, or mariadb/mysql, kept open) every interval while
the steps run, and each step's probe count, p50, p99, max latency and blocked
intervals are logged and printed under the step. A probe that cannot connect
stops the drill before anything is logged (exit 5).

Ctrl-C, SIGTERM or SIGHUP cancel the running command (its process group gets
SIGTERM, then SIGKILL after 2 s), log its result and a note \"interrupted by
...\", and leave the drill unfinished (interrupted): carry it on with
`rollsafe rehearse --resume ID --live --yes` (from the step it stopped in, with
the playbook as it was run), resume it in the app, or end it with
`rollsafe abort ID --reason ...`. If a command of the stopped drill is still
running (a kill -9 leaves what a compound command forked), --resume refuses
(exit 1) unless --stop-leftover stops it first.

Exit codes:
  0    the drill passed: finished with no failed step
  1    the drill failed (a step failed) or was aborted by an on_fail; with
       --resume: the drill is finished, tabletop, or has a command still running
  2    bad arguments, or --live without --yes
  3    the drill log cannot be opened or written
  4    no playbook with that id or path; with --resume: no such drill
  5    the playbook does not load, a variable it uses has no value, or its
       probe cannot connect
  128+N  interrupted by signal N (130: Ctrl-C, 143: SIGTERM)

Examples:
  rollsafe rehearse pg-rehearse-index-concurrently --var ROWS=100000
  rollsafe rehearse pg-rehearse-index-concurrently --live --yes --db /tmp/ci.db \\
      --var DATABASE_URL=postgres://postgres@127.0.0.1:54329/postgres
  rollsafe rehearse ./my-migration.toml --live --yes --json | jq .result";

#[derive(Debug, Clone, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RehearseArgs {
    /// A bundled or user playbook id, or a path to a .toml or .md file.
    #[arg(required_unless_present = "resume")]
    pub playbook: Option<String>,
    /// Carry on an unfinished live drill from its log (the playbook as it was
    /// run), from the step it stopped at, instead of starting a new one.
    #[arg(long, value_name = "DRILL", conflicts_with = "playbook")]
    pub resume: Option<i64>,
    /// With --resume: stop a command the crash left running (its process
    /// group) before going on, instead of refusing.
    #[arg(long, requires = "resume")]
    pub stop_leftover: bool,
    /// Run the commands for real and log the drill. Without it: list what would run.
    #[arg(long)]
    pub live: bool,
    /// Run every command and cross every point of no return without asking (each crossing is logged).
    #[arg(long)]
    pub yes: bool,
    /// Print the result as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Stream each command's output under its step as it runs (the log keeps its tail either way).
    #[arg(long)]
    pub show_output: bool,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn rehearse_command(global: &Global, args: &RehearseArgs) -> i32 {
    let (loaded, resume) = match (&args.playbook, args.resume) {
        (_, Some(id)) => match resumable(global, id) {
            Ok(loaded) => (loaded, Some(id)),
            Err(code) => return code,
        },
        (Some(name), None) => match global.library().resolve(name) {
            Ok(loaded) => (loaded, None),
            Err(broken) => {
                for p in &broken.problems {
                    eprintln!("rollsafe: {p}");
                }
                return if std::path::Path::new(name).exists() {
                    exit::UNRUNNABLE
                } else {
                    exit::NOT_FOUND
                };
            }
        },
        (None, None) => {
            eprintln!("rollsafe: name a playbook, or --resume DRILL");
            return exit::USAGE;
        }
    };
    let vars = match vars::resolve(&loaded.playbook, &global.overrides(), &process_env) {
        Ok(vars) => vars,
        Err(missing) => {
            for m in &missing {
                eprintln!("rollsafe: {m}");
            }
            return exit::UNRUNNABLE;
        }
    };
    // With --json, stdout carries only the JSON document.
    let mut out: Box<dyn Write> = if args.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let p = &loaded.playbook;
    let _ = writeln!(out, "{} ({}), {} steps", p.title, p.id, p.step_count());
    if vars.values.is_empty() {
        let _ = writeln!(out, "variables: none");
    } else {
        let _ = write!(out, "variables:\n{}", summary::variable_lines(&vars));
    }
    if let Some(spec) = &p.probe {
        let _ = writeln!(
            out,
            "{}",
            crate::probe::describe(&vars::resolve_probe(spec, &vars))
        );
    }
    if !args.live || !args.yes {
        let _ = write!(out, "{}", dry_listing(&loaded, &vars));
        if !args.live {
            let _ = writeln!(
                out,
                "dry run: nothing ran and nothing was logged; --live --yes runs these commands"
            );
            return exit::OK;
        }
        eprintln!(
            "rollsafe: refusing to run: --live runs the commands above against real systems; add --yes to confirm"
        );
        return exit::USAGE;
    }
    run_live(global, args, &loaded, resume, vars, out)
}

/// The playbook of drill `id` as it was run, if the drill can be carried on
/// headless: it exists, is unfinished, and is live (a tabletop drill would
/// otherwise start running commands nobody meant to run).
fn resumable(global: &Global, id: i64) -> Result<Loaded, i32> {
    let store = global.open_store_or_exit()?;
    let session = match Session::resume(&store, id) {
        Ok(s) => s,
        Err(crate::drill::SessionError::Store(crate::store::StoreError::NoSuchDrill(_))) => {
            eprintln!("rollsafe: no drill #{id} in the log");
            return Err(exit::NOT_FOUND);
        }
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return Err(exit::DATABASE);
        }
    };
    let drill = &session.drill;
    if drill.status != crate::drill::DrillStatus::Running {
        eprintln!(
            "rollsafe: drill #{id} is already {}; nothing to resume",
            drill.status.as_str()
        );
        return Err(exit::INVALID);
    }
    if drill.mode != Mode::Live {
        eprintln!(
            "rollsafe: drill #{id} is a tabletop drill: rehearse runs commands, so it resumes live drills only; resume it in the app (rollsafe resume {id})"
        );
        return Err(exit::INVALID);
    }
    let snapshot = store.snapshot(id).map_err(|e| {
        eprintln!("rollsafe: {e}");
        exit::DATABASE
    })?;
    Ok(Loaded {
        playbook: session.playbook,
        origin: crate::playbook::Origin::File(snapshot.source_name),
        source: snapshot.text,
    })
}

/// Before a resumed drill goes on: a command the crash left running is
/// stopped (with --stop-leftover) or the resume is refused; the cut-off
/// attempt is closed by a fresh start of its step.
fn prepare_resume(
    store: &mut crate::store::Store,
    session: &mut Session,
    stop_leftover: bool,
) -> Result<(), i32> {
    if let (Some(pgid), Some((step, _))) = (
        session.drill.command_in_flight_pgid,
        session.drill.command_in_flight.clone(),
    ) && let crate::exec::Leftover::Alive { cmdline } = crate::exec::leftover(pgid)
    {
        let what = cmdline.unwrap_or_else(|| "command line unreadable".into());
        if !stop_leftover {
            eprintln!(
                "rollsafe: the command of step {step} is still running (process group {pgid}: {what}); add --stop-leftover to stop it first, or wait for it"
            );
            return Err(exit::INVALID);
        }
        let stopped =
            crate::drill::live::stop_leftover(session, store, Utc::now(), pgid, Some(step))
                .map_err(|e| {
                    eprintln!("rollsafe: {e}");
                    exit::DATABASE
                })?;
        if !stopped {
            eprintln!("rollsafe: process group {pgid} did not stop; check it with ps -g {pgid}");
            return Err(exit::INVALID);
        }
    }
    if let Some(active) = session.drill.active {
        let step = session.drill.steps[active].id.clone();
        record_or_exit(store, session, EventKind::StepStarted { step })?;
    }
    Ok(())
}

fn record_or_exit(
    store: &mut crate::store::Store,
    session: &mut Session,
    kind: EventKind,
) -> Result<(), i32> {
    session.record(store, Utc::now(), kind).map_err(|e| {
        eprintln!("rollsafe: {e}");
        exit::DATABASE
    })
}

fn run_live(
    global: &Global,
    args: &RehearseArgs,
    loaded: &Loaded,
    resume: Option<i64>,
    vars: Vars,
    mut out: Box<dyn Write>,
) -> i32 {
    // Signals set a flag the driver polls; registered before anything runs.
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        if let Err(e) = signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize) {
            eprintln!("rollsafe: cannot handle signal {sig}: {e}");
            return exit::USAGE;
        }
    }
    // The probe connects before the drill is logged: a wrong URL costs nothing.
    let mut probe = match &loaded.playbook.probe {
        None => None,
        Some(spec) => match Probe::start(&vars::resolve_probe(spec, &vars)) {
            Ok(probe) => Some(ProbeWindows { probe }),
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return exit::UNRUNNABLE;
            }
        },
    };
    let mut store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let operator = match &global.operator {
        Some(name) => format!("{OPERATOR} ({name})"),
        None => OPERATOR.to_string(),
    };
    let started = match resume {
        // Reopening logs the time rollsafe was away as an interruption.
        Some(id) => Session::reopen(&mut store, id, Utc::now()),
        None => Session::start(&mut store, loaded, Mode::Live, &operator, Utc::now()),
    };
    let mut session = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::DATABASE;
        }
    };
    if resume.is_some()
        && let Err(code) = prepare_resume(&mut store, &mut session, args.stop_leftover)
    {
        return code;
    }
    let how = if resume.is_some() {
        format!("rehearse --resume {} --live --yes ({operator})", session.id)
    } else {
        "rehearse --live --yes".to_string()
    };
    let note = format!(
        "{how}; variables:\n{}",
        summary::variable_lines(&vars).trim_end()
    );
    if let Err(e) = session.record(
        &mut store,
        Utc::now(),
        EventKind::Note {
            step: None,
            text: note,
            by: None,
        },
    ) {
        eprintln!("rollsafe: {e}");
        return exit::DATABASE;
    }
    if resume.is_some() {
        let done = session.drill.done();
        let _ = writeln!(
            out,
            "drill #{} resumed (live, {operator}): {done} of {} steps already have an outcome",
            session.id,
            loaded.playbook.step_count()
        );
    } else {
        let _ = writeln!(out, "drill #{} started (live, {operator})", session.id);
    }
    let total = loaded.playbook.step_count();
    let mut progress = Progress {
        out,
        total,
        show_output: args.show_output,
    };
    let mut driver = Driver::new(&mut store, session, vars, &signal).observe(&mut progress);
    if let Some(windows) = probe.as_mut() {
        driver = driver.observe(windows);
    }
    let ending = match driver.run() {
        Ok(ending) => ending,
        Err(e) => {
            eprintln!("rollsafe: the drill log failed, the drill stopped: {e}");
            return exit::DATABASE;
        }
    };
    let result = summary::summary(&driver.session, &driver.vars, &ending);
    drop(driver);
    if let Some(windows) = probe {
        windows.probe.stop();
    }
    if args.json {
        match serde_json::to_string_pretty(&result) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("rollsafe: cannot write JSON: {e}"),
        }
    } else {
        print!("{}", summary::text(&result, &ending));
    }
    exit_code(&ending)
}

pub fn exit_code(ending: &Ending) -> i32 {
    match ending {
        Ending::Passed => exit::OK,
        Ending::Failed | Ending::Aborted { .. } => exit::INVALID,
        Ending::Interrupted { signal, .. } => 128 + signal,
    }
}

/// Every step with its commands exactly as they would run.
pub fn dry_listing(loaded: &Loaded, vars: &Vars) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (index, (_, phase, step)) in loaded.playbook.steps().enumerate() {
        let pnr = if step.point_of_no_return {
            "  [point of no return]"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "{:>3}. {}/{}: {}{pnr}",
            index + 1,
            phase.id,
            step.id,
            step.title
        );
        if let Some(command) = &step.command {
            if let Some(why) = step.command_kind.describe() {
                let _ = writeln!(text, "       ({why})");
            }
            for line in vars::substitute_shown(command, vars).lines() {
                let _ = writeln!(text, "       $ {line}");
            }
        }
        if let Some(verify) = &step.verify {
            let lines: Vec<String> = vars::substitute_shown(&verify.command, vars)
                .lines()
                .map(str::to_string)
                .collect();
            for (i, line) in lines.iter().enumerate() {
                let lead = if i == 0 { "verify" } else { "      " };
                let _ = writeln!(text, "       {lead} $ {line}");
            }
            let _ = writeln!(text, "       expect {}", verify.expect.describe());
        }
        if step.command.is_none() && step.verify.is_none() {
            let _ = writeln!(text, "       (manual step: skipped by an automated drill)");
        }
        if step.on_fail != Default::default() {
            let _ = writeln!(text, "       on_fail {}", step.on_fail.label());
        }
    }
    text
}

/// Prints a line as each step starts and each command ends.
struct Progress {
    out: Box<dyn Write>,
    total: usize,
    /// `--show-output`: each command's output, as it arrives.
    show_output: bool,
}

impl StepObserver for Progress {
    fn step_started(&mut self, index: usize, step: &Step) {
        let _ = writeln!(
            self.out,
            "[{}/{}] {}: {}",
            index + 1,
            self.total,
            step.id,
            step.title
        );
        let _ = self.out.flush();
    }

    fn command_output(&mut self, _step: &Step, text: &str) {
        if self.show_output {
            for line in text.lines() {
                let _ = writeln!(self.out, "      | {line}");
            }
            let _ = self.out.flush();
        }
    }

    fn command_ended(
        &mut self,
        _step: &Step,
        purpose: CommandPurpose,
        verdict: &Verdict,
        duration: Duration,
    ) {
        let what = match purpose {
            CommandPurpose::Action => "command",
            CommandPurpose::Verify => "verify ",
        };
        let _ = writeln!(
            self.out,
            "      {what} {:>8.2}s  {}",
            duration.as_secs_f64(),
            verdict.text
        );
        let _ = self.out.flush();
    }

    fn step_recorded(&mut self, _index: usize, _step: &Step, outcome: Option<(Outcome, &str)>) {
        if let Some((outcome @ (Outcome::Failed | Outcome::Skipped), reason)) = outcome {
            let _ = writeln!(self.out, "      step {}: {reason}", outcome.as_str());
        }
    }
}
