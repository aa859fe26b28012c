//! Pages of quality-improvement projects with their PDSA cycles, and of action items agreed in
//! sessions: the project list and form, the project page (its cycles as a timeline and a form
//! to add the next one), a cycle's form, the action items list with its filters (overdue: open
//! and due before today) and a session's action items. Every action goes through
//! `domain::qi`, which decides who may; these handlers turn forms into inputs and results into
//! pages. A refused form is shown again with everything typed kept and the problems next to
//! their fields.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render, safe_next};
use crate::authz::Actor;
use crate::config::AppState;
use crate::domain::qi::{
    self, ACTION_STATUSES, ActionFilter, ActionInput, ActionItem, Cycle, CycleInput, DECISIONS,
    Project, ProjectFilter, ProjectInput, STATUSES, SessionRef,
};
use crate::domain::{Page, PageParams};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/qi", get(list).post(create))
        .route("/qi/new", get(new_form))
        .route("/qi/actions", get(actions).post(create_action))
        .route("/qi/actions/{id}", post(update_action))
        .route("/qi/actions/{id}/edit", get(edit_action_form))
        .route("/qi/{id}", get(show).post(update))
        .route("/qi/{id}/edit", get(edit_form))
        .route("/qi/{id}/cycles", post(add_cycle))
        .route("/qi/{id}/cycles/{cycle_id}", post(update_cycle))
        .route("/qi/{id}/cycles/{cycle_id}/edit", get(cycle_form))
        .route(
            "/sessions/{id}/actions",
            get(session_actions).post(add_session_action),
        )
}

// ---------------------------------------------------------------------------------------------
// Shared bits

/// Field errors in the user's language: this area's own wording first (`qi.error.<code>`),
/// then the shared one (`error.<code>`), else the English message.
fn form_errors(lang: Lang, errors: &[FieldError]) -> FormErrors {
    let mut out = FormErrors::default();
    for e in errors {
        let own = format!("qi.error.{}", e.code);
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

/// Problems about fields a form does not show, worded "field: message".
fn general_errors(lang: Lang, errors: &[FieldError], shown: &[&str]) -> Vec<String> {
    errors
        .iter()
        .filter(|e| !shown.contains(&e.field.as_str()))
        .map(|e| {
            let msg = form_errors(lang, std::slice::from_ref(e));
            format!("{}: {}", e.field, msg.get(&e.field).unwrap_or(""))
        })
        .collect()
}

/// The field errors of a refused form, or the error itself when it is not about fields.
fn refused(e: AppError) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Validation(errs) => Ok(errs),
        other => Err(other),
    }
}

/// An id in a path; anything else is a page that does not exist.
fn path_id(s: &str) -> Result<i64, AppError> {
    s.trim().parse().map_err(|_| AppError::NotFound)
}

fn text(s: &str) -> Option<String> {
    Some(s.to_string()).filter(|s| !s.trim().is_empty())
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

fn empty_choice(label: &str, current: &str) -> Choice {
    Choice {
        value: String::new(),
        label: label.to_string(),
        selected: current.is_empty(),
    }
}

fn dates(start: &str, end: Option<&str>) -> String {
    match end {
        Some(e) if e != start => format!("{start} → {e}"),
        Some(_) => start.to_string(),
        None => format!("{start} →"),
    }
}

// ---------------------------------------------------------------------------------------------
// The project list

#[derive(Deserialize, Default, Clone)]
struct ListQuery {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

struct ProjectRow {
    id: i64,
    title: String,
    facility_name: String,
    organisation_name: String,
    dates: String,
    status: String,
    status_label: &'static str,
    cycles: i64,
}

#[derive(Template)]
#[template(path = "qi_list.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<ProjectRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: ListQuery,
    errors: FormErrors,
    facility_choices: Vec<Choice>,
    status_choices: Vec<Choice>,
    can_create: bool,
    /// Admins and managers see every organisation's projects: show whose each is.
    show_organisation: bool,
}

impl ListPage {
    fn page_link(&self, page: i64) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("facility_id", &self.q.facility_id)
            .append_pair("status", &self.q.status)
            .append_pair("page", &page.to_string())
            .finish();
        format!("/qi?{query}")
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let facility_id = super::forms::parse_id(&q.facility_id, "facility_id", &mut errors);
    let filter = ProjectFilter {
        facility_id,
        status: text(&q.status),
        ..Default::default()
    };
    let paging = PageParams {
        page: q.page,
        per_page: Some(25),
    };
    let result = if errors.is_empty() {
        qi::list_projects(&state.db, &actor, &filter, &paging).await
    } else {
        Err(AppError::Validation(errors))
    };
    let (page, errors) = match result {
        Ok(p) => (p, Vec::new()),
        Err(e) => (
            Page {
                items: vec![],
                total: 0,
                page: 1,
                per_page: 25,
            },
            refused(e)?,
        ),
    };
    let mut facility_choices = choices(
        qi::filter_facilities(&state.db, &actor).await?,
        &q.facility_id,
    );
    facility_choices.insert(0, empty_choice(ctx.t("qi.all_facilities"), &q.facility_id));
    let mut status_choices = choices(
        STATUSES.iter().map(|s| (*s, ctx.tk("qi.status", s))),
        &q.status,
    );
    status_choices.insert(0, empty_choice(ctx.t("qi.all_statuses"), &q.status));
    let rows = page
        .items
        .iter()
        .map(|p| ProjectRow {
            id: p.id,
            title: p.title.clone(),
            facility_name: p.facility_name.clone(),
            organisation_name: p.organisation_name.clone(),
            dates: dates(&p.started_on, p.ended_on.as_deref()),
            status: p.status.clone(),
            status_label: ctx.tk("qi.status", &p.status),
            cycles: p.cycles,
        })
        .collect();
    let failed = !errors.is_empty();
    let response = render(&ListPage {
        rows,
        total: page.total,
        page: page.page,
        pages: page.pages(),
        errors: form_errors(ctx.lang, &errors),
        q,
        facility_choices,
        status_choices,
        can_create: actor.can_write_org_records(actor.organisation_id),
        show_organisation: actor.reads_all_organisations(),
        ctx,
    });
    Ok(if failed {
        with_status(response, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        response
    })
}

// ---------------------------------------------------------------------------------------------
// Creating and editing a project

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct ProjectDraft {
    facility_id: String,
    title: String,
    problem: String,
    aim: String,
    indicator_id: String,
    change_ideas: String,
    status: String,
    started_on: String,
    ended_on: String,
    revision: String,
}

impl ProjectDraft {
    fn from_project(p: &Project) -> ProjectDraft {
        ProjectDraft {
            facility_id: p.facility_id.to_string(),
            title: p.title.clone(),
            problem: p.problem.clone(),
            aim: p.aim.clone(),
            indicator_id: p.indicator_id.map(|i| i.to_string()).unwrap_or_default(),
            change_ideas: p.change_ideas.clone().unwrap_or_default(),
            status: p.status.clone(),
            started_on: p.started_on.clone(),
            ended_on: p.ended_on.clone().unwrap_or_default(),
            revision: p.revision.to_string(),
        }
    }

    fn input(&self, errors: &mut Vec<FieldError>) -> ProjectInput {
        use super::forms::parse_id;
        ProjectInput {
            facility_id: parse_id(&self.facility_id, "facility_id", errors),
            title: Some(self.title.clone()),
            problem: Some(self.problem.clone()),
            aim: Some(self.aim.clone()),
            indicator_id: parse_id(&self.indicator_id, "indicator_id", errors),
            change_ideas: text(&self.change_ideas),
            status: Some(self.status.clone()),
            started_on: Some(self.started_on.clone()),
            ended_on: text(&self.ended_on),
            revision: self.revision.trim().parse().ok(),
        }
    }
}

#[derive(Template)]
#[template(path = "qi_form.html")]
struct ProjectFormPage {
    ctx: Ctx,
    /// `None` for a new project.
    project_id: Option<i64>,
    draft: ProjectDraft,
    errors: FormErrors,
    general: Vec<String>,
    /// Someone else changed the project since the form was opened.
    conflict: bool,
    facility_choices: Vec<Choice>,
    indicator_choices: Vec<Choice>,
    status_choices: Vec<Choice>,
}

impl ProjectFormPage {
    fn action(&self) -> String {
        match self.project_id {
            Some(id) => format!("/qi/{id}"),
            None => "/qi".into(),
        }
    }
}

const PROJECT_FIELDS: [&str; 9] = [
    "facility_id",
    "title",
    "problem",
    "aim",
    "indicator_id",
    "change_ideas",
    "status",
    "started_on",
    "ended_on",
];

async fn project_form(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    current: Option<&Project>,
    draft: ProjectDraft,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut facilities = qi::facility_choices(&state.db, actor).await?;
    if let Some(p) = current
        && !facilities.iter().any(|(id, _)| *id == p.facility_id)
    {
        facilities.insert(0, (p.facility_id, p.facility_name.clone()));
    }
    let mut facility_choices = choices(facilities, &draft.facility_id);
    facility_choices.insert(0, empty_choice(ctx.t("qi.choose"), &draft.facility_id));
    let mut indicators = qi::indicator_choices(&state.db).await?;
    if let Some(p) = current
        && let Some(id) = p.indicator_id
        && !indicators.iter().any(|(i, _)| *i == id)
    {
        let label = format!(
            "{} · {}",
            p.indicator_code.clone().unwrap_or_default(),
            p.indicator_name.clone().unwrap_or_default()
        );
        indicators.push((id, label));
    }
    let mut indicator_choices = choices(indicators, &draft.indicator_id);
    indicator_choices.insert(
        0,
        empty_choice(ctx.t("qi.no_indicator"), &draft.indicator_id),
    );
    let mut status_choices = choices(
        STATUSES.iter().map(|s| (*s, ctx.tk("qi.status", s))),
        &draft.status,
    );
    status_choices.insert(0, empty_choice(ctx.t("qi.choose"), &draft.status));
    let page = ProjectFormPage {
        project_id: current.map(|p| p.id),
        general: general_errors(ctx.lang, &errors, &PROJECT_FIELDS),
        errors: form_errors(ctx.lang, &errors),
        conflict: status == StatusCode::CONFLICT,
        draft,
        facility_choices,
        indicator_choices,
        status_choices,
        ctx,
    };
    Ok(with_status(render(&page), status))
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let draft = ProjectDraft {
        status: "active".into(),
        ..Default::default()
    };
    project_form(&state, ctx, &actor, None, draft, vec![], StatusCode::OK).await
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(draft): Form<ProjectDraft>,
) -> Result<Response, AppError> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let mut errors = Vec::new();
    let input = draft.input(&mut errors);
    let result = if errors.is_empty() {
        qi::create_project(&state.db, &actor, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/qi/{}", p.project.id)).into_response()),
        Err(e) => {
            let errors = refused(e)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            project_form(&state, ctx, &actor, None, draft, errors, status).await
        }
    }
}

/// A project the actor may change; another organisation's is "not found", one the actor may
/// only read is forbidden.
async fn changeable(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<qi::ProjectDetail, AppError> {
    let p = qi::get_project(&state.db, actor, id).await?;
    if !qi::can_change_project(&state.db, actor, &p.project).await? {
        return Err(AppError::Forbidden);
    }
    Ok(p)
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let p = changeable(&state, &actor, path_id(&id)?).await?;
    let draft = ProjectDraft::from_project(&p.project);
    project_form(
        &state,
        ctx,
        &actor,
        Some(&p.project),
        draft,
        vec![],
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(draft): Form<ProjectDraft>,
) -> Result<Response, AppError> {
    let id = path_id(&id)?;
    let current = changeable(&state, &actor, id).await?;
    let mut errors = Vec::new();
    let input = draft.input(&mut errors);
    let result = if errors.is_empty() {
        qi::update_project(&state.db, &actor, id, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    let (errors, status) = match result {
        Ok(_) => return Ok(Redirect::to(&format!("/qi/{id}")).into_response()),
        Err(AppError::Conflict(_)) => (vec![], StatusCode::CONFLICT),
        Err(e) => (refused(e)?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    project_form(
        &state,
        ctx,
        &actor,
        Some(&current.project),
        draft,
        errors,
        status,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The project page and its cycles

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct CycleDraft {
    change_idea: String,
    plan: String,
    started_on: String,
    ended_on: String,
    result: String,
    decision: String,
    revision: String,
}

impl CycleDraft {
    fn from_cycle(c: &Cycle, revision: i64) -> CycleDraft {
        CycleDraft {
            change_idea: c.change_idea.clone(),
            plan: c.plan.clone(),
            started_on: c.started_on.clone(),
            ended_on: c.ended_on.clone().unwrap_or_default(),
            result: c.result.clone().unwrap_or_default(),
            decision: c.decision.clone().unwrap_or_default(),
            revision: revision.to_string(),
        }
    }

    fn input(&self) -> CycleInput {
        CycleInput {
            change_idea: Some(self.change_idea.clone()),
            plan: Some(self.plan.clone()),
            started_on: Some(self.started_on.clone()),
            ended_on: text(&self.ended_on),
            result: text(&self.result),
            decision: text(&self.decision),
            revision: self.revision.trim().parse().ok(),
        }
    }
}

const CYCLE_FIELDS: [&str; 6] = [
    "change_idea",
    "plan",
    "started_on",
    "ended_on",
    "result",
    "decision",
];

struct CycleRow {
    id: i64,
    position: i64,
    change_idea: String,
    plan: String,
    dates: String,
    result: String,
    decision: String,
    decision_label: &'static str,
}

fn cycle_rows(ctx: &Ctx, cycles: &[Cycle]) -> Vec<CycleRow> {
    cycles
        .iter()
        .map(|c| CycleRow {
            id: c.id,
            position: c.position,
            change_idea: c.change_idea.clone(),
            plan: c.plan.clone(),
            dates: dates(&c.started_on, c.ended_on.as_deref()),
            result: c.result.clone().unwrap_or_default(),
            decision: c.decision.clone().unwrap_or_default(),
            decision_label: c
                .decision
                .as_deref()
                .map(|d| ctx.tk("qi.decision", d))
                .unwrap_or(""),
        })
        .collect()
}

fn decision_choices(ctx: &Ctx, current: &str) -> Vec<Choice> {
    let mut c = choices(
        DECISIONS.iter().map(|d| (*d, ctx.tk("qi.decision", d))),
        current,
    );
    c.insert(0, empty_choice(ctx.t("qi.no_decision"), current));
    c
}

#[derive(Template)]
#[template(path = "qi_project.html")]
struct ProjectPage {
    ctx: Ctx,
    p: Project,
    status_label: &'static str,
    cycles: Vec<CycleRow>,
    can_change: bool,
    draft: CycleDraft,
    errors: FormErrors,
    general: Vec<String>,
    conflict: bool,
    decision_choices: Vec<Choice>,
}

async fn project_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    id: i64,
    draft: Option<CycleDraft>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let detail = qi::get_project(&state.db, actor, id).await?;
    let can_change = qi::can_change_project(&state.db, actor, &detail.project).await?;
    let mut draft = draft.unwrap_or_default();
    // The add-cycle form is based on the project as this page shows it.
    draft.revision = detail.project.revision.to_string();
    let page = ProjectPage {
        status_label: ctx.tk("qi.status", &detail.project.status),
        cycles: cycle_rows(&ctx, &detail.cycle_list),
        can_change,
        decision_choices: decision_choices(&ctx, &draft.decision),
        general: general_errors(ctx.lang, &errors, &CYCLE_FIELDS),
        errors: form_errors(ctx.lang, &errors),
        conflict: status == StatusCode::CONFLICT,
        draft,
        p: detail.project,
        ctx,
    };
    Ok(with_status(render(&page), status))
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = path_id(&id)?;
    project_page(&state, ctx, &actor, id, None, vec![], StatusCode::OK).await
}

async fn add_cycle(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(draft): Form<CycleDraft>,
) -> Result<Response, AppError> {
    let id = path_id(&id)?;
    let (errors, status) = match qi::add_cycle(&state.db, &actor, id, &draft.input()).await {
        Ok(c) => {
            return Ok(Redirect::to(&format!("/qi/{id}#cycle-{}", c.position)).into_response());
        }
        Err(AppError::Conflict(_)) => (vec![], StatusCode::CONFLICT),
        Err(e) => (refused(e)?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    project_page(&state, ctx, &actor, id, Some(draft), errors, status).await
}

#[derive(Template)]
#[template(path = "qi_cycle_form.html")]
struct CycleFormPage {
    ctx: Ctx,
    p: Project,
    cycle_id: i64,
    position: i64,
    draft: CycleDraft,
    errors: FormErrors,
    general: Vec<String>,
    conflict: bool,
    decision_choices: Vec<Choice>,
}

async fn cycle_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    ids: (i64, i64),
    draft: Option<CycleDraft>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let detail = changeable(state, actor, ids.0).await?;
    let cycle = detail
        .cycle_list
        .iter()
        .find(|c| c.id == ids.1)
        .ok_or(AppError::NotFound)?;
    let draft = draft.unwrap_or_else(|| CycleDraft::from_cycle(cycle, detail.project.revision));
    let page = CycleFormPage {
        cycle_id: cycle.id,
        position: cycle.position,
        decision_choices: decision_choices(&ctx, &draft.decision),
        general: general_errors(ctx.lang, &errors, &CYCLE_FIELDS),
        errors: form_errors(ctx.lang, &errors),
        conflict: status == StatusCode::CONFLICT,
        draft,
        p: detail.project,
        ctx,
    };
    Ok(with_status(render(&page), status))
}

async fn cycle_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, cycle_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let ids = (path_id(&id)?, path_id(&cycle_id)?);
    cycle_page(&state, ctx, &actor, ids, None, vec![], StatusCode::OK).await
}

async fn update_cycle(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, cycle_id)): Path<(String, String)>,
    Form(draft): Form<CycleDraft>,
) -> Result<Response, AppError> {
    let ids = (path_id(&id)?, path_id(&cycle_id)?);
    let result = qi::update_cycle(&state.db, &actor, ids.0, ids.1, &draft.input()).await;
    let (errors, status) = match result {
        Ok(c) => {
            return Ok(Redirect::to(&format!("/qi/{}#cycle-{}", ids.0, c.position)).into_response());
        }
        Err(AppError::Conflict(_)) => (vec![], StatusCode::CONFLICT),
        Err(e) => (refused(e)?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    cycle_page(&state, ctx, &actor, ids, Some(draft), errors, status).await
}

// ---------------------------------------------------------------------------------------------
// Action items

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct ActionDraft {
    facility_id: String,
    description: String,
    owner: String,
    due_on: String,
}

impl ActionDraft {
    fn input(&self, session_id: Option<String>, errors: &mut Vec<FieldError>) -> ActionInput {
        ActionInput {
            facility_id: super::forms::parse_id(&self.facility_id, "facility_id", errors),
            session_id,
            description: Some(self.description.clone()),
            owner: Some(self.owner.clone()),
            due_on: Some(self.due_on.clone()),
            status: None,
            done_on: None,
        }
    }
}

const ACTION_FIELDS: [&str; 4] = ["facility_id", "description", "owner", "due_on"];

struct ActionRow {
    id: i64,
    description: String,
    owner: String,
    due_on: String,
    status: String,
    status_label: &'static str,
    done_on: String,
    overdue: bool,
    facility_name: String,
    session_id: String,
    session_label: String,
    can_change: bool,
}

async fn action_rows(
    state: &AppState,
    ctx: &Ctx,
    actor: &Actor,
    items: &[ActionItem],
) -> Result<Vec<ActionRow>, AppError> {
    let mut rows = Vec::with_capacity(items.len());
    for a in items {
        rows.push(ActionRow {
            id: a.id,
            description: a.description.clone(),
            owner: a.owner.clone(),
            due_on: a.due_on.clone(),
            status: a.status.clone(),
            status_label: ctx.tk("qi.action_status", &a.status),
            done_on: a.done_on.clone().unwrap_or_default(),
            overdue: a.overdue,
            facility_name: a.facility_name.clone(),
            session_id: a.session_id.clone().unwrap_or_default(),
            session_label: match (&a.session_date, &a.session_topic) {
                (Some(d), Some(t)) => format!("{d} · {t}"),
                _ => String::new(),
            },
            can_change: qi::can_change_action(&state.db, actor, a).await?,
        });
    }
    Ok(rows)
}

#[derive(Deserialize, Default, Clone)]
struct ActionsQuery {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: String,
    page: Option<i64>,
}

impl ActionsQuery {
    fn overdue(&self) -> bool {
        !self.overdue.trim().is_empty() && self.overdue != "0"
    }
}

#[derive(Template)]
#[template(path = "qi_actions.html")]
struct ActionsPage {
    ctx: Ctx,
    rows: Vec<ActionRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: ActionsQuery,
    errors: FormErrors,
    facility_choices: Vec<Choice>,
    status_choices: Vec<Choice>,
    can_create: bool,
    draft: ActionDraft,
    new_errors: FormErrors,
    new_general: Vec<String>,
    new_facility_choices: Vec<Choice>,
    /// Where the status buttons come back to.
    back: String,
}

impl ActionsPage {
    fn page_link(&self, page: i64) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("facility_id", &self.q.facility_id)
            .append_pair("status", &self.q.status)
            .append_pair("overdue", &self.q.overdue)
            .append_pair("page", &page.to_string())
            .finish();
        format!("/qi/actions?{query}")
    }
}

async fn actions_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    q: ActionsQuery,
    draft: ActionDraft,
    new_errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let facility_id = super::forms::parse_id(&q.facility_id, "facility_id", &mut errors);
    let filter = ActionFilter {
        facility_id,
        status: text(&q.status),
        overdue: Some(q.overdue()),
        ..Default::default()
    };
    let paging = PageParams {
        page: q.page,
        per_page: Some(50),
    };
    let result = if errors.is_empty() {
        qi::list_actions(&state.db, actor, &filter, &paging).await
    } else {
        Err(AppError::Validation(errors))
    };
    let (page, errors) = match result {
        Ok(p) => (p, Vec::new()),
        Err(e) => (
            Page {
                items: vec![],
                total: 0,
                page: 1,
                per_page: 50,
            },
            refused(e)?,
        ),
    };
    let mut facility_choices = choices(
        qi::filter_facilities(&state.db, actor).await?,
        &q.facility_id,
    );
    facility_choices.insert(0, empty_choice(ctx.t("qi.all_facilities"), &q.facility_id));
    let mut status_choices = choices(
        ACTION_STATUSES
            .iter()
            .map(|s| (*s, ctx.tk("qi.action_status", s))),
        &q.status,
    );
    status_choices.insert(0, empty_choice(ctx.t("qi.all_statuses"), &q.status));
    let can_create = actor.can_write_org_records(actor.organisation_id);
    let mut new_facility_choices = if can_create {
        choices(
            qi::facility_choices(&state.db, actor).await?,
            &draft.facility_id,
        )
    } else {
        vec![]
    };
    new_facility_choices.insert(0, empty_choice(ctx.t("qi.choose"), &draft.facility_id));
    let rows = action_rows(state, &ctx, actor, &page.items).await?;
    let failed = !errors.is_empty() || !new_errors.is_empty();
    let back = ctx.here.clone();
    let response = render(&ActionsPage {
        rows,
        total: page.total,
        page: page.page,
        pages: page.pages(),
        errors: form_errors(ctx.lang, &errors),
        q,
        facility_choices,
        status_choices,
        can_create,
        draft,
        new_general: general_errors(ctx.lang, &new_errors, &ACTION_FIELDS),
        new_errors: form_errors(ctx.lang, &new_errors),
        new_facility_choices,
        back,
        ctx,
    });
    Ok(if failed {
        with_status(response, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        response
    })
}

async fn actions(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ActionsQuery>,
) -> Result<Response, AppError> {
    actions_page(&state, ctx, &actor, q, ActionDraft::default(), vec![]).await
}

async fn create_action(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(draft): Form<ActionDraft>,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let input = draft.input(None, &mut errors);
    let result = if errors.is_empty() {
        qi::create_action(&state.db, &actor, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/qi/actions#action-{}", a.id)).into_response()),
        Err(e) => {
            let errors = refused(e)?;
            let q = ActionsQuery::default();
            actions_page(&state, ctx, &actor, q, draft, errors).await
        }
    }
}

/// A status button or the edit form: absent fields keep their value.
#[derive(Clone, Debug, Default, Deserialize)]
struct ActionChange {
    description: Option<String>,
    owner: Option<String>,
    due_on: Option<String>,
    status: Option<String>,
    done_on: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "qi_action_form.html")]
struct ActionFormPage {
    ctx: Ctx,
    item: ActionItem,
    description: String,
    owner: String,
    due_on: String,
    done_on: String,
    status_choices: Vec<Choice>,
    errors: FormErrors,
    general: Vec<String>,
    conflict: bool,
}

fn action_form(
    ctx: Ctx,
    item: ActionItem,
    change: &ActionChange,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let pick =
        |given: &Option<String>, kept: &str| given.clone().unwrap_or_else(|| kept.to_string());
    let current_status = pick(&change.status, &item.status);
    let page = ActionFormPage {
        description: pick(&change.description, &item.description),
        owner: pick(&change.owner, &item.owner),
        due_on: pick(&change.due_on, &item.due_on),
        done_on: pick(&change.done_on, item.done_on.as_deref().unwrap_or("")),
        status_choices: choices(
            ACTION_STATUSES
                .iter()
                .map(|s| (*s, ctx.tk("qi.action_status", s))),
            &current_status,
        ),
        general: general_errors(
            ctx.lang,
            errors,
            &["description", "owner", "due_on", "status", "done_on"],
        ),
        errors: form_errors(ctx.lang, errors),
        conflict: status == StatusCode::CONFLICT,
        item,
        ctx,
    };
    with_status(render(&page), status)
}

async fn edit_action_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let item = qi::get_action(&state.db, &actor, path_id(&id)?).await?;
    if !qi::can_change_action(&state.db, &actor, &item).await? {
        return Err(AppError::Forbidden);
    }
    Ok(action_form(
        ctx,
        item,
        &ActionChange::default(),
        &[],
        StatusCode::OK,
    ))
}

async fn update_action(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(change): Form<ActionChange>,
) -> Result<Response, AppError> {
    let id = path_id(&id)?;
    let input = ActionInput {
        description: change.description.clone(),
        owner: change.owner.clone(),
        due_on: change.due_on.clone(),
        status: change.status.clone(),
        // An empty date on the edit form means "today" when done, "none" otherwise.
        done_on: change.done_on.as_deref().and_then(text),
        ..Default::default()
    };
    let (errors, status) = match qi::update_action(&state.db, &actor, id, &input).await {
        Ok(a) => {
            let back = safe_next(change.next.as_deref());
            let back = if back == "/" {
                format!("/qi/actions#action-{}", a.id)
            } else {
                back
            };
            return Ok(Redirect::to(&back).into_response());
        }
        Err(AppError::Conflict(_)) => (vec![], StatusCode::CONFLICT),
        Err(e) => (refused(e)?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let item = qi::get_action(&state.db, &actor, id).await?;
    Ok(action_form(ctx, item, &change, &errors, status))
}

// ---------------------------------------------------------------------------------------------
// A session's action items

#[derive(Template)]
#[template(path = "qi_session_actions.html")]
struct SessionActionsPage {
    ctx: Ctx,
    session: SessionRef,
    rows: Vec<ActionRow>,
    can_add: bool,
    draft: ActionDraft,
    errors: FormErrors,
    general: Vec<String>,
    back: String,
}

async fn session_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    id: &str,
    draft: ActionDraft,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let session = qi::session_ref(&state.db, actor, id).await?;
    let can_add = qi::can_add_to_session(&state.db, actor, &session).await?;
    let items = qi::list_actions(
        &state.db,
        actor,
        &ActionFilter {
            session_id: Some(session.id.clone()),
            ..Default::default()
        },
        &PageParams {
            page: Some(1),
            per_page: Some(200),
        },
    )
    .await?;
    let rows = action_rows(state, &ctx, actor, &items.items).await?;
    let failed = !errors.is_empty();
    let back = format!("/sessions/{}/actions", session.id);
    let response = render(&SessionActionsPage {
        rows,
        can_add,
        draft,
        general: general_errors(ctx.lang, &errors, &ACTION_FIELDS),
        errors: form_errors(ctx.lang, &errors),
        session,
        back,
        ctx,
    });
    Ok(if failed {
        with_status(response, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        response
    })
}

async fn session_actions(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    session_page(&state, ctx, &actor, &id, ActionDraft::default(), vec![]).await
}

async fn add_session_action(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(draft): Form<ActionDraft>,
) -> Result<Response, AppError> {
    let session = qi::session_ref(&state.db, &actor, &id).await?;
    let mut errors = Vec::new();
    let mut input = draft.input(Some(session.id.clone()), &mut errors);
    input.facility_id = None;
    let result = if errors.is_empty() {
        qi::create_action(&state.db, &actor, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(a) => Ok(
            Redirect::to(&format!("/sessions/{}/actions#action-{}", session.id, a.id))
                .into_response(),
        ),
        Err(e) => {
            let errors = refused(e)?;
            session_page(&state, ctx, &actor, &session.id, draft, errors).await
        }
    }
}
