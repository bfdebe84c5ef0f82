//! The analyser: statements in order, with context, to findings.

use std::collections::{HashMap, HashSet};

use sqlparser::ast::{
    AlterColumnOperation, AlterTableAlgorithm, AlterTableLock, AlterTableOperation,
    AlterTypeOperation, AlterViewOperation, ColumnDef, ColumnOption, DetachPartitionMode, Expr,
    ObjectName, ObjectType, Set, Statement, TableConstraint,
};

use super::inputs::{Direction, SourceFile};
use super::parse::{self, Parsed};
use super::rules::Catalogue;
use super::split::Word;
use super::{EngineKind, Finding, Options, Report, Severity};
use crate::playbook::diagnostic::LineIndex;

/// Files parsed together before their analysis (see `parse`).
const PARSE_BATCH_FILES: usize = 32;

/// Lints files in order, carrying context from one to the next.
pub fn lint_files(files: &[SourceFile], opts: &Options, cat: &Catalogue) -> Report {
    let mut ctx = Context {
        cat,
        opts,
        new_tables: HashSet::new(),
        new_indexes: HashSet::new(),
        col_types: HashMap::new(),
        not_null_checks: HashMap::new(),
        validated_not_null: HashSet::new(),
        new_constraints: HashSet::new(),
        findings: Vec::new(),
        retracted: HashSet::new(),
        statements: 0,
        unparsed: 0,
        file: FileState::default(),
    };
    // A batch of files at a time: holding every syntax tree of a large run at once costs more in
    // memory traffic than the parallel parse saves.
    for batch in files.chunks(PARSE_BATCH_FILES) {
        for (file, statements) in batch
            .iter()
            .zip(parse::parse_files(batch, opts.engine.kind))
        {
            ctx.lint_file(file, statements);
        }
    }
    Report {
        engine: opts.engine.to_string(),
        tool: opts.tool.clone(),
        tool_from: None,
        files: files.iter().map(|f| f.name.clone()).collect(),
        statements: ctx.statements,
        unparsed: ctx.unparsed,
        findings: ctx
            .findings
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !ctx.retracted.contains(i))
            .map(|(_, f)| f)
            .collect(),
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
    /// SQLite table rebuild: `INSERT INTO new … SELECT … FROM old` (new → old) and the drop-table
    /// finding of each dropped table, withdrawn when the copy is renamed to the old name.
    copied_from: HashMap<String, String>,
    dropped: HashMap<String, usize>,
    /// Enum labels added with ALTER TYPE … ADD VALUE in the open transaction.
    new_enum_values: Vec<String>,
}

struct Context<'a> {
    cat: &'a Catalogue,
    opts: &'a Options,
    /// Created earlier in this run: new and empty.
    new_tables: HashSet<String>,
    new_indexes: HashSet<String>,
    /// (table, column) → type as written, lower case.
    col_types: HashMap<(String, String), String>,
    /// CHECK (col IS NOT NULL) NOT VALID constraints: name → (table, column).
    not_null_checks: HashMap<String, (String, String)>,
    validated_not_null: HashSet<(String, String)>,
    /// Constraint names added earlier in this run.
    new_constraints: HashSet<String>,
    findings: Vec<Finding>,
    /// Findings withdrawn by a later statement (indexes into `findings`).
    retracted: HashSet<usize>,
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

impl Stmt<'_> {
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

/// Is the expression `col IS NOT NULL`? Returns the column.
fn is_not_null_check(expr: &Expr) -> Option<String> {
    match expr {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident),
            _ => None,
        },
        Expr::Nested(inner) => is_not_null_check(inner),
        _ => None,
    }
}

/// PostgreSQL: does this ALTER TABLE operation take ACCESS EXCLUSIVE? The lighter ones are listed
/// in the ALTER TABLE reference (Description): VALIDATE CONSTRAINT and SET (storage parameters)
/// take SHARE UPDATE EXCLUSIVE, ADD FOREIGN KEY and ENABLE/DISABLE TRIGGER SHARE ROW EXCLUSIVE,
/// ATTACH PARTITION and DETACH PARTITION CONCURRENTLY SHARE UPDATE EXCLUSIVE on the parent.
fn takes_access_exclusive(op: &AlterTableOperation) -> bool {
    !matches!(
        op,
        AlterTableOperation::ValidateConstraint { .. }
            | AlterTableOperation::AddConstraint {
                constraint: TableConstraint::ForeignKey(_),
                ..
            }
            | AlterTableOperation::EnableTrigger { .. }
            | AlterTableOperation::DisableTrigger { .. }
            | AlterTableOperation::EnableAlwaysTrigger { .. }
            | AlterTableOperation::EnableReplicaTrigger { .. }
            | AlterTableOperation::SetOptionsParens { .. }
            | AlterTableOperation::ResetOptions { .. }
            | AlterTableOperation::AttachPartitionOf { .. }
            | AlterTableOperation::DetachPartitionOf {
                mode: Some(DetachPartitionMode::Concurrently),
                ..
            }
    )
}

/// `enum('a', 'b')` / `set('a','b')` → ("enum", ["a", "b"]); `None` for other types.
fn enum_members(t: &str) -> Option<(&'static str, Vec<String>)> {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    let kind = if lower.starts_with("enum") {
        "enum"
    } else if lower.starts_with("set") {
        "set"
    } else {
        return None;
    };
    let body = t[kind.len()..].trim_start().strip_prefix('(')?;
    let mut members = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut m = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    m.push('\'');
                } else {
                    break;
                }
            } else {
                m.push(c);
            }
        }
        members.push(m);
    }
    Some((kind, members))
}

/// Bytes MySQL stores an ENUM (1 up to 255 members, else 2) or SET (1, 2, 3, 4 or 8) value in.
fn enum_storage(kind: &str, members: usize) -> usize {
    match kind {
        "enum" => {
            if members <= 255 {
                1
            } else {
                2
            }
        }
        _ => match members.div_ceil(8) {
            n @ 0..=4 => n.max(1),
            _ => 8,
        },
    }
}

/// MySQL: is `old → new` an ENUM/SET change that only appends members at the end without
/// changing the storage size (metadata only)? `None` when either is not an ENUM/SET.
fn enum_append_only(old: &str, new: &str) -> Option<bool> {
    let (ok, om) = enum_members(old)?;
    let (nk, nm) = enum_members(new)?;
    Some(
        ok == nk
            && nm.len() >= om.len()
            && nm[..om.len()] == om[..]
            && enum_storage(ok, om.len()) == enum_storage(nk, nm.len()),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Online {
    Instant,
    Inplace,
    Copy,
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

    fn lint_file(&mut self, file: &SourceFile, statements: Vec<Parsed>) {
        let lower = file.text.to_ascii_lowercase();
        // Per-file markers that switch the tool's transaction off.
        let no_tx_marker = lower.contains("+goose no transaction")
            || lower.contains("atlas:txmode none")
            || lower.contains("transaction:false");
        self.file = FileState {
            name: file.name.clone(),
            direction: Some(file.direction),
            implicit_tx: !no_tx_marker
                && self.cat.tool_wraps(self.opts.tool.as_deref(), self.kind()),
            ..FileState::default()
        };
        let index = LineIndex::new(&file.text);
        for parsed in statements {
            self.statements += 1;
            self.lint_chunk(&file.text, parsed, &index);
        }
        if let Some((start, end)) = self.file.open_begin.take()
            && !self.file.implicit_tx
        {
            let text = &file.text[start..end];
            let stmt = Stmt {
                text,
                start,
                words: Vec::new(),
                cursor: 0,
                ignored: Vec::new(),
                index: &index,
            };
            self.emit(
                &stmt,
                "unclosed-transaction",
                None,
                start,
                "BEGIN without COMMIT before the end of the file: the changes are rolled back when the connection closes".into(),
                None,
            );
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

    fn lint_chunk(&mut self, source: &str, parsed: Parsed, index: &LineIndex<'_>) {
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
            .filter_map(|l| l.split_once("rollsafe:ignore").map(|(_, r)| r))
            .flat_map(|r| {
                r.split([',', ' '])
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut stmt = Stmt {
            text,
            start: chunk.start,
            words,
            cursor: 0,
            ignored,
            index,
        };
        self.enum_value_used(&mut stmt);
        match result {
            Ok(statements) => {
                for s in &statements {
                    self.check(s, &mut stmt);
                }
            }
            Err(err) => {
                if !self.fallback(&mut stmt) {
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
                "cannot parse this statement as {}: {what}{at}; it was not checked",
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
        // PostgreSQL 18: ADD CONSTRAINT c NOT NULL col [NOT VALID]. Without NOT VALID it scans
        // the table under ACCESS EXCLUSIVE like SET NOT NULL.
        if kind == EngineKind::Postgres
            && self.opts.engine.at_least(18, 0, 0)
            && word(0) == "ALTER"
            && word(1) == "TABLE"
        {
            let ws = &stmt.words;
            if let Some(i) = ws
                .windows(3)
                .position(|p| p[0].upper == "CONSTRAINT" && p[2].upper == "NOT")
                && ws.get(i + 3).is_some_and(|x| x.upper == "NULL")
                && let (Some(name), Some(col)) = (ws.get(i + 1), ws.get(i + 4))
            {
                let table_word = ws
                    .iter()
                    .skip(2)
                    .find(|x| !matches!(x.upper.as_str(), "IF" | "EXISTS" | "ONLY"));
                let table = table_word
                    .map(|x| bare(&stmt.text[x.offset..x.offset + x.upper.len()]))
                    .unwrap_or_default();
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
                } else if !self
                    .validated_not_null
                    .contains(&(table.clone(), column.clone()))
                {
                    let at = stmt.at("CONSTRAINT");
                    self.emit(stmt, "pg-set-not-null", Some(&table), at, format!("ADD CONSTRAINT {cname} NOT NULL {column} on {table} without NOT VALID scans the table under ACCESS EXCLUSIVE"), Some("append NOT VALID, then VALIDATE CONSTRAINT in a separate transaction".into()));
                }
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
        if kind == EngineKind::Sqlite && word(0) == "PRAGMA" {
            return true;
        }
        false
    }

    /// DROP VIEW / FUNCTION / TYPE / SEQUENCE / DOMAIN / EXTENSION: no rows, but code (and other
    /// objects) still using it break.
    fn drop_object(&mut self, stmt: &mut Stmt<'_>, what: &str, name: &str) {
        let at = stmt.start;
        let cascade = if stmt.has("CASCADE") {
            ", and CASCADE drops what depends on it"
        } else {
            ""
        };
        self.emit(
            stmt,
            "drop-object",
            None,
            at,
            format!("DROP {what} {name}: code still using it fails{cascade}"),
            None,
        );
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
        if !rule.applies(&self.opts.engine)
            || self.opts.disabled.iter().any(|d| d == rule_id)
            || stmt.ignored.iter().any(|d| d == rule_id || d == "all")
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
        self.findings.push(Finding {
            file: self.file.name.clone(),
            line,
            column,
            rule: rule.id.clone(),
            severity,
            message,
            why: rule.why.clone(),
            suggestion,
            lock: rule.lock.clone(),
            rollback: rule.rollback.clone(),
            lossy_rollback: rule.rollback == "lossy",
            direction: self.file.direction.unwrap_or(Direction::Up),
            statement: stmt.first_line(),
            source: rule.source.clone(),
        });
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
                self.file.new_enum_values.clear();
            }
            Statement::Set(set) => self.check_set(set),
            Statement::CreateTable(ct) => {
                let t = table_name(&ct.name);
                for c in &ct.columns {
                    self.col_types.insert(
                        (t.clone(), ident(&c.name)),
                        c.data_type.to_string().to_ascii_lowercase(),
                    );
                }
                self.new_tables.insert(t);
            }
            Statement::CreateIndex(ci) => {
                let t = table_name(&ci.table_name);
                if let Some(n) = &ci.name
                    && self.new_tables.contains(&t)
                {
                    self.new_indexes.insert(table_name(n));
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
                        self.mysql_explicit(stmt, &t, &ci.alter_options, Online::Inplace, at);
                    }
                    EngineKind::Sqlite => {}
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => match object_type {
                ObjectType::Table => {
                    for n in names {
                        let t = table_name(n);
                        let at = stmt.start;
                        self.lock_timeout(stmt, Some(&t), at);
                        self.access_exclusive(stmt, Some(&t), at);
                        let before = self.findings.len();
                        self.emit(
                            stmt,
                            "drop-table",
                            Some(&t),
                            at,
                            format!("DROP TABLE {t} deletes the table and its rows"),
                            None,
                        );
                        if self.findings.len() > before {
                            self.file.dropped.insert(t.clone(), before);
                        }
                        self.new_tables.remove(&t);
                    }
                }
                ObjectType::Index if kind == EngineKind::Postgres => {
                    for n in names {
                        let i = table_name(n);
                        if self.new_indexes.contains(&i) {
                            continue;
                        }
                        let at = stmt.start;
                        self.lock_timeout(stmt, None, at);
                        self.access_exclusive(stmt, None, at);
                        self.emit(stmt, "pg-drop-index-non-concurrent", None, at, format!("DROP INDEX {i} without CONCURRENTLY takes ACCESS EXCLUSIVE on its table"), None);
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
                    for n in names {
                        self.drop_object(stmt, &object_type.to_string(), &table_name(n));
                    }
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
                self.drop_object(stmt, &what, &name);
            }
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

    fn volatile_default(&self, expr: &Expr) -> Option<String> {
        let text = expr.to_string().to_ascii_lowercase();
        self.cat
            .postgres
            .volatile_functions
            .iter()
            .find(|f| {
                text.match_indices(f.as_str()).any(|(i, _)| {
                    let before_ok = i == 0
                        || !text.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && text.as_bytes()[i - 1] != b'_';
                    text[i + f.len()..].trim_start().starts_with('(') && before_ok
                })
            })
            .cloned()
    }

    fn alter_pg(&mut self, stmt: &mut Stmt<'_>, t: &str, ops: &[AlterTableOperation]) {
        let only_validate = ops
            .iter()
            .all(|o| matches!(o, AlterTableOperation::ValidateConstraint { .. }));
        if !only_validate {
            let at = stmt.start;
            self.lock_timeout(stmt, Some(t), at);
        }
        if ops.iter().any(takes_access_exclusive) {
            let at = stmt.start;
            self.access_exclusive(stmt, Some(t), at);
        }
        // Constraints added in this run (e.g. the CHECK helper of the SET NOT NULL recipe) can be
        // dropped again without a finding.
        for w in stmt.words.windows(3) {
            if w[0].upper == "ADD" && w[1].upper == "CONSTRAINT" {
                let name = bare(&stmt.text[w[2].offset..w[2].offset + w[2].upper.len()]);
                self.new_constraints.insert(name);
            }
        }
        for op in ops {
            match op {
                AlterTableOperation::DetachPartitionOf { partition, mode } => {
                    if matches!(mode, Some(DetachPartitionMode::Concurrently)) {
                        self.concurrently_in_tx(stmt, "DETACH PARTITION … CONCURRENTLY");
                    } else {
                        let at = stmt.at("DETACH");
                        self.emit(stmt, "pg-detach-partition-non-concurrent", Some(t), at, format!("DETACH PARTITION {} from {t} without CONCURRENTLY takes ACCESS EXCLUSIVE on {t}", table_name(partition)), None);
                    }
                }
                AlterTableOperation::AddColumn { column_def, .. } => {
                    let at = stmt.at("ADD");
                    self.add_column_pg(stmt, t, column_def, at);
                }
                AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid,
                } => {
                    let at = stmt.at("ADD");
                    match constraint {
                        TableConstraint::ForeignKey(fk) if !not_valid => {
                            let refd = table_name(&fk.foreign_table);
                            self.emit(stmt, "pg-add-foreign-key-validating", Some(t), at, format!("ADD FOREIGN KEY on {t} → {refd} without NOT VALID checks every row while blocking writes on both tables"), None);
                        }
                        TableConstraint::Check(ck) => {
                            let nn = is_not_null_check(&ck.expr);
                            if *not_valid {
                                if let (Some(name), Some(col)) = (&ck.name, nn) {
                                    self.not_null_checks
                                        .insert(ident(name), (t.to_string(), col));
                                }
                            } else {
                                if let Some(col) = nn {
                                    self.validated_not_null.insert((t.to_string(), col));
                                }
                                self.emit(stmt, "pg-add-check-validating", Some(t), at, format!("ADD CHECK on {t} without NOT VALID scans the table under ACCESS EXCLUSIVE"), None);
                            }
                        }
                        TableConstraint::Unique(_) => {
                            self.emit(
                                stmt,
                                "pg-add-unique-in-place",
                                Some(t),
                                at,
                                format!(
                                    "ADD UNIQUE on {t} builds its index under ACCESS EXCLUSIVE"
                                ),
                                None,
                            );
                        }
                        TableConstraint::PrimaryKey(_) => {
                            self.emit(
                                stmt,
                                "pg-add-unique-in-place",
                                Some(t),
                                at,
                                format!(
                                    "ADD PRIMARY KEY on {t} builds its index under ACCESS EXCLUSIVE"
                                ),
                                None,
                            );
                        }
                        _ => {}
                    }
                }
                AlterTableOperation::ValidateConstraint { name } => {
                    stmt.at("VALIDATE");
                    if let Some(tc) = self.not_null_checks.get(&ident(name)) {
                        self.validated_not_null.insert(tc.clone());
                    }
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    let at = stmt.at("ALTER");
                    let col = ident(column_name);
                    match op {
                        AlterColumnOperation::DropNotNull => {
                            self.emit(stmt, "pg-drop-not-null", Some(t), at, format!("DROP NOT NULL on {t}.{col}: readers that rely on it start seeing NULLs"), None);
                        }
                        AlterColumnOperation::SetNotNull => {
                            let proven = self.opts.engine.at_least(12, 0, 0)
                                && self
                                    .validated_not_null
                                    .contains(&(t.to_string(), col.clone()));
                            if !proven {
                                let extra = if self.opts.engine.at_least(18, 0, 0) {
                                    Some("on PostgreSQL 18: ADD CONSTRAINT … NOT NULL col NOT VALID, then VALIDATE CONSTRAINT".to_string())
                                } else if !self.opts.engine.at_least(12, 0, 0) {
                                    Some("before PostgreSQL 12 even a validated CHECK does not spare the scan: keep the CHECK constraint instead of NOT NULL, or upgrade".to_string())
                                } else {
                                    None
                                };
                                self.emit(stmt, "pg-set-not-null", Some(t), at, format!("SET NOT NULL on {t}.{col} scans the table under ACCESS EXCLUSIVE (no validated CHECK ({col} IS NOT NULL) seen before it)"), extra);
                            }
                        }
                        AlterColumnOperation::SetDataType { data_type, .. } => {
                            let new = data_type.to_string().to_ascii_lowercase();
                            let old = self.col_types.get(&(t.to_string(), col.clone())).cloned();
                            match binary_compatible(old.as_deref(), &new) {
                                Compat::Yes => {}
                                Compat::Unknown => {
                                    let before = self.findings.len();
                                    self.emit(stmt, "pg-alter-column-type-rewrite", Some(t), at, format!("ALTER COLUMN {t}.{col} TYPE {new}: no rewrite only if the current type is a shorter varchar/text (or numeric of the same scale); rollsafe does not know the current type"), None);
                                    if let Some(f) = self.findings.get_mut(before) {
                                        f.severity = Severity::Info;
                                    }
                                }
                                Compat::No => {
                                    let from =
                                        old.map(|o| format!(" from {o}")).unwrap_or_default();
                                    self.emit(stmt, "pg-alter-column-type-rewrite", Some(t), at, format!("ALTER COLUMN {t}.{col} TYPE {new}{from} rewrites the table and its indexes"), None);
                                }
                            }
                            self.col_types.insert((t.to_string(), col), new);
                        }
                        _ => {}
                    }
                }
                AlterTableOperation::DropColumn { column_names, .. } => {
                    let at = stmt.at("DROP");
                    for c in column_names {
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
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let at = stmt.at("RENAME");
                    self.emit(
                        stmt,
                        "rename-column",
                        Some(t),
                        at,
                        format!(
                            "RENAME COLUMN {t}.{} to {}",
                            ident(old_column_name),
                            ident(new_column_name)
                        ),
                        None,
                    );
                }
                AlterTableOperation::RenameTable { table_name: to } => {
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
                    if self.new_tables.remove(t) {
                        self.new_tables.insert(new);
                    }
                }
                AlterTableOperation::DropConstraint { name, .. } => {
                    let at = stmt.at("DROP");
                    let c = ident(name);
                    if !self.new_constraints.contains(&c) {
                        self.emit(stmt, "drop-constraint", Some(t), at, format!("DROP CONSTRAINT {c} on {t}: putting it back later depends on the rows written meanwhile"), None);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_column_pg(&mut self, stmt: &mut Stmt<'_>, t: &str, c: &ColumnDef, at: usize) {
        let col = ident(&c.name);
        let ty = c.data_type.to_string().to_ascii_lowercase();
        self.col_types
            .insert((t.to_string(), col.clone()), ty.clone());
        let mut default = None;
        let mut not_null = false;
        let mut generated_stored = false;
        let mut identity = false;
        for o in &c.options {
            match &o.option {
                ColumnOption::Default(e) => default = Some(e),
                ColumnOption::NotNull => not_null = true,
                ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => {
                    self.emit(stmt, "pg-add-unique-in-place", Some(t), at, format!("ADD COLUMN {t}.{col} with an inline PRIMARY KEY/UNIQUE builds its index under ACCESS EXCLUSIVE"), None);
                }
                ColumnOption::ForeignKey(_) => {
                    self.emit(stmt, "pg-add-foreign-key-validating", Some(t), at, format!("ADD COLUMN {t}.{col} REFERENCES … validates at once (an inline reference cannot be NOT VALID)"), Some("add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID".into()));
                }
                ColumnOption::Generated {
                    generation_expr: Some(_),
                    ..
                } => generated_stored = true,
                ColumnOption::Generated { .. } | ColumnOption::Identity(_) => identity = true,
                _ => {}
            }
        }
        let serial = matches!(
            ty.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
        );
        if generated_stored || serial || identity {
            let what = if generated_stored {
                "a stored generated column"
            } else if serial {
                "a serial column (nextval() default)"
            } else {
                "an identity column"
            };
            self.emit(
                stmt,
                "pg-add-column-volatile-default",
                Some(t),
                at,
                format!("ADD COLUMN {t}.{col} as {what} fills every row: full table rewrite"),
                None,
            );
            return;
        }
        if let Some(e) = default {
            if let Some(f) = self.volatile_default(e) {
                self.emit(stmt, "pg-add-column-volatile-default", Some(t), at, format!("ADD COLUMN {t}.{col} DEFAULT {e}: {f}() is volatile, so every row is rewritten"), None);
            } else {
                self.emit(
                    stmt,
                    "pg-add-column-default-rewrite",
                    Some(t),
                    at,
                    format!(
                        "ADD COLUMN {t}.{col} DEFAULT {e} rewrites the table before PostgreSQL 11"
                    ),
                    None,
                );
            }
        } else if not_null {
            self.emit(
                stmt,
                "pg-add-column-not-null-no-default",
                Some(t),
                at,
                format!("ADD COLUMN {t}.{col} NOT NULL without DEFAULT fails on a table with rows"),
                None,
            );
        }
    }

    /// MySQL / MariaDB: the explicit ALGORITHM / LOCK against what the operations allow.
    fn mysql_explicit(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        ops: &[AlterTableOperation],
        best: Online,
        at: usize,
    ) {
        let mut algorithm = None;
        let mut lock = None;
        for op in ops {
            match op {
                AlterTableOperation::Algorithm { algorithm: a, .. } => algorithm = Some(*a),
                AlterTableOperation::Lock { lock: l, .. } => lock = Some(*l),
                _ => {}
            }
        }
        if matches!(
            lock,
            Some(AlterTableLock::Shared) | Some(AlterTableLock::Exclusive)
        ) {
            let pos = stmt.at("LOCK");
            self.emit(
                stmt,
                "mysql-blocking-lock",
                Some(t),
                pos,
                format!(
                    "explicit LOCK={} on {t} blocks the application",
                    if matches!(lock, Some(AlterTableLock::Shared)) {
                        "SHARED"
                    } else {
                        "EXCLUSIVE"
                    }
                ),
                None,
            );
        }
        if matches!(algorithm, Some(AlterTableAlgorithm::Copy)) {
            let pos = stmt.at("ALGORITHM");
            self.emit(
                stmt,
                "mysql-table-copy",
                Some(t),
                pos,
                format!("ALGORITHM=COPY copies {t} with writes blocked"),
                None,
            );
            return;
        }
        if best == Online::Copy {
            return; // reported per operation
        }
        if algorithm.is_none() || matches!(algorithm, Some(AlterTableAlgorithm::Default)) {
            let want = if best == Online::Instant {
                "ALGORITHM=INSTANT"
            } else {
                "ALGORITHM=INPLACE, LOCK=NONE"
            };
            self.emit(
                stmt,
                "mysql-algorithm-missing",
                Some(t),
                at,
                format!(
                    "no ALGORITHM on {t}: on {} this can be {want}",
                    self.opts.engine
                ),
                Some(format!("append {want}")),
            );
        }
    }

    fn instant_add(&self, positioned: bool) -> bool {
        let e = &self.opts.engine;
        match e.kind {
            EngineKind::Mariadb => e.at_least(10, 4, 0) || (!positioned && e.at_least(10, 3, 2)),
            _ => e.at_least(8, 0, 29) || (!positioned && e.at_least(8, 0, 12)),
        }
    }

    fn instant_drop(&self) -> bool {
        let e = &self.opts.engine;
        match e.kind {
            EngineKind::Mariadb => e.at_least(10, 4, 0),
            _ => e.at_least(8, 0, 29),
        }
    }

    fn alter_mysql(&mut self, stmt: &mut Stmt<'_>, t: &str, ops: &[AlterTableOperation]) {
        let start = stmt.start;
        self.lock_timeout(stmt, Some(t), start);
        let mut best = Online::Instant;
        for op in ops {
            let online = match op {
                AlterTableOperation::AddColumn {
                    column_def: c,
                    column_position,
                    ..
                } => {
                    let at = stmt.at("ADD");
                    let col = ident(&c.name);
                    let ty = c.data_type.to_string().to_ascii_lowercase();
                    self.col_types.insert((t.to_string(), col.clone()), ty);
                    let mut default = None;
                    let mut not_null = false;
                    let mut copy = None;
                    for o in &c.options {
                        match &o.option {
                            ColumnOption::Default(e) => default = Some(e),
                            ColumnOption::NotNull => not_null = true,
                            ColumnOption::Generated {
                                generation_expr: Some(_),
                                generation_expr_mode,
                                ..
                            } if generation_expr_mode
                                .as_ref()
                                .is_some_and(|m| format!("{m:?}").contains("Stored")) =>
                            {
                                copy = Some("a STORED generated column");
                            }
                            ColumnOption::DialectSpecific(tokens)
                                if tokens.iter().any(|tk| {
                                    tk.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")
                                }) =>
                            {
                                copy = Some("an AUTO_INCREMENT column");
                            }
                            _ => {}
                        }
                    }
                    if let Some(Expr::Nested(_)) = default {
                        copy = Some("an expression DEFAULT");
                    }
                    if not_null && default.is_none() && copy.is_none() {
                        self.emit(stmt, "mysql-add-column-not-null-no-default", Some(t), at, format!("ADD COLUMN {t}.{col} NOT NULL without DEFAULT: existing rows get the implicit zero value"), None);
                    }
                    if let Some(what) = copy {
                        self.emit(stmt, "mysql-table-copy", Some(t), at, format!("ADD COLUMN {t}.{col} as {what} rebuilds the table with writes blocked"), None);
                        Online::Copy
                    } else if self.instant_add(column_position.is_some()) {
                        Online::Instant
                    } else {
                        Online::Inplace
                    }
                }
                AlterTableOperation::DropColumn { column_names, .. } => {
                    let at = stmt.at("DROP");
                    for c in column_names {
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
                    if self.instant_drop() {
                        Online::Instant
                    } else {
                        Online::Inplace
                    }
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let at = stmt.at("RENAME");
                    self.emit(
                        stmt,
                        "rename-column",
                        Some(t),
                        at,
                        format!(
                            "RENAME COLUMN {t}.{} to {}",
                            ident(old_column_name),
                            ident(new_column_name)
                        ),
                        None,
                    );
                    Online::Inplace
                }
                AlterTableOperation::RenameTable { table_name: to } => {
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
                    Online::Instant
                }
                AlterTableOperation::ChangeColumn {
                    old_name,
                    new_name,
                    data_type,
                    ..
                } => {
                    let at = stmt.at("CHANGE");
                    let col = ident(old_name);
                    if ident(old_name) != ident(new_name) {
                        self.emit(
                            stmt,
                            "rename-column",
                            Some(t),
                            at,
                            format!("CHANGE COLUMN renames {t}.{col} to {}", ident(new_name)),
                            None,
                        );
                    }
                    self.mysql_type_change(stmt, t, &col, &data_type.to_string(), at)
                }
                AlterTableOperation::ModifyColumn {
                    col_name,
                    data_type,
                    ..
                } => {
                    let at = stmt.at("MODIFY");
                    let col = ident(col_name);
                    self.mysql_type_change(stmt, t, &col, &data_type.to_string(), at)
                }
                AlterTableOperation::AddConstraint { constraint, .. } => {
                    let at = stmt.at("ADD");
                    match constraint {
                        TableConstraint::ForeignKey(_) if !self.file.fk_checks_off => {
                            self.emit(stmt, "mysql-table-copy", Some(t), at, format!("ADD FOREIGN KEY on {t} with foreign_key_checks on copies the table and blocks writes on both tables"), None);
                            Online::Copy
                        }
                        TableConstraint::Check(_) => {
                            self.emit(
                                stmt,
                                "mysql-table-copy",
                                Some(t),
                                at,
                                format!("ADD CHECK on {t} checks every row with writes blocked"),
                                None,
                            );
                            Online::Copy
                        }
                        _ => Online::Inplace,
                    }
                }
                AlterTableOperation::AlterColumn { op, .. } => {
                    stmt.at("ALTER");
                    match op {
                        AlterColumnOperation::SetDefault { .. }
                        | AlterColumnOperation::DropDefault => Online::Instant,
                        _ => Online::Inplace,
                    }
                }
                AlterTableOperation::DropIndex { .. }
                | AlterTableOperation::DropForeignKey { .. }
                | AlterTableOperation::DropConstraint { .. } => {
                    stmt.at("DROP");
                    Online::Inplace
                }
                AlterTableOperation::Algorithm { .. } | AlterTableOperation::Lock { .. } => {
                    continue;
                }
                _ => Online::Inplace,
            };
            best = best.max(online);
        }
        stmt.cursor = 0;
        self.mysql_explicit(stmt, t, ops, best, start);
    }

    fn mysql_type_change(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        col: &str,
        new: &str,
        at: usize,
    ) -> Online {
        let new = new.to_ascii_lowercase();
        let old = self
            .col_types
            .get(&(t.to_string(), col.to_string()))
            .cloned();
        self.col_types
            .insert((t.to_string(), col.to_string()), new.clone());
        match old {
            Some(o) if o == new => Online::Inplace,
            Some(o) if varchar_extends_within_length_byte(&o, &new) => Online::Inplace,
            Some(o) if enum_append_only(&o, &new) == Some(true) => {
                // The online DDL table: appending ENUM/SET members is INSTANT on 8.0.12+
                // (metadata only, in place before); MariaDB is given INPLACE, which covers it.
                if self.kind() == EngineKind::Mysql && self.opts.engine.at_least(8, 0, 12) {
                    Online::Instant
                } else {
                    Online::Inplace
                }
            }
            Some(o) if enum_append_only(&o, &new) == Some(false) => {
                self.emit(
                    stmt,
                    "mysql-enum-change",
                    Some(t),
                    at,
                    format!("{t}.{col} changes from {o} to {new}: not a pure append at the end, so the table is copied with writes blocked"),
                    None,
                );
                Online::Copy
            }
            Some(o) => {
                self.emit(
                    stmt,
                    "mysql-table-copy",
                    Some(t),
                    at,
                    format!(
                        "changing {t}.{col} from {o} to {new} copies the table with writes blocked"
                    ),
                    None,
                );
                Online::Copy
            }
            None => {
                self.emit(stmt, "mysql-table-copy", Some(t), at, format!("{t}.{col} is redefined as {new}: if that changes its type, the table is copied with writes blocked (rollsafe does not know the current type)"), None);
                Online::Copy
            }
        }
    }

    fn alter_sqlite(&mut self, stmt: &mut Stmt<'_>, t: &str, ops: &[AlterTableOperation]) {
        let e = self.opts.engine;
        for op in ops {
            match op {
                AlterTableOperation::AddColumn { column_def: c, .. } => {
                    let at = stmt.at("ADD");
                    let col = ident(&c.name);
                    let mut not_null = false;
                    let mut default: Option<String> = None;
                    let mut problem = None;
                    for o in &c.options {
                        match &o.option {
                            ColumnOption::NotNull => not_null = true,
                            ColumnOption::Default(d) => {
                                default = Some(d.to_string().to_ascii_uppercase())
                            }
                            ColumnOption::PrimaryKey(_) => problem = Some("a PRIMARY KEY"),
                            ColumnOption::Unique(_) => problem = Some("a UNIQUE constraint"),
                            _ => {}
                        }
                    }
                    if let Some(d) = &default
                        && matches!(
                            d.as_str(),
                            "CURRENT_TIME" | "CURRENT_DATE" | "CURRENT_TIMESTAMP"
                        )
                    {
                        problem = Some("a CURRENT_TIME/DATE/TIMESTAMP default");
                    }
                    if not_null && default.as_deref().is_none_or(|d| d == "NULL") {
                        problem = Some("NOT NULL and no non-NULL default");
                    }
                    if let Some(p) = problem {
                        self.emit(
                            stmt,
                            "sqlite-add-column-restricted",
                            Some(t),
                            at,
                            format!("ADD COLUMN {t}.{col} with {p}: SQLite refuses it"),
                            None,
                        );
                    }
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let at = stmt.at("RENAME");
                    if e.at_least(3, 25, 0) {
                        self.emit(
                            stmt,
                            "rename-column",
                            Some(t),
                            at,
                            format!(
                                "RENAME COLUMN {t}.{} to {}",
                                ident(old_column_name),
                                ident(new_column_name)
                            ),
                            None,
                        );
                    } else {
                        self.emit(
                            stmt,
                            "sqlite-table-rebuild",
                            Some(t),
                            at,
                            format!("RENAME COLUMN needs SQLite 3.25; on {e} {t} must be rebuilt"),
                            None,
                        );
                    }
                }
                AlterTableOperation::RenameTable { table_name: to } => {
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
                    // The rebuild recipe: a new table filled from the old one takes its name,
                    // so dropping the old one lost nothing (one transaction, write lock held).
                    if self.new_tables.contains(t)
                        && self.file.copied_from.get(t) == Some(&new)
                        && let Some(i) = self.file.dropped.remove(&new)
                    {
                        self.retracted.insert(i);
                    }
                    if self.new_tables.remove(t) {
                        self.new_tables.insert(new);
                    }
                }
                AlterTableOperation::DropColumn { column_names, .. } => {
                    let at = stmt.at("DROP");
                    for c in column_names {
                        if e.at_least(3, 35, 0) {
                            self.emit(stmt, "drop-column", Some(t), at, format!("DROP COLUMN {t}.{}: its data cannot be rolled back (SQLite also refuses it for PRIMARY KEY, UNIQUE, indexed or referenced columns)", ident(c)), None);
                        } else {
                            self.emit(
                                stmt,
                                "sqlite-table-rebuild",
                                Some(t),
                                at,
                                format!(
                                    "DROP COLUMN needs SQLite 3.35; on {e} {t} must be rebuilt"
                                ),
                                None,
                            );
                        }
                    }
                }
                other => {
                    let first = stmt
                        .words
                        .get(stmt.cursor)
                        .map(|w| w.upper.clone())
                        .unwrap_or_default();
                    let at = stmt.at(&first);
                    let what = other.to_string();
                    let what = what
                        .split_whitespace()
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.emit(stmt, "sqlite-table-rebuild", Some(t), at, format!("ALTER TABLE {t} {what} …: SQLite's ALTER TABLE cannot do this; the table must be rebuilt"), None);
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Compat {
    Yes,
    No,
    Unknown,
}

/// `varchar(20)` → ("varchar", [20]); `character varying` → ("varchar", []).
fn type_parts(t: &str) -> (String, Vec<u32>) {
    let t = t.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((b, rest)) => (b.trim().to_string(), rest.trim_end_matches(')').to_string()),
        None => (t.clone(), String::new()),
    };
    let base = match base.as_str() {
        "character varying" => "varchar".to_string(),
        "decimal" => "numeric".to_string(),
        _ => base,
    };
    let args = args
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    (base, args)
}

/// PostgreSQL: does `old → new` skip the rewrite? (strong_migrations postgresql_adapter.rb;
/// django-pg-zero-downtime README)
fn binary_compatible(old: Option<&str>, new: &str) -> Compat {
    let (nb, na) = type_parts(new);
    let Some(old) = old else {
        // Only these targets can be rewrite-free, depending on the current type.
        return if matches!(
            nb.as_str(),
            "varchar" | "text" | "numeric" | "inet" | "citext"
        ) {
            Compat::Unknown
        } else {
            Compat::No
        };
    };
    let (ob, oa) = type_parts(old);
    let ok = match (ob.as_str(), nb.as_str()) {
        ("varchar", "varchar") => na.is_empty() || (!oa.is_empty() && na[0] >= oa[0]),
        ("varchar", "text") | ("text", "text") | ("citext", "text") | ("text", "citext") => true,
        ("text", "varchar") => na.is_empty(),
        ("numeric", "numeric") => {
            na.is_empty()
                || (oa.len() == na.len()
                    && !oa.is_empty()
                    && na[0] >= oa[0]
                    && oa.get(1) == na.get(1))
        }
        ("cidr", "inet") => true,
        (a, b) if a == b && matches!(a, "timestamp" | "timestamptz" | "time" | "interval") => {
            na.is_empty() || (!oa.is_empty() && na[0] >= oa[0])
        }
        _ => false,
    };
    if ok { Compat::Yes } else { Compat::No }
}

/// MySQL: a VARCHAR extension that keeps the length prefix size (≤255 bytes or >255 bytes on both
/// sides, utf8mb4 = 4 bytes per character) is in place (strong_migrations mysql_adapter.rb).
fn varchar_extends_within_length_byte(old: &str, new: &str) -> bool {
    let (ob, oa) = type_parts(old);
    let (nb, na) = type_parts(new);
    if ob != "varchar" || nb != "varchar" || oa.is_empty() || na.is_empty() || na[0] < oa[0] {
        return false;
    }
    (oa[0] * 4 <= 255) == (na[0] * 4 <= 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_compatible_types() {
        assert_eq!(
            binary_compatible(Some("varchar(20)"), "varchar(40)"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("varchar(40)"), "varchar(20)"),
            Compat::No
        );
        assert_eq!(
            binary_compatible(Some("character varying(20)"), "text"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("numeric(10,2)"), "numeric(12,2)"),
            Compat::Yes
        );
        assert_eq!(
            binary_compatible(Some("numeric(10,2)"), "numeric(12,3)"),
            Compat::No
        );
        assert_eq!(binary_compatible(Some("integer"), "bigint"), Compat::No);
        assert_eq!(binary_compatible(None, "bigint"), Compat::No);
        assert_eq!(binary_compatible(None, "text"), Compat::Unknown);
    }

    #[test]
    fn mysql_varchar_length_byte() {
        assert!(varchar_extends_within_length_byte(
            "varchar(10)",
            "varchar(60)"
        ));
        assert!(!varchar_extends_within_length_byte(
            "varchar(60)",
            "varchar(100)"
        ));
    }
}
