//! The page as blocks: pulldown-cmark events with their byte ranges, grouped
//! into headings, lists, items, code blocks and comments.

use super::*;

// ---------------------------------------------------------------------------
// The document: events with offsets, grouped into blocks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Heading(u8),
    List,
    Item,
    /// What its fence language says it is.
    Code {
        lang: Lang,
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
pub(super) struct Block {
    pub(super) kind: Kind,
    /// Its events, Start to End inclusive.
    pub(super) ev: Range<usize>,
    /// Its bytes in the source.
    pub(super) span: Range<usize>,
    /// An HTML block holding nothing but comments.
    pub(super) quiet: bool,
}

impl Block {
    pub(super) fn is_command(&self) -> bool {
        matches!(self.kind, Kind::Code { lang } if !matches!(lang, Lang::Detail | Lang::Checklist))
    }

    /// Events strictly inside the block.
    pub(super) fn inner(&self) -> Range<usize> {
        if self.ev.len() >= 2 {
            self.ev.start + 1..self.ev.end - 1
        } else {
            self.ev.end..self.ev.end
        }
    }
}

/// An HTML comment: `<!--` to `-->`.
#[derive(Debug, Clone)]
pub(super) struct Comment {
    pub(super) span: Range<usize>,
    /// Between the markers.
    pub(super) body: Range<usize>,
    pub(super) closed: bool,
}

pub(super) struct Doc<'a> {
    pub(super) text: &'a str,
    pub(super) events: Vec<(Event<'a>, Range<usize>)>,
    /// Never part of rendered Markdown: the title line, front matter.
    pub(super) skip: Vec<Range<usize>>,
}

impl<'a> Doc<'a> {
    pub(super) fn new(text: &'a str) -> Self {
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

    pub(super) fn slice(&self, r: Range<usize>) -> &'a str {
        self.text.get(r).unwrap_or("")
    }

    /// The blocks (or inline elements) at the outer level of an event range.
    pub(super) fn blocks(&self, ev: Range<usize>) -> Vec<Block> {
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

    pub(super) fn block(&self, ev: Range<usize>) -> Block {
        let (event, span) = &self.events[ev.start];
        let kind = match event {
            Event::Start(tag) => match tag {
                Tag::Heading { level, .. } => Kind::Heading(*level as u8),
                Tag::List(_) => Kind::List,
                Tag::Item => Kind::Item,
                Tag::CodeBlock(CodeBlockKind::Indented) => Kind::Code { lang: Lang::Shell },
                Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                    let lang = commands::lang(info);
                    let checklist = matches!(lang, Lang::Shell | Lang::Detail | Lang::Other)
                        && commands::is_checklist(&self.plain(ev.clone()));
                    // Output alone (psql tables) is detail, like a `text` fence.
                    let output = lang == Lang::Shell
                        && !checklist
                        && commands::read(&self.plain(ev.clone()), lang).is_none();
                    Kind::Code {
                        lang: if checklist {
                            Lang::Checklist
                        } else if output {
                            Lang::Detail
                        } else {
                            lang
                        },
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
    pub(super) fn comments(&self, ev: Range<usize>, bound: usize) -> Vec<Comment> {
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

    pub(super) fn comments_of(&self, blocks: &[Block]) -> Vec<Comment> {
        blocks
            .iter()
            .flat_map(|b| self.comments(b.ev.clone(), b.span.end))
            .collect()
    }

    /// Text, code spans and image alt text; line breaks become spaces.
    pub(super) fn plain(&self, ev: Range<usize>) -> String {
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

    pub(super) fn heading_text(&self, heading: &Block) -> String {
        clean_title(&self.plain(heading.inner()))
    }

    /// A code block as a command, if it is one.
    pub(super) fn command(&self, code: &Block) -> Option<Cmd> {
        let Kind::Code { lang } = code.kind else {
            return None;
        };
        let mut cmd = commands::read(&self.plain(code.inner()).replace("\r\n", "\n"), lang)?;
        cmd.at = code.span.start;
        Some(cmd)
    }

    /// A list item's inline code as its command, when the code is the whole
    /// action: the item is the code alone, or ends with a command in code
    /// ("Apply it to the fleet: `knife ssh ... 'sudo chef-client'`").
    pub(super) fn inline_command(&self, title: Range<usize>) -> Option<Cmd> {
        let mut code: Option<(&str, usize)> = None;
        let mut words = 0;
        let mut after_code = false;
        let mut depth = 0;
        for i in title.start..title.end.min(self.events.len()) {
            let (event, span) = &self.events[i];
            match event {
                // The last code span counts: "use the `--help` flag: `cmd --help`".
                Event::Code(c) if depth == 0 => {
                    if code.is_some() {
                        after_code = false;
                    }
                    code = Some((c, span.start));
                }
                Event::Text(t) => {
                    let n = t
                        .split_whitespace()
                        .filter(|w| w.chars().any(char::is_alphanumeric))
                        .count();
                    words += n;
                    if code.is_some() && n > 0 {
                        after_code = true;
                    }
                }
                Event::Start(Tag::Link { .. }) => depth += 1,
                Event::End(pulldown_cmark::TagEnd::Link) => depth -= 1,
                _ => {}
            }
        }
        let (text, at) = code?;
        // SQL in a list item ("in a psql console, run `ALTER ROLE ...`") is
        // pasted into the database console.
        const SQL: [&str; 10] = [
            "SELECT", "ALTER", "GRANT", "REVOKE", "DROP", "CREATE", "UPDATE", "DELETE", "INSERT",
            "VACUUM",
        ];
        let first = text.split_whitespace().next().unwrap_or("");
        if !after_code && SQL.contains(&first) && text.trim().contains(' ') {
            let mut cmd = commands::read(text, Lang::Sql)?;
            cmd.at = at;
            return Some(cmd);
        }
        // Alone, it must still read as a command: `Browser --> Cloudflare` does not.
        let alone = words == 0
            && text.trim().contains(' ')
            && !text.contains("->")
            && text.split_whitespace().next().is_some_and(|w| {
                w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c))
            });
        if !(alone || (!after_code && commands::looks_like_command(text))) {
            return None;
        }
        let mut cmd = commands::read(text, Lang::Shell)?;
        cmd.at = at;
        Some(cmd)
    }

    /// The title line of a run of inline events: its events, the byte where
    /// it ends, and whether more text follows it.
    pub(super) fn title_line(&self, ev: Range<usize>) -> (Range<usize>, usize, bool) {
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
                            // A sentence goes on into code or a link too.
                            Event::Code(_) | Event::Start(Tag::Link { .. }) => Some(true),
                            Event::InlineHtml(_) => Some(false),
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
    pub(super) fn next_line(&self, pos: usize, limit: usize) -> usize {
        match self.text.get(pos..limit).and_then(|s| s.find('\n')) {
            Some(k) => pos + k + 1,
            None => limit,
        }
    }

    pub(super) fn line_start(&self, pos: usize) -> usize {
        self.text
            .get(..pos)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |k| k + 1)
    }

    pub(super) fn line_end(&self, pos: usize) -> usize {
        self.text
            .get(pos..)
            .and_then(|s| s.find('\n'))
            .map_or(self.text.len(), |k| pos + k)
    }

    pub(super) fn blank(&self, r: Range<usize>) -> bool {
        self.slice(r).trim().is_empty()
    }

    /// Source text of `span` as Markdown, without the `cuts` (nor `skip`),
    /// common indentation removed. Cuts alone on their lines take the line.
    pub(super) fn render(&self, span: Range<usize>, cuts: &[Range<usize>]) -> String {
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
    pub(super) fn widen(&self, c: Range<usize>) -> Range<usize> {
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
pub(super) fn dedent(text: &str, partial_first: bool) -> String {
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
pub(super) fn clean_title(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.strip_suffix(':') {
        Some(t) => t.trim_end().to_string(),
        None => joined,
    }
}

/// A prose line as a title: its first sentence when more follows, cut at a
/// word when still too long. Returns whether it was shortened.
pub(super) fn summarize(line: String) -> (String, bool) {
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

/// Positions of `<!-- rollsafe` / `<!-- verify` that Markdown read as text
/// (outside code), because the comment is never closed.
pub(super) fn unclosed_notes(doc: &Doc<'_>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_code = 0usize;
    for (event, r) in &doc.events {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Text(_) if in_code == 0 => {
                // Markdown splits `<` from what follows: read a little further, but
                // never scan to the end of the line (a line of many text events
                // would be read once per event).
                let mut end = (r.end + 64).min(doc.text.len());
                while !doc.text.is_char_boundary(end) {
                    end -= 1;
                }
                if let Some(k) = doc.slice(r.end..end).find('\n') {
                    end = r.end + k;
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
