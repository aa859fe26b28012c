//! Teams: the list with one quarter's targets met and award, creating and editing a team and
//! its members, the team page (members, targets per quarter, assessments with their score
//! cards), a quarter's targets, the quarterly assessment filled in from the plugin's
//! checklist, and the quarter's award summary. Every action goes through `domain::teams`,
//! which decides who may; these handlers only turn forms into inputs and results into pages.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::checklist_form::{self, ChecklistForm, Typed};
use super::forms::choices;
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::{Actor, Role};
use crate::config::AppState;
use crate::domain::organisations;
use crate::domain::quarter::Quarter;
use crate::domain::scoring::ChecklistInput;
use crate::domain::teams::{
    self, Assessment, AssessmentInput, MEASURES, TargetsInput, Team, TeamFilter, TeamInput,
    TeamSummary,
};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};
use crate::plugins::model::{
    Answer, Checklist, ChecklistKind, Localized, Response as ItemResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route("/teams/new", get(new_form))
        .route("/teams/awards", get(awards))
        .route("/teams/{id}", get(show).post(update))
        .route("/teams/{id}/edit", get(edit_form))
        .route(
            "/teams/{id}/targets/{quarter}",
            get(targets_form).post(save_targets),
        )
        .route(
            "/teams/{id}/assess/{quarter}",
            get(assess_form).post(assess),
        )
}

/// Form-name prefix of the assessment checklist's fields: `a.r.<item_id>`.
const PREFIX: &str = "a";
/// Where the domain reports the assessment's problems: `assessment.responses.<item_id>`.
const ERRORS_AT: &str = "assessment";
const NONE: &str = "–";

fn with_status(response: Response, status: StatusCode) -> Response {
    let mut r = response;
    *r.status_mut() = status;
    r
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn percent(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite())
        .map(|x| format!("{}%", number(x)))
        .unwrap_or_else(|| NONE.into())
}

fn money(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite())
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| NONE.into())
}

fn measure_label(ctx: &Ctx, measure: &str) -> &'static str {
    ctx.tk("team.measure", measure)
}

/// An outcome code in the reader's language; another partner's codes are shown as they are.
fn outcome_label(ctx: &Ctx, code: &str) -> String {
    let key = format!("team.outcome.{code}");
    if i18n::has(Lang::En, &key) {
        ctx.t(&key).to_string()
    } else {
        code.to_string()
    }
}

fn field_errors(e: AppError) -> Result<(Vec<FieldError>, StatusCode), AppError> {
    match e {
        AppError::Validation(errs) => Ok((errs, StatusCode::UNPROCESSABLE_ENTITY)),
        AppError::ScoringFailed(errs) => Ok((errs, StatusCode::SERVICE_UNAVAILABLE)),
        other => Err(other),
    }
}

/// `(name, value)` pairs of a posted form, read by name.
struct Posted(Vec<(String, String)>);

impl Posted {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// List and award summary

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    active: String,
}

struct ListRow {
    id: i64,
    name: String,
    organisation: String,
    village: String,
    facility: String,
    members: i64,
    targets: String,
    award: String,
    outcome: String,
    level: String,
}

fn list_row(ctx: &Ctx, t: &TeamSummary) -> ListRow {
    ListRow {
        id: t.id,
        name: t.name.clone(),
        organisation: t.organisation_code.clone(),
        village: t.village.clone().unwrap_or_default(),
        facility: t.facility_name.clone(),
        members: t.members,
        targets: if t.targets_set == 0 {
            NONE.into()
        } else {
            format!("{} / {}", t.targets_met, t.targets_set)
        },
        award: money(t.award),
        outcome: match &t.outcome_code {
            Some(code) => outcome_label(ctx, code),
            None => ctx.t("team.not_assessed").to_string(),
        },
        level: t.outcome_level.clone().unwrap_or_else(|| "neutral".into()),
    }
}

#[derive(Template)]
#[template(path = "team_list.html")]
struct ListPage {
    ctx: Ctx,
    quarter: String,
    previous: String,
    next: String,
    rows: Vec<ListRow>,
    total: i64,
    active_choices: Vec<Choice>,
    can_create: bool,
    many_orgs: bool,
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let quarter = teams::quarter_or_current(Some(&q.quarter))?;
    let filter = TeamFilter {
        quarter: Some(quarter.to_string()),
        active: Some(q.active.clone()),
        per_page: Some(200),
        ..Default::default()
    };
    let page = teams::list(&state.db, &actor, &filter, &filter.paging()).await?;
    let active = if q.active.is_empty() {
        "true"
    } else {
        q.active.as_str()
    };
    let active_choices = choices(
        [
            ("true", ctx.t("team.active_only")),
            ("false", ctx.t("team.inactive_only")),
            ("all", ctx.t("team.all")),
        ],
        active,
    );
    let rows = page.items.iter().map(|t| list_row(&ctx, t)).collect();
    Ok(render(&ListPage {
        quarter: quarter.to_string(),
        previous: quarter.previous().to_string(),
        next: quarter.next().to_string(),
        rows,
        total: page.total,
        active_choices,
        can_create: teams::can_create(&actor),
        many_orgs: actor.reads_all_organisations(),
        ctx,
    }))
}

#[derive(Template)]
#[template(path = "team_awards.html")]
struct AwardsPage {
    ctx: Ctx,
    quarter: String,
    previous: String,
    next: String,
    rows: Vec<ListRow>,
    assessed: i64,
    not_assessed: i64,
    outcomes: Vec<(String, String, i64)>,
    total: String,
    many_orgs: bool,
}

async fn awards(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let quarter = teams::quarter_or_current(Some(&q.quarter))?;
    let summary = teams::awards(&state.db, &actor, None, quarter).await?;
    let outcomes = summary
        .by_outcome
        .iter()
        .map(|(code, n)| (code.clone(), outcome_label(&ctx, code), *n))
        .collect();
    Ok(render(&AwardsPage {
        quarter: quarter.to_string(),
        previous: quarter.previous().to_string(),
        next: quarter.next().to_string(),
        rows: summary.teams.iter().map(|t| list_row(&ctx, t)).collect(),
        assessed: summary.assessed,
        not_assessed: summary.not_assessed,
        outcomes,
        total: money(Some(summary.total_award)),
        many_orgs: actor.reads_all_organisations(),
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// Creating and editing

/// What the team form shows: typed values kept as text.
#[derive(Debug, Default)]
struct Draft {
    organisation_id: String,
    name: String,
    village: String,
    facility_id: String,
    members: Vec<i64>,
    active: bool,
    revision: String,
}

struct Candidate {
    id: i64,
    name: String,
    detail: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "team_form.html")]
struct FormPage {
    ctx: Ctx,
    team_id: Option<i64>,
    draft: Draft,
    errors: FormErrors,
    general: Vec<String>,
    organisation_choices: Vec<Choice>,
    facility_choices: Vec<Choice>,
    candidates: Vec<Candidate>,
}

impl FormPage {
    fn action(&self) -> String {
        match self.team_id {
            Some(id) => format!("/teams/{id}"),
            None => "/teams".into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    team_id: Option<i64>,
    organisation_id: i64,
    draft: Draft,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<Response, AppError> {
    let organisation_choices = if actor.role == Role::Admin && team_id.is_none() {
        choices(
            organisations::list_all(&state.db)
                .await?
                .into_iter()
                .map(|o| (o.id, format!("{} · {}", o.code, o.name))),
            &organisation_id.to_string(),
        )
    } else {
        vec![]
    };
    let mut facilities = teams::facility_choices(&state.db, organisation_id).await?;
    if let Ok(id) = draft.facility_id.parse::<i64>()
        && !facilities.iter().any(|(f, _)| *f == id)
        && let Ok(unit) = crate::domain::org_units::get(&state.db, id).await
    {
        facilities.push((unit.id, unit.name));
    }
    let mut facility_choices = choices(facilities, &draft.facility_id);
    facility_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: String::new(),
            selected: draft.facility_id.is_empty(),
        },
    );
    let mut people = teams::candidates(&state.db, organisation_id).await?;
    if let Some(id) = team_id {
        // Members marked inactive since stay listed, ticked.
        let team = teams::get(&state.db, actor, id).await?;
        for m in team.member_list {
            if !people.iter().any(|p| p.provider_id == m.provider_id) {
                people.push(m);
            }
        }
    }
    let candidates = people
        .into_iter()
        .map(|p| Candidate {
            checked: draft.members.contains(&p.provider_id),
            id: p.provider_id,
            detail: format!("{} · {}", ctx.tk("cadre", &p.cadre), p.facility_name),
            name: p.name,
        })
        .collect();
    let known = |f: &str| {
        [
            "organisation_id",
            "name",
            "village",
            "facility_id",
            "members",
        ]
        .contains(&f)
            || f.starts_with("members[")
    };
    let form_errors = FormErrors::from_fields(ctx.lang, errors);
    let general = errors
        .iter()
        .filter(|e| !known(&e.field))
        .filter_map(|e| form_errors.get(&e.field).map(str::to_string))
        .collect();
    let page = FormPage {
        ctx,
        team_id,
        draft,
        errors: form_errors,
        general,
        organisation_choices,
        facility_choices,
        candidates,
    };
    Ok(with_status(render(&page), status))
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    organisation_id: Option<i64>,
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    if !teams::can_create(&actor) {
        return Err(AppError::Forbidden);
    }
    let organisation_id = match actor.role {
        Role::Admin => q.organisation_id.unwrap_or(actor.organisation_id),
        _ => actor.organisation_id,
    };
    let draft = Draft {
        organisation_id: organisation_id.to_string(),
        active: true,
        ..Default::default()
    };
    form_page(
        &state,
        ctx,
        &actor,
        None,
        organisation_id,
        draft,
        &[],
        StatusCode::OK,
    )
    .await
}

/// The form's fields as a draft and an input; fields that cannot be what they claim (a word
/// where a number goes) are errors.
fn read_form(posted: &Posted) -> (Draft, TeamInput, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut members = Vec::new();
    for v in posted.all("members") {
        match v.trim().parse::<i64>() {
            Ok(id) => members.push(id),
            Err(_) => errors.push(FieldError::new(
                "members",
                "invalid_choice",
                "is not a valid choice",
            )),
        }
    }
    let facility_id = super::forms::parse_id(posted.get("facility_id"), "facility_id", &mut errors);
    let organisation_id = super::forms::parse_id(
        posted.get("organisation_id"),
        "organisation_id",
        &mut errors,
    );
    let revision = posted.get("revision").trim().parse::<i64>().ok();
    // The edit form posts a hidden 0 before the checkbox; the new-team form has no box.
    let active = posted.all("active").contains(&"1") || posted.get("revision").is_empty();
    let draft = Draft {
        organisation_id: posted.get("organisation_id").to_string(),
        name: posted.get("name").to_string(),
        village: posted.get("village").to_string(),
        facility_id: posted.get("facility_id").to_string(),
        members: members.clone(),
        active,
        revision: posted.get("revision").to_string(),
    };
    let input = TeamInput {
        organisation_id,
        name: Some(draft.name.clone()),
        village: Some(draft.village.clone()),
        facility_id,
        members,
        active: Some(active),
        revision,
    };
    (draft, input, errors)
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (draft, input, parse_errors) = read_form(&Posted(pairs));
    let organisation_id = match actor.role {
        Role::Admin => input.organisation_id.unwrap_or(actor.organisation_id),
        _ => actor.organisation_id,
    };
    let result = if parse_errors.is_empty() {
        teams::create(&state.db, &actor, &input).await
    } else {
        Err(AppError::Validation(parse_errors))
    };
    match result {
        Ok(team) => Ok(Redirect::to(&format!("/teams/{}", team.id)).into_response()),
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            form_page(
                &state,
                ctx,
                &actor,
                None,
                organisation_id,
                draft,
                &errors,
                status,
            )
            .await
        }
    }
}

async fn writable_team(state: &AppState, actor: &Actor, id: i64) -> Result<Team, AppError> {
    let team = teams::get(&state.db, actor, id).await?;
    if !teams::can_write(actor, team.organisation_id) {
        return Err(AppError::Forbidden);
    }
    Ok(team)
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let team = writable_team(&state, &actor, id).await?;
    let draft = Draft {
        organisation_id: team.organisation_id.to_string(),
        name: team.name.clone(),
        village: team.village.clone().unwrap_or_default(),
        facility_id: team.facility_id.to_string(),
        members: team.member_list.iter().map(|m| m.provider_id).collect(),
        active: team.active,
        revision: team.revision.to_string(),
    };
    form_page(
        &state,
        ctx,
        &actor,
        Some(id),
        team.organisation_id,
        draft,
        &[],
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let team = writable_team(&state, &actor, id).await?;
    let (draft, input, parse_errors) = read_form(&Posted(pairs));
    let result = if parse_errors.is_empty() {
        teams::update(&state.db, &actor, id, &input).await
    } else {
        Err(AppError::Validation(parse_errors))
    };
    match result {
        Ok(team) => Ok(Redirect::to(&format!("/teams/{}", team.id)).into_response()),
        Err(AppError::Conflict(message)) => {
            form_page(
                &state,
                ctx,
                &actor,
                Some(id),
                team.organisation_id,
                draft,
                &[FieldError::new("revision", "conflict", message)],
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            form_page(
                &state,
                ctx,
                &actor,
                Some(id),
                team.organisation_id,
                draft,
                &errors,
                status,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The team page

struct TargetCell {
    measure: String,
    label: &'static str,
    target: String,
    achieved: String,
    met: String,
}

struct QuarterView {
    quarter: String,
    cells: Vec<TargetCell>,
    met: String,
    assessed: bool,
    can_assess: bool,
}

struct SectionLine {
    title: String,
    percentage: String,
    counts: String,
}

struct FeedbackLine {
    item: String,
    level: String,
    message: String,
}

struct CardView {
    quarter: String,
    checklist: String,
    percentage: String,
    outcome: String,
    outcome_code: String,
    level: String,
    award: String,
    assessed_on: String,
    assessed_by: String,
    plugin: String,
    revision: i64,
    sections: Vec<SectionLine>,
    feedback: Vec<FeedbackLine>,
}

async fn card_view(state: &AppState, lang: Lang, a: &Assessment) -> Result<CardView, AppError> {
    let checklist = state
        .plugins
        .stored_checklist(a.plugin_version_id, &a.checklist_id)
        .await?;
    let section_title = |id: &str| {
        checklist
            .as_ref()
            .and_then(|c| c.sections.iter().find(|s| s.id == id))
            .map(|s| s.title.get(lang).to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let item_prompt = |id: &str| {
        checklist
            .as_ref()
            .and_then(|c| c.items().find(|i| i.id == id).map(|i| (c, i)))
            .map(|(c, i)| {
                let section = c
                    .sections
                    .iter()
                    .find(|s| s.items.iter().any(|x| x.id == i.id))
                    .map(|s| format!("{} · ", s.title.get(lang)))
                    .unwrap_or_default();
                format!("{section}{}", i.prompt.get(lang))
            })
            .unwrap_or_else(|| id.to_string())
    };
    Ok(CardView {
        quarter: a.quarter.clone(),
        checklist: checklist
            .as_ref()
            .map(|c| c.title.get(lang).to_string())
            .unwrap_or_else(|| a.checklist_id.clone()),
        percentage: percent(a.percentage),
        outcome: a.card.outcome.label.get(lang).to_string(),
        outcome_code: a.outcome_code.clone(),
        level: a.outcome_level.clone(),
        award: money(Some(a.award_amount)),
        assessed_on: a.assessed_on.clone(),
        assessed_by: a.assessed_by_name.clone().unwrap_or_default(),
        plugin: format!("{} {}", a.plugin_key, a.plugin_version),
        revision: a.revision,
        sections: a
            .card
            .sections
            .iter()
            .map(|s| SectionLine {
                title: section_title(&s.section_id),
                percentage: percent(s.percentage),
                counts: format!("{} / {}", number(s.achieved), number(s.applicable)),
            })
            .collect(),
        feedback: a
            .card
            .feedback
            .iter()
            .map(|f| FeedbackLine {
                item: item_prompt(&f.item_id),
                level: f.level.as_str().to_string(),
                message: f.message.get(lang).to_string(),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "team.html")]
struct ShowPage {
    ctx: Ctx,
    team: Team,
    can_write: bool,
    members: Vec<(i64, String, String)>,
    quarters: Vec<QuarterView>,
    /// Quarters around today that have no targets yet, to set them for.
    plan: Vec<String>,
    cards: Vec<CardView>,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let team = teams::get(&state.db, &actor, id).await?;
    let can_write = teams::can_write(&actor, team.organisation_id);
    let members = team
        .member_list
        .iter()
        .map(|m| {
            (
                m.provider_id,
                m.name.clone(),
                format!("{} · {}", ctx.tk("cadre", &m.cadre), m.facility_name),
            )
        })
        .collect();
    let quarters = team
        .targets
        .iter()
        .map(|q| QuarterView {
            quarter: q.quarter.clone(),
            cells: MEASURES
                .iter()
                .map(|m| {
                    let t = q.target(m);
                    TargetCell {
                        measure: m.to_string(),
                        label: measure_label(&ctx, m),
                        target: t.map_or(NONE.into(), |t| t.target.to_string()),
                        achieved: t
                            .and_then(|t| t.achieved)
                            .map_or(NONE.into(), |a| a.to_string()),
                        met: match t.and_then(|t| t.met) {
                            Some(true) => "yes".into(),
                            Some(false) => "no".into(),
                            None => String::new(),
                        },
                    }
                })
                .collect(),
            met: format!("{} / {}", q.targets_met, q.targets.len()),
            assessed: q.assessed,
            can_assess: q.quarter.parse::<Quarter>().is_ok_and(|x| x.has_started())
                && !q.targets.is_empty(),
        })
        .collect();
    let current = Quarter::current();
    let plan = [current.previous(), current, current.next()]
        .iter()
        .map(|q| q.to_string())
        .filter(|q| team.targets_for(q).is_none())
        .collect();
    let mut cards = Vec::new();
    for a in &team.assessments {
        cards.push(card_view(&state, ctx.lang, a).await?);
    }
    Ok(render(&ShowPage {
        ctx,
        team,
        can_write,
        members,
        quarters,
        plan,
        cards,
    }))
}

// ---------------------------------------------------------------------------------------------
// Targets

struct TargetField {
    measure: String,
    label: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "team_targets.html")]
struct TargetsPage {
    ctx: Ctx,
    team_id: i64,
    team_name: String,
    quarter: String,
    fields: Vec<TargetField>,
    general: Vec<String>,
}

fn targets_page(
    ctx: Ctx,
    team: &Team,
    quarter: &str,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let form_errors = FormErrors::from_fields(ctx.lang, errors);
    let fields = MEASURES
        .iter()
        .map(|m| TargetField {
            measure: m.to_string(),
            label: measure_label(&ctx, m),
            value: values.get(*m).cloned().unwrap_or_default(),
            error: form_errors.get(&format!("targets.{m}")).map(str::to_string),
        })
        .collect();
    let general = errors
        .iter()
        .filter(|e| !e.field.starts_with("targets."))
        .filter_map(|e| form_errors.get(&e.field).map(str::to_string))
        .collect();
    let page = TargetsPage {
        ctx,
        team_id: team.id,
        team_name: team.name.clone(),
        quarter: quarter.to_string(),
        fields,
        general,
    };
    with_status(render(&page), status)
}

async fn targets_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, quarter)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let team = writable_team(&state, &actor, id).await?;
    let quarter = Quarter::parse_field("quarter", &quarter)?.to_string();
    let values = team
        .targets_for(&quarter)
        .map(|q| {
            q.targets
                .iter()
                .map(|t| (t.measure.clone(), t.target.to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(targets_page(
        ctx,
        &team,
        &quarter,
        &values,
        &[],
        StatusCode::OK,
    ))
}

async fn save_targets(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, quarter)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let team = writable_team(&state, &actor, id).await?;
    let posted = Posted(pairs);
    let mut values = HashMap::new();
    let mut input = TargetsInput::default();
    let mut errors = Vec::new();
    for m in MEASURES {
        let raw = posted.get(&format!("target.{m}")).trim().to_string();
        if !raw.is_empty() {
            match raw.parse::<i64>() {
                Ok(n) => {
                    input.targets.insert(m.to_string(), n);
                }
                Err(_) => errors.push(FieldError::new(
                    format!("targets.{m}"),
                    "not_a_whole_number",
                    "must be a whole number",
                )),
            }
        }
        values.insert(m.to_string(), raw);
    }
    let result = if errors.is_empty() {
        teams::set_targets(&state.db, &actor, id, &quarter, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/teams/{id}#targets-{quarter}")).into_response()),
        Err(AppError::Conflict(message)) => Ok(targets_page(
            ctx,
            &team,
            &quarter,
            &values,
            &[FieldError::new("quarter", "conflict", message)],
            StatusCode::CONFLICT,
        )),
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            Ok(targets_page(ctx, &team, &quarter, &values, &errors, status))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assessment

fn choice_value(version_id: i64, checklist_id: &str) -> String {
    format!("{version_id}:{checklist_id}")
}

fn parse_choice(s: &str) -> Option<(i64, String)> {
    let (v, c) = s.trim().split_once(':')?;
    Some((v.parse().ok()?, c.to_string())).filter(|(_, c)| !c.is_empty())
}

/// The checklist as the assessor sees it: the targets the server fills in are not asked, but
/// shown beside the achieved count they are compared with.
fn assessor_view(ctx: &Ctx, checklist: &Checklist, team: &Team, quarter: &str) -> Checklist {
    let mut view = checklist.clone();
    let targets = team.targets_for(quarter);
    for section in &mut view.sections {
        section
            .items
            .retain(|i| !MEASURES.iter().any(|m| teams::target_item(m) == i.id));
        for item in &mut section.items {
            if let Some(m) = MEASURES.iter().find(|m| teams::achieved_item(m) == item.id) {
                let target = targets.and_then(|q| q.target(m)).map_or_else(
                    || ctx.t("team.no_target").to_string(),
                    |t| t.target.to_string(),
                );
                item.help = Some(Localized {
                    default: format!("{}: {target}", ctx.t("team.target")),
                    translations: vec![],
                });
            }
        }
    }
    view.sections.retain(|s| !s.items.is_empty());
    view
}

#[derive(Template)]
#[template(path = "team_assess.html")]
struct AssessPage {
    ctx: Ctx,
    team_id: i64,
    team_name: String,
    quarter: String,
    picker: Vec<Choice>,
    chosen: String,
    cl: Option<ChecklistForm>,
    assessed_on: String,
    assessed_on_error: Option<String>,
    revision: String,
    replacing: bool,
    general: Vec<String>,
}

struct AssessContext {
    team: Team,
    quarter: String,
    available: Vec<(i64, Checklist)>,
}

async fn assess_context(
    state: &AppState,
    actor: &Actor,
    id: i64,
    quarter: &str,
) -> Result<AssessContext, AppError> {
    let team = writable_team(state, actor, id).await?;
    let quarter = Quarter::parse_field("quarter", quarter)?.to_string();
    let available = state
        .plugins
        .checklists(Some(team.organisation_id))
        .await?
        .into_iter()
        .filter(|r| r.checklist.kind == ChecklistKind::TeamAssessment)
        .map(|r| (r.plugin_version_id, Arc::unwrap_or_clone(r.checklist)))
        .collect();
    Ok(AssessContext {
        team,
        quarter,
        available,
    })
}

fn chosen_checklist(ac: &AssessContext, asked: &str) -> Option<(i64, Checklist)> {
    let existing = ac
        .team
        .assessment_for(&ac.quarter)
        .map(|a| (a.plugin_version_id, a.checklist_id.clone()));
    let wanted = parse_choice(asked).or(existing);
    match wanted {
        Some((v, c)) => ac
            .available
            .iter()
            .find(|(x, cl)| *x == v && cl.id == c)
            .cloned()
            .or_else(|| (ac.available.len() == 1).then(|| ac.available[0].clone())),
        None if ac.available.len() == 1 => ac.available.first().cloned(),
        None => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn assess_page(
    ctx: Ctx,
    ac: &AssessContext,
    chosen: Option<&(i64, Checklist)>,
    typed: &Typed,
    assessed_on: &str,
    revision: &str,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let form_errors = FormErrors::from_fields(ctx.lang, errors);
    let chosen_value = chosen
        .map(|(v, c)| choice_value(*v, &c.id))
        .unwrap_or_default();
    let picker = ac
        .available
        .iter()
        .map(|(v, c)| Choice {
            value: choice_value(*v, &c.id),
            label: c.title.get(ctx.lang).to_string(),
            selected: choice_value(*v, &c.id) == chosen_value,
        })
        .collect();
    let cl = chosen.map(|(_, c)| {
        let view = assessor_view(&ctx, c, &ac.team, &ac.quarter);
        ChecklistForm::build(&view, ctx.lang, PREFIX, ERRORS_AT, typed, &form_errors)
    });
    let shown = |f: &str| f.starts_with("assessment.") || f == "assessed_on";
    let general = errors
        .iter()
        .filter(|e| !shown(&e.field))
        .filter_map(|e| form_errors.get(&e.field).map(str::to_string))
        .collect();
    let page = AssessPage {
        team_id: ac.team.id,
        team_name: ac.team.name.clone(),
        quarter: ac.quarter.clone(),
        picker,
        chosen: chosen_value,
        cl,
        assessed_on: assessed_on.to_string(),
        assessed_on_error: form_errors.get("assessed_on").map(str::to_string),
        revision: revision.to_string(),
        replacing: ac.team.assessment_for(&ac.quarter).is_some(),
        general,
        ctx,
    };
    with_status(render(&page), status)
}

#[derive(Debug, Default, Deserialize)]
struct AssessQuery {
    #[serde(default)]
    checklist: String,
}

async fn assess_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, quarter)): Path<(i64, String)>,
    Query(q): Query<AssessQuery>,
) -> Result<Response, AppError> {
    let ac = assess_context(&state, &actor, id, &quarter).await?;
    let chosen = chosen_checklist(&ac, &q.checklist);
    let existing = ac.team.assessment_for(&ac.quarter);
    let typed = match (existing, &chosen) {
        (Some(a), Some((v, c))) if a.plugin_version_id == *v && a.checklist_id == c.id => {
            Typed::from_responses(&a.responses)
        }
        _ => {
            // Achieved counts already recorded; 0 for measures without a target.
            let targets = ac.team.targets_for(&ac.quarter);
            let responses: Vec<ItemResponse> = MEASURES
                .iter()
                .filter_map(|m| {
                    let value = match targets.and_then(|q| q.target(m)) {
                        Some(t) => t.achieved?,
                        None => 0,
                    };
                    Some(ItemResponse {
                        item_id: teams::achieved_item(m),
                        answer: Answer::Integer(value),
                    })
                })
                .collect();
            Typed::from_responses(&responses)
        }
    };
    let assessed_on = existing.map(|a| a.assessed_on.clone()).unwrap_or_else(|| {
        chrono::Utc::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string()
    });
    let revision = existing.map(|a| a.revision.to_string()).unwrap_or_default();
    Ok(assess_page(
        ctx,
        &ac,
        chosen.as_ref(),
        &typed,
        &assessed_on,
        &revision,
        &[],
        StatusCode::OK,
    ))
}

async fn assess(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path((id, quarter)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let ac = assess_context(&state, &actor, id, &quarter).await?;
    let posted = Posted(pairs);
    let typed = Typed::from_pairs(&posted.0, PREFIX);
    let assessed_on = posted.get("assessed_on").to_string();
    let revision = posted.get("revision").to_string();
    let Some(chosen) = chosen_checklist(&ac, posted.get("checklist")) else {
        return Ok(assess_page(
            ctx,
            &ac,
            None,
            &typed,
            &assessed_on,
            &revision,
            &[FieldError::new(
                "assessment.checklist_id",
                "unknown_checklist",
                "choose a checklist",
            )],
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let view = assessor_view(&ctx, &chosen.1, &ac.team, &ac.quarter);
    let (responses, parse_errors) = checklist_form::parse(&view, &typed, ERRORS_AT);
    let input = AssessmentInput {
        assessment: Some(ChecklistInput {
            plugin_version_id: Some(chosen.0),
            checklist_id: Some(chosen.1.id.clone()),
            responses,
        }),
        assessed_on: Some(assessed_on.clone()),
        revision: revision.trim().parse().ok(),
    };
    let result = if parse_errors.is_empty() {
        teams::assess(&state.db, &state.plugins, &actor, id, &ac.quarter, &input).await
    } else {
        Err(AppError::Validation(parse_errors))
    };
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/teams/{id}#assessment-{}", a.quarter)).into_response()),
        Err(AppError::Conflict(message)) => Ok(assess_page(
            ctx,
            &ac,
            Some(&chosen),
            &typed,
            &assessed_on,
            &revision,
            &[FieldError::new("revision", "conflict", message)],
            StatusCode::CONFLICT,
        )),
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            Ok(assess_page(
                ctx,
                &ac,
                Some(&chosen),
                &typed,
                &assessed_on,
                &revision,
                &errors,
                status,
            ))
        }
    }
}
