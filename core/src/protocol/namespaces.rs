//! Namespace administration and the engine's health.

use serde::{Deserialize, Serialize};

use super::CheckText;
use crate::ids::Namespace;
use crate::namespace::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};

/// Register a namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateNamespaceRequest {
    /// Its name.
    pub name: Namespace,
    /// Its configuration.
    pub config: NamespaceConfig,
}

/// Describe a namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeNamespaceRequest {
    /// Its name.
    pub name: Namespace,
}

/// List every namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListNamespacesRequest;

/// Change a namespace's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateNamespaceRequest {
    /// Its name.
    pub name: Namespace,
    /// What changes.
    pub update: NamespaceUpdate,
}

/// Ask whether the engine serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRequest;

/// Whether the engine serves: Temporal's health check (`SERVING`, `NOT_SERVING`) with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Why the store stopped, if a failure stopped it (a full disk, a failing device, a
    /// corrupt file): the engine then refuses every call that needs it until restarted.
    pub store_stopped: Option<String>,
}

impl Health {
    /// Whether the engine serves requests.
    pub fn is_serving(&self) -> bool {
        self.store_stopped.is_none()
    }
}

impl CheckText for CreateNamespaceRequest {}
impl CheckText for DescribeNamespaceRequest {}
impl CheckText for ListNamespacesRequest {}
impl CheckText for UpdateNamespaceRequest {}
impl CheckText for HealthRequest {}

crate::payload_codec::no_payloads!(
    CreateNamespaceRequest,
    DescribeNamespaceRequest,
    ListNamespacesRequest,
    UpdateNamespaceRequest,
    HealthRequest,
    Health,
    NamespaceRecord,
);
