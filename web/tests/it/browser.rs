//! The UI in a real browser: Chromium driven through WebDriver (chromedriver) against the
//! web routes of an engine running real workflows. Screenshots of every page are saved
//! under `target/ui-screenshots/` on every run.
//!
//! Needs `chromedriver` and `chromium` (Debian's `chromium-driver` and `chromium`; `.ci/run`
//! installs them). Without them the test says so and passes, unless `CI` or
//! `ENDURE_TEST_BROWSER=required` is set, when it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::Fixture;
use crate::api::{follow, start};

/// How long a page condition may take to hold.
const PATIENCE: Duration = Duration::from_secs(20);

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where chromedriver is: `$CHROMEDRIVER`, or on the PATH.
fn chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|path| path.is_file())
    })
}

fn required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("ENDURE_TEST_BROWSER").as_deref() == Ok("required")
}

/// Starts chromedriver on a free loopback port.
fn start_driver() -> Option<Driver> {
    let Some(path) = chromedriver() else {
        assert!(
            !required(),
            "chromedriver is not installed (apt-get install chromium chromium-driver), and CI needs the browser tests"
        );
        eprintln!(
            "skipping the browser tests: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()));
    Some(Driver { child, port })
}

/// A headless Chromium session through `driver`.
async fn browser(driver: &Driver) -> Browser {
    let mut capabilities = serde_json::Map::new();
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1360,1100", "--no-first-run", "--disable-extensions"]
    });
    if let Some(binary) = std::env::var_os("CHROMIUM") {
        options["binary"] = json!(binary.to_string_lossy());
    }
    capabilities.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut last = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(browser) => return browser,
            Err(error) => last = Some(error.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot start a Chromium session through chromedriver: {last:?}");
}

/// Where screenshots go: `target/ui-screenshots/`.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let directory = target.join("ui-screenshots");
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the JavaScript expression `condition` is true on the page, or fails with a
/// screenshot and the page's text.
async fn until(browser: &Browser, what: &str, condition: &str) {
    let script = format!("return !!({condition});");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if browser.execute(&script, vec![]).await.ok() == Some(Value::Bool(true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(browser, &format!("failed-{}", what.replace(' ', "-"))).await;
    let text = browser
        .execute("return document.body.innerText;", vec![])
        .await
        .unwrap_or_default();
    panic!(
        "the page never showed {what} ({condition}); it shows:\n{}",
        text.as_str().unwrap_or_default()
    );
}

/// The text of every element `selector` matches.
async fn texts(browser: &Browser, selector: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({selector:?})).map(e => e.innerText.trim());"
    );
    let value = browser.execute(&script, vec![]).await.unwrap();
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_lists_filters_shows_and_acts_on_workflows_in_chromium() {
    let Some(driver) = start_driver() else {
        return;
    };
    let fixture = Fixture::start().await;
    start(&fixture, "order_42", "OrderWorkflow", json!("user_123")).await;
    follow(&fixture, "order_42").await;
    start(&fixture, "approval-1", "ApprovalWorkflow", json!("order-7")).await;
    start(&fixture, "approval-2", "ApprovalWorkflow", json!("order-8")).await;
    let browser = browser(&driver).await;

    // `/` opens the workflows: all three, with counts per status.
    browser.goto(&fixture.url("/")).await.unwrap();
    until(
        &browser,
        "three runs",
        "document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 3",
    )
    .await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/namespaces/default/workflows")
    );
    let ids = texts(&browser, "#workflows tbody tr td:nth-child(2)").await;
    assert_eq!(ids, ["approval-2", "approval-1", "order_42"]);
    let statuses = texts(&browser, "#workflows tbody tr td:first-child").await;
    assert_eq!(statuses, ["Running", "Running", "Completed"]);
    assert_eq!(texts(&browser, "#workflow-count").await, ["3 runs"]);
    assert_eq!(
        texts(&browser, "#status-facets a[data-status=Running] .n").await,
        ["2"]
    );
    assert_eq!(
        texts(&browser, "#status-facets a[data-status=Completed] .n").await,
        ["1"]
    );
    screenshot(&browser, "workflows").await;

    // A filter in the list language.
    let input = browser.find(Locator::Css("#filter-input")).await.unwrap();
    input
        .send_keys("WorkflowType = 'OrderWorkflow'")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#filter-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &browser,
        "the filtered list",
        "document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 1",
    )
    .await;
    assert_eq!(
        texts(&browser, "#workflows tbody tr td:nth-child(2)").await,
        ["order_42"]
    );
    screenshot(&browser, "workflows-filtered").await;

    // The status facet.
    browser
        .goto(&fixture.url("/namespaces/default/workflows"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("#status-facets a[data-status=Running]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&browser, "the running runs", "location.search.includes('status=Running') && document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 2").await;
    assert_eq!(
        texts(&browser, "#workflows tbody tr td:nth-child(2)").await,
        ["approval-2", "approval-1"]
    );

    // A bad filter: its error where it was typed, the text kept.
    browser
        .goto(&fixture.url("/namespaces/default/workflows"))
        .await
        .unwrap();
    let input = browser.find(Locator::Css("#filter-input")).await.unwrap();
    input.send_keys("WorkflowType =").await.unwrap();
    browser
        .find(Locator::Css("#filter-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &browser,
        "the filter's error",
        "document.getElementById('filter-error') !== null",
    )
    .await;
    let error = texts(&browser, "#filter-error").await.join(" ");
    assert!(
        error.contains("does not parse at character 15: expected a value, found the end"),
        "{error}"
    );
    let kept = browser
        .find(Locator::Css("#filter-input"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("WorkflowType ="));
    let invalid = browser
        .execute(
            "return document.getElementById('filter-input').classList.contains('invalid')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(invalid, Value::Bool(true));
    screenshot(&browser, "workflows-bad-filter").await;

    // The Quick Start's page: 16 events, its timeline, its result.
    browser
        .goto(&fixture.url("/namespaces/default/workflows/order_42"))
        .await
        .unwrap();
    until(
        &browser,
        "the history",
        "document.querySelectorAll('#history tbody tr').length === 16",
    )
    .await;
    let types = texts(&browser, "#history tbody tr td:nth-child(3)").await;
    let expected: Vec<&str> = endure_core::history::samples::quickstart_history()
        .events
        .iter()
        .map(|event| event.event_type().name())
        .collect();
    assert_eq!(types, expected);
    let lanes = texts(&browser, "#timeline .lane .lane-label").await;
    assert_eq!(lanes, ["activity SendEmail", "timer 1 (50ms)"]);
    assert_eq!(texts(&browser, "#summary-type").await, ["OrderWorkflow"]);
    let outcome = texts(&browser, "#outcome").await.join(" ");
    assert!(outcome.contains("workflow_completed_sent"), "{outcome}");
    // An event's attributes open in place.
    browser
        .find(Locator::Css("#history tr[data-event-id='5'] summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &browser,
        "event 5's attributes",
        "document.querySelector(\"#history tr[data-event-id='5'] details\").open",
    )
    .await;
    let attributes = texts(&browser, "#history tr[data-event-id='5'] pre.json")
        .await
        .join("");
    assert!(
        attributes.contains("\"activity_type\": \"SendEmail\""),
        "{attributes}"
    );
    screenshot(&browser, "workflow").await;

    // Signal approval-1 from the UI: it completes, and the signal is in its history.
    browser
        .goto(&fixture.url("/namespaces/default/workflows/approval-1"))
        .await
        .unwrap();
    until(
        &browser,
        "the stack trace",
        "document.getElementById('stack-trace').innerText !== 'Asking a worker…'",
    )
    .await;
    browser
        .find(Locator::Css("button[data-open=signal]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("#dialog-signal input[name=name]"))
        .await
        .unwrap()
        .send_keys("approve")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#dialog-signal textarea[name=args]"))
        .await
        .unwrap()
        .send_keys("\"ui\"")
        .await
        .unwrap();
    screenshot(&browser, "workflow-signal-dialog").await;
    browser
        .find(Locator::Css("#dialog-signal button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&browser, "the run completed", "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Completed'").await;
    let types = texts(&browser, "#history tbody tr td:nth-child(3)").await;
    assert!(
        types.contains(&"WorkflowExecutionSignaled".to_owned()),
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("WorkflowExecutionCompleted")
    );
    let result: String = fixture
        .client
        .handle(endure::WorkflowId::new("approval-1").unwrap(), None)
        .result()
        .await
        .unwrap();
    assert_eq!(result, "order-7 approved by ui");

    // Terminate approval-2 from the UI, with a reason.
    browser
        .goto(&fixture.url("/namespaces/default/workflows/approval-2"))
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[data-open=terminate]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css("#dialog-terminate input[name=reason]"))
        .await
        .unwrap()
        .send_keys("not needed")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#dialog-terminate button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&browser, "the run terminated", "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Terminated'").await;
    let types = texts(&browser, "#history tbody tr td:nth-child(3)").await;
    assert_eq!(
        types.last().map(String::as_str),
        Some("WorkflowExecutionTerminated")
    );
    let outcome = texts(&browser, "#outcome").await.join(" ");
    assert!(outcome.contains("not needed"), "{outcome}");
    screenshot(&browser, "workflow-terminated").await;

    // Auto-refresh on a running workflow's page: its history's long poll sees the signal
    // sent from elsewhere, and the page shows the run completed.
    start(&fixture, "approval-3", "ApprovalWorkflow", json!("order-9")).await;
    browser
        .goto(&fixture.url("/namespaces/default/workflows/approval-3"))
        .await
        .unwrap();
    until(
        &browser,
        "the running run",
        "document.getElementById('auto-refresh') !== null",
    )
    .await;
    browser
        .find(Locator::Css("#auto-refresh"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fixture
        .client
        .handle(endure::WorkflowId::new("approval-3").unwrap(), None)
        .signal("approve", &"elsewhere")
        .await
        .unwrap();
    until(
        &browser,
        "the run completed by itself",
        "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Completed'",
    )
    .await;
    browser
        .execute("localStorage.setItem('endure.autoRefresh', 'off');", vec![])
        .await
        .unwrap();

    // A schedule, paused from the UI.
    crate::create_nightly(&fixture.client).await;
    browser
        .goto(&fixture.url("/namespaces/default/schedules"))
        .await
        .unwrap();
    until(
        &browser,
        "the schedule",
        "document.querySelector('#schedules tr[data-schedule-id=nightly]') !== null",
    )
    .await;
    browser
        .find(Locator::Css(
            "#schedules tr[data-schedule-id=nightly] button[data-schedule-action=pause]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&browser, "the schedule paused", "document.querySelector('#schedules tr[data-schedule-id=nightly] button[data-schedule-action=unpause]') !== null").await;
    let state = texts(
        &browser,
        "#schedules tr[data-schedule-id=nightly] td:nth-child(3)",
    )
    .await
    .join(" ");
    assert!(
        state.contains("Paused") && state.contains("paused from the web UI"),
        "{state}"
    );
    let description = fixture
        .client
        .schedules()
        .handle(endure::WorkflowId::new("nightly").unwrap())
        .describe()
        .await
        .unwrap();
    assert!(description.schedule.state.paused);
    screenshot(&browser, "schedules").await;
    browser
        .goto(&fixture.url("/namespaces/default/deployments"))
        .await
        .unwrap();
    until(&browser, "the deployments page", "document.querySelector('h1') && document.querySelector('h1').innerText === 'Worker deployments'").await;
    screenshot(&browser, "deployments").await;

    // The namespaces.
    browser.goto(&fixture.url("/namespaces")).await.unwrap();
    until(
        &browser,
        "the namespaces",
        "document.querySelectorAll('#namespaces tbody tr').length === 1",
    )
    .await;
    screenshot(&browser, "namespaces").await;

    browser.close().await.unwrap();
    fixture.stop().await;
}
