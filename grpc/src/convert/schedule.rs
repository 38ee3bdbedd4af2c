//! Schedules as Temporal's `temporal.api.schedule.v1` messages, both ways: specs
//! (structured calendars, intervals, cron strings, exclusions, bounds, jitter, time zone),
//! the start-workflow action, policies, state, and the info describe and list show.
//! Temporal's legacy string calendars (`calendar`, `exclude_calendar`) are refused by name:
//! its SDKs send structured ones.

use endure_core::schedule::{
    Backfill, CATCHUP_WINDOW_DEFAULT, CalendarSpec, IntervalSpec, Schedule, ScheduleAction,
    ScheduleActionResult, ScheduleInfo, ScheduleOverlapPolicy, SchedulePatch, SchedulePolicies,
    ScheduleRange, ScheduleRunState, ScheduleSpec, ScheduleWorkflowAction,
};
use endure_core::{StartWorkflowOptions, Timestamp, WorkflowExecutionStatus};
use tonic::Status;

use super::BadField;
use super::common::{
    cron, cron_in, duration, duration_in, header, header_in, id_in, memo, memo_in, payloads,
    payloads_in, retry_policy, retry_policy_in, run_id, search_attributes, search_attributes_in,
    time, time_in_opt,
};
use super::enums::{enum_in, enum_out};
use super::history::normal_queue;
use crate::proto::{common as pbc, enums as pbe, schedule as pb, workflow as pbw};

fn ranges(ranges: Vec<ScheduleRange>) -> Vec<pb::Range> {
    ranges
        .into_iter()
        .map(|range| pb::Range {
            start: i32::try_from(range.start).unwrap_or(i32::MAX),
            end: i32::try_from(range.end).unwrap_or(i32::MAX),
            step: i32::try_from(range.step).unwrap_or(i32::MAX),
        })
        .collect()
}

fn ranges_in(field: &'static str, ranges: Vec<pb::Range>) -> Result<Vec<ScheduleRange>, BadField> {
    let number = |value: i32| {
        u32::try_from(value).map_err(|_| BadField::new(field, "a calendar range is never negative"))
    };
    ranges
        .into_iter()
        .map(|range| {
            Ok(ScheduleRange {
                start: number(range.start)?,
                end: number(range.end)?,
                step: number(range.step)?,
            })
        })
        .collect()
}

fn calendar(spec: CalendarSpec) -> pb::StructuredCalendarSpec {
    pb::StructuredCalendarSpec {
        second: ranges(spec.second),
        minute: ranges(spec.minute),
        hour: ranges(spec.hour),
        day_of_month: ranges(spec.day_of_month),
        month: ranges(spec.month),
        year: ranges(spec.year),
        day_of_week: ranges(spec.day_of_week),
        comment: spec.comment,
    }
}

fn calendar_in(spec: pb::StructuredCalendarSpec) -> Result<CalendarSpec, BadField> {
    Ok(CalendarSpec {
        second: ranges_in("structured_calendar.second", spec.second)?,
        minute: ranges_in("structured_calendar.minute", spec.minute)?,
        hour: ranges_in("structured_calendar.hour", spec.hour)?,
        day_of_month: ranges_in("structured_calendar.day_of_month", spec.day_of_month)?,
        month: ranges_in("structured_calendar.month", spec.month)?,
        year: ranges_in("structured_calendar.year", spec.year)?,
        day_of_week: ranges_in("structured_calendar.day_of_week", spec.day_of_week)?,
        comment: spec.comment,
    })
}

/// A schedule spec as Temporal's server shows it: cron strings folded into the calendars
/// and intervals they name (a spec the engine accepted always folds; one that would not is
/// shown as it is).
pub(crate) fn spec(spec: ScheduleSpec) -> pb::ScheduleSpec {
    let spec = spec.canonical().unwrap_or(spec);
    pb::ScheduleSpec {
        structured_calendar: spec.calendars.into_iter().map(calendar).collect(),
        cron_string: spec.cron_expressions,
        interval: spec
            .intervals
            .into_iter()
            .map(|interval| pb::IntervalSpec {
                interval: Some(duration(interval.every)),
                phase: Some(duration(interval.offset)),
            })
            .collect(),
        exclude_structured_calendar: spec.skip.into_iter().map(calendar).collect(),
        start_time: spec.start_at.map(time),
        end_time: spec.end_at.map(time),
        jitter: Some(duration(spec.jitter)),
        timezone_name: spec.time_zone_name,
        ..Default::default()
    }
}

/// Temporal's spec as Endure's.
pub(crate) fn spec_in(spec: pb::ScheduleSpec) -> Result<ScheduleSpec, BadField> {
    #[allow(
        deprecated,
        reason = "the legacy string calendars are refused, not read"
    )]
    if !spec.calendar.is_empty() || !spec.exclude_calendar.is_empty() {
        return Err(BadField::new(
            "spec.calendar",
            "string calendars are not supported; send structured_calendar (Temporal's SDKs do)",
        ));
    }
    if !spec.timezone_data.is_empty() {
        return Err(BadField::new(
            "spec.timezone_data",
            "Endure takes time zones by IANA name (timezone_name) from its bundled database",
        ));
    }
    Ok(ScheduleSpec {
        calendars: spec
            .structured_calendar
            .into_iter()
            .map(calendar_in)
            .collect::<Result<_, _>>()?,
        intervals: spec
            .interval
            .into_iter()
            .map(|interval| {
                Ok(IntervalSpec {
                    every: duration_in("spec.interval.interval", interval.interval)?.ok_or_else(
                        || BadField::new("spec.interval.interval", "must be positive"),
                    )?,
                    offset: duration_in("spec.interval.phase", interval.phase)?.unwrap_or_default(),
                })
            })
            .collect::<Result<_, BadField>>()?,
        cron_expressions: spec.cron_string,
        skip: spec
            .exclude_structured_calendar
            .into_iter()
            .map(calendar_in)
            .collect::<Result<_, _>>()?,
        start_at: time_in_opt("spec.start_time", spec.start_time)?,
        end_at: time_in_opt("spec.end_time", spec.end_time)?,
        jitter: duration_in("spec.jitter", spec.jitter)?.unwrap_or_default(),
        time_zone_name: spec.timezone_name,
    })
}

fn overlap(policy: ScheduleOverlapPolicy) -> i32 {
    if policy == ScheduleOverlapPolicy::Unspecified {
        0
    } else {
        enum_out!(
            policy,
            pbe::ScheduleOverlapPolicy,
            "SCHEDULE_OVERLAP_POLICY_"
        )
    }
}

fn overlap_in(field: &'static str, number: i32) -> Result<ScheduleOverlapPolicy, BadField> {
    Ok(enum_in!(
        field,
        pbe::ScheduleOverlapPolicy,
        "SCHEDULE_OVERLAP_POLICY_",
        number
    )?
    .unwrap_or(ScheduleOverlapPolicy::Unspecified))
}

fn action(action: ScheduleAction) -> pb::ScheduleAction {
    let ScheduleAction::StartWorkflow(start) = action;
    let ScheduleWorkflowAction {
        workflow_type,
        input,
        header: headers,
        options,
    } = *start;
    pb::ScheduleAction {
        action: Some(pb::schedule_action::Action::StartWorkflow(
            pbw::NewWorkflowExecutionInfo {
                workflow_id: options.id.into(),
                workflow_type: Some(pbc::WorkflowType {
                    name: workflow_type.into(),
                }),
                task_queue: Some(normal_queue(options.task_queue)),
                input: payloads(input),
                workflow_execution_timeout: options.execution_timeout.map(duration),
                workflow_run_timeout: options.run_timeout.map(duration),
                workflow_task_timeout: options.task_timeout.map(duration),
                retry_policy: options.retry_policy.map(retry_policy),
                cron_schedule: cron(options.cron_schedule),
                memo: memo(options.memo),
                search_attributes: search_attributes(&options.search_attributes),
                header: header(headers),
                ..Default::default()
            },
        )),
    }
}

fn action_in(action: Option<pb::ScheduleAction>) -> Result<ScheduleAction, BadField> {
    let Some(pb::schedule_action::Action::StartWorkflow(start)) = action.and_then(|a| a.action)
    else {
        return Err(BadField::new(
            "schedule.action",
            "a schedule's action must start a workflow",
        ));
    };
    let queue = start.task_queue.map(|queue| queue.name).unwrap_or_default();
    let mut options = StartWorkflowOptions::new(
        id_in("action.workflow_id", start.workflow_id)?,
        id_in("action.task_queue", queue)?,
    );
    options.execution_timeout = duration_in(
        "action.workflow_execution_timeout",
        start.workflow_execution_timeout,
    )?;
    options.run_timeout = duration_in("action.workflow_run_timeout", start.workflow_run_timeout)?;
    options.task_timeout =
        duration_in("action.workflow_task_timeout", start.workflow_task_timeout)?;
    options.retry_policy = retry_policy_in(start.retry_policy)?;
    options.cron_schedule = cron_in(start.cron_schedule)?;
    options.memo = memo_in(start.memo);
    options.search_attributes = search_attributes_in(start.search_attributes)?;
    Ok(ScheduleAction::StartWorkflow(Box::new(
        ScheduleWorkflowAction {
            workflow_type: id_in(
                "action.workflow_type",
                start.workflow_type.map(|t| t.name).unwrap_or_default(),
            )?,
            input: payloads_in(start.input),
            header: header_in(start.header),
            options,
        },
    )))
}

/// A schedule as Temporal's.
pub(crate) fn schedule(schedule: Schedule) -> pb::Schedule {
    pb::Schedule {
        spec: Some(spec(schedule.spec)),
        action: Some(action(schedule.action)),
        policies: Some(pb::SchedulePolicies {
            overlap_policy: overlap(schedule.policies.overlap),
            catchup_window: Some(duration(schedule.policies.catchup_window)),
            pause_on_failure: schedule.policies.pause_on_failure,
            keep_original_workflow_id: false,
        }),
        state: Some(pb::ScheduleState {
            notes: schedule.state.notes,
            paused: schedule.state.paused,
            limited_actions: schedule.state.limited_actions,
            remaining_actions: i64::try_from(schedule.state.remaining_actions).unwrap_or(i64::MAX),
        }),
    }
}

/// Temporal's schedule as Endure's; unset policies take Temporal's defaults (Skip, a
/// one-year catch-up window).
pub(crate) fn schedule_in(schedule: Option<pb::Schedule>) -> Result<Schedule, Status> {
    let schedule =
        schedule.ok_or_else(|| Status::invalid_argument("schedule: the schedule is required"))?;
    let policies = schedule.policies.unwrap_or_default();
    if policies.keep_original_workflow_id {
        return Err(BadField::new(
            "policies.keep_original_workflow_id",
            "Endure always names a schedule's runs <id>-<scheduled time>",
        )
        .into());
    }
    let state = schedule.state.unwrap_or_default();
    let overlap = overlap_in("policies.overlap_policy", policies.overlap_policy)?;
    Ok(Schedule {
        spec: spec_in(schedule.spec.unwrap_or_default())?,
        action: action_in(schedule.action)?,
        policies: SchedulePolicies {
            overlap: if overlap == ScheduleOverlapPolicy::Unspecified {
                ScheduleOverlapPolicy::Skip
            } else {
                overlap
            },
            catchup_window: duration_in("policies.catchup_window", policies.catchup_window)?
                .unwrap_or(CATCHUP_WINDOW_DEFAULT),
            pause_on_failure: policies.pause_on_failure,
        },
        state: ScheduleRunState {
            notes: state.notes,
            paused: state.paused,
            limited_actions: state.limited_actions,
            remaining_actions: u64::try_from(state.remaining_actions).map_err(|_| {
                Status::invalid_argument("state.remaining_actions: must not be negative")
            })?,
        },
    })
}

/// What a patch asks (trigger, backfills, pause, unpause).
pub(crate) fn patch_in(patch: Option<pb::SchedulePatch>) -> Result<SchedulePatch, BadField> {
    let patch = patch.unwrap_or_default();
    Ok(SchedulePatch {
        trigger: patch
            .trigger_immediately
            .map(|trigger| {
                overlap_in(
                    "patch.trigger_immediately.overlap_policy",
                    trigger.overlap_policy,
                )
            })
            .transpose()?,
        backfills: patch
            .backfill_request
            .into_iter()
            .map(|backfill| {
                let bound = |field, value| {
                    time_in_opt(field, value)?
                        .ok_or_else(|| BadField::new(field, "a backfill needs its start and end"))
                };
                Ok(Backfill {
                    start: bound("patch.backfill_request.start_time", backfill.start_time)?,
                    end: bound("patch.backfill_request.end_time", backfill.end_time)?,
                    overlap: overlap_in(
                        "patch.backfill_request.overlap_policy",
                        backfill.overlap_policy,
                    )?,
                })
            })
            .collect::<Result<_, BadField>>()?,
        pause: (!patch.pause.is_empty()).then_some(patch.pause),
        unpause: (!patch.unpause.is_empty()).then_some(patch.unpause),
    })
}

/// One action a schedule took.
pub(crate) fn action_result(result: ScheduleActionResult) -> pb::ScheduleActionResult {
    pb::ScheduleActionResult {
        schedule_time: Some(time(result.schedule_time)),
        actual_time: Some(time(result.actual_time)),
        start_workflow_result: Some(pbc::WorkflowExecution {
            workflow_id: result.workflow_id.into(),
            run_id: run_id(result.run_id),
        }),
        start_workflow_status: status(result.status),
    }
}

fn status(status: WorkflowExecutionStatus) -> i32 {
    enum_out!(
        status,
        pbe::WorkflowExecutionStatus,
        "WORKFLOW_EXECUTION_STATUS_"
    )
}

/// A schedule's info as Temporal's, with its next action times.
pub(crate) fn info(
    info: ScheduleInfo,
    future: Vec<Timestamp>,
    buffered: usize,
) -> pb::ScheduleInfo {
    pb::ScheduleInfo {
        action_count: i64::try_from(info.action_count).unwrap_or(i64::MAX),
        missed_catchup_window: i64::try_from(info.missed_catchup_window).unwrap_or(i64::MAX),
        overlap_skipped: i64::try_from(info.overlap_skipped).unwrap_or(i64::MAX),
        buffer_dropped: i64::try_from(info.buffer_dropped).unwrap_or(i64::MAX),
        buffer_size: i64::try_from(buffered).unwrap_or(i64::MAX),
        running_workflows: info
            .running
            .into_iter()
            .map(|running| pbc::WorkflowExecution {
                workflow_id: running.workflow_id.into(),
                run_id: run_id(running.run_id),
            })
            .collect(),
        recent_actions: info.recent_actions.into_iter().map(action_result).collect(),
        future_action_times: future.into_iter().map(time).collect(),
        create_time: info.created_at.map(time),
        update_time: info.updated_at.map(time),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_schedule_survives_the_round_trip() {
        let mut options = StartWorkflowOptions::new(
            endure_core::WorkflowId::new("report").unwrap(),
            endure_core::TaskQueueName::new("q").unwrap(),
        );
        options.run_timeout = Some(Duration::from_secs(60));
        let original = Schedule {
            spec: ScheduleSpec {
                calendars: vec![CalendarSpec {
                    hour: vec![ScheduleRange::stepped(0, 23, 6)],
                    comment: "every six hours".into(),
                    ..CalendarSpec::default()
                }],
                intervals: vec![IntervalSpec {
                    every: Duration::from_secs(90),
                    offset: Duration::from_secs(15),
                }],
                cron_expressions: vec!["0 12 * * MON".into()],
                skip: vec![CalendarSpec {
                    month: vec![ScheduleRange::value(12)],
                    ..CalendarSpec::default()
                }],
                start_at: Some(Timestamp::from_unix_seconds(1_800_000_000)),
                end_at: None,
                jitter: Duration::from_secs(5),
                time_zone_name: "Europe/Paris".into(),
            },
            action: ScheduleAction::StartWorkflow(Box::new(ScheduleWorkflowAction {
                workflow_type: endure_core::WorkflowType::new("Report").unwrap(),
                input: endure_core::Payloads::encode_arguments(&("daily",)).unwrap(),
                header: endure_core::Header::default(),
                options,
            })),
            policies: SchedulePolicies {
                overlap: ScheduleOverlapPolicy::BufferOne,
                catchup_window: Duration::from_secs(600),
                pause_on_failure: true,
            },
            state: ScheduleRunState {
                notes: "made in a test".into(),
                paused: true,
                limited_actions: true,
                remaining_actions: 3,
            },
        };
        // The cron string comes back as the calendar it names, as Temporal's server shows
        // it; the rest as it was.
        let back = schedule_in(Some(schedule(original.clone()))).unwrap();
        let mut expected = original.clone();
        expected.spec = original.spec.canonical().unwrap();
        assert!(expected.spec.cron_expressions.is_empty());
        assert_eq!(expected.spec.calendars.len(), 2);
        assert_eq!(back, expected);
    }

    #[test]
    fn string_calendars_and_kept_ids_are_refused_by_name() {
        let mut sent = schedule(Schedule {
            spec: ScheduleSpec::default(),
            action: action_in(Some(pb::ScheduleAction {
                action: Some(pb::schedule_action::Action::StartWorkflow(
                    pbw::NewWorkflowExecutionInfo {
                        workflow_id: "w".into(),
                        workflow_type: Some(pbc::WorkflowType { name: "T".into() }),
                        task_queue: Some(normal_queue(
                            endure_core::TaskQueueName::new("q").unwrap(),
                        )),
                        ..Default::default()
                    },
                )),
            }))
            .unwrap(),
            policies: SchedulePolicies::default(),
            state: ScheduleRunState::default(),
        });
        #[allow(deprecated, reason = "the legacy field is what is tested")]
        sent.spec
            .as_mut()
            .unwrap()
            .calendar
            .push(pb::CalendarSpec::default());
        let refused = schedule_in(Some(sent.clone())).unwrap_err();
        assert!(refused.message().contains("spec.calendar"), "{refused}");
        #[allow(deprecated, reason = "the legacy field is what is tested")]
        sent.spec.as_mut().unwrap().calendar.clear();
        sent.policies.as_mut().unwrap().keep_original_workflow_id = true;
        let refused = schedule_in(Some(sent)).unwrap_err();
        assert!(
            refused.message().contains("keep_original_workflow_id"),
            "{refused}"
        );
    }
}
