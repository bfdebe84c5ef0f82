//! The plan wizard.

use super::*;

impl App {
    /// Loads the planner's knowledge base once; false (with the reason shown) if it fails.
    pub(super) fn ensure_knowledge(&mut self) -> bool {
        if self.knowledge.is_none() {
            match Knowledge::load() {
                Ok(k) => self.knowledge = Some(k),
                Err(errors) => {
                    let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
                    self.error(format!(
                        "the planner's knowledge base does not load: {first}"
                    ));
                    return false;
                }
            }
        }
        true
    }

    pub(super) fn open_planner(&mut self) {
        if !self.ensure_knowledge() {
            return;
        }
        if let Some(k) = &self.knowledge {
            let mut wizard = WizardState::new(k);
            // Coming back finds the answers as they were left.
            if let Some(fields) = &self.wizard_answers {
                wizard.fields = fields.clone();
            }
            self.screen = Screen::Wizard(Box::new(wizard));
        }
    }

    pub(super) fn handle_wizard(&mut self, action: Action, now: DateTime<Utc>) {
        self.handle_wizard_form_or_review(action, now);
        // Keep the answers after every key, so any way out keeps them.
        if let Screen::Wizard(wizard) = &self.screen
            && wizard.from_lint.is_none()
        {
            self.wizard_answers = Some(wizard.fields.clone());
        }
    }

    fn handle_wizard_form_or_review(&mut self, action: Action, now: DateTime<Utc>) {
        let (Screen::Wizard(wizard), Some(knowledge)) = (&mut self.screen, &self.knowledge) else {
            return;
        };
        if wizard.plan.is_none() {
            match action {
                Action::Down => wizard.move_focus(1),
                Action::Up => wizard.move_focus(-1),
                Action::Left => wizard.cycle(-1),
                Action::Right => wizard.cycle(1),
                Action::Input(c) => wizard.type_char(c),
                Action::Backspace => wizard.backspace(),
                Action::Submit => {
                    let store = &self.store;
                    let mut unread = None;
                    wizard.generate(knowledge, |id| plan_history(store, id, now, &mut unread));
                    if let Some(e) = unread {
                        self.error(e);
                    }
                }
                Action::Dismiss | Action::Back => {
                    self.screen = Screen::Home;
                    self.refresh_home();
                }
                _ => {}
            }
            return;
        }
        match action {
            Action::Down => wizard.scroll = wizard.scroll.saturating_add(1),
            Action::Up => wizard.scroll = wizard.scroll.saturating_sub(1),
            Action::PageDown => wizard.scroll = wizard.scroll.saturating_add(15),
            Action::PageUp => wizard.scroll = wizard.scroll.saturating_sub(15),
            Action::EditPlan | Action::Back if wizard.from_lint.is_some() => {
                if let Some(lint) = wizard.from_lint.take() {
                    self.screen = Screen::Lint(lint);
                }
            }
            Action::EditPlan => wizard.plan = None,
            Action::SavePlan => self.save_plan(),
            Action::StartTabletop | Action::StartLive => {
                let mode = if action == Action::StartLive {
                    Mode::Live
                } else {
                    Mode::Tabletop
                };
                if let Some(loaded) = planned_playbook(wizard) {
                    self.request_start(&loaded, mode, now);
                }
            }
            Action::Back => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }
}
