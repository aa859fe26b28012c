//! Partner plugins: org admins upload versions and activate or retire them; everyone who may
//! read an organisation sees its plugins, their checklists and any quarantine.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Ctx, FormErrors, SignedIn, render};
use crate::authz::Role;
use crate::config::AppState;
use crate::error::{AppError, FieldError};
use crate::plugins::lifecycle::{self, Change, PluginDetail};
use crate::plugins::registry::PluginVersion;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list).post(upload))
        .route("/plugins/{id}", get(show))
        .route("/plugins/{id}/{change}", post(change))
}

#[derive(Template)]
#[template(path = "plugins.html")]
struct ListPage {
    ctx: Ctx,
    versions: Vec<PluginVersion>,
    can_upload: bool,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    ctx: Ctx,
    actor: &crate::authz::Actor,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let failed = !errors.is_empty();
    let versions = lifecycle::list(&state.db, actor).await?;
    let mut response = render(&ListPage {
        can_upload: matches!(actor.role, Role::Admin | Role::OrgAdmin),
        ctx,
        versions,
        errors,
    });
    if failed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    list_page(&state, ctx, &actor, FormErrors::default()).await
}

async fn upload(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let mut bytes = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("the upload could not be read: {e}")))?
    {
        if field.name() == Some("component") {
            let data = field
                .bytes()
                .await
                .map_err(|e| AppError::BadRequest(format!("the upload could not be read: {e}")))?;
            bytes = Some(data.to_vec());
        }
    }
    let result = match bytes.filter(|b| !b.is_empty()) {
        None => Err(AppError::Validation(vec![FieldError::new(
            "component",
            "required",
            "choose a .wasm file",
        )])),
        Some(b) => lifecycle::install(&state.db, &state.plugins, Some(&actor), b).await,
    };
    match result {
        Ok(installed) => {
            Ok(Redirect::to(&format!("/plugins/{}", installed.version.id)).into_response())
        }
        Err(AppError::Conflict(m)) => {
            list_page(
                &state,
                ctx,
                &actor,
                FormErrors::from_fields(
                    crate::i18n::Lang::En,
                    &[FieldError::new("component", "conflict", m)],
                ),
            )
            .await
        }
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            list_page(&state, ctx, &actor, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "plugin.html")]
struct ShowPage {
    ctx: Ctx,
    detail: PluginDetail,
    can_manage: bool,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let detail = lifecycle::get(&state.db, &actor, id).await?;
    let can_manage = actor.role == Role::Admin
        || (actor.role == Role::OrgAdmin
            && actor.organisation_id == detail.version.organisation_id);
    Ok(render(&ShowPage {
        ctx,
        detail,
        can_manage,
    }))
}

async fn change(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path((id, change)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let change = match change.as_str() {
        "activate" => Change::Activate,
        "retire" => Change::Retire,
        "release" => Change::Release,
        _ => return Err(AppError::NotFound),
    };
    lifecycle::change(&state.db, &state.plugins, Some(&actor), id, change).await?;
    Ok(Redirect::to(&format!("/plugins/{id}")).into_response())
}
