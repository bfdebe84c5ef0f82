//! Helpers for the `rollsafe rehearse` tests: run the real binary against a
//! drill log in a temp dir, read the log back, and find the test servers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rollsafe::drill::{Event, EventKind, Session};
use rollsafe::store::Store;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rollsafe");

/// `rollsafe rehearse ARGS` with the log at `db`, no user playbooks, no
/// ROLLSAFE_* or test variables leaking in from the environment.
pub fn command(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("rehearse")
        .args(args)
        .arg("--db")
        .arg(db)
        .env("ROLLSAFE_PLAYBOOKS", db.with_file_name("no-playbooks"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

pub fn run(db: &Path, args: &[&str]) -> Output {
    command(db, args).output().expect("rollsafe runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `--json` summary on stdout.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// `rehearse PLAYBOOK --live --yes --json --var ...`, timed: the run must
/// pass (exit 0); returns the JSON summary and prints each step's time.
pub fn rehearse_passing(db: &Path, playbook: &str, vars: &[String]) -> Value {
    let mut args = vec![playbook, "--live", "--yes", "--json"];
    for v in vars {
        args.extend(["--var", v.as_str()]);
    }
    let started = std::time::Instant::now();
    let out = run(db, &args);
    eprintln!("{playbook}: {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let summary = json(&out);
    for step in summary["journal"]["steps"].as_array().unwrap() {
        let runs: Vec<String> = step["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {:.2}s",
                    r["purpose"].as_str().unwrap(),
                    r["duration"].as_f64().unwrap()
                )
            })
            .collect();
        eprintln!(
            "  {:<26} {:>9} {:>7.2}s  {}",
            step["id"].as_str().unwrap(),
            step["status"].as_str().unwrap(),
            step["duration"].as_f64().unwrap(),
            runs.join(", ")
        );
    }
    assert_eq!(summary["result"], "passed", "{summary:#}");
    for step in summary["journal"]["steps"].as_array().unwrap() {
        assert_eq!(step["status"], "succeeded", "{}: {step:#}", step["id"]);
        for run in step["output"].as_array().unwrap() {
            assert_eq!(run["passed"], true, "{}: {run:#}", step["id"]);
        }
    }
    summary
}

/// A drill as the log has it: the folded session and every event.
pub fn logged(db: &Path, drill: i64) -> (Session, Vec<Event>) {
    let store = Store::open(db).expect("log opens");
    let session = Session::resume(&store, drill).expect("drill folds");
    let events = store.events(drill).expect("events read");
    (session, events)
}

pub fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

/// Outputs of the commands a step ran, in order.
pub fn outputs<'a>(events: &'a [Event], step_id: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandRun { step, output, .. } if step == step_id => Some(output.as_str()),
            _ => None,
        })
        .collect()
}

/// A connection setting for a live test server, from the environment. When
/// it is unset, CI fails (the servers are required there, `.ci/run` starts
/// them); elsewhere the test says it is skipped and returns `None`.
pub fn server_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{name} is unset, but CI=true: the live tests need the servers. \
             Start them with `.ci/servers.sh start DIR` and `source DIR/env`."
        ),
        _ => {
            eprintln!("skipped: set {name} (`.ci/servers.sh start DIR; source DIR/env`)");
            None
        }
    }
}

/// The servers script, for tests that start a cluster of their own.
pub fn servers_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/servers.sh")
}

/// `psql URL -XAt -c SQL`, trimmed stdout; panics on failure.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// A name unique to this test process, for tables on a shared server.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", std::process::id())
}
