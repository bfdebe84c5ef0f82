//! The state of a drill, folded from its events. Nothing here reads the
//! clock: durations that are still running take `now` as an argument.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::event::{CommandPurpose, Event, EventKind, Mode};
use crate::playbook::Playbook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
    Blocked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DrillStatus {
    Running,
    Completed,
    Aborted,
}

impl DrillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillStatus::Running => "running",
            DrillStatus::Completed => "completed",
            DrillStatus::Aborted => "aborted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRecord {
    pub id: String,
    pub outcome: Option<Outcome>,
    /// Reason given with a fail, skip or block.
    pub reason: Option<String>,
    pub first_started: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Time spent in attempts already closed, pauses excluded.
    pub spent: Duration,
    /// Start of the attempt under way, if this is the active step.
    pub open_since: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// When the latest attempt began (not shifted by pauses): the commands
    /// run since then are this attempt's.
    pub attempt_began: Option<DateTime<Utc>>,
    pub pnr_confirmed: bool,
    /// Why the current outcome was recorded although the lifecycle refused
    /// it (an override), if it was.
    pub deviation: Option<DeviationRecord>,
    /// The probe's figures for the latest attempt that recorded them.
    pub probe: Option<crate::probe::ProbeStats>,
}

/// An outcome recorded over the lifecycle's refusal, with the operator's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviationRecord {
    pub at: DateTime<Utc>,
    pub step: String,
    pub outcome: String,
    pub refused: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteRecord {
    pub at: DateTime<Utc>,
    pub step: Option<String>,
    pub text: String,
    /// Who wrote it, when not the driver (see [`EventKind::Note`]).
    pub by: Option<String>,
}

impl NoteRecord {
    /// The note as screens show it: "bo: text" when someone else wrote it.
    pub fn shown(&self) -> String {
        match &self.by {
            Some(by) => format!("{by}: {}", self.text),
            None => self.text.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    pub at: DateTime<Utc>,
    pub step: String,
    pub purpose: CommandPurpose,
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration: Duration,
    pub output: String,
    pub truncated: bool,
    pub cancelled: bool,
    pub passed: bool,
}

/// A drill as of its last event.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub mode: Mode,
    pub operator: String,
    pub playbook_id: String,
    pub playbook_title: String,
    pub content_hash: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: DrillStatus,
    pub abort_reason: Option<String>,
    /// When the current pause began.
    pub paused_since: Option<DateTime<Utc>>,
    /// Total of closed pauses.
    pub paused_total: Duration,
    /// One record per playbook step, in walking order.
    pub steps: Vec<StepRecord>,
    /// Index into `steps` of the step whose attempt is open.
    pub active: Option<usize>,
    pub notes: Vec<NoteRecord>,
    pub commands: Vec<CommandRecord>,
    /// A command that was started and has not reported back (crash or still running).
    pub command_in_flight: Option<(String, String)>,
    /// The process group of that command, when the log has it.
    pub command_in_flight_pgid: Option<i32>,
    pub last_event_at: DateTime<Utc>,
    /// Every override, in order; the log keeps them even when undone.
    pub deviations: Vec<DeviationRecord>,
    /// Outcomes taken back with undo, in order (step id, when).
    pub undone: Vec<(String, DateTime<Utc>)>,
    /// The step whose outcome was recorded last and may still be undone.
    pub last_outcome: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FoldError {
    #[error("a drill log must begin with a started event")]
    NotStarted,
}

/// `end - start`, or zero when the clock went backwards.
fn span(start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    (end - start).to_std().unwrap_or_default()
}

impl Drill {
    /// Builds the state from the first event on. Unknown step ids (a step
    /// removed from a later version of the file) are kept out of `steps`
    /// because the snapshot, not the file, is what the drill walks.
    pub fn fold(playbook: &Playbook, events: &[Event]) -> Result<Self, FoldError> {
        let Some((first, rest)) = events.split_first() else {
            return Err(FoldError::NotStarted);
        };
        let EventKind::Started {
            mode,
            operator,
            playbook_id,
            playbook_title,
            content_hash,
            ..
        } = &first.kind
        else {
            return Err(FoldError::NotStarted);
        };
        let mut drill = Drill {
            mode: *mode,
            operator: operator.clone(),
            playbook_id: playbook_id.clone(),
            playbook_title: playbook_title.clone(),
            content_hash: content_hash.clone(),
            started_at: first.at,
            ended_at: None,
            status: DrillStatus::Running,
            abort_reason: None,
            paused_since: None,
            paused_total: Duration::ZERO,
            steps: playbook
                .steps()
                .map(|(_, _, s)| StepRecord {
                    id: s.id.clone(),
                    ..StepRecord::default()
                })
                .collect(),
            active: None,
            notes: Vec::new(),
            commands: Vec::new(),
            command_in_flight: None,
            command_in_flight_pgid: None,
            last_event_at: first.at,
            deviations: Vec::new(),
            undone: Vec::new(),
            last_outcome: None,
        };
        for event in rest {
            drill.apply(event);
        }
        Ok(drill)
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// Applies one event. Events after the end are ignored: the log is the
    /// truth, and a late write must not reopen a finished drill.
    pub fn apply(&mut self, event: &Event) {
        if self.status != DrillStatus::Running {
            return;
        }
        let at = event.at;
        self.last_event_at = at;
        match &event.kind {
            EventKind::Started { .. } => {}
            EventKind::StepStarted { step } => {
                if let Some(i) = self.step_index(step) {
                    self.close_active(at);
                    let record = &mut self.steps[i];
                    record.first_started.get_or_insert(at);
                    record.outcome = None;
                    record.reason = None;
                    record.ended_at = None;
                    record.deviation = None;
                    record.attempts += 1;
                    record.attempt_began = Some(at);
                    record.open_since = Some(at);
                    self.active = Some(i);
                }
            }
            EventKind::StepPassed { step } => self.set_outcome(step, Outcome::Passed, None, at),
            EventKind::StepFailed { step, reason } => {
                self.set_outcome(step, Outcome::Failed, Some(reason), at)
            }
            EventKind::StepSkipped { step, reason } => {
                self.set_outcome(step, Outcome::Skipped, Some(reason), at)
            }
            EventKind::StepBlocked { step, reason } => {
                self.set_outcome(step, Outcome::Blocked, Some(reason), at)
            }
            EventKind::PointOfNoReturnConfirmed { step } => {
                if let Some(i) = self.step_index(step) {
                    self.steps[i].pnr_confirmed = true;
                }
            }
            EventKind::Note { step, text, by } => self.notes.push(NoteRecord {
                at,
                step: step.clone(),
                text: text.clone(),
                by: by.clone(),
            }),
            EventKind::CommandStarted {
                step,
                command,
                pgid,
                ..
            } => {
                self.command_in_flight = Some((step.clone(), command.clone()));
                self.command_in_flight_pgid = *pgid;
            }
            EventKind::CommandRun {
                step,
                purpose,
                command,
                exit_code,
                duration_ms,
                output,
                truncated,
                cancelled,
                passed,
            } => {
                self.command_in_flight = None;
                self.command_in_flight_pgid = None;
                self.commands.push(CommandRecord {
                    at,
                    step: step.clone(),
                    purpose: *purpose,
                    command: command.clone(),
                    exit_code: *exit_code,
                    duration: Duration::from_millis(*duration_ms),
                    output: output.clone(),
                    truncated: *truncated,
                    cancelled: *cancelled,
                    passed: *passed,
                });
            }
            EventKind::ProbeStats { step, stats } => {
                if let Some(i) = self.step_index(step) {
                    self.steps[i].probe = Some(stats.clone());
                }
            }
            EventKind::Paused => {
                if self.paused_since.is_none() {
                    self.paused_since = Some(at);
                }
            }
            EventKind::Resumed => self.resume_at(at),
            EventKind::Interrupted { last_seen } => {
                // rollsafe was not running from `last_seen` until now: that
                // time counts as a pause, for the drill and the open step.
                if self.paused_since.is_none() {
                    self.paused_since = Some((*last_seen).clamp(self.started_at, at));
                    self.resume_at(at);
                }
            }
            EventKind::Aborted { reason } => {
                self.end(at);
                self.status = DrillStatus::Aborted;
                self.abort_reason = Some(reason.clone());
            }
            EventKind::Finished => {
                self.end(at);
                self.status = DrillStatus::Completed;
            }
            EventKind::Deviation {
                step,
                outcome,
                refused,
                reason,
            } => {
                let record = DeviationRecord {
                    at,
                    step: step.clone(),
                    outcome: outcome.clone(),
                    refused: refused.clone(),
                    reason: reason.clone(),
                };
                if let Some(i) = self.step_index(step) {
                    self.steps[i].deviation = Some(record.clone());
                }
                self.deviations.push(record);
            }
            EventKind::OutcomeUndone { step, .. } => self.undo_outcome(step, at),
        }
    }

    /// The step's outcome is taken back and it runs again, as a new stretch
    /// of its current attempt; whatever step was open meanwhile is closed.
    fn undo_outcome(&mut self, step: &str, at: DateTime<Utc>) {
        let Some(i) = self.step_index(step) else {
            return;
        };
        if self.steps[i].outcome.is_none() {
            return;
        }
        self.close_active(at);
        let record = &mut self.steps[i];
        record.outcome = None;
        record.reason = None;
        record.ended_at = None;
        record.deviation = None;
        record.open_since = Some(at);
        self.active = Some(i);
        self.last_outcome = None;
        self.undone.push((step.to_string(), at));
    }

    fn resume_at(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            let paused = span(since, at);
            self.paused_total += paused;
            // The open attempt did not run while paused.
            if let Some(i) = self.active
                && let Some(open) = self.steps[i].open_since.as_mut()
            {
                // Shift the attempt's start by the pause; one begun
                // during the pause starts counting now.
                *open = if *open <= since {
                    *open + chrono::Duration::from_std(paused).unwrap_or_default()
                } else {
                    at
                };
            }
        }
    }

    fn set_outcome(
        &mut self,
        step: &str,
        outcome: Outcome,
        reason: Option<&String>,
        at: DateTime<Utc>,
    ) {
        let Some(i) = self.step_index(step) else {
            return;
        };
        if self.active == Some(i) {
            self.close_active(at);
        }
        let record = &mut self.steps[i];
        record.first_started.get_or_insert(at);
        record.outcome = Some(outcome);
        record.reason = reason.cloned();
        record.ended_at = Some(at);
        self.last_outcome = Some(i);
    }

    /// Closes the open attempt, counting its time up to `at` minus any pause in progress.
    fn close_active(&mut self, at: DateTime<Utc>) {
        if let Some(i) = self.active.take() {
            let end = self.paused_since.unwrap_or(at);
            if let Some(open) = self.steps[i].open_since.take() {
                self.steps[i].spent += span(open, end);
            }
        }
    }

    fn end(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            self.paused_total += span(since, at);
        }
        self.close_active(at);
        self.ended_at = Some(at);
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// Wall time of the drill without pauses, as of `now` (or its end).
    pub fn elapsed(&self, now: DateTime<Utc>) -> Duration {
        let end = self.ended_at.unwrap_or(now);
        let paused_now = self.paused_since.map_or(Duration::ZERO, |p| span(p, end));
        span(self.started_at, end).saturating_sub(self.paused_total + paused_now)
    }

    /// Time spent on one step, its open attempt included, as of `now`.
    pub fn step_elapsed(&self, index: usize, now: DateTime<Utc>) -> Duration {
        let Some(record) = self.steps.get(index) else {
            return Duration::ZERO;
        };
        let open = record.open_since.map_or(Duration::ZERO, |since| {
            let end = self.paused_since.unwrap_or(now);
            span(since, end)
        });
        record.spent + open
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.steps
            .iter()
            .filter(|s| s.outcome == Some(outcome))
            .count()
    }

    /// Steps with any outcome.
    pub fn done(&self) -> usize {
        self.steps.iter().filter(|s| s.outcome.is_some()).count()
    }

    /// The first step after `from` (in walking order) that has no outcome yet.
    /// Never one before `from`: steps an on_fail `goto` jumped over stay not
    /// started (a point of no return among them must not start by itself).
    pub fn next_pending(&self, from: usize) -> Option<usize> {
        (from + 1..self.steps.len()).find(|&i| self.steps[i].outcome.is_none())
    }

    /// Where the operator should be looking: the active step, else the first pending one.
    pub fn focus(&self) -> usize {
        self.active
            .or_else(|| self.steps.iter().position(|s| s.outcome.is_none()))
            .unwrap_or(self.steps.len().saturating_sub(1))
    }

    pub fn notes_for(&self, step: &str) -> impl Iterator<Item = &NoteRecord> {
        self.notes
            .iter()
            .filter(move |n| n.step.as_deref() == Some(step))
    }

    pub fn commands_for(&self, step: &str) -> impl Iterator<Item = &CommandRecord> {
        self.commands.iter().filter(move |c| c.step == step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook;

    const PLAYBOOK: &str = r#"
id = "t"
title = "Test"
[[phases]]
title = "One"
[[phases.steps]]
id = "a"
title = "A"
timebox = "1m"
[[phases.steps]]
id = "b"
title = "B"
[[phases]]
title = "Two"
[[phases.steps]]
id = "c"
title = "C"
point_of_no_return = true
"#;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn started() -> Event {
        Event::new(
            t(0),
            EventKind::Started {
                mode: Mode::Tabletop,
                operator: "ana".into(),
                playbook_id: "t".into(),
                playbook_title: "Test".into(),
                source_name: "t.toml".into(),
                content_hash: "h".into(),
                snapshot: PLAYBOOK.into(),
            },
        )
    }

    fn ev(secs: i64, kind: EventKind) -> Event {
        Event::new(t(secs), kind)
    }

    fn step(kind: fn(String) -> EventKind, id: &str) -> EventKind {
        kind(id.to_string())
    }

    fn playbook() -> Playbook {
        playbook::parse("t.toml", PLAYBOOK).unwrap()
    }

    #[test]
    fn a_log_must_begin_with_started() {
        let p = playbook();
        assert_eq!(Drill::fold(&p, &[]), Err(FoldError::NotStarted));
        let only_note = [ev(0, EventKind::Paused)];
        assert_eq!(Drill::fold(&p, &only_note), Err(FoldError::NotStarted));
    }

    #[test]
    fn outcomes_and_step_times_follow_the_events() {
        let p = playbook();
        let events = vec![
            started(),
            ev(0, step(|step| EventKind::StepStarted { step }, "a")),
            ev(70, step(|step| EventKind::StepPassed { step }, "a")),
            ev(70, step(|step| EventKind::StepStarted { step }, "b")),
            ev(
                100,
                EventKind::StepSkipped {
                    step: "b".into(),
                    reason: "not needed".into(),
                },
            ),
            ev(100, step(|step| EventKind::StepStarted { step }, "c")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        assert_eq!(drill.steps[0].outcome, Some(Outcome::Passed));
        assert_eq!(drill.step_elapsed(0, t(500)), Duration::from_secs(70));
        assert_eq!(drill.steps[1].outcome, Some(Outcome::Skipped));
        assert_eq!(drill.steps[1].reason.as_deref(), Some("not needed"));
        assert_eq!(drill.step_elapsed(1, t(500)), Duration::from_secs(30));
        // The open step keeps counting until `now`.
        assert_eq!(drill.active, Some(2));
        assert_eq!(drill.step_elapsed(2, t(160)), Duration::from_secs(60));
        assert_eq!(drill.elapsed(t(160)), Duration::from_secs(160));
        assert_eq!(drill.done(), 2);
        assert_eq!(drill.focus(), 2);
        assert_eq!(drill.status, DrillStatus::Running);
    }

    #[test]
    fn pauses_stop_the_drill_clock_and_the_step_clock() {
        let p = playbook();
        let events = vec![
            started(),
            ev(0, step(|step| EventKind::StepStarted { step }, "a")),
            ev(10, EventKind::Paused),
            ev(110, EventKind::Resumed),
            ev(130, step(|step| EventKind::StepPassed { step }, "a")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        // 10 s before the pause + 20 s after it; the 100 s pause does not count.
        assert_eq!(drill.step_elapsed(0, t(1000)), Duration::from_secs(30));
        assert_eq!(drill.elapsed(t(130)), Duration::from_secs(30));

        // While paused, both clocks stand still however late `now` is.
        let paused = Drill::fold(&p, &events[..3]).unwrap();
        assert!(paused.is_paused());
        assert_eq!(paused.step_elapsed(0, t(50)), Duration::from_secs(10));
        assert_eq!(paused.step_elapsed(0, t(5000)), Duration::from_secs(10));
        assert_eq!(paused.elapsed(t(5000)), Duration::from_secs(10));
    }

    #[test]
    fn restarting_a_step_adds_attempts_and_keeps_time_spent() {
        let p = playbook();
        let events = vec![
            started(),
            ev(0, step(|step| EventKind::StepStarted { step }, "a")),
            ev(
                20,
                EventKind::StepFailed {
                    step: "a".into(),
                    reason: "lock timeout".into(),
                },
            ),
            ev(30, step(|step| EventKind::StepStarted { step }, "a")),
            ev(45, step(|step| EventKind::StepPassed { step }, "a")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        assert_eq!(drill.steps[0].attempts, 2);
        assert_eq!(drill.steps[0].outcome, Some(Outcome::Passed));
        assert_eq!(drill.steps[0].reason, None);
        assert_eq!(drill.step_elapsed(0, t(100)), Duration::from_secs(35));
        assert_eq!(drill.count(Outcome::Failed), 0);
    }

    #[test]
    fn events_after_the_end_change_nothing() {
        let p = playbook();
        let events = vec![
            started(),
            ev(0, step(|step| EventKind::StepStarted { step }, "a")),
            ev(
                50,
                EventKind::Aborted {
                    reason: "replica lag".into(),
                },
            ),
            ev(60, step(|step| EventKind::StepPassed { step }, "a")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        assert_eq!(drill.status, DrillStatus::Aborted);
        assert_eq!(drill.abort_reason.as_deref(), Some("replica lag"));
        assert_eq!(drill.steps[0].outcome, None);
        assert_eq!(drill.step_elapsed(0, t(999)), Duration::from_secs(50));
        assert_eq!(drill.elapsed(t(999)), Duration::from_secs(50));
        assert_eq!(drill.ended_at, Some(t(50)));
    }

    #[test]
    fn notes_commands_and_pnr_are_kept() {
        let p = playbook();
        let events = vec![
            started(),
            ev(
                1,
                EventKind::Note {
                    step: Some("a".into()),
                    text: "TODO: alert on lag".into(),
                    by: None,
                },
            ),
            ev(
                2,
                EventKind::CommandStarted {
                    step: "a".into(),
                    purpose: crate::drill::CommandPurpose::Action,
                    command: "true".into(),
                    pgid: Some(4242),
                },
            ),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        assert_eq!(drill.command_in_flight_pgid, Some(4242));
        assert_eq!(drill.notes_for("a").count(), 1);
        assert!(
            drill.command_in_flight.is_some(),
            "a crash mid-command stays visible"
        );
        let mut drill = drill;
        drill.apply(&ev(
            3,
            step(|step| EventKind::PointOfNoReturnConfirmed { step }, "c"),
        ));
        assert!(drill.steps[2].pnr_confirmed);
    }

    #[test]
    fn probe_stats_are_kept_per_step_latest_attempt_wins() {
        let p = playbook();
        let stats = |max_us| crate::probe::ProbeStats {
            count: 10,
            max_us,
            ..Default::default()
        };
        let events = vec![
            started(),
            ev(0, step(|step| EventKind::StepStarted { step }, "a")),
            ev(
                5,
                EventKind::ProbeStats {
                    step: "a".into(),
                    stats: stats(900),
                },
            ),
            ev(5, step(|step| EventKind::StepStarted { step }, "a")),
            ev(
                9,
                EventKind::ProbeStats {
                    step: "a".into(),
                    stats: stats(40),
                },
            ),
            ev(9, step(|step| EventKind::StepPassed { step }, "a")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        assert_eq!(drill.steps[0].probe.as_ref().map(|s| s.max_us), Some(40));
        assert_eq!(drill.steps[1].probe, None);
        // A probe event does not touch the step's clock or outcome.
        assert_eq!(drill.steps[0].outcome, Some(Outcome::Passed));
        assert_eq!(drill.step_elapsed(0, t(100)), Duration::from_secs(9));
    }

    #[test]
    fn next_pending_never_goes_back_to_steps_jumped_over() {
        let p = playbook();
        let events = vec![
            started(),
            ev(1, step(|step| EventKind::StepPassed { step }, "b")),
            ev(2, step(|step| EventKind::StepPassed { step }, "c")),
        ];
        let drill = Drill::fold(&p, &events).unwrap();
        // "a" was jumped over: nothing after "b" or "c" leads back to it.
        assert_eq!(drill.next_pending(1), None);
        assert_eq!(drill.next_pending(2), None);
        let only_b = Drill::fold(&p, &events[..2]).unwrap();
        assert_eq!(only_b.next_pending(1), Some(2));
    }
}
