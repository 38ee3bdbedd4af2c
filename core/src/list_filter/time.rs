//! The times a filter names: RFC 3339 or a bare date.

use crate::time::Timestamp;

/// Parses RFC 3339 (`2026-11-28T10:00:00Z`, fractional seconds and `±HH:MM` offsets
/// allowed) or a bare date (`2026-11-28`, midnight UTC).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = text.get(range)?;
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let mut civil = crate::time::CivilTime {
        year,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
    };
    if bytes.len() == 10 {
        return civil.to_timestamp();
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 19 || bytes[13] != b':' {
        return None;
    }
    if bytes[16] != b':' {
        return None;
    }
    civil.hour = u8::try_from(number(11..13)?).ok()?;
    civil.minute = u8::try_from(number(14..16)?).ok()?;
    civil.second = u8::try_from(number(17..19)?).ok()?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let value: u32 = fraction[..digits].parse().ok()?;
        civil.nanosecond = value * 10_u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    let instant = civil.to_timestamp()?;
    match rest {
        "Z" | "z" => Some(instant),
        offset
            if offset.len() == 6 && matches!(&offset[..1], "+" | "-") && &offset[3..4] == ":" =>
        {
            let hours: u64 = offset[1..3].parse().ok()?;
            let minutes: u64 = offset[4..6].parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let shift = std::time::Duration::from_secs(hours * 3600 + minutes * 60);
            // Local time minus a positive offset is UTC.
            if offset.starts_with('+') {
                instant
                    .unix_nanos()
                    .checked_sub(shift.as_nanos() as u64)
                    .map(Timestamp::from_unix_nanos)
            } else {
                instant.checked_add(shift)
            }
        }
        _ => None,
    }
}
