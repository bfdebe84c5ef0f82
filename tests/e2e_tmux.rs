//! End-to-end tests: the real `rollsafe` binary in a real terminal (tmux),
//! driven with keys and checked on what the screen shows and on
//! `rollsafe history --json`.
//!
//! Each test has its own tmux server (`tmux -L <unique>`), its own temp dir
//! for `--db` and `--playbooks`, `NO_COLOR=1` and a fixed window size. The
//! screen is polled until the expected text shows up (never a fixed sleep).
//! tmux must be installed: without it these tests fail, they do not skip.
//!
//! Run: `cargo test --test e2e_tmux`.

mod support;

use std::time::{Duration, Instant};

use support::{
    KillOnDrop, Playbook, StepRow, Tmux, alive, boxed, children, comm, has_line_with, mark_at,
    pgrep, phase_headings, row_for, selected_row, signal, step_rows, title_matches,
    try_selected_row, wait_for_condition,
};

const PG: &str = "pg-rename-column";
/// The title on the border of the point-of-no-return dialog (the step's own
/// detail text also says "Point of no return").
const PNR_DIALOG: &str = " ⛔ Point of no return ";

/// Starts a tabletop drill of the bundled `pg-rename-column` and waits for
/// the runner with its first step running.
fn start_pg_drill(t: &mut Tmux, width: u16, height: u16) -> (Playbook, String) {
    t.start_rollsafe("drill", width, height, &["run", PG]);
    wait_for_pg_runner(t)
}

/// Waits for the runner of a fresh `pg-rename-column` drill, its first step running.
fn wait_for_pg_runner(t: &Tmux) -> (Playbook, String) {
    let playbook = t.playbook(PG);
    assert!(
        playbook.steps.len() >= 5,
        "{PG} should have several steps: {playbook:#?}"
    );
    let first = playbook.steps[0].title.clone();
    let screen = t.wait_until("the runner with the first step running", |s| {
        s.contains("TABLETOP")
            && s.contains("drill #1")
            && step_rows(s)
                .first()
                .is_some_and(|r| r.mark == '▶' && r.selected && title_matches(&r.title, &first))
    });
    (playbook, screen)
}

/// Waits until the steps list rows satisfy `check`.
fn wait_rows(t: &Tmux, what: &str, check: impl Fn(&[StepRow]) -> bool) -> String {
    t.wait_until(what, |s| check(&step_rows(s)))
}

/// Moves the selection (with j/k, one key at a time) to the step at `index`.
fn select_step(t: &Tmux, playbook: &Playbook, index: usize) -> String {
    let target = &playbook.steps[index].title;
    for _ in 0..=playbook.steps.len() {
        let screen = t.wait_until("a selected step", |s| try_selected_row(s).is_some());
        let current = selected_row(&screen);
        if title_matches(&current.title, target) {
            return screen;
        }
        let at = playbook
            .steps
            .iter()
            .position(|s| title_matches(&current.title, &s.title))
            .unwrap_or_else(|| panic!("the selected row {current:?} is no step of the playbook"));
        t.key(if at < index { "j" } else { "k" });
        t.wait_until("the selection to move", |s| {
            try_selected_row(s).is_some_and(|r| r.title != current.title)
        });
    }
    panic!("could not select step {target:?}:\n{}", t.screen());
}

/// Scrolls the detail pane down (J) until `text` shows in it.
fn scroll_detail_to(t: &Tmux, text: &str) -> String {
    for _ in 0..40 {
        let screen = t.screen();
        if screen.contains(text) {
            return screen;
        }
        let before = screen;
        t.key("J");
        // The pane redraws after the key; wait for any change (or a moment's
        // worth of polls when the pane had nothing more to show).
        let start = Instant::now();
        while t.screen() == before && start.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(support::POLL);
        }
    }
    panic!("{text:?} never showed in the detail pane:\n{}", t.screen());
}

fn as_i64(drill: &serde_json::Value, key: &str) -> i64 {
    drill[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not a number in {drill:#}"))
}

// ---------------------------------------------------------------------------

/// 1. Start a tabletop drill, pass two steps, add a note, leave to Home (the
///    drill is offered for resuming), quit; the log has it running with 2 passed.
#[test]
fn tabletop_drill_passes_steps_saves_a_note_and_stays_resumable() {
    let mut t = Tmux::new("tabletop");
    // In a shell that reports rollsafe's exit code.
    t.start_rollsafe_in_shell("drill", 100, 30, &["run", PG], "exec sleep 600");
    let (playbook, screen) = wait_for_pg_runner(&t);
    let total = playbook.steps.len();
    assert!(
        screen.contains(&format!("0/{total} steps")),
        "no progress shown:\n{screen}"
    );
    let rows = step_rows(&screen);
    assert!(
        rows[1..].iter().all(|r| r.mark == '☐'),
        "only the first step should be started:\n{screen}"
    );

    t.keys(&["Space", "Space"]);
    // Two ✔, the progress reads 2/N, and the third step runs, selected.
    t.wait_until("two steps passed and the third running", |s| {
        let r = step_rows(s);
        s.contains(&format!("2/{total} steps"))
            && mark_at(&r, 0) == Some('✔')
            && mark_at(&r, 1) == Some('✔')
            && r.get(2).is_some_and(|r| r.selected && r.mark == '▶')
    });

    t.key("n");
    t.wait_for("Note on this step");
    t.type_text("TODO: check lag");
    t.wait_for("› TODO: check lag");
    t.key("Enter");
    let screen = t.wait_for("note saved");
    assert!(
        !screen.contains("Note on this step"),
        "the note prompt should be closed:\n{screen}"
    );

    t.key("q");
    let screen = t.wait_for("Resume (1 unfinished)");
    assert!(
        has_line_with(&screen, &["#1", PG, &format!("2/{total} steps")]),
        "Home should offer drill #1 with 2/{total} steps:\n{screen}"
    );

    t.key("q");
    assert_eq!(
        t.wait_exit_code(),
        0,
        "rollsafe should exit 0 when quit from Home"
    );

    let drill = t.only_drill();
    assert_eq!(drill["id"], 1);
    assert_eq!(drill["playbook_id"], PG);
    assert_eq!(drill["mode"], "tabletop");
    assert_eq!(drill["status"], "running");
    assert_eq!(as_i64(&drill, "passed"), 2);
    assert_eq!(as_i64(&drill, "failed"), 0);
    assert_eq!(as_i64(&drill, "skipped"), 0);
    assert_eq!(as_i64(&drill, "steps_total"), total as i64);
    assert!(
        drill["ended_at"].is_null(),
        "a running drill has no end: {drill:#}"
    );
}

/// 2. kill -9 in the middle of a drill loses nothing: after a restart, Home
///    offers the drill and resuming shows the same outcomes, clocks and note.
#[test]
fn kill_9_mid_drill_then_resume_shows_everything() {
    let mut t = Tmux::new("kill9");
    let (playbook, _) = start_pg_drill(&mut t, 100, 30);
    let total = playbook.steps.len();
    // The pane runs rollsafe itself (env execs it): its pid is the pane's.
    let pid = t.pane_pid();
    wait_for_condition("the pane's process to be rollsafe", || {
        comm(pid).as_deref() == Some("rollsafe")
    });

    // Let the first step's clock move so its recorded time is not just 0:00.
    wait_rows(&t, "the first step's clock to reach 0:01", |r| {
        r.first()
            .and_then(|r| r.clock.as_deref())
            .is_some_and(|c| c != "0:00")
    });
    t.key("Space");
    wait_rows(&t, "step 1 passed", |r| {
        mark_at(r, 0) == Some('✔') && mark_at(r, 1) == Some('▶')
    });
    t.key("Space");
    wait_rows(&t, "step 2 passed", |r| {
        mark_at(r, 1) == Some('✔') && mark_at(r, 2) == Some('▶')
    });
    t.key("Space");
    wait_rows(&t, "step 3 passed", |r| {
        mark_at(r, 2) == Some('✔') && mark_at(r, 3) == Some('▶')
    });

    t.key("s");
    t.wait_for("Why skip this step?");
    t.type_text("no replica in staging");
    t.key("Enter");
    wait_rows(&t, "step 4 skipped", |r| {
        mark_at(r, 3) == Some('↷')
            && mark_at(r, 4) == Some('▶')
            && r.get(4).is_some_and(|r| r.selected)
    });

    t.key("n");
    t.wait_for("Note on this step");
    t.type_text("check trigger overhead");
    t.key("Enter");
    let before = t.wait_for("note saved");
    let rows_before = step_rows(&before);
    let marks: Vec<char> = rows_before[..5].iter().map(|r| r.mark).collect();
    assert_eq!(marks, ['✔', '✔', '✔', '↷', '▶'], "{before}");
    let first_clock = rows_before[0]
        .clock
        .clone()
        .expect("a passed step shows its clock");
    assert_ne!(
        first_clock, "0:00",
        "the first step ran for a second or more:\n{before}"
    );

    signal(pid, libc::SIGKILL);
    wait_for_condition("rollsafe to die from kill -9", || !alive(pid));

    t.start_rollsafe("again", 100, 30, &[]);
    let home = t.wait_until("Home offering the drill", |s| {
        s.contains("Resume (1 unfinished)") && s.contains("enter resumes it")
    });
    assert!(
        has_line_with(&home, &["▶ #1", PG, &format!("4/{total} steps")]),
        "Home should offer the unfinished drill #1 at 4/{total}:\n{home}"
    );
    let detail = boxed(&home, "drill #1")
        .expect("the drill's detail box on Home")
        .join(" ");
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        detail.contains("3 passed, 0 failed, 1 skipped"),
        "the drill's detail on Home:\n{home}"
    );

    t.key("Enter");
    let after = t.wait_until("the resumed drill", |s| {
        s.contains("TABLETOP") && s.contains("drill #1") && s.contains("resumed where it stopped")
    });
    let rows_after = step_rows(&after);
    for i in 0..4 {
        assert_eq!(
            (
                rows_after[i].mark,
                &rows_after[i].title,
                &rows_after[i].clock
            ),
            (
                rows_before[i].mark,
                &rows_before[i].title,
                &rows_before[i].clock
            ),
            "step {} changed across kill -9 and resume.\nbefore:\n{before}\nafter:\n{after}",
            i + 1
        );
    }
    assert_eq!(rows_after[0].clock.as_deref(), Some(first_clock.as_str()));
    assert!(
        after.contains(&format!("4/{total} steps · ✔3 ✘0 ↷1")),
        "progress after resume:\n{after}"
    );
    assert!(
        rows_after[4].selected && rows_after[4].mark == '▶',
        "the running step is selected again:\n{after}"
    );

    // The skipped step tells why; the noted step shows its note.
    select_step(&t, &playbook, 3);
    t.wait_for("outcome: skipped: no replica in staging");
    select_step(&t, &playbook, 4);
    scroll_detail_to(&t, "check trigger overhead");

    let drill = t.only_drill();
    assert_eq!(drill["status"], "running");
    assert_eq!(as_i64(&drill, "passed"), 3);
    assert_eq!(as_i64(&drill, "skipped"), 1);
    assert_eq!(as_i64(&drill, "failed"), 0);
}

/// 3. A point of no return needs its own yes: `n` leaves the step as it was.
#[test]
fn point_of_no_return_is_crossed_only_after_yes() {
    let mut t = Tmux::new("pnr");
    let (playbook, _) = start_pg_drill(&mut t, 100, 30);
    let pnr = playbook
        .steps
        .iter()
        .position(|s| s.point_of_no_return)
        .unwrap_or_else(|| panic!("{PG} has a point of no return: {playbook:#?}"));
    let last = playbook.steps.len() - 1;

    t.key("G");
    t.wait_until("the last step selected", |s| {
        try_selected_row(s).is_some_and(|r| title_matches(&r.title, &playbook.steps[last].title))
    });
    select_step(&t, &playbook, pnr);
    let screen = t.wait_for("POINT OF NO RETURN");
    assert!(
        phase_headings(&screen).iter().any(|h| h.starts_with('⛔')),
        "the phase holding the point of no return is flagged ⛔ in the list:\n{screen}"
    );
    assert_eq!(selected_row(&screen).mark, '☐');

    // An outcome goes only on the running step: start this one first.
    t.key("Enter");
    wait_rows(&t, "the point-of-no-return step running", |rows| {
        rows.iter()
            .any(|r| title_matches(&r.title, &playbook.steps[pnr].title) && r.mark == '▶')
    });
    t.key("Space");
    let screen = t.wait_until("the point-of-no-return dialog", |s| {
        boxed(s, PNR_DIALOG).is_some()
    });
    let dialog = boxed(&screen, PNR_DIALOG).expect("the dialog box");
    assert!(
        dialog.iter().any(|l| l.contains("is a point of no return")),
        "{screen}"
    );
    assert!(
        dialog
            .iter()
            .any(|l| l.contains("y cross it · n stay before it")),
        "{screen}"
    );

    t.key("n");
    let screen = t.wait_for("point of no return not crossed");
    assert!(
        boxed(&screen, PNR_DIALOG).is_none(),
        "the dialog should be closed:\n{screen}"
    );
    let row = selected_row(&screen);
    assert!(
        title_matches(&row.title, &playbook.steps[pnr].title) && row.mark == '▶',
        "still running, not passed:\n{screen}"
    );
    assert_eq!(as_i64(&t.only_drill(), "passed"), 0);

    t.key("Space");
    t.wait_until("the point-of-no-return dialog again", |s| {
        boxed(s, PNR_DIALOG).is_some()
    });
    t.key("y");
    let screen = wait_rows(&t, "the point of no return passed", |rows| {
        rows.iter()
            .any(|r| title_matches(&r.title, &playbook.steps[pnr].title) && r.mark == '✔')
    });
    assert!(boxed(&screen, PNR_DIALOG).is_none(), "{screen}");
    let drill = t.only_drill();
    assert_eq!(as_i64(&drill, "passed"), 1);
    assert_eq!(drill["status"], "running");
}

/// The ⛔ flag of a point-of-no-return step in the steps list.
#[test]
fn point_of_no_return_step_row_shows_its_flag() {
    let mut t = Tmux::new("pnrflag");
    let (playbook, screen) = start_pg_drill(&mut t, 100, 30);
    let pnr = playbook
        .steps
        .iter()
        .find(|s| s.point_of_no_return)
        .expect("a point of no return");
    let rows = step_rows(&screen);
    let row = row_for(&rows, &pnr.title, &screen);
    assert!(
        row.text.contains('⛔'),
        "the PNR step's row should end with ⛔: {:?}\n{screen}",
        row.text
    );
}

/// 4. Failing a step (reason left blank) offers the on_fail path; `s` stays.
///    At 80x24, the smallest common terminal.
#[test]
fn failing_a_step_offers_on_fail_and_s_stays_at_80x24() {
    let mut t = Tmux::new("fail");
    let (playbook, _) = start_pg_drill(&mut t, 80, 24);

    t.key("f");
    t.wait_for("Why did it fail?");
    t.key("Enter");
    let screen = t.wait_until("the Step failed dialog", |s| {
        boxed(s, " Step failed ").is_some()
    });
    let dialog = boxed(&screen, " Step failed ").expect("the Step failed dialog");
    assert!(dialog.iter().any(|l| l.contains("failed.")), "{screen}");
    assert!(dialog.iter().any(|l| l.contains("s stay here")), "{screen}");

    t.key("s");
    let screen = t.wait_for("staying on the failed step");
    assert!(
        boxed(&screen, " Step failed ").is_none(),
        "the dialog should be closed:\n{screen}"
    );
    let row = selected_row(&screen);
    assert!(
        title_matches(&row.title, &playbook.steps[0].title),
        "the failed step stays selected:\n{screen}"
    );
    assert_eq!(row.mark, '✘', "{screen}");
    assert!(screen.contains("outcome: failed"), "{screen}");

    let drill = t.only_drill();
    assert_eq!(as_i64(&drill, "failed"), 1);
    assert_eq!(as_i64(&drill, "passed"), 0);
    assert_eq!(drill["status"], "running");
}

/// 5. Finishing asks first, shows the summary, and Home lists the drill as recent.
#[test]
fn finishing_shows_summary_and_home_lists_the_drill() {
    let mut t = Tmux::new("finish");
    let (playbook, _) = start_pg_drill(&mut t, 100, 30);
    let total = playbook.steps.len();

    t.key("Space");
    wait_rows(&t, "step 1 passed", |r| mark_at(r, 0) == Some('✔'));
    t.key("F");
    let screen = t.wait_for("Finish drill");
    assert!(
        screen.contains(&format!("{} step(s) have no outcome yet", total - 1)),
        "{screen}"
    );
    t.key("y");
    let screen = t.wait_for("Steps against their timeboxes");
    assert!(screen.contains("Drill #1"), "{screen}");
    assert!(screen.contains("completed"), "{screen}");
    assert!(
        screen.contains(&format!("✔1 ✘0 ↷0 ⊘0 of {total}")),
        "{screen}"
    );

    t.key("q");
    let screen = t.wait_for("Recent drills");
    let recent = boxed(&screen, "Recent drills").expect("the Recent drills box");
    assert!(
        recent
            .iter()
            .any(|l| l.contains("#1") && l.contains(PG) && l.contains(&format!("1/{total}"))),
        "drill #1 should be listed as recent:\n{screen}"
    );
    assert!(
        !screen.contains("Resume ("),
        "a finished drill is not offered for resuming:\n{screen}"
    );

    let drill = t.only_drill();
    assert_eq!(drill["status"], "completed");
    assert_eq!(as_i64(&drill, "passed"), 1);
    assert!(
        !drill["ended_at"].is_null(),
        "a finished drill has an end: {drill:#}"
    );
}

/// 6. `?` lists the keys; any key closes the overlay and does nothing else.
#[test]
fn help_overlay_lists_keys_and_any_key_closes_it() {
    let mut t = Tmux::new("help");
    let (_, _) = start_pg_drill(&mut t, 100, 30);

    t.key("?");
    let screen = t.wait_for("┌ Keys");
    let help = boxed(&screen, " Keys ").expect("the Keys box");
    assert!(
        help.iter()
            .any(|l| l.contains("space") && l.contains("pass the selected step")),
        "{screen}"
    );
    // The closing hint sits in the box's bottom border.
    assert!(screen.contains("any key closes this help ┘"), "{screen}");

    // j scrolls help (it would move the selection); help stays up.
    t.key("j");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let screen = t.wait_for("┌ Keys");
    assert!(screen.contains("┌ Keys"), "{screen}");
    // Any other key closes help and does nothing else: space would pass.
    t.key("Space");
    let screen = t.wait_gone("┌ Keys");
    let rows = step_rows(&screen);
    assert!(
        rows[0].selected && rows[0].mark != '✔',
        "the key that closed help must not act:\n{screen}"
    );

    // Home has its own help.
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("?");
    let screen = t.wait_for("┌ Keys");
    assert!(
        screen.contains("resume the drill, or start a tabletop drill"),
        "{screen}"
    );
    t.key("x");
    t.wait_gone("┌ Keys");
}

/// 7. A terminal too small for the layout shows a notice, not a crash; the
///    runner comes back at a usable size.
#[test]
fn tiny_terminal_shows_notice_and_runner_comes_back() {
    let mut t = Tmux::new("tiny");
    let (_, _) = start_pg_drill(&mut t, 100, 30);
    let pid = t.pane_pid();

    t.resize(30, 8);
    let screen = t.wait_for("too small");
    assert!(!screen.contains("TABLETOP"), "{screen}");
    assert!(alive(pid) && !t.pane_dead());

    t.resize(100, 30);
    let screen = t.wait_until("the runner again", |s| {
        s.contains("TABLETOP") && s.contains("┌ Steps")
    });
    assert!(!screen.contains("too small"), "{screen}");
    assert_eq!(selected_row(&screen).mark, '▶');
    assert!(alive(pid), "rollsafe died after the resize");
    assert!(!t.pane_dead());

    // Still responsive.
    t.key("Space");
    wait_rows(&t, "step 1 passed after the resizes", |r| {
        mark_at(r, 0) == Some('✔')
    });
}

/// 8. SIGTERM ends rollsafe cleanly: exit 0, the normal screen back, and
///    the terminal out of raw mode.
#[test]
fn sigterm_restores_the_terminal() {
    let mut t = Tmux::new("sigterm");
    // After rollsafe: its exit code, then an interactive shell to inspect
    // the terminal with.
    t.start_rollsafe_in_shell("sigterm", 100, 30, &["run", PG], "exec sh");
    t.wait_until("the runner", |s| {
        s.contains("TABLETOP") && s.contains("drill #1")
    });
    assert_eq!(
        t.display("#{alternate_on}"),
        "1",
        "the runner uses the alternate screen"
    );

    let db = t.db.display().to_string();
    let pids = pgrep(&db, "rollsafe");
    assert_eq!(
        pids.len(),
        1,
        "exactly one rollsafe with this test's db: {pids:?}"
    );
    let pid = pids[0];
    signal(pid, libc::SIGTERM);

    assert_eq!(t.wait_exit_code(), 0, "rollsafe should exit 0 on SIGTERM");
    wait_for_condition("rollsafe to be gone", || !alive(pid));
    let screen = t.screen();
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "the alternate screen should be left:\n{screen}"
    );
    assert!(
        !screen.contains("┌ Steps"),
        "the runner should be gone from the normal screen:\n{screen}"
    );

    // The marker is computed by the shell, so the typed line does not match it.
    t.type_text("stty -a; echo STTY-$((6*7))-DONE");
    t.key("Enter");
    t.wait_for("STTY-42-DONE");
    let screen = t.screen_joined();
    // stty's output: from the line after the typed command to the marker.
    let typed = screen.rfind("stty -a;").expect("the typed stty line");
    let start = typed
        + screen[typed..]
            .find('\n')
            .expect("a line after the typed command");
    let end = screen.rfind("STTY-42-DONE").expect("the marker");
    assert!(start < end, "no stty output:\n{screen}");
    let output = &screen[start..end];
    let words: Vec<&str> = output
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    for flag in ["icanon", "echo"] {
        assert!(
            words.contains(&flag),
            "stty shows {flag}: the terminal is still raw?\n{screen}"
        );
        let negated = format!("-{flag}");
        assert!(
            !words.contains(&negated.as_str()),
            "stty shows {negated}: raw mode was not left\n{screen}"
        );
    }

    let drill = t.only_drill();
    assert_eq!(
        drill["status"], "running",
        "SIGTERM leaves the drill resumable"
    );
}

const LIVE_PLAYBOOK: &str = r#"
id = "e2e-live"
title = "End-to-end live playbook"
kind = "gameday"

[[phases]]
title = "Only phase"

[[phases.steps]]
id = "say-hello"
title = "Say hello and exit 3"
command = "echo hello-from-step; exit 3"

[phases.steps.verify]
command = "printf 0"
regex = "^0$"

[[phases.steps]]
id = "slow"
title = "Sleep for half a minute"
command = "sleep 30"
"#;

/// 9. A live drill of a user playbook: the exact command is confirmed, its
///    output and exit show; the verification's expectation holds; a long
///    command is cancelled with x.
#[test]
fn live_drill_runs_confirmed_commands_and_cancels() {
    let mut t = Tmux::new("live");
    std::fs::write(t.playbooks.join("e2e-live.toml"), LIVE_PLAYBOOK).expect("write the playbook");
    let playbook = t.playbook("e2e-live");
    assert_eq!(playbook.steps.len(), 2);
    t.start_rollsafe("live", 100, 30, &["run", "e2e-live", "--mode", "live"]);
    // A live drill opens on the dialog that shows its variables.
    t.wait_for("Start a live drill of “End-to-end live playbook”?");
    t.key("y");
    t.wait_until("the live runner", |s| {
        s.contains("LIVE")
            && s.contains("drill #1")
            && step_rows(s).first().is_some_and(|r| r.mark == '▶')
    });
    let pid = t.pane_pid();

    t.key("r");
    let screen = t.wait_for("Live: confirm the exact command");
    let dialog = boxed(&screen, "Live: confirm the exact command").expect("the confirm dialog");
    assert!(
        dialog
            .iter()
            .any(|l| l.trim_end() == "$ echo hello-from-step; exit 3"),
        "exact command:\n{screen}"
    );
    assert!(
        dialog.iter().any(|l| l.contains("Run this command now?")),
        "{screen}"
    );

    t.key("y");
    // The detail pane shows the command text (with both words) all along:
    // look in the output pane, titled with the exit code once it ended.
    let screen = t.wait_until("the output pane with the command's output and exit", |s| {
        boxed(s, "command: exit 3").is_some_and(|b| b.iter().any(|l| l.contains("hello-from-step")))
    });
    let output =
        boxed(&screen, "command: exit 3").expect("the output pane, titled with the exit code");
    assert!(
        output.iter().any(|l| l.contains("hello-from-step")),
        "{screen}"
    );
    assert!(screen.contains("command failed (exit 3)"), "{screen}");

    t.key("v");
    let screen = t.wait_for("Run this verification now?");
    let dialog = boxed(&screen, "Live: confirm the exact command").expect("the confirm dialog");
    assert!(
        dialog.iter().any(|l| l.trim_end() == "$ printf 0"),
        "{screen}"
    );
    t.key("y");
    let screen = t.wait_for("expectation held");
    assert!(screen.contains("verification passed"), "{screen}");

    t.key("j");
    t.wait_until("the sleep step selected", |s| {
        try_selected_row(s).is_some_and(|r| title_matches(&r.title, &playbook.steps[1].title))
    });
    t.key("r");
    let screen = t.wait_for("Live: confirm the exact command");
    let dialog = boxed(&screen, "Live: confirm the exact command").expect("the confirm dialog");
    assert!(
        dialog.iter().any(|l| l.trim_end() == "$ sleep 30"),
        "{screen}"
    );
    t.key("y");
    t.wait_for("command running");
    wait_for_condition("the command's shell to be started", || {
        !children(pid).is_empty()
    });

    let asked = Instant::now();
    t.key("x");
    let screen = t.wait_until_for("the command cancelled", Duration::from_secs(5), |s| {
        s.contains("command: cancelled") && s.contains("command cancelled")
    });
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "cancelling took {:?}:\n{screen}",
        asked.elapsed()
    );
    wait_for_condition("the cancelled command to be gone", || {
        children(pid).is_empty()
    });
    assert!(alive(pid));

    let drill = t.only_drill();
    assert_eq!(drill["mode"], "live");
    assert_eq!(drill["playbook_id"], "e2e-live");
    assert_eq!(drill["status"], "running");
}

/// Closing the terminal (the tmux server goes away: the tty hangs up and
/// rollsafe gets SIGHUP) must end rollsafe, as it ends on SIGTERM.
#[test]
fn closing_the_terminal_ends_rollsafe() {
    let mut t = Tmux::new("hangup");
    let (_, _) = start_pg_drill(&mut t, 100, 30);
    let pid = t.pane_pid();
    wait_for_condition("the pane's process to be rollsafe", || {
        comm(pid).as_deref() == Some("rollsafe")
    });
    let _cleanup = KillOnDrop(pid);
    t.kill_server();
    let start = Instant::now();
    while alive(pid) && start.elapsed() < support::TIMEOUT {
        std::thread::sleep(support::POLL);
    }
    assert!(
        !alive(pid),
        "rollsafe (pid {pid}) still runs {:?} after its terminal closed",
        start.elapsed()
    );
    // Everything was logged before the terminal went away.
    assert_eq!(t.only_drill()["status"], "running");
}

/// `/` on Home: typed text narrows the playbooks, enter keeps the filter and
/// starts the match, esc clears it.
#[test]
fn slash_filters_home_and_esc_clears_it() {
    let mut t = Tmux::new("filter");
    t.start_rollsafe("home", 100, 30, &[]);
    t.wait_for("blue-green-cutover");
    t.key("/");
    t.type_text("rename");
    let screen = t.wait_for("/rename");
    assert!(screen.contains(PG), "{screen}");
    assert!(!screen.contains("blue-green-cutover"), "{screen}");
    // While typing, letters are text: `q` must not quit.
    t.type_text("q");
    let screen = t.wait_for("nothing matches");
    assert!(!t.pane_dead(), "{screen}");
    t.key("BSpace");
    t.wait_gone("nothing matches");
    t.key("Enter");
    t.wait_for(" /rename ");
    t.key("Enter");
    wait_for_pg_runner(&t);
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("Escape");
    let screen = t.wait_for("blue-green-cutover");
    assert!(!screen.contains("/rename"), "{screen}");
    assert!(
        !t.pane_dead(),
        "esc clears the filter before it quits:\n{screen}"
    );
}

const LEFTOVER_PLAYBOOK: &str = r#"
id = "e2e-leftover"
title = "A command that outlives its shell"
kind = "gameday"

[[phases]]
title = "Only phase"

[[phases.steps]]
id = "nap"
title = "Sleep in a compound command"
command = "sleep 300; true"
"#;

/// Issue 11 item 10: `kill -9` of the TUI while a step's command runs. The
/// shell dies with rollsafe, but the `sleep` it forked runs on in the
/// command's process group. On resume the runner says it is still running,
/// with its command line, and `x` stops it (and logs that it did).
#[test]
fn a_command_left_running_by_kill_9_is_shown_on_resume_and_x_stops_it() {
    let mut t = Tmux::new("leftover");
    start_live_drill(&mut t, "e2e-leftover", LEFTOVER_PLAYBOOK, false);
    let pid = t.pane_pid();
    run_confirmed(&t);
    t.wait_for("command running");
    wait_for_condition("the command's shell to start", || !children(pid).is_empty());
    let pgid = children(pid)[0] as i32;
    wait_for_condition("the sleep to be forked", || {
        !pgrep("sleep 300", "sleep").is_empty()
    });

    signal(pid, libc::SIGKILL);
    wait_for_condition("rollsafe to die from kill -9", || !alive(pid));
    // The sleep survives in the command's group.
    assert!(
        matches!(
            rollsafe::exec::leftover(pgid),
            rollsafe::exec::Leftover::Alive { .. }
        ),
        "the forked sleep should outlive rollsafe"
    );

    t.start_rollsafe("again", 110, 30, &["resume"]);
    let screen = t.wait_for("STILL RUNNING");
    assert!(
        screen_has(&t, &format!("process group {pgid}")) && screen.contains("sleep"),
        "the resumed runner names the group and its command:\n{}",
        t.screen_joined()
    );
    t.key("x");
    t.wait_for("stopped process group");
    assert_eq!(
        rollsafe::exec::leftover(pgid),
        rollsafe::exec::Leftover::Gone,
        "x stopped every process of the group"
    );
    t.key("q");
    t.wait_until("Home", |s| s.contains("Resume (1 unfinished)"));
    let report = t.rollsafe_cli(&["report", "1"]);
    assert!(
        report.contains(&format!("stopped process group {pgid}")),
        "the stop is in the log:\n{report}"
    );
}

/// Whether the screen, with wrapped lines joined, contains `text`.
fn screen_has(t: &Tmux, text: &str) -> bool {
    t.screen_joined().contains(text)
}

/// Its own ids and sleep, so tests running beside it cannot be mistaken for it.
const SIGTERM_PLAYBOOK: &str = r#"
id = "e2e-sigterm"
title = "SIGTERM mid-command"
kind = "gameday"

[[phases]]
title = "Only phase"

[[phases.steps]]
id = "say-hello"
title = "Say hello and exit 3"
command = "echo hello-from-step; exit 3"

[[phases.steps]]
id = "slow"
title = "Sleep for a while"
command = "sleep 37"
"#;

/// Issue 11 item 9: SIGTERM while a step's command runs in the TUI. The
/// command is cancelled and waited for, its result and a note are logged
/// (as `rehearse` does), the terminal comes back, and on resume the output
/// pane shows that cancelled run, not an older result as if it were current.
#[test]
fn sigterm_during_a_command_logs_its_cancellation_and_resume_shows_it() {
    let mut t = Tmux::new("sigterm-cmd");
    start_live_drill(&mut t, "e2e-sigterm", SIGTERM_PLAYBOOK, true);
    // Step 1 runs to its end first, so an older result exists for the pane.
    run_confirmed(&t);
    t.wait_for("command failed (exit 3)");
    t.key("j");
    t.key("Enter");
    run_confirmed(&t);
    t.wait_for("command running");
    let pids = pgrep("sleep 37", "sleep");
    assert_eq!(pids.len(), 1, "one sleep runs");
    let rollsafe = pgrep("e2e-sigterm", "rollsafe");
    assert_eq!(rollsafe.len(), 1, "one rollsafe runs");
    signal(rollsafe[0], libc::SIGTERM);
    wait_for_condition("rollsafe to leave after SIGTERM", || !alive(rollsafe[0]));
    wait_for_condition("the command to be stopped with it", || !alive(pids[0]));

    let report = t.rollsafe_cli(&["report", "1", "--format", "json"]);
    let journal: serde_json::Value = serde_json::from_str(&report).expect("json report");
    let slow = &journal["steps"][1];
    assert_eq!(slow["id"], "slow");
    let runs = slow["output"].as_array().expect("the step's runs");
    assert_eq!(runs.len(), 1, "{slow:#}");
    assert_eq!(runs[0]["cancelled"], true, "{slow:#}");
    assert!(
        journal["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["text"]
                .as_str()
                .unwrap_or("")
                .contains("closed while the command ran")),
        "{journal:#}"
    );

    t.start_rollsafe("again", 110, 30, &["resume"]);
    let screen = t.wait_until("the resumed runner on the cancelled step", |s| {
        boxed(s, "command: cancelled").is_some()
    });
    assert!(
        !screen.contains("command: exit 3"),
        "the first step's result is not shown as this step's:\n{screen}"
    );
}

const STREAMS_PLAYBOOK: &str = r#"
id = "e2e-streams"
title = "Streams in sight"
[[phases]]
title = "One"
[[phases.steps]]
id = "talk"
title = "Talk on both streams"
command = "for i in 1 2 3 4 5 6; do echo out$i; echo warn$i >&2; done; sleep 41"
[[phases.steps]]
id = "after"
title = "Afterwards"
"#;

/// The running command stays in sight: its step is marked ⟳, stderr lines
/// are marked ▌, another step says where it runs and `.` jumps back; then
/// History's `/` narrows the drills, and the drill just left still reads
/// running to `history --json` (the 30 s interrupted rule is tested in
/// `app_update` with a fixed clock).
#[test]
fn a_running_command_is_in_sight_and_history_filters_by_typed_text() {
    let mut t = Tmux::new("streams");
    start_live_drill(&mut t, "e2e-streams", STREAMS_PLAYBOOK, true);
    run_confirmed(&t);
    let screen = t.wait_for("▌warn6");
    assert!(screen.contains(" out6"), "stdout unmarked:\n{screen}");
    assert!(screen.contains("following"), "{screen}");
    let rows = step_rows(&screen);
    assert!(rows[0].text.contains('⟳'), "its step is marked:\n{screen}");
    t.key("j");
    t.wait_for("a command is running on step 1.1 (. jumps to it)");
    t.key(".");
    t.wait_until("back on the running step", |s| step_rows(s)[0].selected);
    t.key("x");
    t.wait_for("cancelled");
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("h");
    t.wait_for("History ·");
    t.key("/");
    t.type_text("zzz-no-such");
    t.wait_for("History · 0 drills");
    t.keys(&["Escape"]);
    let screen = t.wait_for("History · 1 drill");
    assert!(
        screen.contains("e2e-streams") && screen.contains("running"),
        "{screen}"
    );
    t.key("q");
    t.wait_for("Resume (1 unfinished)");
    t.key("q");
    assert_eq!(t.wait_exit_code(), 0);
    // Just left: still "running" (heard from seconds ago), stored as running.
    let history = t.history();
    assert_eq!(history[0]["stored_status"], "running");
    assert_eq!(history[0]["status"], "running");
}

/// Writes `playbook` as `<id>.toml`, starts a live drill of it (in a shell
/// that then sleeps, so the pane outlives rollsafe when `in_shell`), says
/// yes to the start dialog and waits for the runner on its first step.
fn start_live_drill(t: &mut Tmux, id: &str, playbook: &str, in_shell: bool) {
    std::fs::write(t.playbooks.join(format!("{id}.toml")), playbook).expect("write the playbook");
    let args = ["run", id, "--mode", "live"];
    if in_shell {
        t.start_rollsafe_in_shell("live", 110, 30, &args, "exec sleep 600");
    } else {
        t.start_rollsafe("live", 110, 30, &args);
    }
    t.wait_for("Start a live drill of");
    t.key("y");
    t.wait_until("the live runner", |s| {
        s.contains("LIVE") && step_rows(s).first().is_some_and(|r| r.mark == '▶')
    });
}

/// `r`, then yes to the exact command.
fn run_confirmed(t: &Tmux) {
    t.key("r");
    t.wait_for("Live: confirm the exact command");
    t.key("y");
}
