//! One playbook's record: trend of durations and outcomes, per-step numbers,
//! and what to do next.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::common::{self, truncate};
use crate::insight::Severity;
use crate::playbook::duration::format_clock;
use crate::tui::app::{App, StatsState};
use crate::tui::keymap::Context;
use crate::tui::theme::Theme;

/// How many of the latest drills the trend shows at most.
const TREND_DRILLS: usize = 120;

pub fn render(frame: &mut Frame, area: Rect, app: &App, stats: &StatsState, theme: Theme) {
    let [header, trend, body, status, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(6),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let s = &stats.insight.stats;
    let clock = |d: Option<Duration>| d.map(format_clock).unwrap_or_else(|| "–".into());
    let last_success = match (s.last_success, s.last_success_at) {
        (Some(id), Some(at)) => format!("live success #{id} {}", super::home::ago(app.now, at)),
        _ => "no live success".into(),
    };
    let changed = match s.changed_since_last_drill {
        Some(true) => " · changed since its last drill",
        _ => "",
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(format!(" Stats · {} ({})", stats.title, s.playbook_id), theme.title()),
            Line::styled(
                format!(
                    " {} drills · {:.0}% passed · live median {} · p90 {} · readiness {}/100 · {last_success}{changed}",
                    s.drills,
                    s.success_rate() * 100.0,
                    clock(s.median_total),
                    clock(s.p90_total),
                    stats.insight.readiness
                ),
                theme.dim(),
            ),
        ]),
        header,
    );

    // Oldest to newest, the latest TREND_DRILLS that ended.
    let mut ended: Vec<_> = stats
        .insight
        .drills
        .iter()
        .filter(|d| d.status != "running")
        .collect();
    ended.truncate(TREND_DRILLS.min(trend.width.saturating_sub(2) as usize));
    ended.reverse();
    let durations: Vec<u64> = ended
        .iter()
        .map(|d| (d.active_ms.max(0) / 1000) as u64)
        .collect();
    let outcomes: Vec<Span> = ended
        .iter()
        .map(|d| match (d.status.as_str(), d.failed + d.blocked) {
            ("aborted", _) => Span::styled("■", theme.warn()),
            (_, 0) => Span::styled("✔", theme.ok()),
            _ => Span::styled("✘", theme.bad()),
        })
        .collect();
    let [spark, marks] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)])
        .areas(trend.inner(ratatui::layout::Margin::new(1, 1)));
    frame.render_widget(
        Block::bordered()
            .title(Span::styled(
                " duration per drill, oldest → newest; outcome below ",
                theme.title(),
            ))
            .border_style(theme.border()),
        trend,
    );
    frame.render_widget(
        Sparkline::default().data(&durations).style(theme.accent()),
        spark,
    );
    frame.render_widget(Paragraph::new(Line::from(outcomes)), marks);

    let width = body.width.saturating_sub(2) as usize;
    let name_width = width.saturating_sub(52).max(10);
    let mut lines = Vec::new();
    for rec in &stats.insight.recommendations {
        let style = match rec.severity {
            Severity::Critical => theme.bad(),
            Severity::Warn => theme.warn(),
            Severity::Info => theme.dim(),
        };
        let evidence: Vec<String> = rec
            .evidence
            .iter()
            .take(5)
            .map(|id| format!("#{id}"))
            .collect();
        lines.push(Line::styled(
            truncate(&format!("⚠ {} [{}]", rec.why, evidence.join(" ")), width),
            style,
        ));
    }
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines.push(Line::styled(
        format!(
            "{:<name_width$} {:>5} {:>8} {:>8} {:>7} {:>7} {:>7}",
            "step", "runs", "live med", "p90", "failed", "blocked", "skipped"
        ),
        theme.dim(),
    ));
    for step in &s.steps {
        let fail = step.failure_rate();
        let style = if fail >= 0.3 {
            theme.bad()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(
            format!(
                "{:<name_width$} {:>5} {:>8} {:>8} {:>6.0}% {:>6.0}% {:>6.0}%",
                truncate(&step.step_id, name_width),
                step.runs,
                clock(step.median),
                clock(step.p90),
                fail * 100.0,
                step.blocked_rate() * 100.0,
                step.skip_rate() * 100.0
            ),
            style,
        ));
    }
    let block = Block::bordered()
        .title(Span::styled(
            " What to do next, and each step ",
            theme.title(),
        ))
        .border_style(theme.focus_border());
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((stats.scroll, 0)),
        body,
    );
    common::status(frame, status, app.status.as_ref(), theme);
    common::footer(frame, footer, Context::Stats, theme);
}
