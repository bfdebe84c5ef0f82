//! Files that hold several units: Liquibase formatted SQL (`--changeset author:id` sections,
//! each its own transaction unless `runInTransaction:false`, with `--rollback` lines or a
//! `/* liquibase rollback … */` block as the down side) and dbmate (`-- migrate:up` /
//! `-- migrate:down` sections, `transaction:false` on the marker line).
//!
//! Each unit's text is the span of the file from its first line to its last, with the lines of
//! other units inside that span blanked (newlines kept), and `base` is where the span starts in
//! the file: offset + `base` is a file offset, so lines and columns stay those of the original
//! file. A unit holds its own span only, so the work grows with the file, not with the file
//! times its number of changesets (10,000 changesets used to mean 10,000 copies of the file).
//! Sources: Liquibase docs "Example SQL changelogs" / "SQL changelog attributes"
//! (runInTransaction defaults to true; `--` may be followed by a space, CORE-1032; `dbms`
//! takes short names, `all`, `none` and `!name`);
//! dbmate README "Creating Migrations" and "Disabling transactions".

use super::inputs::Direction;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `changeset alice:1`, `migrate:up`; `None` for a plain file.
    pub label: Option<String>,
    pub direction: Direction,
    /// `Some(false)`: the file opts this unit out of the tool's transaction.
    pub transaction: Option<bool>,
    /// The unit's span of the file, other units' lines inside it blanked.
    pub text: String,
    /// Byte offset in the file where `text` starts.
    pub base: usize,
    /// Liquibase `dbms:` of the changeset: the databases it runs on (`all`, `none`, `!h2`).
    pub dbms: Option<String>,
}

impl Unit {
    /// Does the unit run on this engine? (Liquibase skips a changeset whose `dbms` excludes it.)
    pub fn runs_on(&self, engine: super::EngineKind) -> bool {
        let Some(list) = &self.dbms else {
            return true;
        };
        let name = match engine {
            super::EngineKind::Postgres => "postgresql",
            super::EngineKind::Mysql => "mysql",
            super::EngineKind::Mariadb => "mariadb",
            super::EngineKind::Sqlite => "sqlite",
        };
        let items: Vec<String> = list
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        if items
            .iter()
            .any(|d| d == "none" || *d == format!("!{name}"))
        {
            return false;
        }
        let positive: Vec<&String> = items.iter().filter(|d| !d.starts_with('!')).collect();
        positive.is_empty() || positive.iter().any(|d| *d == "all" || *d == name)
    }
}

/// Which multi-unit format a file's text is in, for tool inference.
pub fn format_of(text: &str) -> Option<(&'static str, &'static str)> {
    if liquibase_header(text) {
        Some(("liquibase", "a --liquibase formatted sql header"))
    } else if text.lines().any(|l| dbmate_marker(l).is_some()) {
        Some(("dbmate", "-- migrate:up / -- migrate:down sections"))
    } else if alembic_marker(text).is_some() {
        Some((
            "alembic",
            "alembic --sql output (-- Running upgrade/downgrade)",
        ))
    } else {
        None
    }
}

/// `alembic upgrade --sql` writes `-- Running upgrade A -> B` before each revision, and
/// `alembic downgrade --sql` `-- Running downgrade B -> A` (alembic docs, "Generating SQL
/// Scripts (a.k.a. Offline Mode)"): the direction of the whole script.
fn alembic_marker(text: &str) -> Option<Direction> {
    let mut found = None;
    for l in text.lines() {
        if directive(l, "Running").is_some() {
            let rest = l.trim_start()[2..].trim_start()["Running".len()..].trim_start();
            if rest.starts_with("upgrade") {
                return Some(Direction::Up);
            }
            if rest.starts_with("downgrade") {
                found = Some(Direction::Down);
            }
        }
    }
    found
}

/// The units of one file, in run order (up sections first, then down ones, newest first).
pub fn units(text: &str, direction: Direction) -> Vec<Unit> {
    if liquibase_header(text) {
        liquibase(text)
    } else if text.lines().any(|l| dbmate_marker(l).is_some()) {
        dbmate(text)
    } else {
        vec![Unit {
            label: None,
            direction: alembic_marker(text).unwrap_or(direction),
            transaction: None,
            text: text.to_string(),
            base: 0,
            dbms: None,
        }]
    }
}

/// `--` then optional spaces then `word` (case-insensitive); the rest of the line.
fn directive<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    let head = rest.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let after = &rest[word.len()..];
    (after.is_empty() || after.starts_with(char::is_whitespace)).then_some(after)
}

fn liquibase_header(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| directive(l, "liquibase"))
        .is_some_and(|rest| rest.trim().eq_ignore_ascii_case("formatted sql"))
}

/// Lines with their byte offsets.
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        out.push((at, l));
        at += l.len();
    }
    out
}

/// The span of `text` from the first kept byte to the last, with only the byte ranges in `keep`
/// (ascending, not overlapping) left; the rest becomes spaces (a multi-byte character becomes
/// as many spaces as it has bytes), newlines stay. Returns (span start, span text).
fn masked(text: &str, keep: &[(usize, usize)]) -> (usize, String) {
    let (Some(first), Some(last)) = (keep.first(), keep.last()) else {
        return (0, String::new());
    };
    let (base, end) = (first.0, last.1);
    let mut out = String::with_capacity(end - base);
    let mut at = base;
    let blank = |out: &mut String, gap: &str| {
        out.extend(gap.bytes().map(|b| if b == b'\n' { '\n' } else { ' ' }));
    };
    for &(s, e) in keep {
        if s > at {
            blank(&mut out, &text[at..s]);
        }
        out.push_str(&text[s..e]);
        at = e;
    }
    (base, out)
}

fn liquibase(text: &str) -> Vec<Unit> {
    struct Set {
        label: String,
        transaction: Option<bool>,
        dbms: Option<String>,
        up: Vec<(usize, usize)>,
        down: Vec<(usize, usize)>,
    }
    let mut sets: Vec<Set> = Vec::new();
    let mut in_block = false;
    for (at, line) in lines(text) {
        let end = at + line.len();
        if let Some(rest) = directive(line, "changeset") {
            let mut words = rest.split_whitespace();
            let id = words.next().unwrap_or("").to_string();
            let attrs: Vec<(&str, &str)> = words.filter_map(|w| w.split_once(':')).collect();
            let attr = |name: &str| {
                attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v)
            };
            let transaction = attr("runInTransaction").map(|v| !v.eq_ignore_ascii_case("false"));
            sets.push(Set {
                label: format!("changeset {id}"),
                transaction,
                dbms: attr("dbms").map(str::to_string),
                up: Vec::new(),
                down: Vec::new(),
            });
            in_block = false;
            continue;
        }
        let Some(set) = sets.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        if in_block {
            if let Some(close) = line.find("*/") {
                set.down.push((at, at + close));
                in_block = false;
            } else {
                set.down.push((at, end));
            }
        } else if trimmed.starts_with("/*")
            && trimmed[2..]
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("liquibase rollback")
        {
            in_block = true;
        } else if let Some(rest) = directive(line, "rollback") {
            let sql = rest.trim();
            let lower = sql.to_ascii_lowercase();
            if !(lower == "not required" || lower == "empty" || lower.is_empty()) {
                let start = end - rest.len() + (rest.len() - rest.trim_start().len());
                set.down.push((start, end));
            }
        } else {
            set.up.push((at, end));
        }
    }
    let ups = sets.iter().map(|s| {
        let (base, unit_text) = masked(text, &s.up);
        Unit {
            label: Some(s.label.clone()),
            direction: Direction::Up,
            transaction: s.transaction,
            text: unit_text,
            base,
            dbms: s.dbms.clone(),
        }
    });
    // A rollback undoes the changesets newest first.
    let downs = sets.iter().rev().filter(|s| !s.down.is_empty()).map(|s| {
        let (base, unit_text) = masked(text, &s.down);
        Unit {
            label: Some(format!("{} rollback", s.label)),
            direction: Direction::Down,
            transaction: s.transaction,
            text: unit_text,
            base,
            dbms: s.dbms.clone(),
        }
    });
    ups.chain(downs).collect()
}

/// `-- migrate:up` / `-- migrate:down` and the options after it.
fn dbmate_marker(line: &str) -> Option<(Direction, &str)> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    if let Some(opts) = rest.strip_prefix("migrate:up") {
        Some((Direction::Up, opts))
    } else {
        rest.strip_prefix("migrate:down")
            .map(|opts| (Direction::Down, opts))
    }
}

/// A dbmate section: direction, transaction option, byte ranges of its lines.
type Section = (Direction, Option<bool>, Vec<(usize, usize)>);

fn dbmate(text: &str) -> Vec<Unit> {
    let mut sections: Vec<Section> = Vec::new();
    for (at, line) in lines(text) {
        if let Some((direction, opts)) = dbmate_marker(line) {
            let transaction = opts
                .split_whitespace()
                .filter_map(|w| w.split_once(':'))
                .find(|(k, _)| *k == "transaction")
                .map(|(_, v)| v != "false");
            sections.push((direction, transaction, Vec::new()));
        } else if let Some(s) = sections.last_mut() {
            s.2.push((at, at + line.len()));
        }
    }
    sections.sort_by_key(|s| s.0 == Direction::Down);
    sections
        .into_iter()
        .map(|(direction, transaction, keep)| {
            let (base, unit_text) = masked(text, &keep);
            Unit {
                label: Some(
                    match direction {
                        Direction::Up => "migrate:up",
                        Direction::Down => "migrate:down",
                    }
                    .into(),
                ),
                direction,
                transaction,
                text: unit_text,
                base,
                dbms: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liquibase_changesets_keep_their_offsets_and_collect_rollbacks() {
        let src = "--liquibase formatted sql\n\n--changeset ana:1\nCREATE TABLE t (id int);\n--rollback DROP TABLE t;\n\n-- changeset ana:2 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON t (id);\n--rollback not required\n";
        let u = units(src, Direction::Up);
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].label.as_deref(), Some("changeset ana:1"));
        assert_eq!(u[0].transaction, None);
        assert_eq!(u[1].transaction, Some(false));
        assert_eq!(u[0].text.trim(), "CREATE TABLE t (id int);");
        // Each unit holds only its own span; offset + base is the file offset.
        assert!(u.iter().all(|x| x.text.len() < src.len()));
        let at = src.find("CREATE TABLE t").unwrap();
        assert_eq!(u[0].base, at);
        // The rollback SQL stands where it stands in the file.
        let at = src.find("DROP TABLE t").unwrap();
        assert_eq!(u[2].direction, Direction::Down);
        let b = u[2].base;
        assert_eq!(&u[2].text[at - b..at - b + 12], "DROP TABLE t");
        assert_eq!(u[2].text.trim(), "DROP TABLE t;");
    }

    #[test]
    fn dbmate_sections_and_transaction_option() {
        let src = "-- migrate:down\nDROP INDEX i;\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (id);\n";
        let u = units(src, Direction::Up);
        assert_eq!(u[0].direction, Direction::Up, "up runs first");
        assert_eq!(u[0].transaction, Some(false));
        assert_eq!(u[0].text.trim(), "CREATE INDEX CONCURRENTLY i ON t (id);");
        assert_eq!(u[1].direction, Direction::Down);
        assert_eq!(u[1].text.trim(), "DROP INDEX i;");
        assert_eq!(format_of(src).map(|f| f.0), Some("dbmate"));
    }

    #[test]
    fn alembic_offline_output_names_its_tool_and_direction() {
        let up =
            "BEGIN;\n\n-- Running upgrade  -> 1975ea83b712\n\nCREATE TABLE account (id int);\n";
        assert_eq!(format_of(up).map(|f| f.0), Some("alembic"));
        assert_eq!(units(up, Direction::Up)[0].direction, Direction::Up);
        let down = "-- Running downgrade 1975ea83b712 -> \n\nDROP TABLE account;\n";
        assert_eq!(units(down, Direction::Up)[0].direction, Direction::Down);
        assert_eq!(format_of("-- Running late\nSELECT 1;"), None);
    }

    #[test]
    fn liquibase_dbms_attribute_limits_the_changeset() {
        use super::super::EngineKind::{Mysql, Postgres};
        let src = "--liquibase formatted sql\n--changeset a:1 dbms:mysql,mariadb\nSELECT 1;\n--changeset a:2 dbms:!postgresql\nSELECT 2;\n--changeset a:3 dbms:all\nSELECT 3;\n--changeset a:4\nSELECT 4;\n";
        let on = |e| {
            units(src, Direction::Up)
                .iter()
                .filter(|u| u.runs_on(e))
                .filter_map(|u| u.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(on(Postgres), vec!["changeset a:3", "changeset a:4"]);
        assert_eq!(on(Mysql).len(), 4);
    }

    #[test]
    fn masking_keeps_multibyte_offsets() {
        assert_eq!(masked("é;x", &[(2, 4)]), (2, ";x".to_string()));
        assert_eq!(
            masked("a\né;x", &[(0, 2), (4, 5)]),
            (0, "a\n  ;".to_string())
        );
    }
}
