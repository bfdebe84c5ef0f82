//! Statistics over finished drills. Medians and percentiles, never means:
//! one drill stalled for an hour must not make every estimate an hour long.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::drill::Outcome;
use crate::store::DrillRow;

/// One step's result in one drill, as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSample {
    pub drill_id: i64,
    pub step_id: String,
    pub outcome: Outcome,
    pub duration: Duration,
    /// When its drill started: the order "newest first" means.
    pub drill_started_at: DateTime<Utc>,
    /// From a live drill. Only those time a step: a tabletop click-through
    /// shows people know it, not how long it takes.
    pub live: bool,
}

/// One step's results over every drill: counts by outcome, and the sorted
/// durations of the runs that were done (a skip takes no time worth
/// estimating). The store reads it from an index;
/// [`StepDistribution::from_samples`] is the same from samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepDistribution {
    pub step_id: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
    /// Durations of the passed, failed and blocked runs of live drills, ascending.
    pub done: Vec<Duration>,
}

impl StepDistribution {
    /// Groups samples by step, in step id order.
    pub fn from_samples(samples: &[StepSample]) -> Vec<StepDistribution> {
        let mut by_step: BTreeMap<&str, StepDistribution> = BTreeMap::new();
        for s in samples {
            let d = by_step
                .entry(s.step_id.as_str())
                .or_insert_with(|| StepDistribution {
                    step_id: s.step_id.clone(),
                    ..StepDistribution::default()
                });
            match s.outcome {
                Outcome::Passed => d.passed += 1,
                Outcome::Failed => d.failed += 1,
                Outcome::Skipped => d.skipped += 1,
                Outcome::Blocked => d.blocked += 1,
            }
            if s.outcome != Outcome::Skipped && s.live {
                d.done.push(s.duration);
            }
        }
        let mut out: Vec<StepDistribution> = by_step.into_values().collect();
        for d in &mut out {
            d.done.sort_unstable();
        }
        out
    }
}

/// How many of each step's latest results the recommendations read: at least
/// `any` results, and at least `timed` that were not skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleWindow {
    pub any: usize,
    pub timed: usize,
}

/// How one playbook's drills add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrillCounts {
    pub drills: usize,
    pub completed: usize,
    pub aborted: usize,
    pub running: usize,
    pub succeeded: usize,
}

/// What the statistics need from all of a playbook's drills. The store reads
/// it with aggregates; [`DrillFacts::from_rows`] is the same from rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillFacts {
    pub counts: DrillCounts,
    /// Active times of the successful live drills, sorted ascending.
    pub success_durations: Vec<Duration>,
    /// The newest successful live drill and when it ended.
    pub last_success: Option<(i64, DateTime<Utc>)>,
    /// The content hash of the newest drill.
    pub latest_hash: Option<String>,
}

impl DrillFacts {
    pub fn from_rows(drills: &[DrillRow]) -> Self {
        let count = |f: &dyn Fn(&DrillRow) -> bool| drills.iter().filter(|d| f(d)).count();
        // Durations and the last success count live drills only.
        let live_success = |d: &&DrillRow| succeeded(d) && d.mode == crate::drill::Mode::Live;
        let mut success_durations: Vec<Duration> = drills
            .iter()
            .filter(live_success)
            .map(|d| Duration::from_millis(d.active_ms.max(0) as u64))
            .collect();
        success_durations.sort_unstable();
        DrillFacts {
            counts: DrillCounts {
                drills: drills.len(),
                completed: count(&|d| d.status == "completed"),
                aborted: count(&|d| d.status == "aborted"),
                running: count(&|d| d.status == "running"),
                succeeded: count(&|d| succeeded(d)),
            },
            success_durations,
            last_success: drills
                .iter()
                .filter(live_success)
                .max_by_key(|d| (d.started_at, d.id))
                .map(|d| (d.id, d.ended_at.unwrap_or(d.last_event_at))),
            latest_hash: drills
                .iter()
                .max_by_key(|d| (d.started_at, d.id))
                .map(|d| d.content_hash.clone()),
        }
    }
}

/// Nearest-rank percentile (p in 0..=100) of sorted values: the smallest
/// value with at least p% of the values at or below it.
pub fn percentile(sorted: &[Duration], p: u32) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.min(100) as usize;
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStats {
    pub step_id: String,
    pub runs: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub blocked: usize,
    #[serde(serialize_with = "secs_opt")]
    pub median: Option<Duration>,
    #[serde(serialize_with = "secs_opt")]
    pub p90: Option<Duration>,
}

impl StepStats {
    /// Runs that failed. A blocked step did not fail (something outside it
    /// stopped it), so it has its own rate, as in `--json`.
    pub fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.runs)
    }
    pub fn blocked_rate(&self) -> f64 {
        ratio(self.blocked, self.runs)
    }
    pub fn skip_rate(&self) -> f64 {
        ratio(self.skipped, self.runs)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookStats {
    pub playbook_id: String,
    pub drills: usize,
    pub completed: usize,
    pub aborted: usize,
    pub running: usize,
    /// Completed with no failed or blocked step, out of all ended drills.
    pub succeeded: usize,
    #[serde(serialize_with = "secs_opt")]
    pub median_total: Option<Duration>,
    #[serde(serialize_with = "secs_opt")]
    pub p90_total: Option<Duration>,
    pub last_success: Option<i64>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Whether the playbook text differs from the one last drilled.
    pub changed_since_last_drill: Option<bool>,
    pub steps: Vec<StepStats>,
}

impl PlaybookStats {
    pub fn success_rate(&self) -> f64 {
        ratio(self.succeeded, self.completed + self.aborted)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn secs_opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

pub fn succeeded(row: &DrillRow) -> bool {
    row.status == "completed" && row.failed + row.blocked == 0
}

/// Statistics for one playbook: `facts` sum up its drills, `steps` their
/// steps' results (none when only the summary is wanted), `current_hash`
/// the content hash of the playbook now.
pub fn playbook_stats(
    playbook_id: &str,
    facts: &DrillFacts,
    steps: &[StepDistribution],
    current_hash: Option<&str>,
) -> PlaybookStats {
    let steps = steps
        .iter()
        .map(|d| StepStats {
            step_id: d.step_id.clone(),
            runs: d.passed + d.failed + d.skipped + d.blocked,
            passed: d.passed,
            failed: d.failed,
            skipped: d.skipped,
            blocked: d.blocked,
            median: percentile(&d.done, 50),
            p90: percentile(&d.done, 90),
        })
        .collect();

    let c = facts.counts;
    PlaybookStats {
        playbook_id: playbook_id.to_string(),
        drills: c.drills,
        completed: c.completed,
        aborted: c.aborted,
        running: c.running,
        succeeded: c.succeeded,
        median_total: percentile(&facts.success_durations, 50),
        p90_total: percentile(&facts.success_durations, 90),
        last_success: facts.last_success.map(|(id, _)| id),
        last_success_at: facts.last_success.map(|(_, at)| at),
        changed_since_last_drill: current_hash
            .zip(facts.latest_hash.as_deref())
            .map(|(now, last)| now != last),
        steps,
    }
}

/// Time still to go in a drill: for each step without an outcome, its
/// historical median (else its timebox), less what the open step has used.
pub fn remaining_estimate(
    pending: &[(String, Option<Duration>, Duration)],
    medians: &BTreeMap<String, Duration>,
) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut known = false;
    for (step, timebox, spent) in pending {
        if let Some(estimate) = medians.get(step).copied().or(*timebox) {
            total += estimate.saturating_sub(*spent);
            known = true;
        }
    }
    known.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Mode;

    fn secs(list: &[u64]) -> Vec<Duration> {
        let mut v: Vec<Duration> = list.iter().map(|s| Duration::from_secs(*s)).collect();
        v.sort_unstable();
        v
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn row(id: i64, status: &str, failed: i64, active_secs: i64, hash: &str) -> DrillRow {
        DrillRow {
            id,
            playbook_id: "p".into(),
            playbook_title: "P".into(),
            mode: Mode::Live,
            operator: "ana".into(),
            status: status.into(),
            content_hash: hash.into(),
            started_at: at(id * 1000),
            ended_at: (status != "running").then(|| at(id * 1000 + active_secs)),
            last_event_at: at(id * 1000 + active_secs),
            steps_total: 3,
            passed: 3 - failed,
            failed,
            skipped: 0,
            blocked: 0,
            active_ms: active_secs * 1000,
            alive_at: None,
        }
    }

    fn sample(drill: i64, step: &str, outcome: Outcome, s: u64) -> StepSample {
        StepSample {
            drill_id: drill,
            step_id: step.into(),
            outcome,
            duration: Duration::from_secs(s),
            drill_started_at: at(drill * 1000),
            live: true,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = secs(&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(percentile(&v, 50), Some(Duration::from_secs(50)));
        assert_eq!(percentile(&v, 90), Some(Duration::from_secs(90)));
        assert_eq!(percentile(&v, 91), Some(Duration::from_secs(100)));
        assert_eq!(percentile(&v, 100), Some(Duration::from_secs(100)));
        assert_eq!(percentile(&v, 0), Some(Duration::from_secs(10)));
        assert_eq!(percentile(&secs(&[7]), 90), Some(Duration::from_secs(7)));
        assert_eq!(percentile(&[], 50), None);
        // Odd count: the middle value, not an average of neighbours.
        assert_eq!(
            percentile(&secs(&[1, 2, 100]), 50),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn one_stalled_drill_does_not_move_the_median() {
        let drills = vec![
            row(1, "completed", 0, 600, "h"),
            row(2, "completed", 0, 660, "h"),
            row(3, "completed", 0, 10_000, "h"),
            row(4, "completed", 1, 100, "h"),
            row(5, "aborted", 0, 50, "h"),
            row(6, "running", 0, 20, "h"),
        ];
        let stats = playbook_stats("p", &DrillFacts::from_rows(&drills), &[], Some("h"));
        // Successful drills: 600, 660, 10000 -> median 660 (a mean would be 3753).
        assert_eq!(stats.median_total, Some(Duration::from_secs(660)));
        assert_eq!(stats.p90_total, Some(Duration::from_secs(10_000)));
        assert_eq!(
            (stats.drills, stats.completed, stats.aborted, stats.running),
            (6, 4, 1, 1)
        );
        assert_eq!(stats.succeeded, 3);
        assert!(
            (stats.success_rate() - 0.6).abs() < 1e-9,
            "3 of 5 ended drills"
        );
        assert_eq!(stats.last_success, Some(3));
        assert_eq!(stats.changed_since_last_drill, Some(false));
        let changed = playbook_stats("p", &DrillFacts::from_rows(&drills), &[], Some("other"));
        assert_eq!(changed.changed_since_last_drill, Some(true));
    }

    #[test]
    fn per_step_rates_and_medians_ignore_skips_for_time() {
        let samples = vec![
            sample(1, "backfill", Outcome::Passed, 100),
            sample(2, "backfill", Outcome::Failed, 300),
            sample(3, "backfill", Outcome::Skipped, 1),
            sample(4, "backfill", Outcome::Passed, 200),
            sample(1, "announce", Outcome::Passed, 5),
            sample(2, "announce", Outcome::Blocked, 5),
        ];
        let stats = playbook_stats(
            "p",
            &DrillFacts::default(),
            &StepDistribution::from_samples(&samples),
            None,
        );
        let backfill = stats
            .steps
            .iter()
            .find(|s| s.step_id == "backfill")
            .unwrap();
        assert_eq!(backfill.runs, 4);
        assert_eq!(backfill.median, Some(Duration::from_secs(200)));
        assert_eq!(backfill.p90, Some(Duration::from_secs(300)));
        assert!((backfill.failure_rate() - 0.25).abs() < 1e-9);
        assert_eq!(backfill.blocked_rate(), 0.0);
        assert!((backfill.skip_rate() - 0.25).abs() < 1e-9);
        // A blocked step is not a failed one.
        let announce = stats
            .steps
            .iter()
            .find(|s| s.step_id == "announce")
            .unwrap();
        assert_eq!(announce.failure_rate(), 0.0);
        assert!((announce.blocked_rate() - 0.5).abs() < 1e-9);
        assert_eq!(stats.changed_since_last_drill, None);
    }

    #[test]
    fn remaining_time_uses_medians_then_timeboxes() {
        let medians = BTreeMap::from([("a".to_string(), Duration::from_secs(100))]);
        let pending = vec![
            (
                "a".to_string(),
                Some(Duration::from_secs(999)),
                Duration::from_secs(30),
            ),
            (
                "b".to_string(),
                Some(Duration::from_secs(60)),
                Duration::ZERO,
            ),
            ("c".to_string(), None, Duration::ZERO),
        ];
        assert_eq!(
            remaining_estimate(&pending, &medians),
            Some(Duration::from_secs(130))
        );
        assert_eq!(remaining_estimate(&pending[2..], &medians), None);
    }
}
