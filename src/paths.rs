//! Where rollsafe keeps its files, per the platform's conventions.

use std::path::PathBuf;

use directories::ProjectDirs;

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("dev", "rollsafe", "rollsafe")
}

/// `~/.local/share/rollsafe` on Linux: the drill log.
pub fn data_dir() -> Option<PathBuf> {
    project().map(|p| p.data_dir().to_path_buf())
}

/// `~/.config/rollsafe/playbooks` on Linux: the user's own playbooks.
pub fn user_playbooks_dir() -> Option<PathBuf> {
    project().map(|p| p.config_dir().join("playbooks"))
}
