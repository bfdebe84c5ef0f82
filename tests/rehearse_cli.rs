//! `rollsafe rehearse` end to end with plain `sh` commands: no server needed.

mod rehearse_support;

use std::path::Path;
use std::time::{Duration, Instant};

use rehearse_support::{code, command, json, kinds, logged, outputs, run, text};
use rollsafe::drill::{DrillStatus, EventKind, Mode, Outcome};
use tempfile::TempDir;

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

const PLAYBOOK: &str = r#"
id = "cli-test"
title = "CLI test"
[variables.MARK]
description = "file the first step creates"
[variables.WORD]
default = "hello"
description = "what it writes"
[[phases]]
title = "One"
[[phases.steps]]
id = "write"
title = "Write the mark"
command = "echo ${WORD} > ${MARK}"
[phases.steps.verify]
command = "cat ${MARK}"
regex = "^hello$"
[[phases.steps]]
id = "broken"
title = "Fails, then cleanup"
command = "echo 'something broke' >&2; exit 4"
on_fail = "goto:cleanup"
[[phases.steps]]
id = "skipped-over"
title = "Jumped over"
command = "true"
[[phases.steps]]
id = "cleanup"
title = "Clean up"
command = "rm ${MARK}"
point_of_no_return = true
"#;

#[test]
fn without_live_it_lists_the_resolved_commands_and_runs_nothing() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "p.toml", PLAYBOOK);
    let mark = dir.path().join("mark");
    let var = format!("MARK={}", mark.display());
    let db = dir.path().join("drills.db");
    let out = run(&db, &[&file, "--var", &var]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("MARK = {} (--var)", mark.display())),
        "{stdout}"
    );
    assert!(stdout.contains("WORD = hello (default)"), "{stdout}");
    assert!(
        stdout.contains(&format!("$ echo hello > {}", mark.display())),
        "{stdout}"
    );
    assert!(stdout.contains("[point of no return]"), "{stdout}");
    assert!(
        stdout.contains("nothing ran and nothing was logged"),
        "{stdout}"
    );
    assert!(!mark.exists());
    assert!(!db.exists(), "a dry run opens no log");

    // --live without --yes: the same list, then a refusal.
    let out = run(&db, &[&file, "--live", "--var", &var]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stdout).contains(&format!("$ rm {}", mark.display())));
    assert!(
        text(&out.stderr).contains("add --yes"),
        "{}",
        text(&out.stderr)
    );
    assert!(!mark.exists());
}

#[test]
fn a_missing_variable_stops_everything_before_the_first_step() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "p.toml", PLAYBOOK);
    let db = dir.path().join("drills.db");
    let out = command(&db, &[&file, "--live", "--yes"])
        .env_remove("MARK")
        .output()
        .unwrap();
    assert_eq!(code(&out), 5);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("variable ${MARK} has no value (used by steps write, cleanup)"),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing was logged");
}

#[test]
fn unknown_playbooks_and_broken_files_have_their_own_exit_codes() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    assert_eq!(code(&run(&db, &["no-such-playbook"])), 4);
    let broken = write(dir.path(), "broken.toml", "id = \"x\"\n[[phases]]\n");
    let out = run(&db, &[&broken]);
    assert_eq!(code(&out), 5);
    assert!(
        text(&out.stderr).contains("broken.toml:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_live_drill_follows_on_fail_and_logs_everything() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "p.toml", PLAYBOOK);
    let mark = dir.path().join("mark");
    let db = dir.path().join("drills.db");
    let out = command(&db, &[&file, "--live", "--yes", "--json"])
        .env("MARK", &mark)
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        1,
        "a failed step fails the drill: {}",
        text(&out.stderr)
    );
    let summary = json(&out);
    assert_eq!(summary["result"], "failed");
    assert_eq!(summary["variables"][0]["name"], "MARK");
    assert_eq!(summary["variables"][0]["source"], "environment");
    let statuses: Vec<&str> = summary["journal"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "failed", "not_run", "succeeded"]);
    assert!(!mark.exists(), "cleanup ran");
    // Progress went to stderr, so stdout is only the JSON.
    assert!(
        text(&out.stderr).contains("[4/4] cleanup"),
        "{}",
        text(&out.stderr)
    );

    let id = summary["drill_id"].as_i64().unwrap();
    let (session, events) = logged(&db, id);
    let drill = &session.drill;
    assert_eq!(drill.mode, Mode::Live);
    assert_eq!(drill.operator, "automated");
    assert_eq!(drill.status, DrillStatus::Completed);
    assert_eq!(drill.steps[1].outcome, Some(Outcome::Failed));
    assert_eq!(
        drill.steps[1].reason.as_deref(),
        Some("command failed (exit 4)")
    );
    assert_eq!(outputs(&events, "broken"), ["something broke\n"]);
    assert!(drill.steps[3].pnr_confirmed);
    assert!(
        drill
            .notes
            .iter()
            .any(|n| n.text.contains("confirmed automatically")),
        "{:?}",
        drill.notes
    );
    assert_eq!(kinds(&events).last(), Some(&"finished"));
}

/// Live (non-zombie) processes in group `pgid`, from /proc: a zombie
/// waiting for init to reap it is already gone for our purposes.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name: state ppid pgrp ...
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            found.push(pid);
        }
    }
    found
}

/// The process group id the step's shell wrote to `pidfile` once it started.
fn wait_for_pgid(pidfile: &Path, started: Instant) -> i32 {
    loop {
        if let Some(pgid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            return pgid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn group_alive(pgid: i32) -> bool {
    !group_members(pgid).is_empty()
}

#[test]
fn a_command_dies_with_a_kill_9_of_rehearse() {
    let dir = TempDir::new().unwrap();
    let pidfile = dir.path().join("pgid");
    // The shell execs sleep: the same process, carrying the parent-death signal.
    let body = format!(
        r#"
id = "orphan"
title = "Orphan"
[[phases]]
title = "One"
[[phases.steps]]
id = "nap"
title = "Sleep"
command = "echo $$ > {}; exec sleep 300"
"#,
        pidfile.display()
    );
    let file = write(dir.path(), "orphan.toml", &body);
    let db = dir.path().join("drills.db");
    let mut child = command(&db, &[&file, "--live", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let pgid = wait_for_pgid(&pidfile, started);
    assert!(group_alive(pgid));
    child.kill().unwrap(); // SIGKILL: no handler of rollsafe's runs.
    child.wait().unwrap();
    let gone = Instant::now();
    while group_alive(pgid) {
        if gone.elapsed() > Duration::from_secs(10) {
            // Leave nothing behind for the next test.
            // SAFETY: plain syscall to a group this test started.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            panic!("the step's command outlived rollsafe by 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_cancels_the_command_group_and_logs_the_drill_as_interrupted() {
    let dir = TempDir::new().unwrap();
    let pidfile = dir.path().join("pgid");
    let body = format!(
        r#"
id = "nap"
title = "Nap"
[[phases]]
title = "One"
[[phases.steps]]
id = "nap"
title = "Sleep in a pipeline"
command = "echo $$ > {}; sleep 30 | cat"
[[phases.steps]]
id = "after"
title = "Never reached"
command = "true"
"#,
        pidfile.display()
    );
    let file = write(dir.path(), "nap.toml", &body);
    let db = dir.path().join("drills.db");
    let child = command(&db, &[&file, "--live", "--yes", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let pgid = wait_for_pgid(&pidfile, started);
    assert!(group_alive(pgid));
    // SAFETY: plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it stopped promptly"
    );
    assert_eq!(code(&out), 130, "{}", text(&out.stderr));
    assert!(!group_alive(pgid), "the command's process group is gone");

    let summary = json(&out);
    assert_eq!(summary["result"], "interrupted");
    let reason = summary["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("interrupted by SIGINT (Ctrl-C) during step nap"),
        "{reason}"
    );
    let (session, events) = logged(&db, summary["drill_id"].as_i64().unwrap());
    // Unfinished, as a runner closed mid-drill leaves it: resumable, and
    // "interrupted" in its report; the note says why.
    assert_eq!(session.drill.status, DrillStatus::Running);
    assert!(
        session
            .drill
            .notes
            .iter()
            .any(|n| n.text == reason && n.step.as_deref() == Some("nap")),
        "{:?}",
        session.drill.notes
    );
    // Not ended: resumable, in the one status vocabulary.
    assert_eq!(rollsafe::report::journal_status(&session), "running");
    let cancelled = events.iter().any(|e| {
        matches!(&e.kind, EventKind::CommandRun { step, cancelled: true, passed: false, .. } if step == "nap")
    });
    assert!(cancelled, "{:?}", kinds(&events));
    assert_eq!(
        session.drill.steps[0].outcome, None,
        "interrupted is not failed"
    );
    assert_eq!(session.drill.steps[1].attempts, 0, "nothing ran after");
    assert_eq!(kinds(&events).last(), Some(&"note"));
}

#[test]
fn kill_9_mid_command_leaves_a_resumable_drill_with_the_command_in_flight() {
    let dir = TempDir::new().unwrap();
    let pidfile = dir.path().join("pgid");
    let body = format!(
        r#"
id = "nap"
title = "Nap"
[[phases]]
title = "One"
[[phases.steps]]
id = "nap"
title = "Sleep"
command = "echo $$ > {}; sleep 30"
"#,
        pidfile.display()
    );
    let file = write(dir.path(), "nap.toml", &body);
    let db = dir.path().join("drills.db");
    let mut child = command(&db, &[&file, "--live", "--yes"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let pgid = wait_for_pgid(&pidfile, started);
    child.kill().unwrap(); // SIGKILL: no handler, no cleanup
    child.wait().unwrap();

    let mut store = rollsafe::store::Store::open(&db).unwrap();
    let id = store.list_drills(1, 0).unwrap()[0].id;
    let (session, events) = logged(&db, id);
    assert_eq!(session.drill.status, DrillStatus::Running);
    let (step, command) = session.drill.command_in_flight.clone().unwrap();
    assert_eq!(step, "nap");
    assert!(command.ends_with("sleep 30"), "{command}");
    // The log knows the command's process group; the shell died with
    // rollsafe (parent-death signal) but the `sleep` it forked runs on, and
    // a later run can see it and stop it.
    assert_eq!(session.drill.command_in_flight_pgid, Some(pgid));
    let seen = rollsafe::exec::leftover(pgid);
    assert!(
        matches!(&seen, rollsafe::exec::Leftover::Alive { cmdline: Some(c) } if c.contains("sleep 30")),
        "{seen:?}"
    );
    assert!(rollsafe::exec::stop_leftover(pgid, Duration::from_secs(3)));
    assert_eq!(
        rollsafe::exec::leftover(pgid),
        rollsafe::exec::Leftover::Gone
    );
    assert_eq!(kinds(&events).last(), Some(&"command_started"));
    // Reopening it logs the gap as an interruption, as for any drill.
    let reopened = rollsafe::drill::Session::reopen(&mut store, id, chrono::Utc::now()).unwrap();
    assert_eq!(reopened.drill.status, DrillStatus::Running);
    assert_eq!(
        store.events(id).unwrap().last().map(|e| e.kind.name()),
        Some("interrupted")
    );
}

#[test]
fn secret_variables_reach_commands_but_are_masked_in_output_and_log() {
    let dir = TempDir::new().unwrap();
    let file = write(
        dir.path(),
        "secret.toml",
        r#"
id = "secret"
title = "Secret"
[variables.DB_PASSWORD]
default = "hunter2"
description = "read by the command from its environment"
[[phases]]
title = "One"
[[phases.steps]]
id = "use-it"
title = "The command sees the real value"
command = 'test "$DB_PASSWORD" = "$(printf hunter; printf 2)"'
"#,
    );
    let db = dir.path().join("drills.db");
    let out = run(&db, &[&file, "--live", "--yes", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("hunter2"));
    assert!(!text(&out.stderr).contains("hunter2"));
    assert!(text(&out.stderr).contains("DB_PASSWORD = ******** (default)"));
    let summary = json(&out);
    assert_eq!(summary["variables"][0]["value"], "********");
    let (session, _) = logged(&db, summary["drill_id"].as_i64().unwrap());
    assert!(
        session
            .drill
            .notes
            .iter()
            .all(|n| !n.text.contains("hunter2"))
    );
}

#[test]
fn secret_values_substituted_into_commands_and_printed_never_reach_the_log_file() {
    let dir = TempDir::new().unwrap();
    let file = write(
        dir.path(),
        "leak.toml",
        r#"
id = "leak"
title = "Leak"
[variables.API_TOKEN]
description = "substituted into the command text"
[variables.DATABASE_URL]
description = "a URL with a password"
[[phases]]
title = "One"
[[phases.steps]]
id = "print-them"
title = "Prints both"
command = "echo token=${API_TOKEN}; echo url=${DATABASE_URL}; echo pw-again=$(printf pa55; printf word-x) >&2"
[phases.steps.verify]
command = "echo ${API_TOKEN}"
regex = "tok-"
"#,
    );
    let db = dir.path().join("drills.db");
    let out = run(
        &db,
        &[
            &file,
            "--live",
            "--yes",
            "--json",
            "--var",
            "API_TOKEN=tok-5ecret-value",
            "--var",
            "DATABASE_URL=postgres://app:pa55word-x@db:5432/app",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let summary = json(&out);
    let (session, _) = logged(&db, summary["drill_id"].as_i64().unwrap());
    // The command ran with the real values: the verification saw the token.
    assert_eq!(session.drill.steps[0].outcome, Some(Outcome::Passed));
    let run = &session.drill.commands[0];
    assert!(run.command.contains("token=********"), "{}", run.command);
    assert!(run.output.contains("token=********"), "{}", run.output);
    assert!(
        run.output.contains("url=postgres://app:********@db"),
        "{}",
        run.output
    );
    assert!(run.output.contains("pw-again=********"), "{}", run.output);
    // Nowhere in the file: not in events, not in derived tables, not in the WAL.
    drop(session);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("drills.db")
        {
            let bytes = std::fs::read(&path).unwrap();
            let raw = String::from_utf8_lossy(&bytes);
            assert!(!raw.contains("tok-5ecret-value"), "{}", path.display());
            assert!(!raw.contains("pa55word-x"), "{}", path.display());
        }
    }
}

#[test]
fn a_dry_run_lists_commands_with_secret_values_masked() {
    let dir = TempDir::new().unwrap();
    let file = write(
        dir.path(),
        "dry-secret.toml",
        r#"
id = "dry-secret"
title = "Dry secret"
[variables.API_KEY]
default = "k-123456"
description = "an API key"
[variables.DATABASE_URL]
default = "postgres://app:hunter2@db/app"
description = "a URL with a password"
[[phases]]
title = "One"
[[phases.steps]]
id = "call"
title = "Uses both"
command = "curl -H 'X-Key: ${API_KEY}' x && psql ${DATABASE_URL}"
"#,
    );
    let db = dir.path().join("drills.db");
    let out = run(&db, &[&file]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(
        !all.contains("k-123456") && !all.contains("hunter2"),
        "{all}"
    );
    assert!(
        all.contains("$ curl -H 'X-Key: ********' x && psql postgres://app:********@db/app"),
        "{all}"
    );
}

#[test]
fn show_output_streams_each_commands_output_under_its_step() {
    let dir = TempDir::new().unwrap();
    let body = r#"
id = "chatty"
title = "Chatty"
[[phases]]
title = "One"
[[phases.steps]]
id = "count"
title = "Count to three"
command = "for i in 1 2 3; do echo \"row batch $i\"; done"
"#;
    let file = write(dir.path(), "chatty.toml", body);
    let db = dir.path().join("drills.db");
    let shown = run(&db, &[&file, "--live", "--yes", "--show-output"]);
    assert_eq!(code(&shown), 0, "{}", text(&shown.stderr));
    let out = text(&shown.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{out}"))
    };
    // Under the step's line, in order, before the command's result.
    let (step, first, last, ended) = (
        at("[1/1] count"),
        at("      | row batch 1"),
        at("      | row batch 3"),
        at("command"),
    );
    assert!(step < first && first < last && last < ended, "{out}");

    // Without the flag only the result line is printed.
    let quiet = run(&db, &[&file, "--live", "--yes"]);
    assert_eq!(code(&quiet), 0);
    assert!(
        !text(&quiet.stdout).contains("row batch"),
        "{}",
        text(&quiet.stdout)
    );
}

#[test]
fn a_value_from_the_environment_is_data_not_code() {
    let dir = TempDir::new().unwrap();
    let pwned = dir.path().join("pwned");
    let file = write(
        dir.path(),
        "inject.toml",
        r#"
id = "inject"
title = "Inject"
[variables.TABLE]
description = "a table name"
[[phases]]
title = "One"
[[phases.steps]]
id = "count"
title = "Uses the value unquoted, double-quoted and single-quoted"
command = "printf '%s|' ${TABLE} \"${TABLE}\" '${TABLE}'"
"#,
    );
    let hostile = format!(
        "orders; touch {} #'\"$(touch {})",
        pwned.display(),
        pwned.display()
    );
    let var = format!("TABLE={hostile}");
    let db = dir.path().join("drills.db");
    let out = run(&db, &[&file, "--live", "--yes", "--json", "--var", &var]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!pwned.exists(), "the value ran as code");
    let (session, _) = logged(&db, json(&out)["drill_id"].as_i64().unwrap());
    assert_eq!(
        session.drill.commands[0].output,
        format!("{hostile}|{hostile}|{hostile}|")
    );
}

#[test]
fn resume_carries_a_killed_drill_on_headless_after_stopping_its_leftover() {
    let dir = TempDir::new().unwrap();
    let pidfile = dir.path().join("pgid");
    let marker = dir.path().join("first-run");
    let body = format!(
        r#"
id = "again"
title = "Again"
[[phases]]
title = "One"
[[phases.steps]]
id = "nap"
title = "Sleeps on its first run only"
command = "if [ -e {marker} ]; then echo second-run; else touch {marker}; echo $$ > {pid}; sleep 30; true; fi"
[[phases.steps]]
id = "after"
title = "Runs after the resume"
command = "echo after"
"#,
        marker = marker.display(),
        pid = pidfile.display()
    );
    let file = write(dir.path(), "again.toml", &body);
    let db = dir.path().join("drills.db");
    let mut child = command(&db, &[&file, "--live", "--yes"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pgid = wait_for_pgid(&pidfile, Instant::now());
    child.kill().unwrap();
    child.wait().unwrap();
    let id = rollsafe::store::Store::open(&db)
        .unwrap()
        .list_drills(1, 0)
        .unwrap()[0]
        .id;
    let id_text = id.to_string();

    // The forked sleep still runs: resume refuses until told to stop it.
    let out = run(&db, &["--resume", &id_text, "--live", "--yes"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("process group {pgid}")),
        "{}",
        text(&out.stderr)
    );
    assert!(matches!(
        rollsafe::exec::leftover(pgid),
        rollsafe::exec::Leftover::Alive { .. }
    ));

    let out = run(
        &db,
        &[
            "--resume",
            &id_text,
            "--live",
            "--yes",
            "--stop-leftover",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        rollsafe::exec::leftover(pgid),
        rollsafe::exec::Leftover::Gone
    );
    assert!(text(&out.stderr).contains(&format!("drill #{id} resumed")));
    let (session, events) = logged(&db, id);
    assert_eq!(session.drill.status, DrillStatus::Completed);
    assert_eq!(session.drill.steps[0].outcome, Some(Outcome::Passed));
    assert_eq!(
        session.drill.steps[0].attempts, 2,
        "the cut-off attempt stays in the log"
    );
    assert_eq!(session.drill.steps[1].outcome, Some(Outcome::Passed));
    let names = kinds(&events);
    assert!(names.contains(&"interrupted"), "{names:?}");
    assert!(
        session
            .drill
            .notes
            .iter()
            .any(|n| n.text.contains(&format!("stopped process group {pgid}"))),
        "{:?}",
        session.drill.notes
    );
    assert!(
        outputs(&events, "nap")
            .iter()
            .any(|o| o.contains("second-run"))
    );

    // Finished now: nothing to resume (1); an unknown drill is 4.
    let out = run(&db, &["--resume", &id_text, "--live", "--yes"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("already completed"));
    let out = run(&db, &["--resume", "999", "--live", "--yes"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
}
