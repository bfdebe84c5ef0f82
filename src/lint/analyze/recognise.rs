//! Statements sqlparser cannot read whole but whose meaning is clear: ones with nothing to
//! check (ALTER SEQUENCE, statistics, publications, event triggers, comments), the plain SQL
//! inside a PostgreSQL DO block, and statements that parse once a clause sqlparser does not
//! know, and that changes no hazard, is taken out (PostgreSQL 18's `CONSTRAINT c NOT NULL col`
//! in CREATE TABLE, MySQL's `VARCHAR(n) BINARY`).

use sqlparser::parser::Parser;

use super::*;

/// Statements with no lock worth reporting and no effect on what the application reads: their
/// leading words. ALTER SEQUENCE and CREATE STATISTICS take a lock on the sequence or a
/// SHARE UPDATE EXCLUSIVE lock only (PostgreSQL docs, Explicit Locking, table 13.2).
const NOTHING_TO_CHECK: [&[&str]; 13] = [
    &["ALTER", "SEQUENCE"],
    &["CREATE", "STATISTICS"],
    &["ALTER", "STATISTICS"],
    &["DROP", "STATISTICS"],
    &["CREATE", "PUBLICATION"],
    &["ALTER", "PUBLICATION"],
    &["DROP", "PUBLICATION"],
    &["CREATE", "EVENT", "TRIGGER"],
    &["ALTER", "EVENT", "TRIGGER"],
    &["DROP", "EVENT", "TRIGGER"],
    &["CREATE", "OR", "REPLACE", "EVENT"],
    &["COMMENT", "ON"],
    &["ALTER", "ROLE"],
];

/// Words that start a plain SQL statement inside a PL/pgSQL block.
const SQL_COMMANDS: [&str; 10] = [
    "ALTER", "CREATE", "DROP", "UPDATE", "DELETE", "INSERT", "TRUNCATE", "COMMENT", "GRANT",
    "REVOKE",
];

/// An ALTER TABLE clause sqlparser does not know that changes nothing rollsafe checks:
/// ALTER CONSTRAINT only changes a foreign key's deferrability (catalog only).
pub(super) fn harmless_clause(clause: &str) -> bool {
    let upper = clause.trim_start().to_ascii_uppercase();
    upper.starts_with("ALTER CONSTRAINT")
}

impl Context<'_> {
    /// Handles a statement the parser refused, when its meaning is clear; `false` otherwise.
    pub(super) fn recognised(&mut self, stmt: &mut Stmt<'_>) -> bool {
        let words: Vec<&str> = stmt
            .words
            .iter()
            .take(4)
            .map(|w| w.upper.as_str())
            .collect();
        let kind = self.kind();
        if kind == EngineKind::Postgres
            && NOTHING_TO_CHECK
                .iter()
                .any(|lead| words.len() >= lead.len() && words[..lead.len()] == **lead)
        {
            return true;
        }
        if kind == EngineKind::Postgres && words.first() == Some(&"DO") {
            self.do_block(stmt);
            return true;
        }
        let rewritten = match kind {
            EngineKind::Postgres if words.starts_with(&["CREATE", "TABLE"]) => {
                let re = regex::Regex::new(
                    r#"(?i),\s*CONSTRAINT\s+"?[\w$]+"?\s+NOT\s+NULL\s+"?[\w$]+"?(\s+NO\s+INHERIT)?"#,
                )
                .expect("static regex");
                re.replace_all(stmt.text, "").into_owned()
            }
            EngineKind::Mysql | EngineKind::Mariadb => {
                // `VARCHAR(n) BINARY`: the binary collation of the column's charset.
                let binary = regex::Regex::new(r"(?i)\b((?:var)?char\s*\(\s*\d+\s*\))\s+BINARY\b")
                    .expect("static regex");
                // `CREATE FULLTEXT|SPATIAL INDEX`: read as an index; the words stay in `stmt`,
                // so the check still knows it is not an online secondary index.
                let kind =
                    regex::Regex::new(r"(?i)^(\s*CREATE)\s+(?:FULLTEXT|SPATIAL)\s+(INDEX)\b")
                        .expect("static regex");
                let text = binary.replace_all(stmt.text, "$1");
                kind.replace(&text, "$1 $2").into_owned()
            }
            _ => return false,
        };
        if rewritten == stmt.text {
            return false;
        }
        match Parser::parse_sql(parse::dialect(kind).as_ref(), &rewritten) {
            Ok(statements) => {
                for s in &statements {
                    self.check(s, stmt);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// DO $$ … $$: each plain SQL statement of the block (after BEGIN, THEN, ELSE or LOOP) is
    /// checked at its own place in the file; PL/pgSQL control and dynamic EXECUTE are skipped.
    fn do_block(&mut self, stmt: &Stmt<'_>) {
        let text = stmt.text;
        let Some(open) = text.find('$') else { return };
        let Some(close_tag) = text[open + 1..].find('$') else {
            return;
        };
        let tag = &text[open..open + close_tag + 2];
        let body_start = open + tag.len();
        let Some(body_len) = text[body_start..].find(tag) else {
            return;
        };
        let body = &text[body_start..body_start + body_len];
        for chunk in split::split(body, EngineKind::Postgres) {
            let piece = chunk.text(body);
            let words = split::words(piece, EngineKind::Postgres);
            let Some(i) = words.iter().enumerate().position(|(i, w)| {
                SQL_COMMANDS.contains(&w.upper.as_str())
                    && (i == 0
                        || matches!(
                            words[i - 1].upper.as_str(),
                            "BEGIN" | "THEN" | "ELSE" | "LOOP"
                        ))
            }) else {
                continue;
            };
            let sql = &piece[words[i].offset..];
            let Ok(statements) =
                Parser::parse_sql(parse::dialect(EngineKind::Postgres).as_ref(), sql)
            else {
                continue;
            };
            let offset = body_start + chunk.start + words[i].offset;
            let mut inner = Stmt {
                text: sql,
                start: stmt.start + offset,
                words: split::words(sql, EngineKind::Postgres),
                cursor: 0,
                ignored: stmt.ignored.clone(),
                index: stmt.index,
            };
            for s in &statements {
                self.check(s, &mut inner);
            }
        }
    }
}
