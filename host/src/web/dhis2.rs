//! The DHIS2 mapping page: each indicator's data element (and category option combo) and
//! each org unit's DHIS2 UID, one small form per row. Admins edit; managers read. A rejected
//! UID re-renders the page with the error beside the row that sent it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::{choices, coded_choices, search_link};
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::Actor;
use crate::config::AppState;
use crate::domain::exports::dhis2::{
    self, DataElementInput, OrgUnitInput, OrgUnitMapping, OrgUnitMappingFilter,
};
use crate::domain::org_units;
use crate::domain::{Page, PageParams};
use crate::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dhis2", get(show))
        .route("/dhis2/data-elements/{id}", post(save_element))
        .route("/dhis2/data-elements/{id}/clear", post(clear_element))
        .route("/dhis2/org-units/{id}", post(save_unit))
        .route("/dhis2/org-units/{id}/clear", post(clear_unit))
}

#[derive(Deserialize, Default, Clone)]
struct PageQuery {
    #[serde(default)]
    q: String,
    /// `facility` by default: facilities are what the export reports.
    #[serde(default)]
    level: String,
    /// ``, `yes` or `no`.
    #[serde(default)]
    mapped: String,
    page: Option<i64>,
    /// Set by the redirect after a change, for the notice.
    #[serde(default)]
    saved: String,
}

impl PageQuery {
    fn level(&self) -> &str {
        if self.level.is_empty() {
            "facility"
        } else {
            &self.level
        }
    }

    fn link(&self, page: i64) -> String {
        let search = [
            ("q", self.q.as_str()),
            ("level", self.level()),
            ("mapped", &self.mapped),
        ];
        search_link("/dhis2", &search, Some(page))
    }
}

struct ElementRow {
    indicator_id: i64,
    code: String,
    name: String,
    active: bool,
    mapped: bool,
    data_element: String,
    category_option_combo: String,
    errors: FormErrors,
}

struct UnitRow {
    id: i64,
    code: String,
    name: String,
    level: String,
    mapped: bool,
    dhis2_uid: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "dhis2.html")]
struct MappingPage {
    ctx: Ctx,
    can_write: bool,
    elements: Vec<ElementRow>,
    units: Vec<UnitRow>,
    page: Page<OrgUnitMapping>,
    q: PageQuery,
    level_choices: Vec<Choice>,
    mapped_choices: Vec<Choice>,
    /// What was just saved, for the notice.
    saved: bool,
}

impl MappingPage {
    fn page_link(&self, page: i64) -> String {
        self.q.link(page)
    }
}

/// A row the user submitted and that was refused: which, and what was typed.
enum Refused {
    Element(i64, DataElementInput),
    Unit(i64, OrgUnitInput),
}

async fn page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    q: PageQuery,
    refused: Option<(Refused, FormErrors)>,
    saved: bool,
) -> Result<Response, AppError> {
    if !dhis2::may_read(actor) {
        return Err(AppError::Forbidden);
    }
    let mut refused = refused;
    let elements = dhis2::data_elements(&state.db, actor)
        .await?
        .into_iter()
        .map(|m| {
            let mut row = ElementRow {
                indicator_id: m.indicator_id,
                code: m.code,
                name: m.name,
                active: m.active,
                mapped: m.data_element.is_some(),
                data_element: m.data_element.unwrap_or_default(),
                category_option_combo: m.category_option_combo.unwrap_or_default(),
                errors: FormErrors::default(),
            };
            if let Some((Refused::Element(id, input), errors)) = &mut refused
                && *id == row.indicator_id
            {
                row.data_element = input.data_element.clone().unwrap_or_default();
                row.category_option_combo = input.category_option_combo.clone().unwrap_or_default();
                row.errors = std::mem::take(errors);
            }
            row
        })
        .collect();
    let filter = OrgUnitMappingFilter {
        q: Some(q.q.clone()),
        level: Some(q.level().to_string()),
        mapped: match q.mapped.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    };
    let paging = PageParams {
        page: q.page,
        per_page: Some(50),
    };
    let page = dhis2::org_unit_mappings(&state.db, actor, &filter, &paging).await?;
    let mut units: Vec<UnitRow> = page
        .items
        .iter()
        .map(|m| UnitRow {
            id: m.org_unit_id,
            code: m.code.clone(),
            name: m.name.clone(),
            level: m.level.clone(),
            mapped: m.dhis2_uid.is_some(),
            dhis2_uid: m.dhis2_uid.clone().unwrap_or_default(),
            errors: FormErrors::default(),
        })
        .collect();
    let mut status = StatusCode::OK;
    match refused {
        Some((Refused::Unit(id, input), errors)) => {
            status = StatusCode::UNPROCESSABLE_ENTITY;
            let typed = input.dhis2_uid.unwrap_or_default();
            match units.iter_mut().find(|u| u.id == id) {
                Some(u) => {
                    u.dhis2_uid = typed;
                    u.errors = errors;
                }
                // The refused org unit is not on the page shown (another level or page): show
                // it first, so the error is not lost.
                None => {
                    if let Some(unit) = org_units::find(&state.db, id).await? {
                        units.insert(
                            0,
                            UnitRow {
                                id: unit.id,
                                code: unit.code,
                                name: unit.name,
                                level: unit.level,
                                mapped: false,
                                dhis2_uid: typed,
                                errors,
                            },
                        );
                    }
                }
            }
        }
        Some((Refused::Element(..), _)) => status = StatusCode::UNPROCESSABLE_ENTITY,
        None => {}
    }
    let level_choices = coded_choices(ctx.lang, "level", &org_units::LEVELS, q.level());
    let mapped_choices = choices(
        [
            ("", ctx.t("admin.dhis2.mapped_any")),
            ("yes", ctx.t("admin.dhis2.mapped_yes")),
            ("no", ctx.t("admin.dhis2.mapped_no")),
        ],
        &q.mapped,
    );
    let mut response = render(&MappingPage {
        can_write: dhis2::may_write(actor),
        elements,
        units,
        page,
        q,
        level_choices,
        mapped_choices,
        saved,
        ctx,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let saved = !q.saved.is_empty();
    page(&state, ctx, &actor, q, None, saved).await
}

fn id(text: &str) -> Result<i64, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

/// A row's form: the value typed (`data_element` and `category_option_combo`, or
/// `dhis2_uid`) and, in hidden `back_*` fields, the list as it was, to go back to after the
/// change. Clearing a row sends only the latter.
#[derive(Deserialize, Default)]
struct RowForm {
    #[serde(default)]
    data_element: String,
    #[serde(default)]
    category_option_combo: String,
    #[serde(default)]
    dhis2_uid: String,
    #[serde(default)]
    back_q: String,
    #[serde(default)]
    back_level: String,
    #[serde(default)]
    back_mapped: String,
    #[serde(default)]
    back_page: String,
}

impl RowForm {
    fn query(&self) -> PageQuery {
        PageQuery {
            q: self.back_q.clone(),
            level: self.back_level.clone(),
            mapped: self.back_mapped.clone(),
            page: self.back_page.trim().parse().ok(),
            saved: String::new(),
        }
    }

    /// Back to the list, at the row changed, with the notice.
    fn redirect(&self, anchor: &str) -> Response {
        let q = self.query();
        let link = q.link(q.page.unwrap_or(1).max(1));
        Redirect::to(&format!("{link}&saved=1#{anchor}")).into_response()
    }
}

/// After a save: back to the list, or the page again with the refused row's errors beside it.
async fn saved(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    form: &RowForm,
    anchor: &str,
    result: Result<(), (AppError, Refused)>,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(form.redirect(anchor)),
        Err((e, refused)) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            page(
                state,
                ctx,
                actor,
                form.query(),
                Some((refused, errors)),
                false,
            )
            .await
        }
    }
}

async fn save_element(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(indicator): Path<String>,
    Form(form): Form<RowForm>,
) -> Result<Response, AppError> {
    let indicator = id(&indicator)?;
    let input = DataElementInput {
        data_element: Some(form.data_element.clone()),
        category_option_combo: Some(form.category_option_combo.clone()),
    };
    let result = dhis2::set_data_element(&state.db, &actor, indicator, &input)
        .await
        .map(drop)
        .map_err(|e| (e, Refused::Element(indicator, input)));
    saved(
        &state,
        ctx,
        &actor,
        &form,
        &format!("de-{indicator}"),
        result,
    )
    .await
}

async fn save_unit(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(unit): Path<String>,
    Form(form): Form<RowForm>,
) -> Result<Response, AppError> {
    let unit = id(&unit)?;
    let input = OrgUnitInput {
        dhis2_uid: Some(form.dhis2_uid.clone()),
    };
    let result = dhis2::set_org_unit(&state.db, &actor, unit, &input)
        .await
        .map(drop)
        .map_err(|e| (e, Refused::Unit(unit, input)));
    saved(&state, ctx, &actor, &form, &format!("ou-{unit}"), result).await
}

async fn clear_element(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path(indicator): Path<String>,
    Form(form): Form<RowForm>,
) -> Result<Response, AppError> {
    let indicator = id(&indicator)?;
    dhis2::clear_data_element(&state.db, &actor, indicator).await?;
    Ok(form.redirect(&format!("de-{indicator}")))
}

async fn clear_unit(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path(unit): Path<String>,
    Form(form): Form<RowForm>,
) -> Result<Response, AppError> {
    let unit = id(&unit)?;
    dhis2::clear_org_unit(&state.db, &actor, unit).await?;
    Ok(form.redirect(&format!("ou-{unit}")))
}
