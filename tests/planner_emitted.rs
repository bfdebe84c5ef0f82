//! What the planner emits, checked as a DBA would read it: inputs it cannot honour are
//! refused (pattern 6), no emitted text carries an empty or unfilled template (pattern 3),
//! and unknowns are declared variables without unsafe defaults.

#[path = "support/samples.rs"]
mod samples;

use chrono::{TimeZone, Utc};
use rollsafe::planner::intake::{Change, EngineChoice, parse_change};
use rollsafe::planner::knowledge::Knowledge;
use rollsafe::planner::plan::PlanHistory;
use rollsafe::planner::{Intake, plan};

fn k() -> Knowledge {
    Knowledge::load().unwrap_or_else(|e| panic!("knowledge base: {e:?}"))
}

fn history() -> PlanHistory {
    PlanHistory::none(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
}

fn intake(engine: EngineChoice, tool: &str, change: Change) -> Intake {
    Intake {
        deploy: "rolling".into(),
        flags: false,
        engine,
        tool: tool.into(),
        changes: vec![change],
        rows: [("orders".to_string(), 2_000_000)].into(),
        rto: Some(std::time::Duration::from_secs(900)),
        incidents: vec![],
        from: None,
        schema: None,
    }
}

fn engine(id: &str, version: &str, edition: Option<&str>) -> EngineChoice {
    EngineChoice {
        id: id.into(),
        version: version.into(),
        edition: edition.map(str::to_string),
    }
}

#[test]
fn attributes_in_a_type_are_never_dropped_or_misplaced() {
    let k = k();
    // The issue's instance: NOT NULL and DEFAULT must reach the SQL, in that meaning.
    let c = parse_change(&k, "add column orders.status text not null default 'new'").unwrap();
    assert_eq!(c.op, "add-not-null-column");
    assert_eq!(c.params["type"], "text");
    assert_eq!(c.params["default"], "'new'");
    let p = plan(
        &intake(engine("mysql", "8.0", None), "sql", c),
        &k,
        &history(),
    )
    .unwrap();
    let cmds: String = p
        .playbook
        .steps()
        .filter_map(|(_, _, s)| s.command.clone())
        .collect();
    assert!(
        cmds.contains("ADD COLUMN status text NOT NULL DEFAULT 'new'"),
        "{cmds}"
    );
    assert!(!cmds.contains("DEFAULT 'new' NULL"), "{cmds}");

    let c = parse_change(&k, "add column orders.n int not null").unwrap();
    assert_eq!(c.op, "add-not-null-column");
    assert_eq!(c.params["type"], "int");
}

#[test]
fn bare_types_with_sizes_and_modifiers_are_accepted() {
    let k = k();
    for ty in [
        "text",
        "varchar(20)",
        "numeric(10, 2)",
        "int unsigned",
        "timestamp with time zone",
        "text[]",
        "enum('a','b')",
    ] {
        let c = parse_change(&k, &format!("add column orders.x {ty}"))
            .unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert_eq!(c.op, "add-column", "{ty}");
        assert_eq!(c.params["type"], ty);
    }
}

#[test]
fn wordings_the_planner_cannot_do_are_refused_with_the_reason_and_accepted_forms() {
    let k = k();
    for (text, why) in [
        // A nullable column with a default is not a form the planner has.
        (
            "add column orders.status text default 'new'",
            "\"default\" is a column attribute",
        ),
        // Expression defaults rewrite the table or differ per row.
        (
            "add column orders.created timestamp not null default now()",
            "is not a constant",
        ),
        (
            "add not null column orders.id2 uuid default gen_random_uuid()",
            "is not a constant",
        ),
        (
            "add column orders.a int unique",
            "\"unique\" is a column attribute",
        ),
        (
            "add column orders.c int references customers(id)",
            "\"references\"",
        ),
        (
            "change column type orders.total to bigint not null",
            "\"not\" is a column attribute",
        ),
        // Compound changes are refused, never half-read.
        (
            "split column users.name into first_name and last_name",
            "accepted forms",
        ),
        (
            "rename column users.name to first_name and last_name",
            "accepted forms",
        ),
        (
            "add column orders.a int, add column orders.b int",
            "not a SQL type",
        ),
        (
            "add not null column orders.x int default null",
            "is not a constant",
        ),
    ] {
        let err = parse_change(&k, text).expect_err(text);
        assert!(err.contains(why), "{text}: {err}");
        assert!(err.contains("accepted forms:"), "{text}: {err}");
    }
}

#[test]
fn the_cli_exits_2_on_a_change_it_cannot_read() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args([
            "plan",
            "--deploy",
            "rolling",
            "--engine",
            "postgres:15",
            "--tool",
            "sql",
            "--change",
            "add column orders.status text default 'new'",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column attribute"), "{err}");
}

/// Every (engine, tool, operation) with a sample wording.
fn every_plan(k: &Knowledge) -> Vec<(String, rollsafe::planner::Plan)> {
    let mut out = Vec::new();
    let engines: Vec<EngineChoice> = k
        .engines
        .iter()
        .flat_map(|e| {
            let eds: Vec<Option<String>> = if e.editions.is_empty() {
                vec![None]
            } else {
                e.editions.iter().cloned().map(Some).collect()
            };
            let versions = e.versions.clone();
            eds.into_iter().flat_map(move |ed| {
                versions.clone().into_iter().map(move |v| EngineChoice {
                    id: e.id.clone(),
                    version: v,
                    edition: ed.clone(),
                })
            })
        })
        .collect();
    for op in &k.operations {
        let text = samples::wording(&op.patterns[0], "status", "bigint");
        let change = parse_change(k, &text).unwrap();
        for e in &engines {
            for tool in &k.tools {
                let i = intake(e.clone(), &tool.id, change.clone());
                if let Ok(p) = plan(&i, k, &history()) {
                    out.push((
                        format!(
                            "{} {}:{}:{:?} {}",
                            op.id, e.id, e.version, e.edition, tool.id
                        ),
                        p,
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn no_emitted_text_has_an_empty_or_unfilled_template() {
    let k = k();
    let unfilled = regex::Regex::new(r"\{(table|column|type|new|ref_table|ref_column|expr|default|value|idx|uq|fk|ck|tmp|coltype|pk|new_ddl|enum_type|enum_values|nullability|lock_timeout_s|lock_timeout_ms|statement_timeout|sql|set|where|batch|version|slug|phase|dir|alter|stmt|reverse)\}").unwrap();
    let var = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").unwrap();
    let plans = every_plan(&k);
    assert!(plans.len() > 1000, "{}", plans.len());
    let mut bad = Vec::new();
    for (what, p) in &plans {
        let declared: Vec<&str> = p
            .playbook
            .variables
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        for (_, _, s) in p.playbook.steps() {
            let texts = [
                Some(s.detail.as_str()),
                s.command.as_deref(),
                s.verify.as_ref().map(|v| v.command.as_str()),
                s.rollback.as_deref(),
            ];
            for t in texts.into_iter().flatten() {
                if t.contains("``") && !t.contains("```") {
                    bad.push(format!("{what} {}: empty code span", s.id));
                }
                if let Some(m) = unfilled.find(t) {
                    bad.push(format!("{what} {}: unfilled {}", s.id, m.as_str()));
                }
            }
            for t in [
                s.command.as_deref(),
                s.verify.as_ref().map(|v| v.command.as_str()),
            ]
            .into_iter()
            .flatten()
            {
                for c in var.captures_iter(t) {
                    if !declared.contains(&&c[1]) {
                        bad.push(format!("{what} {}: undeclared ${{{}}}", s.id, &c[1]));
                    }
                }
            }
        }
    }
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad[..bad.len().min(4000)].join("\n")
    );
}

#[test]
fn unknown_facts_are_variables_without_an_unsafe_default() {
    let k = k();
    for (_, p) in every_plan(&k) {
        for v in &p.playbook.variables {
            if v.name.ends_with("_NULLABILITY")
                || v.name.ends_with("_CURRENT_TYPE")
                || v.name.ends_with("_TYPE")
                || v.name.ends_with("_DEFAULT")
            {
                assert!(
                    v.default.is_none(),
                    "{} defaults to {:?}",
                    v.name,
                    v.default
                );
            }
        }
    }
}

/// Pattern 8: MariaDB is not MySQL. No step of a MariaDB plan carries a MySQL version
/// fact (a "mysql>=8.0" spec once matched MariaDB 10.x by family), and no step applies twice.
#[test]
fn mysql_version_facts_do_not_leak_into_mariadb_plans() {
    let k = k();
    let mysql_fact = regex::Regex::new(r"MySQL 8\.0\.\d+|from 8\.0\.\d+|before 8\.0\.\d+").unwrap();
    let mut leaks = std::collections::BTreeSet::new();
    for (what, p) in every_plan(&k) {
        if !what.contains(" mariadb:") {
            continue;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (_, _, s) in p.playbook.steps() {
            assert!(seen.insert(s.id.clone()), "{what}: step {} twice", s.id);
            for t in [s.title.as_str(), s.detail.as_str()] {
                if let Some(m) = mysql_fact.find(t) {
                    let op = what.split(' ').next().unwrap_or("");
                    leaks.insert(format!("{op} {}: \"{}\"", s.id, m.as_str()));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "MySQL facts in MariaDB plans:\n{}",
        leaks.into_iter().collect::<Vec<_>>().join("\n")
    );
}
