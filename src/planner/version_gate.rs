//! The "production runs this version" check, as a query that compares versions
//! numerically and prints `ok` only inside the accepted range (and, on SQL Server, the
//! accepted edition). A regex such as `^14` on the version string passes 14.0-14.3 and
//! cannot express "14.4 or newer"; this can, and it fails on the wrong engine or edition.

use super::knowledge::{Engine, compare_versions};

/// A lower bound the plan's own statements need, with the reason and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    pub min: String,
    pub why: String,
    pub source: String,
}

/// Lower bounds the emitted statements impose beyond the engine version the intake names.
pub fn floors(engine: &Engine, version: &str, statements: &[String]) -> Vec<Floor> {
    let upper: Vec<String> = statements.iter().map(|s| s.to_ascii_uppercase()).collect();
    let any = |needle: &str| upper.iter().any(|s| s.contains(needle));
    let mut out = Vec::new();
    match engine.id.as_str() {
        "postgres" if any(" CONCURRENTLY ") && (version == "14" || version.starts_with("14.")) => {
            out.push(Floor {
                min: "14.4".into(),
                why: "CREATE INDEX CONCURRENTLY can silently corrupt indexes on 14.0-14.3".into(),
                source: "https://www.postgresql.org/docs/release/14.4/".into(),
            })
        }
        "mysql" if any(" CHECK (") => out.push(Floor {
            min: "8.0.16".into(),
            why: "before MySQL 8.0.16 a CHECK constraint is parsed and ignored".into(),
            source: "https://dev.mysql.com/doc/refman/8.0/en/create-table-check-constraints.html"
                .into(),
        }),
        "mysql" if any(" DROP COLUMN ") && any("ALGORITHM=INSTANT") => out.push(Floor {
            min: "8.0.29".into(),
            why: "ALGORITHM=INSTANT for DROP COLUMN arrives in MySQL 8.0.29".into(),
            source: "https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html"
                .into(),
        }),
        "sqlite" if any(" DROP COLUMN ") => out.push(Floor {
            min: "3.35.0".into(),
            why: "ALTER TABLE DROP COLUMN arrives in SQLite 3.35.0".into(),
            source: "https://www.sqlite.org/releaselog/3_35_0.html".into(),
        }),
        "sqlite" if any(" RENAME COLUMN ") => out.push(Floor {
            min: "3.25.0".into(),
            why: "ALTER TABLE RENAME COLUMN arrives in SQLite 3.25.0".into(),
            source: "https://www.sqlite.org/releaselog/3_25_0.html".into(),
        }),
        _ => {}
    }
    out
}

/// `major.minor.patch` as one number (`14.4` -> 140400, `10.11.6` -> 101106).
fn number(v: &str) -> u64 {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let a = parts.next().unwrap_or(0);
    let b = parts.next().unwrap_or(0);
    let c = parts.next().unwrap_or(0);
    a * 10_000 + b * 100 + c
}

/// The accepted range for the intake's version: "15" accepts 15.x, "8.0" 8.0.x,
/// "8.0.16" exactly that patch and later patches of 8.0; raised to the highest floor.
fn range(version: &str, floors: &[Floor]) -> (u64, u64) {
    let dots = version.matches('.').count();
    let lo = number(version);
    let hi = match dots {
        0 => lo + 9_999,
        1 => lo + 99,
        _ => lo - lo % 100 + 99,
    };
    let lo = floors
        .iter()
        .filter(|f| compare_versions(&f.min, version).is_gt())
        .map(|f| number(&f.min))
        .fold(lo, u64::max);
    (lo, hi)
}

/// SQL Server `SERVERPROPERTY('EngineEdition')`: 3 Enterprise/Developer/Evaluation,
/// 2 Standard/Web, 4 Express, 5 Azure SQL Database.
/// Source: https://learn.microsoft.com/en-us/sql/t-sql/functions/serverproperty-transact-sql
fn sqlserver_edition(edition: &str) -> u32 {
    match edition {
        "enterprise" | "developer" => 3,
        "standard" | "web" => 2,
        "express" => 4,
        _ => 5,
    }
}

/// SQL Server product name -> `ProductMajorVersion` (same source as above).
fn sqlserver_major(version: &str) -> u32 {
    match version {
        "2016" => 13,
        "2017" => 14,
        "2019" => 15,
        _ => 16,
    }
}

/// The query; it prints `ok` when the server is inside the range, else what it is.
pub fn query(engine: &Engine, version: &str, edition: Option<&str>, floors: &[Floor]) -> String {
    let (lo, hi) = range(version, floors);
    match engine.id.as_str() {
        "postgres" => format!(
            "SELECT CASE WHEN current_setting('server_version_num')::int / 10000 * 10000 + current_setting('server_version_num')::int % 10000 * 100 BETWEEN {lo} AND {hi} THEN 'ok' ELSE 'server is ' || current_setting('server_version') END"
        ),
        "mysql" | "mariadb" => {
            let v = "SUBSTRING_INDEX(VERSION(), '-', 1)";
            let num = format!(
                "CAST(SUBSTRING_INDEX({v}, '.', 1) AS UNSIGNED) * 10000 + CAST(SUBSTRING_INDEX(SUBSTRING_INDEX({v}, '.', 2), '.', -1) AS UNSIGNED) * 100 + CAST(SUBSTRING_INDEX({v}, '.', -1) AS UNSIGNED)"
            );
            let maria = if engine.id == "mariadb" { "" } else { "NOT " };
            format!(
                "SELECT CASE WHEN VERSION() {maria}LIKE '%MariaDB%' AND {num} BETWEEN {lo} AND {hi} THEN 'ok' ELSE CONCAT('server is ', VERSION()) END"
            )
        }
        "sqlite" => format!(
            "WITH a(r) AS (SELECT sqlite_version() || '.'), b(x, r) AS (SELECT CAST(substr(r, 1, instr(r, '.') - 1) AS INTEGER), substr(r, instr(r, '.') + 1) FROM a), c(x, y, r) AS (SELECT x, CAST(substr(r, 1, instr(r, '.') - 1) AS INTEGER), substr(r, instr(r, '.') + 1) FROM b), d(n) AS (SELECT x * 10000 + y * 100 + CAST(substr(r, 1, instr(r, '.') - 1) AS INTEGER) FROM c) SELECT CASE WHEN n BETWEEN {lo} AND {hi} THEN 'ok' ELSE 'server is ' || sqlite_version() END FROM d"
        ),
        _ => {
            let ed = sqlserver_edition(edition.unwrap_or("enterprise"));
            let major = sqlserver_major(version);
            format!(
                "SELECT CASE WHEN CAST(SERVERPROPERTY('ProductMajorVersion') AS int) = {major} AND CAST(SERVERPROPERTY('EngineEdition') AS int) = {ed} THEN 'ok' ELSE CONCAT('server is ', CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), ' ', CAST(SERVERPROPERTY('Edition') AS nvarchar(128))) END"
            )
        }
    }
}

/// Words for the step: the range it accepts and why it is narrower than the intake says.
pub fn describe(version: &str, floors: &[Floor]) -> String {
    let raised: Vec<String> = floors
        .iter()
        .filter(|f| compare_versions(&f.min, version).is_gt())
        .map(|f| format!("at least {}: {} ({})", f.min, f.why, f.source))
        .collect();
    if raised.is_empty() {
        String::new()
    } else {
        format!(
            "\n\nThis plan needs {}. The check compares the version numerically and fails below it.",
            raised.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compare_numerically() {
        assert_eq!(range("15", &[]), (150000, 159999));
        assert_eq!(range("8.0", &[]), (80000, 80099));
        assert_eq!(range("10.11", &[]), (101100, 101199));
        let f = Floor {
            min: "14.4".into(),
            why: String::new(),
            source: String::new(),
        };
        assert_eq!(range("14", std::slice::from_ref(&f)), (140400, 149999));
        // A floor below the intake's version does not lower it.
        assert_eq!(range("14.6", std::slice::from_ref(&f)), (140600, 140699));
        assert_eq!(number("3.45.1"), 34501);
    }
}
