//! Interceptors on the pure workflow machine: the headers a run's interceptor writes are
//! in the commands and so in history, the inbound hooks see each signal once with its
//! header, and a replay calls the same hooks (marked as replaying) and writes the same
//! headers.

// The simulated run's activity outcome is `Result<_, Failure>`, as the engine records it.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::SignalRequest;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::replay::ReplayMachine;
use endure_core::simulated_run::SimulatedRun;
use endure_core::{ActivityOptions, Header, Payload, Payloads, SignalName};
use parking_lot::Mutex;

use super::{InboundSignal, Outbound, WorkerInterceptor, WorkflowInterceptor, WorkflowRun};
use crate::workflow::{WorkflowContext, WorkflowExecutor, WorkflowFunction, WorkflowInfo};

/// Numbers each outbound call in the run and remembers what it saw.
#[derive(Default)]
struct Numbering {
    seen: Arc<Mutex<Vec<String>>>,
}

struct RunNumbering {
    seen: Arc<Mutex<Vec<String>>>,
    next: Mutex<u32>,
}

impl WorkerInterceptor for Numbering {
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        self.seen
            .lock()
            .push(format!("intercept {}", info.started.workflow_type));
        Some(Arc::new(RunNumbering {
            seen: Arc::clone(&self.seen),
            next: Mutex::new(0),
        }))
    }
}

impl WorkflowInterceptor for RunNumbering {
    fn execute_workflow(&self, ctx: &WorkflowContext, run: WorkflowRun) -> WorkflowRun {
        self.seen
            .lock()
            .push(format!("run replaying={}", ctx.is_replaying()));
        run
    }

    fn handle_signal(&self, ctx: &WorkflowContext, signal: &InboundSignal<'_>) {
        let from = signal
            .header
            .get("from")
            .and_then(|p| p.decode::<String>().ok());
        self.seen.lock().push(format!(
            "signal {} from={} replaying={}",
            signal.name,
            from.unwrap_or_default(),
            ctx.is_replaying()
        ));
    }

    fn schedule_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let mut next = self.next.lock();
        *next += 1;
        call.header
            .0
            .insert("call".into(), Payload::json(&*next).unwrap());
        self.seen.lock().push(format!(
            "activity {} #{next} replaying={}",
            call.name,
            ctx.is_replaying()
        ));
    }
}

/// Waits for `go`, then runs `Step` twice.
fn workflow() -> WorkflowFunction {
    Box::new(|ctx: WorkflowContext, _input: Payloads| {
        Box::pin(async move {
            let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
                Duration::from_secs(10),
            ));
            ctx.signal_channel("go").recv_json::<()>().await?;
            for _ in 0..2 {
                let _: String = ctx.execute_activity("Step", &()).await?;
            }
            Ok(None)
        })
    })
}

fn run_once(interceptor: Arc<dyn WorkerInterceptor>) -> Vec<HistoryEvent> {
    let mut executor = WorkflowExecutor::new(workflow()).with_interceptors(Arc::new([interceptor]));
    SimulatedRun {
        workflow: Box::new(|activation| executor.activate(activation).unwrap()),
        activity: Box::new(|_, _| Ok(Some(Payloads::one(Payload::json(&"ok").unwrap())))),
        signals: vec![SignalRequest {
            signal_name: SignalName::new("go").unwrap(),
            input: Payloads::one(Payload::json(&()).unwrap()),
            identity: "client".into(),
            header: Header::new().with("from", Payload::json(&"ops").unwrap()),
            request_id: None,
        }],
        updates: Vec::new(),
        attempts: None,
    }
    .run(Payloads::empty())
}

fn scheduled_headers(history: &[HistoryEvent]) -> Vec<u32> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskScheduled(a) => a
                .header
                .get("call")
                .map(|call| call.decode::<u32>().unwrap()),
            _ => None,
        })
        .collect()
}

#[test]
fn outbound_headers_reach_history_and_replay_writes_them_again() {
    let live = Numbering::default();
    let seen = Arc::clone(&live.seen);
    let history = run_once(Arc::new(live));
    assert_eq!(scheduled_headers(&history), [1, 2]);
    let mut lines = seen.lock().clone();
    lines.retain(|line| !line.starts_with("signal"));
    assert_eq!(
        lines,
        [
            "intercept Simulated",
            "run replaying=false",
            "activity Step #1 replaying=false",
            "activity Step #2 replaying=false",
        ]
    );
    // The signal was seen once, with its sender's header (whenever it arrived).
    let signals: Vec<String> = seen
        .lock()
        .iter()
        .filter(|line| line.starts_with("signal"))
        .cloned()
        .collect();
    assert_eq!(signals, ["signal go from=ops replaying=false"]);

    // A replay with a new interceptor calls the same hooks, as replaying, and its commands
    // (headers included) match history.
    let replay = Numbering::default();
    let replayed = Arc::clone(&replay.seen);
    let mut machine = ReplayMachine::new();
    machine.feed(history.iter().cloned()).unwrap();
    let mut executor = WorkflowExecutor::new(workflow())
        .with_interceptors(Arc::new([Arc::new(replay) as Arc<dyn WorkerInterceptor>]));
    let mut headers = Vec::new();
    while let Some(activation) = machine.next_activation().unwrap() {
        let commands = executor.activate(&activation).unwrap();
        for command in &commands {
            if let endure_core::replay::WorkflowCommand::ScheduleActivity { attributes, .. } =
                command
            {
                headers.push(attributes.header.clone());
            }
        }
        assert!(machine.complete(commands).unwrap().is_empty());
    }
    let expected: Vec<Header> = history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskScheduled(a) => Some(a.header.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(headers, expected);
    let lines = replayed.lock().clone();
    assert!(
        lines.contains(&"run replaying=true".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"activity Step #2 replaying=true".to_owned()),
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("signal"))
            .count(),
        1
    );
}
