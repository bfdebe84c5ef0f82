//! The playbook as the rest of rollsafe sees it, whatever file it came from.
//!
//! Loaders (`toml_format`, `markdown`) turn text into these types after
//! validation, so code downstream never re-checks ids, durations or gotos.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a playbook is for; shown on Home and used to group history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PlaybookKind {
    #[default]
    Migration,
    Rollback,
    Incident,
    Gameday,
}

impl PlaybookKind {
    pub const ALL: [PlaybookKind; 4] = [
        PlaybookKind::Migration,
        PlaybookKind::Rollback,
        PlaybookKind::Incident,
        PlaybookKind::Gameday,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaybookKind::Migration => "migration",
            PlaybookKind::Rollback => "rollback",
            PlaybookKind::Incident => "incident",
            PlaybookKind::Gameday => "gameday",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a playbook was loaded from; kept for messages and for Home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "path", rename_all = "lowercase")]
pub enum Origin {
    /// Embedded in the binary; the string is the file name under `runbooks/`.
    Bundled(String),
    /// A file on disk (user config directory or a path given on the command line).
    File(String),
}

impl Origin {
    pub fn label(&self) -> &str {
        match self {
            Origin::Bundled(name) | Origin::File(name) => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    pub description: String,
    pub kind: PlaybookKind,
    pub tags: Vec<String>,
    /// Overall time budget, e.g. the RTO a rollback must meet.
    #[serde(with = "duration_secs_opt")]
    pub budget: Option<Duration>,
    /// Variables the commands refer to as `${NAME}`, with their defaults.
    pub variables: Vec<Variable>,
    /// Documents the steps rely on (vendor docs, RFCs); shown in `show`.
    pub sources: Vec<String>,
    pub phases: Vec<Phase>,
    /// A statement sampled on its own connection while a live drill runs.
    #[serde(default)]
    pub probe: Option<ProbeSpec>,
    /// What a Markdown page reads as; none for TOML playbooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageKind>,
}

/// Which database a probe talks to, and so which client it keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeEngine {
    Postgres,
    Mysql,
}

impl ProbeEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeEngine::Postgres => "postgres",
            ProbeEngine::Mysql => "mysql",
        }
    }

    /// `mariadb` is accepted as the same engine: one client protocol.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "postgres" | "postgresql" => Some(ProbeEngine::Postgres),
            "mysql" | "mariadb" => Some(ProbeEngine::Mysql),
            _ => None,
        }
    }
}

/// The `[probe]` table: what users feel while the steps run, measured.
/// `url` and `statement` may use `${NAME}` variables like step commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub engine: ProbeEngine,
    pub url: String,
    pub statement: String,
    /// Pause between the end of one sample and the start of the next.
    #[serde(with = "duration_millis")]
    pub interval: Duration,
    /// A sample slower than this counts as blocked.
    #[serde(with = "duration_millis")]
    pub blocked_after: Duration,
    /// Server-side bound on one sample (statement_timeout / max_statement_time),
    /// so a probe stuck on a lock can never hang rollsafe.
    #[serde(with = "duration_millis")]
    pub timeout: Duration,
}

impl ProbeSpec {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(20);
    /// Well above a healthy single-row write on loopback (well under 10 ms)
    /// and about where users start to notice a stalled request.
    pub const DEFAULT_BLOCKED_AFTER: Duration = Duration::from_millis(250);
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Markdown.
    pub detail: String,
    #[serde(with = "duration_secs_opt")]
    pub timebox: Option<Duration>,
    pub role: Option<String>,
    pub command: Option<String>,
    /// What the command is: something rollsafe may run, text to paste into a
    /// console, or code to read. Absent in older drill logs: runnable.
    #[serde(default, skip_serializing_if = "CommandKind::is_run")]
    pub command_kind: CommandKind,
    /// What the command printed where the page showed it (a transcript's
    /// output lines): what to expect, not something to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<String>,
    pub verify: Option<Verification>,
    /// How to undo this step, in words or commands.
    pub rollback: Option<String>,
    pub point_of_no_return: bool,
    pub on_fail: OnFail,
}

impl Step {
    /// The command rollsafe may run (live mode, `rehearse`): only a shell
    /// command; text for a console or for reference never runs.
    pub fn runnable_command(&self) -> Option<&str> {
        self.command
            .as_deref()
            .filter(|_| self.command_kind == CommandKind::Run)
    }
}

/// How a step's command is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "into")]
pub enum CommandKind {
    /// A shell command: live mode may run it (after the operator confirms).
    #[default]
    Run,
    /// Typed into a console, not a shell; the text says which one
    /// ("Rails console", "psql", "the session opened by `ssh db-1`").
    Paste(String),
    /// Code to read (a snippet of unknown language); nothing runs it.
    Reference,
}

impl CommandKind {
    pub fn is_run(&self) -> bool {
        *self == CommandKind::Run
    }

    /// One word for the runner and `show`: run, paste, reference.
    pub fn label(&self) -> &'static str {
        match self {
            CommandKind::Run => "run",
            CommandKind::Paste(_) => "paste",
            CommandKind::Reference => "reference",
        }
    }

    /// The sentence the runner shows above a command that does not run.
    pub fn describe(&self) -> Option<String> {
        match self {
            CommandKind::Run => None,
            CommandKind::Paste(into) => {
                Some(format!("paste into {into}; rollsafe does not run it"))
            }
            CommandKind::Reference => Some("for reference; rollsafe does not run it".to_string()),
        }
    }
}

/// What a Markdown page reads as; `check` warns about pages that are not procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// Steps to follow in order.
    Procedure,
    /// An alert's page: meaning, impact, diagnosis, mitigation.
    AlertRunbook,
    /// A list of things to tick off (`- [ ]`).
    Checklist,
    /// Explanations and links, not a procedure.
    Reference,
}

impl PageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Procedure => "procedure",
            PageKind::AlertRunbook => "alert runbook",
            PageKind::Checklist => "checklist",
            PageKind::Reference => "reference page",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub command: String,
    pub expect: Expectation,
}

/// What a verification command must produce to count as passed. Every
/// field that is set must hold; with none set, exit code 0 is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Expectation {
    pub exit_code: Option<i32>,
    pub contains: Option<String>,
    pub regex: Option<String>,
}

impl Expectation {
    /// Human wording for the runner and `show`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.exit_code {
            Some(code) => parts.push(format!("exit {code}")),
            None if self.contains.is_none() && self.regex.is_none() => {
                parts.push("exit 0".to_string())
            }
            None => {}
        }
        if let Some(text) = &self.contains {
            parts.push(format!("output contains \"{text}\""));
        }
        if let Some(re) = &self.regex {
            parts.push(format!("output matches /{re}/"));
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "action", content = "target")]
pub enum OnFail {
    /// Stop the drill here: the operator decides what happens next.
    #[default]
    Stop,
    /// Record the failure and carry on with the next step.
    Continue,
    /// Follow the rollback notes of the steps done so far, newest first.
    Rollback,
    /// Jump to another step (a recovery or rollback step).
    Goto(String),
}

impl OnFail {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "stop" => Some(OnFail::Stop),
            "continue" => Some(OnFail::Continue),
            "rollback" => Some(OnFail::Rollback),
            other => other
                .strip_prefix("goto:")
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(|t| OnFail::Goto(t.to_string())),
        }
    }

    pub fn label(&self) -> String {
        match self {
            OnFail::Stop => "stop".into(),
            OnFail::Continue => "continue".into(),
            OnFail::Rollback => "rollback".into(),
            OnFail::Goto(target) => format!("goto:{target}"),
        }
    }
}

/// A step's address in the playbook: phase index and step index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StepRef {
    pub phase: usize,
    pub step: usize,
}

impl Playbook {
    /// Steps in order with their phase, the order a drill walks them.
    pub fn steps(&self) -> impl Iterator<Item = (StepRef, &Phase, &Step)> {
        self.phases.iter().enumerate().flat_map(|(pi, phase)| {
            phase.steps.iter().enumerate().map(move |(si, step)| {
                (
                    StepRef {
                        phase: pi,
                        step: si,
                    },
                    phase,
                    step,
                )
            })
        })
    }

    pub fn step_count(&self) -> usize {
        self.phases.iter().map(|p| p.steps.len()).sum()
    }

    pub fn step(&self, at: StepRef) -> Option<&Step> {
        self.phases.get(at.phase)?.steps.get(at.step)
    }

    pub fn find_step(&self, id: &str) -> Option<StepRef> {
        self.steps().find(|(_, _, s)| s.id == id).map(|(r, _, _)| r)
    }

    /// Position of a step in the flat walking order.
    pub fn flat_index(&self, at: StepRef) -> Option<usize> {
        self.steps().position(|(r, _, _)| r == at)
    }

    pub fn step_at_flat(&self, index: usize) -> Option<StepRef> {
        self.steps().nth(index).map(|(r, _, _)| r)
    }

    pub fn points_of_no_return(&self) -> usize {
        self.steps()
            .filter(|(_, _, s)| s.point_of_no_return)
            .count()
    }

    /// Sum of the timeboxes that are set; an estimate when no history exists.
    pub fn timeboxed_total(&self) -> Duration {
        self.steps().filter_map(|(_, _, s)| s.timebox).sum()
    }
}

/// Serialize a `Duration` as whole milliseconds.
mod duration_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Serialize `Option<Duration>` as whole seconds so snapshots stay readable.
mod duration_secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}
