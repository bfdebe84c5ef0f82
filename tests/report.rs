//! After-action reports from a drill log.

mod fixture;

use fixture::{at, loaded};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::report;
use rollsafe::store::Store;

fn drill_with_a_failure() -> (Store, Session) {
    let mut store = Store::open_in_memory().unwrap();
    let mut s = Session::start(&mut store, &loaded(), Mode::Tabletop, "ana", at(0)).unwrap();
    let record = |s: &mut Session, store: &mut Store, t: i64, kind: EventKind| {
        s.record(store, at(t), kind).unwrap()
    };
    record(
        &mut s,
        &mut store,
        90,
        EventKind::StepPassed {
            step: "set-timeouts".into(),
        },
    );
    record(
        &mut s,
        &mut store,
        90,
        EventKind::StepStarted {
            step: "add-column".into(),
        },
    );
    record(
        &mut s,
        &mut store,
        100,
        EventKind::StepFailed {
            step: "add-column".into(),
            reason: "lock timeout".into(),
        },
    );
    record(
        &mut s,
        &mut store,
        101,
        EventKind::Note {
            step: Some("add-column".into()),
            text: "TODO: retry with backoff".into(),
            by: None,
        },
    );
    record(
        &mut s,
        &mut store,
        102,
        EventKind::Note {
            step: None,
            text: "good comms".into(),
            by: None,
        },
    );
    record(&mut s, &mut store, 120, EventKind::Finished);
    (store, s)
}

#[test]
fn journal_carries_status_deviation_and_per_step_times() {
    let (_, session) = drill_with_a_failure();
    let j = report::journal(&session);
    assert_eq!(j.status, "completed_with_failures");
    assert!(j.deviated);
    assert_eq!(
        j.deviations,
        vec![
            "“Set lock timeout” took 1:30 against a timebox of 1:00",
            "“Add column full_name” failed: lock timeout",
            "“Drop column name” was never run",
            "“Restore from backup” was never run",
        ]
    );
    assert_eq!(j.start, "2027-01-15T08:00:00Z");
    assert_eq!(j.end.as_deref(), Some("2027-01-15T08:02:00Z"));
    assert_eq!(j.duration, 120.0);
    assert_eq!(j.steps[0].status, "succeeded");
    assert_eq!(j.steps[0].duration, 90.0);
    assert_eq!(j.steps[1].status, "failed");
    assert_eq!(j.steps[1].duration, 10.0);
    assert_eq!(j.steps[2].status, "not_run");
    assert_eq!(j.follow_ups.len(), 1);
    assert_eq!(j.follow_ups[0].text, "TODO: retry with backoff");
    assert_eq!(j.notes.len(), 2);
}

#[test]
fn an_unfinished_drill_reports_as_running_with_its_steps_not_run() {
    let mut store = Store::open_in_memory().unwrap();
    let session = Session::start(&mut store, &loaded(), Mode::Live, "ana", at(0)).unwrap();
    let journal = report::journal(&session);
    assert_eq!(journal.status, "running");
    // Never "no deviations" for a drill that has not ended.
    assert!(journal.deviated, "{:?}", journal.deviations);
    assert!(
        journal
            .deviations
            .iter()
            .any(|d| d.ends_with("was still running")),
        "{:?}",
        journal.deviations
    );
}

#[test]
fn markdown_report_has_every_section() {
    let (store, session) = drill_with_a_failure();
    let events = store.events(session.id).unwrap();
    let text = report::markdown(&session, &events);
    insta::assert_snapshot!(text);
}

#[test]
fn probe_figures_get_a_table_per_step_and_sit_in_the_journal() {
    let mut store = Store::open_in_memory().unwrap();
    let mut s = Session::start(&mut store, &loaded(), Mode::Live, "ana", at(0)).unwrap();
    let stats = rollsafe::probe::ProbeStats {
        window_ms: 90_000,
        count: 2_900,
        errors: 0,
        p50_us: 1_200,
        p99_us: 2_850_000,
        max_us: 2_900_000,
        blocked_after_ms: 250,
        blocked: vec![rollsafe::probe::BlockedInterval {
            offset_ms: 40_000,
            len_ms: 2_900,
        }],
    };
    s.record(
        &mut store,
        at(90),
        EventKind::ProbeStats {
            step: "set-timeouts".into(),
            stats: stats.clone(),
        },
    )
    .unwrap();
    s.record(
        &mut store,
        at(90),
        EventKind::StepPassed {
            step: "set-timeouts".into(),
        },
    )
    .unwrap();
    let j = report::journal(&s);
    assert_eq!(j.steps[0].probe.as_ref(), Some(&stats));
    assert_eq!(j.steps[1].probe, None);
    let json = serde_json::to_value(&j).unwrap();
    assert_eq!(json["steps"][0]["probe"]["max_us"], 2_900_000);
    assert!(json["steps"][1].get("probe").is_none(), "absent, not null");
    let md = report::markdown(&s, &store.events(s.id).unwrap());
    assert!(md.contains("## Probe"), "{md}");
    assert!(
        md.contains("| 1 | Set lock timeout | 2900 | 0 | 1.20 ms | 2.9 s | 2.9 s | 2.9 s in 1 (longest 2.9 s) |"),
        "{md}"
    );
    assert!(
        md.contains("probe during `set-timeouts`: p99 2.9 s, max 2.9 s"),
        "{md}"
    );
}
