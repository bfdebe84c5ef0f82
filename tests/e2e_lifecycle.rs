//! Issue 11 items 1-4 against the real binary in tmux: outcomes follow the
//! drill. Each test reproduces what a new user did and checks the screen and
//! the log (`history --json`, `report --format json`).
//!
//! Run: `cargo test --test e2e_lifecycle`.

mod support;

use std::time::{Duration, Instant};

use support::{Tmux, mark_at, selected_row, step_rows, title_matches};

/// Three plain steps; the first fails in a live drill and jumps to the
/// third, skipping a point of no return in between.
const PLAYBOOK: &str = r#"
id = "e2e-life"
title = "Lifecycle playbook"
kind = "gameday"

[[phases]]
title = "Only phase"

[[phases.steps]]
id = "check"
title = "Check that fails"
command = "echo check-failed; exit 4"
on_fail = "goto:repair"

[[phases.steps]]
id = "cutover"
title = "Cut over for good"
point_of_no_return = true

[[phases.steps]]
id = "repair"
title = "Repair the replica"

[[phases.steps]]
id = "wrap-up"
title = "Wrap up"
"#;

fn start(t: &mut Tmux, mode: &str) {
    std::fs::write(t.playbooks.join("e2e-life.toml"), PLAYBOOK).expect("write the playbook");
    t.start_rollsafe("life", 100, 30, &["run", "e2e-life", "--mode", mode]);
    if mode == "live" {
        t.wait_for("Start a live drill of “Lifecycle playbook”?");
        t.key("y");
    }
    t.wait_until("the runner with the first step running", |s| {
        s.contains("drill #1") && step_rows(s).first().is_some_and(|r| r.mark == '▶')
    });
}

fn marks(screen: &str) -> Vec<char> {
    step_rows(screen).iter().map(|r| r.mark).collect()
}

fn report(t: &Tmux) -> serde_json::Value {
    let text = t.rollsafe_cli(&["report", "1", "--format", "json"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("report is not JSON ({e}): {text}"))
}

/// Passed steps of the only drill, as the log has them.
fn passed_in_log(t: &Tmux) -> i64 {
    t.only_drill()["passed"].as_i64().expect("passed count")
}

/// Item 1: space on a step that is not running passes nothing (the screen
/// says why and how to override); on a passed step it logs no second pass;
/// `!` with a reason records it, marked as a deviation in the list and report.
#[test]
fn space_on_a_step_that_is_not_running_records_nothing_without_an_override() {
    let mut t = Tmux::new("notrunning");
    start(&mut t, "tabletop");
    t.key("j");
    t.key("j");
    t.wait_until("the third step selected", |s| {
        title_matches(&selected_row(s).title, "Repair the replica")
    });
    t.key("Space");
    let screen = t.wait_for("records it anyway");
    assert!(screen.contains("not running"), "{screen}");
    assert_eq!(marks(&screen), ['▶', '☐', '☐', '☐'], "{screen}");
    assert_eq!(passed_in_log(&t), 0);

    // Pass the running step, go back to it and press space again.
    t.keys(&["g"]);
    t.wait_until("the first step selected", |s| {
        title_matches(&selected_row(s).title, "Check that fails")
    });
    t.key("Space");
    t.wait_until("the first step passed", |s| {
        mark_at(&step_rows(s), 0) == Some('✔')
    });
    t.key("k");
    t.wait_until("the first step selected again", |s| {
        title_matches(&selected_row(s).title, "Check that fails")
    });
    t.key("Space");
    let screen = t.wait_for("already passed");
    assert_eq!(marks(&screen)[..2], ['✔', '▶'], "{screen}");
    assert_eq!(passed_in_log(&t), 1, "no second pass in the log");

    // The override: an empty reason is refused, a reason records it.
    t.key("f");
    t.key("!");
    t.wait_for("Override: fail");
    t.key("Enter");
    t.wait_for("a reason is needed");
    t.type_text("it had failed, passed by mistake");
    t.key("Enter");
    let screen = t.wait_until("the first step failed as a deviation", |s| {
        step_rows(s)
            .first()
            .is_some_and(|r| r.mark == '✘' && r.text.contains("✘!"))
    });
    assert!(!screen.contains("Override: fail"), "{screen}");
    let report = report(&t);
    let deviations = report["deviations"].to_string();
    assert!(
        deviations.contains("it had failed, passed by mistake"),
        "{report:#}"
    );
}

/// Item 2: keys behind the too-small notice do nothing; only the log can
/// tell, so it is watched for a moment after the keys.
#[test]
fn keys_behind_the_too_small_notice_record_nothing() {
    let mut t = Tmux::new("toosmall");
    start(&mut t, "tabletop");
    t.resize(30, 8);
    t.wait_for("too small");
    t.keys(&["Space", "f", "Enter", "s", "b", "!", "Space"]);
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let drill = t.only_drill();
        assert_eq!(drill["passed"], 0, "{drill:#}");
        assert_eq!(drill["failed"], 0, "{drill:#}");
        std::thread::sleep(support::POLL * 4);
    }
    t.resize(100, 30);
    let screen = t.wait_until("the runner again", |s| s.contains("┌ Steps"));
    assert_eq!(marks(&screen), ['▶', '☐', '☐', '☐'], "{screen}");
    assert!(
        !screen.contains("Why did it fail?") && !screen.contains("Override"),
        "no dialog opened behind the notice:\n{screen}"
    );
}

/// Item 3: after its live command failed, space does not pass the step;
/// the override does, and the summary shows it as a deviation.
#[test]
fn a_step_whose_live_command_failed_passes_only_with_an_override() {
    let mut t = Tmux::new("failedcmd");
    start(&mut t, "live");
    t.key("r");
    t.wait_for("Run this command now?");
    t.key("y");
    t.wait_for("command failed (exit 4)");
    t.key("Space");
    // (At 100 columns the status line cuts its "! records it anyway" hint.)
    let screen = t.wait_for("its command failed in this attempt");
    assert_eq!(marks(&screen)[0], '▶', "{screen}");
    assert_eq!(passed_in_log(&t), 0);

    t.key("!");
    t.wait_for("Override: pass");
    t.type_text("exit 4 is expected on staging");
    t.key("Enter");
    let screen = t.wait_until("the first step passed as a deviation", |s| {
        step_rows(s)
            .first()
            .is_some_and(|r| r.mark == '✔' && r.text.contains("✔!"))
    });
    assert_eq!(passed_in_log(&t), 1, "{screen}");
    let report = report(&t);
    assert!(
        report["deviations"]
            .to_string()
            .contains("exit 4 is expected on staging"),
        "{report:#}"
    );
}

/// Item 4: after an on_fail goto, the steps it jumped over (a point of no
/// return among them) are not started on their own.
#[test]
fn a_goto_skip_is_not_undone_by_auto_advance() {
    let mut t = Tmux::new("goto");
    start(&mut t, "tabletop");
    t.key("f");
    t.wait_for("Why did it fail?");
    t.key("Enter");
    t.wait_for("go to step");
    t.key("y");
    t.wait_until("the repair step running", |s| {
        marks(s) == ['✘', '☐', '▶', '☐']
    });
    t.key("Space");
    let screen = t.wait_until("repair passed, the next step started", |s| {
        mark_at(&step_rows(s), 2) == Some('✔')
    });
    assert_eq!(
        marks(&screen),
        ['✘', '☐', '✔', '▶'],
        "the jumped-over point of no return must not start:\n{screen}"
    );
    assert!(!screen.contains("Point of no return ┐"), "{screen}");
    let report = report(&t);
    let cutover = report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == "cutover"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(cutover["start"], serde_json::Value::Null, "{report:#}");
}
