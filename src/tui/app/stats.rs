//! Statistics of one playbook.

use super::*;

impl App {
    pub(super) fn handle_stats(&mut self, action: Action) {
        let Screen::Stats(stats) = &mut self.screen else {
            return;
        };
        match action {
            Action::Down => stats.scroll = stats.scroll.saturating_add(1),
            Action::Up => stats.scroll = stats.scroll.saturating_sub(1),
            Action::Back | Action::Quit => {
                let Screen::Stats(stats) = std::mem::replace(&mut self.screen, Screen::Home) else {
                    return;
                };
                self.screen = Screen::History(stats.back_to);
            }
            _ => {}
        }
    }
}
