//! What a failing liveness check prints: the stuck run's real history (or why it could not
//! be read), its description (status, pending activities, timers and children), where the
//! engine holds its tasks, and the fault log — everything needed to see why from the seed's
//! output alone.

use std::fmt::Write as _;
use std::time::Duration;

use endure::{ClientError, WorkflowHandle};

use crate::faults::Fault;

/// How long each diagnostic read may take (the engine may be the thing that is stuck).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The report of a workflow still open when its liveness bound passed: `handle` names it,
/// `tasks` is what the engine says about its tasks (see `Cluster::task_report`), `faults`
/// the run's fault log.
pub async fn stuck_report(
    id: &str,
    bound: Duration,
    handle: &WorkflowHandle,
    tasks: String,
    faults: &[Fault],
) -> String {
    let mut report = format!("liveness: {id} still open after {bound:?}\n");
    match tokio::time::timeout(READ_TIMEOUT, handle.describe()).await {
        Ok(Ok(description)) => {
            let _ = writeln!(report, "description: {description:?}");
        }
        Ok(Err(error)) => {
            let _ = writeln!(report, "description unreadable: {}", describe_error(&error));
        }
        Err(_) => {
            let _ = writeln!(
                report,
                "description unreadable: no answer in {READ_TIMEOUT:?}"
            );
        }
    }
    match tokio::time::timeout(READ_TIMEOUT, handle.history()).await {
        Ok(Ok(history)) => {
            let _ = writeln!(report, "history ({} events):", history.len());
            for event in &history {
                let _ = writeln!(
                    report,
                    "  {} {:?} {:?}",
                    event.event_id, event.event_time, event.attributes
                );
            }
        }
        Ok(Err(error)) => {
            let _ = writeln!(report, "history unreadable: {}", describe_error(&error));
        }
        Err(_) => {
            let _ = writeln!(report, "history unreadable: no answer in {READ_TIMEOUT:?}");
        }
    }
    let _ = writeln!(report, "tasks: {tasks}");
    let _ = writeln!(report, "faults ({}):", faults.len());
    for fault in faults {
        let _ = writeln!(
            report,
            "  {:>8} ms {:?} {}",
            fault.at_millis, fault.kind, fault.detail
        );
    }
    report
}

fn describe_error(error: &ClientError) -> String {
    format!("{error} ({error:?})")
}
