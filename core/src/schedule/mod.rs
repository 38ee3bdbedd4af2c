//! Schedules (spec §5.17): when a schedule fires and what it does then, as pure functions.
//!
//! `spec.rs` holds the spec types as Temporal's Go client names them; `text.rs` reads
//! calendar fields and cron strings; `calendar.rs` and `compiled.rs` answer "when next?"
//! in the schedule's time zone (the IANA database bundled with `jiff`, so no system files
//! are read). `model.rs` is a schedule as clients see it; `buffer.rs` the overlap
//! policies; `scheduler.rs` the durable state and every decision, given `now`.

mod buffer;
mod calendar;
mod compiled;
pub mod history;
mod model;
mod scheduler;
mod spec;
#[cfg(test)]
mod tests;
mod text;

pub use crate::duration_text::parse as parse_duration;
pub use compiled::{CompiledSpec, FireTime, next_times};
pub use model::*;
pub use scheduler::{Plan, PlannedStart, SchedulerInput, SchedulerState, StartOutcome};
pub use spec::{CalendarSpec, IntervalSpec, ScheduleRange, ScheduleSpec};
pub use text::CalendarText;

/// The first year a calendar's year field may name.
pub const YEAR_MIN: u32 = 2000;
/// The last year any calendar matches (Temporal's bound too).
pub const YEAR_MAX: u32 = 2100;

/// Why a schedule spec is refused: what is wrong and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule spec: {0}")]
pub struct SpecError(pub String);
