//! Helpers for the end-to-end tests: drive the real `rollsafe` binary inside
//! a private tmux server and read the screen like a user would.
//!
//! Every [`Tmux`] owns its own tmux server (`tmux -L <unique socket>`, with
//! its own config) and a temp dir holding the drill log and a playbooks dir
//! (empty unless a test fills it). Dropping it, also when a test panics,
//! ends what runs in its panes, kills the server and removes its socket.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rollsafe");

/// How long to wait for text to show up. Generous: CI machines are small and busy.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How often the screen is polled.
pub const POLL: Duration = Duration::from_millis(50);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Fails (never skips) when tmux is missing: CI installs it, and a test that
/// passes without running anything would hide a broken setup.
pub fn require_tmux() {
    match Command::new("tmux").arg("-V").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the end-to-end tests need tmux, but `tmux -V` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "the end-to-end tests need tmux, and it is not installed or not on PATH ({e}). \
             Install it (e.g. `apt-get install tmux`) and run `cargo test --test e2e_tmux` again."
        ),
    }
}

/// One private tmux server, with a temp dir for the drill log and playbooks.
pub struct Tmux {
    socket: String,
    /// The session the helpers talk to (the last one started).
    session: String,
    config: PathBuf,
    /// The server's socket file, once a server runs (removed on drop).
    socket_path: Option<PathBuf>,
    dir: TempDir,
    pub db: PathBuf,
    pub playbooks: PathBuf,
}

impl Tmux {
    pub fn new(test: &str) -> Tmux {
        require_tmux();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let socket = format!("rs-e2e-{}-{n}-{test}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("rollsafe-e2e-")
            .tempdir()
            .expect("create a temp dir");
        let db = dir.path().join("drills.db");
        let playbooks = dir.path().join("playbooks");
        std::fs::create_dir_all(&playbooks).expect("create the playbooks dir");
        // A known configuration, not the developer's: panes stay after their
        // program ends (so its exit status and last screen can be read), no
        // status line.
        let config = dir.path().join("tmux.conf");
        std::fs::write(&config, "set -g remain-on-exit on\nset -g status off\n")
            .expect("write tmux.conf");
        Tmux {
            socket,
            session: String::new(),
            config,
            socket_path: None,
            dir,
            db,
            playbooks,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    /// Makes the helpers talk to another session this server already runs
    /// (tests with several clients, each in its own session).
    pub fn switch_to(&mut self, session: &str) {
        self.session = session.to_string();
    }

    /// `tmux -L <socket> -f <our config> <args>`; the outer tmux (if the
    /// tests themselves run inside one) is kept out of it.
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg(&self.config)
            .args(args)
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The environment every rollsafe in these tests runs with: no colour,
    /// nothing from the developer's own rollsafe settings.
    fn env_prefix() -> Vec<String> {
        [
            "env",
            "-u",
            "ROLLSAFE_DB",
            "-u",
            "ROLLSAFE_PLAYBOOKS",
            "NO_COLOR=1",
            "USER=e2e",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// The global flags pointing at this test's files.
    pub fn global_args(&self) -> Vec<String> {
        vec![
            "--db".into(),
            self.db.display().to_string(),
            "--playbooks".into(),
            self.playbooks.display().to_string(),
        ]
    }

    /// Starts a new detached session of `width` x `height` whose pane runs
    /// rollsafe with `args` (after the global flags). The command is given
    /// to tmux as separate arguments, so no shell sits in between: the
    /// pane's pid is rollsafe's (`env` execs it).
    pub fn start_rollsafe(&mut self, session: &str, width: u16, height: u16, args: &[&str]) {
        let mut argv = Self::env_prefix();
        argv.push(BIN.to_string());
        argv.extend(self.global_args());
        argv.extend(args.iter().map(|s| s.to_string()));
        self.start_argv(session, width, height, &argv);
    }

    /// Like [`Tmux::start_rollsafe`], but rollsafe runs as a child of
    /// `sh -c`, which prints `EXITED:<code>` when rollsafe ends and then runs
    /// `then` (e.g. `exec sh` for a shell to look at the terminal with). The
    /// pane's pid is the shell's, not rollsafe's.
    ///
    /// `then` should keep the pane alive (`exec sleep 600` will do; the drop
    /// guard ends it): tmux 3.3 can lose a pane's last output when its
    /// program exits right after writing it.
    pub fn start_rollsafe_in_shell(
        &mut self,
        session: &str,
        width: u16,
        height: u16,
        args: &[&str],
        then: &str,
    ) {
        let mut argv = Self::env_prefix();
        let script = format!(r#""$0" "$@"; echo EXITED:$?; {then}"#);
        argv.extend(["sh".into(), "-c".into(), script, BIN.to_string()]);
        argv.extend(self.global_args());
        argv.extend(args.iter().map(|s| s.to_string()));
        self.start_argv(session, width, height, &argv);
    }

    /// Starts a new detached session whose pane runs `argv` directly.
    pub fn start_argv(&mut self, session: &str, width: u16, height: u16, argv: &[String]) {
        let (w, h) = (width.to_string(), height.to_string());
        // The pane works in the test's temp dir, so files it writes stay there.
        let cwd = self.dir.path().display().to_string();
        let mut args: Vec<&str> = vec![
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            &cwd,
            "--",
        ];
        args.extend(argv.iter().map(String::as_str));
        self.tmux_ok(&args);
        self.session = session.to_string();
        if self.socket_path.is_none() {
            self.socket_path = Some(PathBuf::from(self.display("#{socket_path}")));
        }
        let size = self.display("#{window_width}x#{window_height}");
        assert_eq!(
            size,
            format!("{width}x{height}"),
            "tmux did not give the window the size asked for"
        );
    }

    fn target(&self) -> String {
        format!("{}:", self.session)
    }

    /// Sends tmux key names (`Space`, `Enter`, `q`, `G`, …), one after another.
    pub fn keys(&self, keys: &[&str]) {
        let target = self.target();
        let mut args = vec!["send-keys", "-t", &target];
        args.extend_from_slice(keys);
        self.tmux_ok(&args);
    }

    pub fn key(&self, key: &str) {
        self.keys(&[key]);
    }

    /// Types `text` literally (no key-name lookup).
    pub fn type_text(&self, text: &str) {
        let target = self.target();
        self.tmux_ok(&["send-keys", "-t", &target, "-l", text]);
    }

    /// The visible screen; wrapped lines stay as shown.
    pub fn screen(&self) -> String {
        let target = self.target();
        self.tmux_ok(&["capture-pane", "-p", "-t", &target])
    }

    /// The visible screen with lines the terminal wrapped joined again.
    pub fn screen_joined(&self) -> String {
        let target = self.target();
        self.tmux_ok(&["capture-pane", "-p", "-J", "-t", &target])
    }

    /// `tmux display -p FORMAT` for the current pane.
    pub fn display(&self, format: &str) -> String {
        let target = self.target();
        self.tmux_ok(&["display", "-p", "-t", &target, format])
            .trim()
            .to_string()
    }

    /// Kills the tmux server now, as closing the terminal would: the panes'
    /// ttys hang up, nothing else is signalled by the test.
    pub fn kill_server(&self) {
        let _ = self.tmux(&["kill-server"]);
    }

    /// Whether the pane's program has ended (panes remain on exit).
    pub fn pane_dead(&self) -> bool {
        self.display("#{pane_dead}") == "1"
    }

    /// Waits for the `EXITED:<code>` line printed by a pane started with
    /// [`Tmux::start_rollsafe_in_shell`] and returns the code. (tmux's own
    /// `#{pane_dead_status}` is not used: under load tmux 3.3 can leave the
    /// exited program unreaped, and the status empty, for a long time.)
    pub fn wait_exit_code(&self) -> i32 {
        let screen = self.wait_until("rollsafe to exit (EXITED:<code>)", |s| {
            s.lines().any(|l| l.starts_with("EXITED:"))
        });
        let line = screen.lines().find(|l| l.starts_with("EXITED:")).unwrap();
        let code = line["EXITED:".len()..].trim();
        code.parse()
            .unwrap_or_else(|_| panic!("not an exit code: {line:?}"))
    }

    pub fn pane_pid(&self) -> u32 {
        let pid = self.display("#{pane_pid}");
        pid.parse()
            .unwrap_or_else(|_| panic!("pane_pid is not a number: {pid:?}"))
    }

    pub fn resize(&self, width: u16, height: u16) {
        let target = self.target();
        self.tmux_ok(&[
            "resize-window",
            "-t",
            &target,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Polls the screen until `check` accepts it; panics with the last
    /// screen after [`TIMEOUT`].
    pub fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_until_for(what, TIMEOUT, check)
    }

    /// Like [`Tmux::wait_until`] with its own timeout.
    ///
    /// A capture can catch a frame half drawn (rollsafe redraws cell by cell,
    /// top to bottom), so a screen counts only once it passes `check` and a
    /// second capture a poll later is the same.
    pub fn wait_until_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let mut last = String::new();
        loop {
            let screen = self.screen();
            let ok = check(&screen);
            // Settled, or (a screen that keeps changing) out of time but good.
            if ok && (screen == last || start.elapsed() > timeout) {
                return screen;
            }
            if !ok && start.elapsed() > timeout {
                panic!(
                    "waited {:.1}s for {what}; the screen is:\n{}\n{}\n{}",
                    timeout.as_secs_f64(),
                    "-".repeat(40),
                    screen,
                    "-".repeat(40)
                );
            }
            last = screen;
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `text` is on screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} on screen"), |s| s.contains(text))
    }

    /// Waits until `text` is no longer on screen.
    pub fn wait_gone(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} to leave the screen"), |s| {
            !s.contains(text)
        })
    }

    /// Runs a rollsafe subcommand against this test's files and returns stdout.
    pub fn rollsafe_cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .args(self.global_args())
            .env_remove("ROLLSAFE_DB")
            .env_remove("ROLLSAFE_PLAYBOOKS")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run rollsafe");
        assert!(
            out.status.success(),
            "rollsafe {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// `rollsafe history --json`, parsed.
    pub fn history(&self) -> Vec<Value> {
        let text = self.rollsafe_cli(&["history", "--json"]);
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("history --json is not JSON ({e}): {text}"));
        value
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("history --json is not an array: {text}"))
    }

    /// The only drill in the log.
    pub fn only_drill(&self) -> Value {
        let drills = self.history();
        assert_eq!(
            drills.len(),
            1,
            "expected exactly one drill in history: {drills:#?}"
        );
        drills.into_iter().next().unwrap()
    }

    /// `rollsafe show <id> --json`, parsed.
    pub fn playbook(&self, id: &str) -> Playbook {
        let text = self.rollsafe_cli(&["show", id, "--json"]);
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("show --json is not JSON ({e}): {text}"));
        let steps = value["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .flat_map(|phase| phase["steps"].as_array().expect("steps").iter())
            .map(|step| StepInfo {
                id: step["id"].as_str().expect("step id").to_string(),
                title: step["title"].as_str().expect("step title").to_string(),
                point_of_no_return: step["point_of_no_return"].as_bool().unwrap_or(false),
            })
            .collect();
        Playbook { steps }
    }
}

impl Drop for Tmux {
    /// Ends everything the panes run, then the server; also on panic.
    ///
    /// Killing the server alone is not enough: rollsafe does not notice that
    /// its terminal is gone (see `closing_the_terminal_ends_rollsafe`) and
    /// would keep running, spinning on the dead tty. So each live pane's
    /// processes get SIGTERM (rollsafe leaves cleanly on it), a moment to
    /// end, then SIGKILL.
    fn drop(&mut self) {
        let out = self.tmux(&["list-panes", "-a", "-F", "#{pane_dead} #{pane_pid}"]);
        let leaders: Vec<u32> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("0 ")?.trim().parse().ok())
            .collect();
        let members = || -> Vec<u32> { leaders.iter().flat_map(|l| session_members(*l)).collect() };
        for pid in members() {
            send(pid, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3)
            && members()
                .iter()
                .any(|p| comm(*p).as_deref() == Some("rollsafe"))
        {
            std::thread::sleep(POLL);
        }
        for pid in members() {
            send(pid, libc::SIGKILL);
        }
        let _ = self.tmux(&["kill-server"]);
        // tmux leaves its socket file behind.
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn send(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects; a stale pid only gets ESRCH.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// The fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, …
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Live (not zombie) processes of the session `sid`, leader included.
pub fn session_members(sid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(*pid).is_some_and(|f| f.len() > 3 && f[0] != "Z" && f[3] == sid.to_string())
        })
        .collect()
}

/// Child processes of `pid`, zombies left out.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            stat_fields(*child)
                .is_some_and(|f| f.len() > 1 && f[0] != "Z" && f[1] == pid.to_string())
        })
        .collect()
}

/// Kills `pid` with SIGKILL when dropped, unless it is already gone: for a
/// test that expects rollsafe to end by itself and must not leak it if not.
pub struct KillOnDrop(pub u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if alive(self.0) {
            send(self.0, libc::SIGKILL);
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepInfo {
    pub id: String,
    pub title: String,
    pub point_of_no_return: bool,
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub steps: Vec<StepInfo>,
}

/// A step's line in the runner's steps list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// The line inside the list's borders, as shown.
    pub text: String,
    pub selected: bool,
    /// ✔ ✘ ↷ ⊘ ▶ or ☐.
    pub mark: char,
    /// The title as shown (maybe cut with …), without clock or flag.
    pub title: String,
    /// The step clock (`m:ss` or `h:mm:ss`), once the step has started.
    pub clock: Option<String>,
}

const MARKS: [char; 6] = ['✔', '✘', '↷', '⊘', '▶', '☐'];

fn is_clock(token: &str) -> bool {
    !token.is_empty()
        && token.contains(':')
        && token.chars().all(|c| c.is_ascii_digit() || c == ':')
        && token.split(':').all(|part| !part.is_empty())
}

/// The step lines of the runner's left pane, top to bottom (phase headings
/// left out). Only rows scrolled into view are there.
pub fn step_rows(screen: &str) -> Vec<StepRow> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in screen.lines() {
        if line.starts_with("┌ Steps") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with('└') {
            break;
        }
        // "│<list>││<detail>│": the list is the first cell between borders.
        let Some(cell) = line.split('│').nth(1) else {
            continue;
        };
        let mut chars = cell.chars();
        let cursor = chars.next();
        let space = chars.next();
        let mark = chars.next();
        let (Some(cursor), Some(' '), Some(mark)) = (cursor, space, mark) else {
            continue;
        };
        if !(cursor == '›' || cursor == ' ') || !MARKS.contains(&mark) {
            continue;
        }
        let rest: String = chars.collect();
        let mut words: Vec<&str> = rest.split_whitespace().collect();
        // Drop a trailing flag, then a clock.
        if matches!(words.last(), Some(&"⛔") | Some(&"⚠")) {
            words.pop();
        }
        let clock = match words.last() {
            Some(w) if is_clock(w) => {
                let c = w.to_string();
                words.pop();
                Some(c)
            }
            _ => None,
        };
        rows.push(StepRow {
            text: cell.to_string(),
            selected: cursor == '›',
            mark,
            title: words.join(" "),
            clock,
        });
    }
    rows
}

/// Whether tmux draws `c` two columns wide (the wide characters rollsafe
/// shows: ⛔ and other emoji, CJK). Enough for these screens, not a full table.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x231A..=0x231B
        | 0x23E9..=0x23EC
        | 0x23F0
        | 0x23F3
        | 0x25FD..=0x25FE
        | 0x2614..=0x2615
        | 0x2648..=0x2653
        | 0x267F
        | 0x2693
        | 0x26A1
        | 0x26AA..=0x26AB
        | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5
        | 0x26CE
        | 0x26D4
        | 0x26EA
        | 0x26F2..=0x26F3
        | 0x26F5
        | 0x26FA
        | 0x26FD
        | 0x2705
        | 0x270A..=0x270B
        | 0x2728
        | 0x274C
        | 0x274E
        | 0x2753..=0x2755
        | 0x2757
        | 0x2795..=0x2797
        | 0x27B0
        | 0x27BF
        | 0x2B1B..=0x2B1C
        | 0x2B50
        | 0x2B55
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
    )
}

/// A screen line as terminal cells: a wide character is followed by a
/// `'\0'` cell it covers, so indexes are columns.
fn cells(line: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(line.len());
    for c in line.chars() {
        out.push(c);
        if is_wide(c) {
            out.push('\0');
        }
    }
    out
}

/// The lines inside the box whose top border holds `title` (a dialog, a
/// pane), each cut at the box's borders; `None` when no such box is shown.
pub fn boxed(screen: &str, title: &str) -> Option<Vec<String>> {
    let lines: Vec<Vec<char>> = screen.lines().map(cells).collect();
    let wanted = cells(title);
    let (top, at) = lines.iter().enumerate().find_map(|(i, l)| {
        l.windows(wanted.len())
            .position(|w| w == wanted.as_slice())
            .map(|col| (i, col))
    })?;
    let left = lines[top][..at].iter().rposition(|c| *c == '┌')?;
    let right = lines[top][left + 1..]
        .iter()
        .position(|c| *c == '┐')
        .map(|p| p + left + 1)?;
    let mut inner = Vec::new();
    for line in &lines[top + 1..] {
        match line.get(left) {
            Some('│') => inner.push(
                line.get(left + 1..right.min(line.len()))
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| **c != '\0')
                    .collect(),
            ),
            _ => break,
        }
    }
    Some(inner)
}

/// The step's mark in row `index` of the list, if that row is shown.
pub fn mark_at(rows: &[StepRow], index: usize) -> Option<char> {
    rows.get(index).map(|r| r.mark)
}

/// The phase headings of the steps list (the lines that are no step).
pub fn phase_headings(screen: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in screen.lines() {
        if line.starts_with("┌ Steps") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with('└') {
            break;
        }
        if let Some(cell) = line.split('│').nth(1) {
            let cell = cell.trim_end();
            if !cell.is_empty() && !cell.starts_with(' ') && !cell.starts_with('›') {
                out.push(cell.to_string());
            }
        }
    }
    out
}

/// Whether `shown` (a title as the list shows it, maybe cut with …) is `full`.
pub fn title_matches(shown: &str, full: &str) -> bool {
    match shown.strip_suffix('…') {
        Some(prefix) => !prefix.trim().is_empty() && full.starts_with(prefix.trim_end()),
        None => shown == full,
    }
}

/// The row showing `title` (a full step title); panics when it is not shown.
pub fn row_for<'a>(rows: &'a [StepRow], title: &str, screen: &str) -> &'a StepRow {
    let found: Vec<&StepRow> = rows
        .iter()
        .filter(|r| title_matches(&r.title, title))
        .collect();
    match found.as_slice() {
        [one] => one,
        [] => panic!("no row for step {title:?} in the steps list:\n{screen}"),
        many => panic!("several rows match step {title:?}: {many:#?}\n{screen}"),
    }
}

/// The selected row; panics when there is none.
pub fn selected_row(screen: &str) -> StepRow {
    try_selected_row(screen).unwrap_or_else(|| panic!("no selected step row on screen:\n{screen}"))
}

/// The selected row, if one is shown (for wait conditions, which must not panic).
pub fn try_selected_row(screen: &str) -> Option<StepRow> {
    step_rows(screen).into_iter().find(|r| r.selected)
}

/// Whether one line of the screen holds every one of `parts`.
pub fn has_line_with(screen: &str, parts: &[&str]) -> bool {
    screen
        .lines()
        .any(|line| parts.iter().all(|p| line.contains(p)))
}

/// Whether `pid` is a live process (exists, and is no zombie).
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// The command name of `pid`, from /proc.
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Waits until `check` holds, polling; panics with `what` after [`TIMEOUT`].
pub fn wait_for_condition(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        if start.elapsed() > TIMEOUT {
            panic!("waited {:.1}s for {what}", TIMEOUT.as_secs_f64());
        }
        std::thread::sleep(POLL);
    }
}

/// Sends `signal` (e.g. `libc::SIGKILL`) to `pid`; panics if it cannot.
pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Pids whose command line contains `needle` and whose name is `name`
/// (pgrep -f also finds the tmux server and any shell around the program).
pub fn pgrep(needle: &str, name: &str) -> Vec<u32> {
    let out = Command::new("pgrep")
        .arg("-f")
        .arg(needle)
        .output()
        .expect("run pgrep (procps)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|pid| comm(*pid).as_deref() == Some(name))
        .collect()
}
