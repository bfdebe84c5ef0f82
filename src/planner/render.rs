//! Plan output: Markdown for people, TOML for the runner, JSON for scripts.

use std::fmt::Write;

use super::plan::Plan;
use crate::playbook::duration::format_duration;
use crate::playbook::toml_format::to_toml;

/// What the plan read about the tables, or assumed without a schema: at the top, before
/// anything else a reviewer reads.
fn schema_section(o: &mut String, plan: &Plan) {
    if !plan.warnings.is_empty() {
        let _ = writeln!(o, "## Warning: this plan may stop writes\n");
        for w in &plan.warnings {
            let _ = writeln!(
                o,
                "- **{w}.** Give the real row count (--rows, --schema-from): the plan then refuses what the deployment or the RTO cannot take."
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Schema\n");
    match &plan.intake.schema {
        Some(s) => {
            let _ = writeln!(o, "Read from `{}` (--schema-from).\n", s.from);
        }
        None if plan.facts.is_empty() && plan.assumed_rows.is_empty() => {
            let _ = writeln!(
                o,
                "No schema was read (pass --schema-from URL or a schema-only dump); the steps need nothing the change does not state."
            );
        }
        None => {
            let _ = writeln!(
                o,
                "No schema was read (pass --schema-from URL or a schema-only dump). Assumed:\n"
            );
        }
    }
    for f in &plan.facts {
        let _ = writeln!(o, "- {f}");
    }
    if plan.intake.schema.is_none() {
        for t in &plan.assumed_rows {
            let _ = writeln!(
                o,
                "- {t} rows: unknown, timeboxes assume a default (pass --rows)"
            );
        }
    }
    let _ = writeln!(o);
}

pub fn markdown(plan: &Plan) -> String {
    let mut o = String::new();
    let p = &plan.playbook;
    let i = &plan.intake;
    let _ = writeln!(o, "# {}\n", p.title);
    let _ = writeln!(
        o,
        "Playbook id `{}` · rollback drill id `{}`\n",
        p.id, plan.rollback_playbook.id
    );
    schema_section(&mut o, plan);
    let _ = writeln!(o, "## Inputs\n");
    let _ = writeln!(
        o,
        "- deploy: {}{}",
        i.deploy,
        if i.flags {
            " (feature flags available)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "- engine: {} {}{}",
        i.engine.id,
        i.engine.version,
        i.engine
            .edition
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let _ = writeln!(o, "- tool: {}", i.tool);
    for (n, c) in i.changes.iter().enumerate() {
        let _ = writeln!(o, "- change {}: {} ({})", n + 1, c.text, c.op);
    }
    for (t, n) in &i.rows {
        let _ = writeln!(o, "- rows: {t} = {}", super::plan::group(*n));
    }
    if let Some(r) = i.rto {
        let _ = writeln!(o, "- rto: {}", format_duration(r));
    }
    let _ = writeln!(
        o,
        "\n## Recommendation\n\n{}\n",
        plan.recommendation.verdict
    );
    let _ = writeln!(o, "### Rollback window\n");
    for w in &plan.recommendation.windows {
        let _ = writeln!(
            o,
            "- **{}** `{}` → `{}`: {}",
            w.class.label(),
            w.from_step,
            w.to_step,
            w.text
        );
    }
    let _ = writeln!(o, "\n### Why\n");
    for r in &plan.recommendation.reasons {
        let _ = writeln!(o, "- [{}] {}", r.input.label(), r.text);
    }
    if !plan.incidents.is_empty() {
        let _ = writeln!(o, "\n## Incident history\n");
        for m in &plan.incidents {
            let _ = writeln!(o, "{}. \"{}\"", m.number, m.text);
            if m.categories.is_empty() {
                let _ = writeln!(
                    o,
                    "   - no known category matched; {}",
                    lower_ask(&plan.ask)
                );
            }
            for c in &m.categories {
                let _ = writeln!(o, "   - {}", c.reasoning());
            }
        }
    }
    let _ = writeln!(o, "\n## Playbook\n");
    let mut n = 0;
    for (pi, phase) in p.phases.iter().enumerate() {
        let _ = writeln!(o, "### {} {}\n", pi + 1, phase.title);
        for (si, s) in phase.steps.iter().enumerate() {
            let meta = &plan.steps[n];
            n += 1;
            let _ = writeln!(
                o,
                "#### {}.{} {}{}\n",
                pi + 1,
                si + 1,
                s.title,
                if s.point_of_no_return {
                    " ⛔ point of no return"
                } else {
                    ""
                }
            );
            let _ = writeln!(
                o,
                "`{}` · {} · timebox {} · rollback class so far: {}\n",
                s.id,
                s.role.as_deref().unwrap_or("-"),
                s.timebox.map(format_duration).unwrap_or_else(|| "-".into()),
                meta.cumulative.label()
            );
            let _ = writeln!(o, "{}\n", s.detail);
            if let Some(c) = &s.command {
                let _ = writeln!(o, "```sh\n{c}\n```\n");
            }
            if let Some(v) = &s.verify {
                let _ = writeln!(
                    o,
                    "Verify ({}):\n\n```sh\n{}\n```\n",
                    v.expect.describe(),
                    v.command
                );
            }
            if let Some(r) = &s.rollback {
                let _ = writeln!(o, "Rollback: {r}\n");
            }
        }
    }
    let _ = writeln!(o, "## Rehearsal and verification checklist\n");
    for sec in &plan.checklist {
        let _ = writeln!(o, "### {}\n", sec.title);
        for item in &sec.items {
            let _ = writeln!(o, "- [ ] {item}");
        }
        let _ = writeln!(o);
    }
    if !p.variables.is_empty() {
        let _ = writeln!(o, "## Variables\n");
        for v in &p.variables {
            let _ = writeln!(
                o,
                "- `${{{}}}`{}: {}",
                v.name,
                v.default
                    .as_deref()
                    .map(|d| format!(" = {d}"))
                    .unwrap_or_default(),
                v.description
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "## Sources\n");
    for s in &plan.sources {
        let _ = writeln!(o, "- {s}");
    }
    if !plan.unsourced.is_empty() {
        let _ = writeln!(
            o,
            "\n## Unsourced facts in this plan\n\nThese came from no source in the research; verify them before relying on them:\n"
        );
        for s in &plan.unsourced {
            let _ = writeln!(o, "- {s}");
        }
    }
    o
}

fn comment(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "#\n".to_string()
            } else {
                format!("# {l}\n")
            }
        })
        .collect()
}

/// The playbook as TOML (runs in `rollsafe run`), with the recommendation and
/// checklist as a comment header.
pub fn toml(plan: &Plan, rollback: bool) -> String {
    let mut head = String::new();
    head.push_str(&format!(
        "Generated by rollsafe plan.\n\n{}\n\nWhy:\n",
        plan.recommendation.verdict
    ));
    for r in &plan.recommendation.reasons {
        head.push_str(&format!("- [{}] {}\n", r.input.label(), r.text));
    }
    head.push_str("\nChecklist:\n");
    for s in &plan.checklist {
        head.push_str(&format!("{}:\n", s.title));
        for i in &s.items {
            head.push_str(&format!("- [ ] {i}\n"));
        }
    }
    let body = if rollback {
        to_toml(&plan.rollback_playbook)
    } else {
        to_toml(&plan.playbook)
    };
    format!("{}\n{}", comment(&head), body)
}

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn lower_ask(ask: &str) -> String {
    let mut c = ask.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}
