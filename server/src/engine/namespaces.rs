//! Namespaces through the engine (spec §5.18): the registry every request is checked
//! against, and the create, describe, list and update calls.
//!
//! The records live in storage; the engine keeps a copy of all of them in memory, loaded
//! when it opens and changed only after a write is durable, so checking a request's
//! namespace costs no read. `default` is created when an engine first opens its store.
//! The engine's own namespace (`endure-system`) is never a user's.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

use endure_core::Namespace;
use endure_core::clock::Clock;
use endure_core::namespace::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};
use endure_core::storage::{SYSTEM_NAMESPACE, Storage, WriteRejection};
use endure_core::time::Timestamp;
use parking_lot::RwLock;

use super::api::EngineError;
use super::runtime::Engine;

/// How many times a change is retried when a concurrent change of the same namespace won.
const CHANGE_ATTEMPTS_MAX: usize = 8;

/// The namespaces an engine knows, by name.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    records: RwLock<BTreeMap<Namespace, NamespaceRecord>>,
}

impl Namespaces {
    /// Loads every record from `storage`, creating `default` if the store has none.
    pub(crate) async fn load<S: Storage>(storage: &S, now: Timestamp) -> Result<Self, EngineError> {
        let mut records: BTreeMap<Namespace, NamespaceRecord> = storage
            .list_namespaces()
            .await?
            .into_iter()
            .map(|record| (record.name.clone(), record))
            .collect();
        let default = Namespace::default();
        if let Entry::Vacant(slot) = records.entry(default.clone()) {
            let record = NamespaceRecord::new(
                default.clone(),
                NamespaceConfig {
                    description: "The namespace every engine starts with.".into(),
                    ..NamespaceConfig::default()
                },
                now,
            );
            match storage.put_namespace(record.clone(), None).await? {
                Ok(()) => {
                    slot.insert(record);
                }
                // Created meanwhile by someone else: read theirs.
                Err(WriteRejection::NamespaceConditionFailed { .. }) => {
                    if let Some(stored) = storage.namespace(&default).await? {
                        slot.insert(stored);
                    }
                }
                Err(rejection) => return Err(EngineError::Conflict(rejection)),
            }
        }
        Ok(Self {
            records: RwLock::new(records),
        })
    }

    /// Why a request may not name `name`, if it may not: the engine's own namespace, or one
    /// that does not exist. Every request pays this check: it reads, never copies.
    pub(crate) fn check(&self, name: &Namespace) -> Result<(), EngineError> {
        if name.as_str() == SYSTEM_NAMESPACE {
            return Err(EngineError::BadRequest(format!(
                "namespace {name} is reserved for the engine; use another namespace"
            )));
        }
        if self.records.read().contains_key(name) {
            Ok(())
        } else {
            Err(EngineError::NamespaceNotFound(name.clone()))
        }
    }

    /// What `read` makes of the record of `name`, if it is known (no copy of the record).
    pub(crate) fn with_record<T>(
        &self,
        name: &Namespace,
        read: impl FnOnce(&NamespaceRecord) -> T,
    ) -> Option<T> {
        self.records.read().get(name).map(read)
    }

    /// The record of `name`, once [`check`](Self::check) lets it be named.
    fn record(&self, name: &Namespace) -> Result<NamespaceRecord, EngineError> {
        self.check(name)?;
        self.records
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::NamespaceNotFound(name.clone()))
    }

    /// How long runs of `name` are kept after they close (the default retention for a
    /// namespace the registry does not know, which only the engine's own rows can name).
    pub(crate) fn retention(&self, name: &Namespace) -> Duration {
        self.records
            .read()
            .get(name)
            .map_or(endure_core::namespace::RETENTION_DEFAULT, |record| {
                record.config.retention
            })
    }

    /// Every known namespace's name.
    pub(crate) fn names(&self) -> Vec<Namespace> {
        self.records
            .read()
            .keys()
            .filter(|name| name.as_str() != SYSTEM_NAMESPACE)
            .cloned()
            .collect()
    }

    /// A namespace's deployment `name`, as last stored.
    pub(crate) fn deployment(
        &self,
        namespace: &Namespace,
        name: &str,
    ) -> Option<endure_core::versioning::WorkerDeployment> {
        self.records
            .read()
            .get(namespace)
            .and_then(|record| record.deployments.get(name).cloned())
    }

    /// A namespace's deployments, by name.
    pub(crate) fn deployments(
        &self,
        namespace: &Namespace,
    ) -> Vec<endure_core::versioning::WorkerDeployment> {
        self.records
            .read()
            .get(namespace)
            .map(|record| record.deployments.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every deployment of every namespace (matching's routing at start).
    pub(crate) fn all_deployments(
        &self,
    ) -> Vec<(Namespace, endure_core::versioning::WorkerDeployment)> {
        self.records
            .read()
            .values()
            .flat_map(|record| {
                record
                    .deployments
                    .values()
                    .map(|deployment| (record.name.clone(), deployment.clone()))
            })
            .collect()
    }

    /// Takes every record newer than the one known (another node of the cluster changed
    /// it); returns those taken.
    pub(crate) fn absorb(&self, records: Vec<NamespaceRecord>) -> Vec<NamespaceRecord> {
        let mut known = self.records.write();
        let mut taken = Vec::new();
        for record in records {
            let newer = known
                .get(&record.name)
                .is_none_or(|current| current.version < record.version);
            if newer {
                known.insert(record.name.clone(), record.clone());
                taken.push(record);
            }
        }
        taken
    }

    fn remember(&self, record: NamespaceRecord) {
        let mut records = self.records.write();
        let newer = records
            .get(&record.name)
            .is_none_or(|known| known.version < record.version);
        if newer {
            records.insert(record.name.clone(), record);
        }
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Registers a namespace (Temporal's `RegisterNamespace`); its name must be new.
    pub async fn create_namespace(
        &self,
        name: Namespace,
        config: NamespaceConfig,
    ) -> Result<NamespaceRecord, EngineError> {
        if name.as_str() == SYSTEM_NAMESPACE {
            return Err(EngineError::BadRequest(format!(
                "namespace {name} is reserved for the engine; choose another name"
            )));
        }
        config.validate()?;
        let record = NamespaceRecord::new(name.clone(), config, self.inner.clock.now());
        match self
            .inner
            .storage
            .put_namespace(record.clone(), None)
            .await?
        {
            Ok(()) => {
                tracing::info!(namespace = %name, "namespace created");
                self.inner.namespaces.remember(record.clone());
                self.inner.schedulers.serve(self, &name);
                Ok(record)
            }
            Err(WriteRejection::NamespaceConditionFailed { .. }) => {
                Err(EngineError::NamespaceExists(name))
            }
            Err(rejection) => Err(EngineError::Conflict(rejection)),
        }
    }

    /// A namespace's record.
    pub async fn describe_namespace(
        &self,
        name: &Namespace,
    ) -> Result<NamespaceRecord, EngineError> {
        self.inner.namespaces.record(name)
    }

    /// Every namespace a user may name, by name.
    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, EngineError> {
        Ok(self
            .inner
            .namespaces
            .records
            .read()
            .values()
            .cloned()
            .collect())
    }

    /// Changes a namespace's configuration; a new retention applies to runs that close
    /// from now on.
    pub async fn update_namespace(
        &self,
        name: &Namespace,
        update: NamespaceUpdate,
    ) -> Result<NamespaceRecord, EngineError> {
        let (updated, ()) = self
            .change_namespace(name, |current, now| {
                Ok((current.updated(&update, now)?, ()))
            })
            .await?;
        tracing::info!(namespace = %name, version = updated.version, "namespace updated");
        Ok(updated)
    }

    /// Changes a namespace's record: `change` makes the next record (one version later)
    /// from the stored one and the time, and the write is conditioned on the version read,
    /// read and tried again when a concurrent change won. The record is remembered once
    /// durable. Returns it and what `change` answered.
    pub(super) async fn change_namespace<T>(
        &self,
        name: &Namespace,
        change: impl Fn(&NamespaceRecord, Timestamp) -> Result<(NamespaceRecord, T), EngineError>,
    ) -> Result<(NamespaceRecord, T), EngineError> {
        for _ in 0..CHANGE_ATTEMPTS_MAX {
            let current = match self.inner.storage.namespace(name).await? {
                Some(record) if name.as_str() != SYSTEM_NAMESPACE => record,
                _ => return Err(EngineError::NamespaceNotFound(name.clone())),
            };
            let (updated, answer) = change(&current, self.inner.clock.now())?;
            debug_assert_eq!(updated.version, current.version + 1);
            match self
                .inner
                .storage
                .put_namespace(updated.clone(), Some(current.version))
                .await?
            {
                Ok(()) => {
                    self.inner.namespaces.remember(updated.clone());
                    return Ok((updated, answer));
                }
                // Someone else changed it between the read and the write: read again.
                Err(WriteRejection::NamespaceConditionFailed { .. }) => {}
                Err(rejection) => return Err(EngineError::Conflict(rejection)),
            }
        }
        Err(EngineError::Conflict(
            WriteRejection::NamespaceConditionFailed {
                name: name.clone(),
                expected: None,
                actual: None,
            },
        ))
    }
}
