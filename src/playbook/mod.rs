//! Playbooks: the model, the TOML and Markdown formats, validation, and
//! where playbooks are found (bundled, the user's config directory, paths).

pub mod diagnostic;
pub mod duration;
pub mod markdown;
pub mod model;
pub mod shell;
pub mod toml_format;
pub mod validate;
pub mod vars;

use std::path::{Path, PathBuf};

pub use diagnostic::Diagnostic;
pub use model::{
    CommandKind, Expectation, OnFail, Origin, PageKind, Phase, Playbook, PlaybookKind, ProbeEngine,
    ProbeSpec, Step, StepRef, Verification,
};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_runbooks.rs"));
}

/// A playbook and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub playbook: Playbook,
    pub origin: Origin,
    /// The exact text it was parsed from: stored with each drill.
    pub source: String,
}

/// A file that could not be loaded, kept so Home can show what is wrong.
#[derive(Debug, Clone)]
pub struct Broken {
    pub origin: Origin,
    pub problems: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Markdown,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".toml") {
            Some(Format::Toml)
        } else if lower.ends_with(".md") || lower.ends_with(".markdown") {
            Some(Format::Markdown)
        } else {
            None
        }
    }
}

/// Playbooks larger than this are refused before parsing: a runbook is a few
/// KB, and loading costs about 100 bytes of memory per byte of text.
pub const MAX_BYTES: usize = 8 << 20;

fn too_large(file: &str, bytes: u64) -> Diagnostic {
    Diagnostic::whole_file(
        file,
        format!(
            "file is too large for a playbook: {:.1} MB; the limit is {} MB",
            bytes as f64 / (1 << 20) as f64,
            MAX_BYTES >> 20
        ),
    )
}

/// Parses text whose format is given by `file`'s extension.
pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<Diagnostic>> {
    parse_reviewed(file, text).map(|(playbook, _)| playbook)
}

/// As [`parse`], with warnings about a page that loads but may mislead a
/// drill (Markdown only: reference pages, link lists, prompts in commands).
pub fn parse_reviewed(
    file: &str,
    text: &str,
) -> Result<(Playbook, Vec<Diagnostic>), Vec<Diagnostic>> {
    if text.len() > MAX_BYTES {
        return Err(vec![too_large(file, text.len() as u64)]);
    }
    match Format::from_name(file) {
        Some(Format::Toml) => toml_format::parse(file, text).map(|p| (p, Vec::new())),
        Some(Format::Markdown) => markdown::parse_reviewed(file, text),
        None => Err(vec![Diagnostic::whole_file(
            file,
            "unknown playbook format: name it .toml or .md".into(),
        )]),
    }
}

/// Reads and parses one file on disk.
pub fn load_file(path: &Path) -> Result<Loaded, Broken> {
    load_file_reviewed(path).map(|(loaded, _)| loaded)
}

/// As [`load_file`], with the warnings of [`parse_reviewed`].
pub fn load_file_reviewed(path: &Path) -> Result<(Loaded, Vec<Diagnostic>), Broken> {
    let label = path.display().to_string();
    let origin = Origin::File(label.clone());
    // Refuse a huge file before reading it into memory.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > MAX_BYTES as u64
    {
        return Err(Broken {
            origin,
            problems: vec![too_large(&label, meta.len())],
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| Broken {
        origin: origin.clone(),
        problems: vec![Diagnostic::whole_file(
            &label,
            format!("cannot read file: {e}"),
        )],
    })?;
    match parse_reviewed(&label, &text) {
        Ok((playbook, warnings)) => Ok((
            Loaded {
                playbook,
                origin,
                source: text,
            },
            warnings,
        )),
        Err(problems) => Err(Broken { origin, problems }),
    }
}

/// Every runbook embedded in the binary.
pub fn bundled() -> (Vec<Loaded>, Vec<Broken>) {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for (name, text) in bundled::BUNDLED {
        let origin = Origin::Bundled((*name).to_string());
        match parse(&format!("runbooks/{name}"), text) {
            Ok(playbook) => ok.push(Loaded {
                playbook,
                origin,
                source: (*text).to_string(),
            }),
            Err(problems) => broken.push(Broken { origin, problems }),
        }
    }
    (ok, broken)
}

/// Playbook files directly inside `dir` (not recursive), sorted by name.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && Format::from_name(&p.to_string_lossy()).is_some())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The library of playbooks a session can pick from.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub playbooks: Vec<Loaded>,
    pub broken: Vec<Broken>,
}

impl Library {
    /// Bundled runbooks, then the user's directory; a user playbook with a
    /// bundled id replaces the bundled one, so teams can adapt them.
    pub fn load(user_dir: Option<&Path>) -> Self {
        let (mut playbooks, mut broken) = bundled();
        if let Some(dir) = user_dir {
            for path in files_in(dir) {
                match load_file(&path) {
                    Ok(loaded) => {
                        playbooks.retain(|p| p.playbook.id != loaded.playbook.id);
                        playbooks.push(loaded);
                    }
                    Err(b) => broken.push(b),
                }
            }
        }
        Self { playbooks, broken }
    }

    pub fn get(&self, id: &str) -> Option<&Loaded> {
        self.playbooks.iter().find(|p| p.playbook.id == id)
    }

    /// A bundled or user id, or else a path to a file.
    pub fn resolve(&self, id_or_path: &str) -> Result<Loaded, Broken> {
        if let Some(found) = self.get(id_or_path) {
            return Ok(found.clone());
        }
        let path = Path::new(id_or_path);
        if path.exists() {
            return load_file(path);
        }
        let known: Vec<&str> = self
            .playbooks
            .iter()
            .map(|p| p.playbook.id.as_str())
            .collect();
        Err(Broken {
            origin: Origin::File(id_or_path.to_string()),
            problems: vec![Diagnostic::whole_file(
                id_or_path,
                format!(
                    "no playbook with this id and no such file; known ids: {}",
                    known.join(", ")
                ),
            )],
        })
    }
}

/// Content hash stored with each drill, to tell when a playbook changed.
pub fn content_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
