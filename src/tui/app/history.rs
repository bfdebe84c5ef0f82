//! History: paging, filters, reports.

use super::*;

impl App {
    pub(super) fn open_history(&mut self) {
        let mut history = HistoryState::default();
        self.reload_history(&mut history);
        self.screen = Screen::History(Box::new(history));
    }

    /// Counts and loads from the top, after the filter changed.
    pub(super) fn reload_history(&mut self, history: &mut HistoryState) {
        // Running vs interrupted is judged at the app's clock; the store
        // filters by the `/` text as typed.
        history.filter.as_of = Some(self.now);
        let text = history.search.text.trim();
        history.filter.text = (!text.is_empty()).then(|| text.to_string());
        match self.store.count_drills_where(&history.filter) {
            Ok(total) => history.total = total,
            Err(e) => return self.error(e.to_string()),
        }
        history.selected = 0;
        history.rows.clear();
        self.load_history_page(history);
    }

    pub(super) fn cycle_filter(&mut self, history: &mut HistoryState, field: FilterField) {
        let filter = &mut history.filter;
        match field {
            FilterField::Playbook => {
                let ids = self.store.playbook_ids().unwrap_or_default();
                filter.playbook_id = next_in(&ids, filter.playbook_id.as_ref());
            }
            FilterField::Mode => {
                filter.mode = match filter.mode {
                    None => Some(Mode::Tabletop),
                    Some(Mode::Tabletop) => Some(Mode::Live),
                    Some(Mode::Live) => None,
                }
            }
            FilterField::Status => {
                let all = crate::drill::RunStatus::ALL.map(|s| s.code().to_string());
                filter.status = next_in(&all, filter.status.as_ref());
            }
            FilterField::Since => {
                history.since_days = match history.since_days {
                    None => Some(7),
                    Some(7) => Some(30),
                    Some(30) => Some(90),
                    _ => None,
                };
                filter.since = history
                    .since_days
                    .map(|d| self.now - chrono::Duration::days(d));
            }
        }
        self.reload_history(history);
    }

    /// Makes sure the page holding the selection is loaded.
    pub(super) fn load_history_page(&mut self, history: &mut HistoryState) {
        let in_page = history.selected >= history.page_start
            && history.selected < history.page_start + history.rows.len();
        if in_page && !history.rows.is_empty() {
            return;
        }
        // Keep the selection in the middle of the page, so scrolling either way stays on it.
        let start = history.selected.saturating_sub(HistoryState::PAGE / 2);
        match self
            .store
            .list_drills_where(&history.filter, HistoryState::PAGE, start)
        {
            Ok(rows) => {
                history.page_start = start;
                history.rows = rows;
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn handle_history(&mut self, action: Action) {
        let Screen::History(history) = &mut self.screen else {
            return;
        };
        if history.search.editing || action == Action::Filter {
            let changed = match action {
                Action::Filter => {
                    history.search.begin();
                    false
                }
                other => history.search.edit(other),
            };
            if changed {
                let mut taken = std::mem::take(history);
                self.reload_history(&mut taken);
                self.screen = Screen::History(taken);
            }
            return;
        }
        let last = history.total.saturating_sub(1);
        let moved = match action {
            Action::Down => Some((history.selected + 1).min(last)),
            Action::Up => Some(history.selected.saturating_sub(1)),
            Action::PageDown => Some((history.selected + 20).min(last)),
            Action::PageUp => Some(history.selected.saturating_sub(20)),
            Action::Top => Some(0),
            Action::Bottom => Some(last),
            _ => None,
        };
        if let Some(index) = moved {
            history.selected = index;
            let mut taken = std::mem::take(history);
            self.load_history_page(&mut taken);
            self.screen = Screen::History(taken);
            return;
        }
        if let Action::CycleFilter(field) = action {
            let mut taken = std::mem::take(history);
            self.cycle_filter(&mut taken, field);
            self.screen = Screen::History(taken);
            return;
        }
        if action == Action::ClearFilters {
            let mut taken = std::mem::take(history);
            taken.filter = Default::default();
            taken.since_days = None;
            taken.search = TextFilter::default();
            self.reload_history(&mut taken);
            self.screen = Screen::History(taken);
            return;
        }
        if action == Action::OpenStats {
            let Some(id) = history.selected_row().map(|r| r.playbook_id.clone()) else {
                return;
            };
            let loaded = self.library.get(&id).cloned();
            let title = loaded
                .as_ref()
                .map_or(id.clone(), |l| l.playbook.title.clone());
            match crate::insight::gather(
                &self.store,
                &id,
                loaded.as_ref(),
                self.now,
                crate::insight::Depth::Full,
            ) {
                Ok(insight) => {
                    let Screen::History(back) = std::mem::replace(&mut self.screen, Screen::Home)
                    else {
                        return;
                    };
                    self.screen = Screen::Stats(Box::new(StatsState {
                        insight,
                        title,
                        scroll: 0,
                        back_to: back,
                    }));
                }
                Err(e) => self.error(e.to_string()),
            }
            return;
        }
        match action {
            Action::Open => {
                let Some(id) = history.selected_row().map(|r| r.id) else {
                    return;
                };
                match Session::resume(&self.store, id) {
                    Ok(session) => {
                        let Screen::History(history) =
                            std::mem::replace(&mut self.screen, Screen::Home)
                        else {
                            return;
                        };
                        let events = self.store.events(id).unwrap_or_default();
                        self.screen = Screen::Summary(Box::new(SummaryState {
                            session,
                            events,
                            scroll: 0,
                            back_to: Some(history),
                        }));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Action::ExportReport => {
                let Some(id) = history.selected_row().map(|r| r.id) else {
                    return;
                };
                let written = Session::resume(&self.store, id)
                    .map_err(|e| e.to_string())
                    .and_then(|session| {
                        let events = self.store.events(id).map_err(|e| e.to_string())?;
                        let follow_ups = self
                            .store
                            .follow_ups(Some(&session.playbook.id), true)
                            .map_err(|e| e.to_string())?;
                        let path = std::path::PathBuf::from(format!("rollsafe-drill-{id}.md"));
                        let text = crate::report::markdown_with(&session, &events, &follow_ups);
                        std::fs::write(&path, text)
                            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                        Ok(path)
                    });
                match written {
                    Ok(path) => self.info(format!("report written to {}", path.display())),
                    Err(e) => self.error(e),
                }
            }
            // Esc first clears a text filter, then leaves.
            Action::Back | Action::Quit if history.search.is_active() => {
                history.search = TextFilter::default();
                let mut taken = std::mem::take(history);
                self.reload_history(&mut taken);
                self.screen = Screen::History(taken);
            }
            Action::Back | Action::Quit => {
                self.screen = Screen::Home;
                self.refresh_home();
            }
            _ => {}
        }
    }
}
