//! How a drill stands, in one vocabulary for every screen, filter, JSON
//! record and report: running (not ended: open now, or stopped and
//! resumable), completed (every step without failure or block), completed
//! with failures, aborted.

use super::state::{Drill, DrillStatus, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunStatus {
    Running,
    Completed,
    CompletedWithFailures,
    Aborted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::CompletedWithFailures,
        RunStatus::Aborted,
    ];

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
            RunStatus::Completed => "completed",
            RunStatus::CompletedWithFailures => "completed_with_failures",
            RunStatus::Aborted => "aborted",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
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
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.code()), Some(s));
        }
    }
}
