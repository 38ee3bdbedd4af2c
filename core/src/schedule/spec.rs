//! What a schedule's spec says, as Temporal's Go client spells it (`ScheduleSpec`): calendar
//! specs, interval specs and cron strings, all in one time zone, between a start and an end,
//! with jitter and calendars to skip. [`CompiledSpec`](super::CompiledSpec) answers when it
//! fires.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One range of a calendar field: `start..=end` every `step`. `end` 0 means `start` (a
/// single value) and `step` 0 means 1, as in Temporal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRange {
    /// The first value.
    pub start: u32,
    /// The last value (inclusive); 0 for `start` alone.
    #[serde(default)]
    pub end: u32,
    /// The distance between values; 0 for 1.
    #[serde(default)]
    pub step: u32,
}

impl ScheduleRange {
    /// The single value `value`.
    pub const fn value(value: u32) -> Self {
        Self {
            start: value,
            end: 0,
            step: 0,
        }
    }

    /// Every value from `start` to `end`, inclusive.
    pub const fn between(start: u32, end: u32) -> Self {
        Self {
            start,
            end,
            step: 0,
        }
    }

    /// Every `step`th value from `start` to `end`, inclusive.
    pub const fn stepped(start: u32, end: u32, step: u32) -> Self {
        Self { start, end, step }
    }

    /// The values the range covers, in order.
    pub fn values(self) -> impl Iterator<Item = u32> {
        let end = self.end.max(self.start);
        (self.start..=end).step_by(self.step.max(1) as usize)
    }
}

/// A calendar spec (Go's `ScheduleCalendarSpec`): matches a time when every field does.
/// An empty list takes the field's default: second, minute and hour match 0; day of
/// month, month, year and day of week match every value. Day of week counts from 0 =
/// Sunday. Unlike classic cron, day of month and day of week must *both* match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendarSpec {
    /// Seconds, 0–59 (default 0).
    pub second: Vec<ScheduleRange>,
    /// Minutes, 0–59 (default 0).
    pub minute: Vec<ScheduleRange>,
    /// Hours, 0–23 (default 0).
    pub hour: Vec<ScheduleRange>,
    /// Days of the month, 1–31 (default all).
    pub day_of_month: Vec<ScheduleRange>,
    /// Months, 1–12 (default all).
    pub month: Vec<ScheduleRange>,
    /// Years, 2000–2100 (default all).
    pub year: Vec<ScheduleRange>,
    /// Days of the week, 0 (Sunday)–6 (default all).
    pub day_of_week: Vec<ScheduleRange>,
    /// Free text for people reading the spec.
    pub comment: String,
}

/// An interval spec (Go's `ScheduleIntervalSpec`): every `every`, counted from the Unix
/// epoch plus `offset` — so `every` one hour with `offset` 15 minutes fires at :15 past
/// every hour, whatever the time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalSpec {
    /// The period; at least one second.
    #[serde(with = "crate::duration_text::readable")]
    pub every: Duration,
    /// The phase, less than `every`.
    #[serde(default)]
    #[serde(with = "crate::duration_text::readable")]
    pub offset: Duration,
}

impl IntervalSpec {
    /// Every `every`, with no offset.
    pub const fn every(every: Duration) -> Self {
        Self {
            every,
            offset: Duration::ZERO,
        }
    }
}

/// When a schedule fires (Go's `ScheduleSpec`): the union of its calendars, intervals and
/// cron expressions, minus the `skip` calendars, between `start_at` and `end_at`, each time
/// delayed by up to `jitter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleSpec {
    /// Calendar specs.
    pub calendars: Vec<CalendarSpec>,
    /// Interval specs.
    pub intervals: Vec<IntervalSpec>,
    /// Cron strings, as Temporal reads them: 5 fields (minute hour day-of-month month
    /// day-of-week), 6 (… year) or 7 (second minute … year); `@yearly`, `@monthly`,
    /// `@weekly`, `@daily`, `@hourly`, `@every 90m` or `@every 1h/15m` (with a phase); an
    /// optional `CRON_TZ=` or `TZ=` prefix naming the time zone and a `# comment` suffix.
    pub cron_expressions: Vec<String>,
    /// Calendars whose matching times are skipped.
    pub skip: Vec<CalendarSpec>,
    /// No time before this fires.
    pub start_at: Option<Timestamp>,
    /// No time after this fires.
    pub end_at: Option<Timestamp>,
    /// Each fire time is delayed by a deterministic amount up to this (never past the next
    /// nominal time).
    #[serde(with = "crate::duration_text::readable")]
    pub jitter: Duration,
    /// The IANA time zone calendars are read in (`America/New_York`); empty for UTC.
    pub time_zone_name: String,
}
