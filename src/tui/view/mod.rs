//! Drawing: pure functions of the app state and `now`. Nothing here reads
//! the clock, the disk or the database.

mod common;
mod dialog;
mod history;
mod home;
mod lint;
mod runner;
mod stats;
mod summary;
mod wizard;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Screen};
use super::theme::Theme;

/// Smallest terminal the screens are laid out for; below it a notice shows.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

pub fn render(frame: &mut Frame, app: &App, now: DateTime<Utc>, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area, theme);
        return;
    }
    match &app.screen {
        Screen::Home => home::render(frame, area, app, now, theme),
        Screen::Runner(runner) => runner::render(frame, area, app, runner, now, theme),
        Screen::Summary(summary) => summary::render(frame, area, app, summary, theme),
        Screen::History(history) => history::render(frame, area, app, history, now, theme),
        Screen::Stats(stats) => stats::render(frame, area, app, stats, theme),
        Screen::Wizard(wizard) => wizard::render(frame, area, app, wizard, theme),
        Screen::Lint(lint) => lint::render(frame, area, app, lint, theme),
    }
    if let Some(d) = &app.dialog {
        dialog::render(frame, area, d, theme);
    }
    if app.show_help {
        dialog::render_help(frame, area, app.context(), app.help_scroll, theme);
    }
}

fn render_too_small(frame: &mut Frame, area: Rect, theme: Theme) {
    let text = vec![
        Line::styled("rollsafe", theme.title()),
        Line::from(format!(
            "terminal {}x{} is too small; make it at least {MIN_WIDTH}x{MIN_HEIGHT}. The drill is safe.",
            area.width, area.height
        )),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}
