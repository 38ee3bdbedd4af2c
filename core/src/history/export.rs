//! The JSON form of a history that tools exchange: what `endure workflow show --output json`
//! prints and the Replayer reads. Versioned; documented in `docs/format.md`.

use serde::{Deserialize, Serialize};

use super::check::{HistoryError, check_well_formed};
use super::event::HistoryEvent;

/// A history as exported: a format tag, a version and the events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryExport {
    /// Always [`HistoryExport::FORMAT`].
    pub format: String,
    /// The export format version; [`HistoryExport::VERSION`] is written.
    pub version: u32,
    /// The events, from the first.
    pub events: Vec<HistoryEvent>,
}

/// Why an exported history could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Not JSON, or not this shape.
    #[error("not an Endure history export: {0}")]
    Json(String),
    /// Another format tag.
    #[error("format is {0:?}; expected \"endure.history\"")]
    Format(String),
    /// A version this build does not read.
    #[error("history export version {0} is not supported; this build reads versions 1 and 2")]
    Version(u32),
    /// The events do not form a valid history.
    #[error("the exported history is malformed: {0}")]
    Malformed(#[from] HistoryError),
}

impl HistoryExport {
    /// The format tag.
    pub const FORMAT: &'static str = "endure.history";
    /// The version written by this build: 2, with times as RFC 3339 text, durations as
    /// text (`1h30m`) and JSON payloads as their values. Version 1 (nanoseconds, `{secs,
    /// nanos}` and byte lists) is still read.
    pub const VERSION: u32 = 2;

    /// Every version this build reads.
    pub const READS: [u32; 2] = [1, 2];

    /// An export of `events`.
    pub fn new(events: Vec<HistoryEvent>) -> Self {
        Self {
            format: Self::FORMAT.to_owned(),
            version: Self::VERSION,
            events,
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\": {:?}}}", error.to_string()))
    }

    /// Reads an export, checking its tag, version and structure.
    pub fn from_json(text: &str) -> Result<Self, ExportError> {
        let export: Self =
            serde_json::from_str(text).map_err(|error| ExportError::Json(error.to_string()))?;
        if export.format != Self::FORMAT {
            return Err(ExportError::Format(export.format));
        }
        if !Self::READS.contains(&export.version) {
            return Err(ExportError::Version(export.version));
        }
        check_well_formed(&export.events)?;
        Ok(export)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::samples::quickstart_history;

    #[test]
    fn round_trips_and_checks_tag_version_and_structure() {
        let export = HistoryExport::new(quickstart_history().events);
        let text = export.to_json();
        assert!(text.contains("\"format\": \"endure.history\""));
        assert_eq!(HistoryExport::from_json(&text), Ok(export.clone()));
        let future = text.replace("\"version\": 2", "\"version\": 9");
        assert_eq!(
            HistoryExport::from_json(&future),
            Err(ExportError::Version(9))
        );
        let other = text.replace("endure.history", "temporal");
        assert!(matches!(
            HistoryExport::from_json(&other),
            Err(ExportError::Format(_))
        ));
        assert!(matches!(
            HistoryExport::from_json("{"),
            Err(ExportError::Json(_))
        ));
        let mut broken = export;
        broken.events.remove(3);
        assert!(matches!(
            HistoryExport::from_json(&broken.to_json()),
            Err(ExportError::Malformed(_))
        ));
    }
}
