//! The analyser: statements in order, with context, to findings.

use std::collections::{HashMap, HashSet};

use sqlparser::ast::{
    AlterColumnOperation, AlterTableAlgorithm, AlterTableLock, AlterTableOperation,
    AlterTypeOperation, AlterViewOperation, ColumnDef, ColumnOption, DetachPartitionMode, Expr,
    ObjectName, ObjectType, Set, Statement, TableConstraint,
};

use super::changes::{StatementKind, changes_of, kind_of};
use super::inputs::{Direction, SourceFile};
use super::parse::{self, Parsed};
use super::rules::Catalogue;
use super::sections::{self, Unit};
use super::split::{self, Word};
use super::{EngineKind, Finding, Options, Report, Severity};
use crate::playbook::diagnostic::LineIndex;
use mysql::Online;

mod mysql;
mod postgres;
mod recognise;
mod sqlite;

/// Files parsed together before their analysis (see `parse`).
const PARSE_BATCH_FILES: usize = 32;

/// Findings of one rule listed per file; past it, one closing finding says how many more there
/// were (a generated 10,000-statement file must not bury the rest of the run).
pub const MAX_FINDINGS_PER_RULE_AND_FILE: usize = 100;

/// Lints files in order, carrying context from one to the next.
pub fn lint_files(files: &[SourceFile], opts: &Options, cat: &Catalogue) -> Report {
    let mut ctx = Context {
        cat,
        opts,
        new_tables: HashSet::new(),
        new_indexes: HashSet::new(),
        col_types: HashMap::new(),
        not_null: HashSet::new(),
        index_tables: HashMap::new(),
        not_null_checks: HashMap::new(),
        validated_not_null: HashSet::new(),
        new_constraints: HashSet::new(),
        findings: Vec::new(),
        statement_list: Vec::new(),
        retracted: HashSet::new(),
        per_rule: HashMap::new(),
        history: false,
        functions: HashMap::new(),
        statements: 0,
        unparsed: 0,
        file: FileState::default(),
    };
    // A batch of files at a time: holding every syntax tree of a large run at once costs more in
    // memory traffic than the parallel parse saves.
    let kind = opts.engine.kind;
    for batch in files.chunks(PARSE_BATCH_FILES) {
        let units: Vec<Vec<Unit>> = batch
            .iter()
            .map(|f| {
                sections::units(&f.text, f.direction)
                    .into_iter()
                    .filter(|u| u.runs_on(kind))
                    .collect()
            })
            .collect();
        let texts: Vec<&str> = units.iter().flatten().map(|u| u.text.as_str()).collect();
        let mut parsed = parse::parse_texts(&texts, kind).into_iter();
        for (file, units) in batch.iter().zip(units) {
            let with_statements = units
                .into_iter()
                .map(|u| {
                    let statements = parsed.next().unwrap_or_default();
                    (u, statements)
                })
                .collect();
            ctx.lint_file(file, with_statements);
        }
    }
    let history_files = files
        .iter()
        .filter(|f| opts.history.contains(&f.name))
        .count();
    Report {
        engine: opts.engine.to_string(),
        tool: opts.tool.clone(),
        tool_from: None,
        files: files.iter().map(|f| f.name.clone()).collect(),
        history_files,
        new_files: files.len() - history_files,
        statements: ctx.statements,
        unparsed: ctx.unparsed,
        findings: ctx
            .findings
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !ctx.retracted.contains(i))
            .map(|(_, f)| f)
            .collect(),
        statement_list: ctx.statement_list,
    }
}

#[derive(Default)]
struct FileState {
    name: String,
    direction: Option<Direction>,
    /// The tool wraps this file in a transaction.
    implicit_tx: bool,
    /// An explicit BEGIN is open.
    explicit_tx: bool,
    /// lock_timeout / statement_timeout / lock_wait_timeout set for the session.
    timeout_session: bool,
    /// SET LOCAL …: until the transaction ends.
    timeout_local: bool,
    timeout_reported: bool,
    /// MySQL `SET foreign_key_checks = 0`.
    fk_checks_off: bool,
    /// Byte range of the explicit BEGIN still open (reported if the file ends without COMMIT).
    open_begin: Option<(usize, usize)>,
    /// PostgreSQL: the first ACCESS EXCLUSIVE lock on an existing table taken in the current
    /// transaction ("t (line n)"); held until COMMIT.
    exclusive_held: Option<String>,
    exclusive_reported: bool,
    /// Tables already under that lock: a second statement on one of them waits for nothing.
    exclusive_tables: Vec<String>,
    /// Rules switched off for the whole file (`-- rollsafe:ignore-file RULE[,RULE]`).
    ignored: Vec<String>,
    /// The changeset or section being read.
    unit: Option<String>,
    /// SQLite table rebuild: `INSERT INTO new … SELECT … FROM old` (new → old) and the drop-table
    /// finding of each dropped table, withdrawn when the copy is renamed to the old name.
    copied_from: HashMap<String, String>,
    dropped: HashMap<String, usize>,
    /// Enum labels added with ALTER TYPE … ADD VALUE in the open transaction.
    new_enum_values: Vec<String>,
    /// drop-object findings on views and routines of this unit (index into `findings`) and the
    /// names not yet re-created: re-created in the same unit, nothing was dropped for good.
    recreatable_drops: Vec<(usize, HashSet<String>)>,
    /// pg-drop-default findings of the open transaction by (table, column): a SET DEFAULT on
    /// the column before COMMIT withdraws it (drop the default, change the type, set it again).
    pub(super) dropped_defaults: HashMap<(String, String), usize>,
}

struct Context<'a> {
    cat: &'a Catalogue,
    opts: &'a Options,
    /// Created earlier in the unit (file, changeset, section) being read: new and empty.
    new_tables: HashSet<String>,
    new_indexes: HashSet<String>,
    /// (table, column) → type as written, lower case.
    col_types: HashMap<(String, String), String>,
    /// (table, column) known to be NOT NULL (declared so, a primary key, or SET NOT NULL).
    not_null: HashSet<(String, String)>,
    /// Index name → its table, from the CREATE INDEX statements read (history included).
    index_tables: HashMap<String, String>,
    /// CHECK (col IS NOT NULL) NOT VALID constraints: name → (table, column).
    not_null_checks: HashMap<String, (String, String)>,
    validated_not_null: HashSet<(String, String)>,
    /// Constraint names added earlier in this unit.
    new_constraints: HashSet<String>,
    findings: Vec<Finding>,
    statement_list: Vec<super::StatementInfo>,
    /// Findings withdrawn by a later statement (indexes into `findings`).
    retracted: HashSet<usize>,
    /// This file's findings by rule: how many, and the first one held back by the cap.
    per_rule: HashMap<String, (usize, Option<Finding>)>,
    /// The file being read is history (`Options::history`): context only.
    history: bool,
    /// Functions created in the run: name (lower case, without schema) → volatile.
    functions: HashMap<String, bool>,
    statements: usize,
    unparsed: usize,
    file: FileState,
}

/// One statement being checked: where it is, its words, a cursor for locating operations.
struct Stmt<'s> {
    text: &'s str,
    start: usize,
    words: Vec<Word>,
    cursor: usize,
    ignored: Vec<String>,
    index: &'s LineIndex<'s>,
}

impl<'s> Stmt<'s> {
    /// A statement known only by its text and place (no words, no ignore comments): for
    /// findings about the file's shape rather than a parsed statement.
    fn bare(text: &'s str, start: usize, index: &'s LineIndex<'s>) -> Self {
        Stmt {
            text,
            start,
            words: Vec::new(),
            cursor: 0,
            ignored: Vec::new(),
            index,
        }
    }

    /// Absolute offset of the next occurrence of `word` (alternatives split by `|`) at or after
    /// the cursor; moves the cursor past it. The statement start when not found.
    fn at(&mut self, word: &str) -> usize {
        let alts: Vec<&str> = word.split('|').collect();
        match self.words[self.cursor.min(self.words.len())..]
            .iter()
            .position(|w| alts.contains(&w.upper.as_str()))
        {
            Some(i) => {
                let i = self.cursor + i;
                self.cursor = i + 1;
                self.start + self.words[i].offset
            }
            None => self.start,
        }
    }
    fn has(&self, word: &str) -> bool {
        self.words.iter().any(|w| w.upper == word)
    }
    fn first_line(&self) -> String {
        let line = self.text.lines().next().unwrap_or("").trim();
        if line.chars().count() > 100 {
            format!("{}…", line.chars().take(100).collect::<String>())
        } else {
            line.to_string()
        }
    }
}

fn table_name(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|p| p.to_string())
        .unwrap_or_default()
        .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_ascii_lowercase()
}

/// Rule ids after a `rollsafe:ignore` marker: separated by commas or spaces.
fn rule_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `a, b, c`, or the first five and how many more.
fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

fn ident(i: &sqlparser::ast::Ident) -> String {
    i.value.to_ascii_lowercase()
}

fn bare(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '`')
        .to_ascii_lowercase()
}

/// The name after `keyword` in the statement (skipping IF EXISTS), as written, lower case.
fn name_after(stmt: &Stmt<'_>, keyword: &str) -> String {
    stmt.words
        .iter()
        .skip_while(|w| w.upper != keyword)
        .skip(1)
        .find(|w| !matches!(w.upper.as_str(), "IF" | "EXISTS"))
        .map(|w| bare(&stmt.text[w.offset..w.offset + w.upper.len()]))
        .unwrap_or_else(|| "(quoted name)".into())
}

impl<'a> Context<'a> {
    fn kind(&self) -> EngineKind {
        self.opts.engine.kind
    }

    fn in_tx(&self) -> bool {
        self.file.explicit_tx || self.file.implicit_tx
    }

    fn timeout_in_force(&self) -> bool {
        self.opts.assume_lock_timeout || self.file.timeout_session || self.file.timeout_local
    }

    fn lint_file(&mut self, file: &SourceFile, units: Vec<(Unit, Vec<Parsed>)>) {
        let lower = file.text.to_ascii_lowercase();
        // Per-file markers that switch the tool's transaction off.
        // ory/x popx (gobuffalo/pop layout) runs `<version>_<name>[.<dialect>].autocommit.up.sql`
        // outside a transaction (popx/match.go).
        let no_tx_marker = lower.contains("+goose no transaction")
            || lower.contains("atlas:txmode none")
            || file.name.to_ascii_lowercase().contains(".autocommit.");
        let index = LineIndex::new(&file.text);
        let mut session_timeout = false;
        let ignored: Vec<String> = file
            .text
            .lines()
            .filter_map(|l| l.split_once("rollsafe:ignore-file").map(|(_, r)| r))
            .flat_map(rule_list)
            .collect();
        self.per_rule.clear();
        self.history = self.opts.history.contains(&file.name);
        // Liquibase changesets and dbmate sections are units of their own: each has its own
        // transaction (or none) and direction; positions stay those of the file.
        for (unit, statements) in units {
            let wraps = self.cat.tool_wraps(self.opts.tool.as_deref(), self.kind());
            self.file = FileState {
                name: file.name.clone(),
                direction: Some(unit.direction),
                implicit_tx: wraps && unit.transaction.unwrap_or(!no_tx_marker),
                timeout_session: session_timeout,
                ignored: ignored.clone(),
                unit: unit.label.clone(),
                timeout_reported: self.file.name == file.name && self.file.timeout_reported,
                ..FileState::default()
            };
            for open in split::unterminated(&unit.text, self.kind()) {
                let at = unit.base + open.offset;
                let stmt = Stmt::bare(
                    unit.text[open.offset..].lines().next().unwrap_or(""),
                    at,
                    &index,
                );
                self.emit(
                    &stmt,
                    "unterminated",
                    None,
                    at,
                    format!("{} opened here is never closed: the database rejects the file, or reads the rest of it as part of this {}; rollsafe ended it at the end of its line and checked the rest", open.what, if open.what.contains("comment") { "comment" } else { "string" }),
                    None,
                );
            }
            for parsed in statements {
                self.statements += 1;
                self.lint_chunk(&unit.text, unit.base, parsed, &index);
            }
            // SET lock_timeout holds for the connection, which the tool keeps across units.
            session_timeout = self.file.timeout_session;
            // Once its unit commits, what the unit created can be written to by the running
            // application: new (and empty) only inside the unit that created it.
            self.new_tables.clear();
            self.new_indexes.clear();
            self.new_constraints.clear();
        }
        if let Some((start, end)) = self.file.open_begin.take()
            && !self.file.implicit_tx
        {
            let text = &file.text[start..end];
            let stmt = Stmt::bare(text, start, &index);
            self.emit(
                &stmt,
                "unclosed-transaction",
                None,
                start,
                "BEGIN without COMMIT before the end of the file: the changes are rolled back when the connection closes".into(),
                None,
            );
        }
        self.close_capped();
        self.history = false;
    }

    /// One finding per rule that went over the cap in this file, at the first one held back.
    fn close_capped(&mut self) {
        let mut capped: Vec<(usize, Finding)> = self
            .per_rule
            .drain()
            .filter_map(|(_, (n, first))| first.map(|f| (n, f)))
            .collect();
        capped.sort_by_key(|a| (a.1.line, a.1.column));
        for (n, mut f) in capped {
            let more = n - MAX_FINDINGS_PER_RULE_AND_FILE;
            f.message = format!(
                "{more} more [{}] in this file from here on, not listed one by one (the first {MAX_FINDINGS_PER_RULE_AND_FILE} are); this one: {}",
                f.rule, f.message
            );
            self.findings.push(f);
        }
    }

    /// PostgreSQL: notes an ACCESS EXCLUSIVE lock on an existing table inside a transaction and
    /// reports the second one (once per transaction): both stay held until COMMIT.
    fn access_exclusive(&mut self, stmt: &mut Stmt<'_>, table: Option<&str>, at: usize) {
        if self.kind() != EngineKind::Postgres
            || !self.in_tx()
            || table.is_some_and(|t| self.new_tables.contains(t))
        {
            return;
        }
        let what = table.unwrap_or("an index's table").to_string();
        if let Some(t) = table {
            if self.file.exclusive_tables.iter().any(|held| held == t) {
                return;
            }
            self.file.exclusive_tables.push(t.to_string());
        }
        match self.file.exclusive_held.clone() {
            None => {
                let (line, _) = stmt.index.position(at);
                self.file.exclusive_held = Some(format!("{what} (line {line})"));
            }
            Some(first) if !self.file.exclusive_reported => {
                self.file.exclusive_reported = true;
                self.emit(
                    stmt,
                    "pg-exclusive-lock-held",
                    table,
                    at,
                    format!("ACCESS EXCLUSIVE on {what} while this transaction still holds ACCESS EXCLUSIVE on {first}: both are held until COMMIT"),
                    None,
                );
            }
            Some(_) => {}
        }
    }

    /// `source` is the unit's text, which starts at byte `base` of the file.
    fn lint_chunk(&mut self, source: &str, base: usize, parsed: Parsed, index: &LineIndex<'_>) {
        let Parsed {
            chunk,
            words,
            result,
        } = parsed;
        let text = chunk.text(source);
        let leading = chunk.leading(source);
        let ignored: Vec<String> = leading
            .lines()
            .chain(text.lines().take(1))
            .filter(|l| !l.contains("rollsafe:ignore-file"))
            .filter_map(|l| l.split_once("rollsafe:ignore").map(|(_, r)| r))
            .flat_map(rule_list)
            .collect();
        let mut stmt = Stmt {
            text,
            start: base + chunk.start,
            words,
            cursor: 0,
            ignored,
            index,
        };
        let keep = self.opts.statements;
        let (line, column) = index.position(base + chunk.start);
        if keep {
            self.statement_list.push(super::StatementInfo {
                file: self.file.name.clone(),
                line,
                column,
                direction: self.file.direction.unwrap_or(Direction::Up),
                unit: self.file.unit.clone(),
                text: text.to_string(),
                kind: StatementKind::Schema,
                parsed: true,
                in_tx: self.in_tx(),
                changes: Vec::new(),
            });
        }
        self.enum_value_used(&mut stmt);
        match result {
            Ok(statements) => {
                if let Some(info) = self.statement_list.last_mut().filter(|_| keep) {
                    info.kind = statements
                        .first()
                        .map(kind_of)
                        .unwrap_or(StatementKind::Schema);
                    info.changes = statements
                        .iter()
                        .flat_map(|s| changes_of(s, self.opts.engine.kind))
                        .collect();
                }
                for s in &statements {
                    self.check(s, &mut stmt);
                }
            }
            Err(_) if self.recognised(&mut stmt) => {}
            Err(err) => {
                let clauses = (stmt.words.first().is_some_and(|w| w.upper == "ALTER")
                    && stmt.words.get(1).is_some_and(|w| w.upper == "TABLE"))
                .then(|| parse::alter_table_clauses(stmt.text, self.kind()))
                .flatten()
                // Worth it when it reads something; else the keyword fallback may know it.
                .filter(|c| {
                    c.iter()
                        .any(|(text, r)| r.is_ok() || recognise::harmless_clause(text))
                });
                if let Some(clauses) = clauses {
                    // Check the clauses it can read; report the ones it cannot.
                    let mut failed = Vec::new();
                    for (clause, result) in clauses {
                        match result {
                            Ok(statements) => {
                                for s in &statements {
                                    self.check(s, &mut stmt);
                                }
                            }
                            Err(_) if recognise::harmless_clause(&clause) => {}
                            // Its position is in the rebuilt one-clause statement: drop it.
                            Err(e) => failed.push((
                                clause,
                                e.rsplit_once(" at Line: ")
                                    .map_or(e.clone(), |(what, _)| what.to_string()),
                            )),
                        }
                    }
                    let table = stmt
                        .words
                        .iter()
                        .skip(2)
                        .find(|x| !matches!(x.upper.as_str(), "IF" | "EXISTS" | "ONLY"))
                        .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                        .unwrap_or_default();
                    for (clause, e) in failed {
                        // A clause the keyword rules know, checked at its own place.
                        if let Some(off) = stmt.text.find(clause.as_str()) {
                            let text = &stmt.text[off..off + clause.len()];
                            let mut inner = Stmt {
                                text,
                                start: stmt.start + off,
                                words: split::words(text, self.kind()),
                                cursor: 0,
                                ignored: stmt.ignored.clone(),
                                index: stmt.index,
                            };
                            if self.pg18_not_null(&mut inner, &table) {
                                continue;
                            }
                        }
                        let short: String = clause.chars().take(60).collect();
                        self.unparsed(&mut stmt, &format!("clause \"{short}\": {e}"));
                    }
                } else if !self.fallback(&mut stmt) {
                    if let Some(info) = self.statement_list.last_mut().filter(|_| keep) {
                        info.parsed = false;
                    }
                    self.unparsed(&mut stmt, &err);
                }
            }
        }
    }

    /// PostgreSQL: a label added by ALTER TYPE … ADD VALUE in the open transaction, quoted in a
    /// later statement of that transaction: PostgreSQL refuses to use it before COMMIT.
    fn enum_value_used(&mut self, stmt: &mut Stmt<'_>) {
        if self.file.new_enum_values.is_empty()
            || !self.in_tx()
            || stmt.words.first().is_some_and(|w| w.upper == "ALTER")
                && stmt.words.get(1).is_some_and(|w| w.upper == "TYPE")
        {
            return;
        }
        let used: Vec<String> = self
            .file
            .new_enum_values
            .iter()
            .filter(|v| stmt.text.contains(&format!("'{}'", v.replace('\'', "''"))))
            .cloned()
            .collect();
        for v in used {
            let at = stmt.start;
            self.emit(
                stmt,
                "pg-enum-value-used-in-transaction",
                None,
                at,
                format!("'{v}' is used in the transaction that added it to its enum: PostgreSQL refuses this until COMMIT"),
                None,
            );
        }
    }

    fn unparsed(&mut self, stmt: &mut Stmt<'_>, err: &str) {
        self.unparsed += 1;
        let err = err.trim_start_matches("sql parser error: ");
        // Read before 18 too, so the message can say why this version refuses it.
        let newer = if self.kind() == EngineKind::Postgres
            && !self.opts.engine.at_least(18, 0, 0)
            && pg18_not_null_at(&stmt.words).is_some()
        {
            "; ADD CONSTRAINT c NOT NULL col is PostgreSQL 18 syntax, refused before 18 (if the server runs 18, lint with --engine postgres:18)"
        } else {
            ""
        };
        // "… at Line: L, Column: C" is relative to the statement: make it absolute.
        let (what, at) = match err.rsplit_once(" at Line: ") {
            Some((what, pos)) => {
                let mut nums = pos.split(", Column: ").map(|n| n.trim().parse::<usize>());
                match (nums.next(), nums.next()) {
                    (Some(Ok(l)), Some(Ok(c))) => {
                        let (sl, sc) = stmt.index.position(stmt.start);
                        let (line, col) = if l == 1 {
                            (sl, sc + c - 1)
                        } else {
                            (sl + l - 1, c)
                        };
                        (what.to_string(), format!(" (at {line}:{col})"))
                    }
                    _ => (err.to_string(), String::new()),
                }
            }
            None => (err.to_string(), String::new()),
        };
        let at_start = stmt.start;
        self.emit(
            stmt,
            "unparsed",
            None,
            at_start,
            format!(
                "cannot parse this statement as {}: {what}{at}{newer}; it was not checked",
                self.opts.engine
            ),
            None,
        );
    }

    /// Statements the parser does not know but whose hazard is clear from their keywords.
    fn fallback(&mut self, stmt: &mut Stmt<'_>) -> bool {
        let w: Vec<String> = stmt.words.iter().take(8).map(|w| w.upper.clone()).collect();
        let word = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
        let kind = self.kind();
        if kind == EngineKind::Postgres
            && word(0) == "DROP"
            && word(1) == "INDEX"
            && word(2) == "CONCURRENTLY"
        {
            self.concurrently_in_tx(stmt, "DROP INDEX CONCURRENTLY");
            return true;
        }
        if kind == EngineKind::Postgres && word(0) == "REINDEX" {
            let target = stmt
                .words
                .iter()
                .rfind(|x| {
                    !matches!(
                        x.upper.as_str(),
                        "CONCURRENTLY"
                            | "TABLE"
                            | "INDEX"
                            | "REINDEX"
                            | "SCHEMA"
                            | "DATABASE"
                            | "SYSTEM"
                    )
                })
                .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                .unwrap_or_default();
            if stmt.has("CONCURRENTLY") {
                self.concurrently_in_tx(stmt, "REINDEX CONCURRENTLY");
            } else {
                let at = stmt.start;
                self.lock_timeout(stmt, Some(&target), at);
                self.emit(
                    stmt,
                    "pg-reindex-non-concurrent",
                    Some(&target),
                    at,
                    format!("REINDEX of {target} without CONCURRENTLY locks the table"),
                    None,
                );
            }
            return true;
        }
        if kind == EngineKind::Postgres && word(0) == "CLUSTER" {
            let target = stmt
                .words
                .get(1)
                .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]));
            let at = stmt.start;
            self.lock_timeout(stmt, target.as_deref(), at);
            self.access_exclusive(stmt, target.as_deref(), at);
            self.emit(
                stmt,
                "pg-table-rewrite-command",
                target.as_deref(),
                at,
                "CLUSTER rewrites the table under ACCESS EXCLUSIVE".into(),
                None,
            );
            return true;
        }
        if kind == EngineKind::Postgres && word(0) == "ALTER" && word(1) == "TABLE" {
            let table = stmt
                .words
                .iter()
                .skip(2)
                .find(|x| !matches!(x.upper.as_str(), "IF" | "EXISTS" | "ONLY"))
                .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                .unwrap_or_default();
            if self.pg18_not_null(stmt, &table) {
                return true;
            }
        }
        // ALTER DOMAIN (not in sqlparser): adding a constraint or NOT NULL checks every column
        // that uses the domain unless the constraint is NOT VALID.
        if kind == EngineKind::Postgres && word(0) == "ALTER" && word(1) == "DOMAIN" {
            let ws = &stmt.words;
            let not_valid = ws
                .windows(2)
                .any(|p| p[0].upper == "NOT" && p[1].upper == "VALID");
            let sets_not_null = ws
                .windows(3)
                .any(|p| p[0].upper == "SET" && p[1].upper == "NOT" && p[2].upper == "NULL");
            if (word(3) == "ADD" && !not_valid) || sets_not_null {
                let domain = ws
                    .get(2)
                    .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                    .unwrap_or_default();
                let at = stmt.at("ADD|SET");
                self.emit(
                    stmt,
                    "pg-domain-constraint-validating",
                    None,
                    at,
                    format!(
                        "ALTER DOMAIN {domain} checks every column of every table that uses it"
                    ),
                    None,
                );
            }
            return true;
        }
        // ALTER TABLE t ALTER [COLUMN] c DROP IDENTITY | DROP EXPRESSION (not in sqlparser): the
        // column stops filling itself.
        if kind == EngineKind::Postgres
            && word(0) == "ALTER"
            && word(1) == "TABLE"
            && let Some(i) = stmt.words.windows(2).position(|p| {
                p[0].upper == "DROP" && matches!(p[1].upper.as_str(), "IDENTITY" | "EXPRESSION")
            })
            && i >= 4
        {
            let ws = &stmt.words;
            let text = |x: &Word| bare(&stmt.text[x.offset..x.offset + x.upper.len()]);
            let table = ws[2..]
                .iter()
                .find(|x| !matches!(x.upper.as_str(), "IF" | "EXISTS" | "ONLY"))
                .map(text)
                .unwrap_or_default();
            let column = text(&ws[i - 1]);
            let what = ws[i + 1].upper.clone();
            let at = stmt.start + ws[i].offset;
            self.lock_timeout(stmt, Some(&table), at);
            self.access_exclusive(stmt, Some(&table), at);
            self.emit(
                stmt,
                "pg-column-stops-generating",
                Some(&table),
                at,
                format!(
                    "DROP {what} on {table}.{column}: new rows no longer get a generated value"
                ),
                None,
            );
            return true;
        }
        // ALTER TABLE t SET SCHEMA s (not in sqlparser): the table leaves the schema the running
        // code finds it in, as good as a rename.
        if kind == EngineKind::Postgres
            && word(0) == "ALTER"
            && word(1) == "TABLE"
            && let Some(i) = stmt
                .words
                .windows(2)
                .position(|p| p[0].upper == "SET" && p[1].upper == "SCHEMA")
        {
            let ws = &stmt.words;
            let table = ws[2..i]
                .iter()
                .rfind(|x| !matches!(x.upper.as_str(), "IF" | "EXISTS" | "ONLY"))
                .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                .unwrap_or_default();
            let schema = ws
                .get(i + 2)
                .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                .unwrap_or_default();
            let at = ws[i].offset + stmt.start;
            self.lock_timeout(stmt, Some(&table), at);
            self.emit(
                stmt,
                "rename-table",
                Some(&table),
                at,
                format!(
                    "SET SCHEMA moves {table} to schema {schema}: queries by its old name break"
                ),
                None,
            );
            return true;
        }
        // CREATE FUNCTION with a clause the parser does not know (COST, SET, SUPPORT, …):
        // nothing to check in it, but its name and volatility are context for later DEFAULTs.
        let create_function = word(0) == "CREATE"
            && (word(1) == "FUNCTION" || (word(1) == "OR" && word(3) == "FUNCTION"));
        if kind == EngineKind::Postgres && create_function {
            // The (possibly schema-qualified) name runs from FUNCTION to its argument list.
            let name = stmt
                .words
                .iter()
                .find(|w| w.upper == "FUNCTION")
                .map(|w| {
                    let rest = &stmt.text[w.offset + w.upper.len()..];
                    bare(rest.split('(').next().unwrap_or("").trim())
                })
                .unwrap_or_default();
            let declared = stmt.has("IMMUTABLE") || stmt.has("STABLE");
            self.functions.insert(name.clone(), !declared);
            self.recreated(&name);
            return true;
        }
        if kind == EngineKind::Sqlite && word(0) == "PRAGMA" {
            return true;
        }
        false
    }

    /// PostgreSQL 18: `ADD CONSTRAINT c NOT NULL col [NOT VALID]` in `stmt` (a whole ALTER TABLE
    /// or one clause of it), which sqlparser does not read. Without NOT VALID it scans the table
    /// under ACCESS EXCLUSIVE like SET NOT NULL. `false` when not there (or before 18).
    fn pg18_not_null(&mut self, stmt: &mut Stmt<'_>, table: &str) -> bool {
        if self.kind() != EngineKind::Postgres || !self.opts.engine.at_least(18, 0, 0) {
            return false;
        }
        let ws = &stmt.words;
        let Some(i) = pg18_not_null_at(ws) else {
            return false;
        };
        let (name, col) = (&ws[i + 1], &ws[i + 4]);
        let table = table.to_string();
        let cname = bare(&stmt.text[name.offset..name.offset + name.upper.len()]);
        let column = bare(&stmt.text[col.offset..col.offset + col.upper.len()]);
        let not_valid = ws
            .windows(2)
            .skip(i + 4)
            .any(|p| p[0].upper == "NOT" && p[1].upper == "VALID");
        let at = stmt.start;
        self.lock_timeout(stmt, Some(&table), at);
        self.access_exclusive(stmt, Some(&table), at);
        self.new_constraints.insert(cname.clone());
        if not_valid {
            self.not_null_checks.insert(cname, (table, column));
        } else {
            let proven = self
                .validated_not_null
                .contains(&(table.clone(), column.clone()));
            let already = !self.not_null.insert((table.clone(), column.clone()));
            if !proven && !already {
                let at = stmt.at("CONSTRAINT");
                self.emit(stmt, "pg-set-not-null", Some(&table), at, format!("ADD CONSTRAINT {cname} NOT NULL {column} on {table} without NOT VALID scans the table under ACCESS EXCLUSIVE"), Some("append NOT VALID, then VALIDATE CONSTRAINT in a separate transaction".into()));
            }
        }
        true
    }

    /// DROP VIEW / FUNCTION / TYPE / SEQUENCE / DOMAIN / EXTENSION: no rows, but code (and other
    /// objects) still using it break.
    /// One finding per statement, naming every object it drops.
    fn drop_object(&mut self, stmt: &mut Stmt<'_>, what: &str, names: &[String]) {
        let at = stmt.start;
        let cascade = if stmt.has("CASCADE") {
            ", and CASCADE drops what depends on it"
        } else {
            ""
        };
        let before = self.findings.len();
        self.emit(
            stmt,
            "drop-object",
            None,
            at,
            format!(
                "DROP {what} {}: code still using it fails{cascade}",
                name_list(names)
            ),
            None,
        );
        if self.findings.len() > before
            && matches!(
                what,
                "VIEW" | "MATERIALIZED VIEW" | "FUNCTION" | "PROCEDURE"
            )
        {
            self.file
                .recreatable_drops
                .push((before, names.iter().cloned().collect()));
        }
    }

    /// A view or routine created: a drop of it earlier in this unit is withdrawn once every
    /// name that drop took is back (the usual way to change a view's columns).
    fn recreated(&mut self, name: &str) {
        let retracted = &mut self.retracted;
        self.file.recreatable_drops.retain_mut(|(i, names)| {
            names.remove(name);
            if names.is_empty() {
                retracted.insert(*i);
            }
            !names.is_empty()
        });
    }

    /// DROP COLUMN where the engine can do it in place (PostgreSQL, MySQL/MariaDB).
    fn drop_columns(&mut self, stmt: &mut Stmt<'_>, t: &str, columns: &[sqlparser::ast::Ident]) {
        let at = stmt.at("DROP");
        for c in columns {
            self.emit(
                stmt,
                "drop-column",
                Some(t),
                at,
                format!(
                    "DROP COLUMN {t}.{}: its data cannot be rolled back",
                    ident(c)
                ),
                None,
            );
        }
    }

    /// RENAME COLUMN: the same hazard on every engine.
    fn rename_column(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        old: &sqlparser::ast::Ident,
        new: &sqlparser::ast::Ident,
    ) {
        let at = stmt.at("RENAME");
        self.emit(
            stmt,
            "rename-column",
            Some(t),
            at,
            format!("RENAME COLUMN {t}.{} to {}", ident(old), ident(new)),
            None,
        );
    }

    /// ALTER TABLE … RENAME TO: reported; returns the new name (the caller carries a new table's
    /// newness over to it).
    fn rename_table(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        to: &sqlparser::ast::RenameTableNameKind,
    ) -> String {
        let at = stmt.at("RENAME");
        let new = match to {
            sqlparser::ast::RenameTableNameKind::As(n)
            | sqlparser::ast::RenameTableNameKind::To(n) => table_name(n),
        };
        self.emit(
            stmt,
            "rename-table",
            Some(t),
            at,
            format!("RENAME TABLE {t} to {new}"),
            None,
        );
        new
    }

    fn drop_database(&mut self, stmt: &mut Stmt<'_>, names: &[ObjectName], what: &str) {
        for n in names {
            let at = stmt.start;
            let name = table_name(n);
            self.emit(
                stmt,
                "drop-database",
                None,
                at,
                format!("{what} {name} deletes every table in it"),
                None,
            );
        }
    }

    fn concurrently_in_tx(&mut self, stmt: &mut Stmt<'_>, what: &str) {
        if self.in_tx() {
            let how = if self.file.explicit_tx {
                "inside the BEGIN … COMMIT of this file".to_string()
            } else {
                let tool = self.opts.tool.as_deref().unwrap_or("the tool");
                format!("inside the transaction {tool} wraps this file in")
            };
            let fix = self
                .opts
                .tool
                .as_deref()
                .and_then(|t| self.cat.tool(t))
                .map(|t| t.no_tx.clone());
            let at = stmt.at("CONCURRENTLY");
            self.emit(
                stmt,
                "pg-concurrently-in-transaction",
                None,
                at,
                format!("{what} runs {how}: PostgreSQL refuses it"),
                fix,
            );
        }
    }

    /// Reports a missing lock timeout once per file, before the first lock-taking statement on
    /// an existing table.
    fn lock_timeout(&mut self, stmt: &mut Stmt<'_>, table: Option<&str>, at: usize) {
        if self.file.timeout_reported || self.timeout_in_force() {
            return;
        }
        if table.is_some_and(|t| self.new_tables.contains(t)) {
            return;
        }
        let (rule, what) = match self.kind() {
            EngineKind::Postgres => ("pg-lock-timeout-missing", "lock_timeout"),
            EngineKind::Mysql | EngineKind::Mariadb => {
                ("mysql-lock-wait-timeout-missing", "lock_wait_timeout")
            }
            EngineKind::Sqlite => return,
        };
        let before = self.findings.len();
        self.emit(
            stmt,
            rule,
            table,
            at,
            format!(
                "no {what} is set before this statement takes its lock{}",
                table.map(|t| format!(" on {t}")).unwrap_or_default()
            ),
            None,
        );
        if self.findings.len() > before {
            self.file.timeout_reported = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        stmt: &Stmt<'_>,
        rule_id: &str,
        table: Option<&str>,
        at: usize,
        message: String,
        extra_fix: Option<String>,
    ) {
        let Some(rule) = self.cat.rule(rule_id) else {
            debug_assert!(false, "unknown rule {rule_id}");
            return;
        };
        if self.history {
            return;
        }
        if !rule.applies(&self.opts.engine)
            || self.opts.disabled.iter().any(|d| d == rule_id)
            || stmt.ignored.iter().any(|d| d == rule_id || d == "all")
            || self.file.ignored.iter().any(|d| d == rule_id || d == "all")
        {
            return;
        }
        if rule.new_table_exempt && table.is_some_and(|t| self.new_tables.contains(t)) {
            return;
        }
        let mut severity = rule.severity;
        let mut message = message;
        if rule.size_sensitive
            && let Some(t) = table
            && let Some(&rows) = self.opts.rows.get(t)
        {
            if rows >= self.cat.size.large_rows {
                severity = severity.raised();
                message.push_str(&format!(" ({t}: {rows} rows: severity raised)"));
            } else if rows < self.cat.size.small_rows {
                severity = severity.lowered();
                message.push_str(&format!(" ({t}: {rows} rows: severity lowered)"));
            }
        }
        let (line, column) = stmt.index.position(at);
        let suggestion = match extra_fix {
            Some(extra) => format!("{extra}; {}", rule.fix),
            None => rule.fix.clone(),
        };
        let finding = Finding {
            file: self.file.name.clone(),
            line,
            column,
            rule: rule.id.clone(),
            severity,
            message,
            why: rule.why.clone(),
            suggestion,
            lock: rule.lock.clone(),
            breaks: Some(rule.breaks.clone()).filter(|b| !b.is_empty()),
            rollback: rule.rollback.clone(),
            lossy_rollback: rule.rollback == "lossy",
            direction: self.file.direction.unwrap_or(Direction::Up),
            statement: stmt.first_line(),
            source: rule.source.clone(),
            stmt: self.statement_list.len().saturating_sub(1),
        };
        let seen = self.per_rule.entry(rule.id.clone()).or_insert((0, None));
        seen.0 += 1;
        if seen.0 > MAX_FINDINGS_PER_RULE_AND_FILE {
            seen.1.get_or_insert(finding);
            return;
        }
        self.findings.push(finding);
    }

    fn check(&mut self, s: &Statement, stmt: &mut Stmt<'_>) {
        let kind = self.kind();
        match s {
            Statement::StartTransaction { .. } => {
                self.file.explicit_tx = true;
                self.file.open_begin = Some((stmt.start, stmt.start + stmt.text.len()));
            }
            Statement::Commit { .. }
            | Statement::Rollback {
                savepoint: None, ..
            } => {
                self.file.explicit_tx = false;
                self.file.timeout_local = false;
                self.file.open_begin = None;
                self.file.exclusive_held = None;
                self.file.exclusive_reported = false;
                self.file.exclusive_tables.clear();
                self.file.new_enum_values.clear();
                self.file.dropped_defaults.clear();
            }
            Statement::Set(set) => self.check_set(set),
            Statement::CreateTable(ct) => {
                let t = table_name(&ct.name);
                for c in &ct.columns {
                    self.col_types.insert(
                        (t.clone(), ident(&c.name)),
                        c.data_type.to_string().to_ascii_lowercase(),
                    );
                    if c.options.iter().any(|o| {
                        matches!(
                            o.option,
                            ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
                        )
                    }) {
                        self.not_null.insert((t.clone(), ident(&c.name)));
                    }
                }
                self.new_tables.insert(t);
            }
            Statement::CreateIndex(ci) => {
                let t = table_name(&ci.table_name);
                if let Some(n) = &ci.name {
                    self.index_tables.insert(table_name(n), t.clone());
                    if self.new_tables.contains(&t) {
                        self.new_indexes.insert(table_name(n));
                    }
                }
                match kind {
                    EngineKind::Postgres => {
                        if ci.concurrently {
                            self.concurrently_in_tx(stmt, "CREATE INDEX CONCURRENTLY");
                        } else {
                            let at = stmt.start;
                            self.lock_timeout(stmt, Some(&t), at);
                            let what = if ci.unique {
                                "CREATE UNIQUE INDEX"
                            } else {
                                "CREATE INDEX"
                            };
                            self.emit(stmt, "pg-create-index-non-concurrent", Some(&t), at, format!("{what} on {t} without CONCURRENTLY blocks writes while it builds"), None);
                        }
                    }
                    EngineKind::Mysql | EngineKind::Mariadb => {
                        let at = stmt.start;
                        self.lock_timeout(stmt, Some(&t), at);
                        let before = self.findings.len();
                        self.mysql_explicit(stmt, &t, &ci.alter_options, Online::Inplace, at);
                        if !stmt.has("FULLTEXT") && !stmt.has("SPATIAL") {
                            self.secondary_index_builds_online(before);
                        }
                    }
                    EngineKind::Sqlite => {}
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => match object_type {
                ObjectType::Table => {
                    let all: Vec<String> = names.iter().map(table_name).collect();
                    // Tables created earlier in this unit are new and empty: not a loss.
                    let existing: Vec<String> = all
                        .iter()
                        .filter(|t| !self.new_tables.contains(*t))
                        .cloned()
                        .collect();
                    let at = stmt.start;
                    let first = existing.first().or(all.first()).cloned();
                    self.lock_timeout(stmt, first.as_deref(), at);
                    for t in &existing {
                        self.access_exclusive(stmt, Some(t), at);
                    }
                    if let Some(t) = existing.first() {
                        let before = self.findings.len();
                        let message = if existing.len() == 1 {
                            format!("DROP TABLE {t} deletes the table and its rows")
                        } else {
                            format!(
                                "DROP TABLE {} deletes the tables and their rows",
                                name_list(&existing)
                            )
                        };
                        self.emit(stmt, "drop-table", Some(t), at, message, None);
                        if self.findings.len() > before && existing.len() == 1 {
                            self.file.dropped.insert(t.clone(), before);
                        }
                    }
                    for t in &all {
                        self.new_tables.remove(t);
                    }
                }
                ObjectType::Index if kind == EngineKind::Postgres => {
                    let existing: Vec<String> = names
                        .iter()
                        .map(table_name)
                        .filter(|i| !self.new_indexes.contains(i))
                        .collect();
                    if !existing.is_empty() {
                        let at = stmt.start;
                        // The table, when every index dropped is known to be on one.
                        let tables: HashSet<Option<&String>> =
                            existing.iter().map(|i| self.index_tables.get(i)).collect();
                        let table = match tables.into_iter().collect::<Vec<_>>().as_slice() {
                            [Some(t)] => Some(t.to_string()),
                            _ => None,
                        };
                        self.lock_timeout(stmt, table.as_deref(), at);
                        self.access_exclusive(stmt, table.as_deref(), at);
                        self.emit(stmt, "pg-drop-index-non-concurrent", None, at, format!("DROP INDEX {} without CONCURRENTLY takes ACCESS EXCLUSIVE on its table", name_list(&existing)), None);
                    }
                }
                ObjectType::Database => self.drop_database(stmt, names, "DROP DATABASE"),
                // A MySQL schema is a database; a PostgreSQL one takes its tables only with CASCADE.
                ObjectType::Schema if kind != EngineKind::Postgres || stmt.has("CASCADE") => {
                    self.drop_database(stmt, names, "DROP SCHEMA")
                }
                ObjectType::View
                | ObjectType::MaterializedView
                | ObjectType::Sequence
                | ObjectType::Type => {
                    let names: Vec<String> = names.iter().map(table_name).collect();
                    self.drop_object(stmt, &object_type.to_string(), &names);
                }
                _ => {}
            },
            Statement::DropFunction(_)
            | Statement::DropProcedure { .. }
            | Statement::DropDomain(_)
            | Statement::DropExtension(_) => {
                let what = stmt
                    .words
                    .get(1)
                    .map(|w| w.upper.clone())
                    .unwrap_or_default();
                let name = name_after(stmt, &what);
                self.drop_object(stmt, &what, &[name]);
            }
            Statement::CreateView(cv) => self.recreated(&table_name(&cv.name)),
            Statement::CreateFunction(cf) => {
                let name = table_name(&cf.name);
                // VOLATILE unless declared otherwise (PostgreSQL docs, CREATE FUNCTION).
                let volatile = !matches!(
                    cf.behavior,
                    Some(
                        sqlparser::ast::FunctionBehavior::Immutable
                            | sqlparser::ast::FunctionBehavior::Stable
                    )
                );
                self.functions.insert(name.clone(), volatile);
                self.recreated(&name);
            }
            Statement::CreateProcedure { name, .. } => self.recreated(&table_name(name)),
            Statement::AlterView(av) => {
                if let AlterViewOperation::RenameTo { .. } | AlterViewOperation::SetSchema { .. } =
                    &av.operation
                {
                    let v = table_name(&av.name);
                    let at = stmt.at("RENAME|SET");
                    self.lock_timeout(stmt, Some(&v), at);
                    self.emit(
                        stmt,
                        "rename-table",
                        Some(&v),
                        at,
                        format!("ALTER VIEW {v} {}", av.operation),
                        None,
                    );
                }
            }
            Statement::Vacuum(v) if v.full => {
                let t = v.table_name.as_ref().map(table_name);
                let at = stmt.start;
                self.lock_timeout(stmt, t.as_deref(), at);
                self.access_exclusive(stmt, t.as_deref(), at);
                self.emit(
                    stmt,
                    "pg-table-rewrite-command",
                    t.as_deref(),
                    at,
                    "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE".into(),
                    None,
                );
            }
            Statement::Truncate(tr) => {
                let cascade = stmt.has("CASCADE");
                for target in &tr.table_names {
                    let t = table_name(&target.name);
                    let at = stmt.start;
                    self.lock_timeout(stmt, Some(&t), at);
                    self.access_exclusive(stmt, Some(&t), at);
                    self.emit(
                        stmt,
                        "truncate",
                        Some(&t),
                        at,
                        format!(
                            "TRUNCATE {t}{} deletes every row",
                            if cascade { " CASCADE" } else { "" }
                        ),
                        None,
                    );
                }
            }
            Statement::Insert(_) if kind == EngineKind::Sqlite => {
                let after = |w: &str| {
                    stmt.words
                        .iter()
                        .skip_while(|x| x.upper != w)
                        .nth(1)
                        .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                };
                if let (Some(to), Some(from)) = (after("INTO"), after("FROM")) {
                    self.file.copied_from.insert(to, from);
                }
            }
            Statement::Update(u) if u.selection.is_none() => {
                let t = bare(
                    u.table
                        .relation
                        .to_string()
                        .split_whitespace()
                        .next()
                        .unwrap_or(""),
                );
                let at = stmt.start;
                self.emit(
                    stmt,
                    "whole-table-dml",
                    Some(&t),
                    at,
                    format!("UPDATE of every row of {t} in one statement"),
                    None,
                );
            }
            Statement::Delete(d) if d.selection.is_none() => {
                let t = stmt
                    .words
                    .iter()
                    .skip_while(|w| w.upper != "FROM")
                    .nth(1)
                    .map(|w| bare(&stmt.text[w.offset..w.offset + w.upper.len()]))
                    .unwrap_or_default();
                let at = stmt.start;
                self.emit(
                    stmt,
                    "whole-table-dml",
                    Some(&t),
                    at,
                    format!("DELETE of every row of {t} in one statement"),
                    None,
                );
            }
            Statement::RenameTable(renames) => {
                for r in renames {
                    let t = table_name(&r.old_name);
                    let at = stmt.at("RENAME");
                    self.lock_timeout(stmt, Some(&t), at);
                    self.emit(
                        stmt,
                        "rename-table",
                        Some(&t),
                        at,
                        format!("RENAME TABLE {t} to {}", table_name(&r.new_name)),
                        None,
                    );
                    if self.new_tables.remove(&t) {
                        self.new_tables.insert(table_name(&r.new_name));
                    }
                }
            }
            Statement::AlterType(at) => {
                if let AlterTypeOperation::RenameValue(rv) = &at.operation {
                    let pos = stmt.at("RENAME");
                    self.emit(
                        stmt,
                        "pg-rename-enum-value",
                        None,
                        pos,
                        format!(
                            "ALTER TYPE {} RENAME VALUE '{}' TO '{}'",
                            table_name(&at.name),
                            rv.from,
                            rv.to
                        ),
                        None,
                    );
                }
                if let AlterTypeOperation::AddValue(av) = &at.operation
                    && self.in_tx()
                {
                    self.file.new_enum_values.push(av.value.value.clone());
                    let pos = stmt.at("ADD");
                    self.emit(
                        stmt,
                        "pg-add-enum-value",
                        None,
                        pos,
                        format!(
                            "ALTER TYPE {} ADD VALUE inside a transaction",
                            table_name(&at.name)
                        ),
                        None,
                    );
                }
            }
            Statement::AlterTable(alter) => {
                let t = table_name(&alter.name);
                // Skip "ALTER TABLE" so operation keywords are found after the table name.
                stmt.cursor = 3.min(stmt.words.len());
                match kind {
                    EngineKind::Postgres => self.alter_pg(stmt, &t, &alter.operations),
                    EngineKind::Mysql | EngineKind::Mariadb => {
                        self.alter_mysql(stmt, &t, &alter.operations)
                    }
                    EngineKind::Sqlite => self.alter_sqlite(stmt, &t, &alter.operations),
                }
            }
            _ => {}
        }
    }

    fn check_set(&mut self, set: &Set) {
        let mut pairs: Vec<(String, String, bool)> = Vec::new();
        match set {
            Set::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                let local = scope
                    .as_ref()
                    .is_some_and(|s| s.to_string().eq_ignore_ascii_case("LOCAL"));
                let value = values.first().map(|v| v.to_string()).unwrap_or_default();
                pairs.push((variable.to_string().to_ascii_lowercase(), value, local));
            }
            Set::MultipleAssignments { assignments } => {
                for a in assignments {
                    pairs.push((
                        a.name.to_string().to_ascii_lowercase(),
                        a.value.to_string(),
                        false,
                    ));
                }
            }
            _ => {}
        }
        for (var, value, local) in pairs {
            let var = var
                .trim_start_matches("@@")
                .trim_start_matches("session.")
                .to_string();
            let value = value.trim_matches('\'').trim().to_ascii_lowercase();
            let off = value == "0" || value == "default" || value.is_empty();
            let is_timeout = match self.kind() {
                EngineKind::Postgres => {
                    matches!(var.as_str(), "lock_timeout" | "statement_timeout")
                }
                _ => var == "lock_wait_timeout",
            };
            if is_timeout {
                if local {
                    self.file.timeout_local = !off;
                } else {
                    self.file.timeout_session = !off;
                }
            }
            if var == "foreign_key_checks" {
                self.file.fk_checks_off = value == "0" || value == "off";
            }
        }
    }
}

/// `varchar(20)` → ("varchar", [20]); `character varying` → ("varchar", []).
fn type_parts(t: &str) -> (String, Vec<u32>) {
    let t = t.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((b, rest)) => (b.trim().to_string(), rest.trim_end_matches(')').to_string()),
        None => (t.clone(), String::new()),
    };
    // PostgreSQL's aliases of one type (docs, Data Types, table 8.1), so `int4` → `integer`
    // compares as the same type.
    let base = match base.as_str() {
        "character varying" => "varchar",
        "decimal" => "numeric",
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "int2" => "smallint",
        "bool" => "boolean",
        "float8" => "double precision",
        "float4" => "real",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        other => other,
    }
    .to_string();
    let args = args
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    (base, args)
}

/// Where PostgreSQL 18's `CONSTRAINT c NOT NULL col` starts in `ws` (the CONSTRAINT word), when
/// the words hold one.
fn pg18_not_null_at(ws: &[Word]) -> Option<usize> {
    let i = ws
        .windows(4)
        .position(|p| p[0].upper == "CONSTRAINT" && p[2].upper == "NOT" && p[3].upper == "NULL")?;
    ws.get(i + 4).map(|_| i)
}
