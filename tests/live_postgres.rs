//! The bundled PostgreSQL rehearsal runbooks, run live by the real binary
//! against a real server, and a server killed in the middle of a step.
//!
//! Needs ROLLSAFE_TEST_PG_URL (`.ci/servers.sh start DIR; source DIR/env`).
//! Without it the tests say they are skipped, except under CI=true, where
//! they fail: CI must prove the runbooks against a server.

mod rehearse_support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rehearse_support::{
    code, command, json, kinds, logged, outputs, psql, rehearse_passing, server_env, text, unique,
};
use rollsafe::drill::{DrillStatus, EventKind, Outcome};
use tempfile::TempDir;

/// Rows for the volume tests: where a concurrent build takes seconds and
/// the planner prefers the index.
const ROWS: &str = "1000000";

#[test]
fn index_concurrently_runbook_at_a_million_rows() {
    let Some(url) = server_env("ROLLSAFE_TEST_PG_URL") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let table = unique("rs_idx_orders");
    let index = format!("{table}_customer_created_idx");
    let vars = [
        format!("DATABASE_URL={url}"),
        format!("TABLE={table}"),
        format!("INDEX_NAME={index}"),
        format!("ROWS={ROWS}"),
    ];
    let summary = rehearse_passing(&db, "pg-rehearse-index-concurrently", &vars);

    let (session, events) = logged(&db, summary["drill_id"].as_i64().unwrap());
    assert_eq!(session.drill.status, DrillStatus::Completed);
    assert_eq!(session.drill.operator, "automated");
    // The fill's own verification compared count(*) with ROWS; the command
    // the log holds is the one that ran, with the volume in it.
    let fill = events.iter().find_map(|e| match &e.kind {
        EventKind::CommandRun { step, command, .. } if step == "create-and-fill" => Some(command),
        _ => None,
    });
    assert!(fill.is_some_and(|c| c.contains(&format!("generate_series(1, {ROWS})"))));
    assert_eq!(
        psql(&url, &format!("select to_regclass('{table}') is null")),
        "t",
        "cleanup dropped the table"
    );
}

#[test]
fn not_null_column_runbook_at_a_million_rows() {
    let Some(url) = server_env("ROLLSAFE_TEST_PG_URL") else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let table = unique("rs_nn_orders");
    let vars = [
        format!("DATABASE_URL={url}"),
        format!("TABLE={table}"),
        format!("ROWS={ROWS}"),
    ];
    rehearse_passing(&db, "pg-rehearse-add-not-null-column", &vars);
    assert_eq!(
        psql(&url, &format!("select to_regclass('{table}') is null")),
        "t"
    );
}

/// A free loopback port for a cluster of the test's own.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster started from initdb for one test, stopped on drop.
struct Cluster {
    dir: TempDir,
    url: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = TempDir::new().unwrap();
        let port = free_port();
        let out = Command::new(rehearse_support::servers_script())
            .args([
                "pg-start",
                &dir.path().display().to_string(),
                &port.to_string(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg-start: {}", text(&out.stderr));
        Cluster {
            dir,
            url: format!("postgres://postgres@127.0.0.1:{port}/rollsafe"),
        }
    }

    /// `pg_ctl stop -m MODE`; immediate is a crash: no shutdown checkpoint,
    /// every backend killed at once.
    fn stop(&self, mode: &str) {
        let out = Command::new(rehearse_support::servers_script())
            .args(["pg-stop", &self.dir.path().display().to_string(), mode])
            .output()
            .unwrap();
        assert!(out.status.success(), "pg-stop: {}", text(&out.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

#[test]
fn a_server_killed_mid_step_fails_the_step_cleanly_and_loses_nothing() {
    if server_env("ROLLSAFE_TEST_PG_URL").is_none() {
        return;
    }
    let cluster = Cluster::start();
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let playbook = dir.path().join("kill.toml");
    std::fs::write(
        &playbook,
        r#"
id = "pg-kill-test"
title = "A step whose server dies"
[variables.DATABASE_URL]
description = "the test's own cluster"
[[phases]]
title = "One"
[[phases.steps]]
id = "before"
title = "Works"
command = '''psql "${DATABASE_URL}" -X -At -v ON_ERROR_STOP=1 -c "create table survivors (id int); insert into survivors values (1)"'''
[phases.steps.verify]
command = '''psql "${DATABASE_URL}" -X -At -v ON_ERROR_STOP=1 -c "select count(*) from survivors"'''
regex = "^1$"
[[phases.steps]]
id = "long"
title = "Runs until the server goes"
command = '''psql "${DATABASE_URL}" -X -At -v ON_ERROR_STOP=1 -c "select 'sleeping'" -c "select pg_sleep(60)"'''
on_fail = "stop"
[[phases.steps]]
id = "after"
title = "Never reached"
command = "true"
"#,
    )
    .unwrap();
    let var = format!("DATABASE_URL={}", cluster.url);
    let child = command(
        &db,
        &[
            playbook.to_str().unwrap(),
            "--live",
            "--yes",
            "--json",
            "--var",
            &var,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Wait until the step's query is running on the server, then crash it.
    let started = Instant::now();
    loop {
        let running = Command::new("psql")
            .args([&cluster.url, "-X", "-At", "-c"])
            .arg("select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()")
            .output()
            .unwrap();
        if text(&running.stdout).trim() == "1" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the long step never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.stop("immediate");
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the step did not wait out its sleep"
    );
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));

    let summary = json(&out);
    assert_eq!(summary["result"], "aborted");
    let (session, events) = logged(&db, summary["drill_id"].as_i64().unwrap());
    let drill = &session.drill;
    assert_eq!(drill.status, DrillStatus::Aborted);
    assert_eq!(
        drill.abort_reason.as_deref(),
        Some("step long failed and its on_fail is stop")
    );
    assert_eq!(drill.steps[0].outcome, Some(Outcome::Passed));
    assert_eq!(drill.steps[1].outcome, Some(Outcome::Failed));
    assert_eq!(drill.steps[2].attempts, 0);
    assert_eq!(drill.command_in_flight, None, "the command's end is logged");
    // psql printed its first result, then lost the server: both are kept.
    let long = outputs(&events, "long");
    assert_eq!(long.len(), 1);
    assert!(long[0].starts_with("sleeping\n"), "{long:?}");
    assert!(
        long[0].contains("server closed the connection")
            || long[0].contains("terminating connection"),
        "{long:?}"
    );
    // Every event up to the kill is in the log, in order.
    assert_eq!(
        kinds(&events),
        [
            "started",
            "step_started",
            "note",
            "command_started",
            "command_run",
            "command_started",
            "command_run",
            "step_passed",
            "step_started",
            "command_started",
            "command_run",
            "step_failed",
            "aborted"
        ]
    );
}
