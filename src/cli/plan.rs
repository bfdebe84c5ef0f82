//! `rollsafe plan`: flags -> intake -> plan -> Markdown, TOML or JSON.

use std::path::PathBuf;

use chrono::Utc;
use clap::{Args, ValueEnum};

use super::{Global, exit};
use crate::planner::files::{MigrationFile, Numbering};
use crate::planner::plan::plan_numbered;
use crate::planner::{Intake, Knowledge, PlanHistory, RawIntake, render};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    Markdown,
    Toml,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Deployment model: canary, blue-green, rolling, recreate. With --from: rolling when left out.
    #[arg(long, value_name = "MODEL", required_unless_present = "from")]
    pub deploy: Option<String>,
    /// Engine and version (and SQL Server edition): postgres:15, mysql:8.0, mariadb:10.11, sqlite, sqlserver:2022:enterprise.
    /// With --from it may come from rollsafe-lint.toml instead.
    #[arg(
        long,
        value_name = "ENGINE:VERSION[:EDITION]",
        required_unless_present = "from"
    )]
    pub engine: Option<String>,
    /// Migration tool: flyway, liquibase, alembic, django, rails, prisma, golang-migrate, goose, atlas, sqitch, knex, efcore, dbmate, diesel, gh-ost, pt-osc, pgroll, sql. With --from: inferred from the file layout when left out.
    #[arg(long, value_name = "TOOL", required_unless_present = "from")]
    pub tool: Option<String>,
    /// A change as you would say it, e.g. "rename column users.name to full_name" (repeatable).
    #[arg(
        long = "change",
        value_name = "CHANGE",
        required_unless_present = "from",
        conflicts_with = "from"
    )]
    pub changes: Vec<String>,
    /// Plan the migration in these SQL files or directories (or - for standard input): `rollsafe lint` reads it, and each hazardous statement gets its phased recipe; the rest run as written.
    #[arg(long, value_name = "PATH")]
    pub from: Vec<String>,
    /// With --from: a rollsafe-lint.toml to use instead of the one found next to the files.
    #[arg(long, value_name = "FILE", requires = "from")]
    pub config: Option<PathBuf>,
    /// Read the current schema of the affected tables from here: a postgres:// or
    /// mysql://user:password@host:port/db URL (read-only), a SQLite database file, or a
    /// schema-only dump (pg_dump --schema-only, mysqldump --no-data, sqlite3 .schema). The plan
    /// then names real types, carries indexes, constraints, defaults and views with a column,
    /// and sizes timeboxes from row estimates; without it, it lists what it assumed.
    #[arg(long, value_name = "URL|FILE")]
    pub schema_from: Option<String>,
    /// Rows of a table, e.g. users=50000000 or users=50m (repeatable).
    #[arg(long = "rows", value_name = "TABLE=COUNT")]
    pub rows: Vec<String>,
    /// Rollback time budget, e.g. 15m.
    #[arg(long, value_name = "DURATION")]
    pub rto: Option<String>,
    /// What went wrong before, in your words (repeatable).
    #[arg(long = "incident", value_name = "TEXT")]
    pub incidents: Vec<String>,
    /// Feature flags can hide the change independently of deploys.
    #[arg(long)]
    pub flags: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Markdown)]
    pub format: PlanFormat,
    /// With --format toml: write the rollback playbook instead of the plan.
    #[arg(long)]
    pub rollback: bool,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the migration files the tool loads (wrappers, down sections, transaction
    /// opt-outs) under this project directory; an existing file is never overwritten.
    #[arg(long, value_name = "DIR")]
    pub files: Option<PathBuf>,
    /// Number the migration files from this version (its width is kept: 0042, 20261205120000),
    /// so they follow the project's history instead of colliding with it. Default 0001.
    #[arg(long, value_name = "VERSION")]
    pub next_version: Option<String>,
}

pub fn plan_command(global: &Global, args: &PlanArgs) -> i32 {
    let knowledge = match Knowledge::load() {
        Ok(k) => k,
        Err(errors) => {
            for e in errors {
                eprintln!("rollsafe: knowledge base: {e}");
            }
            return exit::INVALID;
        }
    };
    let raw = RawIntake {
        deploy: args.deploy.clone().unwrap_or_else(|| "rolling".into()),
        engine: args.engine.clone().unwrap_or_default(),
        tool: args.tool.clone().unwrap_or_default(),
        changes: args.changes.clone(),
        rows: args.rows.clone(),
        rto: args.rto.clone(),
        incidents: args.incidents.clone(),
        flags: args.flags,
    };
    let parsed = if args.from.is_empty() {
        Intake::parse(&knowledge, &raw)
    } else {
        intake_from_files(&knowledge, args, raw)
    };
    let mut intake = match parsed {
        Ok(i) => i,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::USAGE;
        }
    };
    if let Some(source) = &args.schema_from {
        match crate::planner::schema_live::read(source, &intake.engine.id) {
            Ok((schema, from)) => {
                // The tables the changes name: their own, a referenced one, a new name.
                let tables: Vec<String> = intake
                    .changes
                    .iter()
                    .flat_map(|c| {
                        let mut t = vec![c.table().to_string()];
                        t.extend(c.params.get("ref_table").cloned());
                        if c.op == "rename-table" {
                            t.extend(c.params.get("new").cloned());
                        }
                        t
                    })
                    .collect();
                intake.schema = Some(crate::planner::intake::SchemaSource {
                    from,
                    schema: schema.focus(&tables),
                });
            }
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return exit::INVALID;
            }
        }
    }
    let now = Utc::now();
    let id = crate::planner::plan::plan_id(&knowledge, &intake);
    let history = match global.open_store() {
        Ok(store) => match PlanHistory::read(&store, &id, now) {
            Ok(history) => history,
            Err(e) => {
                eprintln!(
                    "rollsafe: warning: cannot read the drill log ({e}); planning without history"
                );
                PlanHistory::none(now)
            }
        },
        Err((_, e)) => {
            eprintln!("rollsafe: warning: {e}; planning without history");
            PlanHistory::none(now)
        }
    };
    let numbering = match args.next_version.as_deref().map(Numbering::parse) {
        None => Numbering::default(),
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("rollsafe: {e}");
            return exit::USAGE;
        }
    };
    let plan = match plan_numbered(&intake, &knowledge, &history, &numbering) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::USAGE;
        }
    };
    if let Some(dir) = &args.files
        && let Err(e) = write_files(dir, &plan.files)
    {
        eprintln!("rollsafe: {e}");
        return exit::INVALID;
    }
    let text = match args.format {
        PlanFormat::Markdown => render::markdown(&plan),
        PlanFormat::Toml => render::toml(&plan, args.rollback),
        PlanFormat::Json => render::json(&plan),
    };
    match &args.out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                let id = if args.rollback && args.format == PlanFormat::Toml {
                    &plan.rollback_playbook.id
                } else {
                    &plan.playbook.id
                };
                eprintln!("rollsafe: wrote {} ({id})", path.display());
                exit::OK
            }
            Err(e) => {
                eprintln!("rollsafe: cannot write {}: {e}", path.display());
                exit::INVALID
            }
        },
        None => {
            print!("{text}");
            exit::OK
        }
    }
}

/// `--from`: lint the files, then read their statements as changes. Notes go to stderr so the
/// plan on stdout stays clean.
fn intake_from_files(k: &Knowledge, args: &PlanArgs, mut raw: RawIntake) -> Result<Intake, String> {
    let cat = crate::lint::Catalogue::bundled();
    let lint_args = super::lint::LintArgs {
        tool: args.tool.clone(),
        rows: args.rows.clone(),
        config: args.config.clone(),
        ..super::lint::LintArgs::for_paths(args.from.clone(), args.engine.clone())
    };
    let mut prepared = super::lint::prepare(&lint_args, &cat)?;
    prepared.opts.statements = true;
    let report = crate::lint::lint_files(&prepared.files, &prepared.opts, &cat);
    // The settings file may give the engine and row counts.
    raw.engine = prepared.engine_text.clone();
    raw.rows = prepared.opts.row_flags();
    let read = crate::planner::from_sql::intake_from(k, &report, raw, args.deploy.is_some())?;
    for note in &read.notes {
        eprintln!("rollsafe: {note}");
    }
    Ok(read.intake)
}

/// Writes the tool's files under `dir`. All paths are checked first, so a collision with
/// the project's history writes nothing.
fn write_files(dir: &std::path::Path, files: &[MigrationFile]) -> Result<(), String> {
    if files.is_empty() {
        eprintln!(
            "rollsafe: this tool's files are not generated yet; the plan shows each file's content"
        );
        return Ok(());
    }
    for f in files {
        let path = dir.join(&f.path);
        if path.exists() {
            return Err(format!(
                "{} exists already: pass --next-version with the number after your latest migration",
                path.display()
            ));
        }
    }
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &f.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("rollsafe: wrote {}", path.display());
    }
    Ok(())
}
