//! Planner: knowledge base loading, intake parsing, classification, and
//! properties over every (engine, tool, deployment model, operation).

#[path = "support/samples.rs"]
mod samples;

use chrono::{TimeZone, Utc};
use rollsafe::drill::{EventKind, Mode, Session};
use rollsafe::planner::intake::{Change, EngineChoice, parse_change, parse_engine};
use rollsafe::planner::knowledge::{EMBEDDED, Knowledge};
use rollsafe::planner::plan::{PlanHistory, plan_id};
use rollsafe::planner::recommend::InputRef;
use rollsafe::planner::{Intake, RawIntake, plan, render};
use rollsafe::playbook;
use rollsafe::playbook::toml_format::to_toml;
use rollsafe::store::Store;

fn k() -> Knowledge {
    Knowledge::load().unwrap_or_else(|e| panic!("knowledge base: {e:?}"))
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

#[test]
fn every_asset_file_loads_and_validates() {
    let k = k();
    assert!(k.categories.len() >= 10);
    assert!(k.engines.iter().any(|e| e.id == "postgres"));
    for want in [
        "flyway",
        "liquibase",
        "alembic",
        "django",
        "rails",
        "prisma",
        "golang-migrate",
        "goose",
        "atlas",
        "sqitch",
        "knex",
        "efcore",
        "gh-ost",
        "pt-osc",
        "pgroll",
        "sql",
    ] {
        assert!(k.tool(want).is_some(), "tool {want}");
    }
    for want in ["canary", "blue-green", "rolling", "recreate"] {
        assert!(k.model(want).is_some(), "model {want}");
    }
}

#[test]
fn invalid_data_fails_loudly_with_file_and_key_path() {
    let mut files: Vec<(&str, String)> =
        EMBEDDED.iter().map(|(n, t)| (*n, t.to_string())).collect();
    let ops = files
        .iter_mut()
        .find(|(n, _)| n.ends_with("operations.toml"))
        .unwrap();
    ops.1 = ops
        .1
        .replacen("class = \"lossless\"", "class = \"maybe\"", 1);
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let errors = Knowledge::from_texts(&borrowed).unwrap_err();
    let text = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(
            "assets/operations.toml: operation[add-column].step[0].class: unknown class \"maybe\""
        ),
        "{text}"
    );

    let mut files: Vec<(&str, String)> =
        EMBEDDED.iter().map(|(n, t)| (*n, t.to_string())).collect();
    let tools = files
        .iter_mut()
        .find(|(n, _)| n.ends_with("tools.toml"))
        .unwrap();
    tools.1 = tools
        .1
        .replacen("has_lock = true", "has_lock = true\nsurprise = 1", 1);
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let errors = Knowledge::from_texts(&borrowed).unwrap_err();
    let text = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.starts_with("assets/tools.toml: line "), "{text}");
    assert!(text.contains("surprise"), "{text}");

    let mut files: Vec<(&str, String)> =
        EMBEDDED.iter().map(|(n, t)| (*n, t.to_string())).collect();
    let inc = files
        .iter_mut()
        .find(|(n, _)| n.ends_with("incidents.toml"))
        .unwrap();
    inc.1 = inc.1.replacen(
        "source = \"squawk safe_migrations https://squawkhq.com/docs/safe_migrations",
        "source = \"\" # ",
        1,
    );
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let text = Knowledge::from_texts(&borrowed)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("assets/incidents.toml: category[lock-queue].source: empty source"),
        "{text}"
    );
}

#[test]
fn change_phrases_parse_exactly_as_the_issue_lists_them() {
    let k = k();
    let cases = [
        (
            "add column users.email text",
            "add-column",
            vec![("table", "users"), ("column", "email"), ("type", "text")],
        ),
        (
            "add not null column users.active",
            "add-not-null-column",
            vec![("column", "active")],
        ),
        (
            "add not null column users.active boolean default false",
            "add-not-null-column",
            vec![("type", "boolean"), ("default", "false")],
        ),
        (
            "rename column users.name to full_name",
            "rename-column",
            vec![("new", "full_name")],
        ),
        (
            "change column type orders.total to numeric(12,2)",
            "change-column-type",
            vec![("type", "numeric(12,2)")],
        ),
        (
            "drop column users.legacy",
            "drop-column",
            vec![("column", "legacy")],
        ),
        (
            "add index on orders.customer_id",
            "add-index",
            vec![("column", "customer_id")],
        ),
        (
            "add unique on users.email",
            "add-unique",
            vec![("column", "email")],
        ),
        (
            "add foreign key orders.customer_id references customers.id",
            "add-foreign-key",
            vec![("ref_table", "customers"), ("ref_column", "id")],
        ),
        (
            "add check on orders (total >= 0)",
            "add-check",
            vec![("expr", "total >= 0")],
        ),
        (
            "rename table users to accounts",
            "rename-table",
            vec![("new", "accounts")],
        ),
        (
            "drop table audit_old",
            "drop-table",
            vec![("table", "audit_old")],
        ),
        (
            "backfill users.email_lower",
            "backfill",
            vec![("column", "email_lower")],
        ),
        (
            "Add Index On orders.created_at",
            "add-index",
            vec![("table", "orders")],
        ),
    ];
    for (text, op, want) in cases {
        let c = parse_change(&k, text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(c.op, op, "{text}");
        for (key, value) in want {
            assert_eq!(
                c.params.get(key).map(String::as_str),
                Some(value),
                "{text}: {key}"
            );
        }
    }
    let err = parse_change(&k, "frobnicate users").unwrap_err();
    assert!(
        err.contains("accepted forms") && err.contains("rename column {table}.{column} to {new}"),
        "{err}"
    );
}

#[test]
fn engines_parse_with_versions_and_editions() {
    let k = k();
    assert_eq!(parse_engine(&k, "postgres:15").unwrap().version, "15");
    assert_eq!(parse_engine(&k, "pg:14.4").unwrap().version, "14.4");
    assert_eq!(parse_engine(&k, "mysql:8.0.35").unwrap().version, "8.0.35");
    assert_eq!(parse_engine(&k, "sqlite").unwrap().version, "3");
    assert_eq!(
        parse_engine(&k, "sqlserver:2022:enterprise")
            .unwrap()
            .edition
            .as_deref(),
        Some("enterprise")
    );
    let e = parse_engine(&k, "oracle:19").unwrap_err();
    assert!(
        e.contains("unknown engine") && e.contains("postgres:<11|12"),
        "{e}"
    );
    let e = parse_engine(&k, "postgres:9.6").unwrap_err();
    assert!(e.contains("accepted: 11, 12"), "{e}");
    let e = parse_engine(&k, "sqlserver:2022").unwrap_err();
    assert!(
        e.contains("needs an edition") && e.contains("enterprise"),
        "{e}"
    );
    let raw = RawIntake {
        deploy: "yolo".into(),
        engine: "postgres:15".into(),
        tool: "flyway".into(),
        changes: vec!["drop table t".into()],
        ..Default::default()
    };
    let e = Intake::parse(&k, &raw).unwrap_err();
    assert!(e.contains("canary, blue-green, rolling, recreate"), "{e}");
    let raw = RawIntake {
        deploy: "canary".into(),
        engine: "postgres:15".into(),
        tool: "dbt".into(),
        changes: vec!["drop table t".into()],
        ..Default::default()
    };
    assert!(Intake::parse(&k, &raw).unwrap_err().contains("pgroll"));
}

#[test]
fn incidents_classify_with_the_words_that_matched() {
    let k = k();
    let m = rollsafe::planner::classify::classify_one(
        &k,
        "ALTER waited on a lock and took the site down",
    );
    assert_eq!(m[0].category, "lock-queue");
    assert!(
        m[0].words.contains(&"waited on a lock".to_string()),
        "{:?}",
        m[0].words
    );
    assert!(m[0].confidence > 0.5, "{}", m[0].confidence);
    let m = rollsafe::planner::classify::classify_one(&k, "PgBouncer dropped our SET lock_timeout");
    let ids: Vec<_> = m.iter().map(|c| c.category.as_str()).collect();
    // A pooler that lost a setting is not a lock queue: nothing here waited behind anything.
    assert_eq!(ids, vec!["pooler-settings"]);
    let m =
        rollsafe::planner::classify::classify_one(&k, "We did not lose data; nothing was dirty.");
    assert!(m.is_empty(), "negated accounts match nothing: {m:?}");
    assert!(rollsafe::planner::classify::classify_one(&k, "the deadlocked unblocker").is_empty());
}

/// A sample phrase for every operation, made from its first pattern.
fn sample_changes(k: &Knowledge) -> Vec<Change> {
    k.operations
        .iter()
        .map(|op| {
            let text = samples::wording(&op.patterns[0], "status", "bigint");
            parse_change(k, &text).unwrap_or_else(|e| panic!("{}: {e}", op.id))
        })
        .collect()
}

fn engine_choices(k: &Knowledge) -> Vec<EngineChoice> {
    let mut out = Vec::new();
    for e in &k.engines {
        if e.editions.is_empty() {
            for v in &e.versions {
                out.push(EngineChoice {
                    id: e.id.clone(),
                    version: v.clone(),
                    edition: None,
                });
            }
        } else {
            for ed in &e.editions {
                out.push(EngineChoice {
                    id: e.id.clone(),
                    version: e.versions.last().unwrap().clone(),
                    edition: Some(ed.clone()),
                });
            }
        }
    }
    out
}

fn check_plan(k: &Knowledge, intake: &Intake, history: &PlanHistory) -> Result<(), String> {
    let p = plan(intake, k, history)?;
    let where_ = format!(
        "{} {:?} {} {} {}",
        intake.engine.id, intake.engine.edition, intake.engine.version, intake.tool, intake.deploy
    );
    // Passes validation as TOML, plan and rollback.
    let text = to_toml(&p.playbook);
    playbook::parse("plan.toml", &text).unwrap_or_else(|e| panic!("{where_}: {e:?}\n{text}"));
    playbook::parse("rollback.toml", &to_toml(&p.rollback_playbook))
        .unwrap_or_else(|e| panic!("{where_}: {e:?}"));
    let flat: Vec<_> = p
        .playbook
        .steps()
        .map(|(_, ph, s)| (ph.id.clone(), s.clone()))
        .collect();
    assert_eq!(flat.len(), p.steps.len());
    // No contract step precedes its expand step.
    for ci in 0..intake.changes.len() {
        let of = |phase: &str| {
            p.steps
                .iter()
                .enumerate()
                .filter(|(_, m)| m.change == Some(ci) && m.phase == phase)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        if let (Some(last_expand), Some(first_contract)) = (
            of("expand").into_iter().max(),
            of("contract").into_iter().min(),
        ) {
            assert!(
                last_expand < first_contract,
                "{where_}: contract before expand"
            );
        }
    }
    // Lossless-marked steps come before the first point of no return.
    if let Some(pnr) = flat.iter().position(|(_, s)| s.point_of_no_return) {
        for (i, (_, s)) in flat.iter().enumerate() {
            if s.rollback
                .as_deref()
                .is_some_and(|r| r.starts_with("[lossless]"))
            {
                assert!(
                    i < pnr,
                    "{where_}: lossless step {} after the point of no return",
                    s.id
                );
            }
        }
    }
    // Every reason references an input that exists.
    for r in &p.recommendation.reasons {
        assert!(r.text.starts_with("because "), "{where_}: {}", r.text);
        let ok = match &r.input {
            InputRef::Change(i) => *i < intake.changes.len(),
            InputRef::Incident(i) => *i < intake.incidents.len(),
            InputRef::Rows(t) => intake.changes.iter().any(|c| c.table() == t),
            InputRef::Rto => intake.rto.is_some(),
            _ => true,
        };
        assert!(
            ok,
            "{where_}: reason {:?} points at no input: {}",
            r.input, r.text
        );
    }
    // Deterministic id.
    assert_eq!(p.playbook.id, plan_id(k, intake));
    Ok(())
}

#[test]
fn every_engine_tool_model_operation_combination_plans_validly_or_refuses_with_a_reason() {
    let k = k();
    let history = PlanHistory::none(now());
    let changes = sample_changes(&k);
    let mut planned = 0;
    let mut refused = 0;
    for engine in engine_choices(&k) {
        for tool in &k.tools {
            for model in &k.models {
                for change in &changes {
                    let intake = Intake {
                        deploy: model.id.clone(),
                        flags: false,
                        engine: engine.clone(),
                        tool: tool.id.clone(),
                        changes: vec![change.clone()],
                        rows: [("orders".to_string(), 20_000_000)].into(),
                        rto: Some(std::time::Duration::from_secs(900)),
                        incidents: vec![],
                        from: None,
                        schema: None,
                    };
                    match check_plan(&k, &intake, &history) {
                        Ok(()) => planned += 1,
                        Err(e) => {
                            let tool_limited =
                                !tool.engines.is_empty() || tool.min_version.is_some();
                            let op_limited = e.contains("no safe recipe");
                            // A write block the deploy model or the RTO cannot take.
                            let blocked = e.starts_with("refused: no safe online form")
                                && (model.overlap || e.contains("longer than the RTO"));
                            assert!(
                                tool_limited || op_limited || blocked,
                                "unexpected refusal: {e}"
                            );
                            refused += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(planned > 5000, "planned {planned}, refused {refused}");
}

#[test]
fn incidents_and_several_changes_keep_the_properties() {
    let k = k();
    let changes = sample_changes(&k);
    for engine in [
        "postgres:12",
        "postgres:18",
        "mysql:5.7",
        "mysql:8.4",
        "sqlserver:2019:standard",
    ] {
        let raw = RawIntake {
            deploy: "rolling".into(),
            engine: engine.into(),
            tool: "liquibase".into(),
            changes: vec![
                "drop column orders.legacy".into(),
                "add index on orders.created_at".into(),
                "rename table orders to purchases".into(),
            ],
            rows: vec!["orders=3m".into()],
            rto: Some("30m".into()),
            incidents: vec![
                "the down migration dropped the column and we lost a day of writes".into(),
                "PgBouncer transaction pooling dropped the SET lock_timeout".into(),
                "nothing in particular".into(),
            ],
            flags: true,
        };
        let intake = Intake::parse(&k, &raw).unwrap();
        let planned = check_plan(&k, &intake, &PlanHistory::none(now()));
        if engine.ends_with(":standard") {
            // Standard builds the index offline: writes wait 3m rows long while a rolling
            // deploy keeps both releases writing.
            let e = planned.unwrap_err();
            assert!(e.contains("refused") && e.contains("offline"), "{e}");
        } else {
            planned.unwrap();
        }
    }
    assert!(changes.len() >= 12);
}

#[test]
fn history_makes_the_rollback_viable_stale_or_too_slow() {
    let k = k();
    let raw = RawIntake {
        deploy: "canary".into(),
        engine: "postgres:15".into(),
        tool: "flyway".into(),
        changes: vec!["rename column users.name to full_name".into()],
        rto: Some("15m".into()),
        ..Default::default()
    };
    let intake = Intake::parse(&k, &raw).unwrap();
    let none = plan(&intake, &k, &PlanHistory::none(now())).unwrap();
    assert!(!none.recommendation.rollback_viable);
    assert!(
        none.recommendation
            .verdict
            .contains("Rollback path never rehearsed: not viable until rehearsed")
    );

    // Drills of the plan's own rollback playbook, logged as an operator would.
    let text = render::toml(&none, true);
    let rollback = playbook::Loaded {
        playbook: playbook::parse("rollback.toml", &text).expect("rollback playbook parses"),
        origin: playbook::Origin::File("rollback.toml".into()),
        source: text,
    };
    assert_eq!(
        rollback.playbook.id,
        format!("{}-rollback", none.playbook.id)
    );
    let first = rollback.playbook.steps().next().unwrap().2.id.clone();
    // A drill starting `days` before now that works `mins` minutes, its first step failing or not.
    let drill_in = |store: &mut Store, mode: Mode, days: i64, mins: i64, fails: bool| {
        let t0 = now() - chrono::Duration::days(days);
        let mut s = Session::start(store, &rollback, mode, "ana", t0).unwrap();
        let step = first.clone();
        s.record(store, t0, EventKind::StepStarted { step: step.clone() })
            .unwrap();
        let end = t0 + chrono::Duration::minutes(mins);
        let outcome = if fails {
            EventKind::StepFailed {
                step,
                reason: "replica lag".into(),
            }
        } else {
            EventKind::StepPassed { step }
        };
        s.record(store, end, outcome).unwrap();
        s.record(store, end, EventKind::Finished).unwrap();
    };
    let drill = |store: &mut Store, days: i64, mins: i64, fails: bool| {
        drill_in(store, Mode::Live, days, mins, fails)
    };
    let verdict = |store: &Store| {
        let history = PlanHistory::read(store, &none.playbook.id, now()).unwrap();
        plan(&intake, &k, &history).unwrap().recommendation
    };

    let mut store = Store::open_in_memory().unwrap();
    let never = verdict(&store);
    assert!(!never.rollback_viable);
    assert!(
        never.rollback_status.contains("never rehearsed"),
        "{}",
        never.rollback_status
    );

    // A tabletop drill proves people know the steps, not that the rollback works.
    drill_in(&mut store, Mode::Tabletop, 4, 1, false);
    let talked = verdict(&store);
    assert!(!talked.rollback_viable, "{}", talked.verdict);
    assert!(
        talked.rollback_status.contains("never rehearsed live"),
        "{}",
        talked.rollback_status
    );

    drill(&mut store, 3, 10, false);
    let ok = verdict(&store);
    assert!(ok.rollback_viable, "{}", ok.verdict);
    assert!(
        ok.rollback_status.contains("took 10m"),
        "{}",
        ok.rollback_status
    );

    // A later drill that failed: the earlier success no longer makes it viable.
    drill(&mut store, 1, 10, true);
    let failed = verdict(&store);
    assert!(!failed.rollback_viable);
    assert!(
        failed
            .rollback_status
            .contains("had failed or blocked steps"),
        "{}",
        failed.rollback_status
    );

    let mut store = Store::open_in_memory().unwrap();
    drill(&mut store, 200, 10, false);
    let stale = verdict(&store);
    assert!(!stale.rollback_viable);
    assert!(
        stale
            .rollback_status
            .contains("last rehearsed 199 days ago"),
        "{}",
        stale.rollback_status
    );

    let mut store = Store::open_in_memory().unwrap();
    drill(&mut store, 3, 40, false);
    let slow = verdict(&store);
    assert!(!slow.rollback_viable);
    assert!(
        slow.rollback_status.contains("slower than the RTO"),
        "{}",
        slow.rollback_status
    );
    // Exactly the RTO still fits.
    let mut store = Store::open_in_memory().unwrap();
    drill(&mut store, 3, 15, false);
    assert!(verdict(&store).rollback_viable);
}

#[test]
fn timeboxes_grow_with_rows() {
    let k = k();
    let mk = |rows: &str| {
        let raw = RawIntake {
            deploy: "rolling".into(),
            engine: "postgres:16".into(),
            tool: "sql".into(),
            changes: vec!["add index on orders.customer_id".into()],
            rows: vec![format!("orders={rows}")],
            ..Default::default()
        };
        let p = plan(
            &Intake::parse(&k, &raw).unwrap(),
            &k,
            &PlanHistory::none(now()),
        )
        .unwrap();
        p.playbook
            .steps()
            .find(|(_, _, s)| s.id == "c1-expand-build")
            .unwrap()
            .2
            .timebox
            .unwrap()
    };
    assert!(mk("1000") < mk("500m"));
}
