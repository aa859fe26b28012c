//! User management: admins everywhere, org admins in their own organisation; managers read.
//! A mentor's page also lists and edits their facility assignments.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::{choices, parse_id};
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::{Actor, Role};
use crate::config::AppState;
use crate::domain::assignments::{self, Assignment};
use crate::domain::audit::{self, AuditEntry};
use crate::domain::organisations::{self, Organisation};
use crate::domain::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::domain::{Page, PageParams, org_units};
use crate::error::{AppError, FieldError};
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_form))
        .route("/users/{id}", get(show).post(update))
        .route("/users/{id}/assignments", post(add_assignment))
        .route(
            "/users/{id}/assignments/{facility_id}/delete",
            post(remove_assignment),
        )
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    organisation_id: Option<String>,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct ListPage {
    ctx: Ctx,
    users: Page<User>,
    q: String,
    can_create: bool,
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = UserFilter {
        q: q.q.clone(),
        organisation_id: q.organisation_id.as_deref().and_then(|s| s.parse().ok()),
        ..Default::default()
    };
    let users = users::list(
        &state.db,
        &actor,
        &filter,
        &PageParams {
            page: q.page,
            per_page: Some(50),
        },
    )
    .await?;
    let can_create = actor.can_manage_users(actor.organisation_id);
    Ok(render(&ListPage {
        ctx,
        users,
        q: q.q.unwrap_or_default(),
        can_create,
    }))
}

/// The organisations a user form may offer, and the roles.
async fn form_options(
    state: &AppState,
    actor: &Actor,
) -> Result<(Vec<Organisation>, Vec<&'static str>), AppError> {
    let orgs = if actor.role == Role::Admin {
        organisations::list_all(&state.db).await?
    } else {
        organisations::list(&state.db, actor)
            .await?
            .into_iter()
            .filter(|o| actor.can_manage_users(o.id))
            .collect()
    };
    let roles = Role::ALL
        .into_iter()
        .filter(|r| actor.can_grant(*r))
        .map(Role::as_str)
        .collect();
    Ok((orgs, roles))
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewPage {
    ctx: Ctx,
    organisation_choices: Vec<Choice>,
    role_choices: Vec<Choice>,
    language_choices: Vec<Choice>,
    form: UserForm,
    errors: FormErrors,
}

impl NewPage {
    fn new(
        ctx: Ctx,
        organisations: Vec<Organisation>,
        roles: Vec<&'static str>,
        form: UserForm,
        errors: FormErrors,
    ) -> NewPage {
        NewPage {
            organisation_choices: choices(
                organisations.iter().map(|o| (o.id, &o.name)),
                &form.organisation_id,
            ),
            role_choices: choices(roles.iter().map(|r| (*r, ctx.tk("role", r))), &form.role),
            language_choices: language_choices(&form.language),
            ctx,
            form,
            errors,
        }
    }
}

fn language_choices(current: &str) -> Vec<Choice> {
    choices(
        Lang::ALL.iter().map(|l| (l.code(), l.native_name())),
        current,
    )
}

#[derive(Deserialize, Default, Clone)]
struct UserForm {
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    language: String,
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    if !actor.can_manage_users(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let (organisations, roles) = form_options(&state, &actor).await?;
    let form = UserForm {
        organisation_id: actor.organisation_id.to_string(),
        role: "mentor".into(),
        language: ctx.lang.code().into(),
        ..Default::default()
    };
    Ok(render(&NewPage::new(
        ctx,
        organisations,
        roles,
        form,
        FormErrors::default(),
    )))
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    if !actor.can_manage_users(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let mut parse_errors: Vec<FieldError> = Vec::new();
    let input = NewUser {
        organisation_id: parse_id(&form.organisation_id, "organisation_id", &mut parse_errors),
        email: Some(form.email.clone()),
        display_name: Some(form.display_name.clone()),
        role: Some(form.role.clone()),
        password: Some(form.password.clone()),
        language: Some(form.language.clone()),
    };
    let result = if parse_errors.is_empty() {
        users::create(&state.db, Some(&actor), &input).await
    } else {
        Err(AppError::Validation(parse_errors))
    };
    match result {
        Ok(user) => Ok(Redirect::to(&format!("/users/{}", user.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            let (organisations, roles) = form_options(&state, &actor).await?;
            let form = UserForm {
                password: String::new(),
                ..form
            };
            let mut response = render(&NewPage::new(ctx, organisations, roles, form, errors));
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct ShowPage {
    ctx: Ctx,
    user: User,
    can_manage: bool,
    role_choices: Vec<Choice>,
    language_choices: Vec<Choice>,
    assignments: Vec<Assignment>,
    facility_choices: Vec<Choice>,
    history: Vec<AuditEntry>,
    errors: FormErrors,
    saved: bool,
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    saved: Option<String>,
}

async fn show_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    id: i64,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, AppError> {
    let user = users::get(&state.db, actor, id).await?;
    let can_manage = actor.can_manage_users(user.organisation_id)
        && Role::parse(&user.role).is_some_and(|r| actor.can_grant(r));
    let role_choices = choices(
        Role::ALL
            .into_iter()
            .filter(|r| actor.can_grant(*r))
            .map(|r| (r.as_str(), ctx.tk("role", r.as_str()))),
        &user.role,
    );
    let language_choices = language_choices(&user.language);
    let is_mentor = user.role == "mentor";
    let assignments = if is_mentor {
        assignments::list(&state.db, actor, id).await?
    } else {
        Vec::new()
    };
    let facility_choices = if is_mentor && can_manage {
        choices(org_units::facility_choices(&state.db, None).await?, "")
    } else {
        Vec::new()
    };
    let history = if actor.can_read_audit(Some(user.organisation_id)) {
        audit::for_entity(&state.db, actor, "user", &id.to_string(), 20).await?
    } else {
        Vec::new()
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&ShowPage {
        ctx,
        user,
        can_manage,
        role_choices,
        language_choices,
        assignments,
        facility_choices,
        history,
        errors,
        saved,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    show_page(
        &state,
        ctx,
        &actor,
        id,
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await
}

#[derive(Deserialize, Default)]
struct EditForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    active: Option<String>,
    #[serde(default)]
    language: String,
    #[serde(default)]
    password: String,
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, AppError> {
    let changes = UserChanges {
        display_name: Some(form.display_name),
        role: Some(form.role),
        active: Some(form.active.is_some()),
        language: Some(form.language),
        password: Some(form.password).filter(|p| !p.is_empty()),
    };
    match users::update(&state.db, &actor, id, &changes).await {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            show_page(&state, ctx, &actor, id, errors, false).await
        }
    }
}

#[derive(Deserialize, Default)]
struct AssignmentForm {
    #[serde(default)]
    facility_id: String,
}

async fn add_assignment(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<AssignmentForm>,
) -> Result<Response, AppError> {
    let mut parse_errors = Vec::new();
    let facility_id = parse_id(&form.facility_id, "facility_id", &mut parse_errors);
    let result = if parse_errors.is_empty() {
        assignments::add(&state.db, Some(&actor), id, facility_id).await
    } else {
        Err(AppError::Validation(parse_errors))
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/users/{id}")).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            show_page(&state, ctx, &actor, id, errors, false).await
        }
    }
}

async fn remove_assignment(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((id, facility_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    assignments::remove(&state.db, &actor, id, facility_id).await?;
    Ok(Redirect::to(&format!("/users/{id}")).into_response())
}
