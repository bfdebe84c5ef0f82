//! SQLite: what its ALTER TABLE can do, and what needs a table rebuild.

use super::*;

impl Context<'_> {
    pub(super) fn alter_sqlite(
        &mut self,
        stmt: &mut Stmt<'_>,
        t: &str,
        ops: &[AlterTableOperation],
    ) {
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
                    let new = self.rename_table(stmt, t, to);
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
