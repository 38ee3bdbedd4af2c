//! A task queue as a workflow task is scheduled on it: a name and its kind.

use serde::{Deserialize, Serialize};

use crate::enums::TaskQueueKind;
use crate::ids::TaskQueueName;

/// The queue a workflow task was scheduled on: the normal queue, or one worker's sticky
/// queue (then `normal_name` is the normal queue it falls back to).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct TaskQueue {
    /// The queue's name.
    pub name: TaskQueueName,
    /// Normal or sticky.
    pub kind: TaskQueueKind,
    /// For a sticky queue, the normal queue of the workflow.
    pub normal_name: Option<TaskQueueName>,
}

impl TaskQueue {
    /// The normal queue `name`.
    pub fn normal(name: TaskQueueName) -> Self {
        Self {
            name,
            kind: TaskQueueKind::Normal,
            normal_name: None,
        }
    }

    /// The sticky queue `name` of a worker, falling back to `normal_name`.
    pub fn sticky(name: TaskQueueName, normal_name: TaskQueueName) -> Self {
        Self {
            name,
            kind: TaskQueueKind::Sticky,
            normal_name: Some(normal_name),
        }
    }
}
