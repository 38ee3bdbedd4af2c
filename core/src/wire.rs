//! The wire format of the TCP transport, as pure functions: what goes in a frame and how
//! frames are cut from a byte stream. The adapters (`endure_server::tcp`,
//! `endure::remote`) only move bytes.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of postcard. A
//! connection starts with the client's [`ClientFrame::Hello`] (magic bytes and protocol
//! version) and the server's [`ServerFrame::Welcome`] or [`ServerFrame::Refused`]; then the
//! client sends calls, each with an id of its choosing and an optional timeout, and the
//! server answers each id once, in any order (calls are multiplexed). A frame longer than
//! the receiver's maximum, or one that does not decode, is a [`WireError`]: the receiver
//! closes that connection and nothing else — except a call whose request alone does not
//! decode (an invalid id, bytes that are not UTF-8): the server reads its call id apart
//! from the request ([`decode_client_frame`]) and answers that one call with an error.
//!
//! A client holding a credential (an API key or a JWT) sends [`ClientFrame::Authenticate`]
//! right after its hello; the server answers [`ServerFrame::Authenticated`] naming the
//! subject it recognised, or [`ServerFrame::Refused`] and closes. A connection's calls are
//! authorized with the last credential it sent.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::protocol::{RemoteError, Request, Response};

/// The protocol version this build speaks. A peer with another version is refused at the
/// handshake.
pub const PROTOCOL_VERSION: u32 = 16;

/// The first bytes of every client hello: not an Endure client otherwise.
pub const MAGIC: [u8; 4] = *b"ENDR";

/// Default largest frame either side accepts (history pages are at most 1 MiB; a frame
/// holds one request or response).
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 8 * 1024 * 1024;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// What a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// The first frame of a connection. Stays variant 0 in every version, so any version
    /// can read it and refuse cleanly.
    Hello {
        /// [`MAGIC`].
        magic: [u8; 4],
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// A request; answered by one [`ServerFrame::Reply`] with the same id.
    Call {
        /// Chosen by the client, unique among its calls in flight on the connection.
        id: u64,
        /// The server gives up on the call after this long (the client does too).
        timeout: Option<Duration>,
        /// The request.
        request: Box<Request>,
    },
    /// The client no longer waits for call `id` (its deadline passed): the server drops it.
    Cancel {
        /// The call.
        id: u64,
    },
    /// Keepalive; answered by [`ServerFrame::Pong`].
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// The caller's credential, sent after the hello (or again, to replace it): answered by
    /// [`ServerFrame::Authenticated`], or refused and the connection closed.
    Authenticate {
        /// An API key or a JWT, as a bearer token (at most [`TOKEN_BYTES_MAX`] bytes).
        token: String,
    },
}

/// The longest credential a client may send, in bytes (a JWT with many permissions is a
/// few KiB).
pub const TOKEN_BYTES_MAX: usize = 16 * 1024;

/// What a server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerFrame {
    /// The handshake succeeded.
    Welcome {
        /// The server's [`PROTOCOL_VERSION`].
        version: u32,
        /// The largest frame the server accepts.
        max_frame_bytes: u32,
    },
    /// The handshake failed; the server closes the connection after this frame.
    Refused {
        /// Why, for people.
        reason: String,
    },
    /// The answer to call `id`.
    Reply {
        /// The call.
        id: u64,
        /// Its outcome.
        result: Result<Response, RemoteError>,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// The credential of a [`ClientFrame::Authenticate`] was accepted.
    Authenticated {
        /// Who the server recognised (an API key's name, a JWT's subject).
        subject: String,
    },
}

/// Why bytes could not be framed or a frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The length prefix announces more than the receiver accepts.
    #[error("frame of {length} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Announced length.
        length: u64,
        /// The receiver's maximum.
        max: u32,
    },
    /// The frame's bytes are not a message of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The stream ended inside a frame.
    #[error("the connection closed inside a frame ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the partial frame.
        buffered: usize,
    },
    /// The peer speaks another protocol (its first bytes say which), not Endure's.
    #[error(
        "the peer looks like {0}, not Endure: Endure's server, clients, workers and CLI speak Endure's own protocol"
    )]
    OtherProtocol(&'static str),
}

/// What a stream that does not start with a frame of Endure's seems to speak, by its first
/// bytes (a length prefix this large is never ours).
fn other_protocol(start: &[u8]) -> Option<&'static str> {
    const KNOWN: [(&[u8], &str); 5] = [
        (
            b"PRI * HTTP/2",
            "an HTTP/2 or gRPC client (a Temporal SDK or CLI?)",
        ),
        (b"HTTP/", "an HTTP server"),
        (b"GET ", "an HTTP/1 client"),
        (b"POST", "an HTTP/1 client"),
        (b"\x16\x03", "a TLS client"),
    ];
    KNOWN
        .iter()
        .find(|(prefix, _)| start.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// Encodes `message` as one frame (length prefix included).
pub fn encode_frame<T: Serialize>(message: &T, max_frame_bytes: u32) -> Result<Vec<u8>, WireError> {
    let mut frame = vec![0; LENGTH_PREFIX_BYTES];
    let mut frame = postcard::to_extend(message, std::mem::take(&mut frame))
        .map_err(|error| WireError::Malformed(error.to_string()))?;
    let length = frame.len() - LENGTH_PREFIX_BYTES;
    if length > max_frame_bytes as usize {
        return Err(WireError::TooLarge {
            length: length as u64,
            max: max_frame_bytes,
        });
    }
    let prefix = u32::try_from(length).map_err(|_| WireError::TooLarge {
        length: length as u64,
        max: max_frame_bytes,
    })?;
    frame[..LENGTH_PREFIX_BYTES].copy_from_slice(&prefix.to_be_bytes());
    Ok(frame)
}

/// [`ClientFrame`]'s variants up to the call, borrowing the request: encodes exactly as the
/// owned frame does (postcard writes the variant index, then the fields in order).
#[derive(Serialize)]
enum ClientFrameRef<'a> {
    #[allow(dead_code, reason = "keeps the variant indices of ClientFrame")]
    Hello { magic: [u8; 4], version: u32 },
    Call {
        id: u64,
        timeout: Option<Duration>,
        request: &'a Request,
    },
}

/// The frame of call `id` carrying `request`, encoded without taking the request (a call
/// that may be sent again keeps it): the same bytes as [`ClientFrame::Call`]'s.
pub fn encode_call(
    id: u64,
    timeout: Option<Duration>,
    request: &Request,
    max_frame_bytes: u32,
) -> Result<Vec<u8>, WireError> {
    encode_frame(
        &ClientFrameRef::Call {
            id,
            timeout,
            request,
        },
        max_frame_bytes,
    )
}

/// Decodes one frame's body (without its prefix) as a `T`; trailing bytes are an error.
pub fn decode_frame<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    let (message, rest) = postcard::take_from_bytes::<T>(body)
        .map_err(|error| WireError::Malformed(error.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} bytes after the message",
            rest.len()
        )));
    }
    Ok(message)
}

/// A client frame as the server reads it (see [`decode_client_frame`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A frame that decoded whole.
    Frame(ClientFrame),
    /// A call whose envelope decoded but whose request did not: answer call `id` with an
    /// invalid-argument error and keep the connection.
    BadCall {
        /// The call.
        id: u64,
        /// Why the request was refused.
        reason: String,
    },
}

/// [`ClientFrame`]'s variants, in its order, up to the request: a call's id and timeout
/// decode even when its request does not (postcard encodes fields in order, and the
/// request is a call's last field, so it is the rest of the frame).
#[derive(Deserialize)]
enum ClientFrameHead {
    Hello { magic: [u8; 4], version: u32 },
    Call { id: u64, timeout: Option<Duration> },
    Cancel { id: u64 },
    Ping { nonce: u64 },
    Authenticate { token: String },
}

/// Decodes one client frame's body for the server: a whole frame, or a call whose request
/// alone is refused ([`Incoming::BadCall`]); anything else that does not decode is a
/// [`WireError`] (the connection closes).
pub fn decode_client_frame(body: &[u8]) -> Result<Incoming, WireError> {
    let (head, rest) = postcard::take_from_bytes::<ClientFrameHead>(body)
        .map_err(|error| WireError::Malformed(error.to_string()))?;
    let whole = |frame: ClientFrame| {
        if rest.is_empty() {
            Ok(frame)
        } else {
            Err(WireError::Malformed(format!(
                "{} bytes after the message",
                rest.len()
            )))
        }
    };
    let frame = match head {
        ClientFrameHead::Hello { magic, version } => whole(ClientFrame::Hello { magic, version })?,
        ClientFrameHead::Cancel { id } => whole(ClientFrame::Cancel { id })?,
        ClientFrameHead::Ping { nonce } => whole(ClientFrame::Ping { nonce })?,
        ClientFrameHead::Authenticate { token } if token.len() > TOKEN_BYTES_MAX => {
            return Err(WireError::Malformed(format!(
                "a credential of {} bytes; the limit is {TOKEN_BYTES_MAX} bytes",
                token.len()
            )));
        }
        ClientFrameHead::Authenticate { token } => whole(ClientFrame::Authenticate { token })?,
        ClientFrameHead::Call { id, timeout } => match decode_frame::<Request>(rest) {
            Ok(request) => ClientFrame::Call {
                id,
                timeout,
                request: Box::new(request),
            },
            Err(error) => {
                return Ok(Incoming::BadCall {
                    id,
                    reason: format!(
                        "the request does not decode ({error}): an id or name in it may be empty, longer than {} bytes, or hold control or invisible characters, or a string may not be UTF-8",
                        crate::limits::ID_BYTES_MAX
                    ),
                });
            }
        },
    };
    Ok(Incoming::Frame(frame))
}

/// Capacity a [`FrameDecoder`] keeps once it has no partial frame; a larger buffer (left by
/// a large frame) is given back.
pub const DECODER_KEPT_BYTES_MAX: usize = 16 * 1024;

/// Cuts frames from a byte stream as it arrives.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    max_frame_bytes: u32,
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: u32) -> Self {
        Self {
            buffer: Vec::new(),
            max_frame_bytes,
        }
    }

    /// Appends bytes read from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame's body, if one is buffered. A too-large length is reported as
    /// soon as the prefix arrives, before its body is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let Some(prefix) = self.buffer.first_chunk::<LENGTH_PREFIX_BYTES>() else {
            return Ok(None);
        };
        let length = u32::from_be_bytes(*prefix);
        if length > self.max_frame_bytes {
            if let Some(protocol) = other_protocol(&self.buffer) {
                return Err(WireError::OtherProtocol(protocol));
            }
            return Err(WireError::TooLarge {
                length: u64::from(length),
                max: self.max_frame_bytes,
            });
        }
        let end = LENGTH_PREFIX_BYTES + length as usize;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let body = self.buffer[LENGTH_PREFIX_BYTES..end].to_vec();
        self.buffer.drain(..end);
        if self.buffer.is_empty() && self.buffer.capacity() > DECODER_KEPT_BYTES_MAX {
            // A large frame passed: an idle connection does not keep its buffer.
            self.buffer = Vec::new();
        }
        Ok(Some(body))
    }

    /// Bytes of a frame not yet whole (what a slow or stalled peer makes us hold).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Checks the stream ended between frames.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(WireError::Truncated {
                buffered: self.buffer.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::{Namespace, TaskQueueName};
    use crate::protocol::ErrorKind;

    fn poll() -> ClientFrame {
        ClientFrame::Call {
            id: 7,
            timeout: Some(Duration::from_secs(70)),
            request: Box::new(Request::PollWorkflowTask(
                crate::protocol::PollWorkflowTaskRequest {
                    namespace: Namespace::default(),
                    task_queue: TaskQueueName::new("orders").unwrap(),
                    identity: "worker-1".into(),
                    deployment_version: None,
                    normal_queue: None,
                },
            )),
        }
    }

    #[test]
    fn frames_round_trip_through_a_byte_stream_cut_anywhere() {
        let frames = [
            ClientFrame::Hello {
                magic: MAGIC,
                version: PROTOCOL_VERSION,
            },
            poll(),
            ClientFrame::Cancel { id: 7 },
            ClientFrame::Ping { nonce: 3 },
        ];
        let bytes: Vec<u8> = frames
            .iter()
            .flat_map(|frame| encode_frame(frame, DEFAULT_MAX_FRAME_BYTES).unwrap())
            .collect();
        for chunk in [1, 2, 3, 5, 64, bytes.len()] {
            let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_BYTES);
            let mut decoded = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.extend(piece);
                while let Some(body) = decoder.next_frame().unwrap() {
                    decoded.push(decode_frame::<ClientFrame>(&body).unwrap());
                }
            }
            decoder.finish().unwrap();
            assert_eq!(decoded, frames, "chunks of {chunk}");
        }
    }

    #[test]
    fn the_server_reads_every_frame_whole_and_a_bad_request_keeps_its_call_id() {
        for frame in [
            ClientFrame::Hello {
                magic: MAGIC,
                version: PROTOCOL_VERSION,
            },
            poll(),
            ClientFrame::Cancel { id: 7 },
            ClientFrame::Ping { nonce: 3 },
        ] {
            let bytes = encode_frame(&frame, DEFAULT_MAX_FRAME_BYTES).unwrap();
            assert_eq!(
                decode_client_frame(&bytes[LENGTH_PREFIX_BYTES..]).unwrap(),
                Incoming::Frame(frame)
            );
        }
        // The same call with its task queue name made empty, then not UTF-8: the envelope
        // decodes, the request does not.
        let bytes = encode_frame(&poll(), DEFAULT_MAX_FRAME_BYTES).unwrap();
        let body = &bytes[LENGTH_PREFIX_BYTES..];
        let name = body
            .windows(7)
            .position(|window| window == b"\x06orders")
            .expect("the name's length and bytes");
        let mut empty = body[..name].to_vec();
        empty.push(0);
        empty.extend_from_slice(&body[name + 7..]);
        let mut not_utf8 = body.to_vec();
        not_utf8[name + 1] = 0xff;
        for broken in [empty, not_utf8] {
            match decode_client_frame(&broken).unwrap() {
                Incoming::BadCall { id, reason } => {
                    assert_eq!(id, 7);
                    assert!(reason.contains("does not decode"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A broken envelope still closes the connection.
        assert!(decode_client_frame(&[9, 9, 9]).is_err());
        assert!(decode_client_frame(&body[..3]).is_err());
    }

    #[test]
    fn a_decoder_gives_back_a_large_frames_buffer_once_it_has_passed() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_BYTES);
        let small = encode_frame(&ClientFrame::Ping { nonce: 1 }, DEFAULT_MAX_FRAME_BYTES).unwrap();
        // A frame of 1 MiB of body, then a small one.
        let mut bytes = (1u32 << 20).to_be_bytes().to_vec();
        bytes.resize(4 + (1 << 20), 7);
        decoder.extend(&bytes[..1000]);
        assert_eq!(decoder.buffered(), 1000);
        decoder.extend(&bytes[1000..]);
        assert_eq!(
            decoder.next_frame().unwrap().map(|body| body.len()),
            Some(1 << 20)
        );
        assert_eq!(decoder.buffered(), 0);
        assert!(decoder.buffer.capacity() <= DECODER_KEPT_BYTES_MAX);
        decoder.extend(&small);
        assert!(decoder.next_frame().unwrap().is_some());
    }

    #[test]
    fn the_hello_is_variant_zero_so_every_version_reads_it() {
        let frame = encode_frame(
            &ClientFrame::Hello {
                magic: MAGIC,
                version: 99,
            },
            DEFAULT_MAX_FRAME_BYTES,
        )
        .unwrap();
        assert_eq!(&frame[4..9], &[0, b'E', b'N', b'D', b'R']);
    }

    #[test]
    fn a_peer_speaking_http2_http1_or_tls_is_named_rather_than_refused_as_an_oversize_frame() {
        for (start, named) in [
            (&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..], "HTTP/2 or gRPC"),
            (&b"GET /api HTTP/1.1\r\n"[..], "HTTP/1"),
            (&b"\x16\x03\x01\x02\x00\x01"[..], "TLS"),
        ] {
            let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_BYTES);
            decoder.extend(start);
            let error = decoder.next_frame().unwrap_err();
            assert!(matches!(error, WireError::OtherProtocol(_)), "{error}");
            assert!(error.to_string().contains(named), "{error}");
        }
        // Anything else that large is still just too large.
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_BYTES);
        decoder.extend(&[0x7f, 0, 0, 0, 1]);
        assert!(matches!(
            decoder.next_frame(),
            Err(WireError::TooLarge { .. })
        ));
    }

    #[test]
    fn oversize_frames_are_refused_from_their_prefix_and_on_encoding() {
        let mut decoder = FrameDecoder::new(16);
        decoder.extend(&1000u32.to_be_bytes());
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::TooLarge {
                length: 1000,
                max: 16
            })
        );
        assert!(matches!(
            encode_frame(&poll(), 8),
            Err(WireError::TooLarge { max: 8, .. })
        ));
    }

    #[test]
    fn malformed_and_truncated_frames_are_errors() {
        assert!(matches!(
            decode_frame::<ClientFrame>(&[200, 1, 2]),
            Err(WireError::Malformed(_))
        ));
        let mut body = encode_frame(&ClientFrame::Ping { nonce: 1 }, 64).unwrap();
        body.push(0);
        assert!(matches!(
            decode_frame::<ClientFrame>(&body[4..]),
            Err(WireError::Malformed(_))
        ));
        let mut decoder = FrameDecoder::new(64);
        decoder.extend(&[0, 0, 0, 9, 1]);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.finish(), Err(WireError::Truncated { buffered: 5 }));
    }

    #[test]
    fn replies_carry_remote_errors() {
        let reply = ServerFrame::Reply {
            id: 1,
            result: Err(RemoteError {
                kind: ErrorKind::NotFound,
                message: "no such run".into(),
                run_id: None,
            }),
        };
        let frame = encode_frame(&reply, 1024).unwrap();
        assert_eq!(decode_frame::<ServerFrame>(&frame[4..]).unwrap(), reply);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever arrives, the decoder answers with frames or errors, never a panic.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                    chunk in 1usize..64) {
            let mut decoder = FrameDecoder::new(256);
            for piece in bytes.chunks(chunk) {
                decoder.extend(piece);
                while let Ok(Some(body)) = decoder.next_frame() {
                    let _ = decode_frame::<ClientFrame>(&body);
                    let _ = decode_frame::<ServerFrame>(&body);
                }
            }
            let _ = decoder.finish();
        }
    }
}
