//! The output layer, the only writer of stdout: applies `--query`, renders the chosen format,
//! and ends quietly when the reader closes the pipe.

pub mod files;
pub mod format;
pub mod json;
pub mod logissue;
pub mod pyvalue;
pub mod query;
pub mod report;
pub mod rows;
pub mod table;
pub mod terminal;
pub mod tsv;
pub mod views;
pub mod yaml;

use crate::error::{Error, Result};
pub use format::{OutputFormat, ReportFormat};
use pyvalue::PyValue;
use query::Query;
use serde_json::Value;
use std::io::Write;

pub struct Printer {
    pub format: OutputFormat,
    pub query: Option<Query>,
    /// `jsonc`/`yamlc` colour their text.
    pub color: bool,
    /// Colour is allowed on stdout (a terminal, not turned off): the readable views use it.
    pub paint: bool,
}

impl Printer {
    /// `paint`: colour is allowed (decided once, in the settings); the format says if it is used.
    pub fn new(format: OutputFormat, query: Option<Query>, paint: bool) -> Self {
        Printer {
            format,
            query,
            color: paint && format.colours(),
            paint,
        }
    }

    /// A format with no query and no colour (a manifest, a table inside a readable view).
    pub fn plain(format: OutputFormat) -> Self {
        Printer::new(format, None, false)
    }

    /// Prints typed data, serialised once (its fields in their declared order).
    pub fn print<T: serde::Serialize + ?Sized>(
        &self,
        data: &T,
        default_columns: Option<&[&str]>,
    ) -> Result<()> {
        self.print_value(&to_value(data)?, default_columns)
    }

    /// Prints `data`; `default_columns` orders table columns when no query does.
    pub fn print_value(&self, data: &Value, default_columns: Option<&[&str]>) -> Result<()> {
        let text = self.render_value(data, default_columns)?;
        write_stdout(&text)
    }

    /// What `print_value` writes: the query applied (objects as plain dicts in the order the
    /// data holds them, the SDK's order for service objects), then the format.
    pub fn render_value(&self, data: &Value, default_columns: Option<&[&str]>) -> Result<String> {
        let data = PyValue::from(data);
        let data = match &self.query {
            Some(q) => q.search(&data)?,
            None => data,
        };
        self.render(&data, default_columns)
    }

    /// Renders data the query has already shaped.
    pub fn render(&self, data: &PyValue, default_columns: Option<&[&str]>) -> Result<String> {
        // az prints nothing for a null result (e.g. a --query that matched nothing).
        if *data == PyValue::Null {
            return Ok(String::new());
        }
        let columns = match (&self.query, default_columns) {
            (Some(_), _) => table::Columns::AsBuilt,
            (None, Some(columns)) => table::Columns::Given(columns),
            (None, None) => table::Columns::Sorted,
        };
        Ok(match self.format {
            OutputFormat::Json | OutputFormat::Jsonc => json::render(data, self.color),
            OutputFormat::Yaml | OutputFormat::Yamlc => {
                yaml::render_maybe_colored(data, self.color).map_err(Error::Io)?
            }
            OutputFormat::Table => table::render(data, columns),
            OutputFormat::Tsv => tsv::render(data),
            OutputFormat::None => String::new(),
        })
    }
}

/// Typed data as the value `--query` and the formats read. Our types serialise to JSON without
/// fail (string keys only); an error would be a bug, reported rather than a panic.
pub fn to_value<T: serde::Serialize + ?Sized>(data: &T) -> Result<Value> {
    serde_json::to_value(data).map_err(|e| Error::Io(e.to_string()))
}

/// Writes all of `text` to stdout. A closed pipe (`| head -1`) is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    match try_write_stdout(text) {
        Err(Error::OutputClosed) => Ok(()),
        other => other,
    }
}

/// Like `write_stdout`, but says when the reader has gone (so a long report can stop).
pub fn try_write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::OutputClosed),
        Err(e) => Err(Error::Io(format!("cannot write the output: {e}"))),
    }
}
