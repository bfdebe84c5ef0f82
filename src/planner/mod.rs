//! The migration and rollback planner: intake -> phased playbook,
//! roll-forward verdict and rehearsal checklist. No terminal code here; the
//! CLI (`rollsafe plan`) and the TUI wizard share it.

pub mod backfill;
pub mod carry;
pub mod checklist;
pub mod classify;
pub mod files;
pub mod from_sql;
pub mod history;
pub mod incident;
pub mod intake;
pub mod knowledge;
pub mod lock;
pub mod plan;
pub mod recommend;
pub mod render;
pub mod schema;
pub mod schema_live;
pub mod version_gate;

pub use intake::{Intake, RawIntake};
pub use knowledge::Knowledge;
pub use plan::{Plan, PlanHistory, plan};
