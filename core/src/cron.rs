//! Cron schedules for `cron_schedule` on workflow starts: parsing and the next fire time.
//!
//! The accepted language is the one Temporal accepts (robfig/cron's standard parser):
//! five fields `minute hour day-of-month month day-of-week`, each a comma list of `*`, `?`,
//! `N`, `N-M`, optionally `/STEP`; month and weekday names (`jan`, `mon`); the descriptors
//! `@yearly @annually @monthly @weekly @daily @midnight @hourly` and `@every DURATION`
//! (Go syntax: `1h30m`, `90s`); and an optional `CRON_TZ=` or `TZ=` prefix. When both
//! day-of-month and day-of-week are restricted, a day matching either fires (standard cron).
//! Times are evaluated in UTC; other time zones are refused for now.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::{CivilTime, Timestamp, days_in_month};

/// Where and why a cron expression does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {position}: {reason}")]
pub struct CronError {
    /// Byte offset in the expression where the problem starts.
    pub position: usize,
    /// What is wrong and what is accepted.
    pub reason: String,
}

/// A parsed cron schedule. Encoded as its expression text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CronText", into = "CronText")]
pub struct CronSchedule {
    expression: String,
    spec: Spec,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Spec {
    /// Fire at the start of every matching minute.
    Fields(Fields),
    /// Fire every interval (whole seconds, at least one).
    Every(Duration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Day-of-month was `*` or `?`: the day is decided by day-of-week alone.
    day_of_month_star: bool,
    /// Day-of-week was `*` or `?`: the day is decided by day-of-month alone.
    day_of_week_star: bool,
}

/// The bounds and names of one field.
struct FieldKind {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: FieldKind = FieldKind {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldKind = FieldKind {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldKind = FieldKind {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: FieldKind = FieldKind {
    name: "day-of-week",
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// How far ahead `next_after` looks before concluding the schedule never fires
/// (robfig/cron gives up after five years too; `0 0 30 2 *` never fires).
const SEARCH_YEARS_MAX: u32 = 5;

impl CronSchedule {
    /// Parses `expression`.
    ///
    /// ```
    /// use endure_core::{CronSchedule, Timestamp};
    ///
    /// let schedule = CronSchedule::parse("30 9 * * mon-fri")?;
    /// let saturday = Timestamp::from_unix_seconds(1_795_860_000); // 2026-11-28T10:00:00Z
    /// let next = schedule.next_after(saturday).expect("fires on weekdays");
    /// assert_eq!(next.to_string(), "2026-11-30T09:30:00Z");
    ///
    /// let error = CronSchedule::parse("0 25 * * *").unwrap_err();
    /// assert_eq!(error.position, 2);
    /// # Ok::<(), endure_core::CronError>(())
    /// ```
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        let spec = parse_spec(expression)?;
        Ok(Self {
            expression: expression.to_owned(),
            spec,
        })
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    /// The first fire time strictly after `after`, or `None` if there is none within five
    /// years.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match &self.spec {
            Spec::Every(interval) => {
                let whole_second =
                    after.saturating_sub(Duration::from_nanos(after.unix_nanos() % 1_000_000_000));
                whole_second.checked_add(*interval)
            }
            Spec::Fields(fields) => fields.next_after(after),
        }
    }
}

impl Fields {
    fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let start = after.to_civil();
        let mut time = CivilTime {
            second: 0,
            nanosecond: 0,
            ..start
        };
        // The next whole minute strictly after `after`.
        time = add_minute(time);
        let year_max = start.year + SEARCH_YEARS_MAX;
        while time.year <= year_max {
            if !bit(self.months, time.month) {
                time = first_of_next_month(time);
                continue;
            }
            if !self.day_matches(time) {
                time = next_day(time);
                continue;
            }
            if !bit(self.hours, time.hour) {
                time = next_hour(time);
                continue;
            }
            if !bit(self.minutes, time.minute) {
                time = add_minute(time);
                continue;
            }
            return time.to_timestamp();
        }
        None
    }

    fn day_matches(&self, time: CivilTime) -> bool {
        let dom = bit(self.days_of_month, time.day);
        let dow = bit(self.days_of_week, time.weekday());
        if self.day_of_month_star || self.day_of_week_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn bit(set: u64, value: u8) -> bool {
    set & (1 << value) != 0
}

fn add_minute(time: CivilTime) -> CivilTime {
    if time.minute < 59 {
        CivilTime {
            minute: time.minute + 1,
            ..time
        }
    } else {
        next_hour(time)
    }
}

fn next_hour(time: CivilTime) -> CivilTime {
    if time.hour < 23 {
        CivilTime {
            hour: time.hour + 1,
            minute: 0,
            ..time
        }
    } else {
        next_day(time)
    }
}

fn next_day(time: CivilTime) -> CivilTime {
    if time.day < days_in_month(time.year, time.month) {
        CivilTime {
            day: time.day + 1,
            hour: 0,
            minute: 0,
            ..time
        }
    } else {
        first_of_next_month(time)
    }
}

fn first_of_next_month(time: CivilTime) -> CivilTime {
    let (year, month) = if time.month < 12 {
        (time.year, time.month + 1)
    } else {
        (time.year + 1, 1)
    };
    CivilTime {
        year,
        month,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
    }
}

fn parse_spec(expression: &str) -> Result<Spec, CronError> {
    let (offset, body) = strip_time_zone(expression)?;
    let trimmed_start = body.len() - body.trim_start().len();
    let body_offset = offset + trimmed_start;
    let body = body.trim();
    if body.is_empty() {
        return Err(CronError {
            position: body_offset,
            reason: "empty schedule; expected five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily".into(),
        });
    }
    if let Some(descriptor) = body.strip_prefix('@') {
        return parse_descriptor(descriptor, body_offset);
    }
    let fields: Vec<(usize, &str)> = split_fields(body, body_offset);
    if fields.len() != 5 {
        return Err(CronError {
            position: body_offset,
            reason: format!(
                "found {} fields; expected five: minute hour day-of-month month day-of-week",
                fields.len()
            ),
        });
    }
    let (minutes, _) = parse_field(fields[0], &MINUTE)?;
    let (hours, _) = parse_field(fields[1], &HOUR)?;
    let (days_of_month, day_of_month_star) = parse_field(fields[2], &DAY_OF_MONTH)?;
    let (months, _) = parse_field(fields[3], &MONTH)?;
    let (days_of_week, day_of_week_star) = parse_field(fields[4], &DAY_OF_WEEK)?;
    Ok(Spec::Fields(Fields {
        minutes,
        hours,
        days_of_month,
        months,
        days_of_week,
        day_of_month_star,
        day_of_week_star,
    }))
}

/// Removes a `CRON_TZ=` or `TZ=` prefix, accepting only UTC; returns the body and its offset.
fn strip_time_zone(expression: &str) -> Result<(usize, &str), CronError> {
    for prefix in ["CRON_TZ=", "TZ="] {
        if let Some(rest) = expression.strip_prefix(prefix) {
            let zone_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let zone = &rest[..zone_end];
            if !matches!(zone, "UTC" | "Etc/UTC" | "Z") {
                return Err(CronError {
                    position: prefix.len(),
                    reason: format!(
                        "time zone {zone:?} is not supported yet; schedules are evaluated in UTC (write CRON_TZ=UTC or no prefix)"
                    ),
                });
            }
            return Ok((prefix.len() + zone_end, &rest[zone_end..]));
        }
    }
    Ok((0, expression))
}

fn split_fields(body: &str, offset: usize) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (index, character) in body.char_indices() {
        match (character.is_whitespace(), start) {
            (false, None) => start = Some(index),
            (true, Some(begin)) => {
                fields.push((offset + begin, &body[begin..index]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        fields.push((offset + begin, &body[begin..]));
    }
    fields
}

fn parse_descriptor(descriptor: &str, offset: usize) -> Result<Spec, CronError> {
    let all = |kind: &FieldKind| range_bits(kind.min, kind.max, 1);
    let fields = |minutes, hours, days_of_month, months, days_of_week, dom_star, dow_star| {
        Spec::Fields(Fields {
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            day_of_month_star: dom_star,
            day_of_week_star: dow_star,
        })
    };
    match descriptor {
        "yearly" | "annually" => Ok(fields(1, 1, 1 << 1, 1 << 1, all(&DAY_OF_WEEK), false, true)),
        "monthly" => Ok(fields(
            1,
            1,
            1 << 1,
            all(&MONTH),
            all(&DAY_OF_WEEK),
            false,
            true,
        )),
        "weekly" => Ok(fields(
            1,
            1,
            all(&DAY_OF_MONTH),
            all(&MONTH),
            1,
            true,
            false,
        )),
        "daily" | "midnight" => Ok(fields(
            1,
            1,
            all(&DAY_OF_MONTH),
            all(&MONTH),
            all(&DAY_OF_WEEK),
            true,
            true,
        )),
        "hourly" => Ok(fields(
            1,
            all(&HOUR),
            all(&DAY_OF_MONTH),
            all(&MONTH),
            all(&DAY_OF_WEEK),
            true,
            true,
        )),
        _ => match descriptor.strip_prefix("every") {
            Some(rest) if rest.starts_with(char::is_whitespace) => {
                let duration_offset =
                    offset + 1 + "every".len() + (rest.len() - rest.trim_start().len());
                let interval = parse_go_duration(rest.trim(), duration_offset)?;
                // robfig/cron: whole seconds, at least one.
                let seconds = interval.as_secs().max(1);
                Ok(Spec::Every(Duration::from_secs(seconds)))
            }
            _ => Err(CronError {
                position: offset,
                reason: format!(
                    "unknown descriptor @{descriptor}; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"
                ),
            }),
        },
    }
}

/// Parses Go's duration syntax (`1h30m`, `1.5s`, `300ms`), as `@every` takes it.
fn parse_go_duration(text: &str, offset: usize) -> Result<Duration, CronError> {
    let error = |position: usize, reason: String| CronError {
        position: offset + position,
        reason,
    };
    if text.is_empty() {
        return Err(error(
            0,
            "@every needs a duration, such as 1h30m or 90s".into(),
        ));
    }
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut total_nanos: f64 = 0.0;
    while index < bytes.len() {
        let number_start = index;
        while index < bytes.len() && (bytes[index].is_ascii_digit() || bytes[index] == b'.') {
            index += 1;
        }
        let number: f64 = text[number_start..index].parse().map_err(|_| {
            error(
                number_start,
                format!("expected a number in duration {text:?}"),
            )
        })?;
        let unit_start = index;
        while index < bytes.len() && !(bytes[index].is_ascii_digit() || bytes[index] == b'.') {
            index += 1;
        }
        let unit_nanos = match &text[unit_start..index] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => {
                return Err(error(
                    unit_start,
                    format!("unknown duration unit {unit:?}; expected ns, us, ms, s, m or h"),
                ));
            }
        };
        total_nanos += number * unit_nanos;
    }
    let seconds = total_nanos / 1e9;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d <= crate::limits::DURATION_MAX)
        .ok_or_else(|| error(0, format!("duration {text:?} is out of range")))
}

/// Parses one field into a bit set, and whether it was an unrestricted `*` or `?`.
fn parse_field((offset, text): (usize, &str), kind: &FieldKind) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    let mut star = false;
    let mut part_offset = offset;
    for part in text.split(',') {
        let (part_bits, part_star) = parse_range(part, part_offset, kind)?;
        bits |= part_bits;
        star |= part_star;
        part_offset += part.len() + 1;
    }
    Ok((bits, star))
}

fn parse_range(part: &str, offset: usize, kind: &FieldKind) -> Result<(u64, bool), CronError> {
    let error = |position: usize, reason: String| CronError {
        position: offset + position,
        reason: format!("{} field: {reason}", kind.name),
    };
    if part.is_empty() {
        return Err(error(0, "empty list item".into()));
    }
    let (range, step_text) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    let is_star = range == "*" || range == "?";
    let (low, mut high) = if is_star {
        (kind.min, kind.max)
    } else if let Some((low, high)) = range.split_once('-') {
        (
            parse_value(low, kind).map_err(|reason| error(0, reason))?,
            parse_value(high, kind).map_err(|reason| error(low.len() + 1, reason))?,
        )
    } else {
        let value = parse_value(range, kind).map_err(|reason| error(0, reason))?;
        (value, value)
    };
    let step = match step_text {
        None => 1,
        Some(step) => {
            let step_position = range.len() + 1;
            let step: u32 = step
                .parse()
                .map_err(|_| error(step_position, format!("step {step:?} is not a number")))?;
            if step == 0 {
                return Err(error(step_position, "step must be at least 1".into()));
            }
            // `N/STEP` means from N to the field's maximum.
            if !is_star && !range.contains('-') {
                high = kind.max;
            }
            step
        }
    };
    if low > high {
        return Err(error(
            0,
            format!("range {low}-{high} runs backwards; write the smaller value first"),
        ));
    }
    // A stepped star (`*/2`) restricts the field, as in robfig/cron.
    Ok((range_bits(low, high, step), is_star && step == 1))
}

fn parse_value(text: &str, kind: &FieldKind) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = kind.names.iter().position(|name| *name == lower) {
        return Ok(kind.min + index as u32);
    }
    let value: u32 = text.parse().map_err(|_| {
        if kind.names.is_empty() {
            format!("{text:?} is not a number")
        } else {
            format!(
                "{text:?} is neither a number nor a name ({}…)",
                kind.names[..3].join(", ")
            )
        }
    })?;
    if value < kind.min || value > kind.max {
        return Err(format!(
            "{value} is out of range; expected {}–{}",
            kind.min, kind.max
        ));
    }
    Ok(value)
}

fn range_bits(low: u32, high: u32, step: u32) -> u64 {
    debug_assert!(high < 64 && low <= high && step >= 1);
    (low..=high)
        .step_by(step as usize)
        .fold(0, |bits, value| bits | (1 << value))
}

impl FromStr for CronSchedule {
    type Err = CronError;
    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        Self::parse(expression)
    }
}

/// A schedule's encoding: its expression as a newtype named `CronSchedule`. A newtype is
/// its content in every format Endure writes; the name lets the codec's schema tracer give
/// it a valid sample (docs/format.md).
#[derive(Serialize, Deserialize)]
#[serde(rename = "CronSchedule")]
struct CronText(String);

impl TryFrom<CronText> for CronSchedule {
    type Error = CronError;
    fn try_from(text: CronText) -> Result<Self, Self::Error> {
        Self::parse(&text.0)
    }
}

impl From<CronSchedule> for CronText {
    fn from(schedule: CronSchedule) -> Self {
        Self(schedule.expression)
    }
}

impl TryFrom<String> for CronSchedule {
    type Error = CronError;
    fn try_from(expression: String) -> Result<Self, Self::Error> {
        Self::parse(&expression)
    }
}

impl From<CronSchedule> for String {
    fn from(schedule: CronSchedule) -> Self {
        schedule.expression
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.expression, f)
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

#[cfg(any(test, feature = "testing"))]
impl proptest::arbitrary::Arbitrary for CronSchedule {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        prop_oneof![
            Just("@daily".to_owned()),
            Just("@every 90s".to_owned()),
            (0u32..60, 0u32..24, 1u32..8).prop_map(|(m, h, s)| format!("{m} {h}/{s} * * mon-fri")),
        ]
        .prop_filter_map("valid cron", |text| Self::parse(&text).ok())
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        // "YYYY-MM-DD HH:MM"
        let parse = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap();
        CivilTime {
            year: parse(0..4),
            month: parse(5..7) as u8,
            day: parse(8..10) as u8,
            hour: parse(11..13) as u8,
            minute: parse(14..16) as u8,
            second: 0,
            nanosecond: 0,
        }
        .to_timestamp()
        .unwrap()
    }

    fn next(expression: &str, after: &str) -> Option<String> {
        CronSchedule::parse(expression)
            .unwrap()
            .next_after(at(after))
            .map(|t| t.to_string())
    }

    #[test]
    fn next_fire_times() {
        let cases = [
            ("* * * * *", "2026-11-28 10:15", "2026-11-28T10:16:00Z"),
            ("*/15 * * * *", "2026-11-28 10:15", "2026-11-28T10:30:00Z"),
            ("0 2 * * *", "2026-11-28 10:15", "2026-11-29T02:00:00Z"),
            (
                "30 9 * * mon-fri",
                "2026-11-28 10:15",
                "2026-11-30T09:30:00Z",
            ),
            ("0 0 1 jan *", "2026-11-28 10:15", "2027-01-01T00:00:00Z"),
            ("0 0 29 2 *", "2026-11-28 10:15", "2028-02-29T00:00:00Z"),
            ("0 0 31 * *", "2026-11-28 10:15", "2026-12-31T00:00:00Z"),
            // Day-of-month and day-of-week both restricted: either matches.
            ("0 0 1 * sun", "2026-11-28 10:15", "2026-11-29T00:00:00Z"),
            ("5/20 * * * *", "2026-11-28 10:45", "2026-11-28T11:05:00Z"),
            ("0 12 * * 0,6", "2026-11-28 12:00", "2026-11-29T12:00:00Z"),
            ("@hourly", "2026-11-28 10:15", "2026-11-28T11:00:00Z"),
            ("@daily", "2026-11-28 10:15", "2026-11-29T00:00:00Z"),
            ("@weekly", "2026-11-28 10:15", "2026-11-29T00:00:00Z"),
            ("@monthly", "2026-11-28 10:15", "2026-12-01T00:00:00Z"),
            ("@yearly", "2026-11-28 10:15", "2027-01-01T00:00:00Z"),
            ("@every 1h30m", "2026-11-28 10:15", "2026-11-28T11:45:00Z"),
            (
                "CRON_TZ=UTC 0 3 * * *",
                "2026-11-28 10:15",
                "2026-11-29T03:00:00Z",
            ),
        ];
        for (expression, after, expected) in cases {
            assert_eq!(
                next(expression, after).as_deref(),
                Some(expected),
                "{expression} after {after}"
            );
        }
    }

    #[test]
    fn impossible_date_never_fires() {
        assert_eq!(next("0 0 30 2 *", "2026-11-28 10:15"), None);
    }

    #[test]
    fn errors_name_position_and_reason() {
        let cases = [
            ("", 0, "empty schedule"),
            ("* * * *", 0, "found 4 fields"),
            ("* * * * * *", 0, "found 6 fields"),
            (
                "60 * * * *",
                0,
                "minute field: 60 is out of range; expected 0–59",
            ),
            ("* 24 * * *", 2, "hour field: 24 is out of range"),
            (
                "* * 0 * *",
                4,
                "day-of-month field: 0 is out of range; expected 1–31",
            ),
            ("* * * 13 *", 6, "month field: 13 is out of range"),
            ("* * * * 7", 8, "day-of-week field: 7 is out of range"),
            (
                "* * * * funday",
                8,
                "day-of-week field: \"funday\" is neither",
            ),
            ("*/0 * * * *", 2, "minute field: step must be at least 1"),
            ("1,,2 * * * *", 2, "minute field: empty list item"),
            (
                "30-10 * * * *",
                0,
                "minute field: range 30-10 runs backwards",
            ),
            ("* 1-x * * *", 4, "hour field: \"x\" is not a number"),
            ("@fortnightly", 0, "unknown descriptor @fortnightly"),
            ("@every 5 minutes", 8, "unknown duration unit \" minutes\""),
            (
                "CRON_TZ=Asia/Tokyo 0 * * * *",
                8,
                "time zone \"Asia/Tokyo\" is not supported",
            ),
        ];
        for (expression, position, reason) in cases {
            let error = CronSchedule::parse(expression).unwrap_err();
            assert_eq!(error.position, position, "{expression:?}: {error}");
            assert!(
                error.reason.starts_with(reason),
                "{expression:?}: {:?} does not start with {reason:?}",
                error.reason
            );
        }
    }

    #[test]
    fn encodes_as_text() {
        let schedule = CronSchedule::parse("0 2 * * *").unwrap();
        assert_eq!(serde_json::to_string(&schedule).unwrap(), "\"0 2 * * *\"");
        assert!(serde_json::from_str::<CronSchedule>("\"0 99 * * *\"").is_err());
    }
}
