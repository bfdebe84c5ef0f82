//! The native TOML playbook format: reading with positions, and writing back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::diagnostic::{Diagnostic, Reporter};
use super::duration::{format_duration, format_millis, parse_duration, parse_millis};
use super::model::{
    CommandKind, Expectation, OnFail, Phase, Playbook, PlaybookKind, ProbeEngine, ProbeSpec, Step,
    StepRef, Variable, Verification,
};
use super::validate::{self, SourceMap, StepSource};

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    budget: Option<Spanned<String>>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probe: Option<Spanned<RawProbe>>,
    #[serde(default)]
    phases: Vec<Spanned<RawPhase>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    engine: Spanned<String>,
    url: Spanned<String>,
    statement: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interval: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocked_after: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    title: String,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timebox: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    /// The command is typed into this console, never run by rollsafe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paste_into: Option<String>,
    /// The command is shown for reference only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reference: bool,
    /// What the command printed where it was written down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rollback: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    point_of_no_return: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    on_fail: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verify: Option<Spanned<RawVerify>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regex: Option<Spanned<String>>,
}

/// Parses and validates a TOML playbook; every problem found comes back at once.
///
/// A syntax error or a wrong key stops the TOML parser itself, so such a file
/// reports that one problem; everything after parsing (durations, ids, gotos,
/// empty phases, regexes) is collected in full.
pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<Diagnostic>> {
    let mut report = Reporter::new(file, text);
    let raw: RawPlaybook = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let offset = err.span().map(|s| s.start).unwrap_or(0);
            report.at(offset, format!("invalid TOML: {}", err.message().trim()));
            return Err(report.into_sorted());
        }
    };
    let mut map = SourceMap {
        playbook: raw.id.span().start,
        ..SourceMap::default()
    };

    let kind = match &raw.kind {
        None => PlaybookKind::default(),
        Some(k) => PlaybookKind::parse(k.get_ref()).unwrap_or_else(|| {
            report.at(
                k.span().start,
                format!(
                    "unknown kind \"{}\": use migration, rollback, incident or gameday",
                    k.get_ref()
                ),
            );
            PlaybookKind::default()
        }),
    };
    let budget = raw
        .budget
        .as_ref()
        .and_then(|b| spanned_duration(b, &mut report));

    let mut phases = Vec::with_capacity(raw.phases.len());
    for (pi, raw_phase) in raw.phases.iter().enumerate() {
        map.phases.push(raw_phase.span().start);
        let raw_phase = raw_phase.get_ref();
        let mut steps = Vec::with_capacity(raw_phase.steps.len());
        for (si, raw_step) in raw_phase.steps.iter().enumerate() {
            let raw_step = raw_step.get_ref();
            let on_fail = match &raw_step.on_fail {
                None => OnFail::default(),
                Some(text) => OnFail::parse(text.get_ref()).unwrap_or_else(|| {
                    report.at(
                        text.span().start,
                        format!(
                            "bad on_fail \"{}\": use stop, continue, rollback or goto:<step-id>",
                            text.get_ref()
                        ),
                    );
                    OnFail::default()
                }),
            };
            map.steps.insert(
                StepRef {
                    phase: pi,
                    step: si,
                },
                StepSource {
                    id: raw_step.id.span().start,
                    on_fail: raw_step.on_fail.as_ref().map(|s| s.span().start),
                },
            );
            let verify = raw_step.verify.as_ref().map(|v| {
                let raw_verify = v.get_ref();
                if let Some(re) = &raw_verify.regex
                    && let Err(msg) = regex::Regex::new(re.get_ref())
                {
                    // The regex crate's message draws a caret over several lines; keep its last line.
                    let text = msg.to_string();
                    let why = text
                        .lines()
                        .last()
                        .unwrap_or("invalid")
                        .trim_start_matches("error: ");
                    report.at(
                        re.span().start,
                        format!("bad verify regex /{}/: {why}", re.get_ref()),
                    );
                }
                Verification {
                    command: raw_verify.command.clone(),
                    expect: Expectation {
                        exit_code: raw_verify.exit_code,
                        contains: raw_verify.contains.clone(),
                        regex: raw_verify.regex.as_ref().map(|r| r.get_ref().clone()),
                    },
                }
            });
            steps.push(Step {
                id: raw_step.id.get_ref().clone(),
                title: raw_step.title.clone(),
                detail: raw_step.detail.trim_end().to_string(),
                timebox: raw_step
                    .timebox
                    .as_ref()
                    .and_then(|t| spanned_duration(t, &mut report)),
                role: raw_step.role.clone(),
                command: raw_step.command.as_ref().map(|c| c.trim().to_string()),
                verify,
                rollback: raw_step.rollback.as_ref().map(|r| r.trim().to_string()),
                point_of_no_return: raw_step.point_of_no_return,
                on_fail,
                command_kind: match (&raw_step.paste_into, raw_step.reference) {
                    (Some(into), _) => CommandKind::Paste(into.trim().to_string()),
                    (None, true) => CommandKind::Reference,
                    (None, false) => CommandKind::Run,
                },
                expected_output: raw_step
                    .expected_output
                    .as_ref()
                    .map(|o| o.trim_end().to_string()),
            });
        }
        phases.push(Phase {
            id: raw_phase
                .id
                .clone()
                .unwrap_or_else(|| validate::slug(&raw_phase.title)),
            title: raw_phase.title.clone(),
            steps,
        });
    }

    let probe = raw.probe.as_ref().and_then(|p| probe_spec(p, &mut report));
    let playbook = Playbook {
        id: raw.id.get_ref().clone(),
        title: raw.title,
        description: raw.description.trim().to_string(),
        kind,
        tags: raw.tags,
        budget,
        variables: raw
            .variables
            .into_iter()
            .map(|(name, v)| Variable {
                name,
                default: v.default,
                description: v.description,
            })
            .collect(),
        sources: raw.sources,
        phases,
        probe,
        page: None,
    };
    validate::check(&playbook, &map, &mut report);
    if report.is_clean() {
        Ok(playbook)
    } else {
        Err(report.into_sorted())
    }
}

fn spanned_duration(
    text: &Spanned<String>,
    report: &mut Reporter<'_>,
) -> Option<std::time::Duration> {
    match parse_duration(text.get_ref()) {
        Ok(d) => Some(d),
        Err(msg) => {
            report.at(text.span().start, msg);
            None
        }
    }
}

/// The `[probe]` table, every problem reported where it is written.
fn probe_spec(raw: &Spanned<RawProbe>, report: &mut Reporter<'_>) -> Option<ProbeSpec> {
    let probe = raw.get_ref();
    let mut ok = true;
    let engine = ProbeEngine::parse(probe.engine.get_ref());
    if engine.is_none() {
        ok = false;
        report.at(
            probe.engine.span().start,
            format!(
                "unknown probe engine \"{}\": use postgres or mysql (mysql covers MariaDB)",
                probe.engine.get_ref()
            ),
        );
    }
    for (field, text) in [("url", &probe.url), ("statement", &probe.statement)] {
        if text.get_ref().trim().is_empty() {
            ok = false;
            report.at(text.span().start, format!("probe {field} is empty"));
        }
    }
    let mut millis = |text: &Option<Spanned<String>>, default: std::time::Duration| match text {
        None => default,
        Some(t) => parse_millis(t.get_ref()).unwrap_or_else(|msg| {
            ok = false;
            report.at(t.span().start, format!("probe: {msg}"));
            default
        }),
    };
    let interval = millis(&probe.interval, ProbeSpec::DEFAULT_INTERVAL);
    let blocked_after = millis(&probe.blocked_after, ProbeSpec::DEFAULT_BLOCKED_AFTER);
    let timeout = millis(&probe.timeout, ProbeSpec::DEFAULT_TIMEOUT);
    if let Some(t) = &probe.timeout
        && ok
        && timeout <= blocked_after
    {
        ok = false;
        report.at(
            t.span().start,
            format!(
                "probe timeout ({}) must be longer than blocked_after ({}), or no sample could ever count as blocked",
                format_millis(timeout),
                format_millis(blocked_after)
            ),
        );
    }
    if !ok {
        return None;
    }
    Some(ProbeSpec {
        engine: engine?,
        url: probe.url.get_ref().trim().to_string(),
        statement: probe.statement.get_ref().trim().to_string(),
        interval,
        blocked_after,
        timeout,
    })
}

/// Writes a playbook in the native format (used to export Markdown and planned playbooks).
pub fn to_toml(playbook: &Playbook) -> String {
    let spanned = |s: &str| Spanned::new(0..0, s.to_string());
    let raw = RawPlaybook {
        probe: playbook.probe.as_ref().map(|p| {
            Spanned::new(
                0..0,
                RawProbe {
                    engine: spanned(p.engine.as_str()),
                    url: spanned(&p.url),
                    statement: spanned(&p.statement),
                    interval: Some(spanned(&format_millis(p.interval))),
                    blocked_after: Some(spanned(&format_millis(p.blocked_after))),
                    timeout: Some(spanned(&format_millis(p.timeout))),
                },
            )
        }),
        id: spanned(&playbook.id),
        title: playbook.title.clone(),
        description: playbook.description.clone(),
        kind: Some(spanned(playbook.kind.as_str())),
        tags: playbook.tags.clone(),
        budget: playbook.budget.map(|b| spanned(&format_duration(b))),
        sources: playbook.sources.clone(),
        variables: playbook
            .variables
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    RawVariable {
                        default: v.default.clone(),
                        description: v.description.clone(),
                    },
                )
            })
            .collect(),
        phases: playbook
            .phases
            .iter()
            .map(|phase| {
                Spanned::new(
                    0..0,
                    RawPhase {
                        id: Some(phase.id.clone()),
                        title: phase.title.clone(),
                        steps: phase
                            .steps
                            .iter()
                            .map(|s| {
                                Spanned::new(
                                    0..0,
                                    RawStep {
                                        id: spanned(&s.id),
                                        title: s.title.clone(),
                                        detail: s.detail.clone(),
                                        timebox: s.timebox.map(|t| spanned(&format_duration(t))),
                                        role: s.role.clone(),
                                        command: s.command.clone(),
                                        paste_into: match &s.command_kind {
                                            CommandKind::Paste(into) => Some(into.clone()),
                                            _ => None,
                                        },
                                        reference: s.command_kind == CommandKind::Reference,
                                        expected_output: s.expected_output.clone(),
                                        rollback: s.rollback.clone(),
                                        point_of_no_return: s.point_of_no_return,
                                        on_fail: (s.on_fail != OnFail::Stop)
                                            .then(|| spanned(&s.on_fail.label())),
                                        verify: s.verify.as_ref().map(|v| {
                                            Spanned::new(
                                                0..0,
                                                RawVerify {
                                                    command: v.command.clone(),
                                                    exit_code: v.expect.exit_code,
                                                    contains: v.expect.contains.clone(),
                                                    regex: v.expect.regex.as_deref().map(spanned),
                                                },
                                            )
                                        }),
                                    },
                                )
                            })
                            .collect(),
                    },
                )
            })
            .collect(),
    };
    toml::to_string_pretty(&raw).unwrap_or_else(|e| format!("# could not write playbook: {e}\n"))
}

/// [`to_toml`] of a playbook read from a Markdown page, with a `# review:`
/// comment at every guess rollsafe made: what the page is, commands it
/// will not run, prompts it stripped, titles it cut, links it set aside.
pub fn to_toml_for_review(playbook: &Playbook) -> String {
    let text = to_toml(playbook);
    let Some(page) = playbook.page else {
        return text;
    };
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from Markdown by rollsafe. Lines starting with `# review:` mark guesses;\n\
         # check each, fix the playbook, then delete the comment.\n\
         # review: the page reads as a {}.\n",
        page.as_str()
    ));
    if !playbook.sources.is_empty() {
        out.push_str("# review: `sources` holds the page's lists of links; they are not steps.\n");
    }
    out.push_str("# review: ids and phases come from titles and headings.\n");
    let mut steps = playbook.steps().map(|(_, _, s)| s);
    for line in text.lines() {
        if line.trim() == "[[phases.steps]]"
            && let Some(step) = steps.next()
        {
            for note in review_notes(step) {
                out.push_str("# review: ");
                out.push_str(&note);
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn review_notes(step: &Step) -> Vec<String> {
    let mut notes = Vec::new();
    match &step.command_kind {
        CommandKind::Run if step.command.is_some() => {
            notes.push(format!("\"{}\": the command runs as shell in live mode", step.id))
        }
        CommandKind::Paste(into) => notes.push(format!(
            "\"{}\": the command is pasted into {into}, never run; drop paste_into if a shell should run it",
            step.id
        )),
        CommandKind::Reference => notes.push(format!(
            "\"{}\": the code is for reference, never run; drop `reference` if it is a shell command",
            step.id
        )),
        CommandKind::Run => {}
    }
    if step.expected_output.is_some() {
        notes.push(format!(
            "\"{}\": prompts were stripped; the lines they printed are expected_output (a verify could check them)",
            step.id
        ));
    }
    if step.title.ends_with('…') {
        notes.push(format!(
            "\"{}\": the title was cut; write a short one",
            step.id
        ));
    }
    notes
}
