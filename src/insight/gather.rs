//! Reads what one playbook's insight needs from the log, then computes it.
//! The only place that joins the store to the pure statistics, so the CLI,
//! Home and the benchmarks see the same numbers.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::recommend::{self, EVIDENCE_MAX, PlaybookHistory, Recommendation, SAMPLE_WINDOW};
use super::stats::{PlaybookStats, playbook_stats};
use crate::playbook::{self, Loaded};
use crate::store::{DrillRow, Store, StoreError};

/// Newest drills kept with an insight: the stats screen's trend shows at
/// most this many, and the recommendations need fewer.
pub const RECENT_DRILLS: usize = 200;

/// How much of the history an insight reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Counts, totals, readiness and recommendations, with no per-step
    /// statistics: what Home shows for every playbook.
    Summary,
    /// Also per-step medians and rates over every drill.
    Full,
}

/// A playbook's statistics, readiness and recommendations, with the rows behind them.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookInsight {
    #[serde(flatten)]
    pub stats: PlaybookStats,
    /// 0–100, halving every 30 days since the last successful drill.
    pub readiness: u8,
    pub recommendations: Vec<Recommendation>,
    /// Its newest drills (at most [`RECENT_DRILLS`], plus the latest ended
    /// ones), newest first.
    #[serde(skip)]
    pub drills: Vec<DrillRow>,
    /// Open follow-ups of the playbook, oldest first.
    #[serde(skip)]
    pub follow_ups: Vec<crate::store::FollowUpRow>,
}

pub fn gather(
    store: &Store,
    id: &str,
    loaded: Option<&Loaded>,
    now: DateTime<Utc>,
    depth: Depth,
) -> Result<PlaybookInsight, StoreError> {
    let facts = store.drill_facts(id)?;
    let drills = store.recent_drills_of(id, RECENT_DRILLS, EVIDENCE_MAX)?;
    // The step rules read each step's latest results whatever the depth.
    let samples = store.recent_step_samples(id, SAMPLE_WINDOW)?;
    // Every follow-up of the playbook still open, whichever drill noted it.
    let follow_ups = store.follow_ups(Some(id), false)?;
    let hash = loaded.map(|l| playbook::content_hash(&l.source));
    let steps = match depth {
        Depth::Full => store.step_distributions(id)?,
        Depth::Summary => Vec::new(),
    };
    let mut stats = playbook_stats(id, &facts, &steps, hash.as_deref());
    if let Some(l) = loaded {
        // Steps in the order the playbook walks them; steps no longer in it last.
        let order = |step: &str| {
            l.playbook
                .steps()
                .position(|(_, _, s)| s.id == step)
                .unwrap_or(usize::MAX)
        };
        stats.steps.sort_by_key(|s| order(&s.step_id));
    }
    let recommendations = recommend::recommend(
        &PlaybookHistory {
            stats: &stats,
            drills: &drills,
            samples: &samples,
            playbook: loaded.map(|l| &l.playbook),
            current_hash: hash.as_deref(),
            follow_ups: &follow_ups,
        },
        now,
    );
    Ok(PlaybookInsight {
        readiness: recommend::readiness(stats.last_success_at, now),
        stats,
        recommendations,
        drills,
        follow_ups,
    })
}
