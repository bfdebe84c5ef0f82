//! The runner screen's state and what each operator intent does to it.
//!
//! Every change goes through [`Session::record`], so the log has the event
//! before the screen can show it. Methods take `now` instead of reading a clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::drill::live::{self, StepCommand};
use crate::drill::{CommandPurpose, DrillStatus, EventKind, Mode, Outcome, Session};
use crate::exec::ExecEvent;
use crate::insight::{self, StepStats};
use crate::playbook::vars::{self, Vars};
use crate::playbook::{OnFail, Step};
use crate::probe::{LiveView, Probe};
use crate::store::{Store, StoreError};

/// A live command under way, and what it is for.
pub struct LiveCommand {
    pub cmd: StepCommand,
    pub started: DateTime<Utc>,
    pub cancel_requested: bool,
}

pub struct RunnerState {
    pub session: Session,
    /// Flat index of the step the cursor is on.
    pub selected: usize,
    pub vars: Vars,
    pub command: Option<LiveCommand>,
    /// Lines scrolled in the detail pane.
    pub scroll: u16,
    /// Lines the output pane is scrolled back from its tail; 0 follows the
    /// output as it arrives.
    pub output_back: u16,
    /// `o`: the output pane takes most of the detail pane.
    pub output_large: bool,
    /// When the heartbeat was last written.
    pub last_touch: Option<DateTime<Utc>>,
    /// Past drills of this playbook, per step id.
    pub history: BTreeMap<String, StepStats>,
    /// TODO notes left by the previous drill: (drill, step, text).
    pub follow_ups: Vec<crate::store::FollowUpRow>,
    /// The playbook's probe, sampling while a live drill runs.
    pub probe: Option<Probe>,
    /// What the probe shows now; refreshed on each tick (set directly in tests).
    pub probe_view: Option<LiveView>,
    /// The outcome the drill refused last, on which step: what `!` overrides.
    pub refused: Option<(usize, Outcome)>,
    /// The process group of a command a crash left running, found on
    /// resume: what `x` stops.
    pub leftover: Option<i32>,
    /// Following a drill another client drives: who drives it ("nobody"
    /// after a hand-over). Outcomes come from the log; notes still land.
    pub following: Option<String>,
}

/// Latencies kept for the live sparkline.
pub const PROBE_RECENT: usize = 120;

/// How often an open drill writes its heartbeat: the most a crash can take
/// off the open step's clock.
pub const HEARTBEAT_SECS: i64 = 5;

/// What a step's outcome key leads to next, for the dialog layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    None,
    /// The drill refused the outcome (see `drill::lifecycle`); nothing was logged.
    Refused(String),
    /// A failed step's on_fail path to offer.
    OfferOnFail {
        step: String,
        on_fail: OnFail,
    },
}

impl RunnerState {
    pub fn new(session: Session, vars: Vars) -> Self {
        let selected = session.drill.focus();
        Self {
            session,
            selected,
            vars,
            command: None,
            scroll: 0,
            output_back: 0,
            output_large: false,
            last_touch: None,
            history: BTreeMap::new(),
            follow_ups: Vec::new(),
            probe: None,
            probe_view: None,
            refused: None,
            leftover: None,
            following: None,
        }
    }

    /// Folds in what other clients wrote; the selection moves on with the
    /// drill when it was on the step in focus. Returns the newest event
    /// when anything changed.
    pub fn sync(
        &mut self,
        store: &Store,
    ) -> Result<Option<crate::drill::Event>, crate::drill::SessionError> {
        let focus = self.session.drill.focus();
        if !self.session.sync(store)? {
            return Ok(None);
        }
        if self.selected == focus {
            self.selected = self.session.drill.focus();
        }
        Ok(store.events(self.session.id)?.pop())
    }

    /// Attaches a started probe; its first window is the active step's.
    pub fn with_probe(mut self, probe: Option<Probe>) -> Self {
        self.probe = probe.map(|mut p| {
            p.window_start();
            p
        });
        self.refresh_probe();
        self
    }

    /// Copies the probe's latest figures for the screen.
    pub fn refresh_probe(&mut self) {
        if let Some(probe) = &self.probe {
            self.probe_view = Some(probe.live(PROBE_RECENT));
        }
    }

    /// Every event goes through here: an event that ends the active step's
    /// attempt first logs what the probe saw during it, and a step start
    /// opens the probe's next window.
    fn record(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        let drill = &self.session.drill;
        let active = drill.active.map(|i| drill.steps[i].id.clone());
        let ends_attempt = match &kind {
            EventKind::StepStarted { step } => active.as_ref().filter(|a| *a != step),
            EventKind::StepPassed { step }
            | EventKind::StepFailed { step, .. }
            | EventKind::StepSkipped { step, .. }
            | EventKind::StepBlocked { step, .. } => active.as_ref().filter(|a| *a == step),
            EventKind::Aborted { .. } | EventKind::Finished => active.as_ref(),
            _ => None,
        };
        if let (Some(step), Some(probe)) = (ends_attempt.cloned(), self.probe.as_mut()) {
            let stats = probe.window_end();
            self.session
                .record(store, now, EventKind::ProbeStats { step, stats })?;
        }
        let starts = matches!(kind, EventKind::StepStarted { .. });
        let ends_drill = matches!(kind, EventKind::Aborted { .. } | EventKind::Finished);
        self.session.record(store, now, kind)?;
        if ends_drill && let Some(probe) = self.probe.take() {
            probe.stop();
        } else if starts && let Some(probe) = self.probe.as_mut() {
            probe.window_start();
        }
        Ok(())
    }

    /// Leaving the drill open (back to Home, quit): logs the active step's
    /// window so far and stops the probe; reopening starts a new one.
    pub fn close_probe(&mut self, store: &mut Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(mut probe) = self.probe.take() else {
            return Ok(());
        };
        let drill = &self.session.drill;
        let active = drill.active.map(|i| drill.steps[i].id.clone());
        let result = match active {
            Some(step) if !self.is_over() => {
                let stats = probe.window_end();
                self.session
                    .record(store, now, EventKind::ProbeStats { step, stats })
            }
            _ => Ok(()),
        };
        probe.stop();
        result
    }

    /// Loads what past drills of this playbook say about each step.
    pub fn with_history(mut self, store: &Store) -> Self {
        let id = &self.session.playbook.id;
        if let Ok(found) = insight::gather(
            store,
            id,
            None,
            self.session.drill.started_at,
            insight::Depth::Full,
        ) {
            self.history = found
                .stats
                .steps
                .into_iter()
                .map(|s| (s.step_id.clone(), s))
                .collect();
            // A drill's own notes are not follow-ups for itself.
            self.follow_ups = found
                .follow_ups
                .into_iter()
                .filter(|f| f.drill_id != self.session.id)
                .collect();
        }
        self
    }

    /// Time still to go, from step medians (else timeboxes), if anything is known.
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<std::time::Duration> {
        let drill = &self.session.drill;
        let medians: BTreeMap<String, std::time::Duration> = self
            .history
            .iter()
            .filter_map(|(id, s)| s.median.map(|m| (id.clone(), m)))
            .collect();
        let pending: Vec<_> = self
            .session
            .playbook
            .steps()
            .enumerate()
            .filter(|(i, _)| drill.steps[*i].outcome.is_none())
            .map(|(i, (_, _, step))| (step.id.clone(), step.timebox, drill.step_elapsed(i, now)))
            .collect();
        insight::stats::remaining_estimate(&pending, &medians)
    }

    pub fn mode(&self) -> Mode {
        self.session.drill.mode
    }

    pub fn is_over(&self) -> bool {
        self.session.drill.status != DrillStatus::Running
    }

    pub fn step_count(&self) -> usize {
        self.session.drill.steps.len()
    }

    pub fn selected_step(&self) -> Option<&Step> {
        let at = self.session.playbook.step_at_flat(self.selected)?;
        self.session.playbook.step(at)
    }

    pub fn selected_id(&self) -> Option<String> {
        self.selected_step().map(|s| s.id.clone())
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.step_count().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
        self.scroll = 0;
        self.output_back = 0;
    }

    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.step_count().saturating_sub(1));
        self.scroll = 0;
        self.output_back = 0;
    }

    /// The step to jump to with `.`: the one whose command runs, else the
    /// drill's active step.
    pub fn running_step(&self) -> Option<usize> {
        let drill = &self.session.drill;
        self.command
            .as_ref()
            .and_then(|c| drill.step_index(&c.cmd.step))
            .or(drill.active)
    }

    /// Prose with the variables' values, as written (for detail and notes).
    pub fn resolved(&self, text: &str) -> String {
        vars::substitute(text, &self.vars)
    }

    /// A command as it will run: each value quoted for its place in the
    /// shell text; a value that cannot be quoted safely is refused.
    pub fn runnable(&self, text: &str) -> Result<String, crate::playbook::shell::QuoteError> {
        crate::playbook::shell::substitute_quoted(text, &self.vars)
    }

    /// Starts (or restarts) the selected step's clock.
    pub fn start_selected(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(step) = self.selected_id() else {
            return Ok(());
        };
        if self.session.drill.active == Some(self.selected) {
            return Ok(());
        }
        self.record(store, now, EventKind::StepStarted { step })
    }

    /// Records an outcome for the selected step, then moves to and starts
    /// the next pending step, except after a failure, which waits for the
    /// operator to choose the on_fail path.
    pub fn record_outcome(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        outcome: Outcome,
        reason: String,
    ) -> Result<FollowUp, StoreError> {
        let Some(step) = self.selected_step().cloned() else {
            return Ok(FollowUp::None);
        };
        let id = step.id.clone();
        if let Err(why) =
            crate::drill::lifecycle::may_record(&self.session.drill, self.selected, outcome)
        {
            return Ok(FollowUp::Refused(why.to_string()));
        }
        let kind = match outcome {
            Outcome::Passed => EventKind::StepPassed { step: id.clone() },
            Outcome::Failed => EventKind::StepFailed {
                step: id.clone(),
                reason,
            },
            Outcome::Skipped => EventKind::StepSkipped {
                step: id.clone(),
                reason,
            },
            Outcome::Blocked => EventKind::StepBlocked {
                step: id.clone(),
                reason,
            },
        };
        self.record(store, now, kind)?;
        if outcome == Outcome::Failed {
            return Ok(FollowUp::OfferOnFail {
                step: id,
                on_fail: step.on_fail.clone(),
            });
        }
        self.advance(store, now)?;
        Ok(FollowUp::None)
    }

    /// Records an outcome the lifecycle refuses, with the operator's reason:
    /// a deviation and the outcome, in one transaction. A step that was
    /// running and now has its outcome hands over to the next pending step;
    /// an override on another step leaves the running one running.
    pub fn record_override(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        outcome: Outcome,
        reason: String,
    ) -> Result<FollowUp, StoreError> {
        self.refused = None;
        let Some(step) = self.selected_step().cloned() else {
            return Ok(FollowUp::None);
        };
        let kinds = match crate::drill::lifecycle::override_events(
            &self.session.drill,
            self.selected,
            outcome,
            &reason,
        ) {
            Ok(kinds) => kinds,
            Err(why) => return Ok(FollowUp::Refused(why.to_string())),
        };
        let was_active = self.session.drill.active == Some(self.selected);
        if was_active && let Some(probe) = self.probe.as_mut() {
            let stats = probe.window_end();
            self.session.record(
                store,
                now,
                EventKind::ProbeStats {
                    step: step.id.clone(),
                    stats,
                },
            )?;
        }
        self.session.record_all(store, now, kinds)?;
        if outcome == Outcome::Failed {
            return Ok(FollowUp::OfferOnFail {
                step: step.id,
                on_fail: step.on_fail.clone(),
            });
        }
        if self.session.drill.active.is_none() {
            self.advance(store, now)?;
        }
        Ok(FollowUp::None)
    }

    /// Takes back the latest outcome: the step runs again and is selected.
    pub fn undo_last(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        reason: String,
    ) -> Result<FollowUp, StoreError> {
        let Some(index) = crate::drill::lifecycle::may_undo(&self.session.drill) else {
            return Ok(FollowUp::Refused(
                "nothing to undo: only the latest outcome can be taken back, once".into(),
            ));
        };
        let step = self.session.drill.steps[index].id.clone();
        if let Some(active) = self.session.drill.active
            && let Some(probe) = self.probe.as_mut()
        {
            let stats = probe.window_end();
            let open = self.session.drill.steps[active].id.clone();
            self.session
                .record(store, now, EventKind::ProbeStats { step: open, stats })?;
        }
        self.session
            .record(store, now, EventKind::OutcomeUndone { step, reason })?;
        self.select(index);
        if let Some(probe) = self.probe.as_mut() {
            probe.window_start();
        }
        Ok(FollowUp::None)
    }

    /// Moves to the next step without an outcome and starts it, if any.
    pub fn advance(&mut self, store: &mut Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(next) = self.session.drill.next_pending(self.selected) {
            self.select(next);
            // Starting a step closes the open attempt of the previous one.
            if self.session.drill.active != Some(next) {
                self.start_selected(store, now)?;
            }
        }
        Ok(())
    }

    /// Jumps to a step by id (an on_fail goto) and starts it.
    pub fn go_to(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        id: &str,
    ) -> Result<(), StoreError> {
        if let Some(index) = self.session.drill.step_index(id) {
            self.select(index);
            self.start_selected(store, now)?;
        }
        Ok(())
    }

    /// A note on a given step (or the drill), not the selected one.
    pub fn note_on(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        step: Option<String>,
        text: String,
    ) -> Result<(), StoreError> {
        self.record(
            store,
            now,
            EventKind::Note {
                step,
                text,
                by: None,
            },
        )
    }

    /// A note on the selected step, by `by` when someone other than the
    /// drill's operator writes it.
    pub fn add_note(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        text: String,
        by: &str,
    ) -> Result<(), StoreError> {
        let step = self.selected_id();
        let by = (by != self.session.drill.operator).then(|| by.to_string());
        self.record(store, now, EventKind::Note { step, text, by })
    }

    pub fn confirm_point_of_no_return(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(step) = self.selected_id() else {
            return Ok(());
        };
        self.record(store, now, EventKind::PointOfNoReturnConfirmed { step })
    }

    /// Whether acting on the selected step crosses an unconfirmed point of no return.
    pub fn needs_pnr_confirmation(&self) -> bool {
        self.selected_step().is_some_and(|s| s.point_of_no_return)
            && !self.session.drill.steps[self.selected].pnr_confirmed
    }

    pub fn toggle_pause(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let kind = if self.session.drill.is_paused() {
            EventKind::Resumed
        } else {
            EventKind::Paused
        };
        self.record(store, now, kind)
    }

    pub fn finish(&mut self, store: &mut Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.record(store, now, EventKind::Finished)
    }

    pub fn abort(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        reason: String,
    ) -> Result<(), StoreError> {
        self.cancel_command();
        self.record(store, now, EventKind::Aborted { reason })
    }

    /// The exact text that would run for the selected step, if it has one,
    /// or why its values cannot be put into it safely.
    pub fn command_text(
        &self,
        purpose: CommandPurpose,
    ) -> Option<Result<String, crate::playbook::shell::QuoteError>> {
        let step = self.selected_step()?;
        let raw = match purpose {
            CommandPurpose::Action => step.runnable_command()?,
            CommandPurpose::Verify => &step.verify.as_ref()?.command,
        };
        Some(self.runnable(raw))
    }

    /// Runs a confirmed command: logs that it started, then spawns it.
    pub fn run_command(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        purpose: CommandPurpose,
        command: String,
    ) -> Result<Result<(), String>, StoreError> {
        let Some(step) = self.selected_id() else {
            return Ok(Ok(()));
        };
        if self.session.drill.active != Some(self.selected) {
            self.start_selected(store, now)?;
        }
        let started = live::start(
            &mut self.session,
            store,
            now,
            &step,
            purpose,
            command,
            &self.vars,
        )?;
        Ok(started.map(|cmd| {
            self.command = Some(LiveCommand {
                cmd,
                started: now,
                cancel_requested: false,
            });
        }))
    }

    /// Closes the oldest open follow-up of the selected step in the log,
    /// and drops it from the runner. Returns its text, if there was one.
    pub fn close_follow_up(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<Option<String>, StoreError> {
        let step = self.selected_id().unwrap_or_default();
        let Some(pos) = self.follow_ups.iter().position(|f| f.is_on(&step)) else {
            return Ok(None);
        };
        store.close_follow_up(self.follow_ups[pos].id, now, note.trim())?;
        Ok(Some(self.follow_ups.remove(pos).text))
    }

    /// Stops a process group a crash left running and notes it in the log.
    pub fn stop_leftover(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        pgid: i32,
    ) -> Result<bool, StoreError> {
        let step = self
            .session
            .drill
            .command_in_flight
            .as_ref()
            .map(|(s, _)| s.clone());
        live::stop_leftover(&mut self.session, store, now, pgid, step)
    }

    pub fn cancel_command(&mut self) -> bool {
        match self.command.as_mut() {
            Some(live) => {
                live.cmd.running.cancel();
                live.cancel_requested = true;
                true
            }
            None => false,
        }
    }

    /// Writes the heartbeat when it is due (or `force`d, e.g. on leaving).
    pub fn heartbeat(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<(), StoreError> {
        // A follower's presence keeps no drill alive: "interrupted" means
        // its driver is gone.
        if self.is_over() || self.following.is_some() {
            return Ok(());
        }
        let due = self
            .last_touch
            .is_none_or(|t| (now - t).num_seconds() >= HEARTBEAT_SECS);
        if force || due {
            store.touch(self.session.id, now)?;
            self.last_touch = Some(now);
        }
        Ok(())
    }

    /// Collects output from a running command; logs its end when it exits.
    /// Returns a one-line result for the status bar when the command ended.
    pub fn poll_command(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(live) = self.command.as_mut() else {
            return Ok(None);
        };
        let mut report = None;
        for event in live.cmd.running.poll() {
            if let ExecEvent::Exited(exit) = event {
                report = Some(exit);
            }
        }
        let Some(exit) = report else {
            return Ok(None);
        };
        let live = self.command.take().expect("checked above");
        let verdict = live::conclude(&mut self.session, store, now, live.cmd, &exit)?;
        Ok(Some(verdict.text))
    }
}
