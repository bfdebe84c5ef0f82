//! What the planner is asked: deployment model, engine, tool, changes, scale
//! and incident history. Parsed from the words a person types; every unknown
//! value is an error that lists the accepted ones.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use super::knowledge::{Knowledge, RollbackClass};
use crate::playbook::duration::parse_duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineChoice {
    pub id: String,
    pub version: String,
    pub edition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// As typed.
    pub text: String,
    /// Operation id in `assets/operations.toml`.
    pub op: String,
    /// Placeholder values captured from the text (`table`, `column`, ...).
    pub params: BTreeMap<String, String>,
    /// Overrides the rollback class of the operation's steps: a statement carried as written
    /// from a migration file gets the class its lint findings give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<RollbackClass>,
}

impl Change {
    pub fn table(&self) -> &str {
        self.params.get("table").map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intake {
    /// Deployment model id.
    pub deploy: String,
    /// Feature flags can separate schema deploy from feature exposure.
    pub flags: bool,
    pub engine: EngineChoice,
    /// Tool id.
    pub tool: String,
    pub changes: Vec<Change>,
    /// Row counts by table.
    pub rows: BTreeMap<String, u64>,
    #[serde(with = "secs_opt")]
    pub rto: Option<Duration>,
    pub incidents: Vec<String>,
    /// The migration file(s) the changes were read from (`rollsafe plan --from`): names the
    /// plan instead of its first change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The current schema (`rollsafe plan --schema-from`): where it was read and what it
    /// holds. `None`: the plan states which facts it assumed instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaSource>,
}

/// A schema read for the plan, with the place it came from (a URL without its password, or
/// a file path).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaSource {
    pub from: String,
    pub schema: super::schema::Schema,
}

mod secs_opt {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }
}

/// The intake as strings, from flags or a wizard.
#[derive(Debug, Clone, Default)]
pub struct RawIntake {
    pub deploy: String,
    pub engine: String,
    pub tool: String,
    pub changes: Vec<String>,
    pub rows: Vec<String>,
    pub rto: Option<String>,
    pub incidents: Vec<String>,
    pub flags: bool,
}

const IDENT: &str = r"([A-Za-z_][A-Za-z0-9_$]*)";

/// Turns an operation pattern such as `rename column {table}.{column} to {new}`
/// into an anchored, case-insensitive regex and the names of its placeholders.
pub fn pattern_regex(pattern: &str) -> Result<(Regex, Vec<String>), String> {
    let mut re = String::from(r"(?i)^\s*");
    let mut names = Vec::new();
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder in \"{pattern}\""))?;
            let name = &after[..end];
            let group = match name {
                "table" | "column" | "new" | "ref_table" | "ref_column" => IDENT,
                "type" | "default" => r"(.+?)",
                "expr" => r"(.+)",
                "value" => r"'?([^'\s]+)'?",
                _ => return Err(format!("unknown placeholder {{{name}}} in \"{pattern}\"")),
            };
            re.push_str(group);
            names.push(name.to_string());
            rest = &after[end + 1..];
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            if ch.is_whitespace() {
                re.push_str(r"\s+");
                rest = rest.trim_start();
            } else {
                re.push_str(&regex::escape(&ch.to_string()));
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    re.push_str(r"\s*$");
    Regex::new(&re)
        .map(|r| (r, names))
        .map_err(|e| format!("pattern \"{pattern}\" is not a valid regex: {e}"))
}

/// Words that are column attributes, not part of a type: a `{type}` holding one of them
/// means the phrase carries a constraint the pattern would silently drop or misplace.
const ATTRIBUTE_WORDS: [&str; 16] = [
    "not",
    "null",
    "default",
    "primary",
    "key",
    "unique",
    "references",
    "check",
    "constraint",
    "generated",
    "collate",
    "auto_increment",
    "identity",
    "first",
    "after",
    "and",
];

/// A `{type}` must be a bare SQL type (`text`, `varchar(20)`, `numeric(10, 2)`,
/// `int unsigned`, `timestamp with time zone`, `text[]`); anything else is refused.
pub fn check_type(ty: &str) -> Result<(), String> {
    let mut depth = 0i32;
    let mut outside = String::new();
    for ch in ty.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => outside.push(ch),
            _ => {}
        }
        if depth < 0 {
            return Err(format!("\"{ty}\" has an unbalanced ')'"));
        }
    }
    if depth != 0 {
        return Err(format!("\"{ty}\" has an unclosed '('"));
    }
    let outside = outside.replace("[]", " ");
    for word in outside.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if ATTRIBUTE_WORDS.contains(&lower.as_str()) {
            return Err(format!(
                "\"{ty}\" is not a bare type: \"{word}\" is a column attribute, and this form would drop it"
            ));
        }
        if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("\"{ty}\" is not a SQL type (\"{word}\")"));
        }
    }
    Ok(())
}

/// A `{default}` must be a constant the engine stores in the catalog: a number, a
/// single-quoted string, true or false. Expressions (now(), gen_random_uuid()) rewrite
/// the table or differ per row, and NULL contradicts NOT NULL: both are refused.
pub fn check_default(d: &str) -> Result<(), String> {
    let t = d.trim();
    let number = !t.is_empty()
        && t.trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().any(|c| c.is_ascii_digit());
    let quoted = t.len() >= 2
        && t.starts_with('\'')
        && t.ends_with('\'')
        && !t[1..t.len() - 1].replace("''", "").contains('\'');
    let boolean = matches!(t.to_ascii_lowercase().as_str(), "true" | "false");
    if number || quoted || boolean {
        Ok(())
    } else {
        Err(format!(
            "default \"{t}\" is not a constant (a number, a 'quoted string', true or false); for an expression default add the column nullable, backfill it, then \"set not null on TABLE.COLUMN\""
        ))
    }
}

fn check_params(params: &BTreeMap<String, String>) -> Result<(), String> {
    if let Some(t) = params.get("type") {
        check_type(t)?;
    }
    if let Some(d) = params.get("default") {
        check_default(d)?;
    }
    Ok(())
}

/// Parses one `--change` phrase against every operation pattern. A phrase that matches a
/// pattern only by stuffing attributes into `{type}` or an expression into `{default}` is not
/// accepted by that pattern; when no pattern takes it, the error says why each near match failed.
pub fn parse_change(k: &Knowledge, text: &str) -> Result<Change, String> {
    let mut near: Vec<String> = Vec::new();
    for op in &k.operations {
        for pattern in &op.patterns {
            let Ok((re, names)) = pattern_regex(pattern) else {
                continue;
            };
            if let Some(caps) = re.captures(text) {
                let params: BTreeMap<String, String> = names
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| {
                        caps.get(i + 1)
                            .map(|m| (n.clone(), m.as_str().trim().to_string()))
                    })
                    .collect();
                if let Err(why) = check_params(&params) {
                    near.push(format!("  \"{pattern}\" does not fit: {why}"));
                    continue;
                }
                return Ok(Change {
                    text: text.trim().to_string(),
                    op: op.id.clone(),
                    params,
                    class: None,
                });
            }
        }
    }
    let accepted: Vec<String> = k
        .operations
        .iter()
        .flat_map(|o| o.patterns.iter().map(|p| format!("  {p}")))
        .collect();
    let why = if near.is_empty() {
        String::new()
    } else {
        format!("\n{}", near.join("\n"))
    };
    Err(format!(
        "cannot read the change \"{text}\"{why}\naccepted forms:\n{}",
        accepted.join("\n")
    ))
}

pub fn parse_engine(k: &Knowledge, text: &str) -> Result<EngineChoice, String> {
    let mut parts = text.trim().split(':');
    let name = parts.next().unwrap_or("").to_ascii_lowercase();
    let Some(engine) = k.engine(&name) else {
        let accepted: Vec<String> = k
            .engines
            .iter()
            .map(|e| {
                let ed = if e.editions.is_empty() {
                    String::new()
                } else {
                    format!(":<{}>", e.editions.join("|"))
                };
                format!("  {}:<{}>{ed}", e.id, e.versions.join("|"))
            })
            .collect();
        return Err(format!(
            "unknown engine \"{text}\"; accepted:\n{}",
            accepted.join("\n")
        ));
    };
    let version = match parts.next() {
        None | Some("") if engine.versions.len() == 1 => engine.versions[0].clone(),
        None | Some("") => {
            return Err(format!(
                "{} needs a version: {}:<{}>",
                engine.name,
                engine.id,
                engine.versions.join("|")
            ));
        }
        Some(v) => {
            let ok = engine
                .versions
                .iter()
                .any(|known| v == known || v.starts_with(&format!("{known}.")));
            if !ok {
                return Err(format!(
                    "unknown {} version \"{v}\"; accepted: {} (a patch release such as {}.1 is accepted too)",
                    engine.name,
                    engine.versions.join(", "),
                    engine.versions.last().map(String::as_str).unwrap_or("")
                ));
            }
            v.to_string()
        }
    };
    let edition = match (parts.next(), engine.editions.is_empty()) {
        (None, true) => None,
        (None, false) => {
            return Err(format!(
                "{} needs an edition (online operations depend on it): {}:{version}:<{}>",
                engine.name,
                engine.id,
                engine.editions.join("|")
            ));
        }
        (Some(e), _) => {
            let e = e.to_ascii_lowercase();
            if !engine.editions.contains(&e) {
                return Err(format!(
                    "unknown {} edition \"{e}\"; accepted: {}",
                    engine.name,
                    if engine.editions.is_empty() {
                        "none (this engine has no editions)".to_string()
                    } else {
                        engine.editions.join(", ")
                    }
                ));
            }
            Some(e)
        }
    };
    Ok(EngineChoice {
        id: engine.id.clone(),
        version,
        edition,
    })
}

fn parse_rows(text: &str) -> Result<(String, u64), String> {
    let (table, n) = text
        .split_once('=')
        .ok_or_else(|| format!("--rows expects TABLE=COUNT, got \"{text}\""))?;
    let clean: String = n.chars().filter(|c| *c != '_' && *c != ',').collect();
    let lower = clean.to_ascii_lowercase();
    let (digits, scale) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1_000),
        Some('m') => (&lower[..lower.len() - 1], 1_000_000),
        Some('b') => (&lower[..lower.len() - 1], 1_000_000_000),
        _ => (lower.as_str(), 1),
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("--rows {text}: \"{n}\" is not a row count (e.g. 50000000, 50m)"))?;
    Ok((table.trim().to_string(), count.saturating_mul(scale)))
}

impl Intake {
    pub fn parse(k: &Knowledge, raw: &RawIntake) -> Result<Intake, String> {
        let mut intake = Self::parse_context(k, raw)?;
        if raw.changes.is_empty() {
            return Err("at least one --change is required".into());
        }
        intake.changes = raw
            .changes
            .iter()
            .map(|c| parse_change(k, c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(intake)
    }

    /// Everything but the changes, which the caller supplies (e.g. read from a migration file).
    pub fn parse_context(k: &Knowledge, raw: &RawIntake) -> Result<Intake, String> {
        let model = k.model(&raw.deploy).ok_or_else(|| {
            format!(
                "unknown deployment model \"{}\"; accepted: {}",
                raw.deploy,
                k.models
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let engine = parse_engine(k, &raw.engine)?;
        let tool = k.tool(&raw.tool).ok_or_else(|| {
            format!(
                "unknown migration tool \"{}\"; accepted: {}",
                raw.tool,
                k.tools
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let rows = raw
            .rows
            .iter()
            .map(|r| parse_rows(r))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let rto = raw
            .rto
            .as_deref()
            .map(|t| parse_duration(t).map_err(|e| format!("--rto: {e}")))
            .transpose()?;
        Ok(Intake {
            deploy: model.id.clone(),
            flags: raw.flags,
            engine,
            tool: tool.id.clone(),
            changes: Vec::new(),
            rows,
            rto,
            incidents: raw
                .incidents
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            from: None,
            schema: None,
        })
    }
}
