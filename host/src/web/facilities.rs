//! The facility hierarchy: browse country → province → district → facility, or search.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::forms::coded_choices;
use super::{Choice, Ctx, SignedIn, render};
use crate::config::AppState;
use crate::domain::org_units::{self, OrgUnit, OrgUnitFilter};
use crate::domain::providers::{self, Provider, ProviderFilter};
use crate::domain::{Page, PageParams};
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
    providers: Option<Page<Provider>>,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let unit = org_units::get(&state.db, id).await?;
    let ancestors = org_units::ancestors(&state.db, &unit).await?;
    let children = org_units::children(&state.db, id).await?;
    let providers = if unit.level == "facility" {
        let filter = ProviderFilter {
            facility_id: Some(id),
            ..Default::default()
        };
        Some(
            providers::list(
                &state.db,
                &actor,
                &filter,
                &PageParams {
                    page: Some(1),
                    per_page: Some(200),
                },
            )
            .await?,
        )
    } else {
        None
    };
    Ok(render(&ShowPage {
        ctx,
        unit,
        ancestors,
        children,
        providers,
    }))
}
