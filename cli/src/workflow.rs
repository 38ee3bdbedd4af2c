//! `endure workflow …`: every command is one or two client calls to the server at
//! `--address`, in `--namespace`, printed as text or JSON.

use endure::remote::{ApiKey, ClientTls, RemoteOptions};
use endure::workflow::SESSION_CREATION_ACTIVITY;
use endure::{Client, PendingActivityState, UpdateOptions};
use endure_core::history::EventAttributes;
use endure_core::protocol::WorkflowDescription;
use endure_core::protocol::WorkflowExecutionInfo;
use endure_core::{
    CronSchedule, EventId, Namespace, Payload, Payloads, RunId, SearchAttributeValue,
    StartWorkflowOptions, TaskQueueName, WorkflowId, WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
};
use serde_json::{Value, json};

use crate::args::{
    ClientArgs, ConflictPolicy, ExecutionArgs, ListArgs, Output, QueryArgs, ReasonArgs,
    ReusePolicy, SignalArgs, SignalWithStartArgs, StartArgs, UpdateArgs, WorkflowCommand,
};
use crate::error::{CliError, usage};
use crate::render::{Table, fields, payloads_json, print};

/// The client for `args`, its namespace validated.
pub(crate) fn client(args: &ClientArgs) -> Result<Client, CliError> {
    let namespace = Namespace::new(args.namespace.as_str()).map_err(usage)?;
    client_in(args, namespace)
}

/// The client for `args` in `namespace`: its credential and TLS as the flags say.
pub(crate) fn client_in(args: &ClientArgs, namespace: Namespace) -> Result<Client, CliError> {
    check_address(&args.address)?;
    let tls = args.tls
        || args.tls_ca.is_some()
        || args.tls_cert.is_some()
        || args.tls_server_name.is_some();
    let options = RemoteOptions {
        api_key: args.api_key.clone().map(ApiKey::fixed),
        tls: tls.then(|| ClientTls {
            ca: args.tls_ca.clone(),
            cert: args.tls_cert.clone(),
            key: args.tls_key.clone(),
            server_name: args.tls_server_name.clone(),
        }),
        ..RemoteOptions::default()
    };
    Ok(Client::connect_with(
        args.address.clone(),
        namespace,
        options,
    ))
}

/// How long `workflow execute` waits before checking that a worker polls its queue.
const NO_POLLER_HINT_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// Refuses an `--address` that is not `host:port` before anything is sent.
fn check_address(address: &str) -> Result<(), CliError> {
    let refuse = || {
        usage(format!(
            "--address {address:?} is not host:port; write it like 127.0.0.1:7233 or server.example.com:7233"
        ))
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(refuse)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.chars().any(char::is_whitespace) || port.parse::<u16>().is_err() {
        return Err(refuse());
    }
    Ok(())
}

/// Runs one workflow command.
pub(crate) async fn run(command: WorkflowCommand) -> Result<(), CliError> {
    match command {
        WorkflowCommand::Start(args) => start(args, false).await,
        WorkflowCommand::Execute(args) => start(args, true).await,
        WorkflowCommand::List(args) => list(args).await,
        WorkflowCommand::Count(args) => {
            let count = client(&args.client)?
                .count_workflows_matching(&args.query)
                .await?;
            print(args.client.output, &json!({ "count": count }), || {
                format!("Total: {count}")
            })
        }
        WorkflowCommand::Describe(args) => describe(args).await,
        WorkflowCommand::Stack(args) => stack(args).await,
        WorkflowCommand::Trace(args) => crate::trace::run(args).await,
        WorkflowCommand::SignalWithStart(args) => signal_with_start(*args).await,
        WorkflowCommand::UpdateOptions(args) => crate::deployment::update_options(args).await,
        WorkflowCommand::Show(args) => crate::show::run(args).await,
        WorkflowCommand::Result(args) => result(args).await,
        WorkflowCommand::Signal(args) => signal(args).await,
        WorkflowCommand::Query(args) => query(args).await,
        WorkflowCommand::Update(args) => update(args).await,
        WorkflowCommand::Cancel(args) => cancel(args, false).await,
        WorkflowCommand::Terminate(args) => cancel(args, true).await,
        WorkflowCommand::Reset(args) => crate::reset::reset(args).await,
        WorkflowCommand::Delete(args) => delete(args).await,
    }
}

async fn delete(args: ExecutionArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args)?;
    handle.delete().await?;
    print(
        output,
        &json!({ "workflow_id": handle.workflow_id().to_string(), "outcome": "deleted" }),
        || format!("{}: deleted", handle.workflow_id()),
    )
}

/// A JSON argument from the command line.
fn parse_json(text: &str, what: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|error| {
        usage(format!(
            "{what} {text:?} is not JSON ({error}); quote strings twice, e.g. --input '\"user_123\"'"
        ))
    })
}

/// `KEY=JSON` split, the JSON parsed.
pub(crate) fn key_value<'a>(entry: &'a str, flag: &str) -> Result<(&'a str, Value), CliError> {
    let (key, value) = entry.split_once('=').ok_or_else(|| {
        usage(format!(
            "{flag} {entry:?}: write it as KEY=JSON, e.g. Tier='\"gold\"'"
        ))
    })?;
    Ok((key, parse_json(value, flag)?))
}

/// A search attribute's typed value from JSON: strings are keywords.
pub(crate) fn search_attribute(key: &str, value: Value) -> Result<SearchAttributeValue, CliError> {
    let refuse = || {
        usage(format!(
            "--search-attribute {key}: give a string, an integer, a number, a boolean or a list of strings"
        ))
    };
    Ok(match value {
        Value::String(text) => SearchAttributeValue::Keyword(text),
        Value::Bool(flag) => SearchAttributeValue::Bool(flag),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => SearchAttributeValue::Int(integer),
            None => SearchAttributeValue::Double(number.as_f64().ok_or_else(refuse)?),
        },
        Value::Array(items) => SearchAttributeValue::KeywordList(
            items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    _ => Err(refuse()),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(refuse()),
    })
}

/// The arguments of a call: one payload per `--input`, in order (as Temporal's CLI sends
/// them), each JSON — or `binary/null` for `null`.
pub(crate) fn inputs(texts: &[String], files: &[std::path::PathBuf]) -> Result<Payloads, CliError> {
    let from_files = files
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(|error| usage(format!("--input-file {}: {error}", path.display())))
        })
        .collect::<Result<Vec<String>, _>>()?;
    let (texts, flag) = if files.is_empty() {
        (texts, "--input")
    } else {
        (from_files.as_slice(), "--input-file")
    };
    texts
        .iter()
        .map(|text| {
            let value = parse_json(text.trim(), flag)?;
            Payload::encode(&value).map_err(usage)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Payloads)
}

/// The handle `args` names.
pub(crate) fn handle(args: &ExecutionArgs) -> Result<(endure::WorkflowHandle, Output), CliError> {
    let client = client(&args.client)?;
    let workflow_id = WorkflowId::new(args.workflow_id.as_str()).map_err(usage)?;
    let run_id = args
        .run_id
        .as_deref()
        .map(str::parse::<RunId>)
        .transpose()
        .map_err(usage)?;
    Ok((client.handle(workflow_id, run_id), args.client.output))
}

/// A fresh workflow id, when none is given.
fn fresh_workflow_id() -> String {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
    format!("endure-cli-{random:016x}")
}

/// `workflow signal-with-start`: the signal reaches the running run, or a new run starts
/// with it.
async fn signal_with_start(args: SignalWithStartArgs) -> Result<(), CliError> {
    let client = client(&args.start.client)?;
    let options = start_options(&args.start)?;
    let input = inputs(&args.start.input, &args.start.input_file)?;
    let signal_input = inputs(&args.signal_input, &args.signal_input_file)?;
    let handle = client
        .signal_with_start_workflow_raw(
            options,
            &args.start.workflow_type,
            input,
            &args.signal_name,
            signal_input,
        )
        .await?;
    let run_id = handle
        .run_id()
        .map(|run| run.to_string())
        .unwrap_or_default();
    let workflow_id = handle.workflow_id().to_string();
    let value = json!({ "workflow_id": workflow_id, "run_id": run_id });
    print(args.start.client.output, &value, || {
        fields(&[
            ("Workflow ID", workflow_id.clone()),
            ("Run ID", run_id.clone()),
        ])
    })
}

/// The start options `args` describe.
fn start_options(args: &StartArgs) -> Result<StartWorkflowOptions, CliError> {
    let id = args.workflow_id.clone().unwrap_or_else(fresh_workflow_id);
    let mut options = StartWorkflowOptions::new(
        WorkflowId::new(id).map_err(usage)?,
        TaskQueueName::new(args.task_queue.as_str()).map_err(usage)?,
    );
    options.execution_timeout = args.execution_timeout;
    options.run_timeout = args.run_timeout;
    options.task_timeout = args.task_timeout;
    options.start_delay = args.start_delay;
    options.cron_schedule = args
        .cron
        .as_deref()
        .map(CronSchedule::parse)
        .transpose()
        .map_err(usage)?;
    options.id_reuse_policy = match args.id_reuse_policy {
        ReusePolicy::AllowDuplicate => WorkflowIdReusePolicy::AllowDuplicate,
        ReusePolicy::AllowDuplicateFailedOnly => WorkflowIdReusePolicy::AllowDuplicateFailedOnly,
        ReusePolicy::RejectDuplicate => WorkflowIdReusePolicy::RejectDuplicate,
        ReusePolicy::TerminateIfRunning => WorkflowIdReusePolicy::TerminateIfRunning,
    };
    options.id_conflict_policy = match args.id_conflict_policy {
        ConflictPolicy::Fail => WorkflowIdConflictPolicy::Fail,
        ConflictPolicy::UseExisting => WorkflowIdConflictPolicy::UseExisting,
        ConflictPolicy::TerminateExisting => WorkflowIdConflictPolicy::TerminateExisting,
    };
    for entry in &args.search_attributes {
        let (key, value) = key_value(entry, "--search-attribute")?;
        options
            .search_attributes
            .insert(key, search_attribute(key, value)?);
    }
    for entry in &args.memo {
        let (key, value) = key_value(entry, "--memo")?;
        options.memo =
            std::mem::take(&mut options.memo).with(key, Payload::json(&value).map_err(usage)?);
    }
    Ok(options)
}

async fn start(args: StartArgs, wait: bool) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let options = start_options(&args)?;
    let input = inputs(&args.input, &args.input_file)?;
    let handle = client
        .start_workflow_raw(options, &args.workflow_type, input)
        .await?;
    let run_id = handle
        .run_id()
        .map(|run| run.to_string())
        .unwrap_or_default();
    let workflow_id = handle.workflow_id().to_string();
    if !wait {
        let value = json!({ "workflow_id": workflow_id, "run_id": run_id });
        return print(args.client.output, &value, || {
            fields(&[
                ("Workflow ID", workflow_id.clone()),
                ("Run ID", run_id.clone()),
            ])
        });
    }
    // While it waits, a workflow nobody polls for is worth a word on stderr.
    let waiting = handle.result_raw();
    tokio::pin!(waiting);
    let outcome = tokio::select! {
        biased;
        outcome = &mut waiting => outcome,
        () = tokio::time::sleep(NO_POLLER_HINT_AFTER) => {
            let queue = TaskQueueName::new(args.task_queue.as_str()).map_err(usage)?;
            if let Some(hint) = crate::task_queue::no_poller_hint(&client, &queue).await {
                eprintln!("hint: {hint}");
            }
            waiting.await
        }
    };
    let result = payloads_json(outcome?.as_ref());
    let value = json!({ "workflow_id": workflow_id, "run_id": run_id, "result": result });
    print(args.client.output, &value, || {
        fields(&[
            ("Workflow ID", workflow_id.clone()),
            ("Run ID", run_id.clone()),
            ("Result", result.to_string()),
        ])
    })
}

async fn list(args: ListArgs) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let rows = client
        .list_workflows_matching(&args.query, args.limit)
        .await?;
    print(args.client.output, &rows, || list_table(&rows))
}

fn list_table(rows: &[WorkflowExecutionInfo]) -> String {
    let mut table = Table::new(vec![
        "WORKFLOW ID",
        "RUN ID",
        "TYPE",
        "STATUS",
        "START TIME",
        "CLOSE TIME",
    ]);
    for row in rows {
        table.row(vec![
            row.execution.workflow_id.to_string(),
            row.execution.run_id.to_string(),
            row.workflow_type.to_string(),
            format!("{:?}", row.status),
            row.start_time.to_string(),
            row.close_time.map(|t| t.to_string()).unwrap_or_default(),
        ]);
    }
    table.render()
}

async fn describe(args: ExecutionArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args)?;
    let description = handle.describe().await?;
    // A running workflow nobody polls for will not move: say so.
    let hint = if description.status == endure::WorkflowExecutionStatus::Running {
        crate::task_queue::no_poller_hint(&client(&args.client)?, &description.task_queue).await
    } else {
        None
    };
    // The input and the outcome are in the first and the closing event.
    let pinned = client(&args.client)?.handle(
        description.execution.workflow_id.clone(),
        Some(description.execution.run_id),
    );
    let first = pinned.history_page(EventId::FIRST).await?.events;
    let input = match first.first().map(|event| &event.attributes) {
        Some(EventAttributes::WorkflowExecutionStarted(started)) => {
            payloads_json(Some(&started.input))
        }
        _ => Value::Null,
    };
    let closing = match EventId::new(description.history_length) {
        Some(last) if description.status.is_closed() => {
            pinned.history_page(last).await?.events.pop()
        }
        _ => None,
    };
    let (result, failure) = closing
        .as_ref()
        .map(|event| outcome(&event.attributes))
        .unwrap_or_default();
    let value = Described {
        description: &description,
        input,
        result,
        failure,
    };
    print(output, &value, || {
        let mut extra = vec![("Input", value.input.to_string())];
        if let Some(result) = &value.result {
            extra.push(("Result", result.to_string()));
        }
        if let Some(failure) = &value.failure {
            let message = failure["message"].as_str().unwrap_or_default();
            extra.push(("Failure", message.to_owned()));
        }
        let mut text = describe_text(&description, extra);
        if let Some(hint) = &hint {
            text.push_str(&format!("\nNote: {hint}"));
        }
        text
    })
}

/// What `workflow describe` prints: the run's description, its input, and its result or
/// failure once closed.
#[derive(serde::Serialize)]
struct Described<'a> {
    #[serde(flatten)]
    description: &'a WorkflowDescription,
    input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Value>,
}

/// A closing event's result, or its failure as `{message, type}` (a cancellation, a
/// termination and a timeout are failures too, as the client reports them).
fn outcome(attributes: &EventAttributes) -> (Option<Value>, Option<Value>) {
    let failure = |message: String, kind: &str| Some(json!({ "message": message, "type": kind }));
    match attributes {
        EventAttributes::WorkflowExecutionCompleted(a) => {
            (Some(payloads_json(a.result.as_ref())), None)
        }
        EventAttributes::WorkflowExecutionFailed(a) => {
            (None, failure(a.failure.message.clone(), "Failed"))
        }
        EventAttributes::WorkflowExecutionCanceled(_) => (
            None,
            failure("the workflow was canceled".into(), "Canceled"),
        ),
        EventAttributes::WorkflowExecutionTerminated(a) => (
            None,
            failure(format!("terminated: {}", a.reason), "Terminated"),
        ),
        EventAttributes::WorkflowExecutionTimedOut(_) => {
            (None, failure("the workflow timed out".into(), "TimedOut"))
        }
        EventAttributes::WorkflowExecutionContinuedAsNew(a) => (
            Some(json!({ "continued_as_new": a.new_execution_run_id.to_string() })),
            None,
        ),
        _ => (None, None),
    }
}

/// `d` for people; `extra` fields (input, result) follow the summary's.
fn describe_text(d: &WorkflowDescription, extra: Vec<(&str, String)>) -> String {
    let optional = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let mut pairs = vec![
        ("Workflow ID", d.execution.workflow_id.to_string()),
        ("Run ID", d.execution.run_id.to_string()),
        ("Type", d.workflow_type.to_string()),
        ("Task queue", d.task_queue.to_string()),
        ("Status", format!("{:?}", d.status)),
        ("Start time", d.start_time.to_string()),
        ("Close time", optional(d.close_time.map(|t| t.to_string()))),
        ("History length", d.history_length.to_string()),
        ("Next run", optional(d.next_run_id.map(|r| r.to_string()))),
        (
            "Parent",
            optional(d.parent.as_ref().map(|p| {
                format!(
                    "{} {}",
                    p.workflow_id,
                    p.run_id.map(|r| r.to_string()).unwrap_or_default()
                )
            })),
        ),
        ("Pending activities", d.pending_activities.to_string()),
        ("Pending timers", d.pending_timers.to_string()),
        ("Pending children", d.pending_children.to_string()),
    ];
    pairs.extend(extra);
    let mut text = fields(&pairs);
    if let Some(versioning) = versioning_text(&d.versioning) {
        text.push_str(&format!("\nVersioning        {versioning}"));
    }
    if !d.search_attributes.is_empty() {
        text.push_str("\nSearch attributes:");
        for (key, value) in &d.search_attributes.0 {
            text.push_str(&format!("\n  {key} = {}", attribute_text(value)));
        }
    }
    if !d.memo.0.is_empty() {
        text.push_str("\nMemo:");
        for (key, payload) in &d.memo.0 {
            let value = crate::render::payloads_json(Some(&Payloads(vec![payload.clone()])));
            text.push_str(&format!("\n  {key} = {value}"));
        }
    }
    for activity in &d.pending_activity_details {
        text.push_str(&format!(
            "\nActivity {} ({}): {:?}, attempt {}{}{}",
            activity.activity_id,
            activity.activity_type,
            activity.state,
            activity.attempt,
            activity
                .last_worker_identity
                .as_ref()
                .map(|who| format!(", worker {who}"))
                .unwrap_or_default(),
            activity
                .last_failure
                .as_ref()
                .map(|failure| format!(", last failure: {}", failure.message))
                .unwrap_or_default(),
        ));
        if let Some(at) = activity.last_heartbeat_time {
            let details = payloads_json(activity.heartbeat_details.as_ref());
            text.push_str(&format!("\n  last heartbeat {at}: {details}"));
        }
    }
    // A session (spec §5.15) lives as long as its creation activity runs on its worker.
    for activity in &d.pending_activity_details {
        if activity.activity_type.as_str() != SESSION_CREATION_ACTIVITY {
            continue;
        }
        text.push_str(&match (&activity.state, &activity.last_worker_identity) {
            (PendingActivityState::Scheduled, _) | (_, None) => format!(
                "\nSession (activity {}): waiting for a session worker with a free slot",
                activity.activity_id
            ),
            (state, Some(worker)) => format!(
                "\nSession (activity {}): {} on worker {worker}",
                activity.activity_id,
                if *state == PendingActivityState::CancelRequested {
                    "completing"
                } else {
                    "open"
                }
            ),
        });
    }
    for child in &d.pending_child_details {
        text.push_str(&format!(
            "\nChild {} ({}): {}",
            child.workflow_id,
            child.workflow_type,
            child
                .run_id
                .map_or_else(|| "starting".to_owned(), |run| format!("run {run}")),
        ));
    }
    text
}

/// A search attribute's value as people write it in filters: text quoted, numbers and
/// booleans bare, times in RFC 3339, lists in brackets.
fn attribute_text(value: &SearchAttributeValue) -> String {
    match value {
        SearchAttributeValue::Keyword(text) | SearchAttributeValue::Text(text) => {
            format!("{text:?}")
        }
        SearchAttributeValue::Int(number) => number.to_string(),
        SearchAttributeValue::Double(number) => number.to_string(),
        SearchAttributeValue::Bool(flag) => flag.to_string(),
        SearchAttributeValue::Datetime(time) => time.to_string(),
        SearchAttributeValue::KeywordList(items) => format!("{items:?}"),
        SearchAttributeValue::Unset => "(unset)".to_owned(),
    }
}

/// A run's versioning (spec §5.13.1) at a glance: `Pinned to orders.2`, `AutoUpgrade (last
/// on orders.1)`, with an override named; `None` for an unversioned run.
pub(crate) fn versioning_text(versioning: &endure::versioning::RunVersioning) -> Option<String> {
    use endure::versioning::VersioningOverride;
    let version = versioning.version.as_ref().map(ToString::to_string);
    let worker = match (versioning.behavior, &version) {
        (endure::VersioningBehavior::Unspecified, None) => None,
        (endure::VersioningBehavior::Pinned, Some(version)) => Some(format!("Pinned to {version}")),
        (behavior, Some(version)) => Some(format!("{behavior:?} (last on {version})")),
        (behavior, None) => Some(format!("{behavior:?}")),
    };
    let overridden = versioning.override_.as_ref().map(|o| match o {
        VersioningOverride::Pinned(version) => format!("overridden: pinned to {version}"),
        VersioningOverride::AutoUpgrade => "overridden: auto-upgrade".to_owned(),
    });
    match (worker, overridden) {
        (None, None) => None,
        (Some(worker), None) => Some(worker),
        (None, Some(overridden)) => Some(overridden),
        (Some(worker), Some(overridden)) => Some(format!("{worker}; {overridden}")),
    }
}

async fn result(args: ExecutionArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args)?;
    let result = payloads_json(handle.result_raw().await?.as_ref());
    print(output, &json!({ "result": result }), || result.to_string())
}

async fn signal(args: SignalArgs) -> Result<(), CliError> {
    let input = inputs(&args.input, &args.input_file)?;
    let Some(execution) = crate::batch::single(&args.target) else {
        return crate::batch::run(&args.target, "signaled", |handle| {
            let input = input.clone();
            let name = args.name.clone();
            async move { handle.signal_raw(&name, input).await }
        })
        .await;
    };
    let (handle, output) = handle(&execution)?;
    handle.signal_raw(&args.name, input).await?;
    print(output, &json!({ "signaled": args.name }), || {
        format!("Signal {} sent to {}", args.name, handle.workflow_id())
    })
}

/// `workflow stack`: the `__stack_trace` query, its text printed as it is.
async fn stack(args: ExecutionArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args)?;
    let answer = handle
        .query_raw(endure::workflow::STACK_TRACE_QUERY, Payloads::default())
        .await?;
    let value = payloads_json(answer.as_ref());
    print(output, &json!({ "stack": value }), || match &value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

async fn query(args: QueryArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args.execution)?;
    let answer = handle
        .query_raw(&args.name, inputs(&args.input, &args.input_file)?)
        .await?;
    let answer = payloads_json(answer.as_ref());
    // A string answer prints as the text it is.
    print(output, &json!({ "result": answer }), || match &answer {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

async fn update(args: UpdateArgs) -> Result<(), CliError> {
    let (handle, output) = handle(&args.execution)?;
    let options = UpdateOptions {
        update_id: args.update_id.clone(),
        ..UpdateOptions::default()
    };
    let update = handle
        .start_update_raw(&args.name, inputs(&args.input, &args.input_file)?, options)
        .await?;
    let result = payloads_json(Some(&update.result_raw().await?));
    let update_id = update.update_id().to_string();
    print(
        output,
        &json!({ "update_id": update_id, "result": result }),
        || {
            fields(&[
                ("Update ID", update_id.clone()),
                ("Result", result.to_string()),
            ])
        },
    )
}

async fn cancel(args: ReasonArgs, terminate: bool) -> Result<(), CliError> {
    let Some(execution) = crate::batch::single(&args.target) else {
        let reason = args.reason.clone();
        let verb = if terminate { "terminated" } else { "canceled" };
        return crate::batch::run(&args.target, verb, |handle| {
            let reason = reason.clone();
            async move {
                if terminate {
                    handle.terminate(&reason).await
                } else {
                    handle.cancel().await
                }
            }
        })
        .await;
    };
    let (handle, output) = handle(&execution)?;
    let verb = if terminate {
        handle.terminate(&args.reason).await?;
        "terminated"
    } else {
        handle.cancel().await?;
        "cancel requested"
    };
    print(
        output,
        &json!({ "workflow_id": handle.workflow_id().to_string(), "outcome": verb }),
        || format!("{}: {verb}", handle.workflow_id()),
    )
}
