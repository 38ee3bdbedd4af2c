//! Byte keys of the redb tables. Ids and names hold no NUL (validation refuses control
//! characters), so NUL separates the parts of a key; numbers are big-endian so byte order
//! is numeric order.

use endure_core::storage::{ExecutionKey, ShardId, StorageError};
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, RunId, TaskQueueName, WorkflowId};

const SEPARATOR: &[u8] = &[0];

/// `parts`, joined into one key in one allocation of its exact size (keys are built for
/// every row a commit touches: growing them piece by piece reallocated several times each).
fn joined<const N: usize>(parts: [&[u8]; N]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

/// `namespace \0`: the prefix of everything of a namespace.
pub(super) fn namespace_prefix(namespace: &Namespace) -> Vec<u8> {
    joined([namespace.as_str().as_bytes(), SEPARATOR])
}

/// `namespace \0 workflow_id \0`.
pub(super) fn workflow_key(namespace: &Namespace, workflow_id: &WorkflowId) -> Vec<u8> {
    joined([
        namespace.as_str().as_bytes(),
        SEPARATOR,
        workflow_id.as_str().as_bytes(),
        SEPARATOR,
    ])
}

/// `namespace \0 workflow_id \0 run_id(16)`.
pub(super) fn execution_key(execution: &ExecutionKey) -> Vec<u8> {
    execution_key_between(&[], execution, &[])
}

/// The execution key followed by a batch's first event id.
pub(super) fn history_key(execution: &ExecutionKey, first_event_id: EventId) -> Vec<u8> {
    execution_key_between(&[], execution, &first_event_id.get().to_be_bytes())
}

/// `shard(4) time(8) execution key`: a shard's deadlines in time order.
pub(super) fn deadline_key(shard: ShardId, time: Timestamp, execution: &ExecutionKey) -> Vec<u8> {
    let mut head = [0; 12];
    head[..4].copy_from_slice(&shard.0.to_be_bytes());
    head[4..].copy_from_slice(&time.unix_nanos().to_be_bytes());
    execution_key_between(&head, execution, &[])
}

/// `execution`'s key between `head` and `tail`, in one allocation.
fn execution_key_between(head: &[u8], execution: &ExecutionKey, tail: &[u8]) -> Vec<u8> {
    joined([
        head,
        execution.namespace.as_str().as_bytes(),
        SEPARATOR,
        execution.workflow_id.as_str().as_bytes(),
        SEPARATOR,
        &execution.run_id.as_u128().to_be_bytes(),
        tail,
    ])
}

/// `namespace \0 task_queue \0`: a queue's backlog.
pub(super) fn dispatch_prefix(namespace: &Namespace, task_queue: &TaskQueueName) -> Vec<u8> {
    joined([
        namespace.as_str().as_bytes(),
        SEPARATOR,
        task_queue.as_str().as_bytes(),
        SEPARATOR,
    ])
}

/// A backlog row's key.
pub(super) fn dispatch_key(
    namespace: &Namespace,
    task_queue: &TaskQueueName,
    task_id: u64,
) -> Vec<u8> {
    joined([
        namespace.as_str().as_bytes(),
        SEPARATOR,
        task_queue.as_str().as_bytes(),
        SEPARATOR,
        &task_id.to_be_bytes(),
    ])
}

/// `namespace \0 workflow_id \0 request_id`.
pub(super) fn request_key(
    namespace: &Namespace,
    workflow_id: &WorkflowId,
    request_id: &RequestId,
) -> Vec<u8> {
    joined([
        namespace.as_str().as_bytes(),
        SEPARATOR,
        workflow_id.as_str().as_bytes(),
        SEPARATOR,
        request_id.as_str().as_bytes(),
    ])
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
    let mut parts = key.splitn(3, |byte| *byte == SEPARATOR[0]);
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

    /// Run 7 of workflow `order 42` in the default namespace.
    fn order_42() -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::new("default").unwrap(),
            workflow_id: WorkflowId::new("order 42").unwrap(),
            run_id: RunId::from_u128(7),
        }
    }

    #[test]
    fn deadline_keys_round_trip_and_sort_by_time() {
        let execution = order_42();
        let early = deadline_key(ShardId(1), Timestamp::from_unix_seconds(5), &execution);
        let late = deadline_key(ShardId(1), Timestamp::from_unix_seconds(300), &execution);
        assert!(early < late);
        assert_eq!(
            parse_deadline_key(&late).unwrap(),
            (Timestamp::from_unix_seconds(300), execution)
        );
        assert!(parse_deadline_key(&late[..20]).is_err());
    }

    #[test]
    fn keys_nest_and_are_built_at_their_exact_size() {
        let execution = order_42();
        let namespace = namespace_prefix(&execution.namespace);
        assert_eq!(namespace, b"default\0");
        let workflow = workflow_key(&execution.namespace, &execution.workflow_id);
        assert_eq!(workflow, b"default\0order 42\0");
        let run = execution_key(&execution);
        assert_eq!(run, [&workflow[..], &7u128.to_be_bytes()].concat());
        let batch = history_key(&execution, EventId::new(3).unwrap());
        assert_eq!(batch, [&run[..], &3u64.to_be_bytes()].concat());
        let deadline = deadline_key(ShardId(2), Timestamp::from_unix_nanos(9), &execution);
        assert_eq!(
            deadline,
            [&2u32.to_be_bytes()[..], &9u64.to_be_bytes(), &run].concat()
        );
        let queue = TaskQueueName::new("orders").unwrap();
        let backlog = dispatch_prefix(&execution.namespace, &queue);
        assert_eq!(backlog, b"default\0orders\0");
        let task = dispatch_key(&execution.namespace, &queue, 5);
        assert_eq!(task, [&backlog[..], &5u64.to_be_bytes()].concat());
        let request = RequestId::new("r-1").unwrap();
        let requested = request_key(&execution.namespace, &execution.workflow_id, &request);
        assert_eq!(requested, [&workflow[..], b"r-1"].concat());
        for key in [
            namespace, workflow, run, batch, deadline, backlog, task, requested,
        ] {
            assert_eq!(key.capacity(), key.len(), "{key:02x?}");
        }
    }
}
