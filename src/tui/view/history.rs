//! History: every drill, newest first. Only the visible rows are built.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::common::{self, truncate};
use super::home::format_when;
use crate::playbook::duration::format_clock;
use crate::store::DrillRow;
use crate::tui::app::{App, HistoryState};
use crate::tui::keymap::Context;
use crate::tui::theme::Theme;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    history: &HistoryState,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let f = &history.filter;
    let mut filters = Vec::new();
    if let Some(p) = &f.playbook_id {
        filters.push(format!("playbook {p}"));
    }
    if let Some(m) = f.mode {
        filters.push(format!("mode {}", m.as_str()));
    }
    if let Some(s) = &f.status {
        let label = crate::drill::RunStatus::parse(s).map_or(s.as_str(), |r| r.label());
        filters.push(format!("status {label}"));
    }
    if let Some(d) = history.since_days {
        filters.push(format!("last {d} days"));
    }
    if let Some(text) = history.search.label() {
        filters.push(text);
    }
    let filtered = if filters.is_empty() {
        String::new()
    } else {
        format!(" · {} (c clears)", filters.join(" · "))
    };
    let title = format!(
        " History · {} drill{}{filtered}",
        history.total,
        if history.total == 1 { "" } else { "s" }
    );
    frame.render_widget(Paragraph::new(Line::styled(title, theme.title())), header);

    let visible = body.height.saturating_sub(3) as usize;
    // First visible row: keep the selection on screen.
    let first = history.selected.saturating_sub(visible.saturating_sub(1));
    let width = body.width.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled(
        format!(
            "{:>6}  {:<17}  {:<22} {:<8} {:<16} {:>7}  {:>9}",
            "id", "started (UTC)", "playbook", "mode", "status", "time", "steps ✔/✘"
        ),
        theme.dim(),
    )];
    for index in first..(first + visible).min(history.total) {
        let Some(row) = index
            .checked_sub(history.page_start)
            .and_then(|i| history.rows.get(i))
        else {
            continue;
        };
        let line = Line::from(row_spans(row, width, now, theme));
        lines.push(if index == history.selected {
            line.style(theme.selected())
        } else {
            line
        });
    }
    if history.total == 0 {
        // An empty list under a filter is not an empty log.
        lines.push(Line::raw(if filters.is_empty() {
            "No drills yet: start one from Home."
        } else {
            "No drill matches the filters: c clears them (esc a / text)."
        }));
    }
    let position = if history.total > 0 {
        format!(" {}/{} ", history.selected + 1, history.total)
    } else {
        String::new()
    };
    let block = Block::bordered()
        .title(Span::styled(" Drills, newest first ", theme.title()))
        .title_bottom(Line::styled(position, theme.dim()).right_aligned())
        .border_style(theme.focus_border());
    frame.render_widget(Paragraph::new(lines).block(block), body);
    common::status(frame, status, app.status.as_ref(), theme);
    common::footer(frame, footer, Context::History, theme);
}

fn row_spans(row: &DrillRow, width: usize, now: DateTime<Utc>, theme: Theme) -> Vec<Span<'static>> {
    use crate::drill::RunStatus;
    let (status, style) = match row.run_status(now) {
        RunStatus::Running => ("▶ running", theme.accent()),
        RunStatus::Interrupted => ("◌ interrupted", theme.warn()),
        RunStatus::Aborted => ("■ aborted", theme.warn()),
        RunStatus::Completed => ("✔ completed", theme.ok()),
        RunStatus::CompletedWithFailures => ("✘ with failures", theme.bad()),
    };
    let time = format_clock(std::time::Duration::from_millis(row.active_ms.max(0) as u64));
    let text = format!(
        "{:>6}  {:<17}  {:<22} {:<8} ",
        format!("#{}", row.id),
        format_when(row.started_at).trim_end_matches('Z'),
        truncate(&row.playbook_id, 22),
        row.mode.as_str(),
    );
    let tail = format!(
        " {:>7}  {:>4}/{:<4}",
        time,
        row.passed,
        row.failed + row.blocked
    );
    let used = text.chars().count() + 16 + tail.chars().count();
    let spans = vec![
        Span::raw(text),
        Span::styled(format!("{status:<16}"), style),
        Span::raw(tail),
    ];
    if used > width {
        // Narrow terminals: keep id, date, playbook and status.
        return spans.into_iter().take(2).collect();
    }
    spans
}
