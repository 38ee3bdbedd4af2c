//! Table tests of specs (Temporal's own examples among them) and a property test against
//! an independent cron implementation (the `cron` crate with `chrono-tz`).

use std::str::FromStr;
use std::time::Duration;

use chrono::TimeZone as _;
use proptest::prelude::*;

use super::super::*;
use crate::time::Timestamp;

/// Unix seconds of a wall-clock reading in `zone` (the earlier instant of a repeated one).
fn at(zone: &str, year: i16, month: i8, day: i8, hour: i8, minute: i8, second: i8) -> Timestamp {
    let zone = jiff::tz::TimeZone::get(zone).expect("zone");
    let datetime = jiff::civil::datetime(year, month, day, hour, minute, second, 0);
    let zoned = datetime.to_zoned(zone).expect("in range");
    Timestamp::from_unix_seconds(zoned.timestamp().as_second() as u64)
}

fn cron(expressions: &[&str]) -> CompiledSpec {
    CompiledSpec::new(&ScheduleSpec {
        cron_expressions: expressions.iter().map(|e| (*e).to_owned()).collect(),
        ..ScheduleSpec::default()
    })
    .expect("the spec compiles")
}

fn sequence(spec: &CompiledSpec, from: Timestamp, expected: &[Timestamp]) {
    let times: Vec<Timestamp> = spec
        .next_times("", from, expected.len())
        .into_iter()
        .map(|time| time.nominal)
        .collect();
    assert_eq!(times, expected);
}

#[test]
fn a_wall_time_skipped_by_spring_forward_does_not_fire() {
    // Temporal's calendar test: US/Pacific has no 02:33:33 on 2022-03-13.
    let spec = cron(&["CRON_TZ=US/Pacific 33 33 2 * * * *"]);
    sequence(
        &spec,
        at("US/Pacific", 2022, 3, 11, 20, 0, 0),
        &[
            at("US/Pacific", 2022, 3, 12, 2, 33, 33),
            at("US/Pacific", 2022, 3, 14, 2, 33, 33),
        ],
    );
}

#[test]
fn a_wall_time_repeated_by_fall_back_fires_at_each_instant() {
    // Temporal's calendar test: 2021-11-07 has two 01:33:33s and two 01:44:33s.
    let spec = cron(&["CRON_TZ=US/Pacific 33 33,44 1 * * * *"]);
    let hour = Duration::from_secs(3_600);
    sequence(
        &spec,
        at("US/Pacific", 2021, 11, 7, 0, 15, 15),
        &[
            at("US/Pacific", 2021, 11, 7, 1, 33, 33),
            at("US/Pacific", 2021, 11, 7, 1, 44, 33),
            at("US/Pacific", 2021, 11, 7, 1, 33, 33).saturating_add(hour),
            at("US/Pacific", 2021, 11, 7, 1, 44, 33).saturating_add(hour),
            at("US/Pacific", 2021, 11, 8, 1, 33, 33),
        ],
    );
    // Every second between two fire times leads to the later one.
    let first = at("US/Pacific", 2021, 11, 7, 1, 44, 33);
    let second = first.saturating_add(Duration::from_secs(49 * 60));
    for offset in (0..49 * 60).step_by(7) {
        let from = first.saturating_add(Duration::from_secs(offset));
        assert_eq!(spec.next_time("", from).map(|t| t.nominal), Some(second));
    }
}

#[test]
fn calendars_need_both_day_fields_to_match() {
    // Temporal's test: the 2nd of January that is a Sunday (2005), from 2004.
    let spec = CompiledSpec::new(&ScheduleSpec {
        calendars: vec![
            CalendarText {
                second: "0".into(),
                minute: "1".into(),
                hour: "0".into(),
                day_of_month: "2".into(),
                month: "Jan".into(),
                day_of_week: "Sun".into(),
                ..CalendarText::default()
            }
            .parse()
            .expect("parses"),
        ],
        time_zone_name: "Europe/London".into(),
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    let expected = at("Europe/London", 2005, 1, 2, 0, 1, 0);
    for from in [
        at("Europe/London", 2004, 1, 1, 0, 0, 5),
        at("Europe/London", 2004, 10, 31, 1, 7, 3),
    ] {
        assert_eq!(spec.next_time("", from).map(|t| t.nominal), Some(expected));
    }
}

#[test]
fn defaults_are_midnight_every_day() {
    let spec = CompiledSpec::new(&ScheduleSpec {
        calendars: vec![CalendarSpec::default()],
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    sequence(
        &spec,
        at("UTC", 2026, 12, 2, 19, 0, 0),
        &[
            at("UTC", 2026, 12, 3, 0, 0, 0),
            at("UTC", 2026, 12, 4, 0, 0, 0),
        ],
    );
}

#[test]
fn field_text_reads_as_temporal_reads_it() {
    let cases: &[(&str, &str, Vec<u32>)] = &[
        ("1,3,5-7", "second", vec![1, 3, 5, 6, 7]),
        ("2-4,8,1-5/2", "second", vec![1, 2, 3, 4, 5, 8]),
        ("February/5", "month", vec![2, 7, 12]),
        ("*", "day_of_week", vec![0, 1, 2, 3, 4, 5, 6]),
        ("Mon-Fri", "day_of_week", vec![1, 2, 3, 4, 5]),
        ("3-7", "day_of_week", vec![0, 3, 4, 5, 6]),
        ("3-7/3", "day_of_week", vec![3, 6]),
        ("7", "day_of_week", vec![0]),
        ("su,sa", "day_of_week", vec![0, 6]),
        ("*/15", "minute", (0..60).step_by(15).collect()),
        ("", "hour", vec![0]),
    ];
    for (text, field, expected) in cases {
        let mut calendar = CalendarText::default();
        match *field {
            "second" => calendar.second = (*text).into(),
            "minute" => calendar.minute = (*text).into(),
            "hour" => calendar.hour = (*text).into(),
            "month" => calendar.month = (*text).into(),
            _ => calendar.day_of_week = (*text).into(),
        }
        let parsed = calendar.parse().expect("parses");
        let ranges = match *field {
            "second" => parsed.second,
            "minute" => parsed.minute,
            "hour" => parsed.hour,
            "month" => parsed.month,
            _ => parsed.day_of_week,
        };
        let mut values: Vec<u32> = ranges.iter().flat_map(|r| r.values()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(&values, expected, "{field} {text:?}");
    }
    for bad in ["60", "1-2-3", "5/0", "1//2", "x", "5-1"] {
        let calendar = CalendarText {
            minute: bad.into(),
            ..CalendarText::default()
        };
        assert!(calendar.parse().is_err(), "{bad:?} is refused");
    }
}

#[test]
fn cron_strings_of_five_six_and_seven_fields_and_descriptors() {
    let from = at("UTC", 2026, 12, 2, 19, 7, 0);
    let next = |expression: &str| {
        cron(&[expression])
            .next_time("", from)
            .map(|time| time.nominal)
    };
    assert_eq!(
        next("30 9 * * mon-fri"),
        Some(at("UTC", 2026, 12, 3, 9, 30, 0))
    );
    assert_eq!(next("0 0 1 1 * 2028"), Some(at("UTC", 2028, 1, 1, 0, 0, 0)));
    assert_eq!(
        next("15 10 19 * * * *"),
        Some(at("UTC", 2026, 12, 2, 19, 10, 15))
    );
    assert_eq!(next("@hourly"), Some(at("UTC", 2026, 12, 2, 20, 0, 0)));
    assert_eq!(
        next("@daily # nightly"),
        Some(at("UTC", 2026, 12, 3, 0, 0, 0))
    );
    assert_eq!(next("@weekly"), Some(at("UTC", 2026, 12, 6, 0, 0, 0)));
    assert_eq!(next("@monthly"), Some(at("UTC", 2027, 1, 1, 0, 0, 0)));
    assert_eq!(next("@yearly"), Some(at("UTC", 2027, 1, 1, 0, 0, 0)));
    // Every 90 minutes from the epoch; with a 15-minute phase.
    assert_eq!(next("@every 90m"), Some(at("UTC", 2026, 12, 2, 19, 30, 0)));
    assert_eq!(
        next("@every 1h/15m"),
        Some(at("UTC", 2026, 12, 2, 19, 15, 0))
    );
    assert_eq!(
        next("CRON_TZ=Asia/Tokyo 0 9 * * *"),
        Some(at("Asia/Tokyo", 2026, 12, 3, 9, 0, 0))
    );
    assert_eq!(
        next("TZ=America/New_York 0 9 * * *"),
        Some(at("America/New_York", 2026, 12, 3, 9, 0, 0))
    );
    for bad in [
        "* * *",
        "0 0 * * * * * *",
        "@fortnightly",
        "@every",
        "@every 10x",
        "CRON_TZ=Mars/Olympus 0 0 * * *",
        "61 * * * *",
    ] {
        let error = CompiledSpec::new(&ScheduleSpec {
            cron_expressions: vec![bad.into()],
            ..ScheduleSpec::default()
        })
        .expect_err(bad);
        assert!(!error.0.is_empty());
    }
    // Cron strings must agree with each other and with the spec on the zone.
    assert!(
        CompiledSpec::new(&ScheduleSpec {
            cron_expressions: vec!["TZ=Asia/Tokyo @daily".into(), "@hourly".into()],
            ..ScheduleSpec::default()
        })
        .is_err()
    );
    assert!(
        CompiledSpec::new(&ScheduleSpec {
            cron_expressions: vec!["TZ=Asia/Tokyo @daily".into()],
            time_zone_name: "Europe/Paris".into(),
            ..ScheduleSpec::default()
        })
        .is_err()
    );
}

#[test]
fn intervals_count_from_the_epoch_plus_their_offset() {
    let spec = CompiledSpec::new(&ScheduleSpec {
        intervals: vec![IntervalSpec {
            every: Duration::from_secs(3_600),
            offset: Duration::from_secs(900),
        }],
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    sequence(
        &spec,
        at("UTC", 2026, 12, 2, 19, 15, 0),
        &[
            at("UTC", 2026, 12, 2, 20, 15, 0),
            at("UTC", 2026, 12, 2, 21, 15, 0),
        ],
    );
    for (every, offset) in [(0, 0), (10, 10), (10, 11)] {
        assert!(
            CompiledSpec::new(&ScheduleSpec {
                intervals: vec![IntervalSpec {
                    every: Duration::from_secs(every),
                    offset: Duration::from_secs(offset),
                }],
                ..ScheduleSpec::default()
            })
            .is_err(),
            "every {every}s offset {offset}s is refused"
        );
    }
}

#[test]
fn start_end_and_skip_bound_the_times() {
    let spec = CompiledSpec::new(&ScheduleSpec {
        cron_expressions: vec!["0 12 * * *".into()],
        skip: vec![CalendarSpec {
            day_of_week: vec![ScheduleRange::value(0), ScheduleRange::value(6)],
            hour: vec![ScheduleRange::between(0, 23)],
            ..CalendarSpec::default()
        }],
        start_at: Some(at("UTC", 2026, 12, 4, 12, 0, 0)),
        end_at: Some(at("UTC", 2026, 12, 8, 12, 0, 0)),
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    // The start itself fires; the weekend (5th, 6th) is skipped; the end itself fires.
    sequence(
        &spec,
        at("UTC", 2026, 11, 1, 0, 0, 0),
        &[
            at("UTC", 2026, 12, 4, 12, 0, 0),
            at("UTC", 2026, 12, 7, 12, 0, 0),
            at("UTC", 2026, 12, 8, 12, 0, 0),
        ],
    );
    assert_eq!(spec.next_time("", at("UTC", 2026, 12, 8, 12, 0, 0)), None);
    // A spec whose every time is skipped fires never (and says so quickly).
    let never = CompiledSpec::new(&ScheduleSpec {
        cron_expressions: vec!["@daily".into()],
        skip: vec![CalendarSpec::default()],
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    assert_eq!(never.next_time("", at("UTC", 2026, 1, 1, 0, 0, 0)), None);
}

#[test]
fn jitter_is_deterministic_bounded_and_stops_short_of_the_next_time() {
    let spec = CompiledSpec::new(&ScheduleSpec {
        intervals: vec![IntervalSpec::every(Duration::from_secs(60))],
        jitter: Duration::from_secs(3_600),
        ..ScheduleSpec::default()
    })
    .expect("compiles");
    let from = at("UTC", 2026, 12, 2, 0, 0, 0);
    let times = spec.next_times("ns/s1", from, 200);
    assert_eq!(times, spec.next_times("ns/s1", from, 200), "deterministic");
    assert_ne!(times, spec.next_times("ns/s2", from, 200), "per schedule");
    let mut distinct = std::collections::BTreeSet::new();
    for time in &times {
        let delay = time.actual.saturating_duration_since(time.nominal);
        assert!(
            delay < Duration::from_secs(60),
            "capped by the next time: {delay:?}"
        );
        distinct.insert(delay.as_millis());
    }
    assert!(distinct.len() > 150, "spread: {}", distinct.len());
}

#[test]
fn a_calendar_never_matching_ends_the_search() {
    // February 30th.
    let spec = cron(&["0 0 30 2 *"]);
    assert_eq!(spec.next_time("", at("UTC", 2026, 1, 1, 0, 0, 0)), None);
    // Past the last year.
    let spec = cron(&["@daily"]);
    assert_eq!(spec.next_time("", at("UTC", 2100, 12, 31, 0, 0, 0)), None);
}

/// One field of a random 5-field cron expression: (Temporal's text, the `cron` crate's).
fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    let value = min..=max;
    prop_oneof![
        Just("*".to_owned()),
        value.clone().prop_map(|v| v.to_string()),
        (value.clone(), value.clone()).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (1..=(max - min).max(1)).prop_map(|step| format!("*/{step}")),
        (value.clone(), value.clone(), 1..=4u32).prop_map(|(a, b, s)| format!(
            "{}-{}/{s}",
            a.min(b),
            a.max(b)
        )),
        proptest::collection::btree_set(value, 1..4).prop_map(|values| {
            values
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }),
    ]
}

fn day_of_week() -> impl Strategy<Value = String> {
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    prop_oneof![
        Just("*".to_owned()),
        (0..7usize, 0..7usize).prop_map(|(a, b)| format!(
            "{}-{}",
            NAMES[a.min(b)],
            NAMES[a.max(b)]
        )),
        proptest::collection::btree_set(0..7usize, 1..4)
            .prop_map(|days| { days.iter().map(|d| NAMES[*d]).collect::<Vec<_>>().join(",") }),
    ]
}

/// Zones whose rules the two databases agree on (the databases disagree on some zones'
/// future rules, Cuba's for one, which is a data difference, not a scheduling one).
const ZONES: [&str; 7] = [
    "UTC",
    "US/Pacific",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    // Half-hour transitions.
    "Australia/Lord_Howe",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Against the `cron` crate's matcher, read in `chrono-tz`'s zones: the next time is a
    /// matching instant and no matching minute lies between the start and it (the first
    /// three days searched by brute force, DST transitions included).
    #[test]
    fn next_time_agrees_with_an_independent_cron(
        minute in field(0, 59),
        hour in field(0, 23),
        day in field(1, 31),
        month in field(1, 12),
        weekday in day_of_week(),
        zone in 0..ZONES.len(),
        // Around the transitions of 2022–2030, and anywhere else.
        after in prop_oneof![
            (2022i64..2031, 0..4usize, -2 * 86_400i64..2 * 86_400).prop_map(|(year, which, shift)| {
                let months = [3, 4, 10, 11];
                let base = chrono::Utc.with_ymd_and_hms(year as i32, months[which], 1, 0, 0, 0).unwrap();
                base.timestamp() + 7 * 86_400 * (shift.abs() % 4) + shift
            }),
            1_640_995_200i64..1_924_991_999,
        ],
    ) {
        let zone_name = ZONES[zone];
        let expression = format!("{minute} {hour} {day} {month} {weekday}");
        let ours = CompiledSpec::new(&ScheduleSpec {
            cron_expressions: vec![format!("CRON_TZ={zone_name} {expression}")],
            ..ScheduleSpec::default()
        })
        .expect("the expression compiles");
        let theirs = cron::Schedule::from_str(&format!("0 {expression} *"))
            .expect("the cron crate parses it");
        let zone: chrono_tz::Tz = zone_name.parse().expect("chrono-tz knows the zone");
        let matches = |seconds: i64| {
            theirs.includes(zone.timestamp_opt(seconds, 0).unwrap())
        };
        let next = ours
            .next_time("", Timestamp::from_unix_seconds(after as u64))
            .map(|time| (time.nominal.unix_nanos() / 1_000_000_000) as i64);
        let window_end = after + 3 * 86_400;
        // Brute force, minute by minute (every field is at second 0).
        let first_minute = (after.div_euclid(60) + 1) * 60;
        let brute = (first_minute..=window_end).step_by(60).find(|t| matches(*t));
        match (brute, next) {
            (Some(expected), Some(actual)) => prop_assert_eq!(actual, expected, "{} in {}", expression, zone_name),
            (Some(expected), None) => prop_assert!(false, "{} in {}: missed {}", expression, zone_name, expected),
            (None, Some(actual)) => {
                prop_assert!(actual > window_end, "{} in {}: {} matches nothing", expression, zone_name, actual);
                prop_assert!(matches(actual), "{} in {}: {} does not match", expression, zone_name, actual);
            }
            (None, None) => {}
        }
    }
}

#[test]
fn the_canonical_spec_folds_cron_strings_into_calendars_and_intervals_and_fires_the_same() {
    let spec = ScheduleSpec {
        cron_expressions: vec![
            "CRON_TZ=Europe/Paris 30 9 * * mon-fri # standup".into(),
            "CRON_TZ=Europe/Paris @every 1h/15m".into(),
        ],
        intervals: vec![IntervalSpec::every(Duration::from_secs(7200))],
        ..ScheduleSpec::default()
    };
    let canonical = spec.canonical().unwrap();
    assert!(canonical.cron_expressions.is_empty());
    assert_eq!(canonical.time_zone_name, "Europe/Paris");
    assert_eq!(
        canonical.calendars,
        // Every field explicit, as the text parser writes ranges (`start..=end` step 1).
        [CalendarSpec {
            second: vec![ScheduleRange::stepped(0, 0, 1)],
            minute: vec![ScheduleRange::stepped(30, 30, 1)],
            hour: vec![ScheduleRange::stepped(9, 9, 1)],
            day_of_month: vec![ScheduleRange::stepped(1, 31, 1)],
            month: vec![ScheduleRange::stepped(1, 12, 1)],
            year: vec![],
            day_of_week: vec![ScheduleRange::stepped(1, 5, 1)],
            comment: "standup".into(),
        }]
    );
    assert_eq!(
        canonical.intervals,
        [
            IntervalSpec::every(Duration::from_secs(7200)),
            IntervalSpec {
                every: Duration::from_secs(3600),
                offset: Duration::from_secs(900),
            },
        ]
    );
    // Canonical twice is canonical once, and both fire at the same times.
    assert_eq!(canonical.canonical().unwrap(), canonical);
    let from = at("UTC", 2026, 12, 2, 19, 7, 0);
    assert_eq!(
        CompiledSpec::new(&spec).unwrap().next_times("", from, 20),
        CompiledSpec::new(&canonical)
            .unwrap()
            .next_times("", from, 20)
    );

    // Zones that disagree are refused, as compiling refuses them.
    let mixed = ScheduleSpec {
        cron_expressions: vec!["TZ=Asia/Tokyo @daily".into()],
        time_zone_name: "UTC".into(),
        ..ScheduleSpec::default()
    };
    assert!(mixed.canonical().is_err());
}
