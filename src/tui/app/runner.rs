//! Runner keys: each asks the runner state, which asks the drill.

use super::*;

impl App {
    pub(super) fn handle_runner(&mut self, action: Action, now: DateTime<Utc>) {
        let Screen::Runner(runner) = &mut self.screen else {
            return;
        };
        // A follower may move, read, note and take the drive; outcomes go to
        // the log, which refuses them while someone else drives. Nothing a
        // follower presses runs a command or ends the drill.
        if let Some(by) = runner.following.clone()
            && matches!(
                action,
                Action::Open
                    | Action::RunCommand
                    | Action::RunVerify
                    | Action::TogglePause
                    | Action::Finish
                    | Action::Abort
                    | Action::Override
            )
        {
            return self.error(format!(
                "following: {by} drives this drill; D takes the drive once they hand it over (H)"
            ));
        }
        let id = runner.session.id;
        match action {
            Action::TakeDrive => {
                if runner.following.is_none() {
                    return self.info("you drive this drill already");
                }
                return match self.store.claim_drive(id, now, false) {
                    Ok(()) => {
                        runner.following = None;
                        self.info(format!(
                            "you drive drill #{id} now: outcomes you record land in the log"
                        ))
                    }
                    Err(e) => self.error(e.to_string()),
                };
            }
            Action::HandOver => {
                if runner.following.is_some() {
                    return self.info("you are following, not driving: nothing to hand over");
                }
                return match self.store.release_drive(id) {
                    Ok(()) => {
                        runner.following = Some("nobody".into());
                        self.info("handed over: you follow now; anyone following can take the drive with D")
                    }
                    Err(e) => self.error(e.to_string()),
                };
            }
            _ => {}
        }
        let over = runner.is_over();
        let paused = runner.session.drill.is_paused();
        let busy = runner.command.is_some();
        let changes_outcome = matches!(
            action,
            Action::Pass
                | Action::Fail
                | Action::Skip
                | Action::Block
                | Action::Override
                | Action::Undo
                | Action::Open
                | Action::RunCommand
                | Action::RunVerify
        );
        if over
            && (changes_outcome
                || matches!(
                    action,
                    Action::Note | Action::TogglePause | Action::Abort | Action::Finish
                ))
        {
            return self.info("this drill has ended; q goes back to Home");
        }
        if paused && changes_outcome {
            return self.info("the drill is paused: p resumes it");
        }
        if busy && (changes_outcome || matches!(action, Action::Finish | Action::Back)) {
            return self.info("a command is running: wait for it, or x cancels it");
        }
        // The drill decides which outcome may end which step; keys only ask.
        let asked = match action {
            Action::Pass => Some(Outcome::Passed),
            Action::Fail => Some(Outcome::Failed),
            Action::Skip => Some(Outcome::Skipped),
            Action::Block => Some(Outcome::Blocked),
            _ => None,
        };
        if let Some(outcome) = asked {
            match crate::drill::lifecycle::may_record(
                &runner.session.drill,
                runner.selected,
                outcome,
            ) {
                Ok(()) => runner.refused = None,
                Err(why) => {
                    runner.refused = Some((runner.selected, outcome));
                    // The hint comes first: a narrow status line cuts the end.
                    return self.error(format!("refused (! records it anyway): {why}"));
                }
            }
        }
        let result = match action {
            Action::Down => {
                runner.move_by(1);
                Ok(())
            }
            Action::Up => {
                runner.move_by(-1);
                Ok(())
            }
            Action::Top => {
                runner.select(0);
                Ok(())
            }
            Action::Bottom => {
                runner.select(usize::MAX);
                Ok(())
            }
            // One key scrolls whichever pane shows: the detail down, or the
            // output towards its tail (where it follows again).
            Action::ScrollOutputDown => {
                runner.scroll = runner.scroll.saturating_add(5);
                runner.output_back = runner.output_back.saturating_sub(5);
                Ok(())
            }
            Action::ScrollOutputUp => {
                runner.scroll = runner.scroll.saturating_sub(5);
                runner.output_back = runner.output_back.saturating_add(5);
                Ok(())
            }
            Action::ToggleOutput => {
                runner.output_large = !runner.output_large;
                Ok(())
            }
            Action::JumpToRunning => {
                match runner.running_step() {
                    Some(index) => runner.select(index),
                    None => return self.info("no step is running"),
                }
                Ok(())
            }
            Action::Open => runner.start_selected(&mut self.store, now),
            Action::Pass => {
                if runner.needs_pnr_confirmation() {
                    self.dialog = Some(cross_pnr(runner, AfterPnr::Pass));
                    return;
                }
                runner
                    .record_outcome(&mut self.store, now, Outcome::Passed, String::new())
                    .map(|_| ())
            }
            Action::Fail => return self.open_prompt(PromptKind::FailReason),
            Action::Skip => return self.open_prompt(PromptKind::SkipReason),
            Action::Block => return self.open_prompt(PromptKind::BlockReason),
            Action::Note => return self.open_prompt(PromptKind::Note),
            Action::Override => {
                let Some((_, outcome)) = runner.refused.filter(|(i, _)| *i == runner.selected)
                else {
                    return self
                        .info("nothing to override: ! follows an outcome the drill refused");
                };
                if outcome == Outcome::Passed && runner.needs_pnr_confirmation() {
                    return self.info(
                        "a point of no return is crossed only with its own confirmation: enter starts the step",
                    );
                }
                return self.open_prompt(PromptKind::OverrideReason(outcome));
            }
            Action::CloseFollowUp => {
                let step = runner.selected_id().unwrap_or_default();
                if !runner.follow_ups.iter().any(|f| f.is_on(&step)) {
                    return self.info("no open follow-up on this step");
                }
                return self.open_prompt(PromptKind::CloseFollowUp);
            }
            Action::Undo => {
                if crate::drill::lifecycle::may_undo(&runner.session.drill).is_none() {
                    return self
                        .info("nothing to undo: only the latest outcome can be taken back, once");
                }
                return self.open_prompt(PromptKind::UndoReason);
            }
            Action::Abort => return self.open_prompt(PromptKind::AbortReason),
            Action::RunCommand | Action::RunVerify => {
                let purpose = if action == Action::RunCommand {
                    CommandPurpose::Action
                } else {
                    CommandPurpose::Verify
                };
                return self.ask_to_run(purpose);
            }
            Action::CancelCommand => {
                if runner.cancel_command() {
                    self.info("cancelling the command…");
                } else if let Some(pgid) = runner.leftover.take() {
                    return match runner.stop_leftover(&mut self.store, now, pgid) {
                        Ok(true) => self.info(format!(
                            "stopped process group {pgid}, left running by the crash (logged)"
                        )),
                        Ok(false) => self.error(format!(
                            "process group {pgid} did not stop even on SIGKILL: check it with ps -g {pgid}"
                        )),
                        Err(e) => self.error(e.to_string()),
                    };
                } else {
                    self.info("no command is running; q leaves the drill (it stays resumable)");
                }
                return;
            }
            Action::TogglePause => runner.toggle_pause(&mut self.store, now),
            Action::Finish => {
                let pending = runner.step_count() - runner.session.drill.done();
                self.dialog = Some(Dialog::Finish { pending });
                return;
            }
            Action::Back | Action::Quit => {
                // The heartbeat marks when the operator left; the time away
                // is logged as an interruption when the drill is reopened.
                let left = runner
                    .close_probe(&mut self.store, now)
                    .and_then(|()| runner.heartbeat(&mut self.store, now, true));
                self.screen = Screen::Home;
                self.refresh_home();
                left
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    pub(super) fn open_prompt(&mut self, kind: PromptKind) {
        self.dialog = Some(Dialog::Prompt {
            kind,
            input: String::new(),
            error: None,
        });
    }

    pub(super) fn ask_to_run(&mut self, purpose: CommandPurpose) {
        let Screen::Runner(runner) = &self.screen else {
            return;
        };
        if runner.mode() == Mode::Tabletop {
            return self
                .info("tabletop drill: nothing runs; talk it through, then mark the outcome");
        }
        if purpose == CommandPurpose::Action
            && let Some(why) = runner
                .selected_step()
                .filter(|s| s.command.is_some())
                .and_then(|s| s.command_kind.describe())
        {
            return self.info(format!("{why}: mark the outcome when it is done"));
        }
        let Some(command) = runner.command_text(purpose) else {
            let what = match purpose {
                CommandPurpose::Action => "a command",
                CommandPurpose::Verify => "a verification",
            };
            return self.info(format!("this step has no {what} to run"));
        };
        let command = match command {
            Ok(command) => command,
            Err(why) => return self.error(why.to_string()),
        };
        if purpose == CommandPurpose::Action && runner.needs_pnr_confirmation() {
            self.dialog = Some(cross_pnr(runner, AfterPnr::Run(purpose, command)));
        } else {
            self.dialog = Some(Dialog::RunCommand { purpose, command });
        }
    }
}

/// The point-of-no-return dialog for the selected step, and what to do once it is crossed.
fn cross_pnr(runner: &RunnerState, then: AfterPnr) -> Dialog {
    let step_title = runner
        .selected_step()
        .map(|s| s.title.clone())
        .unwrap_or_default();
    Dialog::CrossPnr { step_title, then }
}
