//! The server's auth configuration file (`--auth-config FILE`, TOML): API keys by hash,
//! client certificate subjects, and JWT verification keys, each with the permissions it
//! grants — reloaded when it (or its JWKS file) changes, so revoking a key is an edit.
//!
//! ```toml
//! [[api_key]]
//! name = "orders-worker"                  # the subject in audit records
//! sha256 = "9f86d081884c7d659a2feaa0…"    # `endure admin api-key create` prints it
//! permissions = ["orders:worker"]
//!
//! [[certificate]]                          # mTLS clients, by verified subject
//! subject = "CN=billing-app,O=Acme"
//! permissions = ["billing:write"]
//!
//! [jwt]                                    # bearer JWTs signed by these keys
//! jwks_file = "jwks.json"                  # relative to this file; never fetched
//! issuer = "https://auth.example.com/"     # optional
//! audience = "endure"                      # optional
//! permissions_claim = "permissions"        # Temporal's default
//! ```
//!
//! Permissions are Temporal's `namespace:role` strings (`read`, `worker`, `write`,
//! `admin`; `system:…` for every namespace).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use endure_core::access::Claims;
use serde::Deserialize;

use super::jwt::{JwksError, JwtSettings, JwtVerifier};
use super::{ApiKeyHash, CredentialStore, CredentialTable};

/// How often the watcher looks at the files' modification times.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML of this shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// An entry that cannot be used.
    #[error("{path}: {entry}: {message}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// Which entry (`api_key "orders-worker"`).
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// The JWKS file cannot be used.
    #[error("{path}: {source}")]
    Jwks {
        /// The JWKS file.
        path: PathBuf,
        /// Why.
        source: JwksError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    api_key: Vec<ApiKeyEntry>,
    #[serde(default)]
    certificate: Vec<CertificateEntry>,
    jwt: Option<JwtEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyEntry {
    name: String,
    sha256: String,
    permissions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    subject: String,
    permissions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtEntry {
    jwks_file: PathBuf,
    issuer: Option<String>,
    audience: Option<String>,
    permissions_claim: Option<String>,
    leeway_seconds: Option<u64>,
}

/// A loaded configuration: the table, and the files it came from (to watch).
#[derive(Debug)]
pub struct AuthConfig {
    /// What it accepts.
    pub table: CredentialTable,
    /// The configuration file and the JWKS file it names.
    pub files: Vec<PathBuf>,
}

fn read(path: &Path) -> Result<String, AuthConfigError> {
    std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn claims(
    path: &Path,
    entry: &str,
    subject: &str,
    permissions: &[String],
) -> Result<Claims, AuthConfigError> {
    let mut claims = Claims::new(subject);
    for permission in permissions {
        if !claims.grant_permission(permission) {
            return Err(AuthConfigError::Entry {
                path: path.to_owned(),
                entry: entry.to_owned(),
                message: format!(
                    "permission {permission:?} is not namespace:role (roles: read, worker, write, admin)"
                ),
            });
        }
    }
    Ok(claims)
}

impl AuthConfig {
    /// Reads the configuration at `path` (and its JWKS file).
    pub fn load(path: &Path) -> Result<Self, AuthConfigError> {
        let text = read(path)?;
        let file: File = toml::from_str(&text).map_err(|error| AuthConfigError::Parse {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        let mut table = CredentialTable::default();
        let mut files = vec![path.to_owned()];
        for key in &file.api_key {
            let entry = format!("api_key {:?}", key.name);
            let hash = ApiKeyHash::from_hex(&key.sha256).ok_or_else(|| AuthConfigError::Entry {
                path: path.to_owned(),
                entry: entry.clone(),
                message: "sha256 is not 64 hex digits (endure admin api-key create prints it)"
                    .into(),
            })?;
            table = table.with_api_key(hash, claims(path, &entry, &key.name, &key.permissions)?);
        }
        for certificate in &file.certificate {
            let entry = format!("certificate {:?}", certificate.subject);
            let granted = claims(path, &entry, &certificate.subject, &certificate.permissions)?;
            table = table.with_certificate(certificate.subject.clone(), granted);
        }
        if let Some(jwt) = &file.jwt {
            let jwks_path = match path.parent() {
                Some(directory) if jwt.jwks_file.is_relative() => directory.join(&jwt.jwks_file),
                _ => jwt.jwks_file.clone(),
            };
            let settings = JwtSettings {
                issuer: jwt.issuer.clone(),
                audience: jwt.audience.clone(),
                permissions_claim: jwt
                    .permissions_claim
                    .clone()
                    .unwrap_or_else(|| JwtSettings::default().permissions_claim),
                leeway_seconds: jwt
                    .leeway_seconds
                    .unwrap_or(JwtSettings::default().leeway_seconds),
            };
            let verifier =
                JwtVerifier::from_jwks(&read(&jwks_path)?, settings).map_err(|source| {
                    AuthConfigError::Jwks {
                        path: jwks_path.clone(),
                        source,
                    }
                })?;
            table = table.with_tokens(Arc::new(verifier));
            files.push(jwks_path);
        }
        Ok(Self { table, files })
    }
}

fn modified(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|file| std::fs::metadata(file).and_then(|m| m.modified()).ok())
        .collect()
}

/// Reloads `store` from `path` whenever the configuration or its JWKS file changes, until
/// the returned task is dropped or aborted. A configuration that fails to load leaves the
/// previous one in force and is logged.
pub fn watch(
    path: PathBuf,
    files: Vec<PathBuf>,
    store: Arc<CredentialStore>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut files = files;
        let mut seen = modified(&files);
        loop {
            tokio::time::sleep(RELOAD_CHECK_INTERVAL).await;
            let now = modified(&files);
            if now == seen {
                continue;
            }
            seen = now;
            match AuthConfig::load(&path) {
                Ok(config) => {
                    let (keys, certificates, jwt) = config.table.counts();
                    store.replace(config.table);
                    files = config.files;
                    seen = modified(&files);
                    tracing::warn!(path = %path.display(), keys, certificates, jwt, "auth configuration reloaded");
                }
                Err(error) => {
                    tracing::error!(%error, "the changed auth configuration does not load; the previous one stays in force");
                }
            }
        }
    })
}
