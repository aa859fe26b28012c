//! Reading rows as one JSON value (`mentortrack::db::json_rows`, what reports read their
//! quarter through) must give back exactly what an ordinary fetch gives, on both engines:
//! approved figures are hashed bit for bit, so a float that lost its last digit on the way
//! would make every approved report look changed.

use mentortrack::db::Db;
use mentortrack::db::json_rows::{self, Column};
use mentortrack_tests::{Engine, fresh_database, postgres_available};
use serde::Deserialize;
use sqlx::AssertSqlSafe;

#[derive(Debug, Deserialize, PartialEq, sqlx::FromRow)]
struct Row {
    id: i64,
    label: Option<String>,
    #[serde(deserialize_with = "json_rows::real")]
    value: f64,
    #[serde(deserialize_with = "json_rows::optional_real")]
    maybe: Option<f64>,
}

const COLUMNS: [Column; 4] = [
    Column::Plain("id"),
    Column::Plain("label"),
    Column::Real("value"),
    Column::Real("maybe"),
];

/// Values whose shortest decimal needs 16 or 17 digits, text that JSON must escape, and a
/// sweep of random mantissas over every decade from 1e-80 to 1e117. SQLite's own decimal
/// conversion (what `quote()` prints) is not correctly rounded for magnitudes far outside that
/// range (measured: last-bit differences below 1e-83 and above 1e118); no percentage, count,
/// score or amount comes near them.
fn awkward() -> Vec<Row> {
    let mut values = vec![
        200.0 / 3.0,
        0.1 + 0.2,
        1.0 / 3.0,
        -2.0 / 7.0,
        80.0,
        0.0,
        -0.0,
        -0.5,
        123_456_789.123_456_79,
        9007199254740993.0,
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for decade in -80..=117 {
        for _ in 0..5 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mantissa = 1.0 + (x >> 11) as f64 / (1u64 << 53) as f64;
            let sign = if x & 1 == 0 { 1.0 } else { -1.0 };
            values.push(sign * mantissa * 10f64.powi(decade));
        }
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Row {
            id: i as i64 + 1,
            label: (i % 3 != 0).then(|| format!("row \"{i}\" — ñ\\ é\n")),
            value: *v,
            maybe: (i % 2 == 0).then_some(v / 7.0),
        })
        .collect()
}

async fn round_trip(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&fresh_database(engine, dir.path()).await)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE json_probe (id BIGINT PRIMARY KEY, label TEXT, value DOUBLE PRECISION NOT NULL, maybe DOUBLE PRECISION)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let rows = awkward();
    let mut tx = db.pool().begin().await.unwrap();
    for r in &rows {
        // A NULL bound as an `Option<f64>` confuses the Any driver on PostgreSQL; leave the
        // column out instead.
        let q = match r.maybe {
            Some(m) => sqlx::query(
                "INSERT INTO json_probe (id, label, value, maybe) VALUES ($1, $2, $3, $4)",
            )
            .bind(r.id)
            .bind(r.label.clone())
            .bind(r.value)
            .bind(m),
            None => sqlx::query("INSERT INTO json_probe (id, label, value) VALUES ($1, $2, $3)")
                .bind(r.id)
                .bind(r.label.clone())
                .bind(r.value),
        };
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let sql = "SELECT id, label, value, maybe FROM json_probe WHERE id > $1";
    let fetched: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!("{sql} ORDER BY id")))
        .bind(0i64)
        .fetch_all(db.pool())
        .await
        .unwrap();
    let wrapped = json_rows::wrap(db.kind(), sql, &COLUMNS);
    let json: Option<String> = sqlx::query_scalar(AssertSqlSafe(wrapped.clone()))
        .bind(0i64)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let mut decoded: Vec<Row> = json_rows::decode(json).unwrap();
    decoded.sort_by_key(|r| r.id);
    assert_eq!(fetched.len(), rows.len());
    for ((d, f), r) in decoded.iter().zip(&fetched).zip(&rows) {
        assert_eq!(d, f, "{engine:?}: JSON and an ordinary fetch disagree");
        // Bit for bit, not merely equal (0.0 and -0.0 are equal; SQLite stores -0.0 as 0).
        assert_eq!(d.value.to_bits(), f.value.to_bits(), "{engine:?}: {d:?}");
        assert_eq!(d.maybe.map(f64::to_bits), f.maybe.map(f64::to_bits));
        assert_eq!(d.value, r.value, "{engine:?}: stored {r:?}");
    }
    assert_eq!(decoded.len(), rows.len());

    // No rows: an empty list, not an error.
    let none: Option<String> = sqlx::query_scalar(AssertSqlSafe(wrapped))
        .bind(i64::MAX)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(json_rows::decode::<Row>(none).unwrap().is_empty());
}

#[tokio::test]
async fn json_rows_round_trip_exactly_on_sqlite() {
    round_trip(Engine::Sqlite).await;
}

#[tokio::test]
async fn json_rows_round_trip_exactly_on_postgres() {
    if !postgres_available("json_rows_round_trip_exactly_on_postgres") {
        return;
    }
    round_trip(Engine::Postgres).await;
}
