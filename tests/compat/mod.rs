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

/// Runs one case; Err says which phase, step or query failed and how.
pub fn run(case: &Case, seeds: &Seed, n: usize) -> Result<Figures, String> {
    let dir = TempDir::new().unwrap();
    let plan = dir.path().join("plan.toml");
    // Seeded first: a plan made with --schema-from reads the database as it is.
    let db = seeded(case, seeds, dir.path(), n);
    let mut cmd = Command::new(BIN);
    cmd.args(["plan", "--change", &case.change, "--engine", &case.engine])
        .args([
            "--deploy",
            &case.deploy,
            "--tool",
            "sql",
            "--format",
            "toml",
        ])
        .args(["--rows", "orders=100000", "--out"])
        .arg(&plan)
        .arg("--db")
        .arg(dir.path().join("drills.db"))
        .env("NO_COLOR", "1");
    if case.schema_from {
        cmd.args(["--schema-from", &db.source()]);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(format!("plan: {}", text(&out.stderr)));
    }
    let mut vars = db.vars();
    vars.extend(case.vars.iter().cloned());

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
        let mut cmd = Command::new(BIN);
        cmd.arg("rehearse")
            .arg(&file)
            .args(["--live", "--yes", "--json", "--db"])
            .arg(dir.path().join("drills.db"))
            .env("ROLLSAFE_PLAYBOOKS", dir.path().join("none"))
            // Plan steps write files (dumps, kept copies) where they run.
            .current_dir(dir.path())
            .env("NO_COLOR", "1");
        for v in &vars {
            cmd.args(["--var", v]);
        }
        let out = cmd.output().unwrap();
        if !out.status.success() {
            let summary: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_default();
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
            return Err(format!(
                "phase {id}: rehearse exit {:?}: {} {}",
                out.status.code(),
                failed.join("; "),
                text(&out.stderr).lines().last().unwrap_or("")
            ));
        }
        figures.phases += 1;
        for set in case
            .queries
            .iter()
            .filter(|q| q.phases.iter().any(|p| p == id))
        {
            for sql in &set.sql {
                let sql = sql.replace("{phase}", id);
                db.exec(&sql).map_err(|e| {
                    format!("phase {id}: release {} query `{sql}`: {e}", set.release)
                })?;
                if set.release == "N" {
                    figures.n_queries += 1;
                } else {
                    figures.n1_queries += 1;
                }
            }
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
        let result = run(case, &cases.seed, n);
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
                total.phases += f.phases;
                total.n_queries += f.n_queries;
                total.n1_queries += f.n1_queries;
                total.targets += f.targets;
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
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
