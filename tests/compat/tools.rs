//! The real migration tools the compatibility proof applies the planner's files with:
//! each tool's own project scaffold and connection settings, how many of the plan's
//! units it has applied, and how it undoes one. The tools are installed at pinned
//! versions by `.ci/tools.sh install DIR` (which ones cannot be installed here, and
//! why: docs/compat-proof.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Db;
use super::rehearse_support::text;

/// One migration file the plan wrote.
pub struct Unit {
    pub name: String,
    /// Its down section undoes it.
    pub reversible: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealTool {
    Alembic,
    Knex,
    Dbmate,
}

/// The directory `.ci/tools.sh install` filled (`ROLLSAFE_TOOLS_DIR`); None skips the
/// tool runs, except under CI=true where a missing tool is a failure.
pub fn tools_dir() -> Option<PathBuf> {
    match std::env::var("ROLLSAFE_TOOLS_DIR") {
        Ok(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("venv/bin/alembic").exists() && dir.join("node/node_modules").exists(),
                "ROLLSAFE_TOOLS_DIR={} has no tools: run `.ci/tools.sh install {0}`",
                dir.display()
            );
            Some(dir)
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "ROLLSAFE_TOOLS_DIR is unset, but CI=true: the compatibility proof applies the \
             emitted files with the real tools. Install them with `.ci/tools.sh install DIR` \
             and `source DIR/env`."
        ),
        _ => {
            eprintln!(
                "real tools skipped: set ROLLSAFE_TOOLS_DIR (`.ci/tools.sh install DIR; source DIR/env`)"
            );
            None
        }
    }
}

impl RealTool {
    pub fn parse(id: &str) -> RealTool {
        match id {
            "alembic" => RealTool::Alembic,
            "knex" => RealTool::Knex,
            "dbmate" => RealTool::Dbmate,
            other => panic!("cases.toml: no real-tool runner for `{other}`"),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            RealTool::Alembic => "alembic",
            RealTool::Knex => "knex",
            RealTool::Dbmate => "dbmate",
        }
    }

    /// Tables the tool keeps its history in: left out of the schema comparisons, and
    /// dropped before a MariaDB case (its database is shared by the cases).
    pub fn own_tables(self) -> &'static [&'static str] {
        match self {
            RealTool::Alembic => &["alembic_version"],
            RealTool::Knex => &["knex_migrations", "knex_migrations_lock"],
            RealTool::Dbmate => &["schema_migrations"],
        }
    }

    /// PATH for the plan's commands: the tools' own bin directories first.
    pub fn path(tools: &Path) -> String {
        format!(
            "{}:{}:{}",
            tools.join("venv/bin").display(),
            tools.join("node/node_modules/.bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Lays out the project the way the tool's users have it, before the plan writes its
    /// files into it: the tool's own scaffold (`alembic init`), the connection settings,
    /// and the environment the tool's commands read (dbmate: DATABASE_URL, which on
    /// PostgreSQL is also the plan's variable of that name).
    pub fn setup(
        self,
        tools: &Path,
        project: &Path,
        db: &Db,
        vars: &mut Vec<String>,
    ) -> Vec<(String, String)> {
        let mut env = vec![("PATH".to_string(), RealTool::path(tools))];
        std::fs::create_dir_all(project).unwrap();
        if let Db::Mariadb { .. } = db {
            db.exec(&format!(
                "DROP TABLE IF EXISTS {}",
                self.own_tables().join(", ")
            ))
            .unwrap_or_else(|e| panic!("{}: reset its tables: {e}", self.id()));
        }
        match self {
            RealTool::Alembic => {
                run(project, "alembic", &["init", "alembic"], &env).unwrap();
                let ini = project.join("alembic.ini");
                let text = std::fs::read_to_string(&ini).unwrap();
                let text = text
                    .lines()
                    .map(|l| {
                        if l.starts_with("sqlalchemy.url") {
                            format!("sqlalchemy.url = {}", db.url("alembic"))
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                std::fs::write(&ini, text).unwrap();
                // The plan's no-transaction note: autocommit_block wants one
                // transaction per migration (set in env.py).
                let env = project.join("alembic/env.py");
                let text = std::fs::read_to_string(&env).unwrap();
                let patched = text.replace(
                    "target_metadata=target_metadata",
                    "target_metadata=target_metadata, transaction_per_migration=True",
                );
                assert_ne!(patched, text, "alembic's env.py changed shape");
                std::fs::write(&env, patched).unwrap();
            }
            RealTool::Knex => {
                // A Knex project has knex and its driver in node_modules; npx finds them there.
                std::os::unix::fs::symlink(
                    tools.join("node/node_modules"),
                    project.join("node_modules"),
                )
                .unwrap();
                let (client, connection) = db.knex();
                std::fs::write(
                    project.join("knexfile.js"),
                    format!(
                        "module.exports = {{ client: '{client}', connection: {connection}, migrations: {{ directory: './migrations' }} }};\n"
                    ),
                )
                .unwrap();
            }
            RealTool::Dbmate => {
                let url = db.url("dbmate");
                if vars.iter().any(|v| v.starts_with("DATABASE_URL=")) {
                    vars.retain(|v| !v.starts_with("DATABASE_URL="));
                    vars.push(format!("DATABASE_URL={url}"));
                }
                env.push(("DATABASE_URL".into(), url));
                // dbmate dumps db/schema.sql after each run by default; not what is proven here.
                env.push(("DBMATE_NO_DUMP_SCHEMA".into(), "true".into()));
            }
        }
        env
    }

    /// How many of the plan's units (in version order) the tool has applied.
    pub fn applied(self, db: &Db, units: &[Unit]) -> usize {
        match self {
            RealTool::Alembic => match db.exec("SELECT version_num FROM alembic_version") {
                Ok(current) if !current.is_empty() => {
                    let at = units
                        .iter()
                        .position(|u| u.name.starts_with(&format!("{current}_")))
                        .unwrap_or_else(|| panic!("alembic is at {current}, not a plan unit"));
                    at + 1
                }
                _ => 0,
            },
            RealTool::Knex => count(db, "knex_migrations"),
            RealTool::Dbmate => count(db, "schema_migrations"),
        }
    }

    /// The units the plan wrote for this tool, in the order they apply, read as written
    /// (dbmate's steps move theirs from db/held to db/migrations).
    pub fn units(self, project: &Path) -> Vec<Unit> {
        let dirs: &[&str] = match self {
            RealTool::Alembic => &["alembic/versions"],
            RealTool::Knex => &["migrations"],
            RealTool::Dbmate => &["db/held", "db/migrations"],
        };
        let mut out: Vec<Unit> = dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(project.join(d)).ok())
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = file_name(p);
                name.starts_with(|c: char| c.is_ascii_digit())
                    && [".py", ".js", ".sql"].iter().any(|x| name.ends_with(x))
            })
            .map(|p| Unit {
                name: file_name(&p).to_string(),
                reversible: self.reversible(&std::fs::read_to_string(&p).unwrap()),
            })
            .collect();
        // Versions lead every name: the order the tool applies them in.
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The unit's down section undoes it (not the irreversible marker the plan writes
    /// when the rollback is a procedure, not SQL).
    fn reversible(self, text: &str) -> bool {
        match self {
            RealTool::Alembic => !text.contains("raise NotImplementedError"),
            RealTool::Knex => !text.contains("throw new Error"),
            RealTool::Dbmate => text
                .split("-- migrate:down")
                .nth(1)
                .is_some_and(|down| down.contains(';')),
        }
    }

    /// Undoes the newest applied unit with the tool's own command.
    pub fn down_one(self, project: &Path, env: &[(String, String)]) -> Result<(), String> {
        match self {
            RealTool::Alembic => run(project, "alembic", &["downgrade", "-1"], env),
            RealTool::Knex => run(project, "npx", &["knex", "migrate:down"], env),
            RealTool::Dbmate => run(project, "dbmate", &["rollback"], env),
        }
    }
}

impl RealTool {
    /// Applies again the `n` units just undone, with the tool's own command.
    pub fn up_again(
        self,
        n: usize,
        project: &Path,
        env: &[(String, String)],
    ) -> Result<(), String> {
        match self {
            RealTool::Alembic => run(project, "alembic", &["upgrade", &format!("+{n}")], env),
            RealTool::Knex => {
                (0..n).try_for_each(|_| run(project, "npx", &["knex", "migrate:up"], env))
            }
            // The undone files are back to pending in db/migrations; later ones are still held.
            RealTool::Dbmate => run(project, "dbmate", &["migrate"], env),
        }
    }
}

fn file_name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

fn count(db: &Db, table: &str) -> usize {
    db.exec(&format!("SELECT count(*) FROM {table}"))
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn run(
    project: &Path,
    program: &str,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(project)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            text(&out.stderr),
            text(&out.stdout)
        ))
    }
}
