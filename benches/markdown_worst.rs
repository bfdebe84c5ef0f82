//! Worst cases of loading a Markdown playbook (issue 11 item 12): `rollsafe check` on 1 MB of
//! adversarial Markdown, at 1×, 2× and 4× that size. Each size runs the real binary in a process
//! of its own; its wall time and peak resident memory come from `wait4`, so the figures of one
//! size do not leak into the next. Linear growth means time and memory at most double from one
//! size to the next; before the fix, 1 MB of either case took about 10 s.
//!
//! Cases: one step annotation with many unknown keys on one line; one list item that is a line of
//! many `[`; a page of many ordinary steps (for comparison).
//!
//! Run with `cargo bench --profile dev --bench markdown_worst` (figures in
//! docs/markdown-worst-cases.md). Under `cargo test --benches` it runs the 1× size once per case.

use std::process::{Command, Stdio};
use std::time::Instant;

const MB: usize = 1 << 20;

/// About `bytes` of Markdown of the given shape.
fn page(case: &str, bytes: usize) -> String {
    let mut s = String::from("# Worst case\n\n## Steps\n\n");
    match case {
        "keys" => {
            s.push_str("1. Annotated step <!-- rollsafe:");
            let mut i = 0;
            while s.len() < bytes {
                s.push_str(&format!(" k{i}=v"));
                i += 1;
            }
            s.push_str(" -->\n");
        }
        "brackets" => {
            s.push_str("1. Open ");
            s.push_str(&"[".repeat(bytes.saturating_sub(s.len())));
            s.push('\n');
        }
        _ => {
            let mut i = 0;
            while s.len() < bytes {
                s.push_str(&format!(
                    "{i}. Step {i} <!-- rollsafe: timebox=1m -->\n   ```sh\n   echo {i}\n   ```\n"
                ));
                i += 1;
            }
        }
    }
    s
}

/// Runs `rollsafe check` on `path`; returns (exit code, millis, peak KB, last output line).
fn check(path: &std::path::Path) -> (i32, u128, i64, String) {
    let t = Instant::now();
    // Reaped below by wait4, which Child::wait cannot replace: it also gives the rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .arg("check")
        .arg(path)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    // Read the output before waiting so a full pipe cannot block the child.
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.unwrap(), &mut out).unwrap();
    let mut status = 0;
    // SAFETY: wait4 only writes the status and the rusage struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut u), pid);
        u
    };
    let ms = t.elapsed().as_millis();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let last = out.lines().last().unwrap_or("").to_string();
    let lines = out.lines().count();
    (code, ms, usage.ru_maxrss, format!("{lines} lines; {last}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
    let scales: &[usize] = if quick { &[1] } else { &[1, 2, 4] };
    let dir = tempfile::tempdir().unwrap();
    println!("case       bytes       ms  peak MB  exit  output");
    for case in ["keys", "brackets", "steps"] {
        for &scale in scales {
            let text = page(case, scale * MB);
            let path = dir.path().join(format!("{case}-{scale}.md"));
            std::fs::write(&path, &text).unwrap();
            let (code, ms, peak_kb, out) = check(&path);
            assert!(code == 0 || code == 1, "{case}: exit {code}: {out}");
            println!(
                "{case:<9} {:>8} {ms:>8} {:>8.1} {code:>5}  {out}",
                text.len(),
                peak_kb as f64 / 1024.0
            );
        }
    }
}
