//! The database's own command-line client, started once and kept open on a
//! pipe: `psql` for PostgreSQL, `mariadb` (or `mysql`) for MySQL/MariaDB.
//!
//! Each sample writes the statement and then a marker line the client
//! echoes back with the statement's error flag; the sample's latency is
//! the time from the write to the marker. Output other than markers (rows
//! of a SELECT) is read and dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::playbook::model::{ProbeEngine, ProbeSpec};

const MARKER: &str = "__rollsafe_probe__";

/// Lines of the client's stderr kept for error messages.
const STDERR_LINES: usize = 8;

/// What came back for one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Done {
        ok: bool,
    },
    /// Nothing yet: the statement is still running (or waiting on a lock).
    Waiting,
    /// The client exited or closed its output.
    Gone,
}

pub struct Client {
    engine: ProbeEngine,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// An error line came for the sample under way (MySQL).
    failed: bool,
}

fn remember(kept: &Mutex<VecDeque<String>>, line: &str) {
    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() == STDERR_LINES {
        kept.pop_front();
    }
    kept.push_back(line.trim_end().to_string());
}

/// Sends every line to `tx`; lines `is_error` says are errors are also kept.
fn forward_lines(
    from: impl Read + Send + 'static,
    tx: mpsc::Sender<String>,
    kept: Arc<Mutex<VecDeque<String>>>,
    is_error: fn(&str) -> bool,
) {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if is_error(&line) {
                remember(&kept, &line);
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// Keeps the last lines of a stream (the client's stderr) for messages.
fn keep_lines(from: impl Read + Send + 'static, kept: Arc<Mutex<VecDeque<String>>>) {
    thread::spawn(move || {
        let mut text = String::new();
        let mut reader = BufReader::new(from);
        loop {
            text.clear();
            match reader.by_ref().take(64 * 1024).read_line(&mut text) {
                Ok(0) | Err(_) => break,
                Ok(_) => remember(&kept, &text),
            }
        }
    });
}

/// How the client is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// The program, arguments and environment for `spec`.
pub fn command_line(spec: &ProbeSpec) -> Result<Invocation, String> {
    match spec.engine {
        ProbeEngine::Postgres => Ok(Invocation {
            program: "psql".into(),
            // No psqlrc, quiet, unaligned tuples only, keep going after errors.
            args: [
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=0",
                "-d",
                &spec.url,
            ]
            .map(String::from)
            .to_vec(),
            env: vec![("PGAPPNAME".into(), "rollsafe-probe".into())],
        }),
        ProbeEngine::Mysql => {
            let url = MysqlUrl::parse(&spec.url)?;
            let mut args: Vec<String> = [
                "--batch",
                "--skip-column-names",
                // Flush after each statement, or the marker sits in a buffer.
                "--unbuffered",
                // Keep reading after a failed statement.
                "--force",
                "--protocol=TCP",
            ]
            .map(String::from)
            .to_vec();
            args.extend(["-h".into(), url.host, "-P".into(), url.port.to_string()]);
            if let Some(user) = url.user {
                args.extend(["-u".into(), user]);
            }
            if let Some(db) = url.database {
                args.extend(["-D".into(), db]);
            }
            // The password goes through the environment, not the argument list `ps` shows.
            let env = url
                .password
                .map(|p| vec![("MYSQL_PWD".into(), p)])
                .unwrap_or_default();
            Ok(Invocation {
                program: mysql_program(),
                args,
                env,
            })
        }
    }
}

/// `mariadb` where installed (MariaDB 11 drops the `mysql` name), else `mysql`.
fn mysql_program() -> String {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
    };
    if on_path("mariadb") {
        "mariadb".into()
    } else {
        "mysql".into()
    }
}

/// `mysql://user:password@host:port/database`, the parts the client takes as flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
}

impl MysqlUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or_else(|| {
                format!(
                    "probe url \"{url}\" must look like mysql://user:password@host:port/database"
                )
            })?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let (hostport, database) = match rest.split_once('/') {
            Some((h, d)) => (h, Some(d.split('?').next().unwrap_or(d))),
            None => (rest, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("probe url \"{url}\": bad port \"{p}\""))?,
            ),
            None => (hostport, 3306),
        };
        let (user, password) = match auth {
            None => (None, None),
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(a.to_string()), None),
            },
        };
        Ok(MysqlUrl {
            user: user.filter(|u| !u.is_empty()),
            password,
            host: if host.is_empty() { "127.0.0.1" } else { host }.to_string(),
            port,
            database: database.filter(|d| !d.is_empty()).map(String::from),
        })
    }
}

/// The session settings that bound every sample on the server, so a probe
/// waiting on a lock ends with an error instead of waiting forever.
fn setup_text(spec: &ProbeSpec) -> String {
    let ms = spec.timeout.as_millis().max(1);
    match spec.engine {
        ProbeEngine::Postgres => format!("SET statement_timeout = {ms};\n"),
        ProbeEngine::Mysql => {
            // Both are whole seconds; metadata locks (ALTER TABLE) wait on
            // lock_wait_timeout, row locks on innodb_lock_wait_timeout.
            let secs = spec.timeout.as_secs().max(1);
            format!(
                "SET SESSION lock_wait_timeout = {secs};\nSET SESSION innodb_lock_wait_timeout = {secs};\n"
            )
        }
    }
}

/// The statement with the client's own terminator, then the marker.
fn sample_text(engine: ProbeEngine, statement: &str, seq: u64) -> String {
    let statement = statement.trim().trim_end_matches(';').trim_end();
    match engine {
        // `\g /dev/null` sends the query buffer and drops any rows it returns;
        // `:ERROR` is psql's own flag for the last statement.
        ProbeEngine::Postgres => {
            format!("{statement}\n\\g /dev/null\n\\echo {MARKER} {seq} :ERROR\n")
        }
        // The client reports a failed statement only as an `ERROR ...` line
        // (@@error_count is not reset by a statement without a table), so
        // its stderr shares the stdout pipe: that line arrives before the marker.
        ProbeEngine::Mysql => format!("{statement};\n{}", marker_text(engine, seq)),
    }
}

fn marker_text(engine: ProbeEngine, seq: u64) -> String {
    match engine {
        ProbeEngine::Postgres => format!("\\echo {MARKER} {seq} :ERROR\n"),
        ProbeEngine::Mysql => format!("SELECT '{MARKER} {seq} ok';\n"),
    }
}

/// Whether a marker line reports success: psql's `:ERROR` is `false`; the
/// MySQL marker always says `ok` (its errors come as lines before it).
fn parse_marker(line: &str, seq: u64) -> Option<bool> {
    let rest = line.trim().strip_prefix(MARKER)?.trim_start();
    let (n, flag) = rest.split_once(' ')?;
    if n.parse::<u64>().ok()? != seq {
        return None;
    }
    Some(matches!(flag.trim(), "false" | "ok"))
}

/// An error line of the MySQL/MariaDB client: `ERROR 1205 (HY000) at line 9: ...`.
fn is_mysql_error(line: &str) -> bool {
    line.starts_with("ERROR ")
}

impl Client {
    /// Starts the client and waits up to `connect_timeout` for it to answer:
    /// a wrong URL or password fails here, before any step runs.
    pub fn connect(spec: &ProbeSpec, connect_timeout: Duration) -> Result<Self, String> {
        let Invocation { program, args, env } = command_line(spec)?;
        let cannot = |e: std::io::Error| format!("cannot start {program}: {e}");
        let mut command = Command::new(&program);
        command
            .args(&args)
            .envs(env)
            .stdin(Stdio::piped())
            // Its own process group: a Ctrl-C at the terminal is rollsafe's to
            // handle; the probe is stopped by `close`, in order.
            .process_group(0);
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, lines) = mpsc::channel();
        let mut child = match spec.engine {
            ProbeEngine::Postgres => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = command.spawn().map_err(cannot)?;
                let stdout = child.stdout.take().expect("piped");
                let stderr_pipe = child.stderr.take().expect("piped");
                forward_lines(stdout, tx, Arc::clone(&stderr), |_| false);
                keep_lines(stderr_pipe, Arc::clone(&stderr));
                child
            }
            ProbeEngine::Mysql => {
                let (reader, writer) = std::io::pipe().map_err(cannot)?;
                command
                    .stdout(writer.try_clone().map_err(cannot)?)
                    .stderr(writer);
                let child = command.spawn().map_err(cannot)?;
                // The command still holds the write ends: drop them, or the
                // reader never sees end of file when the client exits.
                drop(command);
                forward_lines(reader, tx, Arc::clone(&stderr), is_mysql_error);
                child
            }
        };
        let mut client = Client {
            engine: spec.engine,
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            failed: false,
        };
        let setup = format!("{}{}", setup_text(spec), marker_text(spec.engine, 0));
        let started = Instant::now();
        let fail = |client: &mut Client, why: &str| {
            let detail = client.last_error().unwrap_or_default();
            client.close(Duration::from_millis(200));
            Err(format!("{program} {why}: {detail}")
                .trim_end_matches(": ")
                .to_string())
        };
        if client.write(&setup).is_err() {
            return fail(&mut client, "exited at once");
        }
        loop {
            let left = connect_timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return fail(&mut client, "did not answer in time");
            }
            match client.wait(0, left.min(Duration::from_millis(100))) {
                Reply::Done { ok: true } => return Ok(client),
                Reply::Done { ok: false } => {
                    return fail(&mut client, "could not set up the probe session");
                }
                Reply::Gone => return fail(&mut client, "could not connect"),
                Reply::Waiting => {}
            }
        }
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("closed"))?;
        stdin.write_all(text.as_bytes())?;
        stdin.flush()
    }

    /// Sends one sample; its reply is read with [`Client::wait`].
    pub fn send(&mut self, statement: &str, seq: u64) -> std::io::Result<()> {
        let text = sample_text(self.engine, statement, seq);
        self.write(&text)
    }

    /// Waits at most `timeout` for the marker of sample `seq`.
    pub fn wait(&mut self, seq: u64, timeout: Duration) -> Reply {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(ok) = parse_marker(&line, seq) {
                        let failed = std::mem::take(&mut self.failed);
                        return Reply::Done { ok: ok && !failed };
                    }
                    if self.engine == ProbeEngine::Mysql && is_mysql_error(&line) {
                        self.failed = true;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Reply::Waiting,
                Err(RecvTimeoutError::Disconnected) => return Reply::Gone,
            }
        }
    }

    /// The client's last error line, e.g. `ERROR:  canceling statement due to statement timeout`.
    pub fn last_error(&self) -> Option<String> {
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().rev().find(|l| !l.trim().is_empty()).cloned()
    }

    /// Asks the running statement to stop: psql turns SIGINT into a cancel
    /// request to the server; the MySQL client into `KILL QUERY`.
    pub fn interrupt(&self) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }

    /// Ends the session: closes stdin (the client quits at end of input),
    /// waits up to `grace`, then kills it. Never blocks longer than `grace`.
    pub fn close(&mut self, grace: Duration) {
        self.stdin = None;
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if started.elapsed() >= grace => break,
                Ok(None) => thread::sleep(Duration::from_millis(10)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_match_their_own_sample_only() {
        assert_eq!(parse_marker("__rollsafe_probe__ 7 false", 7), Some(true));
        assert_eq!(parse_marker("__rollsafe_probe__ 7 true", 7), Some(false));
        assert_eq!(parse_marker("__rollsafe_probe__ 7 ok", 7), Some(true));
        assert_eq!(parse_marker("__rollsafe_probe__ 7 1", 7), Some(false));
        // A late marker of an earlier sample is not this one's reply.
        assert_eq!(parse_marker("__rollsafe_probe__ 6 false", 7), None);
        assert_eq!(parse_marker("1", 7), None);
    }

    #[test]
    fn samples_drop_a_trailing_semicolon_and_end_with_a_marker() {
        let text = sample_text(
            ProbeEngine::Postgres,
            " UPDATE t SET n = n + 1 WHERE id = 1; ",
            3,
        );
        assert_eq!(
            text,
            "UPDATE t SET n = n + 1 WHERE id = 1\n\\g /dev/null\n\\echo __rollsafe_probe__ 3 :ERROR\n"
        );
        let text = sample_text(
            ProbeEngine::Mysql,
            "UPDATE t SET n = n + 1 WHERE id = 1;",
            4,
        );
        assert_eq!(
            text,
            "UPDATE t SET n = n + 1 WHERE id = 1;\nSELECT '__rollsafe_probe__ 4 ok';\n"
        );
    }

    #[test]
    fn mysql_urls_become_client_flags() {
        let url = MysqlUrl::parse("mysql://root:s3cr@t@127.0.0.1:33069/app").unwrap();
        assert_eq!(url.user.as_deref(), Some("root"));
        assert_eq!(url.password.as_deref(), Some("s3cr@t"));
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 33069));
        assert_eq!(url.database.as_deref(), Some("app"));
        let bare = MysqlUrl::parse("mariadb://localhost").unwrap();
        assert_eq!((bare.port, bare.user, bare.database), (3306, None, None));
        assert!(MysqlUrl::parse("postgres://x").is_err());
        assert!(MysqlUrl::parse("mysql://h:port/db").is_err());
    }
}
