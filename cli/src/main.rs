//! The `endure` binary: `endure server start-dev`, the `workflow` and `namespace`
//! commands and `endure bench` (see `endure --help` and README.md).
//!
//! Exit codes: 0 success; 1 the workflow failed (or was canceled, terminated, timed out, or
//! refused a query or update); 2 usage error; 3 not found; 4 server error or unreachable;
//! 5 already exists; 6 the store file is corrupt.

#[cfg(not(madsim))]
mod activity;
#[cfg(not(madsim))]
mod admin;
#[cfg(not(madsim))]
mod allocations;
#[cfg(not(madsim))]
mod args;
#[cfg(not(madsim))]
mod batch;
#[cfg(not(madsim))]
mod bench;
#[cfg(not(madsim))]
mod cluster_node;
#[cfg(not(madsim))]
mod deployment;
#[cfg(not(madsim))]
mod error;
#[cfg(not(madsim))]
mod http;
#[cfg(not(madsim))]
mod http_tls;
#[cfg(not(madsim))]
mod namespace;
#[cfg(not(madsim))]
mod operator;
#[cfg(not(madsim))]
mod otlp;
#[cfg(not(madsim))]
mod profiles;
#[cfg(not(madsim))]
mod render;
#[cfg(not(madsim))]
mod reset;
#[cfg(not(madsim))]
mod schedule;
#[cfg(not(madsim))]
mod schedule_args;
#[cfg(not(madsim))]
mod search_attributes;
#[cfg(not(madsim))]
mod security;
#[cfg(not(madsim))]
mod server;
#[cfg(not(madsim))]
mod show;
#[cfg(not(madsim))]
mod task_queue;
#[cfg(not(madsim))]
mod trace;
#[cfg(not(madsim))]
mod workflow;

use std::process::ExitCode;

/// Most threads the runtime keeps for blocking work (tokio's default is 512): twice what
/// the store lends at once ([`endure_server::storage::lent_threads_max`]), since each
/// lending (`block_in_place`) moves the runtime's core to a thread of this pool, and
/// the rest is room for the pool's other work. Allowed to grow to dozens of threads in
/// a burst, the pool left the memory the allocator had given each of them resident once
/// they ended: `endure bench idle` measured 168–230 MB in the runs that made 20–41
/// threads, 101–144 in those that made 6–17.
#[cfg(not(madsim))]
fn blocking_threads_max() -> usize {
    2 * endure_server::storage::lent_threads_max()
}

/// The CLI is a real process with real signals and sockets: it has no simulated form.
#[cfg(madsim)]
fn main() -> ExitCode {
    eprintln!("the endure CLI does not run under the simulator");
    ExitCode::FAILURE
}

#[cfg(not(madsim))]
fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};

    allocations::refuse_huge_pages();

    // An `--env` profile's values become the flags' defaults before clap reads the line.
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = match profiles::apply(args::Cli::command(), &arguments) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    let cli = match args::Cli::from_arg_matches(&command.get_matches_from(arguments)) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let (log_level, otlp_endpoint) = match &cli.command {
        args::Command::Server(args::ServerCommand::StartDev(args)) => {
            (args.listen.log_level, args.listen.otlp_endpoint.clone())
        }
        args::Command::Server(args::ServerCommand::Start(args)) => {
            (args.listen.log_level, args.listen.otlp_endpoint.clone())
        }
        _ => (None, None),
    };
    // Kept to the end of `main`: dropping it flushes the spans still to be exported.
    let _exporting = match init_logging(
        matches!(cli.command, args::Command::Server(_)),
        log_level,
        otlp_endpoint.as_deref(),
    ) {
        Ok(exporting) => exporting,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    let address = match &cli.command {
        args::Command::Workflow(command) => workflow_address(command),
        args::Command::Namespace(command) => namespace_address(command),
        args::Command::Schedule(command) => command.address(),
        args::Command::Deployment(command) => command.address(),
        args::Command::TaskQueue(command) => command.address(),
        args::Command::Activity(command) => command.address(),
        args::Command::Operator(args::OperatorCommand::Cluster(
            args::ClusterCommand::Health(args) | args::ClusterCommand::Describe(args),
        ))
        | args::Command::Cluster(
            args::ClusterCommand::Health(args) | args::ClusterCommand::Describe(args),
        ) => args.client.address.clone(),
        args::Command::Operator(args::OperatorCommand::Namespace(command)) => {
            namespace_address(command)
        }
        args::Command::Operator(args::OperatorCommand::SearchAttribute(command)) => {
            command.address()
        }
        args::Command::Server(_)
        | args::Command::Bench(_)
        | args::Command::Admin(_)
        | args::Command::Completion(_)
        | args::Command::Env(_) => String::new(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads_max())
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(error::code::SERVER);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            args::Command::Server(args::ServerCommand::StartDev(args)) => {
                server::start_dev(args).await
            }
            args::Command::Server(args::ServerCommand::Start(args)) => server::start(args).await,
            args::Command::Admin(args::AdminCommand::Schema(command)) => {
                admin::schema(command).await
            }
            args::Command::Workflow(command) => workflow::run(command).await,
            args::Command::Namespace(command) => namespace::run(command).await,
            args::Command::Schedule(command) => schedule::run(command).await,
            args::Command::Deployment(command) => deployment::run(command).await,
            args::Command::TaskQueue(command) => task_queue::run(command).await,
            args::Command::Activity(command) => activity::run(command).await,
            args::Command::Bench(args) => bench::run(args).await,
            args::Command::Admin(args::AdminCommand::Check(args)) => admin::check(&args),
            args::Command::Admin(args::AdminCommand::ApiKey(args::ApiKeyCommand::Create(args))) => {
                security::create_api_key(&args)
            }
            args::Command::Completion(args) => completion(&args),
            args::Command::Env(command) => profiles::run(command, cli.env),
            args::Command::Operator(args::OperatorCommand::Cluster(command))
            | args::Command::Cluster(command) => operator::cluster(command).await,
            args::Command::Operator(args::OperatorCommand::Namespace(command)) => {
                namespace::run(command).await
            }
            args::Command::Operator(args::OperatorCommand::SearchAttribute(command)) => {
                search_attributes::run(command).await
            }
        }
    });
    match result {
        Ok(()) | Err(error::CliError::StdoutClosed) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = error.hint(&address) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (the server logs `info` by
/// default; client commands only warnings); with `otlp` (a server's `--otlp-endpoint`),
/// exports its spans there too — what is returned keeps the export running.
#[cfg(not(madsim))]
fn init_logging(
    server: bool,
    level: Option<args::LogLevel>,
    otlp: Option<&str>,
) -> Result<Option<otlp::Exporting>, error::CliError> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if server { "info" } else { "warn" };
    let filter = match level {
        Some(level) => EnvFilter::new(level.directive()),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
    };
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let (spans, exporting) = match otlp {
        Some(endpoint) => {
            let (layer, exporting) = otlp::layer(endpoint)?;
            (Some(layer), Some(exporting))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    Ok(exporting)
}

/// The completion script of `args.shell`, on stdout.
#[cfg(not(madsim))]
fn completion(args: &args::CompletionArgs) -> Result<(), error::CliError> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut args::Cli::command(), "endure", &mut script);
    render::say(String::from_utf8_lossy(&script).trim_end())
}

#[cfg(not(madsim))]
fn workflow_address(command: &args::WorkflowCommand) -> String {
    use args::WorkflowCommand as W;
    match command {
        W::Start(a) | W::Execute(a) => a.client.address.clone(),
        W::List(a) => a.client.address.clone(),
        W::Count(a) => a.client.address.clone(),
        W::Describe(a) | W::Result(a) | W::Delete(a) | W::Stack(a) => a.client.address.clone(),
        W::Show(a) => a.execution.client.address.clone(),
        W::Trace(a) => a.execution.client.address.clone(),
        W::Signal(a) => a.target.client.address.clone(),
        W::SignalWithStart(a) => a.start.client.address.clone(),
        W::Query(a) => a.execution.client.address.clone(),
        W::Update(a) => a.execution.client.address.clone(),
        W::Cancel(a) | W::Terminate(a) => a.target.client.address.clone(),
        W::Reset(a) => a.execution.client.address.clone(),
        W::UpdateOptions(a) => a.execution.client.address.clone(),
    }
}

#[cfg(not(madsim))]
fn namespace_address(command: &args::NamespaceCommand) -> String {
    use args::NamespaceCommand as N;
    match command {
        N::Create(a) => a.client.address.clone(),
        N::List(a) => a.client.address.clone(),
        N::Describe(a) => a.client.address.clone(),
        N::Update(a) => a.client.address.clone(),
    }
}
