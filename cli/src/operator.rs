//! `endure operator …`: commands about the server itself (Temporal's `temporal operator`).

use std::fmt::Write as _;

use endure::ClusterDescription;

use crate::args::{ClusterCommand, HealthArgs};
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

/// `endure cluster …` (and `endure operator cluster …`).
pub(crate) async fn cluster(command: ClusterCommand) -> Result<(), CliError> {
    match command {
        ClusterCommand::Health(args) => health(&args).await,
        ClusterCommand::Describe(args) => describe(&args).await,
    }
}

/// `endure cluster describe`: the members, the shards each holds, and every lease.
async fn describe(args: &HealthArgs) -> Result<(), CliError> {
    let description = client(&args.client)?.describe_cluster().await?;
    print(args.client.output, &description, || {
        cluster_text(&description)
    })
}

/// The description as a table of members, then one of shards.
fn cluster_text(description: &ClusterDescription) -> String {
    let Some(node) = &description.node else {
        return format!(
            "a single node serving all {} shards (not a cluster node)",
            description.shard_count
        );
    };
    let mut text = format!(
        "answered by {} ({}); {} shards\n\nMEMBER  ADDRESS  SHARDS  HEARTBEAT AGE\n",
        node.node, node.address, description.shard_count
    );
    for member in &description.members {
        let _ = writeln!(
            text,
            "{}  {}  {}  {:.1}s",
            member.member.node,
            member.member.address,
            member.shards,
            member.heartbeat_age.as_secs_f64()
        );
    }
    text.push_str("\nSHARD  OWNER  RANGE  LEASE LEFT\n");
    for shard in &description.shards {
        let owner = shard
            .owner
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let _ = writeln!(
            text,
            "{}  {}  {}  {:.1}s",
            shard.shard,
            owner,
            shard.range,
            shard.lease_remaining.as_secs_f64()
        );
    }
    text.trim_end().to_owned()
}
