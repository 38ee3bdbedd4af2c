//! Registration beyond the typed path: dynamic workflows and activities receiving raw
//! values (spec §5.10), and a renamed copy registered beside the old name (§5.13.3).

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext};
use endure::*;

use crate::quickstart::{SendEmail, order_workflow};
use crate::store_client;

#[tokio::test]
async fn dynamic_workflows_and_activities_receive_raw_values_and_renamed_copies_both_run() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("dynamic").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    // §5.13.3: the same function under its old and its new name.
    worker.register_workflow("OrderWorkflow", order_workflow);
    worker.register_workflow("OrderWorkflowV2", order_workflow);
    worker.register_activity::<SendEmail, _, _>(|_ctx, _input: (String, String)| async {
        Ok::<_, ActivityError>("sent".to_owned())
    });
    // §5.10: fallbacks for every other type.
    worker.register_dynamic_workflow(
        |ctx: WorkflowContext, workflow_type: String, input: Payloads| async move {
            let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
                Duration::from_secs(5),
            ));
            let echoed = ctx.execute_activity_raw("AnythingGoes", input).await?;
            let text: String = echoed
                .and_then(|p| p.0.into_iter().next())
                .map(|p| p.decode())
                .transpose()?
                .unwrap_or_default();
            Ok(Some(Payloads::one(Payload::json(&format!(
                "{workflow_type}:{text}"
            ))?)))
        },
    );
    worker.register_dynamic_activity(
        |ctx: ActivityContext, activity_type: String, input: Payloads| async move {
            assert_eq!(ctx.info().activity_type.as_str(), activity_type);
            let value: String = input.0[0]
                .decode()
                .map_err(|e| ActivityError::application(e.to_string(), "Decode"))?;
            Ok(Some(Payloads::one(
                Payload::json(&format!("{activity_type}({value})")).unwrap(),
            )))
        },
    );
    let (stop, running) = crate::spawn_worker(worker);
    let start = |id: &str| StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone());
    let dynamic: String = client
        .execute_workflow(start("dynamic-1"), "ShipmentWorkflow", &"box-7")
        .await
        .unwrap();
    assert_eq!(dynamic, "ShipmentWorkflow:AnythingGoes(box-7)");
    let old: String = client
        .execute_workflow(start("old-name"), "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    let new: String = client
        .execute_workflow(start("new-name"), "OrderWorkflowV2", &"user_123")
        .await
        .unwrap();
    assert_eq!(
        (old.as_str(), new.as_str()),
        ("workflow_completed_sent", "workflow_completed_sent")
    );
    let _ = stop.send(());
    running.await.unwrap();
}
