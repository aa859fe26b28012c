//! The SQLite and PostgreSQL migration sets must not drift apart: the same versions, and after
//! migrating, the same tables with the same columns, nullability and unique constraints.

use std::collections::BTreeMap;

use mentortrack::db::Db;
use mentortrack_tests::{Engine, fresh_database, postgres_available};

fn versions(dir: &str) -> Vec<String> {
    let path = format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn both_engines_have_the_same_migration_files() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
}

/// table → column → (nullable, part of a unique key or primary key)
type Shape = BTreeMap<String, BTreeMap<String, (bool, bool)>>;

async fn sqlite_shape(db: &Db) -> Shape {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut shape = Shape::new();
    for t in tables {
        let cols: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{t}')"
        )))
        .fetch_all(db.pool())
        .await
        .unwrap();
        // Partial unique indexes (one pre-test per participant) and unique indexes on
        // expressions (one indicator per DHIS2 data element and combo) are indexes on both
        // engines, never constraints, and PostgreSQL's side below reads constraints only.
        let unique: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT ii.name FROM pragma_index_list('{t}') il, pragma_index_info(il.name) ii WHERE il.\"unique\" = 1 AND il.partial = 0 AND NOT EXISTS (SELECT 1 FROM pragma_index_info(il.name) x WHERE x.cid = -2)"
        )))
        .fetch_all(db.pool())
        .await
        .unwrap();
        let entry = shape.entry(t).or_default();
        for (name, notnull, pk) in cols {
            let keyed = pk > 0 || unique.contains(&name);
            entry.insert(name, (notnull == 0 && pk == 0, keyed));
        }
    }
    shape
}

async fn postgres_shape(db: &Db) -> Shape {
    let cols: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let keyed: Vec<(String, String)> = sqlx::query_as(
        "SELECT tc.table_name::text, kcu.column_name::text FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
         WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('UNIQUE', 'PRIMARY KEY')",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut shape = Shape::new();
    for (t, c, nullable) in cols {
        let k = keyed.iter().any(|(kt, kc)| kt == &t && kc == &c);
        shape
            .entry(t)
            .or_default()
            .insert(c, (nullable == "YES", k));
    }
    shape
}

#[tokio::test]
async fn migrated_schemas_match_across_engines() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open(&fresh_database(Engine::Sqlite, dir.path()).await)
        .await
        .unwrap();
    let s = sqlite_shape(&sqlite).await;
    assert!(s.contains_key("providers") && s["providers"].contains_key("cadre"));
    if !postgres_available("migrated_schemas_match_across_engines") {
        return;
    }
    let pg = Db::open(&fresh_database(Engine::Postgres, dir.path()).await)
        .await
        .unwrap();
    let p = postgres_shape(&pg).await;
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        p.keys().collect::<Vec<_>>(),
        "the engines have different tables"
    );
    for (table, cols) in &s {
        assert_eq!(
            cols, &p[table],
            "table {table} differs between SQLite (left) and PostgreSQL (right)"
        );
    }
}

#[tokio::test]
async fn migrating_twice_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(Engine::Sqlite, dir.path()).await;
    Db::open(&url).await.unwrap();
    let db = Db::open(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n as usize, versions("sqlite").len());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        sync, 2,
        "synchronous=FULL so acknowledged writes survive power loss"
    );
    // Every action runs in a savepoint on the writer; its journal is to stay in memory
    // rather than spill to a temporary file (`db::sqlite_pool`).
    let mut tx = db.begin().await.unwrap();
    let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(temp_store, 2, "temp_store=MEMORY on the writer");
    drop(tx);
    // Readers keep the default, so a large report's sorts may spill to disk.
    let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(temp_store, 0, "the default temp_store on readers");
}
