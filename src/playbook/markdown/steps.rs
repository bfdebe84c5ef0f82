//! The outline: phases and steps found in the page, annotations not yet read.

use super::*;

// ---------------------------------------------------------------------------
// The outline: phases and steps found in the page, annotations not yet read.

#[derive(Debug)]
pub(super) struct StepDraft {
    pub(super) title: String,
    /// Where the step starts: its position when the id is derived.
    pub(super) at: usize,
    /// Markdown pieces, joined by blank lines.
    pub(super) detail: Vec<String>,
    pub(super) command: Option<Cmd>,
    pub(super) anns: Vec<Comment>,
    /// A `- [ ]` task-list item.
    pub(super) checkbox: bool,
    /// It came from a list item.
    pub(super) listed: bool,
}

impl StepDraft {
    pub(super) fn new(title: &str, at: usize) -> Self {
        Self {
            title: title.to_string(),
            at,
            detail: Vec::new(),
            command: None,
            anns: Vec::new(),
            checkbox: false,
            listed: false,
        }
    }
}

#[derive(Debug)]
pub(super) struct PhaseDraft {
    pub(super) title: String,
    pub(super) at: usize,
    pub(super) anns: Vec<Comment>,
    pub(super) steps: Vec<StepDraft>,
    /// The phase is one step titled by its heading: the heading's
    /// annotation is the step's too.
    pub(super) shared: bool,
}

/// Blocks up to and including a command code block (or the trailing text).
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) blocks: Vec<Block>,
    pub(super) code: Option<Block>,
}

impl Group {
    pub(super) fn has_content(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| !(b.quiet || b.kind == Kind::Rule || b.is_command()))
    }
}

pub(super) enum Unit {
    /// Steps from a list's items (`true`) or from sub-headings (`false`).
    Steps(Vec<StepDraft>, bool),
    Prose(Vec<Group>),
}

/// Where a section's heading-titled step gets its title and position.
pub(super) struct Head {
    pub(super) title: String,
    pub(super) at: usize,
    pub(super) anns: Vec<Comment>,
}

pub(super) struct Outline<'a> {
    pub(super) doc: Doc<'a>,
    pub(super) title: Option<String>,
    pub(super) title_at: usize,
    /// Annotations for the playbook itself.
    pub(super) front: Vec<Comment>,
    /// Annotations that found no step, and why.
    pub(super) orphans: Vec<(Comment, &'static str)>,
    /// `<!-- rollsafe` or `<!-- verify` left as text: the comment never ends.
    pub(super) unclosed: Vec<usize>,
    pub(super) description: String,
    pub(super) phases: Vec<PhaseDraft>,
    /// Text waiting for the next step, and the heading it came under.
    pub(super) pending: Vec<Group>,
    pub(super) pending_head: Option<(String, usize)>,
    /// Without phase headings, text before the first step is the description.
    pub(super) intro_is_description: bool,
    /// Links of sections that are only lists of links: `text: target`.
    pub(super) sources: Vec<String>,
    /// Where those sections start, and their titles.
    pub(super) link_sections: Vec<(usize, String)>,
}

impl<'a> Outline<'a> {
    /// `fallback_title` titles a page's only step when the page has no `#` title.
    pub(super) fn read(text: &'a str, fallback_title: &str) -> Self {
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
            sources: Vec::new(),
            link_sections: Vec::new(),
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

        // A page whose only text is its description (or lists of links): that
        // text is the one step.
        let no_steps = outline.phases.iter().all(|p| p.steps.is_empty());
        if no_steps && (!outline.description.is_empty() || !outline.sources.is_empty()) {
            let mut step = StepDraft::new(&title, outline.title_at);
            step.detail.push(std::mem::take(&mut outline.description));
            if !outline.sources.is_empty() {
                let links: Vec<String> = outline.sources.iter().map(|s| format!("- {s}")).collect();
                step.detail.push(links.join("\n"));
            }
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
    pub(super) fn render_blocks(&self, blocks: &[Block], extra: &[Range<usize>]) -> String {
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
    pub(super) fn section(&mut self, head: Head, phase_title: String, blocks: &[Block], top: bool) {
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
            // An undo procedure under a deeper heading is a section of its
            // own, never part of the forward step above it.
            let at: Vec<usize> = blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| {
                    b.kind == Kind::Heading(level)
                        || (matches!(b.kind, Kind::Heading(_))
                            && is_undo(&self.doc.heading_text(b)))
                })
                .map(|(i, _)| i)
                .collect();
            head_blocks = &blocks[..at[0]];
            for (n, &i) in at.iter().enumerate() {
                let end = at.get(n + 1).copied().unwrap_or(blocks.len());
                subs.push((&blocks[i], &blocks[i + 1..end]));
            }
        }

        // A sub-section with a list, or with more than one command, is a
        // procedure of its own: one step per sub-section would keep only
        // its first command.
        let split = subs
            .iter()
            .any(|(_, bs)| self.has_list(bs) || bs.iter().filter(|b| b.is_command()).count() > 1);
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
    pub(super) fn leading_quiet<'b>(&self, blocks: &'b [Block]) -> (Vec<Comment>, &'b [Block]) {
        let n = blocks.iter().take_while(|b| b.quiet).count();
        (self.doc.comments_of(&blocks[..n]), &blocks[n..])
    }

    pub(super) fn has_list(&self, blocks: &[Block]) -> bool {
        blocks.iter().any(|b| {
            (b.kind == Kind::List && !self.is_link_list(b) && !self.is_notes(b))
                || b.kind
                    == (Kind::Code {
                        lang: Lang::Checklist,
                    })
        })
    }

    /// A list to read, not to follow: it names things, or describes them.
    pub(super) fn is_notes(&self, list: &Block) -> bool {
        self.is_glossary(list) || self.is_description(list)
    }

    /// A bulleted list of facts ("We use a single cookbook …", "Logs can be
    /// found on Kibana …"): no item holds code or a task box or reads as an
    /// instruction, and most read as descriptions. Numbered lists are
    /// always steps: their numbers give an order to follow.
    fn is_description(&self, list: &Block) -> bool {
        if !self.is_bulleted(list) {
            return false;
        }
        let mut read = 0;
        let mut statements = 0;
        for item in self.doc.blocks(list.inner()) {
            if self.is_link_item(&item) || self.item_line(&item).is_none() {
                continue;
            }
            match self.item_reads(&item) {
                prose::Reads::Action => return false,
                prose::Reads::Statement => statements += 1,
                prose::Reads::Other => {}
            }
            read += 1;
        }
        read > 0 && statements * 2 > read
    }

    /// A `-` / `*` list, not a numbered one.
    fn is_bulleted(&self, list: &Block) -> bool {
        matches!(
            self.doc.events.get(list.ev.start),
            Some((Event::Start(Tag::List(None)), _))
        )
    }

    /// What a list item reads as: an action when it holds code, a command
    /// or a task box, else what its first line says.
    fn item_reads(&self, item: &Block) -> prose::Reads {
        if self.doc.events[item.inner()].iter().any(|(e, _)| {
            matches!(
                e,
                Event::Start(Tag::CodeBlock(_)) | Event::TaskListMarker(_)
            ) || matches!(e, Event::Code(c) if commands::looks_like_command(c))
        }) {
            return prose::Reads::Action;
        }
        self.item_line(item).map_or(prose::Reads::Other, |line| {
            prose::reads(&self.doc.plain(line))
        })
    }

    /// A statement among the bullets of a procedure ("HAProxy logs are not
    /// sent to ELK"): a note on the step before it. An annotated item stays
    /// a step, as its author asked.
    fn is_note_item(&self, list: &Block, item: &Block) -> bool {
        self.is_bulleted(list)
            && self.doc.comments(item.ev.clone(), item.span.end).is_empty()
            && self.item_reads(item) == prose::Reads::Statement
    }

    /// The events of a list item's first line of text.
    fn item_line(&self, item: &Block) -> Option<Range<usize>> {
        let children = self.doc.blocks(item.inner());
        let i = children.iter().position(|b| !b.quiet)?;
        let run = match children[i].kind {
            Kind::Paragraph => children[i].inner(),
            Kind::Inline => {
                let n = children[i..]
                    .iter()
                    .take_while(|c| c.kind == Kind::Inline)
                    .count();
                children[i].ev.start..children[i + n - 1].ev.end
            }
            _ => return None,
        };
        Some(self.doc.title_line(run).0)
    }

    /// A list that names things rather than saying what to do: every item
    /// is one word ("- cassandra", three items or more), a term and its
    /// description ("- `api`: the API backends", "- `<env>` to the target
    /// environment"), or a bold term explained below it, and none holds code.
    pub(super) fn is_glossary(&self, list: &Block) -> bool {
        let items = self.doc.blocks(list.inner());
        if items.len() < 2 {
            return false;
        }
        items.iter().all(|item| {
            let evs = &self.doc.events[item.inner()];
            // Nested lists may explain a term; code blocks and tasks make it an action.
            if evs.iter().any(|(e, _)| {
                matches!(
                    e,
                    Event::Start(Tag::CodeBlock(_)) | Event::TaskListMarker(_)
                ) || matches!(e, Event::Code(c) if commands::looks_like_command(c))
            }) {
                return false;
            }
            let text = self.doc.plain(item.inner());
            let line = text.trim();
            let one_word =
                items.len() >= 3 && !line.is_empty() && !line.contains(char::is_whitespace);
            let term = line
                .find(": ")
                .is_some_and(|k| line[..k].split_whitespace().count() <= 2 && k > 0);
            one_word || term || self.starts_with_term(item)
        })
    }

    /// An item that opens with the name it explains: inline code that is
    /// not a command, followed by words ("`[old-username]` to the current
    /// username"), or a line that is all bold with its explanation below.
    fn starts_with_term(&self, item: &Block) -> bool {
        let Some(line) = self.item_line(item) else {
            return false;
        };
        let evs = &self.doc.events[line.clone()];
        match evs.first() {
            Some((Event::Code(c), _)) => {
                !commands::looks_like_command(c)
                    && !self.doc.plain(line.start + 1..line.end).trim().is_empty()
            }
            Some((Event::Start(Tag::Strong), _)) => {
                let closed = evs
                    .iter()
                    .position(|(e, _)| matches!(e, Event::End(pulldown_cmark::TagEnd::Strong)));
                let explained = self
                    .doc
                    .blocks(item.inner())
                    .iter()
                    .filter(|b| !b.quiet)
                    .count()
                    > 1;
                closed == Some(evs.len() - 1) && explained
            }
            _ => false,
        }
    }

    /// A list whose every item is a link (with a few words at most), or a
    /// short label over a nested list of links.
    pub(super) fn is_link_list(&self, list: &Block) -> bool {
        let items = self.doc.blocks(list.inner());
        !items.is_empty() && items.iter().all(|item| self.is_link_item(item))
    }

    /// An item whose own line is a link (or a bare URL, or a `.md` path)
    /// with a few words at most, with no code; or a short label over nested
    /// lists of links.
    pub(super) fn is_link_item(&self, item: &Block) -> bool {
        let children = self.doc.blocks(item.inner());
        // A task (`- [ ]`) is something to do, even when it is a link.
        if item
            .inner()
            .take(3)
            .any(|i| matches!(self.doc.events.get(i), Some((Event::TaskListMarker(_), _))))
        {
            return false;
        }
        let mut links = 0;
        let mut words = 0;
        let mut nested_links = true;
        let mut nested = false;
        let mut paragraphs = 0;
        let mut before = false;
        // Words after the item's first line describe the link: not counted.
        let mut first_line = true;
        for child in &children {
            match child.kind {
                Kind::Paragraph | Kind::Inline => {
                    if child.kind == Kind::Paragraph {
                        paragraphs += 1;
                        if paragraphs > 1 {
                            first_line = false;
                        }
                    }
                    let mut depth = 0;
                    for i in child.ev.clone() {
                        if !first_line {
                            break;
                        }
                        match &self.doc.events[i].0 {
                            Event::SoftBreak | Event::HardBreak if links > 0 => first_line = false,
                            Event::Start(Tag::Link { .. }) => {
                                depth += 1;
                                links += 1;
                            }
                            Event::End(pulldown_cmark::TagEnd::Link) => depth -= 1,
                            Event::Text(t) if depth == 0 => {
                                for w in t.split_whitespace() {
                                    if w.starts_with("http://")
                                        || w.starts_with("https://")
                                        || w.trim_end_matches(['.', ',', ')']).ends_with(".md")
                                    {
                                        links += 1;
                                    } else if w.chars().any(char::is_alphanumeric) {
                                        // Words before the link make it an action:
                                        // "Open the [dashboard](…)".
                                        before |= links == 0;
                                        words += 1;
                                    }
                                }
                            }
                            Event::Code(_) if depth == 0 => return false,
                            _ => {}
                        }
                    }
                }
                Kind::List => {
                    nested = true;
                    if !self.is_link_list(child) {
                        nested_links = false;
                    }
                    if self.doc.events[child.ev.clone()]
                        .iter()
                        .any(|(e, _)| matches!(e, Event::Start(Tag::CodeBlock(_))))
                    {
                        return false;
                    }
                }
                Kind::Html if child.quiet => {}
                _ => return false,
            }
        }
        (links > 0 && !before && words <= 8) || (nested && nested_links && links == 0 && words <= 6)
    }

    /// `text: target` of every link in the blocks.
    fn links(&self, blocks: &[Block]) -> Vec<String> {
        let mut out = Vec::new();
        for b in blocks {
            let mut open: Option<(String, String)> = None;
            for i in b.ev.clone() {
                match &self.doc.events[i].0 {
                    Event::Start(Tag::Link { dest_url, .. }) => {
                        open = Some((String::new(), dest_url.to_string()))
                    }
                    Event::Text(t) | Event::Code(t) => {
                        if let Some((text, _)) = open.as_mut() {
                            text.push_str(t);
                        }
                    }
                    Event::End(pulldown_cmark::TagEnd::Link) => {
                        if let Some((text, url)) = open.take() {
                            let text = clean_title(&text);
                            out.push(if text.is_empty() || text == url {
                                url
                            } else {
                                format!("{text}: {url}")
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Lists become steps; the blocks between them are grouped at code blocks.
    pub(super) fn units(&mut self, blocks: &[Block]) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut run: Vec<Block> = Vec::new();
        for b in blocks {
            if b.kind
                == (Kind::Code {
                    lang: Lang::Checklist,
                })
            {
                if !run.is_empty() {
                    units.push(Unit::Prose(groups(std::mem::take(&mut run))));
                }
                match self.checklist_steps(b) {
                    Some(steps) => units.push(Unit::Steps(steps, true)),
                    None => run.push(b.clone()),
                }
                continue;
            } else if b.kind == Kind::List && !self.is_link_list(b) && !self.is_notes(b) {
                if !run.is_empty() {
                    units.push(Unit::Prose(groups(std::mem::take(&mut run))));
                }
                let mut steps: Vec<StepDraft> = Vec::new();
                // Links and statements among the steps are notes of the step before them.
                let mut lead: Vec<String> = Vec::new();
                for item in self.doc.blocks(b.inner()) {
                    if self.is_link_item(&item) || self.is_note_item(b, &item) {
                        let comments = self.doc.comments(item.ev.clone(), item.span.end);
                        let cuts: Vec<Range<usize>> =
                            comments.iter().map(|c| c.span.clone()).collect();
                        let text = self.doc.render(item.span.clone(), &cuts);
                        match steps.last_mut() {
                            Some(last) => {
                                last.detail.push(text);
                                last.anns.extend(comments);
                            }
                            None => {
                                lead.push(text);
                                self.orphan(comments, NO_STEP);
                            }
                        }
                        continue;
                    }
                    match self.item_step(&item) {
                        Ok(mut step) => {
                            if !lead.is_empty() {
                                step.detail.insert(0, std::mem::take(&mut lead).join("\n"));
                            }
                            steps.push(step)
                        }
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
    pub(super) fn chunk(
        &mut self,
        units: Vec<Unit>,
        title: &str,
        at: usize,
    ) -> (Vec<StepDraft>, bool) {
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
            // Pointers elsewhere ("Troubleshooting pointers", "Related links"):
            // the links are sources of the page, nothing here is a step.
            let link_lists = blocks
                .iter()
                .filter(|b| b.kind == Kind::List && self.is_link_list(b))
                .count();
            let paragraphs = blocks
                .iter()
                .filter(|b| !(b.quiet || b.kind == Kind::Rule || b.kind == Kind::List))
                .count();
            if code.is_none() && link_lists > 0 && paragraphs <= 1 {
                let links = self.links(&blocks);
                self.sources.extend(links);
                self.link_sections.push((at, title.to_string()));
                let comments = self.doc.comments_of(&blocks);
                self.orphan(comments, NO_STEP);
                return (Vec::new(), false);
            }
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
            step.command = match code {
                Some(c) => self.doc.command(&c),
                None => self.prose_command(&blocks),
            };
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
                                let command = self.doc.command(code);
                                let rendered = self.render_blocks(&g.blocks, &[]);
                                match steps.last_mut() {
                                    Some(last)
                                        if after_list
                                            && last.command.is_none()
                                            && command.is_some() =>
                                    {
                                        last.command = command;
                                        last.anns.extend(comments);
                                    }
                                    Some(last) => {
                                        last.detail.push(rendered);
                                        last.anns.extend(comments);
                                    }
                                    None => {
                                        let mut step = StepDraft::new(title, code.span.start);
                                        step.command = command;
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

    pub(super) fn orphan(&mut self, comments: Vec<Comment>, why: &'static str) {
        self.orphans.extend(comments.into_iter().map(|c| (c, why)));
    }

    pub(super) fn pend(&mut self, group: Group, title: &str, at: usize) {
        if self.pending_head.is_none() {
            self.pending_head = Some((title.to_string(), at));
        }
        self.pending.push(group);
    }

    /// Text waiting before the first step: the top of its detail (or the
    /// description, on a page without phase headings).
    pub(super) fn take_pending(&mut self, step: &mut StepDraft) {
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
    pub(super) fn prose_step(&self, g: &Group, fallback: &str) -> StepDraft {
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
            step.command = self.doc.command(code);
        }
        step.detail.push(self.render_blocks(&g.blocks, &extra));
        step.anns = self.doc.comments_of(&g.blocks);
        step
    }

    /// A list item as a step, or its comments when the item is empty.
    pub(super) fn item_step(&self, item: &Block) -> Result<StepDraft, Vec<Comment>> {
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
        let mut title_events = 0..0;
        let (mut title, detail_from) = match run {
            Some(run) => {
                let (ev, end, _) = doc.title_line(run);
                title_events = ev.clone();
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
        let checkbox = item
            .inner()
            .take(3)
            .any(|i| matches!(doc.events.get(i), Some((Event::TaskListMarker(_), _))));
        let (code, mut command): (Option<&Block>, Option<Cmd>) = children
            .iter()
            .filter(|b| b.is_command())
            .find_map(|b| doc.command(b).map(|c| (b, c)))
            .unzip();
        if command.is_none() {
            command = doc.inline_command(title_events);
        }
        if command.is_none() {
            command = self.nested_commands(&children);
        }
        let mut cuts: Vec<Range<usize>> = comments.iter().map(|c| c.span.clone()).collect();
        cuts.extend(code.map(|b| b.span.clone()));
        let detail = doc.render(detail_from..item.span.end, &cuts);
        if title.is_empty() {
            let source = command
                .as_ref()
                .map_or(detail.as_str(), |c| c.text.as_str());
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
            checkbox,
            listed: true,
        })
    }

    /// An item whose nested items are each nothing but a command in inline
    /// code ("apply it to the fleet" over two `knife ssh ...` items), with
    /// notes below them or beside items without code: those commands, one
    /// per line.
    fn nested_commands(&self, children: &[Block]) -> Option<Cmd> {
        let lists: Vec<&Block> = children.iter().filter(|b| b.kind == Kind::List).collect();
        if lists.len() != 1 {
            return None;
        }
        let mut lines = Vec::new();
        let mut at = None;
        for item in self.doc.blocks(lists[0].inner()) {
            let inner = self.doc.blocks(item.inner());
            let texts: Vec<&Block> = inner.iter().filter(|b| !b.quiet).collect();
            // The item's own line; lists below it are notes on the command
            // ("Should be no output").
            let own = texts.iter().take_while(|b| b.kind == Kind::Inline).count();
            let (run, rest) = match texts.first() {
                Some(b) if b.kind == Kind::Paragraph => (b.inner(), &texts[1..]),
                Some(b) if own > 0 => (b.ev.start..texts[own - 1].ev.end, &texts[own..]),
                _ => return None,
            };
            if rest.iter().any(|b| b.kind != Kind::List) {
                return None;
            }
            // An item without code ("Check Sentry for errors") is no command:
            // it stays in the detail.
            if !self.doc.events[run.clone()]
                .iter()
                .any(|(e, _)| matches!(e, Event::Code(_)))
            {
                continue;
            }
            let cmd = self.doc.inline_command(run)?;
            if !cmd.kind.is_run() || cmd.text.contains('\n') {
                return None;
            }
            at.get_or_insert(cmd.at);
            lines.push(cmd.text);
        }
        let text = lines.join("\n");
        let mut cmd = commands::read(&text, Lang::Shell)?;
        cmd.at = at?;
        Some(cmd)
    }

    /// The steps of a checklist written inside a fence (to paste into an
    /// issue), read as Markdown of its own; `None` when it does not load.
    pub(super) fn checklist_steps(&self, code: &Block) -> Option<Vec<StepDraft>> {
        let text = dedent(&self.doc.plain(code.inner()), false);
        let pb = super::parse("checklist.md", &text).ok()?;
        let at = code.span.start;
        Some(
            pb.steps()
                .map(|(_, _, s)| StepDraft {
                    title: s.title.clone(),
                    at,
                    detail: vec![s.detail.clone()],
                    command: s.command.as_ref().map(|t| Cmd {
                        text: t.clone(),
                        kind: s.command_kind.clone(),
                        output: s.expected_output.clone(),
                        prompted: false,
                        sql: false,
                        at,
                    }),
                    anns: Vec::new(),
                    checkbox: true,
                    listed: true,
                })
                .collect(),
        )
    }

    /// The command of a section without a code block, written inline: its
    /// first paragraph ends with it ("On the node, run: `systemctl start
    /// patroni`"), or a paragraph is nothing but it. The code stays in the
    /// detail too, where the page wrote it.
    fn prose_command(&self, blocks: &[Block]) -> Option<Cmd> {
        blocks
            .iter()
            .filter(|b| b.kind == Kind::Paragraph)
            .enumerate()
            .find_map(|(n, b)| {
                let (line, _, _) = self.doc.title_line(b.inner());
                let only_code = self.doc.events[b.inner()]
                    .iter()
                    .all(|(e, _)| matches!(e, Event::Code(_) | Event::SoftBreak));
                (n == 0 || only_code)
                    .then(|| self.doc.inline_command(line))
                    .flatten()
            })
    }

    /// A sub-heading's section as one step.
    pub(super) fn heading_step(&self, heading: &Block, blocks: &[Block]) -> StepDraft {
        let title = self.doc.heading_text(heading);
        let title = if title.is_empty() { "Step" } else { &title };
        let mut step = StepDraft::new(title, heading.span.start);
        let (code, command) = blocks
            .iter()
            .filter(|b| b.is_command())
            .find_map(|b| self.doc.command(b).map(|c| (b, c)))
            .unzip();
        let extra: Vec<Range<usize>> = code.iter().map(|c| c.span.clone()).collect();
        step.command = command.or_else(|| self.prose_command(blocks));
        step.detail.push(self.render_blocks(blocks, &extra));
        step.anns = self.doc.comments_of(std::slice::from_ref(heading));
        step.anns.extend(self.doc.comments_of(blocks));
        step
    }
}

/// "Rollback", "Roll back the change", "Undo", "Revert": a heading that
/// starts the way back.
pub(super) fn is_undo(title: &str) -> bool {
    let t = title.trim().to_lowercase();
    [
        "rollback",
        "roll back",
        "roll-back",
        "undo",
        "revert",
        "backing out",
        "back out",
    ]
    .iter()
    .any(|w| t.starts_with(w))
}

pub(super) const NO_STEP: &str =
    "annotation is not attached to any step: put it inside a list item, or right under a heading";
pub(super) const EMPTY_ITEM: &str = "annotation on an empty list item: give the item a title";
pub(super) const IN_DESCRIPTION: &str =
    "annotation inside the description: lists above the first `##` heading are not steps";

/// Splits a run of blocks after each command code block.
pub(super) fn groups(run: Vec<Block>) -> Vec<Group> {
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
