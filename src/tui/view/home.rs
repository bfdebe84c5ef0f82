//! Home: drills to resume, playbooks to start, recent drills.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::common::{self, truncate};
use crate::playbook::duration::format_duration;
use crate::playbook::{Loaded, Origin};
use crate::store::DrillRow;
use crate::tui::app::{App, HomeItem};
use crate::tui::keymap::Context;
use crate::tui::markdown_view::markdown_to_text;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, now: DateTime<Utc>, theme: Theme) {
    let resume_rows = app.home.unfinished.len().min(3) as u16;
    let resume_height = if resume_rows > 0 { resume_rows + 2 } else { 0 };
    let recent_height = if area.height >= 24 && !app.home.recent.is_empty() {
        (app.home.recent.len() as u16).min(4) + 2
    } else {
        0
    };
    let [header, resume, body, recent, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(resume_height),
        Constraint::Min(5),
        Constraint::Length(recent_height),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    render_header(frame, header, app, theme);
    if resume_height > 0 {
        render_resume(frame, resume, app, now, theme);
    }
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    render_playbooks(frame, list, app, theme);
    render_detail(frame, detail, app, now, theme);
    if recent_height > 0 {
        render_recent(frame, recent, &app.home.recent, now, theme);
    }
    common::status(frame, status, app.status.as_ref(), theme);
    common::footer(frame, footer, Context::Home, theme);
}

fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let left = " rollsafe ─ runbooks & rehearsals";
    let db = format!("db: {} ", app.store.path());
    let room = (area.width as usize).saturating_sub(left.chars().count() + 2);
    let db = truncate(&db, room);
    let gap = (area.width as usize).saturating_sub(left.chars().count() + db.chars().count());
    let line = Line::from(vec![
        Span::styled(left, theme.title()),
        Span::raw(" ".repeat(gap)),
        Span::styled(db, theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_resume(frame: &mut Frame, area: Rect, app: &App, now: DateTime<Utc>, theme: Theme) {
    let selected = app.selected_home_item();
    let visible = area.height.saturating_sub(2) as usize;
    let first = match selected {
        Some(HomeItem::Resume(i)) => i.saturating_sub(visible.saturating_sub(1)),
        _ => 0,
    };
    let lines: Vec<Line> = app
        .home
        .unfinished
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, row)| {
            let text = format!(
                "▶ #{:<4} {:<26} {:<8} {} · {}/{} steps · last activity {}",
                row.id,
                truncate(&row.playbook_id, 26),
                row.mode.as_str(),
                format_when(row.started_at),
                row.passed + row.failed + row.skipped + row.blocked,
                row.steps_total,
                ago(now, row.last_event_at),
            );
            let style = if selected == Some(HomeItem::Resume(i)) {
                theme.selected()
            } else {
                theme.warn()
            };
            Line::styled(
                truncate(&text, area.width.saturating_sub(2) as usize),
                style,
            )
        })
        .collect();
    let title = format!(" Resume ({} unfinished) ", app.home.unfinished.len());
    let block = Block::bordered()
        .title(Span::styled(title, theme.warn()))
        .border_style(theme.border());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_playbooks(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let items = app.home_items();
    let rows: Vec<(usize, HomeItem)> = items
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, item)| !matches!(item, HomeItem::Resume(_)))
        .collect();
    let visible = area.height.saturating_sub(2) as usize;
    let selected_row = rows.iter().position(|(i, _)| *i == app.home.selected);
    let first = selected_row.map_or(0, |r| r.saturating_sub(visible.saturating_sub(1)));
    let width = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(visible)
        .map(|(index, item)| {
            let is_selected = *index == app.home.selected;
            let (mark, text, style) = match item {
                HomeItem::Playbook(p) => {
                    let loaded = &app.library.playbooks[*p];
                    let source = if matches!(loaded.origin, Origin::Bundled(_)) {
                        ""
                    } else {
                        " (yours)"
                    };
                    let kind = loaded.playbook.kind.as_str();
                    let name_width = width.saturating_sub(kind.len() + 4);
                    let name = truncate(&format!("{}{source}", loaded.playbook.id), name_width);
                    // Readiness at a glance: ● ready, ◐ going stale, ○ never passed.
                    let readiness = app
                        .home
                        .insights
                        .get(&loaded.playbook.id)
                        .map_or(0, |i| i.readiness);
                    let (mark, style) = match readiness {
                        50.. => ("●", theme.ok()),
                        1..=49 => ("◐", theme.warn()),
                        0 => ("○", theme.dim()),
                    };
                    (mark, format!("{name:<name_width$} {kind}"), style)
                }
                HomeItem::Broken(b) => {
                    let label = app.library.broken[*b].origin.label().to_string();
                    (
                        "✘",
                        truncate(&format!("{label} (does not load)"), width.saturating_sub(2)),
                        theme.bad(),
                    )
                }
                HomeItem::Resume(_) => ("", String::new(), theme.dim()),
            };
            if is_selected {
                Line::styled(format!("{mark} {text}"), theme.selected())
            } else {
                Line::from(vec![
                    Span::styled(mark, style),
                    Span::raw(format!(" {text}")),
                ])
            }
        })
        .collect();
    let title = match app.home.filter.label() {
        Some(filter) => format!(
            " Playbooks ({} of {}) {filter} ",
            rows.iter()
                .filter(|(_, item)| matches!(item, HomeItem::Playbook(_)))
                .count(),
            app.library.playbooks.len()
        ),
        None => format!(" Playbooks ({}) ", app.library.playbooks.len()),
    };
    if rows.is_empty() && app.home.filter.is_active() {
        lines.push(Line::styled("nothing matches; esc clears", theme.dim()));
    }
    let block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_style(theme.focus_border());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_detail(frame: &mut Frame, area: Rect, app: &App, now: DateTime<Utc>, theme: Theme) {
    let (title, lines) = match app.selected_home_item() {
        Some(HomeItem::Playbook(i)) => playbook_detail(
            &app.library.playbooks[i],
            app,
            now,
            area.width.saturating_sub(2),
            theme,
        ),
        Some(HomeItem::Resume(i)) => resume_detail(&app.home.unfinished[i], now, theme),
        Some(HomeItem::Broken(i)) => {
            let broken = &app.library.broken[i];
            let mut lines = vec![
                Line::styled("This file does not load:", theme.bad()),
                Line::default(),
            ];
            lines.extend(broken.problems.iter().map(|d| Line::raw(d.to_string())));
            (broken.origin.label().to_string(), lines)
        }
        None => (
            "No playbooks".to_string(),
            vec![Line::raw(
                "Put .toml or .md playbooks in your config directory, or pass a path to `rollsafe run`.",
            )],
        ),
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " {} ",
                truncate(&title, area.width.saturating_sub(4) as usize)
            ),
            theme.title(),
        ))
        .border_style(theme.border());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn playbook_detail<'a>(
    loaded: &'a Loaded,
    app: &App,
    now: DateTime<Utc>,
    width: u16,
    theme: Theme,
) -> (String, Vec<Line<'a>>) {
    let p = &loaded.playbook;
    let mut facts = vec![
        format!("{} phases", p.phases.len()),
        format!("{} steps", p.step_count()),
    ];
    if let Some(budget) = p.budget {
        facts.push(format!("budget {}", format_duration(budget)));
    }
    let pnr = p.points_of_no_return();
    let mut lines = vec![
        Line::styled(p.title.clone(), theme.title()),
        Line::raw(facts.join(" · ")),
        Line::from(vec![
            Span::styled(format!("{} ", p.kind.as_str()), theme.accent()),
            Span::styled(
                p.tags
                    .iter()
                    .map(|t| format!("#{t}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                theme.dim(),
            ),
        ]),
    ];
    if pnr > 0 {
        lines.push(Line::styled(
            format!(
                "⛔ {pnr} point{} of no return",
                if pnr == 1 { "" } else { "s" }
            ),
            theme.warn(),
        ));
    }
    match app.home.insights.get(&p.id) {
        Some(insight) if insight.stats.drills > 0 => {
            let s = &insight.stats;
            let median = s
                .median_total
                .map(|d| {
                    format!(
                        " · live median {}",
                        crate::playbook::duration::format_clock(d)
                    )
                })
                .unwrap_or_default();
            lines.push(Line::styled(
                format!(
                    "{} drills · {:.0}% passed{median} · readiness {}/100",
                    s.drills,
                    s.success_rate() * 100.0,
                    insight.readiness
                ),
                theme.dim(),
            ));
            if let Some(last) = insight.drills.first() {
                lines.push(Line::styled(
                    format!(
                        "last drill #{} {} {}: {}",
                        last.id,
                        ago(now, last.started_at),
                        last.mode.as_str(),
                        last.run_status(now).label()
                    ),
                    theme.dim(),
                ));
            }
        }
        _ => lines.push(Line::styled("never drilled", theme.dim())),
    }
    if let Some(insight) = app.home.insights.get(&p.id) {
        for rec in insight.recommendations.iter().take(4) {
            let style = match rec.severity {
                crate::insight::Severity::Critical => theme.bad(),
                crate::insight::Severity::Warn => theme.warn(),
                crate::insight::Severity::Info => theme.dim(),
            };
            let evidence = if rec.evidence.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    rec.evidence
                        .iter()
                        .take(3)
                        .map(|id| format!("#{id}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            lines.push(Line::styled(format!("⚠ {}{evidence}", rec.why), style));
        }
    }
    lines.push(Line::default());
    lines.extend(markdown_to_text(&p.description, width, theme.color).lines);
    lines.push(Line::default());
    lines.push(Line::styled(
        format!("from {}", loaded.origin.label()),
        theme.dim(),
    ));
    (p.id.clone(), lines)
}

fn resume_detail(row: &DrillRow, now: DateTime<Utc>, theme: Theme) -> (String, Vec<Line<'static>>) {
    let done = row.passed + row.failed + row.skipped + row.blocked;
    let lines = vec![
        Line::styled(row.playbook_title.clone(), theme.title()),
        Line::raw(format!(
            "drill #{} · {} · operator {}",
            row.id,
            row.mode.as_str(),
            row.operator
        )),
        Line::raw(format!(
            "started {} ({})",
            format_when(row.started_at),
            ago(now, row.started_at)
        )),
        Line::raw(format!(
            "{done}/{} steps: {} passed, {} failed, {} skipped, {} blocked",
            row.steps_total, row.passed, row.failed, row.skipped, row.blocked
        )),
        Line::raw(format!("last activity {}", ago(now, row.last_event_at))),
        Line::default(),
        Line::styled("enter resumes it exactly where it stopped.", theme.accent()),
    ];
    (format!("drill #{}", row.id), lines)
}

fn render_recent(
    frame: &mut Frame,
    area: Rect,
    rows: &[DrillRow],
    now: DateTime<Utc>,
    theme: Theme,
) {
    let width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = rows
        .iter()
        .take(area.height.saturating_sub(2) as usize)
        .map(|row| {
            use crate::drill::RunStatus;
            let mark = match row.run_status(now) {
                RunStatus::Aborted => Span::styled("■ aborted        ", theme.warn()),
                RunStatus::Running => Span::styled("▶ running        ", theme.accent()),
                RunStatus::Interrupted => Span::styled("◌ interrupted    ", theme.warn()),
                RunStatus::Completed => Span::styled("✔ completed      ", theme.ok()),
                RunStatus::CompletedWithFailures => Span::styled("✘ with failures  ", theme.bad()),
            };
            let text = format!(
                " #{:<4} {:<26} {:<8} {:>4}/{:<4} {}",
                row.id,
                truncate(&row.playbook_id, 26),
                row.mode.as_str(),
                row.passed,
                row.steps_total,
                ago(now, row.started_at),
            );
            Line::from(vec![
                mark,
                Span::raw(truncate(&text, width.saturating_sub(11))),
            ])
        })
        .collect();
    let block = Block::bordered()
        .title(Span::styled(" Recent drills ", theme.title()))
        .border_style(theme.border());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// UTC wall time, the same on every screen and in every report.
pub fn format_when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%MZ").to_string()
}

/// "just now", "5m ago", "3h ago", "2d ago".
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}
