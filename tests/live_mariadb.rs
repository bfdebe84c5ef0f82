//! The bundled MariaDB rehearsal runbook, run live by the real binary
//! against a real server at a million rows.
//!
//! Needs ROLLSAFE_TEST_MYSQL_* (`.ci/servers.sh start DIR; source DIR/env`).
//! Without them the test says it is skipped, except under CI=true, where it
//! fails.

mod rehearse_support;

use std::process::Command;

use rehearse_support::{logged, rehearse_passing, server_env, text, unique};
use rollsafe::drill::DrillStatus;
use tempfile::TempDir;

#[test]
fn online_index_runbook_at_a_million_rows() {
    let Some(host) = server_env("ROLLSAFE_TEST_MYSQL_HOST") else {
        return;
    };
    let setting = |name: &str| {
        std::env::var(format!("ROLLSAFE_TEST_MYSQL_{name}"))
            .unwrap_or_else(|_| panic!("ROLLSAFE_TEST_MYSQL_{name} is set with the host"))
    };
    let (port, user, password, database) = (
        setting("PORT"),
        setting("USER"),
        setting("PASSWORD"),
        setting("DATABASE"),
    );
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let table = unique("rs_online_idx");
    let vars = [
        format!("MYSQL_HOST={host}"),
        format!("MYSQL_PORT={port}"),
        format!("MYSQL_USER={user}"),
        format!("MYSQL_PWD={password}"),
        format!("MYSQL_DATABASE={database}"),
        format!("TABLE={table}"),
        "ROWS=1000000".to_string(),
    ];
    let summary = rehearse_passing(&db, "mariadb-rehearse-online-index", &vars);
    let (session, _) = logged(&db, summary["drill_id"].as_i64().unwrap());
    assert_eq!(session.drill.status, DrillStatus::Completed);

    // Cleanup ran: the table is gone.
    let left = Command::new("mariadb")
        .args(["--no-defaults", "-h", &host, "-P", &port, "-u", &user, &database, "-N", "-e"])
        .arg(format!(
            "select count(*) from information_schema.tables where table_schema = database() and table_name = '{table}'"
        ))
        .env("MYSQL_PWD", &password)
        .output()
        .unwrap();
    assert!(left.status.success(), "{}", text(&left.stderr));
    assert_eq!(text(&left.stdout).trim(), "0");
}
