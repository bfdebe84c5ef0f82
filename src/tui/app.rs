//! The application state and the one place it changes: [`App::handle`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::action::{Action, FilterField};
use super::keymap::Context;
use super::lint::LintState;
use super::runner::{FollowUp, RunnerState};
use super::wizard::WizardState;
use crate::drill::{CommandPurpose, Mode, Outcome, Session};
use crate::planner::{Knowledge, PlanHistory};
use crate::playbook::vars::{self, VarSource, Vars};
use crate::playbook::{Library, Loaded, OnFail, Playbook};
use crate::store::{DrillRow, Store};

/// How many finished drills Home lists.
const RECENT_ON_HOME: usize = 6;

pub enum Screen {
    Home,
    Runner(Box<RunnerState>),
    Summary(Box<SummaryState>),
    History(Box<HistoryState>),
    Stats(Box<StatsState>),
    Wizard(Box<WizardState>),
    Lint(Box<LintState>),
}

/// One playbook's statistics, opened from the history.
pub struct StatsState {
    pub insight: crate::insight::PlaybookInsight,
    pub title: String,
    pub scroll: u16,
    pub back_to: Box<HistoryState>,
}

pub struct SummaryState {
    pub session: Session,
    /// Every event of the drill, for its timeline.
    pub events: Vec<crate::drill::Event>,
    pub scroll: u16,
    /// Where `q` goes back to: the history list it was opened from, else Home.
    pub back_to: Option<Box<HistoryState>>,
}

/// Drills newest first, read a page at a time so any number of drills scrolls.
#[derive(Debug, Default)]
pub struct HistoryState {
    pub total: usize,
    /// Absolute index of the selected drill.
    pub selected: usize,
    /// Absolute index of `rows[0]`.
    pub page_start: usize,
    pub rows: Vec<DrillRow>,
    pub filter: crate::store::DrillFilter,
    /// The date filter as a window in days (shown in the header).
    pub since_days: Option<i64>,
}

impl HistoryState {
    pub const PAGE: usize = 200;

    pub fn selected_row(&self) -> Option<&DrillRow> {
        self.rows.get(self.selected.checked_sub(self.page_start)?)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Note,
    FailReason,
    SkipReason,
    BlockReason,
    AbortReason,
    /// Home: which migration to lint.
    LintPath,
}

impl PromptKind {
    pub fn title(&self) -> &'static str {
        match self {
            PromptKind::Note => "Note on this step (TODO: marks a follow-up)",
            PromptKind::FailReason => "Why did it fail? (enter to leave blank)",
            PromptKind::SkipReason => "Why skip this step?",
            PromptKind::BlockReason => "What blocks this step?",
            PromptKind::AbortReason => "Why abort the drill?",
            PromptKind::LintPath => {
                "Migration file or directory, then the engine (e.g. db/migrate postgres:16)"
            }
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            PromptKind::Note => " Note ",
            PromptKind::FailReason => " Fail step ",
            PromptKind::SkipReason => " Skip step ",
            PromptKind::BlockReason => " Block step ",
            PromptKind::AbortReason => " Abort drill ",
            PromptKind::LintPath => " Lint a migration ",
        }
    }

    fn required(&self) -> bool {
        !matches!(self, PromptKind::FailReason)
    }
}

/// What a yes leads to, once a point of no return is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterPnr {
    Pass,
    Run(CommandPurpose, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Prompt {
        kind: PromptKind,
        input: String,
        error: Option<String>,
    },
    /// Crossing a point of no return, then doing `then`.
    CrossPnr { step_title: String, then: AfterPnr },
    /// Run exactly this command?
    RunCommand {
        purpose: CommandPurpose,
        command: String,
    },
    /// Finish while steps are still pending?
    Finish { pending: usize },
    /// A step failed: offer its on_fail path.
    OnFail { step_title: String, on_fail: OnFail },
    /// Start a live drill with these resolved variables: (name, value, source).
    StartLive {
        title: String,
        variables: Vec<(String, String, String)>,
        /// What the playbook's probe will run, resolved, if it has one.
        probe: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub store: Store,
    pub library: Library,
    pub screen: Screen,
    pub dialog: Option<Dialog>,
    pub show_help: bool,
    pub status: Option<Status>,
    pub should_quit: bool,
    pub operator: String,
    pub overrides: BTreeMap<String, String>,
    /// Where saved plans go (the user's playbooks directory).
    pub playbooks_dir: Option<std::path::PathBuf>,
    pub home: HomeState,
    /// The time of the last event handled: what Home's readiness is computed for.
    pub now: DateTime<Utc>,
    /// The planner's knowledge base, loaded when the wizard first opens.
    pub knowledge: Option<Knowledge>,
    /// The playbook a [`Dialog::StartLive`] is asking about.
    pending_live: Option<Box<Loaded>>,
    env: fn(&str) -> Option<String>,
}

/// Home: drills to resume, playbooks to start, recent drills.
#[derive(Default)]
pub struct HomeState {
    pub selected: usize,
    pub unfinished: Vec<DrillRow>,
    pub recent: Vec<DrillRow>,
    /// What past drills say about each playbook, by playbook id.
    pub insights: BTreeMap<String, crate::insight::PlaybookInsight>,
}

/// What a row of Home's list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeItem {
    Resume(usize),
    Playbook(usize),
    Broken(usize),
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl App {
    pub fn new(
        store: Store,
        library: Library,
        operator: String,
        overrides: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut app = App {
            now,
            store,
            library,
            screen: Screen::Home,
            dialog: None,
            show_help: false,
            status: None,
            should_quit: false,
            operator,
            overrides,
            playbooks_dir: None,
            home: HomeState::default(),
            knowledge: None,
            pending_live: None,
            env: process_env,
        };
        app.refresh_home();
        app
    }

    /// Tests inject the environment the variables are read from.
    pub fn with_env(mut self, env: fn(&str) -> Option<String>) -> Self {
        self.env = env;
        self
    }

    pub fn context(&self) -> Context {
        match self.screen {
            Screen::Home => Context::Home,
            Screen::Runner(_) => Context::Runner,
            Screen::Summary(_) => Context::Summary,
            Screen::History(_) => Context::History,
            Screen::Stats(_) => Context::Stats,
            Screen::Wizard(_) => Context::PlanReview,
            Screen::Lint(_) => Context::Lint,
        }
    }

    pub fn refresh_home(&mut self) {
        match self.store.unfinished() {
            Ok(rows) => self.home.unfinished = rows,
            Err(e) => self.error(e.to_string()),
        }
        match self
            .store
            .list_drills(RECENT_ON_HOME + self.home.unfinished.len(), 0)
        {
            Ok(rows) => {
                self.home.recent = rows
                    .into_iter()
                    .filter(|r| r.status != "running")
                    .take(RECENT_ON_HOME)
                    .collect()
            }
            Err(e) => self.error(e.to_string()),
        }
        let mut insights = BTreeMap::new();
        for loaded in &self.library.playbooks {
            let id = &loaded.playbook.id;
            match crate::insight::gather(
                &self.store,
                id,
                Some(loaded),
                self.now,
                crate::insight::Depth::Summary,
            ) {
                Ok(insight) => {
                    insights.insert(id.clone(), insight);
                }
                Err(e) => {
                    self.status = Some(Status {
                        text: e.to_string(),
                        error: true,
                    });
                    break;
                }
            }
        }
        self.home.insights = insights;
        self.home.selected = self
            .home
            .selected
            .min(self.home_items().len().saturating_sub(1));
    }

    pub fn home_items(&self) -> Vec<HomeItem> {
        (0..self.home.unfinished.len())
            .map(HomeItem::Resume)
            .chain((0..self.library.playbooks.len()).map(HomeItem::Playbook))
            .chain((0..self.library.broken.len()).map(HomeItem::Broken))
            .collect()
    }

    pub fn selected_home_item(&self) -> Option<HomeItem> {
        self.home_items().get(self.home.selected).copied()
    }

    fn error(&mut self, text: String) {
        self.status = Some(Status { text, error: true });
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
        });
    }

    /// Applies one action. Failures become a status line; nothing panics.
    pub fn handle(&mut self, action: Action, now: DateTime<Utc>) {
        self.now = now;
        if self.show_help {
            // Any key closes help; it has no actions of its own.
            self.show_help = false;
            return;
        }
        if self.dialog.is_some() {
            self.handle_dialog(action, now);
            return;
        }
        if action == Action::Help {
            self.show_help = true;
            return;
        }
        if action == Action::Interrupt {
            if let Screen::Runner(runner) = &mut self.screen
                && runner.command.as_ref().is_some_and(|c| !c.cancel_requested)
                && runner.cancel_command()
            {
                return self.info("cancelling the command… ctrl-c again leaves");
            }
            self.leave(now);
            self.should_quit = true;
            return;
        }
        self.status = None;
        match self.context() {
            Context::Home => self.handle_home(action, now),
            Context::Runner => self.handle_runner(action, now),
            Context::Summary => self.handle_summary(action),
            Context::History => self.handle_history(action),
            Context::Stats => self.handle_stats(action),
            Context::PlanReview => self.handle_wizard(action, now),
            Context::Lint => self.handle_lint(action, now),
        }
    }

    /// Periodic work: a running command's output and exit, the probe's figures.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        if let Screen::Runner(runner) = &mut self.screen {
            runner.refresh_probe();
            if let Err(e) = runner.heartbeat(&mut self.store, now, false) {
                self.status = Some(Status {
                    text: e.to_string(),
                    error: true,
                });
                return;
            }
            match runner.poll_command(&mut self.store, now) {
                Ok(Some(verdict)) => {
                    let error = verdict.contains("failed") || verdict.contains("killed");
                    self.status = Some(Status {
                        text: verdict,
                        error,
                    });
                }
                Ok(None) => {}
                Err(e) => self.error(e.to_string()),
            }
        }
    }

    pub fn command_running(&self) -> bool {
        matches!(&self.screen, Screen::Runner(r) if r.command.is_some())
    }

    /// Called when the app is about to exit: the heartbeat marks the moment.
    pub fn leave(&mut self, now: DateTime<Utc>) {
        if let Screen::Runner(runner) = &mut self.screen {
            runner.cancel_command();
            let _ = runner.close_probe(&mut self.store, now);
            let _ = runner.heartbeat(&mut self.store, now, true);
        }
    }

    /// Whether a clock is on screen and should be redrawn each second.
    pub fn clock_visible(&self) -> bool {
        matches!(&self.screen, Screen::Runner(r) if !r.is_over() && !r.session.drill.is_paused())
    }

    // ---- Home -------------------------------------------------------------

    fn handle_home(&mut self, action: Action, now: DateTime<Utc>) {
        let count = self.home_items().len();
        match action {
            Action::Down => {
                self.home.selected = (self.home.selected + 1).min(count.saturating_sub(1))
            }
            Action::Up => self.home.selected = self.home.selected.saturating_sub(1),
            Action::Top => self.home.selected = 0,
            Action::Bottom => self.home.selected = count.saturating_sub(1),
            Action::Open => match self.selected_home_item() {
                Some(HomeItem::Resume(i)) => {
                    let id = self.home.unfinished[i].id;
                    self.resume(id, now);
                }
                Some(HomeItem::Playbook(_)) => self.start_selected(Mode::Tabletop, now),
                Some(HomeItem::Broken(i)) => {
                    let first = self.library.broken[i]
                        .problems
                        .first()
                        .map(|d| d.to_string());
                    self.error(first.unwrap_or_else(|| "this playbook does not load".into()));
                }
                None => {}
            },
            Action::OpenHistory => self.open_history(),
            Action::OpenPlanner => self.open_planner(),
            Action::OpenLint => {
                self.dialog = Some(Dialog::Prompt {
                    kind: PromptKind::LintPath,
                    input: String::new(),
                    error: None,
                })
            }
            Action::StartTabletop => self.start_selected(Mode::Tabletop, now),
            Action::StartLive => self.start_selected(Mode::Live, now),
            Action::Quit | Action::Back => self.should_quit = true,
            _ => {}
        }
    }

    fn start_selected(&mut self, mode: Mode, now: DateTime<Utc>) {
        match self.selected_home_item() {
            Some(HomeItem::Playbook(i)) => {
                let loaded = self.library.playbooks[i].clone();
                self.request_start(&loaded, mode, now);
            }
            Some(HomeItem::Resume(_)) => {
                self.info("select a playbook to start a new drill; enter resumes this one")
            }
            _ => {}
        }
    }

    /// Starts a drill the operator asked for: tabletop at once; live only
    /// after a dialog has shown every variable resolved (value and source)
    /// and the operator said yes. A missing variable stops it here.
    pub fn request_start(&mut self, loaded: &Loaded, mode: Mode, now: DateTime<Utc>) {
        if mode == Mode::Tabletop {
            return self.start(loaded, mode, now);
        }
        let vars = match self.resolve_vars(&loaded.playbook, mode) {
            Ok(vars) => vars,
            Err(message) => return self.error(message),
        };
        let variables = vars
            .values
            .iter()
            .map(|(name, (value, source))| {
                (
                    name.clone(),
                    vars::shown_value(name, value),
                    source.label().to_string(),
                )
            })
            .collect();
        let probe = loaded
            .playbook
            .probe
            .as_ref()
            .map(|spec| crate::probe::describe(&vars::resolve_probe(spec, &vars)));
        self.pending_live = Some(Box::new(loaded.clone()));
        self.dialog = Some(Dialog::StartLive {
            title: loaded.playbook.title.clone(),
            variables,
            probe,
        });
    }

    /// Starts a drill of `loaded`. Live drills need every variable resolved first.
    pub fn start(&mut self, loaded: &Loaded, mode: Mode, now: DateTime<Utc>) {
        let vars = match self.resolve_vars(&loaded.playbook, mode) {
            Ok(vars) => vars,
            Err(message) => return self.error(message),
        };
        // A probe that cannot connect stops the drill before anything is logged.
        let probe = match start_probe(&loaded.playbook, mode, &vars) {
            Ok(probe) => probe,
            Err(e) => return self.error(format!("{e}; fix the [probe] table or its variables")),
        };
        match Session::start(&mut self.store, loaded, mode, &self.operator, now) {
            Ok(session) => {
                self.screen = Screen::Runner(Box::new(
                    RunnerState::new(session, vars)
                        .with_history(&self.store)
                        .with_probe(probe),
                ));
                self.info(format!(
                    "{} drill started and logged; q leaves it resumable",
                    mode.as_str()
                ));
                if let Screen::Runner(runner) = &self.screen
                    && let Some((drill, _, text)) = runner.follow_ups.first()
                {
                    let more = runner.follow_ups.len() - 1;
                    let more = if more > 0 {
                        format!(" (+{more} more)")
                    } else {
                        String::new()
                    };
                    self.status = Some(Status {
                        text: format!("open follow-up from drill #{drill}: {text}{more}"),
                        error: false,
                    });
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub fn resume(&mut self, id: i64, now: DateTime<Utc>) {
        match Session::reopen(&mut self.store, id, now) {
            Ok(session) => {
                let vars = self
                    .resolve_vars(&session.playbook, session.drill.mode)
                    .unwrap_or_else(|_| partial_vars(&session.playbook, &self.overrides, self.env));
                let over = session.drill.status != crate::drill::DrillStatus::Running;
                let probe = if over {
                    Ok(None)
                } else {
                    start_probe(&session.playbook, session.drill.mode, &vars)
                };
                let probe_error = probe.as_ref().err().map(|e| e.to_string());
                let mut runner = RunnerState::new(session, vars)
                    .with_history(&self.store)
                    .with_probe(probe.unwrap_or(None));
                if let Some(e) = probe_error {
                    self.error(format!("{e}; the drill goes on without it"));
                } else if let Some((step, command)) = runner.session.drill.command_in_flight.clone()
                {
                    self.error(format!(
                        "a command was running in step {step} when rollsafe stopped; check its effect before going on: {command}"
                    ));
                } else {
                    self.info(format!("drill #{id} resumed where it stopped"));
                }
                runner.scroll = 0;
                self.screen = Screen::Runner(Box::new(runner));
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    fn resolve_vars(&self, playbook: &Playbook, mode: Mode) -> Result<Vars, String> {
        match vars::resolve(playbook, &self.overrides, &self.env) {
            Ok(vars) => Ok(vars),
            Err(missing) if mode == Mode::Live => Err(missing
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("; ")),
            // Tabletop runs nothing: show what is known, leave the rest as written.
            Err(_) => Ok(partial_vars(playbook, &self.overrides, self.env)),
        }
    }

    // ---- Runner -----------------------------------------------------------

    fn handle_runner(&mut self, action: Action, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        let over = runner.is_over();
        let paused = runner.session.drill.is_paused();
        let busy = runner.command.is_some();
        let changes_outcome = matches!(
            action,
            Action::Pass
                | Action::Fail
                | Action::Skip
                | Action::Block
                | Action::Open
                | Action::RunCommand
                | Action::RunVerify
        );
        if over
            && (changes_outcome
                || matches!(
                    action,
                    Action::Note | Action::TogglePause | Action::Abort | Action::Finish
                ))
        {
            return self.info("this drill has ended; q goes back to Home");
        }
        if paused && changes_outcome {
            return self.info("the drill is paused: p resumes it");
        }
        if busy && (changes_outcome || matches!(action, Action::Finish | Action::Back)) {
            return self.info("a command is running: wait for it, or x cancels it");
        }
        let result = match action {
            Action::Down => {
                runner.move_by(1);
                Ok(())
            }
            Action::Up => {
                runner.move_by(-1);
                Ok(())
            }
            Action::Top => {
                runner.select(0);
                Ok(())
            }
            Action::Bottom => {
                runner.select(usize::MAX);
                Ok(())
            }
            Action::ScrollOutputDown => {
                runner.scroll = runner.scroll.saturating_add(5);
                Ok(())
            }
            Action::ScrollOutputUp => {
                runner.scroll = runner.scroll.saturating_sub(5);
                Ok(())
            }
            Action::Open => runner.start_selected(&mut self.store, now),
            Action::Pass => {
                if runner.needs_pnr_confirmation() {
                    let step_title = runner
                        .selected_step()
                        .map(|s| s.title.clone())
                        .unwrap_or_default();
                    self.dialog = Some(Dialog::CrossPnr {
                        step_title,
                        then: AfterPnr::Pass,
                    });
                    return;
                }
                runner
                    .record_outcome(&mut self.store, now, Outcome::Passed, String::new())
                    .map(|_| ())
            }
            Action::Fail => return self.open_prompt(PromptKind::FailReason),
            Action::Skip => return self.open_prompt(PromptKind::SkipReason),
            Action::Block => return self.open_prompt(PromptKind::BlockReason),
            Action::Note => return self.open_prompt(PromptKind::Note),
            Action::Abort => return self.open_prompt(PromptKind::AbortReason),
            Action::RunCommand | Action::RunVerify => {
                let purpose = if action == Action::RunCommand {
                    CommandPurpose::Action
                } else {
                    CommandPurpose::Verify
                };
                return self.ask_to_run(purpose);
            }
            Action::CancelCommand => {
                if runner.cancel_command() {
                    self.info("cancelling the command…");
                } else {
                    self.info("no command is running; q leaves the drill (it stays resumable)");
                }
                return;
            }
            Action::TogglePause => runner.toggle_pause(&mut self.store, now),
            Action::Finish => {
                let pending = runner.step_count() - runner.session.drill.done();
                self.dialog = Some(Dialog::Finish { pending });
                return;
            }
            Action::Back | Action::Quit => {
                // The heartbeat marks when the operator left; the time away
                // is logged as an interruption when the drill is reopened.
                let left = runner
                    .close_probe(&mut self.store, now)
                    .and_then(|()| runner.heartbeat(&mut self.store, now, true));
                self.screen = Screen::Home;
                self.refresh_home();
                left
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    fn open_prompt(&mut self, kind: PromptKind) {
        self.dialog = Some(Dialog::Prompt {
            kind,
            input: String::new(),
            error: None,
        });
    }

    fn ask_to_run(&mut self, purpose: CommandPurpose) {
        let Screen::Runner(runner) = &self.screen else {
            return;
        };
        if runner.mode() == Mode::Tabletop {
            return self
                .info("tabletop drill: nothing runs; talk it through, then mark the outcome");
        }
        let Some(command) = runner.command_text(purpose) else {
            let what = match purpose {
                CommandPurpose::Action => "a command",
                CommandPurpose::Verify => "a verification",
            };
            return self.info(format!("this step has no {what} to run"));
        };
        if purpose == CommandPurpose::Action && runner.needs_pnr_confirmation() {
            let step_title = runner
                .selected_step()
                .map(|s| s.title.clone())
                .unwrap_or_default();
            self.dialog = Some(Dialog::CrossPnr {
                step_title,
                then: AfterPnr::Run(purpose, command),
            });
        } else {
            self.dialog = Some(Dialog::RunCommand { purpose, command });
        }
    }

    // ---- Dialogs ----------------------------------------------------------

    fn handle_dialog(&mut self, action: Action, now: DateTime<Utc>) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        match dialog {
            Dialog::Prompt {
                kind, mut input, ..
            } => match action {
                Action::Input('\u{15}') => {
                    input.clear();
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Input(c) => {
                    input.push(c);
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Backspace => {
                    input.pop();
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Dismiss => {}
                Action::Submit => {
                    let text = input.trim().to_string();
                    if text.is_empty() && kind.required() {
                        self.dialog = Some(Dialog::Prompt {
                            kind,
                            input,
                            error: Some("a reason is needed; esc cancels".into()),
                        });
                    } else {
                        self.submit_prompt(kind, text, now);
                    }
                }
                _ => {
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    })
                }
            },
            Dialog::CrossPnr { step_title, then } => match action {
                Action::Yes => self.cross_pnr(then, now),
                Action::No | Action::Dismiss => self.info("point of no return not crossed"),
                _ => self.dialog = Some(Dialog::CrossPnr { step_title, then }),
            },
            Dialog::RunCommand { purpose, command } => match action {
                Action::Yes => self.run_confirmed(purpose, command, now),
                Action::No | Action::Dismiss => self.info("nothing ran"),
                _ => self.dialog = Some(Dialog::RunCommand { purpose, command }),
            },
            Dialog::Finish { pending } => match action {
                Action::Yes | Action::Submit => self.finish(now),
                Action::No | Action::Dismiss => {}
                _ => self.dialog = Some(Dialog::Finish { pending }),
            },
            Dialog::OnFail {
                step_title,
                on_fail,
            } => self.choose_on_fail(action, step_title, on_fail, now),
            Dialog::StartLive {
                title,
                variables,
                probe,
            } => match action {
                // Only `y`, as the README and the dialog say: Enter must not start a live drill.
                Action::Yes => {
                    if let Some(loaded) = self.pending_live.take() {
                        self.start(&loaded, Mode::Live, now);
                    }
                }
                Action::No | Action::Dismiss => {
                    self.pending_live = None;
                    self.info("live drill not started");
                }
                _ => {
                    self.dialog = Some(Dialog::StartLive {
                        title,
                        variables,
                        probe,
                    })
                }
            },
        }
    }

    fn submit_prompt(&mut self, kind: PromptKind, text: String, now: DateTime<Utc>) {
        if kind == PromptKind::LintPath {
            return match LintState::from_prompt(&text) {
                Ok(state) => self.open_lint(state),
                Err(e) => {
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input: text,
                        error: Some(e),
                    })
                }
            };
        }
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        let store = &mut self.store;
        let result = match kind {
            PromptKind::Note => runner.add_note(store, now, text).map(|_| FollowUp::None),
            PromptKind::FailReason => runner.record_outcome(store, now, Outcome::Failed, text),
            PromptKind::SkipReason => runner.record_outcome(store, now, Outcome::Skipped, text),
            PromptKind::BlockReason => runner.record_outcome(store, now, Outcome::Blocked, text),
            PromptKind::AbortReason => runner.abort(store, now, text).map(|_| FollowUp::None),
            PromptKind::LintPath => return,
        };
        match result {
            Ok(FollowUp::OfferOnFail { step, on_fail }) => {
                let step_title = runner
                    .session
                    .playbook
                    .find_step(&step)
                    .and_then(|at| runner.session.playbook.step(at))
                    .map(|s| s.title.clone())
                    .unwrap_or(step);
                self.dialog = Some(Dialog::OnFail {
                    step_title,
                    on_fail,
                });
            }
            Ok(FollowUp::None) => {
                if kind == PromptKind::AbortReason {
                    self.show_summary();
                } else if kind == PromptKind::Note {
                    self.info("note saved");
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    fn cross_pnr(&mut self, then: AfterPnr, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        if let Err(e) = runner.confirm_point_of_no_return(&mut self.store, now) {
            return self.error(e.to_string());
        }
        match then {
            AfterPnr::Pass => {
                if let Err(e) =
                    runner.record_outcome(&mut self.store, now, Outcome::Passed, String::new())
                {
                    self.error(e.to_string());
                }
            }
            // Confirming the point of no return is not confirming the command:
            // the exact command is still shown and confirmed on its own.
            AfterPnr::Run(purpose, command) => {
                self.dialog = Some(Dialog::RunCommand { purpose, command })
            }
        }
    }

    fn run_confirmed(&mut self, purpose: CommandPurpose, command: String, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        match runner.run_command(&mut self.store, now, purpose, command) {
            Ok(Ok(())) => self.info("running… x cancels"),
            Ok(Err(message)) => self.error(message),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn choose_on_fail(
        &mut self,
        action: Action,
        step_title: String,
        on_fail: OnFail,
        now: DateTime<Utc>,
    ) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        let store = &mut self.store;
        let result = match (action, &on_fail) {
            (Action::Yes | Action::Submit, OnFail::Goto(target)) => {
                runner.go_to(store, now, target)
            }
            (Action::Yes | Action::Submit, OnFail::Continue) => runner.advance(store, now),
            (Action::Yes | Action::Submit, OnFail::Rollback) => {
                self.info("roll back: follow the rollback notes of the steps done, newest first (shown in each step)");
                Ok(())
            }
            (Action::Yes | Action::Submit, OnFail::Stop) => {
                self.info("stopped at the failed step: retry it (enter), go on (j), or abort (a)");
                Ok(())
            }
            (Action::Choose('c'), _) => runner.advance(store, now),
            (Action::No | Action::Dismiss | Action::Choose('s'), _) => {
                self.info("staying on the failed step");
                Ok(())
            }
            _ => {
                self.dialog = Some(Dialog::OnFail {
                    step_title,
                    on_fail,
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    fn finish(&mut self, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        match runner.finish(&mut self.store, now) {
            Ok(()) => self.show_summary(),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn show_summary(&mut self) {
        let screen = std::mem::replace(&mut self.screen, Screen::Home);
        if let Screen::Runner(runner) = screen {
            let events = self.store.events(runner.session.id).unwrap_or_default();
            self.screen = Screen::Summary(Box::new(SummaryState {
                events,
                session: runner.session,
                scroll: 0,
                back_to: None,
            }));
        }
    }

    // ---- Summary ----------------------------------------------------------

    fn handle_summary(&mut self, action: Action) {
        let Screen::Summary(summary) = &mut self.screen else {
            return;
        };
        match action {
            Action::Down => summary.scroll = summary.scroll.saturating_add(1),
            Action::Up => summary.scroll = summary.scroll.saturating_sub(1),
            Action::Back | Action::Quit => match summary.back_to.take() {
                Some(history) => self.screen = Screen::History(history),
                None => {
                    self.screen = Screen::Home;
                    self.refresh_home();
                }
            },
            _ => {}
        }
    }

    // ---- History ----------------------------------------------------------

    fn open_history(&mut self) {
        let mut history = HistoryState::default();
        self.reload_history(&mut history);
        self.screen = Screen::History(Box::new(history));
    }

    /// Counts and loads from the top, after the filter changed.
    fn reload_history(&mut self, history: &mut HistoryState) {
        match self.store.count_drills_where(&history.filter) {
            Ok(total) => history.total = total,
            Err(e) => return self.error(e.to_string()),
        }
        history.selected = 0;
        history.rows.clear();
        self.load_history_page(history);
    }

    fn cycle_filter(&mut self, history: &mut HistoryState, field: FilterField) {
        let filter = &mut history.filter;
        match field {
            FilterField::Playbook => {
                let ids = self.store.playbook_ids().unwrap_or_default();
                filter.playbook_id = next_in(&ids, filter.playbook_id.as_ref());
            }
            FilterField::Mode => {
                filter.mode = match filter.mode {
                    None => Some(Mode::Tabletop),
                    Some(Mode::Tabletop) => Some(Mode::Live),
                    Some(Mode::Live) => None,
                }
            }
            FilterField::Status => {
                let all = ["running", "completed", "aborted"].map(String::from);
                filter.status = next_in(&all, filter.status.as_ref());
            }
            FilterField::Since => {
                history.since_days = match history.since_days {
                    None => Some(7),
                    Some(7) => Some(30),
                    Some(30) => Some(90),
                    _ => None,
                };
                filter.since = history
                    .since_days
                    .map(|d| self.now - chrono::Duration::days(d));
            }
        }
        self.reload_history(history);
    }

    /// Makes sure the page holding the selection is loaded.
    fn load_history_page(&mut self, history: &mut HistoryState) {
        let in_page = history.selected >= history.page_start
            && history.selected < history.page_start + history.rows.len();
        if in_page && !history.rows.is_empty() {
            return;
        }
        // Keep the selection in the middle of the page, so scrolling either way stays on it.
        let start = history.selected.saturating_sub(HistoryState::PAGE / 2);
        match self
            .store
            .list_drills_where(&history.filter, HistoryState::PAGE, start)
        {
            Ok(rows) => {
                history.page_start = start;
                history.rows = rows;
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    fn handle_history(&mut self, action: Action) {
        let Screen::History(history) = &mut self.screen else {
            return;
        };
        let last = history.total.saturating_sub(1);
        let moved = match action {
            Action::Down => Some((history.selected + 1).min(last)),
            Action::Up => Some(history.selected.saturating_sub(1)),
            Action::PageDown => Some((history.selected + 20).min(last)),
            Action::PageUp => Some(history.selected.saturating_sub(20)),
            Action::Top => Some(0),
            Action::Bottom => Some(last),
            _ => None,
        };
        if let Some(index) = moved {
            history.selected = index;
            let mut taken = std::mem::take(history);
            self.load_history_page(&mut taken);
            self.screen = Screen::History(taken);
            return;
        }
        if let Action::CycleFilter(field) = action {
            let mut taken = std::mem::take(history);
            self.cycle_filter(&mut taken, field);
            self.screen = Screen::History(taken);
            return;
        }
        if action == Action::ClearFilters {
            let mut taken = std::mem::take(history);
            taken.filter = Default::default();
            taken.since_days = None;
            self.reload_history(&mut taken);
            self.screen = Screen::History(taken);
            return;
        }
        if action == Action::OpenStats {
            let Some(id) = history.selected_row().map(|r| r.playbook_id.clone()) else {
                return;
            };
            let loaded = self.library.get(&id).cloned();
            let title = loaded
                .as_ref()
                .map_or(id.clone(), |l| l.playbook.title.clone());
            match crate::insight::gather(
                &self.store,
                &id,
                loaded.as_ref(),
                self.now,
                crate::insight::Depth::Full,
            ) {
                Ok(insight) => {
                    let Screen::History(back) = std::mem::replace(&mut self.screen, Screen::Home)
                    else {
                        return;
                    };
                    self.screen = Screen::Stats(Box::new(StatsState {
                        insight,
                        title,
                        scroll: 0,
                        back_to: back,
                    }));
                }
                Err(e) => self.error(e.to_string()),
            }
            return;
        }
        match action {
            Action::Open => {
                let Some(id) = history.selected_row().map(|r| r.id) else {
                    return;
                };
                match Session::resume(&self.store, id) {
                    Ok(session) => {
                        let Screen::History(history) =
                            std::mem::replace(&mut self.screen, Screen::Home)
                        else {
                            return;
                        };
                        let events = self.store.events(id).unwrap_or_default();
                        self.screen = Screen::Summary(Box::new(SummaryState {
                            session,
                            events,
                            scroll: 0,
                            back_to: Some(history),
                        }));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Action::ExportReport => {
                let Some(id) = history.selected_row().map(|r| r.id) else {
                    return;
                };
                let written = Session::resume(&self.store, id)
                    .map_err(|e| e.to_string())
                    .and_then(|session| {
                        let events = self.store.events(id).map_err(|e| e.to_string())?;
                        let path = std::path::PathBuf::from(format!("rollsafe-drill-{id}.md"));
                        std::fs::write(&path, crate::report::markdown(&session, &events))
                            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                        Ok(path)
                    });
                match written {
                    Ok(path) => self.info(format!("report written to {}", path.display())),
                    Err(e) => self.error(e),
                }
            }
            Action::Back | Action::Quit => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }

    // ---- Stats ------------------------------------------------------------

    fn handle_stats(&mut self, action: Action) {
        let Screen::Stats(stats) = &mut self.screen else {
            return;
        };
        match action {
            Action::Down => stats.scroll = stats.scroll.saturating_add(1),
            Action::Up => stats.scroll = stats.scroll.saturating_sub(1),
            Action::Back | Action::Quit => {
                let Screen::Stats(stats) = std::mem::replace(&mut self.screen, Screen::Home) else {
                    return;
                };
                self.screen = Screen::History(stats.back_to);
            }
            _ => {}
        }
    }

    // ---- Plan wizard ------------------------------------------------------

    /// Loads the planner's knowledge base once; false (with the reason shown) if it fails.
    fn ensure_knowledge(&mut self) -> bool {
        if self.knowledge.is_none() {
            match Knowledge::load() {
                Ok(k) => self.knowledge = Some(k),
                Err(errors) => {
                    let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
                    self.error(format!(
                        "the planner's knowledge base does not load: {first}"
                    ));
                    return false;
                }
            }
        }
        true
    }

    fn open_planner(&mut self) {
        if !self.ensure_knowledge() {
            return;
        }
        if let Some(k) = &self.knowledge {
            self.screen = Screen::Wizard(Box::new(WizardState::new(k)));
        }
    }

    fn handle_wizard(&mut self, action: Action, now: DateTime<Utc>) {
        let (Screen::Wizard(wizard), Some(knowledge)) = (&mut self.screen, &self.knowledge) else {
            return;
        };
        if wizard.plan.is_none() {
            match action {
                Action::Down => wizard.move_focus(1),
                Action::Up => wizard.move_focus(-1),
                Action::Left => wizard.cycle(-1),
                Action::Right => wizard.cycle(1),
                Action::Input(c) => wizard.type_char(c),
                Action::Backspace => wizard.backspace(),
                Action::Submit => {
                    let store = &self.store;
                    let mut unread = None;
                    wizard.generate(knowledge, |id| plan_history(store, id, now, &mut unread));
                    if let Some(e) = unread {
                        self.error(e);
                    }
                }
                Action::Dismiss | Action::Back => {
                    self.screen = Screen::Home;
                    self.refresh_home();
                }
                _ => {}
            }
            return;
        }
        match action {
            Action::Down => wizard.scroll = wizard.scroll.saturating_add(1),
            Action::Up => wizard.scroll = wizard.scroll.saturating_sub(1),
            Action::PageDown => wizard.scroll = wizard.scroll.saturating_add(15),
            Action::PageUp => wizard.scroll = wizard.scroll.saturating_sub(15),
            Action::EditPlan | Action::Back if wizard.from_lint.is_some() => {
                if let Some(lint) = wizard.from_lint.take() {
                    self.screen = Screen::Lint(lint);
                }
            }
            Action::EditPlan => wizard.plan = None,
            Action::SavePlan => self.save_plan(),
            Action::StartTabletop | Action::StartLive => {
                let mode = if action == Action::StartLive {
                    Mode::Live
                } else {
                    Mode::Tabletop
                };
                if let Some(loaded) = planned_playbook(wizard) {
                    self.request_start(&loaded, mode, now);
                }
            }
            Action::Back => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }

    // ---- Lint ---------------------------------------------------------------

    /// Shows the findings of a linted migration.
    pub fn open_lint(&mut self, state: LintState) {
        let n = state.report.findings.len();
        let what = if n == 0 {
            "no findings: p plans it as written".to_string()
        } else {
            format!("{n} findings: p plans the phased playbook from them")
        };
        self.screen = Screen::Lint(Box::new(state));
        self.info(what);
    }

    fn handle_lint(&mut self, action: Action, now: DateTime<Utc>) {
        if !matches!(self.screen, Screen::Lint(_)) {
            return;
        }
        if action == Action::OpenPlanner && !self.ensure_knowledge() {
            return;
        }
        let Screen::Lint(lint) = &mut self.screen else {
            return;
        };
        match action {
            Action::Down => lint.move_by(1),
            Action::Up => lint.move_by(-1),
            Action::Top => {
                lint.selected = 0;
                lint.scroll = 0;
            }
            Action::Bottom => lint.move_by(isize::MAX),
            Action::PageDown => lint.scroll = lint.scroll.saturating_add(5),
            Action::PageUp => lint.scroll = lint.scroll.saturating_sub(5),
            Action::OpenPlanner => {
                let Some(k) = &self.knowledge else {
                    return;
                };
                let store = &self.store;
                let mut unread = None;
                let planned = lint.plan(k, |id| plan_history(store, id, now, &mut unread));
                let planned = planned.map(|plan| {
                    let mut wizard = WizardState::new(k);
                    wizard.plan = Some(Box::new(plan));
                    wizard
                });
                match planned {
                    Ok(mut wizard) => {
                        let Screen::Lint(lint) = std::mem::replace(&mut self.screen, Screen::Home)
                        else {
                            return;
                        };
                        wizard.from_lint = Some(lint);
                        self.screen = Screen::Wizard(Box::new(wizard));
                        self.info("t rehearses it tabletop, e goes back to the findings");
                    }
                    Err(e) => self.error(format!("cannot plan from this migration: {e}")),
                }
                // After the outcome, so a log that could not be read is what stays shown.
                if let Some(e) = unread {
                    self.error(e);
                }
            }
            Action::Back | Action::Quit => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }

    /// Writes the plan and its rollback drill as TOML into the user's playbooks.
    fn save_plan(&mut self) {
        let Screen::Wizard(wizard) = &self.screen else {
            return;
        };
        let Some(plan) = &wizard.plan else {
            return;
        };
        let Some(dir) = self.playbooks_dir.clone() else {
            return self
                .error("no config directory to save playbooks in; use rollsafe plan --out".into());
        };
        let files = [
            (
                format!("{}.toml", plan.playbook.id),
                crate::planner::render::toml(plan, false),
            ),
            (
                format!("{}.toml", plan.rollback_playbook.id),
                crate::planner::render::toml(plan, true),
            ),
        ];
        let result = std::fs::create_dir_all(&dir).and_then(|()| {
            for (name, text) in &files {
                std::fs::write(dir.join(name), text)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.library = Library::load(Some(&dir));
                self.info(format!(
                    "saved {} and {} in {}",
                    files[0].0,
                    files[1].0,
                    dir.display()
                ));
            }
            Err(e) => self.error(format!("cannot save in {}: {e}", dir.display())),
        }
    }
}

/// The value after `current` in `all`, wrapping to none after the last.
fn next_in(all: &[String], current: Option<&String>) -> Option<String> {
    match current.and_then(|c| all.iter().position(|x| x == c)) {
        None => all.first().cloned(),
        Some(i) => all.get(i + 1).cloned(),
    }
}

/// The generated playbook as a loadable playbook: its TOML is the snapshot.
fn planned_playbook(wizard: &WizardState) -> Option<Loaded> {
    let plan = wizard.plan.as_ref()?;
    Some(Loaded {
        playbook: plan.playbook.clone(),
        origin: crate::playbook::Origin::File(format!("{}.toml", plan.playbook.id)),
        source: crate::planner::render::toml(plan, false),
    })
}

/// Starts the playbook's probe for a live drill (none for tabletop drills
/// or playbooks without one), with its variables resolved.
fn start_probe(
    playbook: &Playbook,
    mode: Mode,
    vars: &Vars,
) -> Result<Option<crate::probe::Probe>, crate::probe::ProbeError> {
    match (&playbook.probe, mode) {
        (Some(spec), Mode::Live) => {
            crate::probe::Probe::start(&vars::resolve_probe(spec, vars)).map(Some)
        }
        _ => Ok(None),
    }
}

/// Variables with whatever value is known; unknown ones are left out, so
/// `${NAME}` stays visible in tabletop drills.
fn partial_vars(
    playbook: &Playbook,
    overrides: &BTreeMap<String, String>,
    env: fn(&str) -> Option<String>,
) -> Vars {
    let mut values = BTreeMap::new();
    for var in &playbook.variables {
        let value = overrides
            .get(&var.name)
            .map(|v| (v.clone(), VarSource::Override))
            .or_else(|| env(&var.name).map(|v| (v, VarSource::Environment)))
            .or_else(|| var.default.clone().map(|v| (v, VarSource::Default)));
        if let Some(value) = value {
            values.insert(var.name.clone(), value);
        }
    }
    Vars { values }
}

/// What the drill log says about a plan; a log that cannot be read plans
/// without history and leaves the reason in `unread`.
fn plan_history(
    store: &Store,
    plan_id: &str,
    now: DateTime<Utc>,
    unread: &mut Option<String>,
) -> PlanHistory {
    PlanHistory::read(store, plan_id, now).unwrap_or_else(|e| {
        *unread = Some(format!("planned without history: {e}"));
        PlanHistory::none(now)
    })
}
