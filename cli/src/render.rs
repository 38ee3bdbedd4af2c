//! Printing results: aligned tables and labelled fields for people, one JSON document for
//! scripts (`--output json`).

use endure_core::{Payload, Payloads};
use serde::Serialize;
use serde_json::Value;

use crate::args::Output;
use crate::error::CliError;

/// A table with a header row; columns are padded to their widest cell.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub(crate) fn new(header: Vec<&'static str>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// The table as text, one line per row, no trailing spaces.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut text = String::new();
            for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if index + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$}  "));
                }
            }
            text.trim_end().to_owned()
        };
        let mut out = line(self.header.clone());
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

/// Prints `value` as JSON, or `text()` for people.
pub(crate) fn print<T: Serialize>(
    output: Output,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<(), CliError> {
    match output {
        Output::Json => say(json(value)?),
        Output::Jsonl => say(json_lines(value)?),
        Output::Text => say(text()),
    }
}

/// `value` as JSON lines: each element of a list on a line of its own, anything else on
/// one line; readable as [`json`].
pub(crate) fn json_lines<T: Serialize>(value: &T) -> Result<String, CliError> {
    let value = serde_json::to_value(value).map_err(|error| CliError::Server(error.to_string()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let lines: Vec<String> = items
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|error| CliError::Server(error.to_string()))?;
    Ok(lines.join("\n"))
}

/// Writes `text` and a newline to stdout. A reader that went away (`endure … | head`) is
/// [`CliError::StdoutClosed`], which ends the command quietly, as Unix tools do.
pub(crate) fn say(text: impl std::fmt::Display) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::BrokenPipe => CliError::StdoutClosed,
            _ => CliError::Server(format!("cannot write to stdout: {error}")),
        })
}

/// `value` as pretty JSON: times as RFC 3339, durations as text (`1h30m`), JSON payloads
/// as their values (the readable forms of endure-core's types).
pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|error| CliError::Server(error.to_string()))
}

/// Labelled fields, one per line, labels aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    pairs
        .iter()
        .map(|(label, value)| format!("{label:<width$}  {value}").trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Payloads as people read them (`Payload::readable_all`): one as itself, several as a
/// list, none as `null`.
pub(crate) fn payloads_json(payloads: Option<&Payloads>) -> Value {
    Payload::readable_all(payloads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_lines() {
        let mut table = Table::new(vec!["ID", "TYPE", "DETAILS"]);
        table.row(vec![
            "1".into(),
            "WorkflowExecutionStarted".into(),
            String::new(),
        ]);
        table.row(vec![
            "12".into(),
            "TimerFired".into(),
            "startedEventId=10".into(),
        ]);
        assert_eq!(
            table.render(),
            "ID  TYPE                      DETAILS\n\
             1   WorkflowExecutionStarted\n\
             12  TimerFired                startedEventId=10"
        );
    }

    #[test]
    fn fields_align_labels() {
        assert_eq!(
            fields(&[("Status", "Running".into()), ("Run ID", "r".into())]),
            "Status  Running\nRun ID  r"
        );
    }
}
