//! Payload codecs: compress every large payload before it reaches the engine (the same hook
//! serves encryption — Temporal's `PayloadCodec`).
//!
//! The client gets the codec with `with_codec`; the worker is built on that client's
//! transport, so it encodes and decodes too. The workflow passes a 20 KB report through an
//! activity; the engine stores it zlib-compressed (`binary/zlib`), as a client without the
//! codec sees, while the codec's client reads it back as written.
//!
//! `cargo run -p endure --example codec`

use std::io::{Read, Write};
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, CodecError, Payload, PayloadCodec, StartWorkflowOptions,
    TaskQueueName, Worker, WorkerOptions, WorkflowId,
};

/// Compresses payloads over 1 KiB with zlib; the original encoding travels in the metadata.
struct Zlib;

const ZLIB: &str = "binary/zlib";
const ORIGINAL: &str = "encoding-original";

impl PayloadCodec for Zlib {
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads
            .into_iter()
            .map(|payload| {
                if payload.data.len() <= 1024 {
                    return Ok(payload);
                }
                let mut encoder =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                encoder
                    .write_all(&payload.data)
                    .map_err(|error| CodecError(error.to_string()))?;
                let compressed = encoder
                    .finish()
                    .map_err(|error| CodecError(error.to_string()))?;
                let mut encoded = Payload::with_encoding(ZLIB, compressed);
                let original = payload.encoding().unwrap_or_default().as_bytes().to_vec();
                encoded.metadata.insert(ORIGINAL.into(), original);
                Ok(encoded)
            })
            .collect()
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads
            .into_iter()
            .map(|payload| {
                // Not ours (small, or written before the codec existed): untouched.
                if payload.encoding() != Some(ZLIB) {
                    return Ok(payload);
                }
                let original = payload
                    .metadata
                    .get(ORIGINAL)
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
                    .ok_or_else(|| CodecError("a zlib payload without its encoding".into()))?
                    .to_owned();
                let mut data = Vec::new();
                flate2::read::ZlibDecoder::new(payload.data.as_slice())
                    .read_to_end(&mut data)
                    .map_err(|error| CodecError(error.to_string()))?;
                Ok(Payload::with_encoding(&original, data))
            })
            .collect()
    }
}

#[endure::activity(name = "Summarise")]
async fn summarise(_ctx: ActivityContext, report: String) -> Result<usize, ActivityError> {
    Ok(report.lines().count())
}

#[endure::workflow(name = "Report")]
async fn report(ctx: WorkflowContext, report: String) -> Result<(usize, String), WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let lines = ctx.run_activity::<summarise>(&report).await?;
    Ok((lines, report))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let plain = endure::embedded::open(directory.path().join("codec.redb")).await?;
    let client = plain.clone().with_codec(Zlib);
    let queue = TaskQueueName::new("reports")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<report>().register::<summarise>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let text: String = (0..500)
        .map(|n| format!("line {n}: all systems nominal\n"))
        .collect();
    let handle = client
        .start::<report>(
            StartWorkflowOptions::new(WorkflowId::new("report-1")?, queue),
            &text,
        )
        .await?;
    let (lines, echoed): (usize, String) = handle.result().await?;
    println!(
        "result through the codec: {lines} lines, report intact: {}",
        echoed == text
    );

    // What the engine holds, read without the codec.
    let stored = plain
        .handle(WorkflowId::new("report-1")?, None)
        .history()
        .await?;
    let endure::EventAttributes::WorkflowExecutionStarted(started) = &stored[0].attributes else {
        return Err("the first event is the start".into());
    };
    let input = &started.input.as_slice()[0];
    println!(
        "stored input: {} ({} bytes for a {}-byte report)",
        input.encoding().unwrap_or_default(),
        input.data.len(),
        text.len() + 2
    );
    let _ = stop.send(());
    running.await?;
    Ok(())
}
