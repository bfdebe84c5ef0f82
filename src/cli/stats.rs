//! `rollsafe stats`: success rate, durations and recommendations from past drills.

use super::{Global, exit, print_json, store_exit};

pub fn stats(global: &Global, playbook: Option<&str>, json: bool) -> i32 {
    let store = match global.open_checked_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let library = global.library();
    let ids: Vec<String> = match playbook {
        Some(id) => {
            // An id neither the library nor the log knows is a typo, not "no drills yet".
            let logged = match store.drills_of(id) {
                Ok(rows) => !rows.is_empty(),
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    return store_exit(&e);
                }
            };
            if library.get(id).is_none() && !logged {
                eprintln!("rollsafe: no playbook with id \"{id}\" (see `rollsafe list`)");
                return exit::NOT_FOUND;
            }
            vec![id.to_string()]
        }
        None => match store.playbook_ids() {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return store_exit(&e);
            }
        },
    };
    let now = chrono::Utc::now();
    let mut all = Vec::new();
    for id in &ids {
        match crate::insight::gather(
            &store,
            id,
            library.get(id),
            now,
            crate::insight::Depth::Full,
        ) {
            Ok(insight) => all.push(insight),
            Err(e) => {
                eprintln!("rollsafe: {e}");
                return store_exit(&e);
            }
        }
    }
    if json {
        return print_json(&all);
    }
    if all
        .iter()
        .all(|r| r.stats.drills == 0 && r.recommendations.is_empty())
    {
        println!(
            "no drills yet{}",
            playbook.map(|p| format!(" of {p}")).unwrap_or_default()
        );
        return exit::OK;
    }
    let fmt = |d: Option<std::time::Duration>| {
        d.map(crate::playbook::duration::format_clock)
            .unwrap_or_else(|| "–".into())
    };
    for record in all
        .iter()
        .filter(|r| r.stats.drills > 0 || !r.recommendations.is_empty())
    {
        let s = &record.stats;
        println!(
            "{}: {} drills ({} completed, {} aborted, {} running) · {:.0}% succeeded · live median {} · p90 {} · readiness {}/100 (live drills){}",
            s.playbook_id,
            s.drills,
            s.completed,
            s.aborted,
            s.running,
            s.success_rate() * 100.0,
            fmt(s.median_total),
            fmt(s.p90_total),
            record.readiness,
            if s.changed_since_last_drill == Some(true) {
                " · changed since its last drill"
            } else {
                ""
            }
        );
        for step in &s.steps {
            println!(
                "  {:<40} runs {:>3} · live median {:>7} · p90 {:>7} · failed {:>3.0}% · blocked {:>3.0}% · skipped {:>3.0}%",
                step.step_id,
                step.runs,
                fmt(step.median),
                fmt(step.p90),
                step.failure_rate() * 100.0,
                step.blocked_rate() * 100.0,
                step.skip_rate() * 100.0
            );
        }
        for r in &record.recommendations {
            let evidence: Vec<String> = r.evidence.iter().map(|id| format!("#{id}")).collect();
            println!(
                "  ⚠ {:<8} {}{}",
                format!("{:?}", r.severity).to_ascii_lowercase(),
                r.why,
                if evidence.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", evidence.join(" "))
                }
            );
        }
    }
    exit::OK
}
