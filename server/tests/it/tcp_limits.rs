//! The TCP server's limits, each exceeded by a raw peer: connections past the limit are
//! refused with a reason, a frame trickled too slowly closes its connection, a client that
//! stops reading its replies is disconnected, and partial frames across connections stay
//! within their budget; a stopped server closes every connection. Real sockets on loopback,
//! real (short) time.
#![cfg(not(madsim))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use endure_core::protocol::{GetHistoryRequest, Request};
use endure_core::wire::{
    ClientFrame, FrameDecoder, MAGIC, PROTOCOL_VERSION, ServerFrame, decode_frame, encode_frame,
};
use endure_core::*;
use endure_server::engine::{Engine, InProcessTransport, StartWorkflowRequest};
use endure_server::tcp::{TcpServer, TcpServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type MemoryEngine =
    Engine<endure_server::storage::MemoryStorage, endure_server::clock::SystemClock>;

/// An in-memory engine served with `config`; returns its address.
async fn serve(config: TcpServerConfig) -> (SocketAddr, MemoryEngine) {
    let (address, engine, _serving) = serve_until(config, std::future::pending()).await;
    (address, engine)
}

/// An in-memory engine served with `config` until `shutdown`; its address, and the task
/// serving it.
async fn serve_until(
    config: TcpServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (SocketAddr, MemoryEngine, tokio::task::JoinHandle<()>) {
    let engine = Engine::in_memory().await.unwrap();
    let transport = Arc::new(InProcessTransport::new(engine.clone()));
    let server = TcpServer::bind("127.0.0.1:0".parse().unwrap(), transport, config)
        .await
        .unwrap();
    let address = server.local_addr().unwrap();
    (address, engine, tokio::spawn(server.serve(shutdown)))
}

/// Connects, sends the hello and reads the server's welcome.
async fn welcomed(address: SocketAddr) -> TcpStream {
    let mut stream = connect(address).await;
    let mut decoder = FrameDecoder::new(1 << 20);
    assert!(matches!(
        next(&mut stream, &mut decoder).await,
        Some(ServerFrame::Welcome { .. })
    ));
    stream
}

fn frame(message: &ClientFrame) -> Vec<u8> {
    encode_frame(message, 64 << 20).unwrap()
}

/// Connects and sends the hello (nothing read yet).
async fn connect(address: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(&frame(&ClientFrame::Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        }))
        .await
        .unwrap();
    stream
}

/// The next frame the server sends, or `None` once it closed the connection.
async fn next(stream: &mut TcpStream, decoder: &mut FrameDecoder) -> Option<ServerFrame> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        if let Some(body) = decoder.next_frame().unwrap() {
            return Some(decode_frame(&body).unwrap());
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the server answers or closes within 10 s");
        match read {
            Ok(0) | Err(_) => return None,
            Ok(read) => decoder.extend(&buffer[..read]),
        }
    }
}

/// Whether the server closes `stream` within `within` (reading and dropping what it sends).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut sink = vec![0; 64 * 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_connection_past_the_limit_is_refused_with_a_reason() {
    let (address, _engine) = serve(TcpServerConfig {
        max_connections: 3,
        ..TcpServerConfig::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(welcomed(address).await);
    }
    let mut fourth = connect(address).await;
    let refused = next(&mut fourth, &mut FrameDecoder::new(1 << 20)).await;
    assert!(
        matches!(&refused, Some(ServerFrame::Refused { reason }) if reason.contains("3 connections open, its limit")),
        "{refused:?}"
    );
    assert!(closed_within(&mut fourth, Duration::from_secs(5)).await);
    // One closes: a new connection is welcome again.
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect(address).await;
    assert!(matches!(
        next(&mut again, &mut FrameDecoder::new(1 << 20)).await,
        Some(ServerFrame::Welcome { .. })
    ));
}

#[tokio::test]
async fn a_frame_trickled_slower_than_its_arrival_timeout_closes_the_connection() {
    let (address, _engine) = serve(TcpServerConfig {
        frame_arrival_timeout: Duration::from_millis(300),
        ..TcpServerConfig::default()
    })
    .await;
    let mut stream = connect(address).await;
    let mut decoder = FrameDecoder::new(1 << 20);
    assert!(matches!(
        next(&mut stream, &mut decoder).await,
        Some(ServerFrame::Welcome { .. })
    ));
    // A frame of 100 bytes, one byte every 50 ms: never idle, never whole.
    let started = tokio::time::Instant::now();
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend([0u8; 100]);
    let mut closed = false;
    for byte in bytes {
        if stream.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    assert!(
        closed || closed_within(&mut stream, Duration::from_secs(2)).await,
        "the server closes the trickling connection"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_client_that_never_reads_its_replies_is_disconnected() {
    let (address, engine) = serve(TcpServerConfig {
        max_outgoing_bytes: 256 * 1024,
        ..TcpServerConfig::default()
    })
    .await;
    // A run whose history is about 1 MiB: each GetHistory reply is that big.
    let run_id = engine
        .start_workflow(StartWorkflowRequest {
            namespace: Namespace::default(),
            options: StartWorkflowOptions::new(
                WorkflowId::new("big").unwrap(),
                TaskQueueName::new("q").unwrap(),
            ),
            workflow_type: WorkflowType::new("Big").unwrap(),
            input: Payloads::one(Payload::json(&"x".repeat(1 << 20)).unwrap()),
            header: Header::new(),
            identity: "test".into(),
        })
        .await
        .unwrap()
        .run_id;
    let execution = endure_core::storage::ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new("big").unwrap(),
        run_id,
    };
    let mut stream = connect(address).await;
    // 64 calls (64 MiB of replies, far past what socket buffers hold), never reading.
    for id in 0..64 {
        let call = frame(&ClientFrame::Call {
            id,
            timeout: None,
            request: Box::new(Request::GetHistory(GetHistoryRequest {
                execution: execution.clone(),
            })),
        });
        if stream.write_all(&call).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Now read: what was in flight arrives, then the connection ends — long before 64 MiB.
    let mut received = 0usize;
    let mut sink = vec![0; 64 * 1024];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server closed the connection");
    assert!(received < 60 << 20, "received {received} bytes");
}

#[tokio::test]
async fn partial_frames_past_their_budget_close_the_connection_that_grows() {
    let (address, _engine) = serve(TcpServerConfig {
        max_partial_frames_bytes: 1 << 20,
        ..TcpServerConfig::default()
    })
    .await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(address).await;
        let mut decoder = FrameDecoder::new(1 << 20);
        assert!(matches!(
            next(&mut stream, &mut decoder).await,
            Some(ServerFrame::Welcome { .. })
        ));
        holders.push((stream, decoder));
    }
    // The first holds 700 KiB of a 2 MiB frame; the second's 700 KiB pass the 1 MiB budget.
    let mut partial = (2u32 << 20).to_be_bytes().to_vec();
    partial.extend(vec![0u8; 700 * 1024]);
    holders[0].0.write_all(&partial).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = holders[1].0.write_all(&partial).await;
    assert!(
        closed_within(&mut holders[1].0, Duration::from_secs(5)).await,
        "the connection that passed the budget is closed"
    );
    // The first is untouched: it still holds its partial frame, open.
    let (first, _) = &mut holders[0];
    let mut probe = [0u8; 1];
    let still_open = tokio::time::timeout(Duration::from_millis(300), first.read(&mut probe)).await;
    assert!(
        still_open.is_err(),
        "the first connection is neither closed nor answered"
    );
}

#[tokio::test]
async fn stopping_the_server_closes_every_connection_it_holds() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (address, engine, serving) = serve_until(TcpServerConfig::default(), async {
        let _ = stopped.await;
    })
    .await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(welcomed(address).await);
    }
    stop.send(()).unwrap();
    serving.await.unwrap();
    // Each connection's writing half is shut with it: its peer reads the end at once, not
    // after its own timeouts.
    for stream in &mut streams {
        assert!(closed_within(stream, Duration::from_secs(5)).await);
    }
    // And the port is free again.
    TcpServer::bind(
        address,
        Arc::new(InProcessTransport::new(engine)),
        TcpServerConfig::default(),
    )
    .await
    .expect("the port is free once the server stopped");
}
