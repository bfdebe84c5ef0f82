//! `rollsafe paths`: where the log and the playbooks live.

use super::{Global, exit};

pub fn paths(global: &Global) -> i32 {
    let db = global
        .db_path()
        .map(|p| crate::store::Store::describe(&p))
        .unwrap_or_else(|e| format!("(none: {e})"));
    println!("drill log:  {db}");
    match global.playbooks_dir() {
        Some(dir) => println!("playbooks:  {}", dir.display()),
        None => println!("playbooks:  (no config directory)"),
    }
    exit::OK
}
