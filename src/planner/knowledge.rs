//! The knowledge base under `assets/`: engines, tools, deployment models,
//! operations and incident categories. Embedded in the binary, parsed and
//! validated at start; every problem names the file and the key path.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

/// The embedded asset files, by the name used in error messages.
pub const EMBEDDED: [(&str, &str); 5] = [
    (
        "assets/engines.toml",
        include_str!("../../assets/engines.toml"),
    ),
    ("assets/tools.toml", include_str!("../../assets/tools.toml")),
    (
        "assets/deploy_models.toml",
        include_str!("../../assets/deploy_models.toml"),
    ),
    (
        "assets/operations.toml",
        include_str!("../../assets/operations.toml"),
    ),
    (
        "assets/incidents.toml",
        include_str!("../../assets/incidents.toml"),
    ),
];

/// The phases of a plan, in order.
pub const PHASES: [(&str, &str); 7] = [
    ("prepare", "Prepare: preflight and safety nets"),
    (
        "expand",
        "Expand: additive schema changes (N and N+1 both work)",
    ),
    ("deploy", "Deploy code that handles both shapes"),
    ("backfill", "Backfill"),
    ("switch-reads", "Switch reads"),
    ("stop-old-writes", "Stop old writes"),
    (
        "contract",
        "Contract (post-deploy, closes the rollback window)",
    ),
];

pub const KINDS: [&str; 6] = ["ddl", "ddl_no_tx", "check", "backfill", "app", "cmd"];
pub const SCALES: [&str; 4] = ["none", "index", "rebuild", "backfill"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeError {
    pub file: String,
    /// Key path inside the file, e.g. `operation[rename-column].step[2].class`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

impl std::error::Error for KnowledgeError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackClass {
    Lossless,
    Slow,
    DataDependent,
    Lossy,
}

impl RollbackClass {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "lossless" => Some(Self::Lossless),
            "slow" => Some(Self::Slow),
            "data_dependent" => Some(Self::DataDependent),
            "lossy" => Some(Self::Lossy),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Lossless => "lossless",
            Self::Slow => "slow",
            Self::DataDependent => "data-dependent",
            Self::Lossy => "lossy",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionNote {
    pub min: String,
    pub max: String,
    pub text: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    pub id: String,
    pub name: String,
    pub family: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub versions: Vec<String>,
    #[serde(default)]
    pub editions: Vec<String>,
    pub backfill: String,
    pub batch: u64,
    pub exec: String,
    pub query: String,
    pub session: Vec<String>,
    pub lock_error: String,
    pub lock_timeout_s: u64,
    pub transactional_ddl: bool,
    pub version_query: String,
    pub blockers_query: String,
    pub lag_query: String,
    pub locks_watch: String,
    pub backup: String,
    pub source: String,
    #[serde(default)]
    pub variable: Vec<Variable>,
    #[serde(default)]
    pub version_note: Vec<VersionNote>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timebox {
    pub ddl_base_s: u64,
    pub app_deploy_s: u64,
    pub check_s: u64,
    pub backfill_rows_per_s: u64,
    pub index_rows_per_s: u64,
    pub rebuild_rows_per_s: u64,
    pub default_rows: u64,
    pub soak_s: u64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnginesFile {
    engine: Vec<Engine>,
    timebox: Timebox,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub kind: String,
    #[serde(default)]
    pub engines: Vec<String>,
    #[serde(default)]
    pub min_version: Option<String>,
    pub down: String,
    pub down_note: String,
    pub tx: String,
    pub no_tx: String,
    pub repair: String,
    pub split: String,
    pub file: String,
    pub wrap: String,
    /// Wraps each statement on its own (`{stmt}`) when the tool would otherwise send
    /// several statements as one query (an implicit transaction on PostgreSQL).
    #[serde(default)]
    pub stmt_wrap: Option<String>,
    /// `[from, to]` replacements applied to a statement before it goes into `stmt_wrap`.
    #[serde(default)]
    pub stmt_escape: Vec<[String; 2]>,
    /// A statement that cannot run in a transaction must be alone in its file.
    #[serde(default)]
    pub no_tx_alone: bool,
    /// The tool opens no transaction of its own: a file keeps its BEGIN / COMMIT. Otherwise
    /// they are left out of the files (the tool's transaction holds the statements).
    #[serde(default)]
    pub tx_in_file: bool,
    /// The whole file the tool loads (src/planner/files.rs): `{up}`, `{down}`, `{no_tx}`,
    /// `{prev}`, `{class}` and the `file` placeholders.
    #[serde(default)]
    pub module: Option<String>,
    /// The module's path when `file` carries prose (defaults to `file`).
    #[serde(default)]
    pub module_path: Option<String>,
    /// A separate down file (golang-migrate).
    #[serde(default)]
    pub down_module: Option<String>,
    #[serde(default)]
    pub down_path: Option<String>,
    /// What `{no_tx}` becomes in a file whose statement cannot run in a transaction.
    #[serde(default)]
    pub no_tx_mark: Option<String>,
    /// Wraps the up body of such a file (`{up}`), e.g. Alembic's autocommit_block.
    #[serde(default)]
    pub no_tx_up: Option<String>,
    /// A settings file written next to such a file (Flyway's .sql.conf).
    #[serde(default)]
    pub no_tx_path: Option<String>,
    #[serde(default)]
    pub no_tx_text: Option<String>,
    /// The down body when the step cannot be undone in SQL (`{why}`).
    #[serde(default)]
    pub irreversible: Option<String>,
    pub expand_cmd: String,
    pub contract_cmd: String,
    pub has_lock: bool,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsFile {
    tool: Vec<Tool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployModel {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub overlap: bool,
    pub both_write: bool,
    pub overlap_text: String,
    pub compat: String,
    pub rollout: String,
    pub app_rollback: String,
    pub contract_gate: String,
    pub duration_s: u64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    model: Vec<DeployModel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MitigationStep {
    pub phase: String,
    pub title: String,
    pub detail: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: String,
    /// Kinds of evidence that must all be present (e.g. a mechanism, not only a topic).
    #[serde(default)]
    pub needs: Vec<String>,
    /// Score needed to match; `reading.threshold` when absent.
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(rename = "signal")]
    pub signals: Vec<Signal>,
    /// What the mitigation does to the plan's commands (see `planner::incident::act`).
    pub act: String,
    pub effect: String,
    pub mitigation: String,
    pub checklist: String,
    pub source: String,
    #[serde(default)]
    pub step: Option<MitigationStep>,
}

/// One kind of evidence a category looks for, worth `weight` once however often it occurs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// `operation`, `mechanism`, `consequence` or `tool`.
    pub kind: String,
    pub weight: f64,
    /// Phrases: lowercase words; `word*` matches a prefix, `..` skips up to four words.
    pub words: Vec<String>,
}

pub const SIGNAL_KINDS: [&str; 4] = ["operation", "mechanism", "consequence", "tool"];

/// How accounts are read: negation, hypotheticals, the match threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    pub threshold: f64,
    /// Words that deny a phrase when they stand shortly before it in the same clause.
    pub negators: Vec<String>,
    pub negation_window: usize,
    /// Words that make a phrase a plan or a possibility rather than what happened.
    pub hypothetical: Vec<String>,
    pub hypothetical_window: usize,
    pub hypothetical_factor: f64,
    /// Words that end a clause (besides punctuation).
    pub clause_breaks: Vec<String>,
    /// What the wizard asks when an account matches nothing.
    pub ask: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentsFile {
    reading: Reading,
    category: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpStep {
    pub phase: String,
    pub key: String,
    #[serde(default)]
    pub engines: Vec<String>,
    pub kind: String,
    pub title: String,
    pub detail: String,
    #[serde(default)]
    pub sql: Vec<String>,
    #[serde(default)]
    pub cmd: Option<String>,
    #[serde(default)]
    pub alter: Option<String>,
    #[serde(default)]
    pub verify: Option<String>,
    #[serde(default)]
    pub expect: Option<String>,
    #[serde(default)]
    pub backfill_set: Option<String>,
    #[serde(default)]
    pub backfill_where: Option<String>,
    pub rollback: String,
    pub class: String,
    #[serde(default)]
    pub pnr: bool,
    #[serde(default)]
    pub scale: Option<String>,
    /// Writes wait for the whole statement and no online form exists (an online tool such
    /// as gh-ost may still run its `alter`): the plan refuses it where the deployment model
    /// keeps serving writes or the RTO is shorter than the block.
    #[serde(default)]
    pub blocks_writes: bool,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsupported {
    pub engine: String,
    pub reason: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub id: String,
    pub label: String,
    pub patterns: Vec<String>,
    pub slug: String,
    pub source: String,
    #[serde(default)]
    pub step: Vec<OpStep>,
    #[serde(default)]
    pub unsupported: Vec<Unsupported>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationsFile {
    operation: Vec<Operation>,
}

/// A parsed engine condition: `family|engine`, optional version bounds joined
/// by `,` (`postgres>=12,<=17`), optional edition (`sqlserver:enterprise`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSpec {
    pub name: String,
    pub bounds: Vec<(&'static str, String)>,
    pub edition: Option<String>,
}

impl EngineSpec {
    pub fn parse(text: &str) -> Option<Self> {
        let (head, edition) = match text.split_once(':') {
            Some((h, e)) => (h, Some(e.to_string())),
            None => (text, None),
        };
        let cut = head.find(['<', '>', '=']).unwrap_or(head.len());
        let name = head[..cut].to_string();
        let mut bounds = Vec::new();
        for part in head[cut..].split(',').filter(|p| !p.is_empty()) {
            let op = [">=", "<=", ">", "<", "="]
                .into_iter()
                .find(|op| part.starts_with(op))?;
            let version = &part[op.len()..];
            if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return None;
            }
            bounds.push((op, version.to_string()));
        }
        (!name.is_empty()).then_some(EngineSpec {
            name,
            bounds,
            edition,
        })
    }

    /// Does this spec cover the engine at this version and edition?
    pub fn matches(&self, engine: &Engine, version: &str, edition: Option<&str>) -> bool {
        // A version bound is one engine's numbering: "mysql>=8.0" says nothing about
        // MariaDB 10.x, so a bounded spec matches the engine id only; a bare family name
        // ("mysql") still covers the family.
        let by_family = self.bounds.is_empty() && self.name == engine.family;
        if self.name != engine.id && !by_family {
            return false;
        }
        if let Some(want) = &self.edition
            && edition != Some(want.as_str())
        {
            return false;
        }
        self.bounds.iter().all(|(op, bound)| {
            let ord = compare_versions(version, bound);
            match *op {
                ">=" => ord.is_ge(),
                "<=" => ord.is_le() || version_within(version, bound),
                ">" => ord.is_gt(),
                "<" => ord.is_lt(),
                _ => ord.is_eq() || version_within(version, bound),
            }
        })
    }
}

/// What is wrong with a fact's `source`, if anything: empty, or citing rollsafe's own research
/// notes (`MA §2.1.3`, `TE §4.4`, `anchors P14`, a bare `§2.0`), which a reader of a plan cannot
/// open. A source names a URL or a manual section, or says `unsourced: …`.
pub fn source_problem(source: &str) -> Option<String> {
    if source.trim().is_empty() {
        return Some("empty source".into());
    }
    static INTERNAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\b(?:MA|TE)\s*§|\banchors\s+(?:§|[PMS]\d|\d)|migration_anchors\.md|tools_and_engines\.md|shared/research",
        )
        .expect("static regex")
    });
    static SECTION: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"§\s*\d").expect("static regex"));
    let internal = INTERNAL
        .find(source)
        .map(|m| m.as_str().to_string())
        .or_else(|| {
            // A bare `§n` is an internal section number unless its clause also gives a URL.
            source
                .split(';')
                .find(|clause| SECTION.is_match(clause) && !clause.contains("://"))
                .and_then(|clause| SECTION.find(clause).map(|m| m.as_str().to_string()))
        });
    internal.map(|hit| {
        format!(
            "source cites rollsafe's internal research notes (\"{hit}\"), which a reader cannot open: \
             cite a URL or a named manual section, or write \"unsourced: <what is not settled>\""
        )
    })
}

/// Compares dotted versions numerically; missing parts count as 0.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |s: &str| -> Vec<u64> {
        s.split('.')
            .map(|p| p.trim().parse::<u64>().unwrap_or(0))
            .collect()
    };
    let (va, vb) = (parse(a), parse(b));
    let n = va.len().max(vb.len());
    for i in 0..n {
        let x = va.get(i).copied().unwrap_or(0);
        let y = vb.get(i).copied().unwrap_or(0);
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// `8.0.35` lies within `8.0`: an upper bound covers its patch releases.
fn version_within(version: &str, bound: &str) -> bool {
    version.starts_with(&format!("{bound}."))
}

#[derive(Debug, Clone)]
pub struct Knowledge {
    pub engines: Vec<Engine>,
    pub timebox: Timebox,
    pub tools: Vec<Tool>,
    pub models: Vec<DeployModel>,
    pub operations: Vec<Operation>,
    pub categories: Vec<Category>,
    pub reading: Reading,
}

fn parse_file<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, KnowledgeError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before
                    .rsplit('\n')
                    .next()
                    .map(|l| l.chars().count())
                    .unwrap_or(0)
                    + 1;
                (line, col)
            })
            .unwrap_or((1, 1));
        KnowledgeError {
            file: file.to_string(),
            path: format!("line {line}, column {col}"),
            message: e.message().trim().to_string(),
        }
    })
}

impl Knowledge {
    /// Loads and validates the embedded knowledge base.
    pub fn load() -> Result<Self, Vec<KnowledgeError>> {
        Self::from_texts(&EMBEDDED)
    }

    /// Loads from `(file name, text)` pairs in the order of [`EMBEDDED`]; for tests of bad data.
    pub fn from_texts(files: &[(&str, &str)]) -> Result<Self, Vec<KnowledgeError>> {
        let get = |suffix: &str| {
            files
                .iter()
                .find(|(name, _)| name.ends_with(suffix))
                .copied()
                .ok_or_else(|| {
                    vec![KnowledgeError {
                        file: format!("assets/{suffix}"),
                        path: String::new(),
                        message: "file missing".into(),
                    }]
                })
        };
        let (ef, et) = get("engines.toml")?;
        let (tf, tt) = get("tools.toml")?;
        let (mf, mt) = get("deploy_models.toml")?;
        let (of, ot) = get("operations.toml")?;
        let (cf, ct) = get("incidents.toml")?;
        let mut errors = Vec::new();
        let engines: Option<EnginesFile> = parse_file(ef, et).map_err(|e| errors.push(e)).ok();
        let tools: Option<ToolsFile> = parse_file(tf, tt).map_err(|e| errors.push(e)).ok();
        let models: Option<ModelsFile> = parse_file(mf, mt).map_err(|e| errors.push(e)).ok();
        let ops: Option<OperationsFile> = parse_file(of, ot).map_err(|e| errors.push(e)).ok();
        let cats: Option<IncidentsFile> = parse_file(cf, ct).map_err(|e| errors.push(e)).ok();
        let (Some(engines), Some(tools), Some(models), Some(ops), Some(cats)) =
            (engines, tools, models, ops, cats)
        else {
            return Err(errors);
        };
        let k = Knowledge {
            engines: engines.engine,
            timebox: engines.timebox,
            tools: tools.tool,
            models: models.model,
            operations: ops.operation,
            categories: cats.category,
            reading: cats.reading,
        };
        let names = [ef, tf, mf, of, cf];
        k.validate(&names, &mut errors);
        if errors.is_empty() {
            Ok(k)
        } else {
            Err(errors)
        }
    }

    fn validate(&self, names: &[&str; 5], errors: &mut Vec<KnowledgeError>) {
        let [ef, tf, mf, of, cf] = *names;
        let mut err = |file: &str, path: String, message: String| {
            errors.push(KnowledgeError {
                file: file.to_string(),
                path,
                message,
            })
        };
        let mut families = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for e in &self.engines {
            let at = format!("engine[{}]", e.id);
            if !ids.insert(e.id.clone()) {
                err(ef, at.clone(), "duplicate engine id".into());
            }
            families.insert(e.family.clone());
            if let Some(problem) = source_problem(&e.source) {
                err(ef, format!("{at}.source"), problem);
            }
            if e.versions.is_empty() {
                err(ef, format!("{at}.versions"), "no versions".into());
            }
            if !e.exec.contains("{sql}") || !e.query.contains("{sql}") {
                err(ef, format!("{at}.exec"), "exec and query need {sql}".into());
            }
            for (i, n) in e.version_note.iter().enumerate() {
                if let Some(problem) = source_problem(&n.source) {
                    err(ef, format!("{at}.version_note[{i}].source"), problem);
                }
            }
        }
        if let Some(problem) = source_problem(&self.timebox.source) {
            err(ef, "timebox.source".into(), problem);
        }
        let known_engine = |name: &str| ids.contains(name) || families.contains(name);
        let mut tool_ids = BTreeSet::new();
        for t in &self.tools {
            let at = format!("tool[{}]", t.id);
            if !tool_ids.insert(t.id.clone()) {
                err(tf, at.clone(), "duplicate tool id".into());
            }
            if let Some(problem) = source_problem(&t.source) {
                err(tf, format!("{at}.source"), problem);
            }
            if !["migration", "online", "versioned_schema"].contains(&t.kind.as_str()) {
                err(
                    tf,
                    format!("{at}.kind"),
                    format!(
                        "unknown kind \"{}\" (use migration, online, versioned_schema)",
                        t.kind
                    ),
                );
            }
            if !["yes", "paid", "none"].contains(&t.down.as_str()) {
                err(
                    tf,
                    format!("{at}.down"),
                    format!("unknown down \"{}\" (use yes, paid, none)", t.down),
                );
            }
            for (i, e) in t.engines.iter().enumerate() {
                if !known_engine(e) {
                    err(
                        tf,
                        format!("{at}.engines[{i}]"),
                        format!("unknown engine \"{e}\""),
                    );
                }
            }
        }
        let mut model_ids = BTreeSet::new();
        for m in &self.models {
            let at = format!("model[{}]", m.id);
            if !model_ids.insert(m.id.clone()) {
                err(mf, at.clone(), "duplicate model id".into());
            }
            if let Some(problem) = source_problem(&m.source) {
                err(mf, format!("{at}.source"), problem);
            }
        }
        let phases: Vec<&str> = PHASES.iter().map(|(id, _)| *id).collect();
        let mut op_ids = BTreeSet::new();
        let placeholder = regex::Regex::new(r"\{[a-z_]+\}").expect("static regex");
        for op in &self.operations {
            let at = format!("operation[{}]", op.id);
            if !op_ids.insert(op.id.clone()) {
                err(of, at.clone(), "duplicate operation id".into());
            }
            if let Some(problem) = source_problem(&op.source) {
                err(of, format!("{at}.source"), problem);
            }
            if op.patterns.is_empty() {
                err(of, format!("{at}.patterns"), "no patterns".into());
            }
            for (i, p) in op.patterns.iter().enumerate() {
                if let Err(msg) = super::intake::pattern_regex(p) {
                    err(of, format!("{at}.patterns[{i}]"), msg);
                }
            }
            for (i, s) in op.step.iter().enumerate() {
                let sat = format!("{at}.step[{i}]");
                if !phases.contains(&s.phase.as_str()) {
                    err(
                        of,
                        format!("{sat}.phase"),
                        format!("unknown phase \"{}\" (use {})", s.phase, phases.join(", ")),
                    );
                }
                if !KINDS.contains(&s.kind.as_str()) {
                    err(
                        of,
                        format!("{sat}.kind"),
                        format!("unknown kind \"{}\" (use {})", s.kind, KINDS.join(", ")),
                    );
                }
                if RollbackClass::parse(&s.class).is_none() {
                    err(
                        of,
                        format!("{sat}.class"),
                        format!(
                            "unknown class \"{}\" (use lossless, slow, data_dependent, lossy)",
                            s.class
                        ),
                    );
                }
                if s.pnr && s.class != "lossy" {
                    err(
                        of,
                        format!("{sat}.pnr"),
                        "a point of no return must have class lossy".into(),
                    );
                }
                if let Some(scale) = &s.scale
                    && !SCALES.contains(&scale.as_str())
                {
                    err(
                        of,
                        format!("{sat}.scale"),
                        format!("unknown scale \"{scale}\" (use {})", SCALES.join(", ")),
                    );
                }
                if let Some(problem) = source_problem(&s.source) {
                    err(of, format!("{sat}.source"), problem);
                }
                if !s
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    err(
                        of,
                        format!("{sat}.key"),
                        "key must be lowercase letters, digits, '-'".into(),
                    );
                }
                match s.kind.as_str() {
                    "ddl" | "ddl_no_tx" if s.sql.is_empty() => {
                        err(of, format!("{sat}.sql"), "a ddl step needs sql".into())
                    }
                    "backfill" if s.backfill_set.is_none() || s.backfill_where.is_none() => err(
                        of,
                        format!("{sat}.backfill_set"),
                        "a backfill step needs backfill_set and backfill_where".into(),
                    ),
                    "cmd" if s.cmd.is_none() => {
                        err(of, format!("{sat}.cmd"), "a cmd step needs cmd".into())
                    }
                    _ => {}
                }
                // `{param}` placeholders are filled (regex-escaped) when the plan is built.
                if let Some(re) = &s.expect
                    && let Err(e) = regex::Regex::new(&placeholder.replace_all(re, "x"))
                {
                    err(of, format!("{sat}.expect"), format!("bad regex: {e}"));
                }
                for (j, spec) in s.engines.iter().enumerate() {
                    match EngineSpec::parse(spec) {
                        Some(p) if known_engine(&p.name) => {}
                        _ => err(
                            of,
                            format!("{sat}.engines[{j}]"),
                            format!("unknown engine spec \"{spec}\""),
                        ),
                    }
                }
            }
            for (i, u) in op.unsupported.iter().enumerate() {
                let uat = format!("{at}.unsupported[{i}]");
                match EngineSpec::parse(&u.engine) {
                    Some(p) if known_engine(&p.name) => {}
                    _ => err(
                        of,
                        format!("{uat}.engine"),
                        format!("unknown engine spec \"{}\"", u.engine),
                    ),
                }
                if let Some(problem) = source_problem(&u.source) {
                    err(of, format!("{uat}.source"), problem);
                }
            }
        }
        let mut cat_ids = BTreeSet::new();
        for c in &self.categories {
            let at = format!("category[{}]", c.id);
            if !cat_ids.insert(c.id.clone()) {
                err(cf, at.clone(), "duplicate category id".into());
            }
            if let Some(problem) = source_problem(&c.source) {
                err(cf, format!("{at}.source"), problem);
            }
            if c.signals.is_empty() {
                err(cf, format!("{at}.signal"), "no signals".into());
            }
            for (i, sig) in c.signals.iter().enumerate() {
                let sat = format!("{at}.signal[{i}]");
                if !SIGNAL_KINDS.contains(&sig.kind.as_str()) {
                    err(
                        cf,
                        format!("{sat}.kind"),
                        format!(
                            "unknown kind \"{}\" (one of {})",
                            sig.kind,
                            SIGNAL_KINDS.join(", ")
                        ),
                    );
                }
                if !sig.weight.is_finite() || sig.weight == 0.0 {
                    err(
                        cf,
                        format!("{sat}.weight"),
                        "weight must be a non-zero number".into(),
                    );
                }
                for (j, w) in sig.words.iter().enumerate() {
                    if w.trim().is_empty() || w.to_lowercase() != *w {
                        err(
                            cf,
                            format!("{sat}.words[{j}]"),
                            "phrases are lowercase and non-empty".into(),
                        );
                    }
                }
            }
            for n in &c.needs {
                if !c.signals.iter().any(|s| &s.kind == n) {
                    err(
                        cf,
                        format!("{at}.needs"),
                        format!("needs \"{n}\" but has no signal of that kind"),
                    );
                }
            }
            if !super::incident::act::ACTS.contains(&c.act.as_str()) {
                err(
                    cf,
                    format!("{at}.act"),
                    format!("unknown act \"{}\"", c.act),
                );
            }
            if !["", "distrust_down", "require_rehearsal", "restore_slow"]
                .contains(&c.effect.as_str())
            {
                err(
                    cf,
                    format!("{at}.effect"),
                    format!("unknown effect \"{}\"", c.effect),
                );
            }
            if let Some(s) = &c.step
                && !phases.contains(&s.phase.as_str())
            {
                err(
                    cf,
                    format!("{at}.step.phase"),
                    format!("unknown phase \"{}\"", s.phase),
                );
            }
        }
        if self.categories.len() < 10 {
            err(
                cf,
                String::new(),
                "at least 10 failure categories are required".into(),
            );
        }
    }

    pub fn engine(&self, id: &str) -> Option<&Engine> {
        let id = id.to_ascii_lowercase();
        self.engines
            .iter()
            .find(|e| e.id == id || e.aliases.contains(&id))
    }
    pub fn tool(&self, id: &str) -> Option<&Tool> {
        let id = id.to_ascii_lowercase();
        self.tools
            .iter()
            .find(|t| t.id == id || t.aliases.contains(&id))
    }
    pub fn model(&self, id: &str) -> Option<&DeployModel> {
        let id = id.to_ascii_lowercase();
        self.models
            .iter()
            .find(|m| m.id == id || m.name == id || m.aliases.contains(&id))
    }
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn sources_citing_internal_notes_are_refused() {
        for bad in [
            "MA §2.1.3 P1",
            "TE §4.4 (alter-table-transact-sql.md)",
            "squawk adding-field-with-default (anchors P2)",
            "https://squawkhq.com/docs/safe_migrations; §2.0 item 1",
            "see /work/shared/research/migration_anchors.md",
        ] {
            let p = source_problem(bad).unwrap_or_else(|| panic!("accepted {bad:?}"));
            assert!(p.contains("internal research notes"), "{p}");
        }
        assert_eq!(source_problem("  ").as_deref(), Some("empty source"));
        for good in [
            "https://learn.microsoft.com/en-us/sql/t-sql/statements/set-lock-timeout-transact-sql",
            "MySQL manual 'Online DDL Operations' (section 17.12.1, Index Operations table)",
            "unsourced: the 5.7 rebuild behaviour",
            "https://www.postgresql.org/docs/current/sql-altertable.html §Notes",
        ] {
            assert_eq!(source_problem(good), None, "{good}");
        }
    }

    #[test]
    fn the_loader_names_file_and_entry_of_an_internal_citation() {
        let mut files: Vec<(&str, String)> =
            EMBEDDED.iter().map(|(n, t)| (*n, t.to_string())).collect();
        let tools = files
            .iter_mut()
            .find(|(n, _)| n.ends_with("tools.toml"))
            .expect("tools.toml embedded");
        let at = tools.1.find("\nsource = \"").expect("a tool source") + 1;
        tools.1.insert_str(at + "source = \"".len(), "TE §2.1 ");
        let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let text = Knowledge::from_texts(&borrowed)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            text.contains("assets/tools.toml: tool[") && text.contains("].source: source cites"),
            "{text}"
        );
        assert!(text.contains("TE §"), "{text}");
    }
}
