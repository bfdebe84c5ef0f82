//! A lint report as text: for people (source excerpt with a caret), one line per finding, or
//! SARIF 2.1.0 for code-scanning UIs. Colour is the caller's decision.

use serde_json::{Value, json};

use super::inputs::{Direction, SourceFile};
use super::{Catalogue, Report, Severity};

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The report for people: per finding the `file:line:col: severity: message [rule]` line, the
/// source line with a caret under the column, then the lock, what breaks during a rolling
/// deploy, the rollback class, the safe recipe and the source of the facts.
pub fn human(report: &Report, files: &[SourceFile], color: bool) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let (sev_code, sev) = match f.severity {
            Severity::Error => ("31;1", "error"),
            Severity::Warning => ("33;1", "warning"),
            Severity::Info => ("36", "info"),
        };
        out.push_str(&format!(
            "{}:{}:{}: {}: {} [{}]\n",
            f.file,
            f.line,
            f.column,
            paint(color, sev_code, sev),
            f.message,
            f.rule
        ));
        let source_line = files
            .iter()
            .find(|s| s.name == f.file)
            .and_then(|s| s.text.lines().nth(f.line.saturating_sub(1)))
            .unwrap_or(&f.statement);
        let number = f.line.to_string();
        let pad = " ".repeat(number.len());
        let gutter = |s: &str| paint(color, "2", s);
        out.push_str(&format!("{pad} {}\n", gutter("|")));
        out.push_str(&format!(
            "{} {} {}\n",
            gutter(&number),
            gutter("|"),
            source_line.trim_end()
        ));
        let lead = caret_lead(source_line, f.column);
        out.push_str(&format!(
            "{pad} {} {lead}{}\n",
            gutter("|"),
            paint(color, sev_code, "^")
        ));
        let field = |name: &str, text: &str| format!("{pad} = {name}: {text}\n");
        if let Some(lock) = &f.lock {
            out.push_str(&field("lock", lock));
        }
        if let Some(breaks) = &f.breaks {
            out.push_str(&field("breaks", breaks));
        }
        out.push_str(&field("why", &f.why));
        let rollback = if f.lossy_rollback {
            paint(
                color,
                "31",
                &format!("{} (rolling back loses data)", f.rollback),
            )
        } else {
            f.rollback.clone()
        };
        let down = if f.direction == Direction::Down {
            " · in a down/undo script"
        } else {
            ""
        };
        out.push_str(&field("rollback", &format!("{rollback}{down}")));
        out.push_str(&field("instead", &f.suggestion));
        out.push_str(&field("source", &paint(color, "2", &f.source)));
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push_str(&history_note(report));
    out
}

/// Which files were history and which new, so a folder run never silently treats years-old
/// tables as new and empty.
pub fn history_note(report: &Report) -> String {
    let files = report.files.len();
    if report.history_files > 0 {
        format!(
            "{} read as history (schema context only, nothing reported), {} linted as new\n",
            report.history_files,
            files - report.history_files
        )
    } else if files > 1 {
        format!(
            "0 read as history, all {files} linted as new (a table is new and empty only in the file that created it); --since VERSION, --changed or naming the new files next to their folder reads the others as history, reporting nothing\n"
        )
    } else {
        String::new()
    }
}

/// What goes before a caret under 1-based character `column` of `line`: spaces, and the
/// line's own tabs so the caret lines up however wide a tab is shown.
pub fn caret_lead(line: &str, column: usize) -> String {
    line.chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect()
}

fn summary(report: &Report) -> String {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    format!(
        "{}, {} ({} unparsed) · {}, {}, {} · {}{}\n",
        n(report.files.len(), "file", "files"),
        n(report.statements, "statement", "statements"),
        report.unparsed,
        n(count(Severity::Error), "error", "errors"),
        n(count(Severity::Warning), "warning", "warnings"),
        n(count(Severity::Info), "info", "infos"),
        report.engine,
        match (&report.tool, &report.tool_from) {
            (Some(t), Some(from)) => format!(" · tool {t} ({from})"),
            (Some(t), None) => format!(" · tool {t}"),
            _ => " · no tool: no implicit transaction assumed".to_string(),
        }
    )
}

/// One `file:line:col: severity: message [rule]` line per finding, nothing else.
pub fn lines(report: &Report) -> String {
    report.findings.iter().map(|f| format!("{f}\n")).collect()
}

/// A path as a SARIF artifact URI: relative stays relative; characters a URI cannot hold are
/// percent-encoded.
fn uri(path: &str) -> String {
    let path = if path == "<stdin>" { "stdin" } else { path };
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one run, the catalogue's rules as `tool.driver.rules`, one result per finding.
/// GitLab code quality report (`artifacts: reports: codequality`): an array of issues with a
/// description, check name, severity (info, minor, major, critical, blocker), a fingerprint that
/// stays the same while the finding does, and a path and line (GitLab docs, "Code Quality",
/// "Implement a custom tool" / code quality report format).
pub fn gitlab(report: &Report) -> Value {
    use sha2::{Digest, Sha256};
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    let issues: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            // File, rule and statement, not the line: moving a statement keeps its fingerprint.
            // Two identical statements in one file are told apart by their order.
            let key = format!("{}\u{0}{}\u{0}{}", f.file, f.rule, f.statement);
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            let digest = Sha256::digest(format!("{key}\u{0}{n}").as_bytes());
            let fingerprint: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            json!({
                "description": f.message,
                "check_name": f.rule,
                "fingerprint": fingerprint,
                "severity": match f.severity {
                    Severity::Info => "info",
                    Severity::Warning => "major",
                    Severity::Error => "critical",
                },
                "location": { "path": f.file, "lines": { "begin": f.line } }
            })
        })
        .collect();
    Value::Array(issues)
}

pub fn sarif(report: &Report, cat: &Catalogue) -> Value {
    let rules: Vec<Value> = cat
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.why },
                "fullDescription": { "text": format!("{} Safe alternative: {}", r.why, r.fix) },
                "helpUri": r.url,
                "help": { "text": format!("{} (source: {})", r.fix, r.source) },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "rollback": r.rollback }
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = cat.rules.iter().position(|r| r.id == f.rule);
            json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": format!("{}. Safe alternative: {}", f.message, f.suggestion) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.file) },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "snippet": { "text": f.statement }
                        }
                    }
                }],
                "properties": {
                    "rollback": f.rollback,
                    "direction": f.direction,
                }
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rollsafe",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules
                }
            },
            "results": results
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{Engine, Options, lint_files};

    fn report() -> (Report, Vec<SourceFile>) {
        let files = vec![SourceFile {
            name: "<stdin>".into(),
            text: "SET lock_timeout = '2s';\n\tALTER TABLE users DROP COLUMN x;\n".into(),
            direction: Direction::Up,
        }];
        let opts = Options::new(Engine::parse("postgres:16").unwrap());
        (lint_files(&files, &opts, &Catalogue::bundled()), files)
    }

    #[test]
    fn colour_only_when_asked_and_the_caret_keeps_tabs() {
        let (r, files) = report();
        let plain = human(&r, &files, false);
        assert!(!plain.contains('\x1b'));
        assert!(
            plain.contains("2 | \tALTER TABLE users DROP COLUMN x;"),
            "{plain}"
        );
        // Column 20 counts the tab as one character; the tab is kept so the caret lines up.
        assert!(plain.contains("  | \t                  ^"), "{plain}");
        let coloured = human(&r, &files, true);
        assert!(coloured.contains("\x1b[33;1mwarning\x1b[0m"), "{coloured}");
    }

    #[test]
    fn sarif_uris_are_encoded() {
        assert_eq!(uri("<stdin>"), "stdin");
        assert_eq!(uri("db/V1__a b.sql"), "db/V1__a%20b.sql");
        let (r, _) = report();
        let v = sarif(&r, &Catalogue::bundled());
        assert_eq!(v["runs"][0]["results"][0]["level"], "warning");
        assert_eq!(
            v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"],
            20
        );
    }
}
