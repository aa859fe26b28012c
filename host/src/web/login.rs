//! Signing in and out, and choosing the language.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Ctx, FormErrors, render, safe_next, set_cookie};
use crate::auth::{self, sessions};
use crate::config::AppState;
use crate::domain::users;
use crate::error::AppError;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(submit))
        .route("/logout", post(logout))
        .route("/language", post(language))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    email: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.user.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    render(&LoginPage {
        ctx,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The client's address for throttling: the peer, or the proxy's `X-Forwarded-For` when the
/// proxy is trusted.
pub fn client_ip(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if state.config.trust_proxy
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return forwarded.trim().to_string();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(f.next.as_deref());
    let ip = client_ip(&state, &headers, Some(peer));
    let mut errors = FormErrors::default();
    if f.email.trim().is_empty() {
        errors.add("email", ctx.t("error.required"));
    }
    if f.password.is_empty() {
        errors.add("password", ctx.t("error.required"));
    }
    if errors.is_empty() {
        match auth::authenticate(
            &state.db,
            &state.config.login_limits,
            &f.email,
            &f.password,
            &ip,
        )
        .await
        {
            Ok(user_id) => {
                let secret = sessions::create(&state.db, user_id).await?;
                let secure = super::secure(&state, &headers);
                let mut response = Redirect::to(&next).into_response();
                response.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(
                        sessions::COOKIE,
                        &secret,
                        sessions::LIFETIME_DAYS * 86_400,
                        secure,
                    ),
                );
                return Ok(response);
            }
            Err(AppError::Unauthenticated) => errors.add("password", ctx.t("login.failed")),
            Err(e) => return Err(e),
        }
    }
    let mut response = render(&LoginPage {
        ctx,
        email: f.email,
        next,
        errors,
    });
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let jar = super::cookies(&headers);
    if let Some(secret) = super::cookie(&jar, sessions::COOKIE) {
        sessions::delete(&state.db, secret).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(sessions::COOKIE, "", 0, super::secure(&state, &headers)),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
}

async fn language(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LanguageForm>,
) -> Result<Response, AppError> {
    let lang = Lang::parse(&f.lang).ok_or_else(|| {
        AppError::field("lang", "invalid_choice", "must be one of en, fr, rw, km")
    })?;
    if let Some(actor) = &ctx.user {
        users::set_language(&state.db, actor, lang).await?;
    }
    let mut response = Redirect::to(&safe_next(f.next.as_deref())).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            super::LANG_COOKIE,
            lang.code(),
            365 * 86_400,
            super::secure(&state, &headers),
        ),
    );
    Ok(response)
}
