//! A table as CSV: UTF-8 with a byte-order mark (so spreadsheet programs read accents and
//! Khmer correctly), a header row of the column names, RFC 4180 quoting, CRLF line ends.

use super::{Cell, Table};
use crate::error::{AppError, AppResult};

/// Text that a spreadsheet would take for a formula (or that some of them strip before
/// evaluating) gets a leading `'`, which shows as the text itself.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

fn field(cell: &Cell) -> std::borrow::Cow<'_, str> {
    match cell {
        Cell::Empty => "".into(),
        Cell::Text(t) => escape(t),
        // Display prints the shortest text that reads back as the same number, never with an
        // exponent, so a spreadsheet and a CSV reader both parse it.
        Cell::Number(n) => n.to_string().into(),
        Cell::Bool(b) => if *b { "true" } else { "false" }.into(),
    }
}

pub fn write(table: &Table) -> AppResult<Vec<u8>> {
    let internal = |e: csv::Error| AppError::Internal(e.into());
    let mut out = Vec::with_capacity(64 + table.rows.len() * 128);
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(table.columns.iter().map(|c| c.name))
        .map_err(internal)?;
    for row in &table.rows {
        w.write_record(row.iter().map(|c| field(c).into_owned()))
            .map_err(internal)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::exports::col;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        assert_eq!(escape("=1+1"), "'=1+1");
        assert_eq!(escape("+256 700"), "'+256 700");
        assert_eq!(escape("-x"), "'-x");
        assert_eq!(escape("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape("\tx"), "'\tx");
        assert_eq!(escape("a=b"), "a=b");
        assert_eq!(escape(""), "");
        static COLUMNS: [crate::domain::exports::Column; 3] =
            [col("a", 1.0), col("b", 1.0), col("c", 1.0)];
        let table = Table {
            name: "t",
            columns: &COLUMNS,
            rows: vec![vec![
                Cell::Number(-3.5),
                Cell::text("=HYPERLINK(\"x\")"),
                Cell::Empty,
            ]],
        };
        let text = String::from_utf8(write(&table).unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}a,b,c\r\n-3.5,\"'=HYPERLINK(\"\"x\"\")\",\r\n"
        );
    }
}
