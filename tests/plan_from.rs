//! `rollsafe plan --from`: migrations are linted, hazardous statements get the planner's phased
//! recipe with the SQL's names, the rest run as written; the plan validates as a playbook,
//! starts in the runner, and the CLI round trip `plan --from … --format toml | check` passes.

mod fixture;

use std::process::Command;

use fixture::{app, at};
use rollsafe::drill::{Mode, Outcome};
use rollsafe::lint::{Catalogue, Engine, Options, inputs, lint_files};
use rollsafe::planner::from_sql::{FromFiles, intake_from};
use rollsafe::planner::{Knowledge, Plan, PlanHistory, RawIntake, plan, render};
use rollsafe::playbook::{self, Loaded, Origin};
use rollsafe::tui::action::Action;
use rollsafe::tui::app::Screen;

const DIR: &str = "tests/fixtures/plan_from";

fn read(file: &str, engine: &str) -> (FromFiles, Plan) {
    read_path(&format!("{DIR}/{file}"), engine)
}

fn read_path(path: &str, engine: &str) -> (FromFiles, Plan) {
    let k = Knowledge::load().unwrap();
    let cat = Catalogue::bundled();
    let mut opts = Options::new(Engine::parse(engine).unwrap());
    let collected = inputs::collect(&[path.to_string()], || Ok(String::new())).unwrap();
    opts.tool = collected.inferred_tool.map(|(t, _)| t);
    opts.statements = true;
    let report = lint_files(&collected.files, &opts, &cat);
    let raw = RawIntake {
        deploy: "rolling".into(),
        engine: engine.into(),
        ..RawIntake::default()
    };
    let from = intake_from(&k, &report, raw, true).unwrap();
    let now = at(0);
    let p = plan(&from.intake, &k, &PlanHistory::none(now)).unwrap();
    (from, p)
}

/// The TOML of the plan and of its rollback drill parse and validate, the plan starts in the
/// runner and its first step can be passed; returns the TOML.
fn validated_and_runs(p: &Plan) -> String {
    let text = render::toml(p, false);
    let parsed = playbook::parse("plan.toml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    playbook::parse("rollback.toml", &render::toml(p, true)).expect("rollback drill validates");
    let mut app = app();
    let loaded = Loaded {
        playbook: parsed,
        origin: Origin::File("plan.toml".into()),
        source: text.clone(),
    };
    app.start(&loaded, Mode::Tabletop, at(0));
    let Screen::Runner(r) = &app.screen else {
        panic!("not in the runner: {:?}", app.status);
    };
    assert_eq!(r.session.drill.steps.len(), p.playbook.step_count());
    app.handle(Action::Pass, at(10));
    let Screen::Runner(r) = &app.screen else {
        panic!("left the runner");
    };
    assert_eq!(r.session.drill.steps[0].outcome, Some(Outcome::Passed));
    text
}

fn step_ids(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| s.id.clone()).collect()
}

#[test]
fn pg_rename_column_gets_expand_contract_and_the_create_runs_as_written() {
    let (from, p) = read("pg_rename_column.sql", "postgres:16");
    let ops: Vec<&str> = from.intake.changes.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops, vec!["sql", "rename-column"]);
    assert_eq!(
        from.intake.changes[1].text,
        "rename column users.name to full_name (tests/fixtures/plan_from/pg_rename_column.sql:3)"
    );
    let text = validated_and_runs(&p);
    // Names from the SQL, in the phases of the recipe.
    assert!(text.contains("Add users.full_name"), "{text}");
    assert!(text.contains("Drop users.name"), "{text}");
    let ids = step_ids(&p);
    for phase in ["expand", "deploy", "backfill", "contract"] {
        assert!(
            ids.iter().any(|i| i.starts_with(&format!("c2-{phase}"))),
            "{phase}: {ids:?}"
        );
    }
    // The CREATE TABLE has no finding: one plain, lossless step.
    let plain: Vec<_> = p.steps.iter().filter(|s| s.change == Some(0)).collect();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].own.label(), "lossless");
    assert!(text.contains("CREATE TABLE audit_log (id bigint PRIMARY KEY, note text)"));
    assert!(text.contains("rollsafe lint found no hazard in this statement."));
    assert_eq!(p.playbook.id, "plan-pg-rename-column");
}

#[test]
fn pg_add_not_null_column_without_default() {
    let (from, p) = read("pg_add_not_null_column.sql", "postgres:16");
    assert_eq!(from.intake.changes.len(), 1);
    assert_eq!(from.intake.changes[0].op, "add-not-null-column");
    assert!(
        from.notes.iter().any(|n| n.contains("SET lock_timeout")
            && n.contains("sets its own lock and statement timeouts")),
        "{:?}",
        from.notes
    );
    assert!(
        from.notes.iter().any(
            |n| n.contains("SET search_path") && n.contains("add it to the steps that need it")
        ),
        "{:?}",
        from.notes
    );
    let text = validated_and_runs(&p);
    assert!(text.contains("orders.region"), "{text}");
    // No placeholder the SQL gave is left unfilled.
    for ph in ["{table}", "{column}", "{type}"] {
        assert!(!text.contains(ph), "{ph} left in:\n{text}");
    }
}

#[test]
fn pg_create_index_keeps_its_name_and_runs_concurrently_outside_the_transaction() {
    let (from, p) = read("pg_create_index.sql", "postgres:16");
    assert_eq!(from.intake.changes.len(), 1, "BEGIN/COMMIT are left out");
    assert_eq!(
        from.notes.iter().filter(|n| n.contains("left out")).count(),
        2
    );
    let text = validated_and_runs(&p);
    assert!(
        text.contains(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id)"
        ),
        "{text}"
    );
    let build = p.steps.iter().find(|s| s.key == "build").unwrap();
    assert_eq!(build.kind, "ddl_no_tx");
}

#[test]
fn mysql_type_change_goes_through_the_online_recipe_with_the_restated_options() {
    let (from, p) = read("mysql_type_change.sql", "mysql:8.0.35");
    assert_eq!(from.intake.changes[0].op, "change-column-type");
    let text = validated_and_runs(&p);
    assert!(
        text.contains("MODIFY COLUMN total DECIMAL(12,2) NOT NULL"),
        "{text}"
    );
}

#[test]
fn hazard_without_a_recipe_is_carried_as_written_with_its_finding_and_class() {
    let (from, p) = read("pg_truncate.sql", "postgres:16");
    assert_eq!(from.intake.changes[0].op, "sql");
    let text = validated_and_runs(&p);
    assert!(text.contains("[truncate]"), "{text}");
    let s = p.steps.iter().find(|s| s.change == Some(0)).unwrap();
    assert_eq!(s.own.label(), "lossy");
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rollsafe"));
    c.env("NO_COLOR", "1").env(
        "ROLLSAFE_DB",
        std::env::temp_dir().join("rollsafe-plan-from-test.db"),
    );
    c
}

#[test]
fn cli_plan_from_toml_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    for (file, engine) in [
        ("pg_rename_column.sql", "postgres:16"),
        ("pg_create_index.sql", "postgres:16"),
        ("mysql_type_change.sql", "mysql:8.0.35"),
    ] {
        let out = dir.path().join(file.replace(".sql", ".toml"));
        let plan = bin()
            .args([
                "plan",
                "--from",
                &format!("{DIR}/{file}"),
                "--engine",
                engine,
            ])
            .args(["--format", "toml", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            plan.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&plan.stderr)
        );
        let check = bin().arg("check").arg(&out).output().unwrap();
        assert!(
            check.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    // --change and --from do not mix; a missing file is a usage error that names it.
    let both = bin()
        .args(["plan", "--from", "x.sql", "--change", "drop table t"])
        .args(["--engine", "postgres:16"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    let missing = bin()
        .args(["plan", "--from", "nope.sql", "--engine", "postgres:16"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.sql"));
}

#[test]
fn unique_and_partial_indexes_run_as_written_with_concurrently_put_in() {
    let (from, p) = read("pg_unique_and_partial_index.sql", "postgres:16");
    let ops: Vec<&str> = from.intake.changes.iter().map(|c| c.op.as_str()).collect();
    // The add-index recipe cannot say UNIQUE or WHERE: they run as written, made concurrent.
    assert_eq!(ops, vec!["sql-no-tx", "sql-no-tx"]);
    let text = validated_and_runs(&p);
    assert!(
        text.contains("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)"),
        "{text}"
    );
    assert!(
        text.contains(
            "CREATE INDEX CONCURRENTLY orders_open_idx ON orders (created_at) WHERE closed_at IS NULL"
        ),
        "{text}"
    );
    assert!(
        p.steps
            .iter()
            .all(|s| s.key != "run" || s.kind == "ddl_no_tx")
    );
}

#[test]
fn cli_plan_from_takes_the_engine_from_rollsafe_lint_toml_or_says_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("V1__rename.sql");
    std::fs::copy(format!("{DIR}/pg_rename_column.sql"), &sql).unwrap();
    let plan = bin().args(["plan", "--from"]).arg(&sql).output().unwrap();
    assert_eq!(plan.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&plan.stderr).contains("no engine"),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    std::fs::write(
        dir.path().join("rollsafe-lint.toml"),
        "engine = \"postgres:15\"\n",
    )
    .unwrap();
    let plan = bin()
        .args(["plan", "--format", "json", "--from"])
        .arg(&sql)
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(v["intake"]["engine"]["version"], "15");
    // The Flyway file name chose the tool.
    assert_eq!(v["intake"]["tool"], "flyway");
    assert_eq!(v["intake"]["from"], "V1__rename");
}

#[test]
fn volatile_default_becomes_add_then_set_default_then_backfill() {
    let (from, p) = read_path("tests/fixtures/lint/pg/bad.sql", "postgres:16");
    let at_line_3: Vec<(&str, Option<&str>)> = from
        .intake
        .changes
        .iter()
        .filter(|c| c.text.ends_with("bad.sql:3)"))
        .map(|c| (c.op.as_str(), c.class.map(|k| k.label())))
        .collect();
    assert_eq!(
        at_line_3,
        vec![
            ("add-column", None),
            ("sql", Some("lossless")),
            ("backfill", None)
        ]
    );
    let text = validated_and_runs(&p);
    assert!(text.contains("ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid()"));
    // The batched backfill sets the old rows with the default's expression.
    assert!(text.contains("SET token = gen_random_uuid()"), "{text}");
}

#[test]
fn not_null_column_with_a_user_function_default_is_phased_not_additive() {
    // make_code() is declared nowhere: VOLATILE by default, so the add rewrites the table. The
    // plan must not take the instant constant-default recipe.
    let (from, p) = read("pg_not_null_user_default.sql", "postgres:16");
    let ops: Vec<&str> = from.intake.changes.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops, vec!["add-column", "sql", "backfill", "set-not-null"]);
    let text = validated_and_runs(&p);
    assert!(text.contains("SET code = make_code()"), "{text}");
}

/// Every migration fixture of the lint tests and of these, in every layout, plans into a
/// playbook that validates and starts in the runner.
#[test]
fn every_fixture_migration_plans_to_a_valid_playbook() {
    let cases = [
        ("tests/fixtures/lint/pg/bad.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/good.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/new_table.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/tx.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/types.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/unparsed.sql", "postgres:16"),
        ("tests/fixtures/lint/pg/pg10_default.sql", "postgres:11"),
        ("tests/fixtures/lint/flyway", "postgres:16"),
        ("tests/fixtures/lint/mysql/bad.sql", "mysql:8.0.35"),
        ("tests/fixtures/lint/mysql/good.sql", "mysql:8.0.35"),
        ("tests/fixtures/lint/sqlite/bad.sql", "sqlite"),
        ("tests/fixtures/lint_formats/changelog.sql", "postgres:16"),
        (
            "tests/fixtures/lint_formats/20240101120000_users_email.sql",
            "postgres:16",
        ),
        ("tests/fixtures/lint_formats/mixed.sql", "postgres:16"),
        ("tests/fixtures/lint_formats/ignored.sql", "postgres:16"),
    ];
    for (path, engine) in cases {
        let (from, p) = read_path(path, engine);
        assert!(!from.intake.changes.is_empty(), "{path}");
        validated_and_runs(&p);
    }
}

#[test]
fn the_migrations_own_down_side_is_shown_on_the_plain_step_it_undoes() {
    // Liquibase: changeset ana:1's --rollback; dbmate: the migrate:down section;
    // golang-migrate: the .down.sql file.
    for (path, down, tool) in [
        (
            "tests/fixtures/lint_formats/changelog.sql",
            "DROP TABLE accounts;",
            "liquibase",
        ),
        (
            "tests/fixtures/lint_formats/20240101120000_users_email.sql",
            "DROP INDEX CONCURRENTLY users_email_idx;",
            "dbmate",
        ),
        (
            "tests/fixtures/plan_from/golang",
            "DROP TABLE audit_log;",
            "golang-migrate",
        ),
    ] {
        let (from, p) = read_path(path, "postgres:16");
        // The plan ships its steps in the tool the files are written for.
        assert_eq!(from.intake.tool, tool, "{path}");
        let carrying: Vec<&str> = from
            .intake
            .changes
            .iter()
            .filter(|c| c.params.get("note").is_some_and(|n| n.contains(down)))
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(carrying.len(), 1, "{path}: {carrying:?}");
        let text = validated_and_runs(&p);
        assert!(text.contains(down), "{path}");
    }
}
