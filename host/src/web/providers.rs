//! Providers: search, pagination, create and edit with field-level errors.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::NaiveDate;
use serde::Deserialize;

use super::charts::{self, ChartText, Series};
use super::forms::{choices, coded_choices, parse_id};
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::{Actor, Role};
use crate::config::AppState;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::providers::{self, CADRES, Provider, ProviderFilter, ProviderInput, SEXES};
use crate::domain::timeline::{self, Due, ProviderTimeline};
use crate::domain::{Page, PageParams, assignments, org_units};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/providers", get(list).post(create))
        .route("/providers/new", get(new_form))
        .route("/providers/{id}", get(show).post(update))
        .route("/providers/{id}/edit", get(edit_form))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    #[serde(default)]
    cadre: String,
    #[serde(default)]
    facility_id: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ListPage {
    ctx: Ctx,
    page: Page<Provider>,
    q: String,
    cadre: String,
    facility_id: String,
    cadre_choices: Vec<Choice>,
    can_create: bool,
}

impl ListPage {
    /// Query string of this search at another page number.
    fn page_link(&self, page: i64) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("cadre", &self.cadre)
            .append_pair("facility_id", &self.facility_id)
            .append_pair("page", &page.to_string())
            .finish();
        format!("/providers?{query}")
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = ProviderFilter {
        q: q.q.clone(),
        cadre: Some(q.cadre.clone()).filter(|c| !c.is_empty()),
        facility_id: q.facility_id.parse().ok(),
        ..Default::default()
    };
    let page = providers::list(
        &state.db,
        &actor,
        &filter,
        &PageParams {
            page: q.page,
            per_page: Some(25),
        },
    )
    .await?;
    let mut cadre_choices = coded_choices(ctx.lang, "cadre", &CADRES, &q.cadre);
    cadre_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: ctx.t("providers.any_cadre").into(),
            selected: q.cadre.is_empty(),
        },
    );
    Ok(render(&ListPage {
        cadre_choices,
        can_create: actor.can_write_org_records(actor.organisation_id),
        ctx,
        page,
        q: q.q.unwrap_or_default(),
        cadre: q.cadre,
        facility_id: q.facility_id,
    }))
}

#[derive(Deserialize, Default, Clone)]
struct ProviderForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    cadre: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    facility_id: String,
    active: Option<String>,
}

#[derive(Template)]
#[template(path = "provider_form.html")]
struct FormPage {
    ctx: Ctx,
    /// `None` when creating.
    provider_id: Option<i64>,
    form: ProviderForm,
    errors: FormErrors,
    cadre_choices: Vec<Choice>,
    sex_choices: Vec<Choice>,
    facility_choices: Vec<Choice>,
}

/// Facilities the actor may pick: a mentor's assigned ones, everyone else's all.
async fn facility_choices(state: &AppState, actor: &Actor) -> Result<Vec<(i64, String)>, AppError> {
    if actor.role == Role::Mentor {
        let ids = assignments::facility_ids(&state.db, actor.user_id).await?;
        org_units::facility_choices(&state.db, Some(&ids)).await
    } else {
        org_units::facility_choices(&state.db, None).await
    }
}

async fn form_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    provider_id: Option<i64>,
    form: ProviderForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let failed = !errors.is_empty();
    let mut facilities = choices(facility_choices(state, actor).await?, &form.facility_id);
    let mut cadres = coded_choices(ctx.lang, "cadre", &CADRES, &form.cadre);
    let mut sexes = coded_choices(ctx.lang, "sex", &SEXES, &form.sex);
    for list in [&mut facilities, &mut cadres, &mut sexes] {
        let none_selected = !list.iter().any(|c| c.selected);
        list.insert(
            0,
            Choice {
                value: String::new(),
                label: String::new(),
                selected: none_selected,
            },
        );
    }
    let mut response = render(&FormPage {
        ctx,
        provider_id,
        form,
        errors,
        cadre_choices: cadres,
        sex_choices: sexes,
        facility_choices: facilities,
    });
    if failed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let form = ProviderForm {
        active: Some("on".into()),
        ..Default::default()
    };
    form_page(&state, ctx, &actor, None, form, FormErrors::default()).await
}

fn to_input(form: &ProviderForm) -> Result<ProviderInput, AppError> {
    let mut errors = Vec::new();
    let facility_id = parse_id(&form.facility_id, "facility_id", &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(ProviderInput {
        organisation_id: None,
        facility_id,
        code: Some(form.code.clone()),
        name: Some(form.name.clone()),
        cadre: Some(form.cadre.clone()),
        sex: Some(form.sex.clone()),
        phone: Some(form.phone.clone()),
        active: Some(form.active.is_some()),
    })
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(form): Form<ProviderForm>,
) -> Result<Response, AppError> {
    let result = match to_input(&form) {
        Ok(input) => providers::create(&state.db, &actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/providers/{}", p.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            form_page(&state, ctx, &actor, None, form, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "provider.html")]
struct ShowPage {
    ctx: Ctx,
    provider: Provider,
    can_edit: bool,
    /// The actor may log a session with this provider.
    can_log: bool,
    history: Vec<AuditEntry>,
    timeline: ProviderTimeline,
    /// The scores chart, escaped SVG; absent when nothing was scored with a percentage.
    chart: Option<String>,
}

impl ShowPage {
    fn percent(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{} %", charts::percent(p)))
            .unwrap_or_default()
    }

    fn due_text(&self, due: &Due) -> String {
        super::facilities::due_text(&self.ctx, due)
    }
}

/// The chart of a provider's scores, one line per checklist.
fn score_chart(ctx: &Ctx, timeline: &ProviderTimeline) -> Option<String> {
    let series: Vec<Series> = timeline
        .checklists
        .iter()
        .map(|c| Series {
            label: c.checklist_title.get(ctx.lang).to_string(),
            points: c
                .points
                .iter()
                .filter_map(|p| {
                    let date = NaiveDate::parse_from_str(&p.date, "%Y-%m-%d").ok()?;
                    Some((date, p.percentage))
                })
                .collect(),
        })
        .collect();
    series.iter().any(|s| !s.points.is_empty()).then(|| {
        charts::score_chart(
            &ChartText {
                id: "scores",
                title: ctx.t("timeline.chart_title"),
                description: ctx.t("timeline.chart_desc"),
                empty: ctx.t("timeline.chart_empty"),
            },
            &series,
        )
    })
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let timeline =
        timeline::provider_timeline(&state.db, &actor, id, &state.config.programme).await?;
    let provider = timeline.provider.clone();
    let can_edit = providers::can_edit(&state.db, &actor, &provider).await?;
    // Sessions are logged into the logger's own organisation, with its own providers.
    let can_log =
        can_edit && provider.active == 1 && provider.organisation_id == actor.organisation_id;
    let history = if actor.can_read_audit(Some(provider.organisation_id)) {
        audit::for_entity(&state.db, &actor, "provider", &id.to_string(), 20).await?
    } else {
        Vec::new()
    };
    let chart = score_chart(&ctx, &timeline);
    Ok(render(&ShowPage {
        ctx,
        provider,
        can_edit,
        can_log,
        history,
        timeline,
        chart,
    }))
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let p = providers::get(&state.db, &actor, id).await?;
    if !providers::can_edit(&state.db, &actor, &p).await? {
        return Err(AppError::Forbidden);
    }
    let form = ProviderForm {
        name: p.name,
        code: p.code,
        cadre: p.cadre,
        sex: p.sex.unwrap_or_default(),
        phone: p.phone.unwrap_or_default(),
        facility_id: p.facility_id.to_string(),
        active: (p.active == 1).then(|| "on".to_string()),
    };
    form_page(&state, ctx, &actor, Some(id), form, FormErrors::default()).await
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<ProviderForm>,
) -> Result<Response, AppError> {
    let result = match to_input(&form) {
        Ok(input) => providers::update(&state.db, &actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/providers/{id}")).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            form_page(&state, ctx, &actor, Some(id), form, errors).await
        }
    }
}
