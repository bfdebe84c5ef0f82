//! `rollsafe lint` inputs and outputs beyond plain files: Liquibase formatted SQL and dbmate
//! sections (transaction flags, down sides, original positions), disabling rules per file,
//! per statement and in rollsafe-lint.toml, and the human, line, JSON and SARIF formats.

use std::path::Path;
use std::process::Command;

use rollsafe::lint::{Catalogue, Direction, Engine, Options, inputs, lint_files};

const DIR: &str = "tests/fixtures/lint_formats";

/// (line:col rule direction) of each finding, with the tool the layout or markers name.
fn run(path: &str, engine: &str) -> (Vec<String>, Option<String>) {
    let cat = Catalogue::bundled();
    let mut opts = Options::new(Engine::parse(engine).unwrap());
    let collected = inputs::collect(&[path.to_string()], || Ok(String::new())).unwrap();
    opts.tool = collected.inferred_tool.map(|(t, _)| t);
    let report = lint_files(&collected.files, &opts, &cat);
    let found = report
        .findings
        .iter()
        .map(|f| {
            let d = match f.direction {
                Direction::Up => "up",
                Direction::Down => "down",
            };
            format!("{}:{} {} {d}", f.line, f.column, f.rule)
        })
        .collect();
    (found, opts.tool)
}

#[test]
fn liquibase_changesets_are_units_with_their_own_transaction_and_rollback() {
    let (found, tool) = run(&format!("{DIR}/changelog.sql"), "postgres:16");
    assert_eq!(tool.as_deref(), Some("liquibase"));
    assert_eq!(
        found,
        vec![
            // ana:2 has runInTransaction:false: its CONCURRENTLY is fine; ana:3 is wrapped.
            "12:14 pg-concurrently-in-transaction up",
            // The --rollback lines are the down side, at their place in the file.
            "13:12 pg-lock-timeout-missing down",
            "13:12 pg-drop-index-non-concurrent down",
            // ana:1's rollback runs after ana:1 committed: accounts may hold rows by then.
            "5:12 drop-table down",
        ]
    );
}

#[test]
fn dbmate_sections_split_and_transaction_false_applies_to_its_section_only() {
    let (found, tool) = run(
        &format!("{DIR}/20240101120000_users_email.sql"),
        "postgres:16",
    );
    assert_eq!(tool.as_deref(), Some("dbmate"));
    // migrate:up transaction:false → no finding; migrate:down is wrapped → refused.
    assert_eq!(found, vec!["5:12 pg-concurrently-in-transaction down"]);
    let (found, _) = run(&format!("{DIR}/mixed.sql"), "postgres:16");
    assert_eq!(
        found,
        vec![
            "2:1 pg-lock-timeout-missing up",
            "2:19 rename-column up",
            "5:19 rename-column down",
        ]
    );
}

#[test]
fn ignore_file_and_ignore_statement_comments() {
    let (found, _) = run(&format!("{DIR}/ignored.sql"), "postgres:16");
    // ignore-file drops every lock-timeout and rename-table finding; the statement comment
    // drops drop-column on its statement only.
    assert_eq!(found, vec!["7:21 drop-column up"]);
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rollsafe"));
    c.env("NO_COLOR", "1").env(
        "ROLLSAFE_DB",
        std::env::temp_dir().join("rollsafe-lint-formats-test.db"),
    );
    c
}

#[test]
fn config_file_found_above_the_path_or_given_sets_engine_rules_and_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("db/migrations");
    std::fs::create_dir_all(&nested).unwrap();
    let sql = nested.join("1_drop.sql");
    std::fs::write(
        &sql,
        "SET lock_timeout = '2s';\nALTER TABLE users DROP COLUMN legacy;\nTRUNCATE audit;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rollsafe-lint.toml"),
        "engine = \"postgres:16\"\ndisable = [\"drop-column\"]\nfail_on = \"never\"\n",
    )
    .unwrap();
    // No --engine: it comes from the file two directories up; fail_on never → exit 0.
    let out = bin()
        .args(["lint", "--format", "line"])
        .arg(&sql)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("[truncate]"), "{text}");
    assert!(
        !text.contains("[drop-column]"),
        "disabled in the config: {text}"
    );
    // The flag wins over the file.
    let out = bin()
        .args(["lint", "--format", "line", "--fail-on", "error"])
        .arg(&sql)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // --config points elsewhere; a bad key is an error that says where.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "engine = \"postgres:16\"\nfail_on = \"sometimes\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["lint", "--config"])
        .arg(&other)
        .arg(&sql)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other.toml") && err.contains("sometimes"),
        "{err}"
    );
    std::fs::write(&other, "engine = \"postgres:16\"\nrules = []\n").unwrap();
    let out = bin()
        .args(["lint", "--config"])
        .arg(&other)
        .arg(&sql)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("other.toml:2:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn human_output_has_excerpt_caret_lock_breaks_rollback_and_recipe_without_colour_on_a_pipe() {
    let out = bin()
        .args(["lint", "--engine", "postgres:16"])
        .arg(format!("{DIR}/mixed.sql"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b'), "no colour on a pipe");
    let block: Vec<&str> = text
        .split("\n\n")
        .find(|b| b.contains("mixed.sql:2:19: warning:"))
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        block[2],
        "2 | ALTER TABLE users RENAME COLUMN name TO full_name;"
    );
    // The caret stands under column 19.
    assert_eq!(block[3].find('^'), Some("2 | ".len() + 18));
    for field in [
        "= lock: ",
        "= breaks: ",
        "= rollback: lossless",
        "= instead: ",
        "= source: ",
    ] {
        assert!(
            block.iter().any(|l| l.contains(field)),
            "{field}: {block:?}"
        );
    }
}

#[test]
fn line_json_and_sarif_formats() {
    let path = format!("{DIR}/mixed.sql");
    let line = bin()
        .args(["lint", "--engine", "postgres:16", "--format", "line", &path])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&line.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].ends_with(
        "mixed.sql:2:19: warning: RENAME COLUMN users.name to full_name [rename-column]"
    ));
    // --json is --format json.
    let a = bin()
        .args(["lint", "--engine", "postgres:16", "--json", &path])
        .output()
        .unwrap();
    let b = bin()
        .args(["lint", "--engine", "postgres:16", "--format", "json", &path])
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);

    let sarif = bin()
        .args([
            "lint",
            "--engine",
            "postgres:16",
            "--format",
            "sarif",
            &path,
        ])
        .output()
        .unwrap();
    assert_eq!(sarif.status.code(), Some(1), "exit code follows --fail-on");
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(run["tool"]["driver"]["name"], "rollsafe");
    assert_eq!(rules.len(), Catalogue::bundled().rules.len());
    for r in rules {
        assert!(r["id"].is_string());
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
        assert!(r["helpUri"].as_str().unwrap().starts_with("https://"));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at its rule");
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(Path::new(loc["artifactLocation"]["uri"].as_str().unwrap()).ends_with("mixed.sql"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["region"]["startColumn"],
        19
    );
}

#[test]
fn alembic_sql_output_on_stdin_is_recognised() {
    let out = bin()
        .args(["lint", "--engine", "postgres:16", "--format", "human", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(
                b"BEGIN;\n\n-- Running upgrade 1975ea83b712 -> ae1027a6acf\n\nSET lock_timeout = '2s';\nALTER TABLE account ADD COLUMN last_seen timestamp NOT NULL;\n\nUPDATE alembic_version SET version_num='ae1027a6acf' WHERE alembic_version.version_num = '1975ea83b712';\n\nCOMMIT;\n",
            )?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("tool alembic (inferred from alembic --sql output"),
        "{text}"
    );
    assert!(
        text.contains("<stdin>:6:21: error: ADD COLUMN account.last_seen NOT NULL"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn gitlab_code_quality_format() {
    let path = format!("{DIR}/mixed.sql");
    let run = || {
        bin()
            .args([
                "lint",
                "--engine",
                "postgres:16",
                "--format",
                "gitlab",
                &path,
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(1), "exit code follows --fail-on");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let issues = v.as_array().unwrap();
    assert_eq!(issues.len(), 3);
    let rename = issues
        .iter()
        .find(|i| i["check_name"] == "rename-column")
        .unwrap();
    assert_eq!(rename["severity"], "major");
    assert_eq!(rename["location"]["path"], path.as_str());
    assert_eq!(rename["location"]["lines"]["begin"], 2);
    assert!(
        rename["description"]
            .as_str()
            .unwrap()
            .contains("RENAME COLUMN")
    );
    // Fingerprints: 64 hex digits, distinct, and the same on the next run.
    let prints: std::collections::BTreeSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), 3);
    assert!(prints.iter().all(|p| p.len() == 64));
    assert_eq!(run().stdout, out.stdout);
}
