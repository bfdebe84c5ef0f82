//! The headless drill: every step's command and verification in order, the
//! on_fail paths followed, every event in the log before it counts.
//!
//! Walking rules (what an operator pressing "run, verify, pass" would do):
//! - A step runs its command, then its verification; it passes when both
//!   pass. A step with neither is a manual step: it is skipped with a reason,
//!   because no one performed it.
//! - After a step, the drill moves to the next step below it that has no
//!   outcome yet. It never wraps to the top: steps jumped over by a `goto`
//!   stay not run.
//! - On failure, the step's on_fail decides: `continue` moves on; `goto:ID`
//!   restarts that step and walks on from there; `stop` and `rollback` end
//!   the drill as aborted (rollback notes are words for people, so they are
//!   logged, not run).
//! - Points of no return are crossed automatically; the confirmation is logged.
//! - A signal (Ctrl-C, SIGTERM) cancels the running command (TERM, then
//!   KILL), logs its result and a note saying why, and leaves the drill
//!   unfinished: interrupted, as when the runner is closed mid-drill, so it
//!   can be resumed or aborted with a reason later. rollsafe never ends a
//!   drill on its own account.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::drill::live::{self, StepCommand, Verdict};
use crate::drill::{CommandPurpose, EventKind, Outcome, Session};
use crate::exec::ExecEvent;
use crate::playbook::vars::{self, Vars};
use crate::playbook::{OnFail, Step};
use crate::store::{Store, StoreError};

/// How often a running command is polled (and the signal flag checked).
const POLL: Duration = Duration::from_millis(20);

/// How often the drill's heartbeat is written while a command runs: the
/// most a crash of rollsafe itself can take off the open step's clock.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Hooks around each step, for whatever watches the drill (progress lines,
/// a latency probe). The driver calls them in this order for every attempt:
/// `step_started`, `command_ended` for each command, `step_finished`, then
/// the outcome is logged.
pub trait StepObserver {
    /// The step's start is in the log; its commands have not run yet.
    fn step_started(&mut self, _index: usize, _step: &Step) {}
    /// Output of the step's running command, as it arrives (usually whole lines).
    fn command_output(&mut self, _step: &Step, _text: &str) {}
    /// A command of the step ended and its result is in the log.
    fn command_ended(
        &mut self,
        _step: &Step,
        _purpose: CommandPurpose,
        _verdict: &Verdict,
        _duration: Duration,
    ) {
    }
    /// The step's commands are done (or were cancelled); its outcome is not
    /// logged yet. Events returned are logged now, in order, before it.
    fn step_finished(&mut self, _index: usize, _step: &Step) -> Vec<EventKind> {
        Vec::new()
    }
    /// The step's outcome is in the log (`None`: interrupted, no outcome).
    fn step_recorded(&mut self, _index: usize, _step: &Step, _outcome: Option<(Outcome, &str)>) {}
}

/// How a headless drill ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Finished, and no step failed.
    Passed,
    /// Finished, but at least one step failed (on_fail continue or goto).
    Failed,
    /// Ended early by a failed step's on_fail (stop, rollback, or a goto loop).
    Aborted { reason: String },
    /// A signal stopped it; the running command was cancelled.
    Interrupted { signal: i32, reason: String },
}

/// What one step's attempt came to.
enum StepResult {
    Passed,
    Failed(String),
    Skipped(String),
    Interrupted,
}

/// What follows a step.
enum Next {
    Step(usize),
    End(Ending),
}

/// Reason logged for a step with nothing to run.
pub const MANUAL_STEP: &str =
    "manual step: nothing to run, and an automated drill cannot perform it";

pub struct Driver<'a> {
    pub store: &'a mut Store,
    pub session: Session,
    pub vars: Vars,
    /// Set to a signal number by a signal handler; 0 while none arrived.
    pub signal: &'a AtomicUsize,
    pub observers: Vec<&'a mut dyn StepObserver>,
    last_touch: Instant,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl<'a> Driver<'a> {
    /// A driver for a drill just started with [`Session::start`] (which
    /// logged the first step's start).
    pub fn new(
        store: &'a mut Store,
        session: Session,
        vars: Vars,
        signal: &'a AtomicUsize,
    ) -> Self {
        Self {
            store,
            session,
            vars,
            signal,
            observers: Vec::new(),
            last_touch: Instant::now(),
        }
    }

    pub fn observe(mut self, observer: &'a mut dyn StepObserver) -> Self {
        self.observers.push(observer);
        self
    }

    /// Runs the drill to its end. A store error stops it at once: whatever
    /// is running is killed (by dropping it) and the drill stays resumable.
    pub fn run(&mut self) -> Result<Ending, StoreError> {
        // A new drill starts at its first step; a resumed one at the step it
        // stopped in, or else the first without an outcome.
        let drill = &self.session.drill;
        let start = drill
            .active
            .or_else(|| drill.steps.iter().position(|s| s.outcome.is_none()));
        let Some(mut index) = start else {
            return self.finish();
        };
        let mut gotos = 0;
        loop {
            if let Some(signal) = self.pending_signal() {
                let reason = format!(
                    "interrupted by {} before step {} ran",
                    signal_name(signal),
                    self.step_at(index).id
                );
                return self.interrupt(signal, reason);
            }
            // One attempt at one step: everything that starts a step is in
            // begin_step, everything that ends it in end_step.
            let step = self.begin_step(index)?;
            let result = self.attempt(&step)?;
            let outcome = match self.end_step(index, &step, result)? {
                Some(outcome) => outcome,
                None => {
                    let signal = self.pending_signal().unwrap_or(libc::SIGINT);
                    let reason = format!(
                        "interrupted by {} during step {}: its command was cancelled",
                        signal_name(signal),
                        step.id
                    );
                    return self.interrupt(signal, reason);
                }
            };
            match self.next_step(index, &step, outcome, &mut gotos)? {
                Next::Step(i) => index = i,
                Next::End(ending) => return Ok(ending),
            }
        }
    }

    /// Logs the step's start (unless its attempt is already open), tells
    /// the observers, and crosses its point of no return if it has one.
    fn begin_step(&mut self, index: usize) -> Result<Step, StoreError> {
        let step = self.step_at(index).clone();
        if self.session.drill.active != Some(index) {
            self.session.record(
                self.store,
                now(),
                EventKind::StepStarted {
                    step: step.id.clone(),
                },
            )?;
        }
        for o in self.observers.iter_mut() {
            o.step_started(index, &step);
        }
        if step.point_of_no_return {
            self.cross_point_of_no_return(&step)?;
        }
        Ok(step)
    }

    /// Logs the observers' events, then the step's outcome. `None`: the
    /// attempt was interrupted and gets no outcome.
    fn end_step(
        &mut self,
        index: usize,
        step: &Step,
        result: StepResult,
    ) -> Result<Option<Outcome>, StoreError> {
        let mut extra = Vec::new();
        for o in self.observers.iter_mut() {
            extra.extend(o.step_finished(index, step));
        }
        for kind in extra {
            self.session.record(self.store, now(), kind)?;
        }
        let id = step.id.clone();
        let (outcome, reason, kind) = match result {
            StepResult::Interrupted => {
                for o in self.observers.iter_mut() {
                    o.step_recorded(index, step, None);
                }
                return Ok(None);
            }
            StepResult::Passed => (
                Outcome::Passed,
                String::new(),
                EventKind::StepPassed { step: id },
            ),
            StepResult::Failed(why) => (
                Outcome::Failed,
                why.clone(),
                EventKind::StepFailed {
                    step: id,
                    reason: why,
                },
            ),
            StepResult::Skipped(why) => (
                Outcome::Skipped,
                why.clone(),
                EventKind::StepSkipped {
                    step: id,
                    reason: why,
                },
            ),
        };
        self.session.record(self.store, now(), kind)?;
        for o in self.observers.iter_mut() {
            o.step_recorded(index, step, Some((outcome, &reason)));
        }
        Ok(Some(outcome))
    }

    /// Where the drill goes after a step: the next pending step, the
    /// on_fail target, or its end.
    fn next_step(
        &mut self,
        index: usize,
        step: &Step,
        outcome: Outcome,
        gotos: &mut usize,
    ) -> Result<Next, StoreError> {
        let next = if outcome != Outcome::Failed {
            self.next_forward(index)
        } else {
            match &step.on_fail {
                OnFail::Continue => self.next_forward(index),
                OnFail::Stop => {
                    let reason = format!("step {} failed and its on_fail is stop", step.id);
                    return self.abort(reason).map(Next::End);
                }
                OnFail::Rollback => return self.roll_back(step).map(Next::End),
                OnFail::Goto(target) => {
                    *gotos += 1;
                    if *gotos > self.session.drill.steps.len() {
                        let reason = format!(
                            "step {} failed again after {} on_fail jumps: stopping a loop",
                            step.id,
                            *gotos - 1
                        );
                        return self.abort(reason).map(Next::End);
                    }
                    self.session.drill.step_index(target)
                }
            }
        };
        match next {
            Some(i) => Ok(Next::Step(i)),
            None => self.finish().map(Next::End),
        }
    }

    fn step_at(&self, index: usize) -> &Step {
        let at = self
            .session
            .playbook
            .step_at_flat(index)
            .expect("index comes from the drill's own steps");
        self.session.playbook.step(at).expect("valid step ref")
    }

    fn pending_signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n as i32),
        }
    }

    /// The next step below `index` with no outcome; no wrapping to the top.
    fn next_forward(&self, index: usize) -> Option<usize> {
        let steps = &self.session.drill.steps;
        (index + 1..steps.len()).find(|&i| steps[i].outcome.is_none())
    }

    fn cross_point_of_no_return(&mut self, step: &Step) -> Result<(), StoreError> {
        let at = now();
        self.session.record(
            self.store,
            at,
            EventKind::PointOfNoReturnConfirmed {
                step: step.id.clone(),
            },
        )?;
        self.session.record(
            self.store,
            at,
            EventKind::Note {
                step: Some(step.id.clone()),
                text: "point of no return confirmed automatically (rehearse --yes)".into(),
                by: None,
            },
        )
    }

    /// The step's command, then its verification.
    fn attempt(&mut self, step: &Step) -> Result<StepResult, StoreError> {
        let commands = [
            (CommandPurpose::Action, step.runnable_command()),
            (
                CommandPurpose::Verify,
                step.verify.as_ref().map(|v| v.command.as_str()),
            ),
        ];
        if commands.iter().all(|(_, c)| c.is_none()) {
            return Ok(StepResult::Skipped(MANUAL_STEP.into()));
        }
        for (purpose, text) in commands {
            let Some(text) = text else { continue };
            // Values are quoted for their place in the shell text; one that
            // cannot be made safe fails the step before anything runs.
            let command = match crate::playbook::shell::substitute_quoted(text, &self.vars) {
                Ok(command) => command,
                Err(why) => return Ok(StepResult::Failed(why.to_string())),
            };
            match self.run_command(step, purpose, command)? {
                StepResult::Passed => {}
                other => return Ok(other),
            }
        }
        Ok(StepResult::Passed)
    }

    fn run_command(
        &mut self,
        step: &Step,
        purpose: CommandPurpose,
        command: String,
    ) -> Result<StepResult, StoreError> {
        let started = live::start(
            &mut self.session,
            self.store,
            now(),
            &step.id,
            purpose,
            command,
            &self.vars,
        )?;
        let mut cmd: StepCommand = match started {
            Ok(cmd) => cmd,
            Err(message) => return Ok(StepResult::Failed(message)),
        };
        let mut cancelled = false;
        let exit = loop {
            let mut exited = None;
            for event in cmd.running.poll() {
                match event {
                    ExecEvent::Output(text) => {
                        for o in self.observers.iter_mut() {
                            o.command_output(step, &text);
                        }
                    }
                    ExecEvent::Exited(report) => exited = Some(report),
                }
            }
            if let Some(report) = exited {
                break report;
            }
            if !cancelled && self.pending_signal().is_some() {
                cmd.running.cancel();
                cancelled = true;
            }
            if self.last_touch.elapsed() >= HEARTBEAT {
                self.store.touch(self.session.id, now())?;
                self.last_touch = Instant::now();
            }
            std::thread::sleep(POLL);
        };
        let verdict = live::conclude(&mut self.session, self.store, now(), cmd, &exit)?;
        for o in self.observers.iter_mut() {
            o.command_ended(step, purpose, &verdict, exit.duration);
        }
        Ok(if cancelled {
            StepResult::Interrupted
        } else if verdict.passed {
            StepResult::Passed
        } else {
            StepResult::Failed(verdict.text)
        })
    }

    fn finish(&mut self) -> Result<Ending, StoreError> {
        self.session
            .record(self.store, now(), EventKind::Finished)?;
        Ok(if self.session.drill.count(Outcome::Failed) == 0 {
            Ending::Passed
        } else {
            Ending::Failed
        })
    }

    fn abort(&mut self, reason: String) -> Result<Ending, StoreError> {
        self.session.record(
            self.store,
            now(),
            EventKind::Aborted {
                reason: reason.clone(),
            },
        )?;
        Ok(Ending::Aborted { reason })
    }

    fn interrupt(&mut self, signal: i32, reason: String) -> Result<Ending, StoreError> {
        let drill = &self.session.drill;
        let step = drill.steps.get(drill.focus()).map(|s| s.id.clone());
        self.session.record(
            self.store,
            now(),
            EventKind::Note {
                step,
                text: reason.clone(),
                by: None,
            },
        )?;
        Ok(Ending::Interrupted { signal, reason })
    }

    /// on_fail rollback: the rollback notes of the steps done, newest first,
    /// go in the log for the people who must follow them; the drill ends.
    fn roll_back(&mut self, failed: &Step) -> Result<Ending, StoreError> {
        let drill = &self.session.drill;
        let mut done: Vec<(usize, &str)> = drill
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.outcome == Some(Outcome::Passed))
            .map(|(i, s)| (i, s.id.as_str()))
            .collect();
        done.sort_by_key(|(i, _)| std::cmp::Reverse(drill.steps[*i].ended_at));
        let notes: Vec<String> = done
            .iter()
            .filter_map(|(i, id)| {
                let note = self.step_at(*i).rollback.as_deref()?;
                Some(format!(
                    "{id}: {}",
                    vars::substitute_shown(note, &self.vars)
                ))
            })
            .collect();
        let text = if notes.is_empty() {
            "rollback: no step done so far has rollback notes".to_string()
        } else {
            format!(
                "rollback, newest first (not run by rehearse):\n{}",
                notes.join("\n")
            )
        };
        self.session.record(
            self.store,
            now(),
            EventKind::Note {
                step: Some(failed.id.clone()),
                text,
                by: None,
            },
        )?;
        self.abort(format!(
            "step {} failed and its on_fail is rollback: follow the rollback notes by hand",
            failed.id
        ))
    }
}

/// "SIGINT (Ctrl-C)", "SIGTERM", ...
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT (Ctrl-C)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::{DrillStatus, Mode};
    use crate::playbook::{self, Loaded, Origin};

    fn loaded(steps: &str) -> Loaded {
        let source = format!("id = \"t\"\ntitle = \"T\"\n[[phases]]\ntitle = \"P\"\n{steps}");
        let playbook = playbook::parse("t.toml", &source).unwrap_or_else(|e| panic!("{e:?}"));
        Loaded {
            playbook,
            origin: Origin::File("t.toml".into()),
            source,
        }
    }

    fn step(id: &str, command: Option<&str>, extra: &str) -> String {
        let command = command
            .map(|c| format!("command = '''{c}'''\n"))
            .unwrap_or_default();
        format!("[[phases.steps]]\nid = \"{id}\"\ntitle = \"{id}\"\n{command}{extra}\n")
    }

    /// Runs a drill of `steps` with the signal flag preset to `signal`.
    fn drive_with(
        steps: &str,
        signal: usize,
        observer: &mut dyn StepObserver,
    ) -> (Ending, Session, Vec<String>) {
        let mut store = Store::open_in_memory().unwrap();
        let loaded = loaded(steps);
        let session =
            Session::start(&mut store, &loaded, Mode::Live, "automated", Utc::now()).unwrap();
        let flag = AtomicUsize::new(signal);
        let mut driver = Driver::new(&mut store, session, Vars::default(), &flag).observe(observer);
        let ending = driver.run().unwrap();
        let session = driver.session.clone();
        let names = store
            .events(session.id)
            .unwrap()
            .iter()
            .map(|e| match &e.kind {
                EventKind::StepStarted { step } => format!("start {step}"),
                EventKind::StepPassed { step } => format!("pass {step}"),
                EventKind::StepFailed { step, .. } => format!("fail {step}"),
                EventKind::StepSkipped { step, .. } => format!("skip {step}"),
                EventKind::CommandRun { step, passed, .. } => format!("ran {step} {passed}"),
                other => other.name().to_string(),
            })
            .collect();
        (ending, session, names)
    }

    struct Nothing;
    impl StepObserver for Nothing {}

    fn drive(steps: &str) -> (Ending, Session, Vec<String>) {
        drive_with(steps, 0, &mut Nothing)
    }

    #[test]
    fn command_then_verification_pass_and_manual_steps_are_skipped() {
        let steps = [
            step(
                "a",
                Some("echo hi"),
                "[phases.steps.verify]\ncommand = \"echo ok\"\ncontains = \"ok\"",
            ),
            step("manual", None, ""),
        ]
        .concat();
        let (ending, session, events) = drive(&steps);
        assert_eq!(ending, Ending::Passed);
        assert_eq!(
            events,
            [
                "started",
                "start a",
                "command_started",
                "ran a true",
                "command_started",
                "ran a true",
                "pass a",
                "start manual",
                "skip manual",
                "finished"
            ]
        );
        assert_eq!(session.drill.steps[1].reason.as_deref(), Some(MANUAL_STEP));
        assert_eq!(session.drill.status, DrillStatus::Completed);
    }

    #[test]
    fn failed_verification_fails_the_step_and_stop_aborts() {
        let steps = [
            step(
                "a",
                Some("true"),
                "[phases.steps.verify]\ncommand = \"echo 3\"\nregex = \"^0$\"",
            ),
            step("never", Some("true"), ""),
        ]
        .concat();
        let (ending, session, events) = drive(&steps);
        let Ending::Aborted { reason } = ending else {
            panic!("{ending:?}")
        };
        assert_eq!(reason, "step a failed and its on_fail is stop");
        assert_eq!(events.last().map(String::as_str), Some("aborted"));
        assert!(events.contains(&"fail a".to_string()));
        assert!(!events.iter().any(|e| e.contains("never")));
        assert_eq!(
            session.drill.steps[0].reason.as_deref(),
            Some("verification failed: output does not match /^0$/")
        );
    }

    #[test]
    fn continue_goes_on_and_the_drill_fails_at_the_end() {
        let steps = [
            step("a", Some("exit 2"), "on_fail = \"continue\""),
            step("b", Some("true"), ""),
        ]
        .concat();
        let (ending, session, _) = drive(&steps);
        assert_eq!(ending, Ending::Failed);
        assert_eq!(session.drill.count(crate::drill::Outcome::Passed), 1);
        assert_eq!(
            session.drill.steps[0].reason.as_deref(),
            Some("command failed (exit 2)")
        );
        assert_eq!(session.drill.status, DrillStatus::Completed);
    }

    #[test]
    fn goto_jumps_over_steps_and_never_wraps_back() {
        let steps = [
            step("a", Some("true"), ""),
            step("b", Some("false"), "on_fail = \"goto:cleanup\""),
            step("c", Some("true"), ""),
            step("cleanup", Some("true"), "point_of_no_return = true"),
        ]
        .concat();
        let (ending, session, events) = drive(&steps);
        assert_eq!(ending, Ending::Failed);
        assert!(!events.iter().any(|e| e.ends_with(" c")), "{events:?}");
        assert_eq!(session.drill.steps[2].outcome, None, "c stays not run");
        assert!(session.drill.steps[3].pnr_confirmed);
        let pnr = events
            .iter()
            .position(|e| e == "point_of_no_return_confirmed");
        let ran = events.iter().position(|e| e == "ran cleanup true");
        assert!(
            pnr < ran,
            "confirmation logged before the command: {events:?}"
        );
    }

    #[test]
    fn goto_back_to_a_passed_step_restarts_it_and_a_loop_is_cut() {
        let steps = [
            step("a", Some("true"), ""),
            step("b", Some("false"), "on_fail = \"goto:a\""),
        ]
        .concat();
        let (ending, session, events) = drive(&steps);
        // a passes, b fails -> a again -> b is not pending any more -> finish.
        assert_eq!(ending, Ending::Failed, "{events:?}");
        assert_eq!(session.drill.steps[0].attempts, 2);

        let looping = [
            step("x", Some("false"), "on_fail = \"goto:y\""),
            step("y", Some("false"), "on_fail = \"goto:x\""),
        ]
        .concat();
        let (ending, session, _) = drive(&looping);
        let Ending::Aborted { reason } = ending else {
            panic!("{ending:?}")
        };
        assert!(reason.contains("stopping a loop"), "{reason}");
        // x -> y -> x: as many jumps as steps are allowed, the next is cut.
        assert_eq!(session.drill.steps[0].attempts, 2);
        assert_eq!(session.drill.steps[1].attempts, 1);
    }

    #[test]
    fn rollback_logs_the_notes_newest_first_and_aborts() {
        let steps = [
            step("a", Some("true"), "rollback = \"undo a\""),
            step("b", Some("true"), "rollback = \"undo b\""),
            step("c", Some("false"), "on_fail = \"rollback\""),
        ]
        .concat();
        let (ending, session, _) = drive(&steps);
        assert!(matches!(ending, Ending::Aborted { .. }), "{ending:?}");
        let note = &session.drill.notes.last().unwrap().text;
        assert!(note.ends_with("a: undo a"), "{note}");
        let (b, a) = (
            note.find("b: undo b").unwrap(),
            note.find("a: undo a").unwrap(),
        );
        assert!(b < a, "{note}");
    }

    #[test]
    fn a_pending_signal_cancels_the_command_and_ends_the_drill_interrupted() {
        let steps = step("nap", Some("sleep 30"), "");
        let started = Instant::now();
        // The flag is checked before the step too; preset, it stops at once.
        let (ending, session, _) = drive_with(&steps, libc::SIGTERM as usize, &mut Nothing);
        assert!(started.elapsed() < Duration::from_secs(5));
        let Ending::Interrupted { signal, reason } = ending else {
            panic!("{ending:?}")
        };
        assert_eq!(signal, libc::SIGTERM);
        assert!(reason.starts_with("interrupted by SIGTERM"), "{reason}");
        // Left unfinished (resumable), with a note saying why.
        assert_eq!(session.drill.status, DrillStatus::Running);
        assert!(session.drill.notes.iter().any(|n| n.text == reason));
    }

    /// Records the hook calls, and adds one note per finished step.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
    }

    impl StepObserver for Recorder {
        fn step_started(&mut self, index: usize, step: &Step) {
            self.calls.push(format!("started {index} {}", step.id));
        }
        fn command_ended(
            &mut self,
            step: &Step,
            purpose: CommandPurpose,
            v: &Verdict,
            _: Duration,
        ) {
            self.calls
                .push(format!("{:?} {} {}", purpose, step.id, v.passed));
        }
        fn step_finished(&mut self, index: usize, step: &Step) -> Vec<EventKind> {
            self.calls.push(format!("finished {index} {}", step.id));
            vec![EventKind::Note {
                step: Some(step.id.clone()),
                text: format!("observed {}", step.id),
                by: None,
            }]
        }
        fn step_recorded(&mut self, _: usize, step: &Step, outcome: Option<(Outcome, &str)>) {
            let outcome = outcome.map(|(o, _)| o.as_str()).unwrap_or("none");
            self.calls.push(format!("recorded {} {outcome}", step.id));
        }
    }

    #[test]
    fn observers_see_each_step_and_their_events_precede_the_outcome() {
        let steps = [
            step(
                "a",
                Some("true"),
                "on_fail = \"continue\"\n[phases.steps.verify]\ncommand = \"false\"",
            ),
            step("b", Some("true"), ""),
        ]
        .concat();
        let mut recorder = Recorder::default();
        let (_, session, events) = drive_with(&steps, 0, &mut recorder);
        assert_eq!(
            recorder.calls,
            [
                "started 0 a",
                "Action a true",
                "Verify a false",
                "finished 0 a",
                "recorded a failed",
                "started 1 b",
                "Action b true",
                "finished 1 b",
                "recorded b passed"
            ]
        );
        let note = events.iter().position(|e| e == "note").unwrap();
        let fail = events.iter().position(|e| e == "fail a").unwrap();
        assert!(note < fail, "{events:?}");
        assert_eq!(session.drill.notes[0].text, "observed a");
    }
}
