//! `rollsafe list`: the playbooks, bundled and yours, and any that do not load.

use serde::Serialize;

use super::{Global, Paint, exit, print_json};
use crate::playbook::duration::format_duration;
use crate::playbook::{self, Diagnostic};

#[derive(Serialize)]
struct PlaybookSummary<'a> {
    id: &'a str,
    title: &'a str,
    kind: &'a str,
    origin: &'a str,
    source: &'a str,
    phases: usize,
    steps: usize,
    points_of_no_return: usize,
    budget_seconds: Option<u64>,
    tags: &'a [String],
}

pub fn list(global: &Global, json: bool) -> i32 {
    let library = global.library();
    if json {
        #[derive(Serialize)]
        struct Listing<'a> {
            playbooks: Vec<PlaybookSummary<'a>>,
            broken: Vec<&'a Diagnostic>,
        }
        let listing = Listing {
            playbooks: library
                .playbooks
                .iter()
                .map(|l| PlaybookSummary {
                    id: &l.playbook.id,
                    title: &l.playbook.title,
                    kind: l.playbook.kind.as_str(),
                    origin: match l.origin {
                        playbook::Origin::Bundled(_) => "bundled",
                        playbook::Origin::File(_) => "file",
                    },
                    source: l.origin.label(),
                    phases: l.playbook.phases.len(),
                    steps: l.playbook.step_count(),
                    points_of_no_return: l.playbook.points_of_no_return(),
                    budget_seconds: l.playbook.budget.map(|b| b.as_secs()),
                    tags: &l.playbook.tags,
                })
                .collect(),
            broken: library.broken.iter().flat_map(|b| &b.problems).collect(),
        };
        return print_json(&listing);
    }
    let paint = Paint {
        on: global.stdout_color(),
    };
    let id_width = library
        .playbooks
        .iter()
        .map(|l| l.playbook.id.len())
        .max()
        .unwrap_or(2);
    for loaded in &library.playbooks {
        let p = &loaded.playbook;
        let budget = p
            .budget
            .map(|b| format!(" · budget {}", format_duration(b)))
            .unwrap_or_default();
        println!(
            "{}  {:<9} {:>2} steps{}  {}",
            paint.bold(&format!("{:<id_width$}", p.id)),
            p.kind.as_str(),
            p.step_count(),
            budget,
            paint.dim(&p.title)
        );
    }
    for broken in &library.broken {
        for problem in &broken.problems {
            eprintln!("{} {problem}", paint.red("error:"));
        }
    }
    if library.broken.is_empty() {
        exit::OK
    } else {
        exit::INVALID
    }
}
