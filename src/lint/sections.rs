//! Files that hold several units: Liquibase formatted SQL (`--changeset author:id` sections,
//! each its own transaction unless `runInTransaction:false`, with `--rollback` lines or a
//! `/* liquibase rollback … */` block as the down side) and dbmate (`-- migrate:up` /
//! `-- migrate:down` sections, `transaction:false` on the marker line).
//!
//! Each unit's text has the length of the file with everything outside the unit blanked
//! (newlines kept), so byte offsets, lines and columns stay those of the original file.
//! Sources: Liquibase docs "Example SQL changelogs" / "SQL changelog attributes"
//! (runInTransaction defaults to true; `--` may be followed by a space, CORE-1032);
//! dbmate README "Creating Migrations" and "Disabling transactions".

use super::inputs::Direction;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `changeset alice:1`, `migrate:up`; `None` for a plain file.
    pub label: Option<String>,
    pub direction: Direction,
    /// `Some(false)`: the file opts this unit out of the tool's transaction.
    pub transaction: Option<bool>,
    /// The file's text with everything outside this unit blanked.
    pub text: String,
}

/// Which multi-unit format a file's text is in, for tool inference.
pub fn format_of(text: &str) -> Option<(&'static str, &'static str)> {
    if liquibase_header(text) {
        Some(("liquibase", "a --liquibase formatted sql header"))
    } else if text.lines().any(|l| dbmate_marker(l).is_some()) {
        Some(("dbmate", "-- migrate:up / -- migrate:down sections"))
    } else {
        None
    }
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
            direction,
            transaction: None,
            text: text.to_string(),
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

/// A copy of `text` with only the byte ranges in `keep` left; the rest becomes spaces
/// (a multi-byte character becomes as many spaces as it has bytes), newlines stay.
fn masked(text: &str, keep: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if ch == '\n' || keep.iter().any(|&(s, e)| i >= s && i < e) {
            out.push(ch);
        } else {
            out.extend(std::iter::repeat_n(' ', ch.len_utf8()));
        }
    }
    out
}

fn liquibase(text: &str) -> Vec<Unit> {
    struct Set {
        label: String,
        transaction: Option<bool>,
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
            let transaction = words
                .filter_map(|w| w.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("runInTransaction"))
                .map(|(_, v)| !v.eq_ignore_ascii_case("false"));
            sets.push(Set {
                label: format!("changeset {id}"),
                transaction,
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
    let ups = sets.iter().map(|s| Unit {
        label: Some(s.label.clone()),
        direction: Direction::Up,
        transaction: s.transaction,
        text: masked(text, &s.up),
    });
    // A rollback undoes the changesets newest first.
    let downs = sets
        .iter()
        .rev()
        .filter(|s| !s.down.is_empty())
        .map(|s| Unit {
            label: Some(format!("{} rollback", s.label)),
            direction: Direction::Down,
            transaction: s.transaction,
            text: masked(text, &s.down),
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
        .map(|(direction, transaction, keep)| Unit {
            label: Some(
                match direction {
                    Direction::Up => "migrate:up",
                    Direction::Down => "migrate:down",
                }
                .into(),
            ),
            direction,
            transaction,
            text: masked(text, &keep),
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
        assert!(u.iter().all(|x| x.text.len() == src.len()));
        assert_eq!(u[0].text.trim(), "CREATE TABLE t (id int);");
        // The rollback SQL stands where it stands in the file.
        let at = src.find("DROP TABLE t").unwrap();
        assert_eq!(u[2].direction, Direction::Down);
        assert_eq!(&u[2].text[at..at + 12], "DROP TABLE t");
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
    fn masking_keeps_multibyte_offsets() {
        let m = masked("é;x", &[(2, 4)]);
        assert_eq!(m, "  ;x");
    }
}
