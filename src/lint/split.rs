//! Splits a migration file into statements with byte offsets, so one statement that the parser
//! cannot read does not hide the others. Knows quotes, comments, PostgreSQL dollar quoting and
//! BEGIN … END bodies of triggers and routines (MySQL, SQLite). A comment, string or dollar
//! quote that is never closed is reported (`unterminated`) and ends with its opening line (a
//! quote at the first `;` on it), so it cannot swallow the statements after it unseen.

use super::EngineKind;

/// One statement: `start..end` are byte offsets of its code (without leading comments or the
/// terminating semicolon); `leading` is the text between the previous statement and this one
/// (comments such as `-- rollsafe:ignore rule-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub leading_start: usize,
}

impl Chunk {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
    pub fn leading<'a>(&self, source: &'a str) -> &'a str {
        &source[self.leading_start..self.start]
    }
}

/// A word of code (keyword or identifier) with its byte offset; strings, quoted identifiers
/// and comments are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub offset: usize,
    pub upper: String,
}

/// Words of a statement text, in order (offsets relative to `text`).
pub fn words(text: &str, engine: EngineKind) -> Vec<Word> {
    let mut out = Vec::new();
    scan(text, engine, |ev| {
        if let Event::Word(offset, w) = ev {
            out.push(Word {
                offset,
                upper: w.to_ascii_uppercase(),
            });
        }
    });
    out
}

/// Splits `source` into statements.
pub fn split(source: &str, engine: EngineKind) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut leading_start = 0;
    let mut start: Option<usize> = None;
    let mut last_code_end = 0;
    // BEGIN … END depth inside CREATE TRIGGER / PROCEDURE / FUNCTION / EVENT (not PostgreSQL,
    // whose bodies are dollar-quoted strings).
    let mut head: Vec<String> = Vec::new();
    let mut block_mode = false;
    let mut depth = 0usize;
    scan(source, engine, |ev| match ev {
        Event::Code(offset, len) => {
            if start.is_none() {
                start = Some(offset);
            }
            last_code_end = offset + len;
        }
        Event::Word(offset, w) => {
            if start.is_none() {
                start = Some(offset);
            }
            last_code_end = offset + w.len();
            let upper = w.to_ascii_uppercase();
            if head.len() < 6 {
                head.push(upper.clone());
                if engine != EngineKind::Postgres
                    && head.first().is_some_and(|h| h == "CREATE")
                    && matches!(
                        upper.as_str(),
                        "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT"
                    )
                {
                    block_mode = true;
                }
            }
            if block_mode {
                match upper.as_str() {
                    "BEGIN" | "CASE" => depth += 1,
                    "END" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        Event::Unterminated(..) => {}
        Event::Semicolon(offset) => {
            if block_mode && depth > 0 {
                last_code_end = offset + 1;
                return;
            }
            if let Some(s) = start.take() {
                chunks.push(Chunk {
                    start: s,
                    end: last_code_end,
                    leading_start,
                });
            }
            leading_start = offset + 1;
            head.clear();
            block_mode = false;
            depth = 0;
        }
    });
    if let Some(s) = start {
        chunks.push(Chunk {
            start: s,
            end: last_code_end,
            leading_start,
        });
    }
    chunks
}

/// Offsets of the single-character code bytes of `text` (punctuation outside strings, quoted
/// names and comments).
pub fn code_bytes(text: &str, engine: EngineKind) -> Vec<usize> {
    let mut out = Vec::new();
    scan(text, engine, |ev| match ev {
        Event::Code(offset, 1) => out.push(offset),
        Event::Semicolon(offset) => out.push(offset),
        _ => {}
    });
    out
}

/// A comment, string or quoted identifier opened at `offset` and never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unterminated {
    pub offset: usize,
    /// What was left open, e.g. "/* comment", "quoted string", "dollar quote $body$".
    pub what: String,
}

/// Everything in `text` opened and never closed, in order.
pub fn unterminated(text: &str, engine: EngineKind) -> Vec<Unterminated> {
    let mut out = Vec::new();
    scan(text, engine, |ev| {
        if let Event::Unterminated(offset, what) = ev {
            out.push(Unterminated { offset, what });
        }
    });
    out
}

enum Event<'a> {
    /// Code that is not a word: punctuation, a string, a quoted identifier (offset, length).
    Code(usize, usize),
    Word(usize, &'a str),
    Semicolon(usize),
    /// Opened at this offset and never closed: scanning goes on after the opening line.
    Unterminated(usize, String),
}

/// Where a quote opened at `at` and never closed is taken to end: the first `;` on its line,
/// or the end of the line, the likeliest end of the statement it broke.
fn quote_end(b: &[u8], at: usize) -> usize {
    let eol = line_end(b, at);
    b[at..eol]
        .iter()
        .position(|&x| x == b';')
        .map_or(eol, |p| at + p)
}

/// Just past the end of the line holding `at` (or the end of the text).
fn line_end(b: &[u8], at: usize) -> usize {
    b[at..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| at + p + 1)
}

fn scan<'a>(text: &'a str, engine: EngineKind, mut emit: impl FnMut(Event<'a>)) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    let backslash_escapes = matches!(engine, EngineKind::Mysql | EngineKind::Mariadb);
    while i < n {
        let c = b[i];
        match c {
            b'-' if i + 1 < n && b[i + 1] == b'-' => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'#' if backslash_escapes => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if i + 1 < n && b[i + 1] == b'*' => {
                let start = i;
                let mut level = 1;
                i += 2;
                while i < n && level > 0 {
                    if b[i] == b'*' && i + 1 < n && b[i + 1] == b'/' {
                        level -= 1;
                        i += 2;
                    } else if engine == EngineKind::Postgres
                        && b[i] == b'/'
                        && i + 1 < n
                        && b[i + 1] == b'*'
                    {
                        level += 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if level > 0 {
                    emit(Event::Unterminated(start, "/* comment".into()));
                    i = line_end(b, start);
                }
            }
            b';' => {
                emit(Event::Semicolon(i));
                i += 1;
            }
            b'\'' | b'"' | b'`' => {
                let start = i;
                // E'…' strings in PostgreSQL take backslash escapes.
                let escapes = backslash_escapes
                    || (c == b'\''
                        && i > 0
                        && (b[i - 1] == b'E' || b[i - 1] == b'e')
                        && (i < 2 || !is_word_byte(b[i - 2])));
                i += 1;
                while i < n {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if i + 1 < n && b[i + 1] == c {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                if i >= n {
                    let what = if c == b'\'' {
                        "quoted string"
                    } else {
                        "quoted identifier"
                    };
                    emit(Event::Unterminated(start, what.into()));
                    i = quote_end(b, start);
                } else {
                    i += 1;
                }
                emit(Event::Code(start, i - start));
            }
            b'$' if engine == EngineKind::Postgres => {
                // $tag$ … $tag$ (tag may be empty); $1 parameters are plain code.
                let start = i;
                let mut j = i + 1;
                while j < n && is_word_byte(b[j]) && !b[j].is_ascii_digit() {
                    j += 1;
                }
                if j < n && b[j] == b'$' {
                    let tag = &text[start..=j];
                    let body = j + 1;
                    match text[body..].find(tag) {
                        Some(p) => i = body + p + tag.len(),
                        None => {
                            emit(Event::Unterminated(start, format!("dollar quote {tag}")));
                            i = quote_end(b, start);
                        }
                    }
                } else {
                    i += 1;
                }
                emit(Event::Code(start, i - start));
            }
            _ if is_word_byte(c) => {
                let start = i;
                while i < n && (is_word_byte(b[i]) || b[i] == b'$') {
                    i += 1;
                }
                emit(Event::Word(start, &text[start..i]));
            }
            _ if c.is_ascii_whitespace() => i += 1,
            _ => {
                let len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                emit(Event::Code(i, len));
                i += len;
            }
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str, engine: EngineKind) -> Vec<&str> {
        split(src, engine).iter().map(|c| c.text(src)).collect()
    }

    #[test]
    fn splits_outside_strings_comments_and_dollar_quotes() {
        let src = "-- a; comment\nSELECT ';'; /* x; */ CREATE FUNCTION f() AS $b$ select 1; $b$ LANGUAGE sql;\nSELECT 2";
        assert_eq!(
            texts(src, EngineKind::Postgres),
            vec![
                "SELECT ';'",
                "CREATE FUNCTION f() AS $b$ select 1; $b$ LANGUAGE sql",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn keeps_trigger_bodies_whole() {
        let src = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = 1; END; SELECT 1;";
        assert_eq!(
            texts(src, EngineKind::Sqlite),
            vec![
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = 1; END",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn unterminated_comment_or_quote_is_reported_and_swallows_nothing() {
        let src = "DROP TABLE a; /* oops\nDROP TABLE b;\nDROP TABLE c;";
        assert_eq!(
            texts(src, EngineKind::Postgres),
            vec!["DROP TABLE a", "DROP TABLE b", "DROP TABLE c"]
        );
        assert_eq!(
            unterminated(src, EngineKind::Postgres),
            vec![Unterminated {
                offset: 14,
                what: "/* comment".into()
            }]
        );
        let src = "CREATE FUNCTION f() AS $x$ select 1;\nDROP TABLE b;";
        let u = unterminated(src, EngineKind::Postgres);
        assert_eq!(u[0].what, "dollar quote $x$");
        assert_eq!(texts(src, EngineKind::Postgres)[1], "DROP TABLE b");
        let src = "SELECT 'it;\nDROP TABLE b;";
        assert_eq!(unterminated(src, EngineKind::Mysql)[0].offset, 7);
        assert_eq!(
            texts(src, EngineKind::Mysql),
            vec!["SELECT 'it", "DROP TABLE b"]
        );
        // Closed ones are not reported.
        assert!(unterminated("SELECT '/*', $$ x $$; /* a */", EngineKind::Postgres).is_empty());
    }

    #[test]
    fn words_skip_strings() {
        let w: Vec<String> = words("ALTER TABLE 'drop' DROP", EngineKind::Postgres)
            .into_iter()
            .map(|w| w.upper)
            .collect();
        assert_eq!(w, vec!["ALTER", "TABLE", "DROP"]);
    }
}
