//! Mentorship sessions: the list, the two-step logging form (the session and its mentees,
//! then one checklist per observed mentee), the scored result, corrections and withdrawal.
//!
//! The form works without JavaScript. Step 1 puts a UUID the server generated in a hidden
//! field and every later post carries it on, so a double-click or a refresh of the final
//! post re-sends the same id: the domain answers with the session already stored, and the
//! page redirects to it instead of logging a second one.
//!
//! Field names: step 1 posts `facility_id`, `date`, `session_type`, `topic`,
//! `duration_minutes`, one `mentee` per ticked provider and `checklist.<provider_id>` =
//! `<plugin_version_id>:<checklist_id>` for each observed one. Step 2 adds the answers of
//! observation `n` as `o<n>.r.<item_id>` (see `checklist_form`), `notes` and `action_points`.
//! Going back from step 2 to step 1 keeps the answers as `k<provider_id>.r.<item_id>` with
//! `k<provider_id>.c` naming their checklist, so they follow the mentee, not a position.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::checklist_form::{ChecklistForm, Typed};
use super::forms::{choices, coded_choices, parse_id, search_link};
use super::{Choice, Ctx, FormErrors, SignedIn, checklist_form, render};
use crate::authz::{Actor, Role};
use crate::config::AppState;
use crate::domain::providers::{self, CADRES, ProviderFilter, ProviderInput, SEXES};
use crate::domain::scoring::{self, Observation};
use crate::domain::sessions::{
    self, CorrectionInput, Created, ObservationInput, Rescore, SESSION_TYPES, Session,
    SessionFilter, SessionInput, SessionSummary, WithdrawInput,
};
use crate::domain::{Page, PageParams, assignments, org_units};
use crate::error::{AppError, FieldError};
use crate::i18n::{self, Lang};
use crate::plugins::model::{Answer, Checklist, Signal};
use crate::plugins::registry::ChecklistRef;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list).post(create))
        .route("/sessions/new", get(new_form).post(new_step))
        .route("/sessions/{id}", get(show).post(correct))
        .route("/sessions/{id}/edit", get(edit_form).post(edit_step))
        .route("/sessions/{id}/withdraw", get(withdraw_form).post(withdraw))
}

// ---------------------------------------------------------------------------------------------
// Errors shown on the forms

/// A field error in the user's language, the way `FormErrors` words it.
fn message(lang: Lang, e: &FieldError) -> String {
    let key = format!("error.{}", e.code);
    if i18n::has(Lang::En, &key) {
        i18n::t(lang, &key).to_string()
    } else {
        e.message.clone()
    }
}

/// The label of a session field, for errors listed away from their field.
fn field_label(ctx: &Ctx, field: &str) -> String {
    let key = match field {
        "facility_id" => "session.facility",
        "date" => "session.date",
        "session_type" => "session.type",
        "topic" => "session.topic",
        "duration_minutes" => "session.duration",
        "notes" => "session.notes",
        "action_points" => "session.action_points",
        "reason" => "session.correction_reason",
        f if f.starts_with("mentee_ids") || f.ends_with(".provider_id") => "session.mentees",
        f if f.starts_with("observations") => "session.observations",
        _ => return field.to_string(),
    };
    ctx.t(key).to_string()
}

/// Errors not shown next to a field of the page, as "Field: message" lines.
fn general(ctx: &Ctx, errors: &[FieldError], shown: impl Fn(&str) -> bool) -> Vec<String> {
    errors
        .iter()
        .filter(|e| !shown(&e.field))
        .map(|e| format!("{}: {}", field_label(ctx, &e.field), message(ctx.lang, e)))
        .collect()
}

fn status_of(errors: &[FieldError], scoring_failed: bool) -> StatusCode {
    if scoring_failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

// ---------------------------------------------------------------------------------------------
// The list

/// The list's search as its filter form sends it; the downloads take the same, so a
/// download link carries the page's filters unchanged.
#[derive(Deserialize, Default, Clone)]
pub(super) struct ListQuery {
    #[serde(default)]
    facility_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `<plugin_key>:<checklist_id>`
    #[serde(default)]
    checklist: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

impl ListQuery {
    pub(super) fn filter(&self) -> SessionFilter {
        let (plugin_key, checklist_id) = match self.checklist.split_once(':') {
            Some((k, c)) => (Some(k.to_string()), Some(c.to_string())),
            None => (None, None),
        };
        SessionFilter {
            facility_id: self.facility_id.trim().parse().ok(),
            checklist_id,
            plugin_key,
            from: Some(self.from.clone()),
            to: Some(self.to.clone()),
            status: Some(self.status.clone()),
            ..Default::default()
        }
    }

    fn link(&self, path: &str, page: Option<i64>) -> String {
        let search = [
            ("facility_id", self.facility_id.as_str()),
            ("from", &self.from),
            ("to", &self.to),
            ("checklist", &self.checklist),
            ("status", &self.status),
        ];
        search_link(path, &search, page)
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct ListPage {
    ctx: Ctx,
    page: Page<SessionSummary>,
    q: ListQuery,
    errors: FormErrors,
    facility_choices: Vec<Choice>,
    checklist_choices: Vec<Choice>,
    status_choices: Vec<Choice>,
    can_log: bool,
}

impl ListPage {
    /// Query string of this search at another page number.
    fn page_link(&self, page: i64) -> String {
        self.q.link("/sessions", Some(page))
    }

    /// This search as a download (`csv` or `xlsx`): every page of it.
    fn export_link(&self, extension: &str) -> String {
        self.q.link(&format!("/sessions/export.{extension}"), None)
    }
}

/// Facilities to filter by: a mentor's assigned ones, everyone else's all.
async fn filter_facilities(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<(i64, String)>, AppError> {
    if actor.role == Role::Mentor {
        let ids = assignments::facility_ids(&state.db, actor.user_id).await?;
        org_units::facility_choices(&state.db, Some(&ids)).await
    } else {
        org_units::facility_choices(&state.db, None).await
    }
}

fn with_blank(mut list: Vec<Choice>, label: &str) -> Vec<Choice> {
    let none_selected = !list.iter().any(|c| c.selected);
    list.insert(
        0,
        Choice {
            value: String::new(),
            label: label.to_string(),
            selected: none_selected,
        },
    );
    list
}

/// "Title (PUBLISHER)": which partner's checklist it is matters as much as its name.
fn checklist_label(c: &ChecklistRef, lang: Lang) -> String {
    format!("{} ({})", c.checklist.title.get(lang), c.organisation_code)
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
    let (page, errors, status) = match sessions::list(&state.db, &actor, &filter, &paging).await {
        Ok(page) => (page, FormErrors::default(), StatusCode::OK),
        Err(e) => (
            Page {
                items: vec![],
                total: 0,
                page: 1,
                per_page: 25,
            },
            FormErrors::from_error(ctx.lang, e)?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let facilities = with_blank(
        choices(
            filter_facilities(&state, &actor).await?,
            q.facility_id.trim(),
        ),
        ctx.t("session.any_facility"),
    );
    let mut seen = Vec::new();
    let mut listed = Vec::new();
    for c in state.plugins.checklists(actor.org_scope()).await? {
        let value = format!("{}:{}", c.plugin_key, c.checklist.id);
        if !seen.contains(&value) {
            listed.push((value.clone(), checklist_label(&c, ctx.lang)));
            seen.push(value);
        }
    }
    let checklist_choices = with_blank(
        choices(listed, &q.checklist),
        ctx.t("session.any_checklist"),
    );
    let status_now = if q.status.is_empty() {
        "recorded"
    } else {
        q.status.as_str()
    };
    let status_choices = coded_choices(
        ctx.lang,
        "session.status",
        &["recorded", "withdrawn", "all"],
        status_now,
    );
    let mut response = render(&ListPage {
        can_log: actor.can_write_org_records(actor.organisation_id),
        ctx,
        page,
        q,
        errors,
        facility_choices: facilities,
        checklist_choices,
        status_choices,
    });
    *response.status_mut() = status;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// The draft a form carries from step to step

/// Whether the form logs a new session or corrects a stored one.
#[derive(Clone, Debug)]
enum Mode {
    New,
    Edit(String),
}

/// What a form works within: the organisation whose checklists and providers it offers, and
/// for a correction the plugin versions the session was scored with.
struct Scope {
    mode: Mode,
    organisation_id: i64,
    pinned: Vec<i64>,
    /// A correction keeps the session's facility.
    facility: Option<(i64, String)>,
}

impl Scope {
    fn step1_action(&self) -> String {
        match &self.mode {
            Mode::New => "/sessions/new".into(),
            Mode::Edit(id) => format!("/sessions/{id}/edit"),
        }
    }

    fn save_action(&self) -> String {
        match &self.mode {
            Mode::New => "/sessions".into(),
            Mode::Edit(id) => format!("/sessions/{id}"),
        }
    }

    fn correcting(&self) -> Option<&str> {
        match &self.mode {
            Mode::New => None,
            Mode::Edit(id) => Some(id),
        }
    }
}

/// Everything a form posts, read from its `(name, value)` pairs.
#[derive(Clone, Debug, Default)]
struct Draft {
    id: String,
    facility_id: String,
    date: String,
    session_type: String,
    topic: String,
    duration_minutes: String,
    notes: String,
    action_points: String,
    /// Ticked providers, in the order the form lists them.
    mentees: Vec<i64>,
    /// The checklist chosen for each observed provider: `<plugin_version_id>:<checklist_id>`.
    choices: Vec<(i64, String)>,
    rescore: String,
    reason: String,
    new_name: String,
    new_cadre: String,
    new_sex: String,
    action: String,
    pairs: Vec<(String, String)>,
}

impl Draft {
    fn from_pairs(pairs: Vec<(String, String)>) -> Draft {
        let mut d = Draft::default();
        for (k, v) in &pairs {
            match k.as_str() {
                "id" => d.id = v.trim().to_string(),
                "facility_id" => d.facility_id = v.trim().to_string(),
                "date" => d.date = v.trim().to_string(),
                "session_type" => d.session_type = v.trim().to_string(),
                "topic" => d.topic = v.clone(),
                "duration_minutes" => d.duration_minutes = v.trim().to_string(),
                "notes" => d.notes = v.clone(),
                "action_points" => d.action_points = v.clone(),
                "rescore" => d.rescore = v.trim().to_string(),
                "reason" => d.reason = v.clone(),
                "new_provider.name" => d.new_name = v.clone(),
                "new_provider.cadre" => d.new_cadre = v.trim().to_string(),
                "new_provider.sex" => d.new_sex = v.trim().to_string(),
                "action" => d.action = v.trim().to_string(),
                "mentee" => {
                    if let Ok(id) = v.trim().parse::<i64>()
                        && !d.mentees.contains(&id)
                    {
                        d.mentees.push(id);
                    }
                }
                other => {
                    if let Some(id) = other.strip_prefix("checklist.")
                        && let Ok(id) = id.parse::<i64>()
                    {
                        d.choices.retain(|(p, _)| *p != id);
                        if !v.trim().is_empty() {
                            d.choices.push((id, v.trim().to_string()));
                        }
                    }
                }
            }
        }
        d.pairs = pairs;
        d
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn choice(&self, provider_id: i64) -> Option<&str> {
        self.choices
            .iter()
            .find(|(p, _)| *p == provider_id)
            .map(|(_, c)| c.as_str())
    }

    /// The session's mentees: the ticked ones, then any observed one left unticked.
    fn mentee_ids(&self) -> Vec<i64> {
        let mut ids = self.mentees.clone();
        for (p, _) in &self.choices {
            if !ids.contains(p) {
                ids.push(*p);
            }
        }
        ids
    }

    /// Observed mentees and their chosen checklists; observation `n` is the n-th of these.
    fn observed(&self) -> Vec<(i64, String)> {
        self.mentee_ids()
            .into_iter()
            .filter_map(|p| self.choice(p).map(|c| (p, c.to_string())))
            .collect()
    }

    /// The answers of observation `n`: typed at step 2, or carried through step 1 for the
    /// same provider and checklist.
    fn typed(&self, n: usize, provider_id: i64, choice: &str) -> Typed {
        let typed = Typed::from_pairs(&self.pairs, &format!("o{n}"));
        if !typed.is_empty() {
            return typed;
        }
        if self.value(&format!("k{provider_id}.c")) == Some(choice) {
            return Typed::from_pairs(&self.pairs, &format!("k{provider_id}"));
        }
        Typed::default()
    }

    /// Answers to keep in step 1's hidden fields, keyed by provider.
    fn carried(&self) -> Vec<(String, String)> {
        let is_kept = |k: &str| {
            k.strip_prefix('k')
                .and_then(|rest| rest.split('.').next())
                .is_some_and(|p| p.parse::<i64>().is_ok())
        };
        let mut out: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| is_kept(k))
            .cloned()
            .collect();
        for (n, (provider_id, choice)) in self.observed().iter().enumerate() {
            let typed = Typed::from_pairs(&self.pairs, &format!("o{n}"));
            if typed.is_empty() {
                continue;
            }
            let mine = format!("k{provider_id}.");
            out.retain(|(k, _)| !k.starts_with(&mine));
            out.extend(typed.to_pairs(&format!("k{provider_id}")));
            out.push((format!("k{provider_id}.c"), choice.clone()));
        }
        out
    }

    /// The session part as the domain takes it, with the problems of reading it.
    fn session_input(&self) -> (SessionInput, Vec<FieldError>) {
        let mut errors = Vec::new();
        let facility_id = parse_id(&self.facility_id, "facility_id", &mut errors);
        let duration_minutes = match self.duration_minutes.as_str() {
            "" => None,
            d => match d.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(FieldError::new(
                        "duration_minutes",
                        "not_a_whole_number",
                        "must be a whole number",
                    ));
                    None
                }
            },
        };
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let input = SessionInput {
            id: Some(self.id.clone()),
            facility_id,
            date: Some(self.date.clone()),
            session_type: Some(self.session_type.clone()),
            topic: Some(self.topic.clone()),
            duration_minutes,
            mentee_ids: self.mentee_ids(),
            notes: text(&self.notes),
            action_points: text(&self.action_points),
            observations: Vec::new(),
        };
        (input, errors)
    }

    /// The fields step 2 carries from step 1, hidden.
    fn step1_fields(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("id".to_string(), self.id.clone()),
            ("facility_id".to_string(), self.facility_id.clone()),
            ("date".to_string(), self.date.clone()),
            ("session_type".to_string(), self.session_type.clone()),
            ("topic".to_string(), self.topic.clone()),
            (
                "duration_minutes".to_string(),
                self.duration_minutes.clone(),
            ),
        ];
        for m in self.mentee_ids() {
            out.push(("mentee".into(), m.to_string()));
        }
        for (p, c) in &self.choices {
            out.push((format!("checklist.{p}"), c.clone()));
        }
        out
    }
}

fn parse_choice(choice: &str) -> Option<(i64, String)> {
    let (version, checklist) = choice.split_once(':')?;
    Some((version.parse().ok()?, checklist.to_string())).filter(|(_, c)| !c.is_empty())
}

/// One observed mentee's checklist, resolved.
struct Resolved {
    provider_id: i64,
    choice: String,
    found: Option<ChecklistRef>,
}

async fn resolve(
    state: &AppState,
    scope: &Scope,
    draft: &Draft,
) -> Result<Vec<Resolved>, AppError> {
    let mut out = Vec::new();
    for (provider_id, choice) in draft.observed() {
        let found = match parse_choice(&choice) {
            // A correction shows the checklist as the version it was scored with had it.
            Some((version, checklist)) if scope.pinned.contains(&version) => {
                state.plugins.stored_ref(version, &checklist).await?
            }
            Some((version, checklist)) => {
                state
                    .plugins
                    .usable_checklist(scope.organisation_id, version, &checklist)
                    .await?
            }
            None => None,
        };
        out.push(Resolved {
            provider_id,
            choice,
            found,
        });
    }
    Ok(out)
}

/// The whole input of step 2, with the problems of reading the answers.
fn full_input(draft: &Draft, resolved: &[Resolved]) -> (SessionInput, Vec<FieldError>) {
    let (mut input, mut errors) = draft.session_input();
    for (n, r) in resolved.iter().enumerate() {
        let errors_at = format!("observations[{n}]");
        let parsed = parse_choice(&r.choice);
        let responses = match &r.found {
            Some(c) => {
                let typed = draft.typed(n, r.provider_id, &r.choice);
                let (responses, problems) = checklist_form::parse(&c.checklist, &typed, &errors_at);
                errors.extend(problems);
                responses
            }
            None => Vec::new(),
        };
        input.observations.push(ObservationInput {
            provider_id: Some(r.provider_id),
            plugin_version_id: parsed.as_ref().map(|(v, _)| *v),
            checklist_id: parsed.map(|(_, c)| c),
            responses,
        });
    }
    (input, errors)
}

// ---------------------------------------------------------------------------------------------
// Step 1: the session and its mentees

struct MenteeRow {
    id: i64,
    name: String,
    cadre: String,
    ticked: bool,
    checklist_choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "session_step1.html")]
struct Step1Page {
    ctx: Ctx,
    editing: bool,
    action: String,
    /// The chooser of the facility (new sessions only; a correction keeps its facility).
    facility_choices: Vec<Choice>,
    facility_id: String,
    facility_name: String,
    no_facilities: bool,
    draft: Draft,
    type_choices: Vec<Choice>,
    mentees: Vec<MenteeRow>,
    carried: Vec<(String, String)>,
    errors: FormErrors,
    general: Vec<String>,
    cadre_choices: Vec<Choice>,
    sex_choices: Vec<Choice>,
    provider_added: bool,
    add_open: bool,
}

/// The checklists the form offers: the organisation's own and granted ones, and for a
/// correction the versions its observations were scored with.
async fn offered(
    state: &AppState,
    scope: &Scope,
    lang: Lang,
) -> Result<Vec<(String, String)>, AppError> {
    let mut list: Vec<(String, String)> = state
        .plugins
        .checklists(Some(scope.organisation_id))
        .await?
        .iter()
        .map(|c| {
            (
                format!("{}:{}", c.plugin_version_id, c.checklist.id),
                checklist_label(c, lang),
            )
        })
        .collect();
    if let Mode::Edit(id) = &scope.mode {
        let observations = scoring::load(&state.db, scoring::Owner::Session(id)).await?;
        for o in observations {
            let value = format!("{}:{}", o.plugin_version_id, o.checklist_id);
            if list.iter().any(|(v, _)| *v == value) {
                continue;
            }
            if let Some(c) = state
                .plugins
                .stored_ref(o.plugin_version_id, &o.checklist_id)
                .await?
            {
                let label = format!("{} · {}", checklist_label(&c, lang), c.plugin_version);
                list.push((value, label));
            }
        }
    }
    Ok(list)
}

#[allow(clippy::too_many_arguments)]
async fn step1(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    scope: &Scope,
    mut draft: Draft,
    errors: Vec<FieldError>,
    status: StatusCode,
    provider_added: bool,
) -> Result<Response, AppError> {
    let facilities = match &scope.facility {
        Some(f) => vec![f.clone()],
        None => sessions::logging_facilities(&state.db, actor).await?,
    };
    if draft.facility_id.is_empty() && facilities.len() == 1 {
        draft.facility_id = facilities[0].0.to_string();
    }
    let facility = facilities
        .iter()
        .find(|(id, _)| id.to_string() == draft.facility_id)
        .cloned();
    let offered = offered(state, scope, ctx.lang).await?;
    let mut mentees = Vec::new();
    if let Some((facility_id, _)) = &facility {
        let page = providers::list(
            &state.db,
            actor,
            &ProviderFilter {
                facility_id: Some(*facility_id),
                organisation_id: Some(scope.organisation_id),
                ..Default::default()
            },
            &PageParams {
                page: Some(1),
                per_page: Some(crate::domain::MAX_PER_PAGE),
            },
        )
        .await?;
        let ids = draft.mentee_ids();
        for p in page.items.into_iter().filter(|p| p.active == 1) {
            let chosen = draft.choice(p.id).unwrap_or("");
            let checklist_choices = with_blank(
                choices(offered.clone(), chosen),
                ctx.t("session.not_observed"),
            );
            let error = errors
                .iter()
                .find(|e| {
                    e.field == format!("checklist.{}", p.id)
                        || ids
                            .iter()
                            .position(|m| *m == p.id)
                            .is_some_and(|k| e.field == format!("mentee_ids[{k}]"))
                })
                .map(|e| message(ctx.lang, e));
            mentees.push(MenteeRow {
                ticked: ids.contains(&p.id),
                id: p.id,
                name: p.name,
                cadre: ctx.tk("cadre", &p.cadre).to_string(),
                checklist_choices,
                error,
            });
        }
    }
    let listed: Vec<i64> = mentees.iter().map(|m| m.id).collect();
    let ids = draft.mentee_ids();
    let shown = |f: &str| {
        matches!(
            f,
            "facility_id" | "date" | "session_type" | "topic" | "duration_minutes" | "mentee_ids"
        ) || f.starts_with("new_provider.")
            || f.strip_prefix("checklist.")
                .and_then(|p| p.parse::<i64>().ok())
                .is_some_and(|p| listed.contains(&p))
            || f.strip_prefix("mentee_ids[")
                .and_then(|k| k.trim_end_matches(']').parse::<usize>().ok())
                .and_then(|k| ids.get(k))
                .is_some_and(|p| listed.contains(p))
    };
    let general = general(&ctx, &errors, shown);
    let add_open = errors.iter().any(|e| e.field.starts_with("new_provider."));
    let form_errors = FormErrors::from_fields(ctx.lang, &errors);
    let type_choices = with_blank(
        coded_choices(
            ctx.lang,
            "session_type",
            &SESSION_TYPES,
            &draft.session_type,
        ),
        "",
    );
    let cadre_choices = with_blank(
        coded_choices(ctx.lang, "cadre", &CADRES, &draft.new_cadre),
        "",
    );
    let sex_choices = with_blank(coded_choices(ctx.lang, "sex", &SEXES, &draft.new_sex), "");
    let facility_choices = with_blank(choices(facilities.clone(), &draft.facility_id), "");
    let page = Step1Page {
        editing: matches!(scope.mode, Mode::Edit(_)),
        action: scope.step1_action(),
        no_facilities: facilities.is_empty(),
        facility_id: facility
            .as_ref()
            .map(|f| f.0.to_string())
            .unwrap_or_default(),
        facility_name: facility.map(|f| f.1).unwrap_or_default(),
        facility_choices,
        carried: draft.carried(),
        draft,
        type_choices,
        mentees,
        errors: form_errors,
        general,
        cadre_choices,
        sex_choices,
        provider_added,
        add_open,
        ctx,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// Step 1's posts: on to step 2, add a provider, or back from step 2.
async fn step1_post(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    scope: &Scope,
    mut draft: Draft,
) -> Result<Response, AppError> {
    if draft.id.is_empty() {
        draft.id = scoring::new_uuid()?;
    }
    match draft.action.as_str() {
        "add_provider" => add_provider(state, ctx, actor, scope, draft).await,
        "next" => {
            let (input, mut errors) = draft.session_input();
            let offered = offered(state, scope, ctx.lang).await?;
            for (provider_id, choice) in draft.observed() {
                if !offered.iter().any(|(v, _)| *v == choice) {
                    errors.push(FieldError::new(
                        format!("checklist.{provider_id}"),
                        "unknown_checklist",
                        "no such active checklist that your organisation may use",
                    ));
                }
            }
            match sessions::check_draft(&state.db, actor, &input, scope.correcting()).await {
                Ok(()) => {}
                Err(AppError::Validation(e)) => errors.extend(e),
                Err(other) => return Err(other),
            }
            if errors.is_empty() {
                step2(
                    state,
                    ctx,
                    actor,
                    scope,
                    draft,
                    Vec::new(),
                    None,
                    StatusCode::OK,
                )
                .await
            } else {
                let status = status_of(&errors, false);
                step1(state, ctx, actor, scope, draft, errors, status, false).await
            }
        }
        // "back" from step 2, or a post without a button (Enter in a field of step 1 submits
        // the first button, "next"; anything else just shows step 1 again).
        _ => {
            step1(
                state,
                ctx,
                actor,
                scope,
                draft,
                Vec::new(),
                StatusCode::OK,
                false,
            )
            .await
        }
    }
}

/// Creates a missing provider at the session's facility (its own action, audited like any
/// other registration) and shows step 1 again with them ticked.
async fn add_provider(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    scope: &Scope,
    mut draft: Draft,
) -> Result<Response, AppError> {
    let mut errors = Vec::new();
    let facility_id = parse_id(&draft.facility_id, "new_provider.facility_id", &mut errors);
    if facility_id.is_none() && errors.is_empty() {
        errors.push(FieldError::new("facility_id", "required", "is required"));
    }
    if errors.is_empty() {
        let input = ProviderInput {
            organisation_id: Some(scope.organisation_id).filter(|o| *o != actor.organisation_id),
            facility_id,
            code: None,
            name: Some(draft.new_name.clone()),
            cadre: Some(draft.new_cadre.clone()),
            sex: Some(draft.new_sex.clone()),
            phone: None,
            active: Some(true),
        };
        match providers::create(&state.db, actor, &input).await {
            Ok(p) => {
                draft.mentees.push(p.id);
                draft.new_name.clear();
                draft.new_cadre.clear();
                draft.new_sex.clear();
                return step1(
                    state,
                    ctx,
                    actor,
                    scope,
                    draft,
                    Vec::new(),
                    StatusCode::OK,
                    true,
                )
                .await;
            }
            Err(AppError::Validation(e)) => errors.extend(e.into_iter().map(|mut f| {
                f.field = format!("new_provider.{}", f.field);
                f
            })),
            Err(other) => return Err(other),
        }
    }
    let status = status_of(&errors, false);
    step1(state, ctx, actor, scope, draft, errors, status, false).await
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Whether the actor may log sessions at all (managers read but do not log).
fn may_log(actor: &Actor) -> Result<(), AppError> {
    if actor.can_write_org_records(actor.organisation_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn new_scope(actor: &Actor) -> Scope {
    Scope {
        mode: Mode::New,
        organisation_id: actor.organisation_id,
        pinned: Vec::new(),
        facility: None,
    }
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    facility_id: String,
}

async fn new_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    may_log(&actor)?;
    let draft = Draft {
        id: scoring::new_uuid()?,
        facility_id: q.facility_id.trim().to_string(),
        date: today(),
        ..Default::default()
    };
    let scope = new_scope(&actor);
    step1(
        &state,
        ctx,
        &actor,
        &scope,
        draft,
        Vec::new(),
        StatusCode::OK,
        false,
    )
    .await
}

async fn new_step(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    may_log(&actor)?;
    let scope = new_scope(&actor);
    step1_post(&state, ctx, &actor, &scope, Draft::from_pairs(pairs)).await
}

// ---------------------------------------------------------------------------------------------
// Step 2: one checklist per observed mentee

struct ObservationHead {
    provider_id: i64,
    provider_name: String,
    /// The publisher's code and plugin version, e.g. `RPA · hbb 1.0.0`.
    publisher: String,
}

#[derive(Template)]
#[template(path = "session_step2.html")]
struct Step2Page {
    ctx: Ctx,
    editing: bool,
    action: String,
    back_action: String,
    hidden: Vec<(String, String)>,
    facility_name: String,
    date: String,
    session_type: String,
    topic: String,
    duration_minutes: String,
    mentee_names: Vec<String>,
    observations: Vec<(ObservationHead, ChecklistForm)>,
    notes: String,
    action_points: String,
    rescore_current: bool,
    reason: String,
    errors: FormErrors,
    general: Vec<String>,
    /// A session already stored under this form's id, when the body differs.
    conflict: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn step2(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    scope: &Scope,
    draft: Draft,
    errors: Vec<FieldError>,
    conflict: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let resolved = resolve(state, scope, &draft).await?;
    let form_errors = FormErrors::from_fields(ctx.lang, &errors);
    let mut observations = Vec::new();
    let mut consumed: Vec<String> = Vec::new();
    let mut names: Vec<(i64, String)> = Vec::new();
    for id in draft.mentee_ids() {
        let name = match providers::get(&state.db, actor, id).await {
            Ok(p) => p.name,
            // Reported by the domain when saved; never another partner's name.
            Err(AppError::NotFound) => format!("#{id}"),
            Err(e) => return Err(e),
        };
        names.push((id, name));
    }
    let name_of = |id: i64| {
        names
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    for (n, r) in resolved.iter().enumerate() {
        let prefix = format!("o{n}");
        let errors_at = format!("observations[{n}]");
        for f in ["checklist_id", "plugin_version_id", "responses"] {
            consumed.push(format!("{errors_at}.{f}"));
        }
        let form = match &r.found {
            Some(c) => {
                for item in c.checklist.items() {
                    consumed.push(checklist_form::error_field(&errors_at, &item.id));
                }
                let typed = draft.typed(n, r.provider_id, &r.choice);
                ChecklistForm::build(
                    &c.checklist,
                    ctx.lang,
                    &prefix,
                    &errors_at,
                    &typed,
                    &form_errors,
                )
            }
            None => ChecklistForm {
                prefix,
                title: r.choice.clone(),
                description: None,
                error: Some(ctx.t("session.checklist_gone").to_string()),
                sections: Vec::new(),
            },
        };
        let head = ObservationHead {
            provider_id: r.provider_id,
            provider_name: name_of(r.provider_id),
            publisher: r
                .found
                .as_ref()
                .map(|c| {
                    format!(
                        "{} · {} {}",
                        c.organisation_code, c.plugin_key, c.plugin_version
                    )
                })
                .unwrap_or_default(),
        };
        observations.push((head, form));
    }
    let general = general(&ctx, &errors, |f| {
        matches!(f, "notes" | "action_points" | "reason" | "rescore")
            || consumed.iter().any(|c| c == f)
    });
    let facility_name = match draft.facility_id.parse::<i64>() {
        Ok(id) => org_units::find(&state.db, id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let page = Step2Page {
        editing: matches!(scope.mode, Mode::Edit(_)),
        action: scope.save_action(),
        back_action: scope.step1_action(),
        hidden: draft.step1_fields(),
        facility_name,
        date: draft.date.clone(),
        session_type: ctx.tk("session_type", &draft.session_type).to_string(),
        topic: draft.topic.clone(),
        duration_minutes: draft.duration_minutes.clone(),
        mentee_names: draft.mentee_ids().into_iter().map(name_of).collect(),
        observations,
        notes: draft.notes.clone(),
        action_points: draft.action_points.clone(),
        rescore_current: draft.rescore == "current",
        reason: draft.reason.clone(),
        errors: form_errors,
        general,
        conflict,
        ctx,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// What to do with the domain's answer to a save: the session page, or step 2 again with
/// everything typed and the errors next to their items.
async fn after_save(
    state: &AppState,
    ctx: Ctx,
    actor: &Actor,
    scope: &Scope,
    draft: Draft,
    result: Result<String, AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/sessions/{id}?saved=1")).into_response()),
        Err(AppError::Validation(e)) => {
            step2(
                state,
                ctx,
                actor,
                scope,
                draft,
                e,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::ScoringFailed(e)) => {
            step2(
                state,
                ctx,
                actor,
                scope,
                draft,
                e,
                None,
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            // For a new session: this form's id already names a stored session whose content
            // differs (the form was changed after saving). Point to it rather than lose it.
            let existing = match scope.mode {
                Mode::New => sessions::get(&state.db, actor, &draft.id)
                    .await
                    .ok()
                    .map(|s| s.summary.id),
                Mode::Edit(_) => None,
            };
            let errors = match existing {
                Some(_) => Vec::new(),
                None => vec![FieldError::new("session", "conflict", m)],
            };
            step2(
                state,
                ctx,
                actor,
                scope,
                draft,
                errors,
                existing,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

async fn create(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    may_log(&actor)?;
    let scope = new_scope(&actor);
    let draft = Draft::from_pairs(pairs);
    let resolved = resolve(&state, &scope, &draft).await?;
    let (input, errors) = full_input(&draft, &resolved);
    if !errors.is_empty() {
        return step2(
            &state,
            ctx,
            &actor,
            &scope,
            draft,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = sessions::create(&state.db, &state.plugins, &actor, &input)
        .await
        .map(|created| match created {
            Created::New(s) | Created::Existing(s) => s.summary.id,
        });
    after_save(&state, ctx, &actor, &scope, draft, result).await
}

// ---------------------------------------------------------------------------------------------
// The session and its score cards

struct SectionRow {
    title: String,
    percentage: Option<String>,
    counts: String,
    outcome: Option<(String, &'static str)>,
}

struct FeedbackRow {
    item: String,
    message: String,
    level: &'static str,
}

struct AnswerRow {
    item: String,
    answer: String,
}

struct Card {
    provider_id: i64,
    provider_name: String,
    checklist: String,
    percentage: Option<String>,
    outcome: String,
    outcome_code: String,
    level: &'static str,
    sections: Vec<SectionRow>,
    feedback: Vec<FeedbackRow>,
    answers: Vec<AnswerRow>,
    plugin_key: String,
    plugin_version: String,
    sha256: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct ShowPage {
    ctx: Ctx,
    session: Session,
    session_type: String,
    saved: bool,
    can_change: bool,
    cards: Vec<Card>,
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn percent(x: Option<f64>) -> Option<String> {
    x.filter(|x| x.is_finite())
        .map(|x| format!("{}%", number(x)))
}

fn answer_label(lang: Lang, checklist: Option<&Checklist>, item_id: &str, a: &Answer) -> String {
    let option = |v: &str| {
        checklist
            .and_then(|c| c.items().find(|i| i.id == item_id))
            .and_then(|i| match &i.kind {
                crate::plugins::model::ResponseKind::SingleChoice { options }
                | crate::plugins::model::ResponseKind::MultipleChoice { options } => options
                    .iter()
                    .find(|o| o.value == v)
                    .map(|o| o.label.get(lang).to_string()),
                _ => None,
            })
            .unwrap_or_else(|| v.to_string())
    };
    match a {
        Answer::Yes => i18n::t(lang, "answer.yes").into(),
        Answer::No => i18n::t(lang, "answer.no").into(),
        Answer::NotApplicable => i18n::t(lang, "answer.not_applicable").into(),
        Answer::Done => i18n::t(lang, "answer.done").into(),
        Answer::Partly => i18n::t(lang, "answer.partly").into(),
        Answer::NotDone => i18n::t(lang, "answer.not_done").into(),
        Answer::Integer(n) => n.to_string(),
        Answer::Number(x) => number(*x),
        Answer::Choice(c) => option(c),
        Answer::Choices(cs) => cs.iter().map(|c| option(c)).collect::<Vec<_>>().join(", "),
        Answer::Text(t) => t.clone(),
    }
}

async fn card(state: &AppState, lang: Lang, o: Observation) -> Result<Card, AppError> {
    let checklist = state
        .plugins
        .stored_checklist(o.plugin_version_id, &o.checklist_id)
        .await?;
    let prompt = |item_id: &str| {
        checklist
            .as_ref()
            .and_then(|c| c.items().find(|i| i.id == item_id))
            .map(|i| i.prompt.get(lang).to_string())
            .unwrap_or_else(|| item_id.to_string())
    };
    let sections = o
        .card
        .sections
        .iter()
        .map(|s| SectionRow {
            title: checklist
                .as_ref()
                .and_then(|c| c.sections.iter().find(|x| x.id == s.section_id))
                .map(|x| x.title.get(lang).to_string())
                .unwrap_or_else(|| s.section_id.clone()),
            percentage: percent(s.percentage),
            counts: format!("{}/{}", number(s.achieved), number(s.applicable)),
            outcome: s
                .outcome
                .as_ref()
                .map(|x| (x.label.get(lang).to_string(), x.level.as_str())),
        })
        .collect();
    let feedback = o
        .card
        .feedback
        .iter()
        .map(|f| FeedbackRow {
            item: prompt(&f.item_id),
            message: f.message.get(lang).to_string(),
            level: f.level.as_str(),
        })
        .collect();
    let answers = o
        .responses
        .iter()
        .map(|r| AnswerRow {
            item: prompt(&r.item_id),
            answer: answer_label(lang, checklist.as_ref(), &r.item_id, &r.answer),
        })
        .collect();
    let level = match o.card.outcome.level {
        Signal::Green => "green",
        Signal::Amber => "amber",
        Signal::Red => "red",
        Signal::Neutral => "neutral",
    };
    Ok(Card {
        provider_id: o.provider_id,
        provider_name: o.provider_name,
        checklist: o.checklist_title.get(lang).to_string(),
        percentage: percent(o.card.percentage),
        outcome: o.card.outcome.label.get(lang).to_string(),
        outcome_code: o.card.outcome.code.clone(),
        level,
        sections,
        feedback,
        answers,
        plugin_key: o.plugin_key,
        plugin_version: o.plugin_version,
        sha256: o.plugin_sha256,
    })
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    saved: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let session = sessions::get(&state.db, &actor, &id).await?;
    let can_change = sessions::can_change(
        &state.db,
        &actor,
        &session.summary.id,
        &state.config.programme,
    )
    .await?;
    let mut cards = Vec::new();
    for o in session.observation_list.clone() {
        cards.push(card(&state, ctx.lang, o).await?);
    }
    Ok(render(&ShowPage {
        session_type: ctx
            .tk("session_type", &session.summary.session_type)
            .to_string(),
        saved: q.saved.is_some(),
        can_change,
        cards,
        session,
        ctx,
    }))
}

// ---------------------------------------------------------------------------------------------
// Corrections

/// The session, if the actor may correct or withdraw it now; another partner's is 404.
async fn changeable(state: &AppState, actor: &Actor, id: &str) -> Result<Session, AppError> {
    let session = sessions::get(&state.db, actor, id).await?;
    if !sessions::can_change(
        &state.db,
        actor,
        &session.summary.id,
        &state.config.programme,
    )
    .await?
    {
        return Err(AppError::Forbidden);
    }
    Ok(session)
}

async fn edit_scope(state: &AppState, session: &Session) -> Result<Scope, AppError> {
    let facility = org_units::get(&state.db, session.summary.facility_id).await?;
    let label = org_units::facility_choices(&state.db, Some(&[facility.id]))
        .await?
        .into_iter()
        .next()
        .map(|(_, l)| l)
        .unwrap_or(facility.name);
    Ok(Scope {
        mode: Mode::Edit(session.summary.id.clone()),
        organisation_id: session.summary.organisation_id,
        pinned: session
            .observation_list
            .iter()
            .map(|o| o.plugin_version_id)
            .collect(),
        facility: Some((facility.id, label)),
    })
}

async fn edit_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let session = changeable(&state, &actor, &id).await?;
    let mut observed: Vec<i64> = Vec::new();
    for o in &session.observation_list {
        if observed.contains(&o.provider_id) {
            // The form holds one checklist per mentee; such a session came through the API.
            return Err(AppError::Conflict(
                "this session has several checklists for one mentee; correct it through the API"
                    .into(),
            ));
        }
        observed.push(o.provider_id);
    }
    let scope = edit_scope(&state, &session).await?;
    let s = &session.summary;
    let mut pairs = Vec::new();
    let mut choices = Vec::new();
    for o in &session.observation_list {
        let choice = format!("{}:{}", o.plugin_version_id, o.checklist_id);
        let prefix = format!("k{}", o.provider_id);
        pairs.extend(Typed::from_responses(&o.responses).to_pairs(&prefix));
        pairs.push((format!("{prefix}.c"), choice.clone()));
        choices.push((o.provider_id, choice));
    }
    let draft = Draft {
        id: s.id.clone(),
        facility_id: s.facility_id.to_string(),
        date: s.date.clone(),
        session_type: s.session_type.clone(),
        topic: s.topic.clone(),
        duration_minutes: s.duration_minutes.to_string(),
        notes: session.notes.clone().unwrap_or_default(),
        action_points: session.action_points.clone().unwrap_or_default(),
        mentees: session.mentee_list.iter().map(|m| m.provider_id).collect(),
        choices,
        pairs,
        ..Default::default()
    };
    step1(
        &state,
        ctx,
        &actor,
        &scope,
        draft,
        Vec::new(),
        StatusCode::OK,
        false,
    )
    .await
}

async fn edit_step(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let session = changeable(&state, &actor, &id).await?;
    let scope = edit_scope(&state, &session).await?;
    let mut draft = Draft::from_pairs(pairs);
    // The id and the facility are the session's, whatever was posted.
    draft.id = session.summary.id.clone();
    draft.facility_id = session.summary.facility_id.to_string();
    step1_post(&state, ctx, &actor, &scope, draft).await
}

async fn correct(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let session = changeable(&state, &actor, &id).await?;
    let scope = edit_scope(&state, &session).await?;
    let mut draft = Draft::from_pairs(pairs);
    draft.id = session.summary.id.clone();
    draft.facility_id = session.summary.facility_id.to_string();
    let resolved = resolve(&state, &scope, &draft).await?;
    let (input, errors) = full_input(&draft, &resolved);
    if !errors.is_empty() {
        return step2(
            &state,
            ctx,
            &actor,
            &scope,
            draft,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let correction = CorrectionInput {
        session: input,
        rescore: if draft.rescore == "current" {
            Rescore::Current
        } else {
            Rescore::Pinned
        },
        reason: Some(draft.reason.clone()).filter(|r| !r.trim().is_empty()),
    };
    let result = sessions::correct(
        &state.db,
        &state.plugins,
        &state.config.programme,
        &actor,
        &session.summary.id,
        &correction,
    )
    .await
    .map(|s| s.summary.id);
    after_save(&state, ctx, &actor, &scope, draft, result).await
}

// ---------------------------------------------------------------------------------------------
// Withdrawal

#[derive(Template)]
#[template(path = "session_withdraw.html")]
struct WithdrawPage {
    ctx: Ctx,
    session: Session,
    session_type: String,
    reason: String,
    errors: FormErrors,
}

async fn withdraw_form(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let session = sessions::get(&state.db, &actor, &id).await?;
    if session.summary.status == "withdrawn" {
        return Ok(Redirect::to(&format!("/sessions/{}", session.summary.id)).into_response());
    }
    let session = changeable(&state, &actor, &session.summary.id).await?;
    Ok(render(&WithdrawPage {
        session_type: ctx
            .tk("session_type", &session.summary.session_type)
            .to_string(),
        session,
        reason: String::new(),
        errors: FormErrors::default(),
        ctx,
    }))
}

#[derive(Deserialize, Default)]
struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

async fn withdraw(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, AppError> {
    let session = sessions::get(&state.db, &actor, &id).await?;
    let input = WithdrawInput {
        reason: Some(form.reason.clone()),
    };
    match sessions::withdraw(
        &state.db,
        &state.config.programme,
        &actor,
        &session.summary.id,
        &input,
    )
    .await
    {
        Ok(s) => Ok(Redirect::to(&format!("/sessions/{}", s.summary.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(ctx.lang, e)?;
            let mut response = render(&WithdrawPage {
                session_type: ctx
                    .tk("session_type", &session.summary.session_type)
                    .to_string(),
                session,
                reason: form.reason,
                errors,
                ctx,
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
