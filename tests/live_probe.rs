//! The probe against a real PostgreSQL: it sees what users would feel.
//!
//! Needs `ROLLSAFE_TEST_PG_URL` (`.ci/servers.sh` starts a throwaway server
//! and exports it). Without it the tests say "skipped", except under CI=true,
//! where they fail: CI has the servers.

use std::process::Command;
use std::time::{Duration, Instant};

use rollsafe::playbook::{ProbeEngine, ProbeSpec};
use rollsafe::probe::{Probe, ProbeStats, format_latency};

fn pg_url() -> Option<String> {
    match std::env::var("ROLLSAFE_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("ROLLSAFE_TEST_PG_URL is not set: CI must start PostgreSQL (.ci/servers.sh)")
        }
        _ => {
            eprintln!("skipped: set ROLLSAFE_TEST_PG_URL to run the live probe tests");
            None
        }
    }
}

fn psql(url: &str, sql: &str) -> Duration {
    let started = Instant::now();
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn spec(url: &str, statement: String) -> ProbeSpec {
    ProbeSpec {
        engine: ProbeEngine::Postgres,
        url: url.to_string(),
        statement,
        interval: Duration::from_millis(20),
        blocked_after: Duration::from_millis(250),
        timeout: Duration::from_secs(120),
    }
}

/// A table of its own per test run, so parallel runs and other tests do not meet.
struct Table {
    url: String,
    name: String,
}

impl Table {
    fn filled(url: &str, tag: &str, rows: u64) -> Self {
        let name = format!("rollsafe_probe_{tag}_{}", std::process::id());
        psql(url, &format!("DROP TABLE IF EXISTS {name}"));
        psql(
            url,
            &format!(
                "CREATE TABLE {name} AS SELECT g AS id, md5(g::text) AS payload, 0 AS n \
                 FROM generate_series(1, {rows}) AS g; \
                 ALTER TABLE {name} ADD PRIMARY KEY (id)"
            ),
        );
        psql(url, &format!("VACUUM ANALYZE {name}"));
        Table {
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &self.url, "-c"])
            .arg(format!("DROP TABLE IF EXISTS {}", self.name))
            .output();
    }
}

struct Build {
    took: Duration,
    stats: ProbeStats,
}

/// Builds an index on `payload` with the probe writing to one row meanwhile.
fn build_index_under_probe(table: &Table, concurrently: bool) -> Build {
    let probe_sql = format!("UPDATE {} SET n = n + 1 WHERE id = 1", table.name);
    let mut probe = Probe::start(&spec(&table.url, probe_sql)).expect("probe starts");
    std::thread::sleep(Duration::from_millis(300));
    probe.window_start();
    let how = if concurrently { "CONCURRENTLY " } else { "" };
    let index = format!("{}_payload", table.name);
    let took = psql(
        &table.url,
        &format!("CREATE INDEX {how}{index} ON {} (payload)", table.name),
    );
    std::thread::sleep(Duration::from_millis(300));
    let stats = probe.window_end();
    probe.stop();
    psql(&table.url, &format!("DROP INDEX {index}"));
    Build { took, stats }
}

fn describe(label: &str, b: &Build) -> String {
    format!(
        "{label}: build {}, probe samples {}, errors {}, p50 {}, p99 {}, max {}, blocked total {} in {} interval(s)",
        format_latency(b.took),
        b.stats.count,
        b.stats.errors,
        format_latency(b.stats.p50()),
        format_latency(b.stats.p99()),
        format_latency(b.stats.max()),
        format_latency(b.stats.blocked_total()),
        b.stats.blocked.len(),
    )
}

#[test]
fn plain_create_index_blocks_the_probe_far_longer_than_concurrently() {
    let Some(url) = pg_url() else { return };
    let table = Table::filled(&url, "cic", 1_000_000);
    let plain = build_index_under_probe(&table, false);
    let cic = build_index_under_probe(&table, true);
    eprintln!("{}", describe("CREATE INDEX", &plain));
    eprintln!("{}", describe("CREATE INDEX CONCURRENTLY", &cic));

    // A plain build holds a SHARE lock for its whole duration, and UPDATE
    // needs ROW EXCLUSIVE: the probe's write waits for most of the build.
    assert!(
        plain.stats.blocked_total() >= plain.took / 2,
        "plain build took {:?} but the probe was blocked only {:?}",
        plain.took,
        plain.stats.blocked_total()
    );
    assert!(
        plain.stats.max() >= Duration::from_millis(500),
        "{}",
        describe("plain", &plain)
    );
    // CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which lets writes through.
    // Its probe still sees short stalls when the machine is loaded (seen:
    // 0.7 s in two intervals beside 3.1 s for the plain build, with other
    // test binaries building), so the margin is 3x, not more.
    assert!(
        plain.stats.blocked_total() >= cic.stats.blocked_total() * 3,
        "{} vs {}",
        describe("plain", &plain),
        describe("cic", &cic)
    );
    assert!(
        plain.stats.max() >= cic.stats.max() * 5,
        "{} vs {}",
        describe("plain", &plain),
        describe("cic", &cic)
    );
    // And the probe kept writing during the concurrent build.
    assert!(
        cic.stats.count >= 10 && cic.stats.errors == 0,
        "{}",
        describe("cic", &cic)
    );
}

#[test]
fn a_probe_stuck_on_a_lock_shows_blocked_and_still_stops_promptly() {
    let Some(url) = pg_url() else { return };
    let table = Table::filled(&url, "stuck", 10);
    let probe_sql = format!("UPDATE {} SET n = n + 1 WHERE id = 1", table.name);
    let mut probe = Probe::start(&spec(&url, probe_sql)).expect("probe starts");
    probe.window_start();
    // Another session holds the table locked for far longer than the test waits.
    let holder_name = format!("rollsafe-lock-holder-{}", std::process::id());
    let mut holder = Command::new("psql")
        .env("PGAPPNAME", &holder_name)
        .args(["-X", "-q", "-d", &url, "-c"])
        .arg(format!(
            "BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;",
            table.name
        ))
        .stdout(std::process::Stdio::null())
        // It is terminated on purpose at the end; its complaint is expected.
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    std::thread::sleep(Duration::from_millis(1500));
    let live = probe.live(50);
    assert!(
        live.blocked_now(),
        "the in-flight sample has waited {:?}",
        live.waiting
    );
    let stats = probe.window_end();
    // The wait is reported while it lasts, not once the statement returns.
    assert!(
        stats.blocked_total() >= Duration::from_millis(700),
        "{stats:?}"
    );
    let stopping = Instant::now();
    probe.stop();
    let took = stopping.elapsed();
    // The server would keep the lock until pg_sleep ends: end that session.
    psql(
        &url,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{holder_name}'"
        ),
    );
    let _ = holder.wait();
    assert!(
        took < Duration::from_secs(3),
        "stop took {took:?} with the probe stuck on a lock"
    );
}

#[test]
fn a_probe_that_cannot_connect_fails_at_start_not_mid_drill() {
    // No server needed: nothing listens on port 1.
    let started = Instant::now();
    let err = Probe::start(&spec(
        "postgresql://rollsafe@127.0.0.1:1/none?connect_timeout=2",
        "SELECT 1".into(),
    ))
    .err()
    .expect("no server there");
    assert!(err.to_string().starts_with("probe: "), "{err}");
    assert!(started.elapsed() < Duration::from_secs(11));
}

#[test]
fn the_bundled_locking_rehearsal_logs_and_prints_probe_figures_per_step() {
    let Some(url) = pg_url() else { return };
    let table = format!("rollsafe_probe_bundled_{}", std::process::id());
    // Dropped by the runbook's own cleanup; this guards against a failed run.
    let _cleanup = Table {
        url: url.clone(),
        name: table.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drills.db");
    let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(["rehearse", "pg-rehearse-index-locking"])
        .args(["--live", "--yes", "--json", "--db"])
        .arg(&db)
        .args(["--var", &format!("DATABASE_URL={url}")])
        .args(["--var", &format!("TABLE={table}")])
        .args(["--var", "ROWS=1000000"])
        .output()
        .expect("rollsafe runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("probe: postgres `DO $$BEGIN"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let steps = json["journal"]["steps"].as_array().expect("steps");
    let probe = |id: &str| -> ProbeStats {
        let step = steps.iter().find(|s| s["id"] == id).expect("step");
        serde_json::from_value(step["probe"].clone()).expect("probe stats per step")
    };
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    for id in &ids {
        let stats = probe(id);
        assert!(stats.count >= 1, "{id} has no samples");
        // The guard keeps the probe from failing before the table exists. (A
        // write queued behind DROP TABLE may fail once the table is gone.)
        if *id != "drop-table" {
            assert_eq!(stats.errors, 0, "{id}: {stats:?}");
        }
    }
    let (plain, cic) = (probe("build-plain"), probe("build-concurrently"));
    eprintln!(
        "bundled rehearsal: plain max {} blocked {}; concurrently max {} blocked {}",
        format_latency(plain.max()),
        plain.blocked_text(),
        format_latency(cic.max()),
        cic.blocked_text()
    );
    assert!(plain.max() >= Duration::from_millis(250), "{plain:?}");
    assert!(!plain.blocked.is_empty(), "{plain:?}");
    assert!(plain.max() >= cic.max() * 5, "{plain:?} vs {cic:?}");
    assert!(plain.blocked_total() >= cic.blocked_total() * 5);

    // The same figures are in the log, one window per step, for history and reports.
    let store = rollsafe::store::Store::open(&db).unwrap();
    let id = json["drill_id"].as_i64().unwrap();
    let logged: Vec<String> = store
        .events(id)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            rollsafe::drill::EventKind::ProbeStats { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(logged, ids);
}

#[test]
fn the_runner_samples_during_a_live_drill_and_logs_a_window_per_step() {
    use rollsafe::drill::{EventKind, Mode};
    use rollsafe::tui::action::Action;
    use rollsafe::tui::app::{App, Screen};

    let Some(url) = pg_url() else { return };
    let table = Table::filled(&url, "runner", 100);
    let loaded = rollsafe::playbook::load_file(std::path::Path::new(
        "tests/fixtures/probe-index-builds.toml",
    ))
    .expect("fixture loads");
    let overrides = [
        ("DATABASE_URL".to_string(), url.clone()),
        ("TABLE".to_string(), table.name.clone()),
    ]
    .into_iter()
    .collect();
    let library = rollsafe::playbook::Library {
        playbooks: vec![loaded.clone()],
        broken: vec![],
    };
    let store = rollsafe::store::Store::open_in_memory().unwrap();
    let mut app =
        App::new(store, library, "ana".into(), overrides, chrono::Utc::now()).with_env(|_| None);
    app.start(&loaded, Mode::Live, chrono::Utc::now());
    std::thread::sleep(Duration::from_millis(300));
    app.tick(chrono::Utc::now());
    let Screen::Runner(runner) = &app.screen else {
        panic!("no runner: {:?}", app.status)
    };
    let view = runner.probe_view.clone().expect("the probe shows live");
    assert!(view.current.count >= 3, "{view:?}");
    assert!(!view.recent.is_empty() && view.ended.is_none(), "{view:?}");
    let drill = runner.session.id;

    // Pass every step by hand (nothing runs), then finish.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(100));
        app.handle(Action::Pass, chrono::Utc::now());
    }
    app.handle(Action::Finish, chrono::Utc::now());
    app.handle(Action::Yes, chrono::Utc::now());
    assert!(matches!(app.screen, Screen::Summary(_)), "{:?}", app.status);
    let windows: Vec<(String, u64)> = app
        .store
        .events(drill)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ProbeStats { step, stats } => Some((step, stats.count)),
            _ => None,
        })
        .collect();
    let steps: Vec<&str> = windows.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        steps,
        ["plain-index", "drop-plain", "cic-index", "drop-cic"]
    );
    assert!(windows.iter().all(|(_, n)| *n >= 1), "{windows:?}");
}

/// `mysql://user:password@host:port/database` from `.ci/servers.sh`'s variables.
fn mysql_url() -> Option<String> {
    let var = |name: &str| std::env::var(format!("ROLLSAFE_TEST_MYSQL_{name}")).ok();
    match (var("HOST"), var("PORT")) {
        (Some(host), Some(port)) => Some(format!(
            "mysql://{}:{}@{host}:{port}/{}",
            var("USER").unwrap_or_else(|| "root".into()),
            var("PASSWORD").unwrap_or_default(),
            var("DATABASE").unwrap_or_else(|| "rollsafe".into()),
        )),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "ROLLSAFE_TEST_MYSQL_HOST/PORT are not set: CI must start MariaDB (.ci/servers.sh)"
            )
        }
        _ => {
            eprintln!(
                "skipped: set ROLLSAFE_TEST_MYSQL_HOST and _PORT to run the MariaDB probe test"
            );
            None
        }
    }
}

/// Runs SQL through the MariaDB client with the test server's credentials.
fn mariadb(sql: &str) -> Duration {
    let var = |name: &str| std::env::var(format!("ROLLSAFE_TEST_MYSQL_{name}")).unwrap_or_default();
    let started = Instant::now();
    let out = Command::new("mariadb")
        .env("MYSQL_PWD", var("PASSWORD"))
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            &var("HOST"),
            "-P",
            &var("PORT"),
        ])
        .args(["-u", &var("USER"), "-D", &var("DATABASE"), "-e", sql])
        .output()
        .expect("the mariadb client runs");
    assert!(
        out.status.success(),
        "mariadb failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

#[test]
fn mariadb_copy_alter_blocks_the_probe_and_inplace_lock_none_does_not() {
    let Some(url) = mysql_url() else { return };
    let table = format!("rollsafe_probe_my_{}", std::process::id());
    mariadb(&format!(
        "DROP TABLE IF EXISTS {table}; \
         CREATE TABLE {table} (id INT PRIMARY KEY, payload CHAR(32) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB; \
         INSERT INTO {table} (id, payload) SELECT seq, md5(seq) FROM seq_1_to_1000000"
    ));
    let build = |how: &str| -> Build {
        let spec = ProbeSpec {
            engine: ProbeEngine::Mysql,
            ..spec(&url, format!("UPDATE {table} SET n = n + 1 WHERE id = 1"))
        };
        let mut probe = Probe::start(&spec).expect("probe starts");
        std::thread::sleep(Duration::from_millis(300));
        probe.window_start();
        let took = mariadb(&format!(
            "ALTER TABLE {table} ADD INDEX {table}_payload (payload), {how}"
        ));
        std::thread::sleep(Duration::from_millis(300));
        let stats = probe.window_end();
        probe.stop();
        mariadb(&format!("ALTER TABLE {table} DROP INDEX {table}_payload"));
        Build { took, stats }
    };
    let copy = build("ALGORITHM=COPY");
    let inplace = build("ALGORITHM=INPLACE, LOCK=NONE");
    mariadb(&format!("DROP TABLE {table}"));
    eprintln!("{}", describe("MariaDB ALGORITHM=COPY", &copy));
    eprintln!(
        "{}",
        describe("MariaDB ALGORITHM=INPLACE, LOCK=NONE", &inplace)
    );
    // COPY takes a lock that lets reads through but not writes, for the whole copy.
    assert!(
        copy.stats.blocked_total() >= copy.took / 2,
        "{}",
        describe("copy", &copy)
    );
    assert!(
        copy.stats.max() >= inplace.stats.max() * 5,
        "{} vs {}",
        describe("copy", &copy),
        describe("inplace", &inplace)
    );
    assert!(copy.stats.blocked_total() >= inplace.stats.blocked_total() * 5);
    assert!(
        inplace.stats.count >= 10 && inplace.stats.errors == 0,
        "{}",
        describe("inplace", &inplace)
    );
}

#[test]
fn a_mariadb_probe_reports_a_failing_statement_as_an_error_and_goes_on() {
    let Some(url) = mysql_url() else { return };
    let spec = ProbeSpec {
        engine: ProbeEngine::Mysql,
        ..spec(&url, "UPDATE rollsafe_no_such_table SET n = 1".into())
    };
    let mut probe = Probe::start(&spec).expect("probe starts");
    probe.window_start();
    std::thread::sleep(Duration::from_millis(400));
    let stats = probe.window_end();
    let live = probe.live(10);
    probe.stop();
    assert!(stats.count >= 3, "{stats:?}");
    // A statement still waiting when the window closes counts with its
    // elapsed time but has no verdict yet: every other one is an error.
    assert!(
        stats.errors == stats.count || stats.errors + 1 == stats.count,
        "{stats:?}"
    );
    assert!(
        live.last_error
            .as_deref()
            .unwrap_or("")
            .contains("doesn't exist"),
        "{live:?}"
    );
}
