//! What the drill log says about a plan: the same insight Home and
//! `rollsafe stats` show, read for the plan's rollback playbook and for the
//! plan itself, so the planner's verdict and the recommendations agree.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::insight::{self, Depth, PlaybookInsight, RecommendationKind};
use crate::store::{DrillRow, Store, StoreError};

/// A drill of the plan or of its rollback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rehearsal {
    pub drill_id: i64,
    pub playbook_id: String,
    pub ended_at: DateTime<Utc>,
    /// Time worked on it: pauses and interruptions excluded.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl Rehearsal {
    fn of(row: &DrillRow) -> Self {
        Rehearsal {
            drill_id: row.id,
            playbook_id: row.playbook_id.clone(),
            ended_at: row.ended_at.unwrap_or(row.last_event_at),
            duration: Duration::from_millis(row.active_ms.max(0) as u64),
        }
    }
}

/// What the planner's verdict reads; built by the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanHistory {
    pub now: DateTime<Utc>,
    /// The newest drill of `<plan id>-rollback` that ended, whatever its outcome.
    pub rollback: Option<Rehearsal>,
    /// Why the drill log says the rollback path is not viable: the
    /// `rollback not viable` recommendations for it, one line each.
    pub rollback_not_viable: Vec<String>,
    /// The newest successful drill of the plan itself.
    pub forward: Option<Rehearsal>,
}

impl PlanHistory {
    /// No drill log: nothing rehearsed.
    pub fn none(now: DateTime<Utc>) -> Self {
        PlanHistory {
            now,
            rollback: None,
            rollback_not_viable: Vec::new(),
            forward: None,
        }
    }

    /// From the insights of the rollback playbook and of the plan itself.
    pub fn from_insights(
        rollback: &PlaybookInsight,
        forward: &PlaybookInsight,
        now: DateTime<Utc>,
    ) -> Self {
        PlanHistory {
            now,
            // Only a live drill shows the rollback works and how long it takes.
            rollback: insight::recommend::previous_drill(
                &rollback
                    .drills
                    .iter()
                    .filter(|d| d.mode == crate::drill::Mode::Live)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .map(Rehearsal::of),
            rollback_not_viable: rollback
                .recommendations
                .iter()
                .filter(|r| r.kind == RecommendationKind::RollbackNotViable)
                .map(|r| r.why.clone())
                .collect(),
            forward: forward.stats.last_success.and_then(|id| {
                forward
                    .drills
                    .iter()
                    .find(|d| d.id == id)
                    .map(Rehearsal::of)
            }),
        }
    }

    /// Reads the insights of `<plan_id>-rollback` and of `plan_id` from the log.
    pub fn read(store: &Store, plan_id: &str, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let rollback = insight::gather(store, &rollback_id(plan_id), None, now, Depth::Summary)?;
        let mut forward = insight::gather(store, plan_id, None, now, Depth::Summary)?;
        // The last success may be older than the drills an insight keeps.
        if let Some(id) = forward.stats.last_success
            && !forward.drills.iter().any(|d| d.id == id)
        {
            forward.drills.push(store.drill(id)?);
        }
        Ok(Self::from_insights(&rollback, &forward, now))
    }
}

pub fn rollback_id(plan_id: &str) -> String {
    format!("{plan_id}-rollback")
}
