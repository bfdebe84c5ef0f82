//! Home reads a summary of each playbook's history (aggregates and each
//! step's latest few results) instead of all of it. These tests hold the
//! summary to what the whole history gives, on a log long and varied enough
//! that reading less would show: hundreds of drills with failures, skips,
//! blocks, aborts, drills left running, follow-ups and a changed playbook.

use chrono::{DateTime, TimeDelta, Utc};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::insight::{self, Depth, DrillFacts, SampleWindow, StepDistribution, recommend};
use rollsafe::playbook::{Library, Loaded};
use rollsafe::store::Store;

/// A follow-up as noted: when, in which drill, its place there, and what it says.
type Noted = (DateTime<Utc>, i64, usize, (i64, String, String));

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// xorshift64*: the same history on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Appends one drill of `loaded` starting at `t0`, walking its steps with
/// outcomes and durations drawn from `rng`.
fn drill(store: &mut Store, loaded: &Loaded, t0: i64, rng: &mut Rng) {
    let mut session = Session::start(store, loaded, Mode::Tabletop, "ana", at(t0)).unwrap();
    let steps: Vec<String> = loaded
        .playbook
        .steps()
        .map(|(_, _, s)| s.id.clone())
        .collect();
    let mut t = t0;
    for step in &steps {
        // Some drills stop early: left running, or aborted.
        match rng.below(100) {
            0 => return,
            1 => {
                let kind = EventKind::Aborted {
                    reason: "out of time".into(),
                };
                session.record(store, at(t + 1), kind).unwrap();
                return;
            }
            _ => {}
        }
        session
            .record(store, at(t), EventKind::StepStarted { step: step.clone() })
            .unwrap();
        // A slow tail: one step in ten takes five times as long.
        let base = 30 + rng.below(60) as i64;
        t += if rng.below(10) == 0 { base * 5 } else { base };
        let kind = match rng.below(100) {
            0..=5 => EventKind::StepFailed {
                step: step.clone(),
                reason: "lock timeout".into(),
            },
            6..=11 => EventKind::StepSkipped {
                step: step.clone(),
                reason: "not needed".into(),
            },
            12..=14 => EventKind::StepBlocked {
                step: step.clone(),
                reason: "no access".into(),
            },
            _ => EventKind::StepPassed { step: step.clone() },
        };
        session.record(store, at(t), kind).unwrap();
        if rng.below(40) == 0 {
            let note = EventKind::Note {
                step: Some(step.clone()),
                text: "TODO: alert on replica lag".into(),
                by: None,
            };
            session.record(store, at(t), note).unwrap();
        }
    }
    session
        .record(store, at(t + 1), EventKind::Finished)
        .unwrap();
}

fn history() -> (Store, Library) {
    let library = Library::load(None);
    let mut store = Store::open_in_memory().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ids = [
        "pg-rename-column",
        "release-rollback",
        "pg-pitr-restore-drill",
    ];
    // 400 drills over ~100 days, the playbooks interleaved unevenly.
    for i in 0..400 {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let loaded = library.get(id).unwrap().clone();
        drill(&mut store, &loaded, i * 6 * 3600, &mut rng);
    }
    (store, library)
}

#[test]
fn the_summary_home_reads_gives_what_the_whole_history_gives() {
    let (store, library) = history();
    let now = at(400 * 6 * 3600) + TimeDelta::days(3);
    let mut compared = 0;
    for id in store.playbook_ids().unwrap() {
        let loaded = library.get(&id);
        let full = insight::gather(&store, &id, loaded, now, Depth::Full).unwrap();
        let summary = insight::gather(&store, &id, loaded, now, Depth::Summary).unwrap();
        assert!(full.stats.drills > 50, "{id}: too few drills to mean much");
        assert!(!full.stats.steps.is_empty());
        assert!(summary.stats.steps.is_empty(), "no windowed medians");
        let mut without_steps = full.stats.clone();
        without_steps.steps.clear();
        assert_eq!(summary.stats, without_steps, "{id}");
        assert_eq!(summary.readiness, full.readiness, "{id}");
        assert_eq!(summary.recommendations, full.recommendations, "{id}");
        assert_eq!(summary.follow_ups, full.follow_ups, "{id}");

        // And both equal the pure functions over every row of the log.
        let rows = store.drills_of(&id).unwrap();
        let samples = store.step_samples(&id).unwrap();
        let hash = loaded.map(|l| rollsafe::playbook::content_hash(&l.source));
        // Every follow-up of every drill stays open until closed (none is
        // here), oldest note first.
        let mut noted: Vec<Noted> = Vec::new();
        for row in &rows {
            let events = store.events(row.id).unwrap();
            let todo = recommend::follow_ups(row.id, &events);
            let times = events.iter().filter_map(|e| match &e.kind {
                rollsafe::drill::EventKind::Note { text, .. }
                    if rollsafe::report::is_follow_up(text) =>
                {
                    Some(e.at)
                }
                _ => None,
            });
            for (n, (at, f)) in times.zip(todo).enumerate() {
                noted.push((at, row.id, n, f));
            }
        }
        noted.sort_by_key(|n| (n.0, n.1, n.2));
        let follow_ups: Vec<(i64, String, String)> = noted.into_iter().map(|n| n.3).collect();
        // As the log tracks them; recommendations read drill, step and text.
        let follow_up_rows: Vec<rollsafe::store::FollowUpRow> = follow_ups
            .iter()
            .zip(&full.follow_ups)
            .map(
                |((drill, step, text), tracked)| rollsafe::store::FollowUpRow {
                    drill_id: *drill,
                    step_id: Some(step.clone()).filter(|s| !s.is_empty()),
                    text: text.clone(),
                    ..tracked.clone()
                },
            )
            .collect();
        let stats = insight::playbook_stats(
            &id,
            &DrillFacts::from_rows(&rows),
            &StepDistribution::from_samples(&samples),
            hash.as_deref(),
        );
        let reference = recommend::recommend(
            &recommend::PlaybookHistory {
                stats: &stats,
                drills: &rows,
                samples: &samples,
                playbook: loaded.map(|l| &l.playbook),
                current_hash: hash.as_deref(),
                follow_ups: &follow_up_rows,
            },
            now,
        );
        assert_eq!(full.recommendations, reference, "{id}");
        let tracked: Vec<(i64, String, String)> = full
            .follow_ups
            .iter()
            .map(|f| {
                (
                    f.drill_id,
                    f.step_id.clone().unwrap_or_default(),
                    f.text.clone(),
                )
            })
            .collect();
        assert_eq!(tracked, follow_ups, "{id}");
        let mut by_id = stats.steps.clone();
        by_id.sort_by(|a, b| a.step_id.cmp(&b.step_id));
        let mut full_by_id = full.stats.steps.clone();
        full_by_id.sort_by(|a, b| a.step_id.cmp(&b.step_id));
        assert_eq!(full_by_id, by_id, "{id}");
        compared += full.recommendations.len();
    }
    // The comparison means something only if rules fired.
    assert!(compared >= 3, "only {compared} recommendations fired");
}

#[test]
fn aggregates_read_by_the_store_equal_those_folded_from_every_row_and_result() {
    let (store, _) = history();
    for id in store.playbook_ids().unwrap() {
        let rows = store.drills_of(&id).unwrap();
        assert_eq!(
            store.drill_facts(&id).unwrap(),
            DrillFacts::from_rows(&rows)
        );
        let samples = store.step_samples(&id).unwrap();
        let distributions = store.step_distributions(&id).unwrap();
        assert_eq!(distributions, StepDistribution::from_samples(&samples));
        assert!(
            distributions
                .iter()
                .any(|d| d.failed > 0 && d.skipped > 0 && d.blocked > 0)
        );
    }
    assert_eq!(
        store.drill_facts("never-drilled").unwrap(),
        DrillFacts::default()
    );
}

#[test]
fn each_steps_window_is_the_newest_prefix_of_its_results() {
    let (store, _) = history();
    let window = SampleWindow { any: 5, timed: 11 };
    for id in store.playbook_ids().unwrap() {
        let all = store.step_samples(&id).unwrap();
        let recent = store.recent_step_samples(&id, window).unwrap();
        let mut steps: Vec<&str> = all.iter().map(|s| s.step_id.as_str()).collect();
        steps.dedup();
        for step in steps {
            let of = |list: &[rollsafe::insight::StepSample]| -> Vec<(i64, String)> {
                list.iter()
                    .filter(|s| s.step_id == step)
                    .map(|s| (s.drill_id, format!("{:?}", s.outcome)))
                    .collect()
            };
            let (every, newest) = (of(&all), of(&recent));
            // Newest first, and exactly as long as the window needs.
            assert_eq!(newest[..], every[..newest.len()], "{id}/{step}");
            let timed = |l: &[(i64, String)]| l.iter().filter(|(_, o)| o != "Skipped").count();
            if newest.len() < every.len() {
                assert!(newest.len() >= window.any && timed(&newest) >= window.timed);
                let shorter = &newest[..newest.len() - 1];
                assert!(
                    shorter.len() < window.any || timed(shorter) < window.timed,
                    "{id}/{step}: read more than needed"
                );
            }
        }
    }
}
