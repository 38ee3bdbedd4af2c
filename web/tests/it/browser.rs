//! The UI in a real browser: Chromium driven through WebDriver (chromedriver) against the
//! web routes of an engine running real workflows. Screenshots of every page are saved
//! under `target/ui-screenshots/` on every run.
//!
//! The browser is `endure_web::testing::Chromium`: without chromedriver the test says so
//! and passes, unless `CI` or `ENDURE_TEST_BROWSER=required` is set (`.ci/run` sets it and
//! installs Debian's `chromium` and `chromium-driver`).

use endure_web::testing::Chromium;
use serde_json::{Value, json};

use crate::Fixture;
use crate::api::{follow, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_lists_filters_shows_and_acts_on_workflows_in_chromium() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let fixture = Fixture::start().await;
    start(&fixture, "order_42", "OrderWorkflow", json!("user_123")).await;
    follow(&fixture, "order_42").await;
    start(&fixture, "approval-1", "ApprovalWorkflow", json!("order-7")).await;
    start(&fixture, "approval-2", "ApprovalWorkflow", json!("order-8")).await;
    let browser = &chromium;

    // `/` opens the workflows: all three, with counts per status.
    browser.goto(&fixture.url("/")).await;
    browser
        .until(
            "three runs",
            "document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 3",
        )
        .await;
    assert!(
        browser
            .browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/namespaces/default/workflows")
    );
    let ids = browser.texts("#workflows tbody tr td:nth-child(2)").await;
    assert_eq!(ids, ["approval-2", "approval-1", "order_42"]);
    let statuses = browser.texts("#workflows tbody tr td:first-child").await;
    assert_eq!(statuses, ["Running", "Running", "Completed"]);
    assert_eq!(browser.texts("#workflow-count").await, ["3 runs"]);
    assert_eq!(
        browser
            .texts("#status-facets a[data-status=Running] .n")
            .await,
        ["2"]
    );
    assert_eq!(
        browser
            .texts("#status-facets a[data-status=Completed] .n")
            .await,
        ["1"]
    );
    browser.screenshot("workflows").await;

    // A filter in the list language.
    browser
        .type_into("#filter-input", "WorkflowType = 'OrderWorkflow'")
        .await;
    browser.click("#filter-form button[type=submit]").await;
    browser
        .until(
            "the filtered list",
            "document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 1",
        )
        .await;
    assert_eq!(
        browser.texts("#workflows tbody tr td:nth-child(2)").await,
        ["order_42"]
    );
    browser.screenshot("workflows-filtered").await;

    // The status facet.
    browser
        .goto(&fixture.url("/namespaces/default/workflows"))
        .await;
    browser.click("#status-facets a[data-status=Running]").await;
    browser.until("the running runs", "location.search.includes('status=Running') && document.querySelectorAll('#workflows tbody tr[data-workflow-id]').length === 2").await;
    assert_eq!(
        browser.texts("#workflows tbody tr td:nth-child(2)").await,
        ["approval-2", "approval-1"]
    );

    // A bad filter: its error where it was typed, the text kept.
    browser
        .goto(&fixture.url("/namespaces/default/workflows"))
        .await;
    browser.type_into("#filter-input", "WorkflowType =").await;
    browser.click("#filter-form button[type=submit]").await;
    browser
        .until(
            "the filter's error",
            "document.getElementById('filter-error') !== null",
        )
        .await;
    let error = browser.texts("#filter-error").await.join(" ");
    assert!(
        error.contains("does not parse at character 15: expected a value, found the end"),
        "{error}"
    );
    let kept = browser
        .find("#filter-input")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("WorkflowType ="));
    let invalid = browser
        .run("return document.getElementById('filter-input').classList.contains('invalid')")
        .await;
    assert_eq!(invalid, Value::Bool(true));
    browser.screenshot("workflows-bad-filter").await;

    // The Quick Start's page: 16 events, its timeline, its result.
    browser
        .goto(&fixture.url("/namespaces/default/workflows/order_42"))
        .await;
    browser
        .until(
            "the history",
            "document.querySelectorAll('#history tbody tr').length === 16",
        )
        .await;
    let types = browser.texts("#history tbody tr td:nth-child(3)").await;
    let expected: Vec<&str> = endure_core::history::samples::quickstart_history()
        .events
        .iter()
        .map(|event| event.event_type().name())
        .collect();
    assert_eq!(types, expected);
    let lanes = browser.texts("#timeline .lane .lane-label").await;
    assert_eq!(lanes, ["activity SendEmail", "timer 1 (50ms)"]);
    assert_eq!(browser.texts("#summary-type").await, ["OrderWorkflow"]);
    let outcome = browser.texts("#outcome").await.join(" ");
    assert!(outcome.contains("workflow_completed_sent"), "{outcome}");
    // An event's attributes open in place.
    browser
        .click("#history tr[data-event-id='5'] summary")
        .await;
    browser
        .until(
            "event 5's attributes",
            "document.querySelector(\"#history tr[data-event-id='5'] details\").open",
        )
        .await;
    let attributes = browser
        .texts("#history tr[data-event-id='5'] pre.json")
        .await
        .join("");
    assert!(
        attributes.contains("\"activity_type\": \"SendEmail\""),
        "{attributes}"
    );
    browser.screenshot("workflow").await;

    // Signal approval-1 from the UI: it completes, and the signal is in its history.
    browser
        .goto(&fixture.url("/namespaces/default/workflows/approval-1"))
        .await;
    browser
        .until(
            "the stack trace",
            "document.getElementById('stack-trace').innerText !== 'Asking a worker…'",
        )
        .await;
    browser.click("button[data-open=signal]").await;
    browser
        .type_into("#dialog-signal input[name=name]", "approve")
        .await;
    browser
        .type_into("#dialog-signal textarea[name=args]", "\"ui\"")
        .await;
    browser.screenshot("workflow-signal-dialog").await;
    browser.click("#dialog-signal button[type=submit]").await;
    browser.until("the run completed", "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Completed'").await;
    let types = browser.texts("#history tbody tr td:nth-child(3)").await;
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
        .await;
    browser.click("button[data-open=terminate]").await;
    browser
        .type_into("#dialog-terminate input[name=reason]", "not needed")
        .await;
    browser.click("#dialog-terminate button[type=submit]").await;
    browser.until("the run terminated", "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Terminated'").await;
    let types = browser.texts("#history tbody tr td:nth-child(3)").await;
    assert_eq!(
        types.last().map(String::as_str),
        Some("WorkflowExecutionTerminated")
    );
    let outcome = browser.texts("#outcome").await.join(" ");
    assert!(outcome.contains("not needed"), "{outcome}");
    browser.screenshot("workflow-terminated").await;

    // Auto-refresh on a running workflow's page: its history's long poll sees the signal
    // sent from elsewhere, and the page shows the run completed.
    start(&fixture, "approval-3", "ApprovalWorkflow", json!("order-9")).await;
    browser
        .goto(&fixture.url("/namespaces/default/workflows/approval-3"))
        .await;
    browser
        .until(
            "the running run",
            "document.getElementById('auto-refresh') !== null",
        )
        .await;
    browser.click("#auto-refresh").await;
    fixture
        .client
        .handle(endure::WorkflowId::new("approval-3").unwrap(), None)
        .signal("approve", &"elsewhere")
        .await
        .unwrap();
    browser.until("the run completed by itself",
        "document.querySelector('.heading .status') && document.querySelector('.heading .status').innerText === 'Completed'",
    )
    .await;
    browser
        .run("localStorage.setItem('endure.autoRefresh', 'off');")
        .await;

    // A schedule, paused from the UI.
    crate::create_nightly(&fixture.client).await;
    browser
        .goto(&fixture.url("/namespaces/default/schedules"))
        .await;
    browser
        .until(
            "the schedule",
            "document.querySelector('#schedules tr[data-schedule-id=nightly]') !== null",
        )
        .await;
    browser
        .click("#schedules tr[data-schedule-id=nightly] button[data-schedule-action=pause]")
        .await;
    browser.until("the schedule paused", "document.querySelector('#schedules tr[data-schedule-id=nightly] button[data-schedule-action=unpause]') !== null").await;
    let state = browser
        .texts("#schedules tr[data-schedule-id=nightly] td:nth-child(3)")
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
    browser.screenshot("schedules").await;
    browser
        .goto(&fixture.url("/namespaces/default/deployments"))
        .await;
    browser.until("the deployments page", "document.querySelector('h1') && document.querySelector('h1').innerText === 'Worker deployments'").await;
    browser.screenshot("deployments").await;

    // The namespaces.
    browser.goto(&fixture.url("/namespaces")).await;
    browser
        .until(
            "the namespaces",
            "document.querySelectorAll('#namespaces tbody tr').length === 1",
        )
        .await;
    browser.screenshot("namespaces").await;

    chromium.close().await;
    fixture.stop().await;
}
