//! The playbook's probe in a headless drill: one window per step attempt,
//! logged as `ProbeStats` just before the step's outcome.

use super::driver::StepObserver;
use crate::drill::EventKind;
use crate::playbook::Step;
use crate::probe::Probe;

pub struct ProbeWindows {
    pub probe: Probe,
}

impl StepObserver for ProbeWindows {
    fn step_started(&mut self, _index: usize, _step: &Step) {
        self.probe.window_start();
    }

    fn step_finished(&mut self, _index: usize, step: &Step) -> Vec<EventKind> {
        vec![EventKind::ProbeStats {
            step: step.id.clone(),
            stats: self.probe.window_end(),
        }]
    }
}
