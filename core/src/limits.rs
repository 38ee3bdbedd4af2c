//! Every bound Endure enforces, in one place, with its unit last in the name.
//!
//! Values follow Temporal's defaults (`../shared/reference/temporal.md` §8) so that a workflow
//! that fits in Temporal fits in Endure and the other way round. Exceeding a limit is a typed
//! refusal ([`crate::ValidationError`]), never a silent truncation.

use std::time::Duration;

/// One KiB.
const KIB: usize = 1024;
/// One MiB.
const MIB: usize = 1024 * KIB;

/// Largest payload (one argument, one result): 2 MiB (spec §5.6.2, Temporal `limit.blobSize`).
pub const PAYLOAD_BYTES_MAX: usize = 2 * MIB;
/// Size from which a payload is reported as large: 512 KiB.
pub const PAYLOAD_BYTES_WARN: usize = 512 * KIB;
/// Largest request or response message, all payloads included: 4 MiB (spec §5.6.2).
pub const MESSAGE_BYTES_MAX: usize = 4 * MIB;
/// Longest id or name (workflow id, activity id, task queue, signal name, …), in bytes.
pub const ID_BYTES_MAX: usize = 1000;
/// Longest `identity` of a client or worker (who started, signalled, polled…), in bytes;
/// it is written into history.
pub const IDENTITY_BYTES_MAX: usize = 1000;
/// Longest free-form reason (cancel, terminate, reset) or query type, in bytes.
pub const REASON_BYTES_MAX: usize = 32 * KIB;
/// Longest namespace name, in bytes.
pub const NAMESPACE_BYTES_MAX: usize = 255;
/// History event count from which the run is warned (suggest continue-as-new).
pub const HISTORY_EVENTS_WARN: u64 = 10_240;
/// History event count at which the run is terminated.
pub const HISTORY_EVENTS_MAX: u64 = 51_200;
/// History size from which the run is warned.
pub const HISTORY_BYTES_WARN: u64 = 10 * MIB as u64;
/// History size at which the run is terminated.
pub const HISTORY_BYTES_MAX: u64 = 50 * MIB as u64;
/// History event count from which WorkflowTaskStarted suggests continue-as-new.
pub const HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW: u64 = 4_096;
/// History size from which WorkflowTaskStarted suggests continue-as-new.
pub const HISTORY_BYTES_SUGGEST_CONTINUE_AS_NEW: u64 = 4 * MIB as u64;
/// Pending activities of one run; one more fails the workflow task.
pub const PENDING_ACTIVITIES_MAX: usize = 2_000;
/// Pending child workflows of one run.
pub const PENDING_CHILD_WORKFLOWS_MAX: usize = 2_000;
/// Pending signals to external workflows of one run.
pub const PENDING_SIGNALS_MAX: usize = 2_000;
/// Pending cancel requests to external workflows of one run.
pub const PENDING_REQUEST_CANCELS_MAX: usize = 2_000;
/// Signals one run may receive in its lifetime.
pub const SIGNALS_PER_EXECUTION_MAX: u64 = 10_000;

/// Most updates of a run admitted or accepted and not yet completed at once (Temporal's
/// `history.maxInFlightUpdates`).
pub const UPDATES_IN_FLIGHT_MAX: usize = 10;

/// Most updates a run accepts over its life (Temporal's `history.maxTotalUpdates`).
pub const UPDATES_PER_EXECUTION_MAX: usize = 2_000;
/// Search attributes on one run.
pub const SEARCH_ATTRIBUTES_KEYS_MAX: usize = 100;

/// Custom search attributes one namespace may register (explicitly or by first use).
pub const SEARCH_ATTRIBUTES_REGISTERED_MAX: usize = 500;
/// Encoded size of one search attribute value.
pub const SEARCH_ATTRIBUTE_VALUE_BYTES_MAX: usize = 2 * KIB;
/// Encoded size of all search attributes of one run.
pub const SEARCH_ATTRIBUTES_BYTES_MAX: usize = 40 * KIB;
/// Encoded size of a memo.
pub const MEMO_BYTES_MAX: usize = 2 * MIB;
/// Depth of a failure's cause chain; deeper chains are refused so decoding never recurses far.
pub const FAILURE_CAUSE_DEPTH_MAX: usize = 64;
/// Length of a failure message, in bytes; longer messages are refused.
pub const FAILURE_MESSAGE_BYTES_MAX: usize = 32 * KIB;
/// Workflow task start-to-close timeout when none is given.
pub const WORKFLOW_TASK_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// Workflow task start-to-close timeouts are capped here.
pub const WORKFLOW_TASK_TIMEOUT_MAX: Duration = Duration::from_secs(120);
/// Most calendars, intervals, cron strings and skip calendars in one schedule spec (and
/// ranges in one calendar field).
pub const SCHEDULE_SPEC_ITEMS_MAX: usize = 100;
/// Longest comment of a schedule calendar, in bytes (Temporal's bound).
pub const SCHEDULE_COMMENT_BYTES_MAX: usize = 200;
/// Longest timeout or delay accepted anywhere: 100 years, so deadlines never overflow.
pub const DURATION_MAX: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

const _: () = assert!(PAYLOAD_BYTES_MAX < MESSAGE_BYTES_MAX);
const _: () = assert!(PAYLOAD_BYTES_WARN < PAYLOAD_BYTES_MAX);
const _: () = assert!(HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW < HISTORY_EVENTS_WARN);
const _: () = assert!(HISTORY_EVENTS_WARN < HISTORY_EVENTS_MAX);
const _: () = assert!(HISTORY_BYTES_SUGGEST_CONTINUE_AS_NEW < HISTORY_BYTES_WARN);
const _: () = assert!(HISTORY_BYTES_WARN < HISTORY_BYTES_MAX);
const _: () = assert!(SEARCH_ATTRIBUTE_VALUE_BYTES_MAX < SEARCH_ATTRIBUTES_BYTES_MAX);
const _: () = assert!(NAMESPACE_BYTES_MAX < ID_BYTES_MAX);

/// Most task queues a worker deployment version lists, in queues (a worker process's
/// session queue is its own, so restarts add queues); past it the version still routes on
/// every queue its workers poll, its list just stops growing.
pub const VERSION_TASK_QUEUES_MAX: usize = 100;

/// Most worker identities a task queue half lists as its recent pollers, in identities
/// (`DescribeTaskQueue`); past it the longest silent is forgotten.
pub const POLLERS_TRACKED_MAX: usize = 1_000;
