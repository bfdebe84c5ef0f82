//! Substituting variable values into the `sh -c` text a step runs, quoted
//! for where each `${NAME}` stands, so a value is always data and never code.
//!
//! The command text is scanned as `sh` reads it: unquoted words, '…', "…",
//! `$(…)`, backquotes and here-documents. A value lands as one quoted word
//! when unquoted, escaped inside "…" and '…', and escaped inside a
//! here-document that expands (`<<EOF`), verbatim in one that does not
//! (`<<'EOF'`). What cannot be made safe (a NUL byte; a line break inside a
//! here-document, which could end it early) is refused with the reason.

use std::fmt;

use super::vars::{Token, Vars, tokens};

/// Why a value cannot be substituted safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteError {
    pub name: String,
    pub why: &'static str,
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "variable ${{{}}} cannot be put into this command safely: {}; read it from the environment as \"${}\" instead",
            self.name, self.why, self.name
        )
    }
}

impl std::error::Error for QuoteError {}

/// Where the scanner is in the shell text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Plain words; `parens` counts `(` opened inside, so the `)` that
    /// closes a `$(` is told apart.
    Unquoted {
        parens: u32,
    },
    Single,
    Double,
    Backquote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Heredoc {
    delimiter: String,
    /// `<<'EOF'` and `<<"EOF"` do not expand their body.
    expands: bool,
    /// `<<-` strips leading tabs from each body line and the delimiter.
    strip_tabs: bool,
}

/// The shell's reading state across the text pieces between variables.
#[derive(Debug, Clone)]
struct Scanner {
    stack: Vec<Ctx>,
    /// Here-documents announced on the current line, read after it ends.
    pending: Vec<Heredoc>,
    /// The here-document whose body is being read, with the line so far.
    body: Option<(Heredoc, String)>,
    /// A backslash was the last character: the next one is literal.
    escaped: bool,
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            stack: vec![Ctx::Unquoted { parens: 0 }],
            pending: Vec::new(),
            body: None,
            escaped: false,
        }
    }

    fn top(&self) -> Ctx {
        *self
            .stack
            .last()
            .expect("the outermost context is never popped")
    }

    fn feed(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            i += 1;
            if let Some((doc, line)) = &mut self.body {
                if c == '\n' {
                    let line = if doc.strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line.as_str()
                    };
                    if line == doc.delimiter {
                        self.body = None;
                        self.start_next_body();
                    } else {
                        self.body.as_mut().expect("in a body").1.clear();
                    }
                } else {
                    line.push(c);
                }
                continue;
            }
            if self.escaped {
                self.escaped = false;
                continue;
            }
            match self.top() {
                Ctx::Single => {
                    if c == '\'' {
                        self.stack.pop();
                    }
                }
                Ctx::Double => match c {
                    '\\' => self.escaped = true,
                    '"' => {
                        self.stack.pop();
                    }
                    '`' => self.stack.push(Ctx::Backquote),
                    '$' if next == Some('(') => {
                        i += 1;
                        self.stack.push(Ctx::Unquoted { parens: 0 });
                    }
                    _ => {}
                },
                Ctx::Unquoted { .. } | Ctx::Backquote => match c {
                    '\\' => self.escaped = true,
                    '\'' => self.stack.push(Ctx::Single),
                    '"' => self.stack.push(Ctx::Double),
                    '`' if self.top() == Ctx::Backquote => {
                        self.stack.pop();
                    }
                    '`' => self.stack.push(Ctx::Backquote),
                    '$' if next == Some('(') => {
                        i += 1;
                        self.stack.push(Ctx::Unquoted { parens: 0 });
                    }
                    '(' => self.add_paren(1),
                    ')' => self.add_paren(-1),
                    '<' if next == Some('<') && chars.get(i + 1) != Some(&'<') => {
                        i += 1;
                        i = self.announce_heredoc(&chars, i);
                    }
                    '\n' => self.start_next_body(),
                    _ => {}
                },
            }
        }
    }

    fn add_paren(&mut self, delta: i32) {
        let depth = self.stack.len();
        if let Some(Ctx::Unquoted { parens }) = self.stack.last_mut() {
            if delta > 0 {
                *parens += 1;
            } else if *parens > 0 {
                *parens -= 1;
            } else if depth > 1 {
                // The `)` that closes a `$(`.
                self.stack.pop();
            }
        }
    }

    /// Reads `<<[-]WORD` from `chars[i..]`; returns where scanning resumes.
    fn announce_heredoc(&mut self, chars: &[char], mut i: usize) -> usize {
        let strip_tabs = chars.get(i) == Some(&'-');
        if strip_tabs {
            i += 1;
        }
        while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
            i += 1;
        }
        let mut delimiter = String::new();
        let mut expands = true;
        while let Some(&c) = chars.get(i) {
            match c {
                '\'' | '"' => {
                    expands = false;
                    i += 1;
                    while let Some(&q) = chars.get(i) {
                        i += 1;
                        if q == c {
                            break;
                        }
                        delimiter.push(q);
                    }
                }
                '\\' => {
                    expands = false;
                    i += 1;
                }
                c if c.is_whitespace() || ";|&<>()".contains(c) => break,
                c => {
                    delimiter.push(c);
                    i += 1;
                }
            }
        }
        if !delimiter.is_empty() {
            self.pending.push(Heredoc {
                delimiter,
                expands,
                strip_tabs,
            });
        }
        i
    }

    /// At the end of a line: the first announced here-document's body begins.
    fn start_next_body(&mut self) {
        if !self.pending.is_empty() {
            let doc = self.pending.remove(0);
            self.body = Some((doc, String::new()));
        }
    }

    /// `value` written so that, where the scanner stands, the shell reads it as data.
    fn quote(&self, name: &str, value: &str) -> Result<String, QuoteError> {
        let refuse = |why| QuoteError {
            name: name.to_string(),
            why,
        };
        if value.contains('\0') {
            return Err(refuse("it contains a NUL byte"));
        }
        if let Some((doc, _)) = &self.body {
            if value.contains('\n') {
                return Err(refuse(
                    "it spans lines inside a here-document, where a line could end the document",
                ));
            }
            return Ok(if doc.expands {
                escape(value, &['\\', '$', '`'])
            } else {
                value.to_string()
            });
        }
        Ok(match self.top() {
            Ctx::Single => value.replace('\'', r"'\''"),
            Ctx::Double => escape(value, &['\\', '"', '$', '`']),
            Ctx::Unquoted { .. } | Ctx::Backquote => single_quoted(value),
        })
    }
}

fn escape(value: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One shell word with exactly `value` in it. Plain values stay as they are,
/// so the commonest commands read the same after substitution.
fn single_quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Replaces each `${NAME}` with its value quoted for its place in the shell
/// text. Unknown names stay as written and `$${` becomes a literal `${`.
pub fn substitute_quoted(text: &str, vars: &Vars) -> Result<String, QuoteError> {
    let mut scanner = Scanner::new();
    let mut out = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(t) => {
                scanner.feed(t);
                out.push_str(t);
            }
            Token::Escape => {
                scanner.feed("${");
                out.push_str("${");
            }
            Token::Var { name, raw } => match vars.get(name) {
                Some(value) => out.push_str(&scanner.quote(name, value)?),
                None => {
                    scanner.feed(raw);
                    out.push_str(raw);
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::vars::VarSource;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        let mut v = Vars::default();
        for (name, value) in pairs {
            v.values.insert(
                name.to_string(),
                (value.to_string(), VarSource::Environment),
            );
        }
        v
    }

    /// What `sh` prints for `script`.
    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    const HOSTILE: &str = "a'b\"c $(touch /tmp/rollsafe-pwned) `id` \\ $HOME ; echo x";

    #[test]
    fn a_hostile_value_is_data_in_every_quoting_context() {
        let v = vars(&[("X", HOSTILE)]);
        for template in [
            "printf '%s\\n' ${X}",
            "printf '%s\\n' \"${X}\"",
            "printf '%s\\n' '${X}'",
            "printf '%s\\n' pre${X}post",
            "printf '%s\\n' \"$(printf '%s' \"${X}\")\"",
            "printf '%s\\n' \"$(printf '%s' ${X})\"",
            "cat <<EOF\n${X}\nEOF",
            "cat <<'EOF'\n${X}\nEOF",
            "cat <<-EOF\n\t${X}\n\tEOF",
        ] {
            let script = substitute_quoted(template, &v).unwrap();
            let printed = sh(&script);
            let expected = if template.contains("pre${X}") {
                format!("pre{HOSTILE}post\n")
            } else {
                format!("{HOSTILE}\n")
            };
            assert_eq!(printed, expected, "template {template:?} became {script:?}");
        }
        assert!(!std::path::Path::new("/tmp/rollsafe-pwned").exists());
    }

    #[test]
    fn plain_values_read_as_before() {
        let v = vars(&[("URL", "postgres://u@h:5432/db"), ("N", "1000")]);
        assert_eq!(
            substitute_quoted("psql ${URL} -c 'select ${N}'", &v).unwrap(),
            "psql postgres://u@h:5432/db -c 'select 1000'"
        );
        assert_eq!(
            substitute_quoted("echo ${UNKNOWN} $${N}", &v).unwrap(),
            "echo ${UNKNOWN} ${N}"
        );
    }

    #[test]
    fn what_cannot_be_made_safe_is_refused_with_the_reason() {
        let v = vars(&[("X", "two\nEOF\nrm -rf /tmp/x")]);
        let err = substitute_quoted("cat <<EOF\n${X}\nEOF", &v).unwrap_err();
        assert!(err.to_string().contains("here-document"), "{err}");
        // The same value outside a here-document is fine: one quoted word.
        let script = substitute_quoted("printf '%s' ${X}", &v).unwrap();
        assert_eq!(sh(&script), "two\nEOF\nrm -rf /tmp/x");
        let nul = vars(&[("X", "a\0b")]);
        assert!(substitute_quoted("echo ${X}", &nul).is_err());
    }

    #[test]
    fn parentheses_inside_a_command_substitution_do_not_close_it() {
        let v = vars(&[("X", "a b")]);
        let script = substitute_quoted("echo \"$(echo (x) ; printf '%s' ${X})\"", &v).unwrap();
        assert!(script.ends_with("printf '%s' 'a b')\""), "{script}");
    }
}
