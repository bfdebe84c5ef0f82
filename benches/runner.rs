//! How long the operator waits: the first frame after launch, a redraw of a
//! very large playbook, and one durable event commit.
//!
//! Run with `cargo bench --bench runner`. Under `cargo test --benches` (or
//! `cargo bench -- --test`) criterion runs each benchmark once; the setups
//! then shrink so the smoke test stays quick.
//!
//! Expensive setups run lazily inside the benchmark closures, so a filter
//! (`cargo bench --bench runner -- frame_2000`) skips the ones not selected.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::playbook::{self, Library, Loaded, Origin};
use rollsafe::store::Store;
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Screen};
use rollsafe::tui::theme::Theme;
use rollsafe::tui::view;

/// Drills in the log behind the first-frame benchmark.
const DRILLS: usize = 1_000;
/// Shape of the generated playbook: 20 phases of 100 steps.
const PHASES: usize = 20;
const STEPS_PER_PHASE: usize = 100;
/// Steps passed before the big playbook's frame is drawn.
const PASSED: usize = 1_000;
/// Individual commits timed for the latency percentiles.
const LATENCY_COMMITS: usize = 2_000;

/// A fixed clock, as in the screen tests: 2027-01-15 08:00:00 UTC plus `secs`.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// Criterion's test mode (`cargo test --benches`, `cargo bench -- --test`):
/// every benchmark runs once, so the setups are cut down to a smoke test.
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

fn scaled(full: usize, quick: usize) -> usize {
    if test_mode() { quick } else { full }
}

fn app_with(store: Store, library: Library) -> App {
    App::new(
        store,
        library,
        "ana".into(),
        BTreeMap::new(),
        chrono::Utc::now(),
    )
    .with_env(|_| None)
}

// ---- 1. first frame ---------------------------------------------------------

/// A drill log on disk with `drills` drills of the bundled playbooks.
struct History {
    // Kept alive so the directory (and the database) outlive the benchmark.
    _dir: tempfile::TempDir,
    path: PathBuf,
    drills: usize,
    /// When Home is drawn: shortly after the last drill.
    now: DateTime<Utc>,
}

/// Fills a log through the public API, one durable commit per event (so this
/// is slow: thousands of fsyncs). Drills start an hour apart; most finish,
/// every tenth is aborted, and a few are left running so Home offers them.
fn history(drills: usize) -> History {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drills.db");
    let library = Library::load(None);
    assert!(!library.playbooks.is_empty(), "no bundled playbooks");
    let started = Instant::now();
    let mut events = 0usize;
    {
        let mut store = Store::open(&path).expect("open the log");
        for i in 0..drills {
            let loaded = &library.playbooks[i % library.playbooks.len()];
            let t0 = i as i64 * 3_600;
            let mut session = Session::start(&mut store, loaded, Mode::Tabletop, "ana", at(t0))
                .expect("start a drill");
            events += 2;
            let first = session.drill.steps[0].id.clone();
            let mut record = |session: &mut Session, secs: i64, kind: EventKind| {
                session
                    .record(&mut store, at(t0 + secs), kind)
                    .expect("record an event");
                events += 1;
            };
            if i.is_multiple_of(7) {
                record(
                    &mut session,
                    30,
                    EventKind::Note {
                        step: Some(first.clone()),
                        text: "TODO: alert when replica lag passes 5s".into(),
                        by: None,
                    },
                );
            }
            record(&mut session, 60, EventKind::StepPassed { step: first });
            if let Some(second) = session.drill.steps.get(1).map(|s| s.id.clone()) {
                record(&mut session, 61, EventKind::StepStarted { step: second });
            }
            if i % 250 == 249 {
                continue; // left running: resumable from Home
            }
            let end = if i % 10 == 3 {
                EventKind::Aborted {
                    reason: "replica lag over budget".into(),
                }
            } else {
                EventKind::Finished
            };
            record(&mut session, 600, end);
        }
        // Dropping the last connection checkpoints the WAL into the main file.
    }
    println!(
        "first_frame: built a log of {drills} drills ({events} events) in {:.1} s, one fsynced commit per event",
        started.elapsed().as_secs_f64()
    );
    print_db_size(&path);
    History {
        _dir: dir,
        path,
        drills,
        now: at(drills as i64 * 3_600 + 600),
    }
}

fn print_db_size(path: &Path) {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let main = size(path);
    let wal = size(&PathBuf::from(format!("{}-wal", path.display())));
    println!(
        "first_frame: database file {} is {} bytes ({:.2} MiB), WAL {} bytes",
        path.display(),
        main,
        main as f64 / (1024.0 * 1024.0),
        wal
    );
}

/// What the user waits for between pressing enter and seeing Home: open the
/// log, load the bundled library, build the app (its Home queries) and draw.
fn first_frame(history: &History) -> Terminal<TestBackend> {
    let store = Store::open(&history.path).expect("open the log");
    let library = Library::load(None);
    let app = app_with(store, library);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal
        .draw(|frame| view::render(frame, &app, history.now, Theme::PLAIN))
        .expect("draw");
    terminal
}

fn bench_first_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("first_frame_with_1000_drills");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut fixture: Option<History> = None;
    group.bench_function("open_load_render_home_100x30", |b| {
        let history = fixture.get_or_insert_with(|| {
            let h = history(scaled(DRILLS, 20));
            // Sanity: the frame is Home with history in it.
            let screen = first_frame(&h).backend().to_string();
            assert!(screen.contains("rollsafe"), "not Home:\n{screen}");
            h
        });
        assert!(history.drills > 0);
        // The app (and its connection) is dropped outside the timing.
        b.iter_with_large_drop(|| first_frame(black_box(history)));
    });
    group.finish();
}

// ---- 2. a frame of a 2,000-step playbook --------------------------------------

/// A TOML playbook of `phases` × `steps` steps, each with Markdown detail,
/// a timebox, a role, a command and a rollback; some with a verification and
/// an on_fail path; points of no return only past the steps to be passed.
fn big_playbook_toml(phases: usize, steps: usize) -> String {
    let mut t = String::new();
    t.push_str(
        "id = \"big\"\n\
         title = \"Big: reshard every table\"\n\
         description = \"Generated for benchmarks: many phases, many steps.\"\n\
         kind = \"migration\"\n\
         tags = [\"postgresql\", \"bench\"]\n\
         budget = \"40h\"\n\n\
         [variables.DATABASE_URL]\n\
         default = \"postgres://localhost/app\"\n\
         description = \"database under drill\"\n\n",
    );
    for p in 0..phases {
        writeln!(t, "[[phases]]\ntitle = \"Phase {p}: shard group {p}\"\n").unwrap();
        for s in 0..steps {
            let table = format!("t_{p:02}_{s:03}");
            writeln!(t, "[[phases.steps]]").unwrap();
            writeln!(t, "id = \"p{p:02}-s{s:03}\"").unwrap();
            writeln!(t, "title = \"Move {table} to the new layout\"").unwrap();
            writeln!(
                t,
                "detail = '''\n\
                 Copy **{table}** into its new shard with `COPY` in batches of 10k rows, \
                 then compare row counts. Keep an eye on replication lag: if it grows past \
                 *five seconds*, pause the copy and let the replicas catch up before going on.\n\n\
                 - lock_timeout `2s`, statement_timeout `15min`\n\
                 - watch `pg_stat_replication` on the primary\n\
                 - the old table stays readable until phase {p} ends\n\n\
                 If the counts differ, do **not** switch reads: mark the step failed and \
                 follow its on_fail path.\n\
                 '''"
            )
            .unwrap();
            writeln!(t, "timebox = \"{}m\"", 1 + s % 5).unwrap();
            writeln!(
                t,
                "role = \"{}\"",
                if s.is_multiple_of(2) { "DBA" } else { "SRE" }
            )
            .unwrap();
            writeln!(
                t,
                "command = '''psql \"${{DATABASE_URL}}\" -c \"INSERT INTO new_{table} SELECT * FROM {table}\"'''"
            )
            .unwrap();
            writeln!(t, "rollback = \"TRUNCATE new_{table}\"").unwrap();
            if p * steps + s >= PASSED && s == steps / 2 {
                writeln!(t, "point_of_no_return = true").unwrap();
            }
            if s.is_multiple_of(3) {
                writeln!(t, "on_fail = \"continue\"").unwrap();
            }
            if s.is_multiple_of(4) {
                writeln!(
                    t,
                    "\n[phases.steps.verify]\n\
                     command = '''psql \"${{DATABASE_URL}}\" -XAtc \"SELECT count(*) = (SELECT count(*) FROM {table}) FROM new_{table}\"'''\n\
                     regex = \"^t$\""
                )
                .unwrap();
            }
            t.push('\n');
        }
    }
    t
}

struct BigDrill {
    app: App,
    now: DateTime<Utc>,
}

fn big_drill(phases: usize, steps: usize, passed: usize) -> BigDrill {
    let text = big_playbook_toml(phases, steps);
    let started = Instant::now();
    let playbook = playbook::parse("big.toml", &text).unwrap_or_else(|problems| {
        panic!(
            "generated playbook does not parse: {}",
            problems
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    let parsed_in = started.elapsed();
    assert_eq!(playbook.step_count(), phases * steps);
    let loaded = Loaded {
        playbook,
        origin: Origin::File("big.toml".into()),
        source: text,
    };
    let library = Library {
        playbooks: vec![loaded.clone()],
        broken: Vec::new(),
    };
    let mut app = app_with(Store::open_in_memory().expect("in-memory log"), library);
    app.start(&loaded, Mode::Tabletop, at(0));
    for i in 0..passed {
        app.handle(Action::Pass, at(30 * (i as i64 + 1)));
    }
    let total = phases * steps;
    let Screen::Runner(runner) = &mut app.screen else {
        panic!("not on the runner screen: {:?}", app.status);
    };
    assert_eq!(runner.session.drill.done(), passed, "{:?}", app.status);
    runner.select(total / 2);
    println!(
        "frame_2000_step_playbook: {} KiB of TOML, {total} steps parsed in {:.1} ms; {passed} passed; step {} selected",
        loaded.source.len() / 1024,
        parsed_in.as_secs_f64() * 1e3,
        total / 2 + 1
    );
    BigDrill {
        app,
        now: at(30 * passed as i64 + 45),
    }
}

fn bench_big_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_2000_step_playbook");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut fixture: Option<(BigDrill, Terminal<TestBackend>)> = None;
    group.bench_function("runner_redraw_120x40", |b| {
        let (big, terminal) = fixture.get_or_insert_with(|| {
            let big = if test_mode() {
                big_drill(2, STEPS_PER_PHASE, 20)
            } else {
                big_drill(PHASES, STEPS_PER_PHASE, PASSED)
            };
            let terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            (big, terminal)
        });
        let (app, now) = (&big.app, big.now);
        b.iter(|| {
            terminal
                .draw(|f| view::render(f, app, now, Theme::PLAIN))
                .expect("draw");
        });
    });
    group.finish();
}

// ---- 3. one durable event commit ----------------------------------------------

/// A drill under way in a log on disk, as in production (WAL, synchronous=FULL).
struct Committer {
    _dir: tempfile::TempDir,
    store: Store,
    session: Session,
    step: String,
    clock: i64,
    pass_next: bool,
}

impl Committer {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("drills.db")).expect("open the log");
        let library = Library::load(None);
        let loaded = library.playbooks.first().expect("a bundled playbook");
        let session =
            Session::start(&mut store, loaded, Mode::Tabletop, "ana", at(0)).expect("start");
        let step = session.drill.steps[0].id.clone();
        Committer {
            _dir: dir,
            store,
            session,
            step,
            clock: 0,
            pass_next: true,
        }
    }

    /// Appends one event: the first step passed, then restarted, and so on,
    /// so the folded state (cloned at every record) does not grow.
    fn commit(&mut self) {
        self.clock += 1;
        let step = self.step.clone();
        let kind = if self.pass_next {
            EventKind::StepPassed { step }
        } else {
            EventKind::StepStarted { step }
        };
        self.pass_next = !self.pass_next;
        self.session
            .record(&mut self.store, at(self.clock), kind)
            .expect("commit an event");
    }
}

/// Times `n` commits one by one and prints nearest-rank percentiles.
///
/// These are durable commits: each one waits for fsync of the WAL (and, at
/// auto-checkpoints, of the database file), so the figures are this
/// machine's disk as much as rollsafe's code.
fn commit_latency(committer: &mut Committer, n: usize) {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            committer.commit();
            start.elapsed()
        })
        .collect();
    samples.sort_unstable();
    // Nearest rank: the smallest sample with at least p% of them at or below it.
    let rank = |p: f64| {
        let r = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[r.clamp(1, samples.len()) - 1]
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "event_commit latency over {n} commits: p50 = {:.0} µs, p99 = {:.0} µs, max = {:.0} µs",
        us(rank(50.0)),
        us(rank(99.0)),
        us(samples[samples.len() - 1]),
    );
}

fn bench_event_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_commit");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut fixture: Option<Committer> = None;
    group.bench_function("record_to_wal_file_sync_full", |b| {
        let committer = fixture.get_or_insert_with(|| {
            // Percentiles first (criterion reports only the mean and its
            // interval), on the same file criterion then measures.
            let mut committer = Committer::new();
            commit_latency(&mut committer, scaled(LATENCY_COMMITS, 20));
            committer
        });
        b.iter(|| committer.commit());
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_first_frame,
    bench_big_frame,
    bench_event_commit
);

criterion_main!(benches);
