//! TOML playbooks: every problem reported at once, each at its line and column.

use rollsafe::playbook::{self, OnFail};

fn problems(text: &str) -> Vec<String> {
    playbook::parse("pb.toml", text)
        .expect_err("should not load")
        .into_iter()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn every_semantic_problem_is_reported_in_one_pass_with_positions() {
    let text = r#"id = "bad"
title = "Bad"
budget = "5 minutes"

[[phases]]
title = "One"

[[phases.steps]]
id = "a"
title = "A"
timebox = "1h1h"
on_fail = "goto:nowhere"

[[phases.steps]]
id = "a"
title = "A again"
on_fail = "explode"

[[phases]]
title = "Empty"

[[phases.steps]]
id = "b"
title = "B"
[phases.steps.verify]
command = "true"
regex = "(unclosed"
"#;
    let found = problems(text);
    assert_eq!(
        found,
        vec![
            "pb.toml:3:10: bad duration \"5 minutes\": unexpected ' '; write e.g. \"90s\", \"5m\" or \"1h30m\"",
            "pb.toml:11:11: bad duration \"1h1h\": units must go h, m, s, once each",
            "pb.toml:12:11: on_fail goes to unknown step \"nowhere\"",
            "pb.toml:15:6: duplicate step id \"a\" (first used in phase 1, step 1)",
            "pb.toml:17:11: bad on_fail \"explode\": use stop, continue, rollback or goto:<step-id>",
            "pb.toml:27:9: bad verify regex /(unclosed/: unclosed group",
        ],
    );
}

#[test]
fn empty_playbooks_and_empty_phases_are_errors() {
    assert_eq!(
        problems("id = \"e\"\ntitle = \"E\"\n"),
        vec!["pb.toml:1:6: empty playbook: it has no phases and no steps"]
    );
    assert_eq!(
        problems("id = \"e\"\ntitle = \"E\"\n[[phases]]\ntitle = \"Nothing here\"\n"),
        vec!["pb.toml:3:1: phase \"Nothing here\" has no steps"]
    );
}

#[test]
fn toml_syntax_and_unknown_keys_point_at_the_spot() {
    let found = problems("id = \"x\"\ntitle = \"X\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("pb.toml:2:"), "{found:?}");
    assert!(found[0].contains("invalid TOML"), "{found:?}");

    let found = problems(
        "id = \"x\"\ntitle = \"X\"\n[[phases]]\ntitle = \"P\"\n[[phases.steps]]\nid = \"s\"\ntitle = \"S\"\ntimeout = \"5m\"\n",
    );
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("pb.toml:8:1:"), "{found:?}");
    assert!(found[0].contains("unknown field `timeout`"), "{found:?}");
}

#[test]
fn bad_ids_and_kinds_are_reported() {
    let found = problems(
        "id = \"Has Spaces\"\ntitle = \"X\"\nkind = \"chaos\"\n[[phases]]\ntitle = \"P\"\n[[phases.steps]]\nid = \"ok\"\ntitle = \"S\"\non_fail = \"goto:ok\"\n",
    );
    assert_eq!(
        found,
        vec![
            "pb.toml:1:6: playbook id \"Has Spaces\" must use lowercase letters, digits, '-', '_' or '.'",
            "pb.toml:3:8: unknown kind \"chaos\": use migration, rollback, incident or gameday",
            "pb.toml:9:11: on_fail of \"ok\" goes to itself",
        ]
    );
}

#[test]
fn a_valid_playbook_loads_with_every_field() {
    let text = include_str!("fixtures/fixture-drill.toml");
    let p = playbook::parse("fixture-drill.toml", text).unwrap();
    assert_eq!(p.phases.len(), 2);
    assert_eq!(p.step_count(), 4);
    let add = p.step(p.find_step("add-column").unwrap()).unwrap();
    assert_eq!(add.on_fail, OnFail::Goto("restore".into()));
    assert_eq!(add.timebox, Some(std::time::Duration::from_secs(120)));
    let first = p.step(p.find_step("set-timeouts").unwrap()).unwrap();
    assert_eq!(first.role.as_deref(), Some("DBA"));
    assert_eq!(
        first.verify.as_ref().unwrap().expect.regex.as_deref(),
        Some("^2s$")
    );
    assert_eq!(p.points_of_no_return(), 1);
    assert_eq!(p.phases[1].id, "contract");
}

#[test]
fn no_input_makes_the_loaders_panic() {
    // A deterministic stream of junk built from the characters TOML and Markdown care about.
    let alphabet: Vec<char> = "[]=\"'#\n -*`<>!:{}.,0123456789abcxyzé漢\t\\"
        .chars()
        .collect();
    let mut seed: u64 = 0x5eed;
    for round in 0..400 {
        let len = (round % 97) + 1;
        let text: String = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(seed >> 33) as usize % alphabet.len()]
            })
            .collect();
        let _ = playbook::parse("junk.toml", &text);
        let _ = playbook::parse("junk.md", &text);
    }
}

#[test]
fn problems_with_a_whole_file_name_the_file_without_a_made_up_position() {
    let library = rollsafe::playbook::Library::load(None);
    let missing = library.resolve("no-such-playbook").unwrap_err();
    let shown = missing.problems[0].to_string();
    assert!(
        shown.starts_with("no-such-playbook: no playbook with this id"),
        "{shown}"
    );
    assert!(
        shown.contains("pg-rename-column"),
        "lists known ids: {shown}"
    );
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("steps.txt");
    std::fs::write(&odd, "- [ ] a step\n").unwrap();
    let shown = rollsafe::playbook::load_file(&odd).unwrap_err().problems[0].to_string();
    assert_eq!(
        shown,
        format!(
            "{}: unknown playbook format: name it .toml or .md",
            odd.display()
        )
    );
}

const PROBE_STEPS: &str = r#"
[[phases]]
title = "One"
[[phases.steps]]
id = "a"
title = "A"
"#;

#[test]
fn a_probe_table_loads_with_documented_defaults_and_round_trips() {
    let text = format!(
        r#"id = "p"
title = "P"
[variables.DATABASE_URL]
default = "postgresql://127.0.0.1/app"
[probe]
engine = "postgres"
url = "${{DATABASE_URL}}"
statement = "UPDATE probe SET n = n + 1 WHERE id = 1"
interval = "50ms"
{PROBE_STEPS}"#
    );
    let pb = playbook::parse("pb.toml", &text).unwrap();
    let probe = pb.probe.clone().expect("probe");
    assert_eq!(probe.engine, playbook::ProbeEngine::Postgres);
    assert_eq!(probe.url, "${DATABASE_URL}");
    assert_eq!(probe.interval, std::time::Duration::from_millis(50));
    assert_eq!(
        probe.blocked_after,
        playbook::ProbeSpec::DEFAULT_BLOCKED_AFTER
    );
    assert_eq!(probe.timeout, playbook::ProbeSpec::DEFAULT_TIMEOUT);
    let written = playbook::toml_format::to_toml(&pb);
    assert!(written.contains("[probe]"), "{written}");
    assert!(written.contains("interval = \"50ms\""), "{written}");
    assert_eq!(playbook::parse("again.toml", &written).unwrap(), pb);
}

#[test]
fn probe_problems_are_reported_where_they_are_written() {
    let text = format!(
        r#"id = "p"
title = "P"
[probe]
engine = "oracle"
url = ""
statement = "SELECT 1"
interval = "20 ms"
blocked_after = "0ms"
{PROBE_STEPS}"#
    );
    assert_eq!(
        problems(&text),
        vec![
            "pb.toml:4:10: unknown probe engine \"oracle\": use postgres or mysql (mysql covers MariaDB)",
            "pb.toml:5:7: probe url is empty",
            "pb.toml:7:12: probe: bad duration \"20 ms\": write whole milliseconds, e.g. \"20ms\"",
            "pb.toml:8:17: probe: bad duration \"0ms\": must be longer than zero",
        ]
    );
    let timeout = format!(
        "id = \"p\"\ntitle = \"P\"\n[probe]\nengine = \"mysql\"\nurl = \"mysql://root@127.0.0.1/app\"\nstatement = \"SELECT 1\"\ntimeout = \"100ms\"\n{PROBE_STEPS}"
    );
    assert_eq!(
        problems(&timeout),
        vec![
            "pb.toml:7:11: probe timeout (100ms) must be longer than blocked_after (250ms), or no sample could ever count as blocked"
        ]
    );
    let unknown = format!(
        "id = \"p\"\ntitle = \"P\"\n[probe]\nengine = \"postgres\"\nurl = \"u\"\nstatement = \"s\"\nevery = \"1s\"\n{PROBE_STEPS}"
    );
    assert!(problems(&unknown)[0].starts_with("pb.toml:7:1: invalid TOML: unknown field `every`"));
}

#[test]
fn a_markdown_playbook_declares_its_probe_in_the_playbook_annotation() {
    let text = r#"# Add an index
<!-- rollsafe: id=idx probe_engine=postgres probe_url="${DATABASE_URL}" probe_statement="UPDATE t SET n = n + 1 WHERE id = 1" probe_interval=50ms -->

- Build it
"#;
    let pb = playbook::parse("idx.md", text).unwrap();
    let probe = pb.probe.expect("probe");
    assert_eq!(probe.engine, playbook::ProbeEngine::Postgres);
    assert_eq!(probe.url, "${DATABASE_URL}");
    assert_eq!(probe.statement, "UPDATE t SET n = n + 1 WHERE id = 1");
    assert_eq!(probe.interval, std::time::Duration::from_millis(50));
    assert_eq!(
        probe.blocked_after,
        playbook::ProbeSpec::DEFAULT_BLOCKED_AFTER
    );

    let bad = "# T\n<!-- rollsafe: probe_engine=db2 probe_url=u probe_interval=fast -->\n\n- Go\n";
    let found: Vec<String> = playbook::parse("t.md", bad)
        .unwrap_err()
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        found,
        vec![
            "t.md:2:29: a probe needs probe_engine, probe_url and probe_statement: probe_statement is missing",
            "t.md:2:29: unknown probe engine \"db2\": use postgres or mysql (mysql covers MariaDB)",
            "t.md:2:60: probe_interval: bad duration \"fast\": unexpected 'f'; write e.g. \"90s\", \"5m\" or \"1h30m\"; short durations are written in ms, e.g. \"20ms\"",
        ]
    );
}
