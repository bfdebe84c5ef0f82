//! History at scale: a generated log of 100,000 drills and 2,000,000 events
//! over two years, and what the operator waits for on it: one playbook's
//! statistics, the recommendations Home shows for every playbook, and the
//! first frame of the drills list. The goal is each under 100 ms.
//!
//! Run with `cargo bench --bench history`. Under `cargo test --benches` (or
//! `cargo bench -- --test`) criterion runs each benchmark once and the log
//! shrinks to a smoke test.
//!
//! The log is generated once, lazily (a filter that selects nothing skips
//! it), into a temporary file that every benchmark of the run reuses and that
//! is deleted at the end. It is written with `Store::bulk_load`: the same rows
//! as one durable commit per event, in a few transactions instead of millions.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, Criterion};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rollsafe::drill::{CommandPurpose, Event, EventKind, Mode};
use rollsafe::insight;
use rollsafe::playbook::{self, Library, Loaded, Playbook};
use rollsafe::store::Store;
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Screen};
use rollsafe::tui::theme::Theme;
use rollsafe::tui::view;

/// Size of the generated log.
const DRILLS: usize = 100_000;
/// Events per drill on average (16 to 24), so 2,000,000 in all.
const EVENTS_PER_DRILL: usize = 20;
/// Drills start over this many days, up to [`end_of_history`].
const SPAN_DAYS: i64 = 730;
/// Drills written per transaction.
const CHUNK: usize = 2_000;
/// One drill in this many is left running (resumable from Home).
const RUNNING_ONE_IN: usize = 9_973;
/// The terminal the frame is drawn into.
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

/// Criterion's test mode (`cargo test --benches`, `cargo bench -- --test`).
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

/// The newest drill starts here: 2027-01-15 08:00:00 UTC, as in the screen tests.
fn end_of_history() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// xorshift64*: deterministic, so every run benchmarks the same log.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `per_mille` times in a thousand.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1_000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const OPERATORS: &[&str] = &["ana", "bo", "chen", "dara", "eli", "fatou"];
const NOTES: &[&str] = &[
    "replica lag peaked at 3s, fine",
    "TODO: alert when replica lag passes 5s",
    "lock wait longer than expected on the orders table",
    "TODO: add a dashboard link to this step",
    "paged the DBA, answered in 2 minutes",
    "FOLLOW-UP: the runbook command needs --single-transaction",
];
const REASONS: &[&str] = &[
    "lock timeout",
    "row counts differ",
    "replica lag over budget",
    "permission denied on the schema",
];

/// A drill log on disk, and what the benchmarks ask of it.
struct Log {
    // Kept alive so the database outlives the benchmarks; deleted at the end.
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// When the screens are computed: an hour after the newest drill started.
    now: DateTime<Utc>,
    /// The playbook with the most drills, and how many.
    busiest: (String, usize),
}

/// One playbook's steps, as the generator walks them.
struct Shape<'a> {
    loaded: &'a Loaded,
    steps: Vec<(String, Duration)>,
    current_hash: String,
    /// The hash of an earlier revision: old drills ran it.
    old_hash: String,
}

impl<'a> Shape<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        Shape {
            loaded,
            steps: loaded
                .playbook
                .steps()
                .map(|(_, _, s)| {
                    // A step takes most of its timebox; two minutes without one.
                    let typical = s.timebox.map_or(Duration::from_secs(120), |t| t * 3 / 5);
                    (s.id.clone(), typical)
                })
                .collect(),
            current_hash: playbook::content_hash(&loaded.source),
            old_hash: playbook::content_hash(&format!("{}\n# earlier revision", loaded.source)),
        }
    }
}

enum Ending {
    Finished,
    Aborted,
    Running,
}

/// One drill of exactly `budget` events started at `t0`: steps walked in
/// order, mostly passed, some failed (half of them retried), skipped or
/// blocked, with notes, paused stretches, interruptions and, in live mode,
/// command runs; then finished or aborted (or left running). A drill that
/// walks every step before its budget is spent adds retrospective notes.
fn drill_events(
    rng: &mut Rng,
    shape: &Shape<'_>,
    t0: DateTime<Utc>,
    hash: &str,
    budget: usize,
    ending: &Ending,
) -> Vec<Event> {
    let mode = if rng.chance(250) {
        Mode::Live
    } else {
        Mode::Tabletop
    };
    let mut t = t0;
    let mut events = Vec::with_capacity(budget + 8);
    events.push(Event::new(
        t,
        EventKind::Started {
            mode,
            operator: rng.pick(OPERATORS).to_string(),
            playbook_id: shape.loaded.playbook.id.clone(),
            playbook_title: shape.loaded.playbook.title.clone(),
            source_name: shape.loaded.origin.label().to_string(),
            content_hash: hash.to_string(),
            snapshot: shape.loaded.source.clone(),
        },
    ));
    let limit = match ending {
        Ending::Running => budget,
        _ => budget - 1,
    };
    let advance = |rng: &mut Rng, t: &mut DateTime<Utc>, typical: Duration| {
        // 0.5× to 1.5× the typical time, one time in fifty 4× (a stall).
        let mut ms = typical.as_millis() as u64 / 2 + rng.below(typical.as_millis() as u64 + 1);
        if rng.chance(20) {
            ms *= 4;
        }
        *t += TimeDelta::milliseconds(ms as i64);
        *t
    };
    let push = |events: &mut Vec<Event>, at: DateTime<Utc>, kind: EventKind| {
        events.push(Event::new(at, kind));
    };
    let second = Duration::from_secs(1);
    if let Some((first, _)) = shape.steps.first() {
        push(
            &mut events,
            t,
            EventKind::StepStarted {
                step: first.clone(),
            },
        );
    }
    let mut index = 0;
    while events.len() < limit {
        let Some((step, typical)) = shape.steps.get(index) else {
            let at = advance(rng, &mut t, Duration::from_secs(60));
            let text = rng.pick(NOTES).to_string();
            push(
                &mut events,
                at,
                EventKind::Note {
                    step: None,
                    text,
                    by: None,
                },
            );
            continue;
        };
        let step = step.clone();
        if rng.chance(80) {
            let at = advance(rng, &mut t, *typical / 4);
            let text = rng.pick(NOTES).to_string();
            let step = Some(step.clone());
            push(
                &mut events,
                at,
                EventKind::Note {
                    step,
                    text,
                    by: None,
                },
            );
        }
        if rng.chance(30) {
            let at = advance(rng, &mut t, *typical / 2);
            push(&mut events, at, EventKind::Paused);
            let at = advance(rng, &mut t, Duration::from_secs(300));
            push(&mut events, at, EventKind::Resumed);
        }
        if rng.chance(10) {
            let last_seen = advance(rng, &mut t, *typical / 3);
            let at = advance(rng, &mut t, Duration::from_secs(900));
            push(&mut events, at, EventKind::Interrupted { last_seen });
        }
        if mode == Mode::Live && rng.chance(500) {
            let command = format!("psql \"$DATABASE_URL\" -f {step}.sql");
            let at = advance(rng, &mut t, second);
            push(
                &mut events,
                at,
                EventKind::CommandStarted {
                    step: step.clone(),
                    purpose: CommandPurpose::Action,
                    command: command.clone(),
                    pgid: None,
                },
            );
            let took = *typical / 2;
            let at = advance(rng, &mut t, took);
            let failed = rng.chance(50);
            push(
                &mut events,
                at,
                EventKind::CommandRun {
                    step: step.clone(),
                    purpose: CommandPurpose::Action,
                    command,
                    exit_code: Some(i32::from(failed)),
                    duration_ms: took.as_millis() as u64,
                    output: if failed {
                        "ERROR: canceling statement due to lock timeout\n".into()
                    } else {
                        "ALTER TABLE\n".into()
                    },
                    truncated: false,
                    cancelled: false,
                    passed: !failed,
                },
            );
        }
        let at = advance(rng, &mut t, *typical);
        let reason = rng.pick(REASONS).to_string();
        match rng.below(1_000) {
            0..40 => {
                push(
                    &mut events,
                    at,
                    EventKind::StepFailed {
                        step: step.clone(),
                        reason,
                    },
                );
                if rng.chance(500) {
                    // Retried, and passed the second time.
                    push(
                        &mut events,
                        at,
                        EventKind::StepStarted { step: step.clone() },
                    );
                    let at = advance(rng, &mut t, *typical);
                    push(&mut events, at, EventKind::StepPassed { step });
                }
            }
            40..80 => push(&mut events, at, EventKind::StepSkipped { step, reason }),
            80..90 => push(&mut events, at, EventKind::StepBlocked { step, reason }),
            _ => push(&mut events, at, EventKind::StepPassed { step }),
        }
        index += 1;
        if let Some((next, _)) = shape.steps.get(index) {
            push(
                &mut events,
                at,
                EventKind::StepStarted { step: next.clone() },
            );
        }
    }
    // A prefix of a valid log is a valid log: cut to the budget, then end.
    events.truncate(limit);
    let at = advance(rng, &mut t, Duration::from_secs(30));
    match ending {
        Ending::Finished => push(&mut events, at, EventKind::Finished),
        Ending::Aborted => push(
            &mut events,
            at,
            EventKind::Aborted {
                reason: rng.pick(REASONS).to_string(),
            },
        ),
        Ending::Running => {}
    }
    events
}

/// Generates the log: `drills` drills of the bundled playbooks (the first
/// ones drilled more often than the last), starting at a steady pace with
/// some jitter over [`SPAN_DAYS`] days, `EVENTS_PER_DRILL` events each on
/// average. Drills older than half a year ran an earlier revision of their
/// playbook, and so did every drill of the third playbook: it changed since.
fn generate(drills: usize) -> Log {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drills.db");
    let library = Library::load(None);
    assert!(!library.playbooks.is_empty(), "no bundled playbooks");
    let shapes: Vec<Shape<'_>> = library.playbooks.iter().map(Shape::new).collect();
    let n = shapes.len() as u64;
    let weights: Vec<u64> = (0..n).map(|k| 2 * (n - k) + 6).collect();
    let total_weight: u64 = weights.iter().sum();

    let end = end_of_history();
    let start = end - TimeDelta::days(SPAN_DAYS);
    let spacing_ms = (end - start).num_milliseconds() / drills.max(1) as i64;
    let revised = end - TimeDelta::days(180);
    let mut rng = Rng(0x5EED_F00D_D0C5);
    let mut counts = vec![0usize; shapes.len()];
    let mut events_total = 0usize;
    let (mut aborted, mut running) = (0usize, 0usize);

    let started = Instant::now();
    let mut store = Store::open(&path).expect("open the log");
    let mut chunk: Vec<(&Playbook, Vec<Event>)> = Vec::with_capacity(CHUNK);
    for i in 0..drills {
        let mut roll = rng.below(total_weight);
        let which = weights
            .iter()
            .position(|w| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .unwrap_or(0);
        let shape = &shapes[which];
        counts[which] += 1;
        let jitter = rng.below(spacing_ms as u64 / 2 + 1) as i64;
        let t0 = start + TimeDelta::milliseconds(i as i64 * spacing_ms + jitter);
        let hash = if which == 2 || t0 < revised {
            &shape.old_hash
        } else {
            &shape.current_hash
        };
        // Budgets pair up around the mean (20 + r, then 20 - r), so the
        // total is exactly drills × EVENTS_PER_DRILL for an even count.
        let spread = (i as u64 / 2).wrapping_mul(0x9E37_79B9) % 5;
        let budget = if i % 2 == 0 {
            EVENTS_PER_DRILL + spread as usize
        } else {
            EVENTS_PER_DRILL - spread as usize
        };
        let ending = if i % RUNNING_ONE_IN == RUNNING_ONE_IN - 1 {
            running += 1;
            Ending::Running
        } else if rng.chance(60) {
            aborted += 1;
            Ending::Aborted
        } else {
            Ending::Finished
        };
        let events = drill_events(&mut rng, shape, t0, hash, budget, &ending);
        events_total += events.len();
        chunk.push((&shape.loaded.playbook, events));
        if chunk.len() == CHUNK || i + 1 == drills {
            store.bulk_load(&chunk).expect("bulk load");
            chunk.clear();
        }
    }
    let loaded_in = started.elapsed();
    drop(store); // the last connection checkpoints the WAL into the main file
    let total_in = started.elapsed();
    let busiest = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map(|(k, c)| (shapes[k].loaded.playbook.id.clone(), *c))
        .unwrap_or_default();
    println!(
        "history: generated {drills} drills ({aborted} aborted, {running} running) and {events_total} events \
         over {SPAN_DAYS} days of {} playbooks in {:.1} s ({:.1} s generating and loading, {:.1} s final checkpoint)",
        shapes.len(),
        total_in.as_secs_f64(),
        loaded_in.as_secs_f64(),
        (total_in - loaded_in).as_secs_f64(),
    );
    println!(
        "history: busiest playbook {} with {} drills",
        busiest.0, busiest.1
    );
    print_db_size(&path);
    Log {
        _dir: dir,
        path,
        now: end + TimeDelta::hours(1),
        busiest,
    }
}

fn print_db_size(path: &Path) {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let main = size(path);
    let wal = size(&PathBuf::from(format!("{}-wal", path.display())));
    println!(
        "history: database {} is {} bytes ({:.1} MiB), WAL {} bytes",
        path.display(),
        main,
        main as f64 / (1024.0 * 1024.0),
        wal
    );
}

/// `ROLLSAFE_BENCH_DB=FILE` keeps the generated log in FILE and reuses it
/// when it exists (to compare builds without generating again); by default
/// it lives in a temporary directory deleted at the end of the run.
const KEEP_VAR: &str = "ROLLSAFE_BENCH_DB";

fn log(fixture: &mut Option<Log>) -> &Log {
    fixture.get_or_insert_with(|| {
        let drills = if test_mode() { 1_000 } else { DRILLS };
        match std::env::var_os(KEEP_VAR).map(PathBuf::from) {
            Some(path) if path.exists() => reuse(path),
            Some(path) => {
                let log = generate(drills);
                std::fs::copy(&log.path, &path).expect("keep the generated log");
                log
            }
            None => generate(drills),
        }
    })
}

/// A log kept by an earlier run: the same generator, so the same shape.
fn reuse(path: PathBuf) -> Log {
    let dir = tempfile::tempdir().expect("temp dir");
    let opening = Instant::now();
    let store = Store::open(&path).expect("open the kept log");
    println!(
        "history: opened the kept log (schema brought up to date) in {:.2} s",
        opening.elapsed().as_secs_f64()
    );
    let busiest = store
        .playbook_ids()
        .expect("playbooks")
        .into_iter()
        .map(|id| {
            let n = store.drills_of(&id).expect("drills").len();
            (id, n)
        })
        .max_by_key(|(_, n)| *n)
        .unwrap_or_default();
    println!(
        "history: reusing the log kept in {} ({} drills; busiest playbook {} with {} drills)",
        path.display(),
        store.count_drills().expect("count"),
        busiest.0,
        busiest.1
    );
    drop(store);
    print_db_size(&path);
    Log {
        _dir: dir,
        path,
        now: end_of_history() + TimeDelta::hours(1),
        busiest,
    }
}

fn configure<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group
}

// ---- a. one playbook's statistics ----------------------------------------------

fn bench_stats(c: &mut Criterion, fixture: &mut Option<Log>) {
    let mut group = configure(c, "history_100k");
    let mut store: Option<Store> = None;
    let mut printed = false;
    group.bench_function("stats_one_playbook", |b| {
        let log = log(fixture);
        let store = store.get_or_insert_with(|| Store::open(&log.path).expect("open"));
        let id = log.busiest.0.as_str();
        // What the stats screen and `rollsafe stats` compute for it.
        let stats = || {
            insight::gather(store, id, None, log.now, insight::Depth::Full)
                .expect("gather")
                .stats
        };
        let once = stats();
        assert_eq!(once.drills, log.busiest.1);
        assert!(!once.steps.is_empty());
        if !printed {
            printed = true;
            breakdown(store, id);
        }
        b.iter(|| black_box(stats()));
    });
    group.finish();
}

/// Where one playbook's statistics spend their time: the median of a few
/// runs of each part, printed once.
fn breakdown(store: &Store, id: &str) {
    fn median_ms<T>(mut f: impl FnMut() -> T) -> (f64, T) {
        let mut times = Vec::new();
        let mut out = None;
        for _ in 0..5 {
            let started = Instant::now();
            out = Some(black_box(f()));
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], out.expect("ran"))
    }
    let (facts_ms, facts) = median_ms(|| store.drill_facts(id).expect("facts"));
    let (recent_ms, recent) = median_ms(|| {
        store
            .recent_drills_of(id, insight::gather::RECENT_DRILLS, 5)
            .expect("recent")
    });
    let (steps_ms, steps) = median_ms(|| store.step_distributions(id).expect("distributions"));
    let (stats_ms, _) = median_ms(|| insight::playbook_stats(id, &facts, &steps, None));
    let (window_ms, window) = median_ms(|| {
        store
            .recent_step_samples(id, insight::recommend::SAMPLE_WINDOW)
            .expect("window")
    });
    println!(
        "stats_one_playbook: drill_facts {facts_ms:.1} ms ({} drills), recent_drills_of {recent_ms:.1} ms ({} rows), \
         step_distributions {steps_ms:.1} ms ({} results), playbook_stats {stats_ms:.1} ms, \
         recent_step_samples {window_ms:.1} ms ({} rows)",
        facts.counts.drills,
        recent.len(),
        steps
            .iter()
            .map(|d| d.passed + d.failed + d.skipped + d.blocked)
            .sum::<usize>(),
        window.len()
    );
}

// ---- b. Home's recommendations -------------------------------------------------

/// What Home computes for its list: every playbook's statistics, readiness
/// and recommendations (follow-ups of its previous drill included).
fn home_insights(store: &Store, library: &Library, now: DateTime<Utc>) -> usize {
    library
        .playbooks
        .iter()
        .map(|loaded| {
            let found = insight::gather(
                store,
                &loaded.playbook.id,
                Some(loaded),
                now,
                insight::Depth::Summary,
            )
            .expect("gather");
            found.recommendations.len()
        })
        .sum()
}

fn bench_home(c: &mut Criterion, fixture: &mut Option<Log>) {
    let mut group = configure(c, "history_100k");
    let mut setup: Option<(Store, Library)> = None;
    let mut printed = false;
    group.bench_function("home_recommendations", |b| {
        let log = log(fixture);
        let (store, library) = setup
            .get_or_insert_with(|| (Store::open(&log.path).expect("open"), Library::load(None)));
        if !printed {
            printed = true;
            let found = home_insights(store, library, log.now);
            println!(
                "home_recommendations: {found} recommendations over {} playbooks",
                library.playbooks.len()
            );
        }
        b.iter(|| black_box(home_insights(store, library, log.now)));
    });
    group.finish();
}

// ---- c. the drills list's first frame ------------------------------------------

fn draw(app: &App, now: DateTime<Utc>) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    terminal
        .draw(|frame| view::render(frame, app, now, Theme::PLAIN))
        .expect("draw");
    terminal
}

/// From a log just opened: build the app (Home's queries), open the drills
/// list and draw it.
fn list_first_frame(
    store: Store,
    library: Library,
    now: DateTime<Utc>,
) -> (App, Terminal<TestBackend>) {
    let mut app = App::new(store, library, "ana".into(), BTreeMap::new(), now).with_env(|_| None);
    app.handle(Action::OpenHistory, now);
    let terminal = draw(&app, now);
    (app, terminal)
}

fn bench_list(c: &mut Criterion, fixture: &mut Option<Log>) {
    let mut group = configure(c, "history_100k");
    group.bench_function("drills_list_first_frame", |b| {
        let log = log(fixture);
        let open = || (Store::open(&log.path).expect("open"), Library::load(None));
        let (app, terminal) = {
            let (store, library) = open();
            list_first_frame(store, library, log.now)
        };
        assert!(matches!(app.screen, Screen::History(_)), "{:?}", app.status);
        let screen = terminal.backend().to_string();
        assert!(screen.contains("History"), "not the drills list:\n{screen}");
        // Opening the log and loading the library are not timed; the app
        // and its connection are dropped outside the timing.
        b.iter_batched(
            open,
            |(store, library)| list_first_frame(store, library, log.now),
            BatchSize::PerIteration,
        );
    });
    // The same frame without Home's queries: the list alone.
    let mut app: Option<App> = None;
    group.bench_function("drills_list_open_and_draw", |b| {
        let log = log(fixture);
        let app = app.get_or_insert_with(|| {
            App::new(
                Store::open(&log.path).expect("open"),
                Library::load(None),
                "ana".into(),
                BTreeMap::new(),
                log.now,
            )
            .with_env(|_| None)
        });
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                app.screen = Screen::Home;
                let started = Instant::now();
                app.handle(Action::OpenHistory, log.now);
                black_box(draw(app, log.now));
                spent += started.elapsed();
            }
            spent
        });
    });
    // Scrolling: from the newest drill, End to the oldest (the deepest page
    // of 100,000), then one page up; each key's page load and frame.
    group.bench_function("drills_list_end_then_page_up", |b| {
        let log = log(fixture);
        let app = app.as_mut().expect("opened by the benchmark above");
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                app.screen = Screen::Home;
                app.handle(Action::OpenHistory, log.now);
                let started = Instant::now();
                app.handle(Action::Bottom, log.now);
                black_box(draw(app, log.now));
                app.handle(Action::PageUp, log.now);
                black_box(draw(app, log.now));
                spent += started.elapsed();
            }
            spent
        });
        let Screen::History(history) = &app.screen else {
            panic!("left the drills list");
        };
        assert_eq!(
            history.selected + 1 + 20,
            history.total,
            "End, then a page up"
        );
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let mut fixture: Option<Log> = None;
    bench_stats(&mut criterion, &mut fixture);
    bench_home(&mut criterion, &mut fixture);
    bench_list(&mut criterion, &mut fixture);
    criterion.final_summary();
}
