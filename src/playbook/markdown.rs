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
//!     the next line starts with a lowercase letter.
//!   - *command*: the first code block directly inside the item (fenced or
//!     indented, trimmed). Blocks tagged `text`, `txt`, `plain`, `plaintext`,
//!     `output` or `log` are never commands.
//!   - *detail*: the rest of the item as Markdown with its indentation
//!     removed: following lines, nested lists, tables, quotes, other code
//!     blocks. Nested items belong to the detail; they are not steps.
//! - **Sub-headings** (`###`, or whichever level comes first below the
//!   phase heading): if any sub-section of a phase holds a list, every
//!   sub-section becomes a phase of its own, titled "Phase › Sub-section";
//!   otherwise each sub-section is one step titled by its heading, with its
//!   first code block as the command and everything else as its detail.
//!   Deeper headings are part of the detail.
//! - **Text outside lists** (prose runbooks):
//!   - a section with no list and at most one code block is one step titled
//!     by the section's heading: the text is the detail, the code the command;
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
//!   `budget=30m`, `tags=a,b`. Without `id=`, the id is the slug of the file
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
    Expectation, OnFail, Phase, Playbook, PlaybookKind, ProbeEngine, ProbeSpec, Step, StepRef,
    Verification,
};
use super::validate::{self, SourceMap, StepSource};

/// Prose titles longer than this are shortened.
const TITLE_MAX: usize = 80;
/// Fence languages that show output, not something to run.
const NOT_COMMANDS: [&str; 6] = ["text", "txt", "plain", "plaintext", "output", "log"];
const STEP_KEYS: [&str; 7] = [
    "id",
    "timebox",
    "role",
    "on_fail",
    "pnr",
    "point_of_no_return",
    "rollback",
];
const PLAYBOOK_KEYS: [&str; 11] = [
    "id",
    "title",
    "kind",
    "budget",
    "tags",
    "probe_engine",
    "probe_url",
    "probe_statement",
    "probe_interval",
    "probe_blocked_after",
    "probe_timeout",
];

/// Parses and validates a Markdown playbook; every problem found comes back at once.
pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<Diagnostic>> {
    let mut report = Reporter::new(file, text);
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
            steps.push(Step {
                id: match a.id {
                    Some((id, _)) => id,
                    None => step_ids.derive(&step.title),
                },
                title: step.title.clone(),
                detail: detail.join("\n\n"),
                timebox: a.timebox,
                role: a.role,
                command: step.command.clone(),
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
        .or(outline.title)
        .unwrap_or_else(|| humanize(stem));
    let id = top.id.unwrap_or_else(|| {
        [stem, title.as_str()]
            .into_iter()
            .find(|t| t.chars().any(|c| c.is_ascii_alphanumeric()))
            .map_or_else(|| "playbook".to_string(), validate::slug)
    });
    let probe = probe_spec(&top.probe, outline.title_at, &mut report);
    let playbook = Playbook {
        id,
        title,
        description: outline.description,
        kind: top.kind.unwrap_or_default(),
        tags: top.tags.unwrap_or_default(),
        budget: top.budget,
        variables: Vec::new(),
        sources: Vec::new(),
        phases,
        probe,
    };
    validate::check(&playbook, &map, &mut report);
    if report.is_clean() {
        Ok(playbook)
    } else {
        Err(report.into_sorted())
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

// ---------------------------------------------------------------------------
// The document: events with offsets, grouped into blocks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heading(u8),
    List,
    Item,
    /// `command` is false for blocks tagged as output.
    Code {
        command: bool,
    },
    Html,
    Paragraph,
    Metadata,
    Rule,
    /// Quotes, tables: kept as Markdown.
    Other,
    /// Text and inline markup (directly inside tight list items).
    Inline,
}

#[derive(Debug, Clone)]
struct Block {
    kind: Kind,
    /// Its events, Start to End inclusive.
    ev: Range<usize>,
    /// Its bytes in the source.
    span: Range<usize>,
    /// An HTML block holding nothing but comments.
    quiet: bool,
}

impl Block {
    fn is_command(&self) -> bool {
        matches!(self.kind, Kind::Code { command: true })
    }

    /// Events strictly inside the block.
    fn inner(&self) -> Range<usize> {
        if self.ev.len() >= 2 {
            self.ev.start + 1..self.ev.end - 1
        } else {
            self.ev.end..self.ev.end
        }
    }
}

/// An HTML comment: `<!--` to `-->`.
#[derive(Debug, Clone)]
struct Comment {
    span: Range<usize>,
    /// Between the markers.
    body: Range<usize>,
    closed: bool,
}

struct Doc<'a> {
    text: &'a str,
    events: Vec<(Event<'a>, Range<usize>)>,
    /// Never part of rendered Markdown: the title line, front matter.
    skip: Vec<Range<usize>>,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Self {
        let len = text.len();
        let events = Parser::new_ext(text, options())
            .into_offset_iter()
            .map(|(e, r)| (e, r.start.min(len)..r.end.min(len)))
            .collect();
        Self {
            text,
            events,
            skip: Vec::new(),
        }
    }

    fn slice(&self, r: Range<usize>) -> &'a str {
        self.text.get(r).unwrap_or("")
    }

    /// The blocks (or inline elements) at the outer level of an event range.
    fn blocks(&self, ev: Range<usize>) -> Vec<Block> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = ev.start;
        for i in ev.start..ev.end.min(self.events.len()) {
            match &self.events[i].0 {
                Event::Start(_) => {
                    if depth == 0 {
                        start = i;
                    }
                    depth += 1;
                }
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        out.push(self.block(start..i + 1));
                    }
                }
                _ if depth == 0 => out.push(self.block(i..i + 1)),
                _ => {}
            }
        }
        out
    }

    fn block(&self, ev: Range<usize>) -> Block {
        let (event, span) = &self.events[ev.start];
        let kind = match event {
            Event::Start(tag) => match tag {
                Tag::Heading { level, .. } => Kind::Heading(*level as u8),
                Tag::List(_) => Kind::List,
                Tag::Item => Kind::Item,
                Tag::CodeBlock(CodeBlockKind::Indented) => Kind::Code { command: true },
                Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                    let lang = info
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    Kind::Code {
                        command: !NOT_COMMANDS.contains(&lang.as_str()),
                    }
                }
                Tag::HtmlBlock => Kind::Html,
                Tag::Paragraph => Kind::Paragraph,
                Tag::MetadataBlock(_) => Kind::Metadata,
                Tag::BlockQuote(_)
                | Tag::Table(_)
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList => Kind::Other,
                _ => Kind::Inline,
            },
            Event::Rule => Kind::Rule,
            _ => Kind::Inline,
        };
        let quiet = kind == Kind::Html && {
            let mut rest = String::new();
            let mut pos = span.start;
            for c in self.comments(ev.clone(), span.end) {
                rest.push_str(self.slice(pos..c.span.start.max(pos)));
                pos = pos.max(c.span.end);
            }
            rest.push_str(self.slice(pos..span.end.max(pos)));
            rest.trim().is_empty()
        };
        Block {
            kind,
            ev,
            span: span.clone(),
            quiet,
        }
    }

    /// HTML comments among the events, each running to its `-->` (or to `bound`).
    fn comments(&self, ev: Range<usize>, bound: usize) -> Vec<Comment> {
        let mut out = Vec::new();
        let mut consumed = 0;
        for i in ev.start..ev.end.min(self.events.len()) {
            let (event, r) = &self.events[i];
            if !matches!(event, Event::Html(_) | Event::InlineHtml(_)) {
                continue;
            }
            let mut from = r.start.max(consumed);
            while from < r.end {
                let Some(rel) = self.text.get(from..r.end).and_then(|s| s.find("<!--")) else {
                    break;
                };
                let start = from + rel;
                let body_start = start + 4;
                let limit = bound.max(r.end).min(self.text.len());
                let found = self.text.get(body_start..limit).and_then(|s| s.find("-->"));
                let (body_end, end, closed) = match found {
                    Some(k) => (body_start + k, body_start + k + 3, true),
                    None => (limit, limit, false),
                };
                out.push(Comment {
                    span: start..end,
                    body: body_start..body_end.max(body_start),
                    closed,
                });
                consumed = end;
                from = end.max(from + 1);
            }
        }
        out
    }

    fn comments_of(&self, blocks: &[Block]) -> Vec<Comment> {
        blocks
            .iter()
            .flat_map(|b| self.comments(b.ev.clone(), b.span.end))
            .collect()
    }

    /// Text, code spans and image alt text; line breaks become spaces.
    fn plain(&self, ev: Range<usize>) -> String {
        let mut out = String::new();
        for i in ev.start..ev.end.min(self.events.len()) {
            match &self.events[i].0 {
                Event::Text(t) | Event::Code(t) => out.push_str(t),
                Event::SoftBreak | Event::HardBreak => out.push(' '),
                _ => {}
            }
        }
        out
    }

    fn heading_text(&self, heading: &Block) -> String {
        clean_title(&self.plain(heading.inner()))
    }

    fn code_text(&self, code: &Block) -> String {
        self.plain(code.inner())
            .replace("\r\n", "\n")
            .trim()
            .to_string()
    }

    /// The title line of a run of inline events: its events, the byte where
    /// it ends, and whether more text follows it.
    fn title_line(&self, ev: Range<usize>) -> (Range<usize>, usize, bool) {
        let end_ev = ev.end.min(self.events.len());
        let mut stop = end_ev;
        let mut last_char = None;
        for i in ev.start..end_ev {
            match &self.events[i].0 {
                Event::Text(t) | Event::Code(t) => {
                    if let Some(c) = t.trim_end().chars().next_back() {
                        last_char = Some(c);
                    }
                }
                Event::HardBreak => {
                    stop = i;
                    break;
                }
                Event::SoftBreak => {
                    let ended = matches!(last_char, Some('.' | '!' | '?' | ':'));
                    let next_lower = (i + 1..end_ev)
                        .find_map(|j| match &self.events[j].0 {
                            Event::Text(t) => {
                                Some(t.chars().next().is_some_and(char::is_lowercase))
                            }
                            Event::Code(_) | Event::InlineHtml(_) => Some(false),
                            _ => None,
                        })
                        .unwrap_or(false);
                    if ended || !next_lower {
                        stop = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = (ev.start..stop)
            .map(|i| self.events[i].1.end)
            .max()
            .unwrap_or_else(|| self.events.get(ev.start).map_or(0, |e| e.1.start));
        (ev.start..stop, end, stop < end_ev)
    }

    /// The start of the line after `pos`, or `limit`.
    fn next_line(&self, pos: usize, limit: usize) -> usize {
        match self.text.get(pos..limit).and_then(|s| s.find('\n')) {
            Some(k) => pos + k + 1,
            None => limit,
        }
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text
            .get(..pos)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |k| k + 1)
    }

    fn line_end(&self, pos: usize) -> usize {
        self.text
            .get(pos..)
            .and_then(|s| s.find('\n'))
            .map_or(self.text.len(), |k| pos + k)
    }

    fn blank(&self, r: Range<usize>) -> bool {
        self.slice(r).trim().is_empty()
    }

    /// Source text of `span` as Markdown, without the `cuts` (nor `skip`),
    /// common indentation removed. Cuts alone on their lines take the line.
    fn render(&self, span: Range<usize>, cuts: &[Range<usize>]) -> String {
        let end = span.end.min(self.text.len());
        let mut start = span.start.min(end);
        let ls = self.line_start(start);
        let partial = !self.blank(ls..start);
        if !partial {
            start = ls;
        }
        let mut cs: Vec<Range<usize>> = cuts
            .iter()
            .chain(&self.skip)
            .map(|c| c.start.max(start)..c.end.min(end))
            .filter(|c| c.start < c.end)
            .map(|c| self.widen(c))
            .collect();
        cs.sort_by_key(|c| c.start);
        let mut out = String::new();
        let mut pos = start;
        for c in cs {
            if c.start > pos {
                out.push_str(self.slice(pos..c.start.min(end)));
            }
            pos = pos.max(c.end);
        }
        if pos < end {
            out.push_str(self.slice(pos..end));
        }
        dedent(&out, partial)
    }

    /// A cut with only whitespace around it on its lines takes those lines,
    /// and one blank line after them when one is also before them.
    fn widen(&self, c: Range<usize>) -> Range<usize> {
        let len = self.text.len();
        let mut e = c.end;
        if e > c.start && self.text.as_bytes().get(e - 1) == Some(&b'\n') {
            e -= 1;
        }
        let ls = self.line_start(c.start);
        let le = self.line_end(e);
        if !(self.blank(ls..c.start) && self.blank(e..le)) {
            return c;
        }
        let mut new_end = (le + 1).min(len);
        let before_blank = ls == 0 || self.blank(self.line_start(ls - 1)..ls - 1);
        if before_blank && new_end < len {
            let next_end = self.line_end(new_end);
            if self.blank(new_end..next_end) {
                new_end = (next_end + 1).min(len);
            }
        }
        ls..new_end
    }
}

/// Removes the indentation common to all lines (but a partial first one)
/// and the blank lines around the text; line ends become `\n`.
fn dedent(text: &str, partial_first: bool) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let indent_of = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let indent = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| (*i > 0 || !partial_first) && !l.trim().is_empty())
        .map(|(_, l)| indent_of(l))
        .min()
        .unwrap_or(0);
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if partial_first && i == 0 {
                l
            } else {
                &l[indent_of(l).min(indent)..]
            }
        })
        .skip_while(|l| l.trim().is_empty())
        .collect();
    kept.join("\n").trim_end().to_string()
}

/// Whitespace collapsed, one trailing `:` dropped.
fn clean_title(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.strip_suffix(':') {
        Some(t) => t.trim_end().to_string(),
        None => joined,
    }
}

/// A prose line as a title: its first sentence when more follows, cut at a
/// word when still too long. Returns whether it was shortened.
fn summarize(line: String) -> (String, bool) {
    let sentence_end = line.char_indices().enumerate().find_map(|(n, (i, ch))| {
        let rest = &line[i + ch.len_utf8()..];
        (n >= 10
            && matches!(ch, '.' | '!' | '?')
            && rest.starts_with(' ')
            && !rest.trim().is_empty())
        .then_some(i)
    });
    let (title, shortened) = match sentence_end {
        Some(i) => (line[..i].to_string(), true),
        None => (line, false),
    };
    if title.chars().count() <= TITLE_MAX {
        return (title, shortened);
    }
    let cut: String = title.chars().take(TITLE_MAX).collect();
    let cut = match cut.rfind(' ') {
        Some(k) if k > 10 => cut[..k].to_string(),
        _ => cut,
    };
    (format!("{}…", cut.trim_end()), true)
}

// ---------------------------------------------------------------------------
// The outline: phases and steps found in the page, annotations not yet read.

#[derive(Debug)]
struct StepDraft {
    title: String,
    /// Where the step starts: its position when the id is derived.
    at: usize,
    /// Markdown pieces, joined by blank lines.
    detail: Vec<String>,
    command: Option<String>,
    anns: Vec<Comment>,
}

impl StepDraft {
    fn new(title: &str, at: usize) -> Self {
        Self {
            title: title.to_string(),
            at,
            detail: Vec::new(),
            command: None,
            anns: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct PhaseDraft {
    title: String,
    at: usize,
    anns: Vec<Comment>,
    steps: Vec<StepDraft>,
    /// The phase is one step titled by its heading: the heading's
    /// annotation is the step's too.
    shared: bool,
}

/// Blocks up to and including a command code block (or the trailing text).
#[derive(Debug, Clone)]
struct Group {
    blocks: Vec<Block>,
    code: Option<Block>,
}

impl Group {
    fn has_content(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| !(b.quiet || b.kind == Kind::Rule || b.is_command()))
    }
}

enum Unit {
    /// Steps from a list's items (`true`) or from sub-headings (`false`).
    Steps(Vec<StepDraft>, bool),
    Prose(Vec<Group>),
}

/// Where a section's heading-titled step gets its title and position.
struct Head {
    title: String,
    at: usize,
    anns: Vec<Comment>,
}

struct Outline<'a> {
    doc: Doc<'a>,
    title: Option<String>,
    title_at: usize,
    /// Annotations for the playbook itself.
    front: Vec<Comment>,
    /// Annotations that found no step, and why.
    orphans: Vec<(Comment, &'static str)>,
    /// `<!-- rollsafe` or `<!-- verify` left as text: the comment never ends.
    unclosed: Vec<usize>,
    description: String,
    phases: Vec<PhaseDraft>,
    /// Text waiting for the next step, and the heading it came under.
    pending: Vec<Group>,
    pending_head: Option<(String, usize)>,
    /// Without phase headings, text before the first step is the description.
    intro_is_description: bool,
}

impl<'a> Outline<'a> {
    /// `fallback_title` titles a page's only step when the page has no `#` title.
    fn read(text: &'a str, fallback_title: &str) -> Self {
        let mut doc = Doc::new(text);
        let mut body = doc.blocks(0..doc.events.len());
        if body.first().is_some_and(|b| b.kind == Kind::Metadata) {
            let front_matter = body.remove(0);
            doc.skip.push(front_matter.span);
        }
        let h1 = body
            .iter()
            .position(|b| b.kind == Kind::Heading(1))
            .map(|i| body.remove(i));
        if let Some(h) = &h1 {
            doc.skip.push(h.span.clone());
        }
        let mut outline = Outline {
            title: h1
                .as_ref()
                .map(|h| doc.heading_text(h))
                .filter(|t| !t.is_empty()),
            title_at: h1.as_ref().map_or(0, |h| h.span.start),
            front: h1
                .as_ref()
                .map(|h| doc.comments_of(std::slice::from_ref(h)))
                .unwrap_or_default(),
            unclosed: unclosed_notes(&doc),
            doc,
            orphans: Vec::new(),
            description: String::new(),
            phases: Vec::new(),
            pending: Vec::new(),
            pending_head: None,
            intro_is_description: false,
        };
        let title = outline
            .title
            .clone()
            .unwrap_or_else(|| fallback_title.to_string());

        let starts: Vec<usize> = body
            .iter()
            .enumerate()
            .filter(|(_, b)| matches!(b.kind, Kind::Heading(1 | 2)))
            .map(|(i, _)| i)
            .collect();
        if starts.is_empty() {
            outline.intro_is_description = true;
            let head = Head {
                title: title.clone(),
                at: outline.title_at,
                anns: Vec::new(),
            };
            outline.section(head, "Steps".to_string(), &body, true);
            outline.description = outline.description.trim().to_string();
        } else {
            let preamble = &body[..starts[0]];
            for b in preamble {
                let comments = outline.doc.comments_of(std::slice::from_ref(b));
                if b.kind == Kind::List {
                    outline.orphan(comments, IN_DESCRIPTION);
                } else {
                    outline.front.extend(comments);
                }
            }
            outline.description = outline.render_blocks(preamble, &[]);
            for (n, &i) in starts.iter().enumerate() {
                let heading = &body[i];
                let end = starts.get(n + 1).copied().unwrap_or(body.len());
                let head = Head {
                    title: outline.doc.heading_text(heading),
                    at: heading.span.start,
                    anns: outline.doc.comments_of(std::slice::from_ref(heading)),
                };
                let phase_title = if head.title.is_empty() {
                    "Untitled phase".to_string()
                } else {
                    head.title.clone()
                };
                outline.section(head, phase_title, &body[i + 1..end], false);
            }
        }

        // A page whose only text is its description: that text is the one step.
        if outline.phases.iter().all(|p| p.steps.is_empty()) && !outline.description.is_empty() {
            let mut step = StepDraft::new(&title, outline.title_at);
            step.detail.push(std::mem::take(&mut outline.description));
            outline.phases.push(PhaseDraft {
                title: "Steps".to_string(),
                at: outline.title_at,
                anns: Vec::new(),
                steps: vec![step],
                shared: false,
            });
        }
        outline
    }

    /// Markdown of consecutive blocks, without comments, rules and `extra`.
    fn render_blocks(&self, blocks: &[Block], extra: &[Range<usize>]) -> String {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            return String::new();
        };
        let mut cuts: Vec<Range<usize>> = self
            .doc
            .comments_of(blocks)
            .into_iter()
            .map(|c| c.span)
            .collect();
        cuts.extend(
            blocks
                .iter()
                .filter(|b| b.quiet || b.kind == Kind::Rule)
                .map(|b| b.span.clone()),
        );
        cuts.extend(extra.iter().cloned());
        self.doc.render(first.span.start..last.span.end, &cuts)
    }

    /// One phase heading and its blocks (or the whole page without phase headings).
    fn section(&mut self, head: Head, phase_title: String, blocks: &[Block], top: bool) {
        let first_phase = self.phases.len();
        let (slot, blocks) = self.leading_quiet(blocks);
        let mut anns = head.anns.clone();
        if top {
            self.front.extend(slot);
        } else {
            anns.extend(slot);
        }

        let sub_level = blocks
            .iter()
            .filter_map(|b| match b.kind {
                Kind::Heading(level) => Some(level),
                _ => None,
            })
            .min();
        let mut head_blocks = blocks;
        let mut subs: Vec<(&Block, &[Block])> = Vec::new();
        if let Some(level) = sub_level {
            let at: Vec<usize> = blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.kind == Kind::Heading(level))
                .map(|(i, _)| i)
                .collect();
            head_blocks = &blocks[..at[0]];
            for (n, &i) in at.iter().enumerate() {
                let end = at.get(n + 1).copied().unwrap_or(blocks.len());
                subs.push((&blocks[i], &blocks[i + 1..end]));
            }
        }

        let split = subs.iter().any(|(_, bs)| self.has_list(bs));
        if !split {
            let mut units = self.units(head_blocks);
            for (heading, bs) in &subs {
                let step = self.heading_step(heading, bs);
                units.push(Unit::Steps(vec![step], false));
            }
            let (steps, shared) = self.chunk(units, &head.title, head.at);
            self.phases.push(PhaseDraft {
                title: phase_title,
                at: head.at,
                anns,
                steps,
                shared,
            });
        } else {
            let units = self.units(head_blocks);
            let pure_prose = units.iter().all(|u| match u {
                Unit::Steps(steps, _) => steps.is_empty(),
                Unit::Prose(groups) => groups.iter().all(|g| g.code.is_none()),
            });
            let (steps, shared) = if pure_prose {
                // An introduction: it goes to the first step below.
                for unit in units {
                    if let Unit::Prose(groups) = unit {
                        for g in groups {
                            self.pend(g, &head.title, head.at);
                        }
                    }
                }
                (Vec::new(), false)
            } else {
                self.chunk(units, &head.title, head.at)
            };
            self.phases.push(PhaseDraft {
                title: phase_title.clone(),
                at: head.at,
                anns,
                steps,
                shared,
            });
            for (heading, bs) in subs {
                let sub_title = self.doc.heading_text(heading);
                let sub_title = if sub_title.is_empty() {
                    "Untitled".to_string()
                } else {
                    sub_title
                };
                let (slot, bs) = self.leading_quiet(bs);
                let mut sub_anns = self.doc.comments_of(std::slice::from_ref(heading));
                sub_anns.extend(slot);
                let units = self.units(bs);
                let (steps, shared) = self.chunk(units, &sub_title, heading.span.start);
                self.phases.push(PhaseDraft {
                    title: if top {
                        sub_title
                    } else {
                        format!("{phase_title} › {sub_title}")
                    },
                    at: heading.span.start,
                    anns: sub_anns,
                    steps,
                    shared,
                });
            }
        }

        // Text that no step came after.
        if !self.pending.is_empty() {
            let groups = std::mem::take(&mut self.pending);
            let (title, at) = self
                .pending_head
                .take()
                .unwrap_or((head.title.clone(), head.at));
            if groups.iter().any(Group::has_content) {
                let blocks: Vec<Block> = groups.into_iter().flat_map(|g| g.blocks).collect();
                let mut step = StepDraft::new(&title, at);
                step.detail.push(self.render_blocks(&blocks, &[]));
                step.anns = self.doc.comments_of(&blocks);
                let phase = self.phases.len().max(first_phase + 1) - 1;
                if let Some(p) = self.phases.get_mut(phase) {
                    p.steps.push(step);
                }
            } else {
                for g in groups {
                    let comments = self.doc.comments_of(&g.blocks);
                    self.orphan(comments, NO_STEP);
                }
            }
        }
    }

    /// Comment-only blocks at the start: the heading's annotations.
    fn leading_quiet<'b>(&self, blocks: &'b [Block]) -> (Vec<Comment>, &'b [Block]) {
        let n = blocks.iter().take_while(|b| b.quiet).count();
        (self.doc.comments_of(&blocks[..n]), &blocks[n..])
    }

    fn has_list(&self, blocks: &[Block]) -> bool {
        blocks.iter().any(|b| b.kind == Kind::List)
    }

    /// Lists become steps; the blocks between them are grouped at code blocks.
    fn units(&mut self, blocks: &[Block]) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut run: Vec<Block> = Vec::new();
        for b in blocks {
            if b.kind == Kind::List {
                if !run.is_empty() {
                    units.push(Unit::Prose(groups(std::mem::take(&mut run))));
                }
                let mut steps = Vec::new();
                for item in self.doc.blocks(b.inner()) {
                    match self.item_step(&item) {
                        Ok(step) => steps.push(step),
                        Err(comments) => self.orphan(comments, EMPTY_ITEM),
                    }
                }
                units.push(Unit::Steps(steps, true));
            } else {
                run.push(b.clone());
            }
        }
        if !run.is_empty() {
            units.push(Unit::Prose(groups(run)));
        }
        units
    }

    /// Steps from the units of one phase; `true` when the phase is a single
    /// step titled by its heading.
    fn chunk(&mut self, units: Vec<Unit>, title: &str, at: usize) -> (Vec<StepDraft>, bool) {
        let structured = units
            .iter()
            .any(|u| matches!(u, Unit::Steps(steps, _) if !steps.is_empty()));
        let code_groups: usize = units
            .iter()
            .map(|u| match u {
                Unit::Prose(groups) => groups.iter().filter(|g| g.code.is_some()).count(),
                Unit::Steps(..) => 0,
            })
            .sum();

        if !structured && code_groups <= 1 {
            let blocks: Vec<Block> = units
                .into_iter()
                .flat_map(|u| match u {
                    Unit::Prose(groups) => groups.into_iter().flat_map(|g| g.blocks).collect(),
                    Unit::Steps(..) => Vec::new(),
                })
                .collect();
            let code = blocks.iter().find(|b| b.is_command()).cloned();
            let has_content =
                code.is_some() || blocks.iter().any(|b| !(b.quiet || b.kind == Kind::Rule));
            if !has_content {
                let comments = self.doc.comments_of(&blocks);
                self.orphan(comments, NO_STEP);
                return (Vec::new(), false);
            }
            let mut step = StepDraft::new(title, at);
            self.take_pending(&mut step);
            let extra: Vec<Range<usize>> = code.iter().map(|c| c.span.clone()).collect();
            step.detail.push(self.render_blocks(&blocks, &extra));
            step.command = code.map(|c| self.doc.code_text(&c));
            step.anns.extend(self.doc.comments_of(&blocks));
            return (vec![step], true);
        }

        let mut steps: Vec<StepDraft> = Vec::new();
        let mut after_list = false;
        for unit in units {
            match unit {
                Unit::Steps(list, is_list) => {
                    after_list = is_list && !list.is_empty();
                    for mut step in list {
                        self.take_pending(&mut step);
                        steps.push(step);
                    }
                }
                Unit::Prose(groups) => {
                    for g in groups {
                        let comments = self.doc.comments_of(&g.blocks);
                        match (&g.code, g.has_content()) {
                            (Some(_), true) => {
                                let mut g = g;
                                // After a step, its notes run up to the paragraph
                                // that introduces this code block.
                                let lead = g.blocks.iter().rposition(|b| {
                                    matches!(b.kind, Kind::Paragraph | Kind::Heading(_))
                                });
                                if let (Some(last), Some(k)) =
                                    (steps.last_mut(), lead.filter(|&k| k > 0))
                                {
                                    let notes = Group {
                                        blocks: g.blocks.drain(..k).collect(),
                                        code: None,
                                    };
                                    if notes.has_content() {
                                        last.detail.push(self.render_blocks(&notes.blocks, &[]));
                                    }
                                    last.anns.extend(self.doc.comments_of(&notes.blocks));
                                }
                                let mut step = self.prose_step(&g, title);
                                self.take_pending(&mut step);
                                steps.push(step);
                            }
                            (Some(code), false) => {
                                let command = self.doc.code_text(code);
                                let rendered = self.render_blocks(&g.blocks, &[]);
                                match steps.last_mut() {
                                    Some(last) if after_list && last.command.is_none() => {
                                        last.command = Some(command);
                                        last.anns.extend(comments);
                                    }
                                    Some(last) => {
                                        last.detail.push(rendered);
                                        last.anns.extend(comments);
                                    }
                                    None => {
                                        let mut step = StepDraft::new(title, code.span.start);
                                        step.command = Some(command);
                                        step.anns = comments;
                                        self.take_pending(&mut step);
                                        steps.push(step);
                                    }
                                }
                            }
                            (None, content) => {
                                let rendered = self.render_blocks(&g.blocks, &[]);
                                match steps.last_mut() {
                                    Some(last) => {
                                        if content {
                                            last.detail.push(rendered);
                                        }
                                        last.anns.extend(comments);
                                    }
                                    None => self.pend(g, title, at),
                                }
                            }
                        }
                        after_list = false;
                    }
                }
            }
        }
        (steps, false)
    }

    fn orphan(&mut self, comments: Vec<Comment>, why: &'static str) {
        self.orphans.extend(comments.into_iter().map(|c| (c, why)));
    }

    fn pend(&mut self, group: Group, title: &str, at: usize) {
        if self.pending_head.is_none() {
            self.pending_head = Some((title.to_string(), at));
        }
        self.pending.push(group);
    }

    /// Text waiting before the first step: the top of its detail (or the
    /// description, on a page without phase headings).
    fn take_pending(&mut self, step: &mut StepDraft) {
        if self.pending.is_empty() {
            return;
        }
        let groups = std::mem::take(&mut self.pending);
        self.pending_head = None;
        let blocks: Vec<Block> = groups.into_iter().flat_map(|g| g.blocks).collect();
        let text = self.render_blocks(&blocks, &[]);
        let comments = self.doc.comments_of(&blocks);
        if self.intro_is_description {
            if !self.description.is_empty() && !text.is_empty() {
                self.description.push_str("\n\n");
            }
            self.description.push_str(&text);
            self.front.extend(comments);
        } else {
            step.detail.insert(0, text);
            step.anns.extend(comments);
        }
    }

    /// A step from text ending in a code block, titled by the text's first line.
    fn prose_step(&self, g: &Group, fallback: &str) -> StepDraft {
        let lead = g
            .blocks
            .iter()
            .find(|b| matches!(b.kind, Kind::Paragraph | Kind::Heading(_)));
        let mut cut = None;
        let mut title = String::new();
        match lead {
            Some(b) if b.kind == Kind::Paragraph => {
                let (ev, _, more) = self.doc.title_line(b.inner());
                let (line, shortened) = summarize(clean_title(&self.doc.plain(ev)));
                if !more && !shortened {
                    cut = Some(b.span.clone());
                }
                title = line;
            }
            Some(b) => {
                title = self.doc.heading_text(b);
                cut = Some(b.span.clone());
            }
            None => {}
        }
        if title.is_empty() {
            title = fallback.to_string();
            cut = None;
        }
        let at = g
            .blocks
            .iter()
            .find(|b| !(b.quiet || b.kind == Kind::Rule))
            .map_or(0, |b| b.span.start);
        let mut step = StepDraft::new(&title, at);
        let mut extra: Vec<Range<usize>> = cut.into_iter().collect();
        if let Some(code) = &g.code {
            extra.push(code.span.clone());
            step.command = Some(self.doc.code_text(code));
        }
        step.detail.push(self.render_blocks(&g.blocks, &extra));
        step.anns = self.doc.comments_of(&g.blocks);
        step
    }

    /// A list item as a step, or its comments when the item is empty.
    fn item_step(&self, item: &Block) -> Result<StepDraft, Vec<Comment>> {
        let doc = &self.doc;
        let children = doc.blocks(item.inner());
        let comments = doc.comments(item.ev.clone(), item.span.end);
        let first = children.iter().position(|b| !b.quiet);
        let run = first.and_then(|i| {
            let b = &children[i];
            match b.kind {
                Kind::Paragraph => Some(b.inner()),
                Kind::Inline => {
                    let n = children[i..]
                        .iter()
                        .take_while(|c| c.kind == Kind::Inline)
                        .count();
                    Some(b.ev.start..children[i + n - 1].ev.end)
                }
                _ => None,
            }
        });
        let (mut title, detail_from) = match run {
            Some(run) => {
                let (ev, end, _) = doc.title_line(run);
                (
                    clean_title(&doc.plain(ev)),
                    doc.next_line(end.max(item.span.start), item.span.end),
                )
            }
            None => (
                String::new(),
                first.map_or(item.span.end, |i| children[i].span.start),
            ),
        };
        let code = children
            .iter()
            .find(|b| b.is_command() && !doc.code_text(b).is_empty());
        let command = code.map(|b| doc.code_text(b));
        let mut cuts: Vec<Range<usize>> = comments.iter().map(|c| c.span.clone()).collect();
        cuts.extend(code.map(|b| b.span.clone()));
        let detail = doc.render(detail_from..item.span.end, &cuts);
        if title.is_empty() {
            let source = command.as_deref().unwrap_or(&detail);
            let line = source
                .lines()
                .map(|l| l.trim_matches(|c: char| "#>|*-_`[] \t".contains(c)))
                .find(|l| !l.is_empty())
                .unwrap_or("");
            title = summarize(clean_title(line)).0;
        }
        if title.is_empty() && detail.is_empty() && command.is_none() {
            return Err(comments);
        }
        if title.is_empty() {
            title = "Step".to_string();
        }
        Ok(StepDraft {
            title,
            at: item.span.start,
            detail: vec![detail],
            command,
            anns: comments,
        })
    }

    /// A sub-heading's section as one step.
    fn heading_step(&self, heading: &Block, blocks: &[Block]) -> StepDraft {
        let title = self.doc.heading_text(heading);
        let title = if title.is_empty() { "Step" } else { &title };
        let mut step = StepDraft::new(title, heading.span.start);
        let code = blocks
            .iter()
            .find(|b| b.is_command() && !self.doc.code_text(b).is_empty());
        let extra: Vec<Range<usize>> = code.iter().map(|c| c.span.clone()).collect();
        step.command = code.map(|c| self.doc.code_text(c));
        step.detail.push(self.render_blocks(blocks, &extra));
        step.anns = self.doc.comments_of(std::slice::from_ref(heading));
        step.anns.extend(self.doc.comments_of(blocks));
        step
    }
}

const NO_STEP: &str =
    "annotation is not attached to any step: put it inside a list item, or right under a heading";
const EMPTY_ITEM: &str = "annotation on an empty list item: give the item a title";
const IN_DESCRIPTION: &str =
    "annotation inside the description: lists above the first `##` heading are not steps";

/// Positions of `<!-- rollsafe` / `<!-- verify` that Markdown read as text
/// (outside code), because the comment is never closed.
fn unclosed_notes(doc: &Doc<'_>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_code = 0usize;
    for (event, r) in &doc.events {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Text(_) if in_code == 0 => {
                // Markdown splits `<` from what follows: read a little further.
                let mut end = (r.end + 64).min(doc.line_end(r.end));
                while !doc.text.is_char_boundary(end) {
                    end -= 1;
                }
                let source = doc.slice(r.start..end);
                for (k, _) in source.match_indices("<!--") {
                    if r.start + k >= r.end {
                        break;
                    }
                    let after = source[k + 4..].trim_start();
                    let starts = |w: &str| {
                        after
                            .get(..w.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(w))
                    };
                    if starts("rollsafe") || starts("verify") {
                        out.push(r.start + k);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Splits a run of blocks after each command code block.
fn groups(run: Vec<Block>) -> Vec<Group> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for b in run {
        let is_code = b.is_command();
        current.push(b.clone());
        if is_code {
            out.push(Group {
                blocks: std::mem::take(&mut current),
                code: Some(b),
            });
        }
    }
    if !current.is_empty() {
        out.push(Group {
            blocks: current,
            code: None,
        });
    }
    out
}

/// The probe from the playbook annotation's `probe_*` keys, if any is set:
/// engine, url and statement are then required, the durations optional.
fn probe_spec(
    keys: &[(&'static str, String, usize)],
    playbook_at: usize,
    report: &mut Reporter<'_>,
) -> Option<ProbeSpec> {
    let first = keys.first()?;
    let get = |name: &str| keys.iter().find(|(k, _, _)| *k == name);
    let mut ok = true;
    let mut required = |name: &str| match get(name) {
        Some((_, v, _)) => Some(v.clone()),
        None => {
            ok = false;
            report.at(
                first.2,
                format!(
                    "a probe needs probe_engine, probe_url and probe_statement: {name} is missing"
                ),
            );
            None
        }
    };
    let (engine_text, url, statement) = (
        required("probe_engine"),
        required("probe_url"),
        required("probe_statement"),
    );
    let engine = engine_text.as_deref().and_then(|text| {
        let engine = ProbeEngine::parse(text);
        if engine.is_none() {
            let at = get("probe_engine").map_or(playbook_at, |(_, _, at)| *at);
            report.at(
                at,
                format!(
                    "unknown probe engine \"{text}\": use postgres or mysql (mysql covers MariaDB)"
                ),
            );
        }
        engine
    });
    let mut millis = |name: &str, default: Duration| match get(name) {
        None => default,
        Some((_, v, at)) => parse_millis(v).unwrap_or_else(|msg| {
            ok = false;
            report.at(*at, format!("{name}: {msg}"));
            default
        }),
    };
    let interval = millis("probe_interval", ProbeSpec::DEFAULT_INTERVAL);
    let blocked_after = millis("probe_blocked_after", ProbeSpec::DEFAULT_BLOCKED_AFTER);
    let timeout = millis("probe_timeout", ProbeSpec::DEFAULT_TIMEOUT);
    if ok && timeout <= blocked_after {
        let at = get("probe_timeout").map_or(first.2, |(_, _, at)| *at);
        report.at(
            at,
            "probe_timeout must be longer than probe_blocked_after, or no sample could ever count as blocked",
        );
        return None;
    }
    if !ok {
        return None;
    }
    Some(ProbeSpec {
        engine: engine?,
        url: url?,
        statement: statement?,
        interval,
        blocked_after,
        timeout,
    })
}

// ---------------------------------------------------------------------------
// Annotations.

#[derive(Debug, Default)]
struct PlaybookAttrs {
    id: Option<String>,
    title: Option<String>,
    kind: Option<PlaybookKind>,
    budget: Option<Duration>,
    tags: Option<Vec<String>>,
    /// `probe_*` keys as written: (key, value, where the value is).
    probe: Vec<(&'static str, String, usize)>,
    seen: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct PhaseAttrs {
    id: Option<String>,
    seen: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct StepAttrs {
    /// With the position of the value.
    id: Option<(String, usize)>,
    timebox: Option<Duration>,
    role: Option<String>,
    on_fail: Option<(OnFail, usize)>,
    pnr: bool,
    rollback: Option<String>,
    verify: Option<Verification>,
    seen: Vec<&'static str>,
}

enum Target<'x> {
    Playbook(&'x mut PlaybookAttrs),
    /// A heading; with the step when the section is that one step.
    Phase(&'x mut PhaseAttrs, Option<&'x mut StepAttrs>),
    Step(&'x mut StepAttrs),
}

enum Note {
    /// `rollsafe:` and where its `key=value` list is.
    Keys(Range<usize>),
    /// `verify:` and where its `command => expectation` is.
    Verify(Range<usize>),
}

/// What a comment says to rollsafe, if anything.
fn note_of(text: &str, c: &Comment) -> Option<Note> {
    let body = text.get(c.body.clone())?;
    let rest = body.trim_start();
    let start = c.body.start + (body.len() - rest.len());
    for (word, verify) in [("rollsafe", false), ("verify", true)] {
        let Some(prefix) = rest.get(..word.len()) else {
            continue;
        };
        if !prefix.eq_ignore_ascii_case(word) {
            continue;
        }
        let after = &rest[word.len()..];
        let args = if after.starts_with(':') {
            start + word.len() + 1
        } else if after.is_empty() || after.starts_with(char::is_whitespace) {
            start + word.len()
        } else {
            continue;
        };
        let range = args..c.body.end.max(args);
        return Some(if verify {
            Note::Verify(range)
        } else {
            Note::Keys(range)
        });
    }
    None
}

#[derive(Debug)]
struct Pair {
    key: String,
    key_at: usize,
    value: Option<String>,
    value_at: usize,
}

struct Annotator<'r, 'a> {
    text: &'a str,
    report: &'r mut Reporter<'a>,
}

impl Annotator<'_, '_> {
    fn apply(&mut self, c: &Comment, target: &mut Target<'_>) {
        let Some(note) = note_of(self.text, c) else {
            return;
        };
        if !c.closed {
            self.report.at(
                c.span.start,
                "annotation comment is not closed: end it with -->",
            );
            return;
        }
        match note {
            Note::Verify(args) => match target {
                Target::Step(step) | Target::Phase(_, Some(step)) => self.verify(c, args, step),
                _ => self.report.at(
                    c.span.start,
                    "a verify annotation belongs to a step: put it inside a list item or in the step's text",
                ),
            },
            Note::Keys(args) => {
                for pair in self.pairs(args) {
                    self.key(pair, target);
                }
            }
        }
    }

    /// `key=value key="quoted value" flag`, with the offset of each part.
    fn pairs(&mut self, args: Range<usize>) -> Vec<Pair> {
        let s = self.text.get(args.clone()).unwrap_or("");
        let at = |i: usize| args.start + i;
        let ch = |i: usize| s[i..].chars().next();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(c) = ch(i) {
            if c.is_whitespace() {
                i += c.len_utf8();
                continue;
            }
            let key_start = i;
            while let Some(c) = ch(i) {
                if c.is_whitespace() || c == '=' {
                    break;
                }
                i += c.len_utf8();
            }
            let key = &s[key_start..i];
            // Allow `key = value`.
            let mut j = i;
            while let Some(c) = ch(j).filter(|c| c.is_whitespace()) {
                j += c.len_utf8();
            }
            let mut value = None;
            let mut value_at = at(i);
            if ch(j) == Some('=') {
                i = j + 1;
                while let Some(c) = ch(i).filter(|c| c.is_whitespace()) {
                    i += c.len_utf8();
                }
                value_at = at(i);
                if ch(i) == Some('"') {
                    i += 1;
                    let mut v = String::new();
                    let mut closed = false;
                    while let Some(c) = ch(i) {
                        i += c.len_utf8();
                        if c == '\\' && matches!(ch(i), Some('"' | '\\')) {
                            v.push(ch(i).unwrap_or('"'));
                            i += 1;
                        } else if c == '"' {
                            closed = true;
                            break;
                        } else {
                            v.push(c);
                        }
                    }
                    if !closed {
                        self.report
                            .at(value_at, "quoted value is not closed: end it with \"");
                    }
                    value = Some(v);
                } else {
                    let v_start = i;
                    while let Some(c) = ch(i).filter(|c| !c.is_whitespace()) {
                        i += c.len_utf8();
                    }
                    value = Some(s[v_start..i].to_string());
                }
            }
            if key.is_empty() {
                self.report
                    .at(at(key_start), "expected key=value before '='");
                continue;
            }
            out.push(Pair {
                key: key.to_string(),
                key_at: at(key_start),
                value,
                value_at,
            });
        }
        out
    }

    fn key(&mut self, pair: Pair, target: &mut Target<'_>) {
        let key = pair.key.as_str();
        match target {
            Target::Playbook(p) => {
                if PLAYBOOK_KEYS.contains(&key) {
                    self.playbook_key(pair, p);
                } else {
                    let hint = if STEP_KEYS.contains(&key) {
                        format!(
                            "`{key}` is a step key: put it in a list item; the playbook annotation takes id, title, kind, budget, tags, probe_*"
                        )
                    } else {
                        format!(
                            "unknown annotation key `{key}`: the playbook annotation takes id, title, kind, budget, tags, probe_*"
                        )
                    };
                    self.report.at(pair.key_at, hint);
                }
            }
            Target::Phase(phase, step) => {
                if key == "id" {
                    if !self.first_time(&mut phase.seen, "id", &pair) {
                        return;
                    }
                    if let Some(v) = self.value(&pair) {
                        if let Some(step) = step {
                            step.seen.push("id");
                            step.id = Some((v.clone(), pair.value_at));
                        }
                        phase.id = Some(v);
                    }
                } else if let Some(step) = step.as_deref_mut().filter(|_| STEP_KEYS.contains(&key))
                {
                    self.step_key(pair, step);
                } else if STEP_KEYS.contains(&key) {
                    self.report.at(
                        pair.key_at,
                        format!(
                            "`{key}` belongs to a step, not to a heading with several steps; a heading annotation takes only id"
                        ),
                    );
                } else {
                    self.report.at(
                        pair.key_at,
                        format!(
                            "unknown annotation key `{key}`: a heading annotation takes only id"
                        ),
                    );
                }
            }
            Target::Step(step) => {
                if STEP_KEYS.contains(&key) {
                    self.step_key(pair, step);
                } else {
                    let hint = if PLAYBOOK_KEYS.contains(&key) {
                        format!("`{key}` belongs to the playbook annotation at the top of the file")
                    } else {
                        format!(
                            "unknown annotation key `{key}`: a step takes id, timebox, role, on_fail, pnr, rollback"
                        )
                    };
                    self.report.at(pair.key_at, hint);
                }
            }
        }
    }

    /// Records `name` as set; reports it when it already was.
    fn first_time(
        &mut self,
        seen: &mut Vec<&'static str>,
        name: &'static str,
        pair: &Pair,
    ) -> bool {
        if seen.contains(&name) {
            self.report
                .at(pair.key_at, format!("`{}` is set twice", pair.key));
            false
        } else {
            seen.push(name);
            true
        }
    }

    fn value(&mut self, pair: &Pair) -> Option<String> {
        match pair.value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                self.report.at(
                    pair.key_at,
                    format!("`{0}` needs a value: write {0}=…", pair.key),
                );
                None
            }
        }
    }

    fn playbook_key(&mut self, pair: Pair, p: &mut PlaybookAttrs) {
        let Some(name) = PLAYBOOK_KEYS.iter().copied().find(|k| *k == pair.key) else {
            return;
        };
        if !self.first_time(&mut p.seen, name, &pair) {
            return;
        }
        let Some(v) = self.value(&pair) else {
            return;
        };
        match name {
            "id" => p.id = Some(v),
            "title" => p.title = Some(v),
            "kind" => match PlaybookKind::parse(&v) {
                Some(kind) => p.kind = Some(kind),
                None => self.report.at(
                    pair.value_at,
                    format!("unknown kind \"{v}\": use migration, rollback, incident or gameday"),
                ),
            },
            "budget" => match parse_duration(&v) {
                Ok(d) => p.budget = Some(d),
                Err(msg) => self.report.at(pair.value_at, msg),
            },
            probe if probe.starts_with("probe_") => p.probe.push((probe, v, pair.value_at)),
            _ => {
                p.tags = Some(
                    v.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
        }
    }

    fn step_key(&mut self, pair: Pair, s: &mut StepAttrs) {
        let name = match pair.key.as_str() {
            "point_of_no_return" | "pnr" => "pnr",
            other => match STEP_KEYS.iter().copied().find(|k| *k == other) {
                Some(k) => k,
                None => return,
            },
        };
        if !self.first_time(&mut s.seen, name, &pair) {
            return;
        }
        if name == "pnr" {
            match pair.value.as_deref().map(str::trim) {
                None | Some("true" | "yes") => s.pnr = true,
                Some("false" | "no") => s.pnr = false,
                Some(_) => self.report.at(
                    pair.value_at,
                    format!("`{}` is a flag: write {0} alone, or {0}=false", pair.key),
                ),
            }
            return;
        }
        let Some(v) = self.value(&pair) else {
            return;
        };
        match name {
            "id" => s.id = Some((v, pair.value_at)),
            "timebox" => match parse_duration(&v) {
                Ok(d) => s.timebox = Some(d),
                Err(msg) => self.report.at(pair.value_at, msg),
            },
            "role" => s.role = Some(v),
            "on_fail" => match OnFail::parse(&v) {
                Some(f) => s.on_fail = Some((f, pair.value_at)),
                None => self.report.at(
                    pair.value_at,
                    format!("bad on_fail \"{v}\": use stop, continue, rollback or goto:<step-id>"),
                ),
            },
            _ => s.rollback = Some(v),
        }
    }

    /// `<command> => <regex>`, `<command> => exit N`, or `<command>` (exit 0).
    fn verify(&mut self, c: &Comment, args: Range<usize>, s: &mut StepAttrs) {
        let body = self.text.get(args.clone()).unwrap_or("");
        let (command, expectation) = match body.rfind("=>") {
            Some(k) => (&body[..k], Some((&body[k + 2..], args.start + k + 2))),
            None => (body, None),
        };
        let command = command.trim();
        if command.is_empty() {
            self.report.at(
                c.span.start,
                "verify needs a command: <!-- verify: <command> => <regex> -->",
            );
            return;
        }
        let expect = match expectation {
            None => Expectation {
                exit_code: Some(0),
                ..Expectation::default()
            },
            Some((raw, at)) => {
                let at = at + (raw.len() - raw.trim_start().len());
                let wanted = raw.trim();
                if wanted.is_empty() {
                    self.report.at(
                        at,
                        "nothing after =>: give a regex the output must match, or exit N",
                    );
                    return;
                }
                match wanted
                    .strip_prefix("exit")
                    .filter(|r| r.starts_with(char::is_whitespace))
                {
                    Some(code) => match code.trim().parse::<i32>() {
                        Ok(n) => Expectation {
                            exit_code: Some(n),
                            ..Expectation::default()
                        },
                        Err(_) => {
                            self.report.at(
                                at,
                                format!("bad exit code \"{}\": write e.g. exit 0", code.trim()),
                            );
                            return;
                        }
                    },
                    None => {
                        if let Err(e) = regex::Regex::new(wanted) {
                            self.report.at(at, format!("bad verify regex: {e}"));
                            return;
                        }
                        Expectation {
                            regex: Some(wanted.to_string()),
                            ..Expectation::default()
                        }
                    }
                }
            }
        };
        if s.verify.is_some() {
            self.report
                .at(c.span.start, "this step already has a verify annotation");
            return;
        }
        s.verify = Some(Verification {
            command: command.to_string(),
            expect,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANNOTATED: &str = r#"<!-- rollsafe: id=pg-upgrade kind=migration budget=45m tags=postgres,upgrade -->
# Upgrade Postgres 15 → 16

Upgrade the primary with **pg_upgrade**, keeping the old cluster for rollback.

## Prepare <!-- rollsafe: id=prep -->

- [ ] Snapshot the volume <!-- rollsafe: id=snapshot timebox=10m role=dba -->
  ```sh
  aws ec2 create-snapshot --volume-id ${VOLUME}
  ```
  <!-- verify: aws ec2 describe-snapshots --owner self => completed -->
- [ ] Announce the window in [#ops](https://chat.example.com/ops)
  <!-- rollsafe: timebox=2m role="incident commander" -->

## Cut over

1. Stop writes <!-- rollsafe: id=stop-writes on_fail=goto:restore -->

   ```sh
   kubectl scale deploy/api --replicas=0
   ```

   Wait until connections drain.
2. Run pg_upgrade <!-- rollsafe: pnr rollback="restore the snapshot" timebox=20m -->
   ```
   pg_upgrade --link -b /usr/lib/postgresql/15/bin -B /usr/lib/postgresql/16/bin
   ```
   <!-- verify: psql -tAc 'show server_version' => ^16\. -->

## Roll back

- Restore from the snapshot <!-- rollsafe: id=restore on_fail=stop -->
"#;

    const WIKI: &str = r#"# Redis failover

Use this page when the primary Redis node is unhealthy. Owner: [SRE team](https://wiki.example.com/sre).

## Before you start

- [ ] Open the [Redis dashboard](https://grafana.example.com/redis)
- [x] Tell `#incidents` you are starting

| Host    | Role    |
|---------|---------|
| redis-1 | primary |
| redis-2 | replica |

## Failover

1. Check replication on the replica:
   ```bash
   redis-cli -h redis-2 info replication
   ```
   `master_link_status` must be `up`.
2. Promote the *replica*
   ```bash
   redis-cli -h redis-2 replicaof no one
   ```
3. Point the app at the new primary:

```bash
kubectl set env deploy/app REDIS_HOST=redis-2
```

## Verify

Check that writes succeed:

```bash
redis-cli -h redis-2 set probe 1
```

Expected output: `OK`.

## Contacts

Page the on-call DBA if anything looks wrong.
"#;

    const BROKEN: &str = "# Broken drill

## Steps

- [ ] First <!-- rollsafe: timebox=5x -->
- [ ] Second <!-- rollsafe: id=dup -->
- [ ] Third <!-- rollsafe: id=dup on_fail=goto:nowhere colour=red -->
";

    const ODD: &str = "<!-- rollsafe: kind=deploy budget=soon owner=me -->
# Odd

- [ ] Check <!-- verify: curl -s localhost => ([ -->
- [ ] Go <!-- rollsafe: on_fail=explode pnr=maybe -->
";

    const SUBSTEPS: &str = "# Restart the API

Restart pods one zone at a time.

### Drain zone A
```sh
kubectl drain -l zone=a
```
Watch the error rate.

### Restart pods <!-- rollsafe: timebox=5m -->
```sh
kubectl rollout restart deploy/api
```
";

    const SUBPHASES: &str = "# Deploy

## Rollout

Ship it on a weekday.

### Checks
- [ ] CI is green
- [ ] Change approved

### Ship
```sh
make deploy
```
";

    const PROSE: &str = "# Failover

## Promote

Check lag on the replica first:

```sql
select now() - pg_last_xact_replay_timestamp();
```

Lag must be under a second.

Then promote it. This takes about thirty seconds.

```sh
pg_ctl promote -D /var/lib/postgresql/data
```
";

    const CHECKLIST: &str = "# Rotate TLS certificates
Rotate the edge certificates before they expire.
- [ ] Generate a CSR
- [ ] Upload the certificate
  ```text
  OK: uploaded
  ```
";

    const NO_TITLE: &str = "<!-- rollsafe: kind=incident -->
Flush the CDN cache when stale assets are served.

```sh
cdnctl purge --all
```
";

    fn load(file: &str, text: &str) -> Playbook {
        parse(file, text).unwrap_or_else(|problems| {
            let lines: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
            panic!("{file} should load:\n{}", lines.join("\n"))
        })
    }

    fn problems(file: &str, text: &str) -> Vec<(usize, usize, String)> {
        match parse(file, text) {
            Ok(p) => panic!("{file} should not load, got {p:#?}"),
            Err(found) => found
                .into_iter()
                .map(|d| (d.line, d.column, d.message))
                .collect(),
        }
    }

    fn titles(p: &Playbook) -> Vec<(&str, &str)> {
        p.steps()
            .map(|(_, phase, step)| (phase.title.as_str(), step.title.as_str()))
            .collect()
    }

    #[test]
    fn annotated_playbook_loads_every_annotation() {
        let p = load("runbooks/upgrade.md", ANNOTATED);
        assert_eq!(p.id, "pg-upgrade");
        assert_eq!(p.title, "Upgrade Postgres 15 → 16");
        assert_eq!(
            p.description,
            "Upgrade the primary with **pg_upgrade**, keeping the old cluster for rollback."
        );
        assert_eq!(p.kind, PlaybookKind::Migration);
        assert_eq!(p.budget, Some(Duration::from_secs(45 * 60)));
        assert_eq!(p.tags, ["postgres", "upgrade"]);
        let phase_ids: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
        assert_eq!(phase_ids, ["prep", "cut-over", "roll-back"]);
        let ids: Vec<&str> = p.steps().map(|(_, _, s)| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "snapshot",
                "announce-the-window-in-ops",
                "stop-writes",
                "run-pg-upgrade",
                "restore"
            ]
        );

        let snapshot = &p.phases[0].steps[0];
        assert_eq!(snapshot.title, "Snapshot the volume");
        assert_eq!(snapshot.timebox, Some(Duration::from_secs(600)));
        assert_eq!(snapshot.role.as_deref(), Some("dba"));
        assert_eq!(
            snapshot.command.as_deref(),
            Some("aws ec2 create-snapshot --volume-id ${VOLUME}")
        );
        let verify = snapshot.verify.as_ref().expect("snapshot has a verify");
        assert_eq!(verify.command, "aws ec2 describe-snapshots --owner self");
        assert_eq!(verify.expect.regex.as_deref(), Some("completed"));
        assert_eq!(snapshot.detail, "");

        let announce = &p.phases[0].steps[1];
        assert_eq!(
            announce.title, "Announce the window in #ops",
            "link text kept"
        );
        assert_eq!(announce.role.as_deref(), Some("incident commander"));
        assert_eq!(announce.timebox, Some(Duration::from_secs(120)));

        let stop = &p.phases[1].steps[0];
        assert_eq!(stop.on_fail, OnFail::Goto("restore".into()));
        assert_eq!(
            stop.command.as_deref(),
            Some("kubectl scale deploy/api --replicas=0")
        );
        assert_eq!(stop.detail, "Wait until connections drain.");
        assert!(!stop.point_of_no_return);

        let upgrade = &p.phases[1].steps[1];
        assert!(upgrade.point_of_no_return);
        assert_eq!(upgrade.rollback.as_deref(), Some("restore the snapshot"));
        assert_eq!(upgrade.timebox, Some(Duration::from_secs(1200)));
        assert_eq!(
            upgrade.command.as_deref(),
            Some("pg_upgrade --link -b /usr/lib/postgresql/15/bin -B /usr/lib/postgresql/16/bin")
        );
        let verify = upgrade.verify.as_ref().expect("upgrade has a verify");
        assert_eq!(verify.command, "psql -tAc 'show server_version'");
        assert_eq!(verify.expect.regex.as_deref(), Some(r"^16\."));
        assert_eq!(verify.expect.exit_code, None);

        assert_eq!(p.phases[2].steps[0].on_fail, OnFail::Stop);
        assert_eq!(p.points_of_no_return(), 1);

        for (_, _, step) in p.steps() {
            for text in [&step.title, &step.detail] {
                assert!(
                    !text.contains("<!--")
                        && !text.contains("rollsafe")
                        && !text.contains("verify:"),
                    "annotation leaked into {text:?}"
                );
            }
        }
    }

    #[test]
    fn plain_wiki_runbook_loads_sensible_steps() {
        let p = load("wiki/redis-failover.md", WIKI);
        assert_eq!(p.id, "redis-failover", "id from the file name");
        assert_eq!(p.title, "Redis failover");
        assert_eq!(
            p.description,
            "Use this page when the primary Redis node is unhealthy. Owner: [SRE team](https://wiki.example.com/sre)."
        );
        assert_eq!(
            titles(&p),
            [
                ("Before you start", "Open the Redis dashboard"),
                ("Before you start", "Tell #incidents you are starting"),
                ("Failover", "Check replication on the replica"),
                ("Failover", "Promote the replica"),
                ("Failover", "Point the app at the new primary"),
                ("Verify", "Verify"),
                ("Contacts", "Contacts"),
            ]
        );
        let commands: Vec<Option<&str>> = p.steps().map(|(_, _, s)| s.command.as_deref()).collect();
        assert_eq!(
            commands,
            [
                None,
                None,
                Some("redis-cli -h redis-2 info replication"),
                Some("redis-cli -h redis-2 replicaof no one"),
                Some("kubectl set env deploy/app REDIS_HOST=redis-2"),
                Some("redis-cli -h redis-2 set probe 1"),
                None,
            ]
        );
        let details: Vec<&str> = p.steps().map(|(_, _, s)| s.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "",
                "| Host    | Role    |\n|---------|---------|\n| redis-1 | primary |\n| redis-2 | replica |",
                "`master_link_status` must be `up`.",
                "",
                "",
                "Check that writes succeed:\n\nExpected output: `OK`.",
                "Page the on-call DBA if anything looks wrong.",
            ]
        );
        let ids: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
        assert_eq!(ids, ["before-you-start", "failover", "verify", "contacts"]);
        assert!(
            p.steps()
                .all(|(_, _, s)| s.on_fail == OnFail::Stop && s.verify.is_none())
        );

        let crlf = load("wiki/redis-failover.md", &WIKI.replace('\n', "\r\n"));
        assert_eq!(crlf, p, "Windows line ends load the same");
    }

    #[test]
    fn step_problems_are_reported_together_at_their_position() {
        let found = problems("broken.md", BROKEN);
        let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(at, [(5, 36), (7, 31), (7, 43), (7, 56)], "{found:#?}");
        assert!(
            found[0].2.starts_with("bad duration \"5x\""),
            "{}",
            found[0].2
        );
        assert!(
            found[1].2.starts_with("duplicate step id \"dup\""),
            "{}",
            found[1].2
        );
        assert_eq!(found[2].2, "on_fail goes to unknown step \"nowhere\"");
        assert!(
            found[3].2.starts_with("unknown annotation key `colour`"),
            "{}",
            found[3].2
        );
    }

    #[test]
    fn playbook_and_verify_problems_point_into_the_comment() {
        let found = problems("odd.md", ODD);
        let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(
            at,
            [(1, 21), (1, 35), (1, 40), (4, 47), (5, 33), (5, 45)],
            "{found:#?}"
        );
        assert!(found[0].2.starts_with("unknown kind \"deploy\""));
        assert!(found[1].2.starts_with("bad duration \"soon\""));
        assert!(found[2].2.starts_with("unknown annotation key `owner`"));
        assert!(found[3].2.starts_with("bad verify regex"));
        assert!(found[4].2.starts_with("bad on_fail \"explode\""));
        assert!(found[5].2.contains("flag"));
    }

    #[test]
    fn misplaced_and_unclosed_annotations_are_reported() {
        let text = "# T\n<!-- verify: true -->\n\n## A <!-- rollsafe: role=dba -->\n\n- one\n- two\n\n## B\n\n- three <!-- rollsafe: id=x\n\n- <!-- rollsafe: id=y -->\n";
        let found = problems("t.md", text);
        let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(at, [(2, 1), (4, 21), (11, 9), (13, 3)], "{found:#?}");
        assert!(found[0].2.contains("belongs to a step"));
        assert!(found[1].2.contains("belongs to a step, not to a heading"));
        assert!(found[2].2.contains("not closed"));
        assert!(found[3].2.contains("empty list item"));
    }

    #[test]
    fn sub_headings_without_lists_are_steps() {
        let p = load("restart.md", SUBSTEPS);
        assert_eq!(p.description, "Restart pods one zone at a time.");
        assert_eq!(p.phases.len(), 1);
        assert_eq!(p.phases[0].title, "Steps");
        assert_eq!(
            titles(&p),
            [("Steps", "Drain zone A"), ("Steps", "Restart pods")]
        );
        let drain = &p.phases[0].steps[0];
        assert_eq!(drain.command.as_deref(), Some("kubectl drain -l zone=a"));
        assert_eq!(drain.detail, "Watch the error rate.");
        let restart = &p.phases[0].steps[1];
        assert_eq!(
            restart.command.as_deref(),
            Some("kubectl rollout restart deploy/api")
        );
        assert_eq!(
            restart.timebox,
            Some(Duration::from_secs(300)),
            "annotation on the ### line"
        );
    }

    #[test]
    fn sub_headings_with_lists_are_phases() {
        let p = load("deploy.md", SUBPHASES);
        let phases: Vec<(&str, &str)> = p
            .phases
            .iter()
            .map(|ph| (ph.id.as_str(), ph.title.as_str()))
            .collect();
        assert_eq!(
            phases,
            [
                ("rollout-checks", "Rollout › Checks"),
                ("rollout-ship", "Rollout › Ship")
            ],
            "the empty \"Rollout\" part is dropped"
        );
        assert_eq!(
            titles(&p),
            [
                ("Rollout › Checks", "CI is green"),
                ("Rollout › Checks", "Change approved"),
                ("Rollout › Ship", "Ship"),
            ]
        );
        assert_eq!(
            p.phases[0].steps[0].detail, "Ship it on a weekday.",
            "phase intro kept"
        );
        assert_eq!(p.phases[1].steps[0].command.as_deref(), Some("make deploy"));
    }

    #[test]
    fn pages_without_phase_headings_get_one_phase() {
        let p = load("tls.md", CHECKLIST);
        assert_eq!(
            p.description,
            "Rotate the edge certificates before they expire."
        );
        assert_eq!(
            titles(&p),
            [
                ("Steps", "Generate a CSR"),
                ("Steps", "Upload the certificate")
            ]
        );
        let upload = &p.phases[0].steps[1];
        assert_eq!(
            upload.command, None,
            "```text shows output, it is not a command"
        );
        assert_eq!(upload.detail, "```text\nOK: uploaded\n```");

        let p = load("runbooks/flush-cache.md", NO_TITLE);
        assert_eq!(
            (p.id.as_str(), p.title.as_str()),
            ("flush-cache", "Flush cache")
        );
        assert_eq!(p.kind, PlaybookKind::Incident);
        assert_eq!(titles(&p), [("Steps", "Flush cache")]);
        let step = &p.phases[0].steps[0];
        assert_eq!(
            step.detail,
            "Flush the CDN cache when stale assets are served."
        );
        assert_eq!(step.command.as_deref(), Some("cdnctl purge --all"));
    }

    #[test]
    fn prose_sections_split_at_code_blocks() {
        let p = load("failover.md", PROSE);
        assert_eq!(
            titles(&p),
            [
                ("Promote", "Check lag on the replica first"),
                ("Promote", "Then promote it")
            ]
        );
        let (lag, promote) = (&p.phases[0].steps[0], &p.phases[0].steps[1]);
        assert_eq!(
            lag.command.as_deref(),
            Some("select now() - pg_last_xact_replay_timestamp();")
        );
        assert_eq!(lag.detail, "Lag must be under a second.");
        assert_eq!(
            promote.command.as_deref(),
            Some("pg_ctl promote -D /var/lib/postgresql/data")
        );
        assert_eq!(
            promote.detail,
            "Then promote it. This takes about thirty seconds."
        );
    }

    #[test]
    fn heading_annotation_covers_a_single_step_section() {
        let text = "# T\n\n## Promote replica <!-- rollsafe: id=promote timebox=5m pnr -->\n\nRun:\n\n```sh\npg_ctl promote\n```\n";
        let p = load("t.md", text);
        assert_eq!(p.phases[0].id, "promote");
        let step = &p.phases[0].steps[0];
        assert_eq!(
            (step.id.as_str(), step.title.as_str()),
            ("promote", "Promote replica")
        );
        assert_eq!(step.timebox, Some(Duration::from_secs(300)));
        assert!(step.point_of_no_return);
        assert_eq!(step.detail, "Run:");
        assert_eq!(step.command.as_deref(), Some("pg_ctl promote"));
    }

    #[test]
    fn item_titles_nested_items_and_details() {
        let text = "# T\n\n## Go\n\n- [ ] Promote the replica once lag is below\n  one second.\n  Then tell the team.\n  - check `pg_stat_replication`\n  - check the [dashboard](https://example.com)\n\n  ```sh\n  pg_ctl promote\n  ```\n\n  ```sh\n  echo second block stays in the detail\n  ```\n- **Bold** and `code`:\n";
        let p = load("t.md", text);
        assert_eq!(
            titles(&p),
            [
                ("Go", "Promote the replica once lag is below one second."),
                ("Go", "Bold and code")
            ]
        );
        let first = &p.phases[0].steps[0];
        assert_eq!(first.command.as_deref(), Some("pg_ctl promote"));
        assert_eq!(
            first.detail,
            "Then tell the team.\n- check `pg_stat_replication`\n- check the [dashboard](https://example.com)\n\n```sh\necho second block stays in the detail\n```"
        );
    }

    #[test]
    fn derived_ids_are_made_unique_but_explicit_ones_are_kept() {
        let text = "# Checks\n\n## Again\n\n- Check lag\n- Check lag\n- Check lag <!-- rollsafe: id=check-lag-2 -->\n\n## Again\n\n- y\n";
        let p = load("checks.md", text);
        let ids: Vec<&str> = p.steps().map(|(_, _, s)| s.id.as_str()).collect();
        assert_eq!(ids, ["check-lag", "check-lag-3", "check-lag-2", "y"]);
        let phases: Vec<&str> = p.phases.iter().map(|ph| ph.id.as_str()).collect();
        assert_eq!(phases, ["again", "again-2"]);
        assert_eq!(p.id, "checks");
    }

    #[test]
    fn lists_above_the_first_phase_are_description() {
        let text = "# T\n\n- [ ] VPN access\n- [ ] Pager <!-- rollsafe: id=pager -->\n\n## Go\n\n- Do it\n";
        let found = problems("t.md", text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].0, found[0].1), (4, 13));
        assert!(found[0].2.contains("description"), "{}", found[0].2);
        let p = load(
            "t.md",
            "# T\n\n- [ ] VPN access\n- [ ] Pager\n\n## Go\n\n- Do it\n",
        );
        assert_eq!(p.description, "- [ ] VPN access\n- [ ] Pager");
        assert_eq!(titles(&p), [("Go", "Do it")]);
    }

    #[test]
    fn empty_pages_are_reported_at_the_top() {
        for text in ["", "  \n\n\t\n"] {
            let found = problems("empty.md", text);
            assert_eq!(found.len(), 1);
            assert_eq!((found[0].0, found[0].1), (1, 1));
            assert!(found[0].2.starts_with("empty playbook"), "{}", found[0].2);
        }
        let found = problems("title-only.md", "# Just a title\n");
        assert_eq!((found[0].0, found[0].1), (1, 1));
        assert!(found[0].2.starts_with("empty playbook"), "{}", found[0].2);
        // Only a description: it becomes the one step rather than nothing.
        let p = load("intro.md", "# Intro\n\nRead this first.\n\n## Later\n");
        assert_eq!(titles(&p), [("Steps", "Intro")]);
        assert_eq!(p.phases[0].steps[0].detail, "Read this first.");
    }

    /// Deterministic garbage: the loader answers Ok or Err, never panics.
    #[test]
    fn garbage_never_panics() {
        const PIECES: [&str; 48] = [
            "#",
            "# ",
            "## ",
            "### ",
            "#### ",
            "- ",
            "- [ ] ",
            "- [x] ",
            "1. ",
            "* ",
            "```",
            "```sh\n",
            "    ",
            "\n",
            "\n\n",
            "<!--",
            "-->",
            "<!-- rollsafe: ",
            "<!-- verify: ",
            "id=",
            "timebox=5m",
            "on_fail=goto:",
            "pnr",
            "=>",
            "\"",
            "|",
            "|---|",
            "> ",
            "[",
            "](x)",
            "*",
            "`",
            "!",
            "<",
            ">",
            "é",
            "日本",
            "🚀",
            "\t",
            " ",
            "step",
            "\r\n",
            "---",
            "\\",
            "=",
            "rollback=\"a b",
            "kind=",
            "  ",
        ];
        const CHARS: &str = "#-[]*`<>!\n =\"|:x1é日🚀\t\\";
        let chars: Vec<char> = CHARS.chars().collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % bound
        };
        for round in 0..600 {
            let mut text = String::new();
            let len = next(80);
            for _ in 0..len {
                if round % 2 == 0 {
                    text.push_str(PIECES[next(PIECES.len())]);
                } else {
                    text.push(chars[next(chars.len())]);
                }
            }
            match parse("fuzz.md", &text) {
                Ok(p) => {
                    assert!(!p.phases.is_empty(), "{text:?}");
                    assert!(p.phases.iter().all(|ph| !ph.steps.is_empty()), "{text:?}");
                    assert!(
                        p.steps().all(|(_, _, s)| !s.title.trim().is_empty()),
                        "{text:?}"
                    );
                }
                Err(found) => {
                    assert!(!found.is_empty(), "{text:?}");
                    assert!(
                        found.iter().all(|d| d.line >= 1 && d.column >= 1),
                        "{text:?}"
                    );
                }
            }
        }
    }
}
