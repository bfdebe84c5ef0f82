pub mod cli;
pub mod playbook;
pub mod drill;
pub mod exec;
pub mod paths;
pub mod store;
pub mod tui;
