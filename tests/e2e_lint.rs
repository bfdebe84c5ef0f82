//! End-to-end: `rollsafe lint FILE --tui` in tmux, a finding's details, a plan from the
//! findings, then a tabletop drill of that plan.

mod support;

use support::Tmux;

#[test]
fn lint_tui_to_plan_to_a_started_drill() {
    let mut t = Tmux::new("lint");
    let file = format!(
        "{}/tests/fixtures/plan_from/pg_rename_column.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    t.start_rollsafe_in_shell(
        "lint",
        110,
        30,
        &["lint", &file, "--engine", "postgres:16", "--tui"],
        "exec sleep 600",
    );
    let screen = t.wait_for("2 findings");
    assert!(screen.contains("pg-lock-timeout-missing"), "{screen}");
    t.key("j");
    let detail = t.wait_for("breaks: N (old code)");
    assert!(
        detail.contains("3 | ALTER TABLE users RENAME COLUMN"),
        "{detail}"
    );
    t.key("p");
    let review = t.wait_for("review, then rehearse it");
    assert!(review.contains("plan-pg-rename-column"), "{review}");
    t.key("t");
    let runner = t.wait_for("TABLETOP");
    assert!(
        runner.contains("plan-pg-rename-column · TABLETOP · drill #1"),
        "{runner}"
    );
    t.key("Space");
    t.wait_for("1/");
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("q");
    assert_eq!(t.wait_exit_code(), 0);
    let history = t.history();
    assert_eq!(history[0]["playbook_id"], "plan-pg-rename-column");
    assert_eq!(history[0]["passed"], 1);
}
