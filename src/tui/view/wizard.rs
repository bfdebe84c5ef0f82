//! The plan wizard: the intake form, then the generated plan to review.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::common::{self, truncate};
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::markdown_view::markdown_to_text;
use crate::tui::theme::Theme;
use crate::tui::wizard::{FieldKind, WizardState, slot};

pub fn render(frame: &mut Frame, area: Rect, app: &App, wizard: &WizardState, theme: Theme) {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    match &wizard.plan {
        None => {
            let title = " Plan a migration ─ describe the change; the planner checks it on enter";
            frame.render_widget(Paragraph::new(Line::styled(title, theme.title())), header);
            render_form(frame, body, app, wizard, theme);
            let hints = Line::from(vec![
                Span::styled(" tab/↓", theme.key()),
                Span::raw(" next  "),
                Span::styled("↑", theme.key()),
                Span::raw(" previous  "),
                Span::styled("←/→", theme.key()),
                Span::raw(" choose  "),
                Span::styled("enter", theme.key()),
                Span::raw(" plan  "),
                Span::styled("esc", theme.key()),
                Span::raw(" back"),
            ]);
            frame.render_widget(Paragraph::new(hints), footer);
        }
        Some(plan) => {
            let title = format!(" Plan {} ─ review, then rehearse it", plan.playbook.id);
            frame.render_widget(Paragraph::new(Line::styled(title, theme.title())), header);
            let width = body.width.saturating_sub(2);
            let text =
                markdown_to_text(&crate::planner::render::markdown(plan), width, theme.color);
            let verdict_style = if plan.recommendation.rollback_viable {
                theme.ok()
            } else {
                theme.warn()
            };
            let block = Block::bordered()
                .title(Span::styled(
                    // The status names the rollback path itself.
                    format!(" {} ", plan.recommendation.rollback_status),
                    verdict_style,
                ))
                .border_style(theme.focus_border());
            frame.render_widget(
                Paragraph::new(text).block(block).scroll((wizard.scroll, 0)),
                body,
            );
            common::footer(frame, footer, Context::PlanReview, theme);
        }
    }
    let status_line = wizard
        .error
        .as_ref()
        .map(|e| crate::tui::app::Status {
            text: e.clone(),
            error: true,
        })
        .or_else(|| app.status.clone());
    common::status(frame, status, status_line.as_ref(), theme);
}

fn render_form(frame: &mut Frame, area: Rect, app: &App, wizard: &WizardState, theme: Theme) {
    let label_width = 14;
    let value_width = (area.width as usize).saturating_sub(label_width + 6);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    for (index, field) in wizard.fields.iter().enumerate() {
        let focused = index == wizard.focus;
        let marker = if focused { "› " } else { "  " };
        let shown = match &field.kind {
            FieldKind::Choice(_) if focused => format!("‹ {} ›", field.value),
            FieldKind::Toggle if focused => format!("‹ {} ›", field.value),
            _ => field.value.clone(),
        };
        let placeholder = field.value.is_empty() && field.kind == FieldKind::Text;
        let value = if placeholder && !field.placeholder.is_empty() {
            Span::styled(truncate(field.placeholder, value_width), theme.dim())
        } else if placeholder && !focused {
            Span::styled("–", theme.dim())
        } else {
            Span::styled(
                truncate(&shown, value_width),
                if focused {
                    theme.selected()
                } else {
                    ratatui::style::Style::new()
                },
            )
        };
        if focused && field.kind == FieldKind::Text {
            let typed = field.value.chars().count().min(value_width) as u16;
            cursor = Some((
                area.x + 1 + 2 + label_width as u16 + typed,
                area.y + 1 + lines.len() as u16,
            ));
        }
        lines.push(Line::from(vec![
            Span::styled(marker, theme.accent()),
            Span::styled(
                format!("{:<label_width$}", field.label),
                if focused { theme.title() } else { theme.dim() },
            ),
            value,
        ]));
        if slot::INCIDENTS.contains(&index)
            && let Some(knowledge) = &app.knowledge
        {
            let matches = wizard.incident_matches(knowledge, index);
            if matches.is_empty() && !wizard.fields[index].value.trim().is_empty() {
                lines.push(Line::styled(
                    truncate(
                        &format!(
                            "{:>w$}→ no known category; {}",
                            "",
                            knowledge.reading.ask,
                            w = label_width + 2
                        ),
                        area.width as usize,
                    ),
                    theme.dim(),
                ));
            }
            for m in matches {
                let words = format!("{:.0}%: ", m.confidence * 100.0)
                    + &m.words
                        .iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                lines.push(Line::styled(
                    truncate(
                        &format!(
                            "{:>w$}→ {} (matched: {words})",
                            "",
                            m.name,
                            w = label_width + 2
                        ),
                        area.width.saturating_sub(2) as usize,
                    ),
                    theme.warn(),
                ));
            }
        }
    }
    if let Some(field) = wizard.fields.get(wizard.focus) {
        lines.push(Line::default());
        lines.push(Line::styled(format!("  {}", field.hint), theme.dim()));
    }
    let block = Block::bordered()
        .title(Span::styled(" Intake ", theme.title()))
        .border_style(theme.focus_border());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
    if let Some((x, y)) = cursor
        && y < area.y + area.height.saturating_sub(1)
        && x < area.x + area.width.saturating_sub(1)
    {
        frame.set_cursor_position((x, y));
    }
}
