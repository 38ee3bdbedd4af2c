//! `--env` profiles, as Temporal's CLI keeps them: named sets of client flags in a file, so
//! `endure workflow list --env prod` talks to production without retyping its address.
//!
//! The file is TOML, `$ENDURE_CONFIG_FILE` or else `$XDG_CONFIG_HOME/endure/endure.toml`
//! (`~/.config/endure/endure.toml`):
//!
//! ```toml
//! [env.prod]
//! address = "orders.example.com:7233"
//! namespace = "orders"
//! ```
//!
//! The profile is `--env NAME`, else `$ENDURE_ENV`, else `default` (used only if the file
//! has it). Its values become the defaults of the flags they name, so a flag on the command
//! line wins, then an `ENDURE_*` environment variable, then the profile, then the built-in
//! default. `endure env get|set|delete|list` edit the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, usage};
use crate::render::{Table, print};

/// The flags a profile may set: the client flags every command takes.
const KEYS: [&str; 3] = ["address", "namespace", "output"];

/// The profile used when none is named.
const DEFAULT_ENV: &str = "default";

/// The largest profile file read, in bytes (it is a few lines; a bigger one is a mistake).
const FILE_BYTES_MAX: u64 = 1024 * 1024;

/// `endure env …`.
#[derive(Debug, Subcommand)]
pub(crate) enum EnvCommand {
    /// Print a profile's values (or one of them with -k).
    Get(EnvKeyArgs),
    /// Set a profile's value: `endure env set --env prod -k address -v host:7233`.
    Set(EnvSetArgs),
    /// Remove a profile, or one of its values with -k.
    Delete(EnvKeyArgs),
    /// List the profiles.
    List(EnvListArgs),
}

/// `env get` and `env delete`.
#[derive(Debug, Args)]
pub(crate) struct EnvKeyArgs {
    /// The value's name: address, namespace or output.
    #[arg(long, short = 'k')]
    pub(crate) key: Option<String>,
    #[command(flatten)]
    pub(crate) list: EnvListArgs,
}

/// `env set`.
#[derive(Debug, Args)]
pub(crate) struct EnvSetArgs {
    /// The value's name: address, namespace or output.
    #[arg(long, short = 'k')]
    pub(crate) key: String,
    /// The value.
    #[arg(long, short = 'v')]
    pub(crate) value: String,
    #[command(flatten)]
    pub(crate) list: EnvListArgs,
}

/// What every `env` command takes.
#[derive(Debug, Args)]
pub(crate) struct EnvListArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = crate::args::Output::Text)]
    pub(crate) output: crate::args::Output,
}

/// The file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    env: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where the profiles live.
fn path() -> Result<PathBuf, CliError> {
    if let Some(file) = std::env::var_os("ENDURE_CONFIG_FILE") {
        return Ok(PathBuf::from(file));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or_else(|| {
            usage("no $HOME to keep profiles under; set ENDURE_CONFIG_FILE to a file path")
        })?;
    Ok(config.join("endure").join("endure.toml"))
}

fn load(path: &std::path::Path) -> Result<ProfileFile, CliError> {
    let bytes = match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ProfileFile::default());
        }
        Err(error) => return Err(usage(format!("{}: {error}", path.display()))),
        Ok(metadata) => metadata.len(),
    };
    if bytes > FILE_BYTES_MAX {
        return Err(usage(format!(
            "{} is {bytes} bytes; a profile file is at most {FILE_BYTES_MAX}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| usage(format!("{}: {error}", path.display())))?;
    let file: ProfileFile = toml::from_str(&text)
        .map_err(|error| usage(format!("{} is not a profile file: {error}", path.display())))?;
    for (name, values) in &file.env {
        if let Some(key) = values.keys().find(|key| !KEYS.contains(&key.as_str())) {
            return Err(usage(format!(
                "{}: [env.{name}] sets {key:?}; a profile sets {}",
                path.display(),
                KEYS.join(", ")
            )));
        }
    }
    Ok(file)
}

fn save(path: &std::path::Path, file: &ProfileFile) -> Result<(), CliError> {
    let text = toml::to_string_pretty(file).map_err(|error| usage(error.to_string()))?;
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory)
            .map_err(|error| usage(format!("{}: {error}", directory.display())))?;
    }
    std::fs::write(path, text).map_err(|error| usage(format!("{}: {error}", path.display())))
}

/// The profile named on the command line (`--env NAME`, `--env=NAME`) or by `$ENDURE_ENV`,
/// and whether it was named (a named profile must exist).
fn chosen(arguments: &[std::ffi::OsString]) -> (String, bool) {
    let mut words = arguments.iter().map(|word| word.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if word == "--env" {
            if let Some(name) = words.next() {
                return (name.into_owned(), true);
            }
        } else if let Some(name) = word.strip_prefix("--env=") {
            return (name.to_owned(), true);
        }
    }
    match std::env::var("ENDURE_ENV") {
        Ok(name) if !name.is_empty() => (name, true),
        _ => (DEFAULT_ENV.to_owned(), false),
    }
}

/// `command` with the chosen profile's values as the defaults of the flags they name, in
/// every subcommand that has them.
pub(crate) fn apply(
    command: clap::Command,
    arguments: &[std::ffi::OsString],
) -> Result<clap::Command, CliError> {
    let (name, named) = chosen(arguments);
    let path = path()?;
    let file = load(&path)?;
    let Some(values) = file.env.get(&name) else {
        if named && !is_env_command(arguments) {
            return Err(usage(format!(
                "no profile {name:?} in {}; create it with `endure env set --env {name} -k address -v HOST:PORT`",
                path.display()
            )));
        }
        return Ok(command);
    };
    // Only the client commands: `server start-dev --namespace`, say, is not a client flag.
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .filter(|name| !NOT_CLIENT_COMMANDS.contains(&name.as_str()))
        .collect();
    Ok(names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| with_defaults(sub, values))
    }))
}

/// Top-level commands whose flags are not the client's, which profiles leave alone.
const NOT_CLIENT_COMMANDS: [&str; 5] = ["server", "bench", "admin", "completion", "env"];

/// Whether the command line is `endure env …` (which may name a profile to create).
fn is_env_command(arguments: &[std::ffi::OsString]) -> bool {
    arguments
        .iter()
        .skip(1)
        .find(|word| !word.to_string_lossy().starts_with('-'))
        .is_some_and(|word| word == "env")
}

fn with_defaults(mut command: clap::Command, values: &BTreeMap<String, String>) -> clap::Command {
    for (key, value) in values {
        if command
            .get_arguments()
            .any(|arg| arg.get_id() == key.as_str())
        {
            let value = clap::builder::OsStr::from(clap::builder::Str::from(value.clone()));
            command = command.mut_arg(key.as_str(), |arg| arg.default_value(value));
        }
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| with_defaults(sub, values));
    }
    command
}

/// Runs `endure env …`; `env` is the profile `--env` names (or `default`).
pub(crate) fn run(command: EnvCommand, env: Option<String>) -> Result<(), CliError> {
    let path = path()?;
    let mut file = load(&path)?;
    let name = env.unwrap_or_else(|| DEFAULT_ENV.to_owned());
    match command {
        EnvCommand::List(args) => {
            let names: Vec<&String> = file.env.keys().collect();
            print(args.output, &names, || {
                names
                    .iter()
                    .map(|name| name.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        EnvCommand::Get(args) => {
            let values = file.env.get(&name).cloned().unwrap_or_default();
            let values: BTreeMap<String, String> = match &args.key {
                Some(key) => values.into_iter().filter(|(k, _)| k == key).collect(),
                None => values,
            };
            print(args.list.output, &values, || {
                let mut table = Table::new(vec!["KEY", "VALUE"]);
                for (key, value) in &values {
                    table.row(vec![key.clone(), value.clone()]);
                }
                table.render()
            })
        }
        EnvCommand::Set(args) => {
            if !KEYS.contains(&args.key.as_str()) {
                return Err(usage(format!(
                    "-k {:?}: a profile sets {}",
                    args.key,
                    KEYS.join(", ")
                )));
            }
            file.env
                .entry(name.clone())
                .or_default()
                .insert(args.key.clone(), args.value.clone());
            save(&path, &file)?;
            print(
                args.list.output,
                &serde_json::json!({ "env": name, "key": args.key, "value": args.value }),
                || format!("{name}.{} = {}", args.key, args.value),
            )
        }
        EnvCommand::Delete(args) => {
            let removed = match &args.key {
                None => file.env.remove(&name).is_some(),
                Some(key) => file
                    .env
                    .get_mut(&name)
                    .is_some_and(|values| values.remove(key).is_some()),
            };
            if !removed {
                return Err(CliError::NotFound(format!(
                    "no {} in {}",
                    args.key.as_ref().map_or_else(
                        || format!("profile {name:?}"),
                        |key| format!("{name}.{key}")
                    ),
                    path.display()
                )));
            }
            save(&path, &file)?;
            print(
                args.list.output,
                &serde_json::json!({ "deleted": name }),
                || format!("deleted {name}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<std::ffi::OsString> {
        line.split_whitespace().map(Into::into).collect()
    }

    #[test]
    fn the_profile_is_named_by_flag_in_either_spelling() {
        assert_eq!(
            chosen(&words("endure workflow list --env prod")),
            ("prod".into(), true)
        );
        assert_eq!(
            chosen(&words("endure --env=staging workflow list")).0,
            "staging"
        );
        assert!(is_env_command(&words("endure env set --env prod")));
        assert!(!is_env_command(&words("endure workflow list --env prod")));
    }

    #[test]
    fn profile_values_become_defaults_in_every_subcommand() {
        use clap::{CommandFactory, FromArgMatches};
        let values = BTreeMap::from([("address".to_owned(), "prod.example.com:7233".to_owned())]);
        let command = with_defaults(crate::args::Cli::command(), &values);
        let matches = command
            .clone()
            .try_get_matches_from(["endure", "workflow", "list"])
            .unwrap();
        let cli = crate::args::Cli::from_arg_matches(&matches).unwrap();
        let crate::args::Command::Workflow(crate::args::WorkflowCommand::List(list)) = cli.command
        else {
            panic!("{cli:?}");
        };
        assert_eq!(list.client.address, "prod.example.com:7233");
        // A flag still wins.
        let matches = command
            .try_get_matches_from(["endure", "workflow", "list", "--address", "h:1"])
            .unwrap();
        let cli = crate::args::Cli::from_arg_matches(&matches).unwrap();
        let crate::args::Command::Workflow(crate::args::WorkflowCommand::List(list)) = cli.command
        else {
            panic!("{cli:?}");
        };
        assert_eq!(list.client.address, "h:1");
    }
}
