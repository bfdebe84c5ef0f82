//! Read-only schema of a live database, through the engine's own client: the same
//! schema-only dump the reader parses (`pg_dump --schema-only`, `sqlite3 .schema`), plus
//! row estimates from the catalog (`pg_class.reltuples`; SQLite has no estimate, so its
//! rows are counted; MariaDB/MySQL `information_schema.tables.table_rows`). Nothing here
//! writes.

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

/// `postgres://…`, `mysql://`/`mariadb://user:password@host:port/db` URL, or a SQLite
/// file path.
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
        mariadb(source)
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

/// `mysql://user:password@host:port/db` through `mariadb-dump --no-data`.
fn mariadb(url: &str) -> Result<(Schema, EngineKind), String> {
    let bad =
        || format!("cannot read {url:?}: expected mysql://user[:password]@host[:port]/database");
    let rest = url.split_once("://").ok_or_else(bad)?.1;
    let (auth, hostdb) = rest.rsplit_once('@').ok_or_else(bad)?;
    let (hostport, db) = hostdb.split_once('/').ok_or_else(bad)?;
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    if db.is_empty() || user.is_empty() {
        return Err(bad());
    }
    let conn = |c: &mut Command| {
        c.args(["-h", host, "-P", port, "-u", user]);
        // The password goes through the environment, not the process list.
        c.env("MYSQL_PWD", password);
    };
    let mut dump = Command::new("mariadb-dump");
    conn(&mut dump);
    dump.args(["--no-data", "--skip-comments", db]);
    let mut schema = from_dump(&run(&mut dump)?, EngineKind::Mariadb)?;
    let mut q = Command::new("mariadb");
    conn(&mut q);
    q.args([
        "-N",
        "-B",
        db,
        "-e",
        "SELECT table_name, table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    ]);
    for line in run(&mut q)?.lines() {
        if let Some((t, n)) = line.split_once('\t')
            && let Some(table) = schema.tables.get_mut(t)
        {
            table.rows = n.trim().parse().ok();
        }
    }
    Ok((schema, EngineKind::Mariadb))
}

/// Reads the schema `--schema-from` names for a plan on `engine` (an engine id of the
/// knowledge base): a `postgres://` or `mysql://`/`mariadb://` URL (read-only, live), a
/// SQLite database file (live), or a schema-only dump file of that engine. Returns the
/// schema and the source as the plan may print it (a URL without its password).
pub fn read(source: &str, engine: &str) -> Result<(Schema, String), String> {
    let kind = match engine {
        "postgres" => EngineKind::Postgres,
        "mysql" => EngineKind::Mysql,
        "mariadb" => EngineKind::Mariadb,
        "sqlite" => EngineKind::Sqlite,
        other => {
            return Err(format!(
                "--schema-from: rollsafe cannot read a {other} schema yet (PostgreSQL, MySQL, MariaDB and SQLite only)"
            ));
        }
    };
    let shown = without_password(source);
    let fail = |e: String| format!("--schema-from {shown}: {e}");
    if source.contains("://") {
        let (schema, got) = from_live(source).map_err(fail)?;
        let fits = got == kind || (got == EngineKind::Mariadb && kind == EngineKind::Mysql);
        if !fits {
            return Err(fail(format!(
                "this is a {} database, the plan is for {engine}",
                got.id()
            )));
        }
        return Ok((schema, shown));
    }
    let bytes = std::fs::read(source).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if bytes.starts_with(b"SQLite format 3\0") {
        if kind != EngineKind::Sqlite {
            return Err(fail(format!(
                "this is a SQLite database, the plan is for {engine}"
            )));
        }
        return Ok((from_live(source).map_err(fail)?.0, shown));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        fail("neither a SQLite database nor a schema-only dump (not UTF-8 text)".into())
    })?;
    Ok((from_dump(&text, kind).map_err(fail)?, shown))
}

/// `scheme://user:password@host/db` -> `scheme://user@host/db`; anything else unchanged.
pub fn without_password(source: &str) -> String {
    if let Some((scheme, rest)) = source.split_once("://")
        && let Some((auth, host)) = rest.rsplit_once('@')
        && let Some((user, _)) = auth.split_once(':')
    {
        return format!("{scheme}://{user}@{host}");
    }
    source.to_string()
}
