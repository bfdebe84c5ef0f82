//! Markdown → [`Text`] for the runner's step-detail pane.
//!
//! Step details are written in Markdown (CommonMark plus GFM tables, task
//! lists and strikethrough). [`markdown_to_text`] lays them out for a terminal
//! of a given width: it wraps paragraphs itself, so the caller renders the
//! result with a `Paragraph` *without* `Wrap` (long code lines and over-wide
//! tables are then clipped by the widget rather than re-wrapped).
//!
//! Widths are counted in `char`s. Wrapping happens only at whitespace, except
//! that a word longer than the whole line is split between two `char`s.
//! With `color == false` only modifiers are used (bold, italic, underline,
//! dim, crossed out), never a foreground or background colour, so the output
//! honours `NO_COLOR`; inline code then keeps its backticks.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};

/// The styles of every element, one set per colour mode.
struct Theme {
    /// H1 and H2.
    heading_major: Style,
    /// H3 to H6.
    heading_minor: Style,
    emphasis: Style,
    strong: Style,
    strikethrough: Style,
    inline_code: Style,
    code_block: Style,
    /// The `  │ ` in front of each code-block line.
    code_gutter: Style,
    /// The `▌ ` in front of each block-quote line.
    quote_bar: Style,
    link_text: Style,
    /// The ` (url)` after a link's text.
    link_url: Style,
    /// `• ` and `1. `.
    list_marker: Style,
    task_open: Style,
    task_done: Style,
    table_header: Style,
    /// ` │ `, `─┼─` and the header rule.
    table_border: Style,
    /// A thematic break (`---`).
    rule: Style,
}

/// Modifiers only: legible under `NO_COLOR` and on monochrome terminals.
const PLAIN_THEME: Theme = Theme {
    heading_major: Style::new()
        .add_modifier(Modifier::BOLD)
        .add_modifier(Modifier::UNDERLINED),
    heading_minor: Style::new().add_modifier(Modifier::BOLD),
    emphasis: Style::new().add_modifier(Modifier::ITALIC),
    strong: Style::new().add_modifier(Modifier::BOLD),
    strikethrough: Style::new().add_modifier(Modifier::CROSSED_OUT),
    inline_code: Style::new(),
    code_block: Style::new(),
    code_gutter: Style::new().add_modifier(Modifier::DIM),
    quote_bar: Style::new().add_modifier(Modifier::DIM),
    link_text: Style::new().add_modifier(Modifier::UNDERLINED),
    link_url: Style::new().add_modifier(Modifier::DIM),
    list_marker: Style::new(),
    task_open: Style::new(),
    task_done: Style::new(),
    table_header: Style::new().add_modifier(Modifier::BOLD),
    table_border: Style::new().add_modifier(Modifier::DIM),
    rule: Style::new().add_modifier(Modifier::DIM),
};

/// The same modifiers as [`PLAIN_THEME`], plus foreground colours.
const COLOR_THEME: Theme = Theme {
    heading_major: PLAIN_THEME.heading_major.fg(Color::LightCyan),
    heading_minor: PLAIN_THEME.heading_minor.fg(Color::Cyan),
    emphasis: PLAIN_THEME.emphasis,
    strong: PLAIN_THEME.strong,
    strikethrough: PLAIN_THEME.strikethrough,
    inline_code: Style::new().fg(Color::Yellow),
    code_block: Style::new().fg(Color::Yellow),
    code_gutter: PLAIN_THEME.code_gutter.fg(Color::DarkGray),
    quote_bar: Style::new().fg(Color::Blue),
    link_text: PLAIN_THEME.link_text.fg(Color::LightBlue),
    link_url: PLAIN_THEME.link_url.fg(Color::DarkGray),
    list_marker: Style::new().fg(Color::Cyan),
    task_open: Style::new().fg(Color::Yellow),
    task_done: Style::new().fg(Color::Green),
    table_header: PLAIN_THEME.table_header.fg(Color::Cyan),
    table_border: PLAIN_THEME.table_border.fg(Color::DarkGray),
    rule: PLAIN_THEME.rule.fg(Color::DarkGray),
};

const MIN_WIDTH: u16 = 10;
const BULLET: &str = "• ";
const TASK_OPEN: &str = "☐ ";
const TASK_DONE: &str = "☑ ";
const CODE_GUTTER: &str = "  │ ";
const QUOTE_BAR: &str = "▌ ";
const CELL_SEPARATOR: &str = " │ ";
const HEADER_CROSSING: &str = "─┼─";
const HORIZONTAL: char = '─';
const ELLIPSIS: char = '…';
/// Tabs inside code blocks become this many spaces.
const TAB_WIDTH: usize = 4;

/// Markdown rendered for the terminal, wrapped to `width` columns (width >= 10; clamp smaller to 10).
///
/// Blocks are separated by one blank line; raw HTML (such as
/// `<!-- rollsafe: ... -->` annotations) is hidden. See the module docs for
/// how widths are counted and what `color` changes.
pub fn markdown_to_text(markdown: &str, width: u16, color: bool) -> Text<'static> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let theme = if color { &COLOR_THEME } else { &PLAIN_THEME };
    let mut renderer = Renderer::new(theme, color, usize::from(width.max(MIN_WIDTH)));
    for event in Parser::new_ext(markdown, options) {
        renderer.event(event);
    }
    renderer.finish()
}

/// The text of each line, styles dropped: for tests and snapshots.
pub fn to_plain_lines(text: &Text) -> Vec<String> {
    text.lines
        .iter()
        .map(|line| {
            line.spans
                .iter()
                .map(|span| span.content.as_ref())
                .collect()
        })
        .collect()
}

/// A run of text in one style.
type Piece = (String, Style);

/// Inline content, ready to be wrapped.
enum Token {
    /// Characters with no whitespace between them, possibly in several styles.
    Word(Vec<Piece>),
    /// A place where the line may break (collapsed whitespace, soft break).
    Space(Style),
    /// A hard break.
    Break,
}

fn push_char(pieces: &mut Vec<Piece>, c: char, style: Style) {
    match pieces.last_mut() {
        Some((text, last)) if *last == style => text.push(c),
        _ => pieces.push((c.to_string(), style)),
    }
}

fn push_str(pieces: &mut Vec<Piece>, s: &str, style: Style) {
    match pieces.last_mut() {
        Some((text, last)) if *last == style => text.push_str(s),
        _ => pieces.push((s.to_owned(), style)),
    }
}

fn pieces_width(pieces: &[Piece]) -> usize {
    pieces.iter().map(|(text, _)| text.chars().count()).sum()
}

fn trim_end(pieces: &mut Vec<Piece>) {
    while let Some((text, _)) = pieces.last_mut() {
        let kept = text.trim_end().len();
        text.truncate(kept);
        if !text.is_empty() {
            break;
        }
        pieces.pop();
    }
}

/// Breaks tokens into lines of at most `avail` (>= 1) chars.
fn wrap(tokens: &[Token], avail: usize) -> Vec<Vec<Piece>> {
    let mut lines = Vec::new();
    let mut line: Vec<Piece> = Vec::new();
    let mut used = 0;
    let mut space: Option<Style> = None;
    for token in tokens {
        match token {
            Token::Break => {
                lines.push(std::mem::take(&mut line));
                used = 0;
                space = None;
            }
            Token::Space(style) => {
                if used > 0 {
                    space = Some(*style);
                }
            }
            Token::Word(pieces) => {
                let width = pieces_width(pieces);
                if used > 0 {
                    let gap = usize::from(space.is_some());
                    if used + gap + width <= avail {
                        if let Some(style) = space {
                            push_char(&mut line, ' ', style);
                        }
                        used += gap;
                    } else {
                        lines.push(std::mem::take(&mut line));
                        used = 0;
                    }
                }
                space = None;
                // Only a word longer than a whole line gets split here.
                for (text, style) in pieces {
                    for c in text.chars() {
                        if used >= avail {
                            lines.push(std::mem::take(&mut line));
                            used = 0;
                        }
                        push_char(&mut line, c, *style);
                        used += 1;
                    }
                }
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Inline tokens flattened onto one line (for table cells).
fn flatten(tokens: Vec<Token>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for token in tokens {
        match token {
            Token::Word(pieces) => {
                for (text, style) in pieces {
                    push_str(&mut out, &text, style);
                }
            }
            Token::Space(style) => {
                if !out.is_empty() {
                    push_char(&mut out, ' ', style);
                }
            }
            Token::Break => {
                if !out.is_empty() {
                    push_char(&mut out, ' ', Style::new());
                }
            }
        }
    }
    trim_end(&mut out);
    out
}

/// Cuts `pieces` to `width` chars, ending in `…` when something was cut.
fn truncate(pieces: Vec<Piece>, width: usize) -> Vec<Piece> {
    if pieces_width(&pieces) <= width {
        return pieces;
    }
    let mut out = Vec::new();
    let mut room = width.saturating_sub(1);
    let mut last_style = Style::new();
    for (text, style) in pieces {
        if room == 0 {
            break;
        }
        let kept: String = text.chars().take(room).collect();
        room -= kept.chars().count();
        last_style = style;
        push_str(&mut out, &kept, style);
    }
    if width > 0 {
        push_char(&mut out, ELLIPSIS, last_style);
    }
    out
}

/// Drops control characters (they would corrupt the terminal) and expands tabs.
fn sanitize_code_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c == '\t' {
            out.extend(std::iter::repeat_n(' ', TAB_WIDTH));
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

enum Container {
    Quote,
    Item {
        marker: Vec<Piece>,
        /// Width of `marker`; later lines of the item are indented by this much.
        width: usize,
        /// The marker has not been printed yet: the item's first line will.
        pending: bool,
        ordered: bool,
    },
}

struct ListState {
    /// The next item's number, for an ordered list.
    next: Option<u64>,
    /// Items hold paragraphs: keep a blank line between items.
    loose: bool,
    items: usize,
}

struct LinkState {
    url: String,
    text: String,
}

struct TableState {
    alignments: Vec<Alignment>,
    header: Option<Vec<Vec<Piece>>>,
    rows: Vec<Vec<Vec<Piece>>>,
    row: Vec<Vec<Piece>>,
}

struct Renderer {
    theme: &'static Theme,
    color: bool,
    width: usize,
    lines: Vec<Line<'static>>,
    containers: Vec<Container>,
    lists: Vec<ListState>,
    /// A blank line is owed before the next line; it is prefixed by the
    /// first this-many containers (so a blank line after a quote has no bar).
    pending_blank: Option<usize>,
    inline: Vec<Token>,
    styles: Vec<Style>,
    links: Vec<LinkState>,
    code_block: Option<String>,
    table: Option<TableState>,
    in_html_block: bool,
}

impl Renderer {
    fn new(theme: &'static Theme, color: bool, width: usize) -> Self {
        Self {
            theme,
            color,
            width,
            lines: Vec::new(),
            containers: Vec::new(),
            lists: Vec::new(),
            pending_blank: None,
            inline: Vec::new(),
            styles: Vec::new(),
            links: Vec::new(),
            code_block: None,
            table: None,
            in_html_block: false,
        }
    }

    fn finish(mut self) -> Text<'static> {
        self.flush_inline();
        Text::from(self.lines)
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, style: Style) {
        let patched = self.style().patch(style);
        self.styles.push(patched);
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.inline_code(&code),
            Event::InlineMath(math) | Event::DisplayMath(math) => self.inline_code(&math),
            Event::Html(_) | Event::InlineHtml(_) => {}
            Event::FootnoteReference(name) => {
                let style = self.style();
                self.push_inline_text(&format!("[^{name}]"), style);
            }
            Event::SoftBreak => self.push_space(self.style()),
            Event::HardBreak => self.inline.push(Token::Break),
            Event::Rule => {
                self.flush_inline();
                let rule = HORIZONTAL.to_string().repeat(self.avail());
                self.emit_line(vec![(rule, self.theme.rule)]);
                self.blank_after_block();
            }
            Event::TaskListMarker(done) => self.task_marker(done),
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Paragraph => {
                self.flush_inline();
                if matches!(self.containers.last(), Some(Container::Item { .. }))
                    && let Some(list) = self.lists.last_mut()
                {
                    list.loose = true;
                }
            }
            Tag::Heading { level, .. } => {
                self.flush_inline();
                let style = match level {
                    HeadingLevel::H1 | HeadingLevel::H2 => self.theme.heading_major,
                    _ => self.theme.heading_minor,
                };
                self.push_style(style);
            }
            Tag::BlockQuote(_) => {
                self.flush_inline();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(_) => {
                self.flush_inline();
                self.code_block = Some(String::new());
            }
            Tag::HtmlBlock => {
                self.flush_inline();
                self.in_html_block = true;
            }
            Tag::List(start) => {
                self.flush_inline();
                self.lists.push(ListState {
                    next: start,
                    loose: false,
                    items: 0,
                });
            }
            Tag::Item => self.start_item(),
            Tag::Table(alignments) => {
                self.flush_inline();
                self.table = Some(TableState {
                    alignments,
                    header: None,
                    rows: Vec::new(),
                    row: Vec::new(),
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.row.clear();
                }
            }
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.push_style(self.theme.emphasis),
            Tag::Strong => self.push_style(self.theme.strong),
            Tag::Strikethrough => self.push_style(self.theme.strikethrough),
            Tag::Superscript | Tag::Subscript => self.push_style(Style::new()),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(LinkState {
                    url: dest_url.into_string(),
                    text: String::new(),
                });
                self.push_style(self.theme.link_text);
            }
            // Not enabled in the parser options; their content renders as plain blocks.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.flush_inline(),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush_inline();
                self.blank_after_block();
            }
            TagEnd::Heading(_) => {
                self.flush_inline();
                self.styles.pop();
                self.blank_after_block();
            }
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                self.containers.pop();
                self.blank_after_block();
            }
            TagEnd::CodeBlock => {
                self.end_code_block();
                self.blank_after_block();
            }
            TagEnd::HtmlBlock => self.in_html_block = false,
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                self.blank_after_block();
            }
            TagEnd::Item => {
                self.flush_inline();
                if let Some(Container::Item { pending: true, .. }) = self.containers.last() {
                    // An empty item still shows its marker.
                    self.emit_line(Vec::new());
                }
                self.containers.pop();
            }
            TagEnd::Table => {
                self.end_table();
                self.blank_after_block();
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    table.header = Some(std::mem::take(&mut table.row));
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::TableCell => {
                let cell = flatten(std::mem::take(&mut self.inline));
                if let Some(table) = &mut self.table {
                    table.row.push(cell);
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => self.end_link(),
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => {
                self.flush_inline();
                self.blank_after_block();
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_html_block {
            return;
        }
        if let Some(code) = &mut self.code_block {
            code.push_str(text);
            return;
        }
        if let Some(link) = self.links.last_mut() {
            link.text.push_str(text);
        }
        let style = self.style();
        self.push_inline_text(text, style);
    }

    fn inline_code(&mut self, code: &str) {
        if let Some(link) = self.links.last_mut() {
            link.text.push_str(code);
        }
        let style = self.style().patch(self.theme.inline_code);
        if self.color {
            self.push_inline_text(code, style);
        } else {
            // Without colour the backticks are what marks the code.
            self.push_inline_text(&format!("`{code}`"), style);
        }
    }

    fn push_space(&mut self, style: Style) {
        if !matches!(self.inline.last(), Some(Token::Space(_))) {
            self.inline.push(Token::Space(style));
        }
    }

    fn push_inline_text(&mut self, text: &str, style: Style) {
        for c in text.chars() {
            // A no-break space stays inside its word.
            if c.is_whitespace() && c != '\u{a0}' {
                self.push_space(style);
            } else if c.is_control() {
                // Never send control characters to the terminal.
            } else if let Some(Token::Word(pieces)) = self.inline.last_mut() {
                push_char(pieces, c, style);
            } else {
                self.inline.push(Token::Word(vec![(c.to_string(), style)]));
            }
        }
    }

    fn start_item(&mut self) {
        self.flush_inline();
        let (number, first, loose) = match self.lists.last_mut() {
            Some(list) => {
                let number = list.next;
                list.next = list.next.map(|n| n.saturating_add(1));
                list.items += 1;
                (number, list.items == 1, list.loose)
            }
            None => (None, true, false),
        };
        // The blank line before the list stays; between items only in loose lists.
        if !first && !loose {
            self.pending_blank = None;
        }
        let marker = match number {
            Some(n) => format!("{n}. "),
            None => BULLET.to_owned(),
        };
        let width = marker.chars().count();
        self.containers.push(Container::Item {
            marker: vec![(marker, self.theme.list_marker)],
            width,
            pending: true,
            ordered: number.is_some(),
        });
    }

    fn task_marker(&mut self, done: bool) {
        let (glyph, style) = if done {
            (TASK_DONE, self.theme.task_done)
        } else {
            (TASK_OPEN, self.theme.task_open)
        };
        if let Some(Container::Item {
            marker,
            width,
            pending: true,
            ordered,
        }) = self.containers.last_mut()
        {
            if !*ordered {
                marker.clear();
            }
            marker.push((glyph.to_owned(), style));
            *width = pieces_width(marker);
        } else {
            self.push_inline_text(glyph.trim_end(), style);
            self.push_space(Style::new());
        }
    }

    fn end_link(&mut self) {
        self.styles.pop();
        let Some(link) = self.links.pop() else {
            return;
        };
        let url = link.url.trim();
        let same = url == link.text || url.strip_prefix("mailto:") == Some(link.text.as_str());
        if url.is_empty() || same {
            return;
        }
        if let Some(outer) = self.links.last_mut() {
            outer.text.push_str(&format!(" ({url})"));
        }
        let base = self.style();
        self.push_space(base);
        self.push_inline_text(&format!("({url})"), base.patch(self.theme.link_url));
    }

    fn end_code_block(&mut self) {
        let Some(code) = self.code_block.take() else {
            return;
        };
        let code = code.strip_suffix('\n').unwrap_or(&code);
        for line in code.split('\n') {
            let line = sanitize_code_line(line);
            self.emit_line(vec![
                (CODE_GUTTER.to_owned(), self.theme.code_gutter),
                (line, self.theme.code_block),
            ]);
        }
    }

    fn end_table(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        let header = table.header.unwrap_or_default();
        let columns = table
            .rows
            .iter()
            .map(Vec::len)
            .chain([header.len()])
            .max()
            .unwrap_or(0);
        if columns == 0 {
            return;
        }
        let mut widths = vec![1; columns];
        for row in table.rows.iter().chain([&header]) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(pieces_width(cell));
            }
        }
        // Shrink the widest column until the table fits (or nothing can shrink).
        let avail = self.avail();
        let separators = CELL_SEPARATOR.chars().count() * (columns - 1);
        let mut total: usize = widths.iter().sum::<usize>() + separators;
        while total > avail {
            let Some(widest) = (0..columns).max_by_key(|&i| (widths[i], usize::MAX - i)) else {
                break;
            };
            if widths[widest] <= 1 {
                break;
            }
            widths[widest] -= 1;
            total -= 1;
        }

        let header_style = self.theme.table_header;
        let header: Vec<Vec<Piece>> = header
            .into_iter()
            .map(|cell| {
                cell.into_iter()
                    .map(|(text, style)| (text, style.patch(header_style)))
                    .collect()
            })
            .collect();
        let has_header = !header.is_empty();
        if has_header {
            let line = self.table_row(header, &widths, &table.alignments);
            self.emit_line(line);
            let rule: Vec<String> = widths
                .iter()
                .map(|&w| HORIZONTAL.to_string().repeat(w))
                .collect();
            self.emit_line(vec![(rule.join(HEADER_CROSSING), self.theme.table_border)]);
        }
        for row in table.rows {
            let line = self.table_row(row, &widths, &table.alignments);
            self.emit_line(line);
        }
    }

    fn table_row(
        &self,
        cells: Vec<Vec<Piece>>,
        widths: &[usize],
        alignments: &[Alignment],
    ) -> Vec<Piece> {
        let mut cells = cells.into_iter();
        let mut line = Vec::new();
        for (i, &width) in widths.iter().enumerate() {
            if i > 0 {
                line.push((CELL_SEPARATOR.to_owned(), self.theme.table_border));
            }
            let cell = truncate(cells.next().unwrap_or_default(), width);
            let room = width.saturating_sub(pieces_width(&cell));
            let left = match alignments.get(i) {
                Some(Alignment::Right) => room,
                Some(Alignment::Center) => room / 2,
                _ => 0,
            };
            if left > 0 {
                line.push((" ".repeat(left), Style::new()));
            }
            line.extend(cell);
            if room > left {
                line.push((" ".repeat(room - left), Style::new()));
            }
        }
        line
    }

    /// Wraps and emits the pending inline content, if any.
    fn flush_inline(&mut self) {
        if self.table.is_some() || self.inline.is_empty() {
            return;
        }
        let tokens = std::mem::take(&mut self.inline);
        for line in wrap(&tokens, self.avail()) {
            self.emit_line(line);
        }
    }

    /// Columns left for content once the containers' prefixes are printed.
    fn avail(&self) -> usize {
        let prefix: usize = self
            .containers
            .iter()
            .map(|container| match container {
                Container::Quote => QUOTE_BAR.chars().count(),
                Container::Item { width, .. } => *width,
            })
            .sum();
        self.width.saturating_sub(prefix).max(1)
    }

    fn blank_after_block(&mut self) {
        let depth = self.containers.len();
        self.pending_blank = Some(self.pending_blank.map_or(depth, |d| d.min(depth)));
    }

    /// The prefixes of the first `depth` containers; `first` prints pending item markers.
    fn prefix(&mut self, depth: usize, first: bool) -> Vec<Piece> {
        let quote_bar = self.theme.quote_bar;
        let mut out = Vec::new();
        for container in self.containers.iter_mut().take(depth) {
            match container {
                Container::Quote => push_str(&mut out, QUOTE_BAR, quote_bar),
                Container::Item {
                    marker,
                    width,
                    pending,
                    ..
                } => {
                    if *pending && first {
                        *pending = false;
                        for (text, style) in marker.iter() {
                            push_str(&mut out, text, *style);
                        }
                    } else {
                        push_str(&mut out, &" ".repeat(*width), Style::new());
                    }
                }
            }
        }
        out
    }

    /// Pushes one output line (owed blank line first), prefixed by the containers.
    fn emit_line(&mut self, content: Vec<Piece>) {
        if let Some(depth) = self.pending_blank.take()
            && !self.lines.is_empty()
        {
            let blank = self.prefix(depth, false);
            self.push_line(blank);
        }
        let mut pieces = self.prefix(self.containers.len(), true);
        for (text, style) in content {
            push_str(&mut pieces, &text, style);
        }
        self.push_line(pieces);
    }

    fn push_line(&mut self, mut pieces: Vec<Piece>) {
        trim_end(&mut pieces);
        let spans: Vec<Span<'static>> = pieces
            .into_iter()
            .filter(|(text, _)| !text.is_empty())
            .map(|(text, style)| Span::styled(text, style))
            .collect();
        self.lines.push(Line::from(spans));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(markdown: &str, width: u16) -> Vec<String> {
        to_plain_lines(&markdown_to_text(markdown, width, false))
    }

    /// Asserts the no-colour rendering line by line (with a readable diff on failure).
    #[track_caller]
    fn assert_lines(markdown: &str, width: u16, expected: &[&str]) {
        let actual = plain(markdown, width);
        assert_eq!(
            actual,
            expected,
            "\n--- actual ---\n{}\n--- expected ---\n{}\n",
            actual.join("\n"),
            expected.join("\n")
        );
    }

    const DETAIL: &str = "\
# Roll back the orders migration

Before you start, confirm that replica lag is under five seconds and nobody else is deploying.
<!-- rollsafe: expect=120s owner=db-oncall -->

1. Pause writes:
   - drain the `orders` queue
   - flip `orders_write` off
2. Run the rollback

- [x] snapshot taken
- [ ] rollback verified

```sql
SELECT count(*) FROM orders WHERE status = 'pending';
```

| Check | Expected |
|-------|---------:|
| lag   | < 5s     |
| errors | 0 |

<!-- rollsafe: checkpoint -->

See [the dashboard](https://grafana.example/d/orders) or <https://status.example>.

> Stop if errors *exceed* 1%.
";

    #[test]
    fn representative_detail_renders_exactly() {
        assert_lines(
            DETAIL,
            30,
            &[
                "Roll back the orders migration",
                "",
                "Before you start, confirm that",
                "replica lag is under five",
                "seconds and nobody else is",
                "deploying.",
                "",
                "1. Pause writes:",
                "   • drain the `orders` queue",
                "   • flip `orders_write` off",
                "2. Run the rollback",
                "",
                "☑ snapshot taken",
                "☐ rollback verified",
                "",
                "  │ SELECT count(*) FROM orders WHERE status = 'pending';",
                "",
                "Check  │ Expected",
                "───────┼─────────",
                "lag    │     < 5s",
                "errors │        0",
                "",
                "See the dashboard",
                "(https://grafana.example/d/ord",
                "ers) or",
                "https://status.example.",
                "",
                "▌ Stop if errors exceed 1%.",
            ],
        );
    }

    #[test]
    fn paragraph_wraps_at_word_boundaries() {
        assert_lines(
            "Drain the connection pool before you restart the primary, then watch the dashboards.",
            30,
            &[
                "Drain the connection pool",
                "before you restart the",
                "primary, then watch the",
                "dashboards.",
            ],
        );
    }

    #[test]
    fn soft_break_is_a_space_and_hard_break_a_new_line() {
        assert_lines(
            "one\ntwo  \nthree\\\nfour",
            30,
            &["one two", "three", "four"],
        );
    }

    #[test]
    fn words_longer_than_the_line_are_split_between_chars() {
        assert_lines("ééééééééééééé ok", 10, &["éééééééééé", "ééé ok"]);
    }

    #[test]
    fn nested_lists_indent_and_continuations_align() {
        assert_lines(
            "- first item that is long enough to wrap\n  - nested item wraps under its text\n    - third\n- second\n",
            24,
            &[
                "• first item that is",
                "  long enough to wrap",
                "  • nested item wraps",
                "    under its text",
                "    • third",
                "• second",
            ],
        );
    }

    #[test]
    fn ordered_lists_count_from_their_start() {
        assert_lines(
            "3. three\n4. four which wraps here\n",
            16,
            &["3. three", "4. four which", "   wraps here"],
        );
    }

    #[test]
    fn loose_lists_keep_blank_lines_between_items() {
        assert_lines(
            "- one\n\n  more\n\n- two\n\nafter",
            30,
            &["• one", "", "  more", "", "• two", "", "after"],
        );
    }

    #[test]
    fn task_lists_use_check_boxes() {
        assert_lines(
            "- [ ] take a snapshot of the primary\n- [x] page the DBA\n1. [x] numbered\n",
            24,
            &[
                "☐ take a snapshot of the",
                "  primary",
                "☑ page the DBA",
                "",
                "1. ☑ numbered",
            ],
        );
    }

    #[test]
    fn code_blocks_are_fenced_and_never_wrapped() {
        assert_lines(
            "Run:\n\n```bash\npsql -c 'select pg_cancel_backend(pid) from pg_stat_activity'\n\n\tfi\n```\n\nDone.",
            20,
            &[
                "Run:",
                "",
                "  │ psql -c 'select pg_cancel_backend(pid) from pg_stat_activity'",
                "  │",
                "  │     fi",
                "",
                "Done.",
            ],
        );
    }

    #[test]
    fn code_block_inside_list_item_keeps_the_item_indent() {
        assert_lines(
            "- run\n  ```\n  make\n  ```\n- next",
            30,
            &["• run", "    │ make", "• next"],
        );
    }

    #[test]
    fn tables_align_columns() {
        assert_lines(
            "| Step | Owner | Left |\n|:-----|:-----:|-----:|\n| drain | dba | 2 |\n| flip flag | sre | 10 |\n",
            40,
            &[
                "Step      │ Owner │ Left",
                "──────────┼───────┼─────",
                "drain     │  dba  │    2",
                "flip flag │  sre  │   10",
            ],
        );
    }

    #[test]
    fn wide_tables_truncate_cells() {
        assert_lines(
            "| Command | Meaning |\n|---|---|\n| pg_ctl promote | make the standby primary |\n",
            24,
            &[
                "Command    │ Meaning",
                "───────────┼────────────",
                "pg_ctl pr… │ make the s…",
            ],
        );
    }

    #[test]
    fn links_show_their_url_unless_it_is_the_text() {
        assert_lines(
            "See [runbook](https://wiki/rb) and <https://x.io> and <ops@example.com>.",
            80,
            &["See runbook (https://wiki/rb) and https://x.io and ops@example.com."],
        );
    }

    #[test]
    fn html_is_hidden() {
        assert_lines(
            "<!-- rollsafe: owner=dba -->\n\nBefore <!-- inline --> after\n\n<div>\nhidden\n</div>\n\nEnd",
            30,
            &["Before after", "", "End"],
        );
    }

    #[test]
    fn block_quotes_prefix_every_line() {
        assert_lines(
            "Intro\n\n> careful: this drops the table for good\n>\n> > nested\n\nAfter",
            24,
            &[
                "Intro",
                "",
                "▌ careful: this drops",
                "▌ the table for good",
                "▌",
                "▌ ▌ nested",
                "",
                "After",
            ],
        );
    }

    #[test]
    fn thematic_break_spans_the_width() {
        assert_lines("a\n\n---\n\nb", 12, &["a", "", "────────────", "", "b"]);
    }

    #[test]
    fn widths_below_ten_are_clamped() {
        assert_lines("aaaa bbbb cccc", 0, &["aaaa bbbb", "cccc"]);
        assert_eq!(plain("aaaa bbbb cccc", 3), plain("aaaa bbbb cccc", 10));
    }

    #[test]
    fn headings_are_bold_and_major_ones_underlined() {
        for color in [false, true] {
            let text = markdown_to_text("# One\n\n## Two\n\n### Three `code`\n\nbody", 40, color);
            let lines = to_plain_lines(&text);
            assert_eq!(
                lines,
                ["One", "", "Two", "", "Three `code`", "", "body"].map(|l| if color {
                    l.replace('`', "")
                } else {
                    l.to_owned()
                })
            );
            for (index, underlined) in [(0, true), (2, true), (4, false)] {
                for span in &text.lines[index].spans {
                    assert!(span.style.add_modifier.contains(Modifier::BOLD), "{span:?}");
                    assert_eq!(
                        span.style.add_modifier.contains(Modifier::UNDERLINED),
                        underlined,
                        "{span:?}"
                    );
                }
            }
            for span in &text.lines[6].spans {
                assert!(!span.style.add_modifier.contains(Modifier::BOLD));
            }
        }
    }

    #[test]
    fn inline_styles_map_to_modifiers() {
        let text = markdown_to_text("*it* **bold** ~~gone~~ `code`", 40, false);
        let spans: Vec<(String, Modifier)> = text.lines[0]
            .spans
            .iter()
            .map(|s| (s.content.to_string(), s.style.add_modifier))
            .collect();
        assert_eq!(
            spans,
            [
                ("it".to_owned(), Modifier::ITALIC),
                (" ".to_owned(), Modifier::empty()),
                ("bold".to_owned(), Modifier::BOLD),
                (" ".to_owned(), Modifier::empty()),
                ("gone".to_owned(), Modifier::CROSSED_OUT),
                (" `code`".to_owned(), Modifier::empty()),
            ]
        );
    }

    #[test]
    fn no_color_uses_no_colors_and_color_drops_backticks() {
        let plain_text = markdown_to_text(DETAIL, 30, false);
        for span in plain_text.lines.iter().flat_map(|l| &l.spans) {
            assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
        }
        let colored = markdown_to_text("run `make`", 30, true);
        assert_eq!(to_plain_lines(&colored), ["run make"]);
        assert!(
            colored.lines[0]
                .spans
                .iter()
                .any(|s| s.content == "make" && s.style.fg == Some(Color::Yellow))
        );
    }

    /// A deterministic stream of markdown-ish garbage: no input may panic.
    #[test]
    fn garbage_input_never_panics() {
        const ALPHABET: &[char] = &[
            '*', '_', '`', '[', ']', '(', ')', '#', '-', '|', '>', '!', '<', '\n', ' ', ' ', 'a',
            'b', '1', '.', '~', '\\', ':', '\t', 'é', '→', '☐', '日', '🦀', '\u{301}', '\u{a0}',
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for case in 0..600 {
            let len = (next() % 120) as usize;
            let input: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let width = 10 + (case % 71) as u16;
            for color in [false, true] {
                let text = markdown_to_text(&input, width, color);
                // Lines are well-formed: no span is empty and nothing ends in blanks.
                for line in &text.lines {
                    assert!(
                        line.spans.iter().all(|s| !s.content.is_empty()),
                        "{input:?}"
                    );
                    if let Some(last) = line.spans.last() {
                        assert_eq!(last.content.trim_end(), last.content, "{input:?}");
                    }
                }
            }
        }
        // Pathological shapes.
        let deep_quote = ">".repeat(200) + " x";
        let deep_list = (0..60)
            .map(|i| format!("{}- x\n", "  ".repeat(i)))
            .collect::<String>();
        let long_word = "x".repeat(5000);
        let wide_table = format!("|{}\n|{}\n", "a|".repeat(50), "-|".repeat(50));
        for input in [&deep_quote, &deep_list, &long_word, &wide_table] {
            for width in [0, 10, 80] {
                let _ = markdown_to_text(input, width, true);
            }
        }
    }
}
