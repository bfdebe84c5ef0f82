//! `rollsafe followup`: follow-ups stay open across drills until closed.

use chrono::Utc;

use super::{FollowupCommand, Global, exit, print_json, store_exit};

pub fn followup(global: &Global, cmd: &FollowupCommand) -> i32 {
    let mut store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        FollowupCommand::List {
            playbook,
            all,
            json,
        } => {
            let rows = match store.follow_ups(playbook.as_deref(), *all) {
                Ok(rows) => rows,
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    return store_exit(&e);
                }
            };
            if *json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("no open follow-ups: a note starting with TODO: opens one");
                return exit::OK;
            }
            for f in rows {
                let state = match (&f.closed_at, &f.closed_note) {
                    (None, _) => "open".to_string(),
                    (Some(at), note) => format!(
                        "closed {}{}",
                        at.format("%Y-%m-%d"),
                        note.as_deref()
                            .filter(|n| !n.is_empty())
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    ),
                };
                println!(
                    "{:>5}  {}  drill #{} {}  {}  [{state}]",
                    f.id,
                    f.playbook_id,
                    f.drill_id,
                    f.step_id.as_deref().unwrap_or("-"),
                    f.text
                );
            }
            exit::OK
        }
        FollowupCommand::Close { id, note } => {
            match store.close_follow_up(*id, Utc::now(), note.trim()) {
                Ok(Some((row, true))) => {
                    eprintln!("rollsafe: follow-up {} closed: {}", row.id, row.text);
                    exit::OK
                }
                Ok(Some((row, false))) => {
                    eprintln!("rollsafe: follow-up {} was already closed", row.id);
                    exit::INVALID
                }
                Ok(None) => {
                    eprintln!("rollsafe: no follow-up {id}: `rollsafe followup list` shows them");
                    exit::NOT_FOUND
                }
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    store_exit(&e)
                }
            }
        }
    }
}
