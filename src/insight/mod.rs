//! What past drills say: durations, failure rates, readiness. Pure functions
//! over rows read from the log; nothing here touches SQL or the terminal.

pub mod stats;

pub use stats::{PlaybookStats, StepSample, StepStats, percentile, playbook_stats};
