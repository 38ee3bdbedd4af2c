//! The engine's, the workers' and the harness's `tracing` logs for one seed's run, on
//! stderr, when `ENDURE_SIM_LOG` holds a filter (`ENDURE_SIM_LOG=info`,
//! `ENDURE_SIM_LOG=endure_server=debug,info`): each line starts with the simulated time
//! since the run began, so it lines up with the fault log.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The environment variable holding the log filter.
pub const LOG_VARIABLE: &str = "ENDURE_SIM_LOG";

/// Simulated milliseconds since the subscriber was made.
struct SimulatedTime {
    origin: tokio::time::Instant,
}

impl FormatTime for SimulatedTime {
    fn format_time(&self, writer: &mut Writer<'_>) -> std::fmt::Result {
        write!(writer, "{:>9} ms", self.origin.elapsed().as_millis())
    }
}

/// Installs this thread's log subscriber if `ENDURE_SIM_LOG` asks for one (call inside the
/// seed's runtime, on the seed's thread); logging stops when the guard drops.
#[allow(
    clippy::disallowed_methods,
    reason = "the simulator's own clock, for the log's timestamps; not an engine input"
)]
pub fn for_this_seed() -> Option<tracing::subscriber::DefaultGuard> {
    let filter = std::env::var(LOG_VARIABLE).ok()?;
    let filter = match EnvFilter::try_new(&filter) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("{LOG_VARIABLE}={filter:?} is not a log filter: {error}");
            return None;
        }
    };
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(SimulatedTime {
            origin: tokio::time::Instant::now(),
        })
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    Some(tracing::subscriber::set_default(subscriber))
}
