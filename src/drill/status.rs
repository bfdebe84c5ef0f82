//! How a drill stands, in one vocabulary for every screen, filter, JSON
//! record and report: running (open now), interrupted (not ended, but no
//! event or heartbeat for a while: rollsafe was closed or killed; resumable),
//! completed (every step without failure or block), completed with failures,
//! aborted.

use chrono::{DateTime, Utc};

use super::state::{Drill, DrillStatus, Outcome};

/// An open drill writes a heartbeat every few seconds (`HEARTBEAT_SECS` in
/// the runner, `rehearse` likewise); a drill not heard from for this long is
/// no longer open anywhere.
pub const INTERRUPTED_AFTER_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunStatus {
    Running,
    Interrupted,
    Completed,
    CompletedWithFailures,
    Aborted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Interrupted,
        RunStatus::Completed,
        RunStatus::CompletedWithFailures,
        RunStatus::Aborted,
    ];

    /// A running drill last seen (event or heartbeat) longer ago than
    /// [`INTERRUPTED_AFTER_SECS`] before `now` is interrupted.
    pub fn seen(self, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if self == RunStatus::Running && (now - last_seen).num_seconds() > INTERRUPTED_AFTER_SECS {
            RunStatus::Interrupted
        } else {
            self
        }
    }

    /// From what the log stores per drill: its status and failure counts.
    pub fn of(stored: &str, failed: i64, blocked: i64) -> Self {
        match stored {
            "running" => RunStatus::Running,
            "aborted" => RunStatus::Aborted,
            _ if failed + blocked > 0 => RunStatus::CompletedWithFailures,
            _ => RunStatus::Completed,
        }
    }

    pub fn of_drill(drill: &Drill) -> Self {
        match drill.status {
            DrillStatus::Running => RunStatus::Running,
            DrillStatus::Aborted => RunStatus::Aborted,
            DrillStatus::Completed
                if drill.count(Outcome::Failed) + drill.count(Outcome::Blocked) > 0 =>
            {
                RunStatus::CompletedWithFailures
            }
            DrillStatus::Completed => RunStatus::Completed,
        }
    }

    /// For JSON and filters: one word.
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Completed => "completed",
            RunStatus::CompletedWithFailures => "completed_with_failures",
            RunStatus::Aborted => "aborted",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Completed => "completed",
            RunStatus::CompletedWithFailures => "completed with failures",
            RunStatus::Aborted => "aborted",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_drill_with_a_failed_or_blocked_step_is_completed_with_failures() {
        assert_eq!(RunStatus::of("completed", 0, 0), RunStatus::Completed);
        assert_eq!(
            RunStatus::of("completed", 1, 0),
            RunStatus::CompletedWithFailures
        );
        assert_eq!(
            RunStatus::of("completed", 0, 2),
            RunStatus::CompletedWithFailures
        );
        assert_eq!(RunStatus::of("aborted", 3, 0), RunStatus::Aborted);
        assert_eq!(RunStatus::of("running", 1, 0), RunStatus::Running);
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        assert_eq!(RunStatus::Running.seen(t(0), t(30)), RunStatus::Running);
        assert_eq!(RunStatus::Running.seen(t(0), t(31)), RunStatus::Interrupted);
        assert_eq!(RunStatus::Aborted.seen(t(0), t(999)), RunStatus::Aborted);
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.code()), Some(s));
        }
    }
}
