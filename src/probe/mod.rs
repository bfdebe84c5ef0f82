//! The probe: a playbook's statement run against the target every few
//! milliseconds on its own connection while a live drill's steps run, so the
//! log says how long users' reads and writes waited at each step.
//!
//! # Which client
//! The probe keeps the database's own command-line client (`psql`,
//! `mariadb`/`mysql`) open on a pipe for the whole drill, instead of a
//! driver crate or a client started per sample:
//! - A client started per sample pays process start and a new connection
//!   every time: measured on loopback with PostgreSQL 15, `psql -c 'SELECT 1'`
//!   takes ~50 ms end to end against ~0.1 ms for the same statement through
//!   an open `psql`. Per-sample processes would swamp the latency measured.
//! - Kept open, the overhead is one pipe round trip and psql's parsing,
//!   well under a millisecond, and the connection (its locks, its session
//!   settings) is the one a real application would hold.
//! - It reads the same URLs, `.pgpass`, `PGPASSWORD` and TLS settings as
//!   the steps' own commands, which already need that client, and it adds no
//!   database driver (and no async runtime) to rollsafe's build.
//!
//! # Bounded
//! Every sample is bounded on the server (`statement_timeout`, or
//! `lock_wait_timeout` / `innodb_lock_wait_timeout`), and the sampler never
//! blocks on the client: it waits for replies in short slices, so a probe
//! stuck on a lock still reports its elapsed time (see
//! [`stats::window_stats`]) and [`Probe::stop`] ends it within
//! [`STOP_GRACE`]: the statement is cancelled (SIGINT to the client, which
//! asks the server to cancel it), input is closed, and the client is killed
//! if it has not exited by then.

pub mod client;
pub mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use stats::{BlockedInterval, ProbeStats, Sample, WindowRule, format_latency, window_stats};

use crate::playbook::model::ProbeSpec;
use client::{Client, Reply};

/// How long the client gets to connect and set up the session.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest [`Probe::stop`] takes.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// How often the sampler looks up from a pending reply to check for stop.
const SLICE: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    #[error("probe: {0}")]
    Start(String),
}

#[derive(Debug, Default)]
struct Shared {
    samples: Vec<Sample>,
    /// Start of the sample waiting for its reply.
    in_flight: Option<Duration>,
    last_error: Option<String>,
    /// Set when the client died: no more samples will come.
    ended: Option<String>,
}

/// What the live display needs, copied out under the lock.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveView {
    /// Latest latencies, oldest first; a sample still waiting counts with its elapsed time.
    pub recent: Vec<Duration>,
    /// The current window so far.
    pub current: ProbeStats,
    /// How long the sample under way has waited, if one is.
    pub waiting: Option<Duration>,
    pub blocked_after: Duration,
    pub last_error: Option<String>,
    /// Why the probe stopped sampling, if it did.
    pub ended: Option<String>,
}

impl LiveView {
    /// Whether the statement under way has waited longer than `blocked_after`.
    pub fn blocked_now(&self) -> bool {
        self.waiting.is_some_and(|w| w > self.blocked_after)
    }
}

/// What a probe runs, for people, before it starts.
pub fn describe(spec: &ProbeSpec) -> String {
    use crate::playbook::duration::format_millis;
    format!(
        "probe: {} `{}` every {}, blocked after {}, timeout {}",
        spec.engine.as_str(),
        spec.statement,
        format_millis(spec.interval),
        format_millis(spec.blocked_after),
        format_millis(spec.timeout)
    )
}

pub struct Probe {
    spec: ProbeSpec,
    epoch: Instant,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    window_start: Duration,
}

impl Probe {
    /// Connects (failing here on a bad URL or statement setup) and starts
    /// sampling on a thread of its own. `spec` must have its variables resolved.
    pub fn start(spec: &ProbeSpec) -> Result<Probe, ProbeError> {
        let client = Client::connect(spec, CONNECT_TIMEOUT).map_err(ProbeError::Start)?;
        let epoch = Instant::now();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (spec, shared, stop) = (spec.clone(), Arc::clone(&shared), Arc::clone(&stop));
            thread::Builder::new()
                .name("rollsafe-probe".into())
                .spawn(move || sample_loop(client, &spec, epoch, &shared, &stop))
                .map_err(|e| ProbeError::Start(format!("cannot start the sampler: {e}")))?
        };
        Ok(Probe {
            spec: spec.clone(),
            epoch,
            shared,
            stop,
            thread: Some(thread),
            window_start: Duration::ZERO,
        })
    }

    pub fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn rule(&self) -> WindowRule {
        WindowRule::for_interval(self.spec.interval, self.spec.blocked_after)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a window (a step starts).
    pub fn window_start(&mut self) {
        self.window_start = self.now();
    }

    /// Closes the window opened last and returns what it saw; the next
    /// window starts now.
    pub fn window_end(&mut self) -> ProbeStats {
        let end = self.now();
        let stats = self.stats_between(self.window_start, end);
        self.window_start = end;
        stats
    }

    fn stats_between(&self, start: Duration, end: Duration) -> ProbeStats {
        let shared = self.lock();
        // Samples are bounded by the server-side timeout, so older ones cannot overlap.
        let lookback = start.saturating_sub(self.spec.timeout + Duration::from_secs(1));
        let from = shared.samples.partition_point(|s| s.started < lookback);
        window_stats(
            &shared.samples[from..],
            shared.in_flight,
            start,
            end,
            self.rule(),
        )
    }

    /// The last `n` latencies and the current window so far, for a live display.
    pub fn live(&self, n: usize) -> LiveView {
        let now = self.now();
        let current = self.stats_between(self.window_start, now);
        let shared = self.lock();
        let waiting = shared.in_flight.map(|s| now.saturating_sub(s));
        let keep = n.saturating_sub(usize::from(waiting.is_some()));
        let from = shared.samples.len().saturating_sub(keep);
        let mut recent: Vec<Duration> = shared.samples[from..].iter().map(|s| s.latency).collect();
        recent.extend(waiting);
        LiveView {
            recent,
            current,
            waiting,
            blocked_after: self.spec.blocked_after,
            last_error: shared.last_error.clone(),
            ended: shared.ended.clone(),
        }
    }

    /// Every finished sample so far (for tests and exports).
    pub fn samples(&self) -> Vec<Sample> {
        self.lock().samples.clone()
    }

    /// Stops sampling and closes the connection; returns within about [`STOP_GRACE`].
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn sample_loop(
    mut client: Client,
    spec: &ProbeSpec,
    epoch: Instant,
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) {
    let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
    let mut seq = 0u64;
    'sampling: while !stop.load(Ordering::SeqCst) {
        seq += 1;
        let begun = Instant::now();
        let started = begun - epoch;
        lock().in_flight = Some(started);
        let reply = match client.send(&spec.statement, seq) {
            Err(_) => Reply::Gone,
            Ok(()) => loop {
                match client.wait(seq, SLICE) {
                    Reply::Waiting if stop.load(Ordering::SeqCst) => {
                        client.interrupt();
                        break match client.wait(seq, STOP_GRACE / 2) {
                            Reply::Waiting => Reply::Gone,
                            // Cancelled by us: not the database's failure, but not a success either.
                            Reply::Done { .. } => Reply::Done { ok: false },
                            Reply::Gone => Reply::Gone,
                        };
                    }
                    Reply::Waiting => {}
                    done => break done,
                }
            },
        };
        let latency = begun.elapsed();
        let mut state = lock();
        state.in_flight = None;
        state.samples.push(Sample {
            started,
            latency,
            ok: reply == Reply::Done { ok: true },
        });
        match reply {
            Reply::Done { ok: true } => {}
            Reply::Done { ok: false } => state.last_error = client.last_error(),
            Reply::Gone | Reply::Waiting => {
                let why = client
                    .last_error()
                    .unwrap_or_else(|| "the database client exited".into());
                state.last_error = Some(why.clone());
                state.ended = Some(why);
                break 'sampling;
            }
        }
        drop(state);
        // Sleep out the interval in slices, so stop is never late by more than one.
        let wake = Instant::now() + spec.interval;
        while let Some(left) = wake.checked_duration_since(Instant::now()) {
            if stop.load(Ordering::SeqCst) {
                break 'sampling;
            }
            thread::sleep(left.min(SLICE));
        }
    }
    client.close(STOP_GRACE / 2);
}
