//! `endure namespace …`: create, list, describe and update namespaces (spec §5.18).

use endure::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};
use endure_core::Namespace;

use crate::args::{NamespaceCommand, Output};
use crate::error::{CliError, usage};
use crate::render::{Table, fields, print};
use crate::workflow::client;
use endure_core::duration_text as duration;

/// Runs one namespace command.
pub(crate) async fn run(command: NamespaceCommand) -> Result<(), CliError> {
    match command {
        NamespaceCommand::Create(args) => {
            let name = Namespace::new(args.name.as_str()).map_err(usage)?;
            let config = NamespaceConfig {
                description: args.description,
                owner_email: args.owner_email,
                retention: args.retention,
            };
            let record = client(&args.client)?.create_namespace(name, config).await?;
            show(args.client.output, &record)
        }
        NamespaceCommand::List(args) => {
            let records = client(&args.client)?.list_namespaces().await?;
            print(args.client.output, &records, || {
                let mut table = Table::new(vec!["NAME", "RETENTION", "OWNER", "DESCRIPTION"]);
                for record in &records {
                    table.row(vec![
                        record.name.to_string(),
                        duration::format(record.config.retention),
                        record.config.owner_email.clone(),
                        record.config.description.clone(),
                    ]);
                }
                table.render()
            })
        }
        NamespaceCommand::Describe(args) => {
            let name = Namespace::new(args.name.as_str()).map_err(usage)?;
            let record = client(&args.client)?.describe_namespace(&name).await?;
            show(args.client.output, &record)
        }
        NamespaceCommand::Update(args) => {
            let name = Namespace::new(args.name.as_str()).map_err(usage)?;
            let update = NamespaceUpdate {
                description: args.description,
                owner_email: args.owner_email,
                retention: args.retention,
            };
            if update.is_empty() {
                return Err(usage(
                    "nothing to change: give --description, --owner-email or --retention",
                ));
            }
            let record = client(&args.client)?
                .update_namespace(&name, update)
                .await?;
            show(args.client.output, &record)
        }
    }
}

fn show(output: Output, record: &NamespaceRecord) -> Result<(), CliError> {
    print(output, record, || {
        fields(&[
            ("Name", record.name.to_string()),
            ("Description", record.config.description.clone()),
            ("Owner email", record.config.owner_email.clone()),
            ("Retention", duration::format(record.config.retention)),
            ("Created", record.created.to_string()),
            ("Updated", record.updated.to_string()),
            ("Version", record.version.to_string()),
        ])
    })
}
