//! Problems found while loading a playbook, each pinned to file, line and column.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 for a problem with the whole file (unreadable, not found).
    pub line: usize,
    /// 1-based, counted in characters; 0 with line 0.
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    /// A problem with the file as a whole, shown as `file: message`.
    pub fn whole_file(file: &str, message: String) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Byte offset to line/column for one source text.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, line_starts }
    }

    /// 1-based line and character column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        // Offsets from parsers can land inside a multi-byte character; round down.
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text[start..end].chars().count() + 1;
        (line + 1, column)
    }
}

/// At most this many problems are reported per file; a page of 100,000 bad
/// keys would otherwise print 100,000 lines (and cost a column count each).
pub const MAX_PROBLEMS: usize = 100;

/// Collects diagnostics for one file.
#[derive(Debug)]
pub struct Reporter<'a> {
    file: String,
    index: LineIndex<'a>,
    pub found: Vec<Diagnostic>,
    /// Problems past `MAX_PROBLEMS`: how many, and where the first was.
    dropped: usize,
    first_dropped: usize,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &str, text: &'a str) -> Self {
        Self {
            file: file.to_string(),
            index: LineIndex::new(text),
            found: Vec::new(),
            dropped: 0,
            first_dropped: 0,
        }
    }

    pub fn at(&mut self, offset: usize, message: impl Into<String>) {
        if self.found.len() >= MAX_PROBLEMS {
            if self.dropped == 0 {
                self.first_dropped = offset;
            }
            self.dropped += 1;
            return;
        }
        let (line, column) = self.index.position(offset);
        self.found.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }

    /// Sorted by position; past the cap, one closing line says how many more there are.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|d| (d.line, d.column));
        if self.dropped > 0 {
            let (line, column) = self.index.position(self.first_dropped);
            self.found.push(Diagnostic {
                file: self.file.clone(),
                line,
                column,
                message: format!(
                    "{} more problems not shown (at most {MAX_PROBLEMS} are reported per file); fix these first",
                    self.dropped
                ),
            });
        }
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\nçd\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(1), (1, 2));
        assert_eq!(index.position(3), (2, 1));
        // 'd' sits after the two-byte 'ç': byte 5, column 2.
        assert_eq!(index.position(5), (2, 2));
        assert_eq!(index.position(4), (2, 1), "inside a character rounds down");
        assert_eq!(index.position(999), (3, 1));
    }

    #[test]
    fn problems_past_the_cap_become_one_closing_line() {
        let text = "x".repeat(1000);
        let mut report = Reporter::new("f.md", &text);
        for i in 0..MAX_PROBLEMS + 7 {
            report.at(i, format!("problem {i}"));
        }
        let found = report.into_sorted();
        assert_eq!(found.len(), MAX_PROBLEMS + 1);
        assert_eq!(
            found[MAX_PROBLEMS - 1].message,
            format!("problem {}", MAX_PROBLEMS - 1)
        );
        let last = &found[MAX_PROBLEMS];
        assert!(
            last.message.starts_with("7 more problems not shown"),
            "{}",
            last.message
        );
        assert_eq!((last.line, last.column), (1, MAX_PROBLEMS + 1));
    }
}
