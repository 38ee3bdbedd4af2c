//! The dev server's HTTP listener: `/metrics` read by a Prometheus text-format parser after
//! workflows ran through a real worker, and `/healthz` and `/readyz`.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes and a real socket, on the wall clock"
)]

use std::io::{Read, Write};
use std::net::TcpStream;

use prometheus_parse::{Sample, Scrape, Value};

use crate::processes::{Server, WorkerProcess, cli, ok};
use crate::worker::QUEUE;

/// `GET path` over HTTP/1.1 on a fresh connection: the status code and the body.
pub(crate) fn get(address: &str, path: &str) -> (u16, String) {
    exchange(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
    )
}

/// `POST path` with a JSON body, as [`get`].
pub(crate) fn post_json(address: &str, path: &str, body: &str) -> (u16, String) {
    exchange(
        address,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Sends `request` on a fresh connection and reads the whole answer: its status and body.
fn exchange(address: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The samples of metric `name` whose labels include every one of `labels`.
fn samples<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| {
            labels
                .iter()
                .all(|(key, value)| sample.labels.get(key) == Some(*value))
        })
        .collect()
}

/// The one value of counter or gauge `name` with `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(scrape, name, labels);
    assert_eq!(found.len(), 1, "one sample of {name} {labels:?}: {found:?}");
    match found[0].value {
        Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => value,
        ref other => panic!("{name} is not a counter or gauge: {other:?}"),
    }
}

/// How many observations histogram `name` with `labels` holds, summed over its series.
fn observations(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> u64 {
    samples(scrape, name, labels)
        .iter()
        .map(|sample| match &sample.value {
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |bucket| bucket.count) as u64,
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .sum()
}

#[test]
fn metrics_count_what_a_quick_start_did_and_health_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("dev.redb"), 0, &[]);
    let at = server.address.as_str();
    let http = server
        .metrics
        .clone()
        .expect("the ready line names /metrics");
    assert_eq!(get(&http, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(&http, "/readyz"), (200, "ready\n".to_owned()));

    let _worker = WorkerProcess::start(at);
    // A parent with two children (three runs, two activities) and a run with a timer.
    let family = [
        "workflow", "execute", "--type", "Family", "-t", QUEUE, "-w", "fam", "-i",
    ];
    ok(cli(at, &[&family[..], &[r#"["ada", "grace"]"#]].concat()));
    ok(cli(
        at,
        &[
            "workflow", "execute", "--type", "Steps", "-t", QUEUE, "-w", "steps", "-i", r#""x""#,
        ],
    ));
    // A refused call: counted under its error kind.
    let missing = cli(at, &["workflow", "describe", "-w", "nobody"]);
    assert_eq!(missing.code, 3, "not found: {}", missing.stderr);

    let (status, text) = get(&http, "/metrics");
    assert_eq!(status, 200);
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap();
    let default = [("namespace", "default")];

    // Runs: four started, four completed, none open.
    assert_eq!(
        value(&scrape, "endure_workflows_started_total", &default),
        4.0
    );
    assert_eq!(
        value(
            &scrape,
            "endure_workflows_closed_total",
            &[("namespace", "default"), ("status", "Completed")]
        ),
        4.0
    );
    assert_eq!(value(&scrape, "endure_open_workflows", &default), 0.0);

    // Requests by RPC and outcome, with their latency.
    assert_eq!(
        value(
            &scrape,
            "endure_requests_total",
            &[("rpc", "StartWorkflow"), ("outcome", "ok")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &scrape,
            "endure_requests_total",
            &[("rpc", "DescribeWorkflow"), ("outcome", "NotFound")]
        ),
        1.0
    );
    assert!(
        value(
            &scrape,
            "endure_requests_total",
            &[("rpc", "CompleteActivityTask"), ("outcome", "ok")]
        ) == 4.0
    );
    assert_eq!(
        observations(
            &scrape,
            "endure_request_latency_seconds",
            &[("rpc", "StartWorkflow")]
        ),
        2
    );

    // Each of the four activities was the only one its workflow task scheduled, on the
    // worker's own queue: each started eagerly, in that task's completion.
    assert_eq!(
        value(
            &scrape,
            "endure_activity_eager_starts_total",
            &[("namespace", "default")]
        ),
        4.0
    );

    // Commits: counted, timed and sized; all durable, none in flight, no outbox left.
    let commits = value(&scrape, "endure_commits_total", &[]);
    assert!(commits >= 10.0, "{commits} commits");
    assert_eq!(value(&scrape, "endure_commit_failures_total", &[]), 0.0);
    assert_eq!(
        observations(&scrape, "endure_commit_latency_seconds", &[]),
        commits as u64
    );
    assert_eq!(
        observations(&scrape, "endure_commit_batch_writes", &[]),
        commits as u64
    );
    assert_eq!(value(&scrape, "endure_writes_in_flight", &[]), 0.0);
    assert_eq!(value(&scrape, "endure_outbox_backlog", &[]), 0.0);
    assert!(value(&scrape, "endure_storage_fsyncs_total", &[]) >= commits);
    assert!(value(&scrape, "endure_storage_bytes_written_total", &[]) > 0.0);

    // The shard caches served the runs' later transitions.
    assert!(value(&scrape, "endure_run_cache_hits_total", &[]) > 0.0);
    assert!(samples(&scrape, "endure_run_cache_misses_total", &[]).len() == 1);

    // The Steps timer, and the task and activity timeouts armed on the way, fired or were
    // cleared: at least the timer fired, with a lateness recorded for each.
    let fired = value(&scrape, "endure_deadlines_fired_total", &[]);
    assert!(fired >= 1.0, "{fired}");
    assert_eq!(
        observations(&scrape, "endure_deadline_lateness_seconds", &[]),
        fired as u64
    );

    // The worker's connections are open; each shard's inbox is sampled.
    assert!(value(&scrape, "endure_open_connections", &[]) >= 1.0);
    assert_eq!(
        samples(&scrape, "endure_shard_inbox_depth", &[]).len(),
        32,
        "one per shard of a new store"
    );
}

/// The Grafana dashboard in the repository reads only metrics that exist, and shows every
/// one of them somewhere.
#[test]
fn the_grafana_dashboard_reads_the_metrics_that_exist() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/endure.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut read = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("endure_") || word.starts_with("temporal_") {
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| word.strip_suffix(suffix))
                        .unwrap_or(word);
                    read.insert(base.to_owned());
                }
            }
        }
    }
    let known: std::collections::BTreeSet<String> = endure_server::engine::instruments::ALL
        .iter()
        .chain(endure::metrics::ALL)
        .map(|name| (*name).to_owned())
        .collect();
    let unknown: Vec<_> = read.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard reads unknown metrics {unknown:?}"
    );
    let unshown: Vec<_> = known.difference(&read).collect();
    assert!(
        unshown.is_empty(),
        "the dashboard shows nothing of {unshown:?}"
    );
}
