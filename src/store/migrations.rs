//! The log's schema, as ordered migrations that only add.
//!
//! `PRAGMA user_version` holds how many have been applied. Never edit a
//! shipped migration: append a new one, so a database made by any older
//! rollsafe upgrades in place without losing a drill.

pub const MIGRATIONS: &[&str] = &[
    // 1: drills and their events.
    "CREATE TABLE drills (
        id             INTEGER PRIMARY KEY,
        playbook_id    TEXT    NOT NULL,
        playbook_title TEXT    NOT NULL,
        mode           TEXT    NOT NULL CHECK (mode IN ('tabletop', 'live')),
        operator       TEXT    NOT NULL,
        content_hash   TEXT    NOT NULL,
        source_name    TEXT    NOT NULL,
        snapshot       TEXT    NOT NULL,
        status         TEXT    NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'completed', 'aborted')),
        started_at     INTEGER NOT NULL, -- UTC, milliseconds since the epoch
        ended_at       INTEGER,
        last_event_at  INTEGER NOT NULL,
        steps_total    INTEGER NOT NULL,
        passed         INTEGER NOT NULL DEFAULT 0,
        failed         INTEGER NOT NULL DEFAULT 0,
        skipped        INTEGER NOT NULL DEFAULT 0,
        blocked        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX drills_by_start ON drills (started_at DESC);
    CREATE INDEX drills_by_playbook ON drills (playbook_id, started_at DESC);
    CREATE TABLE events (
        drill_id INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        at       INTEGER NOT NULL, -- UTC, milliseconds since the epoch
        kind     TEXT    NOT NULL,
        step_id  TEXT,
        payload  TEXT    NOT NULL, -- the event as JSON
        PRIMARY KEY (drill_id, seq)
    ) WITHOUT ROWID;",
    // 2: unfinished drills are looked up at every start; per-step history
    // (timings, failures) reads events by step.
    "CREATE INDEX drills_running ON drills (status) WHERE status = 'running';
    CREATE INDEX events_by_step ON events (step_id, kind) WHERE step_id IS NOT NULL;",
    // 3: a heartbeat, so a drill reopened after a crash knows until when
    // rollsafe was running (the time after it does not count).
    "ALTER TABLE drills ADD COLUMN alive_at INTEGER;",
    // 4: what history statistics read, kept up to date in the same commit as
    // each event so stats never re-fold millions of events: the drill's
    // active time (pauses and interruptions excluded) and each step's result.
    "ALTER TABLE drills ADD COLUMN active_ms INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE step_results (
        drill_id    INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
        step_id     TEXT    NOT NULL,
        outcome     TEXT    NOT NULL CHECK (outcome IN ('passed', 'failed', 'skipped', 'blocked')),
        duration_ms INTEGER NOT NULL,
        ended_at    INTEGER NOT NULL,
        PRIMARY KEY (drill_id, step_id)
    ) WITHOUT ROWID;
    CREATE INDEX step_results_by_step ON step_results (step_id, ended_at);",
    // 5: history lists and statistics read drill summaries from indexes that
    // hold every column they need, never from the rows. A row carries its
    // playbook snapshot (~20 KB, in overflow pages) before the summary
    // columns, so reading `status` or `active_ms` from the row walks that
    // whole overflow chain: with 100,000 drills a playbook's statistics or a
    // count of the history read gigabytes. Ordered as the queries sort
    // (newest first, ties by id); they replace the two narrower indexes.
    "CREATE INDEX drills_list ON drills (started_at DESC, id DESC,
        playbook_id, playbook_title, mode, operator, status, content_hash,
        ended_at, last_event_at, steps_total, passed, failed, skipped, blocked, active_ms);
    CREATE INDEX drills_of_playbook ON drills (playbook_id, started_at DESC, id DESC,
        playbook_title, mode, operator, status, content_hash,
        ended_at, last_event_at, steps_total, passed, failed, skipped, blocked, active_ms);
    DROP INDEX drills_by_start;
    DROP INDEX drills_by_playbook;",
    // 6: statistics read by playbook, from narrow indexes:
    // - a drill's outcome and active time, so counts and the median of
    //   successful drills never touch the wide summary index;
    // - step results carry their drill's playbook and start, so one index
    //   range gives each step's latest results (recommendations) and another
    //   its outcomes and durations (medians), without a join.
    // step_results is rebuilt because `ALTER TABLE ... ADD COLUMN` cannot add
    // NOT NULL columns without a default; its old by-step index served no query.
    "CREATE INDEX drills_outcomes ON drills (playbook_id, status, failed, blocked, active_ms);
    CREATE TABLE step_results_v6 (
        drill_id         INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
        step_id          TEXT    NOT NULL,
        playbook_id      TEXT    NOT NULL,
        drill_started_at INTEGER NOT NULL,
        outcome          TEXT    NOT NULL CHECK (outcome IN ('passed', 'failed', 'skipped', 'blocked')),
        duration_ms      INTEGER NOT NULL,
        ended_at         INTEGER NOT NULL,
        PRIMARY KEY (drill_id, step_id)
    ) WITHOUT ROWID;
    INSERT INTO step_results_v6
        SELECT r.drill_id, r.step_id, d.playbook_id, d.started_at, r.outcome, r.duration_ms, r.ended_at
        FROM step_results r JOIN drills d ON d.id = r.drill_id;
    DROP TABLE step_results;
    ALTER TABLE step_results_v6 RENAME TO step_results;
    CREATE INDEX step_results_latest ON step_results (playbook_id, step_id,
        drill_started_at DESC, drill_id DESC, outcome, duration_ms);
    CREATE INDEX step_results_outcomes ON step_results (playbook_id, step_id, outcome, duration_ms);",
    // 7: evidence by kind. Only a live drill proves how long a step takes and
    // that a rollback works; a tabletop drill proves people know the steps.
    // Step results say which they come from, existing ones from their
    // drill's mode, and durations and live successes are read from indexes
    // that hold that.
    "ALTER TABLE step_results ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
    UPDATE step_results SET live = 1
        WHERE drill_id IN (SELECT id FROM drills WHERE mode = 'live');
    CREATE INDEX step_results_live_durations ON step_results (playbook_id, step_id, live, outcome, duration_ms);
    CREATE INDEX drills_live_outcomes ON drills (playbook_id, mode, status, failed, blocked, active_ms);",
    // 8: follow-ups are things: each TODO / FOLLOW-UP note stays open, across
    // drills, until someone closes it (with a note). Existing notes are read
    // from their events.
    "CREATE TABLE followups (
        id          INTEGER PRIMARY KEY,
        drill_id    INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        playbook_id TEXT    NOT NULL,
        step_id     TEXT,
        text        TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        closed_at   INTEGER,
        closed_note TEXT,
        UNIQUE (drill_id, seq)
    );
    CREATE INDEX followups_open ON followups (playbook_id, closed_at, created_at);
    INSERT INTO followups (drill_id, seq, playbook_id, step_id, text, created_at)
        SELECT e.drill_id, e.seq, d.playbook_id, e.step_id, json_extract(e.payload, '$.text'), e.at
        FROM events e JOIN drills d ON d.id = e.drill_id
        WHERE e.kind = 'note'
          AND (upper(ltrim(json_extract(e.payload, '$.text'))) LIKE 'TODO%'
               OR upper(ltrim(json_extract(e.payload, '$.text'))) LIKE 'FOLLOW-UP%'
               OR upper(ltrim(json_extract(e.payload, '$.text'))) LIKE 'FOLLOWUP%')
        ORDER BY e.drill_id, e.seq;",
    // 9: a drill left running tells "open now" from "interrupted" by its
    // heartbeat, so the list indexes hold it too (a list never reads rows:
    // the heartbeat sits after the snapshot, in overflow pages).
    "DROP INDEX drills_list;
    DROP INDEX drills_of_playbook;
    CREATE INDEX drills_list ON drills (started_at DESC, id DESC,
        playbook_id, playbook_title, mode, operator, status, content_hash,
        ended_at, last_event_at, steps_total, passed, failed, skipped, blocked, active_ms, alive_at);
    CREATE INDEX drills_of_playbook ON drills (playbook_id, started_at DESC, id DESC,
        playbook_title, mode, operator, status, content_hash,
        ended_at, last_event_at, steps_total, passed, failed, skipped, blocked, active_ms, alive_at);",
    // 10: a playbook's text is stored once per content hash, not once per
    // drill (most drills of a playbook run the same text). A drill keeps its
    // own copy only if its text differs from the one stored under its hash,
    // so no text is ever lost. Freed pages are reused by later drills.
    "CREATE TABLE snapshots (
        content_hash TEXT PRIMARY KEY,
        text         TEXT NOT NULL
    );
    INSERT OR IGNORE INTO snapshots (content_hash, text)
        SELECT content_hash, snapshot FROM drills WHERE snapshot != '' ORDER BY id;
    UPDATE drills SET snapshot = ''
        WHERE snapshot = (SELECT s.text FROM snapshots s WHERE s.content_hash = drills.content_hash);",
    // 11: several clients can open one drill; one drives it (records
    // outcomes), the others follow and add notes. The driver's name, its
    // client token and when it last renewed the drive, so a second driver
    // is refused while the first is alive.
    "ALTER TABLE drills ADD COLUMN driver TEXT;
    ALTER TABLE drills ADD COLUMN driver_token TEXT;
    ALTER TABLE drills ADD COLUMN driver_at INTEGER;",
];
