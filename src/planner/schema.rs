//! The current schema of the tables a change touches, read from a schema-only dump
//! (`pg_dump --schema-only`, `mariadb-dump --no-data`/`mysqldump --no-data`, SQLite
//! `.schema`). Pure: text in, facts out; the planner uses them to name real types and
//! dependents and to carry what must move with a column. A dump holds no row counts, so
//! `Table::rows` stays `None` here (a live read fills it).

use std::collections::BTreeMap;

use regex::Regex;
use serde::Serialize;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, IndexColumn, Statement,
    TableConstraint,
};
use sqlparser::parser::Parser;

use crate::lint::EngineKind;
use crate::lint::changes::name_of;
use crate::lint::parse::dialect;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// By table name as the dump spells it (schema qualifier and quotes removed).
    pub tables: BTreeMap<String, Table>,
    pub views: Vec<View>,
    pub triggers: Vec<Trigger>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary key, unique constraints and plain indexes.
    pub indexes: Vec<Index>,
    /// Foreign keys this table declares (outgoing).
    pub foreign_keys: Vec<ForeignKey>,
    /// Row estimate; `None` when the source has none (a dump).
    pub rows: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// The type as the dump declares it, in the parser's spelling (`BIGINT`, `VARCHAR(64)`).
    pub data_type: String,
    pub not_null: bool,
    /// The default expression as the dump declares it (`'new'::TEXT`, `'new'`).
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexKind {
    Primary,
    /// A UNIQUE constraint or unique index: both must be recreated as unique.
    Unique,
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    /// `None` for an unnamed inline constraint (the engine names it).
    pub name: Option<String>,
    pub kind: IndexKind,
    pub columns: Vec<String>,
    /// Declared as a table constraint (PRIMARY KEY, UNIQUE) rather than by CREATE INDEX: a
    /// foreign key may reference it, and PostgreSQL tells the two apart.
    pub constraint: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub name: String,
    /// The `SELECT` as the dump gives it.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub name: String,
    pub table: String,
    pub definition: String,
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether `text` names `word` as a whole identifier (quoted or not).
pub fn mentions(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .any(|w| same(w, word))
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.values().find(|t| same(&t.name, name))
    }

    pub fn column(&self, table: &str, column: &str) -> Option<&Column> {
        self.table(table)?
            .columns
            .iter()
            .find(|c| same(&c.name, column))
    }

    /// Indexes and constraints of `table` that include `column`.
    pub fn indexes_on(&self, table: &str, column: &str) -> Vec<&Index> {
        self.table(table)
            .map(|t| {
                t.indexes
                    .iter()
                    .filter(|i| i.columns.iter().any(|c| same(c, column)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Foreign keys `table` declares (outgoing).
    pub fn fks_out(&self, table: &str) -> Vec<&ForeignKey> {
        self.table(table)
            .map(|t| t.foreign_keys.iter().collect())
            .unwrap_or_default()
    }

    /// Foreign keys of other tables that reference `table` (incoming).
    pub fn fks_in(&self, table: &str) -> Vec<&ForeignKey> {
        self.tables
            .values()
            .flat_map(|t| &t.foreign_keys)
            .filter(|f| same(&f.ref_table, table))
            .collect()
    }

    /// Views whose definition names `table` and, when given, `column`. By name, not by a
    /// resolved query tree: it may list a view that only mentions an equally named
    /// column of another table, never misses one that uses it.
    pub fn views_on(&self, table: &str, column: Option<&str>) -> Vec<&View> {
        self.views
            .iter()
            .filter(|v| {
                mentions(&v.definition, table) && column.is_none_or(|c| mentions(&v.definition, c))
            })
            .collect()
    }

    /// The part of the schema a plan on `tables` needs: those tables, the tables whose
    /// foreign keys reference them, and the views and triggers that name them.
    pub fn focus(&self, tables: &[String]) -> Schema {
        let wanted = |name: &str| tables.iter().any(|t| same(t, name));
        Schema {
            tables: self
                .tables
                .iter()
                .filter(|(_, t)| {
                    wanted(&t.name) || t.foreign_keys.iter().any(|f| wanted(&f.ref_table))
                })
                .map(|(k, t)| (k.clone(), t.clone()))
                .collect(),
            views: self
                .views
                .iter()
                .filter(|v| tables.iter().any(|t| mentions(&v.definition, t)))
                .cloned()
                .collect(),
            triggers: self
                .triggers
                .iter()
                .filter(|t| wanted(&t.table))
                .cloned()
                .collect(),
        }
    }

    pub fn triggers_on(&self, table: &str) -> Vec<&Trigger> {
        self.triggers
            .iter()
            .filter(|t| same(&t.table, table))
            .collect()
    }
}

fn unquote(s: &str) -> String {
    let s = s.rsplit('.').next().unwrap_or(s);
    s.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_string()
}

fn index_columns(cols: &[IndexColumn]) -> Vec<String> {
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => i.value.clone(),
            e => e.to_string(),
        })
        .collect()
}

/// Splits a dump into statements. MariaDB/MySQL version comments (`/*!50001 … */`) are
/// unwrapped because dumps put views and triggers inside them; `DELIMITER` lines are
/// honoured; quotes, dollar quotes and comments do not end a statement.
pub fn statements(text: &str) -> Vec<String> {
    let versioned = Regex::new(r"(?s)/\*M?!\d*(?:\\-)?(.*?)\*/").unwrap();
    let text = versioned.replace_all(text, "$1");
    let mut out = Vec::new();
    let mut delim = ";".to_string();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.trim().is_empty() {
            if let Some(d) = t.strip_prefix("DELIMITER ") {
                delim = d.trim().to_string();
                continue;
            }
            // psql meta-commands (`\restrict`, `\connect`) are not SQL; a comment line
            // before a statement is not part of it (dumps head each one with some).
            if t.starts_with('\\') || t.starts_with("--") {
                continue;
            }
        }
        cur.push_str(line);
        cur.push('\n');
        while let Some(end) = statement_end(&cur, &delim) {
            let stmt = cur[..end].trim().to_string();
            if !stmt.is_empty() {
                out.push(stmt);
            }
            cur = cur[end + delim.len()..].to_string();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Byte offset of the first `delim` outside quotes and comments. A SQLite trigger body
/// (`BEGIN … END`) holds `;`, so inside one only `END;` ends the statement.
fn statement_end(s: &str, delim: &str) -> Option<usize> {
    let b = s.as_bytes();
    let upper = s.to_ascii_uppercase();
    let trigger_body = delim == ";"
        && upper.trim_start().starts_with("CREATE TRIGGER")
        && mentions(&upper, "BEGIN");
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                // Dollar quote: $tag$ … $tag$.
                let rest = &s[i + 1..];
                if let Some(n) = rest.find('$')
                    && rest[..n].chars().all(|c| c.is_alphanumeric() || c == '_')
                {
                    let tag = &s[i..i + n + 2];
                    match s[i + tag.len()..].find(tag) {
                        Some(e) => i += tag.len() + e + tag.len() - 1,
                        None => return None,
                    }
                }
            }
            // Bytes, not str slices: `i` may sit inside a multi-byte character.
            _ if b[i..].starts_with(delim.as_bytes())
                && (!trigger_body || upper.as_bytes()[..i].trim_ascii_end().ends_with(b"END")) =>
            {
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads a schema-only dump. Statements that define tables, columns, keys and indexes
/// must parse: one that does not is an error naming it, never a half-read schema.
/// Anything else a dump holds (SET, sequences, functions, comments) is skipped.
pub fn from_dump(text: &str, engine: EngineKind) -> Result<Schema, String> {
    let dialect = dialect(engine);
    let view = Regex::new(r"(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM=\S+\s+)?(?:DEFINER=\S+\s+)?(?:SQL\s+SECURITY\s+\S+\s+)?VIEW\s+(\S+)\s+AS\s+(.*)$").unwrap();
    let trigger = Regex::new(r"(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER=\S+\s+)?TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s+.*?\bON\s+(?:ONLY\s+)?(\S+)").unwrap();
    let mut schema = Schema::default();
    for stmt in statements(text) {
        let words: Vec<String> = stmt
            .split_whitespace()
            .take(3)
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let head = words.join(" ");
        if let Some(c) = view.captures(&stmt) {
            let name = unquote(&c[1]);
            // mariadb-dump first writes a placeholder view (`SELECT NULL AS id …`) and
            // then the real one: the last definition wins.
            schema.views.retain(|v| v.name != name);
            schema.views.push(View {
                name,
                definition: c[2].trim().to_string(),
            });
            continue;
        }
        if let Some(c) = trigger.captures(&stmt) {
            schema.triggers.push(Trigger {
                name: unquote(&c[1]),
                table: unquote(&c[2]),
                definition: stmt.clone(),
            });
            continue;
        }
        let structural = head.starts_with("CREATE TABLE")
            || head.starts_with("ALTER TABLE")
            || head.starts_with("CREATE INDEX")
            || head.starts_with("CREATE UNIQUE INDEX");
        if !structural {
            continue;
        }
        let parsed = Parser::parse_sql(dialect.as_ref(), &stmt).map_err(|e| {
            let first = stmt.lines().next().unwrap_or_default();
            format!("cannot read \"{first}\": {e}")
        })?;
        for s in parsed {
            apply(&mut schema, s);
        }
    }
    Ok(schema)
}

fn table_mut<'a>(schema: &'a mut Schema, name: &str) -> &'a mut Table {
    schema
        .tables
        .entry(name.to_string())
        .or_insert_with(|| Table {
            name: name.to_string(),
            ..Table::default()
        })
}

fn add_constraint(t: &mut Table, c: &TableConstraint) {
    match c {
        TableConstraint::PrimaryKey(pk) => {
            let cols = index_columns(&pk.columns);
            for col in t.columns.iter_mut().filter(|c| cols.contains(&c.name)) {
                col.not_null = true;
            }
            t.indexes.push(Index {
                name: pk.name.as_ref().map(|n| n.value.clone()),
                kind: IndexKind::Primary,
                columns: cols,
                constraint: true,
            });
        }
        TableConstraint::Unique(u) => t.indexes.push(Index {
            name: u
                .name
                .as_ref()
                .or(u.index_name.as_ref())
                .map(|n| n.value.clone()),
            kind: IndexKind::Unique,
            columns: index_columns(&u.columns),
            constraint: true,
        }),
        TableConstraint::Index(i) => t.indexes.push(Index {
            name: i.name.as_ref().map(|n| n.value.clone()),
            kind: IndexKind::Plain,
            columns: index_columns(&i.columns),
            constraint: false,
        }),
        TableConstraint::ForeignKey(fk) => t.foreign_keys.push(ForeignKey {
            name: fk.name.as_ref().map(|n| n.value.clone()),
            table: t.name.clone(),
            columns: fk.columns.iter().map(|i| i.value.clone()).collect(),
            ref_table: name_of(&fk.foreign_table),
            ref_columns: fk
                .referred_columns
                .iter()
                .map(|i| i.value.clone())
                .collect(),
        }),
        _ => {}
    }
}

fn apply(schema: &mut Schema, s: Statement) {
    match s {
        Statement::CreateTable(ct) => {
            let t = table_mut(schema, &name_of(&ct.name));
            for cd in &ct.columns {
                let mut col = Column {
                    name: cd.name.value.clone(),
                    data_type: cd.data_type.to_string(),
                    not_null: false,
                    default: None,
                };
                let mut inline = Vec::new();
                for o in &cd.options {
                    match &o.option {
                        ColumnOption::NotNull => col.not_null = true,
                        ColumnOption::Null => col.not_null = false,
                        // MariaDB prints `DEFAULT NULL` for nullable columns: no default.
                        ColumnOption::Default(Expr::Value(v)) if v.to_string() == "NULL" => {}
                        ColumnOption::Default(e) => col.default = Some(e.to_string()),
                        ColumnOption::PrimaryKey(pk) => {
                            col.not_null = true;
                            inline.push(Index {
                                name: pk.name.as_ref().map(|n| n.value.clone()),
                                kind: IndexKind::Primary,
                                columns: vec![col.name.clone()],
                                constraint: true,
                            });
                        }
                        ColumnOption::Unique(u) => inline.push(Index {
                            name: u.name.as_ref().map(|n| n.value.clone()),
                            kind: IndexKind::Unique,
                            columns: vec![col.name.clone()],
                            constraint: true,
                        }),
                        ColumnOption::ForeignKey(fk) => t.foreign_keys.push(ForeignKey {
                            name: fk.name.as_ref().map(|n| n.value.clone()),
                            table: t.name.clone(),
                            columns: vec![col.name.clone()],
                            ref_table: name_of(&fk.foreign_table),
                            ref_columns: fk
                                .referred_columns
                                .iter()
                                .map(|i| i.value.clone())
                                .collect(),
                        }),
                        _ => {}
                    }
                }
                t.columns.push(col);
                t.indexes.extend(inline);
            }
            for c in &ct.constraints {
                add_constraint(t, c);
            }
        }
        Statement::AlterTable(alter) => {
            let t = table_mut(schema, &name_of(&alter.name));
            for op in &alter.operations {
                match op {
                    AlterTableOperation::AddConstraint { constraint, .. } => {
                        add_constraint(t, constraint)
                    }
                    AlterTableOperation::AlterColumn { column_name, op } => {
                        let Some(col) = t.columns.iter_mut().find(|c| c.name == column_name.value)
                        else {
                            continue;
                        };
                        match op {
                            AlterColumnOperation::SetDefault { value } => {
                                col.default = Some(value.to_string())
                            }
                            AlterColumnOperation::SetNotNull => col.not_null = true,
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        Statement::CreateIndex(ci) => {
            let t = table_mut(schema, &name_of(&ci.table_name));
            t.indexes.push(Index {
                name: ci.name.as_ref().map(name_of),
                kind: if ci.unique {
                    IndexKind::Unique
                } else {
                    IndexKind::Plain
                },
                columns: index_columns(&ci.columns),
                constraint: false,
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_keeps_dollar_quotes_delimiters_and_trigger_bodies_whole() {
        let pg = "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN x := 1; RETURN NEW; END $$;\nSELECT 1;";
        assert_eq!(statements(pg).len(), 2);
        let my = "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON o FOR EACH ROW BEGIN SET a=1; SET b=2; END;;\nDELIMITER ;\nSELECT 1;";
        let s = statements(my);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("END"));
        let lite = "CREATE TRIGGER t AFTER INSERT ON o BEGIN UPDATE o SET a = 1; DELETE FROM x; END;\nCREATE INDEX i ON o(a);";
        assert_eq!(statements(lite).len(), 2);
        assert_eq!(statements("SELECT ';'; SELECT 2;").len(), 2);
        assert_eq!(statements("CREATE TABLE é (ü int); SELECT 2;").len(), 2);
    }

    #[test]
    fn a_table_statement_that_does_not_parse_is_refused_not_skipped() {
        let err = from_dump(
            "CREATE TABLE t (id bigint NOT NULL,, );",
            EngineKind::Postgres,
        )
        .unwrap_err();
        assert!(err.contains("CREATE TABLE t"), "{err}");
        // Other statements a dump holds are skipped.
        assert!(
            from_dump(
                "SET x = 1; COMMENT ON TABLE t IS 'a';",
                EngineKind::Postgres
            )
            .is_ok()
        );
    }

    #[test]
    fn views_on_a_column_match_whole_names_only() {
        let s = from_dump(
            "CREATE TABLE orders (status_code int, status int);\nCREATE VIEW v AS SELECT status_code FROM orders;",
            EngineKind::Postgres,
        )
        .unwrap();
        assert_eq!(s.views_on("orders", Some("status_code")).len(), 1);
        assert!(s.views_on("orders", Some("status")).is_empty());
        assert!(s.views_on("customers", None).is_empty());
    }
}
