//! `endure server start-dev` serves the web UI and its HTTP API beside the native protocol,
//! on one engine: what one front end starts the other sees. `--headless` turns it off.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::metrics::get;
use crate::processes::{Server, cli, ok};

/// `POST path` with a JSON body: the status and the body.
fn post_json(address: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[test]
fn the_dev_server_serves_the_ui_and_the_api_on_its_engine() {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("server.log");
    let server = Server::start_with(&directory.path().join("dev.redb"), &[], &log);
    let web = server.web.clone().expect("the ready line names the web UI");
    let (status, body) = get(&web, "/api/v1/namespaces");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"default\""), "{body}");
    let (status, _) = get(&web, "/");
    assert_eq!(status, 303);
    let (status, page) = get(&web, "/namespaces/default/workflows");
    assert_eq!(status, 200);
    assert!(page.contains("<title>Workflows · Endure</title>"), "{page}");
    // Started over HTTP, listed over the native protocol.
    let (status, body) = post_json(
        &web,
        "/api/v1/namespaces/default/workflows",
        r#"{"workflow_id":"from-http","workflow_type":"Greet","task_queue":"q","input":["Ada"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let listed = ok(cli(&server.address, &["workflow", "list", "-o", "json"]));
    assert!(listed.stdout.contains("from-http"), "{listed:?}");
    // Started natively, described over HTTP.
    ok(cli(
        &server.address,
        &[
            "workflow",
            "start",
            "--type",
            "Greet",
            "--task-queue",
            "q",
            "--workflow-id",
            "from-cli",
        ],
    ));
    let (status, body) = get(&web, "/api/v1/namespaces/default/workflows/from-cli");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"Running\""), "{body}");
    assert!(server.terminate());
}

#[test]
fn headless_serves_no_ui() {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("server.log");
    let server = Server::start_with(&directory.path().join("dev.redb"), &["--headless"], &log);
    assert_eq!(server.web, None);
    assert!(server.terminate());
}
