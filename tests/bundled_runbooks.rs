//! The runbooks shipped in the binary: all load, and each says where its
//! points of no return are and what it rests on.

use rollsafe::playbook::{self, Library, OnFail, Origin};

#[test]
fn every_bundled_runbook_loads() {
    let (ok, broken) = playbook::bundled();
    let problems: Vec<String> = broken
        .iter()
        .flat_map(|b| b.problems.iter().map(|p| p.to_string()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        ok.len() >= 6,
        "at least six bundled runbooks, found {}",
        ok.len()
    );
    assert!(
        ok.iter().any(|l| l.origin.label().ends_with(".md")),
        "one Markdown runbook ships too"
    );
}

#[test]
fn every_bundled_runbook_marks_a_point_of_no_return_and_has_timeboxes() {
    for loaded in playbook::bundled().0 {
        let p = &loaded.playbook;
        assert!(
            p.points_of_no_return() >= 1,
            "{} has no point of no return",
            p.id
        );
        assert!(p.budget.is_some(), "{} has no time budget", p.id);
        let timeboxed = p.steps().filter(|(_, _, s)| s.timebox.is_some()).count();
        assert!(
            timeboxed * 2 >= p.step_count(),
            "{}: most steps should have a timebox",
            p.id
        );
    }
}

#[test]
fn toml_runbooks_cite_their_sources_and_declare_their_variables() {
    for loaded in playbook::bundled().0 {
        let p = &loaded.playbook;
        if !matches!(&loaded.origin, Origin::Bundled(name) if name.ends_with(".toml")) {
            continue;
        }
        assert!(!p.sources.is_empty(), "{} cites no sources", p.id);
        let declared: Vec<&str> = p.variables.iter().map(|v| v.name.as_str()).collect();
        for (_, _, step) in p.steps() {
            let texts = step
                .command
                .iter()
                .chain(step.verify.as_ref().map(|v| &v.command));
            for text in texts {
                for name in playbook::vars::used_names(text) {
                    assert!(
                        declared.contains(&name.as_str()),
                        "{}/{} uses undeclared ${{{name}}}",
                        p.id,
                        step.id
                    );
                }
            }
        }
    }
}

#[test]
fn ids_are_unique_across_the_library() {
    let library = Library::load(None);
    let mut ids: Vec<&str> = library
        .playbooks
        .iter()
        .map(|l| l.playbook.id.as_str())
        .collect();
    let before = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), before);
}

#[test]
fn bundled_toml_survives_a_round_trip_through_the_writer() {
    for loaded in playbook::bundled().0 {
        let text = playbook::toml_format::to_toml(&loaded.playbook);
        let again = playbook::parse("again.toml", &text)
            .unwrap_or_else(|e| panic!("{}: {:?}", loaded.playbook.id, e));
        // What a Markdown page reads as is not part of the TOML format.
        let mut expected = loaded.playbook.clone();
        expected.page = None;
        assert_eq!(again, expected, "{}", loaded.playbook.id);
    }
}

/// The rehearsal runbooks (tag `rehearsal`) run unattended under
/// `rollsafe rehearse`, so their shape is what keeps them safe: a volume
/// variable, a guard before anything is created, real checks, and a cleanup
/// every failure leads to.
#[test]
fn rehearsal_runbooks_guard_check_and_always_clean_up() {
    let rehearsals: Vec<_> = playbook::bundled()
        .0
        .into_iter()
        .filter(|l| l.playbook.tags.iter().any(|t| t == "rehearsal"))
        .collect();
    assert!(rehearsals.len() >= 3, "found {}", rehearsals.len());
    for loaded in &rehearsals {
        let p = &loaded.playbook;
        let rows = p.variables.iter().find(|v| v.name == "ROWS");
        assert!(
            rows.and_then(|v| v.default.as_deref()) == Some("1000000"),
            "{}: ROWS defaults to a production-like 1000000",
            p.id
        );
        let steps: Vec<_> = p.steps().map(|(_, _, s)| s).collect();
        let cleanup = steps.last().unwrap();
        assert!(
            cleanup.point_of_no_return && cleanup.verify.is_some(),
            "{}: the last step is the verified cleanup",
            p.id
        );
        let guard = steps
            .iter()
            .position(|s| s.id == "check-table-absent")
            .unwrap_or_else(|| panic!("{}: no check-table-absent guard", p.id));
        for (i, step) in steps.iter().enumerate() {
            if let Some(verify) = &step.verify {
                let e = &verify.expect;
                assert!(
                    e.regex.is_some() || e.contains.is_some() || e.exit_code.is_some(),
                    "{}/{}: a verification must expect something specific",
                    p.id,
                    step.id
                );
            }
            assert!(
                step.command.is_some() || step.verify.is_some(),
                "{}/{}: nothing to run unattended",
                p.id,
                step.id
            );
            // Once the guard has passed, the table may exist: a failure must
            // lead to the cleanup (or carry on to it).
            if i > guard && i + 1 < steps.len() {
                let ok = match &step.on_fail {
                    OnFail::Goto(target) => target == &cleanup.id,
                    OnFail::Continue => true,
                    _ => false,
                };
                assert!(ok, "{}/{}: on_fail must reach the cleanup", p.id, step.id);
            }
        }
    }
}
