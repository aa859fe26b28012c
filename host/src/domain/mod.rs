//! The records of the programme and the actions on them. Each action checks the actor's rights
//! (see `authz`), validates its input field by field, and writes its change and the change's
//! audit entry in one transaction. Pages and API handlers are thin wrappers over these.

pub mod assignments;
pub mod audit;
pub mod death_reviews;
pub mod exports;
pub mod indicators;
pub mod org_units;
pub mod organisations;
pub mod providers;
pub mod qi;
pub mod quarter;
pub mod reporting;
pub mod reports;
pub mod scoring;
pub mod sessions;
pub mod teams;
pub mod timeline;
pub mod trainings;
pub mod users;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const MAX_PER_PAGE: i64 = 200;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct PageParams {
    /// 1-based page number.
    pub page: Option<i64>,
    /// Items per page, at most 200.
    pub per_page: Option<i64>,
}

impl PageParams {
    pub fn resolve(&self, default_per_page: i64) -> (i64, i64, i64) {
        let per_page = self
            .per_page
            .unwrap_or(default_per_page)
            .clamp(1, MAX_PER_PAGE);
        let page = self.page.unwrap_or(1).max(1);
        (page, per_page, (page - 1) * per_page)
    }
}

/// A search term as a case-insensitive LIKE pattern, with LIKE's wildcards taken literally.
pub fn like_pattern(q: Option<&str>) -> Option<String> {
    let q = q.map(str::trim).filter(|q| !q.is_empty())?;
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern(Some(" 50%_x ")).unwrap(), "%50\\%\\_x%");
        assert_eq!(like_pattern(Some("  ")), None);
    }

    #[test]
    fn page_params_are_clamped() {
        let p = PageParams {
            page: Some(0),
            per_page: Some(10_000),
        };
        assert_eq!(p.resolve(25), (1, 200, 0));
        let p = PageParams {
            page: Some(3),
            per_page: None,
        };
        assert_eq!(p.resolve(25), (3, 25, 50));
    }
}
