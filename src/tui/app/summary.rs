//! Summary of one drill: scrolling and going back.

use super::*;

impl App {
    pub(super) fn handle_summary(&mut self, action: Action) {
        let Screen::Summary(summary) = &mut self.screen else {
            return;
        };
        match action {
            Action::Down => summary.scroll = summary.scroll.saturating_add(1),
            Action::Up => summary.scroll = summary.scroll.saturating_sub(1),
            Action::Back | Action::Quit => match summary.back_to.take() {
                Some(history) => self.screen = Screen::History(history),
                None => {
                    self.screen = Screen::Home;
                    self.refresh_home();
                }
            },
            _ => {}
        }
    }
}
