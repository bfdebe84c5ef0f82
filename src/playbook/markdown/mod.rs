//! Markdown runbooks: the pages teams already keep, loaded as playbooks.
//!
//! An ordinary runbook page (headings, checklists, numbered steps, code
//! blocks, tables, links) loads as it is. HTML comments, which do not show
//! when the page is rendered, add what Markdown cannot say: ids, timeboxes,
//! roles, verifications. HTML comments never appear in titles or details.
//!
//! # Page structure
//!
//! - **Title**: the first `# Heading`. Without one, the title comes from the
//!   file name (`flush-cache.md` → "Flush cache").
//! - **Description**: everything above the first phase heading except the
//!   title, kept as Markdown.
//! - **Phases**: each `## Heading` starts a phase; its id is the slug of the
//!   heading (`## Cut over` → `cut-over`). Further `#` headings after the
//!   title count as phase headings too. A page without phase headings puts
//!   all its steps in one phase, "Steps", and the text above its first step
//!   is the description.
//! - **Steps**: every item of a list directly under a phase is a step:
//!   `- [ ]` / `- [x]` task lists, `-` / `*` bullets, `1.` numbered lists.
//!   - *title*: the item's first line as plain text (emphasis and code marks
//!     dropped, link text kept, one trailing `:` dropped). A hard-wrapped
//!     line continues the title when it does not end in `.` `!` `?` `:` and
//!     the next line starts with a lowercase letter, inline code or a link.
//!   - *command*: the first code block directly inside the item (fenced or
//!     indented, de-indented as a whole) that is a command (see
//!     `commands.rs`: prompts stripped, output kept apart, the fence language
//!     deciding whether it runs, is pasted into a console, or is only read;
//!     diagrams, data and output are never commands). Without one, inline
//!     code that is the whole action of the item (`` `gitlab-ctl reconfigure` ``,
//!     "apply it: `knife ssh …`"), or nested items that are each only such
//!     code, one per line.
//!   - Items that are only a link (a few words at most after it), lists
//!     that name things (one word per item, `term: description`, a
//!     placeholder in code and what to put there, a bold term explained
//!     below it), and bullets that describe rather than instruct ("We use
//!     one cookbook …", "Logs can be found …"; see `prose.rs`) are not
//!     steps: they join the detail of the step before them. Numbered items
//!     are always steps. A section that is only links becomes the
//!     playbook's `sources`. A `- [ ]` checklist written inside a fence is
//!     read as steps.
//!   - *where it runs*: after a step that only opens a shell elsewhere
//!     (`ssh host`, `sudo su - user`, `kubectl exec` into a container), the
//!     phase's shell commands are pasted into that session; a step that
//!     names its host in words ("Log in to the shard …, run") is pasted into
//!     a shell there. Neither runs on the operator's machine.
//!   - *detail*: the rest of the item as Markdown with its indentation
//!     removed: following lines, nested lists, tables, quotes, other code
//!     blocks. Nested items belong to the detail; they are not steps.
//! - **Sub-headings** (`###`, or whichever level comes first below the
//!   phase heading): if any sub-section of a phase holds a list or more
//!   than one command, every sub-section becomes a phase of its own, titled
//!   "Phase › Sub-section"; otherwise each sub-section is one step titled by
//!   its heading, with its code block as the command (or, without one, the
//!   inline command its first paragraph ends with, or a paragraph of
//!   nothing but a command) and everything else as its detail.
//!   Deeper headings are part of the detail, except one that starts an
//!   undo procedure ("Rollback", "Roll back …", "Undo", "Revert"): that
//!   heading starts a sub-section of its own.
//! - **Text outside lists** (prose runbooks):
//!   - a section with no list and at most one code block is one step titled
//!     by the section's heading: the text is the detail, the code (or an
//!     inline command, as for a sub-section) the command;
//!   - otherwise each code block is the command of a step that starts at
//!     the paragraph (or deeper heading) just before it, and is titled by
//!     that paragraph's first sentence (at most 80 characters); the text
//!     between the previous step and that paragraph joins the previous step;
//!   - a code block right after a list is the command of the list's last
//!     step when that step has none (a fence that was not indented under
//!     its item); otherwise it joins that step's detail;
//!   - text after a step joins that step's detail; text before the first
//!     step of a phase goes at the top of that step's detail.
//! - Phases that end up with no steps are dropped, unless an annotation
//!   gives them an id (then the empty phase is reported).
//! - Step ids are slugs of the titles; repeated ones get `-2`, `-3`, … so a
//!   plain page always loads. Only ids written in annotations must be unique.
//!
//! # Annotations
//!
//! `<!-- rollsafe: key=value key="value with spaces" flag -->`, either at the
//! end of a line that is annotated or on a line of its own:
//!
//! - **Playbook** (above the first `##`, or on the `#` title line):
//!   `id=`, `title=`, `kind=migration|rollback|incident|gameday`,
//!   `budget=30m`, `tags=a,b`, `sql_client="psql $DATABASE_URL"` (SQL
//!   blocks then run through that client instead of being pasted). Without `id=`, the id is the slug of the file
//!   name, or of the title. A probe (see the TOML `[probe]` table):
//!   `probe_engine=postgres|mysql probe_url="${DATABASE_URL}"
//!   probe_statement="UPDATE ..."`, optionally `probe_interval=20ms`,
//!   `probe_blocked_after=250ms`, `probe_timeout=60s`.
//! - **Phase** (on the `##` line or right below it): `id=`. When the whole
//!   section is a single step titled by the heading, the annotation is also
//!   that step's and takes every step key.
//! - **Step** (on the item's title line or anywhere inside the item; for a
//!   prose or sub-heading step, anywhere in its text):
//!   - `id=`: must be unique;
//!   - `timebox=90s|5m|1h30m`;
//!   - `role=dba`;
//!   - `on_fail=stop|continue|rollback|goto:<step-id>`;
//!   - `pnr` (or `point_of_no_return`): a point of no return;
//!   - `rollback="how to undo this step"`.
//! - **Verification** of a step: `<!-- verify: <command> => <regex> -->`,
//!   where the output must match the regex; `=> exit N` expects exit code
//!   N instead; without `=>` the command must exit 0. The last `=>` splits
//!   command and expectation.
//!
//! Unknown keys, bad values and misplaced annotations are reported at the
//! exact key or value in the comment, all at once.
//!
//! ````markdown
//! <!-- rollsafe: id=pg-upgrade kind=migration budget=45m tags=postgres -->
//! # Upgrade Postgres
//!
//! ## Cut over
//!
//! 1. Stop writes <!-- rollsafe: timebox=2m on_fail=goto:restore -->
//!    ```sh
//!    kubectl scale deploy/api --replicas=0
//!    ```
//! 2. Run pg_upgrade <!-- rollsafe: pnr rollback="restore the snapshot" -->
//!    ```sh
//!    pg_upgrade --link
//!    ```
//!    <!-- verify: psql -tAc 'show server_version' => ^16\. -->
//!
//! ## Roll back
//!
//! - [ ] Restore the snapshot <!-- rollsafe: id=restore role=dba -->
//! ````

use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

use super::diagnostic::{Diagnostic, Reporter};
use super::duration::{parse_duration, parse_millis};
use super::model::{
    CommandKind, Expectation, OnFail, PageKind, Phase, Playbook, PlaybookKind, ProbeEngine,
    ProbeSpec, Step, StepRef, Verification,
};
use super::validate::{self, SourceMap, StepSource};

mod annotations;
mod blocks;
mod commands;
mod prose;
mod steps;
#[cfg(test)]
mod tests;

use annotations::*;
use blocks::*;
use commands::{Cmd, Lang};
use steps::*;

/// Prose titles longer than this are shortened.
const TITLE_MAX: usize = 80;
const STEP_KEYS: [&str; 7] = [
    "id",
    "timebox",
    "role",
    "on_fail",
    "pnr",
    "point_of_no_return",
    "rollback",
];
const PLAYBOOK_KEYS: [&str; 12] = [
    "id",
    "title",
    "kind",
    "budget",
    "tags",
    "sql_client",
    "probe_engine",
    "probe_url",
    "probe_statement",
    "probe_interval",
    "probe_blocked_after",
    "probe_timeout",
];

/// Parses and validates a Markdown playbook; every problem found comes back at once.
pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<Diagnostic>> {
    parse_reviewed(file, text).map(|(playbook, _)| playbook)
}

/// As [`parse`], with the warnings a loaded page still deserves: it reads as
/// a reference page, a section is only links, a command was written with
/// prompts or output, a step title was cut.
pub fn parse_reviewed(
    file: &str,
    text: &str,
) -> Result<(Playbook, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut report = Reporter::new(file, text);
    let mut warn = Reporter::new(file, text);
    if text.trim().is_empty() {
        report.at(
            0,
            "empty playbook: the file has no content; start it with a `# Title` line and a list of steps",
        );
        return Err(report.into_sorted());
    }
    let stem = file_stem(file);
    let outline = Outline::read(text, &humanize(stem));
    let mut notes = Annotator {
        text,
        report: &mut report,
    };

    let mut top = PlaybookAttrs::default();
    for c in &outline.front {
        notes.apply(c, &mut Target::Playbook(&mut top));
    }
    for (c, why) in &outline.orphans {
        if note_of(text, c).is_some() {
            notes.report.at(c.span.start, *why);
        }
    }
    for &at in &outline.unclosed {
        notes
            .report
            .at(at, "annotation comment is not closed: end it with -->");
    }

    // Annotations first, so explicit ids are known before derived ones are made unique.
    let mut drafts = Vec::with_capacity(outline.phases.len());
    for phase in &outline.phases {
        let mut attrs = PhaseAttrs::default();
        let mut steps: Vec<StepAttrs> = phase.steps.iter().map(|_| StepAttrs::default()).collect();
        for c in &phase.anns {
            let shared = if phase.shared {
                steps.first_mut()
            } else {
                None
            };
            notes.apply(c, &mut Target::Phase(&mut attrs, shared));
        }
        for (step, step_attrs) in phase.steps.iter().zip(steps.iter_mut()) {
            for c in &step.anns {
                notes.apply(c, &mut Target::Step(step_attrs));
            }
        }
        // A phase without steps is only kept (and reported) when an annotation names it.
        if !phase.steps.is_empty() || attrs.id.is_some() {
            drafts.push((phase, attrs, steps));
        }
    }

    let mut step_ids = Unique::new(drafts.iter().flat_map(|(_, _, steps)| {
        steps
            .iter()
            .filter_map(|s| s.id.as_ref().map(|(id, _)| id.clone()))
    }));
    let mut phase_ids = Unique::new(drafts.iter().filter_map(|(_, a, _)| a.id.clone()));

    let mut map = SourceMap {
        playbook: outline.title_at,
        ..SourceMap::default()
    };
    let mut phases = Vec::with_capacity(drafts.len());
    for (pi, (draft, attrs, step_attrs)) in drafts.into_iter().enumerate() {
        map.phases.push(draft.at);
        let mut steps = Vec::with_capacity(draft.steps.len());
        // A step that only opens a shell elsewhere (`ssh host`): the phase's
        // next shell commands are typed there, not on the operator's machine.
        let mut session: Option<CommandKind> = None;
        for (si, (step, a)) in draft.steps.iter().zip(step_attrs).enumerate() {
            map.steps.insert(
                StepRef {
                    phase: pi,
                    step: si,
                },
                StepSource {
                    id: a.id.as_ref().map_or(step.at, |(_, at)| *at),
                    on_fail: a.on_fail.as_ref().map(|(_, at)| *at),
                },
            );
            let detail: Vec<&str> = step
                .detail
                .iter()
                .map(|d| d.trim_end())
                .filter(|d| !d.trim().is_empty())
                .collect();
            let mut command = step.command.clone();
            if let (Some(c), Some(client)) = (command.as_mut(), top.sql_client.as_deref())
                && c.sql
            {
                c.text = format!("{client} <<'SQL'\n{}\nSQL", c.text);
                c.kind = CommandKind::Run;
            }
            if let Some(c) = command.as_mut() {
                let opens = commands::opened_by(&c.text, true).filter(|_| c.kind.is_run());
                // Another `ssh host` step starts from the operator's machine again.
                if c.kind.is_run()
                    && opens.is_none()
                    && let Some(kind) = &session
                {
                    c.kind = kind.clone();
                }
                // "Log in to the shard …, run": not the operator's machine. A
                // command that reaches the host itself (`ssh`, `knife ssh`, `gcloud`) runs.
                let reaches = ["ssh", "knife", "scp", "gcloud", "kubectl"]
                    .contains(&c.text.split_whitespace().next().unwrap_or(""));
                if c.kind.is_run() && opens.is_none() && !reaches {
                    let lead = step
                        .detail
                        .first()
                        .map_or("", |d| d.trim_start().split("\n\n").next().unwrap_or(""));
                    if let Some(place) = prose::remote_host(&format!("{}\n{lead}", step.title)) {
                        c.kind = CommandKind::Paste(format!(
                            "a shell on {place}, as the step says in words"
                        ));
                    }
                }
                if ["exit", "logout"].contains(&c.text.trim()) {
                    session = None;
                } else if opens.is_some() {
                    session = opens;
                }
            }
            if let Some(c) = command.as_ref().filter(|c| c.prompted) {
                warn.at(
                    c.at,
                    format!(
                        "command written with prompts{}: rollsafe strips them{}; write the command as it is typed",
                        if c.output.is_some() { " and output" } else { "" },
                        if c.output.is_some() {
                            " and keeps the output as what to expect"
                        } else {
                            ""
                        }
                    ),
                );
            }
            if step.title.ends_with('…') {
                warn.at(
                    step.at,
                    "step title was cut: give the step a first line of at most 80 characters",
                );
            }
            steps.push(Step {
                id: match a.id {
                    Some((id, _)) => id,
                    None => step_ids.derive(&step.title),
                },
                title: step.title.clone(),
                detail: detail.join("\n\n"),
                timebox: a.timebox,
                role: a.role,
                command: command.as_ref().map(|c| c.text.clone()),
                command_kind: command.as_ref().map(|c| c.kind.clone()).unwrap_or_default(),
                expected_output: command.and_then(|c| c.output),
                verify: a.verify,
                rollback: a.rollback,
                point_of_no_return: a.pnr,
                on_fail: a.on_fail.map(|(f, _)| f).unwrap_or_default(),
            });
        }
        phases.push(Phase {
            id: attrs.id.unwrap_or_else(|| phase_ids.derive(&draft.title)),
            title: draft.title.clone(),
            steps,
        });
    }

    let title = top
        .title
        .or(outline.title.clone())
        .unwrap_or_else(|| humanize(stem));
    let id = top.id.unwrap_or_else(|| {
        [stem, title.as_str()]
            .into_iter()
            .find(|t| t.chars().any(|c| c.is_ascii_alphanumeric()))
            .map_or_else(|| "playbook".to_string(), validate::slug)
    });
    let probe = probe_spec(&top.probe, outline.title_at, &mut report);
    let page = page_kind(&outline);
    for (at, title) in &outline.link_sections {
        warn.at(
            *at,
            format!("section \"{title}\" is a list of links: its links are the page's sources, not steps"),
        );
    }
    if page == PageKind::Reference {
        let steps: Vec<&StepDraft> = outline.phases.iter().flat_map(|p| &p.steps).collect();
        let listed = steps.iter().filter(|s| s.listed).count();
        warn.at(
            outline.title_at,
            format!(
                "page reads as a reference page, not a procedure: no step has a command, and {listed} of its {} steps come from a list",
                steps.len()
            ),
        );
    }
    let playbook = Playbook {
        id,
        title,
        description: outline.description,
        kind: top.kind.unwrap_or_default(),
        tags: top.tags.unwrap_or_default(),
        budget: top.budget,
        variables: Vec::new(),
        sources: outline.sources.clone(),
        phases,
        probe,
        page: Some(page),
    };
    validate::check(&playbook, &map, &mut report);
    if report.is_clean() {
        Ok((playbook, warn.into_sorted()))
    } else {
        Err(report.into_sorted())
    }
}

/// What the page reads as: an alert's runbook (two or more of meaning,
/// impact, diagnosis, mitigation as headings), a checklist (most steps are
/// `- [ ]` items), a reference page (no step has a command, and fewer than a
/// third come from a list), or a procedure.
fn page_kind(outline: &Outline<'_>) -> PageKind {
    const ALERT: [&str; 5] = [
        "meaning",
        "impact",
        "diagnosis",
        "mitigation",
        "remediation",
    ];
    let alert = outline
        .phases
        .iter()
        .filter(|p| {
            let t = p.title.to_lowercase();
            ALERT.iter().any(|w| t.starts_with(w))
        })
        .count();
    let steps: Vec<&StepDraft> = outline.phases.iter().flat_map(|p| &p.steps).collect();
    let checkboxes = steps.iter().filter(|s| s.checkbox).count();
    let commands = steps.iter().filter(|s| s.command.is_some()).count();
    let listed = steps.iter().filter(|s| s.listed).count();
    if alert >= 2 {
        PageKind::AlertRunbook
    } else if checkboxes >= 2 && checkboxes * 2 >= steps.len() {
        PageKind::Checklist
    } else if commands == 0 && listed * 3 < steps.len() {
        // Sections to read with a short list or two (a service overview):
        // the lists are not what the page is for.
        PageKind::Reference
    } else {
        PageKind::Procedure
    }
}

fn options() -> Options {
    Options::ENABLE_TASKLISTS
        | Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_GFM
}

/// "runbooks/pg-failover.md" -> "pg-failover".
fn file_stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// "pg-failover" -> "Pg failover".
fn humanize(stem: &str) -> String {
    let words = stem
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Untitled runbook".to_string(),
    }
}

/// Hands out slugs, adding `-2`, `-3`, … to repeats and to ids taken explicitly.
struct Unique {
    used: HashSet<String>,
}

impl Unique {
    fn new(explicit: impl Iterator<Item = String>) -> Self {
        Self {
            used: explicit.collect(),
        }
    }

    fn derive(&mut self, title: &str) -> String {
        let base = validate::slug(title);
        let mut id = base.clone();
        let mut n = 2;
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(id.clone());
        id
    }
}
