//! Home: start, resume, open other screens.

use super::*;

impl App {
    pub(super) fn handle_home(&mut self, action: Action, now: DateTime<Utc>) {
        if self.home.filter.editing {
            if self.home.filter.edit(action) {
                self.home.selected = 0;
            }
            return;
        }
        let count = self.home_items().len();
        match action {
            Action::Filter => self.home.filter.begin(),
            // Esc first clears a filter, then quits.
            Action::Quit | Action::Back if self.home.filter.is_active() => {
                self.home.filter = TextFilter::default();
                self.home.selected = 0;
            }
            Action::Down => {
                self.home.selected = (self.home.selected + 1).min(count.saturating_sub(1))
            }
            Action::Up => self.home.selected = self.home.selected.saturating_sub(1),
            Action::Top => self.home.selected = 0,
            Action::Bottom => self.home.selected = count.saturating_sub(1),
            Action::Open => match self.selected_home_item() {
                Some(HomeItem::Resume(i)) => {
                    let id = self.home.unfinished[i].id;
                    self.resume(id, now);
                }
                Some(HomeItem::Playbook(_)) => self.start_selected(Mode::Tabletop, now),
                Some(HomeItem::Broken(i)) => {
                    let first = self.library.broken[i]
                        .problems
                        .first()
                        .map(|d| d.to_string());
                    self.error(first.unwrap_or_else(|| "this playbook does not load".into()));
                }
                None => {}
            },
            Action::OpenHistory => self.open_history(),
            Action::OpenPlanner => self.open_planner(),
            Action::OpenLint => {
                self.dialog = Some(Dialog::Prompt {
                    kind: PromptKind::LintPath,
                    input: String::new(),
                    error: None,
                })
            }
            Action::StartTabletop => self.start_selected(Mode::Tabletop, now),
            Action::StartLive => self.start_selected(Mode::Live, now),
            Action::Quit | Action::Back => self.should_quit = true,
            _ => {}
        }
    }

    pub(super) fn start_selected(&mut self, mode: Mode, now: DateTime<Utc>) {
        match self.selected_home_item() {
            Some(HomeItem::Playbook(i)) => {
                let loaded = self.library.playbooks[i].clone();
                self.request_start(&loaded, mode, now);
            }
            Some(HomeItem::Resume(_)) => {
                self.info("select a playbook to start a new drill; enter resumes this one")
            }
            _ => {}
        }
    }

    /// Starts a drill the operator asked for: tabletop at once; live only
    /// after a dialog has shown every variable resolved (value and source)
    /// and the operator said yes. A missing variable stops it here.
    pub fn request_start(&mut self, loaded: &Loaded, mode: Mode, now: DateTime<Utc>) {
        if mode == Mode::Tabletop {
            return self.start(loaded, mode, now);
        }
        // A variable nothing gave is asked for here, one at a time
        // (resolve reports at least one when it fails).
        let vars = match vars::resolve(&loaded.playbook, &self.overrides, &self.env) {
            Ok(vars) => vars,
            Err(missing) => {
                let Some(first) = missing.first() else {
                    return;
                };
                self.pending_live = Some(Box::new(loaded.clone()));
                let why = format!(
                    "used by steps {}{}",
                    first.step_ids.join(", "),
                    match missing.len() - 1 {
                        0 => String::new(),
                        n => format!("; {n} more to set after it"),
                    }
                );
                self.dialog = Some(Dialog::Prompt {
                    kind: PromptKind::SetVariable {
                        name: first.name.clone(),
                        why,
                    },
                    input: String::new(),
                    error: None,
                });
                return;
            }
        };
        let variables = vars
            .values
            .iter()
            .map(|(name, (value, source))| {
                let source = if self.typed_vars.contains(name) {
                    "typed in"
                } else {
                    source.label()
                };
                (
                    name.clone(),
                    vars::shown_value(name, value),
                    source.to_string(),
                )
            })
            .collect();
        let probe = loaded
            .playbook
            .probe
            .as_ref()
            .map(|spec| crate::probe::describe(&vars::resolve_probe(spec, &vars)));
        self.pending_live = Some(Box::new(loaded.clone()));
        self.dialog = Some(Dialog::StartLive {
            title: loaded.playbook.title.clone(),
            variables,
            probe,
        });
    }

    /// Starts a drill of `loaded`. Live drills need every variable resolved first.
    pub fn start(&mut self, loaded: &Loaded, mode: Mode, now: DateTime<Utc>) {
        let vars = match self.resolve_vars(&loaded.playbook, mode) {
            Ok(vars) => vars,
            Err(message) => return self.error(message),
        };
        // A probe that cannot connect stops the drill before anything is logged.
        let probe = match start_probe(&loaded.playbook, mode, &vars) {
            Ok(probe) => probe,
            Err(e) => return self.error(format!("{e}; fix the [probe] table or its variables")),
        };
        match Session::start(&mut self.store, loaded, mode, &self.operator, now) {
            Ok(session) => {
                self.screen = Screen::Runner(Box::new(
                    RunnerState::new(session, vars)
                        .with_history(&self.store)
                        .with_probe(probe),
                ));
                self.info(format!(
                    "{} drill started and logged; q leaves it resumable",
                    mode.as_str()
                ));
                if let Screen::Runner(runner) = &self.screen
                    && let Some(crate::store::FollowUpRow {
                        drill_id: drill,
                        text,
                        ..
                    }) = runner.follow_ups.first()
                {
                    let more = runner.follow_ups.len() - 1;
                    let more = if more > 0 {
                        format!(" (+{more} more)")
                    } else {
                        String::new()
                    };
                    self.status = Some(Status {
                        text: format!("open follow-up from drill #{drill}: {text}{more}"),
                        error: false,
                    });
                }
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Opens a drill to follow it: its outcomes come from the log as its
    /// driver records them; notes land with this operator's name.
    pub fn follow(&mut self, id: i64, now: DateTime<Utc>) {
        match Session::resume(&self.store, id) {
            Ok(session) => {
                let vars = partial_vars(&session.playbook, &self.overrides, self.env);
                let by = self
                    .store
                    .driver(id, now)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "nobody".into());
                let mut runner = RunnerState::new(session, vars).with_history(&self.store);
                self.info(format!(
                    "following drill #{id}, driven by {by}: outcomes appear as they land; n adds a note; D takes the drive"
                ));
                runner.following = Some(by);
                self.screen = Screen::Runner(Box::new(runner));
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub fn resume(&mut self, id: i64, now: DateTime<Utc>) {
        // Someone else drives it: follow instead of taking it from them.
        if let Ok(Some(_)) = self.store.driver(id, now) {
            return self.follow(id, now);
        }
        let reopened = Session::reopen(&mut self.store, id, now).and_then(|session| {
            // A paused drill logs nothing on reopening; the drive is taken here.
            self.store.claim_drive(id, now, false)?;
            Ok(session)
        });
        match reopened {
            Ok(session) => {
                let vars = self
                    .resolve_vars(&session.playbook, session.drill.mode)
                    .unwrap_or_else(|_| partial_vars(&session.playbook, &self.overrides, self.env));
                let over = session.drill.status != crate::drill::DrillStatus::Running;
                let probe = if over {
                    Ok(None)
                } else {
                    start_probe(&session.playbook, session.drill.mode, &vars)
                };
                let probe_error = probe.as_ref().err().map(|e| e.to_string());
                let mut runner = RunnerState::new(session, vars)
                    .with_history(&self.store)
                    .with_probe(probe.unwrap_or(None));
                if let Some(e) = probe_error {
                    self.error(format!("{e}; the drill goes on without it"));
                } else if let Some((step, command)) = runner.session.drill.command_in_flight.clone()
                {
                    let pgid = runner.session.drill.command_in_flight_pgid;
                    let found = pgid.map(|p| (p, crate::exec::leftover(p)));
                    self.error(match found {
                        Some((pgid, crate::exec::Leftover::Alive { cmdline })) => {
                            runner.leftover = Some(pgid);
                            format!(
                                "the command of step {step} is STILL RUNNING (process group {pgid}: {}); x stops it, or wait and check its effect: {command}",
                                cmdline.as_deref().unwrap_or("command line unreadable")
                            )
                        }
                        Some((_, crate::exec::Leftover::Gone)) => format!(
                            "a command was running in step {step} when rollsafe stopped and has ended since; check its effect before going on: {command}"
                        ),
                        None => format!(
                            "a command was running in step {step} when rollsafe stopped; check its effect before going on: {command}"
                        ),
                    });
                } else {
                    self.info(format!("drill #{id} resumed where it stopped"));
                }
                runner.scroll = 0;
                self.screen = Screen::Runner(Box::new(runner));
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn resolve_vars(&self, playbook: &Playbook, mode: Mode) -> Result<Vars, String> {
        match vars::resolve(playbook, &self.overrides, &self.env) {
            Ok(vars) => Ok(vars),
            Err(missing) if mode == Mode::Live => Err(missing
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("; ")),
            // Tabletop runs nothing: show what is known, leave the rest as written.
            Err(_) => Ok(partial_vars(playbook, &self.overrides, self.env)),
        }
    }
}
