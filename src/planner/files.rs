//! The migration files a plan ships, as the named tool would load them: the tool's
//! wrapper (`module` in assets/tools.toml), its transaction opt-out and its down section.
//! Pure: `rollsafe plan --files DIR` writes what this returns.

use std::collections::BTreeMap;

use serde::Serialize;

use super::knowledge::Tool;
use super::plan::fill;

/// One file for the tool's migrations directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationFile {
    /// Relative to the project root, e.g. `alembic/versions/0042_x.py`.
    pub path: String,
    pub text: String,
}

/// How the plan numbers its files. `next` follows the project's history so no version
/// collides (Flyway, golang-migrate and goose refuse duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbering {
    pub next: u64,
    /// Digits, zero-padded: the width of `--next-version` as given.
    pub width: usize,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering { next: 1, width: 4 }
    }
}

impl Numbering {
    /// `--next-version V`: digits only; its width is kept (`0042`, `20261205120000`).
    pub fn parse(text: &str) -> Result<Numbering, String> {
        let t = text.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) || t.len() > 19 {
            return Err(format!(
                "--next-version {text:?}: give the next migration number in digits, e.g. 0042 or 20261205120000"
            ));
        }
        let next = t
            .parse::<u64>()
            .map_err(|e| format!("--next-version: {e}"))?;
        Ok(Numbering {
            next,
            width: t.len(),
        })
    }

    pub fn format(&self, n: u64) -> String {
        format!("{n:0width$}", width = self.width)
    }
}

/// What one file carries.
pub struct Unit<'a> {
    /// Values for the tool's templates: version, slug, phase, dir and the change's params.
    pub values: &'a BTreeMap<String, String>,
    pub up: &'a [String],
    /// Statements that undo `up`, newest first; empty when the step cannot be undone in SQL.
    pub down: &'a [String],
    /// The statement cannot run inside a transaction.
    pub no_tx: bool,
    /// The previous file's version (Alembic `down_revision`), if this plan wrote one.
    pub prev: Option<&'a str>,
    /// What the rollback note says when `down` is empty.
    pub irreversible: &'a str,
}

/// The files for one unit (the migration, and a down file or a settings file where the
/// tool keeps them apart); empty for tools without a `module` template.
pub fn files(tool: &Tool, unit: &Unit) -> Vec<MigrationFile> {
    let Some(module) = tool.module.as_ref() else {
        return Vec::new();
    };
    let wrap = |stmts: &[String]| -> String {
        stmts
            .iter()
            .map(|q| wrap_stmt(tool, q))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut up = wrap(unit.up);
    if unit.no_tx
        && let Some(t) = &tool.no_tx_up
    {
        up = fill_blocks(t, &[("up", &up)], &BTreeMap::new());
    }
    let down = if unit.down.is_empty() {
        let mut m = BTreeMap::new();
        m.insert("why".to_string(), unit.irreversible.replace('"', "'"));
        fill(tool.irreversible.as_deref().unwrap_or("-- {why}"), &m)
    } else if unit.no_tx
        && let Some(t) = &tool.no_tx_up
    {
        // The undo of a non-transactional statement is one too (DROP INDEX CONCURRENTLY).
        fill_blocks(t, &[("up", &wrap(unit.down))], &BTreeMap::new())
    } else {
        wrap(unit.down)
    };
    let mut v = unit.values.clone();
    v.insert(
        "no_tx".into(),
        if unit.no_tx {
            tool.no_tx_mark.clone().unwrap_or_default()
        } else {
            String::new()
        },
    );
    v.insert(
        "prev".into(),
        unit.prev
            .map(|p| format!("\"{p}\""))
            .unwrap_or_else(|| "None".into()),
    );
    v.insert(
        "class".into(),
        class_name(v.get("slug").map(String::as_str).unwrap_or("")),
    );
    let blocks = [("up", up.as_str()), ("down", down.as_str())];
    let mut out = vec![MigrationFile {
        path: fill(tool.module_path.as_deref().unwrap_or(&tool.file), &v),
        text: fill_blocks(module, &blocks, &v) + "\n",
    }];
    if let (Some(path), Some(text)) = (&tool.down_path, &tool.down_module) {
        out.push(MigrationFile {
            path: fill(path, &v),
            text: fill_blocks(text, &blocks, &v) + "\n",
        });
    }
    if unit.no_tx
        && let (Some(path), Some(text)) = (&tool.no_tx_path, &tool.no_tx_text)
    {
        out.push(MigrationFile {
            path: fill(path, &v),
            text: fill(text, &v) + "\n",
        });
    }
    out
}

/// One statement as the tool's file carries it: inside the tool's string literal
/// (`stmt_wrap`), with the characters that would end or interpolate it escaped
/// (`stmt_escape`: MySQL's backtick identifiers in a JavaScript template literal);
/// plain SQL ends with `;`.
pub fn wrap_stmt(tool: &Tool, stmt: &str) -> String {
    match &tool.stmt_wrap {
        Some(w) => {
            let escaped = tool
                .stmt_escape
                .iter()
                .fold(stmt.to_string(), |acc, [from, to]| acc.replace(from, to));
            let mut m = BTreeMap::new();
            m.insert("stmt".to_string(), escaped);
            fill(&w.replace("\\n", "\n"), &m)
        }
        None => format!("{stmt};"),
    }
}

/// `add_index_users_email` -> `AddIndexUsersEmail` (Rails and EF Core class names).
fn class_name(slug: &str) -> String {
    slug.split(['_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Fills a template; a block placeholder alone on its line is replaced by the block with
/// that line's indentation on every line (Python and Ruby bodies), and a line that is only
/// an empty `{no_tx}` disappears.
fn fill_blocks(
    template: &str,
    blocks: &[(&str, &str)],
    values: &BTreeMap<String, String>,
) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in template.split('\n') {
        let trimmed = line.trim();
        let indent = &line[..line.len() - line.trim_start().len()];
        if let Some((_, body)) = blocks
            .iter()
            .find(|(name, _)| trimmed == format!("{{{name}}}"))
        {
            for b in body.split('\n') {
                out.push(if b.is_empty() {
                    String::new()
                } else {
                    format!("{indent}{b}")
                });
            }
            continue;
        }
        if trimmed == "{no_tx}" && values.get("no_tx").is_none_or(|s| s.is_empty()) {
            continue;
        }
        out.push(fill(line, values));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_keeps_the_width_given() {
        let n = Numbering::parse("0042").unwrap();
        assert_eq!(n.format(n.next), "0042");
        assert_eq!(n.format(n.next + 1), "0043");
        let t = Numbering::parse("20261205120000").unwrap();
        assert_eq!(t.format(t.next + 1), "20261205120001");
        assert!(Numbering::parse("v1").is_err());
        assert!(Numbering::parse("").is_err());
    }

    #[test]
    fn blocks_take_their_line_indentation_and_empty_no_tx_lines_go() {
        let mut v = BTreeMap::new();
        v.insert("no_tx".to_string(), String::new());
        let t = "def up\n{no_tx}\n    {up}\nend";
        assert_eq!(
            fill_blocks(t, &[("up", "a\nb")], &v),
            "def up\n    a\n    b\nend"
        );
        v.insert("no_tx".to_string(), "X".to_string());
        assert_eq!(fill_blocks(t, &[("up", "a")], &v), "def up\nX\n    a\nend");
    }

    #[test]
    fn class_names_are_camel_case() {
        assert_eq!(class_name("add_index_users_email"), "AddIndexUsersEmail");
    }
}
