//! Every key's effect on the app state, without a terminal.

mod fixture;

use fixture::{app, at, loaded};
use rollsafe::drill::{Mode, Outcome};
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Dialog, HomeItem, Screen};
use rollsafe::tui::runner::RunnerState;

fn runner(app: &App) -> &RunnerState {
    match &app.screen {
        Screen::Runner(r) => r,
        _ => panic!("not on the runner"),
    }
}

fn started(mode: Mode) -> App {
    let mut app = app();
    app.start(&loaded(), mode, at(0));
    assert!(matches!(app.screen, Screen::Runner(_)), "{:?}", app.status);
    app
}

fn type_text(app: &mut App, text: &str, now: i64) {
    for c in text.chars() {
        app.handle(Action::Input(c), at(now));
    }
}

#[test]
fn home_lists_the_playbook_then_the_broken_file() {
    let mut app = app();
    assert_eq!(
        app.home_items(),
        vec![HomeItem::Playbook(0), HomeItem::Broken(0)]
    );
    app.handle(Action::Down, at(0));
    app.handle(Action::Open, at(0));
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("broken.toml:3:1"),
        "{status:?}"
    );
    app.handle(Action::Up, at(0));
    app.handle(Action::Open, at(0));
    assert_eq!(runner(&app).mode(), Mode::Tabletop);
}

#[test]
fn space_passes_and_moves_on_starting_the_next_clock() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Pass, at(42));
    let r = runner(&app);
    assert_eq!(r.session.drill.steps[0].outcome, Some(Outcome::Passed));
    assert_eq!(r.selected, 1);
    assert_eq!(r.session.drill.active, Some(1));
    assert_eq!(r.session.drill.step_elapsed(0, at(100)).as_secs(), 42);
    // Logged, not only in memory.
    let row = app.store.drill(r.session.id).unwrap();
    assert_eq!(row.passed, 1);
}

#[test]
fn skip_needs_a_reason_and_records_it() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Skip, at(1));
    app.handle(Action::Submit, at(2));
    assert!(
        matches!(&app.dialog, Some(Dialog::Prompt { error: Some(_), .. })),
        "empty reason refused"
    );
    type_text(&mut app, "no replica", 3);
    app.handle(Action::Submit, at(4));
    assert!(app.dialog.is_none());
    let r = runner(&app);
    assert_eq!(r.session.drill.steps[0].outcome, Some(Outcome::Skipped));
    assert_eq!(
        r.session.drill.steps[0].reason.as_deref(),
        Some("no replica")
    );
}

#[test]
fn a_failure_offers_the_on_fail_goto_and_follows_it() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Pass, at(1));
    app.handle(Action::Fail, at(2));
    type_text(&mut app, "lock timeout", 3);
    app.handle(Action::Submit, at(4));
    assert!(
        matches!(&app.dialog, Some(Dialog::OnFail { on_fail: rollsafe::playbook::OnFail::Goto(t), .. }) if t == "restore"),
        "{:?}",
        app.dialog
    );
    app.handle(Action::Yes, at(5));
    let r = runner(&app);
    assert_eq!(r.session.drill.steps[1].outcome, Some(Outcome::Failed));
    assert_eq!(r.selected, 3, "jumped to the restore step");
    assert_eq!(r.session.drill.active, Some(3));
}

#[test]
fn a_point_of_no_return_is_confirmed_before_it_is_crossed() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Pass, at(1));
    app.handle(Action::Pass, at(2));
    assert_eq!(runner(&app).selected, 2);
    app.handle(Action::Pass, at(3));
    assert!(matches!(app.dialog, Some(Dialog::CrossPnr { .. })));
    app.handle(Action::No, at(4));
    assert_eq!(
        runner(&app).session.drill.steps[2].outcome,
        None,
        "declining crosses nothing"
    );
    app.handle(Action::Pass, at(5));
    app.handle(Action::Yes, at(6));
    let r = runner(&app);
    assert_eq!(r.session.drill.steps[2].outcome, Some(Outcome::Passed));
    assert!(r.session.drill.steps[2].pnr_confirmed);
}

#[test]
fn notes_attach_to_the_selected_step() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Down, at(1));
    app.handle(Action::Note, at(1));
    type_text(&mut app, "TODO: add a retry", 2);
    app.handle(Action::Submit, at(3));
    let r = runner(&app);
    let notes: Vec<_> = r.session.drill.notes_for("add-column").collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text, "TODO: add a retry");
}

#[test]
fn pause_blocks_outcomes_until_resumed() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::TogglePause, at(10));
    app.handle(Action::Pass, at(20));
    assert_eq!(runner(&app).session.drill.steps[0].outcome, None);
    assert!(app.status.as_ref().unwrap().text.contains("paused"));
    app.handle(Action::TogglePause, at(100));
    app.handle(Action::Pass, at(105));
    let r = runner(&app);
    assert_eq!(r.session.drill.step_elapsed(0, at(105)).as_secs(), 15);
}

#[test]
fn tabletop_runs_nothing() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::RunCommand, at(1));
    assert!(app.dialog.is_none());
    assert!(app.status.as_ref().unwrap().text.contains("nothing runs"));
    assert!(runner(&app).command.is_none());
}

#[test]
fn live_mode_shows_the_exact_command_before_running_it() {
    let mut app = started(Mode::Live);
    app.handle(Action::RunCommand, at(1));
    match &app.dialog {
        Some(Dialog::RunCommand { command, .. }) => {
            assert_eq!(
                command,
                "psql \"postgres://localhost/app\" -c \"SET lock_timeout = '2s'\""
            )
        }
        other => panic!("{other:?}"),
    }
    app.handle(Action::No, at(2));
    assert!(runner(&app).command.is_none());
    assert_eq!(app.status.as_ref().unwrap().text, "nothing ran");
}

#[test]
fn finish_and_abort_end_on_the_summary() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Finish, at(5));
    assert_eq!(app.dialog, Some(Dialog::Finish { pending: 4 }));
    app.handle(Action::Yes, at(6));
    assert!(matches!(app.screen, Screen::Summary(_)));
    app.handle(Action::Back, at(7));
    assert!(matches!(app.screen, Screen::Home));
    assert_eq!(app.home.recent.len(), 1);
    assert_eq!(app.home.recent[0].status, "completed");

    let mut app = started(Mode::Tabletop);
    app.handle(Action::Abort, at(1));
    type_text(&mut app, "replica lag", 2);
    app.handle(Action::Submit, at(3));
    assert!(matches!(app.screen, Screen::Summary(_)));
}

#[test]
fn leaving_keeps_the_drill_resumable_and_resume_restores_it() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Pass, at(30));
    app.handle(Action::Back, at(31));
    assert!(matches!(app.screen, Screen::Home));
    assert_eq!(app.home_items()[0], HomeItem::Resume(0));
    app.handle(Action::Open, at(40));
    let r = runner(&app);
    assert_eq!(r.session.drill.steps[0].outcome, Some(Outcome::Passed));
    assert_eq!(r.selected, 1);
    assert_eq!(r.session.drill.step_elapsed(0, at(999)).as_secs(), 30);
}

#[test]
fn help_opens_and_any_key_closes_it() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Help, at(1));
    assert!(app.show_help);
    app.handle(Action::Pass, at(2));
    assert!(!app.show_help);
    assert_eq!(
        runner(&app).session.drill.steps[0].outcome,
        None,
        "the key only closed help"
    );
}

#[test]
fn a_live_drill_with_a_missing_variable_does_not_start() {
    let mut app = app();
    let mut loaded = loaded();
    loaded.playbook.variables[0].default = None;
    app.start(&loaded, Mode::Live, at(0));
    assert!(matches!(app.screen, Screen::Home));
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("DATABASE_URL"),
        "{status:?}"
    );
    // Tabletop shows the variable as written instead.
    app.start(&loaded, Mode::Tabletop, at(0));
    assert!(
        runner(&app)
            .command_text(rollsafe::drill::CommandPurpose::Action)
            .unwrap()
            .unwrap()
            .contains("${DATABASE_URL}")
    );
}

#[test]
fn a_live_drill_from_home_starts_only_after_its_variables_are_shown() {
    let mut app = app();
    app.handle(Action::StartLive, at(0));
    let Some(Dialog::StartLive {
        title, variables, ..
    }) = app.dialog.clone()
    else {
        panic!("expected the live dialog, got {:?}", app.dialog)
    };
    assert_eq!(title, "Fixture: rename a column");
    assert_eq!(
        variables,
        vec![(
            "DATABASE_URL".to_string(),
            "postgres://localhost/app".to_string(),
            "default".to_string()
        )]
    );
    assert!(matches!(app.screen, Screen::Home), "nothing started yet");
    assert!(
        app.store.list_drills(10, 0).unwrap().is_empty(),
        "nothing logged"
    );

    app.handle(Action::No, at(1));
    assert!(app.dialog.is_none());
    assert!(matches!(app.screen, Screen::Home));
    assert!(app.store.list_drills(10, 0).unwrap().is_empty());

    app.handle(Action::StartLive, at(2));
    // Enter is not `y`: the dialog stays and nothing is logged.
    app.handle(Action::Submit, at(2));
    assert!(matches!(app.dialog, Some(Dialog::StartLive { .. })));
    assert!(matches!(app.screen, Screen::Home));
    assert!(app.store.list_drills(10, 0).unwrap().is_empty());
    app.handle(Action::Yes, at(3));
    assert_eq!(runner(&app).mode(), Mode::Live);
    assert_eq!(
        runner(&app).vars.get("DATABASE_URL"),
        Some("postgres://localhost/app")
    );
}

#[test]
fn a_live_start_from_home_with_a_missing_variable_asks_for_it_and_logs_nothing() {
    let mut app = app();
    app.library.playbooks[0].playbook.variables[0].default = None;
    app.handle(Action::StartLive, at(0));
    match &app.dialog {
        Some(Dialog::Prompt { kind, error, .. }) => {
            let rollsafe::tui::app::PromptKind::SetVariable { name, why } = kind else {
                panic!("{kind:?}")
            };
            assert_eq!(name, "DATABASE_URL");
            assert!(why.contains("used by steps"), "{why}");
            assert!(error.is_none());
        }
        other => panic!("no question for the variable: {other:?}"),
    }
    assert!(app.store.list_drills(10, 0).unwrap().is_empty());
}

#[test]
fn time_away_from_rollsafe_counts_on_no_clock() {
    let mut app = started(Mode::Tabletop);
    app.tick(at(10));
    app.handle(Action::Back, at(20));
    // An hour later the operator comes back.
    app.handle(Action::Open, at(3_620));
    let r = runner(&app);
    assert_eq!(r.session.drill.active, Some(0));
    assert_eq!(r.session.drill.step_elapsed(0, at(3_630)).as_secs(), 30);
    assert_eq!(r.session.drill.elapsed(at(3_630)).as_secs(), 30);
}

#[test]
fn after_a_crash_the_clock_resumes_from_the_last_heartbeat() {
    let mut app = started(Mode::Tabletop);
    app.tick(at(3));
    app.tick(at(9)); // heartbeat due (every 5 s)
    let id = runner(&app).session.id;
    // The process dies here: no event, no leave. Reopen a minute later.
    let mut store = std::mem::replace(
        &mut app.store,
        rollsafe::store::Store::open_in_memory().unwrap(),
    );
    let session = rollsafe::drill::Session::reopen(&mut store, id, at(70)).unwrap();
    assert_eq!(session.drill.step_elapsed(0, at(70)).as_secs(), 9);
    assert_eq!(session.drill.elapsed(at(80)).as_secs(), 19);
}

#[test]
fn ctrl_c_leaves_and_the_drill_stays_resumable() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Interrupt, at(5));
    assert!(app.should_quit);
    let id = runner(&app).session.id;
    assert_eq!(app.store.unfinished().unwrap()[0].id, id);
}

#[test]
fn history_pages_through_drills_and_opens_a_summary() {
    let mut app = app();
    for i in 0..250 {
        app.start(&loaded(), Mode::Tabletop, at(i * 10));
        app.handle(Action::Back, at(i * 10 + 1));
    }
    app.handle(Action::OpenHistory, at(5_000));
    let Screen::History(h) = &app.screen else {
        panic!("not history")
    };
    assert_eq!(h.total, 250);
    assert_eq!(h.selected_row().unwrap().id, 250, "newest first");
    app.handle(Action::Bottom, at(5_000));
    let Screen::History(h) = &app.screen else {
        panic!()
    };
    assert_eq!(h.selected, 249);
    assert_eq!(
        h.selected_row().unwrap().id,
        1,
        "the page holding the oldest was loaded"
    );
    app.handle(Action::Open, at(5_000));
    let Screen::Summary(s) = &app.screen else {
        panic!("not summary")
    };
    assert_eq!(s.session.id, 1);
    app.handle(Action::Back, at(5_000));
    assert!(
        matches!(app.screen, Screen::History(_)),
        "back returns to the list"
    );
    app.handle(Action::Back, at(5_000));
    assert!(matches!(app.screen, Screen::Home));
}

#[test]
fn home_knows_readiness_after_a_passed_live_drill_not_a_tabletop_one() {
    // A 60-second tabletop click-through proves people know the steps, not
    // that they work: readiness stays 0 and says why.
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Finish, at(60));
    app.handle(Action::Yes, at(61));
    app.handle(Action::Back, at(62));
    let insight = &app.home.insights["fixture-drill"];
    assert_eq!(insight.stats.drills, 1);
    assert_eq!(insight.readiness, 0);
    assert!(
        insight
            .recommendations
            .iter()
            .any(|r| r.why.contains("no live drill of it has succeeded")),
        "{:?}",
        insight.recommendations
    );
    assert_eq!(
        insight.stats.median_total, None,
        "a tabletop drill times nothing"
    );
    app.start(&loaded(), Mode::Live, at(100));
    app.handle(Action::Finish, at(160));
    app.handle(Action::Yes, at(161));
    app.handle(Action::Back, at(162));
    let insight = &app.home.insights["fixture-drill"];
    assert_eq!(insight.readiness, 100);
    assert_eq!(
        insight.stats.median_total,
        Some(std::time::Duration::from_secs(61)),
        "started at 100, finished at 161"
    );
}

#[test]
fn the_next_drill_opens_with_the_previous_drills_follow_ups() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Note, at(5));
    type_text(&mut app, "TODO: raise lock_timeout", 6);
    app.handle(Action::Submit, at(7));
    app.handle(Action::Pass, at(9));
    app.handle(Action::Finish, at(10));
    app.handle(Action::Yes, at(10));
    app.handle(Action::Back, at(11));
    app.start(&loaded(), Mode::Live, at(20));
    let r = runner(&app);
    let carried: Vec<_> = r
        .follow_ups
        .iter()
        .map(|f| (f.drill_id, f.step_id.as_deref(), f.text.as_str()))
        .collect();
    assert_eq!(
        carried,
        vec![(1, Some("set-timeouts"), "TODO: raise lock_timeout")]
    );
    let status = app.status.clone().unwrap();
    assert_eq!(
        status.text,
        "open follow-up from drill #1: TODO: raise lock_timeout"
    );
    // Drill #1 was a tabletop drill: its 9 s time no step (only live drills do).
    assert_eq!(r.history["set-timeouts"].median, None);
    assert_eq!(r.history["set-timeouts"].passed, 1);
}

#[test]
fn history_filters_by_status_and_mode_and_opens_stats() {
    let mut app = app();
    // Drill 1 completed, drill 2 aborted, drill 3 left running (live).
    app.start(&loaded(), Mode::Tabletop, at(0));
    app.handle(Action::Finish, at(10));
    app.handle(Action::Yes, at(10));
    app.handle(Action::Back, at(11));
    app.start(&loaded(), Mode::Tabletop, at(20));
    app.handle(Action::Abort, at(30));
    type_text(&mut app, "lag", 30);
    app.handle(Action::Submit, at(31));
    app.handle(Action::Back, at(32));
    app.start(&loaded(), Mode::Live, at(40));
    app.handle(Action::Back, at(41));
    app.handle(Action::OpenHistory, at(50));
    use rollsafe::tui::action::FilterField;
    let total = |app: &App| match &app.screen {
        Screen::History(h) => (h.total, h.rows.iter().map(|r| r.id).collect::<Vec<_>>()),
        _ => panic!("not history"),
    };
    assert_eq!(total(&app), (3, vec![3, 2, 1]));
    app.handle(Action::CycleFilter(FilterField::Status), at(50)); // running
    assert_eq!(total(&app), (1, vec![3]));
    app.handle(Action::CycleFilter(FilterField::Status), at(50)); // interrupted
    assert_eq!(total(&app), (0, vec![]), "drill 3 was seen 9 s ago");
    app.handle(Action::CycleFilter(FilterField::Status), at(50)); // completed
    assert_eq!(total(&app), (1, vec![1]));
    app.handle(Action::CycleFilter(FilterField::Status), at(50)); // completed with failures
    assert_eq!(total(&app), (0, vec![]));
    app.handle(Action::CycleFilter(FilterField::Status), at(50)); // aborted
    assert_eq!(total(&app), (1, vec![2]));
    app.handle(Action::ClearFilters, at(50));
    app.handle(Action::CycleFilter(FilterField::Mode), at(50)); // tabletop
    assert_eq!(total(&app), (2, vec![2, 1]));
    app.handle(Action::OpenStats, at(50));
    let Screen::Stats(s) = &app.screen else {
        panic!("not stats")
    };
    assert_eq!(s.insight.stats.drills, 3);
    assert_eq!(s.insight.stats.succeeded, 1);
    app.handle(Action::Back, at(50));
    assert_eq!(total(&app), (2, vec![2, 1]), "back keeps the filter");
}

#[test]
fn steps_a_goto_jumped_over_are_never_started_afterwards() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Pass, at(1));
    app.handle(Action::Fail, at(2));
    type_text(&mut app, "lock timeout", 3);
    app.handle(Action::Submit, at(4));
    app.handle(Action::Yes, at(5));
    assert_eq!(runner(&app).session.drill.active, Some(3));
    // Passing the goto's target must not wrap back to the step it jumped over.
    app.handle(Action::Pass, at(6));
    let drill = &runner(&app).session.drill;
    assert_eq!(drill.steps[3].outcome, Some(Outcome::Passed));
    assert_eq!(drill.steps[2].first_started, None, "{:?}", drill.steps[2]);
    assert_eq!(drill.active, None);
}

#[test]
fn keys_behind_the_too_small_notice_do_nothing_but_leave() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use rollsafe::tui::action_for_key;
    let mut app = started(Mode::Tabletop);
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    app.area = Some((30, 8));
    for c in [' ', 'f', 's', 'b', 'n', 'a', 'F', 'r', 'j', 'p'] {
        assert_eq!(action_for_key(&app, key(c)), None, "key {c:?}");
    }
    assert!(action_for_key(&app, key('q')).is_some());
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(action_for_key(&app, ctrl_c), Some(Action::Interrupt));
    // Large enough again: space acts.
    app.area = Some((80, 24));
    assert_eq!(action_for_key(&app, key(' ')), Some(Action::Pass));
}

#[test]
fn only_the_running_step_takes_an_outcome_and_none_is_overwritten() {
    let mut app = started(Mode::Tabletop);
    let id = runner(&app).session.id;
    let events_before = app.store.events(id).unwrap().len();
    // Cursor on step 2 while step 0 runs: space passes nothing.
    app.handle(Action::Down, at(1));
    app.handle(Action::Down, at(1));
    app.handle(Action::Pass, at(2));
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("not running"),
        "{status:?}"
    );
    assert_eq!(runner(&app).session.drill.done(), 0);
    assert_eq!(runner(&app).session.drill.active, Some(0));
    // Pass the running step, then try to pass it again.
    app.handle(Action::Top, at(3));
    app.handle(Action::Pass, at(4));
    app.handle(Action::Up, at(5));
    app.handle(Action::Fail, at(6));
    assert!(
        app.dialog.is_none(),
        "no reason prompt for a refused outcome"
    );
    let status = app.status.clone().unwrap();
    assert!(status.text.contains("already passed"), "{status:?}");
    let drill = &runner(&app).session.drill;
    assert_eq!(drill.steps[0].outcome, Some(Outcome::Passed));
    // The log holds exactly the one pass and the next step's start.
    let events = app.store.events(id).unwrap();
    let names: Vec<_> = events[events_before..]
        .iter()
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(names, ["step_passed", "step_started"]);
}

#[test]
fn slash_on_home_narrows_the_playbooks_and_esc_clears_it() {
    let mut app = app();
    app.handle(Action::Filter, at(0));
    assert!(app.filter_editing());
    type_text(&mut app, "broken", 0);
    assert_eq!(app.home_items(), vec![HomeItem::Broken(0)]);
    // Enter keeps the filter; the list's keys work again.
    app.handle(Action::Submit, at(0));
    assert!(!app.filter_editing());
    assert_eq!(app.selected_home_item(), Some(HomeItem::Broken(0)));
    // Esc (Quit on Home) first clears an active filter, then quits.
    app.handle(Action::Quit, at(0));
    assert!(!app.should_quit);
    assert_eq!(
        app.home_items(),
        vec![HomeItem::Playbook(0), HomeItem::Broken(0)]
    );
    app.handle(Action::Filter, at(0));
    type_text(&mut app, "zzz", 0);
    assert!(app.home_items().is_empty());
    app.handle(Action::Dismiss, at(0));
    assert_eq!(app.home_items().len(), 2);
    app.handle(Action::Quit, at(0));
    assert!(app.should_quit);
}

#[test]
fn a_refused_outcome_is_recorded_only_by_an_override_with_a_reason() {
    let mut app = started(Mode::Tabletop);
    let id = runner(&app).session.id;
    let events_before = app.store.events(id).unwrap().len();
    // `!` with nothing refused does nothing.
    app.handle(Action::Override, at(1));
    assert!(app.dialog.is_none());
    // Step 1 is not running: space is refused, `!` asks why.
    app.handle(Action::Down, at(2));
    app.handle(Action::Pass, at(3));
    let status = app.status.clone().unwrap();
    assert!(status.error && status.text.contains("! records it anyway"));
    app.handle(Action::Override, at(4));
    assert!(matches!(app.dialog, Some(Dialog::Prompt { .. })));
    app.handle(Action::Submit, at(5));
    assert!(
        matches!(&app.dialog, Some(Dialog::Prompt { error: Some(_), .. })),
        "an empty reason is refused"
    );
    assert_eq!(runner(&app).session.drill.done(), 0, "nothing recorded yet");
    type_text(&mut app, "done by hand before the drill", 6);
    app.handle(Action::Submit, at(7));
    assert!(app.dialog.is_none(), "{:?}", app.status);
    let drill = &runner(&app).session.drill;
    assert_eq!(drill.steps[1].outcome, Some(Outcome::Passed));
    assert_eq!(
        drill.steps[1]
            .deviation
            .as_ref()
            .map(|d| d.refused.as_str()),
        Some("not_running")
    );
    assert_eq!(drill.active, Some(0), "the running step keeps running");
    // The log holds the deviation and the pass, nothing else.
    let events = app.store.events(id).unwrap();
    let names: Vec<_> = events[events_before..]
        .iter()
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(names, ["deviation", "step_passed"]);
    // A resumed drill shows the same deviation.
    let again = rollsafe::drill::Session::resume(&app.store, id).unwrap();
    assert_eq!(again.drill.deviations.len(), 1);
    assert_eq!(
        again.drill.deviations[0].reason,
        "done by hand before the drill"
    );
    let journal = rollsafe::report::journal(&again);
    assert_eq!(journal.overrides.len(), 1);
    assert!(
        journal
            .deviations
            .iter()
            .any(|d| d.starts_with("override:")),
        "{:?}",
        journal.deviations
    );
}

#[test]
fn an_override_needs_the_refusal_on_the_same_step() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Down, at(1));
    app.handle(Action::Pass, at(2));
    // The cursor moved on: `!` no longer refers to that refusal.
    app.handle(Action::Down, at(3));
    app.handle(Action::Override, at(4));
    assert!(app.dialog.is_none());
    assert!(
        app.status
            .clone()
            .unwrap()
            .text
            .contains("nothing to override")
    );
}

#[test]
fn undo_takes_back_the_latest_outcome_once_and_logs_it() {
    let mut app = started(Mode::Tabletop);
    let id = runner(&app).session.id;
    app.handle(Action::Undo, at(1));
    assert!(app.dialog.is_none(), "nothing to undo before an outcome");
    app.handle(Action::Pass, at(10));
    assert_eq!(runner(&app).session.drill.active, Some(1));
    app.handle(Action::Undo, at(11));
    assert!(matches!(app.dialog, Some(Dialog::Prompt { .. })));
    type_text(&mut app, "passed the wrong step", 12);
    app.handle(Action::Submit, at(13));
    let drill = &runner(&app).session.drill;
    assert_eq!(drill.steps[0].outcome, None);
    assert_eq!(drill.active, Some(0), "the step runs again");
    assert_eq!(runner(&app).selected, 0);
    // Once only: the outcome before it is not undoable.
    app.handle(Action::Undo, at(14));
    assert!(app.dialog.is_none());
    // Both the pass and its undo stay in the log.
    let names: Vec<_> = app
        .store
        .events(id)
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    assert!(names.contains(&"step_passed"));
    assert_eq!(names.last(), Some(&"outcome_undone"));
    let row = app.store.drill(id).unwrap();
    assert_eq!(row.passed, 0, "the summary row follows the undo");
}

#[test]
fn a_drill_with_a_failed_step_is_completed_with_failures_everywhere() {
    use rollsafe::drill::RunStatus;
    use rollsafe::store::DrillFilter;
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Fail, at(1));
    type_text(&mut app, "lock timeout", 2);
    app.handle(Action::Submit, at(3));
    app.handle(Action::Dismiss, at(4)); // no on_fail jump
    app.handle(Action::Finish, at(5));
    app.handle(Action::Yes, at(6));
    let id = match &app.screen {
        Screen::Summary(s) => s.session.id,
        _ => panic!("not the summary: {:?}", app.status),
    };
    let row = app.store.drill(id).unwrap();
    assert_eq!(row.status, "completed", "what the log stores");
    assert_eq!(row.run_status(at(6)), RunStatus::CompletedWithFailures);
    let session = rollsafe::drill::Session::resume(&app.store, id).unwrap();
    assert_eq!(
        rollsafe::report::journal(&session).status,
        "completed_with_failures"
    );
    let only = |code: &str| {
        app.store
            .count_drills_where(&DrillFilter {
                status: Some(code.to_string()),
                ..DrillFilter::default()
            })
            .unwrap()
    };
    assert_eq!(only("completed"), 0, "a failed drill is not 'completed'");
    assert_eq!(only("completed_with_failures"), 1);
}

#[test]
fn c_closes_a_follow_up_so_later_drills_no_longer_carry_it() {
    let mut app = started(Mode::Tabletop);
    app.handle(Action::Note, at(5));
    type_text(&mut app, "TODO: raise lock_timeout", 6);
    app.handle(Action::Submit, at(7));
    app.handle(Action::Finish, at(10));
    app.handle(Action::Yes, at(10));
    app.handle(Action::Back, at(11));
    // Two drills later it is still open.
    for t in [20, 40] {
        app.start(&loaded(), Mode::Tabletop, at(t));
        assert_eq!(
            runner(&app).follow_ups.len(),
            1,
            "carried to the drill at {t}"
        );
        app.handle(Action::Finish, at(t + 5));
        app.handle(Action::Yes, at(t + 5));
        app.handle(Action::Back, at(t + 6));
    }
    app.start(&loaded(), Mode::Tabletop, at(60));
    // Only on the step it belongs to.
    app.handle(Action::Down, at(61));
    app.handle(Action::CloseFollowUp, at(61));
    assert!(app.dialog.is_none());
    app.handle(Action::Up, at(62));
    app.handle(Action::CloseFollowUp, at(62));
    assert!(matches!(app.dialog, Some(Dialog::Prompt { .. })));
    type_text(&mut app, "set to 5s", 63);
    app.handle(Action::Submit, at(64));
    assert!(runner(&app).follow_ups.is_empty());
    let all = app.store.follow_ups(None, true).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].closed_note.as_deref(), Some("set to 5s"));
    app.handle(Action::Back, at(65));
    app.start(&loaded(), Mode::Tabletop, at(80));
    assert!(runner(&app).follow_ups.is_empty(), "closed: not carried");
}

#[test]
fn slash_on_history_narrows_the_drills_by_typed_text() {
    let mut app = app();
    app.start(&loaded(), Mode::Tabletop, at(0));
    app.handle(Action::Back, at(1));
    app.start(&loaded(), Mode::Live, at(2));
    app.handle(Action::Back, at(3));
    app.handle(Action::OpenHistory, at(4));
    let shown = |app: &App| match &app.screen {
        Screen::History(h) => (h.total, h.search.editing),
        _ => panic!("left History: {:?}", app.status),
    };
    assert_eq!(shown(&app), (2, false));
    app.handle(Action::Filter, at(5));
    // While typing, letters are text: `q` does not go back to Home.
    type_text(&mut app, "q", 5);
    assert_eq!(shown(&app), (0, true), "no drill holds q");
    app.handle(Action::Backspace, at(5));
    type_text(&mut app, "ANA", 5); // the operator, any case
    assert_eq!(shown(&app), (2, true));
    app.handle(Action::Submit, at(6));
    assert_eq!(shown(&app), (2, false), "enter keeps the filter");
    app.handle(Action::Filter, at(7));
    type_text(&mut app, "x", 7);
    assert_eq!(shown(&app), (0, true));
    app.handle(Action::Dismiss, at(8));
    assert_eq!(shown(&app), (2, false), "esc clears it");
}

#[test]
fn a_running_drill_not_heard_from_for_30_s_reads_interrupted_and_filters_so() {
    use rollsafe::drill::RunStatus;
    use rollsafe::tui::action::FilterField;
    let mut app = started(Mode::Live);
    app.handle(Action::Back, at(2));
    let row = app.store.drill(1).unwrap();
    assert_eq!(row.run_status(at(30)), RunStatus::Running, "seen 28 s ago");
    assert_eq!(row.run_status(at(40)), RunStatus::Interrupted);
    // A heartbeat keeps it running.
    app.store.touch(1, at(35)).unwrap();
    let row = app.store.drill(1).unwrap();
    assert_eq!(row.run_status(at(60)), RunStatus::Running);
    assert_eq!(row.run_status(at(70)), RunStatus::Interrupted);

    app.handle(Action::OpenHistory, at(100));
    let shown = |app: &App| match &app.screen {
        Screen::History(h) => h.total,
        _ => panic!("not history"),
    };
    app.handle(Action::CycleFilter(FilterField::Status), at(100)); // running
    assert_eq!(shown(&app), 0);
    app.handle(Action::CycleFilter(FilterField::Status), at(100)); // interrupted
    assert_eq!(shown(&app), 1);
}

#[test]
fn the_report_of_a_drill_left_running_long_ago_says_interrupted() {
    let long_ago = chrono::DateTime::from_timestamp(1_600_000_000, 0).unwrap();
    let mut app = app();
    app.start(&loaded(), Mode::Live, long_ago);
    app.handle(Action::Back, long_ago);
    let session = rollsafe::drill::Session::resume(&app.store, 1).unwrap();
    assert_eq!(rollsafe::report::journal_status(&session), "interrupted");
    let journal = rollsafe::report::journal(&session);
    assert_eq!(journal.status, "interrupted");
}

/// A live start asks for each variable nothing gave, hides a secret's
/// value while it is typed, and lists typed values as "typed in".
#[test]
fn a_live_start_asks_for_missing_variables_one_at_a_time() {
    const PB: &str = r#"
id = "needs-vars"
title = "Needs variables"
[[phases]]
title = "One"
[[phases.steps]]
id = "connect"
title = "Connect"
command = "psql \"postgres://app:${DB_PASSWORD}@${DB_HOST}/app\" -c 'select 1'"
"#;
    let loaded = rollsafe::playbook::Loaded {
        playbook: rollsafe::playbook::parse("needs-vars.toml", PB).unwrap(),
        origin: rollsafe::playbook::Origin::File("needs-vars.toml".into()),
        source: PB.to_string(),
    };
    let mut app = app();
    app.request_start(&loaded, Mode::Live, at(0));
    let asked = |app: &App| match &app.dialog {
        Some(Dialog::Prompt { kind, .. }) => Some(kind.clone()),
        _ => None,
    };
    use rollsafe::tui::app::PromptKind;
    let name = |kind: Option<PromptKind>| match kind {
        Some(PromptKind::SetVariable { name, why }) => (name, why),
        other => panic!("not asked for a variable: {other:?}"),
    };
    assert_eq!(
        name(asked(&app)),
        (
            "DB_PASSWORD".to_string(),
            "used by steps connect; 1 more to set after it".to_string()
        )
    );
    assert_eq!(
        asked(&app).unwrap().shown_input("abc"),
        "•••",
        "a password is typed as dots"
    );
    app.handle(Action::Submit, at(1));
    assert!(
        matches!(&app.dialog, Some(Dialog::Prompt { error: Some(e), .. }) if e.contains("a value is needed")),
        "an empty value is refused: {:?}",
        app.dialog
    );
    type_text(&mut app, "s3cret-pw", 1);
    app.handle(Action::Submit, at(2));
    assert_eq!(name(asked(&app)).0, "DB_HOST");
    assert_eq!(asked(&app).unwrap().shown_input("db1"), "db1");
    type_text(&mut app, "db1.internal", 2);
    app.handle(Action::Submit, at(3));
    match &app.dialog {
        Some(Dialog::StartLive { variables, .. }) => {
            let host = variables.iter().find(|(n, _, _)| n == "DB_HOST").unwrap();
            assert_eq!(host.1, "db1.internal");
            assert_eq!(host.2, "typed in");
            let pw = variables
                .iter()
                .find(|(n, _, _)| n == "DB_PASSWORD")
                .unwrap();
            assert_ne!(pw.1, "s3cret-pw", "the start dialog masks the secret");
        }
        other => panic!("not the start dialog: {other:?}"),
    }
    assert!(matches!(app.screen, Screen::Home), "nothing started yet");
    app.handle(Action::Yes, at(4));
    assert!(matches!(app.screen, Screen::Runner(_)), "{:?}", app.status);

    // Esc at the question starts nothing.
    let mut app = fixture::app();
    app.request_start(&loaded, Mode::Live, at(0));
    app.handle(Action::Dismiss, at(1));
    assert!(app.dialog.is_none());
    assert!(matches!(app.screen, Screen::Home));
    assert_eq!(app.status.as_ref().unwrap().text, "live drill not started");
}
