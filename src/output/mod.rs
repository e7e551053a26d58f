//! The output layer, the only writer of stdout: applies `--query`, renders the chosen format,
//! and ends quietly when the reader closes the pipe.

pub mod diagnostics;
pub mod json;
pub mod query;
pub mod rows;
pub mod table;
pub mod terminal;
pub mod tsv;
pub mod yaml;

use crate::cli::OutputFormat;
use crate::commands::Outcome;
use crate::error::{Error, Result};
use query::Query;
use serde_json::Value;
use std::io::Write;

pub struct Printer {
    pub format: OutputFormat,
    pub query: Option<Query>,
    pub color: bool,
}

impl Printer {
    pub fn new(format: OutputFormat, query: Option<Query>) -> Self {
        let color = matches!(format, OutputFormat::Jsonc | OutputFormat::Yamlc)
            && terminal::color_allowed();
        Printer {
            format,
            query,
            color,
        }
    }

    pub fn print(&self, outcome: &Outcome) -> Result<()> {
        let Outcome::Data(data) = outcome else {
            return Ok(());
        };
        self.print_value(data, None)
    }

    /// Prints `data`; `default_columns` orders table and tsv columns when no query does.
    pub fn print_value(&self, data: &Value, default_columns: Option<&[&str]>) -> Result<()> {
        let data = match &self.query {
            Some(q) => q.apply(data)?,
            None => data.clone(),
        };
        let text = self.render_with_columns(&data, default_columns)?;
        write_stdout(&text)
    }

    pub fn render(&self, data: &Value) -> Result<String> {
        self.render_with_columns(data, None)
    }

    fn render_with_columns(
        &self,
        data: &Value,
        default_columns: Option<&[&str]>,
    ) -> Result<String> {
        // az prints nothing for a null result (e.g. a --query that matched nothing).
        if data.is_null() {
            return Ok(String::new());
        }
        let column_order = match &self.query {
            Some(q) => q.column_order(),
            None => default_columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
        };
        Ok(match self.format {
            OutputFormat::Json | OutputFormat::Jsonc => json::render(data, self.color),
            OutputFormat::Yaml | OutputFormat::Yamlc => {
                let text = yaml::render(data).map_err(Error::Io)?;
                if self.color {
                    yaml::colorize(&text)
                } else {
                    text
                }
            }
            OutputFormat::Table => table::render(data, column_order.as_deref()),
            OutputFormat::Tsv => tsv::render(
                data,
                self.query.as_ref().and_then(Query::column_order).as_deref(),
            ),
            OutputFormat::None => String::new(),
        })
    }
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
