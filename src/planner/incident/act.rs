//! Mitigations that act: each matched category changes commands or steps of the plan.

/// Every act a category may name in `assets/incidents.toml`.
pub const ACTS: [&str; 18] = [
    "lock-timeout",
    "online-build",
    "throttle-backfill",
    "no-down-path",
    "no-paid-undo",
    "old-code-smoke",
    "idempotent-non-tx",
    "restart-after-orm",
    "pooler-safe-timeouts",
    "repair-rehearsal",
    "time-restore",
    "verify-backup",
    "rehearse-rollback",
    "db-default",
    "single-runner",
    "cast-compare",
    "capacity-check",
    "target-guard",
];
