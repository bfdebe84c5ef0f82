//! `rollsafe lint` on a generated corpus of 500 PostgreSQL migration files, about 12,000
//! statements (`benches/support/lint_corpus.rs`): the whole run (split, parse, analyse with
//! context across files), in memory so disk reads do not blur it. `benches/lint_vs_squawk.sh`
//! times the release binary against squawk on the same corpus written to disk.
//!
//! Run with `cargo bench --bench lint`. Under `cargo test --benches` criterion runs it once.

#[path = "support/lint_corpus.rs"]
mod lint_corpus;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use rollsafe::lint::{Catalogue, Direction, Engine, Options, SourceFile, lint_files};

const FILES: usize = 500;
const STATEMENTS_PER_FILE: usize = 24;

fn bench_lint(c: &mut Criterion) {
    let corpus = lint_corpus::corpus(FILES, STATEMENTS_PER_FILE, 42);
    let files: Vec<SourceFile> = corpus
        .files
        .iter()
        .map(|f| SourceFile {
            name: f.name.clone(),
            text: f.text.clone(),
            direction: Direction::Up,
        })
        .collect();
    let cat = Catalogue::bundled();
    let opts = Options::new(Engine::parse("postgres:16").unwrap());
    // The corpus must be read as SQL, not skipped as unparsed.
    let report = lint_files(&files, &opts, &cat);
    assert_eq!(report.statements, corpus.statements, "statement count");
    assert!(
        report.unparsed * 100 < report.statements,
        "{} of {} statements unparsed",
        report.unparsed,
        report.statements
    );
    let mut group = c.benchmark_group("lint");
    group.sample_size(10);
    group.throughput(Throughput::Elements(corpus.statements as u64));
    group.bench_function("postgres_corpus", |b| {
        b.iter(|| black_box(lint_files(black_box(&files), &opts, &cat)))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_lint(&mut criterion);
    criterion.final_summary();
}
