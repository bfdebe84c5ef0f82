pub mod cli;
pub mod drill;
pub mod exec;
pub mod insight;
pub mod paths;
pub mod playbook;
pub mod store;
pub mod tui;
