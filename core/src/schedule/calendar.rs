//! A calendar spec compiled to bit sets, and the next time it matches in a time zone.
//!
//! A time matches when its wall-clock reading in the zone matches every field. So a wall
//! time that a spring-forward transition skips never fires, and one that a fall-back
//! transition repeats fires at each of its instants — what Temporal's server does.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::spec::{CalendarSpec, ScheduleRange};
use super::{YEAR_MAX, YEAR_MIN};

/// How far a fall-back transition can move the wall clock back (two hours is the most any
/// zone has done; three leaves a margin).
const FOLD_SECONDS_MAX: i64 = 3 * 3_600;

/// A wall-clock reading to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Wall {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: i8,
}

impl Wall {
    fn of(datetime: DateTime) -> Self {
        Self {
            year: datetime.year(),
            month: datetime.month(),
            day: datetime.day(),
            hour: datetime.hour(),
            minute: datetime.minute(),
            second: datetime.second(),
        }
    }

    fn datetime(self) -> DateTime {
        jiff::civil::datetime(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            0,
        )
    }

    fn start_of_year(year: i16) -> Self {
        Self {
            year,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

/// A calendar spec as bit sets, one per field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompiledCalendar {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Years from [`YEAR_MIN`] (bit 0) to [`YEAR_MAX`]; `None` for every year.
    years: Option<[u64; 2]>,
}

fn bits(ranges: &[ScheduleRange], default: &[ScheduleRange]) -> u64 {
    let ranges = if ranges.is_empty() { default } else { ranges };
    ranges
        .iter()
        .flat_map(|range| range.values())
        .filter(|value| *value < 64)
        .fold(0, |bits, value| bits | 1 << value)
}

/// The smallest value at or above `from` in `bits`.
fn next_bit(bits: u64, from: i8) -> Option<i8> {
    let from = u32::try_from(from).ok().filter(|from| *from < 64)?;
    let above = bits & (u64::MAX << from);
    (above != 0).then(|| above.trailing_zeros() as i8)
}

fn has(bits: u64, value: i8) -> bool {
    (0..64).contains(&value) && bits & (1 << value) != 0
}

impl CompiledCalendar {
    /// Compiles a validated calendar spec.
    pub(crate) fn new(spec: &CalendarSpec) -> Self {
        let zero = [ScheduleRange::value(0)];
        let years = (!spec.year.is_empty()).then(|| {
            let mut years = [0u64; 2];
            for year in spec.year.iter().flat_map(|range| range.values()) {
                if (YEAR_MIN..=YEAR_MAX).contains(&year) {
                    let index = (year - YEAR_MIN) as usize;
                    years[index / 64] |= 1 << (index % 64);
                }
            }
            years
        });
        Self {
            seconds: bits(&spec.second, &zero),
            minutes: bits(&spec.minute, &zero),
            hours: bits(&spec.hour, &zero),
            days_of_month: bits(&spec.day_of_month, &[ScheduleRange::between(1, 31)]),
            months: bits(&spec.month, &[ScheduleRange::between(1, 12)]),
            days_of_week: bits(&spec.day_of_week, &[ScheduleRange::between(0, 6)]),
            years,
        }
    }

    fn year(&self, year: i16) -> bool {
        match self.years {
            None => true,
            Some(years) => {
                let Some(index) = usize::try_from(i32::from(year) - YEAR_MIN as i32)
                    .ok()
                    .filter(|index| *index < 128)
                else {
                    return false;
                };
                years[index / 64] & (1 << (index % 64)) != 0
            }
        }
    }

    fn day(&self, year: i16, month: i8, day: i8) -> bool {
        has(self.days_of_month, day)
            && Date::new(year, month, day)
                .is_ok_and(|date| has(self.days_of_week, date.weekday().to_sunday_zero_offset()))
    }

    /// Whether the wall-clock reading of `instant` (Unix seconds) in `zone` matches.
    pub(crate) fn matches(&self, instant: i64, zone: &TimeZone) -> bool {
        let Ok(timestamp) = jiff::Timestamp::from_second(instant) else {
            return false;
        };
        let wall = Wall::of(zone.to_datetime(timestamp));
        self.matches_wall(wall)
    }

    fn matches_wall(&self, wall: Wall) -> bool {
        self.year(wall.year)
            && has(self.months, wall.month)
            && self.day(wall.year, wall.month, wall.day)
            && has(self.hours, wall.hour)
            && has(self.minutes, wall.minute)
            && has(self.seconds, wall.second)
    }

    /// The first wall-clock reading at or after `wall` that matches, before the year after
    /// [`YEAR_MAX`].
    fn next_wall(&self, mut wall: Wall) -> Option<Wall> {
        loop {
            // Carry.
            if wall.second >= 60 {
                (wall.minute, wall.second) = (wall.minute + 1, 0);
            }
            if wall.minute >= 60 {
                (wall.hour, wall.minute) = (wall.hour + 1, 0);
            }
            if wall.hour >= 24 {
                (wall.day, wall.hour) = (wall.day + 1, 0);
            }
            if wall.day > days_in_month(wall.year, wall.month) {
                (wall.month, wall.day) = (wall.month + 1, 1);
            }
            if wall.month > 12 {
                wall = Wall::start_of_year(wall.year + 1);
            }
            if i32::from(wall.year) > YEAR_MAX as i32 {
                return None;
            }
            // Match from the outside in, jumping to the next value each field allows.
            if !self.year(wall.year) {
                wall = Wall::start_of_year(wall.year + 1);
                continue;
            }
            match next_bit(self.months, wall.month) {
                None => {
                    wall = Wall::start_of_year(wall.year + 1);
                    continue;
                }
                Some(month) if month != wall.month => {
                    (wall.month, wall.day, wall.hour, wall.minute, wall.second) =
                        (month, 1, 0, 0, 0);
                    continue;
                }
                Some(_) => {}
            }
            if !self.day(wall.year, wall.month, wall.day) {
                (wall.day, wall.hour, wall.minute, wall.second) = (wall.day + 1, 0, 0, 0);
                continue;
            }
            match next_bit(self.hours, wall.hour) {
                None => {
                    (wall.day, wall.hour, wall.minute, wall.second) = (wall.day + 1, 0, 0, 0);
                    continue;
                }
                Some(hour) if hour != wall.hour => {
                    (wall.hour, wall.minute, wall.second) = (hour, 0, 0);
                }
                Some(_) => {}
            }
            match next_bit(self.minutes, wall.minute) {
                None => {
                    (wall.hour, wall.minute, wall.second) = (wall.hour + 1, 0, 0);
                    continue;
                }
                Some(minute) if minute != wall.minute => {
                    (wall.minute, wall.second) = (minute, 0);
                }
                Some(_) => {}
            }
            match next_bit(self.seconds, wall.second) {
                None => {
                    (wall.minute, wall.second) = (wall.minute + 1, 0);
                }
                Some(second) => {
                    wall.second = second;
                    return Some(wall);
                }
            }
        }
    }

    /// The first instant (Unix seconds) strictly after `after` whose wall-clock reading in
    /// `zone` matches, or `None` if there is none before the year after [`YEAR_MAX`].
    pub(crate) fn next_after(&self, after: i64, zone: &TimeZone) -> Option<i64> {
        let timestamp = jiff::Timestamp::from_second(after).ok()?;
        let before = jiff::Timestamp::from_second(after - FOLD_SECONDS_MAX).ok()?;
        let later = jiff::Timestamp::from_second(after + FOLD_SECONDS_MAX).ok()?;
        let offset = zone.to_offset(timestamp);
        let reading = zone.to_datetime(timestamp);
        // Near a fall-back, wall times before `after`'s reading may still come later (their
        // second instance): start the search that much earlier then.
        let start = if zone.to_offset(before) == offset && zone.to_offset(later) == offset {
            reading
        } else {
            reading
                .checked_sub(jiff::Span::new().seconds(FOLD_SECONDS_MAX))
                .ok()?
        };
        let mut wall = self.next_wall(Wall::of(start))?;
        let mut best: Option<i64> = None;
        loop {
            let datetime = wall.datetime();
            let instants = match zone.to_ambiguous_timestamp(datetime).offset() {
                AmbiguousOffset::Unambiguous { offset } => [Some(offset), None],
                // Skipped by a spring-forward: this reading never happens.
                AmbiguousOffset::Gap { .. } => [None, None],
                AmbiguousOffset::Fold { before, after } => [Some(before), Some(after)],
            }
            .map(|offset| {
                offset
                    .and_then(|offset| offset.to_timestamp(datetime).ok())
                    .map(|timestamp| timestamp.as_second())
            });
            // Readings come in order and so do their first instants: once one starts at or
            // after the best found, none later can beat it.
            if let (Some(best), Some(first)) = (best, instants.iter().flatten().min())
                && *first >= best
            {
                return Some(best);
            }
            for instant in instants.into_iter().flatten() {
                if instant > after && best.is_none_or(|best| instant < best) {
                    best = Some(instant);
                }
            }
            wall.second += 1;
            match self.next_wall(wall) {
                Some(next) => wall = next,
                None => return best,
            }
        }
    }
}

fn days_in_month(year: i16, month: i8) -> i8 {
    match Date::new(year, month.clamp(1, 12), 1) {
        Ok(date) => date.days_in_month(),
        Err(_) => 31,
    }
}
