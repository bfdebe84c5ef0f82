//! The drill log in SQLite: the only code that speaks its SQL.
//!
//! Every event is written in its own transaction with `synchronous=FULL`, so
//! once `append` returns, the event survives a crash, `kill -9` or power loss.
//! Times are stored as UTC milliseconds since the epoch.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::migrations::MIGRATIONS;
use super::record::{
    self, NewDrill, StepResult, Summary, from_ms, interrupted_before, ms, not_started, outcome_of,
    step_of,
};
use super::{
    BUSY_TIMEOUT, DERIVED_SINCE, DRIVERS_SINCE, DrillFilter, DrillRow, FollowUpRow, Holder,
    LogBackend, Participant, Result, SNAPSHOTS_SINCE, Snapshot, StoreError, default_path,
    needs_drive,
};
use crate::drill::{Drill, Event, EventKind, Mode, Outcome};

pub struct SqliteLog {
    conn: Connection,
    path: String,
    /// Schema version in force. Derived tables are written only at the
    /// latest version: older shapes exist only in upgrade tests, which
    /// write events alone and let `open` derive the rest.
    schema: usize,
    /// Notes about files made private on open, for the CLI to print.
    tightened: Vec<String>,
    /// This client, for the driver lock.
    me: Participant,
}

fn follow_up_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FollowUpRow> {
    Ok(FollowUpRow {
        id: r.get(0)?,
        drill_id: r.get(1)?,
        playbook_id: r.get(2)?,
        step_id: r.get(3)?,
        text: r.get(4)?,
        created_at: from_ms(r.get(5)?),
        closed_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
        closed_note: r.get(7)?,
    })
}

impl SqliteLog {
    /// Opens (creating if needed) the log at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let mut tightened = Vec::new();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let existed = parent.exists();
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: label.clone(),
                detail: format!("cannot create directory {}: {e}", parent.display()),
            })?;
            // A directory we create, and rollsafe's own data directory, are
            // private whatever the umask; another directory that was already
            // there (e.g. /tmp or a project dir) belongs to its owner.
            let ours = default_path().is_some_and(|d| d.parent() == Some(parent));
            if !existed || ours {
                private_mode(parent, 0o700, &mut tightened);
            }
        }
        let created = !path.exists();
        if created {
            // Create the file 0600 ourselves so SQLite never makes it under a
            // lax umask; the log holds commands and their output.
            create_private(path).map_err(|e| StoreError::Open {
                path: label.clone(),
                detail: e.to_string(),
            })?;
        }
        private_mode(path, 0o600, &mut tightened);
        let opened = Connection::open(path)
            .map_err(|e| classify(&label, e))
            .and_then(|conn| Self::setup(conn, label.clone()));
        let mut store = match opened {
            Ok(store) => store,
            Err(e) if created => {
                // A log we could not even set up (a full disk, a file-size
                // limit) is not left behind as an empty or partial file.
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut name = path.as_os_str().to_owned();
                    name.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(name));
                }
                return Err(e);
            }
            // Read-only media: the log can still be read (history, report);
            // a write then fails with a clear error.
            Err(e @ StoreError::Open { .. }) => Self::open_read_only(path, &label).ok_or(e)?,
            Err(e) => return Err(e),
        };
        store.tightened = tightened;
        Ok(store)
    }

    /// Opens an existing log that cannot be written (read-only media), as
    /// long as its schema is the one this build knows (nothing to migrate).
    fn open_read_only(path: &Path, label: &str) -> Option<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        // `immutable` is the fallback for a WAL log whose -shm cannot be made
        // next to it: SQLite then reads the main file as it stands.
        for query in ["mode=ro", "immutable=1"] {
            let uri = format!("file:{}?{query}", uri_path(path));
            let Ok(conn) = Connection::open_with_flags(&uri, flags) else {
                continue;
            };
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
            let mut store = SqliteLog {
                conn,
                path: label.to_string(),
                schema: 0,
                tightened: Vec::new(),
                me: Participant::default(),
            };
            match store.schema_version() {
                Ok(v) if v == MIGRATIONS.len() => {
                    store.schema = v;
                    return Some(store);
                }
                _ => continue,
            }
        }
        None
    }

    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| classify(":memory:", e))?;
        Self::setup(conn, ":memory:".into())
    }

    fn setup(conn: Connection, path: String) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify(&path, e))?;
        // WAL lets history be read while a drill writes; FULL makes each
        // commit durable on its own, which is the promise of the log.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| classify(&path, e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| classify(&path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| classify(&path, e))?;
        let mut store = SqliteLog {
            conn,
            path,
            schema: 0,
            tightened: Vec::new(),
            me: Participant::default(),
        };
        let before = store.schema_version()?;
        store.migrate(MIGRATIONS.len())?;
        if before > 0 && before < DERIVED_SINCE {
            store.rebuild_derived()?;
        }
        Ok(store)
    }

    /// Recomputes the tables derived from events (per-step results, active
    /// time) for every drill: run once when an older log gains them.
    fn rebuild_derived(&mut self) -> Result<()> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM drills")
                .map_err(|e| classify(&self.path, e))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(|e| classify(&self.path, e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| classify(&self.path, e))?
        };
        for id in ids {
            let snapshot = self.snapshot(id)?;
            // A drill whose playbook no longer parses keeps its events; it
            // simply has no per-step statistics.
            let Ok(playbook) = crate::playbook::parse(&snapshot.source_name, &snapshot.text) else {
                continue;
            };
            let events = self.events(id)?;
            let Some((first, rest)) = events.split_first() else {
                continue;
            };
            let Ok(mut drill) = Drill::fold(&playbook, std::slice::from_ref(first)) else {
                continue;
            };
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
            for event in rest {
                drill.apply(event);
                update_step_result(&tx, id, event, &drill).map_err(|e| classify(&path, e))?;
            }
            let last = events.last().map_or(drill.started_at, |e| e.at);
            tx.execute(
                "UPDATE drills SET active_ms = ?2 WHERE id = ?1",
                params![id, drill.elapsed(last).as_millis() as i64],
            )
            .map_err(|e| classify(&path, e))?;
            tx.commit().map_err(|e| classify(&path, e))?;
        }
        Ok(())
    }

    /// Applies migrations up to `target` (exclusive count), each in its own transaction.
    fn migrate(&mut self, target: usize) -> Result<()> {
        let current = self.schema_version()?;
        if current > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: current,
                known: MIGRATIONS.len(),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
            let path = self.path.clone();
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| classify(&path, e))?;
            tx.execute_batch(sql).map_err(|e| classify(&path, e))?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)
                .map_err(|e| classify(&path, e))?;
            tx.commit().map_err(|e| classify(&path, e))?;
        }
        self.schema = self.schema_version()?;
        Ok(())
    }

    /// For upgrade tests: a database left at an older schema version.
    #[doc(hidden)]
    pub fn create_at_version(path: &Path, version: usize) -> Result<Self> {
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| classify(&label, e))?;
        let mut store = SqliteLog {
            conn,
            path: label,
            schema: 0,
            tightened: Vec::new(),
            me: Participant::default(),
        };
        store.migrate(version)?;
        Ok(store)
    }
}

/// Each method as [`LogBackend`] documents it.
impl LogBackend for SqliteLog {
    fn check_writable(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| classify(&self.path, e))
    }

    fn check_pages(&self) -> Result<()> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "damaged page: {}",
                    verdict.replace("*** in database main ***", "").trim()
                ),
            })
        }
    }

    fn tightened(&self) -> &[String] {
        &self.tightened
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn schema_version(&self) -> Result<usize> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        Ok(v as usize)
    }

    fn start_drill(&mut self, started: &Event, steps_total: usize) -> Result<i64> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        let shared = self.schema >= SNAPSHOTS_SINCE;
        let Some(id) =
            insert_drill(&tx, started, steps_total, shared).map_err(|e| classify(&path, e))?
        else {
            return Err(not_started(0));
        };
        if self.schema >= DRIVERS_SINCE {
            // Whoever starts a drill drives it.
            set_driver(&tx, id, &self.me, ms(started.at)).map_err(|e| classify(&path, e))?;
        }
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(id)
    }

    #[doc(hidden)]
    fn bulk_load(
        &mut self,
        drills: &[(&crate::playbook::Playbook, Vec<Event>)],
    ) -> Result<Vec<i64>> {
        let path = self.path.clone();
        let derived = self.schema == MIGRATIONS.len();
        let shared = self.schema >= SNAPSHOTS_SINCE;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        let mut ids = Vec::with_capacity(drills.len());
        for (playbook, events) in drills {
            let Some((started, rest)) = events.split_first() else {
                return Err(not_started(0));
            };
            let Some(id) = insert_drill(&tx, started, playbook.step_count(), shared)
                .map_err(|e| classify(&path, e))?
            else {
                return Err(not_started(0));
            };
            let mut drill = Drill::fold(playbook, std::slice::from_ref(started))
                .map_err(|_| not_started(id))?;
            for (seq, event) in (1..).zip(rest) {
                insert_event(&tx, id, seq, event).map_err(|e| classify(&path, e))?;
                drill.apply(event);
                if derived {
                    update_step_result(&tx, id, event, &drill).map_err(|e| classify(&path, e))?;
                    insert_follow_up(&tx, id, seq, event, &drill)
                        .map_err(|e| classify(&path, e))?;
                }
            }
            if let Some(last) = rest.last() {
                write_summary(&tx, id, last, &drill, derived).map_err(|e| classify(&path, e))?;
            }
            ids.push(id);
        }
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(ids)
    }

    fn append(&mut self, drill_id: i64, event: &Event, after: &Drill) -> Result<()> {
        self.append_all(drill_id, &[(event, after)]).map(|_| ())
    }

    fn append_all(&mut self, drill_id: i64, events: &[(&Event, &Drill)]) -> Result<i64> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        if self.schema >= DRIVERS_SINCE
            && let Some((last, _)) = events.last().filter(|_| needs_drive(events))
        {
            let now = ms(last.at);
            check_drive(&tx, drill_id, &self.me, now, false).map_err(|e| e.or_sql(&path))?;
            set_driver(&tx, drill_id, &self.me, now).map_err(|e| classify(&path, e))?;
        }
        let seq: Option<i64> = tx
            .query_row(
                "SELECT MAX(seq) FROM events WHERE drill_id = ?1",
                [drill_id],
                |r| r.get(0),
            )
            .map_err(|e| classify(&path, e))?;
        let Some(mut last) = seq else {
            return Err(StoreError::NoSuchDrill(drill_id));
        };
        let derived = self.schema == MIGRATIONS.len();
        for (event, after) in events {
            last += 1;
            insert_event(&tx, drill_id, last, event).map_err(|e| classify(&path, e))?;
            if derived {
                update_step_result(&tx, drill_id, event, after).map_err(|e| classify(&path, e))?;
                insert_follow_up(&tx, drill_id, last, event, after)
                    .map_err(|e| classify(&path, e))?;
            }
            write_summary(&tx, drill_id, event, after, derived).map_err(|e| classify(&path, e))?;
        }
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(last)
    }

    fn identify(&mut self, name: &str) {
        self.me.name = name.to_string();
    }

    fn participant(&self) -> &Participant {
        &self.me
    }

    fn claim_drive(&mut self, drill_id: i64, at: DateTime<Utc>, force: bool) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        check_drive(&tx, drill_id, &self.me, ms(at), force).map_err(|e| e.or_sql(&path))?;
        set_driver(&tx, drill_id, &self.me, ms(at)).map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    fn release_drive(&mut self, drill_id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE drills SET driver_token = NULL, driver_at = NULL
                 WHERE id = ?1 AND driver_token = ?2",
                params![drill_id, self.me.token],
            )
            .map(|_| ())
            .map_err(|e| classify(&self.path, e))
    }

    fn driver(&self, drill_id: i64, at: DateTime<Utc>) -> Result<Option<String>> {
        if self.schema < DRIVERS_SINCE {
            return Ok(None);
        }
        let (name, token, held) = read_driver(&self.conn, drill_id)
            .map_err(|e| classify(&self.path, e))?
            .ok_or(StoreError::NoSuchDrill(drill_id))?;
        Ok(self
            .me
            .blocked_by(token.as_deref(), held, ms(at))
            .then(|| name.unwrap_or_else(|| "someone".into())))
    }

    fn last_seq(&self, drill_id: i64) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT MAX(seq) FROM events WHERE drill_id = ?1")
            .and_then(|mut stmt| stmt.query_row([drill_id], |r| r.get::<_, Option<i64>>(0)))
            .map_err(|e| classify(&self.path, e))?
            .ok_or(StoreError::NoSuchDrill(drill_id))
    }

    fn follow_ups(&self, playbook_id: Option<&str>, closed: bool) -> Result<Vec<FollowUpRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, drill_id, playbook_id, step_id, text, created_at, closed_at, closed_note
                 FROM followups
                 WHERE (?1 IS NULL OR playbook_id = ?1) AND (?2 OR closed_at IS NULL)
                 ORDER BY created_at, id",
            )
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(params![playbook_id, closed], follow_up_from_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn close_follow_up(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<Option<(FollowUpRow, bool)>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        let changed = tx
            .execute(
                "UPDATE followups SET closed_at = ?2, closed_note = ?3
                 WHERE id = ?1 AND closed_at IS NULL",
                params![id, ms(at), note],
            )
            .map_err(|e| classify(&path, e))?;
        let row = tx
            .query_row(
                "SELECT id, drill_id, playbook_id, step_id, text, created_at, closed_at, closed_note
                 FROM followups WHERE id = ?1",
                [id],
                follow_up_from_row,
            )
            .optional()
            .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(row.map(|r| (r, changed == 1)))
    }

    fn touch(&mut self, drill_id: i64, at: DateTime<Utc>) -> Result<()> {
        let sql = if self.schema >= DRIVERS_SINCE {
            "UPDATE drills SET alive_at = ?2,
                 driver_at = CASE WHEN driver_token = ?3 THEN ?2 ELSE driver_at END
             WHERE id = ?1"
        } else {
            "UPDATE drills SET alive_at = ?2 WHERE id = ?1 AND ?3 IS NOT NULL"
        };
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params![drill_id, ms(at), self.me.token]))
            .map_err(|e| classify(&self.path, e))?;
        Ok(())
    }

    fn last_seen(&self, drill_id: i64) -> Result<DateTime<Utc>> {
        self.conn
            .query_row(
                "SELECT MAX(last_event_at, COALESCE(alive_at, 0)) FROM drills WHERE id = ?1",
                [drill_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(|e| classify(&self.path, e))?
            .map(from_ms)
            .ok_or(StoreError::NoSuchDrill(drill_id))
    }

    fn events(&self, drill_id: i64) -> Result<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, payload FROM events WHERE drill_id = ?1 ORDER BY seq")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([drill_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| classify(&self.path, e))?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, payload) = row.map_err(|e| classify(&self.path, e))?;
            let event: Event =
                serde_json::from_str(&payload).map_err(|e| StoreError::BadEvent {
                    drill: drill_id,
                    seq,
                    detail: e.to_string(),
                })?;
            events.push(event);
        }
        if events.is_empty() {
            return Err(StoreError::NoSuchDrill(drill_id));
        }
        if let Some(EventKind::Started { snapshot, .. }) = events.first_mut().map(|e| &mut e.kind)
            && snapshot.is_empty()
        {
            *snapshot = self.snapshot(drill_id)?.text;
        }
        Ok(events)
    }

    fn snapshot(&self, drill_id: i64) -> Result<Snapshot> {
        // A drill's own copy, else the text stored once under its hash.
        let sql = if self.schema >= SNAPSHOTS_SINCE {
            "SELECT d.source_name, CASE WHEN d.snapshot != '' THEN d.snapshot ELSE s.text END
             FROM drills d LEFT JOIN snapshots s ON s.content_hash = d.content_hash
             WHERE d.id = ?1"
        } else {
            "SELECT source_name, snapshot FROM drills WHERE id = ?1"
        };
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row([drill_id], |r| {
                    Ok(Snapshot {
                        source_name: r.get(0)?,
                        text: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    })
                })
            })
            .optional()
            .map_err(|e| classify(&self.path, e))?
            .ok_or(StoreError::NoSuchDrill(drill_id))
    }

    fn drill(&self, drill_id: i64) -> Result<DrillRow> {
        self.conn
            .query_row(
                &format!("SELECT {DRILL_COLUMNS} FROM drills WHERE id = ?1"),
                [drill_id],
                drill_from_row,
            )
            .optional()
            .map_err(|e| classify(&self.path, e))?
            .ok_or(StoreError::NoSuchDrill(drill_id))
    }

    fn list_drills(&self, limit: usize, offset: usize) -> Result<Vec<DrillRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRILL_COLUMNS} FROM drills ORDER BY started_at DESC, id DESC LIMIT ?1 OFFSET ?2"
            ))
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(params![limit as i64, offset as i64], drill_from_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn list_drills_where(
        &self,
        filter: &DrillFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<DrillRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRILL_COLUMNS} FROM drills WHERE {FILTER_SQL}
                 ORDER BY started_at DESC, id DESC LIMIT ?6 OFFSET ?7"
            ))
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(
                params![
                    filter.playbook_id,
                    filter.mode.map(|m| m.as_str()),
                    filter.status,
                    filter.since.map(ms),
                    filter.text,
                    limit as i64,
                    offset as i64,
                    interrupted_before(filter)
                ],
                drill_from_row,
            )
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn count_drills_where(&self, filter: &DrillFilter) -> Result<usize> {
        self.conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM drills WHERE {FILTER_SQL}"))
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        filter.playbook_id,
                        filter.mode.map(|m| m.as_str()),
                        filter.status,
                        filter.since.map(ms),
                        filter.text,
                        None::<i64>,
                        None::<i64>,
                        interrupted_before(filter)
                    ],
                    |r| r.get::<_, i64>(0),
                )
            })
            .map(|n| n.max(0) as usize)
            .map_err(|e| classify(&self.path, e))
    }

    fn unfinished(&self) -> Result<Vec<DrillRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRILL_COLUMNS} FROM drills WHERE status = 'running' ORDER BY last_event_at DESC"
            ))
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], drill_from_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn playbook_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT playbook_id FROM drills ORDER BY playbook_id")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn drills_of(&self, playbook_id: &str) -> Result<Vec<DrillRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRILL_COLUMNS} FROM drills WHERE playbook_id = ?1 ORDER BY started_at DESC, id DESC"
            ))
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([playbook_id], drill_from_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn step_samples(&self, playbook_id: &str) -> Result<Vec<crate::insight::StepSample>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SAMPLE_COLUMNS} FROM step_results WHERE playbook_id = ?1
                 ORDER BY step_id, drill_started_at DESC, drill_id DESC"
            ))
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([playbook_id], sample_from_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| classify(&self.path, e))
    }

    fn recent_step_samples(
        &self,
        playbook_id: &str,
        window: crate::insight::SampleWindow,
    ) -> Result<Vec<crate::insight::StepSample>> {
        let path = &self.path;
        // Step ids by skip-scan: each lookup is one index seek.
        let mut next_step = self
            .conn
            .prepare_cached(
                "SELECT min(step_id) FROM step_results WHERE playbook_id = ?1 AND step_id > ?2",
            )
            .map_err(|e| classify(path, e))?;
        let mut of_step = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SAMPLE_COLUMNS} FROM step_results WHERE playbook_id = ?1 AND step_id = ?2
                 ORDER BY drill_started_at DESC, drill_id DESC"
            ))
            .map_err(|e| classify(path, e))?;
        let mut out = Vec::new();
        let mut after = String::new();
        while let Some(step) = next_step
            .query_row(params![playbook_id, after], |r| {
                r.get::<_, Option<String>>(0)
            })
            .map_err(|e| classify(path, e))?
        {
            let mut rows = of_step
                .query(params![playbook_id, step])
                .map_err(|e| classify(path, e))?;
            let (mut any, mut timed) = (0, 0);
            while any < window.any || timed < window.timed {
                let Some(row) = rows.next().map_err(|e| classify(path, e))? else {
                    break;
                };
                let sample = sample_from_row(row).map_err(|e| classify(path, e))?;
                any += 1;
                timed += usize::from(sample.outcome != Outcome::Skipped);
                out.push(sample);
            }
            after = step;
        }
        Ok(out)
    }

    fn step_distributions(
        &self,
        playbook_id: &str,
    ) -> Result<Vec<crate::insight::StepDistribution>> {
        let path = &self.path;
        let mut counts = self
            .conn
            .prepare_cached(
                "SELECT step_id, outcome, count(*) FROM step_results
                 WHERE playbook_id = ?1 GROUP BY step_id, outcome ORDER BY step_id",
            )
            .map_err(|e| classify(path, e))?;
        let mut out: Vec<crate::insight::StepDistribution> = Vec::new();
        let mut rows = counts.query([playbook_id]).map_err(|e| classify(path, e))?;
        while let Some(row) = rows.next().map_err(|e| classify(path, e))? {
            let read = || -> rusqlite::Result<(Outcome, usize)> {
                Ok((outcome_at(row, 1)?, row.get::<_, i64>(2)?.max(0) as usize))
            };
            let (outcome, n) = read().map_err(|e| classify(path, e))?;
            let step = row.get_ref(0).and_then(|v| Ok(v.as_str()?));
            let step = step.map_err(|e| classify(path, e))?;
            if out.last().is_none_or(|d| d.step_id != step) {
                out.push(crate::insight::StepDistribution {
                    step_id: step.to_string(),
                    ..Default::default()
                });
            }
            let d = out.last_mut().expect("pushed above");
            match outcome {
                Outcome::Passed => d.passed = n,
                Outcome::Failed => d.failed = n,
                Outcome::Skipped => d.skipped = n,
                Outcome::Blocked => d.blocked = n,
            }
        }
        drop(rows);
        let mut durations = self
            .conn
            .prepare_cached(
                "SELECT duration_ms FROM step_results
                 WHERE playbook_id = ?1 AND step_id = ?2 AND live = 1 AND outcome = ?3
                 ORDER BY duration_ms",
            )
            .map_err(|e| classify(path, e))?;
        for d in &mut out {
            // Each outcome's durations come sorted from the index; the three
            // runs are merged by one sort of already-sorted pieces.
            for outcome in [Outcome::Passed, Outcome::Failed, Outcome::Blocked] {
                let mut rows = durations
                    .query(params![playbook_id, d.step_id, outcome.as_str()])
                    .map_err(|e| classify(path, e))?;
                while let Some(row) = rows.next().map_err(|e| classify(path, e))? {
                    let ms: i64 = row.get(0).map_err(|e| classify(path, e))?;
                    d.done.push(Duration::from_millis(ms.max(0) as u64));
                }
            }
            d.done.sort();
        }
        Ok(out)
    }

    fn drill_facts(&self, playbook_id: &str) -> Result<crate::insight::DrillFacts> {
        let path = &self.path;
        let counts = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*),
                        coalesce(sum(status = 'completed'), 0),
                        coalesce(sum(status = 'aborted'), 0),
                        coalesce(sum(status = 'running'), 0),
                        coalesce(sum({SUCCEEDED}), 0)
                 FROM drills INDEXED BY drills_outcomes WHERE playbook_id = ?1" // Named: the wide summary index would answer too, reading
                                                                                // ten times the pages.
            ))
            .map_err(|e| classify(path, e))?
            .query_row([playbook_id], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as usize);
                Ok(crate::insight::DrillCounts {
                    drills: n(0)?,
                    completed: n(1)?,
                    aborted: n(2)?,
                    running: n(3)?,
                    succeeded: n(4)?,
                })
            })
            .map_err(|e| classify(path, e))?;
        let mut durations = self
            .conn
            .prepare_cached(&format!(
                "SELECT active_ms FROM drills
                 WHERE playbook_id = ?1 AND mode = 'live' AND {SUCCEEDED} ORDER BY active_ms"
            ))
            .map_err(|e| classify(path, e))?;
        let success_durations = durations
            .query_map([playbook_id], |r| {
                Ok(Duration::from_millis(r.get::<_, i64>(0)?.max(0) as u64))
            })
            .map_err(|e| classify(path, e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| classify(path, e))?;
        let last_success = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, coalesce(ended_at, last_event_at) FROM drills
                 WHERE playbook_id = ?1 AND mode = 'live' AND {SUCCEEDED}
                 ORDER BY started_at DESC, id DESC LIMIT 1"
            ))
            .map_err(|e| classify(path, e))?
            .query_row([playbook_id], |r| Ok((r.get(0)?, from_ms(r.get(1)?))))
            .optional()
            .map_err(|e| classify(path, e))?;
        let latest_hash = self
            .conn
            .prepare_cached(
                "SELECT content_hash FROM drills WHERE playbook_id = ?1
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .map_err(|e| classify(path, e))?
            .query_row([playbook_id], |r| r.get(0))
            .optional()
            .map_err(|e| classify(path, e))?;
        Ok(crate::insight::DrillFacts {
            counts,
            success_durations,
            last_success,
            latest_hash,
        })
    }

    fn recent_drills_of(
        &self,
        playbook_id: &str,
        limit: usize,
        ended: usize,
    ) -> Result<Vec<DrillRow>> {
        let mut rows = Vec::new();
        for (filter, n) in [("", limit), ("AND status != 'running'", ended)] {
            let sql = format!(
                "SELECT {DRILL_COLUMNS} FROM drills WHERE playbook_id = ?1 {filter}
                 ORDER BY started_at DESC, id DESC LIMIT ?2"
            );
            let mut stmt = self
                .conn
                .prepare_cached(&sql)
                .map_err(|e| classify(&self.path, e))?;
            let found = stmt
                .query_map(params![playbook_id, n as i64], drill_from_row)
                .map_err(|e| classify(&self.path, e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| classify(&self.path, e))?;
            rows.extend(found);
        }
        rows.sort_by_key(|d| std::cmp::Reverse((d.started_at, d.id)));
        rows.dedup_by_key(|d| d.id);
        Ok(rows)
    }

    fn find_same(&self, row: &DrillRow) -> Result<Option<i64>> {
        self.conn
            .prepare_cached(
                "SELECT id FROM drills WHERE started_at = ?1 AND playbook_id = ?2
                     AND content_hash = ?3 AND mode = ?4 AND operator = ?5
                 ORDER BY id LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        ms(row.started_at),
                        row.playbook_id,
                        row.content_hash,
                        row.mode.as_str(),
                        row.operator
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| classify(&self.path, e))
    }

    fn count_drills(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM drills", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))
    }
}

/// The WHERE clause for [`DrillFilter`], over bound parameters ?1..?5 and ?8.
/// ?3 is a [`crate::drill::RunStatus`] code: "completed" means without a
/// failed or blocked step, as everywhere else.
const FILTER_SQL: &str = "(?1 IS NULL OR playbook_id = ?1) AND (?2 IS NULL OR mode = ?2)
     AND (?3 IS NULL OR (CASE WHEN status = 'completed' AND (failed > 0 OR blocked > 0)
                                   THEN 'completed_with_failures'
                              WHEN status = 'running'
                                   AND MAX(last_event_at, COALESCE(alive_at, 0)) < ?8
                                   THEN 'interrupted'
                              ELSE status END) = ?3)
     AND (?4 IS NULL OR started_at >= ?4)
     AND (?5 IS NULL OR instr(lower(id || ' ' || playbook_id || ' ' || playbook_title || ' ' || operator),
                              lower(?5)) > 0)";

/// Columns read by [`drill_from_row`], in its order. A constant, never user input.
const DRILL_COLUMNS: &str = "id, playbook_id, playbook_title, mode, operator, status, content_hash, \
     started_at, ended_at, last_event_at, steps_total, passed, failed, skipped, blocked, active_ms, alive_at";

/// A drill that completed with no failed or blocked step, as SQL; the same
/// rule as [`crate::insight::succeeded`].
/// Written with separate equalities (counts are never negative) so the
/// `drills_outcomes` index answers it in `active_ms` order.
const SUCCEEDED: &str = "(status = 'completed' AND failed = 0 AND blocked = 0)";

const SAMPLE_COLUMNS: &str = "drill_id, step_id, outcome, duration_ms, drill_started_at, live";

/// A stored outcome, read without allocating (this runs once per result).
fn outcome_at(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Outcome> {
    Ok(outcome_of(r.get_ref(index)?.as_str()?))
}

fn sample_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::insight::StepSample> {
    Ok(crate::insight::StepSample {
        drill_id: r.get(0)?,
        step_id: r.get(1)?,
        outcome: outcome_at(r, 2)?,
        duration: Duration::from_millis(r.get::<_, i64>(3)?.max(0) as u64),
        drill_started_at: from_ms(r.get(4)?),
        live: r.get(5)?,
    })
}

fn drill_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DrillRow> {
    let mode: String = r.get(3)?;
    Ok(DrillRow {
        id: r.get(0)?,
        playbook_id: r.get(1)?,
        playbook_title: r.get(2)?,
        mode: Mode::parse(&mode).unwrap_or_default(),
        operator: r.get(4)?,
        status: r.get(5)?,
        content_hash: r.get(6)?,
        started_at: from_ms(r.get(7)?),
        ended_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
        last_event_at: from_ms(r.get(9)?),
        steps_total: r.get(10)?,
        passed: r.get(11)?,
        failed: r.get(12)?,
        skipped: r.get(13)?,
        blocked: r.get(14)?,
        active_ms: r.get(15)?,
        alive_at: r.get::<_, Option<i64>>(16)?.map(from_ms),
    })
}

/// Inserts a drill's row and its `Started` event (seq 0); the summary
/// columns keep their defaults until an event is appended. `None` when
/// `started` is not a `Started` event. With `shared` snapshots (schema 10
/// on) the playbook text goes into `snapshots` once per hash, and the drill
/// keeps its own copy only if another text already holds that hash.
fn insert_drill(
    tx: &rusqlite::Transaction<'_>,
    started: &Event,
    steps_total: usize,
    shared: bool,
) -> rusqlite::Result<Option<i64>> {
    let Some(NewDrill {
        playbook_id,
        playbook_title,
        mode,
        operator,
        content_hash,
        source_name,
        snapshot,
        started_at,
    }) = NewDrill::of(started)
    else {
        return Ok(None);
    };
    let own: &str = if shared {
        tx.prepare_cached("INSERT OR IGNORE INTO snapshots (content_hash, text) VALUES (?1, ?2)")?
            .execute(params![content_hash, snapshot])?;
        let same: bool = tx
            .prepare_cached("SELECT text = ?2 FROM snapshots WHERE content_hash = ?1")?
            .query_row(params![content_hash, snapshot], |r| r.get(0))?;
        if same { "" } else { snapshot }
    } else {
        snapshot
    };
    tx.prepare_cached(
        "INSERT INTO drills (playbook_id, playbook_title, mode, operator, content_hash,
             source_name, snapshot, started_at, last_event_at, steps_total)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
    )?
    .execute(params![
        playbook_id,
        playbook_title,
        mode.as_str(),
        operator,
        content_hash,
        source_name,
        own,
        started_at,
        steps_total as i64
    ])?;
    let id = tx.last_insert_rowid();
    insert_event(tx, id, 0, started)?;
    Ok(Some(id))
}

/// A refusal of the drive, or a database error on the way.
enum DriveError {
    Driven(StoreError),
    Sql(rusqlite::Error),
}

impl DriveError {
    fn or_sql(self, path: &str) -> StoreError {
        match self {
            DriveError::Driven(e) => e,
            DriveError::Sql(e) => classify(path, e),
        }
    }
}

fn read_driver(conn: &Connection, drill_id: i64) -> rusqlite::Result<Option<Holder>> {
    conn.prepare_cached("SELECT driver, driver_token, driver_at FROM drills WHERE id = ?1")?
        .query_row([drill_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
}

/// Refuses the drive to `me` while another live client holds it.
fn check_drive(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    me: &Participant,
    now: i64,
    force: bool,
) -> std::result::Result<(), DriveError> {
    let (name, token, held) = read_driver(tx, drill_id)
        .map_err(DriveError::Sql)?
        .ok_or(DriveError::Driven(StoreError::NoSuchDrill(drill_id)))?;
    if !force && me.blocked_by(token.as_deref(), held, now) {
        return Err(DriveError::Driven(StoreError::Driven {
            drill: drill_id,
            by: name.unwrap_or_else(|| "someone".into()),
        }));
    }
    Ok(())
}

fn set_driver(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    me: &Participant,
    at: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE drills SET driver = ?2, driver_token = ?3, driver_at = ?4 WHERE id = ?1",
    )?
    .execute(params![drill_id, me.name, me.token, at])?;
    Ok(())
}

/// The drill's summary columns as of `event`, with `after` the state once
/// it is applied; `derived` also writes the active time (schema 4 on).
fn write_summary(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    event: &Event,
    after: &Drill,
    derived: bool,
) -> rusqlite::Result<()> {
    let s = Summary::of(event, after);
    if derived {
        tx.prepare_cached("UPDATE drills SET active_ms = ?2 WHERE id = ?1")?
            .execute(params![drill_id, s.active_ms])?;
    }
    tx.prepare_cached(
        "UPDATE drills SET status = ?2, ended_at = ?3, last_event_at = ?4,
             passed = ?5, failed = ?6, skipped = ?7, blocked = ?8
         WHERE id = ?1",
    )?
    .execute(params![
        drill_id,
        s.status,
        s.ended_at,
        s.last_event_at,
        s.passed,
        s.failed,
        s.skipped,
        s.blocked,
    ])?;
    Ok(())
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    seq: i64,
    event: &Event,
) -> rusqlite::Result<()> {
    let payload =
        record::payload(event).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.prepare_cached(
        "INSERT INTO events (drill_id, seq, at, kind, step_id, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![drill_id, seq, ms(event.at), event.kind.name(), step_of(&event.kind), payload])?;
    Ok(())
}

/// Keeps `step_results` equal to the fold: a step's row exists while it has an outcome.
fn update_step_result(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    event: &Event,
    after: &Drill,
) -> rusqlite::Result<()> {
    match StepResult::of(event, after) {
        Some(StepResult::Set {
            step,
            playbook_id,
            drill_started_at,
            outcome,
            duration_ms,
            ended_at,
            live,
        }) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO step_results
                     (drill_id, step_id, playbook_id, drill_started_at, outcome, duration_ms, ended_at, live)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                drill_id,
                step,
                playbook_id,
                drill_started_at,
                outcome.as_str(),
                duration_ms,
                ended_at,
                live
            ])?;
        }
        Some(StepResult::Clear { step }) => {
            tx.prepare_cached("DELETE FROM step_results WHERE drill_id = ?1 AND step_id = ?2")?
                .execute(params![drill_id, step])?;
        }
        None => {}
    }
    Ok(())
}

/// A TODO / FOLLOW-UP note opens a follow-up, in the same commit as the note.
fn insert_follow_up(
    tx: &rusqlite::Transaction<'_>,
    drill_id: i64,
    seq: i64,
    event: &Event,
    after: &Drill,
) -> rusqlite::Result<()> {
    if let Some((step, text)) = record::follow_up(event) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO followups (drill_id, seq, playbook_id, step_id, text, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            drill_id,
            seq,
            after.playbook_id,
            step,
            text,
            ms(event.at)
        ])?;
    }
    Ok(())
}

/// `path` for a `file:` URI: the characters URIs reserve are escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Creates an empty file readable by its owner only (O_EXCL: never clobbers).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Narrows `path` to `mode` when group or others have any access, noting it;
/// a file we cannot change (read-only media, not ours) is left as it is.
fn private_mode(path: &Path, mode: u32, notes: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let current = meta.permissions().mode() & 0o777;
    if current & 0o077 == 0 {
        return;
    }
    if std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).is_ok() {
        notes.push(format!(
            "made {} private ({:o} -> {:o}): the drill log holds commands and their output",
            path.display(),
            current,
            mode
        ));
    }
}

/// Turns SQLite's errors into ones that say what to do.
fn classify(path: &str, err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    // A record SQLite reads but cannot be what we wrote (bad UTF-8, wrong
    // type) is damage to the file, not a bug to show raw.
    let damaged = match &err {
        rusqlite::Error::FromSqlConversionFailure(column, _, why) => {
            Some(format!("a record's column {column} cannot be read: {why}"))
        }
        rusqlite::Error::Utf8Error(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => {
            Some(format!("a record cannot be read: {err}"))
        }
        _ => None,
    };
    if let Some(detail) = damaged {
        return StoreError::Corrupt {
            path: path.into(),
            detail,
        };
    }
    if let rusqlite::Error::SqliteFailure(code, detail) = &err {
        match code.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Locked { path: path.into() };
            }
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                return StoreError::Corrupt {
                    path: path.into(),
                    detail: detail.clone().unwrap_or_else(|| err.to_string()),
                };
            }
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly => {
                return StoreError::Open {
                    path: path.into(),
                    detail: detail.clone().unwrap_or_else(|| err.to_string()),
                };
            }
            _ => {}
        }
    }
    StoreError::Sql {
        path: path.into(),
        source: err,
    }
}
