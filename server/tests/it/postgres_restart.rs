//! A PostgreSQL restart in the middle of a load stalls the engine and then lets it resume
//! without losing or repeating anything: an engine in this process works the 200 workflows
//! of the crash test on a cluster of the test's own (so no other test sees the restart),
//! the cluster is restarted twice under it, and every workflow must complete exactly once.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_server::clock::SystemClock;
use endure_server::engine::{Engine, EngineConfig};
use endure_server::storage::postgres::testing;
use endure_server::storage::{PostgresOptions, PostgresStorage};

use crate::engine_crash::{all_completed, check_histories, work};

/// A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port;
/// stopped when dropped.
struct Cluster {
    directory: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// As root, the server runs as `postgres` (initdb refuses root).
    as_postgres: bool,
}

impl Cluster {
    fn start(bin: PathBuf) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let uid = Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if as_postgres {
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(directory.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the cluster directory");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            directory,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "endure",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        );
        cluster.pg_ctl("start");
        cluster
    }

    fn data(&self) -> String {
        self.directory.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://endure@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command.args(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pg_ctl start|restart`, waiting until it accepts connections.
    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.directory.path().display()
        );
        let log = self
            .directory
            .path()
            .join("server.log")
            .display()
            .to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-m",
                "fast",
                "-o",
                &options,
                action,
            ],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_mid_load_stalls_then_resumes_without_loss() {
    if testing::admin_url().is_none() {
        return;
    }
    let Some(bin) = std::env::var_os("ENDURE_TEST_POSTGRES_BIN") else {
        assert!(
            std::env::var_os("ENDURE_REQUIRE_POSTGRES").is_none(),
            "ENDURE_REQUIRE_POSTGRES is set but ENDURE_TEST_POSTGRES_BIN is not"
        );
        eprintln!(
            "skipped: ENDURE_TEST_POSTGRES_BIN (set by scripts/with-postgres) names no server binaries"
        );
        return;
    };
    let cluster = Arc::new(Cluster::start(PathBuf::from(bin)));
    let url = testing::fresh_database(&cluster.url()).await.unwrap();
    let storage = PostgresStorage::connect(&url, PostgresOptions::default())
        .await
        .unwrap();
    let engine = Engine::with_ports(
        Arc::new(storage),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    // The restarts run beside the load; they record whether it was still running.
    let load_done = Arc::new(AtomicBool::new(false));
    let restarts = {
        let cluster = Arc::clone(&cluster);
        let load_done = Arc::clone(&load_done);
        tokio::task::spawn_blocking(move || {
            let mut during_load = false;
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(300));
                during_load |= !load_done.load(Ordering::Acquire);
                cluster.pg_ctl("restart");
            }
            during_load
        })
    };
    let worked = tokio::time::timeout(Duration::from_secs(90), work(engine.clone())).await;
    load_done.store(true, Ordering::Release);
    let during_load = restarts.await.unwrap();
    assert!(
        worked.is_ok(),
        "the workflows did not all complete within 90 s of two restarts"
    );
    assert!(
        during_load,
        "the load finished before the first restart: nothing was tested"
    );
    assert!(all_completed(&engine).await);
    check_histories(&engine, 0).await;
}
