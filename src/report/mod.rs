//! After-action reports: Markdown for people, JSON for tools.
//!
//! The JSON record follows the shape of a Chaos Toolkit journal where the
//! ideas match (`status`, `deviated`, `start`, `end`, `duration`, per-step
//! `status`/`start`/`end`/`duration`/`output`), so tools that read one can
//! read ours; rollsafe's own fields (mode, notes, follow-ups) sit beside them.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::drill::{CommandPurpose, Event, EventKind, Outcome, Session};
use crate::playbook::duration::format_clock;
use crate::probe::{ProbeStats, format_latency};

/// Where the drill stands, in the vocabulary of every screen and of
/// `history --json` ([`crate::drill::RunStatus`]).
/// A drill not ended and not heard from lately reads interrupted.
pub fn journal_status(session: &Session) -> &'static str {
    let status = crate::drill::RunStatus::of_drill(&session.drill);
    match session.last_seen {
        Some(seen) => status.seen(seen, Utc::now()).code(),
        None => status.code(),
    }
}

/// Whether the drill left the happy path: any step failed, blocked or skipped,
/// any step ran past its timebox, or the drill ran past its budget.
pub fn deviations(session: &Session) -> Vec<String> {
    let drill = &session.drill;
    let end = drill.ended_at.unwrap_or(drill.last_event_at);
    let mut found = Vec::new();
    for (index, (_, _, step)) in session.playbook.steps().enumerate() {
        let record = &drill.steps[index];
        let reason = record.reason.as_deref().filter(|r| !r.is_empty());
        match record.outcome {
            Some(Outcome::Failed) => found.push(format!(
                "“{}” failed{}",
                step.title,
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
            Some(Outcome::Blocked) => found.push(format!(
                "“{}” was blocked{}",
                step.title,
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
            Some(Outcome::Skipped) => found.push(format!(
                "“{}” was skipped{}",
                step.title,
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            )),
            Some(Outcome::Passed) => {}
            // A step nobody ran is a deviation whatever else went well.
            None if drill.active == Some(index) => {
                found.push(format!("“{}” was still running", step.title))
            }
            None => found.push(format!("“{}” was never run", step.title)),
        }
        let spent = drill.step_elapsed(index, end);
        if let Some(timebox) = step.timebox.filter(|t| spent > *t) {
            found.push(format!(
                "“{}” took {} against a timebox of {}",
                step.title,
                format_clock(spent),
                format_clock(timebox)
            ));
        }
    }
    for d in &drill.deviations {
        let title = session
            .playbook
            .find_step(&d.step)
            .and_then(|at| session.playbook.step(at))
            .map_or(d.step.as_str(), |s| s.title.as_str());
        found.push(format!(
            "override: “{title}” marked {} although {}; reason: {}",
            d.outcome,
            crate::drill::lifecycle::describe_refused(&d.refused),
            d.reason
        ));
    }
    for (step, _) in &drill.undone {
        found.push(format!("undo: the outcome of `{step}` was taken back"));
    }
    if let Some(budget) = session.playbook.budget {
        let total = drill.elapsed(end);
        if total > budget {
            found.push(format!(
                "the drill took {} against a budget of {}",
                format_clock(total),
                format_clock(budget)
            ));
        }
    }
    found
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Serialize)]
pub struct Journal {
    pub drill_id: i64,
    pub playbook_id: String,
    pub playbook_title: String,
    pub content_hash: String,
    pub mode: String,
    pub operator: String,
    pub status: String,
    pub deviated: bool,
    pub deviations: Vec<String>,
    pub start: String,
    pub end: Option<String>,
    /// Seconds worked on the drill: pauses and interruptions excluded.
    pub duration: f64,
    pub budget: Option<f64>,
    pub steps: Vec<JournalStep>,
    /// Outcomes recorded over the lifecycle's refusal, each with its reason.
    pub overrides: Vec<JournalOverride>,
    pub notes: Vec<JournalNote>,
    pub follow_ups: Vec<JournalNote>,
    /// This drill's follow-ups as the log tracks them now (closed or open),
    /// when the report was made with the log at hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_up_records: Vec<crate::store::FollowUpRow>,
    /// Follow-ups of earlier drills of this playbook that were still open
    /// when this drill started: the work carried into it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carried_follow_ups: Vec<crate::store::FollowUpRow>,
}

#[derive(Debug, Serialize)]
pub struct JournalStep {
    pub id: String,
    pub title: String,
    pub phase: String,
    /// succeeded | failed | skipped | blocked | not_run
    pub status: String,
    pub reason: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration: f64,
    pub timebox: Option<f64>,
    pub point_of_no_return: bool,
    pub output: Vec<JournalRun>,
    /// What the playbook's probe saw during the step's latest attempt (live drills with a probe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeStats>,
}

#[derive(Debug, Serialize)]
pub struct JournalRun {
    pub purpose: String,
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration: f64,
    pub passed: bool,
    pub cancelled: bool,
    pub truncated: bool,
    pub output: String,
}

#[derive(Debug, Serialize)]
pub struct JournalOverride {
    pub at: String,
    pub step: String,
    pub outcome: String,
    /// not_running | would_overwrite | command_failed | verification_failed
    pub refused: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct JournalNote {
    pub at: String,
    pub step: Option<String>,
    pub text: String,
}

/// The journal with the follow-ups the log tracks for this playbook (every
/// one, open and closed, as `Store::follow_ups(Some(playbook), true)` gives):
/// this drill's own with their state, and the ones carried into it.
pub fn journal_with(session: &Session, follow_ups: &[crate::store::FollowUpRow]) -> Journal {
    let mut j = journal(session);
    let started = session.drill.started_at;
    for f in follow_ups {
        if f.drill_id == session.id {
            j.follow_up_records.push(f.clone());
        } else if f.created_at <= started && f.closed_at.is_none_or(|closed| closed >= started) {
            j.carried_follow_ups.push(f.clone());
        }
    }
    j
}

pub fn journal(session: &Session) -> Journal {
    let drill = &session.drill;
    let end = drill.ended_at.unwrap_or(drill.last_event_at);
    let deviations = deviations(session);
    let steps = session
        .playbook
        .steps()
        .enumerate()
        .map(|(index, (_, phase, step))| {
            let record = &drill.steps[index];
            JournalStep {
                id: step.id.clone(),
                title: step.title.clone(),
                phase: phase.title.clone(),
                status: match record.outcome {
                    Some(Outcome::Passed) => "succeeded",
                    Some(Outcome::Failed) => "failed",
                    Some(Outcome::Skipped) => "skipped",
                    Some(Outcome::Blocked) => "blocked",
                    None => "not_run",
                }
                .to_string(),
                reason: record.reason.clone().filter(|r| !r.is_empty()),
                start: record.first_started.map(iso),
                end: record.ended_at.map(iso),
                duration: drill.step_elapsed(index, end).as_secs_f64(),
                timebox: step.timebox.map(|t| t.as_secs_f64()),
                point_of_no_return: step.point_of_no_return,
                output: drill
                    .commands_for(&step.id)
                    .map(|c| JournalRun {
                        purpose: match c.purpose {
                            CommandPurpose::Action => "command",
                            CommandPurpose::Verify => "verify",
                        }
                        .into(),
                        command: c.command.clone(),
                        exit_code: c.exit_code,
                        duration: c.duration.as_secs_f64(),
                        passed: c.passed,
                        cancelled: c.cancelled,
                        truncated: c.truncated,
                        output: c.output.clone(),
                    })
                    .collect(),
                probe: record.probe.clone(),
            }
        })
        .collect();
    let note = |n: &crate::drill::state::NoteRecord| JournalNote {
        at: iso(n.at),
        step: n.step.clone(),
        text: n.text.clone(),
    };
    Journal {
        drill_id: session.id,
        playbook_id: drill.playbook_id.clone(),
        playbook_title: drill.playbook_title.clone(),
        content_hash: drill.content_hash.clone(),
        mode: drill.mode.as_str().into(),
        operator: drill.operator.clone(),
        status: journal_status(session).into(),
        deviated: !deviations.is_empty(),
        deviations,
        start: iso(drill.started_at),
        end: drill.ended_at.map(iso),
        duration: drill.elapsed(end).as_secs_f64(),
        budget: session.playbook.budget.map(|b| b.as_secs_f64()),
        steps,
        overrides: drill
            .deviations
            .iter()
            .map(|d| JournalOverride {
                at: iso(d.at),
                step: d.step.clone(),
                outcome: d.outcome.clone(),
                refused: d.refused.clone(),
                reason: d.reason.clone(),
            })
            .collect(),
        notes: drill.notes.iter().map(note).collect(),
        follow_ups: drill
            .notes
            .iter()
            .filter(|n| is_follow_up(&n.text))
            .map(note)
            .collect(),
        follow_up_records: Vec::new(),
        carried_follow_ups: Vec::new(),
    }
}

/// A note that asks for work after the drill (the scribe's TODO convention).
pub fn is_follow_up(text: &str) -> bool {
    let t = text.trim_start().to_ascii_uppercase();
    t.starts_with("TODO") || t.starts_with("FOLLOW-UP") || t.starts_with("FOLLOWUP")
}

fn clock(secs: f64) -> String {
    format_clock(Duration::from_secs_f64(secs.max(0.0)))
}

/// The after-action report as Markdown.
pub fn markdown(session: &Session, events: &[Event]) -> String {
    render_markdown(journal(session), events)
}

/// [`markdown`] with the log's follow-ups (see [`journal_with`]): which of
/// this drill's are closed, and which earlier ones it carried.
pub fn markdown_with(
    session: &Session,
    events: &[Event],
    follow_ups: &[crate::store::FollowUpRow],
) -> String {
    render_markdown(journal_with(session, follow_ups), events)
}

fn render_markdown(j: Journal, events: &[Event]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# After-action report: {} (drill #{})\n",
        j.playbook_title, j.drill_id
    );
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "- **Status:** {}{}",
        crate::drill::RunStatus::parse(&j.status).map_or(j.status.as_str(), |s| s.label()),
        if j.deviated {
            " (deviated from the plan)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "- **Mode:** {} · **operator:** {}", j.mode, j.operator);
    let _ = writeln!(
        out,
        "- **Started:** {} · **ended:** {}",
        j.start,
        j.end.as_deref().unwrap_or("not ended")
    );
    let budget = j
        .budget
        .map(|b| format!(" against a budget of {}", clock(b)))
        .unwrap_or_default();
    let _ = writeln!(out, "- **Time worked:** {}{budget}", clock(j.duration));
    let count = |s: &str| j.steps.iter().filter(|x| x.status == s).count();
    let _ = writeln!(
        out,
        "- **Steps:** {} succeeded, {} failed, {} blocked, {} skipped, {} not run, of {}",
        count("succeeded"),
        count("failed"),
        count("blocked"),
        count("skipped"),
        count("not_run"),
        j.steps.len()
    );
    let _ = writeln!(out, "- **Playbook version:** `{}`\n", j.content_hash);

    let _ = writeln!(out, "## Steps\n");
    let _ = writeln!(out, "| # | step | status | time | timebox | note |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, s) in j.steps.iter().enumerate() {
        let over = s.timebox.is_some_and(|t| s.duration > t);
        let pnr = if s.point_of_no_return { " ⛔" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {}{pnr} | {} | {}{} | {} | {} |",
            i + 1,
            s.title.replace('|', "\\|"),
            s.status,
            if s.start.is_some() {
                clock(s.duration)
            } else {
                "–".into()
            },
            if over { " ⚠" } else { "" },
            s.timebox.map(clock).unwrap_or_else(|| "–".into()),
            s.reason.as_deref().unwrap_or("").replace('|', "\\|"),
        );
    }

    if j.steps.iter().any(|s| s.probe.is_some()) {
        probe_table(&mut out, &j);
    }

    let _ = writeln!(out, "\n## Deviations from the plan\n");
    if j.deviations.is_empty() {
        let _ = writeln!(out, "None: every step passed within its timebox.");
    }
    for d in &j.deviations {
        let _ = writeln!(out, "- {d}");
    }

    let _ = writeln!(out, "\n## Timeline (UTC)\n");
    for event in events {
        if let Some(line) = timeline_line(event) {
            let _ = writeln!(out, "- `{}` {line}", event.at.format("%H:%M:%S"));
        }
    }

    let runs: Vec<(&JournalStep, &JournalRun)> = j
        .steps
        .iter()
        .flat_map(|s| s.output.iter().map(move |r| (s, r)))
        .collect();
    if !runs.is_empty() {
        let _ = writeln!(out, "\n## Commands run\n");
        for (step, run) in runs {
            let exit = run
                .exit_code
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "no exit code".into());
            let verdict = if run.cancelled {
                "cancelled"
            } else if run.passed {
                "ok"
            } else {
                "not ok"
            };
            let _ = writeln!(
                out,
                "### {} ({}, {exit}, {verdict}, {})\n",
                step.title,
                run.purpose,
                clock(run.duration)
            );
            let _ = writeln!(out, "```sh\n{}\n```\n", run.command);
            if !run.output.trim().is_empty() {
                let cut = if run.truncated { " (tail only)" } else { "" };
                let _ = writeln!(
                    out,
                    "Output{cut}:\n\n```text\n{}\n```\n",
                    run.output.trim_end()
                );
            }
        }
    }

    let _ = writeln!(out, "\n## Notes\n");
    if j.notes.is_empty() {
        let _ = writeln!(out, "No notes were taken.");
    }
    for n in &j.notes {
        let _ = writeln!(
            out,
            "- {} {}: {}",
            n.at,
            n.step.as_deref().unwrap_or("(drill)"),
            n.text
        );
    }

    let _ = writeln!(out, "\n## Follow-ups\n");
    if j.follow_ups.is_empty() {
        let _ = writeln!(
            out,
            "None recorded (notes starting with TODO: become follow-ups)."
        );
    }
    for n in &j.follow_ups {
        let record = j
            .follow_up_records
            .iter()
            .find(|r| r.text == n.text && r.step_id == n.step);
        let (mark, closed) = match record.and_then(|r| r.closed_at.map(|at| (at, r))) {
            Some((at, r)) => (
                "x",
                format!(
                    " — closed {}{}",
                    iso(at),
                    r.closed_note
                        .as_deref()
                        .filter(|t| !t.is_empty())
                        .map(|t| format!(": {t}"))
                        .unwrap_or_default()
                ),
            ),
            None => (" ", String::new()),
        };
        let id = record.map(|r| format!(" #{}", r.id)).unwrap_or_default();
        let _ = writeln!(
            out,
            "- [{mark}]{id} {} ({}){closed}",
            n.text,
            n.step.as_deref().unwrap_or("drill")
        );
    }
    if !j.carried_follow_ups.is_empty() {
        let _ = writeln!(
            out,
            "\nCarried into this drill (open when it started; `rollsafe followup close ID` closes one):\n"
        );
        for f in &j.carried_follow_ups {
            let closed = f
                .closed_at
                .map(|at| format!(" — closed {}", iso(at)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- [{}] #{} {} (drill #{}, {}){closed}",
                if f.closed_at.is_some() { "x" } else { " " },
                f.id,
                f.text,
                f.drill_id,
                f.step_id.as_deref().unwrap_or("drill")
            );
        }
    }

    let _ = writeln!(out, "\n## Improvement plan\n");
    let improvements = improvement_plan(&j);
    for item in &improvements {
        let _ = writeln!(out, "- {item}");
    }
    out
}

/// Per-step latency of the probe, and how long it was blocked.
fn probe_table(out: &mut String, j: &Journal) {
    let threshold = j
        .steps
        .iter()
        .find_map(|s| s.probe.as_ref())
        .map_or(0, |p| p.blocked_after_ms);
    let _ = writeln!(out, "\n## Probe\n");
    let _ = writeln!(
        out,
        "Latency of the playbook's probe statement while each step ran; blocked means a sample waited over {threshold} ms.\n"
    );
    let _ = writeln!(
        out,
        "| # | step | samples | errors | p50 | p99 | max | blocked (total, longest) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (i, s) in j.steps.iter().enumerate() {
        let Some(p) = &s.probe else { continue };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            s.title.replace('|', "\\|"),
            p.count,
            p.errors,
            format_latency(p.p50()),
            format_latency(p.p99()),
            format_latency(p.max()),
            p.blocked_text(),
        );
    }
}

/// What the drill suggests changing, derived from its deviations.
fn improvement_plan(j: &Journal) -> Vec<String> {
    let mut items = Vec::new();
    for s in &j.steps {
        match s.status.as_str() {
            "failed" | "blocked" => items.push(format!(
                "Fix or rewrite “{}” and rehearse it again before relying on it{}.",
                s.title,
                if s.point_of_no_return {
                    " (it is a point of no return)"
                } else {
                    ""
                }
            )),
            "skipped" => items.push(format!(
                "Decide whether “{}” belongs in the playbook: it was skipped.",
                s.title
            )),
            _ => {}
        }
        if let Some(t) = s.timebox.filter(|t| s.duration > *t) {
            items.push(format!(
                "Re-estimate or speed up “{}”: {} against {} planned.",
                s.title,
                clock(s.duration),
                clock(t)
            ));
        }
    }
    if j.status == "running" {
        items.push("The drill did not end: resume it or abort it with a reason, so the record is complete.".into());
    }
    if items.is_empty() {
        items.push(
            "Nothing to change: schedule the next rehearsal before the playbook goes stale.".into(),
        );
    }
    items
}

/// One line of a drill's timeline, for people.
pub fn timeline_line(event: &Event) -> Option<String> {
    Some(match &event.kind {
        EventKind::Started { mode, operator, .. } => {
            format!("drill started ({}, {operator})", mode.as_str())
        }
        EventKind::StepStarted { step } => format!("started `{step}`"),
        EventKind::StepPassed { step } => format!("passed `{step}`"),
        EventKind::StepFailed { step, reason } => format!("**failed** `{step}`: {reason}"),
        EventKind::StepSkipped { step, reason } => format!("skipped `{step}`: {reason}"),
        EventKind::StepBlocked { step, reason } => format!("**blocked** `{step}`: {reason}"),
        EventKind::PointOfNoReturnConfirmed { step } => {
            format!("⛔ crossed the point of no return at `{step}`")
        }
        EventKind::Note { step, text, by } => {
            let by = by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
            format!(
                "note{by} on `{}`: {text}",
                step.as_deref().unwrap_or("drill")
            )
        }
        EventKind::CommandStarted { step, command, .. } => {
            format!(
                "ran in `{step}`: `{}`",
                command.lines().next().unwrap_or("")
            )
        }
        EventKind::CommandRun {
            step, exit_code, ..
        } => format!(
            "command in `{step}` ended: {}",
            exit_code
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "no exit code".into())
        ),
        EventKind::ProbeStats { step, stats } => format!(
            "probe during `{step}`: p99 {}, max {}, blocked {}",
            format_latency(stats.p99()),
            format_latency(stats.max()),
            stats.blocked_text()
        ),
        EventKind::Paused => "paused".into(),
        EventKind::Resumed => "resumed".into(),
        EventKind::Interrupted { last_seen } => format!(
            "reopened; rollsafe was not running since {}",
            last_seen.format("%H:%M:%S")
        ),
        EventKind::Aborted { reason } => format!("**aborted**: {reason}"),
        EventKind::Finished => "finished".into(),
        EventKind::Deviation {
            step,
            outcome,
            refused,
            reason,
        } => format!(
            "**override** `{step}` marked {outcome} although {}: {reason}",
            crate::drill::lifecycle::describe_refused(refused)
        ),
        EventKind::OutcomeUndone { step, reason } if reason.is_empty() => {
            format!("undid the outcome of `{step}`")
        }
        EventKind::OutcomeUndone { step, reason } => {
            format!("undid the outcome of `{step}`: {reason}")
        }
    })
}
