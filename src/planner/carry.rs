//! What must move with a column. A rename or a type change goes through a second column;
//! the old one's indexes, unique constraints, NOT NULL, default, foreign keys and dependent
//! views must reach the new one, each at the phase where both releases keep working, and a
//! dropped table takes its dependent views and incoming foreign keys with it. Pure: the
//! operation's steps, the change and the schema in, the steps with the carried ones out.
//!
//! Without a schema the plan cannot know what the column has: it then checks, before
//! anything runs, that the column has nothing to carry, and says so at the top.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::intake::{Change, SchemaSource};
use super::knowledge::{Engine, OpStep};
use super::schema::{Column, ForeignKey, Index, IndexKind, Schema, View};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    fact: Vec<Fact>,
}

/// An engine fact with its source (`assets/carry.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub id: String,
    pub text: String,
    pub source: String,
}

pub fn facts() -> &'static [Fact] {
    static FACTS: OnceLock<Vec<Fact>> = OnceLock::new();
    FACTS.get_or_init(|| {
        toml::from_str::<FactsFile>(include_str!("../../assets/carry.toml"))
            .expect("assets/carry.toml is checked by a test")
            .fact
    })
}

fn fact(id: &str) -> &'static Fact {
    facts()
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("assets/carry.toml has no fact {id}"))
}

/// The operation's steps with the carried ones in place, and what the plan knows or
/// assumed about the table, for the top of the plan.
#[derive(Debug, Default)]
pub struct Carried {
    pub steps: Vec<OpStep>,
    pub facts: Vec<String>,
}

/// Placeholder values the schema knows (the current type, nullability, primary key), so
/// the plan names them instead of asking.
pub fn params(c: &Change, schema: Option<&SchemaSource>) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    let Some(s) = schema.map(|s| &s.schema) else {
        return p;
    };
    let table = c.table();
    if let Some(t) = s.table(table) {
        let pk: Vec<&Index> = t
            .indexes
            .iter()
            .filter(|i| i.kind == IndexKind::Primary)
            .collect();
        if let [pk] = pk.as_slice()
            && let [col] = pk.columns.as_slice()
        {
            p.insert("pk".into(), col.clone());
        }
    }
    if let Some(column) = c.params.get("column")
        && let Some(col) = s.column(table, column)
    {
        p.insert("coltype".into(), col.data_type.clone());
        p.insert("nullability".into(), nullability(col));
        p.insert(
            "default_clause".into(),
            col.default
                .as_ref()
                .map(|d| format!("DEFAULT {d}"))
                .unwrap_or_default(),
        );
    }
    p
}

/// The column's NULL-ability and default as MODIFY COLUMN must restate them.
fn nullability(col: &Column) -> String {
    let mut out = if col.not_null { "NOT NULL" } else { "NULL" }.to_string();
    if let Some(d) = &col.default {
        out.push_str(&format!(" DEFAULT {d}"));
    }
    out
}

/// Replaces the `_`-separated word `from` in an index or constraint name, or appends `to`.
fn renamed(name: &str, from: &str, to: &str) -> String {
    let parts: Vec<&str> = name.split('_').collect();
    let from_parts: Vec<&str> = from.split('_').collect();
    for i in 0..parts.len() {
        if parts.len() >= i + from_parts.len()
            && parts[i..i + from_parts.len()]
                .iter()
                .zip(&from_parts)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
        {
            let mut out: Vec<&str> = parts[..i].to_vec();
            out.push(to);
            out.extend(&parts[i + from_parts.len()..]);
            return out.join("_");
        }
    }
    format!("{name}_{to}")
}

fn swap_col(cols: &[String], from: &str, to: &str) -> String {
    cols.iter()
        .map(|c| {
            if c.eq_ignore_ascii_case(from) {
                to.to_string()
            } else {
                c.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn q(text: &str) -> String {
    text.replace('\'', "''")
}

#[allow(clippy::too_many_arguments)]
fn op_step(
    phase: &str,
    key: &str,
    kind: &str,
    title: String,
    detail: String,
    sql: Vec<String>,
    verify: Option<(String, String)>,
    rollback: String,
    class: &str,
    scale: Option<&str>,
    fact_id: &str,
) -> OpStep {
    let f = fact(fact_id);
    OpStep {
        phase: phase.into(),
        key: key.into(),
        engines: Vec::new(),
        kind: kind.into(),
        title,
        detail: format!("{detail}\n\n{} ({})", f.text, f.source),
        sql,
        cmd: None,
        alter: None,
        expect: verify.as_ref().map(|(_, e)| e.clone()),
        verify: verify.map(|(v, _)| v),
        backfill_set: None,
        backfill_where: None,
        rollback,
        class: class.into(),
        pnr: false,
        scale: scale.map(str::to_string),
        blocks_writes: false,
        source: f.source.clone(),
    }
}

/// Where carried steps go among the operation's own.
enum At {
    Before(&'static str, &'static str),
    After(&'static str, &'static str),
}

fn place(steps: &mut Vec<OpStep>, at: At, new: Vec<OpStep>) {
    let (phase, key, after) = match at {
        At::Before(p, k) => (p, k, false),
        At::After(p, k) => (p, k, true),
    };
    let pos = if after {
        steps
            .iter()
            .rposition(|s| s.phase == phase && s.key == key)
            .map(|i| i + 1)
    } else {
        steps.iter().position(|s| s.phase == phase && s.key == key)
    };
    let pos = pos.unwrap_or(steps.len());
    for (i, s) in new.into_iter().enumerate() {
        steps.insert(pos + i, s);
    }
}

/// What a column has, from the schema, with the things no recipe here can move refused.
struct Has<'a> {
    col: &'a Column,
    indexes: Vec<&'a Index>,
    fks_out: Vec<&'a ForeignKey>,
    views: Vec<&'a View>,
}

fn has<'a>(s: &'a Schema, from: &str, table: &str, column: &str) -> Result<Has<'a>, String> {
    let col = s.column(table, column).ok_or_else(|| {
        format!(
            "{table}.{column} is not in the schema read from {from}: check the change, or the database the schema came from"
        )
    })?;
    let indexes = s.indexes_on(table, column);
    if indexes.iter().any(|i| i.kind == IndexKind::Primary) {
        return Err(format!(
            "{table}.{column} is part of the primary key: moving a primary key to a new column has no online recipe here (every foreign key, replica and cache keyed on it moves too); plan it by hand"
        ));
    }
    if let Some(f) = s
        .fks_in(table)
        .into_iter()
        .find(|f| f.ref_columns.iter().any(|c| c.eq_ignore_ascii_case(column)))
    {
        return Err(format!(
            "{}.{} references {table}.{column} through foreign key {}: moving a referenced column is not planned yet; move the reference first",
            f.table,
            f.columns.join(", "),
            f.name.as_deref().unwrap_or("(unnamed)")
        ));
    }
    if let Some(t) = s
        .triggers_on(table)
        .into_iter()
        .find(|t| super::schema::mentions(&t.definition, column))
    {
        return Err(format!(
            "trigger {} on {table} names {column}: rollsafe does not rewrite triggers; re-point it by hand, then plan again",
            t.name
        ));
    }
    Ok(Has {
        col,
        fks_out: s
            .fks_out(table)
            .into_iter()
            .filter(|f| f.columns.iter().any(|c| c.eq_ignore_ascii_case(column)))
            .collect(),
        indexes,
        views: s.views_on(table, Some(column)),
    })
}

fn describe(table: &str, column: &str, h: &Has, rows: Option<u64>) -> String {
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "{table}.{column} is {} {}; indexes on it: {}; foreign keys from it: {}; views that read it: {}; {table} rows: {}",
        h.col.data_type,
        nullability(h.col),
        list(
            h.indexes
                .iter()
                .map(|i| format!(
                    "{}{}",
                    i.name.as_deref().unwrap_or("(unnamed)"),
                    if i.kind == IndexKind::Unique {
                        " (unique)"
                    } else {
                        ""
                    }
                ))
                .collect()
        ),
        list(
            h.fks_out
                .iter()
                .map(|f| format!(
                    "{} -> {}({})",
                    f.name.as_deref().unwrap_or("(unnamed)"),
                    f.ref_table,
                    f.ref_columns.join(", ")
                ))
                .collect()
        ),
        list(h.views.iter().map(|v| v.name.clone()).collect()),
        rows.map(|n| format!("{} (estimate)", super::plan::group(n)))
            .unwrap_or_else(|| "unknown".into())
    )
}

/// Carries what must move for change `c`. Errors refuse the change with the reason.
pub fn apply(
    mut steps: Vec<OpStep>,
    c: &Change,
    engine: &Engine,
    schema: Option<&SchemaSource>,
) -> Result<Carried, String> {
    let table = c.table().to_string();
    let column = c.params.get("column").cloned().unwrap_or_default();
    // Operations that move a column or drop a table through a second object. A type change
    // in place (MySQL MODIFY keeps indexes and views; SQLite rebuilds from the DDL given)
    // carries nothing.
    let moves = match c.op.as_str() {
        "rename-column" | "drop-table" => true,
        "change-column-type" => matches!(engine.id.as_str(), "postgres" | "sqlserver"),
        _ => false,
    };
    let Some(src) = schema else {
        let mut facts = Vec::new();
        if moves && let Some(check) = assumption_check(c, engine) {
            facts.push(
                check
                    .title
                    .trim_start_matches("Assumed without --schema-from: ")
                    .to_string(),
            );
            place(&mut steps, At::After("prepare", "readers"), vec![check]);
        }
        return Ok(Carried { steps, facts });
    };
    let s = &src.schema;
    if s.table(&table).is_none() {
        return Err(format!(
            "table {table} is not in the schema read from {}: check the change, or the database the schema came from",
            src.from
        ));
    }
    fits(s, &src.from, c, &table, &column)?;
    let rows = s.table(&table).and_then(|t| t.rows);
    let mut facts = Vec::new();
    let family = engine.id.as_str();
    match c.op.as_str() {
        "rename-column" => {
            let new = c.params.get("new").cloned().unwrap_or_default();
            let h = has(s, &src.from, &table, &column)?;
            facts.push(describe(&table, &column, &h, rows));
            match family {
                "postgres" => rename_pg(&mut steps, &table, &column, &new, &h),
                "mariadb" | "mysql" => rename_my(&mut steps, &table, &column, &new, &h),
                "sqlite" => rename_lite(&mut steps, &table, &column, &new, &h, c)?,
                _ => {}
            }
        }
        "change-column-type" => {
            let h = has(s, &src.from, &table, &column)?;
            facts.push(describe(&table, &column, &h, rows));
            if family == "postgres" {
                let ty = c.params.get("type").cloned().unwrap_or_default();
                retype_pg(&mut steps, &table, &column, &ty, &h);
            }
        }
        "drop-table" => {
            let views = s.views_on(&table, None);
            let fks_in: Vec<&ForeignKey> = s
                .fks_in(&table)
                .into_iter()
                .filter(|f| !f.table.eq_ignore_ascii_case(&table))
                .collect();
            facts.push(format!(
                "views that read {table}: {}; foreign keys that reference it: {}; rows: {}",
                if views.is_empty() {
                    "none".to_string()
                } else {
                    views
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if fks_in.is_empty() {
                    "none".to_string()
                } else {
                    fks_in
                        .iter()
                        .map(|f| format!("{}.{}", f.table, f.columns.join(",")))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                rows.map(|n| format!("{} (estimate)", super::plan::group(n)))
                    .unwrap_or_else(|| "unknown".into())
            ));
            drop_table_dependents(&mut steps, engine, &table, &views, &fks_in);
        }
        _ => {
            if !column.is_empty()
                && let Some(col) = s.column(&table, &column)
            {
                facts.push(format!(
                    "{table}.{column} is {} {}",
                    col.data_type,
                    nullability(col)
                ));
            } else if let Some(n) = rows {
                facts.push(format!(
                    "{table} has {} rows (estimate)",
                    super::plan::group(n)
                ));
            }
        }
    }
    Ok(Carried { steps, facts })
}

/// The change read against the schema: what it names must be there (or, for what it adds,
/// must not), so a typo or a stale assumption is refused before it is planned.
fn fits(s: &Schema, from: &str, c: &Change, table: &str, column: &str) -> Result<(), String> {
    let missing = |what: String| {
        format!(
            "{what} is not in the schema read from {from}: check the change, or the database the schema came from"
        )
    };
    let single = !column.is_empty() && !column.contains(',');
    match c.op.as_str() {
        "sql" | "sql-no-tx" | "add-check" | "drop-table" => {}
        "add-column" | "add-not-null-column" if s.column(table, column).is_some() => {
            return Err(format!(
                "{table}.{column} exists already in the schema read from {from}"
            ));
        }
        "add-column" | "add-not-null-column" => {}
        "rename-table" => {
            let new = c.params.get("new").map(String::as_str).unwrap_or("");
            if s.table(new).is_some() {
                return Err(format!(
                    "table {new} exists already in the schema read from {from}"
                ));
            }
        }
        _ if single => {
            let col = s
                .column(table, column)
                .ok_or_else(|| missing(format!("{table}.{column}")))?;
            if let Some(new) = c.params.get("new")
                && c.op == "rename-column"
                && s.column(table, new).is_some()
            {
                return Err(format!(
                    "{table}.{new} exists already in the schema read from {from}"
                ));
            }
            if c.op == "set-not-null" && col.not_null {
                return Err(format!(
                    "{table}.{column} is NOT NULL already in the schema read from {from}: nothing to plan"
                ));
            }
            if c.op == "add-foreign-key" {
                let rt = c.params.get("ref_table").map(String::as_str).unwrap_or("");
                let rc = c.params.get("ref_column").map(String::as_str).unwrap_or("");
                s.column(rt, rc)
                    .ok_or_else(|| missing(format!("{rt}.{rc}")))?;
                let keyed = s
                    .indexes_on(rt, rc)
                    .iter()
                    .any(|i| i.kind != IndexKind::Plain && i.columns.len() == 1);
                if !keyed {
                    return Err(format!(
                        "{rt}.{rc} has no primary key or unique constraint of its own in the schema read from {from}: a foreign key cannot reference it"
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Without a schema: a check, before anything runs, that the column (or table) has nothing
/// the plan would have to carry. It fails when the assumption is wrong.
fn assumption_check(c: &Change, engine: &Engine) -> Option<OpStep> {
    let t = q(c.table());
    let col = q(c.params.get("column").map(String::as_str).unwrap_or(""));
    let (what, sql) = match (c.op.as_str(), engine.id.as_str()) {
        ("drop-table", "postgres") => (
            format!("no view and no other table's foreign key depends on {t}"),
            format!(
                "SELECT (SELECT count(DISTINCT r.ev_class) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid WHERE d.refobjid = '{t}'::regclass AND r.ev_class <> '{t}'::regclass) + (SELECT count(*) FROM pg_constraint WHERE confrelid = '{t}'::regclass AND conrelid <> '{t}'::regclass)"
            ),
        ),
        ("drop-table", "mariadb" | "mysql") => (
            format!("no view and no other table's foreign key depends on {t}"),
            format!(
                "SELECT (SELECT count(*) FROM information_schema.views WHERE table_schema = DATABASE() AND view_definition LIKE '%`{t}`%') + (SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() AND referenced_table_name = '{t}' AND table_name <> '{t}')"
            ),
        ),
        ("drop-table", "sqlite") => (
            format!("no view depends on {t}"),
            format!("SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND sql LIKE '%{t}%'"),
        ),
        (_, "postgres") => (
            format!(
                "{t}.{col} has no index, constraint, foreign key, default, NOT NULL or dependent view"
            ),
            format!(
                "SELECT (SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '{t}'::regclass AND a.attname = '{col}') + (SELECT count(*) FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = '{t}'::regclass AND a.attname = '{col}' WHERE (k.conrelid = '{t}'::regclass AND a.attnum = ANY(k.conkey)) OR (k.confrelid = '{t}'::regclass AND a.attnum = ANY(k.confkey))) + (SELECT count(DISTINCT r.ev_class) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid WHERE d.refobjid = '{t}'::regclass AND a.attname = '{col}' AND r.ev_class <> '{t}'::regclass) + (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = '{t}'::regclass AND a.attname = '{col}' AND (a.attnotnull OR a.atthasdef))"
            ),
        ),
        (_, "mariadb" | "mysql") => (
            format!("{t}.{col} has no index, foreign key, default, NOT NULL or dependent view"),
            format!(
                "SELECT (SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{t}' AND column_name = '{col}') + (SELECT count(*) FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND ((table_name = '{t}' AND column_name = '{col}') OR (referenced_table_name = '{t}' AND referenced_column_name = '{col}')) AND referenced_table_name IS NOT NULL) + (SELECT count(*) FROM information_schema.views WHERE table_schema = DATABASE() AND view_definition LIKE '%`{t}`.`{col}`%') + (SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{t}' AND column_name = '{col}' AND (is_nullable = 'NO' OR column_default IS NOT NULL))"
            ),
        ),
        (_, "sqlite") => (
            format!(
                "{t}.{col} has no index, unique constraint, default, NOT NULL or dependent view"
            ),
            format!(
                "SELECT (SELECT count(*) FROM pragma_index_list('{t}') l, pragma_index_info(l.name) i WHERE i.name = '{col}') + (SELECT count(*) FROM pragma_foreign_key_list('{t}') WHERE \"from\" = '{col}') + (SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND sql LIKE '%{col}%') + (SELECT count(*) FROM pragma_table_info('{t}') WHERE name = '{col}' AND (\"notnull\" = 1 OR dflt_value IS NOT NULL))"
            ),
        ),
        _ => return None,
    };
    let f = fact(match engine.id.as_str() {
        "postgres" if c.op == "drop-table" => "pg-drop-table",
        "postgres" => "pg-drop-column",
        "sqlite" => "sqlite-drop-column",
        _ => "mariadb-instant-drop",
    });
    Some(OpStep {
        phase: "prepare".into(),
        key: "assumed".into(),
        engines: Vec::new(),
        kind: "check".into(),
        title: format!("Assumed without --schema-from: {what}"),
        detail: format!(
            "This plan was made without the current schema, so it carries nothing with the change. The check counts what it would have to carry and fails if anything is there: then plan again with --schema-from (a database URL or a schema-only dump), which {}.\n\n{} ({})",
            if c.op == "drop-table" {
                "drops the dependent views and foreign keys first and keeps their definitions for the rollback"
            } else {
                "recreates it on the new column at the phase where both releases keep working"
            },
            f.text,
            f.source
        ),
        sql: Vec::new(),
        cmd: None,
        alter: None,
        verify: Some(sql),
        expect: Some("^0$".into()),
        backfill_set: None,
        backfill_where: None,
        rollback: "nothing to undo".into(),
        class: "lossless".into(),
        pnr: false,
        scale: None,
        blocks_writes: false,
        source: f.source.clone(),
    })
}

/// A view definition reading `new` where it read `old`, its output columns keeping their
/// names (`new AS old`), so its readers see no change. Token-based: string literals and
/// other words are left as they are.
pub fn repoint_view(
    definition: &str,
    old: &str,
    new: &str,
    dialect: &dyn sqlparser::dialect::Dialect,
) -> Option<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(dialect, definition).tokenize().ok()?;
    let is = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let mut out: Vec<Token> = Vec::new();
    let mut depth = 0i32;
    let mut in_select = false;
    let mut item_start = 0usize;
    let sig = |v: &[Token]| -> Vec<Token> {
        v.iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .cloned()
            .collect()
    };
    // Closes a projection item: an item that is only the old column (maybe qualified)
    // gets `AS old`.
    let close = |out: &mut Vec<Token>, start: usize| {
        let item = sig(&out[start..]);
        let bare = match item.as_slice() {
            [Token::Word(w)] => Some(w.clone()),
            [Token::Word(_), Token::Period, Token::Word(w)] => Some(w.clone()),
            [
                Token::Word(_),
                Token::Period,
                Token::Word(_),
                Token::Period,
                Token::Word(w),
            ] => Some(w.clone()),
            _ => None,
        };
        if let Some(w) = bare
            && w.value.eq_ignore_ascii_case(new)
        {
            let mut alias = w.clone();
            alias.value = old.to_string();
            // Keep trailing whitespace after the alias.
            let trail = out
                .iter()
                .rev()
                .take_while(|t| matches!(t, Token::Whitespace(_)))
                .count();
            let at = out.len() - trail;
            out.splice(
                at..at,
                [
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    Token::make_keyword("AS"),
                    Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    Token::Word(alias),
                ],
            );
        }
    };
    let mut prev_sig: Option<Token> = None;
    for t in tokens {
        match &t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth == 0 && is(&t, "SELECT") {
            in_select = true;
            out.push(t.clone());
            item_start = out.len();
            prev_sig = Some(t);
            continue;
        }
        if in_select && depth == 0 && (matches!(t, Token::Comma) || is(&t, "FROM")) {
            close(&mut out, item_start);
            if is(&t, "FROM") {
                in_select = false;
            }
            out.push(t.clone());
            item_start = out.len();
            prev_sig = Some(t);
            continue;
        }
        let after_as = prev_sig.as_ref().is_some_and(|p| is(p, "AS"));
        let t2 = match t {
            Token::Word(mut w) if w.value.eq_ignore_ascii_case(old) && !after_as => {
                w.value = new.to_string();
                Token::Word(w)
            }
            other => other,
        };
        if !matches!(t2, Token::Whitespace(_)) {
            prev_sig = Some(t2.clone());
        }
        out.push(t2);
    }
    if in_select {
        close(&mut out, item_start);
    }
    Some(out.iter().map(|t| t.to_string()).collect())
}

fn index_title(i: &Index) -> &'static str {
    if i.kind == IndexKind::Unique {
        "unique index"
    } else {
        "index"
    }
}

fn new_index_name(i: &Index, table: &str, old: &str, new: &str) -> String {
    match &i.name {
        Some(n) => renamed(n, old, new),
        None => format!(
            "{table}_{new}_{}",
            if i.kind == IndexKind::Unique {
                "key"
            } else {
                "idx"
            }
        ),
    }
}

fn rename_pg(steps: &mut Vec<OpStep>, t: &str, c: &str, n: &str, h: &Has) {
    let mut expand = Vec::new();
    let mut names = Vec::new();
    for (k, i) in h.indexes.iter().enumerate() {
        let name = new_index_name(i, t, c, n);
        let unique = i.kind == IndexKind::Unique;
        expand.push(op_step(
            "expand",
            &format!("carry-index-{}", k + 1),
            "ddl_no_tx",
            format!("Build {} {name} on {t}({}) without blocking writes", index_title(i), swap_col(&i.columns, c, n)),
            format!(
                "{t}.{c} has {} {}: {n} gets the same, built before any release reads {n}. The sync trigger keeps {n} equal to {c}, so a unique build sees the same values {c} already holds.",
                index_title(i),
                i.name.as_deref().unwrap_or("(unnamed)")
            ),
            vec![format!(
                "CREATE {}INDEX CONCURRENTLY IF NOT EXISTS {name} ON {t} ({})",
                if unique { "UNIQUE " } else { "" },
                swap_col(&i.columns, c, n)
            )],
            Some((
                format!("SELECT count(*) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relname = '{name}' AND i.indisvalid AND i.indisunique = {unique}"),
                "^1$".into(),
            )),
            format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"),
            "lossless",
            Some("index"),
            "pg-index-concurrently",
        ));
        names.push((i, name));
    }
    for (k, f) in h.fks_out.iter().enumerate() {
        let name = renamed(f.name.as_deref().unwrap_or(&format!("{t}_{c}_fkey")), c, n);
        expand.push(op_step(
            "expand",
            &format!("carry-fk-{}", k + 1),
            "ddl",
            format!("Add foreign key {name} on {t}({n}) NOT VALID"),
            format!("{t}.{c} references {}({}); {n} must too. NOT VALID checks new rows at once and defers the old ones to the validation after the backfill.", f.ref_table, f.ref_columns.join(", ")),
            vec![
                format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name}"),
                format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {name} FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID",
                    swap_col(&f.columns, c, n),
                    f.ref_table,
                    f.ref_columns.join(", ")
                ),
            ],
            Some((format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}' AND contype = 'f'"), "^1$".into())),
            format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name}"),
            "lossless",
            None,
            "pg-fk-not-valid",
        ));
    }
    place(steps, At::After("expand", "sync"), expand);

    let mut after_copy = Vec::new();
    for (k, f) in h.fks_out.iter().enumerate() {
        let name = renamed(f.name.as_deref().unwrap_or(&format!("{t}_{c}_fkey")), c, n);
        after_copy.push(validate_fk(t, &name, k));
    }
    if h.col.not_null {
        after_copy.push(set_not_null_pg(t, n, &format!("NOT NULL like {c}: every row has {n} now (the backfill filled the old rows, the trigger fills new ones from {c})")));
    }
    place(steps, At::After("backfill", "copy"), after_copy);

    // Before N+3 stops writing c: the default moves to n, c stops demanding a value, and
    // views read n.
    let mut before_stop = Vec::new();
    let mut parts = Vec::new();
    let mut undo = Vec::new();
    if let Some(d) = &h.col.default {
        parts.push(format!("ALTER COLUMN {n} SET DEFAULT {d}"));
        parts.push(format!("ALTER COLUMN {c} DROP DEFAULT"));
        undo.push(format!("ALTER COLUMN {c} SET DEFAULT {d}"));
        undo.push(format!("ALTER COLUMN {n} DROP DEFAULT"));
    }
    if h.col.not_null {
        parts.push(format!("ALTER COLUMN {c} DROP NOT NULL"));
        // The trigger keeps filling {c}, so its NOT NULL comes back (a scan under the
        // table lock: the undo is not free, but without it the rollback loses it).
        undo.push(format!("ALTER COLUMN {c} SET NOT NULL"));
    }
    if !parts.is_empty() {
        before_stop.push(op_step(
            "stop-old-writes",
            "carry-default",
            "ddl",
            format!("Move the default to {n}; {c} stops demanding a value"),
            format!(
                "Release N+3 writes only {n}. With the default still on {c}, every insert by N+3 would get {c}'s default, and the trigger (which cannot tell a default from a written value) would keep it instead of copying {n}. {c} also loses NOT NULL, so nothing fails when no release writes it; the trigger still fills it for a rollback to N+2."
            ),
            vec![format!("ALTER TABLE {t} {}", parts.join(", "))],
            Some((
                format!("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{t}' AND column_name = '{c}' AND column_default IS NULL AND is_nullable = 'YES'"),
                "^1$".into(),
            )),
            if undo.is_empty() {
                "nothing to undo: the trigger keeps filling {c}".replace("{c}", c)
            } else {
                format!("ALTER TABLE {t} {}", undo.join(", "))
            },
            "lossless",
            None,
            "pg-trigger-defaults",
        ));
    }
    if let Some(views) = repoint_views(h, c, n, &sqlparser::dialect::PostgreSqlDialect {}) {
        before_stop.push(op_step(
            "stop-old-writes",
            "carry-views",
            "ddl",
            format!("Re-point {} at {t}.{n}", views.iter().map(|(v, _, _)| v.as_str()).collect::<Vec<_>>().join(", ")),
            format!("The views read {c}; from here they read {n} under the old output names, so their readers see no change and the DROP of {c} later finds no dependent view."),
            views.iter().map(|(v, new, _)| format!("CREATE OR REPLACE VIEW {v} AS {new}")).collect(),
            Some((
                format!("SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid WHERE d.refobjid = '{t}'::regclass AND a.attname = '{c}' AND r.ev_class <> '{t}'::regclass"),
                "^0$".into(),
            )),
            views.iter().map(|(v, _, old)| format!("CREATE OR REPLACE VIEW {v} AS {old}")).collect::<Vec<_>>().join("; "),
            "lossless",
            None,
            "pg-view-replace",
        ));
    }
    place(steps, At::Before("stop-old-writes", "stop"), before_stop);

    // After the DROP: unique indexes that stood for constraints become constraints again.
    let mut after_drop = Vec::new();
    for (i, name) in &names {
        if i.kind == IndexKind::Unique && i.constraint {
            after_drop.push(op_step(
                "contract",
                &format!("carry-constraint-{name}"),
                "ddl",
                format!("Make {name} the UNIQUE constraint of {t}.{n}"),
                format!("{c} had the constraint {}; the unique index on {n} becomes the same kind of constraint (a foreign key may reference it) without a rebuild.", i.name.as_deref().unwrap_or("(unnamed)")),
                vec![format!("ALTER TABLE {t} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")],
                Some((format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}' AND contype = 'u'"), "^1$".into())),
                format!("nothing to undo: ALTER TABLE {t} DROP CONSTRAINT {name} would drop the index too"),
                "lossless",
                None,
                "pg-unique-using-index",
            ));
        }
    }
    place(steps, At::After("contract", "drop"), after_drop);
}

fn validate_fk(t: &str, name: &str, k: usize) -> OpStep {
    op_step(
        "backfill",
        &format!("validate-fk-{}", k + 1),
        "ddl",
        format!("Validate foreign key {name}"),
        "Checks the rows written before the constraint existed; does not block writes.".into(),
        vec![format!("ALTER TABLE {t} VALIDATE CONSTRAINT {name}")],
        Some((
            format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}' AND convalidated"),
            "^1$".into(),
        )),
        "nothing to undo: validation changes no data".into(),
        "lossless",
        Some("index"),
        "pg-fk-not-valid",
    )
}

fn set_not_null_pg(t: &str, col: &str, why: &str) -> OpStep {
    let ck = format!("{t}_{col}_not_null");
    op_step(
        "backfill",
        "carry-not-null",
        "ddl",
        format!("Make {t}.{col} NOT NULL without a long lock"),
        format!(
            "{why}. A CHECK added NOT VALID and then validated lets SET NOT NULL skip its scan under the exclusive lock."
        ),
        vec![
            format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ck}"),
            format!("ALTER TABLE {t} ADD CONSTRAINT {ck} CHECK ({col} IS NOT NULL) NOT VALID"),
            format!("ALTER TABLE {t} VALIDATE CONSTRAINT {ck}"),
            format!("ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL"),
            format!("ALTER TABLE {t} DROP CONSTRAINT {ck}"),
        ],
        Some((
            format!(
                "SELECT is_nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{t}' AND column_name = '{col}'"
            ),
            "^NO$".into(),
        )),
        format!("ALTER TABLE {t} ALTER COLUMN {col} DROP NOT NULL"),
        "lossless",
        Some("index"),
        "pg-set-not-null",
    )
}

/// (view, definition reading n, definition as it is) for every view that reads c.
fn repoint_views(
    h: &Has,
    c: &str,
    n: &str,
    dialect: &dyn sqlparser::dialect::Dialect,
) -> Option<Vec<(String, String, String)>> {
    let v: Vec<(String, String, String)> = h
        .views
        .iter()
        .map(|v| {
            let def = v.definition.trim_end_matches(';').trim().to_string();
            let new = repoint_view(&def, c, n, dialect).unwrap_or_else(|| def.clone());
            (v.name.clone(), new, def)
        })
        .collect();
    (!v.is_empty()).then_some(v)
}

fn rename_my(steps: &mut Vec<OpStep>, t: &str, c: &str, n: &str, h: &Has) {
    let ct = &h.col.data_type;
    let mut expand = Vec::new();
    let mut names = Vec::new();
    for (k, i) in h.indexes.iter().enumerate() {
        let name = new_index_name(i, t, c, n);
        let unique = i.kind == IndexKind::Unique;
        let add = format!(
            "ADD {}INDEX {name} ({})",
            if unique { "UNIQUE " } else { "" },
            swap_col(&i.columns, c, n)
        );
        let mut s = op_step(
            "expand",
            &format!("carry-index-{}", k + 1),
            "ddl",
            format!(
                "Add {} {name} on {t}({}) in place",
                index_title(i),
                swap_col(&i.columns, c, n)
            ),
            format!(
                "{t}.{c} has {} {}: {n} gets the same before any release reads {n}. While N writes only {c}, {n} stays NULL on its rows, which a unique index allows.",
                index_title(i),
                i.name.as_deref().unwrap_or("(unnamed)")
            ),
            vec![format!(
                "ALTER TABLE {t} {add}, ALGORITHM=INPLACE, LOCK=NONE"
            )],
            Some((
                format!(
                    "SELECT count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{t}' AND index_name = '{name}'"
                ),
                "^1$".into(),
            )),
            format!("ALTER TABLE {t} DROP INDEX {name}"),
            "lossless",
            Some("index"),
            "mariadb-inplace",
        );
        s.alter = Some(add);
        expand.push(s);
        names.push(name);
    }
    place(steps, At::After("expand", "add"), expand);

    let mut after_copy = Vec::new();
    for (k, f) in h.fks_out.iter().enumerate() {
        let name = renamed(f.name.as_deref().unwrap_or(&format!("{t}_{c}_fk")), c, n);
        let cols = swap_col(&f.columns, c, n);
        after_copy.push(op_step(
            "backfill",
            &format!("carry-fk-{}", k + 1),
            "ddl",
            format!("Add foreign key {name} on {t}({cols}) in place"),
            format!("{t}.{c} references {}({}); {n} must too. The check of existing rows is the verification: it counts rows of {t} whose {n} has no match.", f.ref_table, f.ref_columns.join(", ")),
            vec![
                "SET SESSION foreign_key_checks = 0".into(),
                format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {name} FOREIGN KEY ({cols}) REFERENCES {} ({}), ALGORITHM=INPLACE, LOCK=NONE",
                    f.ref_table,
                    f.ref_columns.join(", ")
                ),
            ],
            Some((
                format!(
                    "SELECT count(*) FROM {t} x LEFT JOIN {} r ON r.{} = x.{n} WHERE x.{n} IS NOT NULL AND r.{} IS NULL",
                    f.ref_table, f.ref_columns[0], f.ref_columns[0]
                ),
                "^0$".into(),
            )),
            format!("ALTER TABLE {t} DROP FOREIGN KEY {name}"),
            "lossless",
            Some("index"),
            "mariadb-fk-inplace",
        ));
    }
    place(steps, At::After("backfill", "copy"), after_copy);

    let mut before_stop = Vec::new();
    if h.col.not_null || h.col.default.is_some() {
        let change = format!(
            "MODIFY COLUMN {n} {ct} {}, MODIFY COLUMN {c} {ct} NULL DEFAULT NULL",
            nullability(h.col)
        );
        let mut s = op_step(
            "stop-old-writes",
            "carry-not-null",
            "ddl",
            format!(
                "{n} takes {c}'s {}; {c} becomes nullable",
                nullability(h.col)
            ),
            format!(
                "Release N+3 writes only {n}: {c} must not demand a value any more (on MariaDB no trigger fills it), and {n} gets the NOT NULL and default {c} had. N is gone and N+1/N+2 write both columns, so every row has {n} after the backfill. A rebuild in place: reads and writes go on."
            ),
            vec![format!(
                "ALTER TABLE {t} {change}, ALGORITHM=INPLACE, LOCK=NONE"
            )],
            Some((
                format!(
                    "SELECT CONCAT(IS_NULLABLE, '|', COALESCE(COLUMN_DEFAULT, '')) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{t}' AND column_name = '{n}'"
                ),
                format!("^{}\\|", if h.col.not_null { "NO" } else { "YES" }),
            )),
            format!(
                "ALTER TABLE {t} MODIFY COLUMN {c} {ct} {}, MODIFY COLUMN {n} {ct} NULL DEFAULT NULL",
                nullability(h.col)
            ),
            "lossless",
            Some("rebuild"),
            "mariadb-inplace",
        );
        s.alter = Some(change);
        before_stop.push(s);
    }
    if let Some(views) = repoint_views(h, c, n, &sqlparser::dialect::MySqlDialect {}) {
        before_stop.push(op_step(
            "stop-old-writes",
            "carry-views",
            "ddl",
            format!("Re-point {} at {t}.{n}", views.iter().map(|(v, _, _)| v.as_str()).collect::<Vec<_>>().join(", ")),
            format!("The views read {c}, which N+3 stops writing; from here they read {n} under the old output names."),
            views.iter().map(|(v, new, _)| format!("CREATE OR REPLACE VIEW {v} AS {new}")).collect(),
            Some((
                format!("SELECT count(*) FROM information_schema.views WHERE table_schema = DATABASE() AND view_definition LIKE '%`{t}`.`{c}`%'"),
                "^0$".into(),
            )),
            views.iter().map(|(v, _, old)| format!("CREATE OR REPLACE VIEW {v} AS {old}")).collect::<Vec<_>>().join("; "),
            "lossless",
            None,
            "mariadb-view",
        ));
    }
    place(steps, At::Before("stop-old-writes", "stop"), before_stop);

    // The INSTANT drop refuses an indexed column: its indexes and foreign keys go first.
    let mut drops: Vec<String> = h
        .fks_out
        .iter()
        .filter_map(|f| f.name.as_ref().map(|n| format!("DROP FOREIGN KEY {n}")))
        .collect();
    let mut readd: Vec<String> = Vec::new();
    for i in &h.indexes {
        if let Some(name) = &i.name {
            drops.push(format!("DROP INDEX {name}"));
            readd.push(format!(
                "ADD {}INDEX {name} ({})",
                if i.kind == IndexKind::Unique {
                    "UNIQUE "
                } else {
                    ""
                },
                i.columns.join(", ")
            ));
        }
    }
    if !drops.is_empty() {
        let mut s = op_step(
            "contract",
            "drop-old-indexes",
            "ddl",
            format!("Drop the indexes and foreign keys on {c}"),
            format!(
                "{n} has its own copies since expand. Dropping a secondary index is in place and leaves writes running."
            ),
            vec![format!(
                "ALTER TABLE {t} {}, ALGORITHM=INPLACE, LOCK=NONE",
                drops.join(", ")
            )],
            Some((
                format!(
                    "SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{t}' AND column_name = '{c}'"
                ),
                "^0$".into(),
            )),
            if readd.is_empty() {
                "re-add the foreign keys on {c}".replace("{c}", c)
            } else {
                format!(
                    "ALTER TABLE {t} {}, ALGORITHM=INPLACE, LOCK=NONE",
                    readd.join(", ")
                )
            },
            "slow",
            Some("index"),
            "mariadb-instant-drop",
        );
        s.alter = Some(drops.join(", "));
        place(steps, At::Before("contract", "drop"), vec![s]);
    }
    let _ = names;
}

fn rename_lite(
    steps: &mut Vec<OpStep>,
    t: &str,
    c: &str,
    n: &str,
    h: &Has,
    change: &Change,
) -> Result<(), String> {
    if h.col.not_null && h.col.default.is_none() {
        return Err(format!(
            "change \"{}\": {t}.{c} is NOT NULL without a default, and SQLite can change neither without rebuilding {t}: release N+3, which writes only {n}, could not insert a row (NOT NULL is checked before any trigger could fill {c}). Give {c} a default first (a table rebuild), or rename in one release with the application stopped (ALTER TABLE {t} RENAME COLUMN {c} TO {n})",
            change.text
        ));
    }
    let pk = "rowid";
    let trig = |s: &str| format!("{t}_{n}_sync_{s}");
    let mut expand = vec![op_step(
        "expand",
        "carry-sync",
        "ddl",
        format!("Install triggers that keep {c} and {n} equal"),
        format!(
            "Whichever column a writer sets reaches the other, so N (writes {c}), N+1 and N+2 (write both) and N+3 (writes {n}) can run side by side. A value in {n} wins over {c}'s default."
        ),
        vec![
            format!(
                "CREATE TRIGGER IF NOT EXISTS {} AFTER INSERT ON {t} BEGIN UPDATE {t} SET {n} = NEW.{c} WHERE {pk} = NEW.{pk} AND NEW.{n} IS NULL; UPDATE {t} SET {c} = NEW.{n} WHERE {pk} = NEW.{pk} AND NEW.{n} IS NOT NULL AND NEW.{c} IS NOT NEW.{n}; END",
                trig("ins")
            ),
            format!(
                "CREATE TRIGGER IF NOT EXISTS {} AFTER UPDATE OF {c} ON {t} WHEN NEW.{c} IS NOT OLD.{c} AND NEW.{n} IS OLD.{n} BEGIN UPDATE {t} SET {n} = NEW.{c} WHERE {pk} = NEW.{pk}; END",
                trig("upd_old")
            ),
            format!(
                "CREATE TRIGGER IF NOT EXISTS {} AFTER UPDATE OF {n} ON {t} WHEN NEW.{n} IS NOT OLD.{n} AND NEW.{c} IS OLD.{c} BEGIN UPDATE {t} SET {c} = NEW.{n} WHERE {pk} = NEW.{pk}; END",
                trig("upd_new")
            ),
        ],
        Some((
            format!(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '{t}\\_{n}\\_sync\\_%' ESCAPE '\\'"
            ),
            "^3$".into(),
        )),
        ["ins", "upd_old", "upd_new"]
            .iter()
            .map(|s| format!("DROP TRIGGER IF EXISTS {}", trig(s)))
            .collect::<Vec<_>>()
            .join("; "),
        "lossless",
        None,
        "sqlite-triggers",
    )];
    let mut names = Vec::new();
    for (k, i) in h.indexes.iter().enumerate() {
        let name = new_index_name(i, t, c, n);
        let unique = i.kind == IndexKind::Unique;
        expand.push(op_step(
            "expand",
            &format!("carry-index-{}", k + 1),
            "ddl",
            format!("Add {} {name} on {t}({})", index_title(i), swap_col(&i.columns, c, n)),
            format!("{t}.{c} has {} {}: releases that read {n} need the same. SQLite builds it under the write lock: writers wait for the build.", index_title(i), i.name.as_deref().unwrap_or("(unnamed)")),
            vec![format!(
                "CREATE {}INDEX IF NOT EXISTS {name} ON {t} ({})",
                if unique { "UNIQUE " } else { "" },
                swap_col(&i.columns, c, n)
            )],
            Some((format!("SELECT count(*) FROM pragma_index_list('{t}') WHERE name = '{name}' AND \"unique\" = {}", u8::from(unique)), "^1$".into())),
            format!("DROP INDEX IF EXISTS {name}"),
            "lossless",
            Some("index"),
            "sqlite-drop-column",
        ));
        names.push(name);
    }
    place(steps, At::After("expand", "add"), expand);

    // Contract: SQLite cannot drop a UNIQUE, indexed or viewed column, and cannot give a
    // column NOT NULL or a default without a rebuild. So the copy goes and the original
    // takes the new name: its constraints, default, indexes and views come with it.
    let precheck = op_step(
        "contract",
        "precheck",
        "check",
        format!("Pre-check: {n} and {c} agree on every row"),
        "The last check before the point of no return.".into(),
        Vec::new(),
        Some((
            format!("SELECT count(*) FROM {t} WHERE {n} IS NOT {c}"),
            "^0$".into(),
        )),
        "nothing to undo".into(),
        "lossless",
        None,
        "sqlite-triggers",
    );
    place(steps, At::Before("contract", "drop"), vec![precheck]);
    if let Some(drop) = steps
        .iter_mut()
        .find(|s| s.phase == "contract" && s.key == "drop")
    {
        let mut sql = vec!["BEGIN IMMEDIATE".to_string()];
        for s in ["ins", "upd_old", "upd_new"] {
            sql.push(format!("DROP TRIGGER IF EXISTS {}", trig(s)));
        }
        for name in &names {
            sql.push(format!("DROP INDEX IF EXISTS {name}"));
        }
        sql.push(format!("ALTER TABLE {t} DROP COLUMN {n}"));
        sql.push(format!("ALTER TABLE {t} RENAME COLUMN {c} TO {n}"));
        sql.push("COMMIT".into());
        let f = fact("sqlite-rename-column");
        drop.title = format!("Drop the copy {n} and rename {c} to {n}, in one transaction");
        drop.detail = format!(
            "SQLite cannot drop {c} (see the prepare notes) nor give {n} {c}'s NOT NULL and default without rebuilding {t}. The two columns hold the same values (pre-check), so the copy goes and the original column takes its name, with its {} and every index and view that names it. Writers wait for one statement's worth of work; N+2, which still writes {c}, must be gone.\n\n{} ({})",
            nullability(h.col),
            f.text,
            f.source
        );
        drop.sql = sql;
        drop.verify = Some(format!(
            "SELECT group_concat(name) FROM pragma_table_info('{t}') WHERE name IN ('{c}', '{n}')"
        ));
        drop.expect = Some(format!("^{n}$"));
        drop.rollback = format!(
            "ALTER TABLE {t} RENAME COLUMN {n} TO {c}, then add {n} again and re-run expand: no data is lost, but every reader of {n} fails meanwhile"
        );
        drop.source = f.source.clone();
    }
    Ok(())
}

fn retype_pg(steps: &mut Vec<OpStep>, t: &str, c: &str, ty: &str, h: &Has) {
    let tmp = format!("{c}_new");
    let mut after_copy = Vec::new();
    let mut names = Vec::new();
    for (k, i) in h.indexes.iter().enumerate() {
        let orig = i.name.clone().unwrap_or_else(|| format!("{t}_{c}_idx"));
        let name = format!("{orig}_new");
        let unique = i.kind == IndexKind::Unique;
        after_copy.push(op_step(
            "backfill",
            &format!("carry-index-{}", k + 1),
            "ddl_no_tx",
            format!("Build {} {name} on {t}({}) without blocking writes", index_title(i), swap_col(&i.columns, c, &tmp)),
            format!("{t}.{c} has {} {orig}: the {ty} column gets the same before the swap makes it {c}.", index_title(i)),
            vec![format!(
                "CREATE {}INDEX CONCURRENTLY IF NOT EXISTS {name} ON {t} ({})",
                if unique { "UNIQUE " } else { "" },
                swap_col(&i.columns, c, &tmp)
            )],
            Some((
                format!("SELECT count(*) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relname = '{name}' AND i.indisvalid AND i.indisunique = {unique}"),
                "^1$".into(),
            )),
            format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"),
            "lossless",
            Some("index"),
            "pg-index-concurrently",
        ));
        names.push((i, orig, name));
    }
    let mut fks = Vec::new();
    for (k, f) in h.fks_out.iter().enumerate() {
        let orig = f.name.clone().unwrap_or_else(|| format!("{t}_{c}_fkey"));
        let name = format!("{orig}_new");
        after_copy.push(op_step(
            "backfill",
            &format!("carry-fk-{}", k + 1),
            "ddl",
            format!("Add foreign key {name} on {t}({tmp}) NOT VALID"),
            format!("{t}.{c} references {}({}); the {ty} column must too.", f.ref_table, f.ref_columns.join(", ")),
            vec![
                format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name}"),
                format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {name} FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID",
                    swap_col(&f.columns, c, &tmp),
                    f.ref_table,
                    f.ref_columns.join(", ")
                ),
            ],
            Some((format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}'"), "^1$".into())),
            format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name}"),
            "lossless",
            None,
            "pg-fk-not-valid",
        ));
        after_copy.push(validate_fk(t, &name, k));
        fks.push((orig, name));
    }
    if h.col.not_null {
        after_copy.push(set_not_null_pg(t, &tmp, &format!("NOT NULL like {c}: the backfill filled every old row and the trigger fills {tmp} on every write")));
    }
    place(steps, At::After("backfill", "copy"), after_copy);

    // The swap: the default and the views go to the new column in the same transaction.
    if let Some(swap) = steps
        .iter_mut()
        .find(|s| s.phase == "switch-reads" && s.key == "swap")
    {
        let mut before = Vec::new();
        let mut after = Vec::new();
        for v in &h.views {
            before.push(format!("DROP VIEW {}", v.name));
            after.push(format!(
                "CREATE VIEW {} AS {}",
                v.name,
                v.definition.trim_end_matches(';').trim()
            ));
        }
        if let Some(d) = &h.col.default {
            after.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {d}"));
            after.push(format!("ALTER TABLE {t} ALTER COLUMN {c}_old DROP DEFAULT"));
        }
        for q in swap.sql.iter_mut() {
            if !before.is_empty() {
                *q = q.replacen("BEGIN; ", &format!("BEGIN; {}; ", before.join("; ")), 1);
            }
            if !after.is_empty()
                && let Some(at) = q.rfind("; COMMIT")
            {
                q.insert_str(at, &format!("; {}", after.join("; ")));
            }
        }
        let f = fact("pg-view-replace");
        swap.detail.push_str(&format!(
            "{}{}\n\n{} ({})",
            if h.views.is_empty() {
                String::new()
            } else {
                format!(
                    "\n\nViews {} are dropped and created again in the same transaction: they would otherwise keep reading {c}_old (a view follows the column it was made on) and block its DROP. Grants on them must be given again.",
                    h.views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
            h.col
                .default
                .as_ref()
                .map(|d| format!("\n\nThe default {d} moves to the {ty} column."))
                .unwrap_or_default(),
            f.text,
            f.source
        ));
        swap.verify = Some(format!(
            "SELECT data_type || '|' || is_nullable || '|' || coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{t}' AND column_name = '{c}'"
        ));
        swap.expect = None;
    }

    // After the old column is gone, the carried indexes and keys take their old names.
    let mut renames = Vec::new();
    for (i, orig, name) in &names {
        if i.kind == IndexKind::Unique && i.constraint {
            renames.push(format!(
                "ALTER TABLE {t} ADD CONSTRAINT {orig} UNIQUE USING INDEX {name}"
            ));
        } else {
            renames.push(format!("ALTER INDEX {name} RENAME TO {orig}"));
        }
    }
    for (orig, name) in &fks {
        renames.push(format!(
            "ALTER TABLE {t} RENAME CONSTRAINT {name} TO {orig}"
        ));
    }
    if !renames.is_empty() {
        let s = op_step(
            "contract",
            "carry-names",
            "ddl",
            format!("Give the carried indexes and constraints of {t}.{c} their old names"),
            format!("The old ones went with {c}_old; names matter to tools that diff the schema."),
            renames,
            None,
            "nothing to undo: names only".into(),
            "lossless",
            None,
            "pg-unique-using-index",
        );
        place(steps, At::After("contract", "drop-old"), vec![s]);
    }
}

fn drop_table_dependents(
    steps: &mut Vec<OpStep>,
    engine: &Engine,
    t: &str,
    views: &[&View],
    fks_in: &[&ForeignKey],
) {
    let mut out = Vec::new();
    let pg = engine.id == "postgres";
    if !views.is_empty() {
        out.push(op_step(
            "contract",
            "drop-views",
            "ddl",
            format!("Drop the views that read {t}: {}", views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")),
            format!("Release N+1 reads neither {t} nor its views. Parking {t} under another name would leave them working on it (and block the DROP on PostgreSQL); they go first, so anything still using them fails now, while {t} is one rename away. Their definitions are in the rollback."),
            views.iter().map(|v| format!("DROP VIEW IF EXISTS {}", v.name)).collect(),
            pg.then(|| (
                format!("SELECT count(DISTINCT r.ev_class) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid WHERE d.refobjid = '{t}'::regclass AND r.ev_class <> '{t}'::regclass"),
                "^0$".into(),
            )),
            views.iter().map(|v| format!("CREATE VIEW {} AS {}", v.name, v.definition.trim_end_matches(';').trim())).collect::<Vec<_>>().join("; "),
            "lossless",
            None,
            if pg { "pg-drop-table" } else if engine.id == "sqlite" { "sqlite-drop-column" } else { "mariadb-view" },
        ));
    }
    if !fks_in.is_empty() {
        let drop_fk = |f: &ForeignKey| {
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| format!("{}_fkey", f.table));
            if pg {
                format!("ALTER TABLE {} DROP CONSTRAINT {name}", f.table)
            } else {
                format!("ALTER TABLE {} DROP FOREIGN KEY {name}", f.table)
            }
        };
        out.push(op_step(
            "contract",
            "drop-fks-in",
            "ddl",
            format!("Drop the foreign keys that reference {t}"),
            format!("The DROP of {t} fails while another table's foreign key references it."),
            fks_in.iter().map(|f| drop_fk(f)).collect(),
            None,
            fks_in
                .iter()
                .map(|f| {
                    format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {t} ({}){}",
                        f.table,
                        f.name
                            .clone()
                            .unwrap_or_else(|| format!("{}_fkey", f.table)),
                        f.columns.join(", "),
                        f.ref_columns.join(", "),
                        if pg { " NOT VALID" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            "lossless",
            None,
            if pg {
                "pg-fk-not-valid"
            } else {
                "mariadb-fk-inplace"
            },
        ));
    }
    place(steps, At::Before("contract", "park"), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_has_a_source_a_reader_can_open() {
        assert!(facts().len() >= 10);
        for f in facts() {
            assert!(f.source.starts_with("https://"), "{}: {}", f.id, f.source);
        }
    }

    #[test]
    fn names_swap_the_column_word_or_append() {
        assert_eq!(
            renamed("orders_status_key", "status", "state"),
            "orders_state_key"
        );
        assert_eq!(renamed("idx_by_status", "status", "state"), "idx_by_state");
        assert_eq!(renamed("uq1", "status", "state"), "uq1_state");
        assert_eq!(
            renamed("t_first_name_idx", "first_name", "given"),
            "t_given_idx"
        );
    }

    #[test]
    fn a_view_reads_the_new_column_under_its_old_name() {
        let pg = sqlparser::dialect::PostgreSqlDialect {};
        let got = repoint_view(
            "SELECT orders.id,\n    orders.status\n   FROM public.orders\n  WHERE (orders.status <> 'status'::text)",
            "status",
            "state",
            &pg,
        )
        .unwrap();
        assert_eq!(
            got,
            "SELECT orders.id,\n    orders.state AS status\n   FROM public.orders\n  WHERE (orders.state <> 'status'::text)"
        );
        let my = sqlparser::dialect::MySqlDialect {};
        let got = repoint_view(
            "select `orders`.`id` AS `id`,`orders`.`status` AS `status` from `orders` where `orders`.`status` <> 'closed'",
            "status",
            "state",
            &my,
        )
        .unwrap();
        assert_eq!(
            got,
            "select `orders`.`id` AS `id`,`orders`.`state` AS `status` from `orders` where `orders`.`state` <> 'closed'"
        );
        // An expression keeps its own output name.
        assert_eq!(
            repoint_view("SELECT upper(status) FROM orders", "status", "state", &pg).unwrap(),
            "SELECT upper(state) FROM orders"
        );
    }
}
