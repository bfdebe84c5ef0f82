//! `rollsafe show`: one playbook's phases and steps, as text, JSON or TOML.

use std::io::Write;

use super::{Global, Paint, exit, print_json};
use crate::playbook::duration::format_duration;
use crate::playbook::{self, CommandKind};

pub fn show(global: &Global, id_or_path: &str, json: bool, toml: bool) -> i32 {
    let library = global.library();
    let loaded = match library.resolve(id_or_path) {
        Ok(l) => l,
        Err(broken) => {
            for p in &broken.problems {
                eprintln!("rollsafe: {p}");
            }
            return if std::path::Path::new(id_or_path).exists() {
                exit::INVALID
            } else {
                exit::NOT_FOUND
            };
        }
    };
    if json {
        return print_json(&loaded.playbook);
    }
    if toml {
        print!(
            "{}",
            playbook::toml_format::to_toml_for_review(&loaded.playbook)
        );
        return exit::OK;
    }
    let paint = Paint {
        on: global.stdout_color(),
    };
    let p = &loaded.playbook;
    let mut out = std::io::stdout().lock();
    let page = p
        .page
        .map(|k| format!(", {}", k.as_str()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}  ({}, {}{page})",
        paint.bold(&p.title),
        p.id,
        p.kind.as_str()
    );
    if let Some(b) = p.budget {
        let _ = writeln!(out, "budget {}", format_duration(b));
    }
    if !p.description.is_empty() {
        let _ = writeln!(out, "\n{}", p.description);
    }
    if !p.variables.is_empty() {
        let _ = writeln!(out, "\nvariables:");
        for v in &p.variables {
            let default = v
                .default
                .as_deref()
                .map(|d| format!(" = {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  ${{{}}}{default}  {}",
                v.name,
                paint.dim(&v.description)
            );
        }
    }
    for (pi, phase) in p.phases.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("{} {}", pi + 1, phase.title))
        );
        for (si, step) in phase.steps.iter().enumerate() {
            let timebox = step
                .timebox
                .map(|t| format!(" [{}]", format_duration(t)))
                .unwrap_or_default();
            let pnr = if step.point_of_no_return {
                paint.red(" ⛔ point of no return")
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {}.{} {}{timebox}{pnr}", pi + 1, si + 1, step.title);
            if let Some(command) = &step.command {
                let prompt = match &step.command_kind {
                    CommandKind::Run => "$",
                    CommandKind::Paste(into) => {
                        let _ =
                            writeln!(out, "      {}", paint.dim(&format!("paste into {into}:")));
                        ">"
                    }
                    CommandKind::Reference => {
                        let _ = writeln!(out, "      {}", paint.dim("for reference, not run:"));
                        "|"
                    }
                };
                for line in command.lines() {
                    let _ = writeln!(out, "      {prompt} {line}");
                }
            }
            if let Some(output) = &step.expected_output {
                let _ = writeln!(out, "      {}", paint.dim("expected output:"));
                for line in output.lines() {
                    let _ = writeln!(out, "        {}", paint.dim(line));
                }
            }
            if let Some(verify) = &step.verify {
                let _ = writeln!(
                    out,
                    "      verify: {} → {}",
                    verify.command.lines().next().unwrap_or(""),
                    verify.expect.describe()
                );
            }
        }
    }
    if !p.sources.is_empty() {
        let _ = writeln!(out, "\nsources:");
        for s in &p.sources {
            let _ = writeln!(out, "  {s}");
        }
    }
    exit::OK
}
