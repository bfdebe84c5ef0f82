//! Dialogs: prompts, confirmations and what a yes leads to.

use super::*;

impl App {
    pub(super) fn handle_dialog(&mut self, action: Action, now: DateTime<Utc>) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        match dialog {
            Dialog::Prompt {
                kind, mut input, ..
            } => match action {
                Action::Input('\u{15}') => {
                    input.clear();
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Input(c) => {
                    input.push(c);
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Backspace => {
                    input.pop();
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    });
                }
                Action::Dismiss => {
                    if let PromptKind::SetVariable { .. } = kind {
                        self.pending_live = None;
                        self.info("live drill not started");
                    }
                }
                Action::Submit => {
                    let text = input.trim().to_string();
                    if text.is_empty() && kind.required() {
                        let needed = if matches!(kind, PromptKind::SetVariable { .. }) {
                            "a value is needed; esc cancels"
                        } else {
                            "a reason is needed; esc cancels"
                        };
                        self.dialog = Some(Dialog::Prompt {
                            kind,
                            input,
                            error: Some(needed.into()),
                        });
                    } else {
                        self.submit_prompt(kind, text, now);
                    }
                }
                _ => {
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input,
                        error: None,
                    })
                }
            },
            Dialog::CrossPnr { step_title, then } => match action {
                Action::Yes => self.cross_pnr(then, now),
                Action::No | Action::Dismiss => self.info("point of no return not crossed"),
                _ => self.dialog = Some(Dialog::CrossPnr { step_title, then }),
            },
            Dialog::RunCommand { purpose, command } => match action {
                Action::Yes => self.run_confirmed(purpose, command, now),
                Action::No | Action::Dismiss => self.info("nothing ran"),
                _ => self.dialog = Some(Dialog::RunCommand { purpose, command }),
            },
            Dialog::Finish { pending } => match action {
                Action::Yes | Action::Submit => self.finish(now),
                Action::No | Action::Dismiss => {}
                _ => self.dialog = Some(Dialog::Finish { pending }),
            },
            Dialog::OnFail {
                step_title,
                on_fail,
            } => self.choose_on_fail(action, step_title, on_fail, now),
            Dialog::StartLive {
                title,
                variables,
                probe,
            } => match action {
                // Only `y`, as the README and the dialog say: Enter must not start a live drill.
                Action::Yes => {
                    if let Some(loaded) = self.pending_live.take() {
                        self.start(&loaded, Mode::Live, now);
                    }
                }
                Action::No | Action::Dismiss => {
                    self.pending_live = None;
                    self.info("live drill not started");
                }
                _ => {
                    self.dialog = Some(Dialog::StartLive {
                        title,
                        variables,
                        probe,
                    })
                }
            },
        }
    }

    pub(super) fn submit_prompt(&mut self, kind: PromptKind, text: String, now: DateTime<Utc>) {
        if let PromptKind::SetVariable { name, .. } = kind {
            self.overrides.insert(name.clone(), text);
            self.typed_vars.insert(name);
            // Ask for the next missing one, or show the start dialog.
            if let Some(loaded) = self.pending_live.take() {
                self.request_start(&loaded, Mode::Live, now);
            }
            return;
        }
        if kind == PromptKind::LintPath {
            return match LintState::from_prompt(&text) {
                Ok(state) => self.open_lint(state),
                Err(e) => {
                    self.dialog = Some(Dialog::Prompt {
                        kind,
                        input: text,
                        error: Some(e),
                    })
                }
            };
        }
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        if kind == PromptKind::CloseFollowUp {
            return match runner.close_follow_up(&mut self.store, now, &text) {
                Ok(Some(closed)) => self.info(format!("follow-up closed: {closed}")),
                Ok(None) => self.info("no open follow-up on this step"),
                Err(e) => self.error(e.to_string()),
            };
        }
        let store = &mut self.store;
        let result = match kind.clone() {
            PromptKind::Note => runner
                .add_note(store, now, text, &self.operator)
                .map(|_| FollowUp::None),
            PromptKind::FailReason => runner.record_outcome(store, now, Outcome::Failed, text),
            PromptKind::SkipReason => runner.record_outcome(store, now, Outcome::Skipped, text),
            PromptKind::BlockReason => runner.record_outcome(store, now, Outcome::Blocked, text),
            PromptKind::AbortReason => runner.abort(store, now, text).map(|_| FollowUp::None),
            PromptKind::OverrideReason(outcome) => {
                runner.record_override(store, now, outcome, text)
            }
            PromptKind::UndoReason => runner.undo_last(store, now, text),
            PromptKind::CloseFollowUp => return,
            PromptKind::LintPath | PromptKind::SetVariable { .. } => return,
        };
        match result {
            Ok(FollowUp::OfferOnFail { step, on_fail }) => {
                let step_title = runner
                    .session
                    .playbook
                    .find_step(&step)
                    .and_then(|at| runner.session.playbook.step(at))
                    .map(|s| s.title.clone())
                    .unwrap_or(step);
                self.dialog = Some(Dialog::OnFail {
                    step_title,
                    on_fail,
                });
            }
            Ok(FollowUp::Refused(why)) => self.error(why),
            Ok(FollowUp::None) => {
                if kind == PromptKind::AbortReason {
                    self.show_summary();
                } else if kind == PromptKind::Note {
                    self.info("note saved");
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn cross_pnr(&mut self, then: AfterPnr, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        if let Err(e) = runner.confirm_point_of_no_return(&mut self.store, now) {
            return self.error(e.to_string());
        }
        match then {
            AfterPnr::Pass => {
                if let Err(e) =
                    runner.record_outcome(&mut self.store, now, Outcome::Passed, String::new())
                {
                    self.error(e.to_string());
                }
            }
            // Confirming the point of no return is not confirming the command:
            // the exact command is still shown and confirmed on its own.
            AfterPnr::Run(purpose, command) => {
                self.dialog = Some(Dialog::RunCommand { purpose, command })
            }
        }
    }

    pub(super) fn run_confirmed(
        &mut self,
        purpose: CommandPurpose,
        command: String,
        now: DateTime<Utc>,
    ) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        match runner.run_command(&mut self.store, now, purpose, command) {
            Ok(Ok(())) => self.info("running… x cancels"),
            Ok(Err(message)) => self.error(message),
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn choose_on_fail(
        &mut self,
        action: Action,
        step_title: String,
        on_fail: OnFail,
        now: DateTime<Utc>,
    ) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        let store = &mut self.store;
        let result = match (action, &on_fail) {
            (Action::Yes | Action::Submit, OnFail::Goto(target)) => {
                runner.go_to(store, now, target)
            }
            (Action::Yes | Action::Submit, OnFail::Continue) => runner.advance(store, now),
            (Action::Yes | Action::Submit, OnFail::Rollback) => {
                self.info("roll back: follow the rollback notes of the steps done, newest first (shown in each step)");
                Ok(())
            }
            (Action::Yes | Action::Submit, OnFail::Stop) => {
                self.info("stopped at the failed step: retry it (enter), go on (j), or abort (a)");
                Ok(())
            }
            (Action::Choose('c'), _) => runner.advance(store, now),
            (Action::No | Action::Dismiss | Action::Choose('s'), _) => {
                self.info("staying on the failed step");
                Ok(())
            }
            _ => {
                self.dialog = Some(Dialog::OnFail {
                    step_title,
                    on_fail,
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    pub(super) fn finish(&mut self, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        match runner.finish(&mut self.store, now) {
            Ok(()) => self.show_summary(),
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn show_summary(&mut self) {
        let screen = std::mem::replace(&mut self.screen, Screen::Home);
        if let Screen::Runner(runner) = screen {
            let events = self.store.events(runner.session.id).unwrap_or_default();
            self.screen = Screen::Summary(Box::new(SummaryState {
                events,
                session: runner.session,
                scroll: 0,
                back_to: None,
            }));
        }
    }
}
