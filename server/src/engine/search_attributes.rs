//! A namespace's search attribute registry through the engine: list filters are checked
//! against it, attributes a run sets are registered on first use (before the write that
//! sets them, so a list right after sees them), and operators add, remove and list them
//! (Temporal's `AddSearchAttributes`, `RemoveSearchAttributes`, `ListSearchAttributes`).
//! The decisions are endure-core's [`attribute_registry`]; the registry lives in the
//! namespace's record.

use endure_core::Command;
use endure_core::Namespace;
use endure_core::SearchAttributes;
use endure_core::attribute_registry::{self, Registered};
use endure_core::clock::Clock;
use endure_core::protocol::SearchAttributesListing;
use endure_core::storage::{Storage, VisibilityQuery};

use super::api::EngineError;
use super::namespaces::Namespaces;
use super::runtime::Engine;

impl Namespaces {
    /// The custom search attributes of `namespace` (none for one it does not know).
    pub(crate) fn registered(&self, namespace: &Namespace) -> Registered {
        self.with_record(namespace, |record| record.search_attributes.clone())
            .unwrap_or_default()
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Refuses a query whose filter names an attribute `namespace` does not know.
    pub(crate) fn check_filter(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<(), EngineError> {
        let Some(filter) = &query.filter else {
            return Ok(());
        };
        let registered = self.inner.namespaces.registered(namespace);
        attribute_registry::check_filter(filter, &registered)
            .map_err(|error| EngineError::BadRequest(format!("invalid list filter: {error}")))
    }

    /// Registers the attributes of `attributes` that `namespace` does not know yet, with
    /// the types of their values. Costs a lookup when all are known (the usual case).
    /// Attributes that fail validation are left to the write, which refuses them.
    pub(crate) async fn register_used(
        &self,
        namespace: &Namespace,
        attributes: &SearchAttributes,
    ) -> Result<(), EngineError> {
        if attributes.is_empty() || attributes.validate().is_err() {
            return Ok(());
        }
        let new = attribute_registry::unregistered(
            attributes,
            &self.inner.namespaces.registered(namespace),
        );
        if new.is_empty() {
            return Ok(());
        }
        self.change_registry(namespace, |registered| {
            // Another write may have registered one meanwhile, with another type: the
            // first type stays.
            let mut next = registered.clone();
            for (name, kind) in &new {
                next.entry(name.clone()).or_insert(*kind);
            }
            if next.len() > endure_core::limits::SEARCH_ATTRIBUTES_REGISTERED_MAX {
                return Err(attribute_registry::RegistryError::TooMany);
            }
            Ok(next)
        })
        .await
        .map(drop)
    }

    /// Registers what the commands of a workflow task completion set: upserted
    /// attributes, a continue-as-new's and a child's (in the child's namespace).
    pub(crate) async fn register_commanded(
        &self,
        namespace: &Namespace,
        commands: &[Command],
    ) -> Result<(), EngineError> {
        for command in commands {
            match command {
                Command::UpsertWorkflowSearchAttributes(a) => {
                    self.register_used(namespace, &a.search_attributes).await?;
                }
                Command::ContinueAsNewWorkflowExecution(a) => {
                    if let Some(attributes) = &a.search_attributes {
                        self.register_used(namespace, attributes).await?;
                    }
                }
                Command::StartChildWorkflowExecution(a) => {
                    let child_namespace = a.namespace.as_ref().unwrap_or(namespace);
                    if self.check_namespace(child_namespace).is_ok() {
                        self.register_used(child_namespace, &a.search_attributes)
                            .await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Registers custom search attributes (Temporal's `AddSearchAttributes`).
    pub async fn add_search_attributes(
        &self,
        namespace: &Namespace,
        attributes: &Registered,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.change_registry(namespace, |registered| {
            attribute_registry::add(registered, attributes)
        })
        .await
    }

    /// Unregisters custom search attributes (Temporal's `RemoveSearchAttributes`).
    pub async fn remove_search_attributes(
        &self,
        namespace: &Namespace,
        names: &[String],
    ) -> Result<SearchAttributesListing, EngineError> {
        self.change_registry(namespace, |registered| {
            attribute_registry::remove(registered, names)
        })
        .await
    }

    /// A namespace's search attributes (Temporal's `ListSearchAttributes`).
    pub fn list_search_attributes(
        &self,
        namespace: &Namespace,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.check_namespace(namespace)?;
        Ok(SearchAttributesListing::of(
            self.inner.namespaces.registered(namespace),
        ))
    }

    /// Changes `namespace`'s registry durably with `change`, conditioned on the record's
    /// version (retried when another change won).
    async fn change_registry(
        &self,
        namespace: &Namespace,
        change: impl Fn(&Registered) -> Result<Registered, attribute_registry::RegistryError>,
    ) -> Result<SearchAttributesListing, EngineError> {
        self.check_namespace(namespace)?;
        let (record, ()) = self
            .change_namespace(namespace, |current, now| {
                let registered = change(&current.search_attributes)
                    .map_err(|error| EngineError::BadRequest(error.to_string()))?;
                let mut next = current.clone();
                next.search_attributes = registered;
                next.version += 1;
                next.updated = now.max(current.updated);
                Ok((next, ()))
            })
            .await?;
        Ok(SearchAttributesListing::of(record.search_attributes))
    }
}
