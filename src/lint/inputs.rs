//! Which files to lint, in which order: Flyway (`V1__x.sql`, `U1__x.sql`, `R__x.sql`),
//! golang-migrate / dbmate (`*.up.sql`, `*.down.sql`), Diesel (`<dir>/up.sql`, `down.sql`),
//! Prisma (`<dir>/migration.sql`), sqitch (`deploy/`, `revert/`, order from `sqitch.plan`) and
//! plain files sorted by name (numbers compared as numbers).

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As shown in findings.
    pub name: String,
    pub text: String,
    pub direction: Direction,
}

/// The files of one run, ordered, and the tool their layout suggests.
#[derive(Debug, Default)]
pub struct Collected {
    pub files: Vec<SourceFile>,
    /// (tool id, why) inferred from the layout, e.g. ("flyway", "V<version>__*.sql").
    pub inferred_tool: Option<(String, String)>,
    /// Files named on their own that a folder given too already holds: the new ones, the rest
    /// of the folder is history (read once, in the folder's order).
    pub named_in_folders: Vec<String>,
}

/// Reads the paths given on the command line (`-` is standard input).
pub fn collect(
    paths: &[String],
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Collected, String> {
    let mut out = Collected::default();
    let mut stdin = Some(stdin);
    // Canonical paths of files read from folders, and of files named on their own, to read
    // each once when both are given.
    let mut folder_files: std::collections::HashMap<PathBuf, String> = Default::default();
    let mut named: Vec<(PathBuf, String)> = Vec::new();
    for p in paths {
        if p == "-" {
            let read = stdin
                .take()
                .ok_or_else(|| "standard input (-) given twice".to_string())?;
            let text = read().map_err(|e| format!("cannot read standard input: {e}"))?;
            too_large("standard input", text.len() as u64)?;
            if out.inferred_tool.is_none() {
                out.inferred_tool = content_format(&text);
            }
            out.files.push(SourceFile {
                name: "<stdin>".into(),
                text,
                direction: Direction::Up,
            });
            continue;
        }
        let path = Path::new(p);
        if path.is_dir() {
            let mut sql = Vec::new();
            walk(path, &mut sql).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let (ordered, tool) = order(path, sql);
            if out.inferred_tool.is_none() {
                out.inferred_tool = tool;
            }
            for (file, direction) in ordered {
                // Named on its own before its folder: keep the folder's order, mark it new.
                let canon = (!named.is_empty())
                    .then(|| std::fs::canonicalize(&file).ok())
                    .flatten();
                if let Some(name) = canon.and_then(|c| named.iter().find(|(p, _)| *p == c))
                    && let Some(i) = out.files.iter().position(|f| f.name == name.1)
                {
                    let f = out.files.remove(i);
                    out.named_in_folders.push(f.name.clone());
                    out.files.push(f);
                    continue;
                }
                if let Ok(c) = std::fs::canonicalize(&file) {
                    folder_files.insert(c, file.display().to_string());
                }
                let f = read(&file, direction)?;
                if out.inferred_tool.is_none() {
                    out.inferred_tool = content_format(&f.text);
                }
                out.files.push(f);
            }
        } else if path.is_file() {
            let canon = std::fs::canonicalize(path).ok();
            if let Some(seen) = canon.as_ref().and_then(|c| folder_files.get(c)) {
                out.named_in_folders.push(seen.clone());
                continue;
            }
            if let Some(c) = canon {
                named.push((c, path.display().to_string()));
            }
            let direction = direction_of(path);
            let f = read(path, direction)?;
            if out.inferred_tool.is_none() {
                out.inferred_tool =
                    content_format(&f.text).or_else(|| layout_of(&[path.to_path_buf()]));
            }
            out.files.push(f);
        } else {
            return Err(format!("{p}: no such file or directory"));
        }
    }
    Ok(out)
}

/// The tool a file's own markers name (Liquibase header, dbmate sections).
fn content_format(text: &str) -> Option<(String, String)> {
    super::sections::format_of(text).map(|(t, why)| (t.to_string(), why.to_string()))
}

/// Largest file lint reads: a migration (even a 10,000-changeset Liquibase changelog, about
/// 1 MB) is far below it; anything larger is a dump or a mistake, refused rather than read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

fn too_large(name: &str, len: u64) -> Result<(), String> {
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: {:.1} MB is more than lint reads ({} MB): is it a database dump rather than a migration? Lint the migration files themselves",
            len as f64 / 1_048_576.0,
            MAX_FILE_BYTES / 1_048_576
        ));
    }
    Ok(())
}

fn read(path: &Path, direction: Direction) -> Result<SourceFile, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    too_large(&path.display().to_string(), len)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(SourceFile {
        name: path.display().to_string(),
        text,
        direction,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Flyway versioned (V) or undo (U) file: its version as numbers.
fn flyway_version(name: &str) -> Option<(char, Vec<u64>)> {
    let kind = name.chars().next()?;
    if !matches!(kind, 'V' | 'U' | 'v' | 'u') {
        return None;
    }
    let (version, _) = name[1..].split_once("__")?;
    let parts: Option<Vec<u64>> = version.split(['.', '_']).map(|p| p.parse().ok()).collect();
    parts
        .filter(|p| !p.is_empty())
        .map(|p| (kind.to_ascii_uppercase(), p))
}

fn direction_of(p: &Path) -> Direction {
    let name = file_name(p).to_ascii_lowercase();
    let in_revert = p
        .parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "revert");
    if name.ends_with(".down.sql")
        || name == "down.sql"
        || in_revert
        || flyway_version(&file_name(p)).is_some_and(|(k, _)| k == 'U')
    {
        Direction::Down
    } else {
        Direction::Up
    }
}

fn layout_of(files: &[PathBuf]) -> Option<(String, String)> {
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    let has = |f: &dyn Fn(&str) -> bool| names.iter().any(|n| f(n));
    if has(&|n| flyway_version(n).is_some()) {
        Some(("flyway".into(), "V<version>__*.sql file names".into()))
    } else if has(&|n| n == "migration.sql") {
        Some(("prisma".into(), "<dir>/migration.sql".into()))
    } else if has(&|n| n.ends_with(".up.sql") || n.ends_with(".down.sql")) {
        Some(("golang-migrate".into(), "*.up.sql / *.down.sql".into()))
    } else if has(&|n| n == "up.sql" || n == "down.sql") {
        Some(("diesel".into(), "<dir>/up.sql, down.sql".into()))
    } else if files.iter().any(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "deploy" || d == "revert")
    }) {
        Some(("sqitch".into(), "deploy/ and revert/".into()))
    } else {
        None
    }
}

/// Natural sort key: digit runs compare as numbers of any length (gobuffalo/pop's versions
/// have 20 digits, more than a u64 holds): by their length without leading zeros, then digit
/// by digit.
fn natural_key(s: &str) -> Vec<(u8, u64, String)> {
    let mut key = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            let n = rest[..digits].trim_start_matches('0');
            key.push((0, n.len() as u64, n.to_string()));
            rest = &rest[digits..];
        } else {
            let text = rest.len() - rest.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
            key.push((1, 0, rest[..text].to_string()));
            rest = &rest[text..];
        }
    }
    key
}

/// Files in run order, and the tool their layout suggests.
type Ordered = (Vec<(PathBuf, Direction)>, Option<(String, String)>);

/// Orders the files of a directory: forward files first in migration order, then the down /
/// undo / revert files in reverse order (the order a rollback runs them).
fn order(root: &Path, files: Vec<PathBuf>) -> Ordered {
    let tool = layout_of(&files);
    let sqitch_plan: Vec<String> = std::fs::read_to_string(root.join("sqitch.plan"))
        .map(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with('%')
                        && !l.starts_with('#')
                        && !l.starts_with('@')
                })
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let key = |p: &PathBuf| -> (u8, Vec<u64>, Vec<(u8, u64, String)>) {
        let name = file_name(p);
        if let Some((_, v)) = flyway_version(&name) {
            return (0, v, Vec::new());
        }
        // Flyway repeatables run after all versioned migrations.
        if name.starts_with("R__") {
            return (2, Vec::new(), natural_key(&name));
        }
        let stem = name.trim_end_matches(".sql").to_string();
        if let Some(pos) = sqitch_plan.iter().position(|c| *c == stem) {
            return (0, vec![pos as u64], Vec::new());
        }
        let rel = p
            .strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned();
        // Strip the direction so 1_x.up.sql and 1_x.down.sql sort together.
        let rel = rel
            .replace(".up.sql", ".sql")
            .replace(".down.sql", ".sql")
            .replace("/deploy/", "/")
            .replace("/revert/", "/");
        let rel = rel
            .strip_prefix("deploy/")
            .or_else(|| rel.strip_prefix("revert/"))
            .unwrap_or(&rel)
            .to_string();
        (1, Vec::new(), natural_key(&rel))
    };
    let mut up: Vec<PathBuf> = Vec::new();
    let mut down: Vec<PathBuf> = Vec::new();
    for f in files {
        match direction_of(&f) {
            Direction::Up => up.push(f),
            Direction::Down => down.push(f),
        }
    }
    up.sort_by_key(key);
    down.sort_by_key(key);
    down.reverse();
    let ordered = up
        .into_iter()
        .map(|p| (p, Direction::Up))
        .chain(down.into_iter().map(|p| (p, Direction::Down)))
        .collect();
    (ordered, tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_ceiling_are_refused_with_their_name_and_size() {
        assert!(too_large("a.sql", MAX_FILE_BYTES).is_ok());
        let err = too_large("dump.sql", MAX_FILE_BYTES + 1).unwrap_err();
        assert!(err.starts_with("dump.sql: 64.0 MB is more than"), "{err}");
        let err = collect(
            &["-".into()],
            || Ok("x".repeat(MAX_FILE_BYTES as usize + 1)),
        );
        assert!(err.unwrap_err().starts_with("standard input:"));
    }

    #[test]
    fn flyway_versions_compare_as_numbers() {
        assert_eq!(flyway_version("V10__b.sql"), Some(('V', vec![10])));
        assert_eq!(flyway_version("V1_2__b.sql"), Some(('V', vec![1, 2])));
        assert_eq!(flyway_version("R__views.sql"), None);
        assert!(natural_key("2_a.sql") < natural_key("10_a.sql"));
        assert!(natural_key("007_a.sql") < natural_key("10_a.sql"));
        // Longer than a u64: still in numeric order, not all equal.
        assert!(
            natural_key("20210810153530000000_aal.up.sql")
                < natural_key("20210810153530000001_aal.up.sql")
        );
        assert!(
            natural_key("9999999999999999999999_a.sql")
                < natural_key("10000000000000000000000_a.sql")
        );
    }
}
