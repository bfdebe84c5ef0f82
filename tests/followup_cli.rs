//! Follow-ups are things: a TODO note stays open across later drills until
//! `rollsafe followup close` closes it; old logs get theirs on upgrade.

use std::process::Command;

use chrono::{DateTime, Utc};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::playbook::{self, Loaded, Origin};
use rollsafe::store::{MIGRATIONS, Store};

const BIN: &str = env!("CARGO_BIN_EXE_rollsafe");

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn loaded() -> Loaded {
    let text = "id = \"f\"\ntitle = \"F\"\n[[phases]]\ntitle = \"P\"\n[[phases.steps]]\nid = \"a\"\ntitle = \"A\"\n";
    Loaded {
        playbook: playbook::parse("f.toml", text).unwrap(),
        origin: Origin::File("f.toml".into()),
        source: text.into(),
    }
}

/// A finished drill with the given notes on step a.
fn drill(store: &mut Store, t: i64, notes: &[&str]) -> i64 {
    let mut s = Session::start(store, &loaded(), Mode::Tabletop, "ana", at(t)).unwrap();
    for text in notes {
        s.record(
            store,
            at(t + 1),
            EventKind::Note {
                step: Some("a".into()),
                text: text.to_string(),
                by: None,
            },
        )
        .unwrap();
    }
    s.record(store, at(t + 2), EventKind::Finished).unwrap();
    s.id
}

fn cli(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_follow_up_stays_open_across_drills_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drills.db");
    {
        let mut store = Store::open(&db).unwrap();
        drill(&mut store, 0, &["TODO: raise lock_timeout", "plain note"]);
        // Two later drills note nothing: the follow-up is still open.
        drill(&mut store, 100, &[]);
        drill(&mut store, 200, &[]);
        let open = store.follow_ups(Some("f"), false).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].text, "TODO: raise lock_timeout");
        let insight = rollsafe::insight::gather(
            &store,
            "f",
            None,
            at(300),
            rollsafe::insight::Depth::Summary,
        )
        .unwrap();
        assert_eq!(
            insight.follow_ups.len(),
            1,
            "Home and the runner still see it"
        );
    }
    let (code, out, _) = cli(&db, &["followup", "list", "--json"]);
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = rows[0]["id"].as_i64().unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);

    let (code, _, err) = cli(
        &db,
        &["followup", "close", &id.to_string(), "--note", "set to 5s"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&db, &["followup", "close", &id.to_string()]);
    assert_eq!(code, 1, "already closed: {err}");
    let (code, _, _) = cli(&db, &["followup", "close", "999"]);
    assert_eq!(code, 4);
    let (code, out, _) = cli(&db, &["followup", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("no open follow-ups"), "{out}");
    let (_, out, _) = cli(&db, &["followup", "list", "--all"]);
    assert!(out.contains("closed") && out.contains("set to 5s"), "{out}");
    let store = Store::open(&db).unwrap();
    let insight = rollsafe::insight::gather(
        &store,
        "f",
        None,
        at(300),
        rollsafe::insight::Depth::Summary,
    )
    .unwrap();
    assert!(insight.follow_ups.is_empty(), "closed: gone from Home");
}

#[test]
fn an_older_log_gets_its_follow_ups_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v7.db");
    {
        let mut old = Store::create_at_version(&db, 7).unwrap();
        drill(
            &mut old,
            0,
            &[
                "  todo: check replica lag",
                "FOLLOW-UP: page earlier",
                "fine",
            ],
        );
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
    let open: Vec<String> = store
        .follow_ups(None, false)
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect();
    assert_eq!(
        open,
        ["  todo: check replica lag", "FOLLOW-UP: page earlier"]
    );
}

/// Reports export follow-ups as the log tracks them: a later drill's report
/// lists the ones carried into it, and a closed one reads closed.
#[test]
fn reports_list_carried_follow_ups_and_which_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drills.db");
    let (first, second) = {
        let mut store = Store::open(&db).unwrap();
        (
            drill(&mut store, 0, &["TODO: raise lock_timeout"]),
            drill(&mut store, 100, &[]),
        )
    };
    let report = |drill: i64, format: &str| {
        let (code, out, err) = cli(&db, &["report", &drill.to_string(), "--format", format]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let md = report(second, "markdown");
    assert!(
        md.contains("Carried into this drill")
            && md.contains("TODO: raise lock_timeout (drill #1, a)"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&report(second, "json")).unwrap();
    let carried = json["carried_follow_ups"].as_array().unwrap();
    assert_eq!(carried.len(), 1);
    let id = carried[0]["id"].as_i64().unwrap();
    assert!(carried[0]["closed_at"].is_null());

    let (code, _, err) = cli(
        &db,
        &["followup", "close", &id.to_string(), "--note", "set to 5s"],
    );
    assert_eq!(code, 0, "{err}");
    let md = report(first, "markdown");
    assert!(
        md.contains(&format!(
            "- [x] #{id} TODO: raise lock_timeout (a) — closed"
        )) && md.contains("set to 5s"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&report(first, "json")).unwrap();
    assert!(
        json["follow_up_records"][0]["closed_at"].is_string(),
        "{json}"
    );
    // A drill started after the close carries nothing.
    let third = {
        let mut store = Store::open(&db).unwrap();
        drill(&mut store, 1_000_000_000, &[])
    };
    assert!(!report(third, "markdown").contains("Carried into this drill"));
}
