//! Every rule of `assets/lint_rules.toml` against its own fixtures, on every engine it applies to,
//! `tests/fixtures/lint/rules/<rule-id>/{bad,good}.sql` (and `{bad,good}.<variant>.sql` for other
//! engines): the bad example must produce that rule and nothing else, the good one (the safe
//! recipe) must not produce it. A rule added to the catalogue without fixtures, or without one
//! for each of its engines, fails here. Fixture headers (leading `-- key: value` comments):
//! `engine` (required), `also-on` (more engines on which both must behave the same), `tool`,
//! `also` (other rules the good example is allowed to produce) and `not-on` (engines on which
//! the bad example must stay silent: version thresholds).
//!
//! Below the walk: context tests, each paired with a control run that proves the rule would
//! fire without the context.

use std::collections::BTreeSet;
use std::path::Path;

use rollsafe::lint::{Catalogue, Engine, Options, Severity, SourceFile, inputs, lint_files};

const RULES: &str = "tests/fixtures/lint/rules";

#[derive(Default)]
struct Header {
    engine: Option<String>,
    also_on: Vec<String>,
    tool: Option<String>,
    also: BTreeSet<String>,
    not_on: Vec<String>,
}

fn header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines() {
        let Some(comment) = line.trim().strip_prefix("--") else {
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let words = || value.split_whitespace().map(str::to_string);
        match key.trim() {
            "engine" => h.engine = Some(value.trim().to_string()),
            "also-on" => h.also_on.extend(words()),
            "tool" => h.tool = Some(value.trim().to_string()),
            "also" => h.also.extend(words()),
            "not-on" => h.not_on.extend(words()),
            _ => {}
        }
    }
    h
}

/// Rule ids found in the files, linted in order as one run.
fn rules_found(files: &[SourceFile], engine: &str, tool: Option<&str>) -> Vec<String> {
    let cat = Catalogue::bundled();
    let mut opts = Options::new(Engine::parse(engine).unwrap());
    opts.tool = tool.map(str::to_string);
    lint_files(files, &opts, &cat)
        .findings
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

fn load(paths: &[String]) -> Vec<SourceFile> {
    inputs::collect(paths, || Ok(String::new())).unwrap().files
}

fn sql(name: &str, text: &str) -> SourceFile {
    SourceFile {
        name: name.into(),
        text: text.into(),
        direction: rollsafe::lint::Direction::Up,
    }
}

/// The fixture variants of a rule directory: "" for bad.sql/good.sql, ".mysql" for
/// bad.mysql.sql/good.mysql.sql, and so on.
fn variants(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let rest = name
                .strip_prefix("bad")
                .or_else(|| name.strip_prefix("good"))?;
            rest.strip_suffix(".sql").map(str::to_string)
        })
        .collect()
}

#[test]
fn every_rule_has_a_bad_and_a_good_fixture_that_behave() {
    let cat = Catalogue::bundled();
    let mut problems = Vec::new();
    for rule in &cat.rules {
        let dir = Path::new(RULES).join(&rule.id);
        if !dir.join("bad.sql").is_file() || !dir.join("good.sql").is_file() {
            problems.push(format!(
                "{}: missing {}/{{bad,good}}.sql",
                rule.id,
                dir.display()
            ));
            continue;
        }
        // bad.sql/good.sql, and bad.<variant>.sql/good.<variant>.sql for other engines.
        let mut covered = BTreeSet::new();
        let pairs = variants(&dir).into_iter().flat_map(|v| {
            [
                (dir.join(format!("bad{v}.sql")), true),
                (dir.join(format!("good{v}.sql")), false),
            ]
        });
        for (path, is_bad) in pairs {
            let path = &path;
            let text = std::fs::read_to_string(path).unwrap();
            let h = header(&text);
            let Some(engine) = h.engine.clone() else {
                problems.push(format!("{}: no `-- engine:` header", path.display()));
                continue;
            };
            let files = load(&[path.to_string_lossy().into_owned()]);
            for engine in std::iter::once(engine).chain(h.also_on.iter().cloned()) {
                covered.insert(Engine::parse(&engine).unwrap().kind.id());
                if !rule.applies(&Engine::parse(&engine).unwrap()) {
                    problems.push(format!(
                        "{}: the rule does not apply to {engine}",
                        path.display()
                    ));
                }
                let found: BTreeSet<String> = rules_found(&files, &engine, h.tool.as_deref())
                    .into_iter()
                    .collect();
                if is_bad {
                    let want = BTreeSet::from([rule.id.clone()]);
                    if found != want {
                        problems.push(format!(
                            "{} on {engine}: expected exactly [{}], got {found:?}",
                            path.display(),
                            rule.id
                        ));
                    }
                } else {
                    let unexpected: Vec<&String> =
                        found.iter().filter(|r| !h.also.contains(*r)).collect();
                    if found.contains(&rule.id) || !unexpected.is_empty() {
                        problems.push(format!(
                            "{} on {engine}: the safe recipe produced {unexpected:?}",
                            path.display()
                        ));
                    }
                }
            }
            if is_bad {
                for other in &h.not_on {
                    if rules_found(&files, other, h.tool.as_deref()).contains(&rule.id) {
                        problems.push(format!(
                            "{}: must not fire on {other} (version threshold)",
                            path.display()
                        ));
                    }
                }
            }
        }
        let missing: Vec<&String> = rule
            .engines
            .iter()
            .filter(|e| !covered.contains(e.as_str()))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{}: no fixture runs on {missing:?} (add bad.<engine>.sql/good.<engine>.sql or `-- also-on:`)",
                rule.id
            ));
        }
    }
    // No fixtures for rules that no longer exist.
    for entry in std::fs::read_dir(RULES).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if cat.rule(&name).is_none() {
            problems.push(format!("{RULES}/{name}: no such rule in the catalogue"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn table_created_in_the_same_file_is_exempt() {
    let create = "SET lock_timeout = '1s';\nCREATE TABLE widgets (id bigint, name text);\n";
    let change = "CREATE INDEX idx_w ON widgets (name);\nALTER TABLE widgets ADD COLUMN code text NOT NULL;\nALTER TABLE widgets RENAME COLUMN name TO title;\n";
    // Control: the same statements on an existing table.
    let control = rules_found(
        &[sql("a.sql", &format!("SET lock_timeout = '1s';\n{change}"))],
        "postgres:16",
        None,
    );
    assert_eq!(
        control,
        vec![
            "pg-create-index-non-concurrent",
            "pg-add-column-not-null-no-default",
            "rename-column"
        ]
    );
    let found = rules_found(
        &[sql("a.sql", &format!("{create}{change}"))],
        "postgres:16",
        None,
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn table_created_in_an_earlier_file_is_not_new_in_later_files() {
    let v1 = sql(
        "V1__create.sql",
        "CREATE TABLE widgets (id bigint, name text);\n",
    );
    let v2 = sql(
        "V2__index.sql",
        "SET lock_timeout = '1s';\nCREATE INDEX idx_w ON widgets (name);\nDROP TABLE widgets;\n",
    );
    assert_eq!(
        rules_found(std::slice::from_ref(&v2), "postgres:16", None),
        vec!["pg-create-index-non-concurrent", "drop-table"]
    );
    // Once V1 commits the application may write to widgets: new only inside V1.
    assert_eq!(
        rules_found(&[v1, v2], "postgres:16", None),
        vec!["pg-create-index-non-concurrent", "drop-table"]
    );
}

#[test]
fn a_wrapping_tool_makes_concurrently_an_error() {
    let file = sql(
        "V2__index.sql",
        "CREATE INDEX CONCURRENTLY idx_users_email ON users (email);\n",
    );
    // No tool, and a tool that adds no transaction: fine.
    assert!(rules_found(std::slice::from_ref(&file), "postgres:16", None).is_empty());
    assert!(rules_found(std::slice::from_ref(&file), "postgres:16", Some("sqitch")).is_empty());
    for tool in ["flyway", "rails", "django", "golang-migrate"] {
        assert_eq!(
            rules_found(std::slice::from_ref(&file), "postgres:16", Some(tool)),
            vec!["pg-concurrently-in-transaction"],
            "{tool}"
        );
    }
    // goose's per-file marker switches its transaction off.
    let marked = sql(
        "00002_index.sql",
        "-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY idx_users_email ON users (email);\n",
    );
    assert!(rules_found(&[marked], "postgres:16", Some("goose")).is_empty());
    // ory/x popx: an .autocommit file runs outside the transaction.
    let autocommit = sql(
        "m/20260703000000000000_idx.postgres.autocommit.up.sql",
        "CREATE INDEX CONCURRENTLY idx_users_email ON users (email);\n",
    );
    assert!(rules_found(&[autocommit], "postgres:16", Some("golang-migrate")).is_empty());
}

#[test]
fn a_wrapping_tool_makes_two_exclusive_locks_one_transaction() {
    let file = sql(
        "V3__columns.sql",
        "SET lock_timeout = '1s';\nALTER TABLE users ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;\n",
    );
    assert!(rules_found(std::slice::from_ref(&file), "postgres:16", None).is_empty());
    assert_eq!(
        rules_found(&[file], "postgres:16", Some("flyway")),
        vec!["pg-exclusive-lock-held"]
    );
    // Locks on a table created in the same transaction block nobody.
    let new_table = sql(
        "V4__widgets.sql",
        "SET lock_timeout = '1s';\nCREATE TABLE widgets (id bigint);\nALTER TABLE widgets ADD COLUMN a text;\nALTER TABLE users ADD COLUMN b text;\n",
    );
    assert!(rules_found(&[new_table], "postgres:16", Some("flyway")).is_empty());
}

#[test]
fn lock_timeout_set_earlier_silences_the_missing_timeout_rule() {
    let ddl = "ALTER TABLE users ALTER COLUMN name SET DEFAULT '';\n";
    assert_eq!(
        rules_found(&[sql("a.sql", ddl)], "postgres:16", None),
        vec!["pg-lock-timeout-missing"]
    );
    for set in [
        "SET lock_timeout = '2s';\n",
        "SET statement_timeout = '30s';\n",
    ] {
        let found = rules_found(&[sql("a.sql", &format!("{set}{ddl}"))], "postgres:16", None);
        assert!(found.is_empty(), "{set}: {found:?}");
    }
    // Set after the statement, or switched off again: still missing.
    assert_eq!(
        rules_found(
            &[sql("a.sql", &format!("{ddl}SET lock_timeout = '2s';\n"))],
            "postgres:16",
            None
        ),
        vec!["pg-lock-timeout-missing"]
    );
    assert_eq!(
        rules_found(
            &[sql(
                "a.sql",
                &format!("SET lock_timeout = '2s';\nSET lock_timeout = 0;\n{ddl}")
            )],
            "postgres:16",
            None
        ),
        vec!["pg-lock-timeout-missing"]
    );
    // MySQL: lock_wait_timeout.
    let my = "ALTER TABLE users ADD COLUMN x INT, ALGORITHM=INSTANT;\n";
    assert_eq!(
        rules_found(&[sql("a.sql", my)], "mysql:8.0.29", None),
        vec!["mysql-lock-wait-timeout-missing"]
    );
    assert!(
        rules_found(
            &[sql(
                "a.sql",
                &format!("SET SESSION lock_wait_timeout = 5;\n{my}")
            )],
            "mysql:8.0.29",
            None
        )
        .is_empty()
    );
}

#[test]
fn sqlite_rebuild_drop_is_withdrawn_only_when_the_copy_takes_the_name() {
    let rebuild = |insert: &str| {
        format!(
            "CREATE TABLE users_new (id integer PRIMARY KEY, age bigint);\n{insert}DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n"
        )
    };
    let copied = rebuild("INSERT INTO users_new (id, age) SELECT id, age FROM users;\n");
    assert!(rules_found(&[sql("a.sql", &copied)], "sqlite:3.45", None).is_empty());
    // Nothing copied from the old table: its rows are gone.
    assert_eq!(
        rules_found(&[sql("a.sql", &rebuild(""))], "sqlite:3.45", None),
        vec!["drop-table"]
    );
    let other = rebuild("INSERT INTO users_new (id, age) SELECT id, age FROM archive;\n");
    assert_eq!(
        rules_found(&[sql("a.sql", &other)], "sqlite:3.45", None),
        vec!["drop-table"]
    );
}

#[test]
fn a_wrapping_tool_makes_a_new_enum_label_unusable_in_the_same_file() {
    let file = sql(
        "V5__mood.sql",
        "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE users SET mood = 'meh' WHERE id = 1;\n",
    );
    assert!(rules_found(std::slice::from_ref(&file), "postgres:16", None).is_empty());
    assert_eq!(
        rules_found(std::slice::from_ref(&file), "postgres:16", Some("rails")),
        vec!["pg-enum-value-used-in-transaction"]
    );
    // Before 12 the ADD VALUE itself is refused inside the transaction.
    assert_eq!(
        rules_found(&[file], "postgres:11", Some("rails")),
        vec!["pg-add-enum-value"]
    );
}

#[test]
fn pg18_not_null_not_valid_path() {
    let recipe = "SET lock_timeout = '1s';\nALTER TABLE users ADD CONSTRAINT users_name_nn NOT NULL name NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_name_nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;\n";
    assert!(rules_found(&[sql("a.sql", recipe)], "postgres:18", None).is_empty());
    // Without NOT VALID the constraint scans like SET NOT NULL.
    let direct =
        "SET lock_timeout = '1s';\nALTER TABLE users ADD CONSTRAINT users_name_nn NOT NULL name;\n";
    assert_eq!(
        rules_found(&[sql("a.sql", direct)], "postgres:18", None),
        vec!["pg-set-not-null"]
    );
    // Before 18 the syntax does not exist: reported as unparsed, never silently passed.
    assert_eq!(
        rules_found(&[sql("a.sql", recipe)], "postgres:17", None),
        vec!["unparsed", "pg-set-not-null"]
    );
    // ... and the message says which version reads it, so a user on 18 knows the flag to fix.
    let cat = Catalogue::bundled();
    let r = lint_files(
        &[sql("a.sql", recipe)],
        &Options::new(Engine::parse("postgres:17").unwrap()),
        &cat,
    );
    assert!(
        r.findings[0].message.contains("PostgreSQL 18 syntax")
            && r.findings[0].message.contains("--engine postgres:18"),
        "{}",
        r.findings[0].message
    );
    // An unrelated parse failure gets no such hint.
    let r = lint_files(
        &[sql("a.sql", "ALTER TABLE users FROBNICATE;\n")],
        &Options::new(Engine::parse("postgres:17").unwrap()),
        &cat,
    );
    assert!(!r.findings[0].message.contains("PostgreSQL 18"));
}

#[test]
fn mysql_enum_append_is_instant_but_insert_copies() {
    let add = "SET SESSION lock_wait_timeout = 5;\nALTER TABLE users ADD COLUMN status ENUM('a', 'b'), ALGORITHM=INSTANT;\n";
    let append = format!("{add}ALTER TABLE users MODIFY COLUMN status ENUM('a', 'b', 'c');\n");
    let cat = Catalogue::bundled();
    let opts = Options::new(Engine::parse("mysql:8.0.29").unwrap());
    let r = lint_files(&[sql("a.sql", &append)], &opts, &cat);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].rule, "mysql-algorithm-missing");
    assert!(r.findings[0].message.contains("ALGORITHM=INSTANT"));
    // Before 8.0.12 there is no INSTANT: the append is in place, and the suggestion says so.
    let old = lint_files(
        &[sql("a.sql", &append.replace(", ALGORITHM=INSTANT", ""))],
        &Options::new(Engine::parse("mysql:5.7").unwrap()),
        &cat,
    );
    let last = old.findings.last().unwrap();
    assert_eq!(last.rule, "mysql-algorithm-missing");
    assert!(
        last.message.contains("ALGORITHM=INPLACE"),
        "{}",
        last.message
    );
    // Growing a SET past 8 members changes its storage size: a copy.
    let set8 = "'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'";
    let grow = format!(
        "SET SESSION lock_wait_timeout = 5;\nALTER TABLE users ADD COLUMN tags SET({set8}), ALGORITHM=INSTANT;\nALTER TABLE users MODIFY COLUMN tags SET({set8}, 'i');\n"
    );
    assert_eq!(
        rules_found(&[sql("a.sql", &grow)], "mysql:8.0.29", None),
        vec!["mysql-enum-change"]
    );
    let reorder = format!("{add}ALTER TABLE users MODIFY COLUMN status ENUM('b', 'a');\n");
    assert_eq!(
        rules_found(&[sql("a.sql", &reorder)], "mysql:8.0.29", None),
        vec!["mysql-enum-change"]
    );
}

#[test]
fn every_fixture_file_is_half_of_a_bad_good_pair() {
    // A stray file (`bad2.sql`, a bad.x.sql without good.x.sql) would never be run.
    for entry in std::fs::read_dir(RULES).unwrap() {
        let dir = entry.unwrap().path();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected: Vec<String> = variants(&dir)
            .iter()
            .flat_map(|v| [format!("bad{v}.sql"), format!("good{v}.sql")])
            .collect();
        expected.sort();
        assert_eq!(names, expected, "{}", dir.display());
        assert!(
            variants(&dir)
                .iter()
                .all(|v| v.is_empty() || v.starts_with('.'))
        );
    }
}

/// `docs/squawk-comparison.md`: every squawk rule's documented bad example
/// (`tests/fixtures/lint/squawk/<rule>.sql`) with what rollsafe reports on it at postgres:16.
/// The table's rollsafe column must be exactly what rollsafe finds, so the table cannot rot;
/// every fixture has a row and every row a fixture.
#[test]
fn squawk_comparison_table_matches_rollsafe() {
    let doc = std::fs::read_to_string("docs/squawk-comparison.md").unwrap();
    let dir = Path::new("tests/fixtures/lint/squawk");
    let mut rows = 0;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | squawk rule | squawk fires at PG 16 | rollsafe rules | verdict | why |
        if cells.len() < 7 || !cells[1].starts_with('`') {
            continue;
        }
        rows += 1;
        let rule = cells[1].trim_matches('`');
        seen.insert(rule.to_string());
        let verdict = cells[4];
        if !matches!(verdict, "agree" | "differ") {
            problems.push(format!("{rule}: verdict \"{verdict}\""));
        }
        let claimed: BTreeSet<String> = cells[3]
            .split(',')
            .map(|r| r.trim().trim_matches('`').to_string())
            .filter(|r| !r.is_empty() && r != "—")
            .collect();
        if verdict == "agree" && claimed.is_empty() {
            problems.push(format!("{rule}: 'agree' but no rollsafe rule named"));
        }
        let path = dir.join(format!("{rule}.sql"));
        if !path.is_file() {
            problems.push(format!("{rule}: no fixture {}", path.display()));
            continue;
        }
        let files = load(&[path.to_string_lossy().into_owned()]);
        let found: BTreeSet<String> = rules_found(&files, "postgres:16", None)
            .into_iter()
            .collect();
        if found != claimed {
            problems.push(format!(
                "{rule}: table says {claimed:?}, rollsafe finds {found:?}"
            ));
        }
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(rule) = name.strip_suffix(".sql")
            && !seen.contains(rule)
        {
            problems.push(format!("{name}: no row in docs/squawk-comparison.md"));
        }
    }
    assert!(rows >= 38, "only {rows} rows parsed");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn mysql_create_index_without_algorithm_is_info_unless_it_blocks_writes() {
    let cat = Catalogue::bundled();
    for engine in ["mysql:8.0.29", "mariadb:10.11"] {
        let opts = Options::new(Engine::parse(engine).unwrap());
        let text = "SET SESSION lock_wait_timeout = 5;\nCREATE INDEX i ON users (email);\nCREATE UNIQUE INDEX u ON users (handle);\nALTER TABLE users ADD COLUMN nickname VARCHAR(50);\n";
        let r = lint_files(&[sql("a.sql", text)], &opts, &cat);
        let got: Vec<(usize, &str, Severity)> = r
            .findings
            .iter()
            .map(|f| (f.line, f.rule.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "mysql-algorithm-missing", Severity::Info),
                (3, "mysql-algorithm-missing", Severity::Info),
                // ALTER TABLE keeps its warning: the fallback to a copy is real there.
                (4, "mysql-algorithm-missing", Severity::Warning),
            ],
            "{engine}"
        );
    }
}

/// The rules reported for `text` (as `2.sql`, PostgreSQL 16) when `history` came before it.
fn rules_after(history: &SourceFile, text: &str) -> Vec<String> {
    let cat = Catalogue::bundled();
    let opts = Options::new(Engine::parse("postgres:16").unwrap());
    let r = lint_files(&[history.clone(), sql("2.sql", text)], &opts, &cat);
    r.findings
        .into_iter()
        .filter(|f| f.file == "2.sql")
        .map(|f| f.rule)
        .collect()
}

#[test]
fn altering_a_column_to_the_type_it_already_has_is_not_a_rewrite() {
    // Added to an existing table (one created in the run would be new and exempt).
    let history = sql(
        "1.sql",
        "SET lock_timeout = '1s';\nALTER TABLE robot ADD COLUMN id int4, ADD COLUMN doc jsonb;\n",
    );
    let rules = |text: &str| rules_after(&history, text);
    let set = "SET lock_timeout = '1s';\n";
    // Same type (as spelled elsewhere): nothing to report.
    assert!(
        rules(&format!(
            "{set}ALTER TABLE robot ALTER COLUMN doc TYPE jsonb;\n"
        ))
        .is_empty()
    );
    assert!(
        rules(&format!(
            "{set}ALTER TABLE robot ALTER COLUMN id TYPE integer;\n"
        ))
        .is_empty()
    );
    // A real change is still a rewrite, and so is USING.
    assert_eq!(
        rules(&format!(
            "{set}ALTER TABLE robot ALTER COLUMN id TYPE bigint;\n"
        )),
        vec!["pg-alter-column-type-rewrite"]
    );
    assert_eq!(
        rules(&format!(
            "{set}ALTER TABLE robot ALTER COLUMN doc TYPE jsonb USING doc || '{{}}';\n"
        )),
        vec!["pg-alter-column-type-rewrite"]
    );
}

#[test]
fn a_default_calling_a_user_function_is_volatile_unless_declared_otherwise() {
    let history = sql(
        "1.sql",
        "CREATE FUNCTION make_code() RETURNS text AS $$ SELECT md5(random()::text) $$ LANGUAGE sql;\nCREATE FUNCTION fixed_code() RETURNS text IMMUTABLE AS $$ SELECT 'x' $$ LANGUAGE sql;\n",
    );
    let rules = |text: &str| rules_after(&history, text);
    let set = "SET lock_timeout = '1s';\n";
    assert_eq!(
        rules(&format!(
            "{set}ALTER TABLE users ADD COLUMN code text NOT NULL DEFAULT make_code();\n"
        )),
        vec!["pg-add-column-volatile-default"]
    );
    // IMMUTABLE: PostgreSQL 11+ stores the value once, no rewrite.
    assert!(
        rules(&format!(
            "{set}ALTER TABLE users ADD COLUMN code text NOT NULL DEFAULT fixed_code();\n"
        ))
        .is_empty()
    );
}

#[test]
fn a_default_calling_a_function_nobody_declared_is_volatile_and_built_ins_are_known() {
    let alone = |default: &str| {
        let text = format!(
            "SET lock_timeout = '1s';\nALTER TABLE users ADD COLUMN c text NOT NULL DEFAULT {default};\n"
        );
        rules_found(&[sql("a.sql", &text)], "postgres:16", None)
    };
    // Not a built-in and not created in the files: VOLATILE, PostgreSQL's default.
    for user in ["make_code()", "auth.uid()::text", "lower(app.make_code())"] {
        assert_eq!(
            alone(user),
            vec!["pg-add-column-volatile-default"],
            "{user}"
        );
    }
    // Built-ins (pg_proc): STABLE or IMMUTABLE are stored once; volatile ones rewrite.
    for stable in [
        "now()::text",
        "md5('f(x)')",
        "to_char(now(), 'YYYY')",
        "''::varchar(10)",
    ] {
        assert!(alone(stable).is_empty(), "{stable}");
    }
    assert_eq!(
        alone("gen_random_uuid()::text"),
        vec!["pg-add-column-volatile-default"]
    );
    // Declared STABLE in a CREATE FUNCTION the parser cannot read whole (COST, SUPPORT):
    // still context, and not reported as unparsed.
    let history = sql(
        "1.sql",
        "CREATE OR REPLACE FUNCTION app.code() RETURNS text LANGUAGE sql STABLE COST 5 SUPPORT app.s AS $$ SELECT 'x' $$;\n",
    );
    assert!(
        rules_after(
            &history,
            "SET lock_timeout = '1s';\nALTER TABLE users ADD COLUMN c text NOT NULL DEFAULT app.code();\n"
        )
        .is_empty()
    );
    assert!(rules_found(&[history], "postgres:16", None).is_empty());
}

#[test]
fn an_unknown_alter_table_clause_does_not_hide_the_known_ones() {
    let cat = Catalogue::bundled();
    let opts = Options::new(Engine::parse("postgres:16").unwrap());
    let text = "SET lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL, FROBNICATE (x), ADD CONSTRAINT c CHECK (age > 0);\n";
    let r = lint_files(&[sql("a.sql", text)], &opts, &cat);
    let got: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        got,
        vec!["pg-set-not-null", "pg-add-check-validating", "unparsed"],
        "{:?}",
        r.findings
    );
    let unparsed = r.findings.iter().find(|f| f.rule == "unparsed").unwrap();
    assert!(
        unparsed.message.contains("FROBNICATE (x)"),
        "{}",
        unparsed.message
    );
    assert_eq!(unparsed.line, 2);
}

#[test]
fn statements_sqlparser_cannot_read_whole_are_recognised_and_hide_nothing() {
    let cat = Catalogue::bundled();
    let found = |engine: &str, text: &str| -> Vec<String> {
        let opts = Options::new(Engine::parse(engine).unwrap());
        lint_files(&[sql("a.sql", text)], &opts, &cat)
            .findings
            .into_iter()
            .map(|f| format!("{}:{} {}", f.line, f.column, f.rule))
            .collect()
    };
    // The SQL inside a DO block is checked at its own place; PL/pgSQL control and dynamic
    // EXECUTE are skipped; statements with nothing to check are not "unparsed"; an unknown
    // first clause of an ALTER TABLE does not hide the SET NOT NULL after it.
    let pg = "SET lock_timeout = '1s';\nDO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'c') THEN\n    ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n  END IF;\n  EXECUTE 'DROP TABLE x';\nEND $$;\nALTER SEQUENCE users_id_seq AS bigint;\nCREATE STATISTICS s1 (dependencies) ON a, b FROM users;\nCREATE PUBLICATION pub FOR TABLE users;\nCREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION f();\nALTER TABLE orders ALTER CONSTRAINT orders_user_fk DEFERRABLE INITIALLY DEFERRED;\nALTER TABLE users FROBNICATE, ALTER COLUMN name SET NOT NULL;\nCREATE TABLE t (id int, c int, CONSTRAINT t_c_not_null NOT NULL c, PRIMARY KEY (id));\nALTER TABLE t ALTER COLUMN id TYPE bigint;\n";
    assert_eq!(
        found("postgres:16", pg),
        vec![
            "5:23 pg-set-not-null",
            "14:31 pg-set-not-null",
            "14:1 unparsed",
        ]
    );
    // MySQL: VARCHAR(n) BINARY and CREATE FULLTEXT INDEX are read; FULLTEXT stays a warning.
    let my = "SET lock_wait_timeout = 5;\nCREATE TABLE t2 (id int, name VARCHAR(10) BINARY);\nALTER TABLE posts ADD COLUMN code VARCHAR(32) BINARY NOT NULL DEFAULT '', ALGORITHM=INSTANT;\nCREATE FULLTEXT INDEX ft_body ON posts (body);\n";
    assert_eq!(
        found("mysql:8.0.35", my),
        vec!["4:1 mysql-algorithm-missing"]
    );
    // The suggestion for a FULLTEXT index is not LOCK=NONE, which MySQL refuses for it.
    let opts = Options::new(Engine::parse("mysql:8.0.35").unwrap());
    for ft in [
        "CREATE FULLTEXT INDEX ft_body ON posts (body);\n",
        "ALTER TABLE posts ADD FULLTEXT INDEX ft_title (title);\n",
    ] {
        let r = lint_files(
            &[sql("a.sql", &format!("SET lock_wait_timeout = 5;\n{ft}"))],
            &opts,
            &cat,
        );
        let f = &r.findings[0];
        assert_eq!(f.rule, "mysql-algorithm-missing");
        assert_eq!(f.severity, Severity::Warning, "{ft}");
        assert!(f.message.contains("blocks writes"), "{}", f.message);
        assert!(!f.suggestion.contains("LOCK=NONE"), "{}", f.suggestion);
    }
}

#[test]
fn set_not_null_on_a_column_the_history_made_not_null_scans_nothing() {
    let history = sql(
        "1.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text, nick text);\nALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;\nALTER TABLE users ALTER COLUMN nick SET NOT NULL;\n",
    );
    let set = "SET lock_timeout = '1s';\n";
    for col in ["id", "email", "age", "nick"] {
        assert!(
            rules_after(
                &history,
                &format!("{set}ALTER TABLE users ALTER COLUMN {col} SET NOT NULL;\n")
            )
            .is_empty(),
            "{col}"
        );
    }
    assert_eq!(
        rules_after(
            &history,
            &format!("{set}ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n")
        ),
        vec!["pg-set-not-null"]
    );
    // Dropped since: the next SET NOT NULL scans again.
    assert_eq!(
        rules_after(
            &history,
            &format!(
                "{set}ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
            )
        ),
        vec!["pg-drop-not-null", "pg-set-not-null"]
    );
}

#[test]
fn a_second_exclusive_lock_on_the_same_table_waits_for_nothing() {
    let history = sql("1.sql", "CREATE INDEX users_email ON users (email);\n");
    let lint = |text: &str| -> Vec<String> {
        let cat = Catalogue::bundled();
        let mut opts = Options::new(Engine::parse("postgres:16").unwrap());
        opts.tool = Some("flyway".into());
        lint_files(&[history.clone(), sql("2.sql", text)], &opts, &cat)
            .findings
            .into_iter()
            .filter(|f| f.file == "2.sql" && f.rule == "pg-exclusive-lock-held")
            .map(|f| format!("{}", f.line))
            .collect()
    };
    let set = "SET lock_timeout = '1s';\n";
    // Same table (the index's table known from the history): nothing more is waited for.
    assert!(
        lint(&format!(
            "{set}ALTER TABLE users ADD COLUMN a int;\nALTER TABLE users ADD COLUMN b int;\nDROP INDEX users_email;\n"
        ))
        .is_empty()
    );
    // A second table: reported once, at the statement that locks it.
    assert_eq!(
        lint(&format!(
            "{set}ALTER TABLE users ADD COLUMN a int;\nALTER TABLE users ADD COLUMN b int;\nALTER TABLE orders ADD COLUMN c int;\n"
        )),
        vec!["4"]
    );
}

#[test]
fn postgres_18_not_null_constraint_beside_other_clauses_is_read() {
    let cat = Catalogue::bundled();
    let found = |engine: &str| -> Vec<String> {
        let opts = Options::new(Engine::parse(engine).unwrap());
        let text = "SET lock_timeout = '1s';\nALTER TABLE users ADD COLUMN banned bool DEFAULT false,\n    ADD CONSTRAINT users_banned_not_null NOT NULL banned;\n";
        lint_files(&[sql("a.sql", text)], &opts, &cat)
            .findings
            .into_iter()
            .map(|f| format!("{}:{} {}", f.line, f.column, f.rule))
            .collect()
    };
    // PostgreSQL 18 reads it: the scan is reported at the clause's own place.
    assert_eq!(found("postgres:18"), vec!["3:9 pg-set-not-null"]);
    // Before 18 PostgreSQL refuses the clause: it stays unparsed, the rest is still read.
    assert_eq!(found("postgres:16"), vec!["2:1 unparsed"]);
}

#[test]
fn drop_default_set_again_in_the_same_transaction_is_withdrawn() {
    // Changing a column's type around its default: drop it, change, set it again, one transaction.
    let again = "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN sort DROP DEFAULT;\nALTER TABLE users ALTER COLUMN sort SET DEFAULT 'hot';\nCOMMIT;\n";
    assert!(rules_found(&[sql("a.sql", again)], "postgres:16", None).is_empty());
    // Set again only after COMMIT: the running release saw the column without a default.
    let later = "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN sort DROP DEFAULT;\nCOMMIT;\nBEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE users ALTER COLUMN sort SET DEFAULT 'hot';\nCOMMIT;\n";
    assert_eq!(
        rules_found(&[sql("a.sql", later)], "postgres:16", None),
        vec!["pg-drop-default"]
    );
    // Another column's default set again does not withdraw it.
    let other = again.replace("COLUMN sort SET", "COLUMN other SET");
    assert_eq!(
        rules_found(&[sql("a.sql", &other)], "postgres:16", None),
        vec!["pg-drop-default"]
    );
}
