//! `endure schedule …` as clap reads it, with the `temporal schedule` CLI's flag names.

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::args::ClientArgs;
use endure_core::duration_text as duration;

/// `endure schedule …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Create a schedule that starts a workflow at the times of its spec.
    Create(Box<ScheduleCreateArgs>),
    /// Replace a schedule's spec, action and policies (the flags of create).
    Update(Box<ScheduleCreateArgs>),
    /// List the namespace's schedules.
    List(ScheduleListArgs),
    /// Show a schedule: spec, action, policies, state, recent actions and next times.
    Describe(ScheduleIdArgs),
    /// Pause a schedule: no scheduled time is taken until it is unpaused.
    Pause(ScheduleNoteArgs),
    /// Unpause a schedule.
    Unpause(ScheduleNoteArgs),
    /// Take the schedule's action now (even while paused).
    Trigger(ScheduleTriggerArgs),
    /// Take the actions of a past (or future) range now.
    Backfill(ScheduleBackfillArgs),
    /// Delete a schedule (the workflows it started keep running).
    Delete(ScheduleIdArgs),
}

/// Which schedule.
#[derive(Debug, Args)]
pub(crate) struct ScheduleIdArgs {
    /// The schedule id.
    #[arg(long, short = 's')]
    pub(crate) schedule_id: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `schedule create` and `schedule update`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleCreateArgs {
    /// The schedule id.
    #[arg(long, short = 's')]
    pub(crate) schedule_id: String,
    /// A calendar spec as JSON, e.g. '{"dayOfWeek":"Fri","hour":"12","minute":"30"}'
    /// (fields second, minute, hour, dayOfMonth, month, year, dayOfWeek, comment;
    /// repeatable).
    #[arg(long)]
    pub(crate) calendar: Vec<String>,
    /// A cron string: 5 fields (minute hour day-of-month month day-of-week), 6 (+ year)
    /// or 7 (second first), or @daily, @hourly, @every 90m… (repeatable).
    #[arg(long)]
    pub(crate) cron: Vec<String>,
    /// An interval, optionally with a phase: 1h, 5m/30s (repeatable).
    #[arg(long)]
    pub(crate) interval: Vec<String>,
    /// No time before this (RFC 3339).
    #[arg(long)]
    pub(crate) start_time: Option<String>,
    /// No time after this (RFC 3339).
    #[arg(long)]
    pub(crate) end_time: Option<String>,
    /// Delay each time by a deterministic amount up to this.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) jitter: Option<Duration>,
    /// The IANA time zone calendars and cron strings are read in (default UTC).
    #[arg(long)]
    pub(crate) time_zone: Option<String>,
    /// A note on the schedule's state (why it is paused, say).
    #[arg(long)]
    pub(crate) notes: Option<String>,
    /// Create it paused.
    #[arg(long)]
    pub(crate) paused: bool,
    /// Take this many scheduled actions, then stop.
    #[arg(long)]
    pub(crate) remaining_actions: Option<u64>,
    /// How late a time may still be taken after the server was down (default 1 year).
    #[arg(long, value_parser = duration::parse)]
    pub(crate) catchup_window: Option<Duration>,
    /// When a start overlaps a running workflow: Skip (default), BufferOne, BufferAll,
    /// CancelOther, TerminateOther or AllowAll.
    #[arg(long, value_parser = overlap)]
    pub(crate) overlap_policy: Option<endure_core::schedule::ScheduleOverlapPolicy>,
    /// Pause when a workflow it started fails or times out.
    #[arg(long)]
    pub(crate) pause_on_failure: bool,
    /// The workflow id each start builds on (the scheduled time is appended).
    #[arg(long, short = 'w')]
    pub(crate) workflow_id: String,
    /// The workflow type.
    #[arg(long = "type")]
    pub(crate) workflow_type: String,
    /// The task queue its workers poll.
    #[arg(long, short = 't')]
    pub(crate) task_queue: String,
    /// An argument as JSON (repeat for several).
    #[arg(long, short = 'i')]
    pub(crate) input: Vec<String>,
    /// A file holding an argument as JSON (repeat for several; instead of --input).
    #[arg(long, conflicts_with = "input")]
    pub(crate) input_file: Vec<std::path::PathBuf>,
    /// Limit on each started workflow's whole chain of runs.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) execution_timeout: Option<Duration>,
    /// Limit on each started run.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) run_timeout: Option<Duration>,
    /// Limit on one workflow task.
    #[arg(long, value_parser = duration::parse)]
    pub(crate) task_timeout: Option<Duration>,
    /// A memo entry of each started workflow, KEY=JSON (repeatable).
    #[arg(long = "memo", value_name = "KEY=JSON")]
    pub(crate) memo: Vec<String>,
    /// A search attribute of each started workflow, KEY=JSON (repeatable).
    #[arg(long = "search-attribute", value_name = "KEY=JSON")]
    pub(crate) search_attributes: Vec<String>,
    /// A memo entry of the schedule itself, KEY=JSON (repeatable; create only).
    #[arg(long = "schedule-memo", value_name = "KEY=JSON")]
    pub(crate) schedule_memo: Vec<String>,
    /// A search attribute of the schedule itself, KEY=JSON (repeatable; create only).
    #[arg(long = "schedule-search-attribute", value_name = "KEY=JSON")]
    pub(crate) schedule_search_attributes: Vec<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `schedule list`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleListArgs {
    /// A list filter over the schedules' search attributes.
    #[arg(long, short = 'q', default_value = "")]
    pub(crate) query: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `schedule pause` and `schedule unpause`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleNoteArgs {
    /// The schedule id.
    #[arg(long, short = 's')]
    pub(crate) schedule_id: String,
    /// Why (shown by describe).
    #[arg(long, alias = "reason", default_value = "")]
    pub(crate) note: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `schedule trigger`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleTriggerArgs {
    /// The schedule id.
    #[arg(long, short = 's')]
    pub(crate) schedule_id: String,
    /// The overlap policy of this start (default: the schedule's).
    #[arg(long, value_parser = overlap)]
    pub(crate) overlap_policy: Option<endure_core::schedule::ScheduleOverlapPolicy>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `schedule backfill`.
#[derive(Debug, Args)]
pub(crate) struct ScheduleBackfillArgs {
    /// The schedule id.
    #[arg(long, short = 's')]
    pub(crate) schedule_id: String,
    /// The first time of the range (RFC 3339, inclusive).
    #[arg(long)]
    pub(crate) start_time: String,
    /// The last time of the range (RFC 3339, inclusive).
    #[arg(long)]
    pub(crate) end_time: String,
    /// The overlap policy of these starts (default: the schedule's).
    #[arg(long, value_parser = overlap)]
    pub(crate) overlap_policy: Option<endure_core::schedule::ScheduleOverlapPolicy>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

fn overlap(text: &str) -> Result<endure_core::schedule::ScheduleOverlapPolicy, String> {
    endure_core::schedule::ScheduleOverlapPolicy::from_name(text).ok_or_else(|| {
        format!(
            "{text:?} is no overlap policy; use Skip, BufferOne, BufferAll, CancelOther, TerminateOther or AllowAll"
        )
    })
}

impl ScheduleCommand {
    /// The server address the command talks to.
    pub(crate) fn address(&self) -> String {
        match self {
            Self::Create(a) | Self::Update(a) => a.client.address.clone(),
            Self::List(a) => a.client.address.clone(),
            Self::Describe(a) | Self::Delete(a) => a.client.address.clone(),
            Self::Pause(a) | Self::Unpause(a) => a.client.address.clone(),
            Self::Trigger(a) => a.client.address.clone(),
            Self::Backfill(a) => a.client.address.clone(),
        }
    }
}
