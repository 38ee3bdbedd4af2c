//! Durations as people type them: `90s`, `5m`, `1h30m`, `3d`, `250ms` (units ms, s, m, h,
//! d; parts add up). A bare number is refused: its unit would be a guess.

use std::time::Duration;

/// Parses `text` (clap's value parser for every duration flag): core's
/// [`parse_duration`](endure_core::schedule::parse_duration), which `@every` uses too.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    endure_core::schedule::parse_duration(text)
}

/// `d` as the shortest exact text [`parse`] reads back (`3d`, `1h30m`, `250ms`).
pub(crate) fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let mut out = String::new();
    let mut secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    let millis = d.subsec_millis();
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_add_up() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("3d"), Ok(Duration::from_secs(259_200)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse(" 2m5s "), Ok(Duration::from_secs(125)));
    }

    #[test]
    fn bad_text_says_what_to_write() {
        assert!(parse("").unwrap_err().contains("30s"));
        assert!(parse("10").unwrap_err().contains("no unit"));
        assert!(parse("5y").unwrap_err().contains("unknown unit"));
        assert!(parse("h").unwrap_err().contains("expected a number"));
        assert!(
            parse("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn format_reads_back() {
        for d in [
            Duration::from_secs(259_200),
            Duration::from_secs(5_400),
            Duration::from_millis(1_250),
            Duration::ZERO,
        ] {
            assert_eq!(parse(&format(d)), Ok(d));
        }
        assert_eq!(format(Duration::from_secs(259_200)), "3d");
    }
}
