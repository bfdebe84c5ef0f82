//! The lint screen.

use super::*;

impl App {
    /// Shows the findings of a linted migration.
    pub fn open_lint(&mut self, state: LintState) {
        let n = state.report.findings.len();
        let what = if n == 0 {
            "no findings: p plans it as written".to_string()
        } else {
            format!("{n} findings: p plans the phased playbook from them")
        };
        self.screen = Screen::Lint(Box::new(state));
        self.info(what);
    }

    pub(super) fn handle_lint(&mut self, action: Action, now: DateTime<Utc>) {
        if !matches!(self.screen, Screen::Lint(_)) {
            return;
        }
        if action == Action::OpenPlanner && !self.ensure_knowledge() {
            return;
        }
        let Screen::Lint(lint) = &mut self.screen else {
            return;
        };
        if lint.filter.editing || action == Action::Filter {
            if action == Action::Filter {
                lint.filter.begin();
            } else if lint.filter.edit(action) {
                lint.refilter();
            }
            return;
        }
        match action {
            Action::Down => lint.move_by(1),
            Action::Up => lint.move_by(-1),
            Action::Top => lint.move_by(isize::MIN),
            Action::Bottom => lint.move_by(isize::MAX),
            Action::PageDown => lint.scroll = lint.scroll.saturating_add(5),
            Action::PageUp => lint.scroll = lint.scroll.saturating_sub(5),
            Action::OpenPlanner => {
                let Some(k) = &self.knowledge else {
                    return;
                };
                let store = &self.store;
                let mut unread = None;
                let planned = lint.plan(k, |id| plan_history(store, id, now, &mut unread));
                let planned = planned.map(|plan| {
                    let mut wizard = WizardState::new(k);
                    wizard.plan = Some(Box::new(plan));
                    wizard
                });
                match planned {
                    Ok(mut wizard) => {
                        let Screen::Lint(lint) = std::mem::replace(&mut self.screen, Screen::Home)
                        else {
                            return;
                        };
                        wizard.from_lint = Some(lint);
                        self.screen = Screen::Wizard(Box::new(wizard));
                        self.info("t rehearses it tabletop, e goes back to the findings");
                    }
                    Err(e) => self.error(format!("cannot plan from this migration: {e}")),
                }
                // After the outcome, so a log that could not be read is what stays shown.
                if let Some(e) = unread {
                    self.error(e);
                }
            }
            // Esc first clears a filter, then leaves.
            Action::Back | Action::Quit if lint.filter.is_active() => {
                lint.filter = Default::default();
                lint.refilter();
            }
            Action::Back | Action::Quit => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }

    /// Writes the plan and its rollback drill as TOML into the user's playbooks.
    pub(super) fn save_plan(&mut self) {
        let Screen::Wizard(wizard) = &self.screen else {
            return;
        };
        let Some(plan) = &wizard.plan else {
            return;
        };
        let Some(dir) = self.playbooks_dir.clone() else {
            return self
                .error("no config directory to save playbooks in; use rollsafe plan --out".into());
        };
        let files = [
            (
                format!("{}.toml", plan.playbook.id),
                crate::planner::render::toml(plan, false),
            ),
            (
                format!("{}.toml", plan.rollback_playbook.id),
                crate::planner::render::toml(plan, true),
            ),
        ];
        let result = std::fs::create_dir_all(&dir).and_then(|()| {
            for (name, text) in &files {
                std::fs::write(dir.join(name), text)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                self.library = Library::load(Some(&dir));
                self.info(format!(
                    "saved {} and {} in {}",
                    files[0].0,
                    files[1].0,
                    dir.display()
                ));
            }
            Err(e) => self.error(format!("cannot save in {}: {e}", dir.display())),
        }
    }
}
