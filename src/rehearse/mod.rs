//! `rollsafe rehearse`: a live drill without a terminal UI, for CI and
//! laptops. The driver knows nothing of terminals; `cli` prints.

pub mod driver;
pub mod probe_windows;
pub mod summary;

pub use driver::{Driver, Ending, StepObserver};
