//! One store test suite, run against both backends: the embedded SQLite log
//! and a team's PostgreSQL log. Every test below is a plain function of a
//! fresh log; `both!` runs it once per backend. The last tests compare the
//! two: the same drills, recorded in each, read back the same through every
//! method of the store interface, and a client killed with SIGKILL loses no
//! event on either.
//!
//! PostgreSQL comes from ROLLSAFE_TEST_PG_URL (`.ci/servers.sh start DIR;
//! source DIR/env`); each test gets a database of its own, dropped after.
//! Without the variable the PostgreSQL half says it is skipped, except under
//! CI=true, where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, Utc};
use rollsafe::drill::{EventKind, Mode, Outcome, Session};
use rollsafe::insight::SampleWindow;
use rollsafe::playbook::Library;
use rollsafe::store::{DrillFilter, Store, StoreError};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn bundled(id: &str) -> rollsafe::playbook::Loaded {
    Library::load(None)
        .get(id)
        .cloned()
        .expect("bundled playbook")
}

fn server_url() -> Option<String> {
    match std::env::var("ROLLSAFE_TEST_PG_URL") {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("ROLLSAFE_TEST_PG_URL is unset, but CI=true: the PostgreSQL store tests need it")
        }
        _ => {
            eprintln!(
                "skipped: set ROLLSAFE_TEST_PG_URL (`.ci/servers.sh start DIR; source DIR/env`)"
            );
            None
        }
    }
}

/// A fresh, empty log of one backend, and how to open it again (a second
/// connection, or the same log after the first client is gone).
enum Fresh {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl Fresh {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drills.db");
        Fresh::Sqlite { _dir: dir, path }
    }

    /// A database of its own on the test server: `rs_<test>_<pid>`.
    fn postgres(test: &str) -> Option<Self> {
        let admin = server_url()?;
        let name = format!(
            "rs_{}_{}",
            test.chars().take(40).collect::<String>(),
            std::process::id()
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("test server");
        // One statement each: neither may run inside a transaction block.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = with_database(&admin, &name);
        Some(Fresh::Postgres { admin, name, url })
    }

    /// What `--db` / ROLLSAFE_DB would say for this log.
    fn location(&self) -> String {
        match self {
            Fresh::Sqlite { path, .. } => path.display().to_string(),
            Fresh::Postgres { url, .. } => url.clone(),
        }
    }

    fn open(&self) -> Store {
        Store::open_at(Path::new(&self.location())).unwrap()
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Fresh::Postgres { admin, name, .. } = self
            && let Ok(mut client) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Runs each named test function once per backend.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&super::Fresh::sqlite()); })*
        }
        mod on_postgres {
            $(#[test] fn $name() {
                if let Some(fresh) = super::Fresh::postgres(stringify!($name)) {
                    super::$name(&fresh);
                }
            })*
        }
    };
}

both!(
    a_drill_reopened_from_another_connection_folds_to_the_same_state,
    finished_drills_leave_the_resume_list,
    unknown_drills_are_an_error_not_a_panic,
    step_results_follow_the_fold,
    the_playbook_text_comes_back_with_the_started_event_for_every_drill,
    follow_ups_open_with_their_note_and_close_once,
    filters_and_counts_agree,
    a_heartbeat_moves_last_seen_and_keeps_a_drill_from_reading_interrupted,
    bulk_load_writes_what_appending_event_by_event_writes,
    two_clients_appending_to_one_drill_interleave_without_losing_an_event,
    reopening_an_up_to_date_log_changes_nothing,
    a_killed_rehearsal_loses_no_event_and_resumes_to_completion,
    one_client_drives_and_a_second_is_refused_until_the_drive_is_handed_over,
    a_follower_syncs_the_drivers_outcomes_and_the_driver_syncs_its_notes,
    log_push_copies_each_finished_drill_once_with_its_follow_up_closures,
);

fn a_drill_reopened_from_another_connection_folds_to_the_same_state(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let mut session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let first = session.drill.steps[0].id.clone();
    let script = [
        EventKind::StepPassed {
            step: first.clone(),
        },
        EventKind::Note {
            step: Some(first),
            text: "TODO: page the DBA earlier".into(),
            by: None,
        },
        EventKind::Paused,
    ];
    for (i, kind) in script.into_iter().enumerate() {
        session.record(&mut store, at(30 + i as i64), kind).unwrap();
    }
    drop(store);

    let store = fresh.open();
    let resumed = Session::resume(&store, session.id).unwrap();
    assert_eq!(resumed.drill, session.drill);
    assert_eq!(resumed.playbook, session.playbook);
    assert!(resumed.drill.is_paused());
    let row = store.drill(session.id).unwrap();
    assert_eq!((row.status.as_str(), row.passed), ("running", 1));
    assert_eq!(row.steps_total as usize, loaded.playbook.step_count());
    assert_eq!(row.operator, "ana");
    assert_eq!(store.unfinished().unwrap().len(), 1);
}

fn finished_drills_leave_the_resume_list(fresh: &Fresh) {
    let mut store = fresh.open();
    let loaded = bundled("pg-rename-column");
    let mut session = Session::start(&mut store, &loaded, Mode::Live, "ana", at(0)).unwrap();
    assert_eq!(store.unfinished().unwrap().len(), 1);
    session
        .record(&mut store, at(5), EventKind::Finished)
        .unwrap();
    assert!(store.unfinished().unwrap().is_empty());
    let row = store.drill(session.id).unwrap();
    assert_eq!(row.status, "completed");
    assert_eq!(row.ended_at, Some(at(5)));
    assert_eq!(row.mode, Mode::Live);
}

fn unknown_drills_are_an_error_not_a_panic(fresh: &Fresh) {
    let store = fresh.open();
    assert!(matches!(store.drill(42), Err(StoreError::NoSuchDrill(42))));
    assert!(matches!(store.events(42), Err(StoreError::NoSuchDrill(42))));
    assert!(matches!(
        store.snapshot(42),
        Err(StoreError::NoSuchDrill(42))
    ));
    assert!(matches!(
        store.last_seen(42),
        Err(StoreError::NoSuchDrill(42))
    ));
    assert!(Session::resume(&store, 42).is_err());
}

fn step_results_follow_the_fold(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let mut session = Session::start(&mut store, &loaded, Mode::Live, "ana", at(0)).unwrap();
    let a = session.drill.steps[0].id.clone();
    let b = session.drill.steps[1].id.clone();
    let script = [
        (10, EventKind::StepPassed { step: a.clone() }),
        (
            12,
            EventKind::OutcomeUndone {
                step: a.clone(),
                reason: "clicked too soon".into(),
            },
        ),
        (
            40,
            EventKind::StepFailed {
                step: a.clone(),
                reason: "lock timeout".into(),
            },
        ),
        (41, EventKind::StepStarted { step: b.clone() }),
        (
            50,
            EventKind::StepSkipped {
                step: b.clone(),
                reason: "not needed".into(),
            },
        ),
    ];
    for (secs, kind) in script {
        session.record(&mut store, at(secs), kind).unwrap();
    }
    let samples = store.step_samples(&loaded.playbook.id).unwrap();
    let got: Vec<(String, Outcome, u64)> = samples
        .iter()
        .map(|s| (s.step_id.clone(), s.outcome, s.duration.as_secs()))
        .collect();
    // a ran 0..10, then again from its undo at 12 to 40: 38 s.
    let mut want = vec![
        (a.clone(), Outcome::Failed, 38),
        (b.clone(), Outcome::Skipped, 9),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(samples.iter().all(|s| s.live && s.drill_id == session.id));
    let dist = store.step_distributions(&loaded.playbook.id).unwrap();
    let of_a = dist.iter().find(|d| d.step_id == a).unwrap();
    assert_eq!((of_a.passed, of_a.failed), (0, 1));
    assert_eq!(of_a.done, vec![std::time::Duration::from_secs(38)]);
    let of_b = dist.iter().find(|d| d.step_id == b).unwrap();
    assert_eq!(of_b.skipped, 1);
    assert!(of_b.done.is_empty(), "a skipped step has no duration");
}

fn the_playbook_text_comes_back_with_the_started_event_for_every_drill(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(i * 100))
                .unwrap()
                .id
        })
        .collect();
    for id in ids {
        match &store.events(id).unwrap()[0].kind {
            EventKind::Started { snapshot, .. } => assert_eq!(snapshot, &loaded.source),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.snapshot(id).unwrap().text, loaded.source);
    }
}

fn follow_ups_open_with_their_note_and_close_once(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let mut session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let step = session.drill.steps[0].id.clone();
    for (secs, text) in [
        (5, "TODO: pre-create the index"),
        (6, "all fine"),
        (7, "FOLLOW-UP: alert on lag"),
    ] {
        session
            .record(
                &mut store,
                at(secs),
                EventKind::Note {
                    step: Some(step.clone()),
                    text: text.into(),
                    by: None,
                },
            )
            .unwrap();
    }
    let open = store.follow_ups(Some(&loaded.playbook.id), false).unwrap();
    let texts: Vec<&str> = open.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        ["TODO: pre-create the index", "FOLLOW-UP: alert on lag"]
    );
    assert!(open[0].is_on(&step));
    let (closed, was_open) = store
        .close_follow_up(open[0].id, at(60), "index pre-created in the runbook")
        .unwrap()
        .unwrap();
    assert!(was_open);
    assert_eq!(closed.closed_at, Some(at(60)));
    let (_, again) = store
        .close_follow_up(open[0].id, at(70), "")
        .unwrap()
        .unwrap();
    assert!(!again, "closing twice changes nothing");
    assert!(store.close_follow_up(9999, at(70), "").unwrap().is_none());
    assert_eq!(store.follow_ups(None, false).unwrap().len(), 1);
    let all = store.follow_ups(None, true).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].closed_note.as_deref(),
        Some("index pre-created in the runbook")
    );
}

fn filters_and_counts_agree(fresh: &Fresh) {
    let rename = bundled("pg-rename-column");
    let other = Library::load(None)
        .playbooks
        .into_iter()
        .find(|l| l.playbook.id != rename.playbook.id)
        .unwrap();
    let mut store = fresh.open();
    let mut done = Session::start(&mut store, &rename, Mode::Live, "ana", at(0)).unwrap();
    done.record(&mut store, at(10), EventKind::Finished)
        .unwrap();
    let failed = Session::start(&mut store, &rename, Mode::Tabletop, "bo", at(100)).unwrap();
    let mut failed = failed;
    let step = failed.drill.steps[0].id.clone();
    failed
        .record(
            &mut store,
            at(110),
            EventKind::StepFailed {
                step,
                reason: "x".into(),
            },
        )
        .unwrap();
    failed
        .record(&mut store, at(120), EventKind::Finished)
        .unwrap();
    let left = Session::start(&mut store, &other, Mode::Tabletop, "Chidi", at(200)).unwrap();
    let now = at(200 + 3600);
    let cases: Vec<(DrillFilter, Vec<i64>)> = vec![
        (
            DrillFilter {
                as_of: Some(now),
                ..Default::default()
            },
            vec![left.id, failed.id, done.id],
        ),
        (
            DrillFilter {
                playbook_id: Some(rename.playbook.id.clone()),
                as_of: Some(now),
                ..Default::default()
            },
            vec![failed.id, done.id],
        ),
        (
            DrillFilter {
                mode: Some(Mode::Live),
                as_of: Some(now),
                ..Default::default()
            },
            vec![done.id],
        ),
        (
            DrillFilter {
                status: Some("completed_with_failures".into()),
                as_of: Some(now),
                ..Default::default()
            },
            vec![failed.id],
        ),
        (
            DrillFilter {
                status: Some("interrupted".into()),
                as_of: Some(now),
                ..Default::default()
            },
            vec![left.id],
        ),
        (
            DrillFilter {
                status: Some("running".into()),
                as_of: Some(at(205)),
                ..Default::default()
            },
            vec![left.id],
        ),
        (
            DrillFilter {
                since: Some(at(100)),
                as_of: Some(now),
                ..Default::default()
            },
            vec![left.id, failed.id],
        ),
        (
            DrillFilter {
                text: Some("chidi".into()),
                as_of: Some(now),
                ..Default::default()
            },
            vec![left.id],
        ),
        (
            DrillFilter {
                text: Some(format!("{}", done.id)),
                as_of: Some(now),
                ..Default::default()
            },
            vec![done.id],
        ),
    ];
    for (filter, want) in cases {
        let got: Vec<i64> = store
            .list_drills_where(&filter, 50, 0)
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(got, want, "{filter:?}");
        assert_eq!(
            store.count_drills_where(&filter).unwrap(),
            want.len(),
            "{filter:?}"
        );
    }
    let page: Vec<i64> = store
        .list_drills(1, 1)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(page, vec![failed.id]);
    assert_eq!(store.count_drills().unwrap(), 3);
    let mut ids = store.playbook_ids().unwrap();
    let mut want = vec![rename.playbook.id.clone(), other.playbook.id.clone()];
    want.sort();
    ids.sort();
    assert_eq!(ids, want);
}

fn a_heartbeat_moves_last_seen_and_keeps_a_drill_from_reading_interrupted(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    assert_eq!(store.last_seen(session.id).unwrap(), at(0));
    store.touch(session.id, at(500)).unwrap();
    assert_eq!(store.last_seen(session.id).unwrap(), at(500));
    let row = store.drill(session.id).unwrap();
    assert_eq!(row.alive_at, Some(at(500)));
    let interrupted = DrillFilter {
        status: Some("interrupted".into()),
        as_of: Some(at(510)),
        ..Default::default()
    };
    assert_eq!(store.count_drills_where(&interrupted).unwrap(), 0);
    let later = DrillFilter {
        as_of: Some(at(500) + Duration::minutes(10)),
        ..interrupted
    };
    assert_eq!(store.count_drills_where(&later).unwrap(), 1);
}

/// A drill of the bundled rename runbook: passes, a failure, a note, an end.
fn script(loaded: &rollsafe::playbook::Loaded) -> Vec<(i64, EventKind)> {
    let steps: Vec<String> = loaded
        .playbook
        .steps()
        .map(|(_, _, s)| s.id.clone())
        .collect();
    vec![
        (
            20,
            EventKind::StepPassed {
                step: steps[0].clone(),
            },
        ),
        (
            21,
            EventKind::StepStarted {
                step: steps[1].clone(),
            },
        ),
        (
            65,
            EventKind::StepFailed {
                step: steps[1].clone(),
                reason: "replica lag".into(),
            },
        ),
        (
            66,
            EventKind::Note {
                step: None,
                text: "TODO: watch lag before the backfill".into(),
                by: None,
            },
        ),
        (70, EventKind::Paused),
        (130, EventKind::Resumed),
        (
            131,
            EventKind::StepStarted {
                step: steps[2].clone(),
            },
        ),
        (
            150,
            EventKind::StepPassed {
                step: steps[2].clone(),
            },
        ),
        (160, EventKind::Finished),
    ]
}

fn bulk_load_writes_what_appending_event_by_event_writes(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let mut session = Session::start(&mut store, &loaded, Mode::Live, "ana", at(0)).unwrap();
    for (secs, kind) in script(&loaded) {
        session.record(&mut store, at(secs), kind).unwrap();
    }
    let events = store.events(session.id).unwrap();
    let ids = store
        .bulk_load(&[(&loaded.playbook, events.clone())])
        .unwrap();
    assert_eq!(ids.len(), 1);
    let (one, other) = (
        store.drill(session.id).unwrap(),
        store.drill(ids[0]).unwrap(),
    );
    assert_eq!(DrillRowSansId::of(&one), DrillRowSansId::of(&other));
    assert_eq!(store.events(ids[0]).unwrap(), events);
    let samples = store.step_samples(&loaded.playbook.id).unwrap();
    let by_drill = |id: i64| -> Vec<(String, Outcome, std::time::Duration)> {
        samples
            .iter()
            .filter(|s| s.drill_id == id)
            .map(|s| (s.step_id.clone(), s.outcome, s.duration))
            .collect()
    };
    assert!(!by_drill(session.id).is_empty());
    assert_eq!(by_drill(session.id), by_drill(ids[0]));
    assert_eq!(store.follow_ups(None, false).unwrap().len(), 2);
}

#[derive(Debug, PartialEq)]
struct DrillRowSansId(rollsafe::store::DrillRow);

impl DrillRowSansId {
    fn of(row: &rollsafe::store::DrillRow) -> Self {
        DrillRowSansId(rollsafe::store::DrillRow {
            id: 0,
            ..row.clone()
        })
    }
}

fn two_clients_appending_to_one_drill_interleave_without_losing_an_event(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut first = fresh.open();
    let mut second = fresh.open();
    let session = Session::start(&mut first, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let id = session.id;
    // Each client keeps its own fold; notes change nothing else, so both
    // stay valid whatever the order.
    let mut a = Session::resume(&first, id).unwrap();
    let mut b = Session::resume(&second, id).unwrap();
    for i in 0..10 {
        let note = |who: &str| EventKind::Note {
            step: None,
            text: format!("{who} {i}"),
            by: None,
        };
        a.record(&mut first, at(10 + i), note("ana")).unwrap();
        b.record(&mut second, at(10 + i), note("bo")).unwrap();
    }
    let events = first.events(id).unwrap();
    let notes = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Note { .. }))
        .count();
    assert_eq!(notes, 20);
    assert_eq!(second.events(id).unwrap(), events);
}

fn reopening_an_up_to_date_log_changes_nothing(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let mut store = fresh.open();
    let version = store.schema_version().unwrap();
    assert!(version >= 10, "{version}");
    let id = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0))
        .unwrap()
        .id;
    drop(store);
    let store = fresh.open();
    assert_eq!(store.schema_version().unwrap(), version);
    assert_eq!(store.count_drills().unwrap(), 1);
    assert!(store.events(id).is_ok());
    store.check_writable().unwrap();
    store.check_pages().unwrap();
}

/// A live rehearsal killed with SIGKILL in its second step: every event
/// before the kill is in the log, the drill reads running, and a resume
/// finishes it, on either backend.
fn a_killed_rehearsal_loses_no_event_and_resumes_to_completion(fresh: &Fresh) {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let playbook = dir.path().join("p.toml");
    std::fs::write(
        &playbook,
        r#"id = "killed"
title = "Killed"
[variables.MARK]
description = "a file the first attempt of b leaves"
[[phases]]
title = "One"
[[phases.steps]]
id = "a"
title = "A"
command = "echo first"
[[phases.steps]]
id = "b"
title = "B"
command = "if [ -e ${MARK} ]; then echo second; exit 0; fi; touch ${MARK}; exec sleep 300"
"#,
    )
    .unwrap();
    let db = fresh.location();
    let mark_var = format!("MARK={}", mark.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args([
            "rehearse",
            playbook.to_str().unwrap(),
            "--live",
            "--yes",
            "--var",
            &mark_var,
        ])
        .env("ROLLSAFE_DB", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !mark.exists() {
        assert!(started.elapsed().as_secs() < 30, "step b never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The command is spawned before its start is logged: wait until the log
    // holds it, read everything committed, then kill.
    let reader = fresh.open();
    let before = loop {
        let events = reader.events(1).unwrap_or_default();
        let logged = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::CommandStarted { step, .. } if step == "b"));
        if logged {
            break events;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "b's start never reached the log"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(reader);
    child.kill().unwrap(); // SIGKILL: no handler of rollsafe's runs
    child.wait().unwrap();

    let store = fresh.open();
    let rows = store.list_drills(10, 0).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "running");
    assert_eq!(
        rows[0].passed, 1,
        "step a's pass was committed before b started"
    );
    let after = store.events(rows[0].id).unwrap();
    assert_eq!(
        after[..before.len()],
        before[..],
        "every event committed before the kill is still there, unchanged"
    );
    drop(store);

    let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args([
            "rehearse",
            "--resume",
            &rows[0].id.to_string(),
            "--live",
            "--yes",
            "--stop-leftover",
        ])
        .args(["--var", &mark_var])
        .env("ROLLSAFE_DB", &db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = fresh.open();
    let row = store.drill(rows[0].id).unwrap();
    assert_eq!(
        (row.status.as_str(), row.passed, row.failed),
        ("completed", 2, 0)
    );
}

/// The same drills recorded in both backends read back the same through
/// every read of the store interface.
#[test]
fn both_backends_answer_every_read_the_same() {
    let Some(pg) = Fresh::postgres("same_answers") else {
        return;
    };
    let lite = Fresh::sqlite();
    let (mut a, mut b) = (lite.open(), pg.open());
    let rename = bundled("pg-rename-column");
    for store in [&mut a, &mut b] {
        for (n, mode) in [Mode::Live, Mode::Tabletop, Mode::Live]
            .into_iter()
            .enumerate()
        {
            let t0 = n as i64 * 1000;
            let mut session = Session::start(store, &rename, mode, "ana", at(t0)).unwrap();
            let events = script(&rename);
            let take = if n == 1 { 4 } else { events.len() };
            for (secs, kind) in events.into_iter().take(take) {
                session.record(store, at(t0 + secs), kind).unwrap();
            }
        }
        store.touch(2, at(1100)).unwrap();
    }
    let id = &rename.playbook.id;
    let now = DrillFilter {
        as_of: Some(at(5000)),
        ..Default::default()
    };
    assert_eq!(a.list_drills(10, 0).unwrap(), b.list_drills(10, 0).unwrap());
    assert_eq!(
        a.list_drills_where(&now, 10, 0).unwrap(),
        b.list_drills_where(&now, 10, 0).unwrap()
    );
    assert_eq!(a.unfinished().unwrap(), b.unfinished().unwrap());
    assert_eq!(a.drills_of(id).unwrap(), b.drills_of(id).unwrap());
    assert_eq!(
        a.recent_drills_of(id, 1, 1).unwrap(),
        b.recent_drills_of(id, 1, 1).unwrap()
    );
    assert_eq!(a.step_samples(id).unwrap(), b.step_samples(id).unwrap());
    let window = SampleWindow { any: 2, timed: 2 };
    assert_eq!(
        a.recent_step_samples(id, window).unwrap(),
        b.recent_step_samples(id, window).unwrap()
    );
    assert_eq!(
        a.step_distributions(id).unwrap(),
        b.step_distributions(id).unwrap()
    );
    assert_eq!(a.drill_facts(id).unwrap(), b.drill_facts(id).unwrap());
    assert_eq!(
        a.follow_ups(None, true).unwrap(),
        b.follow_ups(None, true).unwrap()
    );
    for drill in 1..=3 {
        assert_eq!(a.events(drill).unwrap(), b.events(drill).unwrap());
        assert_eq!(a.drill(drill).unwrap(), b.drill(drill).unwrap());
        assert_eq!(a.last_seen(drill).unwrap(), b.last_seen(drill).unwrap());
    }
}

#[test]
fn a_postgres_log_from_a_newer_rollsafe_is_refused() {
    let Some(pg) = Fresh::postgres("too_new") else {
        return;
    };
    drop(pg.open());
    let mut client = postgres::Client::connect(&pg.location(), postgres::NoTls).unwrap();
    client
        .batch_execute("UPDATE rollsafe_schema SET version = 999")
        .unwrap();
    match Store::open_at(Path::new(&pg.location())) {
        Err(StoreError::TooNew { found: 999, .. }) => {}
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("opened a log from a newer rollsafe"),
    }
}

#[test]
fn a_postgres_server_that_is_not_there_is_a_clear_error_without_the_password() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://ana:hunter2@127.0.0.1:{port}/drills");
    let err = match Store::open_at(Path::new(&url)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to nothing"),
    };
    assert!(
        err.contains(&format!("postgres://ana@127.0.0.1:{port}/drills")),
        "{err}"
    );
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

fn one_client_drives_and_a_second_is_refused_until_the_drive_is_handed_over(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let (mut ana, mut bo) = (fresh.open(), fresh.open());
    ana.identify("ana");
    bo.identify("bo");
    let mut driving = Session::start(&mut ana, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let id = driving.id;
    let first = driving.drill.steps[0].id.clone();
    let mut following = Session::resume(&bo, id).unwrap();
    assert_eq!(bo.driver(id, at(5)).unwrap().as_deref(), Some("ana"));
    assert_eq!(
        ana.driver(id, at(5)).unwrap(),
        None,
        "nobody else drives it"
    );

    // bo's outcome is refused, with who drives; nothing lands.
    let before = bo.events(id).unwrap().len();
    let refused = following.record(
        &mut bo,
        at(10),
        EventKind::StepPassed {
            step: first.clone(),
        },
    );
    match refused {
        Err(StoreError::Driven { drill, by }) => assert_eq!((drill, by.as_str()), (id, "ana")),
        other => panic!("{other:?}"),
    }
    assert_eq!(bo.events(id).unwrap().len(), before);
    assert!(matches!(
        bo.claim_drive(id, at(10), false),
        Err(StoreError::Driven { .. })
    ));

    // A note from bo lands, with bo's name.
    following
        .record(
            &mut bo,
            at(11),
            EventKind::Note {
                step: None,
                text: "replica lag 40 s".into(),
                by: Some("bo".into()),
            },
        )
        .unwrap();

    // ana hands over; bo takes the drive; now ana is refused.
    ana.release_drive(id).unwrap();
    assert_eq!(bo.driver(id, at(12)).unwrap(), None);
    bo.claim_drive(id, at(12), false).unwrap();
    following.sync(&bo).unwrap();
    following
        .record(
            &mut bo,
            at(13),
            EventKind::StepPassed {
                step: first.clone(),
            },
        )
        .unwrap();
    driving.sync(&ana).unwrap();
    let step = driving.drill.steps[1].id.clone();
    assert!(matches!(
        driving.record(&mut ana, at(14), EventKind::StepPassed { step }),
        Err(StoreError::Driven { by, .. }) if by == "bo"
    ));
    // A driver silent for longer than the lease no longer holds it; a
    // forced claim takes it at once.
    assert_eq!(ana.driver(id, at(13 + 31)).unwrap(), None);
    ana.claim_drive(id, at(15), true).unwrap();
    assert_eq!(bo.driver(id, at(15)).unwrap().as_deref(), Some("ana"));
}

fn a_follower_syncs_the_drivers_outcomes_and_the_driver_syncs_its_notes(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let (mut ana, mut bo) = (fresh.open(), fresh.open());
    ana.identify("ana");
    bo.identify("bo");
    let mut driving = Session::start(&mut ana, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let mut following = Session::resume(&bo, driving.id).unwrap();
    assert!(!following.sync(&bo).unwrap(), "nothing new yet");
    let first = driving.drill.steps[0].id.clone();
    driving
        .record(&mut ana, at(10), EventKind::StepPassed { step: first })
        .unwrap();
    assert!(following.sync(&bo).unwrap());
    assert_eq!(following.drill, driving.drill);
    following
        .record(
            &mut bo,
            at(12),
            EventKind::Note {
                step: None,
                text: "comms sent".into(),
                by: Some("bo".into()),
            },
        )
        .unwrap();
    assert!(driving.sync(&ana).unwrap());
    let note = driving.drill.notes.last().unwrap();
    assert_eq!(note.shown(), "bo: comms sent");
    assert_eq!(driving.drill, following.drill);
    // The driver's next outcome lands after the note, and both agree again.
    let second = driving.drill.steps[1].id.clone();
    driving
        .record(&mut ana, at(20), EventKind::StepPassed { step: second })
        .unwrap();
    following.sync(&bo).unwrap();
    assert_eq!(following.drill, driving.drill);
    assert_eq!(
        Session::resume(&ana, driving.id).unwrap().drill,
        driving.drill
    );
}

/// `rollsafe log push`: a laptop's SQLite log into this backend, twice, then
/// again after the drill that was running ends.
fn log_push_copies_each_finished_drill_once_with_its_follow_up_closures(fresh: &Fresh) {
    let loaded = bundled("pg-rename-column");
    let laptop = Fresh::sqlite();
    let mut local = laptop.open();
    let mut ids = Vec::new();
    for n in 0..2 {
        let mut s = Session::start(&mut local, &loaded, Mode::Live, "ana", at(n * 1000)).unwrap();
        for (secs, kind) in script(&loaded) {
            s.record(&mut local, at(n * 1000 + secs), kind).unwrap();
        }
        ids.push(s.id);
    }
    let todo = local.follow_ups(None, false).unwrap()[0].id;
    local
        .close_follow_up(todo, at(5000), "lag alert added")
        .unwrap();
    let mut running = Session::start(&mut local, &loaded, Mode::Tabletop, "bo", at(6000)).unwrap();

    let push = || -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
            .args([
                "--db",
                &laptop.location(),
                "log",
                "push",
                "--to",
                &fresh.location(),
                "--json",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = push();
    assert_eq!(first["pushed"], serde_json::json!(ids));
    assert_eq!(first["still_running"], serde_json::json!([running.id]));

    let team = fresh.open();
    let copied = team.list_drills(10, 0).unwrap();
    assert_eq!(copied.len(), 2);
    for (theirs, ours) in copied.iter().rev().zip(&ids) {
        let mine = local.drill(*ours).unwrap();
        assert_eq!(
            DrillRowSansId::of(&rollsafe::store::DrillRow {
                alive_at: None,
                ..mine
            }),
            DrillRowSansId::of(theirs)
        );
        assert_eq!(
            team.events(theirs.id).unwrap(),
            local.events(*ours).unwrap()
        );
    }
    let closed: Vec<_> = team
        .follow_ups(None, true)
        .unwrap()
        .into_iter()
        .filter(|f| f.closed_at.is_some())
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].closed_note.as_deref(), Some("lag alert added"));
    drop(team);

    let again = push();
    assert_eq!(again["pushed"], serde_json::json!([]));
    assert_eq!(again["already_there"], serde_json::json!(ids));

    running
        .record(&mut local, at(6100), EventKind::Finished)
        .unwrap();
    let last = push();
    assert_eq!(last["pushed"], serde_json::json!([running.id]));
    assert_eq!(fresh.open().count_drills().unwrap(), 3);
}
