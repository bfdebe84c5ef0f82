//! The application state and the one place it changes: [`App::handle`].

mod dialog;
mod filter;
mod history;
mod home;
mod lint;
mod runner;
mod stats;
mod summary;
mod wizard;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use self::filter::TextFilter;
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
    /// `/`: text the drills' ids, playbooks and operators are narrowed by.
    pub search: TextFilter,
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
    /// Why record a refused outcome anyway (logged as a deviation).
    OverrideReason(Outcome),
    /// Why take back the latest outcome (optional).
    UndoReason,
    /// What was done about the selected step's follow-up (optional).
    CloseFollowUp,
    /// Home: which migration to lint.
    LintPath,
    /// Before a live drill: the value of a variable its commands use and
    /// nothing gave (kept for this session only, never written anywhere).
    SetVariable {
        name: String,
        /// Which steps use it, and how many more are missing after it.
        why: String,
    },
}

impl PromptKind {
    pub fn title(&self) -> String {
        let text = match self {
            PromptKind::SetVariable { name, why } => {
                return format!(
                    "${{{name}}} has no value ({why}). Type it (kept for this session only):"
                );
            }
            PromptKind::Note => "Note on this step (TODO: marks a follow-up)",
            PromptKind::FailReason => "Why did it fail? (enter to leave blank)",
            PromptKind::SkipReason => "Why skip this step?",
            PromptKind::BlockReason => "What blocks this step?",
            PromptKind::AbortReason => "Why abort the drill?",
            PromptKind::OverrideReason(_) => {
                "The drill refused this outcome. Why record it anyway? (logged as a deviation)"
            }
            PromptKind::UndoReason => {
                "Undo the latest outcome? The step runs again; both stay in the log. Why? (optional)"
            }
            PromptKind::CloseFollowUp => "Close this follow-up: what was done? (optional)",
            PromptKind::LintPath => {
                "Migration file or directory, then the engine (e.g. db/migrate postgres:16)"
            }
        };
        text.to_string()
    }

    /// What is typed, as the prompt shows it: a secret's value as dots, a
    /// URL's password masked.
    pub fn shown_input(&self, input: &str) -> String {
        match self {
            // Dots, one per character typed, so typing still shows progress.
            PromptKind::SetVariable { name, .. } if crate::playbook::vars::is_secret_name(name) => {
                "•".repeat(input.chars().count())
            }
            PromptKind::SetVariable { name, .. } => crate::playbook::vars::shown_value(name, input),
            _ => input.to_string(),
        }
    }

    pub fn label(&self) -> String {
        let text = match self {
            PromptKind::SetVariable { name, .. } => return format!(" Set ${{{name}}} "),
            PromptKind::Note => " Note ",
            PromptKind::FailReason => " Fail step ",
            PromptKind::SkipReason => " Skip step ",
            PromptKind::BlockReason => " Block step ",
            PromptKind::AbortReason => " Abort drill ",
            PromptKind::OverrideReason(Outcome::Passed) => " Override: pass ",
            PromptKind::OverrideReason(Outcome::Failed) => " Override: fail ",
            PromptKind::OverrideReason(Outcome::Skipped) => " Override: skip ",
            PromptKind::OverrideReason(Outcome::Blocked) => " Override: block ",
            PromptKind::UndoReason => " Undo outcome ",
            PromptKind::CloseFollowUp => " Close follow-up ",
            PromptKind::LintPath => " Lint a migration ",
        };
        text.to_string()
    }

    fn required(&self) -> bool {
        !matches!(
            self,
            PromptKind::FailReason | PromptKind::UndoReason | PromptKind::CloseFollowUp
        )
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
    /// The terminal's size (columns, rows) as last seen; `None` until known.
    /// Below the smallest layout no screen is visible, so keys do nothing.
    pub area: Option<(u16, u16)>,
    pub store: Store,
    pub library: Library,
    pub screen: Screen,
    pub dialog: Option<Dialog>,
    pub show_help: bool,
    /// Lines the help overlay is scrolled (it is taller than small terminals).
    pub help_scroll: u16,
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
    /// The planner form's answers as last left, restored when it reopens.
    wizard_answers: Option<Vec<crate::tui::wizard::Field>>,
    /// Variables typed in before a live drill (their source in its dialog).
    typed_vars: std::collections::BTreeSet<String>,
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
    /// `/` narrows the playbooks (drills to resume always show).
    pub filter: TextFilter,
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
            area: None,
            now,
            store,
            library,
            screen: Screen::Home,
            dialog: None,
            show_help: false,
            help_scroll: 0,
            status: None,
            should_quit: false,
            operator,
            overrides,
            playbooks_dir: None,
            home: HomeState::default(),
            knowledge: None,
            pending_live: None,
            typed_vars: Default::default(),
            wizard_answers: None,
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
            .chain(
                (0..self.library.playbooks.len())
                    .filter(|&i| {
                        let p = &self.library.playbooks[i].playbook;
                        self.home
                            .filter
                            .matches([p.id.as_str(), p.title.as_str(), p.kind.as_str()])
                    })
                    .map(HomeItem::Playbook),
            )
            .chain(
                (0..self.library.broken.len())
                    .filter(|&i| {
                        let label = self.library.broken[i].origin.label();
                        self.home.filter.matches([label])
                    })
                    .map(HomeItem::Broken),
            )
            .collect()
    }

    /// Whether keys are going into a list's `/` filter.
    pub fn filter_editing(&self) -> bool {
        match &self.screen {
            Screen::Home => self.home.filter.editing,
            Screen::History(history) => history.search.editing,
            Screen::Lint(lint) => lint.filter.editing,
            _ => false,
        }
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
            // Help only scrolls; any other key closes it. The view clamps the
            // scroll to the keys there are.
            match action {
                Action::Down => self.help_scroll = self.help_scroll.saturating_add(1),
                Action::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                _ => self.show_help = false,
            }
            return;
        }
        if self.dialog.is_some() {
            self.handle_dialog(action, now);
            return;
        }
        if action == Action::Help {
            self.show_help = true;
            self.help_scroll = 0;
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
            // Other clients' events: a driver's outcomes, a follower's notes.
            match runner.sync(&self.store) {
                Ok(Some(event)) => {
                    if runner.following.is_some() {
                        runner.following = Some(
                            self.store
                                .driver(runner.session.id, now)
                                .ok()
                                .flatten()
                                .unwrap_or_else(|| "nobody".into()),
                        );
                    }
                    if let Some(line) = crate::report::timeline_line(&event) {
                        self.status = Some(Status {
                            text: format!("logged: {}", line.replace(['`', '*'], "")),
                            error: false,
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.status = Some(Status {
                        text: e.to_string(),
                        error: true,
                    });
                    return;
                }
            }
            let Screen::Runner(runner) = &mut self.screen else {
                return;
            };
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
    /// A running command is cancelled and waited for (its group gets
    /// SIGTERM, then SIGKILL after 2 s), so its result and a note saying
    /// why are in the log, as `rehearse` leaves them.
    pub fn leave(&mut self, now: DateTime<Utc>) {
        if self.command_running() {
            if let Screen::Runner(runner) = &mut self.screen {
                runner.cancel_command();
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while self.command_running() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
                self.tick(Utc::now());
            }
            if let Screen::Runner(runner) = &mut self.screen {
                let step = runner.session.drill.commands.last().map(|c| c.step.clone());
                let _ = runner.note_on(
                    &mut self.store,
                    Utc::now(),
                    step,
                    "rollsafe was closed while the command ran: it was cancelled, and the drill stays resumable"
                        .to_string(),
                );
            }
        }
        if let Screen::Runner(runner) = &mut self.screen {
            let _ = runner.close_probe(&mut self.store, now);
            let _ = runner.heartbeat(&mut self.store, now, true);
            if runner.following.is_none() {
                // A follower can take the drive at once instead of after the lease.
                let _ = self.store.release_drive(runner.session.id);
            }
        }
    }

    /// Whether a drill is open that other clients may change: the screen
    /// polls the log often enough to show their events within a second.
    pub fn watching(&self) -> bool {
        matches!(&self.screen, Screen::Runner(r) if !r.is_over())
    }

    /// Whether a clock is on screen and should be redrawn each second.
    pub fn clock_visible(&self) -> bool {
        matches!(&self.screen, Screen::Runner(r) if !r.is_over() && !r.session.drill.is_paused())
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
