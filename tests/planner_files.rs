//! `rollsafe plan --files DIR --next-version V` (issue 10 pattern 1): the files the named
//! tool would load, numbered after the project's history, driven through the real binary.
//! Python and Node check that the Alembic and Knex files parse.

use std::path::Path;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rollsafe")
}

fn plan_files(
    dir: &Path,
    tool: &str,
    engine: &str,
    change: &str,
    next: Option<&str>,
) -> (i32, String) {
    let db = dir.join(".rollsafe.db");
    let mut cmd = Command::new(bin());
    cmd.args([
        "plan", "--deploy", "rolling", "--engine", engine, "--tool", tool,
    ])
    .args(["--change", change, "--files"])
    .arg(dir)
    .env("ROLLSAFE_DB", &db)
    .env("NO_COLOR", "1");
    if let Some(v) = next {
        cmd.args(["--next-version", v]);
    }
    let out = cmd.output().expect("run rollsafe");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file under `dir` (hidden dirs skipped), relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A fresh directory for one test, deleted when the guard drops.
fn tmp(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("rollsafe-files-{name}-"))
        .tempdir()
        .unwrap()
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const INDEX: &str = "add index on orders.customer_id";
const RENAME: &str = "rename column orders.name to full_name";

#[test]
fn versions_follow_the_history_and_a_collision_writes_nothing() {
    let guard = tmp("collide");
    let d = guard.path().to_path_buf();
    let (code, err) = plan_files(&d, "golang-migrate", "postgres:15", RENAME, Some("0042"));
    assert_eq!(code, 0, "{err}");
    let first = listing(&d);
    assert!(!first.is_empty());
    assert!(
        first.iter().all(|f| f.starts_with("db/migrations/004")),
        "{first:?}"
    );
    // Every up file has its down file.
    for f in first.iter().filter(|f| f.ends_with(".up.sql")) {
        assert!(
            first.contains(&f.replace(".up.sql", ".down.sql")),
            "{f} without down"
        );
    }
    assert!(first.iter().any(|f| f.starts_with("db/migrations/0042_")));
    // The same numbers again collide: refused, and nothing new is written.
    let (code, err) = plan_files(&d, "golang-migrate", "postgres:15", RENAME, Some("0042"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--next-version"), "{err}");
    assert_eq!(listing(&d), first);
    // Numbered after them: written beside them.
    let next = format!("{:04}", first.len() / 2 + 42);
    let (code, err) = plan_files(&d, "golang-migrate", "postgres:15", RENAME, Some(&next));
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&d).len(), first.len() * 2);
    // A version that is not a number is a usage error.
    let (code, _) = plan_files(tmp("bad").path(), "goose", "postgres:15", INDEX, Some("v1"));
    assert_eq!(code, 2);
}

#[test]
fn concurrent_index_files_opt_out_of_the_transaction_in_each_tools_own_way() {
    for (tool, marker) in [
        ("goose", "-- +goose NO TRANSACTION"),
        ("dbmate", "-- migrate:up transaction:false"),
        ("knex", "exports.config = { transaction: false };"),
        ("rails", "  disable_ddl_transaction!"),
        ("alembic", "with op.get_context().autocommit_block():"),
    ] {
        let guard = tmp(tool);
        let d = guard.path().to_path_buf();
        let (code, err) = plan_files(&d, tool, "postgres:15", INDEX, None);
        assert_eq!(code, 0, "{tool}: {err}");
        let files = listing(&d);
        if tool == "alembic" {
            // downgrade() drops the index concurrently: it needs the autocommit block too.
            for f in &files {
                let t = read(&d, f);
                let down = &t[t.find("def downgrade():").unwrap()..];
                if down.contains("CONCURRENTLY") {
                    assert!(down.contains(marker), "{f}:\n{t}");
                }
            }
        }
        let with: Vec<&String> = files
            .iter()
            .filter(|f| read(&d, f).contains("CONCURRENTLY") && read(&d, f).contains(marker))
            .collect();
        assert!(
            !with.is_empty(),
            "{tool}: no CONCURRENTLY file with {marker:?} in {files:?}"
        );
        // Files without a non-transactional statement keep the tool's transaction.
        for f in &files {
            let t = read(&d, f);
            if !t.contains("CONCURRENTLY") {
                assert!(
                    !t.contains(marker),
                    "{tool}: {f} opts out without need:\n{t}"
                );
            }
        }
    }
    // Flyway: a .sql.conf beside the script.
    let guard = tmp("flyway");
    let d = guard.path().to_path_buf();
    let (code, err) = plan_files(&d, "flyway", "postgres:15", INDEX, None);
    assert_eq!(code, 0, "{err}");
    let files = listing(&d);
    let conf: Vec<&String> = files.iter().filter(|f| f.ends_with(".sql.conf")).collect();
    assert!(!conf.is_empty(), "{files:?}");
    for c in conf {
        assert_eq!(read(&d, c).trim(), "executeInTransaction=false");
        let script = read(&d, c.trim_end_matches(".conf"));
        assert!(script.contains("CONCURRENTLY"), "{script}");
    }
}

#[test]
fn alembic_revisions_chain_and_parse_as_python() {
    let guard = tmp("alembic-chain");
    let d = guard.path().to_path_buf();
    let (code, err) = plan_files(&d, "alembic", "postgres:15", RENAME, Some("0007"));
    assert_eq!(code, 0, "{err}");
    let files = listing(&d);
    assert!(files.len() >= 2, "{files:?}");
    let mut prev = "None".to_string();
    for f in &files {
        let t = read(&d, f);
        let rev = f.trim_start_matches("alembic/versions/")[..4].to_string();
        assert!(t.contains(&format!("revision = \"{rev}\"")), "{f}:\n{t}");
        assert!(
            t.contains(&format!("down_revision = {prev}\n")),
            "{f} after {prev}:\n{t}"
        );
        assert!(
            t.contains("def upgrade():") && t.contains("def downgrade():"),
            "{t}"
        );
        prev = format!("\"{rev}\"");
        // Python parses it (no alembic needed to compile).
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')",
            ])
            .arg(d.join(f))
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{f}: {}\n{t}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(files[0].starts_with("alembic/versions/0007_"), "{files:?}");
}

#[test]
fn knex_and_rails_files_have_the_tools_shape() {
    let guard = tmp("knex");
    let d = guard.path().to_path_buf();
    let (code, err) = plan_files(&d, "knex", "postgres:15", RENAME, None);
    assert_eq!(code, 0, "{err}");
    for f in listing(&d) {
        let t = read(&d, &f);
        assert!(t.contains("exports.up = async function (knex) {"), "{t}");
        assert!(t.contains("exports.down = async function (knex) {"), "{t}");
        let out = Command::new("node")
            .arg("--check")
            .arg(d.join(&f))
            .output()
            .expect("node");
        assert!(
            out.status.success(),
            "{f}: {}\n{t}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let guard = tmp("rails");
    let d = guard.path().to_path_buf();
    let (code, err) = plan_files(&d, "rails", "postgres:15", RENAME, Some("20261205120000"));
    assert_eq!(code, 0, "{err}");
    for f in listing(&d) {
        // Rails loads db/migrate/<version>_<name>.rb and expects class <Name>.
        let name = Path::new(&f)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let (version, snake) = name.split_once('_').unwrap();
        assert_eq!(version.len(), 14, "{f}");
        let class: String = snake
            .split('_')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        let t = read(&d, &f);
        assert!(
            t.starts_with(&format!("class {class} < ActiveRecord::Migration[")),
            "{f}:\n{t}"
        );
        assert!(
            t.contains("  def up\n") && t.contains("  def down\n"),
            "{t}"
        );
    }
}
