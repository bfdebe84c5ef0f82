//! `rollsafe plan --from`: the statements of a linted migration become the planner's changes.
//! A statement with a hazard and a known operation gets that operation's phased recipe, with
//! the names from the SQL; every other statement is carried as written, as one plain step whose
//! rollback class comes from its findings. Pure: the CLI reads the files and runs the linter.

use std::collections::BTreeMap;

use super::intake::{Change, Intake, RawIntake};
use super::knowledge::{Knowledge, RollbackClass};
use super::plan::fill;
use crate::lint::changes::{SqlChange, StatementKind, per_row_default};
use crate::lint::{Direction, Finding, Report, StatementInfo};

/// Findings about the session, not the statement: the plan sets its own lock timeout.
const CONTEXT_RULES: [&str; 2] = ["pg-lock-timeout-missing", "mysql-lock-wait-timeout-missing"];

/// The changes read from a migration, and what was left out of the plan and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FromSql {
    pub changes: Vec<Change>,
    pub left_out: Vec<String>,
}

/// The lint catalogue's rollback word as the planner's class; "unknown" counts as data-dependent.
fn rollback_class(text: &str) -> RollbackClass {
    RollbackClass::parse(&text.replace('-', "_")).unwrap_or(RollbackClass::DataDependent)
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
    upper.trim_start().starts_with("VACUUM")
        || upper.split_whitespace().any(|w| w == "CONCURRENTLY")
}

/// Which up unit a statement belongs to, the same for its down side: a Liquibase changeset and
/// its rollback, a dbmate file's two sections, `x.up.sql` / `x.down.sql`, `up.sql` / `down.sql`,
/// Flyway `V1__x.sql` / `U1__x.sql`, sqitch `deploy/x.sql` / `revert/x.sql`.
fn partner_key(s: &StatementInfo) -> (String, String) {
    let (dir, name) = s.file.rsplit_once(['/', '\\']).unwrap_or(("", &s.file));
    let dir = match dir.rsplit_once(['/', '\\']) {
        Some((parent, "revert")) => format!("{parent}/deploy"),
        _ if dir == "revert" => "deploy".to_string(),
        _ => dir.to_string(),
    };
    let name = if name == "down.sql" {
        "up.sql".to_string()
    } else if let Some(stem) = name.strip_suffix(".down.sql") {
        format!("{stem}.up.sql")
    } else if let Some(rest) = name
        .strip_prefix('U')
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains("__"))
    {
        format!("V{rest}")
    } else {
        name.to_string()
    };
    let unit = s
        .unit
        .as_deref()
        .map(|u| {
            u.trim_end_matches(" rollback")
                .replace("migrate:down", "migrate:up")
        })
        .unwrap_or_default();
    (format!("{dir}/{name}"), unit)
}

/// The migration's own down statements, by the up unit they undo.
fn down_sides(report: &Report) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for s in &report.statement_list {
        if s.direction == Direction::Down && s.kind != StatementKind::Transaction {
            out.entry(partner_key(s)).or_default().push(s.text.clone());
        }
    }
    out
}

/// Turns a lint report into planner changes.
pub fn changes_from(k: &Knowledge, report: &Report) -> FromSql {
    let mut out = FromSql::default();
    let downs = down_sides(report);
    // The last plain step of each unit carries the unit's down script.
    let mut last_plain: BTreeMap<(String, String), usize> = BTreeMap::new();
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
                let lower = s.text.to_ascii_lowercase();
                let why = if ["lock_timeout", "statement_timeout", "lock_wait_timeout"]
                    .iter()
                    .any(|t| lower.contains(t))
                {
                    "every plan step sets its own lock and statement timeouts"
                } else {
                    "a session setting, and each plan step runs in its own session: add it to the steps that need it"
                };
                out.left_out
                    .push(format!("{at} {}: {why}", first_line(&s.text)));
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
            // A NOT NULL column whose default lint found evaluated per row rewrites the table:
            // its recipe is the phased one (nullable, default, backfill, SET NOT NULL), not
            // the instant add of a constant default.
            let per_row = hazards
                .iter()
                .any(|f| f.rule == "pg-add-column-volatile-default");
            let changes: Vec<SqlChange> = s
                .changes
                .iter()
                .flat_map(|c| {
                    per_row
                        .then(|| per_row_default(c, crate::lint::EngineKind::Postgres))
                        .flatten()
                        .unwrap_or_else(|| vec![c.clone()])
                })
                .collect();
            for c in &changes {
                out.changes.push(Change {
                    text: format!("{} ({at})", phrase(k, c)),
                    op: c.op.clone(),
                    params: c.params.clone(),
                    // A statement the recipe adds (e.g. SET DEFAULT) states its own class.
                    class: c.params.get("class").and_then(|t| RollbackClass::parse(t)),
                });
            }
        } else {
            last_plain.insert(partner_key(s), out.changes.len());
            out.changes.push(plain(s, &at, &findings));
        }
    }
    for (key, index) in last_plain {
        let Some(down) = downs.get(&key) else {
            continue;
        };
        let c = &mut out.changes[index];
        let script = down.join(";\n") + ";";
        let note = c.params.entry("note".into()).or_default();
        note.push_str(&format!(
            "\n\nThe migration's own down side for this unit (it undoes the unit as the file wrote it, not the phased steps):\n\n```sql\n{script}\n```"
        ));
        c.params.insert(
            "down".into(),
            "run the migration's own down side (in the step detail), newest unit first".into(),
        );
    }
    out
}

/// PostgreSQL `CREATE [UNIQUE] INDEX` / `DROP INDEX` of one index with `CONCURRENTLY` put in,
/// which is the whole safe alternative of their lint rules.
fn with_concurrently(text: &str, findings: &[&Finding]) -> Option<String> {
    let fixable = findings.iter().any(|f| {
        f.rule == "pg-create-index-non-concurrent" || f.rule == "pg-drop-index-non-concurrent"
    });
    let upper = text.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().take(3).collect();
    let head_ok = matches!(
        words.as_slice(),
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX"] | ["DROP", "INDEX", ..]
    );
    // DROP INDEX CONCURRENTLY takes one index and no CASCADE.
    let drop_ok =
        !upper.starts_with("DROP") || (!upper.contains(',') && !upper.contains("CASCADE"));
    if !fixable || !head_ok || !drop_ok || upper.contains("CONCURRENTLY") {
        return None;
    }
    let at = upper.find("INDEX")? + "INDEX".len();
    Some(format!("{} CONCURRENTLY{}", &text[..at], &text[at..]))
}

/// A statement carried as written.
fn plain(s: &StatementInfo, at: &str, findings: &[&Finding]) -> Change {
    let rewritten = with_concurrently(&s.text, findings);
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
            + if rewritten.is_some() {
                "\n\nrollsafe put CONCURRENTLY in, as the safe alternative says; it runs alone, outside a transaction."
            } else {
                "\n\nThe knowledge base has no phased recipe for it: it runs as written."
            }
    };
    let sql = rewritten.unwrap_or_else(|| s.text.clone());
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
    params.insert("expr".to_string(), sql.clone());
    params.insert("title".to_string(), format!("Run {at} as written"));
    params.insert("note".to_string(), note);
    params.insert("down".to_string(), down);
    Change {
        text: format!("{} ({at})", first_line(&s.text)),
        op: if needs_no_tx(&sql) {
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
    if report.statement_list.len() != report.statements {
        return Err(
            "the lint report kept no statements to plan from (lint with Options::statements)"
                .into(),
        );
    }
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
