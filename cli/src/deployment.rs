//! `endure deployment …`: worker deployments (spec §5.13.1) — describe and list them, set
//! a deployment's current and ramping versions, retire a drained version. The flags are
//! those of `temporal worker deployment`.

use clap::{Args, Subcommand};
use endure::WorkerDeploymentVersion;
use endure::versioning::WorkerDeploymentDescription;
use serde_json::{Value, json};

use crate::args::ClientArgs;
use crate::error::{CliError, usage};
use crate::render::{Table, fields, print};
use crate::workflow::client;

/// `endure deployment …`.
#[derive(Debug, Subcommand)]
pub(crate) enum DeploymentCommand {
    /// Show a deployment: its current and ramping versions, and each version's status.
    Describe(DeploymentNameArgs),
    /// List the namespace's deployments.
    List(ListArgs),
    /// Make a build the current version: new and auto-upgrade runs go to it.
    SetCurrent(SetCurrentArgs),
    /// Send a share of new and auto-upgrade runs to a build (or end the ramp).
    SetRamping(SetRampingArgs),
    /// Retire a drained (or never active) version.
    DeleteVersion(BuildArgs),
}

/// Which deployment.
#[derive(Debug, Args)]
pub(crate) struct DeploymentNameArgs {
    /// The deployment's name.
    #[arg(long = "name", short = 'd', visible_alias = "deployment-name")]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `deployment list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// A deployment's build.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The deployment's name.
    #[arg(long = "deployment-name", short = 'd', visible_alias = "name")]
    pub(crate) name: String,
    /// The build id.
    #[arg(long)]
    pub(crate) build_id: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `deployment set-current`.
#[derive(Debug, Args)]
pub(crate) struct SetCurrentArgs {
    /// The deployment's name.
    #[arg(long = "deployment-name", short = 'd', visible_alias = "name")]
    pub(crate) name: String,
    /// The build to make current.
    #[arg(long, required_unless_present = "unversioned")]
    pub(crate) build_id: Option<String>,
    /// Send new and auto-upgrade runs to unversioned workers instead.
    #[arg(long, conflicts_with = "build_id")]
    pub(crate) unversioned: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `deployment set-ramping`.
#[derive(Debug, Args)]
pub(crate) struct SetRampingArgs {
    /// The deployment's name.
    #[arg(long = "deployment-name", short = 'd', visible_alias = "name")]
    pub(crate) name: String,
    /// The build to ramp.
    #[arg(long, required_unless_present = "delete")]
    pub(crate) build_id: Option<String>,
    /// The share of runs, in percent (0–100).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) percentage: f32,
    /// End the ramp.
    #[arg(long, conflicts_with = "build_id")]
    pub(crate) delete: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `workflow update-options` (the flags of `temporal workflow update-options`).
#[derive(Debug, Args)]
pub(crate) struct UpdateOptionsArgs {
    #[command(flatten)]
    pub(crate) execution: crate::args::ExecutionArgs,
    /// `pinned` (to the build named), `auto_upgrade`, or `unspecified` to remove the
    /// override.
    #[arg(long, value_parser = ["pinned", "auto_upgrade", "unspecified"])]
    pub(crate) versioning_override_behavior: String,
    /// The deployment of the build to pin to.
    #[arg(long)]
    pub(crate) versioning_override_deployment_name: Option<String>,
    /// The build to pin to.
    #[arg(long)]
    pub(crate) versioning_override_build_id: Option<String>,
}

/// Sets or removes a run's versioning override.
pub(crate) async fn update_options(args: UpdateOptionsArgs) -> Result<(), CliError> {
    use endure::versioning::VersioningOverride;
    let override_ = match args.versioning_override_behavior.as_str() {
        "pinned" => {
            let (Some(deployment), Some(build_id)) = (
                args.versioning_override_deployment_name.as_deref(),
                args.versioning_override_build_id.as_deref(),
            ) else {
                return Err(usage(
                    "pinned needs --versioning-override-deployment-name and --versioning-override-build-id",
                ));
            };
            Some(VersioningOverride::Pinned(
                WorkerDeploymentVersion::new(deployment, build_id).map_err(usage)?,
            ))
        }
        "auto_upgrade" => Some(VersioningOverride::AutoUpgrade),
        _ => None,
    };
    let (handle, output) = crate::workflow::handle(&args.execution)?;
    let versioning = handle.set_versioning_override(override_).await?;
    print(output, &versioning, || {
        format!(
            "Workflow {}: {}",
            handle.workflow_id(),
            crate::workflow::versioning_text(&versioning).unwrap_or_else(|| "unversioned".into())
        )
    })
}

impl DeploymentCommand {
    /// The server address the command talks to.
    pub(crate) fn address(&self) -> String {
        match self {
            Self::Describe(a) => a.client.address.clone(),
            Self::List(a) => a.client.address.clone(),
            Self::SetCurrent(a) => a.client.address.clone(),
            Self::SetRamping(a) => a.client.address.clone(),
            Self::DeleteVersion(a) => a.client.address.clone(),
        }
    }
}

/// Runs one deployment command.
pub(crate) async fn run(command: DeploymentCommand) -> Result<(), CliError> {
    match command {
        DeploymentCommand::Describe(args) => {
            let description = client(&args.client)?
                .deployments()
                .describe(&args.name)
                .await?;
            print(args.client.output, &description_json(&description), || {
                description_text(&description)
            })
        }
        DeploymentCommand::List(args) => {
            let deployments = client(&args.client)?.deployments().list().await?;
            let value: Vec<Value> = deployments.iter().map(description_json).collect();
            print(args.client.output, &value, || {
                let mut table = Table::new(vec!["NAME", "CURRENT", "RAMPING", "PERCENTAGE"]);
                for deployment in &deployments {
                    table.row(vec![
                        deployment.name.clone(),
                        build(deployment.routing.current.as_ref()),
                        build(deployment.routing.ramping.as_ref()),
                        deployment.routing.ramping_percentage.to_string(),
                    ]);
                }
                table.render()
            })
        }
        DeploymentCommand::SetCurrent(args) => {
            let previous = client(&args.client)?
                .deployments()
                .set_current_version(&args.name, args.build_id.as_deref())
                .await?;
            let current = args.build_id.clone();
            print(
                args.client.output,
                &json!({ "current": current, "previous": previous.as_ref().map(|v| v.build_id.clone()) }),
                || {
                    format!(
                        "Deployment {}: current version {} (was {})",
                        args.name,
                        current.as_deref().unwrap_or("unversioned"),
                        build(previous.as_ref())
                    )
                },
            )
        }
        DeploymentCommand::SetRamping(args) => {
            if !(0.0..=100.0).contains(&args.percentage) {
                return Err(usage(format!(
                    "--percentage {} is outside 0–100",
                    args.percentage
                )));
            }
            client(&args.client)?
                .deployments()
                .set_ramping_version(&args.name, args.build_id.as_deref(), args.percentage)
                .await?;
            print(
                args.client.output,
                &json!({ "ramping": args.build_id, "percentage": args.percentage }),
                || match &args.build_id {
                    Some(build_id) => format!(
                        "Deployment {}: {} % of new and auto-upgrade runs go to {build_id}",
                        args.name, args.percentage
                    ),
                    None => format!("Deployment {}: no version ramps", args.name),
                },
            )
        }
        DeploymentCommand::DeleteVersion(args) => {
            let version = WorkerDeploymentVersion::new(args.name.as_str(), args.build_id.as_str())
                .map_err(usage)?;
            client(&args.client)?
                .deployments()
                .delete_version(&version)
                .await?;
            print(
                args.client.output,
                &json!({ "deleted": version.to_string() }),
                || format!("Version {version} deleted"),
            )
        }
    }
}

fn build(version: Option<&WorkerDeploymentVersion>) -> String {
    version.map_or_else(|| "-".to_owned(), |version| version.build_id.clone())
}

fn description_json(deployment: &WorkerDeploymentDescription) -> Value {
    serde_json::to_value(deployment).unwrap_or(Value::Null)
}

fn description_text(deployment: &WorkerDeploymentDescription) -> String {
    let routing = &deployment.routing;
    let mut text = fields(&[
        ("Name", deployment.name.clone()),
        ("Created", deployment.created_at.to_string()),
        ("Current version", build(routing.current.as_ref())),
        ("Ramping version", build(routing.ramping.as_ref())),
        ("Ramping percentage", routing.ramping_percentage.to_string()),
        (
            "Last changed by",
            deployment
                .last_modifier
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
    ]);
    let mut table = Table::new(vec!["BUILD ID", "STATUS", "TASK QUEUES", "LAST POLL"]);
    for summary in &deployment.versions {
        table.row(vec![
            summary.version.build_id.clone(),
            format!("{:?}", summary.status),
            summary
                .task_queues
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            summary.last_poll_at.to_string(),
        ]);
    }
    text.push_str("\n\n");
    text.push_str(&table.render());
    text
}
