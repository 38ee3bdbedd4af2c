//! `endure bench` at tiny sizes: each workload runs to its end and prints one JSON line
//! with the figures BENCHMARKS.md names. Figures are never asserted as timings here —
//! only that they are there, and the counts that do not depend on the machine.
#![allow(
    clippy::disallowed_methods,
    reason = "runs the endure binary as a process and waits for it"
)]

use std::process::Command;

use serde_json::Value;

use crate::processes::endure;

/// Runs `endure bench ARGS` and parses the one line it prints.
fn bench(args: &[&str]) -> Value {
    let output = Command::new(endure())
        .arg("bench")
        .args(args)
        .output()
        .expect("endure runs");
    assert!(
        output.status.success(),
        "endure bench {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let mut lines = stdout.lines();
    let line = lines.next().expect("one line");
    assert_eq!(lines.next(), None, "one line only: {stdout}");
    serde_json::from_str(line).expect("a JSON line")
}

/// A figure that must be a positive number.
fn positive(line: &Value, key: &str) -> f64 {
    let value = line[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing from {line}"));
    assert!(value > 0.0, "{key} is {value} in {line}");
    value
}

#[test]
fn replay_reports_the_median_of_its_rounds_over_the_whole_history() {
    let line = bench(&["replay", "-n", "4"]);
    assert_eq!(line["workload"], "replay");
    assert_eq!(line["rounds"], 21);
    // Started, the first task (3 events), per activity 6 events (scheduled, started,
    // completed, and the next task's three), and the completion.
    assert_eq!(line["events"], 1 + 3 + 4 * 6 + 1);
    positive(&line, "events_per_s");
}

#[test]
fn hello_in_server_mode_counts_its_workflows_and_their_commits() {
    let line = bench(&["hello", "-n", "10", "--mode", "server"]);
    assert_eq!(line["workload"], "hello");
    assert_eq!(line["mode"], "server");
    assert_eq!(line["workflows"], 10);
    assert_eq!(line["durable"], true);
    positive(&line, "wf_per_s");
    positive(&line, "commits_per_wf");
    positive(&line, "bytes_written_per_wf");
}

#[test]
fn latency_carries_the_disks_floor_and_the_ratio_to_it() {
    let line = bench(&["latency", "-n", "3"]);
    assert_eq!(line["repeats"], 3);
    let p50 = positive(&line, "p50_ms");
    let floor = positive(&line, "floor_ms");
    let ratio = positive(&line, "p50_over_floor");
    // Rounded to three places each.
    assert!(
        (ratio - p50 / floor).abs() < 0.01 * ratio.max(1.0),
        "{line}"
    );
}
