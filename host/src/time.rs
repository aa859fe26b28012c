//! Timestamps are stored as ISO-8601 UTC text with millisecond precision: it sorts the same
//! as the instant it names on both engines and stays readable in the database.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> String {
    format(Utc::now())
}

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn from_now(d: chrono::Duration) -> String {
    format(Utc::now() + d)
}
