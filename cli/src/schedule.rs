//! `endure schedule …`: schedules through the client (spec §5.17.1–4), with the flags of
//! `temporal schedule`, printed as text or JSON (times RFC 3339, durations as text).

use endure::schedule::{
    Backfill, CalendarSpec, CalendarText, IntervalSpec, ScheduleAction, ScheduleDescription,
    ScheduleListEntry, ScheduleOverlapPolicy, ScheduleSpec,
};
use endure::{Client, ScheduleOptions, schedule_workflow_action};
use endure_core::{Payload, StartWorkflowOptions, TaskQueueName, Timestamp, WorkflowId};
use serde_json::{Value, json};

use crate::error::{CliError, usage};
use crate::render::{Table, fields, payloads_json, print};
use crate::schedule_args::{
    ScheduleBackfillArgs, ScheduleCommand, ScheduleCreateArgs, ScheduleIdArgs, ScheduleListArgs,
    ScheduleNoteArgs, ScheduleTriggerArgs,
};
use crate::workflow::{client, inputs, key_value, search_attribute};
use endure_core::duration_text as duration;

/// Runs one schedule command.
pub(crate) async fn run(command: ScheduleCommand) -> Result<(), CliError> {
    match command {
        ScheduleCommand::Create(args) => create(*args).await,
        ScheduleCommand::Update(args) => update(*args).await,
        ScheduleCommand::List(args) => list(args).await,
        ScheduleCommand::Describe(args) => describe(args).await,
        ScheduleCommand::Pause(args) => pause(args, true).await,
        ScheduleCommand::Unpause(args) => pause(args, false).await,
        ScheduleCommand::Trigger(args) => trigger(args).await,
        ScheduleCommand::Backfill(args) => backfill(args).await,
        ScheduleCommand::Delete(args) => delete(args).await,
    }
}

/// An RFC 3339 time from the command line.
fn time(text: &str, flag: &str) -> Result<Timestamp, CliError> {
    let parsed: jiff::Timestamp = text.parse().map_err(|error| {
        usage(format!(
            "{flag} {text:?} is not an RFC 3339 time ({error}); write it like 2026-12-02T19:00:00Z"
        ))
    })?;
    let nanos = u64::try_from(parsed.as_nanosecond())
        .map_err(|_| usage(format!("{flag} {text:?} is before 1970")))?;
    Ok(Timestamp::from_unix_nanos(nanos))
}

/// The schedule options the create and update flags describe.
fn options(args: &ScheduleCreateArgs) -> Result<ScheduleOptions, CliError> {
    let mut spec = ScheduleSpec {
        cron_expressions: args.cron.clone(),
        time_zone_name: args.time_zone.clone().unwrap_or_default(),
        jitter: args.jitter.unwrap_or_default(),
        ..ScheduleSpec::default()
    };
    for text in &args.calendar {
        let calendar: CalendarText = serde_json::from_str(text).map_err(|error| {
            usage(format!(
                "--calendar {text:?} is not a calendar ({error}); write it like '{{\"dayOfWeek\":\"Fri\",\"hour\":\"12\"}}'"
            ))
        })?;
        spec.calendars.push(calendar.parse().map_err(usage)?);
    }
    for text in &args.interval {
        let (every, offset) = match text.split_once('/') {
            Some((every, offset)) => (every, Some(offset)),
            None => (text.as_str(), None),
        };
        spec.intervals.push(IntervalSpec {
            every: duration::parse(every).map_err(usage)?,
            offset: offset
                .map(duration::parse)
                .transpose()
                .map_err(usage)?
                .unwrap_or_default(),
        });
    }
    spec.start_at = args
        .start_time
        .as_deref()
        .map(|text| time(text, "--start-time"))
        .transpose()?;
    spec.end_at = args
        .end_time
        .as_deref()
        .map(|text| time(text, "--end-time"))
        .transpose()?;
    endure::schedule::CompiledSpec::new(&spec).map_err(usage)?;
    if spec.calendars.is_empty() && spec.intervals.is_empty() && spec.cron_expressions.is_empty() {
        return Err(usage(
            "a schedule needs times: give --cron, --interval or --calendar",
        ));
    }
    let mut workflow = StartWorkflowOptions::new(
        WorkflowId::new(args.workflow_id.as_str()).map_err(usage)?,
        TaskQueueName::new(args.task_queue.as_str()).map_err(usage)?,
    );
    workflow.execution_timeout = args.execution_timeout;
    workflow.run_timeout = args.run_timeout;
    workflow.task_timeout = args.task_timeout;
    for entry in &args.search_attributes {
        let (key, value) = key_value(entry, "--search-attribute")?;
        workflow
            .search_attributes
            .insert(key, search_attribute(key, value)?);
    }
    for entry in &args.memo {
        let (key, value) = key_value(entry, "--memo")?;
        workflow.memo =
            std::mem::take(&mut workflow.memo).with(key, Payload::json(&value).map_err(usage)?);
    }
    let mut action = schedule_workflow_action(workflow, &args.workflow_type, &())?;
    action.input = inputs(&args.input, &args.input_file)?;
    let mut options = ScheduleOptions::new(args.schedule_id.clone(), spec, action);
    options.overlap = args.overlap_policy.unwrap_or(ScheduleOverlapPolicy::Skip);
    options.catchup_window = args.catchup_window;
    options.pause_on_failure = args.pause_on_failure;
    options.paused = args.paused;
    options.note = args.notes.clone().unwrap_or_default();
    options.remaining_actions = args.remaining_actions;
    for entry in &args.schedule_search_attributes {
        let (key, value) = key_value(entry, "--schedule-search-attribute")?;
        options
            .search_attributes
            .insert(key, search_attribute(key, value)?);
    }
    for entry in &args.schedule_memo {
        let (key, value) = key_value(entry, "--schedule-memo")?;
        options.memo =
            std::mem::take(&mut options.memo).with(key, Payload::json(&value).map_err(usage)?);
    }
    Ok(options)
}

fn schedule_id(text: &str) -> Result<WorkflowId, CliError> {
    WorkflowId::new(text).map_err(usage)
}

async fn create(args: ScheduleCreateArgs) -> Result<(), CliError> {
    let options = options(&args)?;
    let client = client(&args.client)?;
    let handle = client.schedules().create(options).await?;
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": "created" }),
        || format!("Schedule {id} created"),
    )
}

async fn update(args: ScheduleCreateArgs) -> Result<(), CliError> {
    let options = options(&args)?;
    let client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    let schedule = options.schedule();
    handle.update(move |_| Some(schedule)).await?;
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": "updated" }),
        || format!("Schedule {id} updated"),
    )
}

async fn describe(args: ScheduleIdArgs) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    let description = handle.describe().await?;
    print(args.client.output, &description_json(&description), || {
        description_text(&description)
    })
}

async fn list(args: ScheduleListArgs) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let entries = client.schedules().list(&args.query).await?;
    let value: Vec<Value> = entries.iter().map(entry_json).collect();
    print(args.client.output, &value, || {
        let mut table = Table::new(vec!["SCHEDULE ID", "WORKFLOW TYPE", "PAUSED", "NEXT RUN"]);
        for entry in &entries {
            table.row(vec![
                entry.schedule_id.to_string(),
                entry.info.workflow_type.to_string(),
                entry.info.paused.to_string(),
                entry
                    .info
                    .future_action_times
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        table.render()
    })
}

async fn pause(args: ScheduleNoteArgs, paused: bool) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    if paused {
        handle.pause(&args.note).await?;
    } else {
        handle.unpause(&args.note).await?;
    }
    let outcome = if paused { "paused" } else { "unpaused" };
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": outcome }),
        || format!("Schedule {id} {outcome}"),
    )
}

async fn trigger(args: ScheduleTriggerArgs) -> Result<(), CliError> {
    let client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    handle
        .trigger(args.overlap_policy.unwrap_or_default())
        .await?;
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": "triggered" }),
        || format!("Schedule {id} triggered"),
    )
}

async fn backfill(args: ScheduleBackfillArgs) -> Result<(), CliError> {
    let start = time(&args.start_time, "--start-time")?;
    let end = time(&args.end_time, "--end-time")?;
    if start > end {
        return Err(usage("--start-time is after --end-time"));
    }
    let client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    handle
        .backfill(vec![Backfill {
            start,
            end,
            overlap: args.overlap_policy.unwrap_or_default(),
        }])
        .await?;
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": "backfilled" }),
        || format!("Schedule {id} backfilled from {start} to {end}"),
    )
}

async fn delete(args: ScheduleIdArgs) -> Result<(), CliError> {
    let client: Client = client(&args.client)?;
    let handle = client.schedules().handle(schedule_id(&args.schedule_id)?);
    handle.delete().await?;
    let id = handle.id().to_string();
    print(
        args.client.output,
        &json!({ "schedule_id": id, "outcome": "deleted" }),
        || format!("Schedule {id} deleted"),
    )
}

fn overlap_name(policy: ScheduleOverlapPolicy) -> &'static str {
    ScheduleOverlapPolicy::NAMES
        .iter()
        .find(|(_, known)| *known == policy)
        .map_or("Unspecified", |(name, _)| name)
}

fn times(times: &[Timestamp]) -> Vec<String> {
    times.iter().map(ToString::to_string).collect()
}

fn calendar_json(calendar: &CalendarSpec) -> Value {
    serde_json::to_value(calendar).unwrap_or(Value::Null)
}

fn description_json(description: &ScheduleDescription) -> Value {
    let schedule = &description.schedule;
    let ScheduleAction::StartWorkflow(action) = &schedule.action;
    let spec = &schedule.spec;
    let info = &description.info;
    json!({
        "schedule_id": description.schedule_id.to_string(),
        "spec": {
            "calendars": spec.calendars.iter().map(calendar_json).collect::<Vec<_>>(),
            "intervals": spec.intervals.iter().map(|interval| json!({
                "every": duration::format(interval.every),
                "offset": duration::format(interval.offset),
            })).collect::<Vec<_>>(),
            "cron_expressions": spec.cron_expressions,
            "skip": spec.skip.iter().map(calendar_json).collect::<Vec<_>>(),
            "start_time": spec.start_at.map(|t| t.to_string()),
            "end_time": spec.end_at.map(|t| t.to_string()),
            "jitter": duration::format(spec.jitter),
            "time_zone": spec.time_zone_name,
        },
        "action": {
            "workflow_type": action.workflow_type.to_string(),
            "workflow_id": action.options.id.to_string(),
            "task_queue": action.options.task_queue.to_string(),
            "input": payloads_json(Some(&action.input)),
        },
        "policies": {
            "overlap_policy": overlap_name(schedule.policies.overlap),
            "catchup_window": duration::format(schedule.policies.catchup_window),
            "pause_on_failure": schedule.policies.pause_on_failure,
        },
        "state": {
            "paused": schedule.state.paused,
            "notes": schedule.state.notes,
            "remaining_actions": schedule.state.limited_actions.then_some(schedule.state.remaining_actions),
        },
        "info": {
            "action_count": info.action_count,
            "missed_catchup_window": info.missed_catchup_window,
            "overlap_skipped": info.overlap_skipped,
            "buffer_dropped": info.buffer_dropped,
            "start_failures": info.start_failures,
            "buffered_starts": description.buffered_starts,
            "running_workflows": info.running.iter().map(|running| json!({
                "workflow_id": running.workflow_id.to_string(),
                "run_id": running.run_id.to_string(),
            })).collect::<Vec<_>>(),
            "recent_actions": info.recent_actions.iter().map(|action| json!({
                "schedule_time": action.schedule_time.to_string(),
                "actual_time": action.actual_time.to_string(),
                "workflow_id": action.workflow_id.to_string(),
                "run_id": action.run_id.to_string(),
                "status": format!("{:?}", action.status),
            })).collect::<Vec<_>>(),
            "create_time": info.created_at.map(|t| t.to_string()),
            "update_time": info.updated_at.map(|t| t.to_string()),
        },
        "future_action_times": times(&description.future_action_times),
        "conflict_token": description.conflict_token,
    })
}

fn description_text(description: &ScheduleDescription) -> String {
    let schedule = &description.schedule;
    let ScheduleAction::StartWorkflow(action) = &schedule.action;
    let spec = &schedule.spec;
    let mut when: Vec<String> = spec.cron_expressions.clone();
    when.extend(spec.intervals.iter().map(|interval| {
        format!(
            "every {} (offset {})",
            duration::format(interval.every),
            duration::format(interval.offset)
        )
    }));
    when.extend(
        spec.calendars
            .iter()
            .map(|calendar| calendar_json(calendar).to_string()),
    );
    let info = &description.info;
    let mut out = fields(&[
        ("Schedule ID", description.schedule_id.to_string()),
        ("Spec", when.join("; ")),
        (
            "Time zone",
            if spec.time_zone_name.is_empty() {
                "UTC".into()
            } else {
                spec.time_zone_name.clone()
            },
        ),
        ("Workflow type", action.workflow_type.to_string()),
        ("Workflow id", action.options.id.to_string()),
        ("Task queue", action.options.task_queue.to_string()),
        (
            "Overlap policy",
            overlap_name(schedule.policies.overlap).into(),
        ),
        ("Paused", schedule.state.paused.to_string()),
        ("Notes", schedule.state.notes.clone()),
        ("Actions", info.action_count.to_string()),
        ("Running", info.running.len().to_string()),
        (
            "Skipped",
            format!(
                "{} overlapping, {} outside the catch-up window",
                info.overlap_skipped, info.missed_catchup_window
            ),
        ),
        (
            "Next runs",
            times(&description.future_action_times).join(", "),
        ),
    ]);
    if !info.recent_actions.is_empty() {
        let mut table = Table::new(vec!["SCHEDULED", "STARTED", "WORKFLOW ID", "STATUS"]);
        for action in &info.recent_actions {
            table.row(vec![
                action.schedule_time.to_string(),
                action.actual_time.to_string(),
                action.workflow_id.to_string(),
                format!("{:?}", action.status),
            ]);
        }
        out.push_str("\n\nRecent actions:\n");
        out.push_str(&table.render());
    }
    out
}

fn entry_json(entry: &ScheduleListEntry) -> Value {
    json!({
        "schedule_id": entry.schedule_id.to_string(),
        "workflow_type": entry.info.workflow_type.to_string(),
        "paused": entry.info.paused,
        "notes": entry.info.notes,
        "future_action_times": times(&entry.info.future_action_times),
        "recent_actions": entry.info.recent_actions.iter().map(|action| json!({
            "schedule_time": action.schedule_time.to_string(),
            "workflow_id": action.workflow_id.to_string(),
            "status": format!("{:?}", action.status),
        })).collect::<Vec<_>>(),
    })
}
