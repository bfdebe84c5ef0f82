//! Recommendations from drill history: what to rehearse, fix or read before
//! the next drill, each with the drills that show it and a one-line why.
//!
//! Pure functions over rows read from the log and the playbook as it is now;
//! the clock is an argument. The rules and their thresholds are the constants
//! below, so the planner, Home and `rollsafe stats` all agree.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::stats::{PlaybookStats, SampleWindow, StepSample, percentile, succeeded};
use crate::drill::{Event, EventKind, Outcome};
use crate::playbook::{Playbook, PlaybookKind};
use crate::store::DrillRow;

/// Readiness halves every this many days without a successful drill.
pub const READINESS_HALF_LIFE_DAYS: f64 = 30.0;
/// Below this readiness a playbook gets a `readiness` recommendation
/// (50 = one half-life since its last successful drill).
pub const READINESS_WARN_BELOW: u8 = 50;
/// A rollback or restore path whose last successful drill is older than this
/// is stale: exactly 90 days is still fresh, a second more is not.
pub const ROLLBACK_STALE_AFTER_DAYS: i64 = 90;
/// A step is flagged when, among the last [`FLAKY_WINDOW`] drills that
/// reached it (have a result for it), at least [`FLAKY_MIN_BAD`] ended
/// failed, blocked or skipped.
pub const FLAKY_WINDOW: usize = 5;
/// See [`FLAKY_WINDOW`].
pub const FLAKY_MIN_BAD: usize = 2;
/// A step's last duration regressed when it exceeds its baseline median by
/// this ratio (numerator / denominator: 3/2 = 1.5×), strictly.
pub const REGRESSION_RATIO: (u128, u128) = (3, 2);
/// The baseline needs at least this many earlier timed runs of the step.
pub const REGRESSION_MIN_BASELINE: usize = 3;
/// The baseline is the median of at most this many earlier timed runs (the
/// most recent), so it follows a step whose normal time changed for good.
pub const REGRESSION_BASELINE_WINDOW: usize = 10;
/// At most this many drill ids are given as evidence for a readiness of 0.
pub const EVIDENCE_MAX: usize = 5;
/// The latest results of each step that the step rules read; older ones
/// cannot change a recommendation.
pub const SAMPLE_WINDOW: SampleWindow = SampleWindow {
    any: FLAKY_WINDOW,
    timed: REGRESSION_BASELINE_WINDOW + 1,
};
/// Follow-up text is cut to this many characters to keep `why` one line.
const WHY_TEXT_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    /// Rollback or restore path never rehearsed, stale, failed last time, or over its RTO.
    RollbackNotViable,
    /// Readiness below [`READINESS_WARN_BELOW`].
    Readiness,
    /// A step that keeps failing or being skipped.
    FlakyStep,
    /// A step whose last duration regressed against its median.
    SlowerStep,
    /// A follow-up (TODO note) left by the previous drill.
    OpenFollowUp,
    /// The playbook text differs from the one last drilled.
    ChangedSinceLastDrill,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    pub playbook_id: String,
    pub kind: RecommendationKind,
    pub severity: Severity,
    /// The step concerned, for step rules and follow-ups noted on a step.
    pub step: Option<String>,
    /// One line, no newline.
    pub why: String,
    /// Drill ids that show it, newest first.
    pub evidence: Vec<i64>,
}

/// Everything known about one playbook's history, read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct PlaybookHistory<'a> {
    pub stats: &'a PlaybookStats,
    /// Its drills, any order: all of them, or at least its newest drill and
    /// its [`EVIDENCE_MAX`] newest ended drills.
    pub drills: &'a [DrillRow],
    /// Its step results, any order: all of them, or at least each step's
    /// newest [`SAMPLE_WINDOW`].
    pub samples: &'a [StepSample],
    /// The playbook as it is now, if it can still be loaded.
    pub playbook: Option<&'a Playbook>,
    /// Content hash of the playbook text now.
    pub current_hash: Option<&'a str>,
    /// Open follow-ups of the playbook, oldest first.
    pub follow_ups: &'a [crate::store::FollowUpRow],
}

/// Open follow-ups listed one by one before the rest are counted in one line.
pub const FOLLOW_UPS_LISTED: usize = 3;

/// Readiness 0–100: 100 right after a successful drill, halving every
/// [`READINESS_HALF_LIFE_DAYS`] days (50 at 30 days, 25 at 60), rounded to
/// the nearest integer; 0 when the playbook never had a successful drill.
/// A success stamped after `now` (clock skew) counts as just now.
pub fn readiness(last_success_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u8 {
    let Some(at) = last_success_at else {
        return 0;
    };
    let age_days = (now - at).num_milliseconds().max(0) as f64 / 86_400_000.0;
    let score = 100.0 * 0.5_f64.powf(age_days / READINESS_HALF_LIFE_DAYS);
    score.round().clamp(0.0, 100.0) as u8
}

/// Whether a playbook is a way back: a rollback, a playbook whose id ends
/// in `-rollback`, or a game day that rehearses a restore.
pub fn is_restore_path(playbook_id: &str, playbook: Option<&Playbook>) -> bool {
    if playbook_id.ends_with("-rollback") {
        return true;
    }
    let Some(p) = playbook else {
        return false;
    };
    match p.kind {
        PlaybookKind::Rollback => true,
        PlaybookKind::Gameday => {
            let has = |s: &str| s.to_ascii_lowercase().contains("restore");
            has(&p.id) || has(&p.title) || p.tags.iter().any(|t| has(t))
        }
        _ => false,
    }
}

/// The drill whose follow-ups the next drill should see: the newest one
/// that ended (completed or aborted).
pub fn previous_drill(drills: &[DrillRow]) -> Option<&DrillRow> {
    drills
        .iter()
        .filter(|d| d.status != "running")
        .max_by_key(|d| (d.started_at, d.id))
}

/// Follow-ups (notes marked TODO or FOLLOW-UP) among one drill's events,
/// as (drill id, step id or "", text).
pub fn follow_ups(drill_id: i64, events: &[Event]) -> Vec<(i64, String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Note { step, text, .. } if crate::report::is_follow_up(text) => {
                Some((drill_id, step.clone().unwrap_or_default(), text.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Every recommendation for one playbook, most severe first.
pub fn recommend(input: &PlaybookHistory<'_>, now: DateTime<Utc>) -> Vec<Recommendation> {
    let id = input.stats.playbook_id.as_str();
    let mut drills: Vec<&DrillRow> = input.drills.iter().collect();
    // Newest first.
    drills.sort_by_key(|d| std::cmp::Reverse((d.started_at, d.id)));
    let mut out = Vec::new();
    let mut push = |kind, severity, step: Option<&str>, why: String, evidence: Vec<i64>| {
        out.push(Recommendation {
            playbook_id: id.to_string(),
            kind,
            severity,
            step: step.map(str::to_string),
            why,
            evidence,
        })
    };

    // Readiness.
    let score = readiness(input.stats.last_success_at, now);
    if score < READINESS_WARN_BELOW {
        match (input.stats.last_success, input.stats.last_success_at) {
            (Some(drill), Some(at)) => push(
                RecommendationKind::Readiness,
                Severity::Warn,
                None,
                format!(
                    "readiness {score}/100: last successful live drill #{drill} was {} days ago; rehearse it again",
                    (now - at).num_days()
                ),
                vec![drill],
            ),
            _ => {
                let tried: Vec<i64> = drills
                    .iter()
                    .filter(|d| d.status != "running")
                    .take(EVIDENCE_MAX)
                    .map(|d| d.id)
                    .collect();
                let tabletop_ok = drills
                    .iter()
                    .any(|d| d.mode == crate::drill::Mode::Tabletop && succeeded(d));
                let why = if tried.is_empty() {
                    "readiness 0/100: never rehearsed".to_string()
                } else if tabletop_ok {
                    "readiness 0/100: no live drill of it has succeeded yet; tabletop drills show the steps are known, not that they work or how long they take".to_string()
                } else {
                    "readiness 0/100: no live drill of it has succeeded yet".to_string()
                };
                push(
                    RecommendationKind::Readiness,
                    Severity::Warn,
                    None,
                    why,
                    tried,
                );
            }
        }
    }

    // Rollback and restore paths.
    if is_restore_path(id, input.playbook) {
        let not_viable = "rollback not viable until rehearsed";
        // Only a live drill proves a rollback works and how long it takes.
        let live = |d: &&&DrillRow| d.status != "running" && d.mode == crate::drill::Mode::Live;
        match drills.iter().find(live) {
            None => {
                let tabletop: Vec<i64> = drills
                    .iter()
                    .filter(|d| d.status != "running")
                    .take(EVIDENCE_MAX)
                    .map(|d| d.id)
                    .collect();
                let why = if tabletop.is_empty() {
                    format!("{not_viable}: never rehearsed")
                } else {
                    format!(
                        "{not_viable}: never rehearsed live (tabletop drills show the steps are known, not that the rollback works)"
                    )
                };
                push(
                    RecommendationKind::RollbackNotViable,
                    Severity::Critical,
                    None,
                    why,
                    tabletop,
                )
            }
            Some(last) if !succeeded(last) => push(
                RecommendationKind::RollbackNotViable,
                Severity::Critical,
                None,
                format!(
                    "{not_viable}: its last drill #{} {}",
                    last.id,
                    if last.status == "aborted" {
                        "was aborted"
                    } else {
                        "had failed or blocked steps"
                    }
                ),
                vec![last.id],
            ),
            Some(last) => {
                let active = Duration::from_millis(last.active_ms.max(0) as u64);
                if let Some(rto) = input.playbook.and_then(|p| p.budget)
                    && active > rto
                {
                    push(
                        RecommendationKind::RollbackNotViable,
                        Severity::Critical,
                        None,
                        format!(
                            "{not_viable} within its RTO: drill #{} took {}, budget {}",
                            last.id,
                            crate::playbook::duration::format_clock(active),
                            crate::playbook::duration::format_clock(rto)
                        ),
                        vec![last.id],
                    );
                }
                let at = last.ended_at.unwrap_or(last.last_event_at);
                if now - at > TimeDelta::days(ROLLBACK_STALE_AFTER_DAYS) {
                    push(
                        RecommendationKind::RollbackNotViable,
                        Severity::Critical,
                        None,
                        format!(
                            "{not_viable}: last rehearsed {} days ago (drill #{}), over {ROLLBACK_STALE_AFTER_DAYS}",
                            (now - at).num_days(),
                            last.id
                        ),
                        vec![last.id],
                    );
                }
            }
        }
    }

    // Step rules: samples per step, newest drill first.
    let mut by_step: BTreeMap<&str, Vec<&StepSample>> = BTreeMap::new();
    for s in input.samples {
        by_step.entry(s.step_id.as_str()).or_default().push(s);
    }
    for (step, samples) in &mut by_step {
        samples.sort_by_key(|s| std::cmp::Reverse((s.drill_started_at, s.drill_id)));

        // Keeps failing or being skipped.
        let window = &samples[..samples.len().min(FLAKY_WINDOW)];
        let bad: Vec<&StepSample> = window
            .iter()
            .copied()
            .filter(|s| s.outcome != Outcome::Passed)
            .collect();
        if bad.len() >= FLAKY_MIN_BAD {
            let count = |o: Outcome| bad.iter().filter(|s| s.outcome == o).count();
            let mut parts = Vec::new();
            for (o, word) in [
                (Outcome::Failed, "failed"),
                (Outcome::Blocked, "blocked"),
                (Outcome::Skipped, "skipped"),
            ] {
                if count(o) > 0 {
                    parts.push(format!("{word} {}", count(o)));
                }
            }
            push(
                RecommendationKind::FlakyStep,
                Severity::Warn,
                Some(step),
                format!(
                    "step {step} did not pass in {} of its last {} drills ({}); fix the step or its playbook",
                    bad.len(),
                    window.len(),
                    parts.join(", ")
                ),
                bad.iter().map(|s| s.drill_id).collect(),
            );
        }

        // Duration regressed against its median (live runs only: a tabletop
        // click-through times nothing).
        let timed: Vec<&StepSample> = samples
            .iter()
            .copied()
            .filter(|s| s.outcome != Outcome::Skipped && s.live)
            .collect();
        if let Some((last, earlier)) = timed.split_first()
            && earlier.len() >= REGRESSION_MIN_BASELINE
        {
            let mut baseline: Vec<Duration> = earlier
                .iter()
                .take(REGRESSION_BASELINE_WINDOW)
                .map(|s| s.duration)
                .collect();
            baseline.sort_unstable();
            if let Some(median) = percentile(&baseline, 50) {
                let (num, den) = REGRESSION_RATIO;
                if last.duration.as_millis() * den > median.as_millis() * num {
                    push(
                        RecommendationKind::SlowerStep,
                        Severity::Warn,
                        Some(step),
                        format!(
                            "step {step} took {} in drill #{}, over 1.5× its median {} of {} earlier runs",
                            crate::playbook::duration::format_clock(last.duration),
                            last.drill_id,
                            crate::playbook::duration::format_clock(median),
                            baseline.len()
                        ),
                        vec![last.drill_id],
                    );
                }
            }
        }
    }

    // Open follow-ups, oldest first; past a few, one line says how many more
    // (they stay open until closed, so an old log would flood the list).
    for f in input.follow_ups.iter().take(FOLLOW_UPS_LISTED) {
        let line = one_line(&f.text);
        let drill = f.drill_id;
        let (step, why) = match f.step_id.as_deref().filter(|s| !s.is_empty()) {
            None => (None, format!("open follow-up from drill #{drill}: {line}")),
            Some(step) => (
                Some(step),
                format!("open follow-up from drill #{drill} at {step}: {line}"),
            ),
        };
        push(
            RecommendationKind::OpenFollowUp,
            Severity::Warn,
            step,
            why,
            vec![drill],
        );
    }
    if let Some(rest) = input.follow_ups.get(FOLLOW_UPS_LISTED..)
        && !rest.is_empty()
    {
        let mut drills: Vec<i64> = rest.iter().map(|f| f.drill_id).collect();
        drills.sort_unstable();
        drills.dedup();
        push(
            RecommendationKind::OpenFollowUp,
            Severity::Warn,
            None,
            format!(
                "{} more open follow-up{} (rollsafe followup list --playbook {} shows them; close what is done)",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" },
                input.stats.playbook_id
            ),
            drills,
        );
    }

    // Changed since its last drill.
    if let (Some(hash), Some(last)) = (input.current_hash, drills.first())
        && hash != last.content_hash
    {
        let restore = is_restore_path(id, input.playbook);
        push(
            RecommendationKind::ChangedSinceLastDrill,
            if restore {
                Severity::Warn
            } else {
                Severity::Info
            },
            None,
            format!(
                "the playbook changed since its last drill #{}; rehearse the new version{}",
                last.id,
                if restore { " before relying on it" } else { "" }
            ),
            vec![last.id],
        );
    }

    // Most severe first; the rule order above within a severity.
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > WHY_TEXT_MAX {
        let cut: String = flat.chars().take(WHY_TEXT_MAX - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Mode;
    use crate::insight::{DrillFacts, StepDistribution, playbook_stats};

    const DAY: i64 = 86_400;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn at(s: i64) -> DateTime<Utc> {
        t0() + TimeDelta::seconds(s)
    }

    /// A drill that starts at `start` (seconds after t0) and works `active` seconds.
    fn open_follow_up(drill: i64, step: &str, text: &str) -> crate::store::FollowUpRow {
        crate::store::FollowUpRow {
            id: drill * 100,
            drill_id: drill,
            playbook_id: "p".into(),
            step_id: Some(step.to_string()).filter(|s| !s.is_empty()),
            text: text.into(),
            created_at: at(0),
            closed_at: None,
            closed_note: None,
        }
    }

    #[test]
    fn past_three_open_follow_ups_one_line_counts_the_rest() {
        let follow: Vec<_> = (1..=7)
            .map(|d| open_follow_up(d, "s", &format!("TODO: item {d}")))
            .collect();
        let recs = run(
            None,
            &[row(7, "completed", 0, 0, 60)],
            &[],
            None,
            &follow,
            at(60),
        );
        let r = of(&recs, RecommendationKind::OpenFollowUp);
        assert_eq!(r.len(), FOLLOW_UPS_LISTED + 1);
        assert!(
            r[0].why.ends_with("TODO: item 1"),
            "oldest first: {}",
            r[0].why
        );
        let last = r.last().unwrap();
        assert!(
            last.why
                .starts_with("4 more open follow-ups (rollsafe followup list --playbook p"),
            "{}",
            last.why
        );
        assert_eq!(last.evidence, vec![4, 5, 6, 7]);
    }

    fn row(id: i64, status: &str, failed: i64, start: i64, active: i64) -> DrillRow {
        DrillRow {
            id,
            playbook_id: "p".into(),
            playbook_title: "P".into(),
            // Live: only live drills count as evidence of duration and rollback.
            mode: Mode::Live,
            operator: "ana".into(),
            status: status.into(),
            content_hash: "h".into(),
            started_at: at(start),
            ended_at: (status != "running").then(|| at(start + active)),
            last_event_at: at(start + active),
            steps_total: 3,
            passed: 3 - failed,
            failed,
            skipped: 0,
            blocked: 0,
            active_ms: active * 1000,
            alive_at: None,
        }
    }

    fn sample(drill: i64, step: &str, outcome: Outcome, ms: u64) -> StepSample {
        StepSample {
            drill_id: drill,
            step_id: step.into(),
            outcome,
            duration: Duration::from_millis(ms),
            drill_started_at: at(drill * DAY),
            live: true,
        }
    }

    fn playbook(id: &str, kind: PlaybookKind, budget_secs: Option<u64>) -> Playbook {
        Playbook {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            kind,
            tags: vec![],
            budget: budget_secs.map(Duration::from_secs),
            variables: vec![],
            sources: vec![],
            phases: vec![],
            probe: None,
            page: None,
        }
    }

    /// Runs `recommend` for playbook "p" (or `pb`'s id) over the given rows.
    fn run(
        pb: Option<&Playbook>,
        drills: &[DrillRow],
        samples: &[StepSample],
        hash: Option<&str>,
        follow: &[crate::store::FollowUpRow],
        now: DateTime<Utc>,
    ) -> Vec<Recommendation> {
        let id = pb.map_or("p", |p| p.id.as_str());
        let stats = playbook_stats(
            id,
            &DrillFacts::from_rows(drills),
            &StepDistribution::from_samples(samples),
            hash,
        );
        recommend(
            &PlaybookHistory {
                stats: &stats,
                drills,
                samples,
                playbook: pb,
                current_hash: hash,
                follow_ups: follow,
            },
            now,
        )
    }

    fn of(recs: &[Recommendation], kind: RecommendationKind) -> Vec<&Recommendation> {
        recs.iter().filter(|r| r.kind == kind).collect()
    }

    #[test]
    fn readiness_decays_by_half_life_and_never_rehearsed_is_zero() {
        let now = at(1000 * DAY);
        assert_eq!(readiness(None, now), 0);
        assert_eq!(readiness(Some(now), now), 100);
        assert_eq!(readiness(Some(now - TimeDelta::days(30)), now), 50);
        assert_eq!(readiness(Some(now - TimeDelta::days(60)), now), 25);
        assert_eq!(readiness(Some(now - TimeDelta::days(15)), now), 71);
        assert_eq!(readiness(Some(now - TimeDelta::days(1)), now), 98);
        assert_eq!(readiness(Some(now - TimeDelta::days(400)), now), 0);
        // Never rises with age, and falls every week while it is 10 or more.
        let score = |day: i64| readiness(Some(now - TimeDelta::days(day)), now);
        for day in 0..=300 {
            assert!(score(day + 1) <= score(day), "day {day}");
        }
        for week in 0..30 {
            let (a, b) = (score(week * 7), score(week * 7 + 7));
            // Below 10 a week's decay can round away; above it, it must show.
            assert!(b < a || a < 10, "week {week}: {b} after {a}");
        }
        // A success in the future (clock skew) is not above 100.
        assert_eq!(readiness(Some(now + TimeDelta::days(3)), now), 100);
    }

    #[test]
    fn readiness_recommendation_below_one_half_life_with_last_success_as_evidence() {
        let drills = vec![
            row(1, "completed", 0, 0, 60),
            row(2, "completed", 1, DAY, 60),
        ];
        // Last success (#1) ended at 60 s; 30 days later readiness is exactly 50: no warning.
        let fresh = run(None, &drills, &[], None, &[], at(60 + 30 * DAY));
        assert!(of(&fresh, RecommendationKind::Readiness).is_empty());
        let stale = run(None, &drills, &[], None, &[], at(60 + 31 * DAY));
        let r = of(&stale, RecommendationKind::Readiness);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![1]);
        assert!(r[0].why.starts_with("readiness 49/100"), "{}", r[0].why);

        let failed = vec![row(3, "completed", 1, 0, 60), row(4, "aborted", 0, DAY, 5)];
        let r = run(None, &failed, &[], None, &[], at(2 * DAY));
        let r = of(&r, RecommendationKind::Readiness);
        assert_eq!(r[0].evidence, vec![4, 3], "newest first");
        assert!(r[0].why.contains("no live drill of it has succeeded"));
    }

    #[test]
    fn tabletop_drills_prove_neither_readiness_nor_a_rollback() {
        let mut tabletop = row(1, "completed", 0, 0, 7);
        tabletop.mode = Mode::Tabletop;
        let drills = vec![tabletop];
        let pb = playbook("rollback-x", PlaybookKind::Rollback, Some(3600));
        let r = run(Some(&pb), &drills, &[], None, &[], at(DAY));
        let readiness = of(&r, RecommendationKind::Readiness);
        assert!(
            readiness[0]
                .why
                .starts_with("readiness 0/100: no live drill"),
            "{}",
            readiness[0].why
        );
        let rollback = of(&r, RecommendationKind::RollbackNotViable);
        assert!(
            rollback[0].why.contains("never rehearsed live"),
            "{}",
            rollback[0].why
        );
        assert_eq!(rollback[0].evidence, vec![1]);
    }

    #[test]
    fn restore_paths_are_rollbacks_rollback_ids_and_restore_gamedays() {
        assert!(is_restore_path(
            "x",
            Some(&playbook("x", PlaybookKind::Rollback, None))
        ));
        assert!(is_restore_path("app-rollback", None));
        assert!(is_restore_path(
            "pg-pitr-restore-drill",
            Some(&playbook(
                "pg-pitr-restore-drill",
                PlaybookKind::Gameday,
                None
            ))
        ));
        assert!(!is_restore_path(
            "chaos-day",
            Some(&playbook("chaos-day", PlaybookKind::Gameday, None))
        ));
        assert!(!is_restore_path(
            "pg-rename-column",
            Some(&playbook("pg-rename-column", PlaybookKind::Migration, None))
        ));
        assert!(!is_restore_path("rollback-notes", None));
    }

    #[test]
    fn rollback_never_rehearsed_is_critical() {
        let pb = playbook("db-rollback", PlaybookKind::Rollback, Some(600));
        // A drill still running is not a rehearsal.
        let recs = run(
            Some(&pb),
            &[row(7, "running", 0, 0, 10)],
            &[],
            None,
            &[],
            at(DAY),
        );
        assert_eq!(recs[0].kind, RecommendationKind::RollbackNotViable);
        assert_eq!(recs[0].severity, Severity::Critical);
        assert!(recs[0].why.contains("rollback not viable until rehearsed"));
        assert!(recs[0].why.contains("never rehearsed"));
        assert!(recs[0].evidence.is_empty());
        // A migration playbook with the same history has no rollback recommendation.
        let other = playbook("p", PlaybookKind::Migration, Some(600));
        let recs = run(Some(&other), &[], &[], None, &[], at(DAY));
        assert!(of(&recs, RecommendationKind::RollbackNotViable).is_empty());
    }

    #[test]
    fn rollback_stale_exactly_at_ninety_days_is_still_fresh() {
        let pb = playbook("db-rollback", PlaybookKind::Rollback, None);
        let drills = vec![
            row(1, "completed", 0, 0, 100),
            row(2, "completed", 0, DAY, 100),
        ];
        let ended = DAY + 100;
        let boundary = run(Some(&pb), &drills, &[], None, &[], at(ended + 90 * DAY));
        assert!(of(&boundary, RecommendationKind::RollbackNotViable).is_empty());
        let past = run(Some(&pb), &drills, &[], None, &[], at(ended + 90 * DAY + 1));
        let r = of(&past, RecommendationKind::RollbackNotViable);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![2]);
        assert!(r[0].why.contains("90 days ago"), "{}", r[0].why);
    }

    #[test]
    fn rollback_failed_last_time_names_the_last_drill_not_an_older_one() {
        let pb = playbook("db-rollback", PlaybookKind::Rollback, None);
        // Given out of order: the newest (by start) is #5, which failed.
        let drills = vec![
            row(5, "completed", 1, 3 * DAY, 100),
            row(3, "completed", 0, DAY, 100),
            row(4, "completed", 0, 2 * DAY, 100),
            row(6, "running", 0, 4 * DAY, 10),
        ];
        let recs = run(Some(&pb), &drills, &[], None, &[], at(5 * DAY));
        let r = of(&recs, RecommendationKind::RollbackNotViable);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![5]);
        assert!(r[0].why.contains("#5"));
        // An aborted last drill is not viable either.
        let aborted = vec![
            row(3, "completed", 0, DAY, 100),
            row(8, "aborted", 0, 2 * DAY, 5),
        ];
        let recs = run(Some(&pb), &aborted, &[], None, &[], at(3 * DAY));
        assert_eq!(
            of(&recs, RecommendationKind::RollbackNotViable)[0].evidence,
            vec![8]
        );
    }

    #[test]
    fn rollback_over_its_rto_but_not_at_it() {
        let pb = playbook("pitr", PlaybookKind::Gameday, Some(3600));
        let mut pb = pb;
        pb.tags = vec!["restore".into()];
        let at_rto = vec![row(1, "completed", 0, 0, 3600)];
        let recs = run(Some(&pb), &at_rto, &[], None, &[], at(DAY));
        assert!(of(&recs, RecommendationKind::RollbackNotViable).is_empty());
        let over = vec![
            row(1, "completed", 0, 0, 3600),
            row(2, "completed", 0, 3600, 3601),
        ];
        let recs = run(Some(&pb), &over, &[], None, &[], at(DAY));
        let r = of(&recs, RecommendationKind::RollbackNotViable);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![2]);
        assert!(r[0].why.contains("RTO"), "{}", r[0].why);
    }

    #[test]
    fn step_bad_in_exactly_two_of_last_five_is_flagged_one_is_not() {
        // Drills 1..=7 in start order; "s" failed in #2 (outside the window of
        // the last five: #3..#7), skipped in #4, blocked in #7.
        let drills: Vec<DrillRow> = (1..=7)
            .map(|i| row(i, "completed", 0, i * DAY, 60))
            .collect();
        let outcome = |i: i64| match i {
            2 => Outcome::Failed,
            4 => Outcome::Skipped,
            7 => Outcome::Blocked,
            _ => Outcome::Passed,
        };
        let samples: Vec<StepSample> = (1..=7).map(|i| sample(i, "s", outcome(i), 1000)).collect();
        let recs = run(None, &drills, &samples, None, &[], at(8 * DAY));
        let r = of(&recs, RecommendationKind::FlakyStep);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].step.as_deref(), Some("s"));
        assert_eq!(r[0].evidence, vec![7, 4]);
        assert!(r[0].why.contains("2 of its last 5"), "{}", r[0].why);

        // Only one bad result in the window (#1 is the sixth newest): nothing.
        let one: Vec<StepSample> = (1..=6)
            .map(|i| {
                sample(
                    i,
                    "s",
                    if i == 1 || i == 6 {
                        Outcome::Failed
                    } else {
                        Outcome::Passed
                    },
                    1000,
                )
            })
            .collect();
        let recs = run(None, &drills[..6], &one, None, &[], at(8 * DAY));
        assert!(of(&recs, RecommendationKind::FlakyStep).is_empty());
    }

    #[test]
    fn flaky_window_counts_drills_that_reached_the_step() {
        // Ten drills; the step was reached only in #1, #2 and #10. The last five
        // that reached it are those three, two of which failed.
        let drills: Vec<DrillRow> = (1..=10)
            .map(|i| row(i, "aborted", 0, i * DAY, 60))
            .collect();
        let samples = vec![
            sample(1, "late", Outcome::Failed, 10),
            sample(2, "late", Outcome::Passed, 10),
            sample(10, "late", Outcome::Failed, 10),
        ];
        let recs = run(None, &drills, &samples, None, &[], at(11 * DAY));
        assert_eq!(
            of(&recs, RecommendationKind::FlakyStep)[0].evidence,
            vec![10, 1]
        );
    }

    #[test]
    fn regression_uses_the_median_not_the_mean() {
        let drills: Vec<DrillRow> = (1..=5)
            .map(|i| row(i, "completed", 0, i * DAY, 60))
            .collect();
        // Earlier runs 10, 10, 10, 100 s: median 10 (mean 32.5). Last run 20 s:
        // over 1.5 × 10 = 15, under 1.5 × 32.5. A mean would miss it.
        let samples = vec![
            sample(1, "s", Outcome::Passed, 10_000),
            sample(2, "s", Outcome::Passed, 100_000),
            sample(3, "s", Outcome::Passed, 10_000),
            sample(4, "s", Outcome::Passed, 10_000),
            sample(5, "s", Outcome::Passed, 20_000),
        ];
        let recs = run(None, &drills, &samples, None, &[], at(6 * DAY));
        let r = of(&recs, RecommendationKind::SlowerStep);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![5]);

        // Earlier 10, 100, 100 s: median 100 (mean 70). Last 120 s is under
        // 150 but over a mean's 105: not a regression.
        let samples = vec![
            sample(2, "s", Outcome::Passed, 10_000),
            sample(3, "s", Outcome::Passed, 100_000),
            sample(4, "s", Outcome::Passed, 100_000),
            sample(5, "s", Outcome::Passed, 120_000),
        ];
        let recs = run(None, &drills, &samples, None, &[], at(6 * DAY));
        assert!(of(&recs, RecommendationKind::SlowerStep).is_empty());
    }

    #[test]
    fn regression_boundaries_ratio_and_minimum_baseline() {
        let drills: Vec<DrillRow> = (1..=4)
            .map(|i| row(i, "completed", 0, i * DAY, 60))
            .collect();
        let with_last = |last_ms: u64| {
            vec![
                sample(1, "s", Outcome::Passed, 10_000),
                sample(2, "s", Outcome::Passed, 10_000),
                sample(3, "s", Outcome::Passed, 10_000),
                sample(4, "s", Outcome::Passed, last_ms),
            ]
        };
        let slower = |samples: &[StepSample], drills: &[DrillRow]| {
            of(
                &run(None, drills, samples, None, &[], at(9 * DAY)),
                RecommendationKind::SlowerStep,
            )
            .len()
        };
        assert_eq!(
            slower(&with_last(15_000), &drills),
            0,
            "exactly 1.5× is not over"
        );
        assert_eq!(slower(&with_last(15_001), &drills), 1);
        // Two earlier runs are not enough of a baseline.
        assert_eq!(slower(&with_last(50_000)[1..], &drills), 0);
        // A skip is not a timed run: the last timed run is #3, not the skipped #4.
        let mut skipped = with_last(50_000);
        skipped[3].outcome = Outcome::Skipped;
        assert_eq!(slower(&skipped, &drills), 0);
    }

    #[test]
    fn follow_ups_become_recommendations_with_their_drill() {
        let follow = vec![
            open_follow_up(12, "backfill", "TODO: batch size\nfrom 10k to 1k"),
            open_follow_up(12, "", "TODO page the DBA earlier"),
        ];
        let recs = run(
            None,
            &[row(12, "completed", 0, 0, 60)],
            &[],
            None,
            &follow,
            at(60),
        );
        let r = of(&recs, RecommendationKind::OpenFollowUp);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].evidence, vec![12]);
        assert_eq!(r[0].step.as_deref(), Some("backfill"));
        assert_eq!(
            r[0].why,
            "open follow-up from drill #12 at backfill: TODO: batch size from 10k to 1k"
        );
        assert_eq!(r[1].step, None);
        assert!(recs.iter().all(|r| !r.why.contains('\n')));
    }

    #[test]
    fn follow_ups_are_read_from_the_previous_ended_drill() {
        use crate::drill::Event;
        let note = |step: Option<&str>, text: &str| Event {
            at: at(0),
            kind: EventKind::Note {
                step: step.map(str::to_string),
                text: text.into(),
                by: None,
            },
        };
        let events = vec![
            note(Some("a"), "looked fine"),
            note(Some("b"), "todo: raise the timebox"),
            note(None, "FOLLOW-UP: runbook link"),
        ];
        assert_eq!(
            follow_ups(4, &events),
            vec![
                (4, "b".to_string(), "todo: raise the timebox".to_string()),
                (4, String::new(), "FOLLOW-UP: runbook link".to_string()),
            ]
        );
        let drills = vec![
            row(3, "completed", 0, 0, 60),
            row(4, "aborted", 0, DAY, 60),
            row(5, "running", 0, 2 * DAY, 60),
        ];
        assert_eq!(previous_drill(&drills).map(|d| d.id), Some(4));
    }

    #[test]
    fn changed_since_last_drill_points_at_the_newest_drill() {
        let mut drills = vec![
            row(1, "completed", 0, 0, 60),
            row(2, "completed", 0, DAY, 60),
        ];
        drills[0].content_hash = "new".into();
        // #2 is the newest and was run with "h": changed.
        let recs = run(None, &drills, &[], Some("new"), &[], at(2 * DAY));
        let r = of(&recs, RecommendationKind::ChangedSinceLastDrill);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].evidence, vec![2]);
        assert_eq!(r[0].severity, Severity::Info);
        let same = run(None, &drills, &[], Some("h"), &[], at(2 * DAY));
        assert!(of(&same, RecommendationKind::ChangedSinceLastDrill).is_empty());
        let unknown = run(None, &drills, &[], None, &[], at(2 * DAY));
        assert!(of(&unknown, RecommendationKind::ChangedSinceLastDrill).is_empty());
    }

    #[test]
    fn most_severe_first_and_serialized_in_lowercase() {
        let pb = playbook("db-rollback", PlaybookKind::Rollback, None);
        let drills = vec![row(1, "completed", 0, 0, 60)];
        let recs = run(Some(&pb), &drills, &[], Some("other"), &[], at(200 * DAY));
        let severities: Vec<Severity> = recs.iter().map(|r| r.severity).collect();
        let mut sorted = severities.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(severities, sorted);
        assert_eq!(recs[0].severity, Severity::Critical);
        let json = serde_json::to_value(&recs[0]).unwrap();
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["kind"], "rollback_not_viable");
        assert_eq!(json["evidence"], serde_json::json!([1]));
    }
}
