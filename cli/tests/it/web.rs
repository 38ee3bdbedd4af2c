//! `endure server start-dev` serves the web UI and its HTTP API beside the native protocol,
//! on one engine: what one front end starts the other sees. `--headless` turns it off.

use crate::metrics::{get, post_json};
use crate::processes::{Server, cli, ok};

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

/// The UI of a real `endure server start-dev`, its worker another process, in Chromium: a
/// parent and its children linked both ways, their timeline, and an update sent from the
/// page answered by the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_servers_ui_in_chromium() {
    use endure_web::testing::Chromium;

    use crate::processes::WorkerProcess;
    use crate::worker::QUEUE;

    let Some(browser) = Chromium::start().await else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("server.log");
    let server = Server::start_with(&directory.path().join("dev.redb"), &[], &log);
    let at = server.address.clone();
    let web = format!("http://{}", server.web.clone().unwrap());
    let _worker = WorkerProcess::start(&at);
    let family = [
        "workflow",
        "execute",
        "--type",
        "Family",
        "-t",
        QUEUE,
        "-w",
        "fam",
        "-i",
        r#"["ada", "grace"]"#,
    ];
    ok(tokio::task::spawn_blocking(move || cli(&at, &family))
        .await
        .unwrap());
    let at = server.address.clone();
    let counter = [
        "workflow", "start", "--type", "Counter", "-t", QUEUE, "-w", "counter",
    ];
    ok(tokio::task::spawn_blocking(move || cli(&at, &counter))
        .await
        .unwrap());

    browser.goto(&format!("{web}/")).await;
    browser
        .until(
            "the four runs",
            "document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 4",
        )
        .await;
    let mut ids = browser.texts("#workflows tbody tr td:nth-child(2)").await;
    ids.sort();
    assert_eq!(ids, ["counter", "fam", "fam-child-1", "fam-child-2"]);
    browser.screenshot("dev-server-workflows").await;

    // The parent: its children listed and drawn on the timeline.
    browser
        .goto(&format!("{web}/namespaces/default/workflows/fam"))
        .await;
    browser
        .until(
            "the children",
            "document.querySelectorAll('#children tbody tr').length === 2",
        )
        .await;
    assert_eq!(
        browser.texts("#children tbody tr td:first-child").await,
        ["fam-child-1", "fam-child-2"]
    );
    assert_eq!(
        browser.texts("#children tbody tr td:nth-child(3)").await,
        [
            "ChildWorkflowExecutionCompleted",
            "ChildWorkflowExecutionCompleted"
        ]
    );
    assert_eq!(
        browser.texts("#timeline .lane-child .lane-label").await,
        ["child Greet", "child Greet"]
    );
    for outcome in browser.texts("#timeline .lane-child .lane-outcome").await {
        assert!(
            outcome.starts_with("ChildWorkflowExecutionCompleted"),
            "{outcome}"
        );
    }
    let outcome = browser.texts("#outcome pre").await.join("");
    assert!(
        outcome.contains("hello, ada") && outcome.contains("hello, grace"),
        "{outcome}"
    );
    browser.screenshot("dev-server-parent").await;
    // A child links back to its parent.
    browser.click("#children tbody tr:first-child a").await;
    browser
        .until(
            "the child's page",
            "document.getElementById('parent-link') !== null",
        )
        .await;
    assert_eq!(browser.texts("#parent-link").await, ["fam"]);
    assert_eq!(
        browser.texts("#timeline .lane-activity .lane-label").await,
        ["activity Compose"]
    );

    // An update from the page, answered by the worker process.
    browser
        .goto(&format!("{web}/namespaces/default/workflows/counter"))
        .await;
    browser.click("button[data-open=update]").await;
    browser
        .type_into("#dialog-update input[name=name]", "add")
        .await;
    browser
        .type_into("#dialog-update textarea[name=args]", "5")
        .await;
    browser.click("#dialog-update button[type=submit]").await;
    browser
        .until(
            "the update's result",
            "document.querySelector('#dialog-update output').innerText.trim() === '5'",
        )
        .await;
    browser.screenshot("dev-server-update").await;
    // Closing the dialog shows the update's events.
    browser.click("#dialog-update button[data-close]").await;
    browser
        .until(
            "the update in the history",
            "Array.from(document.querySelectorAll('#history tbody tr')).some(r => r.dataset.eventType === 'WorkflowExecutionUpdateCompleted')",
        )
        .await;
    browser.close().await;
    assert!(server.terminate());
}
