//! Invariant checkers run on the final histories of a simulation (DESIGN §7). Each returns
//! a [`Violation`] naming the run, the event and what is wrong; each has a unit test
//! feeding it a hand-made violating history.

use std::collections::{BTreeMap, BTreeSet};

use endure::Replayer;
use endure_core::history::{EventAttributes, EventType, HistoryEvent, check_well_formed};
use endure_core::{EventId, Payload};

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{run}: {what}")]
pub struct Violation {
    /// The run (its workflow id, or a description).
    pub run: String,
    /// What is wrong.
    pub what: String,
}

fn violation(run: &str, what: impl Into<String>) -> Violation {
    Violation {
        run: run.to_owned(),
        what: what.into(),
    }
}

/// Shape: dense ids, valid back-references, one start, nothing after the closing event;
/// each activity, timer, and signal or cancel request to another workflow resolved at most
/// once. (Whether an open run should have closed is
/// the liveness phase's question: [`check_closed`].)
pub fn check_run(run: &str, history: &[HistoryEvent]) -> Result<(), Violation> {
    check_well_formed(history).map_err(|error| violation(run, error.to_string()))?;
    let mut open_activities = BTreeSet::new();
    let mut open_timers = BTreeSet::new();
    let mut open_external = BTreeSet::new();
    let resolve = |open: &mut BTreeSet<EventId>, scheduled: EventId, event: &HistoryEvent| {
        if open.remove(&scheduled) {
            Ok(())
        } else {
            Err(violation(
                run,
                format!(
                    "event {} ({:?}) resolves {} which is not open (resolved twice?)",
                    event.event_id,
                    event.event_type(),
                    scheduled
                ),
            ))
        }
    };
    for event in history {
        match &event.attributes {
            EventAttributes::ActivityTaskScheduled(_) => {
                open_activities.insert(event.event_id);
            }
            EventAttributes::ActivityTaskCompleted(a) => {
                resolve(&mut open_activities, a.scheduled_event_id, event)?;
            }
            EventAttributes::ActivityTaskFailed(a) => {
                resolve(&mut open_activities, a.scheduled_event_id, event)?;
            }
            EventAttributes::ActivityTaskTimedOut(a) => {
                resolve(&mut open_activities, a.scheduled_event_id, event)?;
            }
            EventAttributes::ActivityTaskCanceled(a) => {
                resolve(&mut open_activities, a.scheduled_event_id, event)?;
            }
            EventAttributes::TimerStarted(_) => {
                open_timers.insert(event.event_id);
            }
            EventAttributes::TimerFired(t) => {
                resolve(&mut open_timers, t.started_event_id, event)?;
            }
            EventAttributes::TimerCanceled(t) => {
                resolve(&mut open_timers, t.started_event_id, event)?;
            }
            EventAttributes::SignalExternalWorkflowExecutionInitiated(_)
            | EventAttributes::RequestCancelExternalWorkflowExecutionInitiated(_) => {
                open_external.insert(event.event_id);
            }
            EventAttributes::ExternalWorkflowExecutionSignaled(a) => {
                resolve(&mut open_external, a.initiated_event_id, event)?;
            }
            EventAttributes::SignalExternalWorkflowExecutionFailed(a) => {
                resolve(&mut open_external, a.initiated_event_id, event)?;
            }
            EventAttributes::ExternalWorkflowExecutionCancelRequested(a) => {
                resolve(&mut open_external, a.initiated_event_id, event)?;
            }
            EventAttributes::RequestCancelExternalWorkflowExecutionFailed(a) => {
                resolve(&mut open_external, a.initiated_event_id, event)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The run closed (for the liveness phase: after faults stop, every run that can finish
/// does).
pub fn check_closed(run: &str, history: &[HistoryEvent]) -> Result<(), Violation> {
    match history.last() {
        Some(event) if event.event_type().is_closing() => Ok(()),
        Some(event) => Err(violation(
            run,
            format!(
                "still open after the liveness phase; last event {} {:?}",
                event.event_id,
                event.event_type()
            ),
        )),
        None => Err(violation(run, "no history")),
    }
}

/// No timer fired before its due time, on the engine's clock.
pub fn check_timers_not_early(run: &str, history: &[HistoryEvent]) -> Result<(), Violation> {
    let started: BTreeMap<EventId, &HistoryEvent> = history
        .iter()
        .filter(|event| event.event_type() == EventType::TimerStarted)
        .map(|event| (event.event_id, event))
        .collect();
    for event in history {
        let EventAttributes::TimerFired(fired) = &event.attributes else {
            continue;
        };
        let Some(start) = started.get(&fired.started_event_id) else {
            return Err(violation(
                run,
                format!("TimerFired {} without its start", event.event_id),
            ));
        };
        let EventAttributes::TimerStarted(timer) = &start.attributes else {
            continue;
        };
        let due = start.event_time.saturating_add(timer.start_to_fire_timeout);
        if event.event_time < due {
            return Err(violation(
                run,
                format!(
                    "timer {} fired at {:?}, before its due time {:?}",
                    timer.timer_id, event.event_time, due
                ),
            ));
        }
    }
    Ok(())
}

/// Every acknowledged signal (identified by its single JSON string argument) is in history
/// exactly once; no signal is there twice.
pub fn check_signals_exactly_once(
    run: &str,
    history: &[HistoryEvent],
    acknowledged: &[String],
) -> Result<(), Violation> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for event in history {
        if let EventAttributes::WorkflowExecutionSignaled(signal) = &event.attributes {
            let value = signal
                .input
                .0
                .first()
                .and_then(|payload: &Payload| payload.decode::<String>().ok())
                .unwrap_or_default();
            *seen.entry(value).or_default() += 1;
        }
    }
    if let Some((value, count)) = seen.iter().find(|(_, count)| **count > 1) {
        return Err(violation(
            run,
            format!("signal {value:?} recorded {count} times"),
        ));
    }
    for value in acknowledged {
        if !seen.contains_key(value) {
            return Err(violation(
                run,
                format!("acknowledged signal {value:?} is not in history"),
            ));
        }
    }
    Ok(())
}

/// No update is accepted or completed twice in one run, and — for runs that wait for
/// their handlers before closing — every accepted update completed. Returns the ids
/// accepted.
pub fn check_updates_once(
    run: &str,
    history: &[HistoryEvent],
) -> Result<std::collections::BTreeSet<String>, Violation> {
    let mut accepted = std::collections::BTreeSet::new();
    let mut completed = std::collections::BTreeSet::new();
    for event in history {
        let twice = match &event.attributes {
            EventAttributes::WorkflowExecutionUpdateAccepted(a) => (!accepted
                .insert(a.protocol_instance_id.clone()))
            .then(|| format!("update {} accepted twice", a.protocol_instance_id)),
            EventAttributes::WorkflowExecutionUpdateCompleted(a) => (!completed
                .insert(a.update_id.as_str().to_owned()))
            .then(|| format!("update {} completed twice", a.update_id)),
            _ => None,
        };
        if let Some(what) = twice {
            return Err(violation(run, what));
        }
    }
    if accepted != completed {
        return Err(violation(
            run,
            format!("accepted {accepted:?} but completed {completed:?}"),
        ));
    }
    Ok(accepted)
}

/// Replaying the final history with the same code gives the same commands.
pub fn check_replays(
    run: &str,
    history: &[HistoryEvent],
    replayer: &Replayer,
) -> Result<(), Violation> {
    replayer
        .replay_history(history)
        .map_err(|error| violation(run, format!("replay diverged: {error}")))
}

/// The first activity's recorded attempt (its ActivityTaskStarted, written when the attempt
/// ended) when it is a retry after a timeout of `timeout_type` — what a scenario that made
/// an attempt time out (a killed worker, a partition) expects; else what was recorded.
pub fn retried_after_timeout(
    history: &[HistoryEvent],
    timeout_type: endure_core::TimeoutType,
) -> Result<&endure_core::history::ActivityTaskStartedEventAttributes, String> {
    let started = history
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some(started),
            _ => None,
        })
        .ok_or("no ActivityTaskStarted")?;
    let timed_out = started.last_failure.as_ref().is_some_and(|failure| {
        matches!(
            &failure.info,
            endure_core::FailureInfo::Timeout { timeout_type: recorded, .. } if *recorded == timeout_type
        )
    });
    if started.attempt >= 2 && timed_out {
        Ok(started)
    } else {
        Err(format!("{started:?}"))
    }
}

/// Every per-run check on every run, after the liveness phase: shape, closed, timers,
/// replay with `replayer`.
pub fn check_all(
    histories: &BTreeMap<String, Vec<HistoryEvent>>,
    replayer: &Replayer,
) -> Result<(), Violation> {
    for (run, history) in histories {
        check_run(run, history)?;
        check_closed(run, history)?;
        check_timers_not_early(run, history)?;
        check_replays(run, history, replayer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use endure_core::history::HistoryBuilder;
    use endure_core::history::samples::quickstart_history;
    use endure_core::*;

    use super::*;

    #[test]
    fn a_first_attempt_is_not_a_retry_after_a_timeout() {
        let history = quickstart_history().events;
        let said = retried_after_timeout(&history, TimeoutType::StartToClose).unwrap_err();
        assert!(said.contains("attempt: 1"), "{said}");
        assert_eq!(
            retried_after_timeout(&[], TimeoutType::Heartbeat).unwrap_err(),
            "no ActivityTaskStarted"
        );
    }

    #[test]
    fn a_good_history_passes_every_check() {
        let history = quickstart_history().events;
        check_run("q", &history).unwrap();
        check_closed("q", &history).unwrap();
        check_timers_not_early("q", &history).unwrap();
        check_signals_exactly_once("q", &history, &[]).unwrap();
    }

    #[test]
    fn an_event_after_the_close_is_caught() {
        let mut history = quickstart_history().events;
        let mut extra = history[history.len() - 2].clone();
        extra.event_id = EventId::new(history.len() as u64 + 1).unwrap();
        history.push(extra);
        assert!(check_run("q", &history).is_err());
    }

    #[test]
    fn an_activity_resolved_twice_is_caught() {
        let history = quickstart_history().events;
        let completed = history
            .iter()
            .position(|e| e.event_type() == EventType::ActivityTaskCompleted)
            .unwrap();
        // The history up to the completion, then the same completion again.
        let mut twice = history[..=completed].to_vec();
        let mut duplicate = history[completed].clone();
        duplicate.event_id = duplicate.event_id.next();
        twice.push(duplicate);
        let error = check_run("q", &twice).unwrap_err();
        assert!(error.what.contains("not open"), "{error}");
    }

    #[test]
    fn a_signal_to_another_workflow_resolved_twice_is_caught() {
        let mut history = quickstart_history().events;
        // Keep the first workflow task (Started … WorkflowTaskCompleted = event 4).
        history.truncate(4);
        let completed = history[3].event_id;
        let target = WorkflowExecution {
            workflow_id: WorkflowId::new("other").unwrap(),
            run_id: None,
        };
        fn push(history: &mut Vec<HistoryEvent>, attributes: EventAttributes) {
            let event_id = EventId::new(history.len() as u64 + 1).unwrap();
            let event_time = history[history.len() - 1].event_time;
            history.push(HistoryEvent {
                event_id,
                event_time,
                attributes,
            });
        }
        push(
            &mut history,
            EventAttributes::SignalExternalWorkflowExecutionInitiated(
                endure_core::history::SignalExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: completed,
                    namespace: Namespace::default(),
                    workflow_execution: target.clone(),
                    signal_name: SignalName::new("ping").unwrap(),
                    input: Payloads::default(),
                    child_workflow_only: false,
                    header: Header::new(),
                },
            ),
        );
        let signaled = EventAttributes::ExternalWorkflowExecutionSignaled(
            endure_core::history::ExternalWorkflowExecutionSignaledEventAttributes {
                initiated_event_id: EventId::new(5).unwrap(),
                namespace: Namespace::default(),
                workflow_execution: target,
            },
        );
        push(&mut history, signaled.clone());
        check_run("q", &history).unwrap();
        push(&mut history, signaled);
        let error = check_run("q", &history).unwrap_err();
        assert!(error.what.contains("not open"), "{error}");
    }

    #[test]
    fn an_early_timer_is_caught() {
        let mut history = quickstart_history().events;
        let position = history
            .iter()
            .position(|e| e.event_type() == EventType::TimerFired)
            .unwrap();
        let started = history
            .iter()
            .find(|e| e.event_type() == EventType::TimerStarted)
            .unwrap()
            .event_time;
        history[position].event_time = started.saturating_add(Duration::from_secs(1));
        let error = check_timers_not_early("q", &history).unwrap_err();
        assert!(error.what.contains("before its due time"), "{error}");
    }

    #[test]
    fn a_run_left_open_fails_the_liveness_check() {
        let history = quickstart_history().events;
        assert!(check_closed("q", &history[..history.len() - 1]).is_err());
    }

    fn signaled(values: &[&str]) -> Vec<HistoryEvent> {
        let mut builder = HistoryBuilder::new(
            Timestamp::from_unix_seconds(1_795_860_000),
            Duration::from_millis(1),
        );
        builder.add_workflow_execution_started(
            WorkflowType::new("W").unwrap(),
            TaskQueueName::new("q").unwrap(),
            Payloads::empty(),
            RunId::from_u128(1),
        );
        for value in values {
            builder.add(EventAttributes::WorkflowExecutionSignaled(
                endure_core::history::WorkflowExecutionSignaledEventAttributes {
                    signal_name: SignalName::new("s").unwrap(),
                    input: Payloads::one(Payload::json(value).unwrap()),
                    identity: "c".into(),
                    header: Header::new(),
                    request_id: None,
                    external_workflow_execution: None,
                },
            ));
        }
        builder.build().events
    }

    #[test]
    fn signals_lost_or_duplicated_are_caught() {
        let history = signaled(&["a", "b"]);
        check_signals_exactly_once("s", &history, &["a".into(), "b".into()]).unwrap();
        let lost = check_signals_exactly_once("s", &history, &["c".into()]).unwrap_err();
        assert!(lost.what.contains("not in history"));
        let twice = check_signals_exactly_once("s", &signaled(&["a", "a"]), &[]).unwrap_err();
        assert!(twice.what.contains("2 times"));
    }

    /// A history that accepts the updates `accepted` and completes `completed`.
    fn updated(accepted: &[&str], completed: &[&str]) -> Vec<HistoryEvent> {
        let mut builder = HistoryBuilder::new(
            Timestamp::from_unix_seconds(1_795_860_000),
            Duration::from_millis(1),
        );
        builder.add_workflow_execution_started(
            WorkflowType::new("W").unwrap(),
            TaskQueueName::new("q").unwrap(),
            Payloads::empty(),
            RunId::from_u128(1),
        );
        for id in accepted {
            builder.add(EventAttributes::WorkflowExecutionUpdateAccepted(
                endure_core::history::WorkflowExecutionUpdateAcceptedEventAttributes {
                    protocol_instance_id: (*id).to_owned(),
                    accepted_request_message_id: format!("{id}/request"),
                    accepted_request_sequencing_event_id: EventId::FIRST,
                    accepted_request: endure_core::UpdateRequest {
                        update_id: UpdateId::new(*id).unwrap(),
                        identity: "c".into(),
                        name: endure_core::UpdateName::new("u").unwrap(),
                        header: Header::new(),
                        args: Payloads::empty(),
                    },
                },
            ));
        }
        for id in completed {
            builder.add(EventAttributes::WorkflowExecutionUpdateCompleted(
                endure_core::history::WorkflowExecutionUpdateCompletedEventAttributes {
                    update_id: UpdateId::new(*id).unwrap(),
                    accepted_event_id: EventId::FIRST,
                    outcome: endure_core::UpdateOutcome::Success(Payloads::empty()),
                },
            ));
        }
        builder.build().events
    }

    #[test]
    fn updates_accepted_twice_or_left_uncompleted_are_caught() {
        let accepted = check_updates_once("u", &updated(&["a", "b"], &["a", "b"])).unwrap();
        assert_eq!(accepted.len(), 2);
        let twice = check_updates_once("u", &updated(&["a", "a"], &["a"])).unwrap_err();
        assert!(twice.what.contains("accepted twice"), "{twice:?}");
        let done_twice = check_updates_once("u", &updated(&["a"], &["a", "a"])).unwrap_err();
        assert!(
            done_twice.what.contains("completed twice"),
            "{done_twice:?}"
        );
        let open = check_updates_once("u", &updated(&["a", "b"], &["a"])).unwrap_err();
        assert!(open.what.contains("but completed"), "{open:?}");
    }

    #[test]
    fn a_history_the_code_did_not_write_fails_replay() {
        let history = quickstart_history().events;
        // A workflow that starts a timer where history has an activity.
        let replayer = Replayer::new(|| {
            Box::new(|ctx: endure::workflow::WorkflowContext, _input| {
                Box::pin(async move {
                    let _ = ctx.sleep(Duration::from_secs(1)).await;
                    Ok(None)
                })
            })
        });
        let error = check_replays("q", &history, &replayer).unwrap_err();
        assert!(error.what.contains("replay diverged"), "{error}");
    }
}
