//! Verification that can fail (pattern 5): every verify the planner emits is run for real
//! against a state where what it claims is false, and must fail there; the version gate
//! must pass on the server it names and fail on another. SQLite always; PostgreSQL and
//! MariaDB when ROLLSAFE_TEST_PG_URL / ROLLSAFE_TEST_MYSQL_* are set (required under CI=true).

#[path = "support/samples.rs"]
mod samples;

use std::process::Command;

use chrono::{TimeZone, Utc};
use rollsafe::planner::intake::{EngineChoice, parse_change};
use rollsafe::planner::knowledge::Knowledge;
use rollsafe::planner::plan::PlanHistory;
use rollsafe::planner::{Intake, Plan, plan};
use rollsafe::playbook::Verification;

fn k() -> Knowledge {
    Knowledge::load().unwrap_or_else(|e| panic!("knowledge base: {e:?}"))
}

fn server_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{name} is unset, but CI=true: start the servers with .ci/servers.sh")
        }
        _ => {
            eprintln!("skipped: set {name}");
            None
        }
    }
}

fn make(engine: &str, version: &str, change: &str) -> Plan {
    let k = k();
    let intake = Intake {
        deploy: "rolling".into(),
        flags: false,
        engine: EngineChoice {
            id: engine.into(),
            version: version.into(),
            edition: None,
        },
        tool: "sql".into(),
        changes: vec![parse_change(&k, change).unwrap()],
        rows: Default::default(),
        rto: None,
        incidents: vec![],
        from: None,
        schema: None,
    };
    plan(
        &intake,
        &k,
        &PlanHistory::none(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()),
    )
    .unwrap()
}

fn verify_of<'a>(p: &'a Plan, id: &str) -> &'a Verification {
    p.playbook
        .steps()
        .find(|(_, _, s)| s.id == id)
        .and_then(|(_, _, s)| s.verify.as_ref())
        .unwrap_or_else(|| panic!("no verify on {id}"))
}

/// Runs a verify as the runner does (sh -c, variables in the environment); true when it passes.
fn passes(v: &Verification, env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(&v.command)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let re = v
        .expect
        .regex
        .as_deref()
        .map(|r| regex::Regex::new(r).unwrap());
    let ok = out.status.success() && re.is_none_or(|re| re.is_match(&text));
    (ok, text)
}

fn sqlite_db(dir: &tempfile::TempDir, sql: &str) -> String {
    let path = dir.path().join("app.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(sql).unwrap();
    path.to_string_lossy().into_owned()
}

const ORDERS: &str = "CREATE TABLE customers(id INTEGER PRIMARY KEY);
CREATE TABLE orders(id INTEGER PRIMARY KEY, status TEXT, total INTEGER, customer_id INTEGER);
INSERT INTO orders(status, total) VALUES (NULL, 1), ('new', -5);";

#[test]
fn sqlite_version_gate_passes_on_this_server_and_fails_above_it() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = sqlite_db(&dir, ORDERS);
    let p = make("sqlite", "3", "drop column orders.total");
    let v = verify_of(&p, "prep-version");
    let (ok, out) = passes(v, &[("SQLITE_DB", &db)]);
    assert!(ok, "{out}\n{}", v.command);
    // The same plan for a SQLite 4 that does not exist here must fail.
    let p = make("sqlite", "4", "drop column orders.total");
    let (ok, out) = passes(verify_of(&p, "prep-version"), &[("SQLITE_DB", &db)]);
    assert!(!ok && out.contains("server is 3."), "{out}");
}

#[test]
fn sqlite_blockers_check_fails_while_a_writer_holds_the_database() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = sqlite_db(&dir, ORDERS);
    let p = make("sqlite", "3", "add index on orders.status");
    let v = verify_of(&p, "prep-blockers");
    let (ok, out) = passes(v, &[("SQLITE_DB", &db)]);
    assert!(ok, "{out}");
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (ok, out) = passes(v, &[("SQLITE_DB", &db)]);
    assert!(!ok && out.contains("database is locked"), "{out}");
    writer.execute_batch("ROLLBACK").unwrap();
}

/// The same tables with every precondition a plan checks violated: status NOT NULL without
/// a default, duplicate statuses, a foreign key pointing nowhere, a negative total.
const VIOLATING: &str = "PRAGMA foreign_keys = OFF;
CREATE TABLE customers(id INTEGER PRIMARY KEY);
CREATE TABLE orders(id INTEGER PRIMARY KEY, status TEXT NOT NULL, total INTEGER, customer_id INTEGER REFERENCES customers(id));
INSERT INTO orders(status, total, customer_id) VALUES ('new', -5, 99), ('new', 1, 99);
CREATE VIEW open_orders AS SELECT id, status FROM orders;";

/// Every change verify on SQLite must fail in at least one real state: before the change
/// is made, or with its precondition violated. A verify that passes in both checks nothing.
/// Verifies without an expectation are measurements (row counts) and must say so in their title.
#[test]
fn sqlite_change_verifies_fail_where_their_claim_is_false() {
    let k = k();
    let mut ran = 0;
    let mut passed_anyway = Vec::new();
    for op in &k.operations {
        // Added columns must not exist before the change; the others do.
        let column = if op.id.starts_with("add-column") || op.id.starts_with("add-not-null") {
            "extra"
        } else {
            "status"
        };
        let text = samples::wording(&op.patterns[0], column, "integer");
        let Ok(c) = parse_change(&k, &text) else {
            continue;
        };
        let intake = Intake {
            deploy: "rolling".into(),
            flags: false,
            engine: EngineChoice {
                id: "sqlite".into(),
                version: "3".into(),
                edition: None,
            },
            tool: "sql".into(),
            changes: vec![c],
            rows: Default::default(),
            rto: None,
            incidents: vec![],
            from: None,
            schema: None,
        };
        let Ok(p) = plan(
            &intake,
            &k,
            &PlanHistory::none(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()),
        ) else {
            continue;
        };
        for (_, _, s) in p.playbook.steps() {
            let Some(v) = &s.verify else { continue };
            if s.id.starts_with("prep-")
                || v.command.contains("${") && !v.command.contains("${SQLITE_DB}")
            {
                continue;
            }
            if v.expect.regex.is_none() && v.expect.exit_code.is_none() {
                assert!(
                    s.title.starts_with("Count"),
                    "{} {}: a verify that expects nothing",
                    op.id,
                    s.id
                );
                continue;
            }
            let mut outs = Vec::new();
            let mut failed_somewhere = false;
            for fixture in [ORDERS, VIOLATING] {
                let dir = tempfile::TempDir::new().unwrap();
                let db = sqlite_db(&dir, fixture);
                let (ok, out) = passes(v, &[("SQLITE_DB", &db)]);
                failed_somewhere |= !ok;
                outs.push(out);
            }
            ran += 1;
            if !failed_somewhere {
                passed_anyway.push(format!("{} {}: {}\n  -> {outs:?}", op.id, s.id, v.command));
            }
        }
    }
    assert!(ran >= 8, "ran {ran}");
    assert!(
        passed_anyway.is_empty(),
        "verifies that pass before the change:\n{}",
        passed_anyway.join("\n")
    );
}

#[test]
fn postgres_version_gate_is_numeric() {
    let Some(url) = server_env("ROLLSAFE_TEST_PG_URL") else {
        return;
    };
    let out = Command::new("psql")
        .args([url.as_str(), "-XAtc", "SHOW server_version_num"])
        .output()
        .unwrap();
    let num: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let major = (num / 10000).to_string();
    let env = [("DATABASE_URL", url.as_str())];
    let p = make("postgres", &major, "add index on orders.status");
    let (ok, out) = passes(verify_of(&p, "prep-version"), &env);
    assert!(ok, "{out}");
    let other = (num / 10000 + 1).to_string();
    let p = make("postgres", &other, "add index on orders.status");
    let (ok, out) = passes(verify_of(&p, "prep-version"), &env);
    assert!(!ok && out.contains("server is"), "{out}");
}

#[test]
fn mariadb_version_gate_is_numeric_and_not_mysql() {
    let Some(host) = server_env("ROLLSAFE_TEST_MYSQL_HOST") else {
        return;
    };
    let setting = |n: &str| std::env::var(format!("ROLLSAFE_TEST_MYSQL_{n}")).unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let cnf = dir.path().join("my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nhost={host}\nport={}\nuser={}\npassword={}\n",
            setting("PORT"),
            setting("USER"),
            setting("PASSWORD")
        ),
    )
    .unwrap();
    let cnf = cnf.to_string_lossy().into_owned();
    let database = setting("DATABASE");
    let env = [("MYSQL_CNF", cnf.as_str()), ("DB_NAME", database.as_str())];
    let out = Command::new("mariadb")
        .args([
            &format!("--defaults-extra-file={cnf}"),
            "-N",
            "-B",
            "-e",
            "SELECT VERSION()",
        ])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&out.stdout).to_string();
    let major_minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let p = make("mariadb", &major_minor, "add column orders.x int");
    let (ok, out) = passes(verify_of(&p, "prep-version"), &env);
    assert!(ok, "{version}: {out}");
    // The same server is not MySQL 8.0, whatever its number.
    let p = make("mysql", "8.0", "add column orders.x int");
    let (ok, out) = passes(verify_of(&p, "prep-version"), &env);
    assert!(!ok && out.contains("MariaDB"), "{out}");
}

/// Pattern 7: the backfill is bounded by the primary key captured before it starts. A
/// trigger plays the old release, inserting a NULL row for every row the backfill fills;
/// an unbounded `WHERE status IS NULL` loop would chase those forever (here: until the cap).
#[test]
fn sqlite_backfill_is_bounded_by_the_captured_max_id() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = sqlite_db(
        &dir,
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, status TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
         INSERT INTO orders(status) SELECT NULL FROM n;
         CREATE TRIGGER old_release AFTER UPDATE OF status ON orders
         WHEN (SELECT count(*) FROM orders) < 20000
         BEGIN INSERT INTO orders(status) VALUES (NULL); END;",
    );
    let p = make("sqlite", "3", "backfill orders.status");
    let (_, _, step) = p
        .playbook
        .steps()
        .find(|(_, _, s)| s.id == "c1-backfill-run")
        .expect("a backfill step");
    let cmd = step.command.as_deref().unwrap();
    let out = Command::new("timeout")
        .args(["60", "sh", "-c", cmd])
        .envs([
            ("SQLITE_DB", db.as_str()),
            ("ORDERS_PK", "id"),
            ("ORDERS_STATUS_VALUE", "'done'"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("bounded to id <= 2500"), "{text}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(
        count("SELECT count(*) FROM orders WHERE id <= 2500 AND status IS NULL"),
        0
    );
    // The old release's rows are left for N+1: the loop did not chase them.
    assert_eq!(
        count("SELECT count(*) FROM orders WHERE id > 2500 AND status IS NOT NULL"),
        0
    );
    assert!(count("SELECT count(*) FROM orders WHERE id > 2500") > 0);
}
