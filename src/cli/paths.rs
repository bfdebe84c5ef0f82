//! `rollsafe paths`: where the log and the playbooks live.

use std::path::PathBuf;

use super::{Global, exit};

pub fn paths(global: &Global) -> i32 {
    let db = global
        .db_path()
        .unwrap_or_else(|e| PathBuf::from(format!("(none: {e})")));
    println!("drill log:  {}", db.display());
    match global.playbooks_dir() {
        Some(dir) => println!("playbooks:  {}", dir.display()),
        None => println!("playbooks:  (no config directory)"),
    }
    exit::OK
}
