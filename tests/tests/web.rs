//! The pages as a browser sees them: signing in, CSRF, forms with field errors, languages.

use mentortrack_tests::{PASSWORD, TestApp, csrf_token, engine_tests, texts};
use scraper::Html;

async fn sign_in_and_out(app: TestApp) {
    let f = app.seed().await;
    let client = app.client();
    let r = client.get(app.at("/providers")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Fproviders");

    let login = client
        .get(app.at("/login?next=/providers"))
        .send()
        .await
        .unwrap();
    let html = login.text().await.unwrap();
    let csrf = csrf_token(&html).unwrap();
    let wrong = client
        .post(app.at("/login"))
        .form(&[
            ("email", f.a.mentor.as_str()),
            ("password", "wrong-password"),
            ("csrf_token", &csrf),
            ("next", "/providers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let page = Html::parse_document(&wrong.text().await.unwrap());
    assert_eq!(
        texts(&page, ".field-error[data-field=password]"),
        ["Wrong e-mail or password."]
    );

    let ok = client
        .post(app.at("/login"))
        .form(&[
            ("email", f.a.mentor.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("next", "/providers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/providers");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mt_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP without a proxy: no Secure flag"
    );

    let list = client.get(app.at("/providers")).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    let csrf = csrf_token(&html).unwrap();
    let out = client
        .post(app.at("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(
        client
            .get(app.at("/providers"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        app.count("auth_sessions").await,
        0,
        "signing out ends the session in the database"
    );
}

async fn secure_cookies_behind_tls(app: TestApp) {
    let mut config = mentortrack_tests::test_config();
    config.trust_proxy = true;
    let behind_proxy = TestApp::spawn_with(app.engine, config).await;
    let f2 = behind_proxy.seed().await;
    let client = behind_proxy.client();
    let html = client
        .get(behind_proxy.at("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_token(&html).unwrap();
    let ok = client
        .post(behind_proxy.at("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[
            ("email", f2.a.mentor.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.org_admin).await;
    let before = app.count("providers").await;
    let fields = [("name", "Forged"), ("cadre", "nurse"), ("facility_id", "1")];
    // No token.
    let r = web
        .client
        .post(app.at("/providers"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Another session's token.
    let other = app.sign_in(&f.b.org_admin).await;
    let mut forged: Vec<(&str, &str)> = fields.to_vec();
    forged.push(("csrf_token", &other.csrf));
    let r = web
        .client
        .post(app.at("/providers"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = Html::parse_document(&r.text().await.unwrap());
    assert_eq!(
        texts(&page, "h1"),
        ["The form expired. Go back, reload the page and try again."]
    );
    assert_eq!(app.count("providers").await, before);
    // The login form is protected too (login CSRF).
    let anon = app.client();
    let r = anon
        .post(app.at("/login"))
        .form(&[("email", f.a.mentor.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn provider_form_reports_field_errors_and_keeps_input(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.mentor).await;
    let (status, form) = web.html("/providers/new").await;
    assert_eq!(status, 200);
    // A mentor is offered only their assigned facilities.
    let options = texts(&form, "select[name=facility_id] option");
    assert_eq!(
        options.iter().filter(|o| !o.is_empty()).count(),
        1,
        "{options:?}"
    );

    let before = app.count("providers").await;
    let facility = f.a.facility.id.to_string();
    let r = web
        .post(
            "/providers",
            &[
                ("name", ""),
                ("cadre", "nurse"),
                ("facility_id", &facility),
                ("phone", "call me"),
                ("sex", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = Html::parse_document(&r.text().await.unwrap());
    assert_eq!(
        texts(&page, ".field-error[data-field=name]"),
        ["This field is required."]
    );
    assert_eq!(
        texts(&page, ".field-error[data-field=phone]"),
        ["Enter a phone number of 6 to 15 digits."]
    );
    assert!(texts(&page, ".field-error[data-field=cadre]").is_empty());
    // What was typed is still there.
    let sel = scraper::Selector::parse("input[name=phone]").unwrap();
    assert_eq!(
        page.select(&sel).next().unwrap().value().attr("value"),
        Some("call me")
    );
    let sel = scraper::Selector::parse("select[name=cadre] option[selected]").unwrap();
    assert_eq!(
        page.select(&sel).next().unwrap().value().attr("value"),
        Some("nurse")
    );
    assert_eq!(app.count("providers").await, before);

    // An id that is not a number is a field error too.
    let r = web
        .post(
            "/providers",
            &[("name", "X"), ("cadre", "nurse"), ("facility_id", "abc")],
        )
        .await;
    assert_eq!(r.status(), 422);

    let r = web
        .post(
            "/providers",
            &[
                ("name", "Mukeshimana Claudine"),
                ("cadre", "midwife"),
                ("facility_id", &facility),
                ("phone", "+250 788 123 456"),
                ("sex", "female"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = web.html(&location).await;
    assert_eq!(texts(&page, "#provider-name"), ["Mukeshimana Claudine"]);
    assert_eq!(texts(&page, ".provider-cadre"), ["Midwife"]);
    assert_eq!(app.count("providers").await, before + 1);

    // Search finds it; pagination links carry the search.
    let (_, list) = web.html("/providers?q=mukesh").await;
    assert_eq!(
        texts(&list, "#providers tbody td a"),
        ["Mukeshimana Claudine"]
    );
}

async fn language_is_chosen_and_khmer_renders(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.mentor).await;
    let r = web
        .post("/language", &[("lang", "km"), ("next", "/providers")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/providers");
    let r = web.get("/providers").await;
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let page = Html::parse_document(&r.text().await.unwrap());
    assert_eq!(texts(&page, "h1"), ["អ្នកផ្តល់សេវា"]);
    let sel = scraper::Selector::parse("html").unwrap();
    assert_eq!(
        page.select(&sel).next().unwrap().value().attr("lang"),
        Some("km")
    );
    // The preference follows the user to a new session.
    let again = app.sign_in(&f.a.mentor).await;
    let (_, page) = again.html("/").await;
    assert_eq!(
        texts(&page, "nav a").first().map(String::as_str),
        Some("ទំព័រដើម")
    );

    let web = app.sign_in(&f.a.org_admin).await;
    web.post("/language", &[("lang", "fr"), ("next", "/")])
        .await;
    let (_, page) = web.html("/users").await;
    assert_eq!(texts(&page, "h1"), ["Utilisateurs"]);
    let bad = web
        .post("/language", &[("lang", "xx"), ("next", "/")])
        .await;
    assert_eq!(bad.status(), 422);

    // Anonymous visitors get their browser's language.
    let r = app
        .client()
        .get(app.at("/login"))
        .header("accept-language", "rw-RW,rw;q=0.9")
        .send()
        .await
        .unwrap();
    let page = Html::parse_document(&r.text().await.unwrap());
    assert_eq!(texts(&page, "h1"), ["Injira"]);
}

async fn login_page_is_throttled(app: TestApp) {
    let f = app.seed().await;
    let client = app.client();
    let html = client
        .get(app.at("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_token(&html).unwrap();
    for _ in 0..5 {
        let r = client
            .post(app.at("/login"))
            .form(&[
                ("email", f.a.mentor.as_str()),
                ("password", "wrong-wrong"),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
    }
    let r = client
        .post(app.at("/login"))
        .form(&[
            ("email", f.a.mentor.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
}

async fn facility_hierarchy_browse_and_search(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.mentor).await;
    let (_, page) = web.html("/facilities").await;
    assert_eq!(texts(&page, "ul.tree li a"), ["Rwanda"]);
    let (_, page) = web.html(&format!("/facilities/{}", f.district.id)).await;
    assert_eq!(
        texts(&page, "#children li a"),
        [
            "Gitesi Health Post",
            "Kibuye Referral Hospital",
            "Rubengera Health Centre"
        ]
    );
    assert_eq!(
        texts(&page, ".crumbs a"),
        ["Facilities", "Rwanda", "Western Province"]
    );
    let (_, page) = web.html("/facilities?q=rubengera").await;
    assert_eq!(
        texts(&page, "#org-units tbody td a"),
        ["Rubengera Health Centre"]
    );
    let (_, page) = web.html("/facilities?q=&level=district").await;
    assert_eq!(texts(&page, "#org-units tbody td a"), ["Karongi"]);
    let (status, _) = web.html("/facilities/999999").await;
    assert_eq!(status, 404);
}

async fn mentor_assignments_are_managed_by_their_org_admin(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.org_admin).await;
    let facility = f.unassigned_facility.id.to_string();
    let r = web
        .post(
            &format!("/users/{}/assignments", f.a.mentor_id),
            &[("facility_id", &facility)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = web.html(&format!("/users/{}", f.a.mentor_id)).await;
    assert_eq!(
        texts(&page, "#assignments li > a"),
        ["Gitesi Health Post", "Kibuye Referral Hospital"]
    );
    let r = web
        .post(
            &format!(
                "/users/{}/assignments/{}/delete",
                f.a.mentor_id, f.unassigned_facility.id
            ),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = web.html(&format!("/users/{}", f.a.mentor_id)).await;
    assert_eq!(
        texts(&page, "#assignments li > a"),
        ["Kibuye Referral Hospital"]
    );
    // The mentor sees their facilities on the home page.
    let mentor = app.sign_in(&f.a.mentor).await;
    let (_, home) = mentor.html("/").await;
    assert_eq!(
        texts(&home, "#my-facilities a"),
        ["Kibuye Referral Hospital"]
    );
}

async fn users_are_created_with_field_errors(app: TestApp) {
    let f = app.seed().await;
    let web = app.sign_in(&f.a.org_admin).await;
    let org = f.a.org.id.to_string();
    let r = web
        .post(
            "/users",
            &[
                ("organisation_id", &org),
                ("email", "not-an-email"),
                ("display_name", "Nshimiyimana"),
                ("role", "admin"),
                ("password", "short"),
                ("language", "rw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = Html::parse_document(&r.text().await.unwrap());
    assert_eq!(
        texts(&page, ".field-error[data-field=email]"),
        ["This is not a valid e-mail address."]
    );
    assert_eq!(
        texts(&page, ".field-error[data-field=role]"),
        ["You may not do this."]
    );
    assert_eq!(
        texts(&page, ".field-error[data-field=password]"),
        ["The password must have at least 10 characters."]
    );
    let r = web
        .post(
            "/users",
            &[
                ("organisation_id", &org),
                ("email", "Nshimiyimana@RAM.example.org"),
                ("display_name", "Nshimiyimana Eric"),
                ("role", "mentor"),
                ("password", "a-good-long-password"),
                ("language", "rw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let login = app.client();
    let html = login
        .get(app.at("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_token(&html).unwrap();
    let r = login
        .post(app.at("/login"))
        .form(&[
            ("email", "nshimiyimana@ram.example.org"),
            ("password", "a-good-long-password"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "the new mentor can sign in, e-mail case-insensitively"
    );
}

engine_tests! {
    async fn sign_in_flow(app) { sign_in_and_out(app).await }
    async fn secure_cookies(app) { secure_cookies_behind_tls(app).await }
    async fn csrf(app) { forms_without_a_valid_csrf_token_are_refused(app).await }
    async fn provider_form(app) { provider_form_reports_field_errors_and_keeps_input(app).await }
    async fn languages(app) { language_is_chosen_and_khmer_renders(app).await }
    async fn login_throttling(app) { login_page_is_throttled(app).await }
    async fn facilities(app) { facility_hierarchy_browse_and_search(app).await }
    async fn assignments(app) { mentor_assignments_are_managed_by_their_org_admin(app).await }
    async fn user_creation(app) { users_are_created_with_field_errors(app).await }
}
