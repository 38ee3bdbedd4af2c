//! Namespace records: created once, updated by version.

use super::*;

/// Namespace records are created once, changed only from the version read, and listed by
/// name.
pub async fn namespaces_are_versioned<S: Storage>(store: &S) {
    let orders = NamespaceRecord::new(
        Namespace::new("orders").expect("valid"),
        endure_core::namespace::NamespaceConfig::default(),
        T0,
    );
    let billing = NamespaceRecord::new(
        Namespace::new("billing").expect("valid"),
        endure_core::namespace::NamespaceConfig::default(),
        T0,
    );
    assert_eq!(store.namespace(&orders.name).await.expect("read"), None);
    store
        .put_namespace(orders.clone(), None)
        .await
        .expect("put")
        .expect("created");
    store
        .put_namespace(billing.clone(), None)
        .await
        .expect("put")
        .expect("created");
    assert_eq!(
        store
            .put_namespace(orders.clone(), None)
            .await
            .expect("put"),
        Err(WriteRejection::NamespaceConditionFailed {
            name: orders.name.clone(),
            expected: None,
            actual: Some(1),
        }),
        "a namespace is created once"
    );
    let update = endure_core::namespace::NamespaceUpdate {
        description: Some("order intake".into()),
        ..Default::default()
    };
    let updated = orders
        .updated(&update, T0.saturating_add(Duration::from_secs(1)))
        .expect("valid");
    store
        .put_namespace(updated.clone(), Some(1))
        .await
        .expect("put")
        .expect("updated");
    let stale = orders.updated(&update, T0).expect("valid");
    assert!(
        matches!(
            store.put_namespace(stale, Some(1)).await.expect("put"),
            Err(WriteRejection::NamespaceConditionFailed {
                actual: Some(2),
                ..
            })
        ),
        "a change from a stale version is refused"
    );
    assert_eq!(
        store.namespace(&orders.name).await.expect("read"),
        Some(updated.clone())
    );
    assert_eq!(
        store.list_namespaces().await.expect("list"),
        vec![billing, updated],
        "listed by name"
    );
}
