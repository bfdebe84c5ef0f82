//! What an event writes, decided once for every backend: the stored
//! payload, the step it concerns, the step result it sets or clears, the
//! follow-up it opens and the drill summary after it. Backends only turn
//! these into their own SQL.

use chrono::{DateTime, Utc};

use super::{DrillFilter, StoreError};
use crate::drill::{Drill, Event, EventKind, Mode, Outcome};

pub fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_ms(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(value).unwrap_or_default()
}

/// A stored outcome name back to the outcome.
pub fn outcome_of(name: &str) -> Outcome {
    match name {
        "passed" => Outcome::Passed,
        "failed" => Outcome::Failed,
        "skipped" => Outcome::Skipped,
        _ => Outcome::Blocked,
    }
}

pub fn not_started(drill: i64) -> StoreError {
    StoreError::BadEvent {
        drill,
        seq: 0,
        detail: "a drill must begin with a started event".into(),
    }
}

/// A running drill last seen before this (UTC ms) is interrupted.
pub fn interrupted_before(filter: &DrillFilter) -> i64 {
    ms(filter.as_of.unwrap_or_else(Utc::now)) - crate::drill::INTERRUPTED_AFTER_SECS * 1000
}

/// The drill row a `Started` event makes.
pub struct NewDrill<'a> {
    pub playbook_id: &'a str,
    pub playbook_title: &'a str,
    pub mode: Mode,
    pub operator: &'a str,
    pub content_hash: &'a str,
    pub source_name: &'a str,
    pub snapshot: &'a str,
    pub started_at: i64,
}

impl<'a> NewDrill<'a> {
    /// `None` when `started` is not a `Started` event.
    pub fn of(started: &'a Event) -> Option<Self> {
        let EventKind::Started {
            mode,
            operator,
            playbook_id,
            playbook_title,
            source_name,
            content_hash,
            snapshot,
        } = &started.kind
        else {
            return None;
        };
        Some(NewDrill {
            playbook_id,
            playbook_title,
            mode: *mode,
            operator,
            content_hash,
            source_name,
            snapshot,
            started_at: ms(started.at),
        })
    }
}

/// An event as stored: its JSON, with a `Started` event's playbook text left
/// out (the text lives once, with the drill; `events` puts it back).
pub fn payload(event: &Event) -> serde_json::Result<String> {
    match &event.kind {
        EventKind::Started { snapshot, .. } if !snapshot.is_empty() => {
            let mut slim = event.clone();
            if let EventKind::Started { snapshot, .. } = &mut slim.kind {
                snapshot.clear();
            }
            serde_json::to_string(&slim)
        }
        _ => serde_json::to_string(event),
    }
}

/// The step an event is about, for per-step reads of the log.
pub fn step_of(kind: &EventKind) -> Option<&str> {
    match kind {
        EventKind::StepStarted { step }
        | EventKind::StepPassed { step }
        | EventKind::StepFailed { step, .. }
        | EventKind::StepSkipped { step, .. }
        | EventKind::StepBlocked { step, .. }
        | EventKind::PointOfNoReturnConfirmed { step }
        | EventKind::CommandStarted { step, .. }
        | EventKind::CommandRun { step, .. }
        | EventKind::ProbeStats { step, .. }
        | EventKind::Deviation { step, .. }
        | EventKind::OutcomeUndone { step, .. } => Some(step),
        EventKind::Note { step, .. } => step.as_deref(),
        _ => None,
    }
}

/// What an event does to the `step_results` table, which always equals the
/// fold: a step's row exists while the step has an outcome.
pub enum StepResult<'a> {
    Set {
        step: &'a str,
        playbook_id: &'a str,
        drill_started_at: i64,
        outcome: Outcome,
        duration_ms: i64,
        ended_at: i64,
        live: bool,
    },
    Clear {
        step: &'a str,
    },
}

impl<'a> StepResult<'a> {
    /// `None` when the event changes no step's result.
    pub fn of(event: &'a Event, after: &'a Drill) -> Option<Self> {
        let step = match &event.kind {
            EventKind::StepStarted { step }
            | EventKind::StepPassed { step }
            | EventKind::StepFailed { step, .. }
            | EventKind::StepSkipped { step, .. }
            | EventKind::StepBlocked { step, .. }
            | EventKind::OutcomeUndone { step, .. } => step.as_str(),
            _ => return None,
        };
        let index = after.step_index(step)?;
        Some(match after.steps[index].outcome {
            Some(outcome) => StepResult::Set {
                step,
                playbook_id: &after.playbook_id,
                drill_started_at: ms(after.started_at),
                outcome,
                duration_ms: after.step_elapsed(index, event.at).as_millis() as i64,
                ended_at: ms(event.at),
                live: after.mode == Mode::Live,
            },
            None => StepResult::Clear { step },
        })
    }
}

/// The follow-up a TODO / FOLLOW-UP note opens: its step and text.
pub fn follow_up(event: &Event) -> Option<(Option<&str>, &str)> {
    match &event.kind {
        EventKind::Note { step, text, .. } if crate::report::is_follow_up(text) => {
            Some((step.as_deref(), text))
        }
        _ => None,
    }
}

/// A drill's summary columns as of an event, with the state after it.
pub struct Summary {
    pub status: &'static str,
    pub ended_at: Option<i64>,
    pub last_event_at: i64,
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub blocked: i64,
    /// Time worked on: pauses and interruptions excluded.
    pub active_ms: i64,
}

impl Summary {
    pub fn of(event: &Event, after: &Drill) -> Self {
        Summary {
            status: after.status.as_str(),
            ended_at: after.ended_at.map(ms),
            last_event_at: ms(event.at),
            passed: after.count(Outcome::Passed) as i64,
            failed: after.count(Outcome::Failed) as i64,
            skipped: after.count(Outcome::Skipped) as i64,
            blocked: after.count(Outcome::Blocked) as i64,
            active_ms: after.elapsed(event.at).as_millis() as i64,
        }
    }
}
