//! Batches: `workflow cancel | terminate | signal -q FILTER --yes` act on every open run a
//! list filter selects (Temporal's batch operations), with progress on a terminal and a
//! final count.

use std::future::Future;
use std::io::IsTerminal;

use endure::{Client, ClientError, VisibilityQuery, WorkflowHandle};
use serde_json::json;

use crate::args::{ExecutionArgs, TargetArgs};
use crate::error::{CliError, usage};
use crate::render::print;
use crate::workflow::client;

/// Runs listed per page while a batch collects its targets.
const PAGE_ROWS: usize = 1_000;

/// One run (`-w`), as the single-run commands take it; `None` for a batch (`-q`).
pub(crate) fn single(target: &TargetArgs) -> Option<ExecutionArgs> {
    target
        .workflow_id
        .as_ref()
        .map(|workflow_id| ExecutionArgs {
            workflow_id: workflow_id.clone(),
            run_id: target.run_id.clone(),
            client: target.client.clone(),
        })
}

/// Applies `act` to every open run `target`'s filter selects, once `--yes` says so;
/// `verb` names the act in the output ("terminated").
pub(crate) async fn run<F, Fut>(target: &TargetArgs, verb: &str, act: F) -> Result<(), CliError>
where
    F: Fn(WorkflowHandle) -> Fut,
    Fut: Future<Output = Result<(), ClientError>>,
{
    let filter = target.query.as_deref().unwrap_or_default();
    let client = client(&target.client)?;
    let runs = open_runs(&client, filter).await?;
    if !target.yes {
        return Err(usage(format!(
            "{} open run(s) match {filter:?}; add --yes to have them {verb}",
            runs.len()
        )));
    }
    let total = runs.len();
    let progress = std::io::stderr().is_terminal();
    let (mut done, mut failed) = (0usize, Vec::new());
    for (workflow_id, run_id) in runs {
        let handle = client.handle(workflow_id.clone(), Some(run_id));
        match act(handle).await {
            Ok(()) => done += 1,
            // A run that closed meanwhile, say: counted, and the batch goes on.
            Err(error) => failed.push(format!("{workflow_id}: {error}")),
        }
        if progress {
            eprint!("\r{verb} {done}/{total}");
        }
    }
    if progress {
        eprintln!();
    }
    for failure in &failed {
        eprintln!("not {verb}: {failure}");
    }
    print(
        target.client.output,
        &json!({ verb: done, "failed": failed.len(), "matched": total }),
        || format!("{done} of {total} workflow(s) {verb}"),
    )
}

/// Every open run `filter` selects: workflow id and run id, paged.
async fn open_runs(
    client: &Client,
    filter: &str,
) -> Result<Vec<(endure::WorkflowId, endure::RunId)>, CliError> {
    let open = if filter.trim().is_empty() {
        "ExecutionStatus = 'Running'".to_owned()
    } else {
        format!("ExecutionStatus = 'Running' AND ({filter})")
    };
    let query = VisibilityQuery::parse(&open).map_err(|error| usage(error.to_string()))?;
    let mut runs = Vec::new();
    loop {
        let page = client
            .list_workflows(query.clone(), runs.len(), PAGE_ROWS)
            .await?;
        let last = page.len() < PAGE_ROWS;
        runs.extend(
            page.into_iter()
                .map(|info| (info.execution.workflow_id, info.execution.run_id)),
        );
        if last {
            return Ok(runs);
        }
    }
}
