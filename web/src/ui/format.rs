//! How values read on a page: times, durations, statuses and JSON.

use std::time::Duration;

use endure_core::WorkflowExecutionStatus;
use endure_core::time::Timestamp;
use maud::{Markup, html};
use serde_json::Value;

/// `2026-12-03 12:00:01.250 UTC`, to the millisecond (in a `<time>` element carrying the
/// full RFC 3339 text, shown on hover).
pub(crate) fn time(at: Timestamp) -> Markup {
    let text = at.to_string();
    html! { time datetime=(text) title=(text) { (shown_time(&text)) } }
}

/// RFC 3339 text as shown: a space for the `T`, milliseconds at most, `UTC` for `Z`.
fn shown_time(rfc3339: &str) -> String {
    let body = rfc3339.trim_end_matches('Z');
    let body = match body.split_once('.') {
        Some((seconds, fraction)) => {
            format!("{seconds}.{:0<3}", &fraction[..fraction.len().min(3)])
        }
        None => body.to_owned(),
    };
    format!("{} UTC", body.replacen('T', " ", 1))
}

/// Payloads as JSON (a list of values) shown as people expect: one value as itself.
pub(crate) fn unwrap_single(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

/// A time, or a dash.
pub(crate) fn time_or_dash(at: Option<Timestamp>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}

/// `1.25 s`, `3m 2s`, `2h 5m`: a duration at a glance.
pub(crate) fn duration(span: Duration) -> String {
    let millis = span.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.2} s", span.as_secs_f64())
    } else if millis < 3_600_000 {
        format!("{}m {}s", millis / 60_000, (millis / 1_000) % 60)
    } else {
        format!("{}h {}m", millis / 3_600_000, (millis / 60_000) % 60)
    }
}

/// The status's name.
pub(crate) fn status_name(status: WorkflowExecutionStatus) -> String {
    format!("{status:?}")
}

/// A coloured status pill.
pub(crate) fn status(status: WorkflowExecutionStatus) -> Markup {
    let name = status_name(status);
    html! { span class={ "status status-" (name.to_lowercase()) } { (name) } }
}

/// A JSON value, pretty-printed in a block.
pub(crate) fn json_block(value: &Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|error| error.to_string());
    html! { pre.json { (text) } }
}

/// A JSON value on one line, cut at `max` characters.
pub(crate) fn json_inline(value: &Value, max: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(duration(Duration::from_millis(1_250)), "1.25 s");
        assert_eq!(duration(Duration::from_secs(182)), "3m 2s");
        assert_eq!(duration(Duration::from_secs(7_500)), "2h 5m");
    }

    #[test]
    fn times_show_to_the_millisecond() {
        assert_eq!(
            shown_time("2026-12-03T12:55:27.615975578Z"),
            "2026-12-03 12:55:27.615 UTC"
        );
        assert_eq!(
            shown_time("2026-12-03T12:55:27.5Z"),
            "2026-12-03 12:55:27.500 UTC"
        );
        assert_eq!(
            shown_time("2026-12-03T12:55:27Z"),
            "2026-12-03 12:55:27 UTC"
        );
    }

    #[test]
    fn long_json_is_cut() {
        let value = serde_json::json!({"a": "x".repeat(100)});
        assert!(json_inline(&value, 20).ends_with('…'));
        assert_eq!(json_inline(&serde_json::json!(1), 20), "1");
    }
}
