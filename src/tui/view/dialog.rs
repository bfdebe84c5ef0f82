//! Dialogs over a screen, and the help overlay generated from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::common::{centered, shell_lines};
use crate::drill::CommandPurpose;
use crate::playbook::OnFail;
use crate::tui::app::{AfterPnr, Dialog};
use crate::tui::keymap::{self, Context};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: Theme) {
    let width = area.width.saturating_sub(4).min(76);
    let (title, lines, border) = content(dialog, theme);
    // Borders plus wrapped lines, capped to the screen.
    let inner = width.saturating_sub(2).max(1) as usize;
    let height: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner))
        .sum::<usize>()
        + 2;
    let popup = centered(area, width, (height as u16).min(area.height));
    frame.render_widget(Clear, clear_area(popup, area));
    let block = Block::bordered()
        .title(Span::styled(title, border))
        .border_style(border);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
    if let Dialog::Prompt { kind, input, .. } = dialog {
        // Cursor after the typed text as shown, on the input line (third line inside).
        let typed = kind.shown_input(input).chars().count() as u16 + 2;
        let x = popup.x + 1 + typed.min(popup.width.saturating_sub(3));
        let y = popup.y + 3;
        if y < popup.y + popup.height.saturating_sub(1) {
            frame.set_cursor_position((x, y));
        }
    }
}

fn content(dialog: &Dialog, theme: Theme) -> (String, Vec<Line<'static>>, ratatui::style::Style) {
    let keys = |text: &'static str| Line::styled(text, theme.key());
    match dialog {
        Dialog::Prompt { kind, input, error } => {
            let mut lines = vec![
                Line::raw(kind.title()),
                Line::default(),
                Line::from(vec![
                    Span::styled("› ", theme.accent()),
                    Span::raw(kind.shown_input(input)),
                ]),
                Line::default(),
            ];
            if let Some(error) = error {
                lines.push(Line::styled(error.clone(), theme.bad()));
            }
            lines.push(keys("enter save · esc cancel · ctrl-u clear"));
            (kind.label(), lines, theme.focus_border())
        }
        Dialog::CrossPnr { step_title, then } => {
            let action = match then {
                AfterPnr::Pass => "Marking it passed records that you crossed it.",
                AfterPnr::Run(..) => "Its command is shown next, for a separate confirmation.",
            };
            let lines = vec![
                Line::styled(
                    format!("“{step_title}” is a point of no return."),
                    theme.warn(),
                ),
                Line::raw(
                    "After it, rolling back loses data or cannot restore the old state: from here on, roll forward.",
                ),
                Line::raw(action),
                Line::default(),
                keys("y cross it · n stay before it"),
            ];
            (
                " ⛔ Point of no return ".to_string(),
                lines,
                theme.danger_border(),
            )
        }
        Dialog::RunCommand { purpose, command } => {
            let what = match purpose {
                CommandPurpose::Action => "Run this command now?",
                CommandPurpose::Verify => "Run this verification now?",
            };
            let mut lines = vec![Line::raw(what), Line::default()];
            lines.extend(shell_lines(command, theme));
            lines.push(Line::default());
            lines.push(Line::styled(
                "It runs with sh -c, exactly as shown, on this machine.",
                theme.dim(),
            ));
            lines.push(keys("y run it · n do not run"));
            (
                " Live: confirm the exact command ".to_string(),
                lines,
                theme.danger_border(),
            )
        }
        Dialog::Finish { pending } => {
            let text = if *pending == 0 {
                "Every step has an outcome. Finish the drill?".to_string()
            } else {
                format!("{pending} step(s) have no outcome yet. Finish the drill anyway?")
            };
            (
                " Finish drill ".to_string(),
                vec![
                    Line::raw(text),
                    Line::default(),
                    keys("y finish · n keep going"),
                ],
                theme.focus_border(),
            )
        }
        Dialog::OnFail {
            step_title,
            on_fail,
        } => {
            let offer = match on_fail {
                OnFail::Goto(target) => format!("The playbook says: go to step “{target}”."),
                OnFail::Continue => "The playbook says: record it and continue.".to_string(),
                OnFail::Rollback => "The playbook says: roll back, following each done step's rollback notes, newest first.".to_string(),
                OnFail::Stop => "The playbook says: stop here and decide.".to_string(),
            };
            let lines = vec![
                Line::styled(format!("“{step_title}” failed."), theme.bad()),
                Line::raw(offer),
                Line::default(),
                keys("y follow it · c continue with the next step · s stay here"),
            ];
            (" Step failed ".to_string(), lines, theme.danger_border())
        }
        Dialog::StartLive {
            title,
            variables,
            probe,
        } => {
            let mut lines = vec![
                Line::raw(format!("Start a live drill of “{title}”?")),
                Line::raw("Each command is still shown and confirmed before it runs."),
                Line::default(),
            ];
            if variables.is_empty() {
                lines.push(Line::styled("No variables.", theme.dim()));
            } else {
                lines.push(Line::raw("Variables, as commands will get them:"));
                let width = variables.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
                for (name, value, source) in variables {
                    lines.push(Line::from(vec![
                        Span::styled(format!("  {name:<width$} = "), theme.accent()),
                        Span::raw(value.clone()),
                        Span::styled(format!("  ({source})"), theme.dim()),
                    ]));
                }
            }
            if let Some(probe) = probe {
                lines.push(Line::default());
                lines.push(Line::styled(probe.clone(), theme.accent()));
            }
            lines.push(Line::default());
            lines.push(keys("y start live · n cancel"));
            (" Live drill ".to_string(), lines, theme.danger_border())
        }
    }
}

/// The popup plus one column to its left: a two-column character (⛔) just
/// left of the popup would otherwise cover the popup's left border.
fn clear_area(popup: Rect, area: Rect) -> Rect {
    let x = popup.x.saturating_sub(1).max(area.x);
    Rect {
        x,
        width: popup.width + (popup.x - x),
        ..popup
    }
}

pub fn render_help(frame: &mut Frame, area: Rect, context: Context, scroll: u16, theme: Theme) {
    let bindings: Vec<_> = keymap::help(context).collect();
    let label_width = bindings
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(1);
    let width = area.width.saturating_sub(4).min(90);
    // Wrapped here, not by the Paragraph, so the scroll knows the line count
    // and continuation lines stay under the description.
    let text_width = (width as usize).saturating_sub(label_width + 5).max(10);
    let ctrl_c = "cancel a running command, else leave (every event is already saved)";
    let mut lines: Vec<Line> = Vec::new();
    let entries = bindings
        .iter()
        .map(|b| {
            (
                b.label,
                b.help,
                theme.key(),
                ratatui::style::Style::default(),
            )
        })
        .chain([("ctrl-c", ctrl_c, theme.dim(), theme.dim())]);
    for (label, help, key_style, text_style) in entries {
        for (i, part) in wrap_words(help, text_width).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {label:<label_width$}  "), key_style),
                Span::styled(part, text_style),
            ]));
        }
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let visible = height.saturating_sub(2) as usize;
    let scroll = (scroll as usize).min(lines.len().saturating_sub(visible));
    let hint = if lines.len() > visible {
        format!(
            " {}-{} of {} · j/k scroll · other keys close ",
            scroll + 1,
            scroll + visible,
            lines.len()
        )
    } else {
        " any key closes this help ".to_string()
    };
    let popup = centered(area, width, height);
    frame.render_widget(Clear, clear_area(popup, area));
    let block = Block::bordered()
        .title(Span::styled(" Keys ", theme.title()))
        .title_bottom(Line::styled(hint, theme.dim()).right_aligned())
        .border_style(theme.focus_border());
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(visible).collect();
    frame.render_widget(Paragraph::new(shown).block(block), popup);
}

/// Splits `text` into lines of at most `width` characters at spaces (a word
/// longer than the width gets a line of its own).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
