//! Checks shared by every playbook format: ids, gotos, empty parts.
//!
//! Loaders record where each part came from in a [`SourceMap`], so the
//! same rules report the same positions for TOML and Markdown.

use std::collections::HashMap;

use super::diagnostic::Reporter;
use super::model::{OnFail, Playbook, StepRef};

/// Byte offsets of the parts of a playbook in its source text.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    pub playbook: usize,
    pub phases: Vec<usize>,
    pub steps: HashMap<StepRef, StepSource>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StepSource {
    /// Where the step's id is written (or the step itself when the id is derived).
    pub id: usize,
    pub on_fail: Option<usize>,
}

pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        })
}

/// Lowercase, ASCII letters and digits joined by dashes: "Set timeouts!" -> "set-timeouts".
pub fn slug(text: &str) -> String {
    let out = slug_within(text, 48);
    if out.is_empty() {
        "step".to_string()
    } else {
        out
    }
}

/// The slug of `text` in at most `max` characters, empty when nothing is left.
pub fn slug_within(text: &str, max: usize) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    // Only ASCII is kept, so bytes are characters here.
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

pub fn check(playbook: &Playbook, map: &SourceMap, report: &mut Reporter<'_>) {
    if !is_valid_id(&playbook.id) {
        report.at(
            map.playbook,
            format!(
                "playbook id \"{}\" must use lowercase letters, digits, '-', '_' or '.'",
                playbook.id
            ),
        );
    }
    if playbook.title.trim().is_empty() {
        report.at(map.playbook, "playbook has no title");
    }
    if playbook.phases.is_empty() {
        report.at(
            map.playbook,
            "empty playbook: it has no phases and no steps",
        );
    }
    let mut phase_ids: HashMap<&str, usize> = HashMap::new();
    for (pi, phase) in playbook.phases.iter().enumerate() {
        let at = map.phases.get(pi).copied().unwrap_or(map.playbook);
        if phase.steps.is_empty() {
            report.at(at, format!("phase \"{}\" has no steps", phase.title));
        }
        if let Some(first) = phase_ids.insert(&phase.id, pi) {
            report.at(
                at,
                format!(
                    "duplicate phase id \"{}\" (also phase {})",
                    phase.id,
                    first + 1
                ),
            );
        }
    }
    let mut step_ids: HashMap<&str, StepRef> = HashMap::new();
    for (at, _, step) in playbook.steps() {
        let src = map.steps.get(&at).copied().unwrap_or_default();
        if !is_valid_id(&step.id) {
            report.at(
                src.id,
                format!(
                    "step id \"{}\" must use lowercase letters, digits, '-', '_' or '.'",
                    step.id
                ),
            );
        }
        if step.title.trim().is_empty() {
            report.at(src.id, format!("step \"{}\" has no title", step.id));
        }
        if let Some(first) = step_ids.insert(&step.id, at) {
            report.at(
                src.id,
                format!(
                    "duplicate step id \"{}\" (first used in phase {}, step {})",
                    step.id,
                    first.phase + 1,
                    first.step + 1
                ),
            );
        }
    }
    for (at, _, step) in playbook.steps() {
        if let OnFail::Goto(target) = &step.on_fail {
            let src = map.steps.get(&at).copied().unwrap_or_default();
            let pos = src.on_fail.unwrap_or(src.id);
            if !step_ids.contains_key(target.as_str()) {
                report.at(pos, format!("on_fail goes to unknown step \"{target}\""));
            } else if target == &step.id {
                report.at(pos, format!("on_fail of \"{target}\" goes to itself"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ids() {
        assert_eq!(
            slug("Set lock & statement timeouts!"),
            "set-lock-statement-timeouts"
        );
        assert_eq!(slug("  Ünïcode only  "), "n-code-only");
        assert_eq!(slug("!!!"), "step");
        assert!(is_valid_id(&slug(
            "Drop column `name` (point of no return)"
        )));
    }
}
