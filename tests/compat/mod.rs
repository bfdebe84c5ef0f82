//! The compatibility proof: a generated plan, run live one phase at a time
//! against a seeded database, with the old (N) and new (N+1) releases' queries
//! run after every phase and the target schema checked at the end.
//!
//! The cases (change, engine, deploy model, seed, query sets, target checks)
//! are data in `cases.toml`; this module only runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde::Deserialize;
use tempfile::TempDir;

#[path = "../rehearse_support/mod.rs"]
mod rehearse_support;
pub use rehearse_support::server_env;
use rehearse_support::{BIN, text};

mod tools;
use tools::RealTool;

#[derive(Deserialize)]
pub struct Cases {
    pub seed: Seed,
    pub case: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Seed {
    pub sqlite: String,
    pub postgres: String,
    pub mariadb: String,
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub engine: String,
    pub deploy: String,
    pub change: String,
    #[serde(default)]
    pub vars: Vec<String>,
    /// Plan with `--schema-from` the seeded database (read before the plan is made).
    #[serde(default)]
    pub schema_from: bool,
    pub known_failure: Option<String>,
    /// The plan must stop with an error containing this text (a check that guards an
    /// assumption, a refusal): proven like a pass, counted apart.
    pub must_fail: Option<String>,
    pub why: Option<String>,
    /// Real tools this case also runs with: the plan made with `--tool T --files`, its
    /// files applied (and undone) by the tool itself (tests/compat/tools.rs).
    #[serde(default)]
    pub tools: Vec<String>,
    pub queries: Vec<QuerySet>,
    pub target: Vec<Target>,
}

#[derive(Deserialize)]
pub struct QuerySet {
    pub release: String,
    pub phases: Vec<String>,
    pub sql: Vec<String>,
}

#[derive(Deserialize)]
pub struct Target {
    pub sql: String,
    pub expect: String,
}

pub fn cases() -> Cases {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/cases.toml");
    toml::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a passing case ran, for the figures.
#[derive(Debug, Default)]
pub struct Figures {
    pub phases: usize,
    pub n_queries: usize,
    pub n1_queries: usize,
    pub targets: usize,
    /// Tool files applied by the real tool (each unit once, re-applies not counted).
    pub tool_units: usize,
    /// Units undone by the tool's own down, the schema compared before and after.
    pub tool_downs: usize,
}

impl Figures {
    fn add(&mut self, f: &Figures) {
        self.phases += f.phases;
        self.n_queries += f.n_queries;
        self.n1_queries += f.n1_queries;
        self.targets += f.targets;
        self.tool_units += f.tool_units;
        self.tool_downs += f.tool_downs;
    }
}

/// A database the case owns: a SQLite file, a fresh PostgreSQL database, or
/// the MariaDB test database.
pub enum Db {
    Sqlite(PathBuf),
    Postgres {
        admin: String,
        url: String,
        name: String,
    },
    /// The test user may only use its one database: the seed drops and
    /// recreates the case's tables there.
    Mariadb {
        cnf: PathBuf,
        database: String,
    },
}

impl Db {
    /// Runs SQL; Err carries the client's error text.
    pub fn exec(&self, sql: &str) -> Result<String, String> {
        let out = match self {
            Db::Sqlite(path) => Command::new("sqlite3")
                .args(["-bail", "-cmd", ".timeout 5000"])
                .arg(path)
                .arg(sql)
                .output(),
            Db::Postgres { url, .. } => Command::new("psql")
                .args([url, "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .output(),
            Db::Mariadb { cnf, database } => Command::new("mariadb")
                .arg(format!("--defaults-extra-file={}", cnf.display()))
                .args([database, "-N", "-B", "-e", sql])
                .output(),
        }
        .unwrap_or_else(|e| {
            panic!("the database client (sqlite3, psql or mariadb) does not run: {e}; install it")
        });
        // sqlite3 can exit 0 after an error in some modes; trust stderr too.
        if out.status.success() && !text(&out.stderr).contains("Error") {
            // One separator for every client, so targets read alike.
            Ok(text(&out.stdout).trim().replace('\t', "|"))
        } else {
            Err(format!("{}{}", text(&out.stderr), text(&out.stdout)))
        }
    }

    /// What `rollsafe plan --schema-from` reads: the file, or a URL.
    fn source(&self) -> String {
        match self {
            Db::Sqlite(path) => path.display().to_string(),
            Db::Postgres { url, .. } => url.clone(),
            Db::Mariadb { database, .. } => {
                let setting = |name: &str| {
                    std::env::var(format!("ROLLSAFE_TEST_MYSQL_{name}")).unwrap_or_default()
                };
                format!(
                    "mysql://{}:{}@{}:{}/{database}",
                    setting("USER"),
                    setting("PASSWORD"),
                    setting("HOST"),
                    setting("PORT")
                )
            }
        }
    }

    /// The connection URL in the form a tool reads it.
    fn url(&self, tool: &str) -> String {
        match (self, tool) {
            (Db::Sqlite(path), "alembic") => format!("sqlite:///{}", path.display()),
            (Db::Sqlite(path), _) => format!("sqlite:{}", path.display()),
            (Db::Postgres { url, .. }, "alembic") => {
                url.replacen("postgres://", "postgresql+psycopg2://", 1)
            }
            // dbmate's driver asks for TLS unless told not to; the test server has none.
            (Db::Postgres { url, .. }, _) => format!("{url}?sslmode=disable"),
            (Db::Mariadb { .. }, "alembic") => {
                self.source().replacen("mysql://", "mysql+pymysql://", 1)
            }
            (Db::Mariadb { .. }, _) => self.source(),
        }
    }

    /// Knex's client name and connection (a JavaScript expression).
    fn knex(&self) -> (&'static str, String) {
        match self {
            Db::Postgres { url, .. } => ("pg", format!("'{url}'")),
            Db::Mariadb { .. } => ("mysql2", format!("'{}'", self.source())),
            Db::Sqlite(_) => panic!("cases.toml: Knex does not run on SQLite here"),
        }
    }

    /// The schema as the engine's own dump prints it, without the tool's history
    /// tables: what a tool's down must give back exactly.
    fn schema(&self, skip: &[&str]) -> Result<String, String> {
        let out = match self {
            Db::Sqlite(_) => {
                let names = skip
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return self.exec(&format!(
                    "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name NOT IN ({names}) ORDER BY type, name"
                ));
            }
            Db::Postgres { url, .. } => {
                let mut cmd = Command::new("pg_dump");
                cmd.args([url.as_str(), "--schema-only", "--no-owner", "--no-privileges"]);
                for t in skip {
                    // The pattern takes the tool's sequences too (knex_migrations_id_seq).
                    cmd.args(["-T", &format!("{t}*")]);
                }
                cmd.output()
            }
            Db::Mariadb { cnf, database } => {
                let mut cmd = Command::new("mariadb-dump");
                cmd.arg(format!("--defaults-extra-file={}", cnf.display()))
                    .args(["--no-data", "--skip-comments", "--skip-dump-date"]);
                for t in skip {
                    cmd.arg(format!("--ignore-table={database}.{t}"));
                }
                cmd.arg(database).output()
            }
        }
        .map_err(|e| format!("schema dump: {e}"))?;
        if !out.status.success() {
            return Err(format!("schema dump: {}", text(&out.stderr)));
        }
        let counter = Regex::new(r" AUTO_INCREMENT=\d+").unwrap();
        let client_charset =
            Regex::new(r"SET (character_set_client|character_set_results|collation_connection)\b")
                .unwrap();
        Ok(text(&out.stdout)
            .lines()
            // Comments, and pg_dump's \restrict lines (a new random key each run).
            .filter(|l| !l.starts_with("--") && !l.starts_with('\\') && !l.trim().is_empty())
            // The client character set a MariaDB view was created under: the tool's
            // driver and the mariadb client differ, the view does not.
            .filter(|l| !client_charset.is_match(l))
            .map(|l| counter.replace(l, "").into_owned())
            .collect::<Vec<_>>()
            .join("\n"))
    }

    fn vars(&self) -> Vec<String> {
        match self {
            Db::Sqlite(path) => vec![format!("SQLITE_DB={}", path.display())],
            Db::Postgres { url, .. } => vec![format!("DATABASE_URL={url}")],
            Db::Mariadb { cnf, database } => vec![
                format!("MYSQL_CNF={}", cnf.display()),
                format!("DB_NAME={database}"),
            ],
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { admin, name, .. } = self {
            let _ = Command::new("psql")
                .args([admin.as_str(), "-X", "-q", "-c"])
                .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .output();
        }
    }
}

/// Makes and seeds the case's database.
pub fn seeded(case: &Case, seeds: &Seed, dir: &Path, n: usize) -> Db {
    let family = case.engine.split(':').next().unwrap();
    let db = if family == "sqlite" {
        Db::Sqlite(dir.join("app.db"))
    } else if family == "mariadb" {
        let host = server_env("ROLLSAFE_TEST_MYSQL_HOST").expect("MariaDB server");
        let setting = |name: &str| {
            std::env::var(format!("ROLLSAFE_TEST_MYSQL_{name}"))
                .unwrap_or_else(|_| panic!("ROLLSAFE_TEST_MYSQL_{name} is set with the host"))
        };
        let cnf = dir.join("my.cnf");
        std::fs::write(
            &cnf,
            format!(
                "[client]\nhost={host}\nport={}\nuser={}\npassword={}\n",
                setting("PORT"),
                setting("USER"),
                setting("PASSWORD")
            ),
        )
        .unwrap();
        Db::Mariadb {
            cnf,
            database: setting("DATABASE"),
        }
    } else {
        let admin = server_env("ROLLSAFE_TEST_PG_URL").expect("PostgreSQL server");
        let name = format!("compat_{}_{n}", std::process::id());
        let made = Command::new("psql")
            .args([admin.as_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", text(&made.stderr));
        let base = admin.rsplit_once('/').unwrap().0;
        Db::Postgres {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    };
    let seed = match family {
        "sqlite" => &seeds.sqlite,
        "mariadb" => &seeds.mariadb,
        _ => &seeds.postgres,
    };
    db.exec(seed)
        .unwrap_or_else(|e| panic!("{}: seed: {e}", case.name));
    db
}

/// Runs one case; Err says which phase, step or query failed and how. With a real tool
/// the plan is made for it (`--tool T --files PROJECT`), its commands run in the project,
/// and after each phase that applied units with a down section the tool undoes them
/// (the schema must be back as before the phase) and applies them again (the schema
/// must be as after it).
pub fn run(
    case: &Case,
    seeds: &Seed,
    n: usize,
    tool: Option<(RealTool, &Path)>,
) -> Result<Figures, String> {
    let dir = TempDir::new().unwrap();
    let plan = dir.path().join("plan.toml");
    let project = dir.path().join("project");
    // Seeded first: a plan made with --schema-from reads the database as it is.
    let db = seeded(case, seeds, dir.path(), n);
    let mut vars = db.vars();
    vars.extend(case.vars.iter().cloned());
    let tool_id = tool.map_or("sql", |(t, _)| t.id());
    let env = tool.map_or_else(Vec::new, |(t, tools)| {
        t.setup(tools, &project, &db, &mut vars)
    });
    let mut cmd = Command::new(BIN);
    cmd.args(["plan", "--change", &case.change, "--engine", &case.engine])
        .args([
            "--deploy",
            &case.deploy,
            "--tool",
            tool_id,
            "--format",
            "toml",
        ])
        .args(["--rows", "orders=100000", "--out"])
        .arg(&plan)
        .arg("--db")
        .arg(dir.path().join("drills.db"))
        .env("NO_COLOR", "1");
    if tool.is_some() {
        cmd.arg("--files").arg(&project);
    }
    if case.schema_from {
        cmd.args(["--schema-from", &db.source()]);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(format!("plan: {}", text(&out.stderr)));
    }
    let units = tool.map(|(t, _)| t.units(&project)).unwrap_or_default();
    if tool.is_some() && units.is_empty() {
        return Err(format!("plan --tool {tool_id} --files wrote no unit"));
    }

    let full: toml::Table = toml::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let phases = full["phases"].as_array().unwrap().clone();
    let mut figures = Figures::default();
    for phase in &phases {
        let id = phase["id"].as_str().unwrap();
        // One playbook per phase, so the queries run at each phase boundary.
        let mut one = full.clone();
        one.insert("id".into(), format!("compat-{id}").into());
        one.insert("phases".into(), vec![phase.clone()].into());
        let file = dir.path().join(format!("phase-{id}.toml"));
        std::fs::write(&file, toml::to_string(&one).unwrap()).unwrap();
        let workdir = if tool.is_some() {
            project.clone()
        } else {
            dir.path().to_path_buf()
        };
        let rehearse = || rehearse_phase(id, &file, dir.path(), &workdir, &vars, &env);
        let Some((t, _)) = tool else {
            rehearse()?;
            figures.phases += 1;
            queries(case, &db, id, &mut figures)?;
            continue;
        };
        let skip = t.own_tables();
        let before = db.schema(skip)?;
        let from = t.applied(&db, &units);
        rehearse()?;
        let to = t.applied(&db, &units);
        figures.phases += 1;
        figures.tool_units += to.saturating_sub(from);
        if to > from && units[from..to].iter().all(|u| u.reversible) {
            let after = db.schema(skip)?;
            for _ in from..to {
                t.down_one(&project, &env)
                    .map_err(|e| format!("phase {id}: {} down: {e}", t.id()))?;
            }
            let undone = db.schema(skip)?;
            if undone != before {
                return Err(format!(
                    "phase {id}: after {} down the schema differs from before the phase:\n{}",
                    t.id(),
                    diff(&before, &undone)
                ));
            }
            t.up_again(to - from, &project, &env)
                .map_err(|e| format!("phase {id}: {} up again after the down: {e}", t.id()))?;
            let again = db.schema(skip)?;
            if again != after {
                return Err(format!(
                    "phase {id}: applied again after the down, the schema differs:\n{}",
                    diff(&after, &again)
                ));
            }
            figures.tool_downs += to - from;
        }
        queries(case, &db, id, &mut figures)?;
    }
    if let Some((t, _)) = tool {
        let applied = t.applied(&db, &units);
        if applied != units.len() {
            return Err(format!(
                "{} applied {applied} of the plan's {} units",
                t.id(),
                units.len()
            ));
        }
    }
    // A query set naming a phase the plan does not have would pass unrun.
    let ran: Vec<&str> = phases.iter().filter_map(|p| p["id"].as_str()).collect();
    for set in &case.queries {
        if let Some(p) = set.phases.iter().find(|p| !ran.contains(&p.as_str())) {
            return Err(format!(
                "release {}: phase `{p}` is not in the plan (phases: {})",
                set.release,
                ran.join(", ")
            ));
        }
    }
    for t in &case.target {
        let got = db
            .exec(&t.sql)
            .map_err(|e| format!("target `{}`: {e}", t.sql))?;
        if !Regex::new(&t.expect).unwrap().is_match(&got) {
            return Err(format!(
                "target `{}`: got `{got}`, want /{}/",
                t.sql, t.expect
            ));
        }
        figures.targets += 1;
    }
    Ok(figures)
}

/// `rehearse` one phase's playbook live; Err names the failed steps and their output.
fn rehearse_phase(
    id: &str,
    file: &Path,
    dir: &Path,
    workdir: &Path,
    vars: &[String],
    env: &[(String, String)],
) -> Result<(), String> {
    let mut cmd = Command::new(BIN);
    cmd.arg("rehearse")
        .arg(file)
        .args(["--live", "--yes", "--json", "--db"])
        .arg(dir.join("drills.db"))
        .env("ROLLSAFE_PLAYBOOKS", dir.join("none"))
        // Plan steps write files (dumps, kept copies) where they run; a tool's
        // commands run in its project.
        .current_dir(workdir)
        .env("NO_COLOR", "1");
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for v in vars {
        cmd.args(["--var", v]);
    }
    let out = cmd.output().unwrap();
    if out.status.success() {
        return Ok(());
    }
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let failed: Vec<String> = summary["journal"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "failed")
        .map(|s| {
            let outputs: Vec<&str> = s["output"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["output"].as_str())
                .collect();
            format!("step {}: {}", s["id"], outputs.join(" | "))
        })
        .collect();
    Err(format!(
        "phase {id}: rehearse exit {:?}: {} {}",
        out.status.code(),
        failed.join("; "),
        text(&out.stderr).lines().last().unwrap_or("")
    ))
}

/// The N and N+1 query sets named for this phase.
fn queries(case: &Case, db: &Db, id: &str, figures: &mut Figures) -> Result<(), String> {
    for set in case
        .queries
        .iter()
        .filter(|q| q.phases.iter().any(|p| p == id))
    {
        for sql in &set.sql {
            let sql = sql.replace("{phase}", id);
            db.exec(&sql)
                .map_err(|e| format!("phase {id}: release {} query `{sql}`: {e}", set.release))?;
            if set.release == "N" {
                figures.n_queries += 1;
            } else {
                figures.n1_queries += 1;
            }
        }
    }
    Ok(())
}

/// The lines only one side has, marked - and +.
fn diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    la.iter()
        .filter(|l| !lb.contains(l))
        .map(|l| format!("- {l}"))
        .chain(
            lb.iter()
                .filter(|l| !la.contains(l))
                .map(|l| format!("+ {l}")),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs every case of an engine family: passing ones must pass, known
/// failures must still fail with their recorded error.
pub fn prove(family: &str) {
    let cases = cases();
    let mut problems = Vec::new();
    let mut total = Figures::default();
    let mut plans = 0;
    let mut stops = 0;
    for (n, case) in cases
        .case
        .iter()
        .enumerate()
        .filter(|(_, c)| c.engine.split(':').next() == Some(family))
        // While working on one case: ROLLSAFE_COMPAT_ONLY=name-part (never set in CI).
        .filter(|(_, c)| {
            std::env::var("ROLLSAFE_COMPAT_ONLY").map_or(true, |only| c.name.contains(&only))
        })
    {
        let started = std::time::Instant::now();
        let result = run(case, &cases.seed, n, None);
        eprintln!(
            "{}: {:.1}s {:?}",
            case.name,
            started.elapsed().as_secs_f64(),
            result
        );
        if let Some(expected) = &case.must_fail {
            match result {
                Err(e) if e.contains(expected.as_str()) => {
                    stops += 1;
                    eprintln!("{}: stops as it must: {:?}", case.name, case.why);
                }
                Err(e) => problems.push(format!(
                    "{}: must fail with `{expected}` but fails otherwise: {e}",
                    case.name
                )),
                Ok(_) => problems.push(format!(
                    "{}: must fail with `{expected}` but passes",
                    case.name
                )),
            }
            continue;
        }
        match (&case.known_failure, result) {
            (None, Ok(f)) => {
                plans += 1;
                total.add(&f);
            }
            (None, Err(e)) => problems.push(format!("{}: {e}", case.name)),
            (Some(known), Ok(_)) => problems.push(format!(
                "{}: listed as a known failure ({known}) but now passes: remove known_failure",
                case.name
            )),
            (Some(known), Err(e)) if e.contains(known.as_str()) => {
                eprintln!("{}: known failure still fails: {:?}", case.name, case.why);
            }
            (Some(known), Err(e)) => problems.push(format!(
                "{}: known failure `{known}` now fails differently: {e}",
                case.name
            )),
        }
    }
    eprintln!(
        "{family}: {plans} plans passed, {} phases checked, {} N and {} N+1 queries, {} target checks, {stops} plans stopped where they must",
        total.phases, total.n_queries, total.n1_queries, total.targets
    );
    // The same cases again with the real tools' files, after the plain-SQL runs (the
    // MariaDB cases share one database, so nothing runs beside them).
    let mut with_tools = Figures::default();
    let mut tool_plans = 0;
    if let Some(dir) = tools::tools_dir() {
        for (n, case) in cases
            .case
            .iter()
            .enumerate()
            .filter(|(_, c)| c.engine.split(':').next() == Some(family))
            .filter(|(_, c)| {
                std::env::var("ROLLSAFE_COMPAT_ONLY").map_or(true, |only| c.name.contains(&only))
            })
        {
            for (k, id) in case.tools.iter().enumerate() {
                let tool = RealTool::parse(id);
                let started = std::time::Instant::now();
                let result = run(case, &cases.seed, n + 1000 * (k + 1), Some((tool, &dir)));
                eprintln!(
                    "{} with {id}: {:.1}s {:?}",
                    case.name,
                    started.elapsed().as_secs_f64(),
                    result
                );
                match result {
                    Ok(f) => {
                        tool_plans += 1;
                        with_tools.add(&f);
                    }
                    Err(e) => problems.push(format!("{} with {id}: {e}", case.name)),
                }
            }
        }
        eprintln!(
            "{family} with real tools: {tool_plans} plans passed, {} phases checked, {} N and {} N+1 queries, {} target checks, {} tool files applied, {} undone by the tool's down",
            with_tools.phases,
            with_tools.n_queries,
            with_tools.n1_queries,
            with_tools.targets,
            with_tools.tool_units,
            with_tools.tool_downs
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
