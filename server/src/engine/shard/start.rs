//! Starts: the facts a start needs read once, the pure decision asked
//! ([`decide_start`]), and what it says written.

use endure_core::UpdateRequest;
use endure_core::clock::Clock;
use endure_core::execution::{
    ExecutionMachine, Input, SignalRequest, StartDecision, StartFacts, StartKind, StartRequest,
    decide_start,
};
use endure_core::history::ParentExecutionInfo;
use endure_core::storage::{ExecutionKey, RequestRecord, Storage};

use super::actor::{Shard, signal_record_id};
use super::plan::{self, NewChain};
use super::write::with_history;
use crate::engine::api::{EngineError, StartWorkflowRequest, StartWorkflowResponse};
use crate::engine::in_flight::Ticket;

impl<S: Storage, C: Clock> Shard<S, C> {
    /// What the store holds for a start of `request`'s workflow id (see [`decide_start`]).
    pub(super) async fn start_facts(
        &mut self,
        request: &StartWorkflowRequest,
        signal: Option<&SignalRequest>,
        update: Option<&UpdateRequest>,
    ) -> Result<StartFacts, EngineError> {
        let (namespace, workflow_id) = (&request.namespace, &request.options.id);
        let recorded = |record: Option<RequestRecord>| record.map(|record| record.run_id);
        let storage = &self.parts.storage;
        let find = |request_id: Option<endure_core::RequestId>| async move {
            match request_id {
                Some(request_id) => storage
                    .find_request(namespace, workflow_id, &request_id)
                    .await
                    .map(recorded),
                None => Ok(None),
            }
        };
        // Independent reads, sent together: one wait for the three, not three in a row.
        let (recorded_start, recorded_signal, current) = tokio::try_join!(
            find(request.options.request_id.clone()),
            find(signal.and_then(signal_record_id)),
            storage.current_run(namespace, workflow_id),
        )?;
        let current = current.map(|current| (current.run_id, current.status));
        let closed_current_took_update = match (update, current) {
            (Some(update), Some((run_id, status))) if status.is_closed() => {
                let key = ExecutionKey {
                    namespace: namespace.clone(),
                    workflow_id: workflow_id.clone(),
                    run_id,
                };
                let (machine, _, _) = self.load(&key).await?;
                machine.update_record(&update.update_id).is_some()
            }
            _ => false,
        };
        Ok(StartFacts {
            recorded_start,
            recorded_signal,
            current,
            closed_current_took_update,
        })
    }

    /// Starts a workflow under the id-conflict and id-reuse policies, idempotently by
    /// request id; the response, and the ticket of the write that must be durable first.
    pub(super) async fn start(
        &mut self,
        request: StartWorkflowRequest,
        signal: Option<SignalRequest>,
        update: Option<UpdateRequest>,
        parent: Option<ParentExecutionInfo>,
    ) -> Result<(StartWorkflowResponse, Option<Ticket>), EngineError> {
        let namespace = request.namespace.clone();
        let workflow_id = request.options.id.clone();
        // Checked here too, for the children the outbox starts.
        self.parts.namespaces.check(&namespace)?;
        self.settle_workflow(&namespace, &workflow_id).await;
        let kind = match (&signal, &update) {
            (Some(_), _) => StartKind::WithSignal,
            (None, Some(_)) => StartKind::WithUpdate,
            (None, None) => StartKind::Plain,
        };
        let facts = self
            .start_facts(&request, signal.as_ref(), update.as_ref())
            .await?;
        let existing = |run_id| {
            let key = ExecutionKey {
                namespace: namespace.clone(),
                workflow_id: workflow_id.clone(),
                run_id,
            };
            let response = StartWorkflowResponse {
                run_id,
                started: false,
            };
            (key, response)
        };
        let decision = decide_start(
            kind,
            request.options.id_conflict_policy,
            request.options.id_reuse_policy,
            &facts,
        );
        match decision {
            StartDecision::Existing(run_id) => return Ok((existing(run_id).1, None)),
            StartDecision::AlreadyStarted(run_id) => {
                return Err(EngineError::AlreadyStarted {
                    workflow_id: workflow_id.clone(),
                    run_id,
                });
            }
            StartDecision::SignalRunning(run_id) => {
                let (key, response) = existing(run_id);
                let input = Input::SignalWithStart(signal.unwrap_or_else(|| {
                    unreachable!("a signal-with-start decision has its signal")
                }));
                let (_, ticket) = self.transition(&key, input, None).await?;
                return Ok((response, ticket));
            }
            StartDecision::UpdateRunning(run_id) => {
                let (key, response) = existing(run_id);
                let input = Input::Update {
                    request: update.unwrap_or_else(|| {
                        unreachable!("an update-with-start decision has its update")
                    }),
                    ends_start_delay: true,
                };
                let (_, ticket) = self.transition(&key, input, None).await?;
                return Ok((response, ticket));
            }
            StartDecision::TerminateThenStart(run_id) => {
                let terminate = Input::Terminate {
                    reason: "terminated by a start with the terminate-existing policy".into(),
                    details: None,
                    identity: request.identity.clone(),
                };
                // The new run is written after the termination is durable.
                if let (_, Some(ticket)) = self
                    .transition(&existing(run_id).0, terminate, None)
                    .await?
                {
                    self.wait(ticket).await?;
                }
            }
            StartDecision::Start => {}
        }
        let now = self.parts.clock.now();
        let run_id = self.next_run_id();
        let start = StartRequest::from_options(
            namespace.clone(),
            &request.options,
            run_id,
            request.workflow_type,
            request.input,
            request.header,
            request.identity,
            now,
        )?;
        let start = StartRequest {
            signal,
            parent,
            ..start
        };
        let (mut machine, mut effects) = ExecutionMachine::start(start, now);
        if let Some(update) = update {
            let input = Input::Update {
                request: update,
                ends_start_delay: true,
            };
            let admitted = machine.apply(input, now)?;
            effects.events.extend(admitted.events);
            effects.tasks.extend(admitted.tasks);
        }
        let key = ExecutionKey {
            namespace: namespace.clone(),
            workflow_id: workflow_id.clone(),
            run_id,
        };
        let mut handoffs = self.sync_match(&key, &mut machine, &mut effects, now);
        with_history(&mut handoffs, &key, None, &effects.events);
        // The current run a start replaces keeps its id through a termination.
        let replaced = facts.current.map(|(run_id, _)| run_id);
        let plan = plan::start(
            &mut self.plan_context(&key, now),
            &key,
            machine,
            effects,
            NewChain {
                replaced,
                request_id: request.options.request_id.clone(),
            },
            handoffs,
        )?;
        let ticket = self.submit(plan)?;
        let response = StartWorkflowResponse {
            run_id,
            started: true,
        };
        Ok((response, Some(ticket)))
    }
}
