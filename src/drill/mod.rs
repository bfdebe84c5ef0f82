//! A drill: one rehearsal of a playbook, as an append-only list of events
//! and the state folded from them.

pub mod event;
pub mod lifecycle;
pub mod live;
pub mod session;
pub mod state;
pub mod status;

pub use event::{CommandPurpose, Event, EventKind, Mode};
pub use session::{Session, SessionError};
pub use state::{Drill, DrillStatus, Outcome};
pub use status::{INTERRUPTED_AFTER_SECS, RunStatus};
