//! `rollsafe history`: drills, newest first.

use super::{Global, exit, print_json};

pub fn history(global: &Global, json: bool, limit: usize) -> i32 {
    let store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rows = match store.list_drills(limit, 0) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::DATABASE;
        }
    };
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("no drills yet: `rollsafe run <playbook>` starts one");
        return exit::OK;
    }
    println!(
        "{:>5}  {:<17}  {:<28} {:<8} {:<9} {:>5} {:>4} {:>4} {:>4}",
        "id", "started (UTC)", "playbook", "mode", "status", "steps", "pass", "fail", "skip"
    );
    for r in rows {
        println!(
            "{:>5}  {:<17}  {:<28} {:<8} {:<9} {:>5} {:>4} {:>4} {:>4}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M"),
            r.playbook_id,
            r.mode.as_str(),
            r.status,
            r.steps_total,
            r.passed,
            r.failed,
            r.skipped
        );
    }
    exit::OK
}
