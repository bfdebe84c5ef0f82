//! Copying one drill log into another (`rollsafe log push`): a laptop's
//! SQLite history into the team's PostgreSQL log, or back.
//!
//! Each drill is copied in its own transaction, whole (its events, step
//! results, follow-ups and their closures), so an interrupted push leaves
//! only whole drills and the next push carries on. A drill the target
//! already has ([`LogBackend::find_same`]) is skipped, so pushing twice
//! copies nothing twice. Drills still running are left for later: their
//! log is not finished, and a copy would fork it.

use super::{DrillFilter, DrillRow, FollowUpRow, LogBackend, Result, StoreError};

/// What a push did, drill by drill (source ids).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    pub pushed: Vec<i64>,
    pub already_there: Vec<i64>,
    pub still_running: Vec<i64>,
    /// Drills whose stored playbook no longer parses: their events cannot
    /// be checked by a fold, so they are not copied (with why).
    pub unreadable: Vec<(i64, String)>,
}

/// How many drills are read from the source per page.
const PAGE: usize = 500;

/// Copies every finished drill of `from` that `to` lacks, oldest first.
/// `progress(done, total)` is called after each drill.
pub fn push(
    from: &dyn LogBackend,
    to: &mut dyn LogBackend,
    mut progress: impl FnMut(usize, usize),
) -> Result<PushReport> {
    let all = DrillFilter::default();
    let total = from.count_drills_where(&all)?;
    let mut report = PushReport::default();
    let mut closed: std::collections::BTreeMap<i64, Vec<FollowUpRow>> = Default::default();
    for f in from.follow_ups(None, true)? {
        if f.closed_at.is_some() {
            closed.entry(f.drill_id).or_default().push(f);
        }
    }
    // Oldest first, so the target's ids follow the order drills happened.
    let mut done = 0;
    let mut offset = total;
    while offset > 0 {
        let take = offset.min(PAGE);
        offset -= take;
        let mut page = from.list_drills_where(&all, take, offset)?;
        page.reverse();
        for row in page {
            let target = push_one(from, to, &row, &mut report)?;
            if let (Some(target), Some(closed)) = (target, closed.get(&row.id)) {
                copy_closures(to, target, closed)?;
            }
            done += 1;
            progress(done, total);
        }
    }
    Ok(report)
}

/// Copies one drill unless the target has it; returns the target's id of
/// it (copied or found), `None` when it was left out.
fn push_one(
    from: &dyn LogBackend,
    to: &mut dyn LogBackend,
    row: &DrillRow,
    report: &mut PushReport,
) -> Result<Option<i64>> {
    if row.status == "running" {
        report.still_running.push(row.id);
        return Ok(None);
    }
    if let Some(id) = to.find_same(row)? {
        report.already_there.push(row.id);
        return Ok(Some(id));
    }
    let snapshot = from.snapshot(row.id)?;
    let playbook = match crate::playbook::parse(&snapshot.source_name, &snapshot.text) {
        Ok(p) => p,
        Err(problems) => {
            let why = problems
                .first()
                .map_or_else(|| "does not parse".to_string(), |d| d.to_string());
            report.unreadable.push((row.id, why));
            return Ok(None);
        }
    };
    let events = from.events(row.id)?;
    let new_id = *to
        .bulk_load(&[(&playbook, events)])?
        .first()
        .ok_or(StoreError::NoSuchDrill(row.id))?;
    report.pushed.push(row.id);
    Ok(Some(new_id))
}

/// Follow-ups come back open from the notes: closures (also ones made
/// after an earlier push) are copied onto their twins, once.
fn copy_closures(to: &mut dyn LogBackend, target: i64, closed: &[FollowUpRow]) -> Result<()> {
    let Some(playbook) = closed.first().map(|f| f.playbook_id.clone()) else {
        return Ok(());
    };
    let copied = to.follow_ups(Some(&playbook), true)?;
    for f in closed {
        let twin = copied.iter().find(|c| {
            c.drill_id == target
                && c.closed_at.is_none()
                && c.created_at == f.created_at
                && c.text == f.text
        });
        if let (Some(twin), Some(at)) = (twin, f.closed_at) {
            to.close_follow_up(twin.id, at, f.closed_note.as_deref().unwrap_or(""))?;
        }
    }
    Ok(())
}
