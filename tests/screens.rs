//! Snapshots of every screen, rendered into ratatui's TestBackend at a fixed clock.

mod fixture;

use fixture::{app, at, loaded};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;

use rollsafe::drill::{CommandPurpose, EventKind, Mode};
use rollsafe::probe::{BlockedInterval, LiveView, ProbeStats};
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Screen};
use rollsafe::tui::theme::Theme;
use rollsafe::tui::view;

fn draw(app: &App, width: u16, height: u16, now: i64) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| view::render(frame, app, at(now), Theme::PLAIN))
        .unwrap();
    terminal.backend().to_string()
}

fn runner_app(mode: Mode) -> App {
    let mut app = app();
    app.start(&loaded(), mode, at(0));
    app
}

#[test]
fn home() {
    let app = app();
    assert_snapshot!(draw(&app, 80, 24, 0));
}

#[test]
fn home_filtered_while_typing() {
    let mut app = app();
    app.handle(Action::Filter, at(0));
    for c in "zzz".chars() {
        app.handle(Action::Input(c), at(0));
    }
    assert_snapshot!(draw(&app, 80, 24, 0));
}

#[test]
fn home_with_a_drill_to_resume_and_a_recent_one() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Finish, at(60));
    app.handle(Action::Yes, at(61));
    app.handle(Action::Back, at(62));
    app.start(&loaded(), Mode::Live, at(100));
    app.handle(Action::Pass, at(130));
    app.handle(Action::Back, at(131));
    assert_snapshot!(draw(&app, 100, 30, 3_700));
}

#[test]
fn runner_tabletop_80x24() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Pass, at(41));
    // The second step has run past its 2m timebox.
    assert_snapshot!(draw(&app, 80, 24, 200));
}

#[test]
fn runner_wide_terminal_gets_more_detail_not_a_stretched_list() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Note, at(5));
    for c in "TODO: lock_timeout was 0 on replica".chars() {
        app.handle(Action::Input(c), at(5));
    }
    app.handle(Action::Submit, at(6));
    assert_snapshot!(draw(&app, 140, 36, 20));
}

#[test]
fn runner_paused_and_over_budget() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::TogglePause, at(700));
    assert_snapshot!(draw(&app, 80, 24, 900));
}

#[test]
fn point_of_no_return_dialog() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Pass, at(1));
    app.handle(Action::Pass, at(2));
    app.handle(Action::Pass, at(3));
    assert_snapshot!(draw(&app, 80, 24, 4));
}

#[test]
fn live_command_confirmation_shows_the_exact_command() {
    let mut app = runner_app(Mode::Live);
    app.handle(Action::RunCommand, at(1));
    assert_snapshot!(draw(&app, 80, 24, 2));
}

#[test]
fn failed_step_offers_its_on_fail_path() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Pass, at(1));
    app.handle(Action::Fail, at(2));
    for c in "lock timeout".chars() {
        app.handle(Action::Input(c), at(2));
    }
    app.handle(Action::Submit, at(3));
    assert_snapshot!(draw(&app, 80, 24, 4));
}

#[test]
fn skip_prompt() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Skip, at(1));
    for c in "staging has no replica".chars() {
        app.handle(Action::Input(c), at(1));
    }
    assert_snapshot!(draw(&app, 80, 24, 2));
}

#[test]
fn command_output_pane_after_a_verification() {
    let mut app = runner_app(Mode::Live);
    let Screen::Runner(runner) = &mut app.screen else {
        unreachable!()
    };
    runner
        .session
        .record(
            &mut app.store,
            at(9),
            EventKind::CommandRun {
                step: "set-timeouts".into(),
                purpose: CommandPurpose::Verify,
                command: "psql -XAtc 'SHOW lock_timeout'".into(),
                exit_code: Some(0),
                duration_ms: 83,
                output: "2s\n".into(),
                truncated: false,
                cancelled: false,
                passed: true,
            },
        )
        .unwrap();
    assert_snapshot!(draw(&app, 100, 30, 10));
}

#[test]
fn help_overlay() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Help, at(1));
    assert_snapshot!(draw(&app, 80, 30, 2));
}

/// The runner has more keys than 80x24 has rows: help scrolls to the last
/// one, says where it is, and any other key closes it.
#[test]
fn help_scrolls_to_its_last_key_on_a_small_terminal() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Help, at(1));
    let top = draw(&app, 80, 24, 2);
    assert!(top.contains("j/k scroll"), "{top}");
    assert!(
        !top.contains("ctrl-c"),
        "the last key is below the fold:\n{top}"
    );
    for _ in 0..60 {
        app.handle(Action::Down, at(1));
    }
    let bottom = draw(&app, 80, 24, 2);
    assert!(bottom.contains("ctrl-c"), "scrolled to the end:\n{bottom}");
    assert!(app.show_help, "scrolling keeps help open");
    app.handle(Action::Pass, at(1));
    assert!(!app.show_help, "another key closes it");
    assert!(
        rollsafe::drill::Session::resume(&app.store, 1)
            .unwrap()
            .drill
            .steps
            .iter()
            .all(|s| s.outcome.is_none()),
        "the closing key did nothing else"
    );
}

#[test]
fn summary_after_finishing() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Pass, at(50));
    app.handle(Action::Skip, at(51));
    for c in "column exists".chars() {
        app.handle(Action::Input(c), at(51));
    }
    app.handle(Action::Submit, at(52));
    app.handle(Action::Pass, at(60));
    app.handle(Action::Yes, at(61));
    app.handle(Action::Finish, at(300));
    app.handle(Action::Yes, at(300));
    assert!(matches!(app.screen, Screen::Summary(_)));
    assert_snapshot!(draw(&app, 80, 24, 400));
}

#[test]
fn live_start_dialog_shows_the_resolved_variables() {
    let mut app = app();
    app.overrides.insert(
        "DATABASE_URL".into(),
        "postgres://staging-db:5432/app".into(),
    );
    app.handle(Action::StartLive, at(0));
    assert_snapshot!(draw(&app, 80, 24, 0));
}

#[test]
fn too_small_terminal_says_so() {
    let app = runner_app(Mode::Tabletop);
    assert_snapshot!(draw(&app, 30, 8, 1));
}

#[test]
fn no_screen_panics_at_any_size_down_to_20x5() {
    let mut states: Vec<App> = vec![app(), runner_app(Mode::Live)];
    let mut with_dialog = runner_app(Mode::Live);
    with_dialog.handle(Action::RunCommand, at(1));
    states.push(with_dialog);
    let mut with_help = runner_app(Mode::Tabletop);
    with_help.handle(Action::Help, at(1));
    states.push(with_help);
    let mut summary = runner_app(Mode::Tabletop);
    summary.handle(Action::Finish, at(1));
    summary.handle(Action::Yes, at(1));
    states.push(summary);
    for app in &states {
        for width in (20..=130).step_by(7) {
            for height in (5..=45).step_by(4) {
                draw(app, width, height, 5);
            }
        }
    }
}

#[test]
fn history_list() {
    let mut app = app();
    app.start(&loaded(), Mode::Tabletop, at(0));
    app.handle(Action::Pass, at(70));
    app.handle(Action::Finish, at(80));
    app.handle(Action::Yes, at(80));
    app.handle(Action::Back, at(81));
    app.start(&loaded(), Mode::Live, at(100));
    app.handle(Action::Back, at(130));
    app.handle(Action::OpenHistory, at(200));
    assert_snapshot!(draw(&app, 100, 12, 200));
}

fn wizard_app() -> App {
    let mut app = app();
    app.handle(Action::OpenPlanner, at(0));
    assert!(matches!(app.screen, Screen::Wizard(_)), "{:?}", app.status);
    app
}

#[test]
fn plan_wizard_form_classifies_incidents_as_typed() {
    let mut app = wizard_app();
    for _ in 0..5 {
        app.handle(Action::Down, at(0));
    }
    for c in "ALTER waited on a lock and took the site down".chars() {
        app.handle(Action::Input(c), at(0));
    }
    assert_snapshot!(draw(&app, 100, 24, 0));
}

#[test]
fn plan_wizard_shows_examples_not_answers_and_keeps_answers_when_left() {
    let mut app = wizard_app();
    let form = draw(&app, 100, 24, 0);
    assert!(
        form.contains("e.g. rename column users.name to full_name"),
        "{form}"
    );
    // The example is not an answer: an empty change plans nothing.
    app.handle(Action::Submit, at(0));
    let Screen::Wizard(w) = &app.screen else {
        unreachable!()
    };
    assert!(w.plan.is_none(), "planned from a placeholder");
    assert!(w.error.is_some());
    for c in "drop column users.legacy".chars() {
        app.handle(Action::Input(c), at(0));
    }
    for _ in 0..3 {
        app.handle(Action::Down, at(0)); // Change 2, Change 3, Rows
    }
    for c in "users=1000".chars() {
        app.handle(Action::Input(c), at(0));
    }
    app.handle(Action::Back, at(1));
    assert!(matches!(app.screen, Screen::Home));
    app.handle(Action::OpenPlanner, at(2));
    let Screen::Wizard(w) = &app.screen else {
        panic!("{:?}", app.status)
    };
    assert_eq!(w.raw_intake().changes, vec!["drop column users.legacy"]);
    assert_eq!(w.raw_intake().rows, vec!["users=1000"]);
}

#[test]
fn plan_wizard_rejects_an_unknown_change_and_says_what_it_accepts() {
    let mut app = wizard_app();
    app.handle(Action::Input('\u{15}'), at(0));
    for c in "frobnicate users".chars() {
        app.handle(Action::Input(c), at(0));
    }
    app.handle(Action::Submit, at(0));
    let Screen::Wizard(w) = &app.screen else {
        unreachable!()
    };
    assert!(w.plan.is_none());
    let error = w.error.clone().unwrap();
    assert!(
        error.contains("rename column"),
        "lists accepted forms: {error}"
    );
}

#[test]
fn plan_wizard_review_then_a_drill_of_the_plan() {
    let mut app = wizard_app();
    for c in "rename column users.name to full_name".chars() {
        app.handle(Action::Input(c), at(0));
    }
    app.handle(Action::Submit, at(0));
    assert_snapshot!(draw(&app, 100, 30, 0));
    app.handle(Action::StartTabletop, at(1));
    let Screen::Runner(r) = &app.screen else {
        panic!("{:?}", app.status)
    };
    assert_eq!(r.session.playbook.id, "plan-rename-users-name");
    // The drill was logged with the plan's TOML as its snapshot: it resumes.
    let id = r.session.id;
    assert!(rollsafe::drill::Session::resume(&app.store, id).is_ok());
}

#[test]
fn playbook_stats_with_trend_and_recommendations() {
    let mut app = app();
    for (i, fail) in [false, false, true, false, false, true, false]
        .iter()
        .enumerate()
    {
        let t0 = i as i64 * 86_400;
        // Two tabletop drills, then live ones: only live drills time steps.
        let mode = if i < 2 { Mode::Tabletop } else { Mode::Live };
        app.start(&loaded(), mode, at(t0));
        app.handle(Action::Pass, at(t0 + 40 + i as i64 * 5));
        if *fail {
            app.handle(Action::Fail, at(t0 + 100));
            app.handle(Action::Submit, at(t0 + 100));
            app.handle(Action::No, at(t0 + 100));
        }
        let end = t0 + 150 + (i as i64 % 4) * 40;
        app.handle(Action::Finish, at(end));
        app.handle(Action::Yes, at(end));
        app.handle(Action::Back, at(end + 1));
    }
    app.handle(Action::OpenHistory, at(8 * 86_400));
    app.handle(Action::OpenStats, at(8 * 86_400));
    assert_snapshot!(draw(&app, 100, 30, 8 * 86_400));
}

fn probe_stats(p50_ms: u64, max_ms: u64, blocked: &[(u64, u64)]) -> ProbeStats {
    ProbeStats {
        window_ms: 60_000,
        count: 1_400,
        errors: 0,
        p50_us: p50_ms * 1000,
        p99_us: max_ms * 900,
        max_us: max_ms * 1000,
        blocked_after_ms: 250,
        blocked: blocked
            .iter()
            .map(|&(offset_ms, len_ms)| BlockedInterval { offset_ms, len_ms })
            .collect(),
    }
}

#[test]
fn runner_live_probe_shows_latency_and_a_blocked_statement() {
    let mut app = runner_app(Mode::Live);
    let Screen::Runner(runner) = &mut app.screen else {
        unreachable!()
    };
    // Fast writes, a first stall, fast again, then a statement still waiting.
    let ms = Duration::from_millis;
    let mut recent: Vec<Duration> = (0..30).map(|i| ms(1 + i % 3)).collect();
    recent.extend([ms(40), ms(600), ms(900), ms(12), ms(2)]);
    recent.extend((0..20).map(|i| ms(2 + i % 2)));
    recent.push(ms(2400));
    runner.probe_view = Some(LiveView {
        recent,
        current: probe_stats(2, 2400, &[(31_000, 1_500), (58_000, 2_400)]),
        waiting: Some(ms(2400)),
        blocked_after: ms(250),
        last_error: None,
        ended: None,
    });
    assert_snapshot!(draw(&app, 80, 24, 60));
}

#[test]
fn summary_shows_what_the_probe_saw_per_step() {
    let mut app = runner_app(Mode::Live);
    let Screen::Runner(runner) = &mut app.screen else {
        unreachable!()
    };
    for (step, stats) in [
        ("set-timeouts", probe_stats(1, 4, &[])),
        ("add-column", probe_stats(2, 3_100, &[(200, 3_100)])),
    ] {
        runner
            .session
            .record(
                &mut app.store,
                at(5),
                EventKind::ProbeStats {
                    step: step.into(),
                    stats,
                },
            )
            .unwrap();
    }
    app.handle(Action::Finish, at(300));
    app.handle(Action::Yes, at(300));
    assert!(matches!(app.screen, Screen::Summary(_)));
    assert_snapshot!(draw(&app, 100, 30, 400));
}

#[test]
fn live_start_dialog_says_what_the_probe_will_run() {
    let mut app = app();
    app.overrides.insert(
        "DATABASE_URL".into(),
        "postgres://staging-db:5432/app".into(),
    );
    app.overrides.insert("TABLE".into(), "orders".into());
    let loaded = rollsafe::playbook::load_file(std::path::Path::new(
        "tests/fixtures/probe-index-builds.toml",
    ))
    .expect("fixture loads");
    app.request_start(&loaded, Mode::Live, at(0));
    assert_snapshot!(draw(&app, 100, 24, 0));
}

#[test]
fn plan_wizard_asks_for_detail_when_an_incident_matches_nothing() {
    let mut app = wizard_app();
    for _ in 0..5 {
        app.handle(Action::Down, at(0));
    }
    for c in "the deploy went badly".chars() {
        app.handle(Action::Input(c), at(0));
    }
    assert_snapshot!(draw(&app, 100, 24, 0));
}

/// A Markdown page whose steps hold a shell command and console text (issue 13).
const CONSOLE_PAGE: &str = "# Move a project

1. Find the project
   ```ruby
   [ stage ] production> p = Project.find(42)
   => #<Project id:42>
   ```
2. Restart the service
   ```
   $ sudo systemctl restart app
   ```
";

fn console_page_app(mode: Mode) -> App {
    let mut app = app();
    let page = rollsafe::playbook::Loaded {
        playbook: rollsafe::playbook::parse("move-project.md", CONSOLE_PAGE).expect("page loads"),
        origin: rollsafe::playbook::Origin::File("move-project.md".into()),
        source: CONSOLE_PAGE.to_string(),
    };
    app.start(&page, mode, at(0));
    app
}

#[test]
fn runner_live_shows_where_console_text_goes_and_offers_r_only_for_shell() {
    let mut app = console_page_app(Mode::Live);
    let screen = draw(&app, 100, 24, 1);
    assert!(
        screen.contains("paste into the Rails console (not run by rollsafe)"),
        "{screen}"
    );
    assert!(!screen.contains("(r runs it)"), "{screen}");
    assert!(
        screen.contains("=> #<Project id:42>"),
        "expected output shown: {screen}"
    );
    assert_snapshot!(screen);
    // `r` on console text opens no confirmation: nothing would run.
    app.handle(Action::RunCommand, at(2));
    assert!(app.dialog.is_none());
    // The shell step offers `r`, and the command is shown without its prompt.
    app.handle(Action::Down, at(3));
    let screen = draw(&app, 100, 24, 4);
    assert!(screen.contains("command  (r runs it)"), "{screen}");
    // The runner's own `$ ` and not the page's prompt as well.
    assert!(screen.contains("│$ sudo systemctl restart app"), "{screen}");
    assert!(!screen.contains("$ $"), "{screen}");
    app.handle(Action::RunCommand, at(5));
    assert!(app.dialog.is_some());
}

/// A live command that writes to both streams, seen from its own step and
/// from another: ⟳ marks its step, stderr lines are marked, `.` jumps back,
/// `o` makes the pane large, `K` scrolls back from the tail and `J` follows.
#[test]
fn a_running_command_is_in_sight_from_every_step_with_stderr_marked() {
    const PB: &str = r#"
id = "stream-marks"
title = "Streams"
[[phases]]
title = "One"
[[phases.steps]]
id = "talk"
title = "Talk on both streams"
command = "for i in 1 2 3 4 5 6 7 8; do echo out$i; echo err$i >&2; sleep 0.02; done; sleep 30"
[[phases.steps]]
id = "after"
title = "Afterwards"
"#;
    let loaded = rollsafe::playbook::Loaded {
        playbook: rollsafe::playbook::parse("stream-marks.toml", PB).unwrap(),
        origin: rollsafe::playbook::Origin::File("stream-marks.toml".into()),
        source: PB.to_string(),
    };
    let mut app = app();
    app.start(&loaded, Mode::Live, at(0));
    app.handle(Action::Open, at(1));
    app.handle(Action::RunCommand, at(1));
    app.handle(Action::Yes, at(1));
    let runner = |app: &App| match &app.screen {
        Screen::Runner(r) => r.command.is_some(),
        _ => panic!("left the runner: {:?}", app.status),
    };
    assert!(runner(&app), "the command runs: {:?}", app.status);
    // Wait (bounded) until all eight stderr lines arrived.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while !draw(&app, 100, 30, 2).contains("err8") {
        assert!(
            std::time::Instant::now() < end,
            "{}",
            draw(&app, 100, 30, 2)
        );
        std::thread::sleep(Duration::from_millis(20));
        app.tick(at(2));
    }
    let screen = draw(&app, 100, 30, 2);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("Talk on both streams") && l.contains("⟳")),
        "its step is marked:\n{screen}"
    );
    assert!(screen.contains("▌err8"), "stderr marked:\n{screen}");
    assert!(screen.contains(" out8"), "stdout unmarked:\n{screen}");
    assert!(screen.contains("following"), "{screen}");

    app.handle(Action::ScrollOutputUp, at(3));
    let back = draw(&app, 100, 30, 3);
    assert!(back.contains("lines back · J follows again"), "{back}");
    app.handle(Action::ScrollOutputDown, at(3));
    assert!(draw(&app, 100, 30, 3).contains("following"));

    let small = draw(&app, 100, 30, 3);
    app.handle(Action::ToggleOutput, at(3));
    let large = draw(&app, 100, 30, 3);
    let shown = |s: &str| s.matches("err").count();
    assert!(
        shown(&large) > shown(&small),
        "o shows more output:\n{large}"
    );

    app.handle(Action::Down, at(4));
    let other = draw(&app, 100, 30, 4);
    assert!(
        other.contains("a command is running on step 1.1 (. jumps to it)"),
        "{other}"
    );
    app.handle(Action::JumpToRunning, at(4));
    assert!(
        draw(&app, 100, 30, 4).contains("▌err8"),
        "back on the running step"
    );

    app.handle(Action::CancelCommand, at(5));
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while runner(&app) {
        assert!(
            std::time::Instant::now() < end,
            "cancel did not end the command"
        );
        std::thread::sleep(Duration::from_millis(20));
        app.tick(at(5));
    }
}

#[test]
fn live_start_asks_for_a_missing_variable_and_masks_a_url_password() {
    let mut app = app();
    app.library.playbooks[0].playbook.variables[0].default = None;
    app.handle(Action::StartLive, at(0));
    for c in "postgres://app:hunter22@db/app".chars() {
        app.handle(Action::Input(c), at(0));
    }
    assert_snapshot!(draw(&app, 80, 24, 0));
}

/// A filter that hides every drill says so; it does not claim the log is empty.
#[test]
fn history_with_every_drill_filtered_out_says_the_filter_hides_them() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Back, at(1));
    app.handle(Action::OpenHistory, at(2));
    app.handle(Action::Filter, at(2));
    for c in "zzz".chars() {
        app.handle(Action::Input(c), at(2));
    }
    let screen = draw(&app, 100, 12, 2);
    assert!(screen.contains("No drill matches the filters"), "{screen}");
    assert!(!screen.contains("No drills yet"), "{screen}");
    app.handle(Action::Dismiss, at(3));
    assert!(!draw(&app, 100, 12, 3).contains("No drill"));
}

/// Handing the drive over: the runner says it follows and who drives, and
/// its footer offers only what a follower can do (note, take the drive).
#[test]
fn runner_following_after_handing_over() {
    let mut app = runner_app(Mode::Tabletop);
    app.handle(Action::Pass, at(41));
    app.handle(Action::HandOver, at(50));
    let screen = draw(&app, 80, 24, 60);
    assert!(screen.contains("FOLLOWING · nobody drives"), "{screen}");
    assert!(screen.contains("D take drive"), "{screen}");
    assert!(!screen.contains("space pass"), "{screen}");
    assert_snapshot!(screen);
}
