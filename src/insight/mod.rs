//! What past drills say: durations, failure rates, readiness and what to do
//! next. Pure functions over rows read from the log; nothing here touches SQL
//! or the terminal.

pub mod gather;
pub mod recommend;
pub mod stats;

pub use gather::{Depth, PlaybookInsight, gather};
pub use recommend::{
    PlaybookHistory, Recommendation, RecommendationKind, Severity, readiness, recommend,
};
pub use stats::{
    DrillCounts, DrillFacts, PlaybookStats, SampleWindow, StepDistribution, StepSample, StepStats,
    percentile, playbook_stats, succeeded,
};
