//! The indicator catalogue: the list (everyone signed in), one indicator with a live preview
//! of its figures for a quarter, and the create/edit form and activate/deactivate button for
//! admins and managers. Every action goes through `domain::indicators`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::forms::coded_choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::Actor;
use crate::config::AppState;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::indicators::{
    self, DISAGGREGATIONS, FREQUENCIES, Figure, Indicator, IndicatorFigures, IndicatorInput, Scope,
    UNITS,
};
use crate::domain::organisations;
use crate::domain::quarter::Quarter;
use crate::error::{AppError, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/indicators", get(list).post(create))
        .route("/indicators/new", get(new_form))
        .route("/indicators/{id}", get(show).post(update))
        .route("/indicators/{id}/edit", get(edit_form))
        .route("/indicators/{id}/active", post(set_active))
}

/// A figure's value as shown: "–" when there is none, never NaN.
pub fn format_value(unit: &str, value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if unit == "percent" => format!("{v:.1} %"),
        Some(v) if unit == "count" && v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) if unit == "ratio" => format!("{v:.2}"),
        Some(v) => format!("{v:.1}"),
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

// ---------------------------------------------------------------------------------------------
// List

#[derive(Template)]
#[template(path = "indicator_list.html")]
struct ListPage {
    ctx: Ctx,
    indicators: Vec<Indicator>,
    can_edit: bool,
}

impl ListPage {
    fn target(&self, i: &Indicator) -> String {
        i.target
            .map(|t| format_value(&i.unit, Some(t)))
            .unwrap_or_default()
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    Ok(render(&ListPage {
        indicators: indicators::list(&state.db, true).await?,
        can_edit: indicators::can_edit(&actor),
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// One indicator and its preview

#[derive(Deserialize, Default)]
struct ShowQuery {
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    organisation_id: String,
}

#[derive(Template)]
#[template(path = "indicator.html")]
struct ShowPage {
    ctx: Ctx,
    indicator: Indicator,
    can_edit: bool,
    quarter: String,
    quarter_error: Option<String>,
    org_choices: Vec<Choice>,
    figures: Option<IndicatorFigures>,
    history: Vec<AuditEntry>,
}

impl ShowPage {
    fn value(&self, f: &Figure) -> String {
        format_value(&self.indicator.unit, f.value)
    }

    fn fraction(&self, f: &Figure) -> String {
        match f.denominator {
            Some(d) => format!("{} / {}", format_number(f.numerator), format_number(d)),
            None => String::new(),
        }
    }

    fn target(&self) -> String {
        self.indicator
            .target
            .map(|t| format_value(&self.indicator.unit, Some(t)))
            .unwrap_or_else(|| "–".into())
    }

    fn dimension_label(&self, key: &str) -> &'static str {
        self.ctx.tk("indicator.disaggregation", key)
    }
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let indicator = indicators::get(&state.db, id).await?;
    let quarter_text = if q.quarter.trim().is_empty() {
        Quarter::current().to_string()
    } else {
        q.quarter.trim().to_string()
    };
    let mut quarter_error = None;
    let mut figures = None;
    let organisation_id: Option<i64> = q.organisation_id.trim().parse().ok();
    let scope = match organisation_id {
        Some(org) => Scope::Organisation(org),
        None if actor.reads_all_organisations() => Scope::Programme,
        None => Scope::Organisation(actor.organisation_id),
    };
    match Quarter::parse_field("quarter", &quarter_text) {
        Ok(quarter) => {
            figures = Some(indicators::preview(&state.db, &actor, id, scope, quarter).await?);
        }
        Err(_) => quarter_error = Some(ctx.t("indicator.bad_quarter").to_string()),
    }
    let org_choices = if actor.reads_all_organisations() {
        let mut list: Vec<Choice> = organisations::list_all(&state.db)
            .await?
            .into_iter()
            .map(|o| Choice {
                selected: organisation_id == Some(o.id),
                value: o.id.to_string(),
                label: o.name,
            })
            .collect();
        list.insert(
            0,
            Choice {
                value: String::new(),
                label: ctx.t("indicator.programme").into(),
                selected: organisation_id.is_none(),
            },
        );
        list
    } else {
        Vec::new()
    };
    let history = if actor.can_read_audit(None) {
        audit::for_entity(&state.db, &actor, "indicator", &id.to_string(), 20).await?
    } else {
        Vec::new()
    };
    let status = if quarter_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&ShowPage {
        can_edit: indicators::can_edit(&actor),
        ctx,
        indicator,
        quarter: quarter_text,
        quarter_error,
        org_choices,
        figures,
        history,
    });
    *response.status_mut() = status;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Create and edit

#[derive(Deserialize, Default, Clone)]
struct IndicatorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    numerator: String,
    #[serde(default)]
    denominator: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    data_source: String,
    #[serde(default)]
    frequency: String,
    dis_district: Option<String>,
    dis_facility: Option<String>,
    dis_facility_type: Option<String>,
    dis_cadre: Option<String>,
    dis_sex: Option<String>,
    #[serde(default)]
    target: String,
    #[serde(default)]
    position: String,
    active: Option<String>,
    #[serde(default)]
    revision: String,
}

impl IndicatorForm {
    fn from_indicator(i: &Indicator) -> IndicatorForm {
        let has = |d: &str| {
            i.disaggregations
                .iter()
                .any(|x| x == d)
                .then(|| "on".into())
        };
        IndicatorForm {
            code: i.code.clone(),
            name: i.name.clone(),
            definition: i.definition.clone(),
            numerator: i.numerator.clone(),
            denominator: i.denominator.clone().unwrap_or_default(),
            unit: i.unit.clone(),
            data_source: i.data_source.clone(),
            frequency: i.frequency.clone(),
            dis_district: has("district"),
            dis_facility: has("facility"),
            dis_facility_type: has("facility_type"),
            dis_cadre: has("cadre"),
            dis_sex: has("sex"),
            target: i.target.map(format_number).unwrap_or_default(),
            position: i.position.to_string(),
            active: i.active.then(|| "on".into()),
            revision: i.revision.to_string(),
        }
    }

    fn checked(&self, d: &str) -> bool {
        match d {
            "district" => self.dis_district.is_some(),
            "facility" => self.dis_facility.is_some(),
            "facility_type" => self.dis_facility_type.is_some(),
            "cadre" => self.dis_cadre.is_some(),
            "sex" => self.dis_sex.is_some(),
            _ => false,
        }
    }

    fn to_input(&self) -> Result<IndicatorInput, AppError> {
        let mut errors = Vec::new();
        let number = |field: &str, text: &str, errors: &mut Vec<FieldError>| -> Option<f64> {
            let t = text.trim().replace(',', ".");
            if t.is_empty() {
                return None;
            }
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    errors.push(FieldError::new(field, "not_a_number", "is not a number"));
                    None
                }
            }
        };
        let target = number("target", &self.target, &mut errors);
        let position = match self.position.trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(FieldError::new(
                        "position",
                        "not_a_whole_number",
                        "is not a whole number",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(IndicatorInput {
            code: Some(self.code.clone()),
            name: Some(self.name.clone()),
            definition: Some(self.definition.clone()),
            numerator: Some(self.numerator.clone()),
            denominator: Some(self.denominator.clone()),
            unit: Some(self.unit.clone()),
            data_source: Some(self.data_source.clone()),
            frequency: Some(self.frequency.clone()),
            disaggregations: DISAGGREGATIONS
                .iter()
                .filter(|d| self.checked(d))
                .map(|d| d.to_string())
                .collect(),
            target,
            position,
            active: Some(self.active.is_some()),
            revision: self.revision.trim().parse().ok(),
        })
    }
}

#[derive(Template)]
#[template(path = "indicator_form.html")]
struct FormPage {
    ctx: Ctx,
    indicator_id: Option<i64>,
    form: IndicatorForm,
    errors: FormErrors,
    unit_choices: Vec<Choice>,
    frequency_choices: Vec<Choice>,
    known_metrics: Vec<String>,
}

impl FormPage {
    fn dimensions(&self) -> &'static [&'static str] {
        &DISAGGREGATIONS
    }

    fn dimension_label(&self, key: &str) -> &'static str {
        self.ctx.tk("indicator.disaggregation", key)
    }
}

async fn form_page(
    state: &AppState,
    ctx: Ctx,
    indicator_id: Option<i64>,
    form: IndicatorForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let unit_choices = coded_choices(ctx.lang, "indicator.unit", &UNITS, &form.unit);
    let frequency_choices = coded_choices(
        ctx.lang,
        "indicator.frequency",
        &FREQUENCIES,
        &form.frequency,
    );
    let mut response = render(&FormPage {
        ctx,
        indicator_id,
        form,
        errors,
        unit_choices,
        frequency_choices,
        known_metrics: indicators::known_metrics(&state.db).await?,
    });
    *response.status_mut() = status;
    Ok(response)
}

fn require_editor(actor: &Actor) -> Result<(), AppError> {
    if indicators::can_edit(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    require_editor(&actor)?;
    let form = IndicatorForm {
        unit: "count".into(),
        frequency: "quarterly".into(),
        dis_district: Some("on".into()),
        dis_facility: Some("on".into()),
        active: Some("on".into()),
        ..Default::default()
    };
    form_page(
        &state,
        ctx,
        None,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Re-renders the form with the domain's field errors; a conflict shows as a form error on
/// the revision so the editor sees it beside their unsaved text.
async fn failed(
    state: &AppState,
    ctx: Ctx,
    id: Option<i64>,
    form: IndicatorForm,
    e: AppError,
) -> Result<Response, AppError> {
    let (errors, status) = match e {
        AppError::Conflict(_) => {
            let mut errors = FormErrors::default();
            errors.add("revision", ctx.t("indicator.conflict"));
            (errors, StatusCode::CONFLICT)
        }
        e => (
            FormErrors::from_error(ctx.lang, e)?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    form_page(state, ctx, id, form, errors, status).await
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(form): Form<IndicatorForm>,
) -> Result<Response, AppError> {
    require_editor(&actor)?;
    let result = match form.to_input() {
        Ok(input) => indicators::create(&state.db, &actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(i) => Ok(Redirect::to(&format!("/indicators/{}", i.id)).into_response()),
        Err(e) => failed(&state, ctx, None, form, e).await,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let indicator = indicators::get(&state.db, id).await?;
    require_editor(&actor)?;
    let form = IndicatorForm::from_indicator(&indicator);
    form_page(
        &state,
        ctx,
        Some(id),
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<IndicatorForm>,
) -> Result<Response, AppError> {
    indicators::get(&state.db, id).await?;
    require_editor(&actor)?;
    let result = match form.to_input() {
        Ok(input) => indicators::update(&state.db, &actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/indicators/{id}")).into_response()),
        Err(e) => failed(&state, ctx, Some(id), form, e).await,
    }
}

#[derive(Deserialize)]
struct ActiveForm {
    #[serde(default)]
    active: String,
    #[serde(default)]
    revision: String,
}

async fn set_active(
    State(state): State<AppState>,
    SignedIn { actor, .. }: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    indicators::set_active(
        &state.db,
        &actor,
        id,
        form.active == "1",
        form.revision.trim().parse().ok(),
    )
    .await?;
    Ok(Redirect::to(&format!("/indicators/{id}")).into_response())
}
