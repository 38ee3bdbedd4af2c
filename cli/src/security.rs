//! The server's security from its flags: TLS (`--tls-cert`, `--tls-key`,
//! `--tls-client-ca`), credentials (`--auth-config`), rate limits, and the safe default —
//! a server reachable beyond loopback without TLS and credentials refuses to start unless
//! `--insecure` says so. Also `endure admin api-key create`.

use std::net::IpAddr;
use std::sync::Arc;

use endure_core::access::Claims;
use endure_server::clock::SystemClock;
use endure_server::security::config::AuthConfig;
use endure_server::security::{CredentialStore, RateLimitConfig, Security, generate_api_key};
use endure_server::tls::{ServerTls, TlsFiles};

use crate::args::{ApiKeyCreateArgs, ServerSecurityArgs};
use crate::error::{CliError, usage};
use crate::render::say;

/// A server's security, and the tasks that reload its files.
pub(crate) struct ServerSecurity {
    /// What the listeners check.
    pub(crate) security: Arc<Security>,
    /// TLS for the native listener, if on.
    pub(crate) tls: Option<ServerTls>,
    /// TLS for the HTTP listener (same certificate, HTTP's ALPN), if on.
    pub(crate) http_tls: Option<ServerTls>,
    /// Whether `--insecure` accepted listening beyond loopback unprotected.
    pub(crate) insecure: bool,
    watchers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ServerSecurity {
    fn drop(&mut self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
    }
}

impl ServerSecurity {
    /// Reads the flags and the files they name; refuses an exposed, unprotected server.
    pub(crate) fn from_args(args: &ServerSecurityArgs, ip: IpAddr) -> Result<Self, CliError> {
        let mut watchers = Vec::new();
        let (tls, http_tls) = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let files = TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: args.tls_client_ca.clone(),
                };
                // `h2` for Temporal's gRPC clients; Endure's own ask for no protocol.
                let tls = ServerTls::load(files.clone(), &[b"h2"]).map_err(usage)?;
                let http = ServerTls::load(
                    TlsFiles {
                        client_ca: None,
                        ..files
                    },
                    &[b"http/1.1"],
                )
                .map_err(usage)?;
                watchers.push(tls.watch());
                watchers.push(http.watch());
                (Some(tls), Some(http))
            }
            _ => (None, None),
        };
        let mut security = Security::open().with_clock(Arc::new(SystemClock));
        let authenticated = match &args.auth_config {
            Some(path) => {
                let config = AuthConfig::load(path).map_err(usage)?;
                let (keys, certificates, jwt) = config.table.counts();
                tracing::info!(path = %path.display(), keys, certificates, jwt, "credentials required");
                let store = Arc::new(CredentialStore::new(config.table));
                watchers.push(endure_server::security::config::watch(
                    path.clone(),
                    config.files,
                    Arc::clone(&store),
                ));
                security = security.with_authenticator(store);
                true
            }
            None => false,
        };
        for (flag, rate) in [
            ("--rps", args.rps),
            ("--namespace-rps", args.namespace_rps),
            ("--connection-rps", args.connection_rps),
        ] {
            if rate.is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
                return Err(usage(format!(
                    "{flag} must be a positive number of requests per second"
                )));
            }
        }
        security = security.with_rate_limits(RateLimitConfig {
            server_rps: args.rps,
            namespace_rps: args.namespace_rps,
            connection_rps: args.connection_rps,
        });
        check_exposure(ip, tls.is_some(), authenticated, args.insecure)?;
        Ok(Self {
            security: Arc::new(security),
            tls,
            http_tls,
            insecure: args.insecure,
            watchers,
        })
    }

    /// How the ready line describes the protection.
    pub(crate) fn describe(&self) -> String {
        let tls = match &self.tls {
            Some(tls) if tls.mutual() => "mutual TLS",
            Some(_) => "TLS",
            None => "no TLS",
        };
        let auth = if self.security.requires_authentication() {
            "credentials required"
        } else {
            "open to any caller"
        };
        format!("{tls}, {auth}")
    }
}

/// Refuses to serve the web UI beyond loopback without TLS and credentials unless the
/// server was started `--insecure` (as for the native listener).
pub(crate) fn check_web_exposure(ip: IpAddr, security: &ServerSecurity) -> Result<(), CliError> {
    check_exposure(
        ip,
        security.http_tls.is_some(),
        security.security.requires_authentication(),
        security.insecure,
    )
    .map_err(|_| {
        usage(format!(
            "--http-address {ip} would let any machine that reaches it read, change and run every namespace's workflows: give TLS (--tls-cert, --tls-key) and credentials (--auth-config), or --insecure to accept that (for a trusted network only)"
        ))
    })
}

/// Refuses to listen beyond loopback without TLS and credentials unless `insecure`.
fn check_exposure(
    ip: IpAddr,
    tls: bool,
    authenticated: bool,
    insecure: bool,
) -> Result<(), CliError> {
    if ip.is_loopback() || (tls && authenticated) {
        return Ok(());
    }
    let missing = match (tls, authenticated) {
        (false, false) => "TLS (--tls-cert, --tls-key) and credentials (--auth-config)",
        (false, true) => {
            "TLS (--tls-cert, --tls-key): credentials would cross the network in clear"
        }
        _ => "credentials (--auth-config)",
    };
    if insecure {
        tracing::warn!(%ip, missing, "listening beyond loopback without protection (--insecure): anyone who reaches the port can read, change and run every namespace's workflows");
        return Ok(());
    }
    Err(usage(format!(
        "--ip {ip} would let any machine that reaches the port read, change and run every namespace's workflows: give {missing}, or --insecure to accept that (for a trusted network only)"
    )))
}

/// `endure admin api-key create`: a fresh key from the OS's randomness, and its entry.
pub(crate) fn create_api_key(args: &ApiKeyCreateArgs) -> Result<(), CliError> {
    let mut claims = Claims::new(args.name.as_str());
    for permission in &args.permissions {
        if !claims.grant_permission(permission) {
            return Err(usage(format!(
                "--permission {permission:?}: write it as namespace:role, with role read, worker, write or admin (system:admin for every namespace)"
            )));
        }
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|error| CliError::Server(format!("no randomness from the OS: {error}")))?;
    let (key, hash) = generate_api_key(random);
    let permissions = args
        .permissions
        .iter()
        .map(|permission| format!("{permission:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    say(format!(
        "API key for {name} (shown once; the server keeps only its hash):\n\n  {key}\n\nAdd to the server's --auth-config file:\n\n[[api_key]]\nname = {name:?}\nsha256 = \"{hash}\"\npermissions = [{permissions}]\n",
        name = args.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exposed_server_needs_tls_and_credentials_or_insecure() {
        let anywhere: IpAddr = "0.0.0.0".parse().unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(check_exposure(loopback, false, false, false).is_ok());
        assert!(check_exposure(anywhere, true, true, false).is_ok());
        for (tls, auth, says) in [
            (false, false, "TLS (--tls-cert, --tls-key) and credentials"),
            (true, false, "credentials (--auth-config)"),
            (false, true, "in clear"),
        ] {
            let error = check_exposure(anywhere, tls, auth, false)
                .unwrap_err()
                .to_string();
            assert!(error.contains(says), "{error}");
            assert!(error.contains("--insecure"), "{error}");
            assert!(check_exposure(anywhere, tls, auth, true).is_ok());
        }
    }
}
