//! Process-crash atomicity of the redb store: a child process commits in a loop and is
//! killed (SIGKILL) at seeded random moments; after each kill the store reopens with every
//! acknowledged write whole and no write in part. Power loss is the simulator's job; this
//! is the real file system and the real process. Set `ENDURE_CRASH_SEED` to replay a run.

use crate::crash_seed::{seed, xorshift};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use endure_core::storage::*;
use endure_server::storage::RedbStorage;
use endure_server::storage::conformance::{numbered_key, numbered_presence, numbered_write};

const CHILD_ENV: &str = "ENDURE_CRASH_CHILD_DB";
const ROUNDS: u32 = 6;

/// The child: commits runs in order from the first absent one, printing each acknowledgement.
#[test]
fn child_writer_process() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RedbStorage::open(Path::new(&path)).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        let mut index = 1;
        while store
            .load_execution(&numbered_key(index))
            .await
            .unwrap()
            .is_some()
        {
            index += 1;
        }
        let mut stdout = std::io::stdout();
        loop {
            store
                .commit(vec![numbered_write(index, range)])
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            writeln!(stdout, "ACK {index}").unwrap();
            stdout.flush().unwrap();
            index += 1;
        }
    });
}

#[tokio::test]
async fn killed_writers_lose_nothing_acknowledged_and_leave_nothing_partial() {
    let seed = seed("ENDURE_CRASH_SEED");
    println!("crash test seed={seed} (rerun with ENDURE_CRASH_SEED={seed})");
    let mut next_random = xorshift(seed);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("crash.redb");
    let mut acknowledged_max = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "--nocapture", "--test-threads=1"])
            .arg("crash::child_writer_process")
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + next_random() % 400));
        child.kill().unwrap();
        child.wait().unwrap();
        let acknowledged: Vec<u64> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| line.strip_prefix("ACK ").and_then(|n| n.parse().ok()))
            .collect();
        if let Some(last) = acknowledged.last() {
            acknowledged_max = acknowledged_max.max(*last);
        }
        let store = RedbStorage::open(&path).unwrap();
        for index in 1..=acknowledged_max {
            assert_eq!(
                numbered_presence(&store, index).await,
                Some(true),
                "seed {seed} round {round}: acknowledged run {index} is not whole"
            );
        }
        for index in acknowledged_max + 1..acknowledged_max + 4 {
            assert!(
                numbered_presence(&store, index).await.is_some(),
                "seed {seed} round {round}: run {index} is partly written"
            );
        }
        drop(store);
    }
    assert!(
        acknowledged_max > 0,
        "seed {seed}: the child never acknowledged a write"
    );
}
