//! The JSON API under `/api/v1/`, described by the OpenAPI document at `/api/openapi.json`
//! that is generated from these handlers. It calls the same domain actions as the pages, so
//! the rules cannot differ between the two.

mod audit;
mod auth;
mod death_reviews;
mod dhis2;
pub mod error;
pub(crate) mod exports;
mod indicators;
mod org_units;
mod organisations;
mod plugins;
mod providers;
mod qi;
mod reports;
mod sessions;
mod teams;
mod trainings;
mod users;

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::AppState;
use crate::error::AppError;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mentortrack API",
        description = "Mentorship sessions, trainings and quarterly reports of LDHF programmes. \
Authenticate with `POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`. \
Errors are `{\"error\": {\"code\", \"message\", \"fields\": [{\"field\", \"message\"}]}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(organisations::routes())
        .merge(users::routes())
        .merge(providers::routes())
        .merge(org_units::routes())
        .merge(audit::routes())
        .merge(plugins::routes())
        .merge(sessions::routes())
        .merge(trainings::routes())
        .merge(indicators::routes())
        .merge(reports::routes())
        .merge(death_reviews::routes())
        .merge(qi::routes())
        .merge(teams::routes())
        .merge(exports::routes())
        .merge(dhis2::routes())
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

pub fn router() -> Router<AppState> {
    let (api, doc) = api_router().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/api/{*rest}", axum::routing::any(unknown_route))
}

async fn unknown_route() -> ApiError {
    AppError::NotFound.into()
}
