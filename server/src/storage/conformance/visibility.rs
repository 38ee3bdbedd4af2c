//! Listing runs: visibility rows filtered, ordered and paged.

use super::*;

/// Visibility filters by status, type, id, start time and search attribute, latest first.
pub async fn visibility_filters<S: Storage>(store: &S) {
    let shard = ShardId(8);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let visible = |name: &str, workflow_type: &str, status, start_seconds: u64, tier: &str| {
        let mut search_attributes = SearchAttributes::new();
        search_attributes.insert("Tier", SearchAttributeValue::Keyword(tier.into()));
        VisibilityRow {
            execution: key(name, 1),
            workflow_type: WorkflowType::new(workflow_type).expect("valid"),
            task_queue: queue(),
            status,
            start_time: T0.saturating_add(Duration::from_secs(start_seconds)),
            close_time: None,
            memo: Default::default(),
            search_attributes,
        }
    };
    let rows = [
        visible("a", "Order", WorkflowExecutionStatus::Running, 10, "gold"),
        visible(
            "b",
            "Order",
            WorkflowExecutionStatus::Completed,
            20,
            "silver",
        ),
        visible("c", "Refund", WorkflowExecutionStatus::Running, 30, "gold"),
    ];
    for row in &rows {
        let mut run = run_write(&row.execution, shard, RunCondition::Create, 1, 1);
        run.visibility = Some(row.clone());
        commit_one(
            store,
            write(shard, range, row.execution.workflow_id.as_str(), vec![run]),
        )
        .await
        .expect("write");
    }
    let list = |query: VisibilityQuery| async move {
        store
            .list_visibility(&namespace(), &query, 0, 10)
            .await
            .expect("list")
            .into_iter()
            .map(|row| row.execution.workflow_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(VisibilityQuery::default()).await,
        ["c", "b", "a"],
        "latest start first"
    );
    let running = VisibilityQuery {
        status: Some(WorkflowExecutionStatus::Running),
        ..Default::default()
    };
    assert_eq!(list(running.clone()).await, ["c", "a"]);
    assert_eq!(
        store
            .count_visibility(&namespace(), &running)
            .await
            .expect("count"),
        2
    );
    let orders = VisibilityQuery {
        workflow_type: Some(WorkflowType::new("Order").expect("valid")),
        ..Default::default()
    };
    assert_eq!(list(orders).await, ["b", "a"]);
    let gold = VisibilityQuery {
        search_attribute: Some(("Tier".into(), SearchAttributeValue::Keyword("gold".into()))),
        ..Default::default()
    };
    assert_eq!(list(gold).await, ["c", "a"]);
    let window = VisibilityQuery {
        started_after: Some(T0.saturating_add(Duration::from_secs(15))),
        started_before: Some(T0.saturating_add(Duration::from_secs(30))),
        ..Default::default()
    };
    assert_eq!(list(window).await, ["b"]);
    let by_id = VisibilityQuery {
        workflow_id: Some(workflow_id("a")),
        ..Default::default()
    };
    assert_eq!(list(by_id).await, ["a"]);
    let page = store
        .list_visibility(&namespace(), &VisibilityQuery::default(), 1, 1)
        .await
        .expect("list");
    assert_eq!(page.len(), 1);
    assert_eq!(
        page[0].execution.workflow_id.as_str(),
        "b",
        "offset and limit page the order"
    );
    let other = Namespace::new("other").expect("valid");
    assert_eq!(
        store
            .count_visibility(&other, &VisibilityQuery::default())
            .await
            .expect("count"),
        0
    );
}
