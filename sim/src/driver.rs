//! The client side of a scenario under faults: run a driver on its own node while the
//! engine is killed and loses power, and the retries every client makes while it is down.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::workflow::WorkflowDefinition;
use endure::{Client, ClientError, StartWorkflowOptions, WorkflowHandle};
use serde::de::DeserializeOwned;

use crate::cluster::Cluster;
use crate::faults::FaultKind;
use crate::swarm::kills_and_power_losses;

/// Runs `drive` on a client node named `driver` while throwing engine kills and power
/// losses inside commits (at most `max`, one every 100–400 ms, from 200 ms on) until it
/// returns; checks the fault log holds exactly the faults thrown and returns how many.
pub async fn through_kills_and_power_losses(
    cluster: &Cluster,
    max: u32,
    drive: impl Future<Output = ()> + Send + 'static,
) -> usize {
    let finished = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&finished);
    let driving = cluster.add_client_node("driver").spawn(async move {
        drive.await;
        done.store(true, Ordering::SeqCst);
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (kills, power_losses) =
        kills_and_power_losses(cluster, || finished.load(Ordering::SeqCst), max, 100..400).await;
    driving.await.expect("the driver ran to its end");
    assert_eq!(cluster.faults.count(FaultKind::Kill), kills);
    assert_eq!(cluster.faults.count(FaultKind::PowerLoss), power_losses);
    kills + power_losses
}

/// Starts `W` until the engine takes it. `options` should carry a request id, so a start
/// whose answer was lost is found again rather than refused as already started.
pub async fn start_until_taken<W: WorkflowDefinition>(
    client: &Client,
    options: StartWorkflowOptions,
    input: &W::Input,
) -> WorkflowHandle {
    loop {
        match client.start::<W>(options.clone(), input).await {
            Ok(handle) => return handle,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The workflow's result, asking again while the engine is unreachable; any other error
/// is returned.
pub async fn result_when_reachable<T: DeserializeOwned>(
    handle: &WorkflowHandle,
) -> Result<T, ClientError> {
    loop {
        match handle.result::<T>().await {
            Err(ClientError::Remote(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return other,
        }
    }
}
