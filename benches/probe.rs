//! The probe's window statistics, which the runner recomputes on every tick
//! (about every 250 ms) for the step under way: a step of an hour sampled
//! every 20 ms is 180,000 samples.
//!
//! Run with `cargo bench --bench probe`. Under `cargo test --benches`
//! criterion runs each benchmark once.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rollsafe::probe::{Sample, WindowRule, window_stats};

/// Samples of a step that ran for an hour, with a lock wait every ten minutes.
fn hour_of_samples() -> Vec<Sample> {
    let mut samples = Vec::with_capacity(180_000);
    let mut at = Duration::ZERO;
    let mut i = 0u64;
    while at < Duration::from_secs(3600) {
        let latency = if i.is_multiple_of(30_000) {
            Duration::from_secs(3)
        } else {
            Duration::from_micros(800 + (i * 7919) % 4000)
        };
        samples.push(Sample {
            started: at,
            latency,
            ok: true,
        });
        at += latency + Duration::from_millis(20);
        i += 1;
    }
    samples
}

fn bench(c: &mut Criterion) {
    let samples = hour_of_samples();
    let end = samples.last().map_or(Duration::ZERO, |s| s.ended());
    let rule = WindowRule::for_interval(Duration::from_millis(20), Duration::from_millis(250));
    c.bench_function(&format!("window_stats_{}_samples", samples.len()), |b| {
        b.iter(|| {
            window_stats(
                black_box(&samples),
                Some(end),
                Duration::ZERO,
                end + Duration::from_millis(5),
                rule,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
