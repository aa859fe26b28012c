//! Trainings: the list, recording a training and choosing its participants, the training page
//! (participants, attendance grid, each participant's pre/post/gain/pass, the summary), one
//! participant's pre- or post-test filled in from the plugin's checklist, attendance,
//! corrections and withdrawal. Every action goes through `domain::trainings`, which decides
//! who may; these handlers only turn forms into inputs and results into pages.
//!
//! The new-training form carries a UUID the server generated when it rendered the form, so a
//! double submit or a refresh stores one training (the API's offline-safe contract).
//! Participants are chosen with checkboxes under a search box; the search button re-renders
//! the same form with everything typed kept, so no JavaScript is needed.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::checklist_form::{self, ChecklistForm, Typed};
use super::forms::{choices, search_link};
use super::{Choice, Ctx, FormErrors, SignedIn, render};
use crate::authz::Actor;
use crate::config::AppState;
use crate::domain::providers::{self, ProviderFilter};
use crate::domain::scoring::{self, ChecklistInput, Observation};
use crate::domain::trainings::{
    self, Created, ParticipantInput, Rescore, Training, TrainingCorrectionInput, TrainingFilter,
    TrainingInput, TrainingSummary, WithdrawInput,
};
use crate::domain::{Page, PageParams, org_units};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};
use crate::plugins::model::{Checklist, ChecklistKind};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/trainings", get(list).post(create))
        .route("/trainings/new", get(new_form))
        .route("/trainings/{id}", get(show).post(correct))
        .route("/trainings/{id}/edit", get(edit_form))
        .route("/trainings/{id}/test", get(test_form).post(record_test))
        .route(
            "/trainings/{id}/attendance",
            get(attendance_form).post(save_attendance),
        )
        .route(
            "/trainings/{id}/withdraw",
            get(withdraw_form).post(withdraw),
        )
}

/// How many providers a participant search shows at once.
const SEARCH_RESULTS: i64 = 50;
/// The form-name prefix of a test's checklist fields: `t.r.<item_id>`.
const TEST_PREFIX: &str = "t";
/// Where the domain reports a test's problems: `test.responses.<item_id>`.
const TEST_ERRORS_AT: &str = "test";

// ---------------------------------------------------------------------------------------------
// Shared bits

/// A field error in the user's language, the way `FormErrors` words it.
fn message(lang: Lang, e: &FieldError) -> String {
    let key = format!("error.{}", e.code);
    if i18n::has(Lang::En, &key) {
        i18n::t(lang, &key).to_string()
    } else {
        e.message.clone()
    }
}

/// Splits an error into field errors for a form and the status to answer with; anything that
/// is not about fields is passed on.
fn field_errors(e: AppError) -> Result<(Vec<FieldError>, StatusCode), AppError> {
    match e {
        AppError::Validation(errs) => Ok((errs, StatusCode::UNPROCESSABLE_ENTITY)),
        AppError::ScoringFailed(errs) => Ok((errs, StatusCode::SERVICE_UNAVAILABLE)),
        other => Err(other),
    }
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

const NONE: &str = "–";

fn percent(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite())
        .map(|x| format!("{}%", number(x)))
        .unwrap_or_else(|| NONE.into())
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", number(x))
    } else {
        number(x)
    }
}

fn place(t: &TrainingSummary) -> String {
    t.facility_name
        .clone()
        .or_else(|| t.venue.clone())
        .unwrap_or_default()
}

fn status_label(ctx: &Ctx, status: &str) -> &'static str {
    ctx.tk("training.status", status)
}

fn phase_label(ctx: &Ctx, phase: &str) -> &'static str {
    ctx.tk("training.phase", phase)
}

/// A day as the attendance grid's column heads show it: `03-14`.
fn short_day(day: &str) -> String {
    day.get(5..).unwrap_or(day).to_string()
}

async fn readable(state: &AppState, actor: &Actor, id: &str) -> Result<Training, AppError> {
    trainings::get(&state.db, actor, id).await
}

/// A training the actor may change now; others' are "not found", one the actor may only read
/// is forbidden.
async fn changeable(state: &AppState, actor: &Actor, id: &str) -> Result<Training, AppError> {
    let t = readable(state, actor, id).await?;
    if !trainings::can_change(&state.db, actor, &t.summary.id, &state.config.programme).await? {
        return Err(AppError::Forbidden);
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// The list

/// The list's search as its filter form sends it; the downloads take the same, so a
/// download link carries the page's filters unchanged.
#[derive(Deserialize, Default, Clone)]
pub(super) struct ListQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

impl ListQuery {
    pub(super) fn filter(&self) -> TrainingFilter {
        TrainingFilter {
            from: Some(self.from.clone()),
            to: Some(self.to.clone()),
            status: Some(self.status.clone()),
            ..Default::default()
        }
    }

    fn link(&self, path: &str, page: Option<i64>) -> String {
        let search = [
            ("from", self.from.as_str()),
            ("to", &self.to),
            ("status", &self.status),
        ];
        search_link(path, &search, page)
    }
}

struct ListRow {
    id: String,
    title: String,
    dates: String,
    place: String,
    participants: i64,
    status: String,
    status_label: &'static str,
}

#[derive(Template)]
#[template(path = "training_list.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<ListRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: ListQuery,
    errors: FormErrors,
    status_choices: Vec<Choice>,
    can_create: bool,
}

impl ListPage {
    fn page_link(&self, page: i64) -> String {
        self.q.link("/trainings", Some(page))
    }

    /// This search as a download (`csv` or `xlsx`): every page of it.
    fn export_link(&self, extension: &str) -> String {
        self.q.link(&format!("/trainings/export.{extension}"), None)
    }
}

fn dates(t: &TrainingSummary) -> String {
    if t.start_date == t.end_date {
        t.start_date.clone()
    } else {
        format!("{} → {}", t.start_date, t.end_date)
    }
}

async fn list(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter();
    let paging = PageParams {
        page: q.page,
        per_page: Some(25),
    };
    let (page, errors) = match trainings::list(&state.db, &actor, &filter, &paging).await {
        Ok(p) => (p, FormErrors::default()),
        Err(e) => (
            Page {
                items: vec![],
                total: 0,
                page: 1,
                per_page: 25,
            },
            FormErrors::from_error(ctx.lang, e)?,
        ),
    };
    let status_choices = choices(
        ["recorded", "withdrawn", "all"]
            .iter()
            .map(|s| (s.to_string(), status_label(&ctx, s))),
        if q.status.is_empty() {
            "recorded"
        } else {
            &q.status
        },
    );
    let rows = page
        .items
        .iter()
        .map(|t| ListRow {
            id: t.id.clone(),
            title: t.title.clone(),
            dates: dates(t),
            place: place(t),
            participants: t.participants,
            status: t.status.clone(),
            status_label: status_label(&ctx, &t.status),
        })
        .collect();
    let failed = !errors.is_empty();
    let mut response = render(&ListPage {
        rows,
        total: page.total,
        page: page.page,
        pages: page.pages(),
        q,
        errors,
        status_choices,
        can_create: actor.can_write_org_records(actor.organisation_id),
        ctx,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Recording and correcting a training

/// The training form as posted.
#[derive(Clone, Debug, Default)]
struct Draft {
    id: String,
    title: String,
    start_date: String,
    end_date: String,
    venue: String,
    facility_id: String,
    facilitators: String,
    /// The participant search.
    q: String,
    participants: Vec<i64>,
    reason: String,
    rescore: String,
    /// `search` re-renders the form; anything else saves.
    action: String,
}

impl Draft {
    fn from_pairs(pairs: &[(String, String)]) -> Draft {
        let mut d = Draft::default();
        for (k, v) in pairs {
            match k.as_str() {
                "id" => d.id = v.clone(),
                "title" => d.title = v.clone(),
                "start_date" => d.start_date = v.clone(),
                "end_date" => d.end_date = v.clone(),
                "venue" => d.venue = v.clone(),
                "facility_id" => d.facility_id = v.clone(),
                "facilitators" => d.facilitators = v.clone(),
                "q" => d.q = v.clone(),
                "reason" => d.reason = v.clone(),
                "rescore" => d.rescore = v.clone(),
                "action" => d.action = v.clone(),
                "participant" => {
                    if let Ok(id) = v.trim().parse::<i64>()
                        && !d.participants.contains(&id)
                    {
                        d.participants.push(id);
                    }
                }
                _ => {}
            }
        }
        d
    }

    fn from_training(t: &Training) -> Draft {
        let s = &t.summary;
        Draft {
            id: s.id.clone(),
            title: s.title.clone(),
            start_date: s.start_date.clone(),
            end_date: s.end_date.clone(),
            venue: s.venue.clone().unwrap_or_default(),
            facility_id: s.facility_id.map(|f| f.to_string()).unwrap_or_default(),
            facilitators: s.facilitators.clone(),
            participants: t.participant_list.iter().map(|p| p.provider_id).collect(),
            rescore: "pinned".into(),
            ..Default::default()
        }
    }

    fn searching(&self) -> bool {
        self.action == "search"
    }

    /// The training's own fields as an input; a facility that is not a number is a field error.
    fn fields(&self, errors: &mut Vec<FieldError>) -> TrainingInput {
        let facility_id = super::forms::parse_id(&self.facility_id, "facility_id", errors);
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        TrainingInput {
            id: text(&self.id),
            title: Some(self.title.clone()),
            start_date: Some(self.start_date.clone()),
            end_date: Some(self.end_date.clone()),
            venue: text(&self.venue),
            facility_id,
            facilitators: Some(self.facilitators.clone()),
            participants: Vec::new(),
        }
    }

    fn new_input(&self, errors: &mut Vec<FieldError>) -> TrainingInput {
        let mut input = self.fields(errors);
        input.participants = self
            .participants
            .iter()
            .map(|id| ParticipantInput {
                provider_id: Some(*id),
                ..Default::default()
            })
            .collect();
        input
    }

    /// The correction of `current`: its participants kept with their attendance (days outside
    /// the new dates dropped, as the form says) and tests, new ones added.
    fn correction(
        &self,
        current: &Training,
        errors: &mut Vec<FieldError>,
    ) -> TrainingCorrectionInput {
        let mut input = self.fields(errors);
        input.id = Some(current.summary.id.clone());
        let kept = current.to_input().participants;
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let range = day(&self.start_date).zip(day(&self.end_date));
        input.participants = self
            .participants
            .iter()
            .map(|id| {
                let mut p = kept
                    .iter()
                    .find(|p| p.provider_id == Some(*id))
                    .cloned()
                    .unwrap_or_else(|| ParticipantInput {
                        provider_id: Some(*id),
                        ..Default::default()
                    });
                if let Some((start, end)) = range {
                    p.attendance
                        .retain(|d| day(d).is_some_and(|d| d >= start && d <= end));
                }
                p
            })
            .collect();
        TrainingCorrectionInput {
            training: input,
            rescore: if self.rescore == "current" {
                Rescore::Current
            } else {
                Rescore::Pinned
            },
            reason: Some(self.reason.clone()),
        }
    }
}

/// A provider offered as a participant.
struct Candidate {
    id: i64,
    name: String,
    detail: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "training_form.html")]
struct FormPage {
    ctx: Ctx,
    /// `None` when recording a new training.
    training_id: Option<String>,
    draft: Draft,
    errors: FormErrors,
    /// Problems not shown next to a field.
    general: Vec<String>,
    /// A different training was already saved from this form.
    conflict: Option<String>,
    facility_choices: Vec<Choice>,
    rescore_choices: Vec<Choice>,
    candidates: Vec<Candidate>,
    /// More providers match the search than are shown.
    more: bool,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.training_id {
            Some(id) => format!("/trainings/{id}"),
            None => "/trainings".into(),
        }
    }
}

const FORM_FIELDS: [&str; 7] = [
    "title",
    "start_date",
    "end_date",
    "venue",
    "facility_id",
    "facilitators",
    "reason",
];

/// Errors away from the form's own fields (participants, their attendance and tests), named
/// by the participant they concern.
fn general_errors(
    ctx: &Ctx,
    errors: &[FieldError],
    ids: &[i64],
    names: &BTreeMap<i64, String>,
) -> Vec<String> {
    errors
        .iter()
        .filter(|e| !FORM_FIELDS.contains(&e.field.as_str()))
        .map(|e| {
            let who = e
                .field
                .strip_prefix("participants[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| ids.get(n))
                .map(|id| names.get(id).cloned().unwrap_or_else(|| format!("#{id}")));
            let what = if e.field.contains("pre_test") {
                Some(phase_label(ctx, "pre"))
            } else if e.field.contains("post_test") {
                Some(phase_label(ctx, "post"))
            } else if e.field.contains("attendance") {
                Some(ctx.t("training.attendance"))
            } else {
                None
            };
            let label = match (who, what) {
                (Some(w), Some(x)) => format!("{w} · {x}"),
                (Some(w), None) => w,
                (None, _) if e.field.starts_with("participants") => {
                    ctx.t("training.participants").to_string()
                }
                (None, _) => e.field.clone(),
            };
            format!("{label}: {}", message(ctx.lang, e))
        })
        .collect()
}

struct FormState {
    training_id: Option<String>,
    organisation_id: i64,
    /// Names of the participants already stored (a correction), to label them without a lookup.
    known: BTreeMap<i64, (String, String)>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    fs: FormState,
    draft: Draft,
    errors: Vec<FieldError>,
    status: StatusCode,
    conflict: Option<String>,
) -> Result<Response, AppError> {
    // The ticked participants first, then the search's other matches.
    let mut candidates = Vec::new();
    for id in &draft.participants {
        let (name, detail) = match fs.known.get(id) {
            Some(known) => known.clone(),
            None => match providers::get(&state.db, actor, *id).await {
                Ok(p) => (
                    p.name,
                    format!("{} · {}", ctx.tk("cadre", &p.cadre), p.facility_name),
                ),
                Err(AppError::NotFound) => (format!("#{id}"), String::new()),
                Err(e) => return Err(e),
            },
        };
        candidates.push(Candidate {
            id: *id,
            name,
            detail,
            checked: true,
        });
    }
    let found = providers::list(
        &state.db,
        actor,
        &ProviderFilter {
            q: Some(draft.q.clone()),
            organisation_id: Some(fs.organisation_id),
            ..Default::default()
        },
        &PageParams {
            page: Some(1),
            per_page: Some(SEARCH_RESULTS),
        },
    )
    .await?;
    let more = found.total > found.items.len() as i64;
    for p in found.items {
        if p.active == 0 || draft.participants.contains(&p.id) {
            continue;
        }
        candidates.push(Candidate {
            id: p.id,
            detail: format!("{} · {}", ctx.tk("cadre", &p.cadre), p.facility_name),
            name: p.name,
            checked: false,
        });
    }
    let names: BTreeMap<i64, String> = candidates.iter().map(|c| (c.id, c.name.clone())).collect();
    let general = general_errors(&ctx, &errors, &draft.participants, &names);
    let form_errors = FormErrors::from_fields(ctx.lang, &errors);
    let mut facility_choices = choices(
        org_units::facility_choices(&state.db, None).await?,
        &draft.facility_id,
    );
    facility_choices.insert(
        0,
        Choice {
            value: String::new(),
            label: ctx.t("training.no_facility").into(),
            selected: draft.facility_id.is_empty(),
        },
    );
    let rescore_choices = choices(
        [
            ("pinned", ctx.t("training.rescore.pinned")),
            ("current", ctx.t("training.rescore.current")),
        ],
        if draft.rescore == "current" {
            "current"
        } else {
            "pinned"
        },
    );
    let mut response = render(&FormPage {
        ctx,
        training_id: fs.training_id,
        draft,
        errors: form_errors,
        general,
        conflict,
        facility_choices,
        rescore_choices,
        candidates,
        more,
    });
    *response.status_mut() = status;
    Ok(response)
}

fn new_state(actor: &Actor) -> FormState {
    FormState {
        training_id: None,
        organisation_id: actor.organisation_id,
        known: BTreeMap::new(),
    }
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let draft = Draft {
        id: scoring::new_uuid()?,
        ..Default::default()
    };
    let fs = new_state(&actor);
    form_page(&state, ctx, &actor, fs, draft, vec![], StatusCode::OK, None).await
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    if !actor.can_write_org_records(actor.organisation_id) {
        return Err(AppError::Forbidden);
    }
    let draft = Draft::from_pairs(&pairs);
    let fs = new_state(&actor);
    if draft.searching() {
        return form_page(&state, ctx, &actor, fs, draft, vec![], StatusCode::OK, None).await;
    }
    let mut errors = Vec::new();
    let input = draft.new_input(&mut errors);
    let result = if errors.is_empty() {
        trainings::create(&state.db, &state.plugins, &actor, &input).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(Created::New(t) | Created::Existing(t)) => {
            Ok(Redirect::to(&format!("/trainings/{}", t.summary.id)).into_response())
        }
        Err(AppError::Conflict(_)) => {
            let link = format!("/trainings/{}", draft.id.trim().to_ascii_lowercase());
            form_page(
                &state,
                ctx,
                &actor,
                fs,
                draft,
                vec![],
                StatusCode::CONFLICT,
                Some(link),
            )
            .await
        }
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            form_page(&state, ctx, &actor, fs, draft, errors, status, None).await
        }
    }
}

fn edit_state(t: &Training, ctx: &Ctx) -> FormState {
    FormState {
        training_id: Some(t.summary.id.clone()),
        organisation_id: t.summary.organisation_id,
        known: t
            .participant_list
            .iter()
            .map(|p| {
                (
                    p.provider_id,
                    (
                        p.name.clone(),
                        format!("{} · {}", ctx.tk("cadre", &p.cadre), p.facility_name),
                    ),
                )
            })
            .collect(),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = changeable(&state, &actor, &id).await?;
    let fs = edit_state(&t, &ctx);
    let draft = Draft::from_training(&t);
    form_page(&state, ctx, &actor, fs, draft, vec![], StatusCode::OK, None).await
}

async fn correct(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let t = changeable(&state, &actor, &id).await?;
    let fs = edit_state(&t, &ctx);
    let draft = Draft::from_pairs(&pairs);
    if draft.searching() {
        return form_page(&state, ctx, &actor, fs, draft, vec![], StatusCode::OK, None).await;
    }
    let mut errors = Vec::new();
    let input = draft.correction(&t, &mut errors);
    let result = if errors.is_empty() {
        trainings::correct(
            &state.db,
            &state.plugins,
            &state.config.programme,
            &actor,
            &t.summary.id,
            &input,
        )
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(t) => Ok(Redirect::to(&format!("/trainings/{}", t.summary.id)).into_response()),
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            form_page(&state, ctx, &actor, fs, draft, errors, status, None).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The training page

struct Row {
    provider_id: i64,
    name: String,
    cadre: &'static str,
    facility: String,
    days_attended: i64,
    pre: String,
    post: String,
    gain: String,
    relative: String,
    /// `pass`, `fail` or empty.
    verdict: &'static str,
    verdict_label: &'static str,
    /// Attended on each day of the training, in order.
    marks: Vec<bool>,
}

struct SummaryView {
    participants: i64,
    mean_pre: String,
    mean_post: String,
    mean_gain: String,
    pass_rate: String,
    passed_of: String,
    attendance_rate: String,
}

#[derive(Template)]
#[template(path = "training.html")]
struct ShowPage {
    ctx: Ctx,
    t: TrainingSummary,
    withdrawn_reason: Option<String>,
    withdrawn_at: Option<String>,
    place: String,
    status_label: &'static str,
    can_change: bool,
    rows: Vec<Row>,
    day_heads: Vec<(String, String)>,
    summary: SummaryView,
}

fn rows(ctx: &Ctx, t: &Training) -> Vec<Row> {
    t.participant_list
        .iter()
        .map(|p| {
            let (verdict, verdict_label) = match p.passed {
                Some(true) => ("pass", ctx.t("training.passed")),
                Some(false) => ("fail", ctx.t("training.failed")),
                None => ("", NONE),
            };
            Row {
                provider_id: p.provider_id,
                name: p.name.clone(),
                cadre: ctx.tk("cadre", &p.cadre),
                facility: p.facility_name.clone(),
                days_attended: p.days_attended,
                pre: percent(p.pre_percentage),
                post: percent(p.post_percentage),
                gain: p.gain_points.map(signed).unwrap_or_else(|| NONE.into()),
                relative: p
                    .relative_gain
                    .map(|r| format!("{}%", signed(r * 100.0)))
                    .unwrap_or_else(|| NONE.into()),
                verdict,
                verdict_label,
                marks: t.days.iter().map(|d| p.attendance.contains(d)).collect(),
            }
        })
        .collect()
}

fn summary_view(t: &Training) -> SummaryView {
    let r = &t.results;
    SummaryView {
        participants: r.participants,
        mean_pre: percent(r.mean_pre),
        mean_post: percent(r.mean_post),
        mean_gain: r.mean_gain.map(signed).unwrap_or_else(|| NONE.into()),
        pass_rate: percent(r.pass_rate),
        passed_of: format!("{} / {}", r.passed, r.post_tested),
        attendance_rate: percent(r.attendance_rate),
    }
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = readable(&state, &actor, &id).await?;
    let can_change =
        trainings::can_change(&state.db, &actor, &t.summary.id, &state.config.programme).await?;
    let day_heads = t.days.iter().map(|d| (d.clone(), short_day(d))).collect();
    Ok(render(&ShowPage {
        rows: rows(&ctx, &t),
        summary: summary_view(&t),
        place: place(&t.summary),
        status_label: status_label(&ctx, &t.summary.status),
        day_heads,
        can_change,
        withdrawn_reason: t.withdrawn_reason,
        withdrawn_at: t.withdrawn_at,
        t: t.summary,
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// One participant's test

#[derive(Deserialize, Default)]
struct TestQuery {
    #[serde(default)]
    provider_id: String,
    #[serde(default)]
    phase: String,
    /// `<plugin_version_id>:<checklist_id>`
    #[serde(default)]
    checklist: String,
}

#[derive(Template)]
#[template(path = "training_test.html")]
struct TestPage {
    ctx: Ctx,
    training_id: String,
    training_title: String,
    participant: String,
    provider_id: i64,
    phase: String,
    phase_label: &'static str,
    /// The training-test checklists the organisation may use, for choosing one.
    picker: Vec<Choice>,
    /// The chosen checklist as `<plugin_version_id>:<checklist_id>`.
    chosen: String,
    cl: Option<ChecklistForm>,
    /// The participant already has this test: saving replaces it.
    replacing: bool,
    general: Vec<String>,
}

fn choice_value(version_id: i64, checklist_id: &str) -> String {
    format!("{version_id}:{checklist_id}")
}

fn parse_choice(s: &str) -> Option<(i64, String)> {
    let (v, c) = s.trim().split_once(':')?;
    Some((v.parse().ok()?, c.to_string())).filter(|(_, c)| !c.is_empty())
}

/// The checklist a test is filled on: the one asked for (active and usable, or the version the
/// stored test was scored with), else the stored test's, else the only training test there is.
async fn resolve_checklist(
    state: &AppState,
    organisation_id: i64,
    existing: Option<&Observation>,
    asked: &str,
    available: &[(i64, Checklist)],
) -> Result<Option<(i64, Checklist)>, AppError> {
    let pinned = existing.map(|o| (o.plugin_version_id, o.checklist_id.clone()));
    let wanted = match parse_choice(asked) {
        Some(c) => Some(c),
        None if !asked.trim().is_empty() => return Ok(None),
        None => pinned.clone(),
    };
    match wanted {
        Some((v, c)) if pinned.as_ref() == Some(&(v, c.clone())) => Ok(state
            .plugins
            .stored_checklist(v, &c)
            .await?
            .map(|cl| (v, cl))),
        Some((v, c)) => Ok(state
            .plugins
            .usable_checklist(organisation_id, v, &c)
            .await?
            .filter(|r| r.checklist.kind == ChecklistKind::TrainingTest)
            .map(|r| (v, Arc::unwrap_or_clone(r.checklist)))),
        None if available.len() == 1 => Ok(available.first().cloned()),
        None => Ok(None),
    }
}

struct TestContext {
    t: Training,
    provider_id: i64,
    phase: &'static str,
    participant: String,
    available: Vec<(i64, Checklist)>,
}

async fn test_context(
    state: &AppState,
    actor: &Actor,
    id: &str,
    provider_id: &str,
    phase: &str,
) -> Result<TestContext, AppError> {
    let t = changeable(state, actor, id).await?;
    let phase = trainings::PHASES
        .iter()
        .copied()
        .find(|p| *p == phase)
        .ok_or(AppError::NotFound)?;
    let provider_id: i64 = provider_id.trim().parse().map_err(|_| AppError::NotFound)?;
    let participant = t
        .participant_list
        .iter()
        .find(|p| p.provider_id == provider_id)
        .map(|p| p.name.clone())
        .ok_or(AppError::NotFound)?;
    let available = state
        .plugins
        .checklists(Some(t.summary.organisation_id))
        .await?
        .into_iter()
        .filter(|r| r.checklist.kind == ChecklistKind::TrainingTest)
        .map(|r| (r.plugin_version_id, Arc::unwrap_or_clone(r.checklist)))
        .collect();
    Ok(TestContext {
        t,
        provider_id,
        phase,
        participant,
        available,
    })
}

#[allow(clippy::too_many_arguments)]
fn test_page(
    ctx: Ctx,
    tc: &TestContext,
    chosen: Option<&(i64, Checklist)>,
    asked: &str,
    typed: &Typed,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let existing = tc.t.test(tc.provider_id, tc.phase);
    let chosen_value = chosen
        .map(|(v, c)| choice_value(*v, &c.id))
        .unwrap_or_else(|| asked.to_string());
    let mut picker: Vec<Choice> = tc
        .available
        .iter()
        .map(|(v, c)| Choice {
            value: choice_value(*v, &c.id),
            label: c.title.get(ctx.lang).to_string(),
            selected: choice_value(*v, &c.id) == chosen_value,
        })
        .collect();
    if let Some((v, c)) = chosen
        && !picker.iter().any(|p| p.value == choice_value(*v, &c.id))
    {
        // The version the stored test was scored with, no longer active.
        picker.insert(
            0,
            Choice {
                value: choice_value(*v, &c.id),
                label: c.title.get(ctx.lang).to_string(),
                selected: true,
            },
        );
    }
    let form_errors = FormErrors::from_fields(ctx.lang, errors);
    let cl = chosen.map(|(_, c)| {
        ChecklistForm::build(
            c,
            ctx.lang,
            TEST_PREFIX,
            TEST_ERRORS_AT,
            typed,
            &form_errors,
        )
    });
    let item_error = |f: &str| {
        f.starts_with(&format!("{TEST_ERRORS_AT}.responses."))
            || (cl.is_some()
                && ["checklist_id", "plugin_version_id", "responses"]
                    .iter()
                    .any(|x| f == format!("{TEST_ERRORS_AT}.{x}")))
    };
    let mut general: Vec<String> = errors
        .iter()
        .filter(|e| !item_error(&e.field))
        .map(|e| message(ctx.lang, e))
        .collect();
    if chosen.is_none() && !asked.trim().is_empty() {
        general.push(i18n::t(ctx.lang, "error.unknown_checklist").to_string());
    }
    let mut response = render(&TestPage {
        training_id: tc.t.summary.id.clone(),
        training_title: tc.t.summary.title.clone(),
        participant: tc.participant.clone(),
        provider_id: tc.provider_id,
        phase: tc.phase.to_string(),
        phase_label: phase_label(&ctx, tc.phase),
        picker,
        chosen: chosen_value,
        cl,
        replacing: existing.is_some(),
        general,
        ctx,
    });
    *response.status_mut() = status;
    response
}

async fn test_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<TestQuery>,
) -> Result<Response, AppError> {
    let tc = test_context(&state, &actor, &id, &q.provider_id, &q.phase).await?;
    let existing = tc.t.test(tc.provider_id, tc.phase);
    let chosen = resolve_checklist(
        &state,
        tc.t.summary.organisation_id,
        existing,
        &q.checklist,
        &tc.available,
    )
    .await?;
    // Pre-fill with the stored answers when the same checklist is shown again.
    let typed = match (existing, &chosen) {
        (Some(o), Some((v, c))) if o.plugin_version_id == *v && o.checklist_id == c.id => {
            Typed::from_responses(&o.responses)
        }
        _ => Typed::default(),
    };
    let status = if chosen.is_none() && !q.checklist.trim().is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(test_page(
        ctx,
        &tc,
        chosen.as_ref(),
        &q.checklist,
        &typed,
        &[],
        status,
    ))
}

async fn record_test(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let tc = test_context(&state, &actor, &id, value("provider_id"), value("phase")).await?;
    let asked = value("checklist");
    let existing = tc.t.test(tc.provider_id, tc.phase);
    let chosen = resolve_checklist(
        &state,
        tc.t.summary.organisation_id,
        existing,
        asked,
        &tc.available,
    )
    .await?;
    let typed = Typed::from_pairs(&pairs, TEST_PREFIX);
    let Some((version_id, checklist)) = chosen.as_ref() else {
        return Ok(test_page(
            ctx,
            &tc,
            None,
            asked,
            &typed,
            &[FieldError::new(
                "test.checklist_id",
                "unknown_checklist",
                "choose a checklist",
            )],
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let (responses, parse_errors) = checklist_form::parse(checklist, &typed, TEST_ERRORS_AT);
    if !parse_errors.is_empty() {
        return Ok(test_page(
            ctx,
            &tc,
            chosen.as_ref(),
            asked,
            &typed,
            &parse_errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let input = ChecklistInput {
        plugin_version_id: Some(*version_id),
        checklist_id: Some(checklist.id.clone()),
        responses,
    };
    match trainings::record_test(
        &state.db,
        &state.plugins,
        &state.config.programme,
        &actor,
        &tc.t.summary.id,
        tc.provider_id,
        tc.phase,
        &input,
    )
    .await
    {
        Ok(t) => Ok(Redirect::to(&format!(
            "/trainings/{}#participant-{}",
            t.summary.id, tc.provider_id
        ))
        .into_response()),
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            Ok(test_page(
                ctx,
                &tc,
                chosen.as_ref(),
                asked,
                &typed,
                &errors,
                status,
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attendance

struct Cell {
    value: String,
    checked: bool,
    /// The day has come: attendance can be ticked.
    open: bool,
}

struct AttendanceRow {
    name: String,
    cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "training_attendance.html")]
struct AttendancePage {
    ctx: Ctx,
    training_id: String,
    training_title: String,
    day_heads: Vec<(String, String)>,
    rows: Vec<AttendanceRow>,
    general: Vec<String>,
}

fn attendance_page(
    ctx: Ctx,
    t: &Training,
    ticked: &BTreeMap<i64, Vec<String>>,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let today = crate::domain::sessions::latest_allowed_date()
        .format("%Y-%m-%d")
        .to_string();
    let rows = t
        .participant_list
        .iter()
        .map(|p| AttendanceRow {
            name: p.name.clone(),
            cells: t
                .days
                .iter()
                .map(|d| Cell {
                    value: format!("{}:{d}", p.provider_id),
                    checked: ticked
                        .get(&p.provider_id)
                        .is_some_and(|days| days.contains(d)),
                    open: *d <= today,
                })
                .collect(),
        })
        .collect();
    let general = errors.iter().map(|e| message(ctx.lang, e)).collect();
    let mut response = render(&AttendancePage {
        training_id: t.summary.id.clone(),
        training_title: t.summary.title.clone(),
        day_heads: t.days.iter().map(|d| (d.clone(), short_day(d))).collect(),
        rows,
        general,
        ctx,
    });
    *response.status_mut() = status;
    response
}

async fn attendance_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = changeable(&state, &actor, &id).await?;
    let ticked = t
        .participant_list
        .iter()
        .map(|p| (p.provider_id, p.attendance.clone()))
        .collect();
    Ok(attendance_page(ctx, &t, &ticked, &[], StatusCode::OK))
}

async fn save_attendance(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let t = changeable(&state, &actor, &id).await?;
    // Every participant is listed, so one with nothing ticked keeps no days.
    let mut ticked: BTreeMap<i64, Vec<String>> = t
        .participant_list
        .iter()
        .map(|p| (p.provider_id, Vec::new()))
        .collect();
    for (k, v) in &pairs {
        if k != "a" {
            continue;
        }
        if let Some((pid, day)) = v.split_once(':')
            && let Ok(pid) = pid.trim().parse::<i64>()
        {
            ticked.entry(pid).or_default().push(day.trim().to_string());
        }
    }
    let days: Vec<(i64, Vec<String>)> = ticked.clone().into_iter().collect();
    match trainings::set_attendance(
        &state.db,
        &state.config.programme,
        &actor,
        &t.summary.id,
        &days,
    )
    .await
    {
        Ok(t) => {
            Ok(Redirect::to(&format!("/trainings/{}#attendance", t.summary.id)).into_response())
        }
        Err(e) => {
            let (errors, status) = field_errors(e)?;
            Ok(attendance_page(ctx, &t, &ticked, &errors, status))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Withdrawal

#[derive(Template)]
#[template(path = "training_withdraw.html")]
struct WithdrawPage {
    ctx: Ctx,
    training_id: String,
    training_title: String,
    reason: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

async fn withdraw_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = changeable(&state, &actor, &id).await?;
    Ok(render(&WithdrawPage {
        ctx,
        training_id: t.summary.id,
        training_title: t.summary.title,
        reason: String::new(),
        errors: FormErrors::default(),
    }))
}

async fn withdraw(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, AppError> {
    let t = readable(&state, &actor, &id).await?;
    let input = WithdrawInput {
        reason: Some(form.reason.clone()),
    };
    match trainings::withdraw(
        &state.db,
        &state.config.programme,
        &actor,
        &t.summary.id,
        &input,
    )
    .await
    {
        Ok(t) => Ok(Redirect::to(&format!("/trainings/{}", t.summary.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            let mut response = render(&WithdrawPage {
                ctx,
                training_id: t.summary.id,
                training_title: t.summary.title,
                reason: form.reason,
                errors,
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
