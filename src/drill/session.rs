//! A drill in progress: its playbook, its folded state, and the rule that
//! an event is durable in the log before the state (and so the screen) shows it.

use chrono::{DateTime, Utc};

use super::event::{Event, EventKind, Mode};
use super::state::{Drill, DrillStatus, FoldError};
use crate::playbook::{self, Diagnostic, Loaded, Playbook};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("drill #{id}: the stored playbook no longer parses: {}", first_problem(.problems))]
    Snapshot { id: i64, problems: Vec<Diagnostic> },
    #[error("drill #{id}: {source}")]
    Fold {
        id: i64,
        #[source]
        source: FoldError,
    },
}

fn first_problem(problems: &[Diagnostic]) -> String {
    problems
        .first()
        .map(|d| d.to_string())
        .unwrap_or_else(|| "unknown problem".into())
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub playbook: Playbook,
    pub drill: Drill,
    /// When the log last heard of the drill (event or heartbeat) as it was
    /// read; `None` for a drill this process started.
    pub last_seen: Option<DateTime<Utc>>,
    /// The sequence number of the latest event folded into `drill`; another
    /// client's event raises the log's past it, and [`Session::sync`] refolds.
    pub seen: i64,
}

impl Session {
    /// Starts a new drill: writes `Started` and `StepStarted` for the first step.
    pub fn start(
        store: &mut Store,
        loaded: &Loaded,
        mode: Mode,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, SessionError> {
        let started = Event::new(
            now,
            EventKind::Started {
                mode,
                operator: operator.to_string(),
                playbook_id: loaded.playbook.id.clone(),
                playbook_title: loaded.playbook.title.clone(),
                source_name: loaded.origin.label().to_string(),
                content_hash: playbook::content_hash(&loaded.source),
                snapshot: loaded.source.clone(),
            },
        );
        let id = store.start_drill(&started, loaded.playbook.step_count())?;
        let drill = Drill::fold(&loaded.playbook, std::slice::from_ref(&started))
            .map_err(|source| SessionError::Fold { id, source })?;
        let mut session = Session {
            id,
            playbook: loaded.playbook.clone(),
            drill,
            last_seen: None,
            seen: 0,
        };
        let first = session
            .playbook
            .steps()
            .next()
            .map(|(_, _, s)| s.id.clone());
        if let Some(step) = first {
            session.record(store, now, EventKind::StepStarted { step })?;
        }
        Ok(session)
    }

    /// Rebuilds a drill from the log, with the playbook exactly as it was run.
    pub fn resume(store: &Store, id: i64) -> Result<Self, SessionError> {
        let snapshot = store.snapshot(id)?;
        let playbook = playbook::parse(&snapshot.source_name, &snapshot.text)
            .map_err(|problems| SessionError::Snapshot { id, problems })?;
        let events = store.events(id)?;
        let drill =
            Drill::fold(&playbook, &events).map_err(|source| SessionError::Fold { id, source })?;
        let last_seen = store.last_seen(id).ok();
        Ok(Session {
            id,
            playbook,
            drill,
            last_seen,
            seen: events.len() as i64 - 1,
        })
    }

    /// Folds in what other clients added since this one last read the log
    /// (a driver's outcomes for a follower, a follower's notes for the
    /// driver). Returns whether anything changed. One indexed read when
    /// nothing did.
    pub fn sync(&mut self, store: &Store) -> Result<bool, SessionError> {
        if store.last_seq(self.id)? == self.seen {
            return Ok(false);
        }
        let events = store.events(self.id)?;
        self.drill = Drill::fold(&self.playbook, &events).map_err(|source| SessionError::Fold {
            id: self.id,
            source,
        })?;
        self.seen = events.len() as i64 - 1;
        Ok(true)
    }

    /// Reopens a drill to carry on with it. If rollsafe stopped while the
    /// drill ran (quit, crash, `kill -9`), the gap since it was last seen is
    /// logged as an interruption, so it counts on no clock.
    pub fn reopen(store: &mut Store, id: i64, now: DateTime<Utc>) -> Result<Self, SessionError> {
        let mut session = Self::resume(store, id)?;
        let drill = &session.drill;
        if drill.status == DrillStatus::Running && !drill.is_paused() {
            let last_seen = store.last_seen(id)?.max(drill.last_event_at);
            session.record(
                store,
                now.max(last_seen),
                EventKind::Interrupted { last_seen },
            )?;
        }
        Ok(session)
    }

    /// Commits several events in one transaction, then applies them: all or none.
    pub fn record_all(
        &mut self,
        store: &mut Store,
        at: DateTime<Utc>,
        kinds: Vec<EventKind>,
    ) -> Result<(), StoreError> {
        let events: Vec<Event> = kinds.into_iter().map(|k| Event::new(at, k)).collect();
        let mut after = self.drill.clone();
        let mut states = Vec::with_capacity(events.len());
        for event in &events {
            after.apply(event);
            states.push(after.clone());
        }
        let pairs: Vec<(&Event, &Drill)> = events.iter().zip(states.iter()).collect();
        let last = store.append_all(self.id, &pairs)?;
        self.drill = after;
        self.saw(last, events.len());
        Ok(())
    }

    /// Commits one event, then applies it. On error the state is unchanged.
    pub fn record(
        &mut self,
        store: &mut Store,
        at: DateTime<Utc>,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        let event = Event::new(at, kind);
        let mut after = self.drill.clone();
        after.apply(&event);
        let last = store.append_all(self.id, &[(&event, &after)])?;
        self.drill = after;
        self.saw(last, 1);
        Ok(())
    }

    /// After appending `n` events ending at `last`: if nobody else wrote in
    /// between, the fold is current; otherwise `seen` stays behind, so the
    /// next [`Session::sync`] refolds in log order.
    fn saw(&mut self, last: i64, n: usize) {
        if last == self.seen + n as i64 {
            self.seen = last;
        }
    }
}
