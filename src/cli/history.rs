//! `rollsafe history`: drills, newest first.

use super::{Global, exit, print_json};

pub fn history(global: &Global, json: bool, limit: usize) -> i32 {
    let store = match global.open_checked_store_or_exit() {
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
    let now = chrono::Utc::now();
    if json {
        // `status` speaks the vocabulary of every screen; what the log
        // stores (completed whatever failed) stays as `stored_status`.
        let records: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("stored_status".into(), r.status.clone().into());
                    obj.insert("status".into(), r.run_status(now).code().into());
                }
                v
            })
            .collect();
        return print_json(&records);
    }
    if rows.is_empty() {
        println!("no drills yet: `rollsafe run <playbook>` starts one");
        return exit::OK;
    }
    println!(
        "{:>5}  {:<17}  {:<28} {:<8} {:<23} {:>5} {:>4} {:>4} {:>4}",
        "id", "started (UTC)", "playbook", "mode", "status", "steps", "pass", "fail", "skip"
    );
    for r in rows {
        println!(
            "{:>5}  {:<17}  {:<28} {:<8} {:<23} {:>5} {:>4} {:>4} {:>4}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M"),
            r.playbook_id,
            r.mode.as_str(),
            r.run_status(now).label(),
            r.steps_total,
            r.passed,
            r.failed,
            r.skipped
        );
    }
    exit::OK
}
