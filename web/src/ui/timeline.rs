//! The timeline: the run's activities, timers and children as bars drawn to scale, from
//! the run's start to its close (or now, while it runs).

use endure_core::time::Timestamp;
use maud::{Markup, html};

use super::events::{Bar, BarKind};
use super::format;

/// Where `at` falls between `start` and `end`, in percent.
fn percent(at: Timestamp, start: Timestamp, end: Timestamp) -> f64 {
    let span = end.saturating_duration_since(start).as_secs_f64();
    if span <= 0.0 {
        return 0.0;
    }
    (at.saturating_duration_since(start).as_secs_f64() / span * 100.0).clamp(0.0, 100.0)
}

/// The timeline of `bars` over `[start, end]`.
pub(crate) fn render(bars: &[Bar], start: Timestamp, end: Timestamp) -> Markup {
    html! {
        section.timeline id="timeline" {
            div.scale {
                span { "0" }
                span { (format::duration(end.saturating_duration_since(start))) }
            }
            @if bars.is_empty() {
                p.muted { "No activities, timers or child workflows." }
            }
            @for bar in bars {
                @let left = percent(bar.from, start, end);
                @let right = percent(bar.to.unwrap_or(end), start, end);
                @let width = (right - left).max(0.6);
                @let kind = match bar.kind {
                    BarKind::Activity => "activity",
                    BarKind::Timer => "timer",
                    BarKind::Child => "child",
                };
                @let took = format::duration(bar.to.unwrap_or(end).saturating_duration_since(bar.from));
                div class={ "lane lane-" (kind) } data-kind=(kind) {
                    span.lane-label title=(bar.label) { (bar.label) }
                    div.track {
                        div class={ "bar bar-" (kind) " outcome-" (bar.outcome.to_lowercase()) }
                            style=(format!("left:{left:.3}%;width:{width:.3}%"))
                            title=(format!("{} — {} (event {}), {took}", bar.label, bar.outcome, bar.opened_by)) {}
                    }
                    span.lane-outcome { (bar.outcome) " · " (took) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_to_scale() {
        let start = Timestamp::from_unix_seconds(100);
        let end = Timestamp::from_unix_seconds(200);
        assert_eq!(percent(Timestamp::from_unix_seconds(150), start, end), 50.0);
        assert_eq!(
            percent(Timestamp::from_unix_seconds(300), start, end),
            100.0
        );
        assert_eq!(percent(start, start, start), 0.0);
    }
}
