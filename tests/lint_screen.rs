//! The lint screen without a terminal: findings, the selected one in full, a plan from them
//! in the plan review screen, then a drill of that plan; opened from Home or from arguments.

mod fixture;

use fixture::{app, at};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rollsafe::cli::lint::LintArgs;
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Dialog, Screen};
use rollsafe::tui::lint::LintState;
use rollsafe::tui::theme::Theme;
use rollsafe::tui::view;

const FILE: &str = "tests/fixtures/plan_from/pg_rename_column.sql";

fn args(path: &str) -> LintArgs {
    LintArgs {
        tui: true,
        ..LintArgs::for_paths(vec![path.into()], Some("postgres:16".into()))
    }
}

fn lint_app() -> App {
    let mut app = app();
    app.open_lint(LintState::load(&args(FILE)).unwrap());
    app
}

fn lint(app: &App) -> &LintState {
    match &app.screen {
        Screen::Lint(l) => l,
        _ => panic!("not on the lint screen: {:?}", app.status),
    }
}

fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| view::render(frame, app, at(0), Theme::PLAIN))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn findings_are_listed_and_the_selection_moves_within_them() {
    let mut app = lint_app();
    let rules: Vec<&str> = lint(&app)
        .report
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules, vec!["pg-lock-timeout-missing", "rename-column"]);
    app.handle(Action::Down, at(1));
    assert_eq!(lint(&app).selected, 1);
    app.handle(Action::Down, at(1));
    assert_eq!(lint(&app).selected, 1, "stays on the last");
    app.handle(Action::PageDown, at(1));
    assert_eq!(lint(&app).scroll, 5, "J scrolls the details");
    app.handle(Action::Top, at(1));
    assert_eq!(lint(&app).selected, 0);
    assert_eq!(lint(&app).scroll, 0, "a new selection starts at the top");
}

#[test]
fn plan_opens_the_review_then_rehearses_and_edit_goes_back_to_the_findings() {
    let mut app = lint_app();
    app.handle(Action::OpenPlanner, at(1));
    let Screen::Wizard(w) = &app.screen else {
        panic!("not on the plan review: {:?}", app.status);
    };
    let plan = w.plan.as_ref().expect("a plan to review");
    assert_eq!(plan.playbook.id, "plan-pg-rename-column");
    assert!(
        plan.steps
            .iter()
            .any(|s| s.title == "Add users.full_name (nullable, same type as name)")
    );
    app.handle(Action::EditPlan, at(2));
    assert_eq!(lint(&app).report.findings.len(), 2, "back on the findings");
    app.handle(Action::OpenPlanner, at(3));
    app.handle(Action::StartTabletop, at(4));
    let Screen::Runner(r) = &app.screen else {
        panic!("not in the runner: {:?}", app.status);
    };
    assert_eq!(r.session.playbook.id, "plan-pg-rename-column");
}

#[test]
fn home_m_asks_for_the_path_and_engine_and_says_what_is_wrong() {
    let mut app = app();
    app.handle(Action::OpenLint, at(0));
    for c in "no/such/dir postgres:16".chars() {
        app.handle(Action::Input(c), at(0));
    }
    app.handle(Action::Submit, at(0));
    match &app.dialog {
        Some(Dialog::Prompt { error: Some(e), .. }) => assert!(e.contains("no/such/dir"), "{e}"),
        other => panic!(
            "expected the prompt with an error, got {:?}",
            other.is_some()
        ),
    }
    // ctrl-u clears the line.
    app.handle(Action::Input('\u{15}'), at(0));
    for c in format!("{FILE} postgres:16").chars() {
        app.handle(Action::Input(c), at(0));
    }
    app.handle(Action::Submit, at(0));
    assert!(app.dialog.is_none());
    assert_eq!(lint(&app).engine, "postgres:16");
    app.handle(Action::Back, at(1));
    assert!(matches!(app.screen, Screen::Home));
}

#[test]
fn lint_screen_snapshot() {
    let mut app = lint_app();
    app.handle(Action::Down, at(1));
    assert_snapshot!(draw(&app, 110, 24));
}

#[test]
fn slash_narrows_the_findings_and_esc_clears_it_before_leaving() {
    let mut app = lint_app();
    app.handle(Action::Filter, at(1));
    for c in "RENAME-COL".chars() {
        app.handle(Action::Input(c), at(1));
    }
    assert_eq!(lint(&app).visible(), vec![1], "only rename-column holds it");
    assert_eq!(
        lint(&app).selected,
        1,
        "the first shown finding is selected"
    );
    app.handle(Action::Submit, at(2));
    let screen = draw(&app, 100, 16);
    assert!(screen.contains("Findings (1 of 2) /RENAME-COL"), "{screen}");
    assert!(!screen.contains("pg-lock-timeout-missing"), "{screen}");
    app.handle(Action::Up, at(3));
    assert_eq!(lint(&app).selected, 1, "moves only among shown findings");
    app.handle(Action::Back, at(4));
    assert_eq!(
        lint(&app).visible(),
        vec![0, 1],
        "esc clears the filter first"
    );
    app.handle(Action::Back, at(5));
    assert!(matches!(app.screen, Screen::Home), "then leaves");
}

#[test]
fn a_plan_from_the_findings_keeps_the_row_counts_lint_was_given() {
    let mut app = app();
    let with_rows = LintArgs {
        rows: vec!["users=40m".into()],
        ..args(FILE)
    };
    app.open_lint(LintState::load(&with_rows).unwrap());
    app.handle(Action::OpenPlanner, at(1));
    let Screen::Wizard(w) = &app.screen else {
        panic!("not on the plan review: {:?}", app.status);
    };
    let plan = w.plan.as_ref().expect("a plan to review");
    assert_eq!(plan.intake.rows.get("users"), Some(&40_000_000));
    assert!(
        !plan.assumed_rows.iter().any(|t| t == "users"),
        "users' rows were given, not assumed: {:?}",
        plan.assumed_rows
    );
}
