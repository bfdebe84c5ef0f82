//! The terminal shell around the domain: event loop, keys, screens.
//!
//! Flow: crossterm event -> [`keymap`] -> [`action::Action`] ->
//! [`app::App::handle`] (state change, log write) -> [`view::render`].

pub mod action;
pub mod app;
pub mod keymap;
pub mod lint;
pub mod markdown_view;
pub mod runner;
pub mod theme;
pub mod view;
pub mod wizard;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{self, Event, KeyEvent};
use ratatui::DefaultTerminal;

use self::action::Action;
use self::app::{App, Dialog};
use self::theme::Theme;

/// Restores the terminal when dropped: on return, on error and on unwind.
/// (ratatui's own panic hook restores it before a panic message prints.)
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the interactive app until the operator leaves or a signal asks it to.
pub fn run(app: &mut App, theme: Theme) -> io::Result<()> {
    // SIGTERM and SIGHUP (terminal closed) end the loop cleanly. Each event
    // is already in the log, so leaving loses nothing.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let mut terminal = ratatui::try_init()?;
    let size = terminal.size()?;
    app.area = Some((size.width, size.height));
    let _guard = TerminalGuard;
    let done = Arc::new(AtomicBool::new(false));
    watchdog(Arc::clone(&stop), Arc::clone(&done));
    let result = event_loop(&mut terminal, app, theme, &stop);
    done.store(true, Ordering::Relaxed);
    result
}

/// When the terminal is gone (SIGHUP: window closed, ssh dropped), crossterm's
/// poll can spin on end-of-file and never return, so the loop would never see
/// the signal. If the loop has not left a second after a signal, end the
/// process here: every event is already committed, so nothing is lost, and
/// the drill reopens from its last heartbeat.
fn watchdog(stop: Arc<AtomicBool>, done: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if stop.load(Ordering::Relaxed) {
                // Long enough for a running command to be cancelled and
                // logged (SIGTERM, SIGKILL after 2 s) by the loop's leave.
                std::thread::sleep(Duration::from_secs(4));
                if !done.load(Ordering::Relaxed) {
                    ratatui::restore();
                    std::process::exit(0);
                }
            }
        }
    });
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    theme: Theme,
    stop: &AtomicBool,
) -> io::Result<()> {
    loop {
        let now = Utc::now();
        app.tick(now);
        terminal.draw(|frame| view::render(frame, app, now, theme))?;
        if app.should_quit || stop.load(Ordering::Relaxed) {
            app.leave(Utc::now());
            return Ok(());
        }
        let timeout = if app.command_running() {
            Duration::from_millis(50)
        } else if app.clock_visible() || app.watching() {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        };
        if !event::poll(timeout)? {
            continue;
        }
        // Drain what is queued before drawing again, so pasted text or key
        // repeat does not draw a frame per key.
        loop {
            match event::read()? {
                Event::Key(key) if key.is_press() => {
                    if let Some(action) = action_for_key(app, key) {
                        app.handle(action, Utc::now());
                    }
                }
                Event::Resize(width, height) => app.area = Some((width, height)),
                _ => {}
            }
            if app.should_quit || !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}

/// Which keymap applies depends on what is on top: help, a dialog, a screen.
pub fn action_for_key(app: &App, key: KeyEvent) -> Option<Action> {
    if app
        .area
        .is_some_and(|(w, h)| w < view::MIN_WIDTH || h < view::MIN_HEIGHT)
    {
        // Behind the "too small" notice nothing is visible, so no key may
        // act on it (a space there once passed a live step unseen): only
        // leaving works.
        return match keymap::action_for(app.context(), key) {
            Some(Action::Interrupt | Action::Quit | Action::Back) if app.dialog.is_none() => {
                keymap::action_for(app.context(), key)
            }
            _ if is_ctrl_c(key) => Some(Action::Interrupt),
            _ => None,
        };
    }
    if app.show_help {
        // Help scrolls with the movement keys; any other key closes it.
        return Some(match key.code {
            crossterm::event::KeyCode::Char('j')
            | crossterm::event::KeyCode::Down
            | crossterm::event::KeyCode::Char('J')
            | crossterm::event::KeyCode::PageDown => Action::Down,
            crossterm::event::KeyCode::Char('k')
            | crossterm::event::KeyCode::Up
            | crossterm::event::KeyCode::Char('K')
            | crossterm::event::KeyCode::PageUp => Action::Up,
            _ => Action::Dismiss,
        });
    }
    if let app::Screen::Wizard(w) = &app.screen
        && w.plan.is_none()
        && app.dialog.is_none()
    {
        return keymap::wizard_action(key);
    }
    if app.dialog.is_none() && app.filter_editing() {
        return keymap::prompt_action(key);
    }
    match &app.dialog {
        Some(Dialog::Prompt { .. }) => keymap::prompt_action(key),
        Some(_) => keymap::confirm_action(key),
        None => keymap::action_for(app.context(), key),
    }
}

fn is_ctrl_c(key: KeyEvent) -> bool {
    key.code == crossterm::event::KeyCode::Char('c')
        && key
            .modifiers
            .contains(crossterm::event::KeyModifiers::CONTROL)
}
