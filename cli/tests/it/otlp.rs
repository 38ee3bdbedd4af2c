//! `--otlp-endpoint`: the server exports its spans to an OpenTelemetry collector over
//! OTLP/HTTP. A stand-in collector on loopback takes the export requests; the spans of a
//! workflow start reach it — the RPC, the shard's start naming the workflow — under the
//! server's service name, flushed when the server stops.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes and a real socket, on the wall clock"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::processes::{Server, cli, ok};

/// A stand-in OTLP/HTTP collector: answers every request 200 and keeps `POST /v1/traces`
/// bodies.
struct Collector {
    address: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Self { address, bodies }
    }

    /// Everything exported so far, as one byte string (OTLP protobuf keeps names and
    /// attribute values as plain bytes).
    fn exported(&self) -> Vec<u8> {
        self.bodies.lock().concat()
    }
}

/// Serves one connection's requests (keep-alive) until it closes.
fn serve(stream: TcpStream, bodies: &Mutex<Vec<Vec<u8>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        if request_line.starts_with("POST /v1/traces") {
            bodies.lock().push(body);
        }
        writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn the_servers_spans_reach_an_otlp_collector() {
    let collector = Collector::start();
    let directory = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}", collector.address);
    let server = Server::start_limited(
        ":",
        &directory.path().join("otlp.redb"),
        &["--otlp-endpoint", &endpoint],
        &directory.path().join("server.log"),
    );
    ok(cli(
        &server.address,
        &[
            "workflow", "start", "--type", "Traced", "-t", "otlp", "-w", "traced-1",
        ],
    ));
    // Stopping flushes what the batch has not sent yet.
    assert!(server.terminate());
    let exported = collector.exported();
    let log = std::fs::read_to_string(directory.path().join("server.log")).unwrap();
    for expected in [
        "endure-server",
        "rpc",
        "StartWorkflow",
        "start_workflow",
        "traced-1",
        "commit",
    ] {
        assert!(
            contains(&exported, expected),
            "{expected:?} was not exported ({} bytes; server log: {log})",
            exported.len()
        );
    }
}
