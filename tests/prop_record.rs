//! The drill record holds only what the operator confirmed: random key
//! sequences (with resizes to a too-small terminal and the app being left
//! as a signal would leave it) are driven through the app's pure update, and
//! after every key the log is checked against the rules:
//! - an outcome lands only from a confirming key (space, enter in a reason
//!   prompt, y in a confirmation), never from moving, typing or leaving;
//! - an outcome the lifecycle would refuse lands only with a deviation event
//!   right before it, for the same step, with a non-empty reason;
//! - nothing lands while the terminal is too small (only leaving works);
//! - a tabletop drill never runs a command;
//! - the state on screen is the fold of the log.
//!
//! The generator is a small seeded xorshift, so a failure names its seed and
//! replays exactly. Run: `cargo test --test prop_record`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollsafe::drill::lifecycle;
use rollsafe::drill::{Drill, Event, EventKind, Mode, Outcome, Session};
use rollsafe::playbook::{self, Library, Loaded, Origin};
use rollsafe::store::Store;
use rollsafe::tui::action::Action;
use rollsafe::tui::app::{App, Dialog, Screen};

const PLAYBOOK: &str = r#"
id = "prop"
title = "Property"
[[phases]]
title = "One"
[[phases.steps]]
id = "a"
title = "Verification fails"
command = "true"
[phases.steps.verify]
command = "echo nope"
regex = "^yes$"
[[phases.steps]]
id = "b"
title = "Command fails, jumps"
command = "false"
on_fail = "goto:d"
[[phases.steps]]
id = "c"
title = "Point of no return"
command = "echo c"
point_of_no_return = true
[[phases.steps]]
id = "d"
title = "Manual"
"#;

/// Sequences per mode, and keys per sequence.
const SEQUENCES: u64 = 400;
const KEYS: usize = 60;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the operator does next: a key, or something that happens to the app.
#[derive(Debug, Clone, Copy)]
enum Step {
    Key(Action),
    Shrink,
    Grow,
    /// SIGTERM / SIGHUP: the app leaves as the event loop makes it.
    Leave,
}

fn pick(rng: &mut Rng) -> Step {
    const KEYS: &[Action] = &[
        Action::Pass,
        Action::Pass,
        Action::Fail,
        Action::Skip,
        Action::Block,
        Action::Override,
        Action::Override,
        Action::Undo,
        Action::Open,
        Action::Up,
        Action::Down,
        Action::Down,
        Action::Note,
        Action::Input('x'),
        Action::Input('y'),
        Action::Submit,
        Action::Submit,
        Action::Dismiss,
        Action::Yes,
        Action::No,
        Action::RunCommand,
        Action::RunVerify,
        Action::CancelCommand,
        Action::TogglePause,
        Action::Finish,
        Action::Back,
        Action::Open,
        Action::Help,
    ];
    match rng.below(40) {
        0 => Step::Shrink,
        1 => Step::Grow,
        2 => Step::Leave,
        _ => Step::Key(KEYS[rng.below(KEYS.len())]),
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn loaded() -> Loaded {
    Loaded {
        playbook: playbook::parse("prop.toml", PLAYBOOK).expect("the playbook parses"),
        origin: Origin::File("prop.toml".into()),
        source: PLAYBOOK.to_string(),
    }
}

fn is_outcome(kind: &EventKind) -> Option<(&str, Outcome)> {
    match kind {
        EventKind::StepPassed { step } => Some((step, Outcome::Passed)),
        EventKind::StepFailed { step, .. } => Some((step, Outcome::Failed)),
        EventKind::StepSkipped { step, .. } => Some((step, Outcome::Skipped)),
        EventKind::StepBlocked { step, .. } => Some((step, Outcome::Blocked)),
        _ => None,
    }
}

/// Checks the events one step appended, against the drill as it was before.
fn check_new_events(
    seed: u64,
    step: Step,
    before: &Drill,
    new: &[Event],
    mode: Mode,
    too_small: bool,
) {
    let confirming = matches!(step, Step::Key(Action::Pass | Action::Submit | Action::Yes));
    if too_small {
        assert!(
            new.iter().all(|e| matches!(
                e.kind,
                EventKind::ProbeStats { .. } | EventKind::Note { .. }
            )),
            "seed {seed}: {step:?} behind the too-small notice logged {:?}",
            new.iter().map(|e| e.kind.name()).collect::<Vec<_>>()
        );
    }
    if mode == Mode::Tabletop {
        assert!(
            !new.iter().any(|e| matches!(
                e.kind,
                EventKind::CommandStarted { .. } | EventKind::CommandRun { .. }
            )),
            "seed {seed}: a tabletop drill ran a command"
        );
    }
    let mut state = before.clone();
    let mut deviation_for: Option<String> = None;
    for event in new {
        if let EventKind::Deviation {
            step: s, reason, ..
        } = &event.kind
        {
            assert!(
                !reason.trim().is_empty(),
                "seed {seed}: a deviation without a reason"
            );
            deviation_for = Some(s.clone());
        } else if let Some((id, outcome)) = is_outcome(&event.kind) {
            assert!(
                confirming,
                "seed {seed}: {step:?} logged an outcome ({}) nobody confirmed",
                event.kind.name()
            );
            let index = state.step_index(id).expect("a step of the playbook");
            if lifecycle::may_record(&state, index, outcome).is_err() {
                assert_eq!(
                    deviation_for.as_deref(),
                    Some(id),
                    "seed {seed}: a refused outcome on {id} landed without its deviation"
                );
            }
            deviation_for = None;
        } else {
            assert!(
                deviation_for.is_none(),
                "seed {seed}: a deviation not followed by its outcome"
            );
        }
        state.apply(event);
    }
    assert!(
        deviation_for.is_none(),
        "seed {seed}: a deviation with no outcome after it"
    );
}

fn drill_of(app: &App) -> Option<(i64, Drill)> {
    match &app.screen {
        Screen::Runner(r) => Some((r.session.id, r.session.drill.clone())),
        _ => None,
    }
}

fn run_sequence(seed: u64, mode: Mode) -> usize {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let library = Library {
        playbooks: vec![loaded()],
        broken: Vec::new(),
    };
    let mut app = App::new(
        Store::open_in_memory().unwrap(),
        library,
        "prop".into(),
        BTreeMap::new(),
        at(0),
    )
    .with_env(|_| None);
    app.area = Some((120, 40));
    app.start(&loaded(), mode, at(0));
    let (mut id, _) = drill_of(&app).expect("the drill started");
    let mut seen = app.store.events(id).unwrap().len();
    let mut checked = 0;
    for k in 0..KEYS {
        let now = at(k as i64 + 1);
        let step = pick(&mut rng);
        let before = match drill_of(&app) {
            Some((_, d)) => d,
            None => Session::resume(&app.store, id).unwrap().drill,
        };
        let too_small = app.area.is_some_and(|(w, h)| w < 60 || h < 15);
        match step {
            Step::Shrink => app.area = Some((30, 8)),
            Step::Grow => app.area = Some((120, 40)),
            Step::Leave => app.leave(now),
            Step::Key(action) => {
                // The same gate the event loop applies to a key press.
                let allowed =
                    !too_small || (app.dialog.is_none() && matches!(action, Action::Back));
                if allowed {
                    app.handle(action, now);
                }
            }
        }
        // A live command runs on; let it end and be logged.
        for _ in 0..200 {
            if !app.command_running() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            app.tick(now);
        }
        let events = app.store.events(id).unwrap();
        check_new_events(seed, step, &before, &events[seen..], mode, too_small);
        seen = events.len();
        checked += 1;
        // Home may have started another drill: follow that one from here.
        if let Some((current, _)) = drill_of(&app)
            && current != id
        {
            id = current;
            seen = app.store.events(id).unwrap().len();
            continue;
        }
        // The screen shows the fold of the log.
        if let Some((_, drill)) = drill_of(&app) {
            assert_eq!(
                drill,
                Session::resume(&app.store, id).unwrap().drill,
                "seed {seed}: the screen and the log disagree after {step:?}"
            );
        }
        // Back on Home: open the drill again, as an operator would.
        if matches!(app.screen, Screen::Home) && app.dialog.is_none() && rng.below(2) == 0 {
            app.handle(Action::Open, now);
            if !matches!(app.screen, Screen::Runner(_)) {
                app.dialog = None::<Dialog>;
            }
            // Reopening logs the time away as an interruption: not a key's doing.
            if let Some((current, _)) = drill_of(&app) {
                id = current;
            }
            seen = app.store.events(id).unwrap().len();
        }
    }
    checked
}

#[test]
fn the_log_holds_only_confirmed_outcomes_whatever_the_keys() {
    let mut keys = 0;
    for seed in 0..SEQUENCES {
        keys += run_sequence(seed, Mode::Tabletop);
    }
    // Live sequences run real (tiny) commands: fewer of them.
    for seed in 0..SEQUENCES / 8 {
        keys += run_sequence(10_000 + seed, Mode::Live);
    }
    assert!(keys >= 25_000, "{keys} keys checked");
}
