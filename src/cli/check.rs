//! `rollsafe check`: validate playbook files, every problem as file:line:col.

use std::path::PathBuf;

use serde::Serialize;

use super::{Global, Paint, exit, print_json};
use crate::playbook::{self, Diagnostic};

pub fn check(global: &Global, files: &[PathBuf], json: bool) -> i32 {
    #[derive(Serialize)]
    struct FileResult {
        file: String,
        ok: bool,
        id: Option<String>,
        steps: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        page: Option<&'static str>,
        problems: Vec<Diagnostic>,
        /// The page loads, but a drill of it may mislead.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<Diagnostic>,
    }
    let mut results = Vec::new();
    for file in files {
        match playbook::load_file_reviewed(file) {
            Ok((loaded, warnings)) => results.push(FileResult {
                file: file.display().to_string(),
                ok: true,
                id: Some(loaded.playbook.id.clone()),
                steps: loaded.playbook.step_count(),
                page: loaded.playbook.page.map(|p| p.as_str()),
                problems: Vec::new(),
                warnings,
            }),
            Err(broken) => results.push(FileResult {
                file: file.display().to_string(),
                ok: false,
                id: None,
                steps: 0,
                page: None,
                problems: broken.problems,
                warnings: Vec::new(),
            }),
        }
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    if json {
        print_json(&results);
    } else {
        let paint = Paint {
            on: global.stdout_color(),
        };
        for r in &results {
            if r.ok {
                let page = r.page.map(|p| format!(", {p}")).unwrap_or_default();
                println!(
                    "{} {} ({}, {} steps{page})",
                    paint.green("ok"),
                    r.file,
                    r.id.as_deref().unwrap_or(""),
                    r.steps
                );
            }
            for warning in &r.warnings {
                println!("{} {warning}", paint.yellow("warning:"));
            }
            for problem in &r.problems {
                println!("{} {problem}", paint.red("error:"));
            }
        }
        let problems: usize = results.iter().map(|r| r.problems.len()).sum();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        println!(
            "{} checked, {failed} with problems, {}",
            plural(results.len(), "file"),
            plural(problems, "problem")
        );
    }
    if failed > 0 { exit::INVALID } else { exit::OK }
}
