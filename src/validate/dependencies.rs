//! The order between steps (KP112): a step comes after the steps that produce what it
//! reads (the add of a service or the last step that changed it, an artifact's
//! production, a task's run), after the latest `wait` (a barrier, as in Kurtosis), and a
//! `print` after the step before it. These edges are the DAG the executor runs.

use super::references::Uses;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, ServiceId, Span, TaskId};
use std::collections::{BTreeSet, HashMap};

/// Which step produced (or last changed) each node, as far as the walk has come.
#[derive(Default)]
pub struct Producers {
    /// The step that adds each service, creates each artifact, runs each task.
    pub service_step: HashMap<ServiceId, usize>,
    pub artifact_step: HashMap<ArtifactId, usize>,
    pub task_step: HashMap<TaskId, usize>,
    /// The last step that changed each service after its add (an exec, a start/stop).
    writer: HashMap<ServiceId, usize>,
    /// The latest `wait` step: everything after it waits for it.
    barrier: Option<usize>,
}

/// How step `step` relates to the ones before it, beyond what it reads.
#[derive(Default)]
pub struct Effects {
    /// Services the step changes (adds, execs in, starts, stops).
    pub writes: Vec<ServiceId>,
    /// A `wait`: later steps come after it.
    pub is_wait: bool,
    /// A `print`: comes after the step before it, so output keeps program order.
    pub after_prev: bool,
}

impl Producers {
    /// The steps step `step` must come after, given what it reads.
    pub fn after(&self, step: usize, uses: &Uses, effects: &Effects) -> BTreeSet<usize> {
        let mut after = BTreeSet::new();
        for s in &uses.services {
            if let Some(w) = self.writer.get(s).or(self.service_step.get(s)) {
                after.insert(*w);
            }
        }
        for a in &uses.artifacts {
            after.extend(self.artifact_step.get(a));
        }
        for t in &uses.tasks {
            after.extend(self.task_step.get(t));
        }
        after.extend(self.barrier);
        if effects.after_prev && step > 0 {
            after.insert(step - 1);
        }
        after.remove(&step);
        after
    }

    /// Step `step` is done: it changed `effects.writes`, and a `wait` is the new barrier.
    pub fn finish(&mut self, step: usize, effects: Effects) {
        for w in effects.writes {
            self.writer.insert(w, step);
        }
        if effects.is_wait {
            self.barrier = Some(step);
        }
    }
}

/// KP112: step `step` (at `at`) would have to come after itself or a later step.
pub fn cycle(step: usize, after: &BTreeSet<usize>, at: &Span) -> Option<Diagnostic> {
    after.iter().any(|a| *a >= step).then(|| {
        Diagnostic::error(
            Code::KP112,
            "this instruction depends on one that comes after it",
            Some(at.clone()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::at;

    fn uses_service(id: u32) -> Uses {
        let mut u = Uses::default();
        u.services.insert(ServiceId(id));
        u
    }

    #[test]
    fn a_reader_comes_after_the_last_writer_of_a_service() {
        let mut p = Producers::default();
        p.service_step.insert(ServiceId(0), 0);
        let none = Effects::default();
        assert_eq!(p.after(2, &uses_service(0), &none), BTreeSet::from([0]));
        let exec = Effects {
            writes: vec![ServiceId(0)],
            ..Effects::default()
        };
        p.finish(1, exec);
        assert_eq!(p.after(2, &uses_service(0), &none), BTreeSet::from([1]));
    }

    #[test]
    fn a_wait_is_a_barrier_and_a_print_keeps_its_place() {
        let mut p = Producers::default();
        let wait = Effects {
            is_wait: true,
            ..Effects::default()
        };
        p.finish(0, wait);
        let print = Effects {
            after_prev: true,
            ..Effects::default()
        };
        assert_eq!(p.after(3, &Uses::default(), &print), BTreeSet::from([0, 2]));
        assert_eq!(p.after(0, &Uses::default(), &print), BTreeSet::new());
    }

    #[test]
    fn a_step_cannot_come_after_a_later_one() {
        assert!(cycle(2, &BTreeSet::from([0, 1]), &at(1)).is_none());
        let d = cycle(2, &BTreeSet::from([0, 3]), &at(1)).expect("KP112");
        assert_eq!(d.code, Code::KP112);
    }
}
