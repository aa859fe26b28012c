//! Reading a large result as one JSON value.
//!
//! A report reads tens of thousands of rows. Each row fetched the ordinary way is a separate
//! message: on SQLite it is handed from sqlx's worker thread to the async task through a
//! channel, then converted to a driver-neutral `AnyRow` and decoded column by column by
//! name; on the national data set that per-row cost was most of a report's time, well above
//! SQLite's own work (see BENCHMARKS.md). Aggregating the rows into one JSON array of arrays
//! in the database and decoding it with one `serde_json` pass moves a single value instead.
//!
//! Row types derive `Deserialize`; serde reads a struct from an array by field order, so the
//! columns must be listed in the order of the struct's fields.
//!
//! Floating-point columns need care, because figures are hashed bit for bit to tell whether
//! data changed since a report's approval. SQLite's JSON functions print a REAL with 15
//! significant digits, which does not always round-trip, and `serde_json` (without its
//! `float_roundtrip` feature) may parse a 17-digit number one bit off. Such columns are
//! therefore sent as text and parsed by Rust's correctly rounded `str::parse` ([`real`],
//! [`optional_real`]): on SQLite through `quote()`, which falls back to 20 digits when 15
//! would lose precision; on PostgreSQL as `double precision` cast to text, which with the
//! `extra_float_digits = 2` sqlx sets on every connection is the shortest exact form.
//! SQLite's own decimal conversion is exact for magnitudes from 1e-80 to 1e117 (tested in
//! `tests/tests/json_rows.rs`) but not far beyond; it is deterministic, so figures computed
//! twice from the same data always agree.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::DbKind;
use crate::error::{AppError, AppResult};

/// One column of a row type read as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Integers, text and NULL: JSON holds them exactly.
    Plain(&'static str),
    /// Floating point: sent as text so that it round-trips (see the module's
    /// documentation); the field must be read with [`real`] or [`optional_real`].
    Real(&'static str),
}

/// `sql` (any query whose result has the named columns) as a query returning one text value:
/// a JSON array with one array per row, `[]` when there are no rows.
pub fn wrap(kind: DbKind, sql: &str, columns: &[Column]) -> String {
    let list = columns
        .iter()
        .map(|c| match (kind, c) {
            (_, Column::Plain(name)) => format!("q.{name}"),
            (DbKind::Sqlite, Column::Real(name)) => format!("quote(q.{name})"),
            (DbKind::Postgres, Column::Real(name)) => format!("CAST(q.{name} AS TEXT)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    match kind {
        DbKind::Sqlite => format!("SELECT json_group_array(json_array({list})) FROM ({sql}) AS q"),
        // json_agg gives NULL over no rows; the Any driver reads text, not json.
        DbKind::Postgres => format!(
            "SELECT CAST(COALESCE(json_agg(json_build_array({list})), '[]') AS TEXT) FROM ({sql}) AS q"
        ),
    }
}

/// The rows of a wrapped query's single value.
pub fn decode<T: DeserializeOwned>(json: Option<String>) -> AppResult<Vec<T>> {
    match json {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "decoding {} rows read as JSON: {e}",
                std::any::type_name::<T>()
            ))
        }),
    }
}

/// A `Column::Real` that is never NULL.
pub fn real<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    optional_real(d)?.ok_or_else(|| de::Error::custom("a number, found NULL"))
}

/// A `Column::Real` that may be NULL.
pub fn optional_real<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(RealVisitor)
}

struct RealVisitor;

impl<'de> Visitor<'de> for RealVisitor {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number, a number quoted by SQLite, or NULL")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    /// SQLite's `quote()`: `NULL`, or the number's exact text (`80.0`, `66.6666666666666714`,
    /// `6.66666666666666714e+01`); PostgreSQL's text of a `double precision`
    /// (`66.66666666666667`, `1e-300`).
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == "NULL" {
            return Ok(None);
        }
        v.parse::<f64>()
            .map(Some)
            .map_err(|_| E::custom(format!("{v:?} is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Row {
        id: i64,
        name: Option<String>,
        #[serde(deserialize_with = "real")]
        value: f64,
        #[serde(deserialize_with = "optional_real")]
        maybe: Option<f64>,
    }

    #[test]
    fn rows_decode_by_field_order() {
        let rows: Vec<Row> = decode(Some(
            r#"[[1, "a", "66.6666666666666714", "NULL"], [2, null, 3, 0.5], [3, "c", "1.0e+300", "-2.5"]]"#
                .to_string(),
        ))
        .unwrap();
        assert_eq!(
            rows,
            vec![
                Row {
                    id: 1,
                    name: Some("a".into()),
                    value: 200.0 / 3.0,
                    maybe: None
                },
                Row {
                    id: 2,
                    name: None,
                    value: 3.0,
                    maybe: Some(0.5)
                },
                Row {
                    id: 3,
                    name: Some("c".into()),
                    value: 1.0e300,
                    maybe: Some(-2.5)
                },
            ]
        );
    }

    #[test]
    fn no_rows_and_bad_rows() {
        assert!(decode::<Row>(None).unwrap().is_empty());
        assert!(decode::<Row>(Some("[]".into())).unwrap().is_empty());
        let err = decode::<Row>(Some(r#"[[1, "a", "NULL", 1]]"#.into())).unwrap_err();
        assert!(format!("{err:?}").contains("found NULL"), "{err:?}");
        assert!(decode::<Row>(Some(r#"[[1, "a", "x1", 1]]"#.into())).is_err());
    }

    #[test]
    fn wrapped_sql_sends_reals_as_text() {
        let columns = [Column::Plain("id"), Column::Real("value")];
        let sqlite = wrap(DbKind::Sqlite, "SELECT id, value FROM t", &columns);
        assert_eq!(
            sqlite,
            "SELECT json_group_array(json_array(q.id, quote(q.value))) FROM (SELECT id, value FROM t) AS q"
        );
        let pg = wrap(DbKind::Postgres, "SELECT id, value FROM t", &columns);
        assert!(
            pg.contains("json_build_array(q.id, CAST(q.value AS TEXT))"),
            "{pg}"
        );
    }
}
