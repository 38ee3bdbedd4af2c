//! Calendar fields and cron strings as text, read the way Temporal's server reads them:
//! `*`, `N`, `N-M`, `N-M/S`, `N/S` (from N to the field's maximum), comma lists, month
//! names (three letters or more: `jan`, `September`) and day names (two letters or more:
//! `mo`, `fri`), day of week 7 meaning Sunday; a cron string of 5, 6 or 7 fields or a
//! descriptor (`@daily`, `@every 90m/15m`), with a `CRON_TZ=`/`TZ=` prefix and a `#`
//! comment.

use serde::{Deserialize, Serialize};

use super::SpecError;
use super::spec::{CalendarSpec, IntervalSpec, ScheduleRange};

/// A calendar spec with each field as text (Temporal's `CalendarSpec`, what `temporal
/// schedule create --calendar` takes as JSON). An empty field takes its default (`0` for
/// second, minute and hour; `*` for the others).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalendarText {
    /// Seconds.
    pub second: String,
    /// Minutes.
    pub minute: String,
    /// Hours.
    pub hour: String,
    /// Days of the month.
    pub day_of_month: String,
    /// Months (numbers or names).
    pub month: String,
    /// Years.
    pub year: String,
    /// Days of the week (numbers, 0 or 7 for Sunday, or names).
    pub day_of_week: String,
    /// Free text.
    pub comment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    None,
    Months,
    Days,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    default: &'static str,
    names: Names,
}

const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 59,
    default: "0",
    names: Names::None,
};
const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    default: "0",
    names: Names::None,
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    default: "0",
    names: Names::None,
};
const DAY_OF_MONTH: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    default: "*",
    names: Names::None,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    default: "*",
    names: Names::Months,
};
const YEAR: Field = Field {
    name: "year",
    min: super::YEAR_MIN,
    max: super::YEAR_MAX,
    default: "*",
    names: Names::None,
};
const DAY_OF_WEEK: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    default: "*",
    names: Names::Days,
};

const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAY_NAMES: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

impl CalendarText {
    /// The structured calendar this text describes.
    pub fn parse(&self) -> Result<CalendarSpec, SpecError> {
        Ok(CalendarSpec {
            second: parse_field(&self.second, &SECOND)?,
            minute: parse_field(&self.minute, &MINUTE)?,
            hour: parse_field(&self.hour, &HOUR)?,
            day_of_month: parse_field(&self.day_of_month, &DAY_OF_MONTH)?,
            month: parse_field(&self.month, &MONTH)?,
            year: parse_field(&self.year, &YEAR)?,
            day_of_week: parse_field(&self.day_of_week, &DAY_OF_WEEK)?,
            comment: self.comment.clone(),
        })
    }
}

fn parse_field(text: &str, field: &Field) -> Result<Vec<ScheduleRange>, SpecError> {
    let text = text.trim();
    let text = if text.is_empty() { field.default } else { text };
    let error = |reason: String| SpecError(format!("{} field {text:?}: {reason}", field.name));
    let mut ranges = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((_, step)) if step.contains('/') => return Err(error("too many slashes".into())),
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| error(format!("step {step:?} is not a number")))?;
                if step == 0 {
                    return Err(error("a step must be at least 1".into()));
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (start, end) = if range == "*" {
            (field.min, field.max)
        } else if let Some((low, high)) = range.split_once('-') {
            if high.contains('-') {
                return Err(error("too many dashes".into()));
            }
            let low = parse_value(low, field).map_err(error)?;
            let high = parse_value(high, field).map_err(error)?;
            if high < low {
                return Err(error(format!("the range {low}-{high} runs backwards")));
            }
            (low, high)
        } else {
            let value = parse_value(range, field).map_err(error)?;
            // `N/S` runs from N to the maximum; `N` alone is N.
            (value, if step.is_some() { field.max } else { value })
        };
        let step = step.unwrap_or(1);
        let (start, end) = if field.names == Names::Days && end == 7 {
            // Day 7 is Sunday (0): add 0 if the range reaches 7, then stop at 6.
            if (7 - start) % step == 0 {
                ranges.push(ScheduleRange::value(0));
                if start == 7 {
                    continue;
                }
            }
            (start, 6)
        } else {
            (start, end)
        };
        ranges.push(ScheduleRange::stepped(start, end, step));
    }
    // The year's `*` is every year, which the empty list already says.
    if field.name == YEAR.name && text == "*" {
        return Ok(Vec::new());
    }
    Ok(ranges)
}

fn parse_value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.trim().to_ascii_lowercase();
    let named = match field.names {
        Names::Months if lower.len() >= 3 => MONTH_NAMES
            .iter()
            .position(|name| name.starts_with(&lower))
            .map(|index| index as u32 + 1),
        Names::Days if lower.len() >= 2 => DAY_NAMES
            .iter()
            .position(|name| name.starts_with(&lower))
            .map(|index| index as u32),
        _ => None,
    };
    let value = match named {
        Some(value) => value,
        None => lower
            .parse::<u32>()
            .map_err(|_| format!("{text:?} is not a number{}", hint(field.names)))?,
    };
    if value < field.min || value > field.max {
        return Err(format!(
            "{value} is out of range; expected {}–{}",
            field.min, field.max
        ));
    }
    Ok(value)
}

fn hint(names: Names) -> &'static str {
    match names {
        Names::None => "",
        Names::Months => " or a month name (jan, february…)",
        Names::Days => " or a day name (mo, fri, sunday…)",
    }
}

/// What one cron string contributes to a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CronParts {
    /// A calendar.
    Calendar(CalendarSpec),
    /// An interval (`@every`).
    Interval(IntervalSpec),
}

/// Parses one cron string into its calendar or interval and the time zone it names.
pub(crate) fn parse_cron_string(text: &str) -> Result<(CronParts, Option<String>), SpecError> {
    let error = |reason: String| SpecError(format!("cron string {text:?}: {reason}"));
    let mut body = text.trim();
    let mut zone = None;
    if body.starts_with("TZ=") || body.starts_with("CRON_TZ=") {
        let Some((prefix, rest)) = body.split_once(char::is_whitespace) else {
            return Err(error("it names a time zone but has no fields".into()));
        };
        zone = prefix.split_once('=').map(|(_, name)| name.to_owned());
        body = rest.trim();
    }
    let (body, comment) = match body.split_once('#') {
        Some((body, comment)) => (body.trim(), comment.trim()),
        None => (body, ""),
    };
    if let Some(rest) = body.strip_prefix("@every") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(error(
                "@every needs an interval, such as 90m or 1h/15m".into(),
            ));
        }
        let (every, offset) = match rest.split_once('/') {
            Some((every, offset)) => (every, Some(offset)),
            None => (rest, None),
        };
        let every = crate::duration_text::parse(every).map_err(error)?;
        let offset = offset
            .map(crate::duration_text::parse)
            .transpose()
            .map_err(error)?
            .unwrap_or_default();
        return Ok((CronParts::Interval(IntervalSpec { every, offset }), zone));
    }
    let body = match body {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other if other.starts_with('@') => {
            return Err(error(format!(
                "unknown descriptor {other}; expected @yearly, @monthly, @weekly, @daily, @hourly or @every <interval>"
            )));
        }
        other => other,
    };
    let fields: Vec<&str> = body.split_whitespace().collect();
    let mut calendar = CalendarText {
        comment: comment.to_owned(),
        ..CalendarText::default()
    };
    // Five fields are minute…day-of-week, six add the year, seven also lead with seconds.
    let first = match fields.len() {
        5 | 6 => 1,
        7 => 0,
        count => {
            return Err(error(format!(
                "found {count} fields; expected 5 (minute hour day-of-month month day-of-week), 6 (… year) or 7 (second minute … year)"
            )));
        }
    };
    let slots: [&mut String; 7] = [
        &mut calendar.second,
        &mut calendar.minute,
        &mut calendar.hour,
        &mut calendar.day_of_month,
        &mut calendar.month,
        &mut calendar.day_of_week,
        &mut calendar.year,
    ];
    for (slot, value) in slots.into_iter().skip(first).zip(&fields) {
        *slot = (*value).to_owned();
    }
    let calendar = calendar
        .parse()
        .map_err(|SpecError(reason)| error(reason))?;
    Ok((CronParts::Calendar(calendar), zone))
}
