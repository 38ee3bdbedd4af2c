//! `endure workflow trace`: a workflow and its children as a tree, each with its status,
//! redrawn until the workflow closes (Temporal's `temporal workflow trace`).
//!
//! The tree is read, not kept: each child is found in its parent's history
//! (`StartChildWorkflowExecutionInitiated`, then `ChildWorkflowExecutionStarted` names its
//! run, or `StartChildWorkflowExecutionFailed` says it never started) and described in its
//! own namespace. On a terminal the tree is redrawn in place; into a pipe a new tree is
//! printed whenever it changes; with `-o json` the final tree is printed once.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::Duration;

use endure::{Client, WorkflowExecutionStatus};
use endure_core::history::EventAttributes;
use endure_core::{Namespace, RunId, WorkflowId};
use serde::Serialize;

use crate::args::{Output, TraceArgs};
use crate::error::{CliError, usage};
use crate::render::{print, say};

/// Levels of children shown unless `--depth` says otherwise.
pub(crate) const DEPTH_DEFAULT: usize = 5;

/// The most workflows one tree shows; the rest are counted, not read.
const NODES_MAX: usize = 500;

/// How often the tree is read again while the workflow runs.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// One workflow in the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Node {
    namespace: String,
    workflow_id: String,
    run_id: Option<String>,
    workflow_type: String,
    /// The run's status, `Starting` before its run exists, `NotStarted` when the start
    /// failed (the id was in use, say).
    status: String,
    children: Vec<Self>,
    /// Children not read: deeper than `--depth`, or past the tree's size limit.
    children_not_shown: usize,
}

/// Runs `workflow trace`.
pub(crate) async fn run(args: TraceArgs) -> Result<(), CliError> {
    let (handle, output) = crate::workflow::handle(&args.execution)?;
    let root = handle.describe().await?.execution;
    let mut reader = TreeReader {
        connection: args.execution.client.clone(),
        clients: BTreeMap::new(),
        budget: 0,
    };
    let namespace = Namespace::new(args.execution.client.namespace.as_str()).map_err(usage)?;
    let terminal = std::io::stdout().is_terminal() && output == Output::Text;
    let mut last_drawn = String::new();
    loop {
        reader.budget = NODES_MAX;
        let tree = reader
            .read(
                &namespace,
                &root.workflow_id,
                Some(root.run_id),
                String::new(),
                args.depth,
            )
            .await?;
        let closed = tree.status != format!("{:?}", WorkflowExecutionStatus::Running);
        if output != Output::Text {
            if closed || args.no_follow {
                return print(output, &tree, String::new);
            }
        } else {
            let drawn = draw(&tree);
            if terminal {
                // Clear the screen and draw from the top.
                say(format!("\x1b[2J\x1b[H{drawn}"))?;
            } else if drawn != last_drawn {
                let gap = if last_drawn.is_empty() { "" } else { "\n" };
                say(format!("{gap}{drawn}"))?;
            }
            last_drawn = drawn;
            if closed || args.no_follow {
                return Ok(());
            }
        }
        tokio::time::sleep(REFRESH_INTERVAL).await;
    }
}

/// Reads workflows and their children, one client per namespace.
struct TreeReader {
    /// How to connect (address, credential, TLS).
    connection: crate::args::ClientArgs,
    clients: BTreeMap<Namespace, Client>,
    /// How many more workflows this tree may read.
    budget: usize,
}

impl TreeReader {
    fn client(&mut self, namespace: &Namespace) -> Client {
        self.clients
            .entry(namespace.clone())
            .or_insert_with(|| {
                crate::workflow::client_in(&self.connection, namespace.clone()).unwrap_or_else(
                    |_| Client::connect(self.connection.address.clone(), namespace.clone()),
                )
            })
            .clone()
    }

    /// The tree under one workflow run (`run_id` `None`: not started yet, nothing to read).
    async fn read(
        &mut self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        workflow_type: String,
        depth: usize,
    ) -> Result<Node, CliError> {
        let mut node = Node {
            namespace: namespace.to_string(),
            workflow_id: workflow_id.to_string(),
            run_id: run_id.map(|run| run.to_string()),
            workflow_type,
            status: "Starting".into(),
            children: Vec::new(),
            children_not_shown: 0,
        };
        let Some(run_id) = run_id else {
            return Ok(node);
        };
        self.budget = self.budget.saturating_sub(1);
        let handle = self
            .client(namespace)
            .handle(workflow_id.clone(), Some(run_id));
        let description = handle.describe().await?;
        node.workflow_type = description.workflow_type.to_string();
        node.status = format!("{:?}", description.status);
        let children = children_of(&handle.history().await?);
        for child in children {
            if depth == 0 || self.budget == 0 {
                node.children_not_shown += 1;
                continue;
            }
            let mut read = Box::pin(self.read(
                &child.namespace,
                &child.workflow_id,
                child.run_id,
                child.workflow_type,
                depth - 1,
            ))
            .await?;
            if child.not_started {
                read.status = "NotStarted".into();
            }
            node.children.push(read);
        }
        Ok(node)
    }
}

/// A child as its parent's history names it.
struct ChildRef {
    namespace: Namespace,
    workflow_id: WorkflowId,
    workflow_type: String,
    run_id: Option<RunId>,
    not_started: bool,
}

/// The children a history starts, in the order it starts them.
fn children_of(history: &[endure_core::history::HistoryEvent]) -> Vec<ChildRef> {
    let mut children: BTreeMap<endure_core::EventId, ChildRef> = BTreeMap::new();
    for event in history {
        match &event.attributes {
            EventAttributes::StartChildWorkflowExecutionInitiated(a) => {
                children.insert(
                    event.event_id,
                    ChildRef {
                        namespace: a.namespace.clone(),
                        workflow_id: a.workflow_id.clone(),
                        workflow_type: a.workflow_type.to_string(),
                        run_id: None,
                        not_started: false,
                    },
                );
            }
            EventAttributes::ChildWorkflowExecutionStarted(a) => {
                if let Some(child) = children.get_mut(&a.initiated_event_id) {
                    child.run_id = a.workflow_execution.run_id;
                }
            }
            EventAttributes::StartChildWorkflowExecutionFailed(a) => {
                if let Some(child) = children.get_mut(&a.initiated_event_id) {
                    child.not_started = true;
                }
            }
            _ => {}
        }
    }
    children.into_values().collect()
}

/// The tree as text, one workflow per line:
///
/// ```text
/// Running    OrderWorkflow  order-1  0192…
/// ├── Completed  Charge  order-1-charge  0192…
/// └── Starting   Ship    order-1-ship
/// ```
fn draw(root: &Node) -> String {
    let mut lines = Vec::new();
    draw_node(root, "", "", &mut lines);
    lines.join("\n")
}

fn draw_node(node: &Node, first: &str, rest: &str, lines: &mut Vec<String>) {
    let run = node.run_id.as_deref().unwrap_or_default();
    lines.push(
        format!(
            "{first}{}  {}  {}  {run}",
            node.status, node.workflow_type, node.workflow_id
        )
        .trim_end()
        .to_owned(),
    );
    let count = node.children.len() + usize::from(node.children_not_shown > 0);
    for (index, child) in node.children.iter().enumerate() {
        let last = index + 1 == count;
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        draw_node(
            child,
            &format!("{rest}{branch}"),
            &format!("{rest}{indent}"),
            lines,
        );
    }
    if node.children_not_shown > 0 {
        lines.push(format!(
            "{rest}└── … {} more (raise --depth to see them)",
            node.children_not_shown
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(status: &str, id: &str, children: Vec<Node>) -> Node {
        Node {
            namespace: "default".into(),
            workflow_id: id.into(),
            run_id: None,
            workflow_type: "T".into(),
            status: status.into(),
            children,
            children_not_shown: 0,
        }
    }

    #[test]
    fn trees_draw_with_branches() {
        let mut inner = node("Running", "c", vec![]);
        inner.children_not_shown = 2;
        let root = node(
            "Running",
            "a",
            vec![
                node("Completed", "b", vec![node("Failed", "d", vec![])]),
                inner,
            ],
        );
        assert_eq!(
            draw(&root),
            "Running  T  a\n\
             ├── Completed  T  b\n\
             │   └── Failed  T  d\n\
             └── Running  T  c\n    \
                 └── … 2 more (raise --depth to see them)"
        );
    }
}
