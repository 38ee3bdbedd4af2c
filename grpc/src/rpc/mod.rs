//! The RPC handlers, one module per family: each maps Temporal's request onto the engine's
//! calls and the answer back.

pub(crate) mod activity_tasks;
pub(crate) mod admin;
pub(crate) mod by_id;
pub(crate) mod deployments;
pub(crate) mod describe;
pub(crate) mod history;
pub(crate) mod multi;
pub(crate) mod namespaces;
pub(crate) mod operator;
pub(crate) mod schedules;
pub(crate) mod system;
pub(crate) mod updates;
pub(crate) mod visibility;
pub(crate) mod workflow_tasks;
pub(crate) mod workflows;
