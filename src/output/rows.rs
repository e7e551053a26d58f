//! Writing a long report row by row (audit): JSON, YAML and TSV stream each row as it arrives,
//! so memory stays flat with fleet size; a table (column widths) or a `--query` (it sees the
//! whole list) collects first.

use crate::error::Result;
use crate::output::OutputFormat;
use crate::output::pyvalue::PyValue;
use crate::output::{Printer, json, try_write_stdout, tsv, yaml};
use serde_json::Value;

pub struct RowWriter<'a> {
    printer: &'a Printer,
    columns: &'a [&'a str],
    collected: Option<Vec<Value>>,
    written: usize,
}

impl<'a> RowWriter<'a> {
    /// `columns` orders the table when no query does.
    pub fn new(printer: &'a Printer, columns: &'a [&'a str]) -> Self {
        let collect = printer.query.is_some() || printer.format == OutputFormat::Table;
        RowWriter {
            printer,
            columns,
            collected: collect.then(Vec::new),
            written: 0,
        }
    }

    /// Serialises `row` once and writes it (or keeps it, for a table or a query).
    pub fn push<T: serde::Serialize>(&mut self, row: &T) -> Result<()> {
        let row = crate::output::to_value(row)?;
        if let Some(rows) = &mut self.collected {
            rows.push(row);
            return Ok(());
        }
        let row = PyValue::from(&row);
        let text = match self.printer.format {
            OutputFormat::Json | OutputFormat::Jsonc => {
                json::render_array_item(&row, self.written == 0, self.printer.color)
            }
            OutputFormat::Yaml | OutputFormat::Yamlc => {
                yaml::render_maybe_colored(&PyValue::list(vec![row]), self.printer.color)
                    .map_err(crate::error::Error::Io)?
            }
            OutputFormat::Tsv => tsv::render(&PyValue::list(vec![row])),
            OutputFormat::Table | OutputFormat::None => String::new(),
        };
        self.written += 1;
        try_write_stdout(&text)
    }

    /// How many rows were written to stdout so far (collected rows are not).
    pub fn written(&self) -> usize {
        self.written
    }

    /// Ends the report: closes the JSON array, or prints what was collected.
    pub fn finish(self) -> Result<()> {
        if let Some(rows) = self.collected {
            return self
                .printer
                .print_value(&Value::Array(rows), Some(self.columns));
        }
        let end = match self.printer.format {
            OutputFormat::Json | OutputFormat::Jsonc => json::render_array_end(self.written > 0),
            OutputFormat::Yaml | OutputFormat::Yamlc if self.written == 0 => "[]\n",
            _ => "",
        };
        try_write_stdout(end)
    }
}
