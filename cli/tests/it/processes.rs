//! Starting, stopping and talking to the processes of a test: the dev server, the worker
//! (this test binary run again with [`WORKER_ENV`] set) and CLI commands.
//!
//! Real processes on real time: the waits here bound tests by the wall clock, and pipes
//! are drained on threads.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes, waited for on the wall clock; pipes drained on threads"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set (to the server's address) in the environment of this binary run as a worker.
pub const WORKER_ENV: &str = "ENDURE_CLI_TEST_WORKER";

/// The `endure` binary cargo built for these tests.
pub fn endure() -> &'static str {
    env!("CARGO_BIN_EXE_endure")
}

/// A dev server process, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub address: String,
    /// Its metrics and health listener, host:port, as its ready line names it.
    pub metrics: Option<String>,
    /// Its web UI and HTTP API, host:port, as its ready line names it.
    pub web: Option<String>,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `endure server start-dev` on `db` and waits for its ready line.
    pub fn start(db: &Path, port: u16, namespaces: &[&str]) -> Self {
        let mut command = Command::new(endure());
        command.args(server_args(db, port, namespaces));
        command.stderr(Stdio::inherit());
        Self::spawn(command)
    }

    /// Starts the dev server on `db` with its files limited to `file_bytes` (`ulimit -f`,
    /// SIGXFSZ ignored so a write past it fails with EFBIG, as on a full disk), its log in
    /// `log`.
    pub fn start_with_file_limit(db: &Path, file_bytes: u64, log: &Path) -> Self {
        Self::start_limited(
            &format!("trap '' XFSZ; ulimit -f {}", file_bytes / 1024),
            db,
            &[],
            log,
        )
    }

    /// Starts the dev server on `db` with `extra` arguments after the shell commands
    /// `limits` (`ulimit …`), its log in `log`.
    pub fn start_limited(limits: &str, db: &Path, extra: &[&str], log: &Path) -> Self {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(format!("{limits}; exec \"$0\" \"$@\""))
            .arg(endure())
            .args(server_args(db, 0, &[]))
            .args(extra)
            .stderr(std::fs::File::create(log).unwrap());
        Self::spawn(command)
    }

    /// Starts `endure server start-dev` on `db` on a free port with `extra` arguments, its
    /// log in `log`.
    pub fn start_with(db: &Path, extra: &[&str], log: &Path) -> Self {
        Self::start_limited("true", db, extra, log)
    }

    /// Starts `endure server start --postgres URL` on a free port and waits for its ready
    /// line.
    pub fn start_postgres(url: &str) -> Self {
        let mut command = Command::new(endure());
        command
            .args(["server", "start", "--postgres", url, "--port", "0"])
            .args(["--metrics-port", "0"])
            .stderr(Stdio::inherit());
        Self::spawn(command)
    }

    fn spawn(mut command: Command) -> Self {
        command.env("RUST_LOG", "warn").stdout(Stdio::piped());
        let mut child = command.spawn().expect("the endure binary runs");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its ready line");
        let address = line
            .split_whitespace()
            .skip_while(|word| *word != "on")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in the ready line {line:?}"))
            .to_owned();
        assert!(
            line.starts_with("Endure dev server listening on")
                || line.starts_with("Endure server listening on"),
            "{line}"
        );
        let metrics = line
            .split_once("metrics on http://")
            .or_else(|| line.split_once("metrics on https://"))
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_owned);
        let web = line
            .split_once("web UI on http://")
            .or_else(|| line.split_once("web UI on https://"))
            .map(|(_, rest)| rest.trim().to_owned());
        Self {
            child,
            address,
            metrics,
            web,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `server start-dev` on `db` at `port` with `namespaces`.
fn server_args(db: &Path, port: u16, namespaces: &[&str]) -> Vec<String> {
    let mut args = vec![
        "server".to_owned(),
        "start-dev".to_owned(),
        "--db-filename".to_owned(),
        db.display().to_string(),
        "--port".to_owned(),
        port.to_string(),
        "--metrics-port".to_owned(),
        "0".to_owned(),
    ];
    for namespace in namespaces {
        args.extend(["--namespace".to_owned(), (*namespace).to_owned()]);
    }
    args
}

/// The worker process, killed when dropped.
pub struct WorkerProcess(Child);

impl WorkerProcess {
    /// Runs this test binary's worker for the server at `address`.
    pub fn start(address: &str) -> Self {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["worker::worker_process", "--exact", "--nocapture"])
            .env(WORKER_ENV, address)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a CLI command printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Stdout as JSON; panics with the whole outcome otherwise.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "{self:?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("{error}: {self:?}"))
    }
}

/// `outcome`, which must have succeeded.
pub fn ok(outcome: Outcome) -> Outcome {
    assert_eq!(outcome.code, 0, "{outcome:?}");
    outcome
}

/// Asserts `outcome` exited with `code` and said `message` on stderr.
pub fn fails(outcome: Outcome, code: i32, message: &str) {
    assert_eq!(outcome.code, code, "{outcome:?}");
    assert!(outcome.stderr.contains(message), "{outcome:?}");
}

/// The longest a CLI command may take in these tests.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `endure ARGS --address ADDRESS`; a command still running after a minute is killed
/// and fails the test.
pub fn cli(address: &str, args: &[&str]) -> Outcome {
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--address", address]);
    run(&full)
}

/// Runs `endure ARGS` (a command that reaches no server, or a server that must exit by
/// itself); one still running after a minute is killed and fails the test.
pub fn run(args: &[&str]) -> Outcome {
    run_with(args, &[])
}

/// [`run`] with environment variables set. Profiles (`--env`) are read from a file that
/// does not exist unless `ENDURE_CONFIG_FILE` is among them, so no user's file is read.
pub fn run_with(args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut child = Command::new(endure())
        .args(args)
        .env("RUST_LOG", "warn")
        .env("ENDURE_CONFIG_FILE", "/nonexistent/endure-tests.toml")
        .env_remove("ENDURE_ENV")
        .env_remove("ENDURE_ADDRESS")
        .env_remove("ENDURE_NAMESPACE")
        .env_remove("ENDURE_API_KEY")
        .env_remove("ENDURE_TLS")
        .env_remove("ENDURE_TLS_CA")
        .env_remove("ENDURE_TLS_CERT")
        .env_remove("ENDURE_TLS_KEY")
        .env_remove("ENDURE_TLS_SERVER_NAME")
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("endure {args:?} did not finish within {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Reads a pipe to its end on a thread of its own (so a full pipe never blocks the child).
fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// A run's events as `workflow show -o json` prints them (the current run when `run` is
/// `None`).
pub fn shown_events(at: &str, workflow_id: &str, run: Option<&str>) -> Vec<serde_json::Value> {
    let mut args = vec!["workflow", "show", "-w", workflow_id, "-o", "json"];
    if let Some(run) = run {
        args.extend(["-r", run]);
    }
    let shown = ok(cli(at, &args)).json();
    shown["events"].as_array().unwrap().clone()
}

/// The type of each event `shown_events` returned: its attributes' one key.
pub fn event_types(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| {
            let attributes = event["attributes"].as_object().unwrap();
            attributes.keys().next().unwrap().as_str()
        })
        .collect()
}
