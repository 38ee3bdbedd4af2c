//! Sample histories for tests, each the history Temporal writes for a spec example.

use std::time::Duration;

use super::History;
use super::attributes::*;
use super::builder::HistoryBuilder;
use super::event::EventAttributes;
use crate::ids::{ActivityId, ActivityType, RunId, TaskQueueName, TimerId, WorkflowType};
use crate::payload::{Header, Payload, Payloads};
use crate::retry::RetryPolicy;
use crate::time::Timestamp;

/// The run id of the sample histories.
pub const SAMPLE_RUN_ID: RunId = RunId::from_u128(0x0191c2a4_7b1e_7c3d_9e0f_123456789abc);

/// When the sample histories start: 2026-11-28T10:00:00Z.
pub const SAMPLE_START: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

fn name<T: TryFrom<&'static str>>(text: &'static str) -> T
where
    T::Error: std::fmt::Debug,
{
    match T::try_from(text) {
        Ok(value) => value,
        Err(error) => panic!("sample name {text:?} is invalid: {error:?}"),
    }
}

fn json(value: &str) -> Payloads {
    Payloads::one(Payload::json(value).unwrap_or_else(|_| Payload::null()))
}

/// The Quick Start's `OrderWorkflow("user_123")` (spec §2): one activity, a 5 s sleep, a
/// result. Events:
///
/// ```text
///  1 WorkflowExecutionStarted
///  2 WorkflowTaskScheduled          9 WorkflowTaskStarted(8)
///  3 WorkflowTaskStarted(2)        10 WorkflowTaskCompleted(8, 9)
///  4 WorkflowTaskCompleted(2, 3)   11 TimerStarted(wtc 10)
///  5 ActivityTaskScheduled(wtc 4)  12 TimerFired(11)
///  6 ActivityTaskStarted(5)        13 WorkflowTaskScheduled
///  7 ActivityTaskCompleted(5, 6)   14 WorkflowTaskStarted(13)
///  8 WorkflowTaskScheduled         15 WorkflowTaskCompleted(13, 14)
///                                  16 WorkflowExecutionCompleted(wtc 15)
/// ```
pub fn quickstart_history() -> History {
    let queue: TaskQueueName = name("my-task-queue");
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(5));
    builder.add_workflow_execution_started(
        name::<WorkflowType>("OrderWorkflow"),
        queue.clone(),
        json("user_123"),
        SAMPLE_RUN_ID,
    );
    let completed = builder.add_workflow_task(queue.clone());
    let scheduled = builder.add(EventAttributes::ActivityTaskScheduled(Box::new(
        ActivityTaskScheduledEventAttributes {
            activity_id: name::<ActivityId>("1"),
            activity_type: name::<ActivityType>("SendEmail"),
            task_queue: queue.clone(),
            header: Header::default(),
            input: Payloads(vec![
                Payload::json("user_123").unwrap_or_else(|_| Payload::null()),
                Payload::json("Order Created").unwrap_or_else(|_| Payload::null()),
            ]),
            schedule_to_close_timeout: None,
            schedule_to_start_timeout: None,
            start_to_close_timeout: Duration::from_secs(10),
            heartbeat_timeout: None,
            workflow_task_completed_event_id: completed,
            retry_policy: RetryPolicy::with_maximum_attempts(3),
        },
    )));
    let started = builder.add(EventAttributes::ActivityTaskStarted(
        ActivityTaskStartedEventAttributes {
            scheduled_event_id: scheduled,
            identity: "worker".into(),
            request_id: "poll-activity".into(),
            attempt: 1,
            last_failure: None,
        },
    ));
    builder.add(EventAttributes::ActivityTaskCompleted(
        ActivityTaskCompletedEventAttributes {
            result: Some(json("sent")),
            scheduled_event_id: scheduled,
            started_event_id: started,
            identity: "worker".into(),
        },
    ));
    let completed = builder.add_workflow_task(queue.clone());
    let timer = builder.add(EventAttributes::TimerStarted(TimerStartedEventAttributes {
        timer_id: name::<TimerId>("1"),
        start_to_fire_timeout: Duration::from_secs(5),
        workflow_task_completed_event_id: completed,
    }));
    builder.wait(Duration::from_secs(5));
    builder.add(EventAttributes::TimerFired(TimerFiredEventAttributes {
        timer_id: name::<TimerId>("1"),
        started_event_id: timer,
    }));
    let completed = builder.add_workflow_task(queue);
    builder.add(EventAttributes::WorkflowExecutionCompleted(
        WorkflowExecutionCompletedEventAttributes {
            result: Some(json("workflow_completed_sent")),
            workflow_task_completed_event_id: completed,
            new_execution_run_id: None,
        },
    ));
    builder.build()
}
