//! `#[endure::workflow]` and `#[endure::activity]`: type names from function names (or
//! renamed), several arguments, no arguments, typed start and result.

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};

use crate::store_client;

/// Greets `name` through two activities.
#[endure::workflow]
async fn greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        std::time::Duration::from_secs(5),
    ));
    let greeting = ctx
        .run_activity::<compose>(&("Hello".to_owned(), name))
        .await?;
    Ok(ctx.run_activity::<shout>(&greeting).await?)
}

/// Counts nothing: a workflow without arguments, renamed like Go's `RegisterOptions.Name`.
#[endure::workflow(name = "Answer")]
async fn answer(_ctx: WorkflowContext) -> Result<u32, WorkflowError> {
    Ok(42)
}

/// Which run it is, from `ctx.info()` (Go's `workflow.GetInfo`).
#[endure::workflow]
async fn whoami(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    let info = ctx.info();
    // Go's GetInfo fields, by name.
    assert_eq!(info.namespace().as_str(), "default");
    assert_eq!(info.first_run_id(), info.run_id());
    assert_eq!(info.original_run_id(), info.run_id());
    assert_eq!(info.workflow_execution().run_id, Some(info.run_id()));
    assert_eq!(info.continued_execution_run_id(), None);
    assert_eq!(info.task_timeout(), std::time::Duration::from_secs(10));
    assert_eq!((info.execution_timeout(), info.run_timeout()), (None, None));
    assert!(info.parent().is_none() && info.cron_schedule().is_none());
    assert!(info.last_completion_result().is_none() && info.last_failure().is_none());
    Ok(format!(
        "{}/{}/{}/{}/{}",
        info.workflow_id(),
        info.run_id(),
        info.workflow_type(),
        info.task_queue(),
        info.attempt()
    ))
}

/// Two arguments: a tuple in Rust, one JSON array payload on the wire.
#[endure::activity]
async fn compose(
    _ctx: ActivityContext,
    greeting: String,
    name: String,
) -> Result<String, ActivityError> {
    Ok(format!("{greeting}, {name}"))
}

#[endure::activity(name = "Shout")]
async fn shout(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(format!("{}!", text.to_uppercase()))
}

#[tokio::test]
async fn definitions_take_their_function_names_unless_renamed() {
    use endure::activity::ActivityDefinition;
    use endure::workflow::WorkflowDefinition;
    assert_eq!(greet::NAME, "greet");
    assert_eq!(answer::NAME, "Answer");
    assert_eq!(compose::NAME, "compose");
    assert_eq!(shout::NAME, "Shout");

    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("greetings").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker
        .register::<greet>()
        .register::<answer>()
        .register::<whoami>()
        .register::<compose>()
        .register::<shout>();
    let (stop, running) = crate::spawn_worker(worker);

    let id = WorkflowId::new("greet-ada").unwrap();
    let greeting: String = client
        .execute::<greet>(
            StartWorkflowOptions::new(id.clone(), queue.clone()),
            &"Ada".to_owned(),
        )
        .await
        .unwrap();
    assert_eq!(greeting, "HELLO, ADA!");
    let history = client.handle(id, None).history().await.unwrap();
    check_well_formed(&history).unwrap();
    let EventAttributes::WorkflowExecutionStarted(started) = &history[0].attributes else {
        panic!("{:?}", history[0]);
    };
    assert_eq!(started.workflow_type.as_str(), "greet");
    let scheduled: Vec<(String, usize)> = history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskScheduled(scheduled) => {
                Some((scheduled.activity_type.to_string(), scheduled.input.0.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        scheduled,
        [("compose".to_owned(), 2), ("Shout".to_owned(), 1)],
        "a payload per argument: compose takes two"
    );
    assert_eq!(
        history.last().map(|event| event.event_type()),
        Some(EventType::WorkflowExecutionCompleted)
    );

    let answer: u32 = client
        .execute::<answer>(
            StartWorkflowOptions::new(WorkflowId::new("answer").unwrap(), queue.clone()),
            &(),
        )
        .await
        .unwrap();
    assert_eq!(answer, 42);

    let handle = client
        .start::<whoami>(
            StartWorkflowOptions::new(WorkflowId::new("who").unwrap(), queue.clone()),
            &(),
        )
        .await
        .unwrap();
    let run_id = handle.run_id().unwrap();
    assert_eq!(
        handle.result::<String>().await.unwrap(),
        format!("who/{run_id}/whoami/greetings/1")
    );
    let _ = stop.send(());
    running.await.unwrap();
}
