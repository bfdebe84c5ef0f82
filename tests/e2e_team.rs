//! Two clients on one shared PostgreSQL drill log, each the real binary in
//! its own tmux session: ana drives a drill, bo follows it. bo sees each of
//! ana's outcomes within a second of ana's screen showing it; bo's note
//! shows in ana's runner with bo's name; bo's outcome and bo's attempt to
//! take the drive are refused while ana drives; after ana hands over, bo
//! drives and ana follows.
//!
//! Needs ROLLSAFE_TEST_PG_URL (`.ci/servers.sh start DIR; source DIR/env`);
//! under CI=true it fails without it. The log is a database of its own.

mod support;

use std::time::{Duration, Instant};

use support::{Tmux, mark_at, step_rows};

const PG: &str = "pg-rename-column";

/// A fresh database on the test server, dropped when this is dropped.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn fresh(test: &str) -> Option<Database> {
        let admin = match std::env::var("ROLLSAFE_TEST_PG_URL") {
            Ok(v) if !v.is_empty() => v,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("ROLLSAFE_TEST_PG_URL is unset, but CI=true: the team tests need it")
            }
            _ => {
                eprintln!("skipped: set ROLLSAFE_TEST_PG_URL");
                return None;
            }
        };
        let name = format!("rs_e2e_{test}_{}", std::process::id());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        Some(Database { admin, name, url })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Waits until step `index` shows `mark` on the current session's screen;
/// returns how long that took.
fn wait_mark(t: &Tmux, index: usize, mark: char) -> Duration {
    let started = Instant::now();
    t.wait_until(&format!("step {index} marked {mark}"), |s| {
        mark_at(&step_rows(s), index) == Some(mark)
    });
    started.elapsed()
}

#[test]
fn a_follower_sees_outcomes_within_a_second_notes_reach_the_driver_and_a_second_driver_is_refused()
{
    let Some(db) = Database::fresh("team") else {
        return;
    };
    let mut t = Tmux::new("team");
    t.db = db.url.clone().into();

    t.start_rollsafe("ana", 110, 32, &["--operator", "ana", "run", PG]);
    t.wait_until("ana's runner with the first step running", |s| {
        mark_at(&step_rows(s), 0) == Some('▶')
    });
    t.start_rollsafe("bo", 110, 32, &["--operator", "bo", "follow", "1"]);
    t.wait_for("FOLLOWING · ana drives");

    // Each of ana's outcomes reaches bo's screen within a second of ana's.
    for step in 0..2 {
        t.switch_to("ana");
        t.key("Space");
        wait_mark(&t, step, '✔');
        t.switch_to("bo");
        let took = wait_mark(&t, step, '✔');
        assert!(
            took <= Duration::from_secs(1),
            "bo saw step {step} pass {took:?} after ana's screen did"
        );
    }

    // bo's note lands in ana's runner, with bo's name (both are on step 3).
    t.key("n");
    t.wait_for("Note on this step");
    t.type_text("replica lag 40 s");
    t.key("Enter");
    t.wait_for("note saved");
    t.switch_to("ana");
    t.wait_for("bo: replica lag 40 s");

    // A second driver is refused: bo's outcome and bo's D.
    t.switch_to("bo");
    t.key("Space");
    let screen = t.wait_for("driven by ana");
    assert_eq!(mark_at(&step_rows(&screen), 2), Some('▶'), "{screen}");
    t.key("D");
    t.wait_until("D refused while ana drives", |s| {
        s.contains("driven by ana") && s.contains("FOLLOWING · ana drives")
    });

    // ana hands over; bo takes the drive and passes step 3; ana follows.
    t.switch_to("ana");
    t.key("H");
    t.wait_for("FOLLOWING · nobody drives");
    t.switch_to("bo");
    t.key("D");
    t.wait_for("you drive drill #1 now");
    t.key("Space");
    wait_mark(&t, 2, '✔');
    t.switch_to("ana");
    let took = wait_mark(&t, 2, '✔');
    assert!(
        took <= Duration::from_secs(1),
        "ana saw bo's pass {took:?} late"
    );
    t.wait_for("FOLLOWING · bo drives");

    // The log holds every outcome once, and bo's note with its author.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(["--db", &db.url, "history", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["passed"], 3, "{rows:#}");
    assert_eq!(rows[0]["status"], "running");
    t.kill_server();
}
