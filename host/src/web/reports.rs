//! Quarterly reports: the list (an organisation's quarters; for reviewers a status grid across
//! partners), the report page (figures with the previous quarter and targets, charts by
//! indicator and district, narrative, history, the buttons the reader's role and the report's
//! state allow), the narrative form, the return-with-comment form and the programme view.
//! Every action goes through `domain::reports`, which decides who may.
//!
//! The report page prints on A4 (its template carries a print stylesheet): the charts are
//! inline SVG, so they print without JavaScript or images.

use std::fmt::Write;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::charts::escape;
use super::forms::choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::config::AppState;
use crate::domain::exports::dhis2::{self, Dhis2Gaps};
use crate::domain::indicators::{Breakdown, Figure, IndicatorFigures};
use crate::domain::quarter::Quarter;
use crate::domain::reports::{
    self, NarrativeInput, Report, ReportFilter, ReportSummary, ReturnInput, TransitionInput,
};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(list))
        .route("/reports/report.css", get(stylesheet))
        .route("/reports/programme/{quarter}", get(programme))
        .route("/reports/{org_id}/{quarter}", get(show))
        .route(
            "/reports/{org_id}/{quarter}/edit",
            get(edit_form).post(save),
        )
        .route("/reports/{org_id}/{quarter}/submit", post(submit))
        .route("/reports/{org_id}/{quarter}/approve", post(approve))
        .route(
            "/reports/{org_id}/{quarter}/return",
            get(return_form).post(return_report),
        )
}

/// The report pages' own styles, the A4 print layout among them. Served as a file because the
/// content security policy (`default-src 'self'`) refuses inline `<style>`.
const STYLESHEET: &str = r#"/* Quarterly reports: status badges, figure tables, charts, and A4 printing. */
.report-status { display: inline-block; font-size: .8rem; font-weight: 700; padding: .1rem .55rem; border-radius: 1rem; border: 1px solid var(--line); background: #eceff3; }
.report-status.s-submitted { background: #e3f0fb; color: #0b4f85; border-color: #a9cdee; }
.report-status.s-returned { background: #fff1d6; color: #7a4700; border-color: #e8c27a; }
.report-status.s-approved { background: #e6f4ea; color: var(--ok); border-color: #b7dfc2; }
.report td.num, .report th.num { text-align: right; }
.report .figures td.num { white-space: nowrap; }
.report table th:nth-child(3), .report table td:nth-child(3) { display: table-cell; }
.report .scroll { overflow-x: auto; }
.report .indicator { break-inside: avoid; page-break-inside: avoid; }
.report .bar-chart { max-width: 30rem; display: block; margin: .5rem 0; }
.report .target-met { color: var(--ok); }
.report .target-below { color: var(--warn); }
.report .narrative { white-space: pre-wrap; }
.report .changed { background: #fff1d6; border: 1px solid #e8c27a; padding: .5rem .75rem; border-radius: .35rem; }
.report .returned { background: #fff1d6; border: 1px solid #e8c27a; padding: .5rem .75rem; border-radius: .35rem; white-space: pre-wrap; }
@media print {
  @page { size: A4; margin: 15mm 12mm; }
  body { background: #fff; font-size: 10pt; }
  .topbar, footer, .report .actions, .report form, .report .no-print { display: none !important; }
  main { max-width: none; padding: 0; }
  .report .card { border: 0; padding: 0; margin: 0 0 8mm; }
  .report h2 { break-after: avoid; page-break-after: avoid; }
  .report .scroll { overflow: visible; }
  .report .bar-chart { max-width: 120mm; }
  .report a { color: inherit; text-decoration: none; }
}
.programme td.num, .programme th.num { text-align: right; white-space: nowrap; }
.programme table th:nth-child(3), .programme table td:nth-child(3) { display: table-cell; }
.programme .total { font-weight: 700; }
.programme .scroll { overflow-x: auto; }
@media print {
  /* Partners side by side need the width of a landscape page. */
  @page programme-wide { size: A4 landscape; margin: 12mm; }
  .programme { page: programme-wide; }
  .programme form, .programme .no-print { display: none !important; }
  .programme .scroll { overflow: visible; }
}
"#;

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// How many quarters an organisation's list shows.
const QUARTERS_SHOWN: usize = 8;
const NONE: &str = "–";

// ---------------------------------------------------------------------------------------------
// Numbers and labels

fn trimmed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A value in its indicator's unit: `83.3%`, `12`, `4.5`.
pub fn value_text(unit: &str, v: Option<f64>) -> String {
    match v.filter(|x| x.is_finite()) {
        None => NONE.into(),
        Some(x) => match unit {
            "percent" => format!("{}%", trimmed(x, 1)),
            "ratio" => trimmed(x, 2),
            _ => trimmed(x, 1),
        },
    }
}

/// Numerator over denominator, when there is one: `12 / 20`.
fn fraction(f: &Figure) -> String {
    match f.denominator {
        Some(d) => format!("{} / {}", trimmed(f.numerator, 1), trimmed(d, 1)),
        None => String::new(),
    }
}

fn status_label(ctx: &Ctx, status: &str) -> &'static str {
    ctx.tk("report.status", status)
}

pub(super) fn org_id(text: &str) -> Result<i64, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

fn report_path(org: i64, quarter: &str) -> String {
    format!("/reports/{org}/{quarter}")
}

/// The quarters a picker offers: the current one and those before it.
fn recent_quarters(n: usize) -> Vec<Quarter> {
    let mut out = Vec::with_capacity(n);
    let mut q = Quarter::current();
    for _ in 0..n {
        out.push(q);
        q = q.previous();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Charts

/// One bar of a horizontal bar chart.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    /// `current`, `previous`, `target` or `part` (a district), for colour and tests.
    pub kind: &'static str,
}

// Narrow enough that 12-unit text stays readable when a 390 px phone scales the chart down.
const CHART_WIDTH: f64 = 360.0;
const LABEL_RIGHT: f64 = 118.0;
const BAR_LEFT: f64 = 124.0;
const BAR_RIGHT: f64 = 300.0;
/// The longest label drawn in full, in characters (the SVG's title and description keep it all).
const LABEL_CHARS: usize = 17;
const ROW: f64 = 26.0;
const BAR_HEIGHT: f64 = 16.0;

fn bar_colour(kind: &str) -> &'static str {
    // Okabe–Ito, as in charts.rs: distinguishable with the common colour-vision deficiencies.
    match kind {
        "current" => "#0072b2",
        "previous" => "#56b4e9",
        "target" => "#e69f00",
        _ => "#009e73",
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn chart_id(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "chart".into() } else { s }
}

/// A horizontal bar chart of values in one unit: a row per bar, the value written after it.
/// Percentages are drawn on a 0–100 scale, other units up to the largest value. A missing value
/// (a zero denominator) gets no bar and a dash.
pub fn bar_chart(id: &str, title: &str, unit: &str, bars: &[Bar]) -> String {
    let id = chart_id(id);
    let largest = bars
        .iter()
        .filter_map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let max = if unit == "percent" {
        largest.max(100.0)
    } else if largest > 0.0 {
        largest
    } else {
        1.0
    };
    let height = bars.len().max(1) as f64 * ROW + 8.0;
    let description: Vec<String> = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, value_text(unit, b.value)))
        .collect();
    let mut svg = String::with_capacity(1024 + bars.len() * 300);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {CHART_WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="sans-serif" font-size="12"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(&description.join("; "))
    );
    let _ = write!(
        svg,
        r##"<line x1="{BAR_LEFT}" x2="{BAR_LEFT}" y1="2" y2="{:.1}" stroke="#999999"/>"##,
        height - 4.0
    );
    for (n, b) in bars.iter().enumerate() {
        let y = 4.0 + n as f64 * ROW;
        let text_y = y + BAR_HEIGHT - 3.0;
        let _ = write!(
            svg,
            r##"<g class="bar bar-{}" data-label="{}" data-value="{}"><text x="{LABEL_RIGHT}" y="{text_y:.1}" text-anchor="end" fill="#333333">{}</text>"##,
            b.kind,
            escape(&b.label),
            b.value
                .filter(|v| v.is_finite())
                .map(|v| trimmed(v, 3))
                .unwrap_or_default(),
            escape(&clip(&b.label, LABEL_CHARS))
        );
        let width = b
            .value
            .filter(|v| v.is_finite())
            .map(|v| (v.max(0.0) / max).min(1.0) * (BAR_RIGHT - BAR_LEFT))
            .unwrap_or(0.0);
        if width > 0.0 {
            let _ = write!(
                svg,
                r#"<rect x="{BAR_LEFT}" y="{y:.1}" width="{width:.1}" height="{BAR_HEIGHT}" fill="{}"/>"#,
                bar_colour(b.kind)
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{text_y:.1}" fill="#333333">{}</text></g>"##,
            BAR_LEFT + width + 4.0,
            escape(&value_text(unit, b.value))
        );
    }
    svg.push_str("</svg>");
    svg
}

// ---------------------------------------------------------------------------------------------
// The report page

struct PartRow {
    label: String,
    value: String,
    fraction: String,
}

fn parts(unit: &str, rows: &[Breakdown]) -> Vec<PartRow> {
    rows.iter()
        .map(|b| PartRow {
            label: b.label.clone(),
            value: value_text(unit, b.figure.value),
            fraction: fraction(&b.figure),
        })
        .collect()
}

struct IndicatorView {
    code: String,
    name: String,
    definition: String,
    current: String,
    current_fraction: String,
    previous: String,
    target: String,
    /// `met`, `below` or empty (no target or no value).
    against_target: &'static str,
    chart: String,
    district_chart: Option<String>,
    districts: Vec<PartRow>,
    facilities: Vec<PartRow>,
    /// The indicator has a denominator, so its rows show numerator / denominator.
    fractions: bool,
}

fn indicator_view(ctx: &Ctx, f: &IndicatorFigures) -> IndicatorView {
    let bars = [
        Bar {
            label: ctx.t("report.chart.previous").into(),
            value: f.previous.value,
            kind: "previous",
        },
        Bar {
            label: ctx.t("report.chart.current").into(),
            value: f.total.value,
            kind: "current",
        },
        Bar {
            label: ctx.t("report.chart.target").into(),
            value: f.target,
            kind: "target",
        },
    ];
    let district_bars: Vec<Bar> = f
        .by_district
        .iter()
        .map(|b| Bar {
            label: b.label.clone(),
            value: b.figure.value,
            kind: "part",
        })
        .collect();
    let against_target = match (f.total.value, f.target) {
        (Some(v), Some(t)) if v >= t => "met",
        (Some(_), Some(_)) => "below",
        _ => "",
    };
    IndicatorView {
        chart: bar_chart(&format!("chart-{}", f.code), &f.name, &f.unit, &bars),
        district_chart: (!district_bars.is_empty()).then(|| {
            bar_chart(
                &format!("districts-{}", f.code),
                &format!("{} · {}", f.name, ctx.t("report.by_district")),
                &f.unit,
                &district_bars,
            )
        }),
        code: f.code.clone(),
        name: f.name.clone(),
        definition: f.definition.clone(),
        current: value_text(&f.unit, f.total.value),
        current_fraction: fraction(&f.total),
        previous: value_text(&f.unit, f.previous.value),
        target: value_text(&f.unit, f.target),
        against_target,
        fractions: f.total.denominator.is_some(),
        districts: parts(&f.unit, &f.by_district),
        facilities: parts(&f.unit, &f.by_facility),
    }
}

struct EventView {
    action: String,
    action_label: &'static str,
    actor: String,
    at: String,
    comment: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ShowPage {
    ctx: Ctx,
    r: Report,
    status_label: &'static str,
    path: String,
    indicators: Vec<IndicatorView>,
    events: Vec<EventView>,
    sees_programme: bool,
    approved_at: String,
    approved_by: String,
    /// What the DHIS2 export holds and leaves out, shown beside its download.
    dhis2: Dhis2Gaps,
    /// Reads the DHIS2 mapping page (to fix the gaps).
    sees_dhis2_mapping: bool,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let r = reports::get(&state.db, &actor, org_id(&org)?, &quarter).await?;
    let dhis2 = dhis2::gaps_of(&state.db, &r).await?;
    let indicators = r.figures.iter().map(|f| indicator_view(&ctx, f)).collect();
    let events = r
        .events
        .iter()
        .map(|e| EventView {
            action: e.action.clone(),
            action_label: ctx.tk("report.event", &e.action),
            actor: e.actor_name.clone().unwrap_or_default(),
            at: e.at.get(..16).unwrap_or(&e.at).replace('T', " "),
            comment: e.comment.clone(),
        })
        .collect();
    Ok(render(&ShowPage {
        status_label: status_label(&ctx, &r.summary.status),
        path: report_path(r.summary.organisation_id, &r.summary.quarter),
        indicators,
        events,
        sees_programme: reports::sees_programme(&actor),
        approved_at: r
            .summary
            .approved_at
            .as_deref()
            .map(|a| a.get(..10).unwrap_or(a).to_string())
            .unwrap_or_default(),
        approved_by: r.approved_by_name.clone().unwrap_or_default(),
        dhis2,
        sees_dhis2_mapping: dhis2::may_read(&actor),
        r,
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// The list and the status grid

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    quarter: String,
}

struct ListRow {
    organisation_id: i64,
    organisation_name: String,
    quarter: String,
    status: String,
    status_label: &'static str,
    submitted_at: String,
    path: String,
}

fn list_row(ctx: &Ctx, s: &ReportSummary) -> ListRow {
    ListRow {
        organisation_id: s.organisation_id,
        organisation_name: s.organisation_name.clone(),
        quarter: s.quarter.clone(),
        status: s.status.clone(),
        status_label: status_label(ctx, &s.status),
        submitted_at: s
            .submitted_at
            .as_deref()
            .map(|a| a.get(..10).unwrap_or(a).to_string())
            .unwrap_or_default(),
        path: report_path(s.organisation_id, &s.quarter),
    }
}

#[derive(Template)]
#[template(path = "report_list.html")]
struct ListPage {
    ctx: Ctx,
    /// Reviewers see the grid across partners; everyone else their organisation's quarters.
    grid: bool,
    quarter: String,
    quarter_choices: Vec<Choice>,
    rows: Vec<ListRow>,
    /// (status, label, count) for the grid's quarter, in workflow order.
    counts: Vec<(String, &'static str, usize)>,
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    if reports::sees_programme(&actor) {
        let quarter = if q.quarter.trim().is_empty() {
            // The quarter partners report on is usually the one that just ended.
            Quarter::current().previous().to_string()
        } else {
            q.quarter.trim().to_string()
        };
        let filter = ReportFilter {
            quarter: Some(quarter.clone()),
            ..ReportFilter::default()
        };
        let summaries = reports::list(&state.db, &actor, &filter).await?;
        let counts = reports::STATUSES
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    status_label(&ctx, s),
                    summaries.iter().filter(|r| r.status == *s).count(),
                )
            })
            .collect();
        let quarter_choices = choices(
            recent_quarters(QUARTERS_SHOWN)
                .into_iter()
                .map(|q| (q.to_string(), q.to_string())),
            &quarter,
        );
        return Ok(render(&ListPage {
            grid: true,
            rows: summaries.iter().map(|s| list_row(&ctx, s)).collect(),
            quarter,
            quarter_choices,
            counts,
            ctx,
        }));
    }
    let summaries =
        reports::organisation_quarters(&state.db, &actor, actor.organisation_id, QUARTERS_SHOWN)
            .await;
    let rows = match summaries {
        Ok(s) => s.iter().map(|s| list_row(&ctx, s)).collect(),
        // An organisation that does not report (project management's own staff) has no list.
        Err(AppError::NotFound) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(render(&ListPage {
        grid: false,
        quarter: String::new(),
        quarter_choices: Vec::new(),
        rows,
        counts: Vec::new(),
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// The narrative

#[derive(Deserialize, Default)]
struct NarrativeForm {
    #[serde(default)]
    revision: String,
    #[serde(default)]
    achievements: String,
    #[serde(default)]
    challenges: String,
    #[serde(default)]
    next_quarter_plan: String,
}

#[derive(Template)]
#[template(path = "report_edit.html")]
struct EditPage {
    ctx: Ctx,
    path: String,
    organisation_name: String,
    quarter: String,
    form: NarrativeForm,
    return_comment: Option<String>,
    errors: FormErrors,
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let r = reports::get(&state.db, &actor, org_id(&org)?, &quarter).await?;
    if !r.actions.edit {
        return Err(
            if r.summary.status == "approved" || r.summary.status == "submitted" {
                AppError::Conflict(ctx.t("report.not_editable").into())
            } else {
                AppError::Forbidden
            },
        );
    }
    Ok(render(&EditPage {
        path: report_path(r.summary.organisation_id, &r.summary.quarter),
        organisation_name: r.summary.organisation_name.clone(),
        quarter: r.summary.quarter.clone(),
        form: NarrativeForm {
            revision: r.summary.revision.to_string(),
            achievements: r.narrative.achievements.clone().unwrap_or_default(),
            challenges: r.narrative.challenges.clone().unwrap_or_default(),
            next_quarter_plan: r.narrative.next_quarter_plan.clone().unwrap_or_default(),
        },
        return_comment: r.return_comment.clone(),
        errors: FormErrors::default(),
        ctx,
    }))
}

async fn save(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Form(form): Form<NarrativeForm>,
) -> Result<Response, AppError> {
    let org = org_id(&org)?;
    let mut errors = FormErrors::default();
    let revision = match form.revision.trim().parse::<i64>() {
        Ok(r) => Some(r),
        Err(_) => {
            errors.add("revision", ctx.t("error.required"));
            None
        }
    };
    let input = NarrativeInput {
        revision,
        achievements: Some(form.achievements.clone()),
        challenges: Some(form.challenges.clone()),
        next_quarter_plan: Some(form.next_quarter_plan.clone()),
    };
    match reports::save_narrative(&state.db, &actor, org, &quarter, &input).await {
        Ok(r) => Ok(
            Redirect::to(&report_path(r.summary.organisation_id, &r.summary.quarter))
                .into_response(),
        ),
        Err(e) => {
            let field_errors = FormErrors::from_error(ctx.lang, e)?;
            if errors.is_empty() {
                errors = field_errors;
            }
            let r = reports::get(&state.db, &actor, org, &quarter).await?;
            let mut response = render(&EditPage {
                path: report_path(r.summary.organisation_id, &r.summary.quarter),
                organisation_name: r.summary.organisation_name.clone(),
                quarter: r.summary.quarter.clone(),
                form,
                return_comment: r.return_comment.clone(),
                errors,
                ctx,
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transitions

#[derive(Deserialize, Default)]
struct TransitionForm {
    #[serde(default)]
    revision: String,
    #[serde(default)]
    comment: String,
}

impl TransitionForm {
    fn revision(&self) -> Option<i64> {
        self.revision.trim().parse().ok()
    }
}

/// A submit or approve form answers with the report page; a refused submission (sections
/// missing) shows what is missing as the error page's detail.
async fn submit(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Form(form): Form<TransitionForm>,
) -> Result<Response, AppError> {
    let input = TransitionInput {
        revision: form.revision(),
        comment: None,
    };
    let r = reports::submit(&state.db, &actor, org_id(&org)?, &quarter, &input).await?;
    Ok(Redirect::to(&report_path(r.summary.organisation_id, &r.summary.quarter)).into_response())
}

async fn approve(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Form(form): Form<TransitionForm>,
) -> Result<Response, AppError> {
    let input = TransitionInput {
        revision: form.revision(),
        comment: Some(form.comment.clone()),
    };
    let r = reports::approve(&state.db, &actor, org_id(&org)?, &quarter, &input).await?;
    Ok(Redirect::to(&report_path(r.summary.organisation_id, &r.summary.quarter)).into_response())
}

#[derive(Template)]
#[template(path = "report_return.html")]
struct ReturnPage {
    ctx: Ctx,
    path: String,
    organisation_name: String,
    quarter: String,
    revision: String,
    comment: String,
    errors: FormErrors,
}

async fn return_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let r = reports::get(&state.db, &actor, org_id(&org)?, &quarter).await?;
    if !reports::sees_programme(&actor) {
        return Err(AppError::Forbidden);
    }
    if !r.actions.return_ {
        return Err(AppError::Conflict(ctx.t("report.not_submitted").into()));
    }
    Ok(render(&ReturnPage {
        path: report_path(r.summary.organisation_id, &r.summary.quarter),
        organisation_name: r.summary.organisation_name,
        quarter: r.summary.quarter,
        revision: r.summary.revision.to_string(),
        comment: String::new(),
        errors: FormErrors::default(),
        ctx,
    }))
}

async fn return_report(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((org, quarter)): Path<(String, String)>,
    Form(form): Form<TransitionForm>,
) -> Result<Response, AppError> {
    let org = org_id(&org)?;
    let input = ReturnInput {
        revision: form.revision(),
        comment: Some(form.comment.clone()),
    };
    match reports::return_report(&state.db, &actor, org, &quarter, &input).await {
        Ok(r) => Ok(
            Redirect::to(&report_path(r.summary.organisation_id, &r.summary.quarter))
                .into_response(),
        ),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            let r = reports::get(&state.db, &actor, org, &quarter).await?;
            let mut response = render(&ReturnPage {
                path: report_path(r.summary.organisation_id, &r.summary.quarter),
                organisation_name: r.summary.organisation_name,
                quarter: r.summary.quarter,
                revision: form.revision.clone(),
                comment: form.comment,
                errors,
                ctx,
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The programme view

struct ProgrammeColumnView {
    organisation_id: i64,
    code: String,
    name: String,
    status: String,
    status_label: &'static str,
    approved: bool,
    path: String,
}

struct ProgrammeRowView {
    code: String,
    name: String,
    target: String,
    values: Vec<String>,
    total: String,
}

#[derive(Template)]
#[template(path = "report_programme.html")]
struct ProgrammePage {
    ctx: Ctx,
    quarter: String,
    quarter_choices: Vec<Choice>,
    columns: Vec<ProgrammeColumnView>,
    rows: Vec<ProgrammeRowView>,
}

async fn programme(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(quarter): Path<String>,
) -> Result<Response, AppError> {
    let view = reports::programme(&state.db, &actor, &quarter).await?;
    let columns = view
        .columns
        .iter()
        .map(|c| ProgrammeColumnView {
            organisation_id: c.summary.organisation_id,
            code: c.summary.organisation_code.clone(),
            name: c.summary.organisation_name.clone(),
            status: c.summary.status.clone(),
            status_label: status_label(&ctx, &c.summary.status),
            approved: c.figures_source == "approved",
            path: report_path(c.summary.organisation_id, &c.summary.quarter),
        })
        .collect();
    let rows = view
        .rows
        .iter()
        .map(|r| ProgrammeRowView {
            code: r.code.clone(),
            name: r.name.clone(),
            target: value_text(&r.unit, r.target),
            values: r
                .values
                .iter()
                .map(|v| value_text(&r.unit, v.as_ref().and_then(|f| f.value)))
                .collect(),
            total: value_text(&r.unit, r.total.value),
        })
        .collect();
    Ok(render(&ProgrammePage {
        quarter_choices: choices(
            recent_quarters(QUARTERS_SHOWN)
                .into_iter()
                .map(|q| (q.to_string(), q.to_string())),
            &view.quarter,
        ),
        quarter: view.quarter,
        columns,
        rows,
        ctx,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(value_text("percent", Some(83.333)), "83.3%");
        assert_eq!(value_text("percent", Some(80.0)), "80%");
        assert_eq!(value_text("count", Some(12.0)), "12");
        assert_eq!(value_text("mean", Some(4.26)), "4.3");
        assert_eq!(value_text("ratio", Some(0.5)), "0.5");
        assert_eq!(value_text("percent", None), "–");
        assert_eq!(value_text("count", Some(f64::NAN)), "–");
    }

    #[test]
    fn bars_are_proportional_and_text_is_escaped() {
        let bars = [
            Bar {
                label: "<Karongi>".into(),
                value: Some(50.0),
                kind: "part",
            },
            Bar {
                label: "Rutsiro".into(),
                value: None,
                kind: "part",
            },
        ];
        let svg = bar_chart("x", "A & B", "percent", &bars);
        assert!(svg.contains("&lt;Karongi&gt;") && !svg.contains("<Karongi>"));
        assert!(svg.contains("A &amp; B"));
        let half = (BAR_RIGHT - BAR_LEFT) / 2.0;
        assert!(svg.contains(&format!(r#"width="{half:.1}""#)), "{svg}");
        // No bar for a missing value, but its row and a dash.
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains(">–</text>"));
    }
}
