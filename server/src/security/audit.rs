//! The audit log: calls that change or destroy what others rely on (terminate, reset,
//! delete, cancel, namespace and schedule changes — `Request::audited`), allowed or denied,
//! logged at `info` under the `endure::audit` target with the caller's authenticated subject
//! (never the client-chosen `identity`), where it connected from, the namespace and the
//! target. Route the target to its own file or collector with the log filter
//! (`RUST_LOG=endure::audit=info`).

use endure_core::access::Denied;
use endure_core::protocol::{RemoteError, Request};

use super::Session;

/// The log target audit records are written under.
pub const TARGET: &str = "endure::audit";

/// An audited call on its way: what the record will say once the outcome is known.
#[derive(Clone, Debug)]
pub struct Pending {
    subject: String,
    peer: String,
    rpc: &'static str,
    namespace: String,
    target: String,
}

impl Pending {
    /// The record of `request` by `session`'s caller, if the call is audited.
    pub fn of(session: &Session, request: &Request) -> Option<Self> {
        let audited = request.audited()?;
        Some(Self {
            subject: session.subject().to_owned(),
            peer: session.peer.clone(),
            rpc: request.name(),
            namespace: audited.namespace.as_str().to_owned(),
            target: audited.target,
        })
    }

    /// Logs the record with the call's outcome.
    pub fn finish<T>(self, outcome: &Result<T, RemoteError>) {
        match outcome {
            Ok(_) => self.log("ok", ""),
            Err(error) => self.log(error.kind.name(), &error.message),
        }
    }

    /// Logs the record: `outcome` is `ok` or the error kind, `error` its message.
    fn log(&self, outcome: &str, error: &str) {
        tracing::info!(
            target: TARGET,
            subject = %self.subject,
            peer = %self.peer,
            rpc = self.rpc,
            namespace = %self.namespace,
            target = %self.target,
            outcome,
            error,
            "audit"
        );
    }
}

/// Records an audited call refused by authorization.
pub(super) fn denied(session: &Session, request: &Request, denied: &Denied) {
    if let Some(record) = Pending::of(session, request) {
        record.log("PermissionDenied", &denied.to_string());
    }
}
