//! Server-rendered pages. One file per page or resource holds its handlers and template
//! structs; this module holds what every page shares: the request context (signed-in user,
//! language, CSRF token), the CSRF check on every state-changing form, and error pages.

mod charts;
mod checklist_form;
mod dashboard;
mod death_reviews;
mod dhis2;
mod exports;
mod facilities;
mod forms;
mod indicators;
mod login;
mod organisations;
mod plugins;
mod providers;
mod qi;
mod reports;
// Named apart from `auth::sessions`, which this module uses for sign-in sessions.
#[path = "sessions.rs"]
mod session_pages;
mod teams;
mod trainings;
mod users;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::auth::{self, sessions};
use crate::authz::{Actor, Role};
use crate::config::AppState;
use crate::error::AppError;
use crate::i18n::{self, Lang};

pub use forms::{Choice, FormErrors};
pub use login::client_ip;

pub const LANG_COOKIE: &str = "mt_lang";
/// CSRF token of a browser that is not signed in (the login form), double-submitted.
pub const ANON_CSRF_COOKIE: &str = "mt_csrf";

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .merge(login::routes())
        .merge(organisations::routes())
        .merge(users::routes())
        .merge(facilities::routes())
        .merge(providers::routes())
        .merge(session_pages::routes())
        .merge(trainings::routes())
        .merge(plugins::routes())
        .merge(indicators::routes())
        .merge(reports::routes())
        .merge(death_reviews::routes())
        .merge(qi::routes())
        .merge(teams::routes())
        .merge(exports::routes())
        .merge(dhis2::routes())
        .route("/static/app.css", get(stylesheet))
        .route("/static/fonts/{file}", get(font))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, context))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// The bundled Khmer font (see `static/fonts/LICENSE-NotoSansKhmer.txt`).
async fn font(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let bytes: &'static [u8] = match file.as_str() {
        "NotoSansKhmer-Regular.ttf" => {
            include_bytes!("../../static/fonts/NotoSansKhmer-Regular.ttf")
        }
        _ => return AppError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "font/ttf"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// What every page template needs.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<Actor>,
    pub csrf: String,
    /// Path and query of this request, to come back to after signing in or changing language.
    pub here: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }

    /// Translates a coded value, e.g. `tk("cadre", "midwife")`.
    pub fn tk(&self, prefix: &str, code: &str) -> &'static str {
        i18n::t(self.lang, &format!("{prefix}.{code}"))
    }

    pub fn languages(&self) -> &'static [Lang] {
        &Lang::ALL
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Some(Role::Admin)
    }

    /// Sees the user-management pages.
    pub fn sees_users(&self) -> bool {
        matches!(
            self.role(),
            Some(Role::Admin | Role::Manager | Role::OrgAdmin)
        )
    }

    /// Sees quarterly reports and the indicator catalogue (mentors log; their organisation's
    /// admins report).
    pub fn sees_reports(&self) -> bool {
        self.sees_users()
    }

    pub fn sees_audit(&self) -> bool {
        self.sees_users()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("page context missing")))
    }
}

/// A page that needs a signed-in user; anyone else is sent to the login page.
pub struct SignedIn {
    pub ctx: Ctx,
    pub actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match ctx.user.clone() {
            Some(actor) => Ok(SignedIn { ctx, actor }),
            None => {
                let next =
                    url::form_urlencoded::byte_serialize(ctx.here.as_bytes()).collect::<String>();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
        }
    }
}

pub fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn cookie<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Whether cookies must carry `Secure`: configured, or the request reached us over HTTPS.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.cookie_secure
        || (state.config.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")))
}

pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    if secure {
        c.push_str("; Secure");
    }
    // Cookie values here are our own URL-safe secrets and language codes.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Constant-time comparison, so the CSRF check does not leak the token byte by byte.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Builds the page context and enforces CSRF on every state-changing request.
async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let jar = cookies(&parts.headers);
    let session = match cookie(&jar, sessions::COOKIE) {
        Some(secret) => match sessions::lookup(&state.db, secret).await {
            Ok(s) => s,
            Err(e) => return error_page(&state, Lang::En, None, e),
        },
        None => None,
    };
    let lang = session
        .as_ref()
        .and_then(|s| Lang::parse(&s.actor.language))
        .or_else(|| cookie(&jar, LANG_COOKIE).and_then(Lang::parse))
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default();
    let mut new_anon_csrf = None;
    let csrf = match &session {
        Some(s) => s.csrf_token.clone(),
        None => match cookie(&jar, ANON_CSRF_COOKIE).filter(|v| v.len() == 43) {
            Some(v) => v.to_string(),
            None => match auth::new_secret() {
                Ok(v) => {
                    new_anon_csrf = Some(v.clone());
                    v
                }
                Err(e) => return error_page(&state, lang, None, e),
            },
        },
    };
    let user = session.map(|s| s.actor);
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let ctx = Ctx {
        lang,
        user: user.clone(),
        csrf: csrf.clone(),
        here,
    };

    let body = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        body
    } else {
        let bytes = match axum::body::to_bytes(body, state.config.body_limit).await {
            Ok(b) => b,
            Err(_) => {
                return error_page(
                    &state,
                    lang,
                    user,
                    AppError::BadRequest("the request is too large".into()),
                );
            }
        };
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf_token")
                    .map(|(_, v)| v.into_owned())
            })
            // File uploads are multipart bodies: their forms carry the token in the action URL.
            .or_else(|| {
                url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == "csrf_token")
                    .map(|(_, v)| v.into_owned())
            });
        // A freshly minted token was never sent to the browser, so nothing can match it.
        let valid = new_anon_csrf.is_none() && sent.is_some_and(|s| same_secret(&s, &csrf));
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "CSRF check failed");
            return error_page(&state, lang, user, AppError::Csrf);
        }
        Body::from(bytes)
    };
    parts.extensions.insert(ctx.clone());
    let secure = secure(&state, &parts.headers);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(info) = response.extensions_mut().remove::<ErrorInfo>() {
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        response = render_error(&ctx, info);
        if let Some(v) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if let Some(token) = new_anon_csrf {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(ANON_CSRF_COOKIE, &token, 60 * 60 * 24, secure),
        );
    }
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Marks a response as an error for [`context`] to render in the user's language.
#[derive(Clone, Debug)]
struct ErrorInfo {
    status: StatusCode,
    title_key: &'static str,
    detail: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        if matches!(self, AppError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = self.status();
        let detail = match &self {
            AppError::BadRequest(m) | AppError::Conflict(m) => Some(m.clone()),
            AppError::TooManyRequests { .. } => Some(self.to_string()),
            AppError::Validation(errs) | AppError::ScoringFailed(errs) => Some(
                errs.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        };
        let info = ErrorInfo {
            status,
            title_key: error_title_key(&self),
            detail,
        };
        let mut response = (status, self.to_string()).into_response();
        if let AppError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response.extensions_mut().insert(info);
        response
    }
}

fn error_title_key(e: &AppError) -> &'static str {
    match e {
        AppError::NotFound => "error.page.not_found",
        AppError::Forbidden => "error.page.forbidden",
        AppError::Csrf => "error.page.csrf",
        AppError::TooManyRequests { .. } => "error.page.too_many",
        AppError::Internal(_) => "error.page.internal",
        _ => "error.page.bad_request",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: &'a Ctx,
    status: u16,
    title: &'static str,
    detail: Option<String>,
}

fn render_error(ctx: &Ctx, info: ErrorInfo) -> Response {
    let page = ErrorPage {
        ctx,
        status: info.status.as_u16(),
        title: ctx.t(info.title_key),
        detail: info.detail,
    };
    let mut response = render(&page);
    *response.status_mut() = info.status;
    response
}

fn error_page(_state: &AppState, lang: Lang, user: Option<Actor>, e: AppError) -> Response {
    e.log();
    let ctx = Ctx {
        lang,
        user,
        csrf: String::new(),
        here: "/".into(),
    };
    let status = e.status();
    let detail = match &e {
        AppError::BadRequest(m) => Some(m.clone()),
        _ => None,
    };
    render_error(
        &ctx,
        ErrorInfo {
            status,
            title_key: error_title_key(&e),
            detail,
        },
    )
}

/// Renders a template as an HTML response; a template that fails to render is an internal
/// error, logged, with a plain-text body (no template can be trusted at that point).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A local path to return to, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_always_local() {
        assert_eq!(safe_next(Some("/providers?page=2")), "/providers?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn secret_comparison() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
