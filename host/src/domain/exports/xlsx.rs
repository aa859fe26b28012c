//! Tables as an XLSX workbook: one sheet per table, a bold shaded header row that stays in
//! view and carries filters, column widths from the table, numbers as numbers and text always
//! as strings (never formulas, whatever it starts with).

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};

use super::{Cell, Table};
use crate::error::{AppError, AppResult};

/// The longest text one cell holds; Excel refuses more.
const MAX_CELL_CHARS: usize = 32_767;

fn internal(e: XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing XLSX: {e}"))
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

pub fn write(tables: &[Table]) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDE7F0))
        .set_border_bottom(FormatBorder::Thin);
    let wrapped = Format::new().set_text_wrap();
    for table in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(table.name).map_err(internal)?;
        for (c, column) in table.columns.iter().enumerate() {
            let c = c as u16;
            sheet
                .write_string_with_format(0, c, column.name, &header)
                .map_err(internal)?;
            sheet.set_column_width(c, column.width).map_err(internal)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|e| AppError::Internal(e.into()))?;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(t) if t.contains('\n') => {
                        sheet
                            .write_string_with_format(r, c, clip(t), &wrapped)
                            .map_err(internal)?;
                    }
                    Cell::Text(t) => {
                        sheet.write_string(r, c, clip(t)).map_err(internal)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, c, *n).map_err(internal)?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, c, *b).map_err(internal)?;
                    }
                }
            }
        }
        if !table.columns.is_empty() {
            sheet.set_freeze_panes(1, 0).map_err(internal)?;
            let last_row = u32::try_from(table.rows.len()).unwrap_or(u32::MAX);
            sheet
                .autofilter(0, 0, last_row, (table.columns.len() - 1) as u16)
                .map_err(internal)?;
        }
    }
    book.save_to_buffer().map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_clipped_to_what_excel_holds() {
        let long = "é".repeat(MAX_CELL_CHARS + 5);
        assert_eq!(clip(&long).chars().count(), MAX_CELL_CHARS);
        assert_eq!(clip("short"), "short");
    }
}
