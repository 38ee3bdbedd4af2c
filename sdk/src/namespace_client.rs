//! Namespaces from the client (spec §5.18; Temporal's `RegisterNamespace`,
//! `DescribeNamespace`, `ListNamespaces`, `UpdateNamespace`): create the namespaces that
//! isolate environments or teams, read them, and change their description, owner or
//! retention. A client works in one namespace ([`Client::namespace`]);
//! [`Client::with_namespace`] gives one for another on the same connection.

use endure_core::Namespace;
use endure_core::namespace::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};
use endure_core::protocol::{
    CreateNamespaceRequest, DescribeNamespaceRequest, ListNamespacesRequest, UpdateNamespaceRequest,
};

use crate::client::{Client, ClientError};

impl Client {
    /// The same connection, working in `namespace`.
    pub fn with_namespace(&self, namespace: Namespace) -> Self {
        let mut client = self.clone();
        client.namespace = namespace;
        client
    }

    /// Registers namespace `name`; refused with `AlreadyExists` if it exists. The
    /// configuration is validated before anything is sent.
    pub async fn create_namespace(
        &self,
        name: Namespace,
        config: NamespaceConfig,
    ) -> Result<NamespaceRecord, ClientError> {
        config.validate()?;
        Ok(*self.rpc(CreateNamespaceRequest { name, config }).await?)
    }

    /// The record of namespace `name` (`NotFound` if there is none).
    pub async fn describe_namespace(
        &self,
        name: &Namespace,
    ) -> Result<NamespaceRecord, ClientError> {
        Ok(*self
            .rpc(DescribeNamespaceRequest { name: name.clone() })
            .await?)
    }

    /// Every namespace, by name.
    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, ClientError> {
        self.rpc(ListNamespacesRequest).await
    }

    /// Changes what `update` names of namespace `name`; a new retention applies to runs
    /// that close from now on.
    pub async fn update_namespace(
        &self,
        name: &Namespace,
        update: NamespaceUpdate,
    ) -> Result<NamespaceRecord, ClientError> {
        Ok(*self
            .rpc(UpdateNamespaceRequest {
                name: name.clone(),
                update,
            })
            .await?)
    }
}
