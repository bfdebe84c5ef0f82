//! `rollsafe report`: the after-action report of one drill.

use super::{Global, ReportFormat, emit, exit, store_exit};

pub fn report(
    global: &Global,
    drill: i64,
    format: ReportFormat,
    out: Option<&std::path::Path>,
) -> i32 {
    let store = match global.open_checked_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let session = match crate::drill::Session::resume(&store, drill) {
        Ok(s) => s,
        Err(crate::drill::SessionError::Store(e)) => {
            eprintln!("rollsafe: {e}");
            return store_exit(&e);
        }
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return exit::INVALID;
        }
    };
    // Follow-ups are tracked across drills: the report says which of this
    // drill's are closed, and which earlier ones it carried.
    let follow_ups = match store.follow_ups(Some(&session.playbook.id), true) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rollsafe: {e}");
            return store_exit(&e);
        }
    };
    let text = match format {
        ReportFormat::Json => {
            match serde_json::to_string_pretty(&crate::report::journal_with(&session, &follow_ups))
            {
                Ok(t) => t + "\n",
                Err(e) => {
                    eprintln!("rollsafe: cannot write JSON: {e}");
                    return exit::INVALID;
                }
            }
        }
        ReportFormat::Markdown => {
            let events = match store.events(drill) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    return store_exit(&e);
                }
            };
            crate::report::markdown_with(&session, &events, &follow_ups)
        }
    };
    emit(&text, out, &format!("the report of drill #{drill}"))
}
