//! Search attributes and memo from workflow code (Go's `UpsertTypedSearchAttributes` and
//! `UpsertMemo`): typed values the engine indexes for list filters
//! (`CustomerId = 'ada' AND Amount > 100`), and free-form memo fields shown by describe.
//! Each upsert is a command, recorded in history (UpsertWorkflowSearchAttributes,
//! WorkflowPropertiesModified) and replayed like any other.

use endure_core::replay::WorkflowCommand;
use endure_core::{
    Failure, Memo, ModifyWorkflowPropertiesCommandAttributes, SearchAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
};

use super::{WorkflowContext, WorkflowError};

impl WorkflowContext {
    /// Sets `attributes` on this run (adding or replacing each key; others stay), so list
    /// filters see them; a key set to `SearchAttributeValue::Unset` (or an empty keyword
    /// list) is removed, so `Key IS NULL` matches the run again. Invalid attributes (a
    /// reserved name, too many, too large) are refused here, before anything is recorded.
    pub fn upsert_search_attributes(
        &self,
        attributes: SearchAttributes,
    ) -> Result<(), WorkflowError> {
        let mut state = self.state.lock();
        let mut merged = self.search_attributes_of(&state);
        merged.merge(&attributes);
        merged.validate().map_err(|error| {
            WorkflowError::Failed(Box::new(
                Failure::application(error.to_string(), "InvalidSearchAttributes").non_retryable(),
            ))
        })?;
        state
            .upserted_search_attributes
            .0
            .extend(attributes.0.clone());
        state.commands.push(WorkflowCommand::UpsertSearchAttributes(
            UpsertWorkflowSearchAttributesCommandAttributes {
                search_attributes: attributes,
            },
        ));
        Ok(())
    }

    /// This run's search attributes: those it started with, with every upsert applied.
    pub fn search_attributes(&self) -> SearchAttributes {
        let state = self.state.lock();
        self.search_attributes_of(&state)
    }

    fn search_attributes_of(&self, state: &super::state::WorkflowState) -> SearchAttributes {
        let mut attributes = state
            .start
            .as_ref()
            .map(|start| start.search_attributes.clone().without_removals())
            .unwrap_or_default();
        attributes.merge(&state.upserted_search_attributes);
        attributes
    }

    /// Sets memo fields on this run (adding or replacing each; others stay).
    pub fn upsert_memo(&self, memo: Memo) -> Result<(), WorkflowError> {
        let size = memo.size_bytes();
        if size > endure_core::limits::MEMO_BYTES_MAX {
            return Err(WorkflowError::Failed(Box::new(
                Failure::application(
                    format!(
                        "the memo is {size} bytes; at most {} are allowed",
                        endure_core::limits::MEMO_BYTES_MAX
                    ),
                    "InvalidMemo",
                )
                .non_retryable(),
            )));
        }
        self.state
            .lock()
            .commands
            .push(WorkflowCommand::ModifyProperties(
                ModifyWorkflowPropertiesCommandAttributes {
                    upserted_memo: memo,
                },
            ));
        Ok(())
    }
}
