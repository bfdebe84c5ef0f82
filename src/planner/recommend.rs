//! The verdict: roll forward first, the rollback window per phase, and the
//! reasons, each naming the input that caused it.

use serde::Serialize;

use super::classify::IncidentMatch;
use super::knowledge::RollbackClass;
use super::plan::{Ctx, PlanHistory, StepMeta, group, rollback_id};
use crate::playbook::Playbook;
use crate::playbook::duration::format_duration;

/// Which input a reason comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "input", content = "which", rename_all = "snake_case")]
pub enum InputRef {
    Deploy,
    Flags,
    Engine,
    Tool,
    /// Index into `intake.changes`.
    Change(usize),
    /// A table named by a change (its `--rows`, given or assumed).
    Rows(String),
    Rto,
    /// Index into `intake.incidents`.
    Incident(usize),
    /// The drill log.
    History,
}

impl InputRef {
    pub fn label(&self) -> String {
        match self {
            InputRef::Deploy => "--deploy".into(),
            InputRef::Flags => "--flags".into(),
            InputRef::Engine => "--engine".into(),
            InputRef::Tool => "--tool".into(),
            InputRef::Change(i) => format!("--change #{}", i + 1),
            InputRef::Rows(t) => format!("--rows {t}"),
            InputRef::Rto => "--rto".into(),
            InputRef::Incident(i) => format!("--incident #{}", i + 1),
            InputRef::History => "drill log".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub input: InputRef,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub class: RollbackClass,
    pub from_step: String,
    pub to_step: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub verdict: String,
    pub windows: Vec<Window>,
    pub reasons: Vec<Reason>,
    pub rollback_viable: bool,
    pub rollback_status: String,
}

impl Recommendation {
    pub fn window_summary(&self) -> String {
        self.windows
            .iter()
            .map(|w| {
                format!(
                    "{} from `{}` to `{}`",
                    w.class.label(),
                    w.from_step,
                    w.to_step
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub(crate) fn recommend(
    ctx: &Ctx<'_>,
    playbook: &Playbook,
    metas: &[StepMeta],
    incidents: &[IncidentMatch],
    history: &PlanHistory,
    assumed_rows: &[String],
) -> Recommendation {
    let intake = ctx.intake;
    let mut windows: Vec<Window> = Vec::new();
    for m in metas {
        match windows.last_mut() {
            Some(w) if w.class == m.cumulative => w.to_step = m.id.clone(),
            _ => windows.push(Window {
                class: m.cumulative,
                from_step: m.id.clone(),
                to_step: m.id.clone(),
                text: String::new(),
            }),
        }
    }
    for w in &mut windows {
        w.text = match w.class {
            RollbackClass::Lossless => "rollback is lossless: undo the steps newest first (app rollback needs no schema change)".into(),
            RollbackClass::Slow => "rollback keeps the data but costs time: rebuilds, re-validation or reverse copies".into(),
            RollbackClass::DataDependent => "rollback depends on the data written since: it can fail or change values; check before undoing".into(),
            RollbackClass::Lossy => "rollback loses data: the way back is a restore or a roll-forward fix".into(),
        };
    }

    let mut reasons = Vec::new();
    let mut why = |input: InputRef, text: String| reasons.push(Reason { input, text });
    let model = ctx.model;
    if model.overlap {
        why(
            InputRef::Deploy,
            format!(
                "because the deployment is {}, {}: {}",
                model.name, model.overlap_text, model.compat
            ),
        );
    } else {
        why(
            InputRef::Deploy,
            format!(
                "because the deployment is {}, {}; code rollback onto a contracted schema breaks N, so contract steps still wait for a later deploy",
                model.name, model.overlap_text
            ),
        );
    }
    if intake.flags {
        why(InputRef::Flags, "because feature flags are available (--flags), exposure of the new behaviour can be switched off without a deploy; the schema still follows expand/contract".into());
    } else {
        why(InputRef::Flags, "because no feature flags were declared (--flags not given), turning the change off means an application rollback".into());
    }
    let tool = ctx.tool;
    match tool.down.as_str() {
        "none" => why(
            InputRef::Tool,
            format!(
                "because {} has no down migrations ({}), rollback is an application rollback inside the lossless window or a new forward migration",
                tool.name, tool.down_note
            ),
        ),
        "paid" => why(
            InputRef::Tool,
            format!(
                "because with {} {}, plan on forward fixes and application rollback",
                tool.name, tool.down_note
            ),
        ),
        _ => why(
            InputRef::Tool,
            format!(
                "because {} has down migrations ({}), they are used only inside the lossless window",
                tool.name, tool.down_note
            ),
        ),
    }
    if !tool.has_lock && model.overlap {
        why(
            InputRef::Tool,
            format!(
                "because {} takes no migration lock and the {} rollout runs several instances, migrations run from one job, never at start-up",
                tool.name, model.name
            ),
        );
    }
    let engine = ctx.engine;
    if !engine.transactional_ddl {
        why(
            InputRef::Engine,
            format!(
                "because {} has no transactional DDL, a failed multi-statement migration stays half applied: each statement is its own step and re-runnable",
                engine.name
            ),
        );
    }
    for n in engine.version_note.iter().filter(|n| {
        let v = &intake.engine.version;
        super::knowledge::compare_versions(v, &n.min).is_ge()
            && (super::knowledge::compare_versions(v, &n.max).is_le()
                || v.starts_with(&format!("{}.", n.max)))
    }) {
        why(
            InputRef::Engine,
            format!(
                "because the engine is {} {}: {}",
                engine.name, intake.engine.version, n.text
            ),
        );
    }
    if let Some(ed) = &intake.engine.edition {
        let online = ["enterprise", "developer", "azure"].contains(&ed.as_str());
        why(
            InputRef::Engine,
            format!(
                "because the edition is {ed}, {}",
                if online {
                    "online index builds and metadata-only NOT NULL adds are available"
                } else {
                    "ONLINE = ON is not available: index builds and some column adds block writes, so they need a window"
                }
            ),
        );
    }
    for (i, c) in intake.changes.iter().enumerate() {
        let own: Vec<&StepMeta> = metas.iter().filter(|m| m.change == Some(i)).collect();
        let worst = own
            .iter()
            .map(|m| m.own)
            .max()
            .unwrap_or(RollbackClass::Lossless);
        let first = own.iter().find(|m| m.own == worst);
        match (worst, first) {
            (RollbackClass::Lossy, Some(m)) => why(
                InputRef::Change(i),
                format!(
                    "because change {} (\"{}\") destroys data at step `{}` ({}), that step is the point of no return",
                    i + 1,
                    c.text,
                    m.id,
                    m.title
                ),
            ),
            (RollbackClass::DataDependent, Some(m)) => why(
                InputRef::Change(i),
                format!(
                    "because change {} (\"{}\") is data-dependent from step `{}` ({}): undoing it can fail on values written since",
                    i + 1,
                    c.text,
                    m.id,
                    m.title
                ),
            ),
            (RollbackClass::Slow, Some(m)) => why(
                InputRef::Change(i),
                format!(
                    "because change {} (\"{}\") is slow to undo from step `{}` ({}): the reverse needs a scan, rebuild or copy",
                    i + 1,
                    c.text,
                    m.id,
                    m.title
                ),
            ),
            _ => why(
                InputRef::Change(i),
                format!(
                    "because change {} (\"{}\") is additive here, every step of it rolls back without loss",
                    i + 1,
                    c.text
                ),
            ),
        }
    }
    let mut tables: Vec<String> = intake
        .changes
        .iter()
        .map(|c| c.table().to_string())
        .collect();
    tables.sort();
    tables.dedup();
    for t in tables {
        let longest = metas
            .iter()
            .zip(playbook.steps())
            .filter(|(m, _)| m.change.is_some_and(|i| intake.changes[i].table() == t))
            .max_by_key(|(_, (_, _, s))| s.timebox);
        let Some((m, (_, _, s))) = longest else {
            continue;
        };
        let tb = s.timebox.map(format_duration).unwrap_or_default();
        if assumed_rows.contains(&t) {
            why(
                InputRef::Rows(t.clone()),
                format!(
                    "because no --rows was given for {t}, timeboxes assume {} rows; the longest step on it (`{}`) is {tb}",
                    group(ctx.k.timebox.default_rows),
                    m.id
                ),
            );
        } else if let Some(n) = intake.rows.get(&t) {
            why(
                InputRef::Rows(t.clone()),
                format!(
                    "because {t} has {} rows (--rows), the longest step on it (`{}`) is timeboxed at {tb}",
                    group(*n),
                    m.id
                ),
            );
        }
    }
    let has_lossy = metas.iter().any(|m| m.pnr);
    if let Some(rto) = intake.rto {
        why(
            InputRef::Rto,
            format!(
                "because the RTO is {}, {}",
                format_duration(rto),
                if has_lossy {
                    "the restore timed in `prep-backup` must fit it before `gate-pnr` is passed"
                } else {
                    "the rollback drill must finish within it"
                }
            ),
        );
    }
    let mut distrust_down = false;
    for m in incidents {
        if m.categories.is_empty() {
            why(
                InputRef::Incident(m.number - 1),
                format!(
                    "because incident {} matched no known failure category, it adds no mitigation: review it by hand. {}",
                    m.number, ctx.k.reading.ask
                ),
            );
        }
        for cm in &m.categories {
            let cat = ctx.k.category(&cm.category);
            if cat.is_some_and(|c| c.effect == "distrust_down") {
                distrust_down = true;
            }
            why(
                InputRef::Incident(m.number - 1),
                format!(
                    "because incident {} matched {}, {}",
                    m.number,
                    cm.reasoning(),
                    cat.map(|c| lower_first(&c.mitigation)).unwrap_or_default()
                ),
            );
        }
    }

    // History.
    let rid = rollback_id(&playbook.id);
    // The drill log's own rules (never rehearsed, failed or aborted last
    // time, stale) come first; the RTO is the intake's, so it is checked here.
    let rto = intake.rto;
    let (viable, status) = match (&history.rollback, history.rollback_not_viable.as_slice()) {
        (_, [_, ..]) => (
            false,
            format!("{} ({rid})", history.rollback_not_viable.join("; ")),
        ),
        (None, []) => (
            false,
            format!(
                "rollback path never rehearsed: not viable until rehearsed (no completed drill of {rid} in the drill log)"
            ),
        ),
        (Some(r), []) if rto.is_some_and(|rto| r.duration > rto) => (
            false,
            format!(
                "rollback path slower than the RTO: drill #{} of {rid} took {}, the RTO is {}: not viable until it fits",
                r.drill_id,
                format_duration(r.duration),
                format_duration(rto.unwrap_or_default())
            ),
        ),
        (Some(r), []) => (
            true,
            format!(
                "rollback path rehearsed: drill #{} of {rid} ended {} and took {}",
                r.drill_id,
                r.ended_at.format("%Y-%m-%d"),
                format_duration(r.duration)
            ),
        ),
    };
    why(InputRef::History, format!("because {status}"));
    if let Some(f) = &history.forward {
        why(
            InputRef::History,
            format!(
                "because drill #{} rehearsed this plan on {} in {}",
                f.drill_id,
                f.ended_at.format("%Y-%m-%d"),
                format_duration(f.duration)
            ),
        );
    }

    let lossless_to = windows
        .iter()
        .find(|w| w.class == RollbackClass::Lossless)
        .map(|w| w.to_step.clone());
    let mut verdict = String::from(
        "Roll forward first: fix a failed step with a new forward step, not a down migration.",
    );
    if let Some(to) = &lossless_to {
        verdict.push_str(&format!(" Rollback is lossless through `{to}`"));
        let later: Vec<String> = windows
            .iter()
            .filter(|w| w.class != RollbackClass::Lossless)
            .map(|w| format!("{} from `{}`", w.class.label(), w.from_step))
            .collect();
        if later.is_empty() {
            verdict.push_str(", the whole plan.");
        } else {
            verdict.push_str(&format!("; then {}.", later.join(", ")));
        }
    }
    if has_lossy {
        verdict
            .push_str(" After the point of no return the way back is a restore or a roll-forward.");
    }
    if distrust_down {
        verdict.push_str(" Down migrations are not a rollback path here (incident history).");
    }
    if viable {
        verdict.push_str(" The rollback path is rehearsed and viable inside the lossless window.");
    } else {
        // Every status names the rollback and why it is not viable yet.
        let mut chars = status.chars();
        let first = chars.next().map(|c| c.to_uppercase().to_string());
        verdict.push_str(&format!(
            " {}{}.",
            first.unwrap_or_default(),
            chars.as_str()
        ));
    }
    Recommendation {
        verdict,
        windows,
        reasons,
        rollback_viable: viable,
        rollback_status: status,
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
