//! `rollsafe completions SHELL` and `rollsafe man`: generated from the clap
//! definitions, so they always match the commands and flags.

use clap::CommandFactory;

use super::{Cli, exit};

pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "rollsafe", &mut std::io::stdout());
    exit::OK
}

pub fn man() -> i32 {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("rollsafe: cannot write the manual page: {e}");
        return exit::INVALID;
    }
    super::emit(&String::from_utf8_lossy(&page), None, "the manual page")
}
