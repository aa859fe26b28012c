//! The demo programme loaded by `mentortrack demo`.

use std::fmt;

use crate::db::Db;

/// Without a database URL the demo uses its own file, so it never mixes with real data.
pub const DEFAULT_URL: &str = "sqlite://data/demo.db";

pub struct DemoSummary;

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "demo")
    }
}

pub async fn load(_db: &Db) -> anyhow::Result<DemoSummary> {
    anyhow::bail!("the demo loader is being written")
}
