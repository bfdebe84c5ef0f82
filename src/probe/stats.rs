//! Per-window probe statistics: pure functions over samples, no clock, no server.
//!
//! Percentiles are nearest rank (shared with `insight::stats`), never means:
//! a step where one write waited 40 s and a thousand took 1 ms has a p50 of
//! 1 ms and a max of 40 s, and both numbers matter.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::insight::percentile;

/// One probe round trip. Times are offsets from the probe's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub started: Duration,
    pub latency: Duration,
    /// False when the statement failed (error, timeout, cancelled).
    pub ok: bool,
}

impl Sample {
    pub fn ended(&self) -> Duration {
        self.started + self.latency
    }
}

/// A stretch of a window during which the probe's statement was waiting
/// longer than `blocked_after`, relative to the window's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedInterval {
    pub offset_ms: u64,
    pub len_ms: u64,
}

/// What the probe saw during one step (one window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProbeStats {
    pub window_ms: u64,
    /// Samples begun in the window, a sample still running at its end included.
    pub count: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// The threshold the blocked intervals were cut at.
    pub blocked_after_ms: u64,
    pub blocked: Vec<BlockedInterval>,
}

impl ProbeStats {
    pub fn p50(&self) -> Duration {
        Duration::from_micros(self.p50_us)
    }
    pub fn p99(&self) -> Duration {
        Duration::from_micros(self.p99_us)
    }
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }
    pub fn blocked_total(&self) -> Duration {
        Duration::from_millis(self.blocked.iter().map(|b| b.len_ms).sum())
    }
    pub fn longest_block(&self) -> Duration {
        Duration::from_millis(self.blocked.iter().map(|b| b.len_ms).max().unwrap_or(0))
    }

    /// `none`, or `12.4 s in 2 (longest 9.1 s)`.
    pub fn blocked_text(&self) -> String {
        if self.blocked.is_empty() {
            return "none".into();
        }
        format!(
            "{} in {} (longest {})",
            format_latency(self.blocked_total()),
            self.blocked.len(),
            format_latency(self.longest_block())
        )
    }

    /// The figures on one line, for screens and summaries.
    pub fn one_line(&self) -> String {
        format!(
            "{} samples · p50 {} · p99 {} · max {} · blocked {}",
            self.count,
            format_latency(self.p50()),
            format_latency(self.p99()),
            format_latency(self.max()),
            self.blocked_text()
        )
    }
}

/// The parameters a window is cut with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRule {
    pub blocked_after: Duration,
    /// Blocked stretches closer than this are one interval: between two
    /// blocked samples the probe only sleeps its interval, so the gap says
    /// nothing about the lock having been released.
    pub merge_gap: Duration,
}

impl WindowRule {
    pub fn for_interval(interval: Duration, blocked_after: Duration) -> Self {
        Self {
            blocked_after,
            merge_gap: interval * 2 + Duration::from_millis(10),
        }
    }
}

/// Statistics for the window `[start, end)`.
///
/// `samples` are finished samples ordered by start; `in_flight` is the start
/// of the sample still waiting at `end`, if any: its elapsed time so far
/// counts as its latency, so a probe stuck on a lock shows as blocked while
/// it is stuck and not only once it returns.
///
/// Latency figures cover samples begun in the window; blocked intervals
/// cover any sample overlapping it, clipped to it (a wait that began in the
/// previous step and ends in this one shows in both).
pub fn window_stats(
    samples: &[Sample],
    in_flight: Option<Duration>,
    start: Duration,
    end: Duration,
    rule: WindowRule,
) -> ProbeStats {
    let end = end.max(start);
    let open = in_flight.filter(|&s| s < end).map(|s| Sample {
        started: s,
        latency: end - s,
        ok: true,
    });
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut spans: Vec<(Duration, Duration)> = Vec::new();
    for sample in samples.iter().chain(open.iter()) {
        if sample.started >= start && sample.started < end {
            latencies.push(sample.latency);
            if !sample.ok {
                errors += 1;
            }
        }
        if sample.latency > rule.blocked_after {
            let from = sample.started.max(start);
            let to = sample.ended().min(end);
            if to > from {
                spans.push((from, to));
            }
        }
    }
    latencies.sort_unstable();
    spans.sort_unstable();
    let mut merged: Vec<(Duration, Duration)> = Vec::new();
    for (from, to) in spans {
        match merged.last_mut() {
            Some(last) if from <= last.1 + rule.merge_gap => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    let us = |d: Option<Duration>| d.map_or(0, |d| d.as_micros() as u64);
    ProbeStats {
        window_ms: (end - start).as_millis() as u64,
        count: latencies.len() as u64,
        errors,
        p50_us: us(percentile(&latencies, 50)),
        p99_us: us(percentile(&latencies, 99)),
        max_us: us(latencies.last().copied()),
        blocked_after_ms: rule.blocked_after.as_millis() as u64,
        blocked: merged
            .into_iter()
            .map(|(from, to)| BlockedInterval {
                offset_ms: (from - start).as_millis() as u64,
                len_ms: (to - from).as_millis() as u64,
            })
            .collect(),
    }
}

/// `0.21 ms`, `48 ms`, `3.2 s`: latency as people read it.
pub fn format_latency(d: Duration) -> String {
    let us = d.as_micros();
    if us < 10_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else if us < 1_000_000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{:.1} s", us as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn s(started: u64, latency: u64) -> Sample {
        Sample {
            started: ms(started),
            latency: ms(latency),
            ok: true,
        }
    }

    fn rule() -> WindowRule {
        WindowRule::for_interval(ms(20), ms(250))
    }

    #[test]
    fn percentiles_are_nearest_rank_not_means() {
        // 99 fast samples and one very slow one: the mean would be ~11 ms.
        let mut samples: Vec<Sample> = (0..99).map(|i| s(i * 30, 1)).collect();
        samples.push(s(99 * 30, 1000));
        let stats = window_stats(&samples, None, ms(0), ms(4000), rule());
        assert_eq!(stats.count, 100);
        assert_eq!(stats.p50(), ms(1));
        // Rank ceil(0.99 * 100) = 99: still a fast one. An off-by-one
        // (rank 100) would give the slow sample.
        assert_eq!(stats.p99(), ms(1));
        assert_eq!(stats.max(), ms(1000));

        // Odd count: the median is the middle value, not an average of two.
        let odd = [s(0, 1), s(30, 2), s(60, 9)];
        let stats = window_stats(&odd, None, ms(0), ms(100), rule());
        assert_eq!(stats.p50(), ms(2));
        // Even count, nearest rank: the lower middle (2), not 2.5 or 5.
        let even = [s(0, 1), s(30, 2), s(60, 8), s(90, 9)];
        let stats = window_stats(&even, None, ms(0), ms(200), rule());
        assert_eq!(stats.p50(), ms(2));
        assert_eq!(stats.p99(), ms(9));
    }

    #[test]
    fn samples_belong_to_the_window_they_started_in() {
        let samples = [s(90, 5), s(100, 5), s(199, 5), s(200, 5)];
        let stats = window_stats(&samples, None, ms(100), ms(200), rule());
        // 100 is in [100, 200), 200 is not, 90 is not.
        assert_eq!(stats.count, 2);
        assert_eq!(stats.window_ms, 100);
    }

    #[test]
    fn errors_are_counted_in_their_window() {
        let mut failed = s(10, 3);
        failed.ok = false;
        let stats = window_stats(&[s(0, 1), failed], None, ms(0), ms(50), rule());
        assert_eq!((stats.count, stats.errors), (2, 1));
    }

    #[test]
    fn an_in_flight_sample_counts_as_blocked_while_it_waits() {
        // The last sample started at 1000 and has not returned at 4000.
        let samples = [s(0, 2), s(500, 2)];
        let stats = window_stats(&samples, Some(ms(1000)), ms(0), ms(4000), rule());
        assert_eq!(stats.count, 3);
        assert_eq!(stats.max(), ms(3000));
        assert_eq!(
            stats.blocked,
            vec![BlockedInterval {
                offset_ms: 1000,
                len_ms: 3000
            }]
        );
    }

    #[test]
    fn only_samples_over_the_threshold_block_and_neighbours_merge() {
        // 250 ms exactly is not blocked ("slower than"); 251 is.
        let samples = [
            s(0, 250),
            s(300, 251),
            // Back to back after a 20 ms sleep: same lock wait.
            s(571, 400),
            // A long healthy stretch, then another wait.
            s(2000, 1),
            s(3000, 600),
        ];
        let stats = window_stats(&samples, None, ms(0), ms(5000), rule());
        assert_eq!(
            stats.blocked,
            vec![
                BlockedInterval {
                    offset_ms: 300,
                    len_ms: 671
                },
                BlockedInterval {
                    offset_ms: 3000,
                    len_ms: 600
                },
            ]
        );
        assert_eq!(stats.blocked_total(), ms(1271));
        assert_eq!(stats.longest_block(), ms(671));
        assert_eq!(stats.blocked_text(), "1.3 s in 2 (longest 671 ms)");
    }

    #[test]
    fn a_wait_across_a_step_boundary_is_clipped_to_each_window() {
        let samples = [s(800, 700)];
        let first = window_stats(&samples, None, ms(0), ms(1000), rule());
        let second = window_stats(&samples, None, ms(1000), ms(2000), rule());
        assert_eq!(first.blocked[0].offset_ms, 800);
        assert_eq!(first.blocked[0].len_ms, 200);
        assert_eq!(second.blocked[0].offset_ms, 0);
        assert_eq!(second.blocked[0].len_ms, 500);
        // Its latency belongs to the window it started in only.
        assert_eq!((first.count, second.count), (1, 0));
    }

    #[test]
    fn an_empty_window_is_all_zero() {
        let stats = window_stats(&[], None, ms(10), ms(10), rule());
        assert_eq!(stats.count, 0);
        assert_eq!(stats.max_us, 0);
        assert!(stats.blocked.is_empty());
    }

    #[test]
    fn latency_reads_naturally() {
        assert_eq!(format_latency(Duration::from_micros(210)), "0.21 ms");
        assert_eq!(format_latency(ms(48)), "48 ms");
        assert_eq!(format_latency(ms(3200)), "3.2 s");
    }

    #[test]
    fn stats_round_trip_through_json() {
        let stats = window_stats(&[s(0, 300)], None, ms(0), ms(400), rule());
        let json = serde_json::to_string(&stats).unwrap();
        assert!(json.contains("\"p99_us\":300000"), "{json}");
        assert_eq!(serde_json::from_str::<ProbeStats>(&json).unwrap(), stats);
    }
}
