//! Event commit latency: how long the operator waits between pressing a key
//! and seeing its outcome, which is one durable commit to the log. The same
//! drill events are appended one by one to a SQLite log (a temp file) and,
//! when `ROLLSAFE_BENCH_PG_URL` names a server, to a PostgreSQL log (a
//! database of its own, dropped after); p50, p99 and max are printed per
//! backend.
//!
//! Run: `ROLLSAFE_BENCH_PG_URL=postgres://... cargo bench --bench log_latency`.
//! Under `cargo test --benches` it appends a few events and checks nothing
//! was lost, without timing claims.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::playbook::Library;
use rollsafe::store::Store;

fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench")
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
}

/// Appends `n` events (notes, and an outcome every tenth) one commit each;
/// returns each commit's latency.
fn measure(store: &mut Store, n: usize) -> Vec<Duration> {
    let loaded = Library::load(None)
        .get("pg-rename-column")
        .cloned()
        .expect("bundled playbook");
    let mut session = Session::start(store, &loaded, Mode::Tabletop, "bench", at(0)).unwrap();
    let steps: Vec<String> = session.drill.steps.iter().map(|s| s.id.clone()).collect();
    let mut times = Vec::with_capacity(n);
    let mut next_step = 0;
    for i in 0..n {
        let kind = if i % 10 == 9 && next_step < steps.len() {
            next_step += 1;
            EventKind::StepPassed {
                step: steps[next_step - 1].clone(),
            }
        } else {
            EventKind::Note {
                step: None,
                text: format!("observation {i}"),
                by: None,
            }
        };
        let started = Instant::now();
        session.record(store, at(1000 + i as i64), kind).unwrap();
        times.push(started.elapsed());
    }
    let logged = store.events(session.id).unwrap().len();
    assert_eq!(
        logged,
        n + 2,
        "started, the first step started, then every event"
    );
    times
}

fn report(backend: &str, mut times: Vec<Duration>) {
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "log_latency {backend:>10}: {} commits  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        times.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    let n = if test_mode() { 20 } else { 2_000 };
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = Store::open(&dir.path().join("drills.db")).unwrap();
    report("sqlite", measure(&mut sqlite, n));

    let Some(admin) = std::env::var("ROLLSAFE_BENCH_PG_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        println!("log_latency postgresql: skipped (set ROLLSAFE_BENCH_PG_URL)");
        return;
    };
    let name = format!("rs_bench_latency_{}", std::process::id());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = admin.split('?').next().unwrap();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let result = std::panic::catch_unwind(|| {
        let mut pg = Store::open_at(Path::new(&url)).unwrap();
        report("postgresql", measure(&mut pg, n));
    });
    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
