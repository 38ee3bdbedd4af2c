//! `endure operator search-attribute create | list | remove` (Temporal's `temporal operator
//! search-attribute`): a namespace's custom search attributes, which list filters may name.

use clap::{Args, Subcommand};
use endure::{SearchAttributeType, SearchAttributesListing};

use crate::args::ClientArgs;
use crate::error::{CliError, usage};
use crate::render::{Table, print};
use crate::workflow::client;

/// `endure operator search-attribute …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SearchAttributeCommand {
    /// Register custom search attributes: `--name Tier --type Keyword` (both repeatable,
    /// in pairs).
    Create(CreateArgs),
    /// The namespace's search attributes, system and custom, with their types.
    List(ListArgs),
    /// Unregister custom search attributes (runs keep their values; filters naming them are
    /// refused again).
    Remove(RemoveArgs),
}

/// `search-attribute create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// An attribute's name (repeatable).
    #[arg(long, required = true)]
    pub(crate) name: Vec<String>,
    /// Its type: Keyword, Text, Int, Double, Bool, Datetime or KeywordList (one per --name).
    #[arg(long = "type", required = true)]
    pub(crate) kind: Vec<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `search-attribute list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `search-attribute remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// An attribute's name (repeatable).
    #[arg(long, required = true)]
    pub(crate) name: Vec<String>,
    /// Remove without asking (the command refuses to run without it).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

impl SearchAttributeCommand {
    /// The server address the command talks to.
    pub(crate) fn address(&self) -> String {
        match self {
            Self::Create(args) => args.client.address.clone(),
            Self::List(args) => args.client.address.clone(),
            Self::Remove(args) => args.client.address.clone(),
        }
    }
}

/// Runs one search-attribute command.
pub(crate) async fn run(command: SearchAttributeCommand) -> Result<(), CliError> {
    let (listing, output) = match command {
        SearchAttributeCommand::Create(args) => {
            if args.name.len() != args.kind.len() {
                return Err(usage(format!(
                    "give one --type per --name ({} names, {} types)",
                    args.name.len(),
                    args.kind.len()
                )));
            }
            let kinds = args
                .kind
                .iter()
                .map(|kind| kind.parse::<SearchAttributeType>().map_err(usage))
                .collect::<Result<Vec<_>, _>>()?;
            let pairs = args.name.iter().map(String::as_str).zip(kinds);
            let listing = client(&args.client)?.add_search_attributes(pairs).await?;
            (listing, args.client.output)
        }
        SearchAttributeCommand::List(args) => {
            let listing = client(&args.client)?.list_search_attributes().await?;
            (listing, args.client.output)
        }
        SearchAttributeCommand::Remove(args) => {
            if !args.yes {
                return Err(usage(format!(
                    "removing {} makes filters that name it fail; add --yes to remove it",
                    args.name.join(", ")
                )));
            }
            let names = args.name.iter().map(String::as_str);
            let listing = client(&args.client)?
                .remove_search_attributes(names)
                .await?;
            (listing, args.client.output)
        }
    };
    print(output, &listing, || table(&listing))
}

/// The attributes as a table, custom ones first.
fn table(listing: &SearchAttributesListing) -> String {
    let mut table = Table::new(vec!["NAME", "TYPE", "KIND"]);
    for (name, kind) in &listing.custom {
        table.row(vec![name.clone(), kind.to_string(), "custom".into()]);
    }
    for (name, kind) in &listing.system {
        table.row(vec![name.clone(), kind.to_string(), "system".into()]);
    }
    table.render()
}
