//! A shard: the single writer of its workflow ids' executions.
//!
//! The actor takes one message at a time: it loads the execution machine (cache, else
//! storage), applies the input at the clock's `now`, turns the effects into one conditional
//! write and hands it to the group-commit writer. It goes on with other workflow ids while
//! the write commits ([`InFlight`]: at most one write per workflow id in flight); only once
//! the write is durable does it update its cache, offer new tasks to matching, arm the run's
//! deadline and reply. A failed write evicts the execution from the cache. Deadlines are kept
//! in memory (one per run, mirrored by the durable deadline row) and fire through the same
//! path.
//!
//! Each input goes prefetch → decide → plan → submit → settle: `actor` loads the run
//! (cache, else storage) and applies the input to the machine (core's pure decision); `plan`
//! turns the new state and effects into one conditional write and its settle — pure, no IO,
//! what it reads from the shard passed in a `PlanContext`; `write` sync-matches new tasks
//! to waiting pollers and submits the plan (every write of the shard goes through
//! `Shard::submit`); `in_flight` settles it once durable.
//!
//! `actor` holds the loop, the cache, settling and the generic transition; its siblings
//! hold what each kind of input adds: `start` (the start decision), `reset`,
//! `signals` (batched client signals), `expiry` (deadlines and retention deletion), `ids`
//! (run and task ids under the shard's lease), `messages` (what a shard is sent) and
//! `recent` (a busy run's latest events, handed to its sticky tasks).

mod actor;
mod alarm;
mod expiry;
mod ids;
mod messages;
mod outbox_rows;
mod plan;
mod recent;
mod reset;
mod signals;
mod slots;
mod start;
mod write;

pub(crate) use actor::{Shard, ShardParts, read_whole_history};
pub(crate) use messages::{ShardMessage, Shards};
pub(crate) use recent::Written;
pub(crate) use slots::{NotSent, ShardSlots};
