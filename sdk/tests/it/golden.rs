//! Golden histories: histories written by earlier encodings of Endure's SDK (argument
//! payloads, marker detail keys) are kept in `sdk/tests/golden/` and must replay through
//! today's code to the same end. A workflow that was running when its workers were
//! upgraded goes on from its history, so a change of encoding that breaks one of these
//! breaks running workflows.
//!
//! `ENDURE_WRITE_GOLDEN=DIR cargo test -p endure golden::write` writes the histories of
//! today's encoding into DIR (to add a new era's file; never to overwrite an old one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use endure::history::{HistoryEvent, HistoryExport};
use endure::workflow::{
    ActivityError, ChildWorkflowOptions, DEFAULT_VERSION, LocalActivityOptions, WorkflowContext,
    WorkflowError,
};
use endure::*;
use endure::{EventAttributes, Payloads};

use crate::store_client;

/// Every feature whose payloads or markers an encoding shapes: tuple arguments to an
/// activity, a child and a signal; bytes; a side effect, a mutable side effect, a version
/// marker; a local activity retried once; an update and a query.
#[endure::workflow(name = "Golden")]
pub(crate) async fn golden(
    ctx: WorkflowContext,
    (name, count): (String, u32),
) -> Result<(String, Vec<u8>), WorkflowError> {
    let version = ctx.get_version("greeting", DEFAULT_VERSION, 2);
    let id: u64 = ctx.side_effect(|| 42_u64)?;
    let mode: String = ctx.mutable_side_effect("mode", || "fast".to_owned(), |a, b| a == b)?;
    let updates = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&updates);
    ctx.set_update_handler("bump", move |_ctx: WorkflowContext, by: u32| {
        let counted = Arc::clone(&counted);
        async move { Ok(counted.fetch_add(by, Ordering::SeqCst) + by) }
    });
    let queried = name.clone();
    ctx.set_query_handler("name", move |(): ()| Ok::<_, String>(queried.clone()));
    let activity = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(30),
    ));
    let greeting: String = activity
        .execute_activity("Greet", &(name.clone(), count))
        .await?;
    let bytes: Vec<u8> = activity.execute_activity("Bytes", &count).await?;
    let local: u32 = ctx
        .execute_local_activity("FlakyOnce", &(), local_options())
        .await?;
    let poke = ctx.signal_channel("poke").recv().await;
    let (word, times): (String, u32) = endure::decode_arguments(&poke)?;
    let child: String = ctx
        .execute_child_workflow(
            "GoldenChild",
            &(word, times),
            ChildWorkflowOptions {
                workflow_id: Some("golden-child".to_owned()),
                ..ChildWorkflowOptions::default()
            },
        )
        .await?;
    ctx.wait_condition(move || updates.load(Ordering::SeqCst) > 0)
        .await;
    Ok((
        format!("{greeting} v{version} #{id} {mode} local{local} {child}"),
        bytes,
    ))
}

/// Repeats a word.
#[endure::workflow(name = "GoldenChild")]
pub(crate) async fn golden_child(
    _ctx: WorkflowContext,
    (word, times): (String, u32),
) -> Result<String, WorkflowError> {
    Ok(word.repeat(times as usize))
}

macro_rules! activity {
    ($name:ident, $type_name:literal, $input:ty, $output:ty) => {
        struct $name;
        impl endure::activity::ActivityDefinition for $name {
            const NAME: &'static str = $type_name;
            type Input = $input;
            type Output = $output;
        }
    };
}
activity!(Greet, "Greet", (String, u32), String);
activity!(Bytes, "Bytes", u32, Vec<u8>);
activity!(FlakyOnce, "FlakyOnce", (), u32);

fn local_options() -> LocalActivityOptions {
    LocalActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(10),
            backoff_coefficient: 1.0,
            ..RetryPolicy::default()
        }),
        ..LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(5))
    }
}

/// The start of the golden workflow (its queue is set by [`run_golden`]).
pub(crate) fn golden_options() -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new("golden").unwrap(),
        TaskQueueName::new("golden").unwrap(),
    )
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Runs `Golden` to completion through `client` (a worker on its transport) and returns
/// the parent's and the child's histories as `client` reads them.
pub(crate) async fn run_golden(
    client: &Client,
    options: StartWorkflowOptions,
) -> (Vec<HistoryEvent>, Vec<HistoryEvent>) {
    let queue = TaskQueueName::new("golden").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<golden>();
    worker.register::<golden_child>();
    worker.register_activity::<Greet, _, _>(|_ctx, (name, count)| async move {
        Ok::<_, ActivityError>(format!("hello {name} x{count}"))
    });
    worker.register_activity::<Bytes, _, _>(|_ctx, count| async move {
        Ok::<_, ActivityError>((0..count).map(|n| n as u8).collect::<Vec<u8>>())
    });
    worker.register_activity::<FlakyOnce, _, _>(|ctx: ActivityContext, ()| async move {
        let attempt = ctx.info().attempt;
        if attempt < 2 {
            return Err(ActivityError::application("first attempt fails", "Flaky"));
        }
        Ok(attempt)
    });
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions {
        task_queue: queue,
        ..options
    };
    let handle = client
        .start_workflow(options, "Golden", &("ada".to_owned(), 3_u32))
        .await
        .unwrap();
    handle
        .signal("poke", &("ab".to_owned(), 2_u32))
        .await
        .unwrap();
    let bumped: u32 = handle.update("bump", &5_u32).await.unwrap();
    assert_eq!(bumped, 5);
    let name: String = handle.query("name", &()).await.unwrap();
    assert_eq!(name, "ada");
    let (text, bytes): (String, Vec<u8>) = handle.result().await.unwrap();
    assert_eq!(text, "hello ada x3 v2 #42 fast local2 abab");
    assert_eq!(bytes, [0, 1, 2]);
    let parent = handle.history().await.unwrap();
    let child = client
        .handle(WorkflowId::new("golden-child").unwrap(), None)
        .history()
        .await
        .unwrap();
    let _ = stop.send(());
    running.await.unwrap();
    (parent, child)
}

/// Every golden history replays through today's code: the same commands, to the end.
#[test]
fn golden_histories_replay_through_todays_code() {
    let mut replayed = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    for path in files {
        let json = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let replayer = if name.contains("child") {
            Replayer::for_workflow::<golden_child>()
        } else {
            Replayer::for_workflow::<golden>()
        };
        replayer
            .replay_json(&json)
            .unwrap_or_else(|error| panic!("{name} no longer replays: {error}"));
        replayed += 1;
    }
    assert!(replayed >= 2, "the golden histories are missing");
}

/// The payloads and markers of `history` as Temporal's Go SDK writes them: a payload per
/// argument, bytes as `binary/plain`, Temporal's marker detail keys.
pub(crate) fn assert_temporal_encoding(history: &[HistoryEvent]) {
    let encodings = |payloads: &Payloads| -> Vec<String> {
        payloads
            .as_slice()
            .iter()
            .map(|payload| payload.encoding().unwrap_or_default().to_owned())
            .collect()
    };
    let json2 = ["json/plain", "json/plain"];
    let mut seen = Vec::new();
    for event in history {
        match &event.attributes {
            EventAttributes::WorkflowExecutionStarted(a) => {
                assert_eq!(encodings(&a.input), json2, "two start arguments");
                seen.push("start");
            }
            EventAttributes::WorkflowExecutionSignaled(a) => {
                assert_eq!(encodings(&a.input), json2, "two signal arguments");
                seen.push("signal");
            }
            EventAttributes::StartChildWorkflowExecutionInitiated(a) => {
                assert_eq!(encodings(&a.input), json2, "two child arguments");
                seen.push("child");
            }
            EventAttributes::ActivityTaskScheduled(a) if a.activity_type.as_str() == "Greet" => {
                assert_eq!(encodings(&a.input), json2, "two activity arguments");
                seen.push("greet");
            }
            EventAttributes::ActivityTaskCompleted(a) => {
                let result = a.result.as_ref().unwrap();
                if result.decode_first::<String>().is_err() {
                    assert_eq!(encodings(result), ["binary/plain"], "bytes travel raw");
                    assert_eq!(result.as_slice()[0].data, [0, 1, 2]);
                    seen.push("bytes");
                }
            }
            EventAttributes::MarkerRecorded(marker) => {
                let keys: Vec<&str> = marker.details.keys().map(String::as_str).collect();
                let decode = |key: &str| -> serde_json::Value {
                    marker.details[key].decode_first().unwrap()
                };
                match marker.marker_name.as_str() {
                    "Version" => {
                        assert_eq!(
                            keys,
                            ["change-id", "version", "version-search-attribute-updated"]
                        );
                        assert_eq!(decode("change-id"), "greeting");
                        assert_eq!(decode("version"), 2);
                    }
                    "SideEffect" => {
                        assert_eq!(keys, ["data", "side-effect-id"]);
                        assert_eq!(decode("side-effect-id"), 1);
                        assert_eq!(decode("data"), 42);
                    }
                    "MutableSideEffect" => {
                        assert_eq!(
                            keys,
                            ["data", "mutable-side-effect-call-counter", "side-effect-id"]
                        );
                        assert_eq!(decode("side-effect-id"), "mode");
                        assert_eq!(decode("mutable-side-effect-call-counter"), 1);
                    }
                    "LocalActivity" => {
                        assert_eq!(keys, ["data", "result"]);
                        let data = endure::workflow::LocalActivityMarkerData::of(marker).unwrap();
                        assert_eq!(
                            (data.activity_id.as_str(), data.activity_type.as_str()),
                            ("1", "FlakyOnce")
                        );
                        assert_eq!((data.attempt, data.backoff_nanos), (2, 0));
                        let raw = decode("data");
                        for field in [
                            "ActivityID",
                            "ActivityType",
                            "ReplayTime",
                            "Attempt",
                            "Backoff",
                        ] {
                            assert!(raw.get(field).is_some(), "Go's field {field}: {raw}");
                        }
                    }
                    other => panic!("unexpected marker {other}"),
                }
                seen.push(match marker.marker_name.as_str() {
                    "Version" => "version",
                    "SideEffect" => "side effect",
                    "MutableSideEffect" => "mutable side effect",
                    _ => "local activity",
                });
            }
            _ => {}
        }
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "bytes",
            "child",
            "greet",
            "local activity",
            "mutable side effect",
            "side effect",
            "signal",
            "start",
            "version"
        ]
    );
}

/// Today's histories are written in Temporal's encoding and replay (what the golden files
/// will hold for this era).
#[tokio::test]
async fn todays_histories_replay() {
    let (client, _store) = store_client().await;
    let (parent, child) = run_golden(&client, golden_options()).await;
    assert_temporal_encoding(&parent);
    Replayer::for_workflow::<golden>()
        .replay_history(&parent)
        .unwrap();
    Replayer::for_workflow::<golden_child>()
        .replay_history(&child)
        .unwrap();
    if let Ok(directory) = std::env::var("ENDURE_WRITE_GOLDEN") {
        let era = std::env::var("ENDURE_GOLDEN_ERA").unwrap_or_else(|_| "today".into());
        let directory = PathBuf::from(directory);
        for (suffix, history) in [("golden", parent), ("golden-child", child)] {
            let path = directory.join(format!("{era}-{suffix}.json"));
            std::fs::write(&path, HistoryExport::new(history).to_json()).unwrap();
        }
    }
}
