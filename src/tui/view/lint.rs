//! The lint screen: findings of a migration on the left, the selected one in full on the right
//! (source line with a caret, lock, what breaks, rollback class, safe recipe).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::common::{self, truncate};
use crate::lint::{Direction, Finding, Severity};
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::lint::LintState;
use crate::tui::theme::Theme;

fn severity_style(s: Severity, theme: Theme) -> ratatui::style::Style {
    match s {
        Severity::Error => theme.bad(),
        Severity::Warning => theme.warn(),
        Severity::Info => theme.dim(),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, lint: &LintState, theme: Theme) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let r = &lint.report;
    let title = format!(
        " Lint {} ─ {} statements, {} findings · {}{}",
        truncate(&lint.paths.join(" "), 40),
        r.statements,
        r.findings.len(),
        lint.engine,
        r.tool
            .as_deref()
            .map(|t| format!(" · {t}"))
            .unwrap_or_default()
    );
    frame.render_widget(Paragraph::new(Line::styled(title, theme.title())), header);
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);
    render_list(frame, list_area, lint, theme);
    render_detail(frame, detail_area, lint, theme);
    common::status(frame, status, app.status.as_ref(), theme);
    common::footer(frame, footer, Context::Lint, theme);
}

fn render_list(frame: &mut Frame, area: Rect, lint: &LintState, theme: Theme) {
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    // Keep the selection in view.
    let visible = lint.visible();
    let at = visible
        .iter()
        .position(|&i| i == lint.selected)
        .unwrap_or(0);
    let first = at.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = if lint.report.findings.is_empty() {
        vec![Line::styled(
            "No findings: every statement runs as written.",
            theme.ok(),
        )]
    } else if visible.is_empty() {
        vec![Line::styled("nothing matches; esc clears", theme.dim())]
    } else {
        visible
            .iter()
            .map(|&i| (i, &lint.report.findings[i]))
            .skip(first)
            .take(height.max(1))
            .map(|(i, f)| {
                let marker = if i == lint.selected { "▶ " } else { "  " };
                let at = format!("{}:{} ", file_name(&f.file), f.line);
                let sev = format!("{:<7} ", f.severity.as_str());
                let rest = width.saturating_sub(marker.len() + at.chars().count() + sev.len());
                let line = Line::from(vec![
                    Span::raw(marker),
                    Span::styled(sev, severity_style(f.severity, theme)),
                    Span::styled(at, theme.dim()),
                    Span::raw(truncate(&f.rule, rest)),
                ]);
                if i == lint.selected {
                    line.style(theme.selected())
                } else {
                    line
                }
            })
            .collect()
    };
    let title = match lint.filter.label() {
        Some(filter) => format!(
            " Findings ({} of {}) {filter} ",
            visible.len(),
            lint.report.findings.len()
        ),
        None => " Findings ".to_string(),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.focus_border());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn field<'a>(name: &'a str, text: String, theme: Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name}: "), theme.accent()),
        Span::raw(text),
    ])
}

fn detail_lines<'a>(f: &'a Finding, source: Option<&'a str>, theme: Theme) -> Vec<Line<'a>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(f.severity.as_str(), severity_style(f.severity, theme)),
            Span::raw(format!(" [{}] ", f.rule)),
            Span::styled(format!("{}:{}:{}", f.file, f.line, f.column), theme.dim()),
        ]),
        Line::raw(f.message.clone()),
        Line::raw(""),
    ];
    let code = source.unwrap_or(&f.statement);
    let gutter = format!("{} | ", f.line);
    lines.push(Line::from(vec![
        Span::styled(gutter.clone(), theme.dim()),
        Span::styled(code.trim_end(), theme.code()),
    ]));
    let lead = crate::lint::render::caret_lead(code, f.column);
    lines.push(Line::from(vec![
        Span::raw(" ".repeat(gutter.len())),
        Span::raw(lead),
        Span::styled("^", severity_style(f.severity, theme)),
    ]));
    lines.push(Line::raw(""));
    if let Some(lock) = &f.lock {
        lines.push(field("lock", lock.clone(), theme));
    }
    if let Some(breaks) = &f.breaks {
        lines.push(field("breaks", breaks.clone(), theme));
    }
    let down = if f.direction == Direction::Down {
        " · in a down/undo script"
    } else {
        ""
    };
    let rollback = format!(
        "{}{}{down}",
        f.rollback,
        if f.lossy_rollback {
            " (rolling back loses data)"
        } else {
            ""
        }
    );
    lines.push(field("rollback", rollback, theme));
    lines.push(field("instead", f.suggestion.clone(), theme));
    lines.push(field("why", f.why.clone(), theme));
    lines.push(Line::styled(format!("source: {}", f.source), theme.dim()));
    lines
}

fn render_detail(frame: &mut Frame, area: Rect, lint: &LintState, theme: Theme) {
    let shown = lint.shown_selection();
    let lines = match shown.and_then(|i| lint.report.findings.get(i)) {
        Some(f) => detail_lines(f, lint.source_line(lint.selected), theme),
        None => vec![Line::raw(format!(
            "{} statements read. p plans them: each runs as written, with lock timeouts and retries.",
            lint.report.statements
        ))],
    };
    let block = Block::bordered()
        .title(" Finding ")
        .border_style(theme.border());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
