//! End-to-end: the plan wizard from Home to a started drill, and history
//! with reports after two drills, driven in tmux like a person would.

mod support;

use support::Tmux;

#[test]
fn home_to_wizard_to_a_started_drill_of_the_plan() {
    let mut t = Tmux::new("wizard");
    t.start_rollsafe_in_shell("plan", 100, 30, &[], "exec sleep 600");
    t.wait_for("Playbooks (");
    t.key("p");
    t.wait_for("Plan a migration");
    // Focus starts on the change (empty, with an example); then down to the
    // rows and the RTO, then the incident.
    t.type_text("rename column users.name to full_name");
    t.keys(&["Down", "Down", "Down"]);
    t.type_text("users=50000000");
    t.key("Down");
    t.type_text("15m");
    t.key("Down");
    t.type_text("ALTER waited on a lock and took the site down");
    t.wait_for("lock queue");
    t.key("Enter");
    let review = t.wait_for("review, then rehearse it");
    assert!(review.contains("not viable until rehearsed"), "{review}");
    assert!(review.contains("plan-rename-users-name"), "{review}");
    t.key("w");
    t.wait_for("saved plan-rename-users-name.toml");
    assert!(t.playbooks.join("plan-rename-users-name.toml").exists());
    assert!(
        t.playbooks
            .join("plan-rename-users-name-rollback.toml")
            .exists()
    );
    t.key("t");
    let runner = t.wait_for("TABLETOP");
    assert!(
        runner.contains("plan-rename-users-name · TABLETOP · drill #1"),
        "{runner}"
    );
    t.key("Space");
    t.wait_for("1/");
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("q");
    assert_eq!(t.wait_exit_code(), 0);

    // The saved plan is an ordinary playbook now: it validates and lists.
    let check = t.rollsafe_cli(&[
        "check",
        &t.playbooks
            .join("plan-rename-users-name.toml")
            .display()
            .to_string(),
    ]);
    assert!(check.contains("0 with problems"), "{check}");
    let history = t.history();
    assert_eq!(history[0]["playbook_id"], "plan-rename-users-name");
    assert_eq!(history[0]["passed"], 1);
}

#[test]
fn two_drills_then_their_history_and_report() {
    let mut t = Tmux::new("history");
    t.start_rollsafe_in_shell(
        "one",
        100,
        30,
        &["run", "pg-create-index-concurrently"],
        "exec sleep 600",
    );
    t.wait_for("TABLETOP");
    t.keys(&["Space", "Space"]);
    t.wait_for("2/");
    t.key("n");
    t.wait_for("Note on this step");
    t.type_text("TODO: raise lock_timeout");
    t.key("Enter");
    t.wait_for("note saved");
    t.key("F");
    t.wait_for("Finish drill");
    t.key("y");
    t.wait_for("Steps against their timeboxes");
    t.key("q");
    t.wait_for("Recent drills");
    // A second drill, aborted with a reason.
    t.keys(&["g", "Enter"]);
    t.wait_for("drill #2");
    t.key("a");
    t.wait_for("Why abort the drill?");
    t.type_text("replica lag over 30s");
    t.key("Enter");
    t.wait_for("aborted: replica lag over 30s");
    t.key("q");
    // History lists both, newest first; enter opens the summary, e exports.
    t.key("h");
    let screen = t.wait_for("History · 2 drills");
    let first = screen
        .lines()
        .position(|l| l.contains("#2"))
        .expect("drill 2 listed");
    let second = screen
        .lines()
        .position(|l| l.contains("#1"))
        .expect("drill 1 listed");
    assert!(first < second, "newest first:\n{screen}");
    assert!(
        screen.contains("aborted") && screen.contains("✔ completed"),
        "{screen}"
    );
    t.key("Enter");
    t.wait_for("aborted: replica lag over 30s");
    t.key("q");
    t.wait_for("History · 2 drills");
    t.keys(&["j", "e"]);
    t.wait_for("report written to rollsafe-drill-1.md");
    let exported =
        std::fs::read_to_string(t.dir().join("rollsafe-drill-1.md")).expect("exported report");
    assert!(exported.contains("TODO: raise lock_timeout"), "{exported}");
    t.key("q");
    t.wait_for("Recent drills");
    t.key("q");
    assert_eq!(t.wait_exit_code(), 0);

    let report = t.rollsafe_cli(&["report", "1"]);
    assert!(report.contains("# After-action report"), "{report}");
    assert!(
        // Open, with the id `rollsafe followup close` takes.
        report.contains("- [ ] #1 TODO: raise lock_timeout"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&t.rollsafe_cli(&["report", "2", "--format", "json"])).unwrap();
    assert_eq!(json["status"], "aborted");
    let history = t.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "aborted");
    assert_eq!(history[1]["status"], "completed");
    assert_eq!(history[1]["passed"], 2);
}
