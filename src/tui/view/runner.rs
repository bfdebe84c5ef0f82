//! The runner: steps on the left, the selected step on the right, clocks on top.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use super::common::{self, shell_lines, truncate};
use crate::drill::{CommandPurpose, Drill, DrillStatus, Mode, Outcome};
use crate::playbook::duration::format_clock;
use crate::playbook::{CommandKind, OnFail, Step};
use crate::probe::{LiveView, format_latency};
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::markdown_view::markdown_to_text;
use crate::tui::runner::RunnerState;
use crate::tui::theme::Theme;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    runner: &RunnerState,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let probe_rows = u16::from(runner.probe_view.is_some());
    let [header, gauge, probe, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(probe_rows),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(frame, header, runner, now, theme);
    render_gauge(frame, gauge, &runner.session.drill, theme);
    if let Some(view) = &runner.probe_view {
        render_probe(frame, probe, view, theme);
    }
    // Wide terminals give the detail more room, never a stretched list.
    let list_width = (body.width * 2 / 5).clamp(24, 52);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(body);
    render_steps(frame, list, runner, now, theme);
    render_detail(frame, detail, runner, now, theme);
    common::status(frame, status, app.status.as_ref(), theme);
    // A follower is offered what it can do: note, take the drive, read.
    let following = runner.following.is_some();
    common::footer_where(frame, footer, Context::Runner, theme, |action| {
        use crate::tui::action::Action;
        match action {
            Action::TakeDrive => following,
            _ if following => matches!(action, Action::Note | Action::Help | Action::Back),
            _ => true,
        }
    });
}

fn render_header(
    frame: &mut Frame,
    area: Rect,
    runner: &RunnerState,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let drill = &runner.session.drill;
    let playbook = &runner.session.playbook;
    let mode = match drill.mode {
        Mode::Tabletop => Span::styled(" TABLETOP ", theme.accent()),
        Mode::Live => Span::styled(" LIVE ", theme.bad()),
    };
    let elapsed = drill.elapsed(now);
    let mut clock = vec![Span::raw(format!("elapsed {}", format_clock(elapsed)))];
    if let Some(budget) = playbook.budget {
        let style = if elapsed > budget {
            theme.bad()
        } else {
            theme.dim()
        };
        clock.push(Span::styled(
            format!(" / budget {}", format_clock(budget)),
            style,
        ));
    }
    if drill.status == DrillStatus::Running
        && let Some(left) = runner.remaining(now)
    {
        let basis = if runner.history.is_empty() {
            "timeboxes"
        } else {
            "median"
        };
        let over = playbook.budget.is_some_and(|b| elapsed + left > b);
        let style = if over { theme.bad() } else { theme.dim() };
        clock.push(Span::styled(
            format!("  ~{} left ({basis})", format_clock(left)),
            style,
        ));
    }
    let state = match drill.status {
        DrillStatus::Completed => Span::styled("  ✔ FINISHED", theme.ok()),
        DrillStatus::Aborted => Span::styled("  ■ ABORTED", theme.warn()),
        DrillStatus::Running if drill.is_paused() => Span::styled("  ⏸ PAUSED", theme.warn()),
        DrillStatus::Running => Span::raw(""),
    };
    let mut left = vec![
        Span::styled(format!(" {}", playbook.id), theme.title()),
        Span::raw(" ·"),
        mode,
        Span::styled(format!("· drill #{}", runner.session.id), theme.dim()),
        state,
    ];
    if let Some(by) = &runner.following {
        left.push(Span::styled(
            format!("  ◉ FOLLOWING · {by} drives"),
            theme.warn(),
        ));
    }
    let left_len: usize = left.iter().map(|s| s.content.chars().count()).sum();
    // The clock parts are in priority order: drop from the end until they fit.
    let width_of = |parts: &[Span]| {
        parts
            .iter()
            .map(|s| s.content.chars().count())
            .sum::<usize>()
            + 1
    };
    // At least two spaces between the name and the clock.
    while !clock.is_empty() && left_len + 2 + width_of(&clock) > area.width as usize {
        clock.pop();
    }
    let mut spans = left;
    if !clock.is_empty() {
        let gap = (area.width as usize).saturating_sub(left_len + width_of(&clock));
        spans.push(Span::raw(" ".repeat(gap)));
        spans.extend(clock);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_gauge(frame: &mut Frame, area: Rect, drill: &Drill, theme: Theme) {
    let total = drill.steps.len().max(1);
    let done = drill.done();
    let label = format!(
        "{done}/{} steps · ✔{} ✘{} ↷{} ⊘{}",
        drill.steps.len(),
        drill.count(Outcome::Passed),
        drill.count(Outcome::Failed),
        drill.count(Outcome::Skipped),
        drill.count(Outcome::Blocked)
    );
    let gauge = Gauge::default()
        .gauge_style(theme.gauge())
        .ratio(done as f64 / total as f64)
        .label(label)
        .use_unicode(true);
    frame.render_widget(gauge, area);
}

/// One line: a sparkline of the latest probe latencies, the current
/// step's figures so far, and BLOCKED while the statement under way waits.
fn render_probe(frame: &mut Frame, area: Rect, view: &LiveView, theme: Theme) {
    let current = &view.current;
    // Compact figures ("2.4s"): the sparkline gets what is left of the line.
    let short = |d: Duration| format_latency(d).replace(' ', "");
    let mut figures = format!(
        " p50 {} p99 {} max {}",
        short(current.p50()),
        short(current.p99()),
        short(current.max())
    );
    if !current.blocked.is_empty() {
        figures.push_str(&format!(" blocked {}", short(current.blocked_total())));
    }
    let state = match (&view.ended, view.blocked_now(), view.waiting) {
        (Some(why), _, _) => Span::styled(format!(" probe stopped: {why}"), theme.bad()),
        (None, true, Some(w)) => Span::styled(format!(" ⛔ BLOCKED {}", short(w)), theme.bad()),
        _ if current.errors > 0 => {
            Span::styled(format!(" {} errors", current.errors), theme.warn())
        }
        _ => Span::raw(""),
    };
    let label = " probe ";
    let fixed = label.chars().count() + figures.chars().count() + state.width();
    let spark_width = (area.width as usize).saturating_sub(fixed + 1);
    let recent = &view.recent[view.recent.len().saturating_sub(spark_width)..];
    let blocked_style = theme.bad();
    let mut spans = vec![Span::styled(label, theme.accent())];
    spans.extend(
        recent
            .iter()
            .map(|&latency| match spark_level(latency, view.blocked_after) {
                7 => Span::styled("█", blocked_style),
                level => Span::styled(SPARK[level].to_string(), theme.dim()),
            }),
    );
    spans.push(Span::raw(
        " ".repeat(spark_width.saturating_sub(recent.len())),
    ));
    spans.push(Span::raw(figures));
    spans.push(state);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Bar height on a log scale from 0.1 ms to `blocked_after`; a blocked
/// sample is a full bar, so a lock wait stands out at a glance.
pub fn spark_level(latency: Duration, blocked_after: Duration) -> usize {
    if latency > blocked_after {
        return 7;
    }
    let floor = 100f64.ln();
    let top = (blocked_after.as_micros().max(101) as f64).ln();
    let at = (latency.as_micros().max(100) as f64).ln();
    (((at - floor) / (top - floor)) * 6.0)
        .round()
        .clamp(0.0, 6.0) as usize
}

/// The mark of a step in the list: what happened to it.
pub fn step_mark(drill: &Drill, index: usize) -> (&'static str, MarkKind) {
    let record = &drill.steps[index];
    // An outcome recorded over the lifecycle's refusal is marked as such.
    if record.deviation.is_some() {
        return match record.outcome {
            Some(Outcome::Passed) => ("✔!", MarkKind::Warn),
            Some(Outcome::Failed) => ("✘!", MarkKind::Bad),
            Some(Outcome::Skipped) => ("↷!", MarkKind::Warn),
            Some(Outcome::Blocked) => ("⊘!", MarkKind::Bad),
            None => ("▶", MarkKind::Active),
        };
    }
    match record.outcome {
        Some(Outcome::Passed) => ("✔", MarkKind::Good),
        Some(Outcome::Failed) => ("✘", MarkKind::Bad),
        Some(Outcome::Skipped) => ("↷", MarkKind::Warn),
        Some(Outcome::Blocked) => ("⊘", MarkKind::Bad),
        None if drill.active == Some(index) => ("▶", MarkKind::Active),
        None => ("☐", MarkKind::Plain),
    }
}

/// How a mark is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Good,
    Bad,
    Warn,
    Active,
    Plain,
}

fn mark_style(kind: MarkKind, theme: Theme) -> ratatui::style::Style {
    match kind {
        MarkKind::Good => theme.ok(),
        MarkKind::Bad => theme.bad(),
        MarkKind::Warn => theme.warn(),
        MarkKind::Active => theme.accent(),
        MarkKind::Plain => theme.dim(),
    }
}

fn over_timebox(step: &Step, spent: Duration) -> bool {
    step.timebox.is_some_and(|t| spent > t)
}

fn render_steps(
    frame: &mut Frame,
    area: Rect,
    runner: &RunnerState,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let drill = &runner.session.drill;
    let playbook = &runner.session.playbook;
    let inner_width = area.width.saturating_sub(2) as usize;
    // One line per phase heading and per step; remember which line is selected.
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let mut flat = 0;
    for (pi, phase) in playbook.phases.iter().enumerate() {
        let pnr = phase.steps.iter().any(|s| s.point_of_no_return);
        let heading = format!("{}{} {}", if pnr { "⛔ " } else { "" }, pi + 1, phase.title);
        lines.push(Line::styled(
            truncate(&heading, inner_width),
            if pnr { theme.warn() } else { theme.title() },
        ));
        for step in &phase.steps {
            let index = flat;
            flat += 1;
            let (mark, kind) = step_mark(drill, index);
            let spent = drill.step_elapsed(index, now);
            let started = drill.steps[index].first_started.is_some();
            let time = if started {
                format_clock(spent)
            } else {
                String::new()
            };
            let running_here = runner
                .command
                .as_ref()
                .is_some_and(|c| c.cmd.step == step.id);
            let flag = if running_here {
                " ⟳"
            } else if over_timebox(step, spent) {
                " ⚠"
            } else if step.point_of_no_return {
                " ⛔"
            } else {
                ""
            };
            let cursor = if index == runner.selected { "›" } else { " " };
            // Display width, not chars: ⛔ and ⚠ may take two columns.
            let flag_width = Span::raw(flag).width();
            let title_width = inner_width.saturating_sub(4 + time.len() + flag_width + 1);
            let title = truncate(&step.title, title_width);
            let pad = title_width.saturating_sub(title.chars().count());
            let line = Line::from(vec![
                Span::raw(format!("{cursor} ")),
                Span::styled(mark, mark_style(kind, theme)),
                Span::raw(format!(" {title}{} {time}", " ".repeat(pad))),
                Span::styled(
                    flag,
                    match flag {
                        " ⚠" => theme.bad(),
                        " ⟳" => theme.accent(),
                        _ => theme.warn(),
                    },
                ),
            ]);
            if index == runner.selected {
                selected_line = lines.len();
                lines.push(line.style(theme.selected()));
            } else {
                lines.push(line);
            }
        }
    }
    let visible = area.height.saturating_sub(2) as usize;
    // Keep the selection in view with a little context above it.
    let first = selected_line
        .saturating_sub(visible.saturating_sub(3).max(1))
        .min(lines.len().saturating_sub(visible));
    let first = if selected_line < visible.saturating_sub(2) {
        0
    } else {
        first
    };
    let shown: Vec<Line> = lines.into_iter().skip(first).take(visible).collect();
    let block = Block::bordered()
        .title(Span::styled(" Steps ", theme.title()))
        .border_style(theme.focus_border());
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

fn render_detail(
    frame: &mut Frame,
    area: Rect,
    runner: &RunnerState,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let drill = &runner.session.drill;
    let playbook = &runner.session.playbook;
    let index = runner.selected;
    let (Some(at), Some(step)) = (playbook.step_at_flat(index), runner.selected_step()) else {
        frame.render_widget(Block::bordered().title(" No steps "), area);
        return;
    };
    let record = &drill.steps[index];
    let spent = drill.step_elapsed(index, now);
    let clock = match step.timebox {
        Some(t) => format!(" {} / {} ", format_clock(spent), format_clock(t)),
        None => format!(" {} ", format_clock(spent)),
    };
    let title = format!(" {}.{} {} ", at.phase + 1, at.step + 1, step.title);

    // Live output gets its own pane while a command runs or after one ran.
    let output = command_output(runner, &step.id);
    let (detail_area, output_area) = match (&output, area.height >= 14) {
        (Some(out), true) => {
            // As tall as the output needs, at most 45% of the pane (all but
            // the detail's first rows when `o` made it large), at least 4 rows.
            let most = if runner.output_large {
                area.height.saturating_sub(6)
            } else {
                area.height * 9 / 20
            };
            let wanted = if runner.output_large {
                most
            } else {
                out.lines.len().max(1) as u16 + 2
            };
            let height = wanted.clamp(4, most.max(4));
            let [d, o] =
                Layout::vertical([Constraint::Min(6), Constraint::Length(height)]).areas(area);
            (d, Some(o))
        }
        _ => (area, None),
    };

    let width = detail_area.width.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    if over_timebox(step, spent) {
        let over = spent.saturating_sub(step.timebox.unwrap_or_default());
        lines.push(Line::styled(
            format!(
                "⚠ over its timebox by {}: decide now, push on or roll back",
                format_clock(over)
            ),
            theme.bad(),
        ));
    }
    if step.point_of_no_return {
        let text = if record.pnr_confirmed {
            "⛔ point of no return (crossing confirmed)"
        } else {
            "⛔ POINT OF NO RETURN: after this step, rollback loses data or cannot restore the old state"
        };
        lines.push(Line::styled(text, theme.warn()));
    }
    match record.outcome {
        Some(outcome) => {
            let reason = record
                .reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            lines.push(Line::styled(
                format!("outcome: {}{reason}", outcome.as_str()),
                match outcome {
                    Outcome::Passed => theme.ok(),
                    Outcome::Skipped => theme.warn(),
                    _ => theme.bad(),
                },
            ));
        }
        None if drill.active == Some(index) => {
            lines.push(Line::styled("▶ in progress", theme.accent()))
        }
        None => lines.push(Line::styled(
            "not started: enter starts its clock",
            theme.dim(),
        )),
    }
    // A command running on another step stays in sight from every step.
    if let Some(live) = runner.command.as_ref().filter(|c| c.cmd.step != step.id)
        && let Some(at) = drill
            .step_index(&live.cmd.step)
            .and_then(|i| playbook.step_at_flat(i))
    {
        lines.push(Line::styled(
            format!(
                "⟳ a command is running on step {}.{} (. jumps to it)",
                at.phase + 1,
                at.step + 1
            ),
            theme.accent(),
        ));
    }
    if let (Some(pgid), Some((in_flight, _))) = (runner.leftover, &drill.command_in_flight)
        && *in_flight == step.id
    {
        lines.push(Line::styled(
            format!(
                "⚠ its command is still running from before the crash (process group {pgid}): x stops it"
            ),
            theme.bad(),
        ));
    }
    if let Some(d) = &record.deviation {
        lines.push(Line::styled(
            format!(
                "! override: recorded although {}; reason: {}",
                crate::drill::lifecycle::describe_refused(&d.refused),
                d.reason
            ),
            theme.warn(),
        ));
    }
    for f in runner.follow_ups.iter().filter(|f| f.is_on(&step.id)) {
        lines.push(Line::styled(
            format!(
                "follow-up #{} from drill #{}: {} (c closes it)",
                f.id, f.drill_id, f.text
            ),
            theme.warn(),
        ));
    }
    if let Some(past) = runner.history.get(&step.id) {
        let median = past.median.map(format_clock).unwrap_or_else(|| "–".into());
        let p90 = past.p90.map(format_clock).unwrap_or_else(|| "–".into());
        let trouble = past.failed + past.blocked;
        let style = if trouble * 3 >= past.runs.max(1) {
            theme.warn()
        } else {
            theme.dim()
        };
        lines.push(Line::styled(
            format!(
                "history: median {median} · p90 {p90} · failed {trouble} of {} · skipped {}",
                past.runs, past.skipped
            ),
            style,
        ));
    }
    if let Some(probe) = &record.probe {
        let style = if probe.blocked.is_empty() {
            theme.dim()
        } else {
            theme.bad()
        };
        lines.push(Line::styled(format!("probe: {}", probe.one_line()), style));
    }
    let meta: Vec<String> = [
        step.role.as_ref().map(|r| format!("role {r}")),
        (step.on_fail != OnFail::Stop).then(|| format!("on fail {}", step.on_fail.label())),
        (record.attempts > 1).then(|| format!("attempt {}", record.attempts)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !meta.is_empty() {
        lines.push(Line::styled(meta.join(" · "), theme.dim()));
    }
    lines.push(Line::default());
    // Prose and rollback notes name the same ${VARIABLES} as the commands:
    // show the values the commands get.
    if !step.detail.is_empty() {
        let detail = runner.resolved(&step.detail);
        lines.extend(markdown_to_text(&detail, width, theme.color).lines);
        lines.push(Line::default());
    }
    if let Some(command) = &step.command {
        // Only a shell command runs; console text and reference code are shown
        // with where they go, and `r` is not offered for them.
        let (label, hint) = match &step.command_kind {
            CommandKind::Run if runner.mode() == Mode::Live => ("command", "  (r runs it)".into()),
            CommandKind::Run => ("command", String::new()),
            CommandKind::Paste(into) => ("paste", format!(" into {into} (not run by rollsafe)")),
            CommandKind::Reference => ("reference", " (for reading, not run)".into()),
        };
        lines.push(Line::from(vec![
            Span::styled(label, theme.accent()),
            Span::styled(hint, theme.dim()),
        ]));
        let shown = runner
            .runnable(command)
            .unwrap_or_else(|_| runner.resolved(command));
        if step.command_kind.is_run() {
            lines.extend(shell_lines(&shown, theme));
        } else {
            // No `$ `: this text is not for a shell.
            lines.extend(
                shown
                    .lines()
                    .map(|l| Line::styled(format!("  {l}"), theme.code())),
            );
        }
        if let Some(output) = &step.expected_output {
            lines.push(Line::styled("expected output", theme.dim()));
            lines.extend(
                output
                    .lines()
                    .map(|l| Line::styled(format!("  {l}"), theme.dim())),
            );
        }
    }
    if let Some(verify) = &step.verify {
        let run_hint = if runner.mode() == Mode::Live {
            "  (v runs it)"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::styled("verify", theme.accent()),
            Span::styled(
                format!(" → expect {}{run_hint}", verify.expect.describe()),
                theme.dim(),
            ),
        ]));
        let shown = runner
            .runnable(&verify.command)
            .unwrap_or_else(|_| runner.resolved(&verify.command));
        lines.extend(shell_lines(&shown, theme));
    }
    if let Some(rollback) = &step.rollback {
        lines.push(Line::styled("rollback", theme.accent()));
        let rollback = runner.resolved(rollback);
        lines.extend(rollback.lines().map(|l| Line::raw(format!("  {l}"))));
    }
    let notes: Vec<_> = drill.notes_for(&step.id).collect();
    if !notes.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled("notes", theme.accent()));
        for note in notes {
            let style = if note.text.starts_with("TODO") {
                theme.warn()
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::styled(
                format!("  {} {}", note.at.format("%H:%M:%SZ"), note.shown()),
                style,
            ));
        }
    }
    let block = Block::bordered()
        .title(Span::styled(
            truncate(
                &title,
                width.saturating_sub(clock.len() as u16 + 2) as usize,
            ),
            theme.title(),
        ))
        .title_top(
            Line::styled(
                clock,
                if over_timebox(step, spent) {
                    theme.bad()
                } else {
                    theme.dim()
                },
            )
            .right_aligned(),
        )
        .border_style(theme.border());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((
                if output_area.is_some() {
                    0
                } else {
                    runner.scroll
                },
                0,
            )),
        detail_area,
    );
    if let (Some(area), Some(output)) = (output_area, output) {
        render_output(frame, area, runner, output, now, theme);
    }
}

/// What to show in the output pane for a step: the running command, else its last run.
struct Output<'a> {
    title: String,
    /// Lines, each with whether it came from stderr (known only while the
    /// command runs: the log keeps the streams interleaved).
    lines: Vec<(&'a str, bool)>,
    running: bool,
    good: Option<bool>,
}

fn command_output<'a>(runner: &'a RunnerState, step: &str) -> Option<Output<'a>> {
    if let Some(live) = runner.command.as_ref().filter(|c| c.cmd.step == step) {
        let what = match live.cmd.purpose {
            CommandPurpose::Action => "command",
            CommandPurpose::Verify => "verify",
        };
        let state = if live.cancel_requested {
            "cancelling"
        } else {
            "running"
        };
        return Some(Output {
            title: format!(" ⟳ {what} {state}… x cancels "),
            lines: live.cmd.running.output_lines(),
            running: true,
            good: None,
        });
    }
    let drill = &runner.session.drill;
    let last = drill.commands_for(step).last()?;
    // A result from before the step's current attempt (say, before a crash
    // or a restart) is shown as such, never as the current one.
    let current = drill
        .step_index(step)
        .and_then(|i| drill.steps[i].attempt_began)
        .is_none_or(|began| last.at >= began);
    let what = match (last.purpose, current) {
        (CommandPurpose::Action, true) => "command",
        (CommandPurpose::Verify, true) => "verify",
        (CommandPurpose::Action, false) => "previous attempt's command",
        (CommandPurpose::Verify, false) => "previous attempt's verify",
    };
    let result = match (last.cancelled, last.exit_code) {
        (true, _) => "cancelled".to_string(),
        (false, Some(code)) => format!("exit {code}"),
        (false, None) => "no exit code".to_string(),
    };
    let verdict = if last.purpose == CommandPurpose::Verify {
        if last.passed {
            " · expectation held"
        } else {
            " · expectation NOT met"
        }
    } else {
        ""
    };
    Some(Output {
        title: format!(
            " {what}: {result} in {}{verdict}{} ",
            format_clock(last.duration),
            if last.truncated {
                " · output cut to its tail"
            } else {
                ""
            }
        ),
        lines: last.output.lines().map(|l| (l, false)).collect(),
        running: false,
        good: Some(last.passed),
    })
}

fn render_output(
    frame: &mut Frame,
    area: Rect,
    runner: &RunnerState,
    output: Output<'_>,
    now: DateTime<Utc>,
    theme: Theme,
) {
    let mut title = output.title;
    if let (true, Some(live)) = (output.running, runner.command.as_ref()) {
        title = format!(
            "{}· {} ",
            title,
            format_clock((now - live.started).to_std().unwrap_or_default())
        );
    }
    let style = match output.good {
        Some(true) => theme.ok(),
        Some(false) => theme.bad(),
        None => theme.accent(),
    };
    let all = &output.lines;
    let visible = area.height.saturating_sub(2) as usize;
    // Follow the tail; K scrolls back from it, J returns.
    let back = (runner.output_back as usize).min(all.len().saturating_sub(visible));
    let end = all.len() - back;
    let start = end.saturating_sub(visible);
    let any_stderr = all.iter().any(|(_, err)| *err);
    let lines: Vec<Line> = all[start..end]
        .iter()
        .map(|&(text, err)| match (any_stderr, err) {
            (false, _) => Line::raw(text.to_string()),
            (true, true) => Line::from(vec![
                Span::styled("▌", theme.warn()),
                Span::raw(text.to_string()),
            ]),
            (true, false) => Line::raw(format!(" {text}")),
        })
        .collect();
    if any_stderr {
        title.push_str("· ▌ stderr ");
    }
    let position = if back > 0 {
        format!(" {back} lines back · J follows again ")
    } else if output.running {
        " following ".to_string()
    } else {
        String::new()
    };
    let lines = if lines.is_empty() {
        let empty = if output.running {
            "(no output yet)"
        } else {
            "(no output)"
        };
        vec![Line::styled(empty, theme.dim())]
    } else {
        lines
    };
    let block = Block::bordered()
        .title(Span::styled(title, style))
        .title_bottom(Line::styled(position, theme.dim()).right_aligned())
        .border_style(style);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_levels_are_logarithmic_and_full_only_when_blocked() {
        let ms = Duration::from_millis;
        let blocked_after = ms(250);
        assert_eq!(spark_level(Duration::from_micros(50), blocked_after), 0);
        assert_eq!(spark_level(ms(250), blocked_after), 6);
        assert_eq!(spark_level(ms(251), blocked_after), 7);
        // 1 ms and 10 ms are clearly apart on a log scale (linear would flatten both).
        let (one, ten) = (
            spark_level(ms(1), blocked_after),
            spark_level(ms(10), blocked_after),
        );
        assert!(one < ten && ten < 6, "{one} {ten}");
    }
}
