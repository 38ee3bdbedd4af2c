//! A history read for display: each event's type, time and attributes as JSON (the
//! export's form), and what the page draws from them — the run's input and outcome, its
//! children, and the timeline's bars.

use endure_core::history::HistoryEvent;
use endure_core::time::Timestamp;
use serde_json::Value;

/// One event, for display.
#[derive(Clone, Debug)]
pub(crate) struct EventView {
    /// Its id.
    pub(crate) id: u64,
    /// When it was written.
    pub(crate) time: Timestamp,
    /// Its type (`ActivityTaskScheduled`).
    pub(crate) kind: &'static str,
    /// Its attributes as JSON.
    pub(crate) attributes: Value,
}

impl EventView {
    /// The view of `event`.
    pub(crate) fn of(event: &HistoryEvent) -> Self {
        let kind = event.event_type().name();
        let attributes = serde_json::to_value(&event.attributes)
            .ok()
            .and_then(|mut value| value.get_mut(kind).map(Value::take))
            .unwrap_or(Value::Null);
        Self {
            id: event.event_id.get(),
            time: event.event_time,
            kind,
            attributes,
        }
    }

    /// Attribute `name` as text (strings as themselves, numbers written out).
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.attributes.get(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// Attribute `name` as an event id — at the top, or under `child` (where a child
    /// workflow's closing events keep their references).
    pub(crate) fn reference(&self, name: &str) -> Option<u64> {
        self.attributes
            .get(name)
            .or_else(|| self.attributes.get("child")?.get(name))?
            .as_u64()
    }

    /// The run id of the workflow execution the event names (a child's), at the top or
    /// under `child`.
    fn execution_run(&self) -> Option<&str> {
        self.attributes
            .get("workflow_execution")
            .or_else(|| self.attributes.get("child")?.get("workflow_execution"))?
            .get("run_id")?
            .as_str()
    }

    /// A short summary of the attributes worth a glance in the table.
    pub(crate) fn summary(&self) -> String {
        const KEYS: [&str; 12] = [
            "activity_type",
            "activity_id",
            "timer_id",
            "start_to_fire_timeout",
            "signal_name",
            "workflow_type",
            "workflow_id",
            "scheduled_event_id",
            "started_event_id",
            "initiated_event_id",
            "attempt",
            "reason",
        ];
        KEYS.iter()
            .filter_map(|key| self.text(key).map(|value| format!("{key}={value}")))
            .take(4)
            .collect::<Vec<_>>()
            .join("  ")
    }
}

/// What the run was given and how it ended, read from its history.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// The first event's `input`.
    pub(crate) input: Option<Value>,
    /// The closing event's `result`.
    pub(crate) result: Option<Value>,
    /// The closing event's `failure` (or a termination's reason).
    pub(crate) failure: Option<Value>,
}

/// The run's input and outcome.
pub(crate) fn outcome(events: &[EventView]) -> Outcome {
    let mut outcome = Outcome {
        input: events
            .first()
            .and_then(|first| first.attributes.get("input").cloned()),
        ..Outcome::default()
    };
    if let Some(last) = events
        .last()
        .filter(|last| last.kind.starts_with("WorkflowExecution"))
    {
        outcome.result = last.attributes.get("result").cloned();
        outcome.failure = last
            .attributes
            .get("failure")
            .or_else(|| last.attributes.get("reason"))
            .cloned();
    }
    outcome
}

/// A child workflow the run started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Child {
    /// Its workflow id.
    pub(crate) workflow_id: String,
    /// Its type.
    pub(crate) workflow_type: String,
    /// Its run, once started.
    pub(crate) run_id: Option<String>,
    /// How it ended so far (`ChildWorkflowExecutionCompleted`), or `Initiated`.
    pub(crate) state: &'static str,
}

/// Every child the history initiated, in order, with its latest state.
pub(crate) fn children(events: &[EventView]) -> Vec<Child> {
    let mut children: Vec<(u64, Child)> = Vec::new();
    for event in events {
        if event.kind == "StartChildWorkflowExecutionInitiated" {
            children.push((
                event.id,
                Child {
                    workflow_id: event.text("workflow_id").unwrap_or_default(),
                    workflow_type: event.text("workflow_type").unwrap_or_default(),
                    run_id: None,
                    state: "Initiated",
                },
            ));
        } else if let Some(initiated) = event.reference("initiated_event_id")
            && (event.kind.starts_with("ChildWorkflowExecution")
                || event.kind == "StartChildWorkflowExecutionFailed")
            && let Some((_, child)) = children.iter_mut().find(|(id, _)| *id == initiated)
        {
            child.state = event.kind;
            if let Some(run) = event.execution_run() {
                child.run_id = Some(run.to_owned());
            }
        }
    }
    children.into_iter().map(|(_, child)| child).collect()
}

/// What a timeline bar stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BarKind {
    /// An activity, from scheduled to closed.
    Activity,
    /// A timer, from started to fired or canceled.
    Timer,
    /// A child workflow, from initiated to closed.
    Child,
}

/// One bar of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bar {
    /// What it is.
    pub(crate) kind: BarKind,
    /// Its label (`activity Withdraw`, `timer 1`, `child Payment`).
    pub(crate) label: String,
    /// The event that opened it.
    pub(crate) opened_by: u64,
    /// When it opened.
    pub(crate) from: Timestamp,
    /// When a worker took it (activities).
    pub(crate) started: Option<Timestamp>,
    /// When it closed; `None` while it is open.
    pub(crate) to: Option<Timestamp>,
    /// The closing event's type (`ActivityTaskCompleted`), or `Open`.
    pub(crate) outcome: &'static str,
}

/// The timeline's bars, in the order they opened.
pub(crate) fn bars(events: &[EventView]) -> Vec<Bar> {
    let mut bars: Vec<Bar> = Vec::new();
    for event in events {
        let opened = match event.kind {
            "ActivityTaskScheduled" => Some((
                BarKind::Activity,
                format!(
                    "activity {}",
                    event.text("activity_type").unwrap_or_default()
                ),
            )),
            "TimerStarted" => Some((
                BarKind::Timer,
                format!(
                    "timer {} ({})",
                    event.text("timer_id").unwrap_or_default(),
                    event.text("start_to_fire_timeout").unwrap_or_default()
                ),
            )),
            "StartChildWorkflowExecutionInitiated" => Some((
                BarKind::Child,
                format!("child {}", event.text("workflow_type").unwrap_or_default()),
            )),
            _ => None,
        };
        if let Some((kind, label)) = opened {
            bars.push(Bar {
                kind,
                label,
                opened_by: event.id,
                from: event.time,
                started: None,
                to: None,
                outcome: "Open",
            });
            continue;
        }
        let (key, kind) = match event.kind {
            kind if kind.starts_with("ActivityTask") => ("scheduled_event_id", BarKind::Activity),
            "TimerFired" | "TimerCanceled" => ("started_event_id", BarKind::Timer),
            kind if kind.starts_with("ChildWorkflowExecution")
                || kind == "StartChildWorkflowExecutionFailed" =>
            {
                ("initiated_event_id", BarKind::Child)
            }
            _ => continue,
        };
        let Some(opener) = event.reference(key) else {
            continue;
        };
        let Some(bar) = bars
            .iter_mut()
            .find(|bar| bar.opened_by == opener && bar.kind == kind)
        else {
            continue;
        };
        match event.kind {
            "ActivityTaskStarted" | "ChildWorkflowExecutionStarted" => {
                bar.started = Some(event.time);
            }
            "ActivityTaskCancelRequested" => {}
            closing => {
                bar.to = Some(event.time);
                bar.outcome = closing;
            }
        }
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::*;
    use endure_core::history::samples::quickstart_history;
    use serde_json::json;

    fn event(id: u64, seconds: u64, kind: &'static str, attributes: Value) -> EventView {
        EventView {
            id,
            time: Timestamp::from_unix_seconds(seconds),
            kind,
            attributes,
        }
    }

    #[test]
    fn a_childs_closing_event_is_found_by_its_nested_reference() {
        let execution = json!({ "workflow_id": "c1", "run_id": "r1" });
        let events = [
            event(1, 0, "WorkflowExecutionStarted", json!({ "input": ["x"] })),
            event(
                5,
                1,
                "StartChildWorkflowExecutionInitiated",
                json!({ "workflow_id": "c1", "workflow_type": "Greet" }),
            ),
            event(
                6,
                2,
                "ChildWorkflowExecutionStarted",
                json!({ "initiated_event_id": 5, "workflow_execution": execution }),
            ),
            event(
                9,
                4,
                "ChildWorkflowExecutionCompleted",
                json!({ "child": { "initiated_event_id": 5, "started_event_id": 6, "workflow_execution": execution }, "result": ["hi"] }),
            ),
        ];
        assert_eq!(
            children(&events),
            [Child {
                workflow_id: "c1".into(),
                workflow_type: "Greet".into(),
                run_id: Some("r1".into()),
                state: "ChildWorkflowExecutionCompleted",
            }]
        );
        let bars = bars(&events);
        assert_eq!(bars.len(), 1);
        assert_eq!(bars[0].kind, BarKind::Child);
        assert_eq!(bars[0].label, "child Greet");
        assert_eq!(bars[0].outcome, "ChildWorkflowExecutionCompleted");
        assert_eq!(bars[0].started, Some(Timestamp::from_unix_seconds(2)));
        assert_eq!(bars[0].to, Some(Timestamp::from_unix_seconds(4)));
    }

    #[test]
    fn the_quickstart_reads_as_its_activities_and_outcome() {
        let events: Vec<EventView> = quickstart_history()
            .events
            .iter()
            .map(EventView::of)
            .collect();
        assert_eq!(events[0].kind, "WorkflowExecutionStarted");
        let bars = bars(&events);
        let shape: Vec<(BarKind, &str, u64)> = bars
            .iter()
            .map(|bar| (bar.kind, bar.outcome, bar.opened_by))
            .collect();
        assert_eq!(
            shape,
            [
                (BarKind::Activity, "ActivityTaskCompleted", 5),
                (BarKind::Timer, "TimerFired", 11)
            ]
        );
        assert_eq!(bars[0].label, "activity SendEmail");
        assert!(bars[0].started.is_some());
        assert!(
            bars.iter()
                .all(|bar| bar.to.is_some() && bar.to >= Some(bar.from))
        );
        let outcome = outcome(&events);
        assert!(outcome.input.is_some());
        assert!(outcome.result.is_some());
        assert!(outcome.failure.is_none());
        assert!(children(&events).is_empty());
    }
}
