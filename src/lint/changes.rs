//! What a statement changes, in the planner's vocabulary (operation ids of
//! `assets/operations.toml` and their placeholders), so `rollsafe plan --from` can turn a
//! hazardous statement into its phased recipe with the names the SQL gives.

use std::collections::BTreeMap;

use serde::Serialize;

use super::EngineKind;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AssignmentTarget, ColumnDef, ColumnOption,
    ObjectName, ObjectType, Statement, TableConstraint,
};

/// One schema change a statement makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlChange {
    /// Operation id in `assets/operations.toml`.
    pub op: String,
    /// Placeholder values taken from the SQL: table, column, new, type, default, value, idx, …
    pub params: BTreeMap<String, String>,
}

/// How the planner should carry a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementKind {
    /// BEGIN, COMMIT, ROLLBACK: the plan decides transactions itself.
    Transaction,
    /// SET lock_timeout …: the plan sets its own session.
    Session,
    /// Schema or other statements.
    Schema,
    /// INSERT, UPDATE, DELETE, MERGE: their rollback depends on the data.
    Data,
}

pub(crate) fn name_of(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|p| p.to_string())
        .unwrap_or_default()
        .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_string()
}

fn ident(i: &sqlparser::ast::Ident) -> String {
    i.value.clone()
}

fn change(op: &str, pairs: &[(&str, String)]) -> SqlChange {
    SqlChange {
        op: op.to_string(),
        params: pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

pub fn kind_of(s: &Statement) -> StatementKind {
    match s {
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. } => StatementKind::Transaction,
        Statement::Set(_) => StatementKind::Session,
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => StatementKind::Data,
        _ => StatementKind::Schema,
    }
}

/// The changes of one parsed statement that have a phased recipe; empty when none applies.
pub fn changes_of(s: &Statement, engine: EngineKind) -> Vec<SqlChange> {
    match s {
        Statement::AlterTable(alter) => {
            let t = name_of(&alter.name);
            alter
                .operations
                .iter()
                .flat_map(|op| alter_op(&t, op, engine))
                .collect()
        }
        // Only a plain index maps onto the recipe: a partial, expression, INCLUDE or USING
        // index would lose what the recipe's template cannot say.
        Statement::CreateIndex(ci)
            if !ci.unique
                && ci.predicate.is_none()
                && ci.using.is_none()
                && ci.include.is_empty()
                && ci.with.is_empty()
                && ci.columns.iter().all(|c| {
                    matches!(c.column.expr, sqlparser::ast::Expr::Identifier(_))
                        && c.column.options == sqlparser::ast::OrderByOptions::default()
                        && c.operator_class.is_none()
                }) =>
        {
            let cols: Vec<String> = ci.columns.iter().map(|c| c.column.to_string()).collect();
            let mut c = change(
                "add-index",
                &[
                    ("table", name_of(&ci.table_name)),
                    ("column", cols.join(", ")),
                ],
            );
            if let Some(n) = &ci.name {
                c.params.insert("idx".into(), name_of(n));
            }
            vec![c]
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => names
            .iter()
            .map(|n| change("drop-table", &[("table", name_of(n))]))
            .collect(),
        Statement::RenameTable(renames) => renames
            .iter()
            .map(|r| {
                change(
                    "rename-table",
                    &[
                        ("table", name_of(&r.old_name)),
                        ("new", name_of(&r.new_name)),
                    ],
                )
            })
            .collect(),
        // UPDATE t SET col = expr (no WHERE): a backfill of one column.
        Statement::Update(u) if u.selection.is_none() && u.assignments.len() == 1 => {
            let a = &u.assignments[0];
            let AssignmentTarget::ColumnName(col) = &a.target else {
                return Vec::new();
            };
            let table = u
                .table
                .relation
                .to_string()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .rsplit('.')
                .next()
                .unwrap_or("")
                .trim_matches(|c| c == '"' || c == '`')
                .to_string();
            vec![change(
                "backfill",
                &[
                    ("table", table),
                    ("column", name_of(col)),
                    ("value", a.value.to_string()),
                ],
            )]
        }
        _ => Vec::new(),
    }
}

fn alter_op(t: &str, op: &AlterTableOperation, engine: EngineKind) -> Vec<SqlChange> {
    let table = || ("table", t.to_string());
    match op {
        AlterTableOperation::AddColumn { column_def, .. } => add_column(t, column_def, engine),
        AlterTableOperation::DropColumn { column_names, .. } => column_names
            .iter()
            .map(|c| change("drop-column", &[table(), ("column", ident(c))]))
            .collect(),
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => vec![change(
            "rename-column",
            &[
                table(),
                ("column", ident(old_column_name)),
                ("new", ident(new_column_name)),
            ],
        )],
        AlterTableOperation::RenameTable { table_name } => {
            let new = match table_name {
                sqlparser::ast::RenameTableNameKind::As(n)
                | sqlparser::ast::RenameTableNameKind::To(n) => name_of(n),
            };
            vec![change("rename-table", &[table(), ("new", new)])]
        }
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetNotNull => vec![change(
                "set-not-null",
                &[table(), ("column", ident(column_name))],
            )],
            AlterColumnOperation::SetDataType { data_type, .. } => vec![change(
                "change-column-type",
                &[
                    table(),
                    ("column", ident(column_name)),
                    ("type", data_type.to_string()),
                ],
            )],
            _ => Vec::new(),
        },
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => vec![mysql_type_change(t, col_name, data_type, options)],
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            ..
        } => {
            let mut out = vec![mysql_type_change(t, old_name, data_type, options)];
            if old_name.value != new_name.value {
                out.push(change(
                    "rename-column",
                    &[
                        table(),
                        ("column", ident(old_name)),
                        ("new", ident(new_name)),
                    ],
                ));
            }
            out
        }
        AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
            TableConstraint::ForeignKey(fk) if fk.columns.len() == 1 => {
                let mut c = change(
                    "add-foreign-key",
                    &[
                        table(),
                        ("column", ident(&fk.columns[0])),
                        ("ref_table", name_of(&fk.foreign_table)),
                        (
                            "ref_column",
                            fk.referred_columns.first().map(ident).unwrap_or_default(),
                        ),
                    ],
                );
                if let Some(n) = &fk.name {
                    c.params.insert("fk".into(), ident(n));
                }
                vec![c]
            }
            TableConstraint::Check(ck) => {
                let mut c = change("add-check", &[table(), ("expr", ck.expr.to_string())]);
                if let Some(n) = &ck.name {
                    c.params.insert("ck".into(), ident(n));
                }
                vec![c]
            }
            TableConstraint::Unique(u) if u.columns.len() == 1 => {
                let mut c = change(
                    "add-unique",
                    &[table(), ("column", u.columns[0].column.to_string())],
                );
                if let Some(n) = &u.name {
                    c.params.insert("uq".into(), ident(n));
                }
                vec![c]
            }
            TableConstraint::Index(ix) => {
                let cols: Vec<String> = ix.columns.iter().map(|c| c.column.to_string()).collect();
                let mut c = change("add-index", &[table(), ("column", cols.join(", "))]);
                if let Some(n) = &ix.name {
                    c.params.insert("idx".into(), ident(n));
                }
                vec![c]
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn add_column(t: &str, c: &ColumnDef, engine: EngineKind) -> Vec<SqlChange> {
    let col = ident(&c.name);
    let ty = c.data_type.to_string();
    let mut not_null = false;
    let mut default = None;
    let mut reference = None;
    for o in &c.options {
        match &o.option {
            ColumnOption::NotNull => not_null = true,
            ColumnOption::Default(e) => default = Some(e.to_string()),
            ColumnOption::ForeignKey(fk) => reference = Some(fk),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let base = [
        ("table", t.to_string()),
        ("column", col.clone()),
        ("type", ty),
    ];
    if not_null {
        let mut c = change("add-not-null-column", &base);
        if let Some(d) = &default {
            c.params.insert("default".into(), d.clone());
        }
        out.push(c);
    } else if let Some(d) = default {
        out.extend(with_backfill(t, &col, &base[2].1, d, engine));
    } else {
        out.push(change("add-column", &base));
    }
    if let Some(fk) = reference {
        out.push(change(
            "add-foreign-key",
            &[
                ("table", t.to_string()),
                ("column", col),
                ("ref_table", name_of(&fk.foreign_table)),
                (
                    "ref_column",
                    fk.referred_columns.first().map(ident).unwrap_or_default(),
                ),
            ],
        ));
    }
    out
}

/// A nullable column with a default, phased: a plain add, SET DEFAULT for new rows (metadata
/// only), batched backfill of the rows that exist. It is how a default evaluated per row (or
/// any default, before PostgreSQL 11) is added without rewriting the table.
fn with_backfill(t: &str, col: &str, ty: &str, d: String, engine: EngineKind) -> Vec<SqlChange> {
    let mut out = vec![change(
        "add-column",
        &[
            ("table", t.to_string()),
            ("column", col.to_string()),
            ("type", ty.to_string()),
        ],
    )];
    if engine != EngineKind::Sqlite {
        out.push(change(
            "sql",
            &[
                (
                    "expr",
                    format!("ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {d}"),
                ),
                ("title", format!("Set the default of {t}.{col} for new rows")),
                (
                    "note",
                    "New rows get the default from here on; the backfill fills the rows that exist.".into(),
                ),
                ("down", format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT")),
                ("class", "lossless".into()),
            ],
        ));
    }
    out.push(change(
        "backfill",
        &[
            ("table", t.to_string()),
            ("column", col.to_string()),
            ("value", d),
        ],
    ));
    out
}

/// `ADD COLUMN … NOT NULL DEFAULT f()` whose default is evaluated per row (lint found it
/// volatile: a full rewrite), as its phased form: added nullable with the default set for new
/// rows, the old rows backfilled in batches, then SET NOT NULL. `None` for any other change.
pub fn per_row_default(c: &SqlChange, engine: EngineKind) -> Option<Vec<SqlChange>> {
    if c.op != "add-not-null-column" {
        return None;
    }
    let p = |k: &str| c.params.get(k).cloned();
    let (t, col, ty, d) = (p("table")?, p("column")?, p("type")?, p("default")?);
    let mut out = with_backfill(&t, &col, &ty, d, engine);
    out.push(change("set-not-null", &[("table", t), ("column", col)]));
    Some(out)
}

fn mysql_type_change(
    t: &str,
    col: &sqlparser::ast::Ident,
    ty: &sqlparser::ast::DataType,
    options: &[ColumnOption],
) -> SqlChange {
    let mut c = change(
        "change-column-type",
        &[
            ("table", t.to_string()),
            ("column", ident(col)),
            ("type", ty.to_string()),
        ],
    );
    // Restating NULL / NOT NULL and the default as written keeps MODIFY from dropping them.
    let restated: Vec<String> = options.iter().map(|o| o.to_string()).collect();
    if !restated.is_empty() {
        c.params.insert("nullability".into(), restated.join(" "));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
    use sqlparser::parser::Parser;

    fn pg(sql: &str) -> Vec<SqlChange> {
        let s = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        changes_of(&s[0], EngineKind::Postgres)
    }

    fn p(c: &SqlChange, k: &str) -> String {
        c.params.get(k).cloned().unwrap_or_default()
    }

    #[test]
    fn names_come_from_the_sql() {
        let c = pg("ALTER TABLE users RENAME COLUMN name TO full_name");
        assert_eq!(c[0].op, "rename-column");
        assert_eq!(
            (p(&c[0], "table"), p(&c[0], "column"), p(&c[0], "new")),
            ("users".into(), "name".into(), "full_name".into())
        );
        let c = pg("CREATE INDEX orders_user_idx ON public.orders (user_id)");
        assert_eq!(c[0].op, "add-index");
        assert_eq!(p(&c[0], "table"), "orders");
        assert_eq!(p(&c[0], "idx"), "orders_user_idx");
        let c = pg("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()");
        assert_eq!(
            c.iter().map(|c| c.op.as_str()).collect::<Vec<_>>(),
            vec!["add-column", "sql", "backfill"]
        );
        assert_eq!(
            p(&c[1], "expr"),
            "ALTER TABLE t ALTER COLUMN u SET DEFAULT gen_random_uuid()"
        );
        assert_eq!(p(&c[2], "value"), "gen_random_uuid()");
        let c = pg("ALTER TABLE t ADD COLUMN n int NOT NULL");
        assert_eq!(c[0].op, "add-not-null-column");
        assert!(!c[0].params.contains_key("default"));
        assert!(pg("CREATE TABLE x (id int)").is_empty());
        assert!(pg("CREATE INDEX i ON t (c) WHERE deleted_at IS NULL").is_empty());
        assert!(pg("CREATE INDEX i ON t (lower(email))").is_empty());
        assert!(pg("CREATE UNIQUE INDEX i ON t (c)").is_empty());
    }

    #[test]
    fn a_not_null_column_with_a_per_row_default_is_phased() {
        let c = pg("ALTER TABLE t ADD COLUMN code text NOT NULL DEFAULT gen_code()");
        assert_eq!(c[0].op, "add-not-null-column");
        let phased = per_row_default(&c[0], EngineKind::Postgres).unwrap();
        assert_eq!(
            phased.iter().map(|c| c.op.as_str()).collect::<Vec<_>>(),
            vec!["add-column", "sql", "backfill", "set-not-null"]
        );
        assert_eq!(p(&phased[2], "value"), "gen_code()");
        assert_eq!(p(&phased[3], "column"), "code");
        let plain = pg("ALTER TABLE t ADD COLUMN n int NOT NULL");
        assert!(per_row_default(&plain[0], EngineKind::Postgres).is_none());
        assert!(
            per_row_default(&pg("ALTER TABLE t DROP COLUMN c")[0], EngineKind::Postgres).is_none()
        );
    }

    #[test]
    fn mysql_modify_keeps_the_restated_options() {
        let s = Parser::parse_sql(
            &MySqlDialect {},
            "ALTER TABLE orders MODIFY COLUMN total DECIMAL(12,2) NOT NULL",
        )
        .unwrap();
        let c = changes_of(&s[0], EngineKind::Mysql);
        assert_eq!(c[0].op, "change-column-type");
        assert_eq!(p(&c[0], "type"), "DECIMAL(12,2)");
        assert_eq!(p(&c[0], "nullability"), "NOT NULL");
    }
}
