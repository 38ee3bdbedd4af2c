//! `endure activity complete | fail`: answer an activity that completes asynchronously
//! (its implementation returned `ActivityError::result_pending`), as Temporal's
//! `temporal activity complete | fail` do — by workflow and activity id, or by the
//! attempt's task token.

use clap::{Args, Subcommand};
use endure::workflow::ActivityError;
use endure::{ActivityCompletionToken, ActivityId, AsyncActivityHandle, RunId, WorkflowId};
use serde_json::json;

use crate::args::ClientArgs;
use crate::error::{CliError, usage};
use crate::render::print;
use crate::workflow::{client, inputs};

/// `endure activity …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ActivityCommand {
    /// Complete a pending activity with a result.
    Complete(CompleteArgs),
    /// Fail a pending activity's current attempt (retried as its retry policy says).
    Fail(FailArgs),
}

/// Which activity: by ids, or by its attempt's task token.
#[derive(Debug, Args)]
pub(crate) struct ActivityTarget {
    /// The workflow that scheduled the activity.
    #[arg(
        long,
        short = 'w',
        required_unless_present = "task_token",
        requires = "activity_id"
    )]
    pub(crate) workflow_id: Option<String>,
    /// Its run; the workflow's current run if omitted.
    #[arg(long, short = 'r', requires = "workflow_id")]
    pub(crate) run_id: Option<String>,
    /// The activity's id.
    #[arg(long, requires = "workflow_id")]
    pub(crate) activity_id: Option<String>,
    /// The attempt's task token, as the activity got it (`completion_token()`), instead of
    /// the ids.
    #[arg(long, conflicts_with_all = ["workflow_id", "run_id", "activity_id"])]
    pub(crate) task_token: Option<String>,
    /// Who answers, as the ActivityTask… event records it.
    #[arg(long, default_value = "endure-cli")]
    pub(crate) identity: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `activity complete`.
#[derive(Debug, Args)]
pub(crate) struct CompleteArgs {
    /// The result as JSON (none for no result).
    #[arg(long)]
    pub(crate) result: Option<String>,
    #[command(flatten)]
    pub(crate) target: ActivityTarget,
}

/// `activity fail`.
#[derive(Debug, Args)]
pub(crate) struct FailArgs {
    /// Why it failed: the failure's message.
    #[arg(long, default_value = "failed from the command line")]
    pub(crate) reason: String,
    /// The application error type (a retry policy's non-retryable types name these).
    #[arg(long = "type", default_value = "CliFailure")]
    pub(crate) error_type: String,
    /// Details as JSON (repeat for several).
    #[arg(long)]
    pub(crate) detail: Vec<String>,
    /// Never retried, whatever the retry policy says.
    #[arg(long)]
    pub(crate) non_retryable: bool,
    #[command(flatten)]
    pub(crate) target: ActivityTarget,
}

impl ActivityCommand {
    /// The server address the command talks to.
    pub(crate) fn address(&self) -> String {
        match self {
            Self::Complete(args) => args.target.client.address.clone(),
            Self::Fail(args) => args.target.client.address.clone(),
        }
    }
}

/// Runs one activity command.
pub(crate) async fn run(command: ActivityCommand) -> Result<(), CliError> {
    match command {
        ActivityCommand::Complete(args) => {
            let (handle, named) = handle(&args.target)?;
            let result = match &args.result {
                Some(text) => Some(inputs(std::slice::from_ref(text), &[])?),
                None => None,
            };
            handle.complete_raw(result).await?;
            print(
                args.target.client.output,
                &json!({ "completed": named }),
                || format!("Activity {named} completed"),
            )
        }
        ActivityCommand::Fail(args) => {
            let (handle, named) = handle(&args.target)?;
            let mut error = ActivityError::application(args.reason, args.error_type);
            if !args.detail.is_empty() {
                error = error.with_details(inputs(&args.detail, &[])?);
            }
            if args.non_retryable {
                error = error.non_retryable();
            }
            handle.fail(error).await?;
            print(
                args.target.client.output,
                &json!({ "failed": named }),
                || format!("Activity {named} failed"),
            )
        }
    }
}

/// The handle `target` names, and how to name the activity in what is printed.
fn handle(target: &ActivityTarget) -> Result<(AsyncActivityHandle, String), CliError> {
    let client = client(&target.client)?.with_identity(target.identity.clone());
    if let Some(text) = &target.task_token {
        let token: ActivityCompletionToken = text.parse().map_err(usage)?;
        let named = format!(
            "{} (attempt {}) of {}",
            token.token.scheduled_event_id, token.token.attempt, token.execution.workflow_id
        );
        return Ok((client.async_activity(token), named));
    }
    // clap requires the workflow and activity ids when there is no token.
    let (Some(workflow_id), Some(activity_id)) = (&target.workflow_id, &target.activity_id) else {
        return Err(usage(
            "name the activity with --workflow-id and --activity-id, or with --task-token",
        ));
    };
    let workflow_id = WorkflowId::new(workflow_id.as_str()).map_err(usage)?;
    let activity_id = ActivityId::new(activity_id.as_str()).map_err(usage)?;
    let run_id = target
        .run_id
        .as_deref()
        .map(str::parse::<RunId>)
        .transpose()
        .map_err(usage)?;
    let named = format!("{activity_id} of {workflow_id}");
    Ok((
        client.async_activity_by_id(workflow_id, run_id, activity_id),
        named,
    ))
}
