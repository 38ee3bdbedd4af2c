//! Points in time as values: the core never reads a clock, it is handed a [`Timestamp`].
//!
//! Timestamps are nanoseconds since the Unix epoch, UTC — Temporal's precision. Calendar
//! arithmetic ([`CivilTime`]) is here too because cron schedules need it; it is the
//! proleptic Gregorian calendar in UTC, with no leap seconds.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant, in nanoseconds since 1970-01-01T00:00:00Z.
///
/// Ordering is chronological. Arithmetic saturates or returns `None`; it never wraps.
/// Serialised as its nanoseconds in the binary codec and as RFC 3339 text in JSON (which
/// also reads the nanoseconds earlier exports wrote).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct Timestamp(u64);

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const SECONDS_PER_DAY: u64 = 86_400;

impl Timestamp {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Self = Self(0);

    /// The instant `nanos` nanoseconds after the epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// The instant `millis` milliseconds after the epoch (saturating).
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }

    /// The instant `seconds` seconds after the epoch (saturating).
    pub const fn from_unix_seconds(seconds: u64) -> Self {
        Self(seconds.saturating_mul(NANOS_PER_SECOND))
    }

    /// Nanoseconds since the epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// Milliseconds since the epoch, rounded down.
    pub const fn unix_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// `self + duration`, or `None` past year 2554.
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Self)
    }

    /// `self + duration`, clamped to the latest representable instant.
    pub fn saturating_add(self, duration: Duration) -> Self {
        self.checked_add(duration).unwrap_or(Self(u64::MAX))
    }

    /// `self - duration`, clamped to the epoch.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Self(self.0.saturating_sub(nanos))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The calendar date and time of this instant, in UTC.
    pub fn to_civil(self) -> CivilTime {
        let seconds = self.0 / NANOS_PER_SECOND;
        let days = seconds / SECONDS_PER_DAY;
        let second_of_day = seconds % SECONDS_PER_DAY;
        let (year, month, day) = civil_from_days(days);
        CivilTime {
            year,
            month,
            day,
            hour: (second_of_day / 3600) as u8,
            minute: ((second_of_day % 3600) / 60) as u8,
            second: (second_of_day % 60) as u8,
            nanosecond: (self.0 % NANOS_PER_SECOND) as u32,
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with as many fractional digits as needed (none for whole seconds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let civil = self.to_civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
        )?;
        if civil.nanosecond != 0 {
            let digits = format!("{:09}", civil.nanosecond);
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;

    /// Reads RFC 3339 text with any offset (`2026-12-02T01:15:17.25Z`,
    /// `2026-12-02T02:15:17+01:00`); instants before the epoch are refused.
    fn from_str(text: &str) -> Result<Self, String> {
        let instant: jiff::Timestamp = text
            .parse()
            .map_err(|error| format!("{text:?} is not an RFC 3339 time: {error}"))?;
        u64::try_from(instant.as_nanosecond())
            .map(Self)
            .map_err(|_| format!("{text:?} is outside 1970..2554"))
    }
}

/// The binary codec's shape: the newtype around the nanoseconds.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Timestamp")]
struct Nanos(u64);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            Nanos(self.0).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(TimestampVisitor)
        } else {
            Nanos::deserialize(deserializer).map(|Nanos(nanos)| Self(nanos))
        }
    }
}

/// Reads RFC 3339 text, or the nanoseconds version 1 of the history export wrote.
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an RFC 3339 time or nanoseconds since the epoch")
    }

    fn visit_u64<E: serde::de::Error>(self, nanos: u64) -> Result<Timestamp, E> {
        Ok(Timestamp(nanos))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(E::custom)
    }
}

/// A calendar date and time of day in UTC, as [`Timestamp::to_civil`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilTime {
    /// Year, 1970 or later.
    pub year: u32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
    /// Nanoseconds within the second.
    pub nanosecond: u32,
}

impl CivilTime {
    /// The instant of this calendar time, or `None` if a field is out of range or the time
    /// is before the epoch or after the last representable instant.
    pub fn to_timestamp(self) -> Option<Timestamp> {
        if !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 59
            || u64::from(self.nanosecond) >= NANOS_PER_SECOND
            || self.year < 1970
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = days
            .checked_mul(SECONDS_PER_DAY)?
            .checked_add(u64::from(self.hour) * 3600)?
            .checked_add(u64::from(self.minute) * 60)?
            .checked_add(u64::from(self.second))?;
        seconds
            .checked_mul(NANOS_PER_SECOND)?
            .checked_add(u64::from(self.nanosecond))
            .map(Timestamp)
    }

    /// Day of the week, 0 = Sunday … 6 = Saturday (cron's numbering).
    pub fn weekday(self) -> u8 {
        let days = days_from_civil(self.year, self.month, self.day);
        // 1970-01-01 was a Thursday (4).
        ((days + 4) % 7) as u8
    }
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Number of days in `month` (1–12) of `year`.
pub fn days_in_month(year: u32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a date on or after it (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u32, month: u8, day: u8) -> u64 {
    debug_assert!(year >= 1970);
    let year = u64::from(year) - u64::from(month <= 2);
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month = u64::from(month);
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + u64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 is the day number of 1970-01-01 counted from 0000-03-01.
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u32, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8;
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year as u32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_rfc3339() {
        assert_eq!(Timestamp::UNIX_EPOCH.to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(1_700_000_000_123_000_000).to_string(),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn weekday_of_known_dates() {
        // 1970-01-01 was a Thursday; 2026-11-28 is a Saturday.
        assert_eq!(Timestamp::UNIX_EPOCH.to_civil().weekday(), 4);
        let civil = CivilTime {
            year: 2026,
            month: 11,
            day: 28,
            hour: 0,
            minute: 0,
            second: 0,
            nanosecond: 0,
        };
        assert_eq!(civil.weekday(), 6);
    }

    #[test]
    fn rejects_impossible_dates() {
        let feb_29 = |year| CivilTime {
            year,
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
            second: 0,
            nanosecond: 0,
        };
        assert!(feb_29(2024).to_timestamp().is_some());
        assert!(feb_29(2023).to_timestamp().is_none());
        assert!(feb_29(1900).to_timestamp().is_none());
    }

    #[test]
    fn arithmetic_saturates() {
        let last = Timestamp::from_unix_nanos(u64::MAX);
        assert_eq!(last.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(last.saturating_add(Duration::MAX), last);
        assert_eq!(
            Timestamp::UNIX_EPOCH.saturating_sub(Duration::from_secs(1)),
            Timestamp::UNIX_EPOCH
        );
        assert_eq!(
            Timestamp::UNIX_EPOCH.saturating_duration_since(last),
            Duration::ZERO
        );
    }

    proptest! {
        #[test]
        fn civil_round_trips(nanos in any::<u64>()) {
            let timestamp = Timestamp::from_unix_nanos(nanos);
            prop_assert_eq!(timestamp.to_civil().to_timestamp(), Some(timestamp));
        }
    }
}
