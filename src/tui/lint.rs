//! The lint screen's state: the findings of a migration, the selected one, and the plan
//! made from them. Reading the files and planning happen here; drawing is in `view::lint`.

use crate::cli::lint::{LintArgs, prepare};
use crate::lint::{Catalogue, Report, SourceFile, lint_files};
use crate::planner::{Knowledge, Plan, PlanHistory, RawIntake, from_sql, plan};

pub struct LintState {
    pub paths: Vec<String>,
    /// As given, e.g. "postgres:16": the planner reads it too.
    pub engine: String,
    pub report: Report,
    /// The files read, for source excerpts.
    pub files: Vec<SourceFile>,
    pub selected: usize,
    /// Lines scrolled in the selected finding's details.
    pub scroll: u16,
    /// Row counts given to lint (`--rows`, settings file), as `TABLE=COUNT`:
    /// the plan made from the findings sizes its steps by them too.
    pub rows: Vec<String>,
    /// `/`: text the findings are narrowed by (rule, file, message).
    pub filter: crate::tui::app::TextFilter,
}

impl LintState {
    /// Lints as `rollsafe lint` would with these arguments.
    pub fn load(args: &LintArgs) -> Result<LintState, String> {
        if args.paths.iter().any(|p| p == "-") {
            return Err("the lint screen reads files, not standard input".into());
        }
        let cat = Catalogue::bundled();
        let mut prepared = prepare(args, &cat)?;
        // Kept for planning from the findings (`p`).
        prepared.opts.statements = true;
        let mut report = lint_files(&prepared.files, &prepared.opts, &cat);
        report.tool_from = prepared.tool_from;
        let rows = prepared.opts.row_flags();
        Ok(LintState {
            rows,
            filter: Default::default(),
            paths: args.paths.clone(),
            engine: prepared.engine_text,
            report,
            files: prepared.files,
            selected: 0,
            scroll: 0,
        })
    }

    /// From a Home prompt: `PATH [PATH…] [ENGINE:VERSION]`.
    pub fn from_prompt(text: &str) -> Result<LintState, String> {
        let mut words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let engine = match words.last() {
            Some(w)
                if crate::lint::Engine::parse(w).is_ok() && !std::path::Path::new(w).exists() =>
            {
                words.pop()
            }
            _ => None,
        };
        if words.is_empty() {
            return Err(
                "give a migration file or directory, then the engine, e.g. db/migrate postgres:16"
                    .into(),
            );
        }
        Self::load(&LintArgs::for_paths(words, engine))
    }

    /// Indexes of the findings the `/` filter lets through, in order.
    pub fn visible(&self) -> Vec<usize> {
        self.report
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                self.filter.matches([
                    f.rule.as_str(),
                    f.file.as_str(),
                    f.message.as_str(),
                    f.severity.as_str(),
                ])
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The selected finding's index, if the filter shows it.
    pub fn shown_selection(&self) -> Option<usize> {
        self.visible()
            .contains(&self.selected)
            .then_some(self.selected)
    }

    /// Moves among the findings the filter shows.
    pub fn move_by(&mut self, delta: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = visible
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        let to = at.saturating_add_signed(delta).min(visible.len() - 1);
        self.selected = visible[to];
        self.scroll = 0;
    }

    /// After the filter changed: select the first finding it shows.
    pub fn refilter(&mut self) {
        self.selected = self.visible().first().copied().unwrap_or(0);
        self.scroll = 0;
    }

    /// The source line of the selected finding.
    pub fn source_line(&self, i: usize) -> Option<&str> {
        let f = self.report.findings.get(i)?;
        self.files
            .iter()
            .find(|s| s.name == f.file)
            .and_then(|s| s.text.lines().nth(f.line.saturating_sub(1)))
    }

    /// The phased plan of the findings, for a rolling deploy.
    /// `history` reads what the drill log says about the plan, by plan id.
    pub fn plan(
        &self,
        knowledge: &Knowledge,
        history: impl FnOnce(&str) -> PlanHistory,
    ) -> Result<Plan, String> {
        let raw = RawIntake {
            deploy: "rolling".into(),
            engine: self.engine.clone(),
            rows: self.rows.clone(),
            ..RawIntake::default()
        };
        let read = from_sql::intake_from(knowledge, &self.report, raw, true)?;
        let id = crate::planner::plan::plan_id(knowledge, &read.intake);
        let history = history(&id);
        plan(&read.intake, knowledge, &history)
    }
}
