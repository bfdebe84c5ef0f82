//! Which outcome a step may take, decided once for the TUI and `rehearse`.
//!
//! A step is not started, running, or ended with an outcome (passed,
//! failed, skipped, blocked). An outcome may only end the running attempt:
//!
//! | from \ to     | running (start)  | an outcome                            |
//! |---------------|------------------|---------------------------------------|
//! | not started   | yes              | no: start it first                    |
//! | running       | (already)        | yes; a pass not if its live command   |
//! |               |                  | or verification failed this attempt   |
//! | has outcome   | yes (new attempt)| no: it would overwrite the outcome    |
//!
//! Refusals say why and what to do, so nothing is logged that did not happen.
//! Every refusal may be overridden, but only with a reason: the outcome is
//! then logged together with a `Deviation` event ([`override_events`]), and
//! summaries, reports and stats show it as one. Undo takes back the latest
//! outcome only, as an `OutcomeUndone` event ([`may_undo`]); the log keeps both.

use super::event::{CommandPurpose, EventKind};
use super::state::{Drill, Outcome};

/// Where a step is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    NotStarted,
    Running,
    Ended(Outcome),
}

/// Why an outcome may not be recorded now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotRunning,
    WouldOverwrite(Outcome),
    CommandFailed(CommandPurpose),
}

impl Refusal {
    /// A short, stable code stored in the deviation event.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotRunning => "not_running",
            Refusal::WouldOverwrite(_) => "would_overwrite",
            Refusal::CommandFailed(CommandPurpose::Action) => "command_failed",
            Refusal::CommandFailed(CommandPurpose::Verify) => "verification_failed",
        }
    }
}

/// What a stored refusal code means, for summaries and reports.
pub fn describe_refused(code: &str) -> &'static str {
    match code {
        "not_running" => "the step was not running",
        "would_overwrite" => "it replaced an earlier outcome",
        "command_failed" => "its command had failed",
        "verification_failed" => "its verification had failed",
        _ => "the lifecycle refused it",
    }
}

/// Why an override could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideError {
    /// The outcome is allowed: record it normally, no override needed.
    NotNeeded,
    /// An override must say why.
    NoReason,
}

impl std::fmt::Display for OverrideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverrideError::NotNeeded => write!(f, "no override is needed: record it as usual"),
            OverrideError::NoReason => write!(f, "an override needs a reason"),
        }
    }
}

/// The events that record `outcome` on step `index` over the lifecycle's
/// refusal: a `Deviation` with the reason, then the outcome itself (the
/// reason doubles as the outcome's reason for fail, skip and block).
pub fn override_events(
    drill: &Drill,
    index: usize,
    outcome: Outcome,
    reason: &str,
) -> Result<Vec<EventKind>, OverrideError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(OverrideError::NoReason);
    }
    let refusal = match may_record(drill, index, outcome) {
        Ok(()) => return Err(OverrideError::NotNeeded),
        Err(refusal) => refusal,
    };
    let Some(step) = drill.steps.get(index).map(|s| s.id.clone()) else {
        return Err(OverrideError::NotNeeded);
    };
    Ok(vec![
        EventKind::Deviation {
            step: step.clone(),
            outcome: outcome.as_str().to_string(),
            refused: refusal.code().to_string(),
            reason: reason.to_string(),
        },
        outcome_event(step, outcome, reason.to_string()),
    ])
}

/// The event that records `outcome` for `step`.
pub fn outcome_event(step: String, outcome: Outcome, reason: String) -> EventKind {
    match outcome {
        Outcome::Passed => EventKind::StepPassed { step },
        Outcome::Failed => EventKind::StepFailed { step, reason },
        Outcome::Skipped => EventKind::StepSkipped { step, reason },
        Outcome::Blocked => EventKind::StepBlocked { step, reason },
    }
}

/// The step whose latest outcome may be taken back now, if any: only the
/// most recent outcome, and only while no later step has one.
pub fn may_undo(drill: &Drill) -> Option<usize> {
    let index = drill.last_outcome?;
    drill.steps.get(index)?.outcome?;
    Some(index)
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotRunning => write!(
                f,
                "this step is not running: enter starts it, or select the running one"
            ),
            Refusal::WouldOverwrite(o) => write!(
                f,
                "this step already {}; enter starts a new attempt to record another outcome",
                o.as_str()
            ),
            Refusal::CommandFailed(CommandPurpose::Action) => write!(
                f,
                "its command failed in this attempt: run it again (r) or mark the step failed (f)"
            ),
            Refusal::CommandFailed(CommandPurpose::Verify) => write!(
                f,
                "its verification failed in this attempt: verify again (v) or mark the step failed (f)"
            ),
        }
    }
}

pub fn state(drill: &Drill, index: usize) -> StepState {
    match drill.steps.get(index) {
        _ if drill.active == Some(index) => StepState::Running,
        Some(record) => record
            .outcome
            .map_or(StepState::NotStarted, StepState::Ended),
        None => StepState::NotStarted,
    }
}

/// Whether `outcome` may end step `index` now, from the table above.
pub fn may_record(drill: &Drill, index: usize, outcome: Outcome) -> Result<(), Refusal> {
    match state(drill, index) {
        StepState::NotStarted => return Err(Refusal::NotRunning),
        StepState::Ended(previous) => return Err(Refusal::WouldOverwrite(previous)),
        StepState::Running => {}
    }
    if outcome == Outcome::Passed
        && let Some(purpose) = failed_this_attempt(drill, index)
    {
        return Err(Refusal::CommandFailed(purpose));
    }
    Ok(())
}

/// The purpose of a command whose latest run in the step's current attempt failed.
fn failed_this_attempt(drill: &Drill, index: usize) -> Option<CommandPurpose> {
    let record = drill.steps.get(index)?;
    let began = record.attempt_began?;
    [CommandPurpose::Action, CommandPurpose::Verify]
        .into_iter()
        .find(|&purpose| {
            drill
                .commands_for(&record.id)
                .filter(|c| c.purpose == purpose && c.at >= began)
                .last()
                .is_some_and(|c| !c.passed)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::{Event, EventKind, Mode};
    use chrono::{DateTime, Utc};

    const PLAYBOOK: &str = "id = \"t\"\ntitle = \"T\"\n[[phases]]\ntitle = \"P\"\n\
        [[phases.steps]]\nid = \"a\"\ntitle = \"A\"\ncommand = \"false\"\n\
        [[phases.steps]]\nid = \"b\"\ntitle = \"B\"\n";

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn fold(kinds: Vec<EventKind>) -> Drill {
        let p = crate::playbook::parse("t.toml", PLAYBOOK).unwrap();
        let mut events = vec![Event::new(
            t(0),
            EventKind::Started {
                mode: Mode::Live,
                operator: "o".into(),
                playbook_id: "t".into(),
                playbook_title: "T".into(),
                source_name: "t.toml".into(),
                content_hash: "h".into(),
                snapshot: PLAYBOOK.into(),
            },
        )];
        events.extend(
            kinds
                .into_iter()
                .enumerate()
                .map(|(i, k)| Event::new(t(i as i64 + 1), k)),
        );
        Drill::fold(&p, &events).unwrap()
    }

    fn started(step: &str) -> EventKind {
        EventKind::StepStarted { step: step.into() }
    }

    fn run(passed: bool) -> EventKind {
        EventKind::CommandRun {
            step: "a".into(),
            purpose: CommandPurpose::Action,
            command: "false".into(),
            exit_code: Some(if passed { 0 } else { 1 }),
            duration_ms: 1,
            output: String::new(),
            truncated: false,
            cancelled: false,
            passed,
        }
    }

    #[test]
    fn only_the_running_step_takes_an_outcome() {
        let drill = fold(vec![started("a")]);
        assert_eq!(state(&drill, 0), StepState::Running);
        assert_eq!(may_record(&drill, 0, Outcome::Passed), Ok(()));
        assert_eq!(
            may_record(&drill, 1, Outcome::Passed),
            Err(Refusal::NotRunning)
        );
        assert_eq!(
            may_record(&drill, 1, Outcome::Skipped),
            Err(Refusal::NotRunning)
        );
    }

    #[test]
    fn an_outcome_is_never_overwritten_without_a_new_attempt() {
        let drill = fold(vec![
            started("a"),
            EventKind::StepFailed {
                step: "a".into(),
                reason: "x".into(),
            },
        ]);
        assert_eq!(state(&drill, 0), StepState::Ended(Outcome::Failed));
        assert_eq!(
            may_record(&drill, 0, Outcome::Passed),
            Err(Refusal::WouldOverwrite(Outcome::Failed))
        );
        // A new attempt may end differently.
        let retried = fold(vec![
            started("a"),
            EventKind::StepFailed {
                step: "a".into(),
                reason: "x".into(),
            },
            started("a"),
        ]);
        assert_eq!(may_record(&retried, 0, Outcome::Passed), Ok(()));
    }

    #[test]
    fn a_failed_command_blocks_a_pass_until_it_runs_clean_or_a_new_attempt() {
        let failed = fold(vec![started("a"), run(false)]);
        assert_eq!(
            may_record(&failed, 0, Outcome::Passed),
            Err(Refusal::CommandFailed(CommandPurpose::Action))
        );
        assert_eq!(may_record(&failed, 0, Outcome::Failed), Ok(()));
        let rerun = fold(vec![started("a"), run(false), run(true)]);
        assert_eq!(may_record(&rerun, 0, Outcome::Passed), Ok(()));
        let new_attempt = fold(vec![started("a"), run(false), started("a")]);
        assert_eq!(may_record(&new_attempt, 0, Outcome::Passed), Ok(()));
    }

    #[test]
    fn an_override_needs_a_reason_and_a_refusal() {
        let drill = fold(vec![started("a"), run(false)]);
        assert_eq!(
            override_events(&drill, 0, Outcome::Passed, "  "),
            Err(OverrideError::NoReason)
        );
        assert_eq!(
            override_events(&drill, 0, Outcome::Failed, "why"),
            Err(OverrideError::NotNeeded),
            "an allowed outcome is recorded as usual"
        );
        let events = override_events(&drill, 0, Outcome::Passed, " checked by hand ").unwrap();
        assert_eq!(
            events[0],
            EventKind::Deviation {
                step: "a".into(),
                outcome: "passed".into(),
                refused: "command_failed".into(),
                reason: "checked by hand".into(),
            }
        );
        assert_eq!(events[1], EventKind::StepPassed { step: "a".into() });
        let mut kinds = vec![started("a"), run(false)];
        kinds.extend(events);
        let after = fold(kinds);
        assert_eq!(after.steps[0].outcome, Some(Outcome::Passed));
        assert!(after.steps[0].deviation.is_some());
        assert_eq!(after.deviations.len(), 1);
    }

    #[test]
    fn undo_reopens_only_the_latest_outcome() {
        let drill = fold(vec![started("a")]);
        assert_eq!(may_undo(&drill), None);
        let passed = fold(vec![
            started("a"),
            EventKind::StepPassed { step: "a".into() },
            started("b"),
        ]);
        assert_eq!(may_undo(&passed), Some(0));
        let undone = fold(vec![
            started("a"),
            EventKind::StepPassed { step: "a".into() },
            started("b"),
            EventKind::OutcomeUndone {
                step: "a".into(),
                reason: String::new(),
            },
        ]);
        assert_eq!(state(&undone, 0), StepState::Running);
        assert_eq!(state(&undone, 1), StepState::NotStarted);
        assert_eq!(may_undo(&undone), None, "once only");
        assert_eq!(undone.undone.len(), 1);
    }
}
