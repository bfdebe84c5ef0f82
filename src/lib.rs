pub mod playbook;
pub mod drill;
pub mod paths;
pub mod store;
