//! The TCP transport end to end: the Quick Start with client and worker in "other
//! processes" (over TCP), bad frames closing only their connection, long polls cancelled
//! with their connection or deadline, reconnection after the server comes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use endure::embedded::{Engine, InProcessTransport};
use endure::remote::{RemoteOptions, TcpTransport};
use endure::*;
use endure_core::history::{EventType, check_well_formed};
use endure_core::protocol::{
    DescribeWorkflowRequest, ErrorKind, ListWorkflowsRequest, PollWorkflowTaskRequest, Request,
    Response, Transport,
};
use endure_core::storage::VisibilityQuery;
use endure_core::wire::{
    ClientFrame, FrameDecoder, MAGIC, PROTOCOL_VERSION, ServerFrame, decode_frame, encode_frame,
};
use endure_server::storage::RedbStorage;
use endure_server::tcp::{TcpServer, TcpServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::quickstart::start_worker;

type RedbEngine = Engine<RedbStorage, endure_server::clock::SystemClock>;

/// An engine on a redb file, served over TCP on a free local port until the sender is
/// dropped or fired.
struct Served {
    engine: RedbEngine,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    _store: tempfile::TempDir,
}

impl Served {
    async fn start() -> Self {
        let store = tempfile::tempdir().unwrap();
        let engine = Engine::open(store.path().join("store.redb")).await.unwrap();
        let mut served = Self {
            engine,
            address: "127.0.0.1:0".parse().unwrap(),
            stop: None,
            serving: None,
            _store: store,
        };
        served.serve().await;
        served
    }

    /// (Re)starts serving on `self.address`.
    async fn serve(&mut self) {
        let transport = Arc::new(InProcessTransport::new(self.engine.clone()));
        let server = TcpServer::bind(self.address, transport, TcpServerConfig::default())
            .await
            .unwrap();
        self.address = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        self.serving = Some(tokio::spawn(server.serve(async {
            let _ = stopped.await;
        })));
    }

    async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap();
        }
    }

    fn client(&self) -> Client {
        endure::remote::connect(self.address.to_string(), Namespace::default())
    }
}

#[tokio::test]
async fn the_quickstart_runs_with_client_and_worker_over_tcp() {
    let served = Served::start().await;
    let client = served.client();
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), false);
    let result: String = client
        .execute_workflow(
            StartWorkflowOptions::new(
                WorkflowId::new("order_tcp").unwrap(),
                TaskQueueName::new("my-task-queue").unwrap(),
            ),
            "OrderWorkflow",
            &"user_123",
        )
        .await
        .unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let history = client
        .handle(WorkflowId::new("order_tcp").unwrap(), None)
        .history()
        .await
        .unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        history.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
        endure_core::history::samples::quickstart_history()
            .events
            .iter()
            .map(|e| e.event_type())
            .collect::<Vec<_>>()
    );
    let _ = stop.send(());
    running.await.unwrap();
}

/// Sends raw bytes on a new connection and returns every frame the server sent back
/// before closing it.
async fn raw_exchange(address: SocketAddr, bytes: &[u8]) -> Vec<ServerFrame> {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection");
    let _ = read;
    let mut decoder = FrameDecoder::new(1 << 20);
    decoder.extend(&received);
    let mut frames = Vec::new();
    while let Ok(Some(body)) = decoder.next_frame() {
        frames.push(decode_frame::<ServerFrame>(&body).unwrap());
    }
    frames
}

fn frame(message: &ClientFrame) -> Vec<u8> {
    encode_frame(message, 1 << 20).unwrap()
}

fn hello(version: u32) -> Vec<u8> {
    frame(&ClientFrame::Hello {
        magic: MAGIC,
        version,
    })
}

#[tokio::test]
async fn bad_frames_close_only_their_own_connection() {
    let served = Served::start().await;
    let client = served.client();
    // A healthy connection, opened first and used after each bad one.
    client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();

    let wrong_version = raw_exchange(served.address, &hello(PROTOCOL_VERSION + 1)).await;
    assert!(
        matches!(&wrong_version[..], [ServerFrame::Refused { reason }] if reason.contains("version")),
        "{wrong_version:?}"
    );
    let not_ours = raw_exchange(
        served.address,
        &frame(&ClientFrame::Hello {
            magic: *b"HTTP",
            version: PROTOCOL_VERSION,
        }),
    )
    .await;
    assert!(matches!(&not_ours[..], [ServerFrame::Refused { .. }]));
    let mut garbage = hello(PROTOCOL_VERSION);
    garbage.extend([0, 0, 0, 3, 0xff, 0xff, 0xff]);
    let malformed = raw_exchange(served.address, &garbage).await;
    assert!(matches!(&malformed[..], [ServerFrame::Welcome { .. }]));
    let mut oversize = hello(PROTOCOL_VERSION);
    oversize.extend(u32::MAX.to_be_bytes());
    let oversize = raw_exchange(served.address, &oversize).await;
    assert!(matches!(&oversize[..], [ServerFrame::Welcome { .. }]));
    let call_first = raw_exchange(served.address, &frame(&ClientFrame::Ping { nonce: 1 })).await;
    assert!(matches!(&call_first[..], [ServerFrame::Refused { .. }]));

    client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .expect("the healthy connection is untouched");
}

fn poll(queue: &str) -> Request {
    Request::PollWorkflowTask(PollWorkflowTaskRequest {
        namespace: Namespace::default(),
        task_queue: TaskQueueName::new(queue).unwrap(),
        identity: "raw".into(),
        deployment_version: None,
        normal_queue: None,
    })
}

async fn start_on(client: &Client, id: &str, queue: &str) {
    client
        .start_workflow(
            StartWorkflowOptions::new(
                WorkflowId::new(id).unwrap(),
                TaskQueueName::new(queue).unwrap(),
            ),
            "Anything",
            &(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_long_poll_ends_with_its_connection_or_its_deadline_and_takes_no_task() {
    let served = Served::start().await;
    let client = served.client();

    // A raw connection long-polls, then vanishes.
    let mut stream = tokio::net::TcpStream::connect(served.address)
        .await
        .unwrap();
    let mut bytes = hello(PROTOCOL_VERSION);
    bytes.extend(frame(&ClientFrame::Call {
        id: 1,
        timeout: None,
        request: Box::new(poll("vanishing")),
    }));
    stream.write_all(&bytes).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(100)).await;
    start_on(&client, "after-close", "vanishing").await;
    let task = served
        .engine
        .poll_workflow_task(
            &Namespace::default(),
            &TaskQueueName::new("vanishing").unwrap(),
            "w",
        )
        .await
        .unwrap();
    assert!(task.is_some(), "the closed connection's poll took nothing");

    // A transport whose deadline passes during the long poll: the poll is cancelled too.
    let impatient = TcpTransport::new(
        served.address.to_string(),
        RemoteOptions {
            call_timeout: Duration::from_millis(200),
            ..RemoteOptions::default()
        },
    );
    let error = impatient.call(poll("impatient")).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::DeadlineExceeded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    start_on(&client, "after-deadline", "impatient").await;
    let task = served
        .engine
        .poll_workflow_task(
            &Namespace::default(),
            &TaskQueueName::new("impatient").unwrap(),
            "w",
        )
        .await
        .unwrap();
    assert!(task.is_some(), "the expired poll took nothing");
    // The connection itself is still good.
    assert!(matches!(
        impatient
            .call(Request::ListWorkflows(ListWorkflowsRequest {
                namespace: Namespace::default(),
                query: VisibilityQuery::default(),
                offset: 0,
                limit: 10,
            }))
            .await,
        Ok(Response::ListWorkflows(_))
    ));
}

#[tokio::test]
async fn clients_reconnect_after_the_server_comes_back() {
    let mut served = Served::start().await;
    let transport = TcpTransport::new(served.address.to_string(), RemoteOptions::default());
    let list = || {
        Request::ListWorkflows(ListWorkflowsRequest {
            namespace: Namespace::default(),
            query: VisibilityQuery::default(),
            offset: 0,
            limit: 10,
        })
    };
    transport.call(list()).await.unwrap();
    served.stop().await;
    let error = transport.call(list()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    served.serve().await;
    let mut answered = false;
    for _ in 0..50 {
        if transport.call(list()).await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "the transport reconnected");
    let _ = EventType::WorkflowExecutionStarted;
}

/// Replaces the first `from` in `bytes` with `to`.
fn splice(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|window| window == from)
        .expect("the bytes to replace");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[tokio::test]
async fn a_request_with_a_bad_name_fails_its_own_call_and_keeps_the_connection() {
    let served = Served::start().await;
    start_on(&served.client(), "order-1", "raw-names").await;
    let describe = |id: u64| ClientFrame::Call {
        id,
        timeout: None,
        request: Box::new(Request::DescribeWorkflow(DescribeWorkflowRequest {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("order-1").unwrap(),
            run_id: None,
        })),
    };
    // The workflow id `order-1` (postcard: its length, then its bytes), made invalid.
    let name = b"\x07order-1".as_slice();
    let too_long = [&[0xe9, 0x07][..], &[b'a'; 1001][..]].concat();
    let broken: [(&str, Vec<u8>); 5] = [
        ("empty", vec![0]),
        ("not UTF-8", b"\x07order\xff1".to_vec()),
        ("a control character", b"\x07order\n1".to_vec()),
        ("a bidi override", "\u{9}order\u{202E}1".as_bytes().to_vec()),
        ("over 1,000 bytes", too_long),
    ];
    let mut bytes = hello(PROTOCOL_VERSION);
    for (index, (_, replacement)) in broken.iter().enumerate() {
        let call = frame(&describe(index as u64 + 1));
        let body = splice(&call[4..], name, replacement);
        bytes.extend((body.len() as u32).to_be_bytes());
        bytes.extend(body);
    }
    bytes.extend(frame(&describe(99)));
    let mut stream = tokio::net::TcpStream::connect(served.address)
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();

    let mut decoder = FrameDecoder::new(1 << 20);
    let mut replies = std::collections::BTreeMap::new();
    let mut buffer = vec![0; 64 * 1024];
    while replies.len() < broken.len() + 1 {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("every call is answered")
            .unwrap();
        assert!(
            read > 0,
            "the connection stays open; replies so far {replies:?}"
        );
        decoder.extend(&buffer[..read]);
        while let Some(body) = decoder.next_frame().unwrap() {
            if let ServerFrame::Reply { id, result } = decode_frame::<ServerFrame>(&body).unwrap() {
                replies.insert(id, result);
            }
        }
    }
    for (index, (what, _)) in broken.iter().enumerate() {
        match &replies[&(index as u64 + 1)] {
            Err(error) => {
                assert_eq!(error.kind, ErrorKind::InvalidArgument, "{what}: {error:?}");
                assert!(
                    error.message.contains("does not decode"),
                    "{what}: {error:?}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(
        matches!(&replies[&99], Ok(Response::DescribeWorkflow(_))),
        "{:?}",
        replies[&99]
    );
}

/// Reverses a string.
struct Reverse;

impl endure::activity::ActivityDefinition for Reverse {
    const NAME: &'static str = "Reverse";
    type Input = String;
    type Output = String;
}

/// Hands its input to `Reverse` and returns what comes back.
async fn reversed(
    ctx: endure::workflow::WorkflowContext,
    text: String,
) -> Result<String, endure::workflow::WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(60),
    ));
    Ok(ctx.run_activity::<Reverse>(&text).await?)
}

/// Frames of a megabyte and more — the start, the tasks, the completions and the result —
/// go out beside small ones on the same connections. A socket takes such a frame in parts:
/// the sender writes what it takes at once and the connection's flusher writes the rest,
/// and every frame must still arrive whole and in order (a frame torn or interleaved would
/// not decode, and would close the connection).
#[tokio::test]
async fn megabyte_frames_arrive_whole_beside_small_ones() {
    let served = Served::start().await;
    let client = served.client();
    let queue = TaskQueueName::new("reverse").unwrap();
    let mut worker = Worker::new(
        served.client().transport(),
        Namespace::default(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Reversed", reversed);
    worker.register_activity::<Reverse, _, _>(|_ctx, text: String| async move {
        Ok(text.chars().rev().collect::<String>())
    });
    let (stop, running) = crate::spawn_worker(worker);
    // Each text differs from the others all along (a torn frame would mix them), and
    // every fourth is small.
    let texts: Vec<String> = (0..12u32)
        .map(|i| {
            let length = if i % 4 == 3 {
                40
            } else {
                1_200_000 + 10_000 * i as usize
            };
            (0..length)
                .map(|at| char::from(b'a' + ((at as u32 * 7 + i) % 26) as u8))
                .collect()
        })
        .collect();
    let runs: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let (client, queue, text) = (client.clone(), queue.clone(), text.clone());
            tokio::spawn(async move {
                let id = WorkflowId::new(format!("reverse-{i}")).unwrap();
                let handle = client
                    .start_workflow(StartWorkflowOptions::new(id, queue), "Reversed", &text)
                    .await
                    .unwrap();
                let result: String = handle.result().await.unwrap();
                (handle, result)
            })
        })
        .collect();
    let mut finished = Vec::new();
    for run in runs {
        finished.push(run.await.unwrap());
    }
    for ((handle, result), text) in finished.into_iter().zip(&texts) {
        assert_eq!(result, text.chars().rev().collect::<String>());
        let history = handle.history().await.unwrap();
        check_well_formed(&history).unwrap();
        assert_eq!(
            history.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
            crate::ONE_ACTIVITY_HISTORY
        );
        let endure_core::EventAttributes::ActivityTaskCompleted(completed) = &history[6].attributes
        else {
            panic!("event 7 is the activity's completion")
        };
        assert_eq!(
            (
                completed.scheduled_event_id.get(),
                completed.started_event_id.get()
            ),
            (5, 6)
        );
    }
    let _ = stop.send(());
    running.await.unwrap();
}
