//! Temporal's `WorkflowService` gRPC API on Endure, so Temporal's official SDKs (Python,
//! Go, TypeScript, Java, .NET) and the `temporal` CLI run against Endure unchanged.
//!
//! [`WorkflowService`] is a tower service the server hands every HTTP/2 connection of its
//! TCP listener to ([`serve_connection`]): Endure's own protocol and gRPC share the port
//! (7233 for `endure server start-dev`, as Temporal's), told apart by the HTTP/2 preface.
//! Each RPC maps Temporal's request onto the same engine calls Endure's own clients make,
//! through the same front-end security ([`GuardedTransport`](endure_server::security::GuardedTransport)):
//! credentials, rate limits, authorization and the audit log apply as to every caller.
//!
//! Messages come from the `temporalio-protos` crate (Temporal's own `.proto` files compiled
//! with protox). An RPC not served answers `UNIMPLEMENTED` with its name.
//!
//! Under the simulator (`--cfg madsim`) the crate is empty: it serves real sockets only.
#![cfg(not(madsim))]

mod connection;
mod convert;
mod proto;
mod rpc;
mod service;
mod status;
mod token;

pub use connection::serve_connection;
pub use rpc::history::CLOSE_POLL_WAIT;
pub use rpc::visibility::LIST_PAGE_SIZE_MAX;
pub use service::{
    GrpcOptions, IMPLEMENTED, OPERATOR_IMPLEMENTED, OPERATOR_SERVICE_PATH, Peer, SERVICE_PATH,
    WorkflowService,
};

/// The largest gRPC message decoded or encoded: the engine bounds a request at
/// `MESSAGE_BYTES_MAX` (4 MiB); a history page is about 1 MiB of events, which Temporal's
/// encoding may grow; 16 MiB leaves room for both.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The most calls one gRPC connection may have open at once (HTTP/2 streams): Temporal's
/// SDKs multiplex a worker's polls and a client's calls over one connection (a client
/// waiting on 500 results holds 500); past it the client queues its calls.
pub const STREAMS_PER_CONNECTION_MAX: u32 = 1_000;

/// The most bytes of headers (gRPC metadata) one call may send.
pub const HEADER_LIST_BYTES_MAX: u32 = 64 * 1024;
