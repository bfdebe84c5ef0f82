//! Read-only schema of a live database, through the engine's own client: the same
//! schema-only dump the reader parses (`pg_dump --schema-only`, `sqlite3 .schema`), plus
//! row estimates from the catalog (`pg_class.reltuples`; SQLite has no estimate, so its
//! rows are counted). Nothing here writes.

use std::process::Command;

use super::schema::{Schema, from_dump};
use crate::lint::EngineKind;

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `postgres://…` URL or SQLite file path. MariaDB/MySQL live reads are not built yet:
/// refused with the dump to use instead.
pub fn from_live(source: &str) -> Result<(Schema, EngineKind), String> {
    if source.starts_with("postgres://") || source.starts_with("postgresql://") {
        let dump = run(Command::new("pg_dump").args(["--schema-only", "--no-owner", source]))?;
        let mut schema = from_dump(&dump, EngineKind::Postgres)?;
        let rows = run(Command::new("psql").args([
            source,
            "-X",
            "-A",
            "-t",
            "-F",
            "\t",
            "-c",
            // reltuples is -1 for a table never analysed: unknown, not zero.
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c WHERE c.relkind IN ('r','p') AND c.relnamespace = 'public'::regnamespace",
        ]))?;
        for line in rows.lines() {
            if let Some((t, n)) = line.split_once('\t')
                && let (Some(table), Ok(n)) = (schema.tables.get_mut(t), n.trim().parse::<i64>())
            {
                table.rows = u64::try_from(n).ok();
            }
        }
        Ok((schema, EngineKind::Postgres))
    } else if source.starts_with("mysql://") || source.starts_with("mariadb://") {
        Err("reading a live MariaDB/MySQL schema is not supported yet: pass a `mariadb-dump --no-data` file".into())
    } else {
        let dump = run(Command::new("sqlite3").args(["-readonly", source, ".schema"]))?;
        let mut schema = from_dump(&dump, EngineKind::Sqlite)?;
        let names: Vec<String> = schema.tables.keys().cloned().collect();
        for t in names {
            let q = format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\""));
            let n = run(Command::new("sqlite3").args(["-readonly", source, &q]))?;
            schema.tables.get_mut(&t).unwrap().rows = n.trim().parse().ok();
        }
        Ok((schema, EngineKind::Sqlite))
    }
}
