//! A step's command in a live drill: logged before it starts, and logged
//! again with its result and verdict when it ends. The interactive runner
//! and the headless `rehearse` driver both go through here, so a command run
//! either way leaves the same events in the log.

use chrono::{DateTime, Utc};

use super::event::{CommandPurpose, EventKind, cap_output};
use super::session::Session;
use crate::exec::{self, ExitReport, Running};
use crate::playbook::vars::{self, Vars};
use crate::store::{Store, StoreError};

/// A command that was logged as started and is running.
pub struct StepCommand {
    pub running: Running,
    pub step: String,
    pub purpose: CommandPurpose,
    /// The command exactly as it runs (variables substituted).
    pub command: String,
    /// Secret values to mask in what is logged of it.
    pub secrets: Vec<String>,
}

/// How a finished command is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// An action exited 0 without being cancelled, or a verification's expectation held.
    pub passed: bool,
    /// One line for people: "verification passed", "command failed (exit 2)", ...
    pub text: String,
}

/// Logs `CommandStarted`, then spawns `command` with the drill's variables
/// in its environment. If it cannot be spawned, that is logged as the
/// command's result and the message comes back as the inner error.
pub fn start(
    session: &mut Session,
    store: &mut Store,
    now: DateTime<Utc>,
    step: &str,
    purpose: CommandPurpose,
    command: String,
    vars: &Vars,
) -> Result<Result<StepCommand, String>, StoreError> {
    // The log is evidence that may be shared: secrets never reach it.
    let secrets = vars::secret_values(vars);
    let logged = vars::mask_secrets(&command, &secrets);
    // Spawned first so its process group is in the log; if the log write
    // fails, dropping `running` kills the group, so nothing runs unlogged.
    // A crash between the two is covered by the parent-death signal.
    match Running::spawn(&command, &vars.env_pairs()) {
        Ok(running) => {
            session.record(
                store,
                now,
                EventKind::CommandStarted {
                    step: step.to_string(),
                    purpose,
                    command: logged,
                    pgid: Some(running.pgid()),
                },
            )?;
            Ok(Ok(StepCommand {
                running,
                step: step.to_string(),
                purpose,
                command,
                secrets,
            }))
        }
        Err(err) => {
            // The attempt is logged, and so is the failure to spawn.
            let message =
                vars::mask_secrets(&format!("could not start the command: {err}"), &secrets);
            session.record(
                store,
                now,
                EventKind::CommandStarted {
                    step: step.to_string(),
                    purpose,
                    command: logged.clone(),
                    pgid: None,
                },
            )?;
            session.record(
                store,
                now,
                EventKind::CommandRun {
                    step: step.to_string(),
                    purpose,
                    command: logged,
                    exit_code: None,
                    duration_ms: 0,
                    output: message.clone(),
                    truncated: false,
                    cancelled: false,
                    passed: false,
                },
            )?;
            Ok(Err(message))
        }
    }
}

/// Stops a process group a crash left running (SIGTERM, then SIGKILL after
/// 3 s) and notes on `step` whether it stopped. Returns whether it did.
pub fn stop_leftover(
    session: &mut Session,
    store: &mut Store,
    now: DateTime<Utc>,
    pgid: i32,
    step: Option<String>,
) -> Result<bool, StoreError> {
    let stopped = exec::stop_leftover(pgid, std::time::Duration::from_secs(3));
    let text = if stopped {
        format!("stopped process group {pgid}: its command was left running by a crash")
    } else {
        format!("process group {pgid}, left running by a crash, did not stop on SIGKILL")
    };
    session.record(
        store,
        now,
        EventKind::Note {
            step,
            text,
            by: None,
        },
    )?;
    Ok(stopped)
}

/// Judges a command that has exited and logs `CommandRun` with its output.
pub fn conclude(
    session: &mut Session,
    store: &mut Store,
    now: DateTime<Utc>,
    finished: StepCommand,
    exit: &ExitReport,
) -> Result<Verdict, StoreError> {
    let full = finished.running.output().to_string();
    // Judged on the real output; logged masked.
    let verdict = judge(session, &finished, exit, &full);
    let (output, truncated) = cap_output(&vars::mask_secrets(&full, &finished.secrets));
    let command = vars::mask_secrets(&finished.command, &finished.secrets);
    session.record(
        store,
        now,
        EventKind::CommandRun {
            step: finished.step,
            purpose: finished.purpose,
            command,
            exit_code: exit.exit_code,
            duration_ms: exit.duration.as_millis() as u64,
            output,
            truncated,
            cancelled: exit.cancelled,
            passed: verdict.passed,
        },
    )?;
    Ok(verdict)
}

fn judge(session: &Session, cmd: &StepCommand, exit: &ExitReport, output: &str) -> Verdict {
    let (passed, text) = match cmd.purpose {
        CommandPurpose::Verify => {
            let expect = session
                .playbook
                .find_step(&cmd.step)
                .and_then(|at| session.playbook.step(at))
                .and_then(|s| s.verify.as_ref())
                .map(|v| v.expect.clone())
                .unwrap_or_default();
            match exec::check_expectation(&expect, exit.exit_code, output) {
                Ok(()) => (true, "verification passed".to_string()),
                Err(why) => (false, format!("verification failed: {why}")),
            }
        }
        CommandPurpose::Action => (
            exit.exit_code == Some(0) && !exit.cancelled,
            describe_exit(exit),
        ),
    };
    if exit.cancelled {
        return Verdict {
            passed,
            text: "command cancelled".to_string(),
        };
    }
    Verdict { passed, text }
}

/// One line for an action's exit.
pub fn describe_exit(exit: &ExitReport) -> String {
    match (exit.exit_code, exit.signal) {
        (Some(0), _) => "command succeeded (exit 0)".to_string(),
        (Some(code), _) => format!("command failed (exit {code})"),
        (None, Some(sig)) => format!("command killed by signal {sig}"),
        (None, None) => "command ended without an exit code".to_string(),
    }
}
