//! One test per exit code the README documents, each driving the real binary,
//! plus the log's privacy (0600 file, 0700 directory, whatever the umask).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn rollsafe(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(args)
        .env("ROLLSAFE_DB", db)
        .env("ROLLSAFE_PLAYBOOKS", db.with_file_name("no-playbooks"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollsafe")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn zero_on_success() {
    let dir = TempDir::new().unwrap();
    let out = rollsafe(&dir.path().join("drills.db"), &["history"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn one_for_a_playbook_with_problems() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "id = \"x\"\ntitle = \n").unwrap();
    let out = rollsafe(
        &dir.path().join("drills.db"),
        &["check", bad.to_str().unwrap()],
    );
    assert_eq!(code(&out), 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bad.toml:2:"),
        "the problem names file:line: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn two_for_bad_arguments() {
    let dir = TempDir::new().unwrap();
    let out = rollsafe(&dir.path().join("drills.db"), &["history", "--nosuch"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn three_for_a_log_that_is_not_a_database() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    std::fs::write(&db, vec![b'x'; 8192]).unwrap();
    for args in [&["history"][..], &["stats"], &["report", "1"]] {
        let out = rollsafe(&db, args);
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(db.to_str().unwrap()),
            "{args:?} names the file: {}",
            stderr(&out)
        );
    }
}

#[test]
fn four_for_an_unknown_playbook_or_drill() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    for args in [
        &["show", "nosuch"][..],
        &["stats", "nosuch"],
        &["report", "99"],
    ] {
        let out = rollsafe(&db, args);
        assert_eq!(code(&out), 4, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn five_for_a_variable_without_value() {
    let dir = TempDir::new().unwrap();
    let playbook = dir.path().join("p.toml");
    std::fs::write(
        &playbook,
        r#"id = "needs-var"
title = "Needs a variable"
[variables.ROLLSAFE_EXIT_CODE_TEST_UNSET]
description = "never set"
[[phases]]
title = "One"
[[phases.steps]]
id = "echo"
title = "Echo it"
command = "echo ${ROLLSAFE_EXIT_CODE_TEST_UNSET}"
"#,
    )
    .unwrap();
    let out = rollsafe(
        &dir.path().join("drills.db"),
        &["rehearse", playbook.to_str().unwrap()],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
}

#[test]
fn log_and_directory_are_private_whatever_the_umask() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("fresh").join("drills.db");
    // A lax umask in the child: sh sets it, then runs rollsafe.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000 && exec '{}' history",
            env!("CARGO_BIN_EXE_rollsafe")
        ))
        .env("ROLLSAFE_DB", &db)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
}

#[test]
fn an_existing_open_log_is_tightened_with_a_note() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    assert_eq!(code(&rollsafe(&db, &["history"])), 0);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = rollsafe(&db, &["history"]);
    assert_eq!(code(&out), 0);
    assert!(stderr(&out).contains("made"), "a note: {}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn three_for_a_damaged_record_with_a_message_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let playbook = dir.path().join("p.toml");
    std::fs::write(
        &playbook,
        "id = \"tiny\"\ntitle = \"Tiny\"\n[[phases]]\ntitle = \"One\"\n[[phases.steps]]\nid = \"a\"\ntitle = \"A\"\ncommand = \"true\"\n",
    )
    .unwrap();
    let out = rollsafe(
        &db,
        &["rehearse", playbook.to_str().unwrap(), "--live", "--yes"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE drills SET playbook_id = CAST(x'ff00fe' AS TEXT)")
        .unwrap();
    for args in [&["history"][..], &["history", "--json"], &["stats"]] {
        let out = rollsafe(&db, args);
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(db.to_str().unwrap()), "{args:?}: {err}");
        assert!(!err.contains("Conversion error"), "no raw error: {err}");
    }
}

#[test]
fn abort_ends_an_unfinished_drill_and_refuses_a_finished_one() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let pidfile = dir.path().join("started");
    let playbook = dir.path().join("p.toml");
    std::fs::write(
        &playbook,
        format!(
            "id = \"stuck\"\ntitle = \"Stuck\"\n[[phases]]\ntitle = \"One\"\n[[phases.steps]]\nid = \"a\"\ntitle = \"A\"\ncommand = \"touch {}; exec sleep 300\"\n",
            pidfile.display()
        ),
    )
    .unwrap();
    // A CI rehearsal killed mid-step: the drill stays running.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(["rehearse", playbook.to_str().unwrap(), "--live", "--yes"])
        .env("ROLLSAFE_DB", &db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !pidfile.exists() {
        assert!(started.elapsed().as_secs() < 20, "the step never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let out = rollsafe(&db, &["abort", "1"]);
    assert_eq!(code(&out), 2, "--reason is required");
    let out = rollsafe(&db, &["abort", "1", "--reason", "  "]);
    assert_eq!(code(&out), 2, "an empty reason is refused");
    let out = rollsafe(&db, &["abort", "7", "--reason", "x"]);
    assert_eq!(code(&out), 4, "no such drill: {}", stderr(&out));

    let out = rollsafe(&db, &["abort", "1", "--reason", "CI runner was killed"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let history = rollsafe(&db, &["history", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows[0]["status"], "aborted", "{rows}");
    let report = rollsafe(&db, &["report", "1"]);
    assert!(
        String::from_utf8_lossy(&report.stdout).contains("CI runner was killed"),
        "the reason is in the report"
    );

    let out = rollsafe(&db, &["abort", "1", "--reason", "again"]);
    assert_eq!(code(&out), 1, "already aborted: {}", stderr(&out));
}

// Contract drift (issue 11 item 13): the README's exit 3 holds for a locked
// log, a damaged page and a full disk, and a log on read-only media reads.

fn tiny_playbook(dir: &Path) -> std::path::PathBuf {
    let playbook = dir.join("tiny.toml");
    std::fs::write(
        &playbook,
        "id = \"tiny\"\ntitle = \"Tiny\"\n[[phases]]\ntitle = \"One\"\n[[phases.steps]]\nid = \"a\"\ntitle = \"A\"\ncommand = \"true\"\n",
    )
    .unwrap();
    playbook
}

fn log_with_drills(dir: &Path, drills: usize) -> std::path::PathBuf {
    let db = dir.join("drills.db");
    let playbook = tiny_playbook(dir);
    for _ in 0..drills {
        let out = rollsafe(
            &db,
            &["rehearse", playbook.to_str().unwrap(), "--live", "--yes"],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    // Everything into the main file, so a page can be damaged on purpose.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    db
}

#[test]
fn three_from_run_and_resume_for_a_locked_log_even_without_a_terminal() {
    let dir = TempDir::new().unwrap();
    let db = log_with_drills(dir.path(), 1);
    let playbook = dir.path().join("tiny.toml");
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // No terminal here (output is captured): the log is checked first.
    for args in [&["run", playbook.to_str().unwrap()][..], &["resume"]] {
        let out = rollsafe(&db, args);
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    }
    holder.execute_batch("ROLLBACK").unwrap();
    let out = rollsafe(&db, &["run", playbook.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "unlocked: no terminal: {}", stderr(&out));
}

#[test]
fn three_with_a_clear_message_for_a_damaged_page() {
    let dir = TempDir::new().unwrap();
    let db = log_with_drills(dir.path(), 6);
    // Damage the drills table's root page (page 2): before, history listed
    // what it could still read and exited 0.
    let root: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'drills'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    let at = (root as usize - 1) * 4096 + 8;
    bytes[at..at + 3000].fill(0xff);
    std::fs::write(&db, bytes).unwrap();
    for args in [
        &["history"][..],
        &["history", "--json"],
        &["stats"],
        &["report", "1"],
    ] {
        let out = rollsafe(&db, args);
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("damaged page"), "{args:?}: {err}");
        assert!(err.contains(db.to_str().unwrap()), "{args:?}: {err}");
        assert!(!err.contains("Conversion error"), "{args:?}: {err}");
    }
}

#[test]
fn three_and_no_empty_file_when_the_disk_is_full() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let playbook = tiny_playbook(dir.path());
    // A file-size limit of 0 makes every write fail as a full disk would;
    // SIGXFSZ is ignored so the write returns an error instead. stderr is
    // a pipe, which the limit does not cover.
    for limit in ["0", "4"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -f {limit}; exec '{}' rehearse '{}' --live --yes",
                env!("CARGO_BIN_EXE_rollsafe"),
                playbook.display()
            ))
            .env("ROLLSAFE_DB", &db)
            .output()
            .unwrap();
        assert_eq!(code(&out), 3, "limit {limit}: {}", stderr(&out));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("drills.db"))
            .collect();
        assert!(left.is_empty(), "limit {limit}: left {left:?}");
    }
}

#[test]
fn a_log_on_read_only_media_can_still_be_read() {
    // A read-only bind mount needs a private mount namespace (root, or a
    // user namespace); CI runs as root.
    let probe = Command::new("unshare").args(["-m", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: unshare -m is not available here");
        return;
    }
    let dir = TempDir::new().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    let db = log_with_drills(&media, 2);
    let bin = env!("CARGO_BIN_EXE_rollsafe");
    let m = media.display();
    let script = format!(
        "mount --bind '{m}' '{m}' && mount -o remount,ro,bind '{m}' || exit 99
         touch '{m}/x' 2>/dev/null && exit 98
         '{bin}' history || exit 1
         '{bin}' report 2 || exit 2
         '{bin}' rehearse '{m}/tiny.toml' --live --yes; echo \"rehearse=$?\""
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("ROLLSAFE_DB", &db)
        .env("ROLLSAFE_PLAYBOOKS", dir.path().join("none"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    assert!(text.contains("tiny"), "history lists the drills: {text}");
    assert!(text.contains("Tiny"), "the report: {text}");
    // Writing still fails, with exit 3 and a message.
    assert!(text.contains("rehearse=3"), "{text}\n{}", stderr(&out));
}

// `rehearse --resume DRILL --live --yes`: the exit codes rehearse_cli.rs
// does not cover (0 and 4 are there). Each drill is a `rehearse --live
// --yes` killed (SIGKILL) while its first step sleeps.

/// Step `a` sleeps the first time (it leaves ${MARK}), passes the second;
/// step `b` exits with ${B_EXIT}.
fn resumable_playbook(dir: &Path) -> std::path::PathBuf {
    let playbook = dir.join("p.toml");
    std::fs::write(
        &playbook,
        r#"id = "resumable"
title = "Resumable"
[variables.MARK]
description = "a file the first attempt leaves"
[variables.B_EXIT]
description = "step b's exit code"
[[phases]]
title = "One"
[[phases.steps]]
id = "a"
title = "A"
command = "if [ -e ${MARK} ]; then echo second; exit 0; fi; touch ${MARK}; exec sleep 300"
[[phases.steps]]
id = "b"
title = "B"
command = "exit ${B_EXIT}"
"#,
    )
    .unwrap();
    playbook
}

/// Starts a live rehearsal and kills it (SIGKILL) once step `a` left `mark`.
fn killed_rehearsal(db: &Path, playbook: &Path, mark: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(["rehearse", playbook.to_str().unwrap(), "--live", "--yes"])
        .args(["--var", &format!("MARK={}", mark.display())])
        .args(["--var", "B_EXIT=0"])
        .env("ROLLSAFE_DB", db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !mark.exists() {
        assert!(started.elapsed().as_secs() < 20, "the step never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn status_of(db: &Path, id: i64) -> String {
    let out = rollsafe(db, &["history", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("drill {id} in {rows}"));
    row["status"].as_str().unwrap().to_string()
}

/// `rehearse --resume 1 --live --yes --stop-leftover` plus `extra`
/// (the leftover flag: the killed step's sleep may not have died yet).
fn resume_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["rehearse", "--resume", "1", "--live", "--yes"];
    args.push("--stop-leftover");
    args.extend_from_slice(extra);
    args
}

#[test]
fn resume_exits_one_when_a_remaining_step_fails() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let mark = dir.path().join("mark");
    killed_rehearsal(&db, &resumable_playbook(dir.path()), &mark);
    let mark_var = format!("MARK={}", mark.display());
    let out = rollsafe(
        &db,
        &resume_args(&["--var", &mark_var, "--var", "B_EXIT=3"]),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_ne!(status_of(&db, 1), "running");
}

#[test]
fn resume_refusals_two_three_five_leave_the_drill_alone() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let mark = dir.path().join("mark");
    killed_rehearsal(&db, &resumable_playbook(dir.path()), &mark);
    let mark_var = format!("MARK={}", mark.display());
    let vars = ["--var", &mark_var, "--var", "B_EXIT=0"];

    // 2: --live without --yes.
    let mut args = vec!["rehearse", "--resume", "1", "--live"];
    args.extend_from_slice(&vars);
    let out = rollsafe(&db, &args);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // 5: a variable has no value (the log keeps only a masked listing).
    let out = rollsafe(&db, &resume_args(&[]));
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("MARK"), "{}", stderr(&out));

    // 3: a log that is not a database.
    let bad = dir.path().join("bad.db");
    std::fs::write(&bad, vec![b'x'; 8192]).unwrap();
    let out = rollsafe(&bad, &resume_args(&vars));
    assert_eq!(code(&out), 3, "{}", stderr(&out));

    assert_eq!(status_of(&db, 1), "running");
}

#[test]
fn resume_interrupted_by_sigterm_exits_143_and_stays_resumable() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("drills.db");
    let mark = dir.path().join("mark");
    killed_rehearsal(&db, &resumable_playbook(dir.path()), &mark);
    // A new mark: step `a` sleeps again in the resumed drill.
    let mark2 = dir.path().join("mark2");
    let mark_var = format!("MARK={}", mark2.display());
    let child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(resume_args(&["--var", &mark_var, "--var", "B_EXIT=0"]))
        .env("ROLLSAFE_DB", &db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !mark2.exists() {
        assert!(started.elapsed().as_secs() < 20, "the step never restarted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert_eq!(status_of(&db, 1), "running");
}

#[test]
fn a_listing_cut_short_by_its_reader_ends_quietly_not_with_a_panic() {
    let dir = TempDir::new().unwrap();
    let sql = dir.path().join("big.sql");
    let text: String = (0..3000)
        .map(|i| format!("ALTER TABLE t{i} DROP COLUMN c{i};\n"))
        .collect();
    std::fs::write(&sql, text).unwrap();
    // More than a pipe buffer of findings, read by nobody: the write fails.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(["lint", sql.to_str().unwrap(), "--engine", "postgres:16"])
        .env("ROLLSAFE_DB", dir.path().join("drills.db"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
