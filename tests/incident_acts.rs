//! Every incident category's mitigation changes at least one command of the plan: for each
//! category, a real-sounding account is planned with and without it, and the test shows the
//! command that differs.

use chrono::{TimeZone, Utc};
use rollsafe::planner::intake::{Intake, RawIntake};
use rollsafe::planner::knowledge::Knowledge;
use rollsafe::planner::plan::{Plan, PlanHistory, plan};

fn k() -> Knowledge {
    Knowledge::load().unwrap_or_else(|e| panic!("{e:?}"))
}

fn build(
    k: &Knowledge,
    engine: &str,
    tool: &str,
    changes: &[&str],
    incident: Option<&str>,
) -> Plan {
    let raw = RawIntake {
        deploy: "rolling".into(),
        engine: engine.into(),
        tool: tool.into(),
        changes: changes.iter().map(|c| c.to_string()).collect(),
        rows: vec!["orders=3m".into()],
        rto: Some("30m".into()),
        incidents: incident.map(|i| vec![i.to_string()]).unwrap_or_default(),
        flags: true,
    };
    let intake = Intake::parse(k, &raw).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    plan(&intake, k, &PlanHistory::none(now)).unwrap()
}

/// Commands of both playbooks, by step id (rollback steps prefixed `rb:`).
fn commands(p: &Plan) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = p
        .playbook
        .steps()
        .map(|(_, _, s)| (s.id.clone(), s.command.clone()))
        .collect();
    out.extend(
        p.playbook
            .steps()
            .map(|(_, _, s)| (format!("rollback-note:{}", s.id), s.rollback.clone())),
    );
    out.extend(
        p.rollback_playbook
            .steps()
            .map(|(_, _, s)| (format!("rb:{}", s.id), s.command.clone())),
    );
    out
}

/// The commands that the incident changed or added: (step id, before, after).
fn changed(before: &Plan, after: &Plan) -> Vec<(String, Option<String>, Option<String>)> {
    let b = commands(before);
    commands(after)
        .into_iter()
        .filter_map(|(id, cmd)| {
            let old = b
                .iter()
                .find(|(i, _)| *i == id)
                .and_then(|(_, c)| c.clone());
            (old != cmd).then_some((id, old, cmd))
        })
        .collect()
}

struct Case {
    category: &'static str,
    incident: &'static str,
    engine: &'static str,
    tool: &'static str,
    changes: &'static [&'static str],
    /// Text a changed command or rollback note contains after the act (or, when removed, before).
    shows: &'static str,
}

const CASES: &[Case] = &[
    Case {
        category: "lock-queue",
        incident: "The ALTER TABLE adding the foreign key queued behind a long-running read and every later query queued behind it.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add column orders.note text"],
        shows: "lock timeout fired",
    },
    Case {
        category: "offline-build",
        incident: "The index was not added concurrently, so the table was locked and the platform was down for 11 minutes.",
        engine: "sqlite:3.45",
        tool: "sql",
        changes: &["add index on orders.created_at"],
        shows: "time ",
    },
    Case {
        category: "backfill-overload",
        incident: "Monday's schema migration caused higher load on the database than we had ever seen and the replicas fell behind.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["rename column orders.note to memo"],
        shows: "replica lag",
    },
    Case {
        category: "irreversible-down",
        incident: "We ran the down migration to roll back and it recreated the column without its data: data loss.",
        engine: "postgres:15",
        tool: "golang-migrate",
        changes: &["drop column orders.legacy"],
        shows: "Not through the tool",
    },
    Case {
        category: "paid-undo",
        incident: "flyway undo was not available: the community edition does not support undo.",
        engine: "postgres:15",
        tool: "flyway",
        changes: &["drop column orders.legacy"],
        shows: "Not through the tool",
    },
    Case {
        category: "old-code-broke",
        incident: "The schema change was not backwards compatible and the old version crashed during the rollout.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["rename column orders.note to memo"],
        shows: "OLD_RELEASE_SMOKE_CMD",
    },
    Case {
        category: "partial-non-tx",
        incident: "The concurrent build failed halfway and left an invalid index behind; the retry skipped it.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add index on orders.created_at"],
        shows: "indisvalid",
    },
    Case {
        category: "orm-schema-cache",
        incident: "ActiveRecord caches the table columns, so after we dropped the column the app raised PG::UndefinedColumn until every pod restarted.",
        engine: "postgres:15",
        tool: "rails",
        changes: &["drop column orders.legacy"],
        shows: "APP_PROCESS_PATTERN",
    },
    Case {
        category: "pooler-settings",
        incident: "Through PgBouncer in transaction pooling the session level lock_timeout was lost.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add column orders.note text"],
        shows: "DIRECT_DATABASE_URL",
    },
    Case {
        category: "dirty-state",
        incident: "The pod restarted mid-migration: Dirty database version 30. Fix and force version.",
        engine: "postgres:15",
        tool: "golang-migrate",
        changes: &["add column orders.note text"],
        shows: "force",
    },
    Case {
        category: "restore-slow",
        incident: "Restoring the primary from backup took around 18 hours.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["drop column orders.legacy"],
        shows: "time pg_restore",
    },
    Case {
        category: "backup-unusable",
        incident: "Our pg_dump backups were producing empty files and nobody noticed.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["drop column orders.legacy"],
        shows: "pg_restore --list",
    },
    Case {
        category: "untested-rollback",
        incident: "We tried to roll back and the rollback failed because the old image was missing a tag.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add column orders.note text"],
        shows: "rollsafe rehearse",
    },
    Case {
        category: "not-null-default",
        incident: "The new column was NOT NULL without a default and the upgrade failed with a not null violation.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add not null column orders.flag boolean"],
        shows: "database default",
    },
    Case {
        category: "concurrent-runs",
        incident: "Three pods ran the migration on startup at the same time and raced.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add column orders.note text"],
        shows: "other migration sessions",
    },
    Case {
        category: "type-change-loss",
        incident: "Changing the type truncated values: data too long for column.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["change column type orders.note to bigint"],
        shows: "survive the cast",
    },
    Case {
        category: "id-exhaustion",
        incident: "The auto-increment key hit 2147483647 and every insert failed.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["add column orders.note text"],
        shows: "datfrozenxid",
    },
    Case {
        category: "wrong-target",
        incident: "The engineer ran rm -rf on db1 instead of db2 and wiped the primary.",
        engine: "postgres:15",
        tool: "sql",
        changes: &["drop column orders.legacy"],
        shows: "EXPECTED_TARGET",
    },
];

#[test]
fn every_category_has_a_case() {
    let k = k();
    for c in &k.categories {
        assert!(
            CASES.iter().any(|x| x.category == c.id),
            "no case for {}",
            c.id
        );
    }
}

#[test]
fn each_category_changes_a_command() {
    let k = k();
    let mut failures = Vec::new();
    for case in CASES {
        let matched: Vec<String> = rollsafe::planner::classify::classify_one(&k, case.incident)
            .into_iter()
            .map(|m| m.category)
            .collect();
        if !matched.iter().any(|m| m == case.category) {
            failures.push(format!("{}: classifier gave {matched:?}", case.category));
            continue;
        }
        let before = build(&k, case.engine, case.tool, case.changes, None);
        let after = build(
            &k,
            case.engine,
            case.tool,
            case.changes,
            Some(case.incident),
        );
        let diff = changed(&before, &after);
        println!("== {}", case.category);
        for (id, old, new) in &diff {
            println!("  {id}\n    before: {old:?}\n    after:  {new:?}");
        }
        let shown = diff.iter().any(|(_, old, new)| {
            new.as_deref().unwrap_or("").contains(case.shows)
                || old.as_deref().unwrap_or("").contains(case.shows)
        });
        if diff.is_empty() || !shown {
            failures.push(format!(
                "{}: no changed command shows {:?}",
                case.category, case.shows
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
