//! The runbooks shipped in the binary: all load, and each says where its
//! points of no return are and what it rests on.

use rollsafe::playbook::{self, Library, Origin};

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
        assert_eq!(again, loaded.playbook, "{}", loaded.playbook.id);
    }
}
