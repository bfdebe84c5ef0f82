//! `<!-- rollsafe: ... -->` and `<!-- verify: ... -->` comments read into
//! playbook, phase and step attributes.

use super::*;

/// The probe from the playbook annotation's `probe_*` keys, if any is set:
/// engine, url and statement are then required, the durations optional.
pub(super) fn probe_spec(
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
pub(super) struct PlaybookAttrs {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) kind: Option<PlaybookKind>,
    pub(super) budget: Option<Duration>,
    pub(super) tags: Option<Vec<String>>,
    /// How SQL blocks run: `psql "$DATABASE_URL"`.
    pub(super) sql_client: Option<String>,
    /// `probe_*` keys as written: (key, value, where the value is).
    pub(super) probe: Vec<(&'static str, String, usize)>,
    pub(super) seen: Vec<&'static str>,
}

#[derive(Debug, Default)]
pub(super) struct PhaseAttrs {
    pub(super) id: Option<String>,
    pub(super) seen: Vec<&'static str>,
}

#[derive(Debug, Default)]
pub(super) struct StepAttrs {
    /// With the position of the value.
    pub(super) id: Option<(String, usize)>,
    pub(super) timebox: Option<Duration>,
    pub(super) role: Option<String>,
    pub(super) on_fail: Option<(OnFail, usize)>,
    pub(super) pnr: bool,
    pub(super) rollback: Option<String>,
    pub(super) verify: Option<Verification>,
    pub(super) seen: Vec<&'static str>,
}

pub(super) enum Target<'x> {
    Playbook(&'x mut PlaybookAttrs),
    /// A heading; with the step when the section is that one step.
    Phase(&'x mut PhaseAttrs, Option<&'x mut StepAttrs>),
    Step(&'x mut StepAttrs),
}

pub(super) enum Note {
    /// `rollsafe:` and where its `key=value` list is.
    Keys(Range<usize>),
    /// `verify:` and where its `command => expectation` is.
    Verify(Range<usize>),
}

/// What a comment says to rollsafe, if anything.
pub(super) fn note_of(text: &str, c: &Comment) -> Option<Note> {
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
pub(super) struct Pair {
    pub(super) key: String,
    pub(super) key_at: usize,
    pub(super) value: Option<String>,
    pub(super) value_at: usize,
}

pub(super) struct Annotator<'r, 'a> {
    pub(super) text: &'a str,
    pub(super) report: &'r mut Reporter<'a>,
}

impl Annotator<'_, '_> {
    pub(super) fn apply(&mut self, c: &Comment, target: &mut Target<'_>) {
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
    pub(super) fn pairs(&mut self, args: Range<usize>) -> Vec<Pair> {
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

    pub(super) fn key(&mut self, pair: Pair, target: &mut Target<'_>) {
        let key = pair.key.as_str();
        match target {
            Target::Playbook(p) => {
                if PLAYBOOK_KEYS.contains(&key) {
                    self.playbook_key(pair, p);
                } else {
                    let hint = if STEP_KEYS.contains(&key) {
                        format!(
                            "`{key}` is a step key: put it in a list item; the playbook annotation takes id, title, kind, budget, tags, sql_client, probe_*"
                        )
                    } else {
                        format!(
                            "unknown annotation key `{key}`: the playbook annotation takes id, title, kind, budget, tags, sql_client, probe_*"
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
    pub(super) fn first_time(
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

    pub(super) fn value(&mut self, pair: &Pair) -> Option<String> {
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

    pub(super) fn playbook_key(&mut self, pair: Pair, p: &mut PlaybookAttrs) {
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
            "sql_client" => p.sql_client = Some(v),
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

    pub(super) fn step_key(&mut self, pair: Pair, s: &mut StepAttrs) {
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
    pub(super) fn verify(&mut self, c: &Comment, args: Range<usize>, s: &mut StepAttrs) {
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
