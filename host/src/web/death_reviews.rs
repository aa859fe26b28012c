//! Death reviews (MPDSR): the list with its follow-up filters ("awaiting review",
//! "recommendations overdue"), notifying a death, the review page with its recommendations
//! and their status changes, and the edit form that adds the review's findings. Every action
//! goes through `domain::death_reviews`, which decides who may read and write; these handlers
//! only turn forms into inputs and results into pages. On a 422 the form comes back with
//! everything typed and each problem next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::Actor;
use crate::config::AppState;
use crate::domain::death_reviews::{
    self, AVOIDABLE, CAUSE_GROUPS, DEATH_TYPES, DeathReview, DeathReviewFilter, DeathReviewInput,
    RECOMMENDATION_STATUSES, RecommendationInput,
};
use crate::domain::{Page, PageParams, org_units};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/death-reviews", get(list).post(create))
        .route("/death-reviews/new", get(new_form))
        .route("/death-reviews/{id}", get(show).post(update))
        .route("/death-reviews/{id}/edit", get(edit_form))
        .route(
            "/death-reviews/{id}/recommendations",
            post(add_recommendation),
        )
        .route(
            "/death-reviews/{id}/recommendations/{rec_id}",
            post(update_recommendation),
        )
}

// ---------------------------------------------------------------------------------------------
// Shared bits

/// Field errors in the user's language: this area's own wording first, then the shared one.
fn form_errors(lang: Lang, errors: &[FieldError]) -> FormErrors {
    let mut out = FormErrors::default();
    for e in errors {
        let own = format!("death_review.error.{}", e.code);
        let shared = format!("error.{}", e.code);
        let message = if i18n::has(Lang::En, &own) {
            i18n::t(lang, &own).to_string()
        } else if i18n::has(Lang::En, &shared) {
            i18n::t(lang, &shared).to_string()
        } else {
            e.message.clone()
        };
        out.add(&e.field, &message);
    }
    out
}

fn validation(e: AppError) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Validation(errs) => Ok(errs),
        other => Err(other),
    }
}

/// A record id from the path; anything else is simply not found.
fn parse_id(s: &str) -> Result<i64, AppError> {
    s.trim().parse().map_err(|_| AppError::NotFound)
}

fn cause_label(ctx: &Ctx, group: i64) -> String {
    match death_reviews::cause_code(group) {
        Some(code) => format!("{group} · {}", ctx.tk("death_review.cause", code)),
        None => group.to_string(),
    }
}

fn cause_choices(ctx: &Ctx, current: &str) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: ctx.t("death_review.not_yet").into(),
        selected: current.trim().is_empty(),
    }];
    out.extend(choices(
        CAUSE_GROUPS
            .iter()
            .map(|(n, _, _)| (*n, cause_label(ctx, *n))),
        current.trim(),
    ));
    out
}

fn coded(
    ctx: &Ctx,
    prefix: &str,
    codes: &[&str],
    current: &str,
    blank: Option<&str>,
) -> Vec<Choice> {
    let mut out = Vec::new();
    if let Some(blank) = blank {
        out.push(Choice {
            value: String::new(),
            label: ctx.t(blank).into(),
            selected: current.is_empty(),
        });
    }
    out.extend(choices(
        codes.iter().map(|c| (c.to_string(), ctx.tk(prefix, c))),
        current,
    ));
    out
}

async fn facility_choices(
    state: &AppState,
    actor: &Actor,
    current: &str,
    keep: Option<i64>,
) -> Result<Vec<Choice>, AppError> {
    let scope = death_reviews::facility_scope(&state.db, actor).await?;
    let all = org_units::facility_choices(&state.db, None).await?;
    let items = all
        .into_iter()
        .filter(|(id, _)| scope.as_ref().is_none_or(|s| s.contains(id)) || keep == Some(*id));
    Ok(choices(items, current))
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Deserialize, Default, Clone)]
struct ListQuery {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    death_type: String,
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: String,
    page: Option<i64>,
}

struct ListRow {
    id: i64,
    facility: String,
    organisation: String,
    type_label: &'static str,
    died_on: String,
    notified_on: String,
    awaiting: bool,
    reviewed_on: String,
    cause: String,
    recommendations: i64,
    overdue: i64,
}

#[derive(Template)]
#[template(path = "death_review_list.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<ListRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: ListQuery,
    errors: FormErrors,
    facility_choices: Vec<Choice>,
    type_choices: Vec<Choice>,
    status_choices: Vec<Choice>,
    overdue_checked: bool,
    can_create: bool,
    show_organisation: bool,
}

impl ListPage {
    fn page_link(&self, page: i64) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("facility_id", &self.q.facility_id)
            .append_pair("death_type", &self.q.death_type)
            .append_pair("quarter", &self.q.quarter)
            .append_pair("status", &self.q.status)
            .append_pair("overdue", &self.q.overdue)
            .append_pair("page", &page.to_string())
            .finish();
        format!("/death-reviews?{query}")
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let facility_id = super::forms::parse_id(&q.facility_id, "facility_id", &mut errors);
    let overdue_checked = matches!(q.overdue.trim(), "1" | "true" | "on");
    let filter = DeathReviewFilter {
        facility_id,
        death_type: Some(q.death_type.clone()),
        quarter: Some(q.quarter.clone()),
        status: Some(q.status.clone()),
        overdue: Some(overdue_checked),
        ..Default::default()
    };
    let paging = PageParams {
        page: q.page,
        per_page: Some(25),
    };
    let empty = || Page {
        items: vec![],
        total: 0,
        page: 1,
        per_page: 25,
    };
    let page = if errors.is_empty() {
        match death_reviews::list(&state.db, &actor, &filter, &paging).await {
            Ok(p) => p,
            Err(e) => {
                errors = validation(e)?;
                empty()
            }
        }
    } else {
        empty()
    };
    let form_errors = form_errors(ctx.lang, &errors);
    let mut facility_choices = choices(
        org_units::facility_choices(&state.db, None).await?,
        q.facility_id.trim(),
    );
    facility_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: ctx.t("death_review.any").into(),
            selected: q.facility_id.trim().is_empty(),
        },
    );
    let type_choices = coded(
        &ctx,
        "death_review.type",
        &DEATH_TYPES,
        q.death_type.trim(),
        Some("death_review.any"),
    );
    let status_choices = coded(
        &ctx,
        "death_review.status",
        &["awaiting_review", "reviewed"],
        q.status.trim(),
        Some("death_review.any"),
    );
    let rows = page
        .items
        .iter()
        .map(|r| ListRow {
            id: r.id,
            facility: r.facility_name.clone(),
            organisation: r.organisation_name.clone(),
            type_label: ctx.tk("death_review.type", &r.death_type),
            died_on: r.died_on.clone(),
            notified_on: r.notified_on.clone(),
            awaiting: r.awaiting_review,
            reviewed_on: r.reviewed_on.clone().unwrap_or_default(),
            cause: r
                .cause_group
                .map(|g| cause_label(&ctx, g))
                .unwrap_or_default(),
            recommendations: r.recommendations,
            overdue: r.overdue_recommendations,
        })
        .collect();
    let failed = !errors.is_empty();
    let mut response = render(&ListPage {
        rows,
        total: page.total,
        page: page.page,
        pages: page.pages(),
        q,
        errors: form_errors,
        facility_choices,
        type_choices,
        status_choices,
        overdue_checked,
        can_create: death_reviews::can_create(&actor),
        show_organisation: actor.reads_all_organisations(),
        ctx,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Notifying and editing

/// The review form as posted: everything kept as typed.
#[derive(Clone, Debug, Default, Deserialize)]
struct Draft {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    death_type: String,
    #[serde(default)]
    notified_on: String,
    #[serde(default)]
    died_on: String,
    #[serde(default)]
    reviewed_on: String,
    #[serde(default)]
    committee: String,
    #[serde(default)]
    cause_group: String,
    #[serde(default)]
    underlying_cause: String,
    #[serde(default)]
    contributing_conditions: String,
    #[serde(default)]
    delay_seeking: String,
    #[serde(default)]
    delay_reaching: String,
    #[serde(default)]
    delay_receiving: String,
    #[serde(default)]
    avoidable: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    revision: String,
}

fn checked(s: &str) -> bool {
    matches!(s.trim(), "1" | "on" | "true" | "yes")
}

impl Draft {
    fn from_review(r: &DeathReview) -> Draft {
        let s = &r.summary;
        let flag = |b: bool| if b { "1".to_string() } else { String::new() };
        Draft {
            facility_id: s.facility_id.to_string(),
            death_type: s.death_type.clone(),
            notified_on: s.notified_on.clone(),
            died_on: s.died_on.clone(),
            reviewed_on: s.reviewed_on.clone().unwrap_or_default(),
            committee: r.committee.clone().unwrap_or_default(),
            cause_group: s.cause_group.map(|g| g.to_string()).unwrap_or_default(),
            underlying_cause: r.underlying_cause.clone().unwrap_or_default(),
            contributing_conditions: r.contributing_conditions.clone().unwrap_or_default(),
            delay_seeking: flag(r.delay_seeking),
            delay_reaching: flag(r.delay_reaching),
            delay_receiving: flag(r.delay_receiving),
            avoidable: s.avoidable.clone().unwrap_or_default(),
            notes: r.notes.clone().unwrap_or_default(),
            revision: s.revision.to_string(),
        }
    }

    fn input(&self, errors: &mut Vec<FieldError>) -> DeathReviewInput {
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let facility_id = super::forms::parse_id(&self.facility_id, "facility_id", errors);
        let cause_group = match self.cause_group.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(FieldError::new(
                        "cause_group",
                        "invalid_choice",
                        "is not a valid choice",
                    ));
                    None
                }
            },
        };
        let revision = match self.revision.trim() {
            "" => None,
            s => s.parse::<i64>().ok(),
        };
        DeathReviewInput {
            facility_id,
            death_type: text(&self.death_type),
            notified_on: text(&self.notified_on),
            died_on: text(&self.died_on),
            reviewed_on: text(&self.reviewed_on),
            committee: text(&self.committee),
            cause_group,
            underlying_cause: text(&self.underlying_cause),
            contributing_conditions: text(&self.contributing_conditions),
            delay_seeking: Some(checked(&self.delay_seeking)),
            delay_reaching: Some(checked(&self.delay_reaching)),
            delay_receiving: Some(checked(&self.delay_receiving)),
            avoidable: text(&self.avoidable),
            notes: text(&self.notes),
            revision,
        }
    }
}

#[derive(Template)]
#[template(path = "death_review_form.html")]
struct FormPage {
    ctx: Ctx,
    /// `None` when notifying a new death.
    review_id: Option<i64>,
    draft: Draft,
    errors: FormErrors,
    /// Someone else changed the review meanwhile.
    conflict: bool,
    facility_choices: Vec<Choice>,
    type_choices: Vec<Choice>,
    cause_choices: Vec<Choice>,
    avoidable_choices: Vec<Choice>,
    delay_seeking: bool,
    delay_reaching: bool,
    delay_receiving: bool,
}

impl FormPage {
    fn action(&self) -> String {
        match self.review_id {
            Some(id) => format!("/death-reviews/{id}"),
            None => "/death-reviews".into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    review_id: Option<i64>,
    keep_facility: Option<i64>,
    draft: Draft,
    errors: &[FieldError],
    status: StatusCode,
    conflict: bool,
) -> Result<Response, AppError> {
    let mut facility_choices =
        facility_choices(state, actor, draft.facility_id.trim(), keep_facility).await?;
    facility_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: ctx.t("death_review.choose").into(),
            selected: draft.facility_id.trim().is_empty(),
        },
    );
    let type_choices = coded(
        &ctx,
        "death_review.type",
        &DEATH_TYPES,
        draft.death_type.trim(),
        Some("death_review.choose"),
    );
    let cause_choices = cause_choices(&ctx, &draft.cause_group);
    let avoidable_choices = coded(
        &ctx,
        "death_review.avoidable",
        &AVOIDABLE,
        draft.avoidable.trim(),
        Some("death_review.not_yet"),
    );
    let mut response = render(&FormPage {
        errors: form_errors(ctx.lang, errors),
        review_id,
        delay_seeking: checked(&draft.delay_seeking),
        delay_reaching: checked(&draft.delay_reaching),
        delay_receiving: checked(&draft.delay_receiving),
        draft,
        conflict,
        facility_choices,
        type_choices,
        cause_choices,
        avoidable_choices,
        ctx,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    if !death_reviews::can_create(&actor) {
        return Err(AppError::Forbidden);
    }
    let draft = Draft {
        notified_on: chrono::Utc::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
        ..Default::default()
    };
    form_page(
        &state,
        ctx,
        &actor,
        None,
        None,
        draft,
        &[],
        StatusCode::OK,
        false,
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(draft): Form<Draft>,
) -> Result<Response, AppError> {
    if !death_reviews::can_create(&actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = Vec::new();
    let mut input = draft.input(&mut errors);
    input.revision = None;
    let result = if errors.is_empty() {
        death_reviews::create(&state.db, &actor, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/death-reviews/{}", r.summary.id)).into_response()),
        Err(e) => {
            let errors = validation(e)?;
            form_page(
                &state,
                ctx,
                &actor,
                None,
                None,
                draft,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
            .await
        }
    }
}

/// A review the actor may change: others' are "not found", one the actor may only read is
/// forbidden.
async fn changeable(state: &AppState, actor: &Actor, id: i64) -> Result<DeathReview, AppError> {
    let r = death_reviews::get(&state.db, actor, id).await?;
    if !death_reviews::can_write(actor, r.summary.organisation_id) {
        return Err(AppError::Forbidden);
    }
    Ok(r)
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let r = changeable(&state, &actor, parse_id(&id)?).await?;
    let draft = Draft::from_review(&r);
    form_page(
        &state,
        ctx,
        &actor,
        Some(r.summary.id),
        Some(r.summary.facility_id),
        draft,
        &[],
        StatusCode::OK,
        false,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(draft): Form<Draft>,
) -> Result<Response, AppError> {
    let r = changeable(&state, &actor, parse_id(&id)?).await?;
    let mut errors = Vec::new();
    let input = draft.input(&mut errors);
    let result = if errors.is_empty() {
        death_reviews::update(&state.db, &actor, r.summary.id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    let (errors, status, conflict) = match result {
        Ok(r) => {
            return Ok(Redirect::to(&format!("/death-reviews/{}", r.summary.id)).into_response());
        }
        Err(AppError::Conflict(_)) => (vec![], StatusCode::CONFLICT, true),
        Err(e) => (validation(e)?, StatusCode::UNPROCESSABLE_ENTITY, false),
    };
    form_page(
        &state,
        ctx,
        &actor,
        Some(r.summary.id),
        Some(r.summary.facility_id),
        draft,
        &errors,
        status,
        conflict,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The review page

#[derive(Clone, Debug, Default, Deserialize)]
struct RecommendationDraft {
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    done_on: String,
}

impl RecommendationDraft {
    fn input(&self) -> RecommendationInput {
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        RecommendationInput {
            description: text(&self.description),
            owner: text(&self.owner),
            deadline: text(&self.deadline),
            status: text(&self.status),
            done_on: text(&self.done_on),
        }
    }
}

struct RecRow {
    id: i64,
    description: String,
    owner: String,
    deadline: String,
    status: String,
    status_label: &'static str,
    done_on: String,
    overdue: bool,
    status_choices: Vec<Choice>,
    /// What was typed into this row's form on a refused change.
    typed_done_on: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "death_review.html")]
struct ShowPage {
    ctx: Ctx,
    r: DeathReview,
    type_label: &'static str,
    cause: String,
    avoidable_label: &'static str,
    delays: Vec<&'static str>,
    can_write: bool,
    recs: Vec<RecRow>,
    new_rec: RecommendationDraft,
    new_rec_status_choices: Vec<Choice>,
    new_rec_errors: FormErrors,
    /// Errors about the review itself when adding a recommendation (not yet reviewed).
    general: Vec<String>,
}

/// What a refused form on the review page left to show again.
#[derive(Default)]
struct Refused {
    /// Adding a recommendation.
    new_rec: Option<(RecommendationDraft, Vec<FieldError>)>,
    /// Changing one: its id, the draft and the errors.
    rec: Option<(i64, RecommendationDraft, Vec<FieldError>)>,
}

fn show_page(
    ctx: Ctx,
    actor: &Actor,
    r: DeathReview,
    refused: Refused,
    status: StatusCode,
) -> Response {
    let s = &r.summary;
    let type_label = ctx.tk("death_review.type", &s.death_type);
    let cause = s
        .cause_group
        .map(|g| cause_label(&ctx, g))
        .unwrap_or_default();
    let avoidable_label = s
        .avoidable
        .as_deref()
        .map(|a| ctx.tk("death_review.avoidable", a))
        .unwrap_or("");
    let mut delays = Vec::new();
    if r.delay_seeking {
        delays.push(ctx.t("death_review.delay_seeking"));
    }
    if r.delay_reaching {
        delays.push(ctx.t("death_review.delay_reaching"));
    }
    if r.delay_receiving {
        delays.push(ctx.t("death_review.delay_receiving"));
    }
    let recs = r
        .recommendation_list
        .iter()
        .map(|x| {
            let (typed_status, typed_done_on, errors) = match &refused.rec {
                Some((id, d, errs)) if *id == x.id => (
                    d.status.clone(),
                    d.done_on.clone(),
                    form_errors(ctx.lang, errs),
                ),
                _ => (
                    x.status.clone(),
                    x.done_on.clone().unwrap_or_default(),
                    FormErrors::default(),
                ),
            };
            RecRow {
                id: x.id,
                description: x.description.clone(),
                owner: x.owner.clone(),
                deadline: x.deadline.clone(),
                status: x.status.clone(),
                status_label: ctx.tk("death_review.rec_status", &x.status),
                done_on: x.done_on.clone().unwrap_or_default(),
                overdue: x.overdue,
                status_choices: coded(
                    &ctx,
                    "death_review.rec_status",
                    &RECOMMENDATION_STATUSES,
                    &typed_status,
                    None,
                ),
                typed_done_on,
                errors,
            }
        })
        .collect();
    let (new_rec, new_errors) = refused.new_rec.unwrap_or_default();
    let general = new_errors
        .iter()
        .filter(|e| e.field == "reviewed_on")
        .map(|e| {
            form_errors(ctx.lang, std::slice::from_ref(e))
                .get("reviewed_on")
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let new_rec_status_choices = coded(
        &ctx,
        "death_review.rec_status",
        &RECOMMENDATION_STATUSES,
        if new_rec.status.is_empty() {
            "open"
        } else {
            new_rec.status.as_str()
        },
        None,
    );
    let mut response = render(&ShowPage {
        can_write: death_reviews::can_write(actor, s.organisation_id),
        type_label,
        cause,
        avoidable_label,
        delays,
        recs,
        new_rec_errors: form_errors(ctx.lang, &new_errors),
        new_rec,
        new_rec_status_choices,
        general,
        r,
        ctx,
    });
    *response.status_mut() = status;
    response
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let r = death_reviews::get(&state.db, &actor, parse_id(&id)?).await?;
    Ok(show_page(
        ctx,
        &actor,
        r,
        Refused::default(),
        StatusCode::OK,
    ))
}

async fn add_recommendation(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(draft): Form<RecommendationDraft>,
) -> Result<Response, AppError> {
    let r = changeable(&state, &actor, parse_id(&id)?).await?;
    match death_reviews::add_recommendation(&state.db, &actor, r.summary.id, &draft.input()).await {
        Ok(r) => Ok(
            Redirect::to(&format!("/death-reviews/{}#recommendations", r.summary.id))
                .into_response(),
        ),
        Err(e) => {
            let errors = validation(e)?;
            let refused = Refused {
                new_rec: Some((draft, errors)),
                ..Default::default()
            };
            Ok(show_page(
                ctx,
                &actor,
                r,
                refused,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

async fn update_recommendation(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, rec_id)): Path<(String, String)>,
    Form(draft): Form<RecommendationDraft>,
) -> Result<Response, AppError> {
    let r = changeable(&state, &actor, parse_id(&id)?).await?;
    let rec_id = parse_id(&rec_id)?;
    match death_reviews::update_recommendation(
        &state.db,
        &actor,
        r.summary.id,
        rec_id,
        &draft.input(),
    )
    .await
    {
        Ok(r) => Ok(Redirect::to(&format!(
            "/death-reviews/{}#recommendation-{rec_id}",
            r.summary.id
        ))
        .into_response()),
        Err(e) => {
            let errors = validation(e)?;
            let refused = Refused {
                rec: Some((rec_id, draft, errors)),
                ..Default::default()
            };
            Ok(show_page(
                ctx,
                &actor,
                r,
                refused,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}
