//! `rollsafe log push`: a local log into a team's shared one.

use std::io::IsTerminal;
use std::path::Path;

use super::{Global, exit, print_json, store_exit};
use crate::store::{Store, push};

pub fn push(global: &Global, to: &Path, json: bool) -> i32 {
    let from = match global.open_checked_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let target = Store::describe(to);
    let mut into = match Store::open_at(to) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return store_exit(&e);
        }
    };
    if from.path() == into.path() {
        eprintln!("rollsafe: --to names the log being pushed ({target}); nothing to do");
        return exit::USAGE;
    }
    // Progress on a terminal only: scripts read the summary.
    let show = std::io::stderr().is_terminal() && !json;
    let result = push::push(&*from, &mut *into, |done, total| {
        if show && (done == total || done % 50 == 0) {
            eprint!("\rrollsafe: {done}/{total} drills checked");
            if done == total {
                eprintln!();
            }
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "rollsafe: {e}\nrollsafe: drills copied before this are complete; push again to carry on"
            );
            return store_exit(&e);
        }
    };
    if json {
        return print_json(&report);
    }
    println!(
        "pushed {} drill(s) to {target}; {} already there",
        report.pushed.len(),
        report.already_there.len()
    );
    if !report.still_running.is_empty() {
        let ids: Vec<String> = report
            .still_running
            .iter()
            .map(|i| format!("#{i}"))
            .collect();
        println!(
            "left {} still running ({}): push again once they end",
            ids.len(),
            ids.join(", ")
        );
    }
    for (id, why) in &report.unreadable {
        println!("not pushed: drill #{id}, its stored playbook does not parse: {why}");
    }
    exit::OK
}
