//! Durations as text: what people type (`90s`, `5m`, `1h30m`, `3d`, `250ms`) and what JSON
//! shows.
//!
//! [`parse`] reads the CLI's duration flags and a schedule's `@every`; [`format()`] writes
//! the shortest exact text [`parse`] reads back. [`readable`] and [`readable_option`] are
//! serde field adapters: in a human-readable format (JSON: `endure workflow show -o json`,
//! the history export, `describe -o json`) a duration is that text; in the binary codec it
//! is std's `{secs, nanos}`, exactly as before, so persisted bytes and schema snapshots do
//! not change.

use std::time::Duration;

/// The units [`parse`] reads and [`format`] writes, largest first, with their length.
const UNITS: [(&str, Duration); 7] = [
    ("d", Duration::from_secs(86_400)),
    ("h", Duration::from_secs(3_600)),
    ("m", Duration::from_secs(60)),
    ("s", Duration::from_secs(1)),
    ("ms", Duration::from_millis(1)),
    ("us", Duration::from_micros(1)),
    ("ns", Duration::from_nanos(1)),
];

/// Parses a duration as people type it (`90s`, `5m`, `1h30m`, `3d`, `250ms`, `5us`,
/// `10ns`; parts add up); a bare number is refused, its unit would be a guess.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; write it like 30s, 5m, 1h30m or 3d".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?}: expected a number at {rest:?}; write it like 30s, 5m, 1h30m or 3d"
            ));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: {} is too large", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let size = match unit {
            "" => {
                return Err(format!(
                    "{text:?}: {value} has no unit; add one of ms, s, m, h, d (e.g. {value}s)"
                ));
            }
            unit => UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, size)| *size)
                .ok_or_else(|| {
                    format!("{text:?}: unknown unit {unit:?}; use ns, us, ms, s, m, h or d")
                })?,
        };
        total = total.saturating_add(times(size, value));
    }
    Ok(total)
}

/// `size × count`, saturating at [`Duration::MAX`].
fn times(size: Duration, count: u64) -> Duration {
    let nanos = size.as_nanos().saturating_mul(u128::from(count));
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

/// `duration` as the shortest exact text [`parse`] reads back (`3d`, `1h30m`, `250ms`,
/// `0s`).
pub fn format(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = duration.as_nanos();
    for (unit, size) in UNITS {
        let size = size.as_nanos();
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Serde adapter for a `Duration` field: text in JSON, `{secs, nanos}` in the binary codec.
/// Reading JSON also accepts the `{secs, nanos}` object earlier exports wrote.
pub mod readable {
    use std::time::Duration;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Either form a duration took in JSON.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Fields(Duration),
    }

    /// Writes `duration` (see the module doc).
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&super::format(*duration))
        } else {
            duration.serialize(serializer)
        }
    }

    /// Reads a duration (see the module doc).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        if !deserializer.is_human_readable() {
            return Duration::deserialize(deserializer);
        }
        match Written::deserialize(deserializer)? {
            Written::Text(text) => super::parse(&text).map_err(D::Error::custom),
            Written::Fields(duration) => Ok(duration),
        }
    }
}

/// [`readable`] for an `Option<Duration>` field (`null` for none).
pub mod readable_option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// The duration through [`super::readable`].
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Readable(#[serde(with = "super::readable")] Duration);

    /// Writes `duration` (see [`super::readable`]).
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            duration.map(Readable).serialize(serializer)
        } else {
            duration.serialize(serializer)
        }
    }

    /// Reads an optional duration (see [`super::readable`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        if deserializer.is_human_readable() {
            Ok(Option::<Readable>::deserialize(deserializer)?.map(|Readable(d)| d))
        } else {
            Option::<Duration>::deserialize(deserializer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[test]
    fn units_add_up_and_bare_numbers_are_refused() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("3d"), Ok(Duration::from_secs(259_200)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1s5us7ns"), Ok(Duration::new(1, 5_007)));
        assert!(parse("90").unwrap_err().contains("no unit"));
        assert!(parse("5y").unwrap_err().contains("unknown unit"));
        assert!(parse("").is_err());
        assert!(parse("s").unwrap_err().contains("expected a number"));
        assert_eq!(parse(" 2m5s "), Ok(Duration::from_secs(125)));
        assert!(
            parse("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn format_is_the_shortest_exact_text() {
        for (duration, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(5_400), "1h30m"),
            (Duration::from_secs(259_200), "3d"),
            (Duration::from_millis(1_250), "1s250ms"),
            (Duration::new(0, 1_001), "1us1ns"),
        ] {
            assert_eq!(format(duration), text);
            assert_eq!(parse(text), Ok(duration));
        }
        assert_eq!(parse(&format(Duration::MAX)), Ok(Duration::MAX));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Timeouts {
        #[serde(with = "readable")]
        task: Duration,
        #[serde(with = "readable_option")]
        run: Option<Duration>,
    }

    #[test]
    fn json_shows_text_and_reads_the_older_object_form() {
        let timeouts = Timeouts {
            task: Duration::from_secs(10),
            run: Some(Duration::from_millis(1_500)),
        };
        let json = serde_json::to_value(&timeouts).unwrap();
        assert_eq!(json, serde_json::json!({ "task": "10s", "run": "1s500ms" }));
        assert_eq!(serde_json::from_value::<Timeouts>(json).unwrap(), timeouts);
        let older = serde_json::json!({ "task": { "secs": 10, "nanos": 0 }, "run": null });
        assert_eq!(
            serde_json::from_value::<Timeouts>(older).unwrap(),
            Timeouts {
                task: Duration::from_secs(10),
                run: None
            }
        );
        assert!(
            serde_json::from_value::<Timeouts>(serde_json::json!({ "task": "soon", "run": null }))
                .is_err()
        );
    }

    #[test]
    fn the_binary_codec_sees_std_fields() {
        let timeouts = Timeouts {
            task: Duration::new(3, 7),
            run: None,
        };
        let bytes = postcard::to_allocvec(&timeouts).unwrap();
        assert_eq!(
            bytes,
            postcard::to_allocvec(&(Duration::new(3, 7), None::<Duration>)).unwrap()
        );
        assert_eq!(postcard::from_bytes::<Timeouts>(&bytes).unwrap(), timeouts);
    }
}
