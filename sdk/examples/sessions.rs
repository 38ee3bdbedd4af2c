//! Sessions (spec §5.15): download, process and upload a file on one host, whichever of
//! three workers takes the session; then the worker holding a session shuts down
//! mid-session, the session fails, and the workflow opens a new one on another worker.
//!
//! `cargo run -p endure --example sessions [STORE_FILE]`

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{SessionOptions, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, Client, RetryPolicy, StartWorkflowOptions, TaskQueueName,
    Worker, WorkerOptions, WorkflowId,
};
use tokio::sync::Notify;

#[endure::activity(name = "Download")]
async fn download(
    _ctx: ActivityContext,
    url: String,
) -> Result<String, endure::workflow::ActivityError> {
    Ok(format!("/tmp/{}", url.rsplit('/').next().unwrap_or("file")))
}

#[endure::activity(name = "Upload")]
async fn upload(
    _ctx: ActivityContext,
    path: String,
) -> Result<String, endure::workflow::ActivityError> {
    Ok(format!("s3://processed{path}"))
}

/// What the workflow reports: where each attempt's session ran, and the result.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Report {
    sessions: Vec<String>,
    uploaded: String,
}

/// The spec's example, opening a new session if the one it has fails.
async fn process_file(ctx: WorkflowContext, url: String) -> Result<Report, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy::with_maximum_attempts(1)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
    });
    let options = SessionOptions {
        creation_timeout: Duration::from_secs(60),
        execution_timeout: Duration::from_secs(600),
        heartbeat_timeout: Some(Duration::from_secs(2)),
    };
    let mut sessions = Vec::new();
    loop {
        let session = ctx.create_session(options.clone()).await?;
        if let Some(info) = session.session_info() {
            sessions.push(info.host_name);
        }
        let steps = async {
            let path = session.run_activity::<download>(&url).await?;
            let path: String = session.execute_activity("Process", &path).await?;
            session.run_activity::<upload>(&path).await
        };
        match steps.await {
            Ok(uploaded) => {
                session.complete_session().await;
                return Ok(Report { sessions, uploaded });
            }
            // The session's worker left: start over on another one.
            Err(error) if error.is_session_failed() && sessions.len() < 3 => continue,
            Err(error) => return Err(error.into()),
        }
    }
}

/// A session worker named `host`; its `Process` activity waits for `gate` when given one.
fn worker(client: &Client, host: &str, gate: Option<Arc<Notify>>) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("fileprocessing").expect("a valid name"),
        WorkerOptions {
            identity: host.into(),
            enable_session_worker: true,
            max_concurrent_session_execution_size: 1000,
            graceful_shutdown_timeout: Some(Duration::from_millis(100)),
            ..WorkerOptions::default()
        },
    );
    worker
        .register_workflow("SomeFileProcessingWorkflow", process_file)
        .register::<download>()
        .register::<upload>();
    let host = host.to_owned();
    worker.register_dynamic_activity(move |ctx: ActivityContext, _name, input: endure::Payloads| {
        let (host, gate) = (host.clone(), gate.clone());
        async move {
            let path: String = input.decode_first().map_err(|e| {
                endure::workflow::ActivityError::application(e.to_string(), "PayloadError")
            })?;
            println!("  processing {path} on {host}");
            if let Some(gate) = gate {
                tokio::select! {
                    biased;
                    () = gate.notified() => {}
                    _ = ctx.cancelled() => return Err(endure::workflow::ActivityError::canceled(None)),
                }
            }
            let processed = endure::Payload::encode(&format!("{path}.{host}"))
                .map_err(|e| endure::workflow::ActivityError::application(e.to_string(), "PayloadError"))?;
            Ok(Some(endure::Payloads::one(processed)))
        }
    });
    worker
}

/// Runs `worker` until the returned sender fires.
fn spawn(
    worker: Worker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    (
        stop,
        tokio::spawn(worker.run(async { drop(stopped.await) })),
    )
}

async fn run(
    client: &Client,
    id: &str,
    url: &str,
) -> Result<endure::WorkflowHandle, Box<dyn std::error::Error + Send + Sync>> {
    let options =
        StartWorkflowOptions::new(WorkflowId::new(id)?, TaskQueueName::new("fileprocessing")?);
    Ok(client
        .start_workflow(options, "SomeFileProcessingWorkflow", &url)
        .await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-sessions.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;

    println!("Three session workers; three files, each in a session of its own:");
    let mut workers: Vec<_> = ["host-a", "host-b", "host-c"]
        .iter()
        .map(|host| spawn(worker(&client, host, None)))
        .collect();
    for index in 1..=3 {
        let handle = run(
            &client,
            &format!("file-{index}"),
            &format!("https://example.com/{index}.csv"),
        )
        .await?;
        let report: Report = handle.result().await?;
        println!(
            "file-{index}: every step on {} -> {}",
            report.sessions[0], report.uploaded
        );
    }
    for (stop, running) in workers.drain(..) {
        let _ = stop.send(());
        running.await?;
    }

    println!("\nhost-a holds a session and shuts down while processing; host-b is up:");
    let gate = Arc::new(Notify::new());
    let (stop_a, running_a) = spawn(worker(&client, "host-a", Some(Arc::clone(&gate))));
    let handle = run(&client, "file-4", "https://example.com/4.csv").await?;
    // Wait until host-a is processing (the activity is running), then stop it.
    while !handle
        .describe()
        .await?
        .pending_activity_details
        .iter()
        .any(|activity| {
            activity.activity_type.as_str() == "Process"
                && activity.state == endure::PendingActivityState::Started
        })
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (stop_b, running_b) = spawn(worker(&client, "host-b", None));
    let _ = stop_a.send(());
    running_a.await?;
    let report: Report = handle.result().await?;
    println!(
        "file-4: sessions on {:?}; the first failed with its worker, the second finished -> {}",
        report.sessions, report.uploaded
    );
    let _ = stop_b.send(());
    running_b.await?;
    Ok(())
}
