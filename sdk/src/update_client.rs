//! Updates from the client (Go's `UpdateWorkflow`, `UpdateWithStartWorkflow` and
//! `WorkflowUpdateHandle`, spec §5.19.3): send an update, wait until the workflow accepted
//! it or until its handler finished, and read its result.
//!
//! Every update carries an id (a fresh one unless given), so sending it again — after a
//! lost answer, or to wait longer — is the same update: the engine runs it once.

use endure_core::protocol::{
    PollUpdateRequest, StartWorkflowRequest, UpdateWithStartWorkflowRequest,
    UpdateWithStartWorkflowResponse, UpdateWorkflowRequest,
};
use endure_core::{
    Header, Payloads, RunId, StartWorkflowOptions, UpdateId, UpdateName, UpdateOutcome,
    UpdateRequest, UpdateStage, WorkflowType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, ClientError, WorkflowHandle, argument, fresh_request_id};

/// How an update is sent (Go's `UpdateWorkflowOptions`).
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// The update's id; a fresh one if `None`. Sending an update with an id the run already
    /// took returns that update instead of running another.
    pub update_id: Option<String>,
    /// Return once the update has come this far: `Accepted` (the validator passed; the
    /// handler may still run) or `Completed`. `Admitted` is treated as `Accepted`.
    pub wait_for_stage: UpdateStage,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            update_id: None,
            wait_for_stage: UpdateStage::Completed,
        }
    }
}

/// An update sent to a workflow: its id, and its result once the handler finished.
#[derive(Clone)]
pub struct UpdateHandle {
    workflow: WorkflowHandle,
    update_id: UpdateId,
    /// The update as sent, to send again while it waits; `None` for a handle got by its
    /// id alone ([`Client::get_update_handle`]), which only polls.
    request: Option<UpdateRequest>,
    /// The run that took it, or the one to ask (`None`: the current run).
    run_id: Option<RunId>,
    outcome: Option<UpdateOutcome>,
}

impl std::fmt::Debug for UpdateHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateHandle")
            .field("update_id", &self.update_id)
            .field("run_id", &self.run_id)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl UpdateHandle {
    /// The update's id.
    pub fn update_id(&self) -> &UpdateId {
        &self.update_id
    }

    /// The run that took the update (for a handle got by id, the run it was asked of, if
    /// one was named).
    pub fn run_id(&self) -> Option<RunId> {
        self.run_id
    }

    /// Waits for the handler to finish and returns its result; a rejection or a failed
    /// handler is [`ClientError::UpdateFailed`].
    pub async fn result<R: DeserializeOwned>(&self) -> Result<R, ClientError> {
        Ok(self.result_raw().await?.decode_first()?)
    }

    /// The handler's result as it wrote it (see [`Self::result`]).
    pub async fn result_raw(&self) -> Result<Payloads, ClientError> {
        let mut outcome = self.outcome.clone();
        while outcome.is_none() {
            let response = match &self.request {
                Some(request) => {
                    send(
                        &self.workflow,
                        self.run_id,
                        request.clone(),
                        UpdateStage::Completed,
                    )
                    .await?
                }
                None => poll(&self.workflow, self.run_id, &self.update_id).await?,
            };
            outcome = response.outcome;
        }
        match outcome {
            Some(UpdateOutcome::Success(payloads)) => Ok(payloads),
            Some(UpdateOutcome::Failure(failure)) => {
                Err(ClientError::UpdateFailed(Box::new(failure)))
            }
            None => unreachable!("the loop ends with an outcome"),
        }
    }
}

impl WorkflowHandle {
    /// Sends update `name` with `args` and waits for its result (Go's `UpdateWorkflow`
    /// waiting for the completed stage, then `Get`).
    pub async fn update<A: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        args: &A,
    ) -> Result<R, ClientError> {
        self.start_update(name, args, UpdateOptions::default())
            .await?
            .result()
            .await
    }

    /// Sends update `name` with `args` and returns once it reached
    /// `options.wait_for_stage`. An update the validator rejected — or whose handler
    /// already failed — is [`ClientError::UpdateFailed`].
    pub async fn start_update<A: Serialize>(
        &self,
        name: &str,
        args: &A,
        options: UpdateOptions,
    ) -> Result<UpdateHandle, ClientError> {
        let args = argument(args, "update arguments")?;
        self.start_update_raw(name, args, options).await
    }

    /// [`Self::start_update`] with arguments already encoded (a payload per argument).
    pub async fn start_update_raw(
        &self,
        name: &str,
        args: Payloads,
        options: UpdateOptions,
    ) -> Result<UpdateHandle, ClientError> {
        let request = update_request(&self.client, name, args, &options)?;
        let wait_for = options.wait_for_stage.max(UpdateStage::Accepted);
        let mut response = send(self, self.run_id, request.clone(), wait_for).await?;
        // The long poll may end before the stage: ask again (the id makes it the same
        // update). Once accepted, the update belongs to its run; before, it follows the
        // handle's run (the current one, across continue-as-new).
        while response.stage < wait_for {
            let run_id = if response.stage >= UpdateStage::Accepted {
                Some(response.run_id)
            } else {
                self.run_id
            };
            response = send(self, run_id, request.clone(), wait_for).await?;
        }
        // Rejected by the validator (or already failed): an error here, as Go's
        // `UpdateWorkflow` reports it.
        if let Some(UpdateOutcome::Failure(failure)) = &response.outcome {
            return Err(ClientError::UpdateFailed(Box::new(failure.clone())));
        }
        Ok(UpdateHandle {
            workflow: self.clone(),
            update_id: request.update_id.clone(),
            request: Some(request),
            run_id: Some(response.run_id),
            outcome: response.outcome,
        })
    }
}

impl Client {
    /// Update-with-start (Go's `UpdateWithStartWorkflow`): sends update `update_name` to
    /// the workflow id's running run — when `options.id_conflict_policy` is `UseExisting` —
    /// or starts the workflow with `input` and delivers the update with its first task. A
    /// start delay ends either way. Returns once the update reached
    /// `update_options.wait_for_stage`.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_with_start_workflow<I: Serialize, A: Serialize>(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: &I,
        update_name: &str,
        update_args: &A,
        update_options: UpdateOptions,
    ) -> Result<(WorkflowHandle, UpdateHandle), ClientError> {
        options.validate()?;
        let mut options = options;
        if options.request_id.is_none() {
            options.request_id = Some(fresh_request_id());
        }
        let update_args = argument(update_args, "update arguments")?;
        let update = update_request(self, update_name, update_args, &update_options)?;
        let wait_for = update_options.wait_for_stage.max(UpdateStage::Accepted);
        let start = StartWorkflowRequest {
            namespace: self.namespace.clone(),
            workflow_type: WorkflowType::new(workflow_type)?,
            input: argument(input, "workflow input")?,
            header: Header::new(),
            identity: self.identity.clone(),
            options: options.clone(),
        };
        let answer = self
            .rpc(UpdateWithStartWorkflowRequest {
                start,
                update: UpdateWorkflowRequest {
                    namespace: self.namespace.clone(),
                    workflow_id: options.id.clone(),
                    run_id: None,
                    request: update.clone(),
                    wait_for,
                },
            })
            .await?;
        let UpdateWithStartWorkflowResponse {
            start: started,
            update: response,
        } = *answer;
        let workflow = self.handle(options.id, Some(started.run_id));
        let handle = UpdateHandle {
            workflow: workflow.clone(),
            update_id: update.update_id.clone(),
            request: Some(update),
            run_id: Some(response.run_id),
            outcome: response.outcome,
        };
        Ok((workflow, handle))
    }
}

fn update_request(
    client: &Client,
    name: &str,
    args: Payloads,
    options: &UpdateOptions,
) -> Result<UpdateRequest, ClientError> {
    args.check_size("update arguments")?;
    let update_id = match &options.update_id {
        Some(id) => UpdateId::new(id.clone())?,
        None => UpdateId::new(fresh_request_id().as_str().to_owned())?,
    };
    Ok(UpdateRequest {
        update_id,
        identity: client.identity.clone(),
        name: UpdateName::new(name)?,
        header: Header::new(),
        args,
    })
}

/// Waits for an update known only by its id (Temporal's `PollWorkflowExecutionUpdate`).
async fn poll(
    workflow: &WorkflowHandle,
    run_id: Option<RunId>,
    update_id: &UpdateId,
) -> Result<endure_core::protocol::UpdateWorkflowResponse, ClientError> {
    workflow
        .client
        .rpc(PollUpdateRequest {
            namespace: workflow.client.namespace.clone(),
            workflow_id: workflow.workflow_id.clone(),
            run_id,
            update_id: update_id.clone(),
        })
        .await
        .map(|response| *response)
}

impl Client {
    /// A handle to update `update_id` of `workflow_id` — its run `run_id`, or its current
    /// run — known only by its id, to await its result from anywhere (Go's
    /// `GetWorkflowUpdateHandle`). Its `result` waits until the run completes the update;
    /// an update the run never accepted is `NotFound`.
    pub fn get_update_handle(
        &self,
        workflow_id: endure_core::WorkflowId,
        run_id: Option<RunId>,
        update_id: UpdateId,
    ) -> UpdateHandle {
        UpdateHandle {
            workflow: self.handle(workflow_id, run_id),
            update_id,
            request: None,
            run_id,
            outcome: None,
        }
    }
}

async fn send(
    workflow: &WorkflowHandle,
    run_id: Option<RunId>,
    request: UpdateRequest,
    wait_for: UpdateStage,
) -> Result<endure_core::protocol::UpdateWorkflowResponse, ClientError> {
    workflow
        .client
        .rpc(UpdateWorkflowRequest {
            namespace: workflow.client.namespace.clone(),
            workflow_id: workflow.workflow_id.clone(),
            run_id,
            request,
            wait_for,
        })
        .await
        .map(|response| *response)
}
