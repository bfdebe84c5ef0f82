//! `rollsafe plan --from`: the statements of a linted migration become the planner's changes.
//! A statement with a hazard and a known operation gets that operation's phased recipe, with
//! the names from the SQL; every other statement is carried as written, as one plain step whose
//! rollback class comes from its findings. Pure: the CLI reads the files and runs the linter.

use std::collections::BTreeMap;

use super::intake::{Change, Intake, RawIntake};
use super::knowledge::{Knowledge, RollbackClass};
use super::plan::fill;
use crate::lint::changes::{SqlChange, StatementKind};
use crate::lint::{Direction, Finding, Report, StatementInfo};

/// Findings about the session, not the statement: the plan sets its own lock timeout.
const CONTEXT_RULES: [&str; 2] = ["pg-lock-timeout-missing", "mysql-lock-wait-timeout-missing"];

/// The changes read from a migration, and what was left out of the plan and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FromSql {
    pub changes: Vec<Change>,
    pub left_out: Vec<String>,
}

fn rollback_class(text: &str) -> RollbackClass {
    match text {
        "lossless" => RollbackClass::Lossless,
        "slow" => RollbackClass::Slow,
        "lossy" => RollbackClass::Lossy,
        _ => RollbackClass::DataDependent,
    }
}

/// The change phrase of an operation with the SQL's values: the first pattern whose
/// placeholders are all known, e.g. `rename column users.name to full_name`.
fn phrase(k: &Knowledge, c: &SqlChange) -> String {
    let Some(op) = k.operation(&c.op) else {
        return c.op.clone();
    };
    let placeholder = regex::Regex::new(r"\{([a-z_]+)\}").expect("static regex");
    op.patterns
        .iter()
        .find(|p| {
            placeholder
                .captures_iter(p)
                .all(|m| c.params.contains_key(&m[1]))
        })
        .map(|p| fill(p, &c.params))
        .unwrap_or_else(|| op.label.clone())
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Must run outside a transaction block (PostgreSQL).
fn needs_no_tx(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let mut words = upper.split_whitespace();
    let first = words.next().unwrap_or("");
    first == "VACUUM" || upper.split_whitespace().any(|w| w == "CONCURRENTLY")
}

/// Turns a lint report into planner changes.
pub fn changes_from(k: &Knowledge, report: &Report) -> FromSql {
    let mut out = FromSql::default();
    for (i, s) in report.statement_list.iter().enumerate() {
        let at = format!("{}:{}", s.file, s.line);
        if s.direction == Direction::Down {
            out.left_out.push(format!(
                "{at} {}: a down/undo statement; the plan's rollback drill takes its place",
                first_line(&s.text)
            ));
            continue;
        }
        match s.kind {
            StatementKind::Transaction => {
                out.left_out.push(format!(
                    "{at} {}: the plan decides transactions per step",
                    first_line(&s.text)
                ));
                continue;
            }
            StatementKind::Session => {
                out.left_out.push(format!(
                    "{at} {}: every plan step sets its own lock and statement timeouts",
                    first_line(&s.text)
                ));
                continue;
            }
            _ => {}
        }
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.stmt == i && !CONTEXT_RULES.contains(&f.rule.as_str()))
            .collect();
        let hazards: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.rule != "unparsed" && f.rule != "pg-concurrently-in-transaction")
            .collect();
        if !hazards.is_empty() && !s.changes.is_empty() {
            for c in &s.changes {
                out.changes.push(Change {
                    text: format!("{} ({at})", phrase(k, c)),
                    op: c.op.clone(),
                    params: c.params.clone(),
                    class: None,
                });
            }
        } else {
            out.changes.push(plain(s, &at, &findings));
        }
    }
    out
}

/// A statement carried as written.
fn plain(s: &StatementInfo, at: &str, findings: &[&Finding]) -> Change {
    let creates = s
        .text
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("CREATE ")
        && !s.text.to_ascii_uppercase().contains("OR REPLACE");
    let adds_column = !s.changes.is_empty() && s.changes.iter().all(|c| c.op == "add-column");
    let class = if let Some(worst) = findings.iter().map(|f| rollback_class(&f.rollback)).max() {
        worst
    } else if !s.parsed || s.kind == StatementKind::Data {
        RollbackClass::DataDependent
    } else if creates || adds_column {
        RollbackClass::Lossless
    } else {
        RollbackClass::DataDependent
    };
    let note = if findings.is_empty() {
        "rollsafe lint found no hazard in this statement.".to_string()
    } else {
        findings
            .iter()
            .map(|f| {
                format!(
                    "rollsafe lint {}:{}: {} [{}]. Safe alternative: {}",
                    f.line, f.column, f.message, f.rule, f.suggestion
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n")
            + "\n\nThe knowledge base has no phased recipe for it: it runs as written."
    };
    let down = match class {
        RollbackClass::Lossless if creates => {
            "drop what it created (the migration's down side) while nothing depends on it".into()
        }
        RollbackClass::Lossless => {
            "the migration's down side, while no release writes to it".into()
        }
        _ => "reverse it by hand: rollsafe does not know the state before it".to_string(),
    };
    let mut params = BTreeMap::new();
    params.insert("expr".to_string(), s.text.clone());
    params.insert("at".to_string(), format!("{at} "));
    params.insert("note".to_string(), note);
    params.insert("down".to_string(), down);
    Change {
        text: format!("{} ({at})", first_line(&s.text)),
        op: if needs_no_tx(&s.text) {
            "sql-no-tx".into()
        } else {
            "sql".into()
        },
        params,
        class: Some(class),
    }
}

/// A plan's intake read from a linted migration, and what to tell the user about it.
#[derive(Debug, Clone)]
pub struct FromFiles {
    pub intake: Intake,
    /// Statements left out and defaults taken, one line each.
    pub notes: Vec<String>,
}

/// The intake for `rollsafe plan --from`: deployment, engine and rows from `raw`, the tool
/// the linter used (plain SQL when the planner has no recipes for it), the changes from the
/// report's statements. `deploy_given`: say so when the rolling default was taken.
pub fn intake_from(
    k: &Knowledge,
    report: &Report,
    mut raw: RawIntake,
    deploy_given: bool,
) -> Result<FromFiles, String> {
    let mut notes = Vec::new();
    raw.tool = match report.tool.as_deref() {
        Some(t) if k.tool(t).is_some() => t.to_string(),
        Some(t) => {
            notes.push(format!(
                "the planner has no recipes for {t}'s file format: steps are written as plain SQL (tool sql)"
            ));
            "sql".into()
        }
        None => "sql".into(),
    };
    if !deploy_given {
        notes.push(format!(
            "no --deploy given: planning for a {} deploy",
            raw.deploy
        ));
    }
    let mut intake = Intake::parse_context(k, &raw)?;
    let read = changes_from(k, report);
    notes.extend(read.left_out.iter().map(|n| format!("left out {n}")));
    if read.changes.is_empty() {
        return Err(format!(
            "{}: no statement to plan ({} read, {} left out)",
            report.files.join(", "),
            report.statements,
            read.left_out.len()
        ));
    }
    intake.changes = read.changes;
    let names: Vec<String> = report
        .files
        .iter()
        .map(|f| {
            let name = std::path::Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| f.clone());
            name.trim_end_matches(".sql").to_string()
        })
        .collect();
    intake.from = Some(match names.as_slice() {
        [one] => one.clone(),
        [first, ..] => format!("{first} and {} more", names.len() - 1),
        [] => "migration".into(),
    });
    Ok(FromFiles { intake, notes })
}
