//! Where a PostgreSQL drill log lives and how to log in to it, the way
//! `psql` users expect: the URL first, then the service file (`service=` in
//! the URL or `PGSERVICE`), then `PGPASSWORD`, then the password file
//! (`PGPASSFILE` or `~/.pgpass`). The password is never part of a label,
//! an error or a log line.
//!
//! libpq's rules, followed here: <https://www.postgresql.org/docs/current/libpq-pgservice.html>,
//! <https://www.postgresql.org/docs/current/libpq-pgpass.html>,
//! <https://www.postgresql.org/docs/current/libpq-envars.html>.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Config, Host};

/// Whether `--db` names a PostgreSQL log rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The environment the settings are read from, so tests can give their own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn home(&self) -> Option<PathBuf> {
        directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
    }
}

/// A parsed connection: the driver's settings and a label safe to show.
pub struct Target {
    pub config: Config,
    pub label: String,
}

/// Reads `url` (a `postgres://` URL) with the service file, `PGPASSWORD`
/// and the password file filling what it leaves out.
pub fn resolve(url: &str, env: &dyn Env) -> Result<Target, String> {
    let (mut url, service) = take_service(url);
    let entries = match service.or_else(|| env.var("PGSERVICE")) {
        Some(name) => read_service(&name, env)?,
        None => BTreeMap::new(),
    };
    // The driver fills a missing port with 5432 as it parses, so a service's
    // host and port go into the URL's text first.
    url = fill_authority(
        &url,
        entries.get("host").or(entries.get("hostaddr")),
        entries.get("port"),
    );
    let mut config = Config::from_str(&url).map_err(|e| {
        format!("not a PostgreSQL URL ({e}); the form is postgres://USER@HOST:PORT/DATABASE")
    })?;
    apply_service(&mut config, &entries)?;
    if config.get_user().is_none()
        && let Some(user) = env.var("PGUSER").or_else(|| env.var("USER"))
    {
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env
            .var("PGDATABASE")
            .or_else(|| config.get_user().map(String::from))
    {
        config.dbname(&db);
    }
    if config.get_hosts().is_empty() {
        config.host(&env.var("PGHOST").unwrap_or_else(|| "localhost".into()));
    }
    if config.get_password().is_none() {
        if let Some(password) = env.var("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = pgpass_lookup(&config, env) {
            config.password(password);
        }
    }
    if config.get_connect_timeout().is_none() {
        // A server that does not answer must not freeze the app at start.
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("rollsafe");
    }
    let label = label(&config);
    Ok(Target { config, label })
}

/// A URL as given, with the password (between `user:` and `@`) masked, for
/// showing before or without parsing it.
pub fn redact(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _password)) => format!(
                "{}{user}:***{}",
                &url[..scheme + 3],
                &url[scheme + 3 + at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// `postgres://user@host:port/db`, without the password.
pub fn label(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or("");
    let at = if user.is_empty() { "" } else { "@" };
    format!("postgres://{user}{at}{host}:{port}/{db}")
}

/// `url` with `host` put in where it names none, and `port` after a host
/// that has none: what the URL says wins, as in libpq.
fn fill_authority(url: &str, host: Option<&String>, port: Option<&String>) -> String {
    let Some(scheme) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let mut hostport = hostport.to_string();
    if hostport.is_empty()
        && let Some(host) = host
    {
        hostport = host.clone();
    }
    // An IPv6 host is bracketed; its port comes after the bracket.
    let after_host = hostport.rfind(']').map_or(0, |i| i + 1);
    if !hostport.is_empty()
        && !hostport[after_host..].contains(':')
        && let Some(port) = port
    {
        hostport = format!("{hostport}:{port}");
    }
    format!("{}{userinfo}{hostport}{}", &url[..scheme], &rest[end..])
}

/// Removes `service=NAME` from the URL's query (the driver does not know
/// it) and returns it.
fn take_service(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut service = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("service=") {
            Some(name) => {
                service = Some(name.to_string());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, service)
}

/// The entries of section `[name]` of the per-user service file
/// (`PGSERVICEFILE` or `~/.pg_service.conf`), else the system one
/// (`PGSYSCONFDIR/pg_service.conf`).
fn read_service(name: &str, env: &dyn Env) -> Result<BTreeMap<String, String>, String> {
    let mut files = Vec::new();
    match env.var("PGSERVICEFILE") {
        Some(f) => files.push(PathBuf::from(f)),
        None => files.extend(env.home().map(|h| h.join(".pg_service.conf"))),
    }
    if let Some(dir) = env.var("PGSYSCONFDIR") {
        files.push(Path::new(&dir).join("pg_service.conf"));
    }
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if let Some(entries) = service_section(&text, name) {
            return Ok(entries);
        }
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err(format!(
        "PostgreSQL service \"{name}\" is not defined (looked in {})",
        if looked.is_empty() {
            "no service file".to_string()
        } else {
            looked.join(", ")
        }
    ))
}

/// `key=value` lines of one `[section]` of a service file.
fn service_section(text: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let mut inside = false;
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == name;
            if inside {
                found.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            found
                .get_or_insert_with(BTreeMap::new)
                .insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    found
}

/// Service entries fill what the URL did not set (the URL wins, as in libpq).
fn apply_service(config: &mut Config, entries: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in entries {
        match key.as_str() {
            // host and port went into the URL (fill_authority).
            "dbname" if config.get_dbname().is_none() => {
                config.dbname(value);
            }
            "user" if config.get_user().is_none() => {
                config.user(value);
            }
            "password" if config.get_password().is_none() => {
                config.password(value.as_str());
            }
            "application_name" if config.get_application_name().is_none() => {
                config.application_name(value);
            }
            "connect_timeout" if config.get_connect_timeout().is_none() => {
                let secs: u64 = value.parse().map_err(|_| {
                    format!("service file: connect_timeout \"{value}\" is not a number")
                })?;
                config.connect_timeout(Duration::from_secs(secs));
            }
            "sslmode" => {
                let mode = match value.as_str() {
                    "disable" => postgres::config::SslMode::Disable,
                    "prefer" | "allow" => postgres::config::SslMode::Prefer,
                    _ => postgres::config::SslMode::Require,
                };
                config.ssl_mode(mode);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The password for this connection from the password file, which libpq
/// ignores unless only its owner can read it.
fn pgpass_lookup(config: &Config, env: &dyn Env) -> Option<String> {
    let file = env
        .var("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env.home().map(|h| h.join(".pgpass")))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "rollsafe: note: {} is ignored: it must be readable by its owner only (chmod 600)",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // A socket directory matches "localhost", as in libpq.
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or("");
    let user = config.get_user().unwrap_or("");
    pgpass_match(&text, [&host, &port, db, user])
}

/// The first line of a password file whose four fields match (`*` matches
/// anything; `\:` and `\\` are escapes).
fn pgpass_match(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_escaped(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = want.iter().zip(&fields).all(|(w, f)| f == "*" || f == w);
        if matches {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_escaped(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeEnv {
        vars: BTreeMap<&'static str, String>,
        home: Option<PathBuf>,
    }

    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            self.home.clone()
        }
    }

    fn env(vars: &[(&'static str, &str)], home: Option<&Path>) -> FakeEnv {
        FakeEnv {
            vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            home: home.map(Path::to_path_buf),
        }
    }

    #[test]
    fn the_label_never_holds_the_password() {
        let t = resolve(
            "postgres://ana:s3cret@db.example:6543/drills",
            &env(&[], None),
        )
        .unwrap();
        assert_eq!(t.label, "postgres://ana@db.example:6543/drills");
        assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
    }

    #[test]
    fn pgpassword_fills_a_missing_password_but_never_overrides_the_urls() {
        let e = env(&[("PGPASSWORD", "fromenv")], None);
        let t = resolve("postgres://ana@h/db", &e).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"fromenv"[..]));
        let t = resolve("postgres://ana:url@h/db", &e).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"url"[..]));
    }

    #[test]
    fn the_password_file_is_matched_field_by_field_and_ignored_when_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:db:ana:wrong\nh:5432:*:ana:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = env(&[], Some(dir.path()));
        let t = resolve("postgres://ana@h/db", &e).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"pa:ss"[..]));
        let t = resolve("postgres://bob@h:7000/x", &e).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"fallback"[..]));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let t = resolve("postgres://ana@h/db", &e).unwrap();
        assert_eq!(t.config.get_password(), None);
    }

    #[test]
    fn a_service_fills_what_the_url_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".pg_service.conf"),
            "[other]\nhost=nope\n[drills]\nhost=db.internal\nport=6000\ndbname=rollsafe\nuser=svc\n",
        )
        .unwrap();
        let e = env(&[], Some(dir.path()));
        let t = resolve("postgres://?service=drills", &e).unwrap();
        assert_eq!(t.label, "postgres://svc@db.internal:6000/rollsafe");
        let e = env(&[("PGSERVICE", "drills")], Some(dir.path()));
        let t = resolve("postgres://ana@localhost/mine", &e).unwrap();
        assert_eq!(t.label, "postgres://ana@localhost:6000/mine");
        let err = resolve("postgres://?service=missing", &e).err().unwrap();
        assert!(err.contains("\"missing\" is not defined"), "{err}");
    }

    #[test]
    fn redact_masks_only_the_password() {
        assert_eq!(
            redact("postgres://ana:p@ss@h:5432/db?sslmode=require"),
            "postgres://ana:***@h:5432/db?sslmode=require"
        );
        assert_eq!(redact("postgres://ana@h/db"), "postgres://ana@h/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
    }

    #[test]
    fn a_malformed_url_says_the_form() {
        let err = resolve("postgres://a@h:notaport/db", &env(&[], None))
            .err()
            .unwrap();
        assert!(err.contains("postgres://USER@HOST:PORT/DATABASE"), "{err}");
    }
}
