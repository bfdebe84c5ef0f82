//! After a drill: each step's time against its timebox, outcomes and notes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::common::{self, truncate};
use super::home::format_when;
use super::runner::step_mark;
use crate::drill::{DrillStatus, Outcome};
use crate::playbook::duration::format_clock;
use crate::tui::app::{App, SummaryState};
use crate::tui::keymap::Context;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, summary: &SummaryState, theme: Theme) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let session = &summary.session;
    let drill = &session.drill;
    let playbook = &session.playbook;
    let end = drill.ended_at.unwrap_or(drill.last_event_at);
    let total = drill.elapsed(end);
    let (verdict, style) = match drill.status {
        DrillStatus::Aborted => (
            format!(
                "aborted: {}",
                drill.abort_reason.clone().unwrap_or_default()
            ),
            theme.warn(),
        ),
        // A drill that has not ended gets no finished-drill verdict.
        DrillStatus::Running => (
            format!(
                "not finished: {} of {} steps have an outcome",
                drill.done(),
                drill.steps.len()
            ),
            theme.warn(),
        ),
        _ if drill.count(Outcome::Failed) + drill.count(Outcome::Blocked) > 0 => {
            ("completed with failures".to_string(), theme.bad())
        }
        _ => ("completed".to_string(), theme.ok()),
    };
    let budget = match playbook.budget {
        _ if drill.status == DrillStatus::Running => Span::raw(""),
        Some(b) if total > b => Span::styled(
            format!(
                " · over budget {} by {}",
                format_clock(b),
                format_clock(total - b)
            ),
            theme.bad(),
        ),
        Some(b) => Span::styled(format!(" · within budget {}", format_clock(b)), theme.ok()),
        None => Span::raw(""),
    };
    let head = vec![
        Line::from(vec![Span::styled(
            format!(" Drill #{} · {} ", session.id, playbook.title),
            theme.title(),
        )]),
        Line::from(vec![
            Span::styled(format!(" {verdict}"), style),
            Span::raw(format!(" in {}", format_clock(total))),
            budget,
        ]),
        Line::styled(
            format!(
                " {} · operator {} · started {} · ✔{} ✘{} ↷{} ⊘{} of {}",
                drill.mode.as_str(),
                drill.operator,
                format_when(drill.started_at),
                drill.count(Outcome::Passed),
                drill.count(Outcome::Failed),
                drill.count(Outcome::Skipped),
                drill.count(Outcome::Blocked),
                drill.steps.len()
            ),
            theme.dim(),
        ),
    ];
    frame.render_widget(Paragraph::new(head), header);

    let width = body.width.saturating_sub(2) as usize;
    let title_width = width.saturating_sub(24).max(8);
    let mut lines = vec![Line::styled(
        format!(
            "   {:<title_width$} {:>8} {:>8}  ",
            "step", "time", "timebox"
        ),
        theme.dim(),
    )];
    for (index, (_, _, step)) in playbook.steps().enumerate() {
        let record = &drill.steps[index];
        let (mark, _) = step_mark(drill, index);
        let spent = drill.step_elapsed(index, end);
        let over = step.timebox.is_some_and(|t| spent > t);
        let time = if record.first_started.is_some() {
            format_clock(spent)
        } else {
            "–".into()
        };
        let timebox = step.timebox.map(format_clock).unwrap_or_else(|| "–".into());
        let style = match record.outcome {
            Some(Outcome::Passed) => theme.ok(),
            Some(Outcome::Skipped) => theme.warn(),
            Some(_) => theme.bad(),
            None => theme.dim(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::raw(format!(
                "{:<title_width$} {time:>8} {timebox:>8}",
                truncate(&step.title, title_width)
            )),
            Span::styled(if over { " ⚠" } else { "" }, theme.bad()),
        ]));
        if let Some(reason) = record.reason.as_deref().filter(|r| !r.is_empty()) {
            lines.push(Line::styled(
                format!(
                    "     {}: {}",
                    record.outcome.map_or("", |o| o.as_str()),
                    reason
                ),
                theme.dim(),
            ));
        }
        if let Some(d) = &record.deviation {
            lines.push(Line::styled(
                format!(
                    "     ! override: {} although {}; reason: {}",
                    d.outcome,
                    crate::drill::lifecycle::describe_refused(&d.refused),
                    d.reason
                ),
                theme.warn(),
            ));
        }
        if let Some(probe) = &record.probe {
            let style = if probe.blocked.is_empty() {
                theme.dim()
            } else {
                theme.bad()
            };
            lines.push(Line::styled(
                format!("     probe: {}", probe.one_line()),
                style,
            ));
        }
        for note in drill.notes_for(&step.id) {
            lines.push(Line::raw(format!("     note: {}", note.shown())));
        }
    }
    let general: Vec<_> = drill.notes.iter().filter(|n| n.step.is_none()).collect();
    if !general.is_empty() {
        lines.push(Line::default());
        for note in general {
            lines.push(Line::raw(format!(" note: {}", note.shown())));
        }
    }
    if !drill.commands.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(" Commands run", theme.title()));
        for run in &drill.commands {
            let exit = run
                .exit_code
                .map_or("no exit code".to_string(), |c| format!("exit {c}"));
            let verdict = if run.cancelled {
                "cancelled"
            } else if run.passed {
                "ok"
            } else {
                "not ok"
            };
            lines.push(Line::styled(
                format!(
                    " {} {} · {exit} · {verdict} · {}",
                    run.step,
                    run.command.lines().next().unwrap_or(""),
                    format_clock(run.duration)
                ),
                if run.passed { theme.ok() } else { theme.bad() },
            ));
            for out in run
                .output
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                lines.push(Line::styled(format!("     {out}"), theme.dim()));
            }
        }
    }
    if !summary.events.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(" Timeline (UTC)", theme.title()));
        for event in &summary.events {
            if let Some(text) = crate::report::timeline_line(event) {
                lines.push(Line::raw(format!(
                    " {} {}",
                    event.at.format("%H:%M:%S"),
                    text.replace(['`', '*'], "")
                )));
            }
        }
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(
            " playbook as run: {} version {}",
            drill.playbook_id, drill.content_hash
        ),
        theme.dim(),
    ));
    let block = Block::bordered()
        .title(Span::styled(
            " Steps against their timeboxes ",
            theme.title(),
        ))
        .border_style(theme.border());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((summary.scroll, 0)),
        body,
    );
    common::status(frame, status, app.status.as_ref(), theme);
    common::footer(frame, footer, Context::Summary, theme);
}
