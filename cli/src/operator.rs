//! `endure operator …`: commands about the server itself (Temporal's `temporal operator`).

use crate::args::HealthArgs;
use crate::error::CliError;
use crate::render::print;
use crate::workflow::client;

/// `endure operator cluster health`: SERVING, or NOT_SERVING with the cause (exit 4).
pub(crate) async fn health(args: &HealthArgs) -> Result<(), CliError> {
    let health = client(&args.client)?.health().await?;
    print(args.client.output, &health, || {
        match &health.store_stopped {
            None => "SERVING".to_owned(),
            Some(cause) => format!("NOT_SERVING: {cause}"),
        }
    })?;
    match health.store_stopped {
        None => Ok(()),
        Some(_) => Err(CliError::Server(
            "the server is not serving: its store stopped after a failure; see the server's log, fix the cause, then restart the server (README: \"When the store stops\")".into(),
        )),
    }
}
