//! Logging mentorship sessions through the pages: the two-step form (session and mentees,
//! then one checklist per observed mentee), its double-submit safety, errors shown next to
//! the items with everything typed kept, adding a provider inline, corrections, withdrawal,
//! and who may do what.
//!
//! The forms are submitted the way a browser would: every field the page rendered (hidden
//! ones included) is read from the HTML, and only what a person would touch is changed.

use mentortrack::domain::providers::{self, ValidProvider};
use mentortrack::plugins::Limits;
use mentortrack_tests::{Fixture, Web, engine_tests, test_config, texts};
use scraper::{Html, Selector};

fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("valid selector")
}

/// What a browser submits for the form `css` before anyone touches it: hidden and text
/// fields, checked radios and boxes, selected options and textareas; no buttons.
fn form_fields(doc: &Html, css: &str) -> Vec<(String, String)> {
    let form = doc
        .select(&sel(css))
        .next()
        .unwrap_or_else(|| panic!("no form {css} in {}", doc.html()));
    let mut out = Vec::new();
    for e in form.select(&sel("input, select, textarea")) {
        let v = e.value();
        let Some(name) = v.attr("name") else { continue };
        match v.name() {
            "input" => match v.attr("type").unwrap_or("text") {
                "radio" | "checkbox" => {
                    if v.attr("checked").is_some() {
                        out.push((name.into(), v.attr("value").unwrap_or("on").into()));
                    }
                }
                "submit" | "button" => {}
                _ => out.push((name.into(), v.attr("value").unwrap_or("").into())),
            },
            "select" => {
                let options: Vec<_> = e.select(&sel("option")).collect();
                let chosen = options
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or(options.first());
                if let Some(o) = chosen {
                    out.push((name.into(), o.value().attr("value").unwrap_or("").into()));
                }
            }
            _ => out.push((name.into(), e.text().collect())),
        }
    }
    out
}

/// Sets a single-valued field (replacing what was there).
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.into(), value.into()));
}

fn tick(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    if !fields.iter().any(|(k, v)| k == name && v == value) {
        fields.push((name.into(), value.into()));
    }
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn post(web: &Web, path: &str, fields: &[(String, String)]) -> (u16, String, Html) {
    let r = web.post(path, &pairs(fields)).await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let html = Html::parse_document(&r.text().await.unwrap());
    (status, location, html)
}

/// Answers every checklist item still unanswered on step 2: the best answer of each kind.
fn answer_all(doc: &Html, fields: &mut Vec<(String, String)>) {
    let form = doc.select(&sel("#session-step2")).next().expect("step 2");
    for item in form.select(&sel(".cl-item")) {
        let radios: Vec<_> = item.select(&sel("input[type=radio]")).collect();
        if let Some(first) = radios.first() {
            let name = first.value().attr("name").unwrap();
            if !fields.iter().any(|(k, _)| k == name) {
                let values: Vec<&str> = radios
                    .iter()
                    .filter_map(|r| r.value().attr("value"))
                    .collect();
                let best = ["done", "yes"]
                    .into_iter()
                    .find(|v| values.contains(v))
                    .unwrap_or(values[0]);
                set(fields, name, best);
            }
            continue;
        }
        if let Some(input) = item.select(&sel("input.number")).next() {
            let name = input.value().attr("name").unwrap();
            if fields.iter().any(|(k, v)| k == name && !v.is_empty()) {
                continue;
            }
            let value = input.value().attr("min").unwrap_or("0");
            set(fields, name, value);
        }
    }
}

/// The value of the checklist option whose label contains `label`, on step 1.
fn checklist_choice(doc: &Html, provider_id: i64, label: &str) -> String {
    doc.select(&sel(&format!(
        "select[name='checklist.{provider_id}'] option"
    )))
    .find(|o| o.text().collect::<String>().contains(label))
    .and_then(|o| o.value().attr("value"))
    .unwrap_or_else(|| panic!("no checklist {label:?} offered for {provider_id}"))
    .to_string()
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Step 1 filled in for A's provider observed on A's AMTSL drill: returns the step-2 page.
async fn to_step2(web: &Web, f: &Fixture, checklist: &str) -> (Vec<(String, String)>, Html) {
    let (status, page) = web.html("/sessions/new").await;
    assert_eq!(status, 200);
    step2_from(web, f, &page, checklist).await
}

/// Step 1 of `page` filled in and posted: returns step 2's fields and page.
async fn step2_from(
    web: &Web,
    f: &Fixture,
    page: &Html,
    checklist: &str,
) -> (Vec<(String, String)>, Html) {
    let mut fields = form_fields(page, "#session-step1");
    set(&mut fields, "session_type", "skills_drill");
    set(&mut fields, "topic", "Bleeding after birth");
    set(&mut fields, "duration_minutes", "45");
    tick(&mut fields, "mentee", &f.a.provider_id.to_string());
    let choice = checklist_choice(page, f.a.provider_id, checklist);
    set(
        &mut fields,
        &format!("checklist.{}", f.a.provider_id),
        &choice,
    );
    set(&mut fields, "action", "next");
    let (status, _, step2) = post(web, "/sessions/new", &fields).await;
    assert_eq!(status, 200, "{}", step2.html());
    let fields = form_fields(&step2, "#session-step2");
    (fields, step2)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Logs a fully answered AMTSL drill through both steps; returns the session's id.
async fn log_through_the_form(web: &Web, f: &Fixture) -> String {
    let (mut fields, step2) = to_step2(web, f, "third stage").await;
    answer_all(&step2, &mut fields);
    let (status, location, _) = post(web, "/sessions", &fields).await;
    assert_eq!(status, 303);
    let id = field(&fields, "id").to_string();
    assert_eq!(location, format!("/sessions/{id}?saved=1"));
    id
}

engine_tests! {
    async fn the_two_step_form_logs_a_session_and_shows_its_score(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (_, page) = web.html("/sessions/new").await;
        // A mentor with one facility starts on it, today, with a fresh id.
        assert_eq!(
            texts(&page, "#facility-name"),
            [format!("Karongi › {}", f.a.facility.name)]
        );
        let step1 = form_fields(&page, "#session-step1");
        assert_eq!(field(&step1, "date"), today());
        let id = field(&step1, "id").to_string();
        assert_eq!(id.len(), 36, "{id}");
        // Checklists are labelled with their publisher; B's are not offered to A.
        let labels = texts(&page, &format!("select[name='checklist.{}'] option", f.a.provider_id));
        assert!(labels.iter().any(|l| l.ends_with("(RAM)")), "{labels:?}");
        assert!(!labels.iter().any(|l| l.contains("(RPA)")), "{labels:?}");

        let (mut fields, step2) = step2_from(&web, &f, &page, "third stage").await;
        assert_eq!(field(&fields, "id"), id, "the id travels from step 1");
        // The AMTSL drill: 3 sections, 15 done/partly/not-done steps, 3 of them key steps.
        assert_eq!(step2.select(&sel("#observation-0 .cl-section")).count(), 3);
        assert_eq!(step2.select(&sel("#observation-0 .cl-item")).count(), 15);
        assert_eq!(step2.select(&sel("#observation-0 .cl-item.key .badge-key")).count(), 3);
        assert_eq!(
            step2.select(&sel("input[name='o0.r.t02'][type=radio]")).count(),
            3,
            "done, partly, not done"
        );
        assert!(
            texts(&step2, "#o0_r_t02 .hint")[0].contains("within the first minute"),
            "help text is shown"
        );
        answer_all(&step2, &mut fields);
        set(&mut fields, "o0.r.p01", "partly");
        set(&mut fields, "notes", "Calm and quick");
        set(&mut fields, "action_points", "Practise cord traction");
        let (status, location, _) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("/sessions/{id}?saved=1"));

        let (status, page) = web.html(&location).await;
        assert_eq!(status, 200);
        assert_eq!(texts(&page, "#session-saved").len(), 1);
        // 14 of 15 steps fully done, every key step done: a pass.
        let card = ".score-card[data-provider-id='{}']".replace("{}", &f.a.provider_id.to_string());
        assert_eq!(texts(&page, &format!("{card} .percentage")), ["93.3%"]);
        assert_eq!(
            page.select(&sel(&format!("{card}.level-green .outcome.outcome-green"))).count(),
            1,
            "{}",
            page.html()
        );
        assert_eq!(page.select(&sel(&format!("{card} .section-scores tr"))).count(), 3);
        let feedback = texts(&page, &format!("{card} .feedback li"));
        assert_eq!(feedback.len(), 1, "{feedback:?}");
        assert!(feedback[0].contains("Explains to the woman"), "{feedback:?}");
        let scored_by = texts(&page, &format!("{card} .scored-by"));
        let sha: String = sqlx::query_scalar("SELECT sha256 FROM plugin_versions WHERE id = $1")
            .bind(f.a.plugin_version_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert!(scored_by[0].contains("ldhf") && scored_by[0].contains(&sha), "{scored_by:?}");
        assert!(texts(&page, "#session-facts").join(" ").contains("Practise cord traction"));

        let stored: (String, String, i64) = sqlx::query_as(
            "SELECT topic, notes, duration_minutes FROM sessions WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(
            stored,
            ("Bleeding after birth".to_string(), "Calm and quick".to_string(), 45)
        );
        // And it is listed.
        let (_, list) = web.html("/sessions").await;
        assert_eq!(
            list.select(&sel(&format!("#sessions [data-session-id='{id}']"))).count(),
            1
        );
    }

    async fn submitting_the_same_final_form_twice_logs_one_session(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (mut fields, step2) = to_step2(&web, &f, "third stage").await;
        answer_all(&step2, &mut fields);
        let (first, second) = tokio::join!(
            post(&web, "/sessions", &fields),
            post(&web, "/sessions", &fields)
        );
        let (third_status, third, _) = post(&web, "/sessions", &fields).await;
        assert_eq!((first.0, second.0, third_status), (303, 303, 303));
        assert_eq!(first.1, second.1);
        assert_eq!(first.1, third);
        assert_eq!(app.count("sessions").await, 1);
        assert_eq!(app.count("observations").await, 1);

        // Changing the form after it was saved, under the same id, stores nothing and
        // points to the stored session instead.
        set(&mut fields, "o0.r.t01", "not_done");
        let (status, _, page) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 409);
        let id = field(&fields, "id");
        assert_eq!(
            page.select(&sel(&format!("#already-saved a[href='/sessions/{id}']"))).count(),
            1
        );
        assert_eq!(app.count("sessions").await, 1);
    }

    async fn a_missing_item_is_named_next_to_it_and_nothing_typed_is_lost(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (mut fields, step2) = to_step2(&web, &f, "third stage").await;
        answer_all(&step2, &mut fields);
        fields.retain(|(k, _)| k != "o0.r.t02");
        set(&mut fields, "o0.r.a02", "not_done");
        set(&mut fields, "notes", "Kept notes");
        let (status, _, page) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 422);
        assert_eq!(
            texts(&page, "#o0_r_t02 .field-error[data-item=t02]"),
            ["This field is required."]
        );
        assert_eq!(page.select(&sel(".cl-item .field-error")).count(), 1);
        let kept = form_fields(&page, "#session-step2");
        assert_eq!(field(&kept, "o0.r.a02"), "not_done");
        assert_eq!(field(&kept, "o0.r.p01"), "done");
        assert_eq!(field(&kept, "notes"), "Kept notes");
        assert_eq!(field(&kept, "id"), field(&fields, "id"));
        assert_eq!(app.count("sessions").await, 0);

        // A word in a number field: named at the item, typed text kept.
        let (mut fields, step2) = to_step2(&web, &f, "postpartum haemorrhage").await;
        answer_all(&step2, &mut fields);
        set(&mut fields, "o0.r.minutes", "soon");
        let (status, _, page) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 422);
        assert_eq!(
            texts(&page, ".field-error[data-item=minutes]"),
            ["Enter a number."]
        );
        assert_eq!(
            page.select(&sel("input[name='o0.r.minutes'][value=soon]")).count(),
            1
        );
        assert_eq!(app.count("sessions").await, 0);

        // Fixed, the same form goes through under the same id.
        set(&mut fields, "o0.r.minutes", "3");
        let (status, location, _) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 303);
        assert!(location.starts_with(&format!("/sessions/{}", field(&fields, "id"))));
    }

    async fn a_mentee_from_another_facility_is_refused(app) {
        let f = app.seed_with_plugins().await;
        // One of A's own providers, but at B's facility, where A's mentor is not assigned.
        let mut tx = app.db.begin().await.unwrap();
        let elsewhere = providers::insert(
            &mut tx,
            None,
            &ValidProvider {
                organisation_id: f.a.org.id,
                facility_id: f.b.facility.id,
                code: Some("RAM-900".into()),
                name: "Ingabire Elsewhere".into(),
                cadre: "nurse".into(),
                sex: None,
                phone: None,
                active: true,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let web = app.sign_in(&f.a.mentor).await;
        let (_, page) = web.html("/sessions/new").await;
        assert!(
            !texts(&page, "#mentees").join(" ").contains("Ingabire"),
            "only the facility's providers are offered"
        );
        let mut fields = form_fields(&page, "#session-step1");
        set(&mut fields, "session_type", "simulation");
        set(&mut fields, "topic", "PPH");
        set(&mut fields, "duration_minutes", "30");
        tick(&mut fields, "mentee", &elsewhere.to_string());
        set(&mut fields, "action", "next");
        let (status, _, page) = post(&web, "/sessions/new", &fields).await;
        assert_eq!(status, 422);
        assert!(
            texts(&page, ".general-errors li")
                .iter()
                .any(|e| e.contains("This provider works at another facility.")),
            "{}",
            page.html()
        );
        assert_eq!(page.select(&sel("#session-step2")).count(), 0);

        // Posting the final step directly is refused the same way.
        fields.retain(|(k, _)| k != "action");
        let (status, _, page) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 422);
        assert!(texts(&page, ".general-errors").join(" ").contains("another facility"));
        assert_eq!(app.count("sessions").await, 0);
    }

    async fn a_missing_provider_is_added_inline_and_ticked(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (_, page) = web.html("/sessions/new").await;
        let mut fields = form_fields(&page, "#session-step1");
        set(&mut fields, "topic", "Typed before adding");
        set(&mut fields, "new_provider.name", "Mukamana Alice");
        set(&mut fields, "new_provider.cadre", "nurse");
        set(&mut fields, "action", "add_provider");
        let (status, _, page) = post(&web, "/sessions/new", &fields).await;
        assert_eq!(status, 200, "{}", page.html());
        let (id, facility): (i64, i64) =
            sqlx::query_as("SELECT id, facility_id FROM providers WHERE name = 'Mukamana Alice'")
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!(facility, f.a.facility.id);
        assert_eq!(texts(&page, "#provider-added").len(), 1);
        let again = form_fields(&page, "#session-step1");
        assert!(again.contains(&("mentee".to_string(), id.to_string())), "ticked");
        assert_eq!(field(&again, "topic"), "Typed before adding");
        assert_eq!(field(&again, "id"), field(&fields, "id"));
        assert_eq!(field(&again, "new_provider.name"), "");

        // A nameless provider is refused next to the small form, the rest kept.
        let mut fields = again.clone();
        set(&mut fields, "new_provider.cadre", "nurse");
        set(&mut fields, "action", "add_provider");
        let (status, _, page) = post(&web, "/sessions/new", &fields).await;
        assert_eq!(status, 422);
        assert_eq!(
            texts(&page, ".field-error[data-field='new_provider.name']"),
            ["This field is required."]
        );
        assert_eq!(page.select(&sel("details#add-provider[open]")).count(), 1);
        assert_eq!(field(&form_fields(&page, "#session-step1"), "topic"), "Typed before adding");
    }

    async fn a_session_is_corrected_and_withdrawn_by_page(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let id = log_through_the_form(&web, &f).await;

        // The correction form starts from the session as stored.
        let (status, page) = web.html(&format!("/sessions/{id}/edit")).await;
        assert_eq!(status, 200);
        let mut fields = form_fields(&page, "#session-step1");
        assert_eq!(field(&fields, "topic"), "Bleeding after birth");
        assert_eq!(field(&fields, &format!("checklist.{}", f.a.provider_id)).split(':').next(),
            Some(f.a.plugin_version_id.to_string().as_str()));
        set(&mut fields, "topic", "Bleeding after birth (corrected)");
        set(&mut fields, "action", "next");
        let (status, _, step2) = post(&web, &format!("/sessions/{id}/edit"), &fields).await;
        assert_eq!(status, 200, "{}", step2.html());
        let mut fields = form_fields(&step2, "#session-step2");
        assert_eq!(field(&fields, "o0.r.t02"), "done", "answers are pre-filled");
        assert_eq!(field(&fields, "rescore"), "pinned", "the pinned version by default");
        set(&mut fields, "o0.r.t02", "not_done");
        set(&mut fields, "reason", "Uterotonic was late");
        let (status, location, _) = post(&web, &format!("/sessions/{id}"), &fields).await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("/sessions/{id}?saved=1"));
        let (_, page) = web.html(&location).await;
        assert_eq!(texts(&page, "#session-topic"), ["Bleeding after birth (corrected)"]);
        // A key step missed: a fail, whatever the count.
        assert_eq!(page.select(&sel(".score-card.level-red")).count(), 1);
        assert_eq!(app.count("sessions").await, 1);
        let revision: i64 = sqlx::query_scalar("SELECT revision FROM sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(revision, 2);

        // Withdrawal: a confirmation page, a reason required.
        let (status, page) = web.html(&format!("/sessions/{id}/withdraw")).await;
        assert_eq!(status, 200);
        assert_eq!(page.select(&sel("#withdraw-form textarea[name=reason]")).count(), 1);
        let (status, _, page) = post(&web, &format!("/sessions/{id}/withdraw"), &[("reason".into(), " ".into())]).await;
        assert_eq!(status, 422);
        assert_eq!(texts(&page, ".field-error[data-field=reason]"), ["This field is required."]);
        let (status, location, _) = post(
            &web,
            &format!("/sessions/{id}/withdraw"),
            &[("reason".into(), "Logged at the wrong facility".into())],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("/sessions/{id}"));
        let (_, page) = web.html(&location).await;
        assert_eq!(texts(&page, "#withdrawn-banner .withdrawn-reason"), ["Logged at the wrong facility"]);
        assert_eq!(page.select(&sel("#edit-session, #withdraw-session")).count(), 0);
        let (status, _) = web.html(&format!("/sessions/{id}/edit")).await;
        assert_eq!(status, 403);
        // Withdrawn sessions leave the default list but stay findable.
        let row = format!("#sessions [data-session-id='{id}']");
        let (_, list) = web.html("/sessions").await;
        assert_eq!(list.select(&sel(&row)).count(), 0);
        let (_, list) = web.html("/sessions?status=withdrawn").await;
        assert_eq!(list.select(&sel(&row)).count(), 1);
    }

    async fn another_partners_session_is_not_found(app) {
        let f = app.seed_with_plugins().await;
        let a = app.sign_in(&f.a.mentor).await;
        let id = log_through_the_form(&a, &f).await;
        for who in [&f.b.mentor, &f.b.org_admin] {
            let b = app.sign_in(who).await;
            for path in [
                format!("/sessions/{id}"),
                format!("/sessions/{id}/edit"),
                format!("/sessions/{id}/withdraw"),
            ] {
                let (status, _) = b.html(&path).await;
                assert_eq!(status, 404, "{who} GET {path}");
            }
            let (status, _, _) = post(&b, &format!("/sessions/{id}/withdraw"), &[("reason".into(), "x".into())]).await;
            assert_eq!(status, 404);
            let (status, _, _) = post(&b, &format!("/sessions/{id}"), &[("topic".into(), "x".into())]).await;
            assert_eq!(status, 404);
            let (_, list) = b.html("/sessions").await;
            assert_eq!(list.select(&sel("#sessions [data-session-id]")).count(), 0);
        }
        let status: String = sqlx::query_scalar("SELECT status FROM sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(status, "recorded");
    }

    async fn a_manager_reads_sessions_but_cannot_log_them(app) {
        let f = app.seed_with_plugins().await;
        let a = app.sign_in(&f.a.mentor).await;
        let (fields, _) = to_step2(&a, &f, "third stage").await;
        let id = log_through_the_form(&a, &f).await;
        let manager = app.sign_in(&f.manager).await;
        let (status, _) = manager.html("/sessions/new").await;
        assert_eq!(status, 403);
        let (status, _, _) = post(&manager, "/sessions/new", &[("action".into(), "next".into())]).await;
        assert_eq!(status, 403);
        let mut fields = fields;
        set(&mut fields, "id", &mentortrack::domain::scoring::new_uuid().unwrap());
        let (status, _, _) = post(&manager, "/sessions", &fields).await;
        assert_eq!(status, 403);
        assert_eq!(app.count("sessions").await, 1);
        // Reading is allowed, correcting is not.
        let (status, page) = manager.html(&format!("/sessions/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(page.select(&sel("#edit-session")).count(), 0);
        let (status, _) = manager.html(&format!("/sessions/{id}/edit")).await;
        assert_eq!(status, 403);
        let (_, list) = manager.html("/sessions").await;
        assert_eq!(list.select(&sel(&format!("#sessions [data-session-id='{id}']"))).count(), 1);
        assert_eq!(list.select(&sel("#new-session")).count(), 0);
    }

    async fn going_back_to_step_1_keeps_the_answers(app) {
        let f = app.seed_with_plugins().await;
        let web = app.sign_in(&f.a.mentor).await;
        let (mut fields, step2) = to_step2(&web, &f, "third stage").await;
        answer_all(&step2, &mut fields);
        set(&mut fields, "o0.r.p01", "partly");
        set(&mut fields, "notes", "Written on step 2");
        set(&mut fields, "action", "back");
        let (status, _, step1) = post(&web, "/sessions/new", &fields).await;
        assert_eq!(status, 200);
        let mut back = form_fields(&step1, "#session-step1");
        assert_eq!(field(&back, "topic"), "Bleeding after birth");
        assert_eq!(field(&back, "id"), field(&fields, "id"));
        set(&mut back, "topic", "Changed on the way back");
        set(&mut back, "action", "next");
        let (status, _, step2) = post(&web, "/sessions/new", &back).await;
        assert_eq!(status, 200);
        let again = form_fields(&step2, "#session-step2");
        assert_eq!(field(&again, "o0.r.p01"), "partly");
        assert_eq!(field(&again, "o0.r.t02"), "done");
        assert_eq!(field(&again, "notes"), "Written on step 2");
        assert_eq!(field(&again, "topic"), "Changed on the way back");
        assert_eq!(app.count("sessions").await, 0);
    }

    async fn a_failing_plugin_names_the_checklist_and_keeps_everything_typed(app) {
        let f = app.seed_with_plugins().await;
        // A second server whose plugin limits are too tight for any real scoring.
        let starved = app
            .another_process_with(
                test_config(),
                Limits {
                    fuel: 1_000,
                    ..Limits::default()
                },
            )
            .await;
        let web = starved.sign_in(&f.a.mentor).await;
        let (mut fields, step2) = to_step2(&web, &f, "third stage").await;
        answer_all(&step2, &mut fields);
        set(&mut fields, "o0.r.t07", "partly");
        set(&mut fields, "notes", "Nothing lost");
        let (status, _, page) = post(&web, "/sessions", &fields).await;
        assert_eq!(status, 503);
        let failure = texts(&page, "#observation-0 .checklist-error").join(" ");
        assert!(
            failure.contains("third stage") && failure.contains("fuel"),
            "{failure}"
        );
        let kept = form_fields(&page, "#session-step2");
        assert_eq!(field(&kept, "o0.r.t07"), "partly");
        assert_eq!(field(&kept, "notes"), "Nothing lost");
        assert_eq!(app.count("sessions").await, 0);
        // The same form, sent again to a healthy server, is logged.
        let healthy = Web {
            client: web.client.clone(),
            csrf: web.csrf.clone(),
            base: app.url.clone(),
        };
        let (status, location, _) = post(&healthy, "/sessions", &kept).await;
        assert_eq!(status, 303);
        assert!(location.starts_with(&format!("/sessions/{}", field(&fields, "id"))));
        assert_eq!(app.count("sessions").await, 1);
    }
}
