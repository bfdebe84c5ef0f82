//! What `rollsafe rehearse` prints when the drill ends: one line per step
//! for people, or the drill's journal with the result for scripts.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::driver::{Ending, signal_name};
use crate::drill::Session;
use crate::playbook::duration::format_clock;
use crate::playbook::vars::{self, Vars};
use crate::report::{self, Journal};

/// Lines of a failed command's output shown under its step.
const OUTPUT_TAIL_LINES: usize = 12;

#[derive(Debug, Serialize)]
pub struct Variable {
    pub name: String,
    /// Secrets masked: see [`vars::shown_value`].
    pub value: String,
    /// --var | environment | default
    pub source: String,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// passed | failed | aborted | interrupted
    pub result: String,
    /// Why an aborted or interrupted drill ended.
    pub reason: Option<String>,
    pub drill_id: i64,
    pub variables: Vec<Variable>,
    /// The drill as logged, in the shape `rollsafe report --format json` prints.
    pub journal: Journal,
}

pub fn result_label(ending: &Ending) -> &'static str {
    match ending {
        Ending::Passed => "passed",
        Ending::Failed => "failed",
        Ending::Aborted { .. } => "aborted",
        Ending::Interrupted { .. } => "interrupted",
    }
}

pub fn variables(vars: &Vars) -> Vec<Variable> {
    vars.values
        .iter()
        .map(|(name, (value, source))| Variable {
            name: name.clone(),
            value: vars::shown_value(name, value),
            source: source.label().to_string(),
        })
        .collect()
}

pub fn summary(session: &Session, vars: &Vars, ending: &Ending) -> Summary {
    let reason = match ending {
        Ending::Aborted { reason } | Ending::Interrupted { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    Summary {
        result: result_label(ending).to_string(),
        reason,
        drill_id: session.id,
        variables: variables(vars),
        journal: report::journal(session),
    }
}

/// `NAME = value (source)`, one per line, for before anything runs.
pub fn variable_lines(vars: &Vars) -> String {
    let width = vars.values.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for v in variables(vars) {
        let _ = writeln!(
            out,
            "  {:<width$} = {} ({})",
            v.name,
            v.value,
            v.source,
            width = width
        );
    }
    out
}

fn secs(value: f64) -> String {
    if value < 60.0 {
        format!("{value:.2}s")
    } else {
        format_clock(Duration::from_secs_f64(value))
    }
}

/// The per-step summary for people.
pub fn text(summary: &Summary, ending: &Ending) -> String {
    let j = &summary.journal;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ndrill #{} of {}: {} in {}",
        j.drill_id,
        j.playbook_id,
        summary.result.to_uppercase(),
        secs(j.duration)
    );
    let id_width = j.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for step in &j.steps {
        let mark = match step.status.as_str() {
            "succeeded" => "ok  ",
            "failed" => "FAIL",
            "skipped" => "skip",
            "blocked" => "blck",
            _ if step.start.is_some() => "stop",
            _ => "  - ",
        };
        let runs: Vec<String> = step
            .output
            .iter()
            .map(|r| {
                let exit = r
                    .exit_code
                    .map(|c| format!("exit {c}"))
                    .unwrap_or_else(|| "no exit".into());
                format!("{} {} {}", r.purpose, secs(r.duration), exit)
            })
            .collect();
        let time = if step.start.is_none() {
            "not run".to_string()
        } else {
            secs(step.duration)
        };
        let line = format!(
            "  {mark} {:<id_width$} {:>9}  {}",
            step.id,
            time,
            runs.join(", "),
            id_width = id_width
        );
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(reason) = step.reason.as_ref().filter(|_| step.status != "succeeded") {
            let _ = writeln!(out, "       {reason}");
        }
        if let Some(probe) = &step.probe {
            let _ = writeln!(out, "       probe: {}", probe.one_line());
        }
        if step.status == "failed"
            && let Some(last) = step.output.last()
        {
            let lines: Vec<&str> = last.output.lines().collect();
            let from = lines.len().saturating_sub(OUTPUT_TAIL_LINES);
            for line in &lines[from..] {
                let _ = writeln!(out, "       | {line}");
            }
        }
    }
    match ending {
        Ending::Aborted { reason } => {
            let _ = writeln!(out, "aborted: {reason}");
        }
        Ending::Interrupted { signal, reason } => {
            let _ = writeln!(out, "{}: {reason}", signal_name(*signal));
        }
        _ => {}
    }
    let _ = writeln!(
        out,
        "the drill is in the log: rollsafe report {}",
        j.drill_id
    );
    out
}
