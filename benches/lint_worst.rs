//! Worst cases of `rollsafe lint` (issue 11 item 12): one Liquibase formatted-SQL changelog of
//! 10,000 changesets and one dbmate file of 10,000 statements, at 1×, 2× and 4× that size. Each
//! size is linted in a child process of its own, which reports its wall time and peak resident
//! memory (getrusage), so the figures of one size do not leak into the next. Linear growth means
//! time and memory roughly double from one size to the next; before the fix, 8,000 changesets
//! took 73 s and 12.4 GB.
//!
//! Run with `cargo bench --bench lint_worst` (figures in docs/lint-worst-cases.md). Under
//! `cargo test --benches` it runs the 1× size once per format.

use std::process::Command;
use std::time::Instant;

use rollsafe::lint::{Catalogue, Direction, Engine, Options, SourceFile, lint_files};

const BASE: usize = 10_000;

/// A changelog of `n` changesets, each creating, altering and indexing a table, with rollback.
fn liquibase(n: usize) -> String {
    let mut s = String::from("--liquibase formatted sql\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "--changeset ana:{i}\nALTER TABLE accounts ADD COLUMN c{i} text;\nCREATE INDEX CONCURRENTLY i{i} ON accounts (c{i});\n--rollback ALTER TABLE accounts DROP COLUMN c{i};\n\n"
        ));
    }
    s
}

/// A dbmate file with `n` statements in its up section and `n` in its down section.
fn dbmate(n: usize) -> String {
    let mut up = String::from("-- migrate:up\n");
    let mut down = String::from("-- migrate:down\n");
    for i in 0..n {
        up.push_str(&format!("ALTER TABLE accounts ADD COLUMN c{i} text;\n"));
        down.push_str(&format!("ALTER TABLE accounts DROP COLUMN c{i};\n"));
    }
    up + &down
}

/// Child: lint one generated file, print "units bytes millis peak_kb findings".
fn child(format: &str, scale: usize) {
    let n = BASE * scale;
    let text = match format {
        "liquibase" => liquibase(n),
        _ => dbmate(n),
    };
    let bytes = text.len();
    let file = SourceFile {
        name: format!("{format}.sql"),
        text,
        direction: Direction::Up,
    };
    let mut opts = Options::new(Engine::parse("postgres:16").unwrap());
    opts.tool = Some(format.to_string());
    let cat = Catalogue::bundled();
    let t = Instant::now();
    let report = lint_files(std::slice::from_ref(&file), &opts, &cat);
    let ms = t.elapsed().as_millis();
    assert!(
        report.statements >= 2 * n,
        "statements: {}",
        report.statements
    );
    // SAFETY: getrusage only writes the struct it is given.
    let peak_kb = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u.ru_maxrss
    };
    println!(
        "{n} {bytes} {ms} {peak_kb} {} {}",
        report.statements,
        report.findings.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], args[i + 2].parse().unwrap());
        return;
    }
    let quick = args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
    let scales: &[usize] = if quick { &[1] } else { &[1, 2, 4] };
    let me = std::env::current_exe().unwrap();
    println!("format     units    bytes      ms  peak MB  statements  findings");
    for format in ["liquibase", "dbmate"] {
        for &scale in scales {
            let out = Command::new(&me)
                .args(["--child", format, &scale.to_string()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let f: Vec<&str> = line.split_whitespace().collect();
            let peak_mb = f[3].parse::<f64>().unwrap() / 1024.0;
            println!(
                "{format:<9} {:>6} {:>8} {:>7} {peak_mb:>8.1} {:>11} {:>9}",
                f[0], f[1], f[2], f[4], f[5]
            );
        }
    }
}
