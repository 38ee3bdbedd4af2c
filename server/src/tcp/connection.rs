//! One connection: the handshake, then frames read and calls answered until the peer goes,
//! falls silent, trickles a frame too slowly, stops reading its replies, or sends what
//! cannot be read.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use endure_core::protocol::{ErrorKind, RemoteError, Transport};
use endure_core::wire::{
    ClientFrame, FrameDecoder, Incoming, MAGIC, PROTOCOL_VERSION, ServerFrame, WireError,
    decode_client_frame, encode_frame,
};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::limits::{Outgoing, READ_BUFFER_BYTES, Share, TcpServerConfig};

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectionError {
    #[error("io: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("idle for longer than {0:?}")]
    Idle(Duration),
    #[error("a frame took longer than {0:?} to arrive")]
    SlowFrame(Duration),
    #[error("the client left more than {0} bytes of replies unread")]
    NotReading(usize),
    #[error("partial frames across connections passed {0} bytes")]
    PartialFramesBudget(usize),
}

/// The calls of one connection still running.
type Calls = Arc<Mutex<BTreeMap<u64, JoinHandle<()>>>>;

/// Serves one connection until it ends; `share` is its part of the partial-frame budget.
pub(super) async fn serve(
    stream: TcpStream,
    transport: Arc<dyn Transport>,
    config: TcpServerConfig,
    share: Share,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (outgoing, mut to_write) = Outgoing::new(config.max_outgoing_bytes);
    let written = outgoing.written();
    let writing = tokio::spawn(async move {
        while let Some(frame) = to_write.recv().await {
            // Flushed per frame: madsim's simulated stream sends only on flush.
            let sent = writer.write_all(&frame).await.is_ok() && writer.flush().await.is_ok();
            written.sent(frame.len());
            if !sent {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let calls: Calls = Arc::default();
    let mut reading = Reading {
        outgoing: &outgoing,
        calls: &calls,
        transport: &transport,
        config: &config,
        share,
    };
    let result = tokio::select! {
        biased;
        () = outgoing.overflowed() => Err(ConnectionError::NotReading(outgoing.max())),
        result = reading.frames(&mut reader) => result,
    };
    // Whatever ended the connection, its calls are dropped with it.
    let running: Vec<JoinHandle<()>> = std::mem::take(&mut *calls.lock()).into_values().collect();
    for call in running {
        call.abort();
    }
    drop(outgoing);
    let _ = writing.await;
    result
}

/// The reading side of a connection.
struct Reading<'a> {
    outgoing: &'a Outgoing,
    calls: &'a Calls,
    transport: &'a Arc<dyn Transport>,
    config: &'a TcpServerConfig,
    share: Share,
}

impl Reading<'_> {
    async fn frames(
        &mut self,
        reader: &mut (impl tokio::io::AsyncRead + Unpin),
    ) -> Result<(), ConnectionError> {
        let config = self.config;
        let mut decoder = FrameDecoder::new(config.max_frame_bytes);
        let mut buffer = vec![0u8; READ_BUFFER_BYTES];
        let mut greeted = false;
        // When the partial frame now buffered must be whole.
        let mut frame_due: Option<tokio::time::Instant> = None;
        loop {
            while let Some(body) = decoder.next_frame()? {
                frame_due = None;
                greeted = self.frame(&body, greeted)?;
            }
            if decoder.buffered() > 0 && frame_due.is_none() {
                frame_due = Some(tokio::time::Instant::now() + config.frame_arrival_timeout);
            }
            self.share
                .hold(decoder.buffered())
                .map_err(ConnectionError::PartialFramesBudget)?;
            let read = match frame_due {
                None => tokio::time::timeout(config.idle_timeout, reader.read(&mut buffer))
                    .await
                    .map_err(|_| ConnectionError::Idle(config.idle_timeout))?,
                Some(due) => tokio::time::timeout(
                    due.saturating_duration_since(tokio::time::Instant::now()),
                    reader.read(&mut buffer),
                )
                .await
                .map_err(|_| ConnectionError::SlowFrame(config.frame_arrival_timeout))?,
            }?;
            if read == 0 {
                decoder.finish()?;
                return Ok(());
            }
            decoder.extend(&buffer[..read]);
        }
    }

    /// Handles one frame's body; returns whether the handshake is done.
    fn frame(&self, body: &[u8], greeted: bool) -> Result<bool, ConnectionError> {
        let config = self.config;
        let frame = match decode_client_frame(body)? {
            Incoming::Frame(frame) => frame,
            // A request that does not decode fails its own call only.
            Incoming::BadCall { id, reason } if greeted => {
                tracing::debug!(id, %reason, "a call's request was refused");
                let reply = ServerFrame::Reply {
                    id,
                    result: Err(RemoteError {
                        kind: ErrorKind::InvalidArgument,
                        message: reason,
                        run_id: None,
                    }),
                };
                send(self.outgoing, &reply, config.max_frame_bytes)?;
                return Ok(true);
            }
            Incoming::BadCall { reason, .. } => return Err(WireError::Malformed(reason).into()),
        };
        if greeted {
            handle(frame, self.outgoing, self.calls, self.transport, config)?;
        } else {
            handshake(frame, self.outgoing, config)?;
        }
        Ok(true)
    }
}

fn send(outgoing: &Outgoing, frame: &ServerFrame, max_frame_bytes: u32) -> Result<(), WireError> {
    outgoing.send(encode_frame(frame, max_frame_bytes)?);
    Ok(())
}

fn handshake(
    frame: ClientFrame,
    outgoing: &Outgoing,
    config: &TcpServerConfig,
) -> Result<(), ConnectionError> {
    let refusal = match frame {
        ClientFrame::Hello { magic, version } if magic == MAGIC && version == PROTOCOL_VERSION => {
            None
        }
        ClientFrame::Hello { magic, .. } if magic != MAGIC => {
            Some("not an Endure client".to_owned())
        }
        ClientFrame::Hello { version, .. } => Some(format!(
            "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
        )),
        _ => Some("the first frame must be a hello".to_owned()),
    };
    match refusal {
        None => {
            send(
                outgoing,
                &ServerFrame::Welcome {
                    version: PROTOCOL_VERSION,
                    max_frame_bytes: config.max_frame_bytes,
                },
                config.max_frame_bytes,
            )?;
            Ok(())
        }
        Some(reason) => {
            send(
                outgoing,
                &ServerFrame::Refused {
                    reason: reason.clone(),
                },
                config.max_frame_bytes,
            )?;
            Err(ConnectionError::Refused(reason))
        }
    }
}

fn handle(
    frame: ClientFrame,
    outgoing: &Outgoing,
    calls: &Calls,
    transport: &Arc<dyn Transport>,
    config: &TcpServerConfig,
) -> Result<(), ConnectionError> {
    match frame {
        ClientFrame::Hello { .. } => Err(WireError::Malformed("a second hello".into()).into()),
        ClientFrame::Ping { nonce } => Ok(send(
            outgoing,
            &ServerFrame::Pong { nonce },
            config.max_frame_bytes,
        )?),
        ClientFrame::Cancel { id } => {
            if let Some(call) = calls.lock().remove(&id) {
                call.abort();
            }
            Ok(())
        }
        ClientFrame::Call {
            id,
            timeout,
            request,
        } => {
            let mut running = calls.lock();
            let refusal = if running.contains_key(&id) {
                Some((
                    ErrorKind::InvalidArgument,
                    "a call with this id is in flight",
                ))
            } else if running.len() >= config.max_calls_per_connection {
                Some((
                    ErrorKind::Unavailable,
                    "too many calls in flight on this connection",
                ))
            } else {
                None
            };
            if let Some((kind, message)) = refusal {
                let reply = ServerFrame::Reply {
                    id,
                    result: Err(RemoteError {
                        kind,
                        message: message.into(),
                        run_id: None,
                    }),
                };
                return Ok(send(outgoing, &reply, config.max_frame_bytes)?);
            }
            let timeout = timeout
                .unwrap_or(config.max_call_timeout)
                .min(config.max_call_timeout);
            let (transport, outgoing, registry) =
                (Arc::clone(transport), outgoing.clone(), Arc::clone(calls));
            let max_frame_bytes = config.max_frame_bytes;
            let task = tokio::spawn(async move {
                let result = match tokio::time::timeout(timeout, transport.call(*request)).await {
                    Ok(result) => result,
                    Err(_) => Err(RemoteError {
                        kind: ErrorKind::DeadlineExceeded,
                        message: format!("the call ran longer than {timeout:?}"),
                        run_id: None,
                    }),
                };
                registry.lock().remove(&id);
                let reply = ServerFrame::Reply { id, result };
                let bytes = encode_frame(&reply, max_frame_bytes).or_else(|error| {
                    // An answer too big for a frame becomes an error the client can read.
                    encode_frame(
                        &ServerFrame::Reply {
                            id,
                            result: Err(RemoteError {
                                kind: ErrorKind::Unavailable,
                                message: format!("the answer does not fit in a frame: {error}"),
                                run_id: None,
                            }),
                        },
                        max_frame_bytes,
                    )
                });
                if let Ok(bytes) = bytes {
                    outgoing.send(bytes);
                }
            });
            // `running` is held across the spawn, so the task deregisters after this.
            running.insert(id, task);
            Ok(())
        }
    }
}
