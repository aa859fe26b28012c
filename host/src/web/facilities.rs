//! The facility hierarchy: browse country → province → district → facility, or search; a
//! facility's page shows its providers, who is overdue for a session, and the quarter's sessions.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::forms::{choices, coded_choices};
use super::{Choice, Ctx, SignedIn, render};
use crate::authz::Role;
use crate::config::AppState;
use crate::domain::org_units::{self, OrgUnit, OrgUnitFilter};
use crate::domain::timeline::{self, Due, FacilityOverview, ProviderDue, Quarter};
use crate::domain::{Page, PageParams, assignments, organisations};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities", get(index))
        .route("/facilities/{id}", get(show))
}

#[derive(Deserialize, Default)]
struct IndexQuery {
    q: Option<String>,
    #[serde(default)]
    level: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "facilities.html")]
struct IndexPage {
    ctx: Ctx,
    q: String,
    level_choices: Vec<Choice>,
    roots: Vec<OrgUnit>,
    results: Option<Page<OrgUnit>>,
}

async fn index(
    State(state): State<AppState>,
    SignedIn { ctx, .. }: SignedIn,
    Query(q): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let term = q.q.clone().unwrap_or_default();
    let results = if term.trim().is_empty() && q.level.is_empty() {
        None
    } else {
        let filter = OrgUnitFilter {
            q: Some(term.clone()),
            level: Some(q.level.clone()).filter(|l| org_units::LEVELS.contains(&l.as_str())),
            ..Default::default()
        };
        Some(
            org_units::list(
                &state.db,
                &filter,
                &PageParams {
                    page: q.page,
                    per_page: Some(50),
                },
            )
            .await?,
        )
    };
    let roots = org_units::roots(&state.db).await?;
    let mut level_choices = coded_choices(ctx.lang, "level", &org_units::LEVELS, &q.level);
    level_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: ctx.t("facilities.any_level").into(),
            selected: q.level.is_empty(),
        },
    );
    Ok(render(&IndexPage {
        level_choices,
        ctx,
        q: term,
        roots,
        results,
    }))
}

#[derive(Template)]
#[template(path = "facility.html")]
struct ShowPage {
    ctx: Ctx,
    unit: OrgUnit,
    ancestors: Vec<OrgUnit>,
    children: Vec<OrgUnit>,
    /// For a facility: its providers, who is overdue, its sessions in the quarter.
    overview: Option<FacilityOverview>,
    /// The actor may log a session here.
    can_log: bool,
    /// For admins and managers: narrow the page to one organisation.
    organisation_choices: Vec<Choice>,
    organisation_id: String,
}

impl ShowPage {
    fn due_text(&self, due: &Due) -> String {
        due_text(&self.ctx, due)
    }

    fn overdue(&self) -> Vec<&ProviderDue> {
        self.overview
            .as_ref()
            .map(FacilityOverview::overdue)
            .unwrap_or_default()
    }

    /// This page at another quarter, keeping the organisation filter.
    fn quarter_link(&self, quarter: Quarter) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("quarter", &quarter.to_string());
        if !self.organisation_id.is_empty() {
            query.append_pair("organisation_id", &self.organisation_id);
        }
        format!("/facilities/{}?{}", self.unit.id, query.finish())
    }
}

/// When a provider's next session is due, in words.
pub(super) fn due_text(ctx: &Ctx, due: &Due) -> String {
    let next = due.next_due.as_deref().unwrap_or("");
    match due.status.as_str() {
        "never" => ctx.t("due.never").to_string(),
        "overdue" => format!(
            "{next} · {} ({} {})",
            ctx.t("due.overdue"),
            due.days_overdue,
            ctx.t("due.days")
        ),
        "due_today" => format!("{next} · {}", ctx.t("due.today")),
        _ => next.to_string(),
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// `2026Q3`; the current quarter when absent or unreadable.
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    organisation_id: String,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let unit = org_units::get(&state.db, id).await?;
    let ancestors = org_units::ancestors(&state.db, &unit).await?;
    let children = org_units::children(&state.db, id).await?;
    let asked_org = q.organisation_id.trim().parse::<i64>().ok();
    let overview = if unit.level == "facility" {
        let quarter = Quarter::parse(&q.quarter).unwrap_or_else(Quarter::current);
        Some(
            timeline::facility_overview(
                &state.db,
                &actor,
                id,
                &state.config.programme,
                quarter,
                asked_org,
            )
            .await?,
        )
    } else {
        None
    };
    let can_log = overview.is_some()
        && actor.can_write_org_records(actor.organisation_id)
        && (actor.role != Role::Mentor
            || assignments::is_assigned(&state.db, actor.user_id, id).await?);
    let organisation_id = asked_org.map(|o| o.to_string()).unwrap_or_default();
    let organisation_choices = if overview.is_some() && actor.reads_all_organisations() {
        let mut list = choices(
            organisations::list(&state.db, &actor)
                .await?
                .into_iter()
                .map(|o| (o.id, format!("{} · {}", o.code, o.name))),
            &organisation_id,
        );
        list.insert(
            0,
            Choice {
                value: String::new(),
                label: ctx.t("facility.all_organisations").into(),
                selected: organisation_id.is_empty(),
            },
        );
        list
    } else {
        Vec::new()
    };
    Ok(render(&ShowPage {
        ctx,
        unit,
        ancestors,
        children,
        overview,
        can_log,
        organisation_choices,
        organisation_id,
    }))
}
