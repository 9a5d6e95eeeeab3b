//! Run-time value flows: which value known only when the plan runs (a task's code,
//! output, body or extracted field) is read where. A target that cannot carry them
//! refuses each use with [`Refusal`] (KP201).

use super::text::Refusal;
use super::{NodeId, Vocabulary};
use crate::ir::{Plan, PlanInfo, TaskField, TaskId};

/// Index of a value in [`Values::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(pub u32);

/// The run-time values a lowering carries.
#[derive(Debug, Clone)]
pub struct Values {
    words: Vocabulary,
}

impl Values {
    pub fn new(words: Vocabulary) -> Values {
        Values { words }
    }

    /// Carries `task`'s `field` to `reader`, or says why it cannot.
    pub fn carry(
        &mut self,
        _plan: &Plan,
        _info: &PlanInfo,
        _task: TaskId,
        _field: &TaskField,
        _reader: NodeId,
    ) -> Result<ValueId, Refusal> {
        Err(self.refusal())
    }

    /// Why a run-time value cannot be used where the target needs a static one.
    pub fn refusal(&self) -> Refusal {
        Refusal {
            why: format!("{} can only hold values known before it starts", self.words.file),
            hint: "use a value known when the package is interpreted (a literal, a package argument, or a service's hostname), or deploy with `kplan apply`, which resolves run-time values".into(),
        }
    }
}
