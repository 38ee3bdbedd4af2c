//! The CLI's errors and exit codes: what went wrong, what to do, and a code a script can
//! test.

use endure::ClientError;
use endure_core::protocol::ErrorKind;

/// Exit codes (also in `endure --help`).
pub(crate) mod code {
    /// The workflow ran and failed, was canceled, terminated or timed out.
    pub(crate) const WORKFLOW_FAILED: u8 = 1;
    /// The command line or a value in it is wrong (clap's usage errors exit 2 too).
    pub(crate) const USAGE: u8 = 2;
    /// The workflow, run or namespace does not exist.
    pub(crate) const NOT_FOUND: u8 = 3;
    /// The server failed, refused the call for its state, or could not be reached.
    pub(crate) const SERVER: u8 = 4;
    /// What the command would create exists already (a workflow id, a namespace).
    pub(crate) const ALREADY_EXISTS: u8 = 5;
    /// The store file is corrupt (`endure admin check`).
    pub(crate) const CORRUPT: u8 = 6;
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A bad value on the command line.
    #[error("{0}")]
    Usage(String),
    /// The client or the server refused or failed the call.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server could not be started.
    #[error("{0}")]
    Server(String),
    /// The store file is corrupt.
    #[error("{0}")]
    Corrupt(String),
    /// What the command names does not exist (a profile, say).
    #[error("{0}")]
    NotFound(String),
    /// Whoever read stdout went away (`endure … | head`): the command ends quietly.
    #[error("stdout was closed")]
    StdoutClosed,
}

impl CliError {
    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => code::USAGE,
            Self::Server(_) => code::SERVER,
            Self::Corrupt(_) => code::CORRUPT,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::StdoutClosed => 0,
            Self::Client(error) => match error {
                ClientError::Invalid(_) | ClientError::BadFilter(_) | ClientError::Payload(_) => {
                    code::USAGE
                }
                // The workflow answered: it failed, or refused the query or update.
                ClientError::WorkflowFailed(_)
                | ClientError::WorkflowClosed(_)
                | ClientError::QueryFailed(_)
                | ClientError::UpdateFailed(_) => code::WORKFLOW_FAILED,
                ClientError::Remote(remote) => match remote.kind {
                    ErrorKind::NotFound => code::NOT_FOUND,
                    ErrorKind::InvalidArgument => code::USAGE,
                    ErrorKind::AlreadyStarted | ErrorKind::AlreadyExists => code::ALREADY_EXISTS,
                    _ => code::SERVER,
                },
                _ => code::SERVER,
            },
        }
    }

    /// What to do about it, when there is something to say.
    pub(crate) fn hint(&self, address: &str) -> Option<String> {
        match self {
            Self::Client(ClientError::Remote(remote)) => match remote.kind {
                ErrorKind::Unavailable if remote.message.contains("the store is stopped") => Some(
                    "the server's store stopped after a failure: see the server's log, fix the cause (a full disk, a failing device, a corrupt file), then restart the server (README: \"When the store stops\")".into(),
                ),
                ErrorKind::Unavailable | ErrorKind::DeadlineExceeded => Some(format!(
                    "is a server running at {address}? Start one with `endure server start-dev`, or pass --address"
                )),
                ErrorKind::NotFound if remote.message.contains("workflow execution") => {
                    Some("check the workflow id and namespace (`endure workflow list`)".into())
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// A usage error from anything displayable.
pub(crate) fn usage(message: impl std::fmt::Display) -> CliError {
    CliError::Usage(message.to_string())
}
