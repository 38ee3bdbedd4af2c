//! A namespace's search attribute registry from the client (Temporal's operator service
//! `AddSearchAttributes`, `RemoveSearchAttributes`, `ListSearchAttributes`): register
//! custom attributes with their types so list filters may name them before any run has set
//! them (a run that sets one registers it too).

use endure_core::attribute_registry::{Registered, SearchAttributeType};
use endure_core::protocol::{
    AddSearchAttributesRequest, ListSearchAttributesRequest, RemoveSearchAttributesRequest,
    SearchAttributesListing,
};

use crate::client::{Client, ClientError};

impl Client {
    /// Registers custom search attributes in this client's namespace. An attribute
    /// registered already with the same type is left as it is; another type, a system
    /// attribute's name or a malformed name is refused.
    ///
    /// ```
    /// use endure::SearchAttributeType;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let client = endure::embedded::in_memory().await?;
    /// client
    ///     .add_search_attributes([("CustomerTier", SearchAttributeType::Keyword)])
    ///     .await?;
    /// // A filter may name it now, before any run has set it.
    /// assert!(client.list_workflows_matching("CustomerTier = 'gold'", 10).await?.is_empty());
    /// assert!(client.list_workflows_matching("CustomerTeir = 'gold'", 10).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add_search_attributes<'a>(
        &self,
        attributes: impl IntoIterator<Item = (&'a str, SearchAttributeType)>,
    ) -> Result<SearchAttributesListing, ClientError> {
        let attributes: Registered = attributes
            .into_iter()
            .map(|(name, kind)| (name.to_owned(), kind))
            .collect();
        self.rpc(AddSearchAttributesRequest {
            namespace: self.namespace.clone(),
            attributes,
        })
        .await
    }

    /// Unregisters custom search attributes; runs keep their values, and filters naming
    /// them are refused again.
    pub async fn remove_search_attributes<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<SearchAttributesListing, ClientError> {
        self.rpc(RemoveSearchAttributesRequest {
            namespace: self.namespace.clone(),
            names: names.into_iter().map(str::to_owned).collect(),
        })
        .await
    }

    /// This namespace's search attributes: the system ones and the custom ones, by name.
    pub async fn list_search_attributes(&self) -> Result<SearchAttributesListing, ClientError> {
        self.rpc(ListSearchAttributesRequest {
            namespace: self.namespace.clone(),
        })
        .await
    }
}
