//! endure-web end to end: a redb engine in the process, a worker through the SDK running
//! the spec's Quick Start and an approval workflow, and the web routes on a loopback port —
//! driven over HTTP ([`api`]) and through a real Chromium ([`browser`]).
#![cfg(not(madsim))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod api;
mod browser;
mod security;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_server::security::Security;
use parking_lot::Mutex;

/// The task queue the worker polls.
pub(crate) const QUEUE: &str = "my-task-queue";

/// The Quick Start's activity (spec §2).
pub(crate) struct SendEmail;

impl ActivityDefinition for SendEmail {
    const NAME: &'static str = "SendEmail";
    type Input = (String, String);
    type Output = String;
}

/// The Quick Start's workflow: one activity, one timer.
pub(crate) async fn order_workflow(
    ctx: WorkflowContext,
    user_id: String,
) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    let sent = ctx
        .run_activity::<SendEmail>(&(user_id, "Order Created".to_owned()))
        .await?;
    let _ = ctx.sleep(Duration::from_millis(50)).await;
    Ok(format!("workflow_completed_{sent}"))
}

/// Waits for the `approve` signal; the `status` query says what it waits for, the `note`
/// update keeps a note and answers its length.
pub(crate) async fn approval_workflow(
    ctx: WorkflowContext,
    order: String,
) -> Result<String, WorkflowError> {
    let note = Arc::new(Mutex::new(String::new()));
    let shown = Arc::clone(&note);
    ctx.set_query_handler("status", move |(): ()| {
        Ok::<_, Infallible>(format!("waiting for approval ({})", shown.lock()))
    });
    let kept = Arc::clone(&note);
    ctx.set_update_handler("note", move |_ctx: WorkflowContext, text: String| {
        let kept = Arc::clone(&kept);
        async move {
            let length = text.len();
            *kept.lock() = text;
            Ok(length)
        }
    });
    let approvals = ctx.signal_channel("approve");
    let by: String = approvals.recv_json().await?;
    ctx.all_handlers_finished().await;
    Ok(format!("{order} approved by {by}"))
}

/// Creates schedule `nightly`: the Quick Start for `user_123` once a day.
pub(crate) async fn create_nightly(client: &Client) {
    use endure::schedule::{IntervalSpec, ScheduleSpec};
    let spec = ScheduleSpec {
        intervals: vec![IntervalSpec::every(Duration::from_secs(86_400))],
        ..ScheduleSpec::default()
    };
    let action = schedule_workflow_action(
        StartWorkflowOptions::new(
            WorkflowId::new("nightly-order").unwrap(),
            TaskQueueName::new(QUEUE).unwrap(),
        ),
        "OrderWorkflow",
        &"user_123",
    )
    .unwrap();
    client
        .schedules()
        .create(ScheduleOptions::new("nightly", spec, action))
        .await
        .unwrap();
}

/// A running engine with a worker and the web routes.
pub(crate) struct Fixture {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// A client of the same engine, for setting up and checking.
    pub(crate) client: Client,
    stop_worker: Option<tokio::sync::oneshot::Sender<()>>,
    worker: Option<tokio::task::JoinHandle<()>>,
    server: tokio::task::JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Fixture {
    /// An open server (as the dev server).
    pub(crate) async fn start() -> Self {
        Self::with_security(Security::open()).await
    }

    /// A server guarded by `security`.
    pub(crate) async fn with_security(security: Security) -> Self {
        let store = tempfile::tempdir().unwrap();
        let client = endure::embedded::open(store.path().join("store.redb"))
            .await
            .unwrap();
        let mut worker = Worker::new(
            client.transport(),
            client.namespace().clone(),
            TaskQueueName::new(QUEUE).unwrap(),
            WorkerOptions::default(),
        );
        worker.register_workflow("OrderWorkflow", order_workflow);
        worker.register_workflow("ApprovalWorkflow", approval_workflow);
        worker.register_activity::<SendEmail, _, _>(
            |_ctx: ActivityContext, (_user, _subject): (String, String)| async move {
                Ok("sent".to_owned())
            },
        );
        let (stop_worker, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(worker.run(async {
            let _ = stopped.await;
        }));
        let mut options = endure_web::WebOptions::new(client.transport());
        options.security = Arc::new(security);
        let router = endure_web::router(options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            base,
            client,
            stop_worker: Some(stop_worker),
            worker: Some(worker),
            server,
            _store: store,
        }
    }

    /// The URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the worker and the server.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop_worker.take() {
            let _ = stop.send(());
        }
        if let Some(worker) = self.worker.take() {
            worker.await.unwrap();
        }
        self.server.abort();
    }
}
