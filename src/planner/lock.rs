//! Which lock strategy a DDL step gets, chosen from its statements and the engine.
//!
//! A short lock timeout with retries suits statements that hold an exclusive or metadata
//! lock for a moment. It is wrong for a PostgreSQL concurrent index build: that waits for
//! every older snapshot, so a 2 s lock timeout fails whenever any transaction is older than
//! 2 s and leaves an INVALID index behind. Such builds get no short lock timeout, a
//! statement timeout sized to the build, and a snapshot check before they start instead.

use super::knowledge::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStrategy {
    /// Brief exclusive / metadata lock: short lock timeout, retry on the lock error.
    Brief,
    /// PostgreSQL `... CONCURRENTLY`: no short lock timeout, statement timeout, snapshot
    /// check first, no blind retry.
    Concurrent,
}

pub fn strategy(engine: &Engine, statements: &[String]) -> LockStrategy {
    let concurrent = engine.family == "postgres"
        && statements
            .iter()
            .any(|s| s.to_ascii_uppercase().contains(" CONCURRENTLY "));
    if concurrent {
        LockStrategy::Concurrent
    } else {
        LockStrategy::Brief
    }
}

/// The session statements that precede the step's statements.
pub fn session(engine: &Engine, strategy: LockStrategy, statement_timeout: &str) -> Vec<String> {
    match strategy {
        LockStrategy::Concurrent => vec![
            // 0 = no lock timeout: the build waits out old snapshots instead of failing.
            "SET lock_timeout = 0".to_string(),
            format!("SET statement_timeout = '{statement_timeout}'"),
        ],
        LockStrategy::Brief => engine
            .session
            .iter()
            .map(|s| {
                s.replace("{lock_timeout_s}", &engine.lock_timeout_s.to_string())
                    .replace(
                        "{lock_timeout_ms}",
                        &(engine.lock_timeout_s * 1000).to_string(),
                    )
                    .replace("{statement_timeout}", statement_timeout)
            })
            .collect(),
    }
}

/// Transactions older than this hold back a concurrent build; the check refuses to start
/// while any exists.
pub const SNAPSHOT_QUERY: &str = "SELECT count(*) FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() AND xact_start < now() - interval '5 minutes'";

/// The command guarded by the strategy: a retry loop on the lock error for brief locks;
/// a snapshot check then one run for concurrent builds (a retry would rebuild from scratch).
pub fn guard(strategy: LockStrategy, cmd: &str, lock_error: &str, snapshot_check: &str) -> String {
    match strategy {
        LockStrategy::Brief => retry_wrap(cmd, lock_error),
        LockStrategy::Concurrent => format!(
            "old=$({snapshot_check}) || exit 1\nold=$(printf '%s' \"$old\" | tr -d '[:space:]')\nif [ \"${{old:-1}}\" -ne 0 ]; then\n  echo \"$old transaction(s) older than 5 minutes: a concurrent build would wait for them; end them or wait, then run this step again\"\n  exit 1\nfi\n{cmd}"
        ),
    }
}

/// What the step's detail says about its locks.
pub fn describe(
    engine: &Engine,
    strategy: LockStrategy,
    statement_timeout: Option<&str>,
) -> String {
    match strategy {
        LockStrategy::Concurrent => format!(
            "Concurrent build: no short lock timeout (it waits for every older snapshot, and a lock timeout would leave an INVALID index); statement timeout {}; it starts only when no transaction is older than 5 minutes, and the DROP INDEX CONCURRENTLY IF EXISTS before it clears an INVALID index a failed run left.",
            statement_timeout.unwrap_or("the timebox")
        ),
        LockStrategy::Brief => format!(
            "Lock timeout {}s with retries on \"{}\"{}.",
            engine.lock_timeout_s,
            engine.lock_error,
            statement_timeout
                .map(|st| format!("; statement timeout {st}"))
                .unwrap_or_default()
        ),
    }
}

pub fn retry_wrap(cmd: &str, lock_error: &str) -> String {
    format!(
        "rc=1\nfor attempt in 1 2 3 4 5 6; do\n  if out=$({cmd} 2>&1); then\n    echo \"$out\"; rc=0; break\n  fi\n  echo \"$out\"\n  case \"$out\" in\n    *\"{lock_error}\"*) echo \"lock timeout: retry $attempt\"; sleep $((attempt * 5)) ;;\n    *) break ;;\n  esac\ndone\nexit $rc"
    )
}
