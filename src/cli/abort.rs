//! `rollsafe abort`: ends an unfinished drill as aborted, without the TUI,
//! so a killed CI rehearsal does not stay "running" forever.

use chrono::Utc;

use super::{Global, exit, store_exit};
use crate::drill::{DrillStatus, EventKind, Session, SessionError};

pub fn abort(global: &Global, drill: i64, reason: &str) -> i32 {
    let reason = reason.trim();
    if reason.is_empty() {
        eprintln!("rollsafe: --reason must say why drill #{drill} is aborted");
        return exit::USAGE;
    }
    let mut store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let status = match Session::resume(&store, drill) {
        Ok(session) => session.drill.status,
        Err(e) => return session_exit(&e),
    };
    if status != DrillStatus::Running {
        eprintln!(
            "rollsafe: drill #{drill} is already {}; nothing to abort",
            status.as_str()
        );
        return exit::INVALID;
    }
    let now = Utc::now();
    // reopen logs the time since rollsafe last saw the drill as an
    // interruption, so the abort does not count that gap as drill time.
    let mut session = match Session::reopen(&mut store, drill, now) {
        Ok(s) => s,
        Err(e) => return session_exit(&e),
    };
    let kind = EventKind::Aborted {
        reason: format!(
            "{reason} (aborted from the command line by {})",
            global.operator()
        ),
    };
    if let Err(e) = session.record(&mut store, now, kind) {
        eprintln!("rollsafe: {e}");
        return store_exit(&e);
    }
    eprintln!("rollsafe: drill #{drill} aborted");
    exit::OK
}

fn session_exit(err: &SessionError) -> i32 {
    eprintln!("rollsafe: {err}");
    match err {
        SessionError::Store(e) => store_exit(e),
        _ => exit::INVALID,
    }
}
