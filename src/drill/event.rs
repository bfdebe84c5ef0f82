//! What happens in a drill, as facts appended to its log.
//!
//! Events name steps by id (stable across edits of the text), never by
//! position, and carry UTC timestamps from an injected clock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Talk it through: nothing runs.
    #[default]
    Tabletop,
    /// Commands may run, each only after the operator confirms it.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tabletop => "tabletop",
            Mode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "tabletop" => Some(Mode::Tabletop),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

/// Why a command ran: the step's own command or its verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandPurpose {
    Action,
    Verify,
}

/// Largest command output kept in the log, per run. The tail is kept when
/// output is longer, because errors are printed last.
pub const OUTPUT_CAP_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Started {
        mode: Mode,
        operator: String,
        playbook_id: String,
        playbook_title: String,
        /// The file name the playbook was read from; its extension says the format.
        source_name: String,
        content_hash: String,
        /// The playbook text exactly as run, so history stays true when files change.
        snapshot: String,
    },
    StepStarted {
        step: String,
    },
    StepPassed {
        step: String,
    },
    StepFailed {
        step: String,
        reason: String,
    },
    StepSkipped {
        step: String,
        reason: String,
    },
    StepBlocked {
        step: String,
        reason: String,
    },
    /// The operator confirmed crossing a point of no return.
    PointOfNoReturnConfirmed {
        step: String,
    },
    Note {
        step: Option<String>,
        text: String,
        /// Who wrote it, when not the one driving the drill (a follower,
        /// the scribe); absent in older logs and for the driver's own notes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// Written before a live command starts, so a crash mid-command is visible.
    CommandStarted {
        step: String,
        purpose: CommandPurpose,
        command: String,
        /// The command's process group, so a later run can tell whether a
        /// command left behind by a crash still runs (absent in older logs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pgid: Option<i32>,
    },
    CommandRun {
        step: String,
        purpose: CommandPurpose,
        command: String,
        /// `None` when killed by a signal or cancelled.
        exit_code: Option<i32>,
        duration_ms: u64,
        output: String,
        truncated: bool,
        cancelled: bool,
        /// For verifications: whether the expectation held.
        passed: bool,
    },
    /// What the playbook's probe saw during one attempt at a step, written
    /// when that attempt ends (live drills with a probe only).
    ProbeStats {
        step: String,
        stats: crate::probe::ProbeStats,
    },
    Paused,
    Resumed,
    /// The drill was reopened after rollsafe stopped (quit, crash, closed
    /// terminal); `last_seen` is the last moment it was known to be running.
    Interrupted {
        last_seen: DateTime<Utc>,
    },
    Aborted {
        reason: String,
    },
    Finished,
    /// The operator recorded an outcome the step's lifecycle refused
    /// (`refused` says why it was refused), giving `reason`. Always written
    /// in the same transaction as, and just before, that outcome.
    Deviation {
        step: String,
        outcome: String,
        refused: String,
        reason: String,
    },
    /// The latest outcome of `step` was taken back: the step runs again.
    OutcomeUndone {
        step: String,
        reason: String,
    },
}

impl EventKind {
    /// Short name stored in its own column, for queries by type.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started { .. } => "started",
            EventKind::StepStarted { .. } => "step_started",
            EventKind::StepPassed { .. } => "step_passed",
            EventKind::StepFailed { .. } => "step_failed",
            EventKind::StepSkipped { .. } => "step_skipped",
            EventKind::StepBlocked { .. } => "step_blocked",
            EventKind::PointOfNoReturnConfirmed { .. } => "point_of_no_return_confirmed",
            EventKind::Note { .. } => "note",
            EventKind::CommandStarted { .. } => "command_started",
            EventKind::CommandRun { .. } => "command_run",
            EventKind::ProbeStats { .. } => "probe_stats",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::Interrupted { .. } => "interrupted",
            EventKind::Aborted { .. } => "aborted",
            EventKind::Finished => "finished",
            EventKind::Deviation { .. } => "deviation",
            EventKind::OutcomeUndone { .. } => "outcome_undone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(at: DateTime<Utc>, kind: EventKind) -> Self {
        Self { at, kind }
    }
}

/// Keeps at most [`OUTPUT_CAP_BYTES`] of output, preferring the end.
pub fn cap_output(output: &str) -> (String, bool) {
    if output.len() <= OUTPUT_CAP_BYTES {
        return (output.to_string(), false);
    }
    let mut start = output.len() - OUTPUT_CAP_BYTES;
    while !output.is_char_boundary(start) {
        start += 1;
    }
    (output[start..].to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_cap_keeps_the_tail_on_a_char_boundary() {
        let long = format!("{}é{}", "a".repeat(OUTPUT_CAP_BYTES), "END");
        let (kept, truncated) = cap_output(&long);
        assert!(truncated);
        assert!(kept.len() <= OUTPUT_CAP_BYTES);
        assert!(kept.ends_with("éEND"));
        assert_eq!(cap_output("short"), ("short".to_string(), false));
    }

    #[test]
    fn events_round_trip_through_json() {
        let event = Event::new(
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            EventKind::StepSkipped {
                step: "backfill".into(),
                reason: "table is empty".into(),
            },
        );
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains("\"type\":\"step_skipped\""), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }
}
