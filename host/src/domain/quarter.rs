//! Reporting quarters, written the DHIS2 way: `2026Q3` is July to September 2026.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{AppError, FieldError};

/// A calendar quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    /// 1 to 4.
    number: u8,
}

/// Why a quarter could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QuarterError(String);

impl Quarter {
    pub fn new(year: i32, number: u8) -> Option<Quarter> {
        ((1..=4).contains(&number) && (2000..=2100).contains(&year))
            .then_some(Quarter { year, number })
    }

    /// The quarter a day falls in.
    pub fn of(date: NaiveDate) -> Quarter {
        Quarter {
            year: date.year(),
            number: (date.month0() / 3 + 1) as u8,
        }
    }

    /// The quarter today (UTC) falls in.
    pub fn current() -> Quarter {
        Quarter::of(Utc::now().date_naive())
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn number(self) -> u8 {
        self.number
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, u32::from(self.number) * 3 - 2, 1)
            .expect("quarters start on valid days")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a quarter's last day exists")
    }

    /// `YYYY-MM-DD` of the first and last day, for comparing with stored ISO dates.
    pub fn date_range(self) -> (String, String) {
        (
            self.first_day().format("%Y-%m-%d").to_string(),
            self.last_day().format("%Y-%m-%d").to_string(),
        )
    }

    pub fn previous(self) -> Quarter {
        if self.number == 1 {
            Quarter {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number - 1,
            }
        }
    }

    pub fn next(self) -> Quarter {
        if self.number == 4 {
            Quarter {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number + 1,
            }
        }
    }

    /// Whether the quarter has started (a report for a future quarter makes no sense).
    pub fn has_started(self) -> bool {
        self.first_day() <= Utc::now().date_naive()
    }

    /// Parses a quarter named in a path or a field; a malformed one is a 422 naming `field`.
    pub fn parse_field(field: &str, value: &str) -> Result<Quarter, AppError> {
        value.parse().map_err(|e: QuarterError| {
            AppError::Validation(vec![FieldError::new(field, "invalid_quarter", e.0)])
        })
    }
}

impl FromStr for Quarter {
    type Err = QuarterError;

    fn from_str(s: &str) -> Result<Quarter, QuarterError> {
        let bad = || {
            QuarterError(format!(
                "`{}` is not a quarter; write it like 2026Q3 (year, Q, 1 to 4)",
                s.chars().take(20).collect::<String>()
            ))
        };
        let s = s.trim();
        let (year, number) = s
            .split_once(['Q', 'q'])
            .filter(|(y, n)| y.len() == 4 && n.len() == 1)
            .ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u8 = number.parse().map_err(|_| bad())?;
        Quarter::new(year, number).ok_or_else(bad)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.number)
    }
}

impl Serialize for Quarter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quarter, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_dhis2_periods() {
        let q: Quarter = "2026Q3".parse().unwrap();
        assert_eq!(q.to_string(), "2026Q3");
        assert_eq!(q.date_range(), ("2026-07-01".into(), "2026-09-30".into()));
        assert_eq!("2024q1".parse::<Quarter>().unwrap().to_string(), "2024Q1");
    }

    #[test]
    fn refuses_malformed_quarters() {
        for bad in [
            "2026Q5", "2026Q0", "2026-Q3", "26Q3", "2026Q", "Q3", "", "2026Q33", "abcdQ1",
        ] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn steps_across_years_and_knows_its_last_day() {
        let q1: Quarter = "2027Q1".parse().unwrap();
        assert_eq!(q1.previous().to_string(), "2026Q4");
        assert_eq!(q1.previous().next(), q1);
        assert_eq!(q1.last_day().to_string(), "2027-03-31");
        let leap: Quarter = "2028Q1".parse().unwrap();
        assert_eq!(leap.last_day().to_string(), "2028-03-31");
        assert_eq!(
            Quarter::of(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).to_string(),
            "2026Q4"
        );
    }
}
