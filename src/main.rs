//! The `rollsafe` binary: parse arguments, then either a script subcommand
//! or the interactive app.

use std::io::IsTerminal;
use std::process::ExitCode;

use chrono::Utc;
use clap::Parser;

use rollsafe::cli::{self, Cli, Command, exit};
use rollsafe::tui::{self, app::App, theme::Theme};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that only print stop quietly when their reader goes away
    // (`rollsafe history | head`), as Unix tools do, instead of a panic
    // with exit 101. rehearse keeps SIGPIPE ignored: a closed pipe must
    // not cut a live drill short.
    if matches!(
        cli.command,
        Some(
            Command::List { .. }
                | Command::Check { .. }
                | Command::Show { .. }
                | Command::History { .. }
                | Command::Paths
                | Command::Completions { .. }
                | Command::Man
                | Command::Report { .. }
                | Command::Stats { .. }
                | Command::Plan(_)
        )
    ) || matches!(&cli.command, Some(Command::Lint(args)) if !args.tui)
    {
        // SAFETY: called before any thread starts; restores the default action.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = cli::dispatch(&cli).unwrap_or_else(|| interactive(&cli));
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn interactive(cli: &Cli) -> i32 {
    let global = &cli.global;
    // The log comes first: a locked or unusable log exits 3 (README) with
    // or without a terminal. `run` and `resume` write at once, so they
    // also need the write lock, which another program may hold.
    let store = match global.open_store_or_exit() {
        Ok(s) => s,
        Err(code) => return code,
    };
    if matches!(
        cli.command,
        Some(Command::Run { .. } | Command::Resume { .. } | Command::Follow { .. })
    ) && let Err(e) = store.check_writable()
    {
        eprintln!("rollsafe: {e}");
        return cli::store_exit(&e);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "rollsafe: the interactive app needs a terminal; for scripts use list, check, show or history (see --help)"
        );
        return exit::USAGE;
    }
    let library = global.library();
    let now = Utc::now();
    let mut app = App::new(store, library, global.operator(), global.overrides(), now);
    app.playbooks_dir = global.playbooks_dir();
    if let Err(code) = open_requested(&mut app, &cli.command, now) {
        return code;
    }
    let theme = if global.no_color {
        Theme::PLAIN
    } else {
        Theme::from_env()
    };
    match tui::run(&mut app, theme) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("rollsafe: terminal error: {e}");
            exit::USAGE
        }
    }
}

/// Starts or resumes the drill the command line asks for, before the first frame.
fn open_requested(
    app: &mut App,
    command: &Option<Command>,
    now: chrono::DateTime<Utc>,
) -> Result<(), i32> {
    let failed = match command {
        Some(Command::Run { playbook, mode }) => match app.library.resolve(playbook) {
            Ok(loaded) => {
                app.request_start(&loaded, (*mode).into(), now);
                exit::INVALID
            }
            Err(broken) => {
                for p in &broken.problems {
                    eprintln!("rollsafe: {p}");
                }
                let exists = std::path::Path::new(playbook).exists();
                return Err(if exists {
                    exit::INVALID
                } else {
                    exit::NOT_FOUND
                });
            }
        },
        Some(Command::Resume { drill }) => {
            let Some(id) = drill.or_else(|| app.home.unfinished.first().map(|r| r.id)) else {
                eprintln!("rollsafe: no unfinished drill to resume");
                return Err(exit::NOT_FOUND);
            };
            app.resume(id, now);
            exit::NOT_FOUND
        }
        Some(Command::Follow { drill }) => {
            let Some(id) = drill.or_else(|| app.home.unfinished.first().map(|r| r.id)) else {
                eprintln!("rollsafe: no unfinished drill to follow");
                return Err(exit::NOT_FOUND);
            };
            app.follow(id, now);
            exit::NOT_FOUND
        }
        Some(Command::Lint(args)) => {
            return match tui::lint::LintState::load(args) {
                Ok(state) => {
                    app.open_lint(state);
                    Ok(())
                }
                Err(e) => {
                    eprintln!("rollsafe: {e}");
                    Err(exit::USAGE)
                }
            };
        }
        _ => return Ok(()),
    };
    // A live drill opens on the dialog that shows its variables.
    if matches!(app.screen, tui::app::Screen::Runner(_)) || app.dialog.is_some() {
        return Ok(());
    }
    // The app put the reason in its status line; say it on stderr instead.
    let why = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    eprintln!("rollsafe: could not open the drill: {why}");
    Err(failed)
}
