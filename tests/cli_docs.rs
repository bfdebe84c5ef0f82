//! Shell completions and the manual page come from the clap definitions:
//! they name every subcommand, and the bash script is valid bash.

use std::process::Command;

fn rollsafe(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rollsafe"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

const SUBCOMMANDS: &[&str] = &[
    "run", "resume", "abort", "followup", "list", "check", "show", "history", "paths", "report",
    "stats", "plan", "rehearse", "lint",
];

#[test]
fn bash_completion_is_valid_bash_and_completes_every_subcommand() {
    let (code, script) = rollsafe(&["completions", "bash"]);
    assert_eq!(code, 0);
    for sub in SUBCOMMANDS {
        assert!(script.contains(sub), "no {sub} in the bash completion");
    }
    let path =
        std::env::temp_dir().join(format!("rollsafe-completion-{}.bash", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(checked.success(), "bash -n rejects the completion script");
    // Flags of a subcommand complete too.
    assert!(script.contains("--fail-on"), "lint's flags are missing");
}

#[test]
fn zsh_and_fish_completions_name_the_subcommands() {
    for shell in ["zsh", "fish"] {
        let (code, script) = rollsafe(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            script.contains("rehearse") && script.contains("followup"),
            "{shell}"
        );
    }
    let (code, _) = rollsafe(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let (code, page) = rollsafe(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH rollsafe 1"), "{page}");
    assert!(page.contains("Rehearse database migrations"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "no {sub} in the manual page");
    }
}
