//! Running a step's shell command without freezing the UI.
//!
//! [`Running::spawn`] starts `sh -c COMMAND` in its own process group with
//! stdout and stderr piped; two reader threads forward what they read over a
//! channel, and [`Running::poll`] drains it without ever blocking. The TUI
//! calls `poll` from its event loop (every ~50 ms) until it sees
//! [`ExecEvent::Exited`].
//!
//! Process-group rules:
//! - [`Running::cancel`] sends SIGTERM to the whole group (so `a | b` dies as
//!   one), and `poll` escalates to SIGKILL [`KILL_AFTER`] later if the
//!   command has not finished by then.
//! - A background process that still holds the command's output open
//!   [`STRAGGLER_GRACE`] after the shell exited is killed with the group:
//!   otherwise the command would never end. Detach daemons on purpose
//!   (`nohup srv >/dev/null 2>&1 &`).
//! - Dropping a [`Running`] that has not finished kills the group and reaps
//!   the shell.
//!
//! The shell is detected as exited with `waitid(WNOWAIT)` and reaped only at
//! the end, so its pid (which is the group id) cannot be reused while this
//! module may still signal the group.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use regex::RegexBuilder;

use crate::drill::event::{OUTPUT_CAP_BYTES, cap_output};
use crate::playbook::model::Expectation;

/// How long after SIGTERM a cancelled command gets before SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(2);

/// How long after the shell exits its output may stay open (held by a
/// background process) before the group is killed.
pub const STRAGGLER_GRACE: Duration = Duration::from_millis(500);

/// A partial line (no newline yet) is shown once it has waited this long.
const PARTIAL_LINE_DELAY: Duration = Duration::from_millis(100);

/// Output kept in memory by [`Running::output`].
const RETAINED_BYTES: usize = 4 * OUTPUT_CAP_BYTES;

/// What [`Running::poll`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    /// Text from stdout or stderr, in arrival order, usually whole lines.
    Output(String),
    /// The command ended; always the last event, delivered once.
    Exited(ExitReport),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// `None` when the shell was killed by a signal.
    pub exit_code: Option<i32>,
    /// From spawn until the shell exited.
    pub duration: Duration,
    /// [`Running::cancel`] was called before the command finished.
    pub cancelled: bool,
    /// The signal that killed the shell, if one did.
    pub signal: Option<i32>,
}

impl ExitReport {
    fn from_status(status: ExitStatus, duration: Duration, cancelled: bool) -> Self {
        Self {
            exit_code: status.code(),
            duration,
            cancelled,
            signal: status.signal(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout = 0,
    Stderr = 1,
}

enum Msg {
    Data(Stream, Vec<u8>),
    Eof(Stream),
}

/// Bytes of one stream not yet turned into an [`ExecEvent::Output`].
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    since: Option<Instant>,
    eof: bool,
}

/// A command started by [`Running::spawn`].
pub struct Running {
    child: Child,
    /// The shell's pid, which is also the process group id.
    pgid: libc::pid_t,
    rx: Receiver<Msg>,
    pending: [Pending; 2],
    output: String,
    /// Byte ranges of `output` that came from stderr, in order: how the
    /// runner marks those lines. Kept in step with `output`'s trimming.
    stderr_spans: std::collections::VecDeque<(usize, usize)>,
    started: Instant,
    /// When the shell was seen to exit (not yet reaped).
    exited_at: Option<Instant>,
    /// The group was sent SIGKILL at this time (cancel escalation, or
    /// background processes holding the output after the shell exited).
    stragglers_killed_at: Option<Instant>,
    cancelled: bool,
    /// When a cancelled command gets SIGKILL.
    kill_at: Option<Instant>,
    finished: bool,
}

impl Running {
    /// Starts `sh -c command` with `env` added to the inherited environment,
    /// stdin from /dev/null and stdout/stderr streamed.
    pub fn spawn(command: &str, env: &[(String, String)]) -> std::io::Result<Running> {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(command)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        die_with_parent(&mut shell);
        let mut child = shell.spawn()?;
        let pgid = child.id() as libc::pid_t;
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let spawned = spawn_reader(stdout, Stream::Stdout, tx.clone())
            .and_then(|()| spawn_reader(stderr, Stream::Stderr, tx));
        if let Err(e) = spawned {
            kill_group(pgid, libc::SIGKILL);
            let _ = child.wait();
            return Err(e);
        }
        Ok(Running {
            child,
            pgid,
            rx,
            pending: Default::default(),
            output: String::new(),
            stderr_spans: Default::default(),
            started: Instant::now(),
            exited_at: None,
            stragglers_killed_at: None,
            cancelled: false,
            kill_at: None,
            finished: false,
        })
    }

    /// Everything that arrived since the last call; never blocks. After
    /// [`ExecEvent::Exited`] has been returned, returns nothing.
    pub fn poll(&mut self) -> Vec<ExecEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        let now = Instant::now();
        self.drain_channel(now);
        self.flush(now, false, &mut events);

        if self.exited_at.is_none() && self.shell_has_exited() {
            self.exited_at = Some(now);
        }
        if let Some(kill_at) = self.kill_at
            && self.stragglers_killed_at.is_none()
            && now >= kill_at
        {
            // Cancelled and still not done after KILL_AFTER.
            kill_group(self.pgid, libc::SIGKILL);
            self.stragglers_killed_at = Some(now);
        }

        if let Some(exited_at) = self.exited_at {
            let streams_closed = self.pending.iter().all(|p| p.eof);
            if !streams_closed
                && !self.cancelled
                && self.stragglers_killed_at.is_none()
                && now.duration_since(exited_at) >= STRAGGLER_GRACE
            {
                // Background processes hold the output open: kill them.
                kill_group(self.pgid, libc::SIGKILL);
                self.stragglers_killed_at = Some(now);
            }
            let give_up = self
                .stragglers_killed_at
                .is_some_and(|t| now.duration_since(t) >= STRAGGLER_GRACE);
            if streams_closed || give_up {
                self.finish(exited_at, &mut events);
            }
        }
        events
    }

    /// Asks the command to stop: SIGTERM to its process group now, SIGKILL
    /// from [`Running::poll`] after [`KILL_AFTER`]. Returns at once.
    /// The command's process group id, as logged so a later run can find it.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    pub fn cancel(&mut self) {
        if self.finished || self.cancelled {
            return;
        }
        self.cancelled = true;
        self.kill_at = Some(Instant::now() + KILL_AFTER);
        kill_group(self.pgid, libc::SIGTERM);
    }

    /// Whether [`ExecEvent::Exited`] has been delivered.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Output received so far (stdout and stderr interleaved), at most the
    /// last `4 * OUTPUT_CAP_BYTES` bytes.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The retained output as lines, each with whether any of it came from
    /// stderr (the streams interleave in arrival order).
    pub fn output_lines(&self) -> Vec<(&str, bool)> {
        let mut spans = self.stderr_spans.iter().peekable();
        let mut at = 0;
        self.output
            .split_inclusive('\n')
            .map(|line| {
                let (from, to) = (at, at + line.len());
                at = to;
                while spans.next_if(|(_, end)| *end <= from).is_some() {}
                let err = spans.peek().is_some_and(|(start, _)| *start < to);
                (line.trim_end_matches(['\n', '\r']), err)
            })
            .collect()
    }

    fn drain_channel(&mut self, now: Instant) {
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Data(stream, bytes)) => {
                    let p = &mut self.pending[stream as usize];
                    if p.bytes.is_empty() {
                        p.since = Some(now);
                    }
                    p.bytes.extend_from_slice(&bytes);
                }
                Ok(Msg::Eof(stream)) => self.pending[stream as usize].eof = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    for p in &mut self.pending {
                        p.eof = true;
                    }
                    break;
                }
            }
        }
    }

    /// Turns pending bytes into events: whole lines at once, a partial line
    /// after [`PARTIAL_LINE_DELAY`], at end of stream, or when `all`.
    fn flush(&mut self, now: Instant, all: bool, events: &mut Vec<ExecEvent>) {
        for i in 0..self.pending.len() {
            let p = &mut self.pending[i];
            if p.bytes.is_empty() {
                continue;
            }
            let partial_due = all
                || p.eof
                || p.since
                    .is_some_and(|t| now.duration_since(t) >= PARTIAL_LINE_DELAY);
            let cut = if partial_due {
                let keep = if all || p.eof {
                    0
                } else {
                    incomplete_utf8_tail(&p.bytes)
                };
                p.bytes.len() - keep
            } else {
                match p.bytes.iter().rposition(|&b| b == b'\n') {
                    Some(nl) => nl + 1,
                    None => 0,
                }
            };
            if cut == 0 {
                continue;
            }
            let rest = p.bytes.split_off(cut);
            let text = String::from_utf8_lossy(&p.bytes).into_owned();
            p.bytes = rest;
            p.since = if p.bytes.is_empty() { None } else { Some(now) };
            self.retain(&text, i == Stream::Stderr as usize);
            events.push(ExecEvent::Output(text));
        }
    }

    fn retain(&mut self, text: &str, from_stderr: bool) {
        let at = self.output.len();
        self.output.push_str(text);
        if from_stderr {
            match self.stderr_spans.back_mut() {
                Some((_, end)) if *end == at => *end = self.output.len(),
                _ => self.stderr_spans.push_back((at, self.output.len())),
            }
        }
        if self.output.len() > RETAINED_BYTES {
            // Drop down to 3/4 of the limit so trimming is amortised.
            let mut start = self.output.len() - RETAINED_BYTES * 3 / 4;
            while !self.output.is_char_boundary(start) {
                start += 1;
            }
            self.output.drain(..start);
            self.stderr_spans.retain_mut(|(from, to)| {
                *from = from.saturating_sub(start);
                *to = to.saturating_sub(start);
                to > from
            });
        }
    }

    /// Non-reaping check: the zombie keeps the pid (and so the group id)
    /// reserved until [`Running::finish`] reaps it.
    fn shell_has_exited(&mut self) -> bool {
        // SAFETY: waitid only writes into `info`, which is zeroed and owned.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.pgid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            if rc != 0 {
                // ECHILD: already reaped, which only `finish` does.
                return true;
            }
            info.si_pid() != 0
        }
    }

    fn finish(&mut self, exited_at: Instant, events: &mut Vec<ExecEvent>) {
        let now = Instant::now();
        self.drain_channel(now);
        self.flush(now, true, events);
        if self.cancelled {
            // Whatever ignored SIGTERM and is still in the group goes now.
            kill_group(self.pgid, libc::SIGKILL);
        }
        let status = self.child.wait();
        let duration = exited_at.duration_since(self.started);
        let report = match status {
            Ok(status) => ExitReport::from_status(status, duration, self.cancelled),
            Err(_) => ExitReport {
                exit_code: None,
                duration,
                cancelled: self.cancelled,
                signal: None,
            },
        };
        self.finished = true;
        events.push(ExecEvent::Exited(report));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            // The shell is not reaped yet, so the group id is still ours.
            kill_group(self.pgid, libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("pgid", &self.pgid)
            .field("cancelled", &self.cancelled)
            .field("finished", &self.finished)
            .field("output_bytes", &self.output.len())
            .finish_non_exhaustive()
    }
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: Sender<Msg>,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name(format!("rollsafe-exec-{stream:?}").to_lowercase())
        .spawn(move || {
            let mut buf = vec![0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Msg::Data(stream, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            let _ = tx.send(Msg::Eof(stream));
        })
        .map(drop)
}

/// On Linux the shell gets SIGTERM when rollsafe dies (even by `kill -9`),
/// so a killed runner does not leave the step's command running. The signal
/// survives `exec`, so a command the shell execs directly (`sh -c 'psql ...'`)
/// gets it too; children a compound command forks do not, and are reported on
/// resume instead. The signal is sent when the spawning thread exits, which is
/// fine: commands are spawned from the long-lived main thread.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between
    // fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // rollsafe may have died between fork and prctl: then nothing
            // would ever send the signal, so stop here.
            if libc::getppid() != parent {
                libc::_exit(129);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// A process group left behind by an earlier run of rollsafe, as far as
/// the system can tell now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// No process is in that group any more.
    Gone,
    /// Some process is in that group: its leader's command line, if readable.
    /// The id may have been reused after a reboot, so it is shown to the
    /// operator, who decides.
    Alive { cmdline: Option<String> },
}

/// Whether any process is in process group `pgid`.
pub fn leftover(pgid: i32) -> Leftover {
    if pgid <= 1 {
        return Leftover::Gone;
    }
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    let rc = unsafe { libc::kill(-pgid, 0) };
    let alive = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return Leftover::Gone;
    }
    match group_member(pgid) {
        Some(pid) => Leftover::Alive {
            cmdline: cmdline_of(pid),
        },
        // Only zombies left: nothing runs.
        None if std::path::Path::new("/proc/self/stat").exists() => Leftover::Gone,
        None => Leftover::Alive { cmdline: None },
    }
}

/// A live process in group `pgid`: the leader if it is still there (the
/// shell may be gone while the commands it forked run on).
fn group_member(pgid: i32) -> Option<i32> {
    let in_group = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parens.
        let after = &stat[stat.rfind(')')? + 1..];
        let mut fields = after.split_whitespace();
        let state = fields.next()?;
        let pgrp: i32 = fields.nth(1)?.parse().ok()?;
        Some(pgrp == pgid && state != "Z")
    };
    if in_group(pgid) == Some(true) {
        return Some(pgid);
    }
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| in_group(*pid) == Some(true))
}

fn cmdline_of(pid: i32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
}

/// Stops a leftover process group: SIGTERM, then SIGKILL after `grace` if
/// any member is still there. Returns whether the group is gone.
pub fn stop_leftover(pgid: i32, grace: Duration) -> bool {
    kill_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if leftover(pgid) == Leftover::Gone {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_group(pgid, libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(100));
    leftover(pgid) == Leftover::Gone
}

fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: plain syscall; a negative pid addresses the process group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Length of an unfinished UTF-8 sequence at the end of `bytes` (0..=3), to
/// hold back until the rest arrives.
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(3) {
        let b = bytes[n - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // continuation byte: look further back
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { back } else { 0 };
    }
    0
}

/// Runs `command` to completion, blocking. With `timeout`, the command is
/// cancelled (SIGTERM, then SIGKILL) when it runs longer. Returns the exit
/// report, the output capped with [`cap_output`] and whether it was truncated.
pub fn run_to_end(
    command: &str,
    env: &[(String, String)],
    timeout: Option<Duration>,
) -> std::io::Result<(ExitReport, String, bool)> {
    let mut running = Running::spawn(command, env)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut total_bytes = 0usize;
    loop {
        for event in running.poll() {
            match event {
                ExecEvent::Output(text) => total_bytes += text.len(),
                ExecEvent::Exited(report) => {
                    let (output, truncated) = cap_output(running.output());
                    return Ok((report, output, truncated || total_bytes > OUTPUT_CAP_BYTES));
                }
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            running.cancel();
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a command's result satisfies `expect`: every field that is set
/// must hold; with none set, exit code 0 is required. The error is a one-line
/// reason, all failures joined with "; ".
pub fn check_expectation(
    expect: &Expectation,
    exit_code: Option<i32>,
    output: &str,
) -> Result<(), String> {
    let mut failures = Vec::new();
    let wanted_exit = match expect.exit_code {
        Some(code) => Some(code),
        None if expect.contains.is_none() && expect.regex.is_none() => Some(0),
        None => None,
    };
    if let Some(wanted) = wanted_exit
        && exit_code != Some(wanted)
    {
        failures.push(match exit_code {
            Some(code) => format!("exit {code}, expected {wanted}"),
            None => format!("no exit code (killed by a signal), expected {wanted}"),
        });
    }
    if let Some(text) = &expect.contains
        && !output.contains(text.as_str())
    {
        failures.push(format!("output does not contain \"{text}\""));
    }
    if let Some(pattern) = &expect.regex {
        match RegexBuilder::new(pattern)
            .multi_line(true)
            .crlf(true)
            .build()
        {
            Ok(re) => {
                if !re.is_match(output.trim_end()) {
                    failures.push(format!("output does not match /{pattern}/"));
                }
            }
            Err(e) => {
                let text = e.to_string();
                let reason = text.lines().last().unwrap_or("").trim();
                let reason = reason.strip_prefix("error: ").unwrap_or(reason);
                failures.push(format!("invalid regex /{pattern}/: {reason}"));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    /// Polls like the TUI does until Exited, with a safety limit.
    fn drive(running: &mut Running, limit: Duration) -> (Vec<String>, ExitReport) {
        let end = Instant::now() + limit;
        let mut chunks = Vec::new();
        loop {
            for event in running.poll() {
                match event {
                    ExecEvent::Output(text) => chunks.push(text),
                    ExecEvent::Exited(report) => {
                        assert!(running.poll().is_empty(), "nothing after Exited");
                        return (chunks, report);
                    }
                }
            }
            assert!(
                Instant::now() < end,
                "command did not finish within {limit:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Live (non-zombie) members of a process group, from /proc.
    fn live_group_members(pgid: libc::pid_t) -> Vec<i32> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Fields after the parenthesised command name: state ppid pgrp ...
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                continue;
            };
            let fields: Vec<&str> = after.split_whitespace().collect();
            if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
                found.push(pid);
            }
        }
        found
    }

    fn assert_group_gone(pgid: libc::pid_t) {
        // SAFETY: signal 0 only checks for existence.
        let rc = unsafe { libc::kill(pgid, 0) };
        assert_eq!(rc, -1, "shell {pgid} still exists");
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ESRCH)
        );
        let end = Instant::now() + Duration::from_secs(1);
        loop {
            let live = live_group_members(pgid);
            if live.is_empty() {
                return;
            }
            assert!(Instant::now() < end, "group {pgid} survivors: {live:?}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn exit_codes_zero_and_three() {
        let (report, output, truncated) = run_to_end("echo ok", &no_env(), None).unwrap();
        assert_eq!(report.exit_code, Some(0));
        assert_eq!(report.signal, None);
        assert!(!report.cancelled);
        assert_eq!(output, "ok\n");
        assert!(!truncated);

        let (report, _, _) = run_to_end("exit 3", &no_env(), None).unwrap();
        assert_eq!(report.exit_code, Some(3));
    }

    #[test]
    fn stderr_is_captured_and_env_is_passed() {
        let env = vec![("ROLLSAFE_T".to_string(), "v1".to_string())];
        let (report, output, _) =
            run_to_end("echo out; echo \"err $ROLLSAFE_T\" >&2; exit 1", &env, None).unwrap();
        assert_eq!(report.exit_code, Some(1));
        assert!(output.contains("out\n"), "{output:?}");
        assert!(output.contains("err v1\n"), "{output:?}");
    }

    #[test]
    fn output_lines_say_which_came_from_stderr() {
        // Sleeps keep the two streams' lines in a known order.
        let cmd = "echo out1; sleep 0.15; echo err1 >&2; sleep 0.15; echo out2";
        let mut running = Running::spawn(cmd, &no_env()).unwrap();
        let (_, report) = drive(&mut running, Duration::from_secs(3));
        assert_eq!(report.exit_code, Some(0));
        assert_eq!(
            running.output_lines(),
            vec![("out1", false), ("err1", true), ("out2", false)]
        );
    }

    #[test]
    fn stderr_marks_survive_trimming_the_retained_output() {
        let mut running = Running::spawn("true", &no_env()).unwrap();
        let line = "e".repeat(99) + "\n";
        for _ in 0..(RETAINED_BYTES / 100 + 10) {
            running.retain(&line, true);
        }
        running.retain("last\n", false);
        let lines = running.output_lines();
        assert!(lines.len() > 10);
        let (tail, head) = lines.split_last().unwrap();
        assert_eq!(*tail, ("last", false));
        assert!(
            head.iter().all(|(_, err)| *err),
            "every kept stderr line stays marked"
        );
        drive(&mut running, Duration::from_secs(3));
    }

    #[test]
    fn output_streams_before_exit() {
        let mut running = Running::spawn("echo a; sleep 0.3; echo b", &no_env()).unwrap();
        thread::sleep(Duration::from_millis(100));
        let mut first = running.poll();
        // Tolerate a slow machine: "a" may take longer than 100 ms to arrive.
        let end = Instant::now() + Duration::from_millis(250);
        while first.is_empty() && Instant::now() < end {
            thread::sleep(Duration::from_millis(10));
            first = running.poll();
        }
        assert_eq!(first, vec![ExecEvent::Output("a\n".into())]);
        assert!(!running.is_finished());
        let (rest, report) = drive(&mut running, Duration::from_secs(3));
        assert_eq!(rest.concat(), "b\n");
        assert_eq!(report.exit_code, Some(0));
        assert!(report.duration >= Duration::from_millis(250), "{report:?}");
        assert!(running.is_finished());
        assert_eq!(running.output(), "a\nb\n");
    }

    #[test]
    fn partial_line_and_split_utf8_are_delivered_whole() {
        // "é" is written one byte at a time, then a prompt without newline.
        let cmd = r"printf 'x\303'; sleep 0.05; printf '\251 done'; sleep 0.3";
        let mut running = Running::spawn(cmd, &no_env()).unwrap();
        let end = Instant::now() + Duration::from_secs(3);
        let mut seen = String::new();
        while !seen.contains("done") {
            for event in running.poll() {
                if let ExecEvent::Output(text) = event {
                    seen.push_str(&text);
                }
            }
            assert!(Instant::now() < end, "partial line never shown: {seen:?}");
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!running.is_finished(), "shown before the command ended");
        assert_eq!(seen, "xé done");
        let (_, report) = drive(&mut running, Duration::from_secs(3));
        assert_eq!(report.exit_code, Some(0));
    }

    fn cancel_and_check(command: &str) {
        let mut running = Running::spawn(command, &no_env()).unwrap();
        let pgid = running.pgid;
        thread::sleep(Duration::from_millis(50));
        assert!(running.poll().is_empty());
        let t0 = Instant::now();
        running.cancel();
        assert!(t0.elapsed() < Duration::from_millis(100), "cancel blocked");
        let (_, report) = drive(&mut running, Duration::from_secs(3));
        assert!(report.cancelled);
        assert_eq!(report.exit_code, None, "{report:?}");
        assert_eq!(report.signal, Some(libc::SIGTERM));
        assert!(t0.elapsed() < Duration::from_secs(3));
        assert_group_gone(pgid);
    }

    #[test]
    fn cancel_stops_a_sleep() {
        cancel_and_check("sleep 30");
    }

    #[test]
    fn cancel_stops_a_whole_pipeline() {
        cancel_and_check("sleep 30 | cat");
    }

    #[test]
    fn cancel_escalates_to_sigkill() {
        let mut running = Running::spawn("trap '' TERM; sleep 30", &no_env()).unwrap();
        let pgid = running.pgid;
        thread::sleep(Duration::from_millis(50));
        running.cancel();
        // Shorten the wait instead of sleeping 2 s in a test.
        running.kill_at = Some(Instant::now() + Duration::from_millis(100));
        let (_, report) = drive(&mut running, Duration::from_secs(3));
        assert!(report.cancelled);
        assert_eq!(report.signal, Some(libc::SIGKILL), "{report:?}");
        assert_group_gone(pgid);
    }

    #[test]
    fn background_process_holding_output_does_not_hang() {
        let t0 = Instant::now();
        let mut running = Running::spawn("echo x; sleep 30 &", &no_env()).unwrap();
        let pgid = running.pgid;
        let (chunks, report) = drive(&mut running, Duration::from_secs(3));
        assert_eq!(chunks.concat(), "x\n");
        assert_eq!(report.exit_code, Some(0));
        assert!(!report.cancelled);
        assert!(t0.elapsed() < Duration::from_secs(2));
        assert_group_gone(pgid);
    }

    #[test]
    fn drop_kills_the_group() {
        let running = Running::spawn("sleep 30 | cat", &no_env()).unwrap();
        let pgid = running.pgid;
        thread::sleep(Duration::from_millis(50));
        assert!(live_group_members(pgid).len() >= 2, "pipeline is running");
        drop(running);
        assert_group_gone(pgid);
    }

    #[test]
    fn run_to_end_timeout_cancels() {
        let t0 = Instant::now();
        let (report, _, _) = run_to_end(
            "echo started; sleep 30",
            &no_env(),
            Some(Duration::from_millis(100)),
        )
        .unwrap();
        assert!(report.cancelled);
        assert!(t0.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn retained_output_is_bounded_and_run_to_end_caps() {
        // 400 KiB of output, more than 4 * OUTPUT_CAP_BYTES.
        let cmd = "head -c 409600 /dev/zero | tr '\\0' 'a'; echo; echo END";
        let mut running = Running::spawn(cmd, &no_env()).unwrap();
        let (chunks, report) = drive(&mut running, Duration::from_secs(5));
        assert_eq!(report.exit_code, Some(0));
        assert_eq!(chunks.iter().map(String::len).sum::<usize>(), 409_600 + 5);
        assert!(running.output().len() <= 4 * OUTPUT_CAP_BYTES);
        assert!(running.output().ends_with("a\nEND\n"));

        let (_, output, truncated) = run_to_end(cmd, &no_env(), None).unwrap();
        assert!(truncated);
        assert_eq!(output.len(), OUTPUT_CAP_BYTES);
        assert!(output.ends_with("a\nEND\n"));
    }

    #[test]
    fn incomplete_utf8_tail_lengths() {
        assert_eq!(incomplete_utf8_tail(b"abc"), 0);
        assert_eq!(incomplete_utf8_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_utf8_tail(&"é".as_bytes()[..1]), 1);
        assert_eq!(incomplete_utf8_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_utf8_tail("a😀".as_bytes()), 0);
        assert_eq!(incomplete_utf8_tail(&[0x80, 0x80, 0x80, 0x80]), 0);
    }

    fn expect(exit_code: Option<i32>, contains: Option<&str>, regex: Option<&str>) -> Expectation {
        Expectation {
            exit_code,
            contains: contains.map(str::to_string),
            regex: regex.map(str::to_string),
        }
    }

    #[test]
    fn expectation_exit_code() {
        let none = Expectation::default();
        assert_eq!(check_expectation(&none, Some(0), ""), Ok(()));
        assert_eq!(
            check_expectation(&none, Some(1), ""),
            Err("exit 1, expected 0".into())
        );
        assert_eq!(
            check_expectation(&none, None, ""),
            Err("no exit code (killed by a signal), expected 0".into())
        );
        let three = expect(Some(3), None, None);
        assert_eq!(check_expectation(&three, Some(3), ""), Ok(()));
        assert_eq!(
            check_expectation(&three, Some(0), ""),
            Err("exit 0, expected 3".into())
        );
    }

    #[test]
    fn expectation_contains_ignores_exit_unless_set() {
        let e = expect(None, Some("ready"), None);
        assert_eq!(check_expectation(&e, Some(1), "db is ready\n"), Ok(()));
        assert_eq!(
            check_expectation(&e, Some(0), "db is starting\n"),
            Err("output does not contain \"ready\"".into())
        );
    }

    #[test]
    fn expectation_regex_is_multi_line_and_trims() {
        let e = expect(None, None, Some("^0$"));
        assert_eq!(check_expectation(&e, Some(0), "count\n0\n\n  "), Ok(()));
        assert_eq!(check_expectation(&e, Some(0), "0\r\nrows\r\n"), Ok(()));
        assert_eq!(
            check_expectation(&e, Some(0), "10\n"),
            Err("output does not match /^0$/".into())
        );
        let bad = expect(None, None, Some("("));
        let err = check_expectation(&bad, Some(0), "x").unwrap_err();
        assert!(err.starts_with("invalid regex /(/: "), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn expectation_combinations_need_every_field() {
        let e = expect(Some(0), Some("lag"), Some(r"^lag: \d+s$"));
        assert_eq!(check_expectation(&e, Some(0), "lag: 3s\n"), Ok(()));
        assert_eq!(
            check_expectation(&e, Some(2), "lag: 3s\n"),
            Err("exit 2, expected 0".into())
        );
        assert_eq!(
            check_expectation(&e, Some(2), "nothing\n"),
            Err(
                "exit 2, expected 0; output does not contain \"lag\"; output does not match /^lag: \\d+s$/"
                    .into()
            )
        );
    }
}
