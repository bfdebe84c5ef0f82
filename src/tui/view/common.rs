//! Pieces shared by the screens: footer hints, status line, popups.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::Status;
use crate::tui::keymap::{self, Context};
use crate::tui::theme::Theme;

/// `key action` pairs from the keymap, cut to the width.
pub fn footer(frame: &mut Frame, area: Rect, context: Context, theme: Theme) {
    footer_where(frame, area, context, theme, |_| true);
}

/// The footer with only the bindings `keep` accepts (keys that do nothing
/// in the screen's current state are not offered).
pub fn footer_where(
    frame: &mut Frame,
    area: Rect,
    context: Context,
    theme: Theme,
    keep: impl Fn(&crate::tui::action::Action) -> bool,
) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    for binding in keymap::footer(context).filter(|b| keep(&b.action)) {
        let word = binding.hint;
        let len = binding.label.chars().count() + word.chars().count() + 3;
        if used + len > area.width as usize {
            break;
        }
        used += len;
        spans.push(Span::styled(binding.label, theme.key()));
        spans.push(Span::raw(format!(" {word}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn status(frame: &mut Frame, area: Rect, status: Option<&Status>, theme: Theme) {
    if let Some(status) = status {
        let style = if status.error {
            theme.bad()
        } else {
            theme.accent()
        };
        let mark = if status.error { "✘ " } else { "• " };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::raw(" "),
                Span::styled(format!("{mark}{}", status.text), style),
            ])),
            area,
        );
    }
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A command as a prompt line: `$ ` on the first line, aligned continuation lines.
pub fn shell_lines(command: &str, theme: Theme) -> impl Iterator<Item = Line<'static>> {
    command.lines().enumerate().map(move |(i, l)| {
        let prompt = if i == 0 { "$ " } else { "  " };
        Line::styled(format!("{prompt}{l}"), theme.code())
    })
}

/// Cuts `text` to `max` characters, ending with '…' when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("äöü", 3), "äöü");
        assert_eq!(truncate("abc", 0), "");
    }
}
