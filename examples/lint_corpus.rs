//! Writes the benchmark corpus of `benches/support/lint_corpus.rs` to a directory, so that
//! `rollsafe lint` and other linters (squawk) can be timed on the same files:
//!
//! `cargo run --release --example lint_corpus -- DIR [FILES] [STATEMENTS_PER_FILE]`
//!
//! Prints the number of files and statements written.

#[path = "../benches/support/lint_corpus.rs"]
mod lint_corpus;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: lint_corpus DIR [FILES=500] [STATEMENTS_PER_FILE=24]");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: usize| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |a| {
            a.parse().map_err(|_| format!("\"{a}\" is not a number"))
        })
    };
    let (files, per_file) = match (number(1, 500), number(2, 24)) {
        (Ok(f), Ok(s)) if f > 0 && s > 2 => (f, s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("lint_corpus: {e}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("lint_corpus: FILES must be > 0 and STATEMENTS_PER_FILE > 2");
            return ExitCode::from(2);
        }
    };
    let corpus = lint_corpus::corpus(files, per_file, 42);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("lint_corpus: cannot create {dir}: {e}");
        return ExitCode::from(3);
    }
    for f in &corpus.files {
        let path = std::path::Path::new(dir).join(&f.name);
        if let Err(e) = std::fs::write(&path, &f.text) {
            eprintln!("lint_corpus: cannot write {}: {e}", path.display());
            return ExitCode::from(3);
        }
    }
    println!(
        "{} files, {} statements",
        corpus.files.len(),
        corpus.statements
    );
    ExitCode::SUCCESS
}
