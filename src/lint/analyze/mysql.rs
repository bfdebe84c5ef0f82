//! MySQL / MariaDB: what copies the table, INSTANT / INPLACE per version, ALGORITHM and LOCK.

use super::*;

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
pub(super) enum Online {
    Instant,
    Inplace,
    Copy,
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

impl Context<'_> {
    /// CREATE INDEX of a plain or unique secondary index: InnoDB already builds it in place
    /// while reads and writes go on when no ALGORITHM is given (MySQL manual, Online DDL
    /// Operations, "Creating or adding a secondary index": In Place yes, Permits Concurrent DML
    /// yes; MariaDB: ADD INDEX supports ALGORITHM=INPLACE with LOCK=NONE). A missing ALGORITHM
    /// there only leaves the default implicit: info, not a warning that fails `--fail-on warning`.
    /// FULLTEXT and SPATIAL indexes do block writes and keep the rule's severity.
    pub(super) fn secondary_index_builds_online(&mut self, from: usize) {
        for f in &mut self.findings[from..] {
            if f.rule == "mysql-algorithm-missing" {
                f.severity = super::Severity::Info;
                f.message.push_str(
                    " (InnoDB builds a secondary index in place with concurrent reads and writes by default: stating it only makes the default explicit)",
                );
            }
        }
    }

    /// MySQL / MariaDB: the explicit ALGORITHM / LOCK against what the operations allow.
    pub(super) fn mysql_explicit(
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
        if (algorithm.is_none() || matches!(algorithm, Some(AlterTableAlgorithm::Default)))
            && best == Online::Inplace
            && (stmt.has("FULLTEXT") || stmt.has("SPATIAL"))
        {
            // In place, but no concurrent DML: LOCK=NONE is refused (manual, Online DDL
            // Operations, "Adding a FULLTEXT index" / "Adding a SPATIAL index").
            self.emit(
                stmt,
                "mysql-algorithm-missing",
                Some(t),
                at,
                format!("a FULLTEXT or SPATIAL index on {t} builds in place but blocks writes until it is built (LOCK=NONE is refused)"),
                Some("run it when writes to the table can wait, or through an online schema change tool (gh-ost, pt-online-schema-change)".into()),
            );
            return;
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

    pub(super) fn alter_mysql(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        ops: &[AlterTableOperation],
    ) {
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
                    self.drop_columns(stmt, t, column_names);
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
                    self.rename_column(stmt, t, old_column_name, new_column_name);
                    Online::Inplace
                }
                AlterTableOperation::RenameTable { table_name: to } => {
                    let new = self.rename_table(stmt, t, to);
                    if self.new_tables.remove(t) {
                        self.new_tables.insert(new);
                    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
