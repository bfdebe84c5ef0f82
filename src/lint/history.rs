//! Which files of a run are history (already applied: replayed as schema context only) and
//! which are new (linted): by version (`--since`), by a set of names (files changed against a
//! git base, or given one by one next to their folder). Pure: the caller asks git.

use std::collections::HashSet;
use std::path::Path;

use super::SourceFile;

/// The version of a migration file as numbers: the leading digits of its name (after a Flyway
/// `V`/`U`), or of its folder's name for Diesel's and Prisma's `<version>_name/up.sql`. Runs
/// of digits split by `.`, `_` or `-` are separate numbers: `V1_2__x.sql` → [1, 2],
/// `2019-12-13-123456_x/up.sql` → [2019, 12, 13, 123456]. `None`: no leading version.
pub fn version_of(path: &str) -> Option<Vec<u128>> {
    let p = Path::new(path);
    let name = p.file_name()?.to_string_lossy().to_ascii_lowercase();
    let own = matches!(name.as_str(), "up.sql" | "down.sql" | "migration.sql")
        .then(|| p.parent().and_then(|d| d.file_name()))
        .flatten()
        .map(|d| d.to_string_lossy().into_owned());
    version_text(own.as_deref().unwrap_or(&name))
}

/// Leading version of a name or of a `--since` argument.
pub fn version_text(text: &str) -> Option<Vec<u128>> {
    let t = text.trim();
    let t = t
        .strip_prefix(['V', 'v', 'U', 'u'])
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(t);
    let mut out = Vec::new();
    let mut rest = t;
    loop {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            break;
        }
        out.push(rest[..digits].parse().ok()?);
        rest = &rest[digits..];
        // A separator followed by more digits continues the version (`1_2__`, `2019-12-13`).
        match rest.strip_prefix(['.', '_', '-']) {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `--since VERSION`: files older than VERSION are history; VERSION and later (and files
/// without a version, to stay on the side of reporting) are new.
pub fn before_version(files: &[SourceFile], since: &str) -> Result<HashSet<String>, String> {
    let want = version_text(since).ok_or_else(|| {
        format!("--since {since}: not a version (e.g. 20240101120000, V12, 0042)")
    })?;
    let history: HashSet<String> = files
        .iter()
        .filter(|f| version_of(&f.name).is_some_and(|v| v < want))
        .map(|f| f.name.clone())
        .collect();
    if history.len() == files.len() {
        return Err(format!(
            "--since {since}: every file is older than that version, nothing would be linted"
        ));
    }
    Ok(history)
}

/// Every file that is not among `new` (compared as canonical paths when they exist) is history.
pub fn all_but(files: &[SourceFile], new: &[String]) -> HashSet<String> {
    let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| Path::new(p).to_path_buf());
    let new: HashSet<_> = new.iter().map(|p| canon(p)).collect();
    files
        .iter()
        .filter(|f| !new.contains(&canon(&f.name)))
        .map(|f| f.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::Direction;

    fn file(name: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: String::new(),
            direction: Direction::Up,
        }
    }

    #[test]
    fn versions_of_common_layouts() {
        assert_eq!(version_of("db/V1_2__add.sql"), Some(vec![1, 2]));
        assert_eq!(
            version_of("m/20240101120000_add.up.sql"),
            Some(vec![20240101120000])
        );
        assert_eq!(
            version_of("migrations/2019-12-13-123456_create/up.sql"),
            Some(vec![2019, 12, 13, 123456])
        );
        assert_eq!(version_of("m/0042_x.sql"), Some(vec![42]));
        // gobuffalo/pop (ory/kratos): 20 digits, more than a u64 holds.
        assert_eq!(
            version_of("sql/20210810153530000001_aal.postgres.up.sql"),
            Some(vec![20210810153530000001])
        );
        assert_eq!(version_of("m/R__views.sql"), None);
        assert_eq!(version_of("m/add_users.sql"), None);
    }

    #[test]
    fn since_splits_history_from_new() {
        let files: Vec<SourceFile> = ["m/001_a.sql", "m/002_b.sql", "m/010_c.sql", "m/R__v.sql"]
            .into_iter()
            .map(file)
            .collect();
        let h = before_version(&files, "2").unwrap();
        assert_eq!(h, HashSet::from(["m/001_a.sql".to_string()]));
        assert!(before_version(&files, "x").is_err());
        let all: Vec<SourceFile> = files.into_iter().take(2).collect();
        assert!(before_version(&all, "99").is_err());
    }

    #[test]
    fn all_but_the_new_ones() {
        let files: Vec<SourceFile> = ["m/1.sql", "m/2.sql"].into_iter().map(file).collect();
        assert_eq!(
            all_but(&files, &["m/2.sql".into()]),
            HashSet::from(["m/1.sql".to_string()])
        );
    }
}
