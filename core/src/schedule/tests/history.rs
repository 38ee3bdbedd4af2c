//! A schedule kept in a run's history: folded back from the last state marker and the
//! inputs signalled since, and written as the commands of a wake-up.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::history::*;
use super::super::*;
use crate::command::Command;
use crate::history::samples::{SAMPLE_RUN_ID, SAMPLE_START};
use crate::history::{
    EventAttributes, HistoryBuilder, MarkerRecordedEventAttributes, TimerStartedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
};
use crate::ids::{
    MarkerName, Namespace, SignalName, TaskQueueName, TimerId, WorkflowId, WorkflowType,
};
use crate::payload::{Header, Memo, Payloads};

fn state() -> SchedulerState {
    let schedule = super::scheduler::schedule(ScheduleOverlapPolicy::Skip);
    SchedulerState::new(
        Namespace::default(),
        WorkflowId::new("s1").unwrap(),
        schedule,
        SAMPLE_START,
    )
    .unwrap()
}

#[test]
fn the_state_is_the_last_markers_with_later_inputs_applied_and_the_open_timer_known() {
    let queue = TaskQueueName::new(SCHEDULER_TASK_QUEUE).unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new(SCHEDULER_WORKFLOW_TYPE).unwrap(),
        queue.clone(),
        encode(&state()),
        SAMPLE_RUN_ID,
    );
    let completed = builder.add_workflow_task(queue.clone());
    let mut recorded = state();
    recorded.info.action_count = 7;
    builder.add(EventAttributes::MarkerRecorded(
        MarkerRecordedEventAttributes {
            marker_name: MarkerName::new(STATE_MARKER).unwrap(),
            details: BTreeMap::from([("state".to_owned(), encode(&recorded))]),
            workflow_task_completed_event_id: completed,
            header: Header::default(),
            failure: None,
        },
    ));
    builder.add(EventAttributes::TimerStarted(TimerStartedEventAttributes {
        timer_id: TimerId::new("wakeup-1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(60),
        workflow_task_completed_event_id: completed,
    }));
    let pause = SchedulerInput::Patch(SchedulePatch {
        pause: Some("maintenance".into()),
        ..SchedulePatch::default()
    });
    for input in [
        encode(&pause),
        Payloads::one(crate::Payload::binary(vec![0xff; 3])),
    ] {
        builder.add(EventAttributes::WorkflowExecutionSignaled(
            WorkflowExecutionSignaledEventAttributes {
                signal_name: input_signal(),
                input,
                identity: "client".into(),
                header: Header::default(),
                request_id: None,
                external_workflow_execution: None,
            },
        ));
    }
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
    let mut history = builder.build().events;
    // The schedule's creator gave it a memo; the listing field sits beside it.
    let team = crate::Payload::encode(&"payments").unwrap();
    if let EventAttributes::WorkflowExecutionStarted(started) = &mut history[0].attributes {
        started.memo.0.insert("team".into(), team.clone());
        started
            .memo
            .0
            .insert(LIST_INFO_MEMO.into(), crate::Payload::binary(vec![1]));
    }
    let folded = fold(&history).unwrap();
    assert_eq!(
        folded.memo.0.keys().collect::<Vec<_>>(),
        ["team"],
        "the schedule's own memo, the listing field apart"
    );
    assert_eq!(folded.state.info.action_count, 7, "the marker's state");
    assert!(
        folded.state.schedule.state.paused,
        "the later pause applied"
    );
    assert_eq!(folded.recorded, encode(&recorded));
    assert!(
        folded.taking.is_empty(),
        "a marker with no starts recorded (as every marker written before they were)"
    );
    let timer = folded.timer.clone().unwrap();
    assert_eq!(timer.timer_id.as_str(), "wakeup-1");
    assert_eq!(folded.timers_started, 1);
    assert_eq!(folded.now, history.last().unwrap().event_time);

    // The wake-up's outcome: the new state recorded; paused, no wake-up — the timer goes.
    let list = encode(&folded.state.list_info());
    let written = commands(&folded, &folded.state, &[], &list, None, folded.now);
    let kinds: Vec<&str> = written
        .iter()
        .map(|command| match command {
            Command::RecordMarker(_) => "marker",
            Command::ModifyWorkflowProperties(_) => "memo",
            Command::CancelTimer(_) => "cancel timer",
            Command::StartTimer(_) => "start timer",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["marker", "memo", "cancel timer"]);

    // An unchanged state and timer write nothing.
    let mut same = folded.clone();
    same.recorded = encode(&folded.state);
    same.list_info = Some(list.clone());
    assert!(commands_for_same(&same, &list).is_empty());

    // A long history continues as new, carrying the state, the schedule's own memo and
    // the listing field as it is now.
    same.events = EVENTS_BEFORE_CONTINUE_AS_NEW;
    let continued = commands(
        &same,
        &same.state,
        &[],
        &list,
        Some(timer.fires_at),
        same.now,
    );
    let [Command::ContinueAsNewWorkflowExecution(attributes)] = continued.as_slice() else {
        panic!("{continued:?}");
    };
    assert_eq!(
        decode::<SchedulerState>(&attributes.input).unwrap(),
        same.state
    );
    let memo = attributes.memo.as_ref().expect("the memo is carried");
    assert_eq!(memo.get("team"), Some(&team));
    assert_eq!(memo.get(LIST_INFO_MEMO), list.0.first());
}

fn commands_for_same(folded: &Folded, list: &Payloads) -> Vec<Command> {
    let wakeup = folded.timer.as_ref().map(|timer| timer.fires_at);
    commands(folded, &folded.state, &[], list, wakeup, folded.now)
}

#[test]
fn a_history_not_begun_by_a_start_is_refused() {
    assert!(fold(&[]).is_err());
    let mut history = crate::history::samples::quickstart_history().events;
    history.remove(0);
    assert!(fold(&history).is_err());
}

#[test]
fn the_listing_memo_carries_the_spec_and_an_earlier_memo_without_it_still_reads() {
    let state = state();
    let info = state.list_info();
    assert_eq!(info.spec.as_ref(), Some(&state.schedule.spec));
    let bytes = postcard::to_allocvec(&info).unwrap();
    assert_eq!(
        ScheduleListInfo::from_memo_bytes(&bytes),
        Some(info.clone())
    );

    // The layout written before the spec was kept: the same fields, in order, without it.
    let earlier = postcard::to_allocvec(&(
        &info.workflow_type,
        info.paused,
        &info.notes,
        &info.recent_actions,
        &info.future_action_times,
    ))
    .unwrap();
    let read = ScheduleListInfo::from_memo_bytes(&earlier).unwrap();
    assert_eq!(read.spec, None);
    assert_eq!(read.workflow_type, info.workflow_type);
    assert_eq!(read.future_action_times, info.future_action_times);

    // Bytes that are neither are no listing.
    assert_eq!(ScheduleListInfo::from_memo_bytes(&[0xff, 0xff, 0xff]), None);
}

#[test]
fn signals_buffered_behind_a_running_wake_up_are_applied_after_the_history() {
    let queue = TaskQueueName::new(SCHEDULER_TASK_QUEUE).unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new(SCHEDULER_WORKFLOW_TYPE).unwrap(),
        queue.clone(),
        encode(&state()),
        SAMPLE_RUN_ID,
    );
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
    let history = builder.build().events;
    let folded = fold(&history).unwrap();
    assert!(!folded.state.schedule.state.paused);
    let token = folded.state.conflict_token;

    let signal = |input: &SchedulerInput| WorkflowExecutionSignaledEventAttributes {
        signal_name: input_signal(),
        input: encode(input),
        identity: "client".into(),
        header: Header::default(),
        request_id: None,
        external_workflow_execution: None,
    };
    let pause = signal(&SchedulerInput::Patch(SchedulePatch {
        pause: Some("maintenance".into()),
        ..SchedulePatch::default()
    }));
    let mut limited = folded.state.schedule.clone();
    limited.state.limited_actions = true;
    limited.state.remaining_actions = 3;
    let stale = signal(&SchedulerInput::Update {
        schedule: Box::new(limited.clone()),
        conflict_token: Some(token.wrapping_add(99)),
    });
    let update = signal(&SchedulerInput::Update {
        schedule: Box::new(limited),
        conflict_token: Some(token),
    });
    let refresh = WorkflowExecutionSignaledEventAttributes {
        signal_name: SignalName::new(REFRESH_SIGNAL).unwrap(),
        ..pause.clone()
    };
    let later = SAMPLE_START.saturating_add(Duration::from_secs(5));
    let mut seen = folded.clone();
    seen.apply_buffered([
        (later, &stale),
        (later, &update),
        (later, &refresh),
        (later, &pause),
    ]);
    assert_eq!(seen.state.schedule.state.remaining_actions, 3, "the update");
    assert!(seen.state.schedule.state.paused, "the pause after it");
    assert_eq!(seen.stale_updates, 1, "the update naming a stale token");
    assert_ne!(
        seen.state.conflict_token, token,
        "an update moves the token"
    );
    assert_eq!(
        seen.events, folded.events,
        "nothing was added to the history"
    );
    assert_eq!(seen.recorded, folded.recorded);
}

/// A scheduler run's history begun with `state`, then one workflow task started.
fn begun_with(state: &SchedulerState) -> HistoryBuilder {
    let queue = TaskQueueName::new(SCHEDULER_TASK_QUEUE).unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new(SCHEDULER_WORKFLOW_TYPE).unwrap(),
        queue.clone(),
        encode(state),
        SAMPLE_RUN_ID,
    );
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
    builder
}

/// Completes the started task with `commands`' marker (the only command the tests give
/// a history), then starts the next task.
fn complete_with_marker(builder: &mut HistoryBuilder, commands: &[Command]) {
    let queue = TaskQueueName::new(SCHEDULER_TASK_QUEUE).unwrap();
    // The last two events are the task's scheduled and started.
    let started = builder.clone().build().events.len() as u64;
    let completed = builder.add_workflow_task_completed(
        crate::EventId::new(started - 1).unwrap(),
        crate::EventId::new(started).unwrap(),
    );
    for command in commands {
        if let Command::RecordMarker(marker) = command {
            builder.add(EventAttributes::MarkerRecorded(
                MarkerRecordedEventAttributes {
                    marker_name: marker.marker_name.clone(),
                    details: marker.details.clone(),
                    workflow_task_completed_event_id: completed,
                    header: Header::default(),
                    failure: None,
                },
            ));
        }
    }
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
}

/// A schedule created with a trigger: one manual start buffered in its run's input.
fn triggered() -> SchedulerState {
    let mut created = state();
    created.apply(
        SchedulerInput::Patch(SchedulePatch {
            trigger: Some(ScheduleOverlapPolicy::Unspecified),
            ..SchedulePatch::default()
        }),
        SAMPLE_START,
    );
    created
}

#[test]
fn the_starts_a_wake_up_decides_are_recorded_and_taken_by_the_next_one() {
    let created = triggered();
    let mut builder = begun_with(&created);
    let first = fold(&builder.clone().build().events).unwrap();
    assert!(first.taking.is_empty(), "the start's input decides nothing");
    assert_eq!(
        first
            .describe(Memo::default(), Default::default())
            .buffered_starts,
        1
    );

    // The first wake-up decides the start: recorded beside the state, not taken.
    let mut decided = first.state.clone();
    let taking = decided.plan(first.now).starts;
    assert_eq!(taking.len(), 1);
    let list = encode(&decided.list_info());
    let written = commands(&first, &decided, &taking, &list, None, first.now);
    let Some(Command::RecordMarker(marker)) = written.first() else {
        panic!("{written:?}");
    };
    assert_eq!(
        marker.details.keys().collect::<Vec<_>>(),
        ["state", TAKING_DETAIL]
    );
    assert_eq!(
        decode::<Vec<PlannedStart>>(&marker.details[TAKING_DETAIL]).unwrap(),
        taking
    );

    // The next wake-up reads them back; describe counts them as waiting.
    complete_with_marker(&mut builder, &written);
    let second = fold(&builder.clone().build().events).unwrap();
    assert_eq!(second.taking, taking);
    assert_eq!(second.state, decided);
    assert_eq!(second.state.info.action_count, 0, "not taken yet");
    let description = second.describe(Memo::default(), Default::default());
    assert_eq!(description.buffered_starts, 1);

    // It takes them, decides nothing more: the marker holds the state alone.
    let mut taken = second.state.clone();
    taken.record_start(
        &second.taking[0],
        StartOutcome::Started {
            run_id: crate::RunId::from_u128(9),
            at: second.now,
        },
    );
    assert!(taken.plan(second.now).starts.is_empty());
    let written = commands(&second, &taken, &[], &list, None, second.now);
    let Some(Command::RecordMarker(marker)) = written.first() else {
        panic!("{written:?}");
    };
    assert_eq!(marker.details.keys().collect::<Vec<_>>(), ["state"]);
    complete_with_marker(&mut builder, &written);
    let third = fold(&builder.build().events).unwrap();
    assert!(third.taking.is_empty());
    assert_eq!(third.state.info.action_count, 1);
    assert_eq!(
        third
            .describe(Memo::default(), Default::default())
            .buffered_starts,
        0
    );

    // Only the list of starts changing still writes a marker.
    let mut same = second.clone();
    same.list_info = Some(list.clone());
    let written = commands(&same, &same.state, &[], &list, None, same.now);
    assert!(
        matches!(written.first(), Some(Command::RecordMarker(_))),
        "{written:?}"
    );
}

#[test]
fn a_long_history_with_starts_to_take_continues_as_new_only_once_they_are_taken() {
    let created = triggered();
    let mut folded = fold(&begun_with(&created).build().events).unwrap();
    folded.events = EVENTS_BEFORE_CONTINUE_AS_NEW;
    assert!(folded.continues_as_new());
    let mut decided = folded.state.clone();
    let taking = decided.plan(folded.now).starts;
    let list = encode(&decided.list_info());
    let written = commands(&folded, &decided, &taking, &list, None, folded.now);
    assert!(
        matches!(written.first(), Some(Command::RecordMarker(_))),
        "starts to take keep the run: {written:?}"
    );
    let written = commands(&folded, &decided, &[], &list, None, folded.now);
    assert!(
        matches!(
            written.as_slice(),
            [Command::ContinueAsNewWorkflowExecution(_)]
        ),
        "{written:?}"
    );
}
