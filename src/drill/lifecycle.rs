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
//! (Overriding a refusal with a logged reason is not built yet.)

use super::event::CommandPurpose;
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
}
