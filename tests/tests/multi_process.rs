//! Several stateless host processes sharing one database, as behind a load balancer: a
//! session or token made on one is honoured by the other, and a sign-out on one ends it on
//! both.

use mentortrack_tests::{TestApp, engine_tests, texts};

async fn sessions_work_whichever_process_answers(one: TestApp) {
    let f = one.seed().await;
    let two = one.another_process().await;
    assert_ne!(one.url, two.url);

    // reqwest's cookie jar is per host:port, so the session cookie is carried over by hand.
    let session = session_cookie(&one, &f.a.mentor).await;
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(two.at("/providers"))
        .header("cookie", format!("mt_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the second process honours the first one's session"
    );
    let page = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(texts(&page, "#providers tbody td a"), ["Provider of RAM"]);

    let api = one.api(&f.a.org_admin).await;
    let r = reqwest::Client::new()
        .get(two.at("/api/v1/me"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the second process honours the first one's API token"
    );

    // Signing out on the second process ends the session for the first.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(two.at("/"))
        .header("cookie", format!("mt_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = mentortrack_tests::csrf_token(&page).unwrap();
    let r = client
        .post(two.at("/logout"))
        .header("cookie", format!("mt_session={session}"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client
        .get(one.at("/"))
        .header("cookie", format!("mt_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed out everywhere");
}

/// Signs in with a bare client and returns the raw session cookie value.
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client.get(app.at("/login")).send().await.unwrap();
    let anon = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("mt_csrf="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let csrf = mentortrack_tests::csrf_token(&login.text().await.unwrap()).unwrap();
    let r = client
        .post(app.at("/login"))
        .header("cookie", format!("mt_csrf={anon}"))
        .form(&[
            ("email", email),
            ("password", mentortrack_tests::PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("mt_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string()
}

engine_tests! {
    async fn shared_sessions(app) { sessions_work_whichever_process_answers(app).await }
}
