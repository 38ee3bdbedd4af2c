//! Schedules from the client (spec §5.17.1–4; Go's `client.ScheduleClient()`): create a
//! schedule, get a [`ScheduleHandle`] to describe, update, pause, unpause, trigger,
//! backfill or delete it, and list a namespace's schedules.
//!
//! | Go | Endure |
//! |---|---|
//! | `c.ScheduleClient().Create(ctx, options)` | `client.schedules().create(options)` |
//! | `c.ScheduleClient().GetHandle(ctx, id)` | `client.schedules().handle(id)` |
//! | `c.ScheduleClient().List(ctx, options)` | `client.schedules().list(query)` |
//! | `handle.Describe(ctx)` | `handle.describe()` |
//! | `handle.Update(ctx, ScheduleUpdateOptions{DoUpdate})` | `handle.update(do_update)` |
//! | `handle.Pause(ctx, SchedulePauseOptions{Note})` | `handle.pause(note)` |
//! | `handle.Unpause(ctx, ScheduleUnpauseOptions{Note})` | `handle.unpause(note)` |
//! | `handle.Trigger(ctx, ScheduleTriggerOptions{Overlap})` | `handle.trigger(overlap)` |
//! | `handle.Backfill(ctx, ScheduleBackfillOptions{Backfill})` | `handle.backfill(ranges)` |
//! | `handle.Delete(ctx)` | `handle.delete()` |

use std::time::Duration;

use endure_core::protocol::{
    CreateScheduleRequest, DeleteScheduleRequest, DescribeScheduleRequest, ListSchedulesRequest,
    PatchScheduleRequest, UpdateScheduleRequest,
};
use endure_core::schedule::{
    Backfill, Schedule, ScheduleAction, ScheduleDescription, ScheduleListEntry,
    ScheduleOverlapPolicy, SchedulePatch, SchedulePolicies, ScheduleRunState, ScheduleSpec,
    ScheduleWorkflowAction,
};
use endure_core::{Header, Memo, SearchAttributes, StartWorkflowOptions, WorkflowId, WorkflowType};
use serde::Serialize;

use crate::client::{Client, ClientError, argument, fresh_request_id};

/// How to create a schedule (Go's `client.ScheduleOptions`).
#[derive(Clone, Debug)]
pub struct ScheduleOptions {
    /// The schedule id, unique in the namespace.
    pub id: String,
    /// When it fires.
    pub spec: ScheduleSpec,
    /// The workflow it starts.
    pub action: ScheduleWorkflowAction,
    /// What to do when a start overlaps a running workflow (default skip).
    pub overlap: ScheduleOverlapPolicy,
    /// How late a start may still be taken after an outage (default one year).
    pub catchup_window: Option<Duration>,
    /// Pause when a workflow it started fails or times out.
    pub pause_on_failure: bool,
    /// Why it was created paused (or anything to read in describe).
    pub note: String,
    /// Create it paused.
    pub paused: bool,
    /// Take at most this many scheduled actions, then stop.
    pub remaining_actions: Option<u64>,
    /// Take the action once right away.
    pub trigger_immediately: bool,
    /// Take the actions of these past ranges right away.
    pub backfills: Vec<Backfill>,
    /// The schedule's memo.
    pub memo: Memo,
    /// The schedule's search attributes (what list queries filter on).
    pub search_attributes: SearchAttributes,
}

impl ScheduleOptions {
    /// A schedule `id` that takes `action` at the times of `spec`, every other option at
    /// its default.
    pub fn new(id: impl Into<String>, spec: ScheduleSpec, action: ScheduleWorkflowAction) -> Self {
        Self {
            id: id.into(),
            spec,
            action,
            overlap: ScheduleOverlapPolicy::Skip,
            catchup_window: None,
            pause_on_failure: false,
            note: String::new(),
            paused: false,
            remaining_actions: None,
            trigger_immediately: false,
            backfills: Vec::new(),
            memo: Memo::default(),
            search_attributes: SearchAttributes::default(),
        }
    }

    /// The options that create `schedule` as `id` — the inverse of
    /// [`schedule`](Self::schedule), for a schedule read from describe or from JSON.
    pub fn from_schedule(id: impl Into<String>, schedule: Schedule) -> Self {
        let ScheduleAction::StartWorkflow(action) = schedule.action;
        Self {
            id: id.into(),
            spec: schedule.spec,
            action: *action,
            overlap: schedule.policies.overlap,
            catchup_window: Some(schedule.policies.catchup_window),
            pause_on_failure: schedule.policies.pause_on_failure,
            note: schedule.state.notes,
            paused: schedule.state.paused,
            remaining_actions: schedule
                .state
                .limited_actions
                .then_some(schedule.state.remaining_actions),
            trigger_immediately: false,
            backfills: Vec::new(),
            memo: Memo::default(),
            search_attributes: SearchAttributes::default(),
        }
    }

    /// The schedule these options describe (what an update sends).
    pub fn schedule(&self) -> Schedule {
        Schedule {
            spec: self.spec.clone(),
            action: ScheduleAction::StartWorkflow(Box::new(self.action.clone())),
            policies: SchedulePolicies {
                overlap: self.overlap,
                catchup_window: self
                    .catchup_window
                    .unwrap_or(endure_core::schedule::CATCHUP_WINDOW_DEFAULT),
                pause_on_failure: self.pause_on_failure,
            },
            state: ScheduleRunState {
                notes: self.note.clone(),
                paused: self.paused,
                limited_actions: self.remaining_actions.is_some(),
                remaining_actions: self.remaining_actions.unwrap_or(0),
            },
        }
    }
}

/// The workflow a schedule starts (Go's `client.ScheduleWorkflowAction`): `options.id` is
/// the base of each start's id (the scheduled time is appended), `input` the arguments (a
/// tuple for several, `()` for none).
pub fn schedule_workflow_action<I: Serialize>(
    options: StartWorkflowOptions,
    workflow_type: &str,
    input: &I,
) -> Result<ScheduleWorkflowAction, ClientError> {
    options.validate()?;
    Ok(ScheduleWorkflowAction {
        workflow_type: WorkflowType::new(workflow_type)?,
        input: argument(input, "scheduled workflow input")?,
        header: Header::default(),
        options,
    })
}

/// The namespace's schedules (Go's `client.ScheduleClient`).
#[derive(Clone)]
pub struct ScheduleClient {
    client: Client,
}

impl Client {
    /// The schedules of this client's namespace.
    pub fn schedules(&self) -> ScheduleClient {
        ScheduleClient {
            client: self.clone(),
        }
    }
}

impl ScheduleClient {
    /// Creates a schedule; `AlreadyStarted` if the id is taken by a running schedule.
    pub async fn create(&self, options: ScheduleOptions) -> Result<ScheduleHandle, ClientError> {
        let schedule_id = WorkflowId::new(options.id.clone())?;
        let request = CreateScheduleRequest {
            namespace: self.client.namespace.clone(),
            schedule_id: schedule_id.clone(),
            schedule: options.schedule(),
            trigger_immediately: options.trigger_immediately,
            backfills: options.backfills,
            memo: options.memo,
            search_attributes: options.search_attributes,
            request_id: fresh_request_id().as_str().to_owned(),
            identity: self.client.identity.clone(),
        };
        self.client.rpc(request).await?;
        Ok(self.handle(schedule_id))
    }

    /// A handle on schedule `id` (nothing is checked until it is used).
    pub fn handle(&self, id: WorkflowId) -> ScheduleHandle {
        ScheduleHandle {
            client: self.client.clone(),
            id,
        }
    }

    /// The schedules whose search attributes `query` (the list-filter language, empty for
    /// all) passes, latest created first, at most a thousand.
    pub async fn list(&self, query: &str) -> Result<Vec<ScheduleListEntry>, ClientError> {
        let filter = if query.trim().is_empty() {
            None
        } else {
            Some(endure_core::list_filter::ListFilter::parse(query)?)
        };
        self.client
            .rpc(ListSchedulesRequest {
                namespace: self.client.namespace.clone(),
                filter,
                limit: endure_core::schedule::SCHEDULES_LIST_MAX,
            })
            .await
    }
}

/// One schedule (Go's `client.ScheduleHandle`).
#[derive(Clone)]
pub struct ScheduleHandle {
    client: Client,
    id: WorkflowId,
}

impl ScheduleHandle {
    /// The schedule id.
    pub fn id(&self) -> &WorkflowId {
        &self.id
    }

    /// Its spec, action, policies and state, what it did, its next ten times.
    pub async fn describe(&self) -> Result<ScheduleDescription, ClientError> {
        Ok(*self
            .client
            .rpc(DescribeScheduleRequest {
                namespace: self.client.namespace.clone(),
                schedule_id: self.id.clone(),
            })
            .await?)
    }

    /// Go's `Update` with `DoUpdate`: describes the schedule, hands the description to
    /// `do_update`, and sends the schedule it returns (none: no change) — refused if the
    /// schedule changed in between, so no concurrent change is lost.
    pub async fn update(
        &self,
        do_update: impl FnOnce(ScheduleDescription) -> Option<Schedule>,
    ) -> Result<(), ClientError> {
        let description = self.describe().await?;
        let conflict_token = description.conflict_token;
        let Some(schedule) = do_update(description) else {
            return Ok(());
        };
        self.client
            .rpc(UpdateScheduleRequest {
                namespace: self.client.namespace.clone(),
                schedule_id: self.id.clone(),
                schedule,
                conflict_token: Some(conflict_token),
                identity: self.client.identity.clone(),
            })
            .await
    }

    async fn patch(&self, patch: SchedulePatch) -> Result<(), ClientError> {
        self.client
            .rpc(PatchScheduleRequest {
                namespace: self.client.namespace.clone(),
                schedule_id: self.id.clone(),
                patch,
                identity: self.client.identity.clone(),
            })
            .await
    }

    /// Pauses it with `note` (empty: "Paused via Endure SDK").
    pub async fn pause(&self, note: &str) -> Result<(), ClientError> {
        let note = if note.is_empty() {
            "Paused via Endure SDK"
        } else {
            note
        };
        self.patch(SchedulePatch {
            pause: Some(note.into()),
            ..SchedulePatch::default()
        })
        .await
    }

    /// Unpauses it with `note` (empty: "Unpaused via Endure SDK").
    pub async fn unpause(&self, note: &str) -> Result<(), ClientError> {
        let note = if note.is_empty() {
            "Unpaused via Endure SDK"
        } else {
            note
        };
        self.patch(SchedulePatch {
            unpause: Some(note.into()),
            ..SchedulePatch::default()
        })
        .await
    }

    /// Takes the action now under `overlap` (unspecified: the schedule's policy), even
    /// while paused.
    pub async fn trigger(&self, overlap: ScheduleOverlapPolicy) -> Result<(), ClientError> {
        self.patch(SchedulePatch {
            trigger: Some(overlap),
            ..SchedulePatch::default()
        })
        .await
    }

    /// Takes the actions of each range (start and end inclusive), each under its overlap
    /// policy, as if their times were due now.
    pub async fn backfill(&self, ranges: Vec<Backfill>) -> Result<(), ClientError> {
        self.patch(SchedulePatch {
            backfills: ranges,
            ..SchedulePatch::default()
        })
        .await
    }

    /// Deletes it; the workflows it started keep running.
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client
            .rpc(DeleteScheduleRequest {
                namespace: self.client.namespace.clone(),
                schedule_id: self.id.clone(),
                identity: self.client.identity.clone(),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use endure_core::schedule::{IntervalSpec, ScheduleSpec};
    use endure_core::{StartWorkflowOptions, TaskQueueName, WorkflowId};

    use super::*;

    #[test]
    fn options_read_back_from_their_schedule() {
        let action = schedule_workflow_action(
            StartWorkflowOptions::new(
                WorkflowId::new("report").unwrap(),
                TaskQueueName::new("q").unwrap(),
            ),
            "Report",
            &"today",
        )
        .unwrap();
        let spec = ScheduleSpec {
            intervals: vec![IntervalSpec::every(Duration::from_secs(60))],
            ..ScheduleSpec::default()
        };
        let mut options = ScheduleOptions::new("every-minute", spec, action);
        options.overlap = ScheduleOverlapPolicy::BufferOne;
        options.pause_on_failure = true;
        options.note = "quiet".into();
        options.paused = true;
        options.remaining_actions = Some(3);
        let schedule = options.schedule();
        let read = ScheduleOptions::from_schedule("every-minute", schedule.clone());
        assert_eq!(read.schedule(), schedule);
        assert_eq!(read.remaining_actions, Some(3));
        assert_eq!(read.overlap, ScheduleOverlapPolicy::BufferOne);
    }
}
