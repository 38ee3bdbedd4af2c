//! One connection: the handshake, then frames read and calls answered until the peer goes,
//! falls silent, trickles a frame too slowly, stops reading its replies, or sends what
//! cannot be read.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use endure_core::protocol::{ErrorKind, RemoteError, Request, Transport};
use endure_core::wire::{
    ClientFrame, FrameDecoder, Incoming, MAGIC, PROTOCOL_VERSION, ServerFrame, WireError,
    decode_client_frame, encode_frame,
};
use parking_lot::Mutex;
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;

use super::limits::{Outgoing, READ_BUFFER_BYTES, Share, TcpServerConfig};
use crate::engine::instruments::REQUESTS_REFUSED;
use crate::security::{ConnectionBucket, Security, Session, audit};

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
    #[cfg_attr(not(all(feature = "tls", not(madsim))), allow(dead_code))]
    #[error("TLS: {0}")]
    Tls(String),
}

/// A call still running.
struct Running {
    task: JoinHandle<()>,
    /// A long poll, which may be handed a task while it waits.
    poll: bool,
}

/// The calls of one connection still running.
type Calls = Arc<Mutex<BTreeMap<u64, Running>>>;

/// Aborts a connection's running calls when dropped.
struct CallsEnd(Calls);

impl Drop for CallsEnd {
    fn drop(&mut self) {
        let running: Vec<Running> = std::mem::take(&mut *self.0.lock()).into_values().collect();
        for call in running {
            call.task.abort();
        }
    }
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop(JoinHandle<io::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a connection serves with: the engine, the limits and the security.
pub(super) struct Served {
    pub(super) transport: Arc<dyn Transport>,
    pub(super) config: TcpServerConfig,
    pub(super) security: Arc<Security>,
}

/// Serves one connection until it ends; `share` is its part of the partial-frame budget,
/// `session` its caller (a client certificate's subject, over mTLS).
pub(super) async fn serve<S>(
    stream: S,
    served: Served,
    share: Share,
    session: Session,
) -> Result<(), ConnectionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let Served {
        transport,
        config,
        security,
    } = served;
    let (mut reader, writer) = tokio::io::split(stream);
    // Replies are written by the calls that make them; the flusher writes what the socket
    // could not take at once.
    let (outgoing, flusher) = Outgoing::new(Box::new(writer), config.max_outgoing_bytes);
    // Aborted if this future is dropped (the server stopping): the connection closes.
    let mut flushing = AbortOnDrop(tokio::spawn(flusher));
    let calls: Calls = Arc::default();
    // Dropped with this future, however it ends — returned, or aborted when the server
    // stops: every call still running ends with it (each holds the engine).
    let _calls_end = CallsEnd(Arc::clone(&calls));
    let bucket = security.rate_limits().connection_bucket();
    let mut reading = Reading {
        outgoing: &outgoing,
        calls: &calls,
        transport: &transport,
        config: &config,
        share,
        security: &security,
        session,
        bucket,
    };
    let result = tokio::select! {
        biased;
        () = outgoing.overflowed() => Err(ConnectionError::NotReading(outgoing.max())),
        result = reading.frames(&mut reader) => result,
    };
    // Whatever ended the connection, its calls are dropped with it.
    let running: Vec<Running> = std::mem::take(&mut *calls.lock()).into_values().collect();
    for call in running {
        call.task.abort();
    }
    // What was sent (a refusal's reason, say) is written before the stream shuts down,
    // unless the peer is not reading: then, or if the peer takes longer than the idle
    // timeout to read it, it is dropped with the stream.
    outgoing.close();
    let peer_reads = !matches!(result, Err(ConnectionError::NotReading(_)));
    if peer_reads {
        let _ = tokio::time::timeout(config.idle_timeout, &mut flushing.0).await;
    }
    drop(flushing);
    result
}

/// The reading side of a connection.
struct Reading<'a> {
    outgoing: &'a Outgoing,
    calls: &'a Calls,
    transport: &'a Arc<dyn Transport>,
    config: &'a TcpServerConfig,
    share: Share,
    security: &'a Arc<Security>,
    session: Session,
    bucket: ConnectionBucket,
}

impl Reading<'_> {
    async fn frames(
        &mut self,
        reader: &mut (impl tokio::io::AsyncRead + Unpin + ?Sized),
    ) -> Result<(), ConnectionError> {
        let config = self.config;
        let mut decoder = FrameDecoder::new(config.max_frame_bytes);
        let mut buffer = vec![0u8; READ_BUFFER_BYTES];
        let mut greeted = false;
        // When the partial frame now buffered must be whole.
        let mut frame_due: Option<tokio::time::Instant> = None;
        let mut changes = self.security.changes();
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
            let (deadline, late) = match frame_due {
                None => (
                    tokio::time::Instant::now() + config.idle_timeout,
                    ConnectionError::Idle(config.idle_timeout),
                ),
                Some(due) => (
                    due,
                    ConnectionError::SlowFrame(config.frame_arrival_timeout),
                ),
            };
            let read = loop {
                tokio::select! {
                    biased;
                    () = credentials_changed(&mut changes) => self.revalidate()?,
                    read = tokio::time::timeout(
                        deadline.saturating_duration_since(tokio::time::Instant::now()),
                        reader.read(&mut buffer),
                    ) => {
                        break read.map_err(|_| late)?;
                    }
                }
            }?;
            if read == 0 {
                decoder.finish()?;
                return Ok(());
            }
            decoder.extend(&buffer[..read]);
        }
    }

    /// The accepted credentials changed (a key revoked, the configuration reloaded): if this
    /// connection's no longer holds, its waiting long polls — which could still be handed a
    /// task — are dropped at once and answered `Unauthenticated`. Other calls in flight were
    /// admitted before the change and finish.
    fn revalidate(&mut self) -> Result<(), ConnectionError> {
        let subject = self.session.subject().to_owned();
        let Some(lost) = self.session.refresh(self.security) else {
            return Ok(());
        };
        tracing::info!(%subject, %lost, peer = %self.session.peer, "a connection's credential is no longer valid; its waiting polls are dropped");
        let polls: Vec<(u64, Running)> = {
            let mut calls = self.calls.lock();
            let ids: Vec<u64> = calls
                .iter()
                .filter(|(_, call)| call.poll)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| calls.remove(&id).map(|call| (id, call)))
                .collect()
        };
        for (id, call) in polls {
            call.task.abort();
            let reply = ServerFrame::Reply {
                id,
                result: Err(RemoteError {
                    kind: ErrorKind::Unauthenticated,
                    message: format!("{lost}: connect again with a valid credential"),
                    run_id: None,
                }),
            };
            send(self.outgoing, &reply, self.config.max_frame_bytes)?;
        }
        Ok(())
    }

    /// Handles one frame's body; returns whether the handshake is done.
    fn frame(&mut self, body: &[u8], greeted: bool) -> Result<bool, ConnectionError> {
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
            self.handle(frame)?;
        } else {
            handshake(frame, self.outgoing, config)?;
            self.session.authenticate_certificate(self.security);
        }
        Ok(true)
    }

    /// Handles a frame after the handshake.
    fn handle(&mut self, frame: ClientFrame) -> Result<(), ConnectionError> {
        let max_frame_bytes = self.config.max_frame_bytes;
        let (call, id) = match frame {
            ClientFrame::Authenticate { token } => return self.authenticate(token),
            ClientFrame::Call { id, .. } => (frame, id),
            other => {
                return handle(
                    other,
                    self.outgoing,
                    self.calls,
                    self.transport,
                    self.config,
                    None,
                );
            }
        };
        let ClientFrame::Call { request, .. } = &call else {
            unreachable!("matched above")
        };
        // A revoked or expired credential stops working at the next call.
        let subject = self.session.subject().to_owned();
        if let Some(lost) = self.session.refresh(self.security) {
            tracing::info!(%subject, %lost, peer = %self.session.peer, "a connection's credential is no longer valid");
        }
        let admitted = self
            .security
            .admit(&self.session, &mut self.bucket, request);
        if let Err(error) = admitted {
            metrics::counter!(REQUESTS_REFUSED, "reason" => error.kind.name()).increment(1);
            let reply = ServerFrame::Reply {
                id,
                result: Err(error),
            };
            return Ok(send(self.outgoing, &reply, max_frame_bytes)?);
        }
        let after = After {
            security: Arc::clone(self.security),
            recheck: self.session.recheck_for(self.security, request),
            audit: audit::Pending::of(&self.session, request),
            claims: self
                .security
                .needs_claims_after(request)
                .then(|| self.session.claims().cloned())
                .flatten(),
        };
        handle(
            call,
            self.outgoing,
            self.calls,
            self.transport,
            self.config,
            Some(after),
        )
    }

    /// A credential presented (after the hello, or again to replace it).
    fn authenticate(&mut self, token: String) -> Result<(), ConnectionError> {
        let max_frame_bytes = self.config.max_frame_bytes;
        if !self.security.requires_authentication() {
            // An open server takes any credential and needs none.
            let welcome = ServerFrame::Authenticated {
                subject: String::new(),
            };
            return Ok(send(self.outgoing, &welcome, max_frame_bytes)?);
        }
        match self.session.authenticate(self.security, token) {
            Ok(claims) => {
                let subject = claims.subject.clone();
                tracing::debug!(%subject, peer = %self.session.peer, "authenticated");
                Ok(send(
                    self.outgoing,
                    &ServerFrame::Authenticated { subject },
                    max_frame_bytes,
                )?)
            }
            Err(error) => {
                tracing::info!(peer = %self.session.peer, %error, "credential refused");
                let reason = format!("authentication failed: {error}");
                send(
                    self.outgoing,
                    &ServerFrame::Refused {
                        reason: reason.clone(),
                    },
                    max_frame_bytes,
                )?;
                Err(ConnectionError::Refused(reason))
            }
        }
    }
}

/// Resolves when the accepted credentials change; never if they cannot.
async fn credentials_changed(changes: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match changes {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *changes = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// What is done with a call's answer: namespaces the caller may not see left out, and the
/// audit record written.
struct After {
    security: Arc<Security>,
    /// A poll's credential, checked again before a task is handed over.
    recheck: Option<crate::security::Recheck>,
    audit: Option<audit::Pending>,
    claims: Option<endure_core::access::Claims>,
}

impl After {
    fn finish(
        self,
        mut result: Result<endure_core::protocol::Response, RemoteError>,
    ) -> Result<endure_core::protocol::Response, RemoteError> {
        if let Some(recheck) = &self.recheck
            && result.is_ok()
            && let Err(lost) = recheck.still_valid(&self.security)
        {
            // Revoked while the poll waited: the task is not handed over (it times out
            // and is retried for a worker that may have it).
            result = Err(RemoteError {
                kind: ErrorKind::Unauthenticated,
                message: format!("{lost}: connect again with a valid credential"),
                run_id: None,
            });
        }
        if let Ok(response) = &mut result {
            self.security.filter(self.claims.as_ref(), response);
        }
        if let Some(audit) = self.audit {
            audit.finish(&result);
        }
        result
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
    after: Option<After>,
) -> Result<(), ConnectionError> {
    match frame {
        ClientFrame::Hello { .. } => Err(WireError::Malformed("a second hello".into()).into()),
        ClientFrame::Authenticate { .. } => {
            unreachable!("credentials are handled by the reading side")
        }
        ClientFrame::Ping { nonce } => Ok(send(
            outgoing,
            &ServerFrame::Pong { nonce },
            config.max_frame_bytes,
        )?),
        ClientFrame::Cancel { id } => {
            if let Some(call) = calls.lock().remove(&id) {
                call.task.abort();
            }
            Ok(())
        }
        ClientFrame::Call {
            id,
            timeout,
            request,
        } => {
            let poll = matches!(
                *request,
                Request::PollWorkflowTask(_) | Request::PollActivityTask(_)
            );
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
                let result = match after {
                    Some(after) => after.finish(result),
                    None => result,
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
            running.insert(id, Running { task, poll });
            Ok(())
        }
    }
}
