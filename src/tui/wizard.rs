//! The plan wizard: the planner's intake as a form, then the plan to review
//! and rehearse. The form only holds text; the planner parses and checks it.

use std::collections::BTreeMap;

use crate::planner::classify::{CategoryMatch, classify_one};
use crate::planner::{Knowledge, Plan, PlanHistory, RawIntake};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// One of these ids, cycled with ←/→.
    Choice(Vec<String>),
    Toggle,
    Text,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub label: &'static str,
    pub kind: FieldKind,
    pub value: String,
    pub hint: &'static str,
    /// Shown dimmed while the field is empty: an example, never an answer.
    pub placeholder: &'static str,
}

/// Which field holds what, by position in [`WizardState::fields`].
pub mod slot {
    pub const DEPLOY: usize = 0;
    pub const FLAGS: usize = 1;
    pub const ENGINE: usize = 2;
    pub const TOOL: usize = 3;
    pub const CHANGES: [usize; 3] = [4, 5, 6];
    pub const ROWS: usize = 7;
    pub const RTO: usize = 8;
    pub const INCIDENTS: [usize; 3] = [9, 10, 11];
}

pub struct WizardState {
    pub fields: Vec<Field>,
    pub focus: usize,
    pub error: Option<String>,
    /// The generated plan, once the form is accepted: the review step.
    pub plan: Option<Box<Plan>>,
    pub scroll: u16,
    /// The plan was made from the lint screen: editing or leaving goes back there.
    pub from_lint: Option<Box<super::lint::LintState>>,
}

impl WizardState {
    pub fn new(knowledge: &Knowledge) -> Self {
        let choice = |ids: Vec<String>| FieldKind::Choice(ids);
        let models: Vec<String> = knowledge.models.iter().map(|m| m.id.clone()).collect();
        let tools: Vec<String> = knowledge.tools.iter().map(|t| t.id.clone()).collect();
        let text = |label, value: &str, hint| Field {
            label,
            kind: FieldKind::Text,
            value: value.to_string(),
            hint,
            placeholder: "",
        };
        let fields = vec![
            Field {
                label: "Deployment",
                value: models.first().cloned().unwrap_or_default(),
                kind: choice(models),
                hint: "←/→ choose: how new code reaches production",
                placeholder: "",
            },
            Field {
                label: "Feature flags",
                kind: FieldKind::Toggle,
                value: "no".into(),
                hint: "←/→: can a flag separate the schema deploy from the feature?",
                placeholder: "",
            },
            text(
                "Database",
                "postgres:16",
                "engine:version, e.g. postgres:15, mysql:8.0, mariadb:10.11, sqlite, sqlserver:2022:enterprise",
            ),
            Field {
                label: "Tool",
                value: tools.first().cloned().unwrap_or_default(),
                kind: choice(tools),
                hint: "←/→ choose the migration tool",
                placeholder: "",
            },
            // An example, not an answer: a plan is made only of what was typed.
            Field {
                placeholder: "e.g. rename column users.name to full_name",
                ..text(
                    "Change",
                    "",
                    "e.g. add not null column T.C · add index on T.C · drop column T.C",
                )
            },
            text("Change 2", "", "optional: another change shipped with it"),
            text("Change 3", "", "optional"),
            Field {
                placeholder: "e.g. users=50000000",
                ..text(
                    "Rows",
                    "",
                    "table=rows, comma separated, e.g. users=50000000",
                )
            },
            Field {
                placeholder: "e.g. 15m",
                ..text("RTO", "", "rollback time budget, e.g. 15m")
            },
            Field {
                placeholder: "e.g. the down migration dropped the column and we lost writes",
                ..text(
                    "Incident",
                    "",
                    "what failed in an earlier rollback, in your words",
                )
            },
            text("Incident 2", "", "optional"),
            text("Incident 3", "", "optional"),
        ];
        Self {
            fields,
            focus: slot::CHANGES[0],
            error: None,
            plan: None,
            scroll: 0,
            from_lint: None,
        }
    }

    pub fn value(&self, slot: usize) -> &str {
        self.fields.get(slot).map_or("", |f| f.value.trim())
    }

    pub fn move_focus(&mut self, delta: isize) {
        let last = self.fields.len() as isize - 1;
        self.focus = (self.focus as isize + delta).rem_euclid(last + 1) as usize;
    }

    /// ←/→ on a choice or toggle; ignored on text.
    pub fn cycle(&mut self, delta: isize) {
        let Some(field) = self.fields.get_mut(self.focus) else {
            return;
        };
        match &field.kind {
            FieldKind::Choice(options) if !options.is_empty() => {
                let at = options.iter().position(|o| *o == field.value).unwrap_or(0) as isize;
                let next = (at + delta).rem_euclid(options.len() as isize) as usize;
                field.value = options[next].clone();
            }
            FieldKind::Toggle => {
                field.value = if field.value == "yes" { "no" } else { "yes" }.into();
            }
            _ => {}
        }
        self.error = None;
    }

    pub fn type_char(&mut self, c: char) {
        if let Some(field) = self.fields.get_mut(self.focus)
            && field.kind == FieldKind::Text
        {
            if c == '\u{15}' {
                field.value.clear();
            } else {
                field.value.push(c);
            }
            self.error = None;
        }
    }

    pub fn backspace(&mut self) {
        if let Some(field) = self.fields.get_mut(self.focus)
            && field.kind == FieldKind::Text
        {
            field.value.pop();
            self.error = None;
        }
    }

    /// The form as the planner's raw intake.
    pub fn raw_intake(&self) -> RawIntake {
        let nonempty = |slots: &[usize]| -> Vec<String> {
            slots
                .iter()
                .map(|s| self.value(*s).to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        RawIntake {
            deploy: self.value(slot::DEPLOY).to_string(),
            engine: self.value(slot::ENGINE).to_string(),
            tool: self.value(slot::TOOL).to_string(),
            changes: nonempty(&slot::CHANGES),
            rows: self
                .value(slot::ROWS)
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            rto: Some(self.value(slot::RTO).to_string()).filter(|s| !s.is_empty()),
            incidents: nonempty(&slot::INCIDENTS),
            flags: self.value(slot::FLAGS) == "yes",
        }
    }

    /// What an incident field's text matches, shown as the person types.
    pub fn incident_matches(&self, knowledge: &Knowledge, slot: usize) -> Vec<CategoryMatch> {
        let text = self.value(slot);
        if text.is_empty() {
            Vec::new()
        } else {
            classify_one(knowledge, text)
        }
    }

    /// Parses the form and plans; on failure the form stays, with the reason.
    /// `history` reads what the drill log says about the plan, by plan id.
    pub fn generate(&mut self, knowledge: &Knowledge, history: impl FnOnce(&str) -> PlanHistory) {
        let intake = match crate::planner::Intake::parse(knowledge, &self.raw_intake()) {
            Ok(intake) => intake,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let id = crate::planner::plan::plan_id(knowledge, &intake);
        let history = history(&id);
        match crate::planner::plan(&intake, knowledge, &history) {
            Ok(plan) => {
                self.plan = Some(Box::new(plan));
                self.error = None;
                self.scroll = 0;
            }
            Err(e) => self.error = Some(e),
        }
    }
}

/// Values typed into the form, for tests and for pre-filling from flags.
pub fn fill(state: &mut WizardState, values: &BTreeMap<usize, &str>) {
    for (slot, value) in values {
        if let Some(field) = state.fields.get_mut(*slot) {
            field.value = (*value).to_string();
        }
    }
}
