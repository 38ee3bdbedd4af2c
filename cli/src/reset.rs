//! `endure workflow reset`: where the new run forks (`--type`, `--event-id`) and what of
//! the base run's later events it receives again (`--reapply-exclude`, `--reapply-type`),
//! as Temporal's CLI takes them.

use clap::{Args, ValueEnum};
use endure::{ResetOptions, ResetPoint, ResetReapply};
use endure_core::EventId;
use endure_core::history::EventAttributes;
use serde_json::json;

use crate::args::ExecutionArgs;
use crate::error::{CliError, usage};
use crate::render::{fields, print};
use crate::workflow::{client, handle};

/// Where a reset forks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResetKind {
    /// The end of the first completed workflow task: run again from the start.
    #[value(name = "FirstWorkflowTask", alias = "first-workflow-task")]
    FirstWorkflowTask,
    /// The end of the last completed workflow task.
    #[value(name = "LastWorkflowTask", alias = "last-workflow-task")]
    LastWorkflowTask,
    /// The end of the last completed workflow task of the run that continued as new into
    /// this one: that run's ending is run again.
    #[value(name = "LastContinuedAsNew", alias = "last-continued-as-new")]
    LastContinuedAsNew,
}

/// `workflow reset`.
#[derive(Debug, Args)]
pub(crate) struct ResetArgs {
    /// Fork at the first or last completed workflow task…
    #[arg(long = "type", value_enum, conflicts_with = "event_id")]
    pub(crate) kind: Option<ResetKind>,
    /// …or at this WorkflowTaskCompleted event.
    #[arg(long, short = 'e')]
    pub(crate) event_id: Option<u64>,
    /// Why (recorded in both runs).
    #[arg(long)]
    pub(crate) reason: String,
    /// Which later events the new run receives again (Temporal's older flag; see
    /// --reapply-exclude).
    #[arg(long, value_enum, default_value = "All")]
    pub(crate) reapply_type: ReapplyType,
    /// Later events not to apply again: Signal, Update or All (repeat for several).
    #[arg(long, value_enum)]
    pub(crate) reapply_exclude: Vec<ReapplyExclude>,
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
}

/// What a reset applies again of the base run's events after its point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReapplyType {
    /// Signals and updates.
    #[value(name = "All", alias = "all")]
    All,
    /// Signals only.
    #[value(name = "Signal", alias = "signal")]
    Signal,
    /// Nothing.
    #[value(name = "None", alias = "none")]
    None,
}

/// Events a reset does not apply again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReapplyExclude {
    /// Every kind.
    #[value(name = "All", alias = "all")]
    All,
    /// Signals.
    #[value(name = "Signal", alias = "signal")]
    Signal,
    /// Updates.
    #[value(name = "Update", alias = "update")]
    Update,
}

/// Runs `workflow reset`.
pub(crate) async fn reset(args: ResetArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args.execution)?;
    let (handle, point) = match (args.kind, args.event_id) {
        (Some(ResetKind::FirstWorkflowTask), None) => (handle, ResetPoint::FirstWorkflowTask),
        (Some(ResetKind::LastWorkflowTask), None) => (handle, ResetPoint::LastWorkflowTask),
        // As Temporal's CLI: the run this one continued from, at its last workflow task.
        (Some(ResetKind::LastContinuedAsNew), None) => {
            let history = handle.history().await?;
            let previous = history.first().and_then(|event| match &event.attributes {
                EventAttributes::WorkflowExecutionStarted(a) => a.continued_execution_run_id,
                _ => None,
            });
            let previous = previous.ok_or_else(|| {
                usage(format!(
                    "{} did not continue as new from an earlier run; use --type LastWorkflowTask",
                    handle.workflow_id()
                ))
            })?;
            let client = client(&args.execution.client)?;
            (
                client.handle(handle.workflow_id().clone(), Some(previous)),
                ResetPoint::LastWorkflowTask,
            )
        }
        (None, Some(id)) => (
            handle,
            ResetPoint::Event(
                EventId::new(id).ok_or_else(|| usage("--event-id must be at least 1"))?,
            ),
        ),
        _ => {
            return Err(usage(
                "say where to reset: --type FirstWorkflowTask | LastWorkflowTask | LastContinuedAsNew, or --event-id N",
            ));
        }
    };
    let excludes = |kind| {
        args.reapply_exclude
            .iter()
            .any(|excluded| *excluded == kind || *excluded == ReapplyExclude::All)
    };
    let reapply = match args.reapply_type {
        ReapplyType::All => ResetReapply::SignalsAndUpdates,
        ReapplyType::Signal => ResetReapply::Signals,
        ReapplyType::None => ResetReapply::None,
    }
    .excluding(
        excludes(ReapplyExclude::Signal),
        excludes(ReapplyExclude::Update),
    );
    let options = ResetOptions {
        reapply,
        ..ResetOptions::new(point, args.reason)
    };
    let run_id = handle.reset(options).await?;
    print(output, &json!({ "run_id": run_id.to_string() }), || {
        fields(&[("New run ID", run_id.to_string())])
    })
}
