//! `rollsafe lint`: reads migration SQL (files, directories in the layouts of common tools, or
//! standard input), parses it statement by statement with `sqlparser`, carries context across
//! statements and files (tables created earlier, transactions, timeouts in force, row counts) and
//! reports what will lock, rewrite, break the running application or make rollback lossy.
//! No terminal code here: `cli` prints, the rest returns values.

pub mod analyze;
pub mod changes;
pub mod config;
pub mod history;
pub mod inputs;
pub(crate) mod parse;
pub mod render;
pub mod rules;
pub mod sections;
pub mod split;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use analyze::lint_files;
pub use inputs::{Direction, SourceFile};
pub use rules::{Catalogue, Rule};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
}

impl EngineKind {
    pub fn id(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres",
            EngineKind::Mysql => "mysql",
            EngineKind::Mariadb => "mariadb",
            EngineKind::Sqlite => "sqlite",
        }
    }
}

/// Engine and version, e.g. `postgres:16`, `mysql:8.0.29`, `mariadb:10.11`, `sqlite:3.45`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Engine {
    pub kind: EngineKind,
    /// major, minor, patch.
    pub version: (u32, u32, u32),
}

impl Engine {
    pub fn parse(text: &str) -> Result<Engine, String> {
        let (name, version) = match text.split_once(':') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (text.trim().to_ascii_lowercase(), None),
        };
        let (kind, default) = match name.as_str() {
            "postgres" | "postgresql" | "pg" => (EngineKind::Postgres, None),
            "mysql" => (EngineKind::Mysql, None),
            "mariadb" => (EngineKind::Mariadb, None),
            "sqlite" | "sqlite3" => (EngineKind::Sqlite, Some((3, 45, 0))),
            _ => {
                return Err(format!(
                    "unknown engine \"{text}\"; accepted: postgres:<version>, mysql:<version>, mariadb:<version>, sqlite[:<version>] (e.g. postgres:16, mysql:8.0.29)"
                ));
            }
        };
        let version = match version.filter(|v| !v.is_empty()) {
            Some(v) => parse_version(v).ok_or_else(|| {
                format!("--engine {text}: \"{v}\" is not a version (e.g. 16, 8.0.29)")
            })?,
            None => default.ok_or_else(|| {
                format!(
                    "{} needs a version, the hazards depend on it: e.g. {}",
                    kind.id(),
                    match kind {
                        EngineKind::Postgres => "postgres:16",
                        EngineKind::Mysql => "mysql:8.0.29",
                        _ => "mariadb:10.11",
                    }
                )
            })?,
        };
        Ok(Engine { kind, version })
    }

    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.version >= (major, minor, patch)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version;
        write!(f, "{}:{a}.{b}.{c}", self.kind.id())
    }
}

pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let patch = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            _ => Severity::Error,
        }
    }
    fn lowered(self) -> Severity {
        match self {
            Severity::Error => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

/// What the linter is told besides the SQL.
#[derive(Debug, Clone)]
pub struct Options {
    pub engine: Engine,
    /// Migration tool id (decides transaction wrapping); `None`: no implicit transaction.
    pub tool: Option<String>,
    /// Row counts by table name (lower case, without schema).
    pub rows: BTreeMap<String, u64>,
    /// lock_timeout / lock_wait_timeout is set outside the files (role, connection string).
    pub assume_lock_timeout: bool,
    /// Rule ids switched off.
    pub disabled: Vec<String>,
    /// Keep every statement with what it changes (`Report::statement_list`), as planning from
    /// the files needs; off for a plain lint, which it would slow by about a sixth.
    pub statements: bool,
    /// Files (by `SourceFile::name`) already applied: replayed as schema context only, they
    /// report nothing, and the tables they create are no longer new once each file ends.
    pub history: std::collections::HashSet<String>,
}

impl Options {
    /// The row counts as `TABLE=COUNT`, the form `--rows` and the planner's
    /// intake take, so a plan made from lint sizes its steps by them too.
    pub fn row_flags(&self) -> Vec<String> {
        self.rows.iter().map(|(t, n)| format!("{t}={n}")).collect()
    }

    pub fn new(engine: Engine) -> Options {
        Options {
            engine,
            tool: None,
            rows: BTreeMap::new(),
            assume_lock_timeout: false,
            disabled: Vec::new(),
            statements: false,
            history: std::collections::HashSet::new(),
        }
    }
}

/// One hazard found in one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub why: String,
    pub suggestion: String,
    /// The lock taken and what it blocks, when the rule knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// What fails for the old or new application version during a rolling deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaks: Option<String>,
    /// lossless, slow, data-dependent, lossy or unknown.
    pub rollback: String,
    /// Rolling this statement back loses data.
    pub lossy_rollback: bool,
    /// up (forward migration) or down (rollback script).
    pub direction: Direction,
    /// The statement's first line.
    pub statement: String,
    pub source: String,
    /// Index into `Report::statement_list` (kept with `Options::statements`).
    #[serde(skip)]
    pub stmt: usize,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} [{}]",
            self.file,
            self.line,
            self.column,
            self.severity.as_str(),
            self.message,
            self.rule
        )
    }
}

/// The result of one lint run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub engine: String,
    pub tool: Option<String>,
    /// Where the tool came from: "--tool", or the file layout it was inferred from.
    pub tool_from: Option<String>,
    pub files: Vec<String>,
    /// How many of `files` were replayed as history (context only, nothing reported).
    pub history_files: usize,
    /// How many were linted as new (`files` minus `history_files`).
    pub new_files: usize,
    pub statements: usize,
    pub unparsed: usize,
    pub findings: Vec<Finding>,
    /// Every statement read, in order, for `rollsafe plan --from`.
    #[serde(skip)]
    pub statement_list: Vec<StatementInfo>,
}

/// One statement as read, with what it changes when rollsafe recognises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementInfo {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub direction: Direction,
    /// The unit of the file it belongs to: `changeset alice:1`, `changeset alice:1 rollback`,
    /// `migrate:up`, `migrate:down`; `None` for a plain file.
    pub unit: Option<String>,
    /// The whole statement, without the terminating semicolon.
    pub text: String,
    pub kind: changes::StatementKind,
    /// Parsed by sqlparser (or understood by the keyword fallback).
    pub parsed: bool,
    /// It runs inside a transaction (explicit, or the tool's) at this point.
    pub in_tx: bool,
    pub changes: Vec<changes::SqlChange>,
}

impl Report {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
    pub fn count_at_least(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= s).count()
    }
}

/// Parses `users=50000000`, `users=50m`, `events=2.5k` is not accepted (integers only).
pub fn parse_rows(text: &str) -> Result<(String, u64), String> {
    let (table, n) = text
        .split_once('=')
        .ok_or_else(|| format!("--rows expects TABLE=COUNT, got \"{text}\""))?;
    let clean: String = n
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect::<String>()
        .to_ascii_lowercase();
    let (digits, scale) = match clean.chars().last() {
        Some('k') => (&clean[..clean.len() - 1], 1_000),
        Some('m') => (&clean[..clean.len() - 1], 1_000_000),
        Some('b') => (&clean[..clean.len() - 1], 1_000_000_000),
        _ => (clean.as_str(), 1),
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("--rows {text}: \"{n}\" is not a row count (e.g. 50000000, 50m)"))?;
    let table = table.trim().to_ascii_lowercase();
    let table = table.rsplit('.').next().unwrap_or("").to_string();
    if table.is_empty() {
        return Err(format!("--rows {text}: no table name"));
    }
    Ok((table, count.saturating_mul(scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_and_versions() {
        let e = Engine::parse("postgres:16").unwrap();
        assert_eq!(e.kind, EngineKind::Postgres);
        assert_eq!(e.version, (16, 0, 0));
        assert!(Engine::parse("mysql:8.0.29").unwrap().at_least(8, 0, 29));
        assert!(Engine::parse("postgres").is_err());
        assert!(Engine::parse("oracle:19").is_err());
        assert_eq!(Engine::parse("sqlite").unwrap().kind, EngineKind::Sqlite);
    }

    #[test]
    fn rows() {
        assert_eq!(
            parse_rows("Users=50m").unwrap(),
            ("users".into(), 50_000_000)
        );
        assert_eq!(parse_rows("public.t=1_000").unwrap(), ("t".into(), 1000));
        assert!(parse_rows("t").is_err());
    }
}
