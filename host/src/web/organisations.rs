//! Organisations: everyone sees their own; admins and managers all; admins add new ones.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use super::forms::coded_choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::config::AppState;
use crate::domain::organisations::{self, KINDS, NewOrganisation, Organisation};
use crate::domain::users::{self, User, UserFilter};
use crate::domain::{PageParams, providers};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organisations", get(list).post(create))
        .route("/organisations/{id}", get(show))
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct ListPage {
    ctx: Ctx,
    organisations: Vec<Organisation>,
    kind_choices: Vec<Choice>,
    form: NewOrganisation,
    errors: FormErrors,
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    let organisations = organisations::list(&state.db, &actor).await?;
    Ok(render(&ListPage {
        kind_choices: coded_choices(ctx.lang, "org_kind", &KINDS, ""),
        ctx,
        organisations,
        form: NewOrganisation::default(),
        errors: FormErrors::default(),
    }))
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(form): Form<NewOrganisation>,
) -> Result<Response, AppError> {
    match organisations::create(&state.db, Some(&actor), &form).await {
        Ok(org) => Ok(Redirect::to(&format!("/organisations/{}", org.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            let organisations = organisations::list(&state.db, &actor).await?;
            let mut response = render(&ListPage {
                kind_choices: coded_choices(
                    ctx.lang,
                    "org_kind",
                    &KINDS,
                    form.kind.as_deref().unwrap_or(""),
                ),
                ctx,
                organisations,
                form,
                errors,
            });
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct ShowPage {
    ctx: Ctx,
    org: Organisation,
    users: Vec<User>,
    provider_count: i64,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let org = organisations::get(&state.db, &actor, id).await?;
    let users = if actor.can_read_users(org.id) {
        let filter = UserFilter {
            organisation_id: Some(org.id),
            ..Default::default()
        };
        users::list(
            &state.db,
            &actor,
            &filter,
            &PageParams {
                page: Some(1),
                per_page: Some(200),
            },
        )
        .await?
        .items
    } else {
        Vec::new()
    };
    let filter = providers::ProviderFilter {
        organisation_id: Some(org.id),
        ..Default::default()
    };
    let provider_count = providers::list(
        &state.db,
        &actor,
        &filter,
        &PageParams {
            page: Some(1),
            per_page: Some(1),
        },
    )
    .await?
    .total;
    Ok(render(&ShowPage {
        ctx,
        org,
        users,
        provider_count,
    }))
}
