//! `/api/v1/plugins` and `/api/v1/checklists`

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiJson, ApiPath, ApiResult, ApiUser, ErrorBody};
use crate::config::AppState;
use crate::plugins::grants::{self, Grant, GrantInput};
use crate::plugins::lifecycle::{self, Change, PluginDetail};
use crate::plugins::registry::{ChecklistRef, PluginVersion};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(get_one))
        .routes(routes!(activate))
        .routes(routes!(retire))
        .routes(routes!(release))
        .routes(routes!(checklists))
        .routes(routes!(list_grants, add_grant))
        .routes(routes!(remove_grant))
}

/// Organisations allowed to use this version's plugin (every version of it).
#[utoipa::path(get, path = "/api/v1/plugins/{id}/grants", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Grant>), (status = 404, body = ErrorBody)))]
async fn list_grants(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Grant>>> {
    Ok(Json(grants::list(&state.db, &user.actor, id).await?))
}

/// Lets another organisation's mentors use this plugin's checklists. The publisher's org
/// admin decides; granting again changes nothing (200).
#[utoipa::path(post, path = "/api/v1/plugins/{id}/grants", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = GrantInput,
    responses((status = 201, body = Grant), (status = 200, body = Grant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_grant(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<GrantInput>,
) -> ApiResult<(StatusCode, Json<Grant>)> {
    let (grant, created) = grants::add(&state.db, Some(&user.actor), id, &input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(grant)))
}

/// Withdraws an organisation's use of this plugin. Scores already stored are kept.
#[utoipa::path(delete, path = "/api/v1/plugins/{id}/grants/{organisation_id}", tag = "plugins", security(("bearer" = [])),
    params(("id" = i64, Path), ("organisation_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_grant(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, organisation_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    grants::remove(&state.db, &user.actor, id, organisation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Plugin versions of the caller's organisation (all for admins and managers).
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", security(("bearer" = [])),
    responses((status = 200, body = Vec<PluginVersion>), (status = 401, body = ErrorBody)))]
async fn list(State(state): State<AppState>, user: ApiUser) -> ApiResult<Json<Vec<PluginVersion>>> {
    Ok(Json(lifecycle::list(&state.db, &user.actor).await?))
}

/// Uploads a plugin component (the `.wasm` file as the request body). It is checked, dry-run
/// and stored as an inactive version; uploading the same file again returns it unchanged (200).
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses(
        (status = 201, body = PluginVersion), (status = 200, description = "Already installed", body = PluginVersion),
        (status = 403, body = ErrorBody), (status = 409, description = "Same version, different content", body = ErrorBody),
        (status = 422, description = "Refused: the message says why", body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<PluginVersion>)> {
    let installed =
        lifecycle::install(&state.db, &state.plugins, Some(&user.actor), body.to_vec()).await?;
    let status = if installed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(installed.version)))
}

/// A version with its manifest and checklists.
#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PluginDetail), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PluginDetail>> {
    Ok(Json(lifecycle::get(&state.db, &user.actor, id).await?))
}

/// Puts a version in use on every host; the plugin's previously active version steps back.
#[utoipa::path(post, path = "/api/v1/plugins/{id}/activate", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PluginVersion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn activate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PluginVersion>> {
    Ok(Json(
        lifecycle::change(
            &state.db,
            &state.plugins,
            Some(&user.actor),
            id,
            Change::Activate,
        )
        .await?,
    ))
}

/// Takes a version out of use for good. It stays stored: scores name it.
#[utoipa::path(post, path = "/api/v1/plugins/{id}/retire", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PluginVersion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn retire(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PluginVersion>> {
    Ok(Json(
        lifecycle::change(
            &state.db,
            &state.plugins,
            Some(&user.actor),
            id,
            Change::Retire,
        )
        .await?,
    ))
}

/// Lifts the quarantine of a version that kept failing.
#[utoipa::path(post, path = "/api/v1/plugins/{id}/release", tag = "plugins", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PluginVersion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn release(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PluginVersion>> {
    Ok(Json(
        lifecycle::change(
            &state.db,
            &state.plugins,
            Some(&user.actor),
            id,
            Change::Release,
        )
        .await?,
    ))
}

/// The checklists the caller may use: those of their organisation's active plugins and those
/// other partners granted it (every organisation's for admins and managers).
#[utoipa::path(get, path = "/api/v1/checklists", tag = "plugins", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChecklistRef>), (status = 401, body = ErrorBody)))]
async fn checklists(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<ChecklistRef>>> {
    Ok(Json(
        state.plugins.checklists(user.actor.org_scope()).await?,
    ))
}
