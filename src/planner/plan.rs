//! Builds the phased playbook from an intake and the knowledge base. Pure:
//! history and "now" come in as values.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use super::checklist::{self, Section};
use super::classify::{self, IncidentMatch};
use super::files::{self as mfiles, MigrationFile, Numbering};
use super::intake::{Change, Intake};
use super::knowledge::{DeployModel, Engine, EngineSpec, Knowledge, PHASES, RollbackClass, Tool};
use super::lock::{self, LockStrategy};
use super::recommend::{self, Recommendation};
use crate::playbook::duration::format_duration;
use crate::playbook::model::Variable;
use crate::playbook::{Expectation, Phase, Playbook, PlaybookKind, Step, Verification};

pub use super::history::{PlanHistory, Rehearsal, rollback_id};

/// Per-step facts the playbook cannot carry: class, change, kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMeta {
    pub id: String,
    pub phase: String,
    pub title: String,
    /// The step's own rollback class.
    pub own: RollbackClass,
    /// Rollback class of everything done up to and including this step.
    pub cumulative: RollbackClass,
    pub pnr: bool,
    /// Index into `intake.changes`.
    pub change: Option<usize>,
    pub kind: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub intake: Intake,
    pub playbook: Playbook,
    pub rollback_playbook: Playbook,
    pub steps: Vec<StepMeta>,
    pub incidents: Vec<IncidentMatch>,
    pub recommendation: Recommendation,
    pub checklist: Vec<Section>,
    /// Version notes that apply to the chosen engine version.
    pub engine_notes: Vec<(String, String)>,
    /// Sources of every fact used, "unsourced: ..." ones included.
    pub sources: Vec<String>,
    pub unsourced: Vec<String>,
    /// Tables whose row count was assumed (no --rows).
    pub assumed_rows: Vec<String>,
    /// What the plan read about the affected tables (`--schema-from`), or what it assumed
    /// without a schema: shown at the top of the plan.
    pub facts: Vec<String>,
    /// What the plan cannot promise (a write block on an assumed row count that may exceed
    /// the lock bound or the RTO): shown first.
    pub warnings: Vec<String>,
    /// What to ask about an incident account that matched no category.
    pub ask: String,
    /// The files the tool loads (`rollsafe plan --files DIR`), in the order they apply.
    #[serde(skip)]
    pub files: Vec<MigrationFile>,
}

pub(crate) struct Ctx<'a> {
    pub k: &'a Knowledge,
    pub intake: &'a Intake,
    pub engine: &'a Engine,
    pub tool: &'a Tool,
    pub model: &'a DeployModel,
}

impl Ctx<'_> {
    pub fn version(&self) -> &str {
        &self.intake.engine.version
    }
    pub fn edition(&self) -> Option<&str> {
        self.intake.engine.edition.as_deref()
    }
    pub fn matches(&self, specs: &[String]) -> bool {
        specs.is_empty()
            || specs.iter().any(|s| {
                EngineSpec::parse(s)
                    .is_some_and(|p| p.matches(self.engine, self.version(), self.edition()))
            })
    }
    pub fn rows(&self, table: &str) -> (u64, bool) {
        let read = self
            .intake
            .schema
            .as_ref()
            .and_then(|s| s.schema.table(table))
            .and_then(|t| t.rows);
        match (self.intake.rows.get(table), read) {
            (Some(n), _) => (*n, false),
            (None, Some(n)) => (n, false),
            (None, None) => (self.k.timebox.default_rows, true),
        }
    }
}

/// Deterministic id from the intake: `plan-<first change slug>[-and-N-more]`.
pub fn plan_id(k: &Knowledge, intake: &Intake) -> String {
    if let Some(from) = &intake.from {
        return format!("plan-{}", slugify(from));
    }
    let first = intake
        .changes
        .first()
        .map(|c| change_slug(k, c))
        .unwrap_or_else(|| "change".into());
    let mut id = format!("plan-{first}");
    if intake.changes.len() > 1 {
        id.push_str(&format!("-and-{}-more", intake.changes.len() - 1));
    }
    id
}

fn change_slug(k: &Knowledge, c: &Change) -> String {
    let template = k
        .operation(&c.op)
        .map(|o| o.slug.as_str())
        .unwrap_or("change");
    slugify(&fill(template, &c.params))
}

pub fn slugify(text: &str) -> String {
    crate::playbook::validate::slug_within(text, 60)
}

/// Replaces `{name}` placeholders with values; unknown names are left alone.
pub fn fill(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
                    && !after[..end].is_empty()
                    && !(start > 0 && rest.as_bytes()[start - 1] == b'$') =>
            {
                let name = &after[..end];
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Quotes text for the inside of a double-quoted shell word, keeping `${VAR}` for rollsafe.
pub fn shell_dq(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '`' => out.push_str("\\`"),
            '$' if chars.get(i + 1) != Some(&'{') => out.push_str("\\$"),
            _ => out.push(c),
        }
    }
    out
}

fn upper(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Placeholder values for one change; missing ones become playbook variables.
fn params(c: &Change, vars: &mut BTreeMap<String, Variable>) -> BTreeMap<String, String> {
    let mut p = c.params.clone();
    let table = p.get("table").cloned().unwrap_or_default();
    let column = p.get("column").cloned().unwrap_or_default();
    let tc = if column.is_empty() {
        upper(&table)
    } else {
        format!("{}_{}", upper(&table), upper(&column))
    };
    let mut var = |p: &mut BTreeMap<String, String>,
                   key: &str,
                   name: String,
                   default: Option<&str>,
                   desc: String| {
        if !p.contains_key(key) {
            p.insert(key.to_string(), format!("${{{name}}}"));
            vars.entry(name.clone()).or_insert(Variable {
                name,
                default: default.map(str::to_string),
                description: desc,
            });
        }
    };
    var(
        &mut p,
        "type",
        format!("{tc}_TYPE"),
        None,
        format!("the new type of {table}.{column}"),
    );
    var(
        &mut p,
        "default",
        format!("{tc}_DEFAULT"),
        None,
        format!("the constant database default of {table}.{column}"),
    );
    var(
        &mut p,
        "coltype",
        format!("{tc}_CURRENT_TYPE"),
        None,
        format!("the current type of {table}.{column}, exactly as the schema has it"),
    );
    var(
        &mut p,
        "value",
        format!("{tc}_VALUE"),
        None,
        format!("the SQL expression that computes {table}.{column}"),
    );
    var(
        &mut p,
        "pk",
        format!("{}_PK", upper(&table)),
        Some("id"),
        format!("the primary key column of {table}"),
    );
    var(
        &mut p,
        "new_ddl",
        format!("{}_NEW_DDL", upper(&table)),
        None,
        format!("the full CREATE TABLE {table}__new statement with the changed column"),
    );
    var(
        &mut p,
        "enum_type",
        format!("{tc}_ENUM_TYPE"),
        None,
        format!("the enum type of {table}.{column}"),
    );
    var(
        &mut p,
        "enum_values",
        format!("{tc}_ENUM_VALUES"),
        None,
        format!("the current ENUM values of {table}.{column}, quoted, in order"),
    );
    var(
        &mut p,
        "default_clause",
        format!("{tc}_DEFAULT_CLAUSE"),
        None,
        format!(
            "the DEFAULT clause {table}.{column} has now (DEFAULT 'x'), or empty when it has none: MODIFY drops a default it does not restate"
        ),
    );
    var(
        &mut p,
        "nullability",
        format!("{tc}_NULLABILITY"),
        // No default: assuming NULL would silently drop NOT NULL, the default and UNSIGNED.
        None,
        format!(
            "NULL or NOT NULL (plus DEFAULT) as {table}.{column} has it now; read it from the schema, there is no safe default"
        ),
    );
    let base = if column.is_empty() {
        table.clone()
    } else {
        format!("{table}_{column}")
    };
    // Names the SQL gave (plan --from) win over the generated ones.
    p.entry("idx".into()).or_insert(format!("{base}_idx"));
    p.entry("uq".into()).or_insert(format!("{base}_key"));
    p.entry("fk".into()).or_insert(format!("{base}_fkey"));
    p.entry("nn".into()).or_insert(format!("{base}_not_null"));
    // Statements carried as written: where they are, what lint said, how to undo them.
    p.entry("title".into())
        .or_insert_with(|| "Run the statement as written".into());
    p.entry("note".into()).or_default();
    p.entry("down".into())
        .or_insert_with(|| "reverse it by hand: rollsafe does not know the state before it".into());
    let ck = format!(
        "{table}_{}_check",
        slugify(p.get("expr").map(String::as_str).unwrap_or("rule"))
            .replace('-', "_")
            .chars()
            .take(20)
            .collect::<String>()
    );
    p.entry("ck".into()).or_insert(ck);
    p.insert("tmp".into(), format!("{column}_new"));
    p
}

struct Built {
    phase: usize,
    step: Step,
    meta_own: RollbackClass,
    pnr: bool,
    change: Option<usize>,
    kind: String,
    key: String,
}

fn phase_index(id: &str) -> usize {
    PHASES.iter().position(|(p, _)| *p == id).unwrap_or(0)
}

fn minutes_up(secs: u64) -> Duration {
    Duration::from_secs(secs.div_ceil(60).max(1) * 60)
}

/// The rollback text as SQL a tool can run as the down migration, or None when
/// the rollback is a procedure in prose (then the down is left irreversible).
/// A trailing note in parentheses ("(another rebuild)") is dropped.
fn sql_reverse(text: &str) -> Option<String> {
    const VERBS: [&str; 5] = ["ALTER ", "DROP ", "CREATE ", "EXEC ", "RENAME "];
    if !VERBS.iter().any(|v| text.starts_with(v)) {
        return None;
    }
    let mut t = text.trim();
    if t.ends_with(')')
        && let Some(i) = t.rfind(" (")
    {
        let note = &t[i + 2..t.len() - 1];
        // A note is words ("another rebuild", "SQLite 3.35.0+"); a view's
        // `WHERE (status <> 'closed'::text)` or a column list is SQL and stays.
        let words = note.split_whitespace().count() >= 2
            && !note.contains(['\'', '"', '<', '>', '=', '(', ')', ':']);
        if words
            && (note.starts_with(|c: char| c.is_ascii_lowercase()) || note.starts_with("SQLite"))
        {
            t = t[..i].trim_end();
        }
    }
    // A procedure that opens with a statement ("ALTER ... RENAME ..., then add ... again:
    // ...") is prose: as a down section it fails in the tool, or half-undoes.
    if prose(t) {
        return None;
    }
    Some(t.to_string())
}

/// Prose markers outside quotes: ", then " or ": " (SQL has neither; a `::` cast has no space).
fn prose(text: &str) -> bool {
    let mut quoted = false;
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'\'' {
            quoted = !quoted;
        } else if !quoted
            && ((c == b':' && b.get(i + 1) == Some(&b' ') && (i == 0 || b[i - 1] != b':'))
                || text[i..].starts_with(", then "))
        {
            return true;
        }
    }
    false
}

/// The rollback statements one by one (a tool runs each on its own: SQLite's driver
/// refuses several in one call), split where the engine would (trigger bodies kept whole).
fn down_statements(engine: &Engine, text: &str) -> Vec<String> {
    use crate::lint::EngineKind;
    let kind = match engine.family.as_str() {
        "postgres" => EngineKind::Postgres,
        "sqlite" => EngineKind::Sqlite,
        _ => EngineKind::Mysql,
    };
    crate::lint::split::split(text, kind)
        .iter()
        .map(|c| c.text(text).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// BEGIN / COMMIT written as statements: a tool that wraps each migration in its own
/// transaction fails on a second BEGIN ("cannot start a transaction within a transaction").
fn tx_control(stmt: &str) -> bool {
    let s = stmt.trim().to_ascii_uppercase();
    matches!(
        s.as_str(),
        "BEGIN" | "BEGIN IMMEDIATE" | "BEGIN TRANSACTION" | "START TRANSACTION" | "COMMIT"
    )
}

fn exec_cmd(engine: &Engine, statements: &[String]) -> String {
    const SEG: &str = " -c \"{sql}\"";
    if let Some(pos) = engine.exec.find(SEG) {
        let mut out = engine.exec[..pos].to_string();
        for s in statements {
            out.push_str(&format!(" -c \"{}\"", shell_dq(s)));
        }
        out.push_str(&engine.exec[pos + SEG.len()..]);
        out
    } else {
        engine
            .exec
            .replace("{sql}", &shell_dq(&statements.join("; ")))
    }
}

fn query_cmd(engine: &Engine, sql: &str) -> String {
    engine
        .query
        .replace(
            "{lock_timeout_ms}",
            &(engine.lock_timeout_s * 1000).to_string(),
        )
        .replace("{sql}", &shell_dq(sql))
}

fn session(engine: &Engine, statement_timeout: &str) -> Vec<String> {
    lock::session(engine, LockStrategy::Brief, statement_timeout)
}

/// What the blockers check guards against, in the engine's own terms.
fn blockers_detail(engine: &Engine) -> String {
    if engine.family == "sqlite" {
        return format!(
            "SQLite allows one writer at a time and cannot list other connections' transactions. The check takes the write lock for a moment (BEGIN IMMEDIATE, waiting up to {} ms) and releases it: if it fails with \"{}\", a writer holds the database and every DDL step would fail the same way.",
            engine.lock_timeout_s * 1000,
            engine.lock_error
        );
    }
    format!(
        "A DDL statement that waits for a lock blocks every query queued behind it. Brief-lock DDL steps set `{}` and retry on lock timeouts; a long transaction now means those retries will keep failing.",
        session(engine, "…").join("; ")
    )
}

/// Tool prose names files by their parts; outside one file the parts are placeholders a
/// reader fills, written `<version>` so no template marker leaks into the plan.
fn tool_prose(text: &str) -> String {
    text.replace("{version}", "<version>")
        .replace("{slug}", "<slug>")
        .replace("{table}", "<table>")
        .replace("{phase}", "<phase>")
}

/// Builds the plan. Errors name the input that cannot be planned and why.
pub fn plan(intake: &Intake, k: &Knowledge, history: &PlanHistory) -> Result<Plan, String> {
    plan_numbered(intake, k, history, &Numbering::default())
}

/// As [`plan`], with the migration files numbered from `numbering` (`--next-version`).
pub fn plan_numbered(
    intake: &Intake,
    k: &Knowledge,
    history: &PlanHistory,
    numbering: &Numbering,
) -> Result<Plan, String> {
    let engine = k.engine(&intake.engine.id).ok_or("unknown engine")?;
    let tool = k.tool(&intake.tool).ok_or("unknown tool")?;
    let model = k.model(&intake.deploy).ok_or("unknown deployment model")?;
    if !tool.engines.is_empty()
        && !tool
            .engines
            .iter()
            .any(|e| *e == engine.id || *e == engine.family)
    {
        return Err(format!(
            "{} does not work with {}: it supports {} only ({})",
            tool.name,
            engine.name,
            tool.engines.join(", "),
            tool.source
        ));
    }
    if let Some(min) = &tool.min_version
        && super::knowledge::compare_versions(&intake.engine.version, min).is_lt()
    {
        return Err(format!(
            "{} needs {} {min} or newer, the intake says {} ({})",
            tool.name, engine.name, intake.engine.version, tool.source
        ));
    }
    let ctx = Ctx {
        k,
        intake,
        engine,
        tool,
        model,
    };
    for (i, c) in intake.changes.iter().enumerate() {
        let op = k.operation(&c.op).ok_or("unknown operation")?;
        if let Some(u) = op
            .unsupported
            .iter()
            .find(|u| ctx.matches(std::slice::from_ref(&u.engine)))
        {
            return Err(format!(
                "change {} (\"{}\") has no safe recipe on {} {}: {} [source: {}]",
                i + 1,
                c.text,
                engine.name,
                intake.engine.version,
                u.reason,
                u.source
            ));
        }
        if !op.step.iter().any(|s| {
            matches!(s.kind.as_str(), "ddl" | "ddl_no_tx" | "backfill" | "cmd")
                && ctx.matches(&s.engines)
        }) {
            return Err(format!(
                "change {} (\"{}\"): the knowledge base has no steps for {} (assets/operations.toml operation[{}])",
                i + 1,
                c.text,
                engine.name,
                op.id
            ));
        }
    }

    let id = plan_id(k, intake);
    let incidents = classify::classify(k, &intake.incidents);
    let mut vars: BTreeMap<String, Variable> = BTreeMap::new();
    let mut sources: BTreeSet<String> = BTreeSet::new();
    sources.insert(format!("engine {}: {}", engine.id, engine.source));
    sources.insert(format!("tool {}: {}", tool.id, tool.source));
    sources.insert(format!("deploy model {}: {}", model.id, model.source));
    sources.insert(format!("timeboxes: {}", k.timebox.source));
    let mut built: Vec<Built> = Vec::new();
    let mut assumed_rows = BTreeSet::new();

    let engine_notes: Vec<(String, String)> = engine
        .version_note
        .iter()
        .filter(|n| {
            let v = &intake.engine.version;
            super::knowledge::compare_versions(v, &n.min).is_ge()
                && (super::knowledge::compare_versions(v, &n.max).is_le()
                    || v.starts_with(&format!("{}.", n.max)))
        })
        .map(|n| (n.text.clone(), n.source.clone()))
        .collect();
    for (_, s) in &engine_notes {
        sources.insert(format!("engine note: {s}"));
    }

    // Prepare: generic engine preflight.
    let check = minutes_up(k.timebox.check_s);
    // The statements' own version needs (e.g. CHECK on MySQL >= 8.0.16) raise the gate.
    let planned_sql: Vec<String> = intake
        .changes
        .iter()
        .filter_map(|c| k.operation(&c.op))
        .flat_map(|op| op.step.iter().filter(|s| ctx.matches(&s.engines)))
        .flat_map(|s| s.sql.iter().cloned())
        .collect();
    let floors = super::version_gate::floors(engine, &intake.engine.version, &planned_sql);
    for f in &floors {
        sources.insert(format!("version floor {}: {}", f.min, f.source));
    }
    let notes_md: String = engine_notes
        .iter()
        .map(|(t, _)| format!("\n\n- {t}"))
        .collect();
    built.push(Built {
        phase: 0,
        step: step(
            "prep-version",
            &format!("Confirm {} {} is what production runs", engine.name, intake.engine.version),
            &format!(
                "The statements below are chosen for {} {}{}. A different version or edition changes which operations lock, rewrite or are instant. The check prints ok only inside that range.{}{notes_md}",
                engine.name,
                intake.engine.version,
                intake.engine.edition.as_deref().map(|e| format!(" ({e} edition)")).unwrap_or_default(),
                super::version_gate::describe(&intake.engine.version, &floors)
            ),
            check,
            "dba",
            None,
            Some(verify(
                engine,
                &super::version_gate::query(engine, &intake.engine.version, intake.engine.edition.as_deref(), &floors),
                Some("^ok$"),
            )),
        ),
        meta_own: RollbackClass::Lossless,
        pnr: false,
        change: None,
        kind: "check".into(),
        key: "version".into(),
    });
    built.push(Built {
        phase: 0,
        step: step(
            "prep-blockers",
            "No long-running transactions on the database",
            &blockers_detail(engine),
            check,
            "dba",
            None,
            (!engine.blockers_query.is_empty()).then(|| {
                verify(
                    engine,
                    &engine.blockers_query,
                    Some(if engine.family == "sqlite" {
                        "^ok$"
                    } else {
                        "^0$"
                    }),
                )
            }),
        ),
        meta_own: RollbackClass::Lossless,
        pnr: false,
        change: None,
        kind: "check".into(),
        key: "blockers".into(),
    });
    built.push(Built {
        phase: 0,
        step: step(
            "prep-backup",
            "Backup and restore path tested",
            &format!(
                "Needed before any lossy step: {}. Record how long the restore took{}.",
                engine.backup,
                intake
                    .rto
                    .map(|r| format!(" and compare it with the RTO ({})", format_duration(r)))
                    .unwrap_or_default()
            ),
            minutes_up(k.timebox.check_s),
            "dba",
            None,
            None,
        ),
        meta_own: RollbackClass::Lossless,
        pnr: false,
        change: None,
        kind: "check".into(),
        key: "backup".into(),
    });
    built.push(Built {
        phase: 0,
        step: step(
            "prep-tool",
            &format!("Know how {} applies, splits and repairs this change", tool.name),
            &format!(
                "- Transactions: {}\n- Opting out of the transaction: {}\n- Expand / contract split: {}\n- Down migrations: {}\n- Repair after a failed run: {}{}",
                tool_prose(&tool.tx),
                tool_prose(&tool.no_tx),
                tool_prose(&tool.split),
                tool_prose(&tool.down_note),
                tool_prose(&tool.repair),
                if tool.has_lock { String::new() } else { "\n- No migration lock: run it from one job, never from every instance at start-up.".to_string() }
            ),
            check,
            "dba",
            None,
            None,
        ),
        meta_own: RollbackClass::Lossless,
        pnr: false,
        change: None,
        kind: "check".into(),
        key: "tool".into(),
    });

    // Mitigation steps from incident categories, once each.
    let mut seen = BTreeSet::new();
    for m in &incidents {
        for cm in &m.categories {
            let Some(cat) = k.category(&cm.category) else {
                continue;
            };
            sources.insert(format!("incident category {}: {}", cat.id, cat.source));
            if !seen.insert(cat.id.clone()) {
                continue;
            }
            if let Some(s) = &cat.step {
                let mut values = BTreeMap::new();
                values.insert("repair".to_string(), tool.repair.clone());
                values.insert(
                    "lock_note".to_string(),
                    if tool.has_lock {
                        format!("{} takes its own migration lock, but start-up runs still race with the rollout.", tool.name)
                    } else {
                        format!("{} has no migration lock, so concurrent runs race.", tool.name)
                    },
                );
                built.push(Built {
                    phase: phase_index(&s.phase),
                    step: step(
                        &format!("inc-{}", cat.id),
                        &s.title,
                        &format!(
                            "{}\n\nIncident {} matched on: {}.",
                            fill(&s.detail, &values),
                            m.number,
                            cm.words
                                .iter()
                                .map(|w| format!("\"{w}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        check,
                        "dba",
                        None,
                        None,
                    ),
                    meta_own: RollbackClass::Lossless,
                    pnr: false,
                    change: None,
                    kind: "check".into(),
                    key: cat.id.clone(),
                });
            }
        }
    }

    // The changes.
    let mut facts: Vec<String> = Vec::new();
    let mut refusals: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut version_counter = 0u64;
    let mut tool_files: Vec<MigrationFile> = Vec::new();
    let mut last_version: Option<String> = None;
    for (ci, c) in intake.changes.iter().enumerate() {
        let op = k.operation(&c.op).ok_or("unknown operation")?;
        sources.insert(format!("operation {}: {}", op.id, op.source));
        // What the schema knows (current type, nullability, primary key) is named, not asked.
        let mut known = c.clone();
        for (key, v) in super::carry::params(c, intake.schema.as_ref()) {
            known.params.entry(key).or_insert(v);
        }
        let p = params(&known, &mut vars);
        let slug = change_slug(k, c);
        let mut pgroll_start: Vec<(String, RollbackClass)> = Vec::new();
        let mut pgroll_complete: Vec<(String, RollbackClass, bool)> = Vec::new();
        let own: Vec<_> = op
            .step
            .iter()
            .filter(|s| ctx.matches(&s.engines))
            .cloned()
            .collect();
        // pgroll moves a column's schema itself (its operations, not rollsafe's SQL).
        let carried = if tool.kind == "versioned_schema" {
            super::carry::Carried {
                steps: own,
                facts: Vec::new(),
            }
        } else {
            super::carry::apply(own, c, engine, intake.schema.as_ref())
                .map_err(|e| format!("change {} (\"{}\"): {e}", ci + 1, c.text))?
        };
        facts.extend(carried.facts);
        for s in &carried.steps {
            sources.insert(format!("{} / {}: {}", op.id, s.key, s.source));
            let own = c
                .class
                .unwrap_or_else(|| RollbackClass::parse(&s.class).unwrap_or(RollbackClass::Lossy));
            let is_db = matches!(s.kind.as_str(), "ddl" | "ddl_no_tx" | "backfill");
            if tool.kind == "versioned_schema" && is_db {
                let stmts = if s.kind == "backfill" {
                    vec![format!(
                        "-- backfill: SET {} WHERE {}",
                        fill(s.backfill_set.as_deref().unwrap_or(""), &p),
                        fill(s.backfill_where.as_deref().unwrap_or(""), &p)
                    )]
                } else {
                    s.sql.iter().map(|q| fill(q, &p)).collect()
                };
                if s.phase == "contract" {
                    pgroll_complete.extend(stmts.into_iter().map(|q| (q, own, s.pnr)));
                } else {
                    pgroll_start.extend(stmts.into_iter().map(|q| (q, own)));
                }
                continue;
            }
            let table = c.table().to_string();
            let (rows, assumed) = ctx.rows(&table);
            let scale = s.scale.as_deref().unwrap_or("none");
            let tb = &k.timebox;
            let secs = match scale {
                "index" => tb.ddl_base_s + rows / tb.index_rows_per_s.max(1),
                "rebuild" => tb.ddl_base_s + rows / tb.rebuild_rows_per_s.max(1),
                "backfill" => tb.ddl_base_s + rows / tb.backfill_rows_per_s.max(1),
                _ => match s.kind.as_str() {
                    "app" => model.duration_s.max(tb.app_deploy_s),
                    "check" => tb.check_s,
                    _ => tb.ddl_base_s,
                },
            };
            if scale != "none" && assumed {
                assumed_rows.insert(table.clone());
            }
            if s.blocks_writes && !(tool.kind == "online" && s.alter.is_some()) {
                let rate = match scale {
                    "index" => tb.index_rows_per_s,
                    "backfill" => tb.backfill_rows_per_s,
                    _ => tb.rebuild_rows_per_s,
                };
                let block = Duration::from_secs(rows / rate.max(1));
                let what = format!(
                    "change {} (\"{}\"), step \"{}\": writes to {table} wait for the whole statement, about {} for {} rows{}",
                    ci + 1,
                    c.text,
                    fill(&s.title, &p),
                    format_duration(block.max(Duration::from_secs(1))),
                    group(rows),
                    if assumed {
                        " (assumed: pass --rows or --schema-from)"
                    } else {
                        ""
                    }
                );
                // The plan's own bound for a brief lock is the lock timeout it sets. On an
                // assumed row count the block is a guess: said at the top, not refused.
                let over_lock = model.overlap && block.as_secs() > engine.lock_timeout_s;
                let over_rto = intake.rto.is_some_and(|r| block > r);
                let found = if assumed {
                    &mut warnings
                } else {
                    &mut refusals
                };
                if over_lock {
                    found.push(format!(
                        "{what}, longer than the {}s the plan allows any lock; with a {} deploy {}, so both releases stop writing meanwhile",
                        engine.lock_timeout_s, model.name, model.overlap_text
                    ));
                } else if over_rto {
                    found.push(format!(
                        "{what}, longer than the RTO ({})",
                        format_duration(intake.rto.unwrap_or_default())
                    ));
                }
            }
            let timebox = minutes_up(secs);
            let mut detail = fill(&s.detail, &p);
            if scale != "none" {
                detail.push_str(&format!(
                    "\n\nTimebox {}: {} rows of {}{} (throughput assumption, unsourced: measure it in the rehearsal).",
                    format_duration(timebox),
                    group(rows),
                    table,
                    if assumed { ", assumed: pass --rows" } else { "" }
                ));
            }
            let sid = format!("c{}-{}-{}", ci + 1, s.phase, s.key);
            let expect = s.expect.as_ref().map(|e| {
                let escaped: BTreeMap<String, String> = p
                    .iter()
                    .map(|(k, v)| (k.clone(), regex::escape(v)))
                    .collect();
                fill(e, &escaped)
            });
            let (command, verification, role) = match s.kind.as_str() {
                "app" => {
                    detail.push_str(&format!(
                        "\n\nRoll out as {}: {}. App rollback: {}.",
                        model.name, model.rollout, model.app_rollback
                    ));
                    if model.overlap {
                        detail.push_str(&format!(
                            " Because {}, {}.",
                            model.overlap_text, model.compat
                        ));
                    }
                    if tool.kind == "versioned_schema" {
                        detail.push_str(" pgroll: the release must SET search_path to its version schema (pgroll latest schema).");
                    }
                    (None, None, "release")
                }
                "check" => (
                    None,
                    s.verify
                        .as_ref()
                        .map(|q| verify(engine, &fill(q, &p), expect.as_deref())),
                    "dba",
                ),
                "cmd" => (s.cmd.as_ref().map(|c| fill(c, &p)), None, "dba"),
                "backfill" => {
                    let (cmd, how) = super::backfill::command(
                        engine,
                        &|sql| query_cmd(engine, sql),
                        &fill("{table}", &p),
                        &fill("{pk}", &p),
                        &fill(s.backfill_set.as_deref().unwrap_or(""), &p),
                        &fill(s.backfill_where.as_deref().unwrap_or(""), &p),
                    );
                    detail.push_str(&format!("\n\n{how}"));
                    (
                        Some(cmd),
                        s.verify
                            .as_ref()
                            .map(|q| verify(engine, &fill(q, &p), expect.as_deref())),
                        "dba",
                    )
                }
                _ => {
                    let stmts: Vec<String> = s.sql.iter().map(|q| fill(q, &p)).collect();
                    let st = if scale == "none" {
                        "15s".to_string()
                    } else {
                        format!("{}s", timebox.as_secs())
                    };
                    let strategy = lock::strategy(engine, &stmts);
                    let sess = lock::session(engine, strategy, &st);
                    let mut all = sess.clone();
                    all.extend(stmts.iter().cloned());
                    let direct = exec_cmd(engine, &all).replace(
                        "{lock_timeout_ms}",
                        &(engine.lock_timeout_s * 1000).to_string(),
                    );
                    let online = tool.kind == "online" && s.alter.is_some();
                    let cmd = if online {
                        let alter = fill(s.alter.as_deref().unwrap_or(""), &p).replace('"', "\\\"");
                        let mut v = p.clone();
                        v.insert("alter".into(), alter);
                        let t = if s.phase == "contract" {
                            &tool.contract_cmd
                        } else {
                            &tool.expand_cmd
                        };
                        detail.push_str(&format!(
                            "\n\nRun through {}: the table is copied online and cut over; the statement it stands for:\n\n```sql\n{};\n```\n\n{}",
                            tool.name,
                            stmts.join(";\n"),
                            tool.down_note.replace("{table}", &table)
                        ));
                        fill(t, &v)
                    } else if tool.kind == "migration" && tool.id != "sql" {
                        // A statement that cannot run in a transaction must be the only
                        // statement of its file when the tool sends a whole file as one
                        // implicitly transactional query; the session SETs then cannot
                        // share the file.
                        let alone = s.kind == "ddl_no_tx" && tool.no_tx_alone;
                        let stmts: Vec<String> = stmts
                            .iter()
                            .filter(|q| tool.tx_in_file || !tx_control(q))
                            .cloned()
                            .collect();
                        let groups: Vec<Vec<String>> = if alone {
                            stmts.iter().map(|q| vec![q.clone()]).collect()
                        } else {
                            let mut content: Vec<String> = sess.clone();
                            content.extend(stmts.iter().cloned());
                            vec![content]
                        };
                        let base_slug =
                            format!("{}_{}", slug.replace('-', "_"), s.key.replace('-', "_"));
                        let mut v = p.clone();
                        // One apply command per file: a step split into several files
                        // applies each (a tool that moves or names one unit per command
                        // would otherwise leave the earlier ones unapplied).
                        let mut applies: Vec<String> = Vec::new();
                        let t = if s.phase == "contract" {
                            &tool.contract_cmd
                        } else {
                            &tool.expand_cmd
                        };
                        for (gi, group) in groups.iter().enumerate() {
                            version_counter += 1;
                            let version = numbering.format(numbering.next + version_counter - 1);
                            let fslug = if groups.len() > 1 {
                                format!("{base_slug}_{}", gi + 1)
                            } else {
                                base_slug.clone()
                            };
                            v = p.clone();
                            v.insert("version".into(), version);
                            v.insert("slug".into(), fslug);
                            v.insert(
                                "phase".into(),
                                if s.phase == "contract" {
                                    "contract".into()
                                } else {
                                    "expand".into()
                                },
                            );
                            v.insert(
                                "dir".into(),
                                if s.phase == "contract" {
                                    "post_migrate".into()
                                } else {
                                    "migrate".into()
                                },
                            );
                            let body = group
                                .iter()
                                .map(|q| mfiles::wrap_stmt(tool, q))
                                .collect::<Vec<_>>()
                                .join("\n");
                            let mut wv = v.clone();
                            wv.insert("sql".into(), body);
                            wv.insert(
                                "reverse".into(),
                                sql_reverse(&fill(&s.rollback, &p))
                                    .map(|r| format!("\"\"\"{r}\"\"\""))
                                    .unwrap_or_else(|| "None".into()),
                            );
                            let down: Vec<String> = sql_reverse(&fill(&s.rollback, &p))
                                .map(|r| down_statements(engine, &r))
                                .unwrap_or_default();
                            tool_files.extend(mfiles::files(
                                tool,
                                &mfiles::Unit {
                                    values: &v,
                                    up: group,
                                    down: &down,
                                    no_tx: s.kind == "ddl_no_tx",
                                    prev: last_version.as_deref(),
                                    irreversible: &fill(&s.rollback, &p),
                                },
                            ));
                            last_version = v.get("version").cloned();
                            applies.push(fill(t, &v));
                            let wrapped = fill(&tool.wrap.replace("\\n", "\n"), &wv);
                            detail.push_str(&format!(
                                "\n\nShip it with {} as `{}`:\n\n```\n{}\n```",
                                tool.name,
                                fill(&tool.file, &v),
                                wrapped
                            ));
                        }
                        if s.kind == "ddl_no_tx" {
                            detail.push_str(&format!(
                                "\n\nThis statement cannot run in a transaction: {}.",
                                fill(&tool.no_tx, &v)
                            ));
                        }
                        if alone {
                            detail.push_str(&format!(
                                "\n\nThe session timeouts cannot share these files: set them on the migration role before running it ({}) or in the connection options.",
                                sess.iter()
                                    .map(|q| q.replacen("SET ", "ALTER ROLE <migration role> SET ", 1))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ));
                        }
                        if applies.len() == 1 {
                            applies.remove(0)
                        } else {
                            applies
                                .iter()
                                .map(|a| format!("( {a} )"))
                                .collect::<Vec<_>>()
                                .join(" && ")
                        }
                    } else {
                        if s.kind == "ddl_no_tx" {
                            detail.push_str(
                                "\n\nEach statement runs on its own, outside a transaction.",
                            );
                        }
                        direct.clone()
                    };
                    if online {
                        detail.push_str(&format!(
                            "\n\n{} takes its own locks and retries its cut-over; the command is not wrapped in a lock-timeout retry.",
                            tool.name
                        ));
                    } else {
                        let has_st = strategy == LockStrategy::Concurrent
                            || engine
                                .session
                                .iter()
                                .any(|s| s.contains("{statement_timeout}"));
                        detail.push_str(&format!(
                            "\n\n{}",
                            lock::describe(engine, strategy, has_st.then_some(st.as_str()))
                        ));
                    }
                    (
                        Some(if online {
                            cmd
                        } else {
                            lock::guard(
                                strategy,
                                &cmd,
                                &engine.lock_error,
                                &query_cmd(engine, lock::SNAPSHOT_QUERY),
                            )
                        }),
                        s.verify
                            .as_ref()
                            .map(|q| verify(engine, &fill(q, &p), expect.as_deref())),
                        "dba",
                    )
                }
            };
            built.push(Built {
                phase: phase_index(&s.phase),
                step: Step {
                    id: sid,
                    title: fill(&s.title, &p),
                    detail,
                    timebox: Some(timebox),
                    role: Some(role.to_string()),
                    command,
                    verify: verification,
                    rollback: Some(fill(&s.rollback, &p)),
                    point_of_no_return: s.pnr,
                    on_fail: Default::default(),
                    command_kind: Default::default(),
                    expected_output: None,
                },
                meta_own: own,
                pnr: s.pnr,
                change: Some(ci),
                kind: s.kind.clone(),
                key: s.key.clone(),
            });
        }
        if tool.kind == "versioned_schema" {
            let file = format!("migrations/{:04}_{}.json", ci + 1, slug.replace('-', "_"));
            if !pgroll_start.is_empty() {
                let class = pgroll_start
                    .iter()
                    .map(|(_, c)| *c)
                    .max()
                    .unwrap_or(RollbackClass::Lossless)
                    .min(RollbackClass::Slow);
                built.push(Built {
                    phase: 1,
                    step: Step {
                        id: format!("c{}-expand-pgroll-start", ci + 1),
                        title: format!("pgroll start {file}"),
                        detail: format!(
                            "Express the change as pgroll operations (native ones where they exist: add_column, rename_column, alter_column, create_index, drop_column; a raw sql operation loses pgroll's guarantees). pgroll adds, backfills in batches and installs up/down triggers; the old schema version stays untouched. The statements it stands for:\n\n```sql\n{};\n```",
                            pgroll_start.iter().map(|(q, _)| q.clone()).collect::<Vec<_>>().join(";\n")
                        ),
                        timebox: Some(minutes_up(k.timebox.ddl_base_s + ctx.rows(c.table()).0 / k.timebox.backfill_rows_per_s.max(1))),
                        role: Some("dba".into()),
                        command: Some(format!("pgroll start {file}")),
                        verify: None,
                        rollback: Some("pgroll rollback (removes the new version; only before pgroll complete)".into()),
                        point_of_no_return: false,
                        on_fail: Default::default(),
                        command_kind: Default::default(),
                        expected_output: None,
                    },
                    meta_own: class,
                    pnr: false,
                    change: Some(ci),
                    kind: "ddl".into(),
                    key: "pgroll-start".into(),
                });
            }
            if !pgroll_complete.is_empty() || !pgroll_start.is_empty() {
                let class = pgroll_complete
                    .iter()
                    .map(|(_, c, _)| *c)
                    .max()
                    .unwrap_or(RollbackClass::Slow)
                    .max(RollbackClass::Slow);
                let pnr = pgroll_complete.iter().any(|(_, _, p)| *p);
                built.push(Built {
                    phase: 6,
                    step: Step {
                        id: format!("c{}-contract-pgroll-complete", ci + 1),
                        title: "pgroll complete".into(),
                        detail: format!(
                            "Drops the old version schema, temporary columns and triggers. Only after no application uses the old version. After this pgroll rollback does nothing.{}",
                            if pgroll_complete.is_empty() { String::new() } else {
                                format!(" Statements it stands for:\n\n```sql\n{};\n```", pgroll_complete.iter().map(|(q, _, _)| q.clone()).collect::<Vec<_>>().join(";\n"))
                            }
                        ),
                        timebox: Some(minutes_up(k.timebox.ddl_base_s)),
                        role: Some("dba".into()),
                        command: Some("pgroll complete".into()),
                        verify: None,
                        rollback: Some(if pnr { "restore from backup or roll forward".into() } else { "a new pgroll migration that reverses it (slow)".into() }),
                        point_of_no_return: pnr,
                        on_fail: Default::default(),
                        command_kind: Default::default(),
                        expected_output: None,
                    },
                    meta_own: if pnr { RollbackClass::Lossy } else { class },
                    pnr,
                    change: Some(ci),
                    kind: "ddl".into(),
                    key: "pgroll-complete".into(),
                });
            }
        }
    }

    if !refusals.is_empty() {
        let online: Vec<&str> = k
            .tools
            .iter()
            .filter(|t| {
                t.kind == "online"
                    && (t.engines.is_empty()
                        || t.engines
                            .iter()
                            .any(|e| *e == engine.id || *e == engine.family))
            })
            .map(|t| t.id.as_str())
            .collect();
        return Err(format!(
            "refused: no safe online form on {} {} for what this plan would have to do, and the deployment or the RTO does not allow the block:\n- {}\nWays out: {}{}, or a smaller real row count (--rows, --schema-from) if the table is smaller than assumed.",
            engine.name,
            intake.engine.version,
            refusals.join("\n- "),
            if online.is_empty() {
                String::new()
            } else {
                format!(
                    "an online schema-change tool (--tool {}), ",
                    online.join(" or --tool ")
                )
            },
            match (model.overlap, intake.rto.is_some()) {
                (true, false) => "a maintenance window (--deploy recreate)",
                (true, true) =>
                    "a maintenance window (--deploy recreate) with an RTO that covers the block",
                _ => "an RTO that covers the block",
            }
        ));
    }

    // Order by phase (stable), then add gates.
    built.sort_by_key(|b| b.phase);
    let contract_at = built.iter().position(|b| b.phase == 6);
    if let Some(at) = contract_at {
        built.insert(
            at,
            Built {
                phase: 6,
                step: step(
                    "gate-contract",
                    "Gate: the rollback window may close",
                    &format!(
                        "Contract only when {}, including workers, cron jobs and queue consumers, and the team accepts that rolling back to N needs a new expand. With {}, the soak before this gate is at least {}.",
                        model.contract_gate,
                        model.name,
                        format_duration(minutes_up(k.timebox.soak_s))
                    ),
                    minutes_up(k.timebox.soak_s),
                    "lead",
                    None,
                    None,
                ),
                meta_own: RollbackClass::Lossless,
                pnr: false,
                change: None,
                kind: "check".into(),
                key: "contract".into(),
            },
        );
    }
    if let Some(at) = built.iter().position(|b| b.pnr) {
        let phase = built[at].phase;
        let title = built[at].step.title.clone();
        built.insert(
            at,
            Built {
                phase,
                step: step(
                    "gate-pnr",
                    "Go/no-go: cross the point of no return",
                    &format!(
                        "Next: \"{title}\". After it, rollback means restore or roll forward. Go only if the backup was restored and timed{}, the pre-checks passed, and the incident channel has been told.",
                        intake.rto.map(|r| format!(" within the RTO ({})", format_duration(r))).unwrap_or_default()
                    ),
                    minutes_up(k.timebox.check_s),
                    "lead",
                    None,
                    None,
                ),
                meta_own: RollbackClass::Lossless,
                pnr: false,
                change: None,
                kind: "check".into(),
                key: "pnr".into(),
            },
        );
    }

    // Cumulative classes and rollback prefixes.
    let mut cumulative = RollbackClass::Lossless;
    let mut metas = Vec::new();
    let mut phases: Vec<Phase> = PHASES
        .iter()
        .map(|(pid, title)| Phase {
            id: pid.to_string(),
            title: title.to_string(),
            steps: Vec::new(),
        })
        .collect();
    for b in built {
        cumulative = cumulative.max(b.meta_own);
        let mut s = b.step;
        let note = s
            .rollback
            .take()
            .unwrap_or_else(|| "nothing to undo".into());
        s.rollback = Some(format!("[{}] {}", cumulative.label(), note));
        metas.push(StepMeta {
            id: s.id.clone(),
            phase: PHASES[b.phase].0.to_string(),
            title: s.title.clone(),
            own: b.meta_own,
            cumulative,
            pnr: b.pnr,
            change: b.change,
            kind: b.kind,
            key: b.key,
        });
        phases[b.phase].steps.push(s);
    }
    phases.retain(|p| !p.steps.is_empty());

    // Variables used by commands.
    let mut used = BTreeSet::new();
    for ph in &phases {
        for s in &ph.steps {
            for text in [
                s.command.as_deref(),
                s.verify.as_ref().map(|v| v.command.as_str()),
            ]
            .into_iter()
            .flatten()
            {
                collect_vars(text, &mut used);
            }
        }
    }
    let mut variables = Vec::new();
    for name in used.clone() {
        if let Some(v) = vars.get(&name) {
            variables.push(v.clone());
        } else if let Some(v) = engine.variable.iter().find(|v| v.name == name) {
            variables.push(Variable {
                name,
                default: v.default.clone(),
                description: v.description.clone(),
            });
        } else {
            variables.push(Variable {
                name: name.clone(),
                default: None,
                description: format!(
                    "used by {} commands; set it with --var {name}=...",
                    tool.name
                ),
            });
        }
    }

    // Values only the operator knows: declared without a default, never guessed.
    // A tool's file (Flyway, Liquibase, ...) may carry one that no command names.
    let mut named = used.clone();
    for ph in &phases {
        for s in &ph.steps {
            collect_vars(&s.detail, &mut named);
        }
    }
    let unknown: Vec<String> = named
        .iter()
        .filter_map(|n| vars.get(n))
        .filter(|v| v.default.is_none())
        .map(|v| format!("${{{}}}: {}", v.name, v.description))
        .collect();
    if !unknown.is_empty() {
        facts.push(format!(
            "Not known to the plan, so declared as variables without a default (pass each with --var NAME=VALUE; nothing is guessed): {}",
            unknown.join("; ")
        ));
    }
    let unsourced: Vec<String> = sources
        .iter()
        .filter(|s| s.contains("unsourced"))
        .cloned()
        .collect();
    let what = match &intake.from {
        Some(from) => format!(
            "{from} ({} change{})",
            intake.changes.len(),
            if intake.changes.len() == 1 { "" } else { "s" }
        ),
        None => intake
            .changes
            .iter()
            .map(|c| c.text.clone())
            .collect::<Vec<_>>()
            .join("; "),
    };
    let title = format!(
        "Plan: {what} on {} {} with {}, {} deploy",
        engine.name, intake.engine.version, tool.name, model.name
    );
    let mut playbook = Playbook {
        id: id.clone(),
        title,
        description: String::new(),
        kind: PlaybookKind::Migration,
        tags: vec![
            engine.id.clone(),
            tool.id.clone(),
            model.id.clone(),
            "planned".into(),
        ],
        budget: intake.rto,
        variables,
        sources: sources.iter().cloned().collect(),
        phases,
        probe: None,
        page: None,
    };
    let assumed_rows: Vec<String> = assumed_rows.into_iter().collect();
    let recommendation =
        recommend::recommend(&ctx, &playbook, &metas, &incidents, history, &assumed_rows);
    let checklist = checklist::checklist(&ctx, &playbook, &incidents, &assumed_rows);
    playbook.description = format!(
        "{}{}\n\nGenerated by rollsafe plan. Rollback window: {}\n\n{}{}",
        warnings
            .iter()
            .map(|w| format!("WARNING: {w}\n\n"))
            .collect::<String>(),
        recommendation.verdict,
        recommendation.window_summary(),
        match &intake.schema {
            Some(s) => format!("Schema read from {}.", s.from),
            None =>
                "No schema read (--schema-from): the plan assumed what it could not read.".into(),
        },
        facts.iter().map(|f| format!("\n- {f}")).collect::<String>()
    );
    let mut rollback_playbook = rollback_playbook(&playbook, &metas, intake);
    // Hook for issue 14: matched incident categories change the commands they mitigate.
    let acts = super::incident::act::matched_acts(k, &incidents);
    super::incident::act::apply(
        &acts,
        &super::incident::act::Target { engine, tool },
        &mut playbook,
        &mut rollback_playbook,
    );
    Ok(Plan {
        intake: intake.clone(),
        playbook,
        rollback_playbook,
        steps: metas,
        incidents,
        recommendation,
        checklist,
        engine_notes,
        sources: sources.into_iter().collect(),
        unsourced,
        assumed_rows,
        facts,
        warnings: warnings.clone(),
        ask: k.reading.ask.clone(),
        files: tool_files,
    })
}

/// The rollback of the lossless window as its own playbook, newest step first.
fn rollback_playbook(p: &Playbook, metas: &[StepMeta], intake: &Intake) -> Playbook {
    let mut steps = Vec::new();
    let flat: Vec<&Step> = p.steps().map(|(_, _, s)| s).collect();
    for (meta, s) in metas.iter().zip(flat).rev() {
        if meta.cumulative != RollbackClass::Lossless || meta.kind == "check" {
            continue;
        }
        let note = s.rollback.clone().unwrap_or_default();
        steps.push(Step {
            id: format!("undo-{}", s.id),
            title: format!("Undo: {}", s.title),
            detail: format!("{note}\n\nUndoes step `{}`.", s.id),
            timebox: s.timebox,
            role: s.role.clone(),
            command: None,
            verify: None,
            rollback: None,
            point_of_no_return: false,
            on_fail: Default::default(),
            command_kind: Default::default(),
            expected_output: None,
        });
    }
    if steps.is_empty() {
        steps.push(step(
            "nothing-to-undo",
            "Nothing to undo before the point of no return",
            "Every step is past the lossless window: restore or roll forward.",
            Duration::from_secs(60),
            "lead",
            None,
            None,
        ));
    }
    Playbook {
        id: rollback_id(&p.id),
        title: format!("Rollback of {}", p.id),
        description: format!(
            "Undo the lossless part of {} (everything before the first point of no return), newest step first. Rehearse it: rollsafe run {} --mode tabletop.",
            p.id,
            rollback_id(&p.id)
        ),
        kind: PlaybookKind::Rollback,
        tags: vec!["planned".into(), "rollback".into()],
        budget: intake.rto,
        variables: Vec::new(),
        sources: Vec::new(),
        phases: vec![Phase {
            id: "undo".into(),
            title: "Undo, newest first".into(),
            steps,
        }],
        probe: None,
        page: None,
    }
}

fn collect_vars(text: &str, out: &mut BTreeSet<String>) {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("static regex")
    });
    for c in re.captures_iter(text) {
        out.insert(c[1].to_string());
    }
}

pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn verify(engine: &Engine, sql: &str, expect: Option<&str>) -> Verification {
    Verification {
        command: query_cmd(engine, sql),
        expect: Expectation {
            exit_code: None,
            contains: None,
            regex: expect.map(|e| format!("(?m){e}")),
        },
    }
}

fn step(
    id: &str,
    title: &str,
    detail: &str,
    timebox: Duration,
    role: &str,
    command: Option<String>,
    verify: Option<Verification>,
) -> Step {
    Step {
        id: id.to_string(),
        title: title.to_string(),
        detail: detail.to_string(),
        timebox: Some(timebox),
        role: Some(role.to_string()),
        command,
        verify,
        rollback: None,
        point_of_no_return: false,
        on_fail: Default::default(),
        command_kind: Default::default(),
        expected_output: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollback_procedure_is_no_down_and_sql_in_parentheses_stays() {
        assert_eq!(
            sql_reverse("ALTER TABLE t RENAME COLUMN a TO b, then add a again: no data is lost"),
            None
        );
        assert_eq!(
            sql_reverse("ALTER TABLE t DROP COLUMN c (lossless only until N+1 writes it)")
                .as_deref(),
            Some("ALTER TABLE t DROP COLUMN c")
        );
        let view = "CREATE OR REPLACE VIEW v AS SELECT id FROM t WHERE (status <> 'closed'::text)";
        assert_eq!(sql_reverse(view).as_deref(), Some(view));
    }

    #[test]
    fn down_statements_split_but_keep_trigger_bodies() {
        let sqlite = Knowledge::load().unwrap();
        let engine = sqlite.engine("sqlite").unwrap();
        assert_eq!(
            down_statements(engine, "DROP TRIGGER IF EXISTS a; DROP TRIGGER IF EXISTS b"),
            vec!["DROP TRIGGER IF EXISTS a", "DROP TRIGGER IF EXISTS b"]
        );
        let trig = "CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDATE t SET a = 1; END";
        assert_eq!(down_statements(engine, trig), vec![trig]);
        assert!(tx_control("BEGIN IMMEDIATE") && tx_control("commit"));
        assert!(!tx_control("BEGIN UPDATE t SET a = 1; END"));
    }
}
