//! The rule catalogue, `assets/lint_rules.toml`, embedded in the binary and validated on load.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Engine, EngineKind, Severity};

const RULES_TOML: &str = include_str!("../../assets/lint_rules.toml");
const PG_FUNCTIONS_TOML: &str = include_str!("../../assets/pg_functions.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub engines: Vec<String>,
    pub severity: Severity,
    /// e.g. "<11", ">=12", ">=8.0.29"; all versions when absent.
    #[serde(default)]
    pub versions: Option<String>,
    #[serde(default)]
    pub new_table_exempt: bool,
    #[serde(default)]
    pub size_sensitive: bool,
    pub rollback: String,
    #[serde(default)]
    pub lock: Option<String>,
    pub why: String,
    /// What fails for the old (N) or new (N+1) application version during a rolling deploy.
    pub breaks: String,
    pub fix: String,
    pub source: String,
    /// Address of the main source, for SARIF `helpUri`.
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolTx {
    pub id: String,
    pub wraps: Vec<String>,
    pub no_tx: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    pub large_rows: u64,
    pub small_rows: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgFacts {
    pub volatile_functions: Vec<String>,
}

/// PostgreSQL's own functions by volatility (`assets/pg_functions.toml`, read from pg_proc).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgFunctions {
    pub source: String,
    pub url: String,
    pub volatile: std::collections::HashSet<String>,
    pub non_volatile: std::collections::HashSet<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub size: Size,
    pub postgres: PgFacts,
    /// Loaded by `bundled` from its own file.
    #[serde(skip)]
    pub pg_functions: PgFunctions,
    #[serde(rename = "tool")]
    pub tools: Vec<ToolTx>,
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    #[serde(skip)]
    by_id: BTreeMap<String, usize>,
}

const ENGINES: [&str; 4] = ["postgres", "mysql", "mariadb", "sqlite"];
const ROLLBACK: [&str; 5] = ["lossless", "slow", "data-dependent", "lossy", "unknown"];

impl Catalogue {
    /// The embedded catalogue. Panics only if the bundled file is broken, which a unit test
    /// rules out.
    pub fn bundled() -> Catalogue {
        let mut c =
            Self::parse(RULES_TOML).unwrap_or_else(|e| panic!("assets/lint_rules.toml: {e}"));
        c.pg_functions = toml::from_str(PG_FUNCTIONS_TOML)
            .unwrap_or_else(|e| panic!("assets/pg_functions.toml: {e}"));
        c
    }

    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let mut c: Catalogue = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        for (i, r) in c.rules.iter().enumerate() {
            if c.by_id.insert(r.id.clone(), i).is_some() {
                problems.push(format!("rule {} is defined twice", r.id));
            }
            for e in &r.engines {
                if !ENGINES.contains(&e.as_str()) {
                    problems.push(format!("rule {}: unknown engine {e}", r.id));
                }
            }
            if !ROLLBACK.contains(&r.rollback.as_str()) {
                problems.push(format!("rule {}: unknown rollback {}", r.id, r.rollback));
            }
            if let Some(v) = &r.versions
                && parse_range(v).is_none()
            {
                problems.push(format!("rule {}: bad versions \"{v}\"", r.id));
            }
            if r.source.trim().is_empty() {
                problems.push(format!("rule {}: no source", r.id));
            } else if let Some(p) = crate::planner::knowledge::source_problem(&r.source) {
                problems.push(format!("rule {}: {p}", r.id));
            }
            // Every finding must say what it locks and what breaks during a rolling deploy.
            if r.lock.as_deref().is_none_or(|l| l.trim().is_empty()) {
                problems.push(format!("rule {}: no lock", r.id));
            }
            if r.breaks.trim().is_empty() {
                problems.push(format!("rule {}: no breaks", r.id));
            }
            if !r.url.starts_with("https://") {
                problems.push(format!("rule {}: url must be an https:// address", r.id));
            }
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.by_id.get(id).map(|&i| &self.rules[i])
    }

    pub fn tool(&self, id: &str) -> Option<&ToolTx> {
        self.tools.iter().find(|t| t.id == id)
    }

    /// Does the tool wrap each file in a transaction on this engine?
    pub fn tool_wraps(&self, tool: Option<&str>, engine: EngineKind) -> bool {
        tool.and_then(|t| self.tool(t))
            .is_some_and(|t| t.wraps.iter().any(|e| e == engine.id()))
    }
}

impl Rule {
    pub fn applies(&self, engine: &Engine) -> bool {
        self.engines.iter().any(|e| e == engine.kind.id())
            && self.versions.as_deref().is_none_or(|v| {
                parse_range(v).is_some_and(|(op, ver)| match op {
                    "<" => engine.version < ver,
                    "<=" => engine.version <= ver,
                    ">" => engine.version > ver,
                    _ => engine.version >= ver,
                })
            })
    }
}

fn parse_range(v: &str) -> Option<(&'static str, (u32, u32, u32))> {
    let v = v.trim();
    for op in ["<=", ">=", "<", ">"] {
        if let Some(rest) = v.strip_prefix(op) {
            return super::parse_version(rest.trim()).map(|ver| (op, ver));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalogue_loads_and_every_rule_has_a_source() {
        let c = Catalogue::bundled();
        assert!(c.rules.len() >= 25);
        assert!(c.rules.iter().all(|r| !r.source.is_empty()));
        let no_lock = Catalogue::parse(&RULES_TOML.replacen("lock = ", "# lock = ", 1));
        assert!(no_lock.unwrap_err().contains("no lock"));
        let internal = Catalogue::parse(&RULES_TOML.replacen(
            "\nsource = \"",
            "\nsource = \"(anchors P14) ",
            1,
        ))
        .unwrap_err();
        assert!(
            internal.starts_with("rule ") && internal.contains("internal research notes"),
            "{internal}"
        );
        let pre11 = c.rule("pg-add-column-default-rewrite").unwrap();
        assert!(pre11.applies(&Engine::parse("postgres:10").unwrap()));
        assert!(!pre11.applies(&Engine::parse("postgres:11").unwrap()));
        assert!(!pre11.applies(&Engine::parse("mysql:8.0").unwrap()));
        let f = &c.pg_functions;
        assert!(f.volatile.contains("gen_random_uuid") && f.volatile.contains("nextval"));
        assert!(f.non_volatile.contains("now") && f.non_volatile.contains("lower"));
        assert!(f.volatile.is_disjoint(&f.non_volatile));
    }
}
