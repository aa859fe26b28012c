//! A quarterly report as tables: its figures, one row per indicator and breakdown (the total,
//! each district, each facility, then each other disaggregation the indicator declares), and
//! a narrative sheet that also says where the report stands (status, approval, whether the
//! figures are the frozen ones).

use super::{Cell, Column, Download, Format, Table, col, filename_part, write};
use crate::authz::Actor;
use crate::db::Db;
use crate::domain::indicators::{Breakdown, Figure, IndicatorFigures};
use crate::domain::reports::{self, Report};
use crate::error::AppResult;

pub const FIGURE_COLUMNS: [Column; 20] = [
    col("quarter", 9.0),
    col("organisation_code", 12.0),
    col("organisation", 28.0),
    col("indicator_code", 14.0),
    col("indicator", 40.0),
    col("disaggregation", 14.0),
    col("breakdown_key", 14.0),
    col("breakdown", 28.0),
    col("unit", 9.0),
    col("numerator", 11.0),
    col("denominator", 12.0),
    col("value", 11.0),
    col("previous_quarter_value", 12.0),
    col("target", 9.0),
    col("report_status", 12.0),
    col("figures_source", 12.0),
    col("approved_at", 20.0),
    col("approved_by", 20.0),
    col("changed_since_approval", 12.0),
    col("figures_sha256", 20.0),
];

pub const NARRATIVE_COLUMNS: [Column; 2] = [col("field", 26.0), col("value", 100.0)];

/// The hash of the figures shown: the approved ones once approved, else today's.
fn shown_sha256(r: &Report) -> &str {
    match (&r.approved_sha256, r.figures_source.as_str()) {
        (Some(sha), "approved") => sha,
        _ => &r.live_sha256,
    }
}

fn figure_row(
    r: &Report,
    f: &IndicatorFigures,
    dimension: &str,
    part: Option<&Breakdown>,
    figure: &Figure,
) -> Vec<Cell> {
    let total = part.is_none();
    let s = &r.summary;
    vec![
        Cell::text(&s.quarter),
        Cell::text(&s.organisation_code),
        Cell::text(&s.organisation_name),
        Cell::text(&f.code),
        Cell::text(&f.name),
        Cell::text(dimension),
        Cell::opt_text(part.map(|p| p.key.as_str())),
        Cell::text(
            part.map(|p| p.label.as_str())
                .unwrap_or(&s.organisation_name),
        ),
        Cell::text(&f.unit),
        Cell::opt_number(Some(figure.numerator)),
        Cell::opt_number(figure.denominator),
        Cell::opt_number(figure.value),
        // The previous quarter and the target are the organisation's, not a breakdown's.
        if total {
            Cell::opt_number(f.previous.value)
        } else {
            Cell::Empty
        },
        if total {
            Cell::opt_number(f.target)
        } else {
            Cell::Empty
        },
        Cell::text(&s.status),
        Cell::text(&r.figures_source),
        Cell::opt_text(s.approved_at.as_deref()),
        Cell::opt_text(r.approved_by_name.as_deref()),
        Cell::Bool(r.changed_since_approval),
        Cell::text(shown_sha256(r)),
    ]
}

/// The figures, in catalogue order; within an indicator: total, districts, facilities, then
/// the other disaggregations in name order.
pub fn figures_table(r: &Report) -> Table {
    let mut rows = Vec::new();
    for f in &r.figures {
        rows.push(figure_row(r, f, "total", None, &f.total));
        for (dimension, parts) in [("district", &f.by_district), ("facility", &f.by_facility)]
            .into_iter()
            .chain(f.other.iter().map(|(d, p)| (d.as_str(), p)))
        {
            for p in parts {
                rows.push(figure_row(r, f, dimension, Some(p), &p.figure));
            }
        }
    }
    Table {
        name: "Figures",
        columns: &FIGURE_COLUMNS,
        rows,
    }
}

pub fn narrative_table(r: &Report) -> Table {
    let s = &r.summary;
    let pair = |k: &str, v: Cell| vec![Cell::text(k), v];
    let rows = vec![
        pair("organisation_code", Cell::text(&s.organisation_code)),
        pair("organisation", Cell::text(&s.organisation_name)),
        pair("quarter", Cell::text(&s.quarter)),
        pair("status", Cell::text(&s.status)),
        pair("revision", Cell::int(s.revision)),
        pair("submitted_at", Cell::opt_text(s.submitted_at.as_deref())),
        pair(
            "submitted_by",
            Cell::opt_text(r.submitted_by_name.as_deref()),
        ),
        pair("approved_at", Cell::opt_text(s.approved_at.as_deref())),
        pair("approved_by", Cell::opt_text(r.approved_by_name.as_deref())),
        pair("figures_source", Cell::text(&r.figures_source)),
        pair(
            "changed_since_approval",
            Cell::Bool(r.changed_since_approval),
        ),
        pair("figures_sha256", Cell::text(shown_sha256(r))),
        pair(
            "achievements",
            Cell::opt_text(r.narrative.achievements.as_deref()),
        ),
        pair(
            "challenges",
            Cell::opt_text(r.narrative.challenges.as_deref()),
        ),
        pair(
            "next_quarter_plan",
            Cell::opt_text(r.narrative.next_quarter_plan.as_deref()),
        ),
        pair(
            "return_comment",
            Cell::opt_text(r.return_comment.as_deref()),
        ),
    ];
    Table {
        name: "Narrative",
        columns: &NARRATIVE_COLUMNS,
        rows,
    }
}

/// `RAM-2026Q3-report`
pub fn stem(r: &Report) -> String {
    format!(
        "{}-{}-report",
        filename_part(&r.summary.organisation_code),
        filename_part(&r.summary.quarter)
    )
}

/// A report the actor may read, as a download: CSV holds the figures; XLSX the figures and
/// the narrative sheet.
pub async fn export(
    db: &Db,
    actor: &Actor,
    organisation_id: i64,
    quarter: &str,
    format: Format,
) -> AppResult<Download> {
    let r = reports::get(db, actor, organisation_id, quarter).await?;
    write(format, &[figures_table(&r), narrative_table(&r)], &stem(&r))
}
