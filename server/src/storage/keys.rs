//! Byte keys of the redb tables. Ids and names hold no NUL (validation refuses control
//! characters), so NUL separates the parts of a key; numbers are big-endian so byte order
//! is numeric order.

use endure_core::storage::{ExecutionKey, ShardId, StorageError};
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, RunId, TaskQueueName, WorkflowId};

const SEPARATOR: u8 = 0;

/// `namespace \0`: the prefix of everything of a namespace.
pub(super) fn namespace_prefix(namespace: &Namespace) -> Vec<u8> {
    let mut key = namespace.as_str().as_bytes().to_vec();
    key.push(SEPARATOR);
    key
}

/// `namespace \0 workflow_id \0`.
pub(super) fn workflow_key(namespace: &Namespace, workflow_id: &WorkflowId) -> Vec<u8> {
    let mut key = namespace_prefix(namespace);
    key.extend_from_slice(workflow_id.as_str().as_bytes());
    key.push(SEPARATOR);
    key
}

/// `namespace \0 workflow_id \0 run_id(16)`.
pub(super) fn execution_key(execution: &ExecutionKey) -> Vec<u8> {
    let mut key = workflow_key(&execution.namespace, &execution.workflow_id);
    key.extend_from_slice(&execution.run_id.as_u128().to_be_bytes());
    key
}

/// The execution key followed by a batch's first event id.
pub(super) fn history_key(execution: &ExecutionKey, first_event_id: EventId) -> Vec<u8> {
    let mut key = execution_key(execution);
    key.extend_from_slice(&first_event_id.get().to_be_bytes());
    key
}

/// `shard(4) time(8) execution key`: a shard's deadlines in time order.
pub(super) fn deadline_key(shard: ShardId, time: Timestamp, execution: &ExecutionKey) -> Vec<u8> {
    let mut key = shard.0.to_be_bytes().to_vec();
    key.extend_from_slice(&time.unix_nanos().to_be_bytes());
    key.extend_from_slice(&execution_key(execution));
    key
}

/// `namespace \0 task_queue \0`: a queue's backlog.
pub(super) fn dispatch_prefix(namespace: &Namespace, task_queue: &TaskQueueName) -> Vec<u8> {
    let mut key = namespace_prefix(namespace);
    key.extend_from_slice(task_queue.as_str().as_bytes());
    key.push(SEPARATOR);
    key
}

/// A backlog row's key.
pub(super) fn dispatch_key(
    namespace: &Namespace,
    task_queue: &TaskQueueName,
    task_id: u64,
) -> Vec<u8> {
    let mut key = dispatch_prefix(namespace, task_queue);
    key.extend_from_slice(&task_id.to_be_bytes());
    key
}

/// `namespace \0 workflow_id \0 request_id`.
pub(super) fn request_key(
    namespace: &Namespace,
    workflow_id: &WorkflowId,
    request_id: &RequestId,
) -> Vec<u8> {
    let mut key = workflow_key(namespace, workflow_id);
    key.extend_from_slice(request_id.as_str().as_bytes());
    key
}

/// Reads the time and execution back from a deadline key.
pub(super) fn parse_deadline_key(key: &[u8]) -> Result<(Timestamp, ExecutionKey), StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt {
        what: format!("deadline row {key:02x?}"),
        reason: reason.to_owned(),
    };
    let time_bytes: [u8; 8] = key
        .get(4..12)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("short key"))?;
    let execution = parse_execution_key(&key[12..]).map_err(|error| match error {
        StorageError::Corrupt { reason, .. } => corrupt(&reason),
        other => other,
    })?;
    Ok((
        Timestamp::from_unix_nanos(u64::from_be_bytes(time_bytes)),
        execution,
    ))
}

/// Reads the run back from an execution key (`namespace \0 workflow_id \0 run_id(16)`).
pub(super) fn parse_execution_key(key: &[u8]) -> Result<ExecutionKey, StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt {
        what: format!("execution key {key:02x?}"),
        reason: reason.to_owned(),
    };
    let mut parts = key.splitn(3, |byte| *byte == SEPARATOR);
    let namespace = parts.next().ok_or_else(|| corrupt("no namespace"))?;
    let workflow_id = parts.next().ok_or_else(|| corrupt("no workflow id"))?;
    let run = parts.next().ok_or_else(|| corrupt("no run id"))?;
    let run: [u8; 16] = run
        .try_into()
        .map_err(|_| corrupt("run id is not 16 bytes"))?;
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("not UTF-8"));
    Ok(ExecutionKey {
        namespace: Namespace::new(text(namespace)?).map_err(|e| corrupt(&e.to_string()))?,
        workflow_id: WorkflowId::new(text(workflow_id)?).map_err(|e| corrupt(&e.to_string()))?,
        run_id: RunId::from_u128(u128::from_be_bytes(run)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_keys_round_trip_and_sort_by_time() {
        let execution = ExecutionKey {
            namespace: Namespace::new("default").unwrap(),
            workflow_id: WorkflowId::new("order 42").unwrap(),
            run_id: RunId::from_u128(7),
        };
        let early = deadline_key(ShardId(1), Timestamp::from_unix_seconds(5), &execution);
        let late = deadline_key(ShardId(1), Timestamp::from_unix_seconds(300), &execution);
        assert!(early < late);
        assert_eq!(
            parse_deadline_key(&late).unwrap(),
            (Timestamp::from_unix_seconds(300), execution)
        );
        assert!(parse_deadline_key(&late[..20]).is_err());
    }
}
