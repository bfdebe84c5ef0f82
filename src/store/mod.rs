//! The drill log: what the app needs from it (append, fold, list,
//! aggregates) as one interface, [`LogBackend`], behind [`Store`]. SQLite
//! ([`sqlite::SqliteLog`]) is the embedded default; PostgreSQL
//! ([`postgres::PostgresLog`]) holds a team's shared log. SQL stays in the
//! backends; what an event writes is decided once, in `record`.
//!
//! Every event is committed durably in its own transaction, so once `append`
//! returns, the event survives a crash, `kill -9` or power loss.
//! Times are stored as UTC milliseconds since the epoch.

mod migrations;
pub mod pg_connect;
pub mod postgres;
pub mod push;
mod record;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::drill::{Drill, Event, Mode};
pub use migrations::MIGRATIONS;

/// The schema version that added tables derived from events.
const DERIVED_SINCE: usize = 4;

/// The schema version that stores each playbook text once per content hash.
const SNAPSHOTS_SINCE: usize = 10;

/// The schema version that records who drives each drill.
const DRIVERS_SINCE: usize = 11;

/// How long a write waits for another rollsafe holding the database.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the drill log {path} is locked by another program (waited {}s); close the other rollsafe or pass --db to use another file",
        BUSY_TIMEOUT.as_secs()
    )]
    Locked { path: String },
    #[error(
        "the drill log {path} is not a readable SQLite database ({detail}); move it aside to keep it, or pass --db to use another file"
    )]
    Corrupt { path: String, detail: String },
    #[error(
        "the drill log {path} was written by a newer rollsafe (schema {found}, this build knows {known}); upgrade rollsafe or pass --db"
    )]
    TooNew {
        path: String,
        found: usize,
        known: usize,
    },
    #[error("cannot open the drill log {path}: {detail}")]
    Open { path: String, detail: String },
    #[error("drill #{0} does not exist in this log")]
    NoSuchDrill(i64),
    #[error("drill log {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "refused: drill #{drill} is driven by {by}; notes still land, and D takes the drive once {by} hands over (H)"
    )]
    Driven { drill: i64, by: String },
    #[error("drill log {path}: the server refused: {detail}")]
    Server { path: String, detail: String },
    #[error("drill #{drill}, event {seq}: unreadable event record: {detail}")]
    BadEvent {
        drill: i64,
        seq: i64,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One drill as listed in history, without its events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DrillRow {
    pub id: i64,
    pub playbook_id: String,
    pub playbook_title: String,
    pub mode: Mode,
    pub operator: String,
    pub status: String,
    pub content_hash: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub last_event_at: DateTime<Utc>,
    pub steps_total: i64,
    pub passed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub blocked: i64,
    /// Time the drill was worked on: pauses and interruptions excluded.
    pub active_ms: i64,
    /// The last heartbeat of a rollsafe that had the drill open.
    pub alive_at: Option<DateTime<Utc>>,
}

impl DrillRow {
    /// The last moment the drill was known to be open: its last event or heartbeat.
    pub fn last_seen(&self) -> DateTime<Utc> {
        self.alive_at
            .map_or(self.last_event_at, |a| a.max(self.last_event_at))
    }

    /// Where the drill stands at `now`, in the vocabulary every screen uses.
    pub fn run_status(&self, now: DateTime<Utc>) -> crate::drill::RunStatus {
        crate::drill::RunStatus::of(&self.status, self.failed, self.blocked)
            .seen(self.last_seen(), now)
    }
}

/// A follow-up: a TODO note of some drill, open until closed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FollowUpRow {
    pub id: i64,
    pub drill_id: i64,
    pub playbook_id: String,
    pub step_id: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_note: Option<String>,
}

impl FollowUpRow {
    /// Whether it was noted on this step ("" for the drill as a whole).
    pub fn is_on(&self, step: &str) -> bool {
        self.step_id.as_deref().unwrap_or("") == step
    }
}

/// The playbook text a drill was started with.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub source_name: String,
    pub text: String,
}

/// Which drills the history shows; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillFilter {
    pub playbook_id: Option<String>,
    pub mode: Option<Mode>,
    pub status: Option<String>,
    /// Started at or after.
    pub since: Option<DateTime<Utc>>,
    /// Text that the drill's id, playbook id or title, or operator
    /// contains (case-insensitive for ASCII), as History's `/` types it.
    pub text: Option<String>,
    /// The moment `status` is judged at (running vs interrupted); now if unset.
    pub as_of: Option<DateTime<Utc>>,
}

/// Who this client is: the operator's name, and a token unique to this
/// process (`host:pid:nanos`), which the driver lock compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub name: String,
    pub token: String,
}

impl Default for Participant {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Participant {
            name: "operator".into(),
            token: format!("{}:{}:{nanos}", host_name(), std::process::id()),
        }
    }
}

/// Who holds a drill's drive: name, client token, last renewed (UTC ms).
type Holder = (Option<String>, Option<String>, Option<i64>);

/// How long a driver not heard from (event or heartbeat) keeps the drive:
/// as long as a drill takes to read as interrupted.
pub const DRIVE_LEASE_MS: i64 = crate::drill::INTERRUPTED_AFTER_SECS * 1000;

impl Participant {
    /// Whether the client holding `token` is known to be gone: it ran on this
    /// machine and its process no longer exists (a crash, `kill -9`), so its
    /// drill can be taken over at once instead of after the lease.
    pub fn is_gone(token: &str) -> bool {
        let mut parts = token.split(':');
        let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
            return false;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            return false;
        };
        if host != host_name() || pid <= 0 {
            return false;
        }
        // Signal 0 checks that the process exists; EPERM means it does.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        !alive
    }

    /// Whether a drive held by `token`, last renewed at `held_at` (UTC ms),
    /// still stands against this client at `now_ms`.
    pub fn blocked_by(&self, token: Option<&str>, held_at: Option<i64>, now_ms: i64) -> bool {
        match (token, held_at) {
            (Some(t), Some(at)) if t != self.token => {
                now_ms - at < DRIVE_LEASE_MS && !Participant::is_gone(t)
            }
            _ => false,
        }
    }
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).replace(':', "_")
    } else {
        "unknown-host".into()
    }
}

/// Whether appending these events needs the drive: anything but notes,
/// which any participant may add.
pub fn needs_drive(events: &[(&Event, &Drill)]) -> bool {
    events
        .iter()
        .any(|(e, _)| !matches!(e.kind, crate::drill::EventKind::Note { .. }))
}

/// What the app needs from a drill log. Every method either does all of
/// its work or none; an event is durable once `append` returns.
pub trait LogBackend {
    /// Fails with `Locked` when another program holds the log's write lock
    /// (after the busy timeout), before anything is shown or run.
    fn check_writable(&self) -> Result<()>;

    /// A full consistency check of the file (every page), for the commands
    /// that list from it: a damaged page must not read as fewer drills.
    fn check_pages(&self) -> Result<()>;

    /// Files whose permissions `open` narrowed, each as a sentence for the operator.
    fn tightened(&self) -> &[String];

    fn path(&self) -> &str;

    fn schema_version(&self) -> Result<usize>;

    /// Records a new drill from its `Started` event and returns its id.
    fn start_drill(&mut self, started: &Event, steps_total: usize) -> Result<i64>;

    /// Writes whole drills at once, for benchmarks and imports: one
    /// transaction (one fsync) for all of them, with cached statements,
    /// instead of one durable commit per event.
    ///
    /// Each entry of `drills` is one drill: the playbook its snapshot parses
    /// to, and its complete log as [`Store::events`] returns it (its `Started`
    /// event, then the rest in order). Drills are written in the order given,
    /// so ids follow it as they would in a live log. The rows
    /// written are exactly those [`Store::start_drill`] and one
    /// [`Store::append`] per event would leave: the same fold
    /// ([`Drill::fold`] then [`Drill::apply`]), the same per-step results,
    /// follow-ups and summary columns, taken after the last event. Returns the
    /// new ids, in order. Nothing is written if any drill is malformed.
    fn bulk_load(
        &mut self,
        drills: &[(&crate::playbook::Playbook, Vec<Event>)],
    ) -> Result<Vec<i64>>;

    /// Appends one event and the drill's summary after it, in one durable commit.
    /// `after` is the state with the event applied; callers show it only once
    /// this returns `Ok`.
    fn append(&mut self, drill_id: i64, event: &Event, after: &Drill) -> Result<()>;

    /// Appends several events, each with the state after it, in one
    /// transaction: all of them are in the log, or none is (an override's
    /// deviation never lands without its outcome).
    ///
    /// Anything but notes needs the drive: refused with `Driven` while
    /// another client drives the drill (see [`LogBackend::claim_drive`]);
    /// taken when the drive is free. Returns the last sequence number written.
    fn append_all(&mut self, drill_id: i64, events: &[(&Event, &Drill)]) -> Result<i64>;

    /// Names this client (the operator), as the driver lock shows it to others.
    fn identify(&mut self, name: &str);

    fn participant(&self) -> &Participant;

    /// Takes the drive of a drill at `at`: refused with `Driven` while another
    /// client holds it and was heard from within [`DRIVE_LEASE_MS`] (unless
    /// that client is known to be gone); `force` takes it over regardless.
    fn claim_drive(&mut self, drill_id: i64, at: DateTime<Utc>, force: bool) -> Result<()>;

    /// Gives the drive up (hand-over, leaving), if this client holds it.
    fn release_drive(&mut self, drill_id: i64) -> Result<()>;

    /// Who else drives the drill at `at`, if anyone does.
    fn driver(&self, drill_id: i64, at: DateTime<Utc>) -> Result<Option<String>>;

    /// The sequence number of the drill's latest event: followers poll it.
    fn last_seq(&self, drill_id: i64) -> Result<i64>;

    /// Follow-ups, oldest first: open ones only unless `closed` too; of one
    /// playbook or of all.
    fn follow_ups(&self, playbook_id: Option<&str>, closed: bool) -> Result<Vec<FollowUpRow>>;

    /// Closes follow-up `id` with an optional note. `Ok(None)`: no such one.
    /// The flag says whether it was open (closing it twice changes nothing).
    fn close_follow_up(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<Option<(FollowUpRow, bool)>>;

    /// Records that rollsafe is running this drill now (a heartbeat, not an
    /// event); it also renews this client's drive, if it holds it.
    fn touch(&mut self, drill_id: i64, at: DateTime<Utc>) -> Result<()>;

    /// The last moment the drill was known to be open: its last event or heartbeat.
    fn last_seen(&self, drill_id: i64) -> Result<DateTime<Utc>>;

    fn events(&self, drill_id: i64) -> Result<Vec<Event>>;

    fn snapshot(&self, drill_id: i64) -> Result<Snapshot>;

    fn drill(&self, drill_id: i64) -> Result<DrillRow>;

    /// Drills newest first, `limit` from `offset`.
    fn list_drills(&self, limit: usize, offset: usize) -> Result<Vec<DrillRow>>;

    /// Drills matching `filter`, newest first, `limit` from `offset`.
    fn list_drills_where(
        &self,
        filter: &DrillFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<DrillRow>>;

    fn count_drills_where(&self, filter: &DrillFilter) -> Result<usize>;

    /// Drills not finished nor aborted, newest first: candidates to resume.
    fn unfinished(&self) -> Result<Vec<DrillRow>>;

    /// Ids of the playbooks that have drills, by name.
    fn playbook_ids(&self) -> Result<Vec<String>>;

    /// Every drill of one playbook, newest first.
    fn drills_of(&self, playbook_id: &str) -> Result<Vec<DrillRow>>;

    /// Step results of every drill of one playbook, grouped by step, newest
    /// drill first within a step.
    fn step_samples(&self, playbook_id: &str) -> Result<Vec<crate::insight::StepSample>>;

    /// The latest results of each step of one playbook, newest first: per
    /// step, as many as it takes to hold at least `window.any` results and
    /// `window.timed` that were not skipped (or all it has). Reads a few
    /// index entries per step however long the history is.
    fn recent_step_samples(
        &self,
        playbook_id: &str,
        window: crate::insight::SampleWindow,
    ) -> Result<Vec<crate::insight::StepSample>>;

    /// Every step's outcomes and sorted durations over all drills of one
    /// playbook, in step id order: counts and one integer per run, read in
    /// index order.
    fn step_distributions(
        &self,
        playbook_id: &str,
    ) -> Result<Vec<crate::insight::StepDistribution>>;

    /// What one playbook's statistics need from all of its drills: counts,
    /// the sorted active times of its successful drills, its last success and
    /// its newest drill, read from the covering index without the drill rows.
    fn drill_facts(&self, playbook_id: &str) -> Result<crate::insight::DrillFacts>;

    /// The newest `limit` drills of one playbook, and also its newest
    /// `ended` drills that ended (so a run of drills still open cannot hide
    /// the last finished one), newest first. Both come from the covering
    /// index, never from the rows with their snapshots.
    fn recent_drills_of(
        &self,
        playbook_id: &str,
        limit: usize,
        ended: usize,
    ) -> Result<Vec<DrillRow>>;

    fn count_drills(&self) -> Result<i64>;

    /// A drill of this log that is `row` of another: the same start (to the
    /// millisecond), playbook, text, mode and operator. What `log push`
    /// checks so that pushing twice copies nothing twice.
    fn find_same(&self, row: &DrillRow) -> Result<Option<i64>>;
}

/// The drill log the app writes to and reads from: one backend behind the
/// [`LogBackend`] interface, whose methods it offers directly.
pub struct Store {
    log: Box<dyn LogBackend>,
}

impl Store {
    /// How `--db` is shown: a PostgreSQL URL without its password.
    pub fn describe(db: &Path) -> String {
        match db.to_str().filter(|s| pg_connect::is_postgres_url(s)) {
            Some(url) => pg_connect::redact(url),
            None => db.display().to_string(),
        }
    }

    /// Opens the log `--db` names: a `postgres://` URL, else a SQLite file.
    pub fn open_at(db: &Path) -> Result<Self> {
        match db.to_str().filter(|s| pg_connect::is_postgres_url(s)) {
            Some(url) => Ok(Self::with(postgres::PostgresLog::open(url)?)),
            None => Self::open(db),
        }
    }

    /// Opens (creating if needed) the SQLite log at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::with(sqlite::SqliteLog::open(path)?))
    }

    /// A log that lives in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Self> {
        Ok(Self::with(sqlite::SqliteLog::open_in_memory()?))
    }

    /// Creates a SQLite log at an older schema version, for upgrade tests.
    #[doc(hidden)]
    pub fn create_at_version(path: &Path, version: usize) -> Result<Self> {
        Ok(Self::with(sqlite::SqliteLog::create_at_version(
            path, version,
        )?))
    }

    pub fn with(log: impl LogBackend + 'static) -> Self {
        Self { log: Box::new(log) }
    }
}

impl std::ops::Deref for Store {
    type Target = dyn LogBackend;
    fn deref(&self) -> &Self::Target {
        self.log.as_ref()
    }
}

impl std::ops::DerefMut for Store {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.log.as_mut()
    }
}

/// Where the log lives when neither `--db` nor `ROLLSAFE_DB` says otherwise.
pub fn default_path() -> Option<PathBuf> {
    crate::paths::data_dir().map(|d| d.join("drills.db"))
}
