//! Namespaces (spec §5.18): the unit of isolation. Workflows, task queues and visibility
//! belong to one namespace; each has its own configuration, of which the retention period
//! matters to the engine: a closed run is deleted that long after it closed.
//!
//! A [`NamespaceRecord`] is what the engine stores per namespace; [`NamespaceConfig`] the
//! part a user sets at creation and changes with an update ([`NamespaceUpdate`]). Both are
//! validated here, so the engine, the client and the CLI refuse the same inputs.

use std::time::Duration;

use std::collections::BTreeMap;

use crate::versioning::WorkerDeployment;
use serde::{Deserialize, Serialize};

use crate::ids::Namespace;
use crate::time::Timestamp;
use crate::validation::{ValidationError, check_text};

/// The shortest retention accepted (Temporal's minimum is a day; an hour keeps short-lived
/// development namespaces possible).
pub const RETENTION_MIN: Duration = Duration::from_secs(60 * 60);

/// The longest retention accepted: ten years.
pub const RETENTION_MAX: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The retention of a namespace created without one, `default` included (Temporal CLI's
/// default: three days).
pub const RETENTION_DEFAULT: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// Longest description, in bytes.
pub const DESCRIPTION_BYTES_MAX: usize = 1_000;

/// Longest owner email, in bytes (RFC 5321's path limit).
pub const OWNER_EMAIL_BYTES_MAX: usize = 320;

/// What a user configures about a namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceConfig {
    /// What the namespace is for.
    pub description: String,
    /// Who to ask about it.
    pub owner_email: String,
    /// How long a closed run is kept (history, visibility) before it is deleted.
    #[serde(with = "crate::duration_text::readable")]
    pub retention: Duration,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        Self {
            description: String::new(),
            owner_email: String::new(),
            retention: RETENTION_DEFAULT,
        }
    }
}

impl NamespaceConfig {
    /// Checks every field against its limit.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("description", &self.description, DESCRIPTION_BYTES_MAX)?;
        check_text("owner_email", &self.owner_email, OWNER_EMAIL_BYTES_MAX)?;
        check_retention(self.retention)
    }
}

/// Checks a retention period against [`RETENTION_MIN`] and [`RETENTION_MAX`].
pub fn check_retention(retention: Duration) -> Result<(), ValidationError> {
    if !(RETENTION_MIN..=RETENTION_MAX).contains(&retention) {
        return Err(ValidationError::Retention { value: retention });
    }
    Ok(())
}

/// A change to a namespace's configuration: each field given replaces the current one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceUpdate {
    /// A new description.
    pub description: Option<String>,
    /// A new owner email.
    pub owner_email: Option<String>,
    /// A new retention; it applies to runs that close from now on (a run already closed
    /// keeps the deletion time it got when it closed, as in Temporal).
    #[serde(with = "crate::duration_text::readable_option")]
    pub retention: Option<Duration>,
}

impl NamespaceUpdate {
    /// `config` with this update applied, validated.
    pub fn apply_to(&self, config: &NamespaceConfig) -> Result<NamespaceConfig, ValidationError> {
        let updated = NamespaceConfig {
            description: self
                .description
                .clone()
                .unwrap_or_else(|| config.description.clone()),
            owner_email: self
                .owner_email
                .clone()
                .unwrap_or_else(|| config.owner_email.clone()),
            retention: self.retention.unwrap_or(config.retention),
        };
        updated.validate()?;
        Ok(updated)
    }

    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.owner_email.is_none() && self.retention.is_none()
    }
}

/// A namespace as the engine stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamespaceRecord {
    /// Its name.
    pub name: Namespace,
    /// Its configuration.
    pub config: NamespaceConfig,
    /// When it was created.
    pub created: Timestamp,
    /// When it was last changed.
    pub updated: Timestamp,
    /// Incremented by every change; changes are conditioned on it.
    pub version: u64,
    /// Its worker deployments, by name (spec §5.13.1; appended: older records have none).
    #[serde(default)]
    pub deployments: BTreeMap<String, WorkerDeployment>,
    /// Its custom search attributes and their types (appended: older records have none).
    #[serde(default)]
    pub search_attributes: crate::attribute_registry::Registered,
}

impl NamespaceRecord {
    /// A new namespace, at version 1.
    pub fn new(name: Namespace, config: NamespaceConfig, now: Timestamp) -> Self {
        Self {
            name,
            config,
            created: now,
            updated: now,
            version: 1,
            deployments: BTreeMap::new(),
            search_attributes: BTreeMap::new(),
        }
    }

    /// The record after `update`, one version later.
    pub fn updated(
        &self,
        update: &NamespaceUpdate,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            name: self.name.clone(),
            config: update.apply_to(&self.config)?,
            created: self.created,
            updated: now.max(self.updated),
            version: self.version + 1,
            deployments: self.deployments.clone(),
            search_attributes: self.search_attributes.clone(),
        })
    }

    /// When a run of this namespace that closed at `close_time` is deleted.
    pub fn deletion_time(&self, close_time: Timestamp) -> Timestamp {
        close_time.saturating_add(self.config.retention)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_unix_nanos(1_800_000_000_000_000_000)
    }

    #[test]
    fn the_default_config_is_valid_with_three_days() {
        let config = NamespaceConfig::default();
        config.validate().unwrap();
        assert_eq!(config.retention, Duration::from_secs(259_200));
    }

    #[test]
    fn retention_outside_its_range_is_refused() {
        for retention in [
            Duration::ZERO,
            Duration::from_secs(59 * 60),
            RETENTION_MAX + Duration::from_secs(1),
        ] {
            let config = NamespaceConfig {
                retention,
                ..NamespaceConfig::default()
            };
            assert_eq!(
                config.validate(),
                Err(ValidationError::Retention { value: retention })
            );
        }
        check_retention(RETENTION_MIN).unwrap();
        check_retention(RETENTION_MAX).unwrap();
    }

    #[test]
    fn texts_are_bounded_and_printable() {
        let long = NamespaceConfig {
            description: "d".repeat(DESCRIPTION_BYTES_MAX + 1),
            ..NamespaceConfig::default()
        };
        assert!(matches!(
            long.validate(),
            Err(ValidationError::TooLong {
                field: "description",
                ..
            })
        ));
        let control = NamespaceConfig {
            owner_email: "a@b\n".into(),
            ..NamespaceConfig::default()
        };
        assert!(matches!(
            control.validate(),
            Err(ValidationError::ControlCharacter {
                field: "owner_email",
                position: 3,
                ..
            })
        ));
    }

    #[test]
    fn an_update_replaces_only_what_it_names_and_bumps_the_version() {
        let record = NamespaceRecord::new(
            Namespace::new("orders").unwrap(),
            NamespaceConfig {
                description: "orders".into(),
                ..NamespaceConfig::default()
            },
            now(),
        );
        let update = NamespaceUpdate {
            retention: Some(Duration::from_secs(7 * 86_400)),
            ..NamespaceUpdate::default()
        };
        let later = now().saturating_add(Duration::from_secs(5));
        let updated = record.updated(&update, later).unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!(updated.config.description, "orders");
        assert_eq!(updated.config.retention, Duration::from_secs(604_800));
        assert_eq!((updated.created, updated.updated), (now(), later));
        assert!(!update.is_empty());
        assert!(NamespaceUpdate::default().is_empty());
        let bad = NamespaceUpdate {
            retention: Some(Duration::from_secs(1)),
            ..NamespaceUpdate::default()
        };
        assert!(record.updated(&bad, later).is_err());
    }

    #[test]
    fn a_run_is_deleted_one_retention_after_it_closed() {
        let record = NamespaceRecord::new(Namespace::default(), NamespaceConfig::default(), now());
        assert_eq!(
            record.deletion_time(now()),
            now().saturating_add(RETENTION_DEFAULT)
        );
    }
}
