//! The deletion of a run: everything that names it goes, nothing else does.

use super::*;

/// A deletion of run `key` at `db_version`, committed alone.
pub(super) async fn delete_run<S: Storage>(
    store: &S,
    shard: ShardId,
    range_id: RangeId,
    key: &ExecutionKey,
    db_version: u64,
) -> Result<Result<(), WriteRejection>, StorageError> {
    let write = WorkflowWrite {
        shard,
        range_id,
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        runs: Vec::new(),
        current_run: None,
        request_ids: Vec::new(),
        deletion: Some(RunDeletion {
            key: key.clone(),
            db_version,
        }),
    };
    Ok(store.commit(vec![write]).await?.remove(0))
}

/// Deleting a closed run removes its row, history, deadline, visibility row, its request
/// records and the current-run row naming it — and nothing of another run; a stale version
/// or lease deletes nothing, and an open run is never deleted.
pub async fn deleting_a_run_removes_what_names_it<S: Storage>(store: &S) {
    let shard = ShardId(9);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let old = key("retained", 1);
    let new = key("retained", 2);
    let visibility = |execution: &ExecutionKey| VisibilityRow {
        execution: execution.clone(),
        workflow_type: WorkflowType::new("Order").expect("valid"),
        task_queue: queue(),
        status: WorkflowExecutionStatus::Completed,
        start_time: T0,
        close_time: Some(T0),
        memo: Default::default(),
        search_attributes: SearchAttributes::new(),
    };
    let record = |execution: &ExecutionKey, id: &str| RequestRecord {
        namespace: namespace(),
        workflow_id: execution.workflow_id.clone(),
        request_id: RequestId::new(id).expect("valid"),
        run_id: execution.run_id,
    };
    for (execution, request) in [(&old, "start-1"), (&new, "start-2")] {
        let mut run = run_write(execution, shard, RunCondition::Create, 1, 3);
        run.row.status = WorkflowExecutionStatus::Completed;
        run.deadline = DeadlineUpdate::Set(T0);
        run.visibility = Some(visibility(execution));
        let mut write = write(shard, range, "retained", vec![run]);
        write.request_ids.push(record(execution, request));
        write.current_run = Some(CurrentRunWrite {
            expected: (execution == &new).then_some(old.run_id),
            new: CurrentRun {
                run_id: execution.run_id,
                status: WorkflowExecutionStatus::Completed,
                start_request_id: None,
            },
        });
        commit_one(store, write).await.expect("written");
    }
    assert!(
        matches!(
            delete_run(store, shard, range, &old, 7)
                .await
                .expect("delete"),
            Err(WriteRejection::ExecutionConditionFailed { .. })
        ),
        "a stale version deletes nothing"
    );
    assert!(
        matches!(
            delete_run(store, shard, RangeId(range.0 + 1), &old, 1)
                .await
                .expect("delete"),
            Err(WriteRejection::ShardOwnershipLost { .. })
        ),
        "a stale lease deletes nothing"
    );
    assert!(store.load_execution(&old).await.expect("load").is_some());
    delete_run(store, shard, range, &old, 1)
        .await
        .expect("delete")
        .expect("deleted");
    assert_eq!(store.load_execution(&old).await.expect("load"), None);
    assert_eq!(
        store
            .read_history(&old, EventId::FIRST)
            .await
            .expect("read")
            .events,
        Vec::new()
    );
    let start = RequestId::new("start-1").expect("valid");
    assert_eq!(
        store
            .find_request(&namespace(), &old.workflow_id, &start)
            .await
            .expect("read"),
        None
    );
    let due = store.due_deadlines(shard, T0, 10).await.expect("deadlines");
    assert_eq!(
        due.iter().map(|row| &row.execution).collect::<Vec<_>>(),
        vec![&new],
        "only the deleted run's deadline went"
    );
    let listed = store
        .list_visibility(&namespace(), &VisibilityQuery::default(), 0, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![visibility(&new)]);
    assert_eq!(
        store
            .current_run(&namespace(), &old.workflow_id)
            .await
            .expect("read")
            .map(|current| current.run_id),
        Some(new.run_id),
        "the current-run row names another run and stays"
    );
    assert_eq!(
        delete_run(store, shard, range, &old, 1)
            .await
            .expect("delete"),
        Ok(()),
        "a run already gone is a success"
    );
    delete_run(store, shard, range, &new, 1)
        .await
        .expect("delete")
        .expect("deleted");
    assert_eq!(
        store
            .current_run(&namespace(), &new.workflow_id)
            .await
            .expect("read"),
        None,
        "the current-run row naming the deleted run goes with it"
    );
    assert_eq!(
        store
            .count_visibility(&namespace(), &VisibilityQuery::default())
            .await
            .expect("count"),
        0
    );
    let open = key("open", 1);
    commit_one(
        store,
        write(
            shard,
            range,
            "open",
            vec![run_write(&open, shard, RunCondition::Create, 1, 1)],
        ),
    )
    .await
    .expect("written");
    assert!(
        matches!(
            delete_run(store, shard, range, &open, 1)
                .await
                .expect("delete"),
            Err(WriteRejection::Malformed(_))
        ),
        "an open run is never deleted"
    );
}
