//! `endure task-queue describe`: who polls a task queue (Temporal's `temporal task-queue
//! describe`), and the hint the workflow commands give when nobody does.

use clap::{Args, Subcommand};
use endure::{Client, PollerInfo, TaskQueueName};

use crate::args::ClientArgs;
use crate::error::{CliError, usage};
use crate::render::{Table, print};
use crate::workflow::client;

/// `endure task-queue …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TaskQueueCommand {
    /// The workers that polled a task queue in the last five minutes.
    Describe(DescribeArgs),
}

/// `task-queue describe`.
#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    /// The task queue.
    #[arg(long, short = 't')]
    pub(crate) task_queue: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

impl TaskQueueCommand {
    /// The server address the command talks to.
    pub(crate) fn address(&self) -> String {
        match self {
            Self::Describe(args) => args.client.address.clone(),
        }
    }
}

/// Runs one task-queue command.
pub(crate) async fn run(command: TaskQueueCommand) -> Result<(), CliError> {
    let TaskQueueCommand::Describe(args) = command;
    let queue = TaskQueueName::new(args.task_queue.as_str()).map_err(usage)?;
    let description = client(&args.client)?.describe_task_queue(&queue).await?;
    print(args.client.output, &description, || {
        let mut table = Table::new(vec!["HALF", "IDENTITY", "LAST ACCESS", "VERSION"]);
        let halves = [
            ("workflow", &description.workflow_pollers),
            ("activity", &description.activity_pollers),
        ];
        for (half, pollers) in halves {
            for poller in pollers {
                table.row(row(half, poller));
            }
        }
        if description.workflow_pollers.is_empty() && description.activity_pollers.is_empty() {
            format!("No worker has polled task queue {queue} in the last five minutes.")
        } else {
            table.render()
        }
    })
}

fn row(half: &str, poller: &PollerInfo) -> Vec<String> {
    vec![
        half.to_owned(),
        poller.identity.clone(),
        poller.last_access_time.to_string(),
        poller
            .deployment_version
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
    ]
}

/// What to tell someone whose workflow waits on `task_queue` when no worker polled it
/// lately; `None` when one did (or the server cannot say).
pub(crate) async fn no_poller_hint(client: &Client, task_queue: &TaskQueueName) -> Option<String> {
    let description = client.describe_task_queue(task_queue).await.ok()?;
    description.workflow_pollers.is_empty().then(|| {
        format!(
            "no worker has polled task queue {task_queue} in the last five minutes: start a worker for it (in this namespace) to run the workflow"
        )
    })
}
