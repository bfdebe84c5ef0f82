//! The rehearsal and verification checklist that goes with a plan.

use serde::Serialize;

use super::classify::IncidentMatch;
use super::plan::{Ctx, group, rollback_id};
use crate::playbook::Playbook;
use crate::playbook::duration::format_duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub title: String,
    pub items: Vec<String>,
}

pub(crate) fn checklist(
    ctx: &Ctx<'_>,
    playbook: &Playbook,
    incidents: &[IncidentMatch],
    assumed_rows: &[String],
) -> Vec<Section> {
    let intake = ctx.intake;
    let engine = ctx.engine;
    let model = ctx.model;
    let mut sections = Vec::new();
    let volumes: Vec<String> = intake
        .changes
        .iter()
        .map(|c| c.table().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|t| {
            let (n, assumed) = ctx.rows(&t);
            format!(
                "{t} {}{}",
                group(n),
                if assumed { " (assumed)" } else { "" }
            )
        })
        .collect();
    let mut rehearsal = vec![
        format!(
            "Restore a production-sized copy into staging ({}) and run this plan there live: rollsafe run {} --mode live",
            volumes.join(", "),
            playbook.id
        ),
        format!(
            "Rehearse the rollback path as its own drill: rollsafe plan ... --format toml --rollback > {0}.toml; rollsafe run {0}.toml",
            rollback_id(&playbook.id)
        ),
        "Compare each step's time with its timebox; raise the timeboxes that ran over before production".into(),
    ];
    if !assumed_rows.is_empty() {
        rehearsal.push(format!(
            "Measure the real row counts of {} and re-plan with --rows",
            assumed_rows.join(", ")
        ));
    }
    sections.push(Section {
        title: "Rehearsal".into(),
        items: rehearsal,
    });
    // One source for the session settings: the same strategy the steps use.
    let sess = super::lock::session(engine, super::lock::LockStrategy::Brief, "15s");
    let concurrent = engine.family == "postgres"
        && playbook.steps().any(|(_, _, s)| {
            s.detail.contains("CONCURRENTLY ")
                || s.command
                    .as_deref()
                    .is_some_and(|c| c.contains(" CONCURRENTLY "))
        });
    sections.push(Section {
        title: "Timeouts".into(),
        items: vec![
            format!(
                "Every brief-lock DDL session sets: {}{}",
                sess.join("; "),
                if concurrent {
                    "; concurrent index builds instead set lock_timeout = 0 and a statement timeout sized to the build, and start only when no transaction is older than 5 minutes"
                } else {
                    ""
                }
            ),
            "Prove it in staging: hold a lock on the table, run the first DDL step, and see it fail with the lock timeout and retry".into(),
            "If the migration connects through a pooler (PgBouncer transaction mode, ProxySQL), set the timeouts on the role or connect directly".into(),
        ],
    });
    sections.push(Section {
        title: "Backup and restore".into(),
        items: vec![
            format!("Have {}", engine.backup),
            match intake.rto {
                Some(rto) => format!(
                    "Restore it once and time it: it must fit the RTO of {}",
                    format_duration(rto)
                ),
                None => "Restore it once and time it (no --rto given: agree one)".into(),
            },
        ],
    });
    sections.push(Section {
        title: "Compatibility".into(),
        items: vec![
            "Run the current release (N) against the expanded schema: its smoke tests must pass"
                .into(),
            format!("{}: {}", model.name, model.compat),
            format!("App rollback for {}: {}", model.name, model.app_rollback),
        ],
    });
    let mut watch = vec![
        format!("Locks: {}", engine.locks_watch),
        "Error rates and latency of the endpoints that use the changed tables".into(),
        "Backfill progress (rows per batch) and primary CPU/IO".into(),
    ];
    if !engine.lag_query.is_empty() {
        watch.push(format!("Replica lag: {}", engine.lag_query));
    }
    sections.push(Section {
        title: "What to watch".into(),
        items: watch,
    });
    let mut gates = vec![
        "Before expand: every prepare step passed (version, no long transactions, backup tested)"
            .into(),
        format!("Before the rollout: the expanded schema verified, N still healthy on it"),
        format!("Before contract: {}", model.contract_gate),
    ];
    if playbook.points_of_no_return() > 0 {
        gates.push("Before the point of no return: restore timed, pre-checks at zero, go from the change lead".into());
    }
    sections.push(Section {
        title: "Go / no-go gates".into(),
        items: gates,
    });
    sections.push(Section {
        title: "Who is told what, when".into(),
        items: vec![
            "Before: the change, its window and its rollback owner go to the on-call channel and the teams that own the affected tables".into(),
            "At each gate: the change lead says go or no-go in the channel".into(),
            "At the point of no return: announce it before the step, and the restore plan if it fails".into(),
            "After: all clear with the drill id, so the log and the chat tell the same story".into(),
        ],
    });
    let mut from_incidents = Vec::new();
    for m in incidents {
        for cm in &m.categories {
            if let Some(c) = ctx.k.category(&cm.category) {
                let item = format!("{} (incident {}: {})", c.checklist, m.number, c.name);
                if !from_incidents
                    .iter()
                    .any(|i: &String| i.starts_with(&c.checklist))
                {
                    from_incidents.push(item);
                }
            }
        }
    }
    if !from_incidents.is_empty() {
        sections.push(Section {
            title: "From the incident history".into(),
            items: from_incidents,
        });
    }
    sections
}
