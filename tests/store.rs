//! The drill log on real files: durability, upgrades, and bad databases.

use chrono::{DateTime, Utc};
use rollsafe::drill::{EventKind, Mode, Outcome, Session};
use rollsafe::playbook::Library;
use rollsafe::store::{MIGRATIONS, Store, StoreError};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn bundled(id: &str) -> rollsafe::playbook::Loaded {
    Library::load(None)
        .get(id)
        .cloned()
        .expect("bundled playbook")
}

#[test]
fn a_drill_reopened_from_disk_folds_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/drills.db");
    let loaded = bundled("pg-rename-column");
    let mut store = Store::open(&path).unwrap();
    let mut session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let first = session.drill.steps[0].id.clone();
    session
        .record(
            &mut store,
            at(30),
            EventKind::StepPassed {
                step: first.clone(),
            },
        )
        .unwrap();
    session
        .record(
            &mut store,
            at(31),
            EventKind::Note {
                step: Some(first),
                text: "TODO: page the DBA earlier".into(),
                by: None,
            },
        )
        .unwrap();
    session
        .record(&mut store, at(40), EventKind::Paused)
        .unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let resumed = Session::resume(&store, session.id).unwrap();
    assert_eq!(resumed.drill, session.drill);
    assert_eq!(resumed.playbook, session.playbook);
    assert_eq!(resumed.drill.count(Outcome::Passed), 1);
    assert!(resumed.drill.is_paused());

    let row = store.drill(session.id).unwrap();
    assert_eq!(row.status, "running");
    assert_eq!(row.passed, 1);
    assert_eq!(row.steps_total as usize, loaded.playbook.step_count());
    assert_eq!(store.unfinished().unwrap().len(), 1);
}

#[test]
fn finished_drills_leave_the_resume_list() {
    let mut store = Store::open_in_memory().unwrap();
    let loaded = bundled("pg-rename-column");
    let mut session = Session::start(&mut store, &loaded, Mode::Live, "ana", at(0)).unwrap();
    session
        .record(&mut store, at(5), EventKind::Finished)
        .unwrap();
    assert!(store.unfinished().unwrap().is_empty());
    let row = store.drill(session.id).unwrap();
    assert_eq!(row.status, "completed");
    assert_eq!(row.ended_at, Some(at(5)));
    assert_eq!(row.mode, Mode::Live);
}

#[test]
fn a_database_from_schema_version_1_upgrades_without_losing_drills() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let loaded = bundled("pg-rename-column");
    let id = {
        let mut old = Store::create_at_version(&path, 1).unwrap();
        assert_eq!(old.schema_version().unwrap(), 1);
        Session::start(&mut old, &loaded, Mode::Tabletop, "ana", at(0))
            .unwrap()
            .id
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
    let resumed = Session::resume(&store, id).unwrap();
    assert_eq!(resumed.drill.started_at, at(0));
    assert_eq!(resumed.drill.active, Some(0));
}

#[test]
fn a_corrupt_file_is_reported_with_its_path_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drills.db");
    let garbage = b"this is not a sqlite database, it is a note somebody saved here".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("must not open");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("--db"), "says what to do: {message}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file is not touched"
    );
}

#[test]
fn a_locked_database_says_so_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drills.db");
    let loaded = bundled("pg-rename-column");
    let mut store = Store::open(&path).unwrap();
    let mut session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();

    // Another program holds the write lock.
    let holder = rusqlite_holder(&path);
    let started = std::time::Instant::now();
    let err = session
        .record(&mut store, at(1), EventKind::Paused)
        .expect_err("write must fail while locked");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(4),
        "waits the busy timeout first"
    );
    assert!(
        !session.drill.is_paused(),
        "state unchanged when the write failed"
    );
    drop(holder);
    session
        .record(&mut store, at(2), EventKind::Paused)
        .unwrap();
    assert!(session.drill.is_paused());
}

/// Opens a second connection through the `sqlite3` shell-free path: a
/// child rollsafe store would also work, but a raw BEGIN IMMEDIATE is the
/// clearest way to hold the lock.
fn rusqlite_holder(path: &std::path::Path) -> LockHolder {
    LockHolder::new(path)
}

struct LockHolder {
    _child: std::process::Child,
}

impl LockHolder {
    fn new(path: &std::path::Path) -> Self {
        // A python3 one-liner holds an IMMEDIATE transaction until killed.
        let script = format!(
            "import sqlite3,time,sys\nc=sqlite3.connect({:?},isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked',flush=True)\ntime.sleep(60)",
            path.display().to_string()
        );
        let mut child = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is needed to hold a lock from another process");
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        LockHolder { _child: child }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self._child.kill();
        let _ = self._child.wait();
    }
}

#[test]
fn a_database_from_a_newer_rollsafe_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path).unwrap());
    let conn_script = format!(
        "import sqlite3\nc=sqlite3.connect({:?})\nc.execute('PRAGMA user_version=99')\nc.commit()",
        path.display().to_string()
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(conn_script)
        .status()
        .unwrap();
    assert!(status.success());
    let err = Store::open(&path).err().expect("must refuse");
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_drills_are_an_error_not_a_panic() {
    let store = Store::open_in_memory().unwrap();
    assert!(matches!(store.events(42), Err(StoreError::NoSuchDrill(42))));
    assert!(matches!(
        store.snapshot(42),
        Err(StoreError::NoSuchDrill(42))
    ));
    assert!(matches!(
        Session::resume(&store, 42),
        Err(rollsafe::drill::SessionError::Store(
            StoreError::NoSuchDrill(42)
        ))
    ));
}

#[test]
fn step_results_follow_the_fold_and_are_rebuilt_for_older_logs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let loaded = bundled("pg-rename-column");
    let (id, first, second) = {
        let mut old = Store::create_at_version(&path, 3).unwrap();
        let mut session = Session::start(&mut old, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
        let first = session.drill.steps[0].id.clone();
        let second = session.drill.steps[1].id.clone();
        session
            .record(
                &mut old,
                at(40),
                EventKind::StepPassed {
                    step: first.clone(),
                },
            )
            .unwrap();
        session
            .record(
                &mut old,
                at(40),
                EventKind::StepStarted {
                    step: second.clone(),
                },
            )
            .unwrap();
        session
            .record(
                &mut old,
                at(55),
                EventKind::StepFailed {
                    step: second.clone(),
                    reason: "x".into(),
                },
            )
            .unwrap();
        (session.id, first, second)
    };
    let mut store = Store::open(&path).unwrap();
    let mut samples = store.step_samples(&loaded.playbook.id).unwrap();
    samples.sort_by_key(|s| s.step_id.clone());
    let mut expected = vec![
        (first.clone(), Outcome::Passed, 40),
        (second.clone(), Outcome::Failed, 15),
    ];
    expected.sort();
    let got: Vec<(String, Outcome, u64)> = samples
        .iter()
        .map(|s| (s.step_id.clone(), s.outcome, s.duration.as_secs()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(store.drill(id).unwrap().active_ms, 55_000);

    // Restarting a step removes its result until it has a new outcome.
    let mut session = Session::resume(&store, id).unwrap();
    session
        .record(
            &mut store,
            at(60),
            EventKind::StepStarted {
                step: second.clone(),
            },
        )
        .unwrap();
    assert_eq!(store.step_samples(&loaded.playbook.id).unwrap().len(), 1);
}

#[test]
fn the_playbook_text_is_stored_once_and_comes_back_with_the_started_event() {
    let mut store = Store::open_in_memory().unwrap();
    let loaded = bundled("pg-rename-column");
    let session = Session::start(&mut store, &loaded, Mode::Tabletop, "ana", at(0)).unwrap();
    let events = store.events(session.id).unwrap();
    match &events[0].kind {
        EventKind::Started { snapshot, .. } => assert_eq!(snapshot, &loaded.source),
        other => panic!("{other:?}"),
    }
}

/// Records one drill event by event, as the runner does, and returns its id.
fn record_drill(
    store: &mut Store,
    loaded: &rollsafe::playbook::Loaded,
    t0: i64,
    script: &[(i64, EventKind)],
) -> i64 {
    let mut session = Session::start(store, loaded, Mode::Live, "ana", at(t0)).unwrap();
    for (secs, kind) in script {
        session.record(store, at(t0 + secs), kind.clone()).unwrap();
    }
    session.id
}

#[test]
fn bulk_load_writes_what_appending_event_by_event_writes() {
    let loaded = bundled("pg-rename-column");
    let steps: Vec<String> = loaded
        .playbook
        .steps()
        .map(|(_, _, s)| s.id.clone())
        .collect();
    let step = |i: usize| steps[i].clone();
    let finished = vec![
        (
            10,
            EventKind::Note {
                step: Some(step(0)),
                text: "TODO: page the DBA earlier".into(),
                by: None,
            },
        ),
        (30, EventKind::StepPassed { step: step(0) }),
        (30, EventKind::StepStarted { step: step(1) }),
        (40, EventKind::Paused),
        (100, EventKind::Resumed),
        (
            130,
            EventKind::StepFailed {
                step: step(1),
                reason: "lock timeout".into(),
            },
        ),
        // Retried: its result goes away until it has a new outcome.
        (131, EventKind::StepStarted { step: step(1) }),
        (
            140,
            EventKind::CommandRun {
                step: step(1),
                purpose: rollsafe::drill::CommandPurpose::Action,
                command: "psql -c 'select 1'".into(),
                exit_code: Some(0),
                duration_ms: 900,
                output: "1\n".into(),
                truncated: false,
                cancelled: false,
                passed: true,
            },
        ),
        (150, EventKind::StepPassed { step: step(1) }),
        (150, EventKind::StepStarted { step: step(2) }),
        (
            200,
            EventKind::Interrupted {
                last_seen: at(1_000 + 160),
            },
        ),
        (
            210,
            EventKind::StepSkipped {
                step: step(2),
                reason: "no replica".into(),
            },
        ),
        (
            215,
            EventKind::StepBlocked {
                step: step(3),
                reason: "waiting for approval".into(),
            },
        ),
        (300, EventKind::Finished),
        // A late write after the end: logged, ignored by the fold.
        (400, EventKind::Paused),
    ];
    let aborted = vec![
        (20, EventKind::StepPassed { step: step(0) }),
        (
            25,
            EventKind::Aborted {
                reason: "replica lag".into(),
            },
        ),
    ];
    let running = vec![(5, EventKind::Paused)];
    let scripts = [(1_000, finished), (5_000, aborted), (9_000, running)];

    let mut appended = Store::open_in_memory().unwrap();
    let mut logs = Vec::new();
    let mut appended_ids = Vec::new();
    for (t0, script) in &scripts {
        let id = record_drill(&mut appended, &loaded, *t0, script);
        logs.push((&loaded.playbook, appended.events(id).unwrap()));
        appended_ids.push(id);
    }
    // A drill of only its started event, as `start_drill` alone leaves it.
    let bare_id = appended
        .start_drill(&logs[0].1[0], loaded.playbook.step_count())
        .unwrap();
    logs.push((&loaded.playbook, logs[0].1[..1].to_vec()));
    appended_ids.push(bare_id);

    let dir = tempfile::tempdir().unwrap();
    let mut bulk = Store::open(&dir.path().join("bulk.db")).unwrap();
    // Ids differ from the appended log's: shift them with an unrelated drill first.
    for t0 in [0, 100] {
        record_drill(&mut bulk, &bundled("pg-pitr-restore-drill"), t0, &[]);
    }
    let bulk_ids = bulk.bulk_load(&logs).unwrap();
    assert_eq!(bulk_ids.len(), logs.len());

    for (&a, &b) in appended_ids.iter().zip(&bulk_ids) {
        assert_ne!(
            a, b,
            "the ids must differ for the comparison to mean anything"
        );
        let (mut want, got) = (appended.drill(a).unwrap(), bulk.drill(b).unwrap());
        want.id = got.id;
        assert_eq!(got, want, "drill row of #{a}");
        assert_eq!(bulk.events(b).unwrap(), appended.events(a).unwrap());
        assert_eq!(bulk.snapshot(b).unwrap(), appended.snapshot(a).unwrap());
    }
    let finished_row = bulk.drill(bulk_ids[0]).unwrap();
    assert_eq!(finished_row.status, "completed");
    assert_eq!(
        (
            finished_row.passed,
            finished_row.skipped,
            finished_row.blocked
        ),
        (2, 1, 1)
    );
    assert_eq!(
        finished_row.last_event_at,
        at(1_000 + 400),
        "the late write counts"
    );
    assert_eq!(bulk.drill(bulk_ids[1]).unwrap().status, "aborted");
    assert_eq!(bulk.drill(bulk_ids[2]).unwrap().status, "running");

    let samples = |store: &Store, ids: &[i64]| {
        let mut out: Vec<_> = store
            .step_samples(&loaded.playbook.id)
            .unwrap()
            .into_iter()
            .map(|s| {
                let nth = ids.iter().position(|&id| id == s.drill_id).unwrap();
                (nth, s.step_id, s.outcome, s.duration, s.drill_started_at)
            })
            .collect();
        out.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
        out
    };
    let want = samples(&appended, &appended_ids);
    assert_eq!(samples(&bulk, &bulk_ids), want);
    assert_eq!(
        want.len(),
        4 + 1,
        "four steps of the finished drill, one of the aborted"
    );

    // Malformed input writes nothing.
    let before = bulk.count_drills().unwrap();
    let broken = vec![logs[0].clone(), (&loaded.playbook, logs[0].1[1..].to_vec())];
    assert!(matches!(
        bulk.bulk_load(&broken),
        Err(StoreError::BadEvent { .. })
    ));
    assert_eq!(bulk.count_drills().unwrap(), before);
}

#[test]
fn schema_6_carries_step_results_over_with_their_drills_playbook_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    let loaded = bundled("pg-rename-column");
    let other = bundled("pg-pitr-restore-drill");
    let (a, b) = {
        let mut old = Store::create_at_version(&path, 5).unwrap();
        let a = Session::start(&mut old, &loaded, Mode::Tabletop, "ana", at(0))
            .unwrap()
            .id;
        let b = Session::start(&mut old, &other, Mode::Live, "bo", at(500))
            .unwrap()
            .id;
        (a, b)
    };
    // Rows as rollsafe at schema 5 wrote them: no playbook, no drill start.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO step_results (drill_id, step_id, outcome, duration_ms, ended_at) VALUES
                 ({a}, 'announce', 'passed', 40000, 1800000040000),
                 ({a}, 'backfill', 'failed', 15000, 1800000055000),
                 ({b}, 'announce', 'skipped', 0, 1800000501000);"
        ))
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
    let got: Vec<(i64, String, Outcome, u64, DateTime<Utc>)> = store
        .step_samples(&loaded.playbook.id)
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.drill_id,
                s.step_id,
                s.outcome,
                s.duration.as_secs(),
                s.drill_started_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (a, "announce".into(), Outcome::Passed, 40, at(0)),
            (a, "backfill".into(), Outcome::Failed, 15, at(0)),
        ]
    );
    let theirs = store.step_samples(&other.playbook.id).unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (theirs[0].drill_id, theirs[0].drill_started_at),
        (b, at(500))
    );
}

#[test]
fn probe_figures_survive_the_log_and_change_no_derived_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drills.db");
    let loaded = bundled("pg-rename-column");
    let mut store = Store::open(&path).unwrap();
    let mut session = Session::start(&mut store, &loaded, Mode::Live, "ana", at(0)).unwrap();
    let first = session.drill.steps[0].id.clone();
    let stats = rollsafe::probe::ProbeStats {
        window_ms: 30_000,
        count: 1_200,
        errors: 2,
        p50_us: 900,
        p99_us: 2_400_000,
        max_us: 2_500_000,
        blocked_after_ms: 250,
        blocked: vec![rollsafe::probe::BlockedInterval {
            offset_ms: 10_000,
            len_ms: 2_500,
        }],
    };
    session
        .record(
            &mut store,
            at(30),
            EventKind::ProbeStats {
                step: first.clone(),
                stats: stats.clone(),
            },
        )
        .unwrap();
    session
        .record(&mut store, at(30), EventKind::StepPassed { step: first })
        .unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let resumed = Session::resume(&store, session.id).unwrap();
    assert_eq!(resumed.drill, session.drill);
    assert_eq!(resumed.drill.steps[0].probe.as_ref(), Some(&stats));
    let row = store.drill(session.id).unwrap();
    assert_eq!((row.passed, row.failed), (1, 0));
    let samples = store.step_samples("pg-rename-column").unwrap();
    // One step result, from the outcome: the probe event adds none.
    assert_eq!(samples.len(), 1, "{samples:?}");
}

#[test]
fn a_damaged_record_is_reported_as_a_corrupt_log_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drills.db");
    {
        let mut store = Store::open(&path).unwrap();
        Session::start(
            &mut store,
            &bundled("pg-rename-column"),
            Mode::Tabletop,
            "ana",
            at(0),
        )
        .unwrap();
    }
    // What a damaged page looks like to a reader: text that is not UTF-8.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("UPDATE drills SET playbook_id = CAST(x'ff00fe' AS TEXT)")
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let err = store.list_drills(10, 0).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(path.to_str().unwrap()), "{text}");
    assert!(text.contains("not a readable SQLite database"), "{text}");
}

#[test]
fn upgrading_to_version_7_marks_step_results_of_live_drills_as_live() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    let loaded = bundled("pg-rename-column");
    let (live, tabletop) = {
        let mut old = Store::create_at_version(&path, 6).unwrap();
        let live = Session::start(&mut old, &loaded, Mode::Live, "ana", at(0))
            .unwrap()
            .id;
        let tabletop = Session::start(&mut old, &loaded, Mode::Tabletop, "ana", at(100))
            .unwrap()
            .id;
        (live, tabletop)
    };
    // Version 6 step results, as that rollsafe wrote them.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for id in [live, tabletop] {
            conn.execute(
                "INSERT INTO step_results (drill_id, step_id, playbook_id, drill_started_at,
                     outcome, duration_ms, ended_at) VALUES (?1, 's', 'pg-rename-column', 0, 'passed', 5000, 5000)",
                [id],
            )
            .unwrap();
        }
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
    let samples = store.step_samples("pg-rename-column").unwrap();
    let live_of = |id: i64| samples.iter().find(|s| s.drill_id == id).unwrap().live;
    assert!(live_of(live));
    assert!(!live_of(tabletop));
}

/// The playbook text of each drill, read straight from the file.
fn stored_texts(path: &std::path::Path) -> (i64, i64) {
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg("SELECT (SELECT count(*) FROM snapshots), (SELECT count(*) FROM drills WHERE snapshot != '')")
        .output()
        .expect("sqlite3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (a, b) = text.trim().split_once('|').expect("two counts");
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Schema 10: a playbook text is stored once per content hash; an older log
/// is converted on open with every drill's text intact, and a text that
/// differs from the one under its hash keeps its own copy.
#[test]
fn playbook_texts_are_stored_once_per_hash_and_old_logs_convert_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let rename = bundled("pg-rename-column");
    let other = bundled("pg-create-index-concurrently");
    let ids: Vec<i64> = {
        let mut old = Store::create_at_version(&path, 9).unwrap();
        [&rename, &rename, &other, &rename]
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Session::start(&mut old, l, Mode::Tabletop, "ana", at(i as i64 * 10))
                    .unwrap()
                    .id
            })
            .collect()
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
    assert_eq!(stored_texts(&path), (2, 0), "two texts, no copies left");
    for (id, l) in ids.iter().zip([&rename, &rename, &other, &rename]) {
        assert_eq!(store.snapshot(*id).unwrap().text, l.source, "drill #{id}");
        assert!(Session::resume(&store, *id).is_ok());
    }
    drop(store);

    // New drills share the stored text too.
    let mut store = Store::open(&path).unwrap();
    let fifth = Session::start(&mut store, &rename, Mode::Live, "ana", at(100))
        .unwrap()
        .id;
    assert_eq!(stored_texts(&path), (2, 0));
    assert_eq!(store.snapshot(fifth).unwrap().text, rename.source);

    // A different text under a hash already taken keeps its own copy.
    let started = rollsafe::drill::Event {
        at: at(120),
        kind: EventKind::Started {
            mode: Mode::Tabletop,
            operator: "ana".into(),
            playbook_id: rename.playbook.id.clone(),
            playbook_title: rename.playbook.title.clone(),
            source_name: "forged.toml".into(),
            content_hash: rollsafe::playbook::content_hash(&rename.source),
            snapshot: format!("{}\n# edited", rename.source),
        },
    };
    let id = store.start_drill(&started, 3).unwrap();
    assert_eq!(stored_texts(&path), (2, 1));
    assert_eq!(
        store.snapshot(id).unwrap().text,
        format!("{}\n# edited", rename.source)
    );
}
