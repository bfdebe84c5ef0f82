//! What the operator means, independent of which key said it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: open the selection (Home) or start the selected step (runner).
    Open,
    StartTabletop,
    StartLive,
    Pass,
    Fail,
    Skip,
    Block,
    /// Record the outcome the lifecycle just refused, with a reason.
    Override,
    /// Take back the latest outcome.
    Undo,
    /// Close the selected step's open follow-up.
    CloseFollowUp,
    Note,
    /// Runner: take the drive of a drill this client follows.
    TakeDrive,
    /// Runner: give the drive up, so a follower can take it.
    HandOver,
    RunCommand,
    RunVerify,
    CancelCommand,
    TogglePause,
    Finish,
    Abort,
    ScrollOutputUp,
    ScrollOutputDown,
    /// Runner: the output pane large or normal.
    ToggleOutput,
    /// Runner: select the step whose command runs, else the active one.
    JumpToRunning,
    Help,
    OpenHistory,
    OpenStats,
    CycleFilter(FilterField),
    ClearFilters,
    OpenPlanner,
    /// Home: ask for a migration to lint.
    OpenLint,
    /// `/`: type text that narrows the list on screen.
    Filter,
    Left,
    Right,
    SavePlan,
    EditPlan,
    ExportReport,
    /// Leave the screen (the drill stays resumable).
    Back,
    Quit,
    /// Ctrl-C: cancel a running command, else leave (the drill stays resumable).
    Interrupt,
    // In dialogs.
    Input(char),
    Backspace,
    Submit,
    Dismiss,
    Yes,
    No,
    Choose(char),
}

/// What a history filter key changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Playbook,
    Mode,
    Status,
    Since,
}
