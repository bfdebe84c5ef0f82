//! `rollsafe-lint.toml`: settings a repository keeps next to its migrations, so CI and people
//! lint the same way. Found in the directory of the first path or any ancestor, or given with
//! `--config`. Command-line flags win over it; `disable` lists add up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const FILE_NAME: &str = "rollsafe-lint.toml";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// e.g. "postgres:16".
    pub engine: Option<String>,
    pub tool: Option<String>,
    /// info, warning, error or never.
    pub fail_on: Option<String>,
    /// Rule ids switched off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Row counts by table: 50000000 or "50m".
    #[serde(default)]
    pub rows: BTreeMap<String, Rows>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Rows {
    Count(u64),
    Text(String),
}

impl Rows {
    /// As `--rows TABLE=COUNT` would write it.
    pub fn flag(&self, table: &str) -> String {
        match self {
            Rows::Count(n) => format!("{table}={n}"),
            Rows::Text(t) => format!("{table}={t}"),
        }
    }
}

impl Config {
    pub fn parse(file: &Path, text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            format!("{}{at}: {}", file.display(), e.message())
        })
    }

    pub fn load(file: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Self::parse(file, &text)
    }
}

/// The nearest `rollsafe-lint.toml` at or above `path` (a file's directory, or the directory).
pub fn find(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    let start = start.canonicalize().unwrap_or(start);
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|f| f.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_setting_and_says_where_a_mistake_is() {
        let c = Config::parse(
            Path::new("x.toml"),
            "engine = \"postgres:16\"\ndisable = [\"truncate\"]\nfail_on = \"error\"\n[rows]\nusers = \"50m\"\norders = 1000\n",
        )
        .unwrap();
        assert_eq!(c.engine.as_deref(), Some("postgres:16"));
        assert_eq!(c.rows["users"].flag("users"), "users=50m");
        assert_eq!(c.rows["orders"].flag("orders"), "orders=1000");
        let e = Config::parse(Path::new("x.toml"), "engine = \"pg\"\nfail = 1\n").unwrap_err();
        assert!(e.starts_with("x.toml:2:1:"), "{e}");
    }
}
