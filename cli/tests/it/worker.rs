//! The workflows and activities the tests run, and the worker process that hosts them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{
    ActivityError, ChildWorkflowOptions, SessionOptions, WorkflowContext, WorkflowError,
};
use endure::{
    ActivityContext, ActivityOptions, Client, Namespace, TaskQueueName, VersioningBehavior, Worker,
    WorkerDeploymentOptions, WorkerDeploymentVersion, WorkerOptions,
};
use parking_lot::Mutex;

use crate::processes::WORKER_ENV;

/// The queue every test workflow uses.
pub const QUEUE: &str = "cli-tests";

/// The queue of the versioned worker (deployment `cli-deploy`, build `b1`).
pub const VERSIONED_QUEUE: &str = "cli-versioned";

/// Composes a greeting.
#[endure::activity(name = "Compose")]
async fn compose(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("hello, {name}"))
}

/// Greets through an activity.
#[endure::workflow(name = "Greet")]
async fn greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<compose>(&name).await?)
}

/// Waits for someone to answer it (`endure activity complete | fail`): heartbeats its own
/// completion token, so `workflow describe` shows it, and completes asynchronously.
#[endure::activity(name = "AwaitApproval")]
async fn await_approval(ctx: ActivityContext, _order: String) -> Result<String, ActivityError> {
    ctx.heartbeat(&ctx.completion_token().to_string()).await;
    Err(ActivityError::result_pending())
}

/// Runs `AwaitApproval` (activity id `approval`, two attempts at most) and returns its
/// answer, or `failed: <why>`.
#[endure::workflow(name = "Approval")]
async fn approval(ctx: WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        activity_id: Some(endure::ActivityId::new("approval").expect("a valid id")),
        start_to_close_timeout: Some(Duration::from_secs(60)),
        retry_policy: Some(endure::RetryPolicy {
            initial_interval: Duration::from_millis(100),
            maximum_attempts: 2,
            ..endure::RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    Ok(match ctx.run_activity::<await_approval>(&order).await {
        Ok(answer) => answer,
        // The activity failure's cause is the application error the answer carried.
        Err(error) => format!("failed: {}", error.0.root_cause().message),
    })
}

/// A counter: `add` updates raise it, the `count` query reads it, the `finish` signal
/// ends the run with the count.
#[endure::workflow(name = "Counter")]
async fn counter(ctx: WorkflowContext) -> Result<i64, WorkflowError> {
    let count = Arc::new(Mutex::new(0i64));
    let read = Arc::clone(&count);
    ctx.set_query_handler("count", move |(): ()| Ok::<_, Infallible>(*read.lock()));
    ctx.set_query_handler("status", |(): ()| {
        Ok::<_, Infallible>("counting".to_owned())
    });
    let raise = Arc::clone(&count);
    ctx.set_update_handler("add", move |_ctx: WorkflowContext, amount: i64| {
        let raise = Arc::clone(&raise);
        async move {
            let mut count = raise.lock();
            *count += amount;
            Ok(*count)
        }
    });
    let finish = ctx.signal_channel("finish");
    let _: () = finish.recv_json().await?;
    ctx.all_handlers_finished().await;
    let total = *count.lock();
    Ok(total)
}

/// Greets each name in a child `Greet` workflow of its own (`<id>-child-<n>`), in parallel.
#[endure::workflow(name = "Family")]
async fn family(ctx: WorkflowContext, names: Vec<String>) -> Result<Vec<String>, WorkflowError> {
    let id = ctx.info().workflow_id().clone();
    let children: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let options = ChildWorkflowOptions {
                workflow_id: Some(format!("{id}-child-{}", index + 1)),
                ..ChildWorkflowOptions::default()
            };
            ctx.start_child_workflow("Greet", name, options)
        })
        .collect();
    let mut greetings = Vec::new();
    for child in children {
        greetings.push(child.result::<String>().await?);
    }
    Ok(greetings)
}

/// Continues as new `hops` times, then waits for `finish` and returns how many hops its
/// chain made.
#[endure::workflow(name = "Chain")]
async fn chain(ctx: WorkflowContext, hops: u32) -> Result<u32, WorkflowError> {
    if hops > 0 {
        return Err(ctx.continue_as_new(&(hops - 1)));
    }
    let finish = ctx.signal_channel("finish");
    let _: () = finish.recv_json().await?;
    Ok(0)
}

/// Two activities around a durable sleep: a run long enough to be interrupted.
#[endure::workflow(name = "Steps")]
async fn steps(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        ..ActivityOptions::default()
    });
    let first = ctx.run_activity::<compose>(&name).await?;
    let _ = ctx.sleep(Duration::from_millis(300)).await;
    let second = ctx.run_activity::<compose>(&first).await?;
    Ok(second)
}

/// Takes two arguments (two `--input`s) and answers raw bytes (a `binary/plain` result).
#[endure::workflow(name = "Repeat")]
async fn repeat(
    _ctx: WorkflowContext,
    (byte, times): (u8, usize),
) -> Result<Vec<u8>, WorkflowError> {
    Ok(vec![byte; times])
}

/// Composes a greeting in a session (spec §5.15) held open until the `finish` signal.
#[endure::workflow(name = "SessionGreet")]
async fn session_greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    let session = ctx
        .create_session(SessionOptions {
            creation_timeout: Duration::from_secs(30),
            execution_timeout: Duration::from_secs(300),
            heartbeat_timeout: None,
        })
        .await?;
    let greeting = session.run_activity::<compose>(&name).await?;
    let _: () = ctx.signal_channel("finish").recv_json().await?;
    session.complete_session().await;
    Ok(greeting)
}

/// A worker process: runs a worker for `default` and `team-a` until killed. Does nothing
/// in an ordinary test run.
#[test]
fn worker_process() {
    let Ok(address) = std::env::var(WORKER_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut running = Vec::new();
        for namespace in ["default", "team-a"] {
            let client = Client::connect(address.clone(), Namespace::new(namespace).unwrap());
            let mut worker = Worker::new(
                client.transport(),
                client.namespace().clone(),
                TaskQueueName::new(QUEUE).unwrap(),
                WorkerOptions {
                    identity: "cli-test-worker".into(),
                    enable_session_worker: true,
                    ..WorkerOptions::default()
                },
            );
            worker
                .register::<greet>()
                .register::<session_greet>()
                .register::<counter>()
                .register::<steps>()
                .register::<family>()
                .register::<chain>()
                .register::<repeat>()
                .register::<approval>()
                .register::<await_approval>()
                .register::<compose>();
            running.push(tokio::spawn(worker.run(std::future::pending())));
        }
        // A versioned worker (spec §5.13.1): build b1 of deployment cli-deploy.
        let client = Client::connect(address.clone(), Namespace::default());
        let mut versioned = Worker::new(
            client.transport(),
            client.namespace().clone(),
            TaskQueueName::new(VERSIONED_QUEUE).unwrap(),
            WorkerOptions {
                identity: "cli-versioned-worker".into(),
                deployment_options: Some(WorkerDeploymentOptions {
                    use_versioning: true,
                    version: WorkerDeploymentVersion::new("cli-deploy", "b1").unwrap(),
                    default_versioning_behavior: VersioningBehavior::Pinned,
                }),
                ..WorkerOptions::default()
            },
        );
        versioned
            .register::<greet>()
            .register::<counter>()
            .register::<compose>();
        running.push(tokio::spawn(versioned.run(std::future::pending())));
        for worker in running {
            let _ = worker.await;
        }
    });
}
