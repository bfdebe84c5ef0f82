//! `rollsafe stats --json` carries readiness and recommendations from the log.

use std::process::Command;

use chrono::{TimeDelta, Utc};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::playbook::Library;
use rollsafe::store::Store;

#[test]
fn stats_json_gives_readiness_and_recommendations_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drills.db");
    let empty = dir.path().join("playbooks");
    std::fs::create_dir(&empty).unwrap();
    let library = Library::load(None);
    let loaded = library.get("canary-rollback-schema-ahead").unwrap();
    let first_step = loaded.playbook.steps().next().unwrap().2.id.clone();
    let id = {
        let mut store = Store::open(&db).unwrap();
        let start = Utc::now() - TimeDelta::hours(1);
        let mut s = Session::start(&mut store, loaded, Mode::Tabletop, "ana", start).unwrap();
        let mut record = |secs: i64, kind| {
            s.record(&mut store, start + TimeDelta::seconds(secs), kind)
                .unwrap()
        };
        record(
            10,
            EventKind::Note {
                step: Some(first_step.clone()),
                text: "TODO: name who declares".into(),
                by: None,
            },
        );
        record(
            20,
            EventKind::Aborted {
                reason: "pager went off".into(),
            },
        );
        s.id
    };

    let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .arg("--db")
        .arg(&db)
        .arg("--playbooks")
        .arg(&empty)
        .args(["stats", "canary-rollback-schema-ahead", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = &json[0];
    assert_eq!(record["playbook_id"], "canary-rollback-schema-ahead");
    assert_eq!(record["drills"], 1);
    assert_eq!(record["readiness"], 0);
    let recs = record["recommendations"].as_array().unwrap();
    let kind = |k: &str| recs.iter().find(|r| r["kind"] == k).cloned();
    let rollback = kind("rollback_not_viable").expect("aborted rollback is not viable");
    assert_eq!(rollback["severity"], "critical");
    assert_eq!(rollback["evidence"], serde_json::json!([id]));
    let todo = kind("open_follow_up").expect("the TODO note is an open follow-up");
    assert_eq!(todo["step"], serde_json::json!(first_step));
    assert_eq!(todo["evidence"], serde_json::json!([id]));
    assert!(
        todo["why"]
            .as_str()
            .unwrap()
            .contains("TODO: name who declares")
    );

    let text = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .arg("--db")
        .arg(&db)
        .arg("--playbooks")
        .arg(&empty)
        .args(["stats", "canary-rollback-schema-ahead"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("readiness 0/100"), "{text}");
    assert!(
        text.contains("⚠ critical rollback not viable until rehearsed"),
        "{text}"
    );
}
