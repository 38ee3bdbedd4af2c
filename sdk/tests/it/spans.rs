//! The `tracing` spans of one workflow's life, recorded by a layer of the test's own:
//! the engine's RPCs, transitions (with the run and the events each wrote) and commits,
//! and the worker's workflow and activity tasks (with the run, the queue and the events).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span's name and fields.
type Recorded = (String, BTreeMap<String, String>);

/// Records every span opened and what is recorded on it later.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<BTreeMap<u64, Recorded>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        self.0.lock().insert(
            id.into_u64(),
            (attributes.metadata().name().to_owned(), fields),
        );
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some((_, fields)) = self.0.lock().get_mut(&id.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
}

impl Spans {
    /// The fields of every span named `name`.
    fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .values()
            .filter(|(span, _)| span == name)
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

#[endure::activity(name = "Greet")]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("hello, {name}"))
}

#[endure::workflow(name = "Greeting")]
async fn greeting(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    Ok(ctx.run_activity::<greet>(&name).await?)
}

// One thread, so the test's subscriber sees the engine's tasks and the worker's.
#[tokio::test(flavor = "current_thread")]
async fn engine_and_worker_steps_have_spans_naming_the_run_and_its_events() {
    let spans = Spans::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let client = endure::embedded::in_memory().await.unwrap();
    let queue = TaskQueueName::new("spans").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<greeting>().register::<greet>();
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("spans-1").unwrap(), queue);
    let handle = client
        .start::<greeting>(options, &"ada".to_owned())
        .await
        .unwrap();
    assert_eq!(handle.result::<String>().await.unwrap(), "hello, ada");
    let _ = stop.send(());
    running.await.unwrap();
    let run_id = handle.run_id().unwrap().to_string();

    // Every RPC, by name.
    let rpcs: Vec<String> = spans
        .named("rpc")
        .into_iter()
        .filter_map(|fields| fields.get("rpc").cloned())
        .collect();
    for rpc in [
        "StartWorkflow",
        "PollWorkflowTask",
        "CompleteWorkflowTask",
        "PollActivityTask",
    ] {
        assert!(rpcs.iter().any(|name| name == rpc), "{rpc} in {rpcs:?}");
    }
    // Every transition of the run, with the events it wrote: 1 (started) to 11 (completed).
    let transitions = spans.named("transition");
    let ours: Vec<&BTreeMap<String, String>> = transitions
        .iter()
        .filter(|fields| fields.get("run_id") == Some(&run_id))
        .collect();
    assert!(!ours.is_empty());
    for fields in &ours {
        assert_eq!(fields["workflow_id"], "spans-1");
        assert_eq!(fields["namespace"], "default");
        assert!(fields.contains_key("input"), "{fields:?}");
    }
    let last_events: Vec<u64> = ours
        .iter()
        .filter_map(|fields| fields.get("last_event_id")?.parse().ok())
        .collect();
    assert_eq!(last_events.iter().max(), Some(&11), "{ours:?}");
    assert!(!spans.named("commit").is_empty());
    // The worker's tasks: two workflow tasks and the activity, each naming the run.
    let tasks = spans.named("workflow_task");
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    // Each task once: a task handed to two pollers (a backlog row offered twice) would
    // show here as a third span.
    let mut started: Vec<&str> = tasks
        .iter()
        .map(|fields| fields["started_event_id"].as_str())
        .collect();
    started.sort_unstable();
    assert_eq!(started, ["3", "9"]);
    for fields in tasks.iter().chain(&spans.named("activity_task")) {
        assert_eq!(fields["workflow_id"], "spans-1");
        assert_eq!(fields["run_id"], run_id);
        assert_eq!(fields["task_queue"], "spans");
    }
    let activities = spans.named("activity_task");
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0]["activity_type"], "Greet");
    assert_eq!(activities[0]["scheduled_event_id"], "5");
}
