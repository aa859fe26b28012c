//! Downloads: a quarterly report's figures and narrative as CSV or XLSX, the raw session and
//! training records a user may see as CSV or XLSX, and an approved report as a DHIS2
//! `dataValueSets` document (`dhis2`).
//!
//! Rules, and why:
//! - An export reads through the same actions as the pages (`reports::get`, `sessions::list`,
//!   `trainings::list` / `get`), so it shows exactly what its reader may see and nothing else;
//!   another organisation's report is "not found" here too.
//! - Every export is first built as [`Table`]s of typed cells, then written by [`csv`] or
//!   [`xlsx`], so the two formats cannot disagree about rows or columns. Numbers stay numbers
//!   (a spreadsheet can sum them); text stays text.
//! - Text typed by users is never a formula. XLSX cells are written as strings; in CSV a text
//!   cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a
//!   spreadsheet opening the file shows it instead of evaluating it.
//! - Raw exports page through the list actions (200 at a time) and are bounded: more than
//!   [`MAX_RECORDS`] records is a 422 asking for narrower filters rather than an unbounded
//!   response.

pub mod csv;
pub mod dhis2;
pub mod records;
pub mod report;
pub mod xlsx;

use crate::error::{AppError, AppResult};

/// The most sessions or trainings one raw export holds.
pub const MAX_RECORDS: i64 = 20_000;

/// A file format of the figure and record exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// One cell of an export.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// Text, or an empty cell for none.
    pub fn opt_text(s: Option<impl Into<String>>) -> Cell {
        s.map(|s| Cell::Text(s.into())).unwrap_or(Cell::Empty)
    }

    /// A number, or an empty cell for none (or for NaN and infinities, which neither format
    /// can hold).
    pub fn opt_number(n: Option<f64>) -> Cell {
        match n {
            Some(x) if x.is_finite() => Cell::Number(x),
            _ => Cell::Empty,
        }
    }

    pub fn int(n: i64) -> Cell {
        Cell::Number(n as f64)
    }
}

/// One column: its header (a stable snake_case name, the same in both formats) and its width
/// in an XLSX sheet, in characters.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub width: f64,
}

pub const fn col(name: &'static str, width: f64) -> Column {
    Column { name, width }
}

/// A sheet of an XLSX workbook; the first table of an export is its CSV.
#[derive(Clone, Debug)]
pub struct Table {
    /// The sheet's name (at most 31 characters, none of `[]:*?/\`).
    pub name: &'static str,
    pub columns: &'static [Column],
    pub rows: Vec<Vec<Cell>>,
}

/// A finished download.
#[derive(Clone, Debug)]
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Writes the tables in a format: CSV holds the first table, XLSX one sheet per table.
pub fn write(format: Format, tables: &[Table], stem: &str) -> AppResult<Download> {
    let bytes = match format {
        Format::Csv => {
            let first = tables
                .first()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an export without a table")))?;
            csv::write(first)?
        }
        Format::Xlsx => xlsx::write(tables)?,
    };
    Ok(Download {
        filename: format!("{stem}.{}", format.extension()),
        content_type: format.content_type(),
        bytes,
    })
}

/// A file name part from a code: letters, digits, `-` and `_` only, so the name needs no
/// quoting in `Content-Disposition` and is safe on every file system.
pub fn filename_part(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if cleaned.is_empty() {
        "export".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(filename_part("RAM"), "RAM");
        assert_eq!(filename_part("a b/\"c\""), "a_b__c_");
        assert_eq!(filename_part(""), "export");
    }

    #[test]
    fn numbers_that_cannot_be_written_are_empty() {
        assert_eq!(Cell::opt_number(Some(f64::NAN)), Cell::Empty);
        assert_eq!(Cell::opt_number(Some(2.5)), Cell::Number(2.5));
        assert_eq!(Cell::opt_number(None), Cell::Empty);
    }
}
