//! A spec checked and compiled: the pure answer to "when does this schedule fire next?".

use std::time::Duration;

use jiff::tz::TimeZone;

use super::calendar::CompiledCalendar;
use super::spec::{CalendarSpec, IntervalSpec, ScheduleRange, ScheduleSpec};
use super::text::{CronParts, parse_cron_string};
use super::{SpecError, YEAR_MAX, YEAR_MIN};
use crate::hashing::{FNV_BASIS, fnv1a, fold32};
use crate::limits::{SCHEDULE_COMMENT_BYTES_MAX, SCHEDULE_SPEC_ITEMS_MAX};
use crate::time::Timestamp;

/// How many skipped (excluded) times a search passes over before it gives up: a spec
/// whose every time is skipped fires never, not forever.
const SKIPPED_TIMES_MAX: usize = 100_000;

/// One fire time: the time the spec names, and that time plus its jitter (when the
/// action is taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FireTime {
    /// The time the spec matches (the scheduled time, before jitter); whole seconds.
    pub nominal: Timestamp,
    /// When the action is due: `nominal` plus this time's jitter.
    pub actual: Timestamp,
}

/// A [`ScheduleSpec`] checked and compiled.
#[derive(Clone, Debug)]
pub struct CompiledSpec {
    calendars: Vec<CompiledCalendar>,
    intervals: Vec<IntervalSpec>,
    skip: Vec<CompiledCalendar>,
    zone: TimeZone,
    start_at: Option<i64>,
    end_at: Option<i64>,
    jitter: Duration,
}

impl ScheduleSpec {
    /// The spec as Temporal's server keeps it: each cron string folded into the calendar or
    /// interval it names (its comment kept), and the time zone its `CRON_TZ=` names made the
    /// spec's own. Fails as [`CompiledSpec::new`] does on a string that does not parse or
    /// zones that disagree.
    pub fn canonical(&self) -> Result<Self, SpecError> {
        let mut canonical = Self {
            cron_expressions: Vec::new(),
            ..self.clone()
        };
        let mut cron_zone: Option<Option<String>> = None;
        for text in &self.cron_expressions {
            let (parts, zone) = parse_cron_string(text)?;
            match &cron_zone {
                Some(earlier) if *earlier != zone => {
                    return Err(SpecError(
                        "cron strings name different time zones; give every one the same CRON_TZ (or none)".into(),
                    ));
                }
                _ => cron_zone = Some(zone),
            }
            match parts {
                CronParts::Calendar(calendar) => canonical.calendars.push(calendar),
                CronParts::Interval(interval) => canonical.intervals.push(interval),
            }
        }
        let zone_name = self.time_zone_name.trim();
        canonical.time_zone_name = match cron_zone {
            Some(Some(cron_zone)) if !zone_name.is_empty() && zone_name != cron_zone => {
                return Err(SpecError(format!(
                    "the cron strings' time zone {cron_zone:?} differs from the spec's {zone_name:?}; give one"
                )));
            }
            Some(Some(cron_zone)) => cron_zone,
            _ => zone_name.to_owned(),
        };
        Ok(canonical)
    }
}

impl CompiledSpec {
    /// Checks `spec` and compiles it: every range within its field's bounds, intervals of
    /// at least a second with an offset below them, cron strings that parse and agree on
    /// one time zone, a time zone the bundled IANA database knows.
    pub fn new(spec: &ScheduleSpec) -> Result<Self, SpecError> {
        let items = spec.calendars.len()
            + spec.intervals.len()
            + spec.cron_expressions.len()
            + spec.skip.len();
        if items > SCHEDULE_SPEC_ITEMS_MAX {
            return Err(SpecError(format!(
                "the spec has {items} calendars, intervals, cron strings and skips; at most {SCHEDULE_SPEC_ITEMS_MAX} are allowed"
            )));
        }
        let ScheduleSpec {
            calendars,
            intervals,
            time_zone_name: zone_name,
            ..
        } = spec.canonical()?;
        for calendar in calendars.iter().chain(&spec.skip) {
            check_calendar(calendar)?;
        }
        for interval in &intervals {
            if interval.every < Duration::from_secs(1) {
                return Err(SpecError(format!(
                    "an interval of {:?} is too short; the shortest is one second",
                    interval.every
                )));
            }
            if interval.offset >= interval.every {
                return Err(SpecError(format!(
                    "an interval's offset ({:?}) must be shorter than the interval ({:?})",
                    interval.offset, interval.every
                )));
            }
        }
        let zone = time_zone(&zone_name)?;
        let seconds = |timestamp: Timestamp| (timestamp.unix_nanos() / 1_000_000_000) as i64;
        Ok(Self {
            calendars: calendars.iter().map(CompiledCalendar::new).collect(),
            intervals,
            skip: spec.skip.iter().map(CompiledCalendar::new).collect(),
            zone,
            start_at: spec.start_at.map(seconds),
            end_at: spec.end_at.map(|end| {
                // An end inside a second still allows that second's time.
                seconds(end)
            }),
            jitter: spec.jitter,
        })
    }

    /// The first nominal time strictly after `after` (whole seconds; no skip, start or end
    /// applied), the earliest of every calendar and interval.
    fn raw_next(&self, after: i64) -> Option<i64> {
        let calendars = self
            .calendars
            .iter()
            .filter_map(|calendar| calendar.next_after(after, &self.zone));
        let intervals = self.intervals.iter().map(|interval| {
            let every = interval.every.as_secs().max(1) as i64;
            let offset = interval.offset.as_secs() as i64;
            ((after - offset).div_euclid(every) + 1) * every + offset
        });
        calendars.chain(intervals).min()
    }

    fn skipped(&self, instant: i64) -> bool {
        self.skip
            .iter()
            .any(|calendar| calendar.matches(instant, &self.zone))
    }

    /// The next fire time after `after`: the first nominal time strictly after it that is
    /// not skipped, not before the start nor after the end, with its jitter — drawn from
    /// `seed` and the nominal time (so every engine computes the same), at most
    /// [`ScheduleSpec::jitter`] and never reaching the following nominal time. `None`
    /// when the spec fires no more.
    pub fn next_time(&self, seed: &str, after: Timestamp) -> Option<FireTime> {
        let mut after = (after.unix_nanos() / 1_000_000_000) as i64;
        if let Some(start) = self.start_at {
            // So the start itself can match.
            after = after.max(start - 1);
        }
        let mut nominal = self.raw_next(after)?;
        let mut skipped = 0;
        while self.skipped(nominal) {
            skipped += 1;
            if skipped > SKIPPED_TIMES_MAX {
                return None;
            }
            nominal = self.raw_next(nominal)?;
        }
        if self.end_at.is_some_and(|end| nominal > end) || nominal < 0 {
            return None;
        }
        let mut jitter = self.jitter;
        if let Some(following) = self.raw_next(nominal) {
            jitter = jitter.min(Duration::from_secs((following - nominal) as u64));
        }
        let nominal = Timestamp::from_unix_seconds(nominal as u64);
        Some(FireTime {
            nominal,
            actual: nominal.saturating_add(jitter_of(seed, nominal, jitter)),
        })
    }

    /// The next `n` fire times after `after` (what describe shows as "next runs").
    pub fn next_times(&self, seed: &str, after: Timestamp, n: usize) -> Vec<FireTime> {
        let mut times = Vec::with_capacity(n.min(1_000));
        let mut after = after;
        while times.len() < n {
            let Some(time) = self.next_time(seed, after) else {
                break;
            };
            // The search continues from the nominal time: jitter never reaches the next.
            after = time.nominal;
            times.push(time);
        }
        times
    }
}

/// The fire times of `spec` after `after`, at most `n` (no jitter seed: the times each
/// schedule would take are shown by its describe).
pub fn next_times(
    spec: &ScheduleSpec,
    after: Timestamp,
    n: usize,
) -> Result<Vec<Timestamp>, SpecError> {
    let compiled = CompiledSpec::new(spec)?;
    Ok(compiled
        .next_times("", after, n)
        .into_iter()
        .map(|time| time.nominal)
        .collect())
}

/// A deterministic delay in `[0, max)` drawn from `seed` and `nominal`, to the millisecond
/// (as Temporal's: a 32-bit hash scaled to the range).
fn jitter_of(seed: &str, nominal: Timestamp, max: Duration) -> Duration {
    let max_millis = u64::try_from(max.as_millis())
        .unwrap_or(u64::MAX)
        .min(u64::from(u32::MAX));
    if max_millis == 0 {
        return Duration::ZERO;
    }
    // FNV-1a over the nominal time and the seed, folded to 32 bits.
    let mut bytes = nominal.unix_nanos().to_le_bytes().to_vec();
    bytes.extend_from_slice(seed.as_bytes());
    let hash = fold32(fnv1a(&bytes, FNV_BASIS));
    Duration::from_millis((hash * max_millis) >> 32)
}

fn check_calendar(calendar: &CalendarSpec) -> Result<(), SpecError> {
    let fields: [(&str, &[ScheduleRange], u32, u32); 7] = [
        ("second", &calendar.second, 0, 59),
        ("minute", &calendar.minute, 0, 59),
        ("hour", &calendar.hour, 0, 23),
        ("day_of_month", &calendar.day_of_month, 1, 31),
        ("month", &calendar.month, 1, 12),
        ("year", &calendar.year, YEAR_MIN, YEAR_MAX),
        ("day_of_week", &calendar.day_of_week, 0, 6),
    ];
    for (name, ranges, min, max) in fields {
        if ranges.len() > SCHEDULE_SPEC_ITEMS_MAX {
            return Err(SpecError(format!(
                "calendar field {name} has {} ranges; at most {SCHEDULE_SPEC_ITEMS_MAX}",
                ranges.len()
            )));
        }
        for range in ranges {
            if range.start < min || range.start > max {
                return Err(SpecError(format!(
                    "calendar field {name}: start {} is out of range {min}–{max}",
                    range.start
                )));
            }
            if range.end != 0 && (range.end < range.start || range.end > max) {
                return Err(SpecError(format!(
                    "calendar field {name}: end {} is before the start {} or beyond {max}",
                    range.end, range.start
                )));
            }
        }
    }
    if calendar.comment.len() > SCHEDULE_COMMENT_BYTES_MAX {
        return Err(SpecError(format!(
            "a calendar comment has {} bytes; at most {SCHEDULE_COMMENT_BYTES_MAX}",
            calendar.comment.len()
        )));
    }
    Ok(())
}

/// The time zone named `name` in the bundled IANA database (empty or `UTC` for UTC).
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, SpecError> {
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| {
        SpecError(format!(
            "unknown time zone {name:?}; use an IANA name such as America/New_York or Europe/Paris"
        ))
    })
}
