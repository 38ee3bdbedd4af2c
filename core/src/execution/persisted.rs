//! A run's persisted state: the one place the execution machine is encoded into an
//! [`ExecutionRow`]'s `state` and decoded from it.

use super::ExecutionMachine;
use crate::codec;
use crate::storage::{ExecutionKey, ExecutionRow, StorageError};

impl ExecutionMachine {
    /// The bytes stored as run `key`'s state.
    pub fn to_state(&self, key: &ExecutionKey) -> Result<Vec<u8>, StorageError> {
        codec::encode(self).map_err(|error| StorageError::Corrupt {
            what: format!("the new state of run {}", run_name(key)),
            reason: error.to_string(),
        })
    }

    /// The machine a stored row holds; a state that does not decode is corrupt.
    pub fn from_row(row: &ExecutionRow) -> Result<Self, StorageError> {
        codec::decode(&row.state).map_err(|error| StorageError::Corrupt {
            what: format!("the state of run {}", run_name(&row.key)),
            reason: error.to_string(),
        })
    }
}

/// `workflow_id/run_id in namespace`, for messages.
fn run_name(key: &ExecutionKey) -> String {
    format!(
        "{}/{} in namespace {}",
        key.workflow_id, key.run_id, key.namespace
    )
}
