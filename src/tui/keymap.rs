//! Keys per context. One table drives input, the footer hints and the help
//! screen, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, FilterField};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Home,
    Runner,
    Summary,
    History,
    Stats,
    /// Reviewing a generated plan (the form itself takes text: see [`wizard_action`]).
    PlanReview,
    /// The findings of a migration file (`rollsafe lint --tui`, or `m` on Home).
    Lint,
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [KeyCode],
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// The word shown in the footer; empty: only in help.
    pub hint: &'static str,
}

const fn bind(
    context: Context,
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        context,
        keys,
        label,
        action,
        help,
        hint,
    }
}

use Context::{History, Home, Lint, PlanReview, Runner, Stats, Summary};
use KeyCode::{Char, Down, End, Enter, Esc, Home as HomeKey, PageDown, PageUp, Up};

pub const BINDINGS: &[Binding] = &[
    bind(
        Home,
        &[Enter],
        "enter",
        Action::Open,
        "resume the drill, or start a tabletop drill of the playbook",
        "start",
    ),
    bind(
        Home,
        &[Char('t')],
        "t",
        Action::StartTabletop,
        "start a tabletop drill: talk it through, nothing runs",
        "tabletop",
    ),
    bind(
        Home,
        &[Char('l')],
        "l",
        Action::StartLive,
        "start a live drill: commands may run after you confirm each",
        "live",
    ),
    bind(
        Home,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "move down",
        "",
    ),
    bind(Home, &[Char('k'), Up], "k/↑", Action::Up, "move up", ""),
    bind(
        Home,
        &[HomeKey, Char('g')],
        "g",
        Action::Top,
        "first item",
        "",
    ),
    bind(
        Home,
        &[End, Char('G')],
        "G",
        Action::Bottom,
        "last item",
        "",
    ),
    bind(
        Home,
        &[Char('/')],
        "/",
        Action::Filter,
        "filter the playbooks by typed text (enter keeps it, esc clears it)",
        // Help only: the 80-column footer is full.
        "",
    ),
    bind(Home, &[Char('?')], "?", Action::Help, "every key", "help"),
    bind(Home, &[Char('q'), Esc], "q", Action::Quit, "quit", "quit"),
    bind(
        Runner,
        &[Char(' ')],
        "space",
        Action::Pass,
        "pass the selected step and move to the next",
        "pass",
    ),
    bind(
        Runner,
        &[Char('!')],
        "!",
        Action::Override,
        "record a refused outcome anyway, with a reason (a deviation)",
        "",
    ),
    bind(
        Runner,
        &[Char('c')],
        "c",
        Action::CloseFollowUp,
        "close the selected step's open follow-up, saying what was done",
        "",
    ),
    bind(
        Runner,
        &[Char('u')],
        "u",
        Action::Undo,
        "undo the latest outcome (logged; that step runs again)",
        "",
    ),
    bind(
        Runner,
        &[Char('f')],
        "f",
        Action::Fail,
        "fail the step (a reason is asked) and follow its on_fail path",
        "fail",
    ),
    bind(
        Runner,
        &[Char('s')],
        "s",
        Action::Skip,
        "skip the step, with a reason",
        "skip",
    ),
    bind(
        Runner,
        &[Char('b')],
        "b",
        Action::Block,
        "mark the step blocked, with a reason",
        "block",
    ),
    bind(
        Runner,
        &[Char('n')],
        "n",
        Action::Note,
        "add a note to the step (start it with TODO: for a follow-up)",
        "note",
    ),
    bind(
        Runner,
        &[Enter],
        "enter",
        Action::Open,
        "start (or restart) the selected step: its clock runs",
        "",
    ),
    bind(
        Runner,
        &[Char('r')],
        "r",
        Action::RunCommand,
        "live: run the step's command, after you confirm it",
        "run",
    ),
    bind(
        Runner,
        &[Char('v')],
        "v",
        Action::RunVerify,
        "live: run the step's verification, after you confirm it",
        "",
    ),
    bind(
        Runner,
        &[Char('x')],
        "x",
        Action::CancelCommand,
        "cancel the running command",
        "",
    ),
    bind(
        Runner,
        &[Char('p')],
        "p",
        Action::TogglePause,
        "pause or resume the drill clock",
        "pause",
    ),
    bind(
        Runner,
        &[Char('F')],
        "F",
        Action::Finish,
        "finish the drill and see the summary",
        "",
    ),
    bind(
        Runner,
        &[Char('a')],
        "a",
        Action::Abort,
        "abort the drill, with a reason",
        "abort",
    ),
    bind(
        Runner,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "select the next step",
        "",
    ),
    bind(
        Runner,
        &[Char('k'), Up],
        "k/↑",
        Action::Up,
        "select the previous step",
        "",
    ),
    bind(
        Runner,
        &[HomeKey, Char('g')],
        "g",
        Action::Top,
        "first step",
        "",
    ),
    bind(
        Runner,
        &[End, Char('G')],
        "G",
        Action::Bottom,
        "last step",
        "",
    ),
    bind(
        Runner,
        &[Char('.')],
        ".",
        Action::JumpToRunning,
        "select the running step (its command, else the active step)",
        "",
    ),
    bind(
        Runner,
        &[Char('o')],
        "o",
        Action::ToggleOutput,
        "make the command output pane large, or normal again",
        "",
    ),
    bind(
        Runner,
        &[PageUp, Char('K')],
        "K/PgUp",
        Action::ScrollOutputUp,
        "scroll the detail and output up",
        "",
    ),
    bind(
        Runner,
        &[PageDown, Char('J')],
        "J/PgDn",
        Action::ScrollOutputDown,
        "scroll the detail and output down",
        "",
    ),
    bind(
        Runner,
        &[Char('D')],
        "D",
        Action::TakeDrive,
        "take the drive of a drill you follow (refused while its driver is there)",
        "take drive",
    ),
    bind(
        Runner,
        &[Char('H')],
        "H",
        Action::HandOver,
        "hand the drive over: you follow; whoever follows can take it with D",
        "",
    ),
    bind(Runner, &[Char('?')], "?", Action::Help, "every key", "help"),
    bind(
        Runner,
        &[Char('q'), Esc],
        "q",
        Action::Back,
        "leave to Home; the drill stays resumable",
        "leave",
    ),
    bind(
        Summary,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "scroll down",
        "",
    ),
    bind(
        Summary,
        &[Char('k'), Up],
        "k/↑",
        Action::Up,
        "scroll up",
        "",
    ),
    bind(
        Summary,
        &[Char('q'), Esc, Enter],
        "q",
        Action::Back,
        "back to Home",
        "back",
    ),
    bind(
        Summary,
        &[Char('?')],
        "?",
        Action::Help,
        "every key",
        "help",
    ),
    bind(
        Home,
        &[Char('h')],
        "h",
        Action::OpenHistory,
        "history: every drill, newest first",
        "history",
    ),
    bind(
        History,
        &[Enter],
        "enter",
        Action::Open,
        "the drill's summary",
        "details",
    ),
    bind(
        History,
        &[Char('e')],
        "e",
        Action::ExportReport,
        "write the drill's after-action report (Markdown) to the current directory",
        "export report",
    ),
    bind(
        History,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "next drill",
        "",
    ),
    bind(
        History,
        &[Char('k'), Up],
        "k/↑",
        Action::Up,
        "previous drill",
        "",
    ),
    bind(
        History,
        &[PageDown],
        "PgDn",
        Action::PageDown,
        "a page down",
        "",
    ),
    bind(History, &[PageUp], "PgUp", Action::PageUp, "a page up", ""),
    bind(
        History,
        &[HomeKey, Char('g')],
        "g",
        Action::Top,
        "newest drill",
        "",
    ),
    bind(
        History,
        &[Char('?')],
        "?",
        Action::Help,
        "every key",
        "help",
    ),
    bind(
        History,
        &[Char('q'), Esc],
        "q",
        Action::Back,
        "back to Home",
        "back",
    ),
    bind(
        Home,
        &[Char('p')],
        "p",
        Action::OpenPlanner,
        "plan a migration: intake, phased playbook, verdict, checklist",
        "plan",
    ),
    bind(
        Home,
        &[Char('m')],
        "m",
        Action::OpenLint,
        "lint a migration file or directory: findings, then a plan from them",
        "lint",
    ),
    bind(
        Lint,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "next finding",
        "",
    ),
    bind(
        Lint,
        &[Char('k'), Up],
        "k/↑",
        Action::Up,
        "previous finding",
        "",
    ),
    bind(
        Lint,
        &[HomeKey, Char('g')],
        "g",
        Action::Top,
        "first finding",
        "",
    ),
    bind(
        Lint,
        &[End, Char('G')],
        "G",
        Action::Bottom,
        "last finding",
        "",
    ),
    bind(
        Lint,
        &[Char('p'), Enter],
        "p",
        Action::OpenPlanner,
        "plan from these findings: the phased playbook to review, then rehearse",
        "plan",
    ),
    bind(
        Lint,
        &[PageDown, Char('J')],
        "J",
        Action::PageDown,
        "scroll the finding's details down",
        "",
    ),
    bind(
        Lint,
        &[PageUp, Char('K')],
        "K",
        Action::PageUp,
        "scroll the finding's details up",
        "",
    ),
    bind(
        Lint,
        &[Char('/')],
        "/",
        Action::Filter,
        "show findings whose rule, file or message holds typed text (enter keeps it, esc clears it)",
        "",
    ),
    bind(Lint, &[Char('?')], "?", Action::Help, "every key", "help"),
    bind(
        Lint,
        &[Char('q'), Esc],
        "q",
        Action::Back,
        "back to Home",
        "home",
    ),
    bind(
        PlanReview,
        &[Char('t')],
        "t",
        Action::StartTabletop,
        "rehearse the plan now, tabletop",
        "tabletop",
    ),
    bind(
        PlanReview,
        &[Char('l')],
        "l",
        Action::StartLive,
        "rehearse the plan now, live",
        "live",
    ),
    bind(
        PlanReview,
        &[Char('w')],
        "w",
        Action::SavePlan,
        "save the plan and its rollback drill to your playbooks",
        "save",
    ),
    bind(
        PlanReview,
        &[Char('e'), Esc],
        "e",
        Action::EditPlan,
        "back to the form",
        "edit",
    ),
    bind(
        PlanReview,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "scroll down",
        "",
    ),
    bind(
        PlanReview,
        &[Char('k'), Up],
        "k/↑",
        Action::Up,
        "scroll up",
        "",
    ),
    bind(
        PlanReview,
        &[PageDown, Char('J')],
        "PgDn",
        Action::PageDown,
        "a page down",
        "",
    ),
    bind(
        PlanReview,
        &[PageUp, Char('K')],
        "PgUp",
        Action::PageUp,
        "a page up",
        "",
    ),
    bind(
        PlanReview,
        &[Char('?')],
        "?",
        Action::Help,
        "every key",
        "help",
    ),
    bind(
        PlanReview,
        &[Char('q')],
        "q",
        Action::Back,
        "back to Home",
        "home",
    ),
    bind(
        History,
        &[Char('s')],
        "s",
        Action::OpenStats,
        "statistics of the selected drill's playbook: trend, steps, recommendations",
        "stats",
    ),
    bind(
        History,
        &[Char('p')],
        "p",
        Action::CycleFilter(FilterField::Playbook),
        "filter by playbook (cycles through them)",
        "playbook",
    ),
    bind(
        History,
        &[Char('m')],
        "m",
        Action::CycleFilter(FilterField::Mode),
        "filter by mode: tabletop, live",
        "mode",
    ),
    bind(
        History,
        &[Char('f')],
        "f",
        Action::CycleFilter(FilterField::Status),
        "filter by status: running, completed, completed with failures, aborted",
        "status",
    ),
    bind(
        History,
        &[Char('d')],
        "d",
        Action::CycleFilter(FilterField::Since),
        "filter by date: last 7, 30, 90 days",
        "date",
    ),
    bind(
        History,
        &[Char('/')],
        "/",
        Action::Filter,
        "show drills whose id, playbook or operator holds typed text (enter keeps it, esc clears it)",
        "",
    ),
    bind(
        History,
        &[Char('c')],
        "c",
        Action::ClearFilters,
        "clear the filters",
        "",
    ),
    bind(
        Stats,
        &[Char('j'), Down],
        "j/↓",
        Action::Down,
        "scroll down",
        "",
    ),
    bind(Stats, &[Char('k'), Up], "k/↑", Action::Up, "scroll up", ""),
    bind(Stats, &[Char('?')], "?", Action::Help, "every key", "help"),
    bind(
        Stats,
        &[Char('q'), Esc],
        "q",
        Action::Back,
        "back to the history",
        "back",
    ),
];

/// The action a key means in a context, if any. Ctrl-C means the same
/// everywhere: cancel a running command, else leave.
pub fn action_for(context: Context, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == Char('c')).then_some(Action::Interrupt);
    }
    BINDINGS
        .iter()
        .find(|b| b.context == context && b.keys.contains(&key.code))
        .map(|b| b.action)
}

/// Keys in text prompts: everything printable is text.
pub fn prompt_action(key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            Char('c') => Some(Action::Dismiss),
            Char('u') => Some(Action::Input('\u{15}')),
            _ => None,
        };
    }
    match key.code {
        Enter => Some(Action::Submit),
        Esc => Some(Action::Dismiss),
        KeyCode::Backspace => Some(Action::Backspace),
        Char(c) => Some(Action::Input(c)),
        _ => None,
    }
}

/// Keys in the plan form: text goes into the focused field.
pub fn wizard_action(key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            Char('c') => Some(Action::Interrupt),
            Char('u') => Some(Action::Input('\u{15}')),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Tab | Down => Some(Action::Down),
        KeyCode::BackTab | Up => Some(Action::Up),
        KeyCode::Left => Some(Action::Left),
        KeyCode::Right => Some(Action::Right),
        Enter => Some(Action::Submit),
        Esc => Some(Action::Dismiss),
        KeyCode::Backspace => Some(Action::Backspace),
        Char(c) => Some(Action::Input(c)),
        _ => None,
    }
}

/// Keys in yes/no confirmations and choices.
pub fn confirm_action(key: KeyEvent) -> Option<Action> {
    match key.code {
        Char('y') | Char('Y') => Some(Action::Yes),
        Char('n') | Char('N') | Esc => Some(Action::No),
        Char(c) => Some(Action::Choose(c)),
        Enter => Some(Action::Submit),
        _ => None,
    }
}

pub fn footer(context: Context) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.context == context && !b.hint.is_empty())
}

pub fn help(context: Context) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.context == context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn each_key_is_bound_once_per_context() {
        for ctx in [Home, Runner, Summary, History, PlanReview, Stats, Lint] {
            let mut seen = Vec::new();
            for b in BINDINGS.iter().filter(|b| b.context == ctx) {
                for k in b.keys {
                    assert!(!seen.contains(k), "{k:?} bound twice in {ctx:?}");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn documented_runner_keys_do_what_the_issue_says() {
        assert_eq!(action_for(Runner, key(Char(' '))), Some(Action::Pass));
        assert_eq!(action_for(Runner, key(Char('f'))), Some(Action::Fail));
        assert_eq!(action_for(Runner, key(Char('s'))), Some(Action::Skip));
        assert_eq!(action_for(Runner, key(Char('n'))), Some(Action::Note));
        assert_eq!(action_for(Runner, key(Char('j'))), Some(Action::Down));
        assert_eq!(action_for(Runner, key(Down)), Some(Action::Down));
        assert_eq!(action_for(Runner, key(Char('k'))), Some(Action::Up));
        assert_eq!(action_for(Runner, key(Char('?'))), Some(Action::Help));
        assert_eq!(action_for(Runner, key(Char('q'))), Some(Action::Back));
        assert_eq!(action_for(Runner, key(Char('z'))), None);
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(Runner, ctrl_c), Some(Action::Interrupt));
        assert_eq!(action_for(Home, ctrl_c), Some(Action::Interrupt));
    }
}
