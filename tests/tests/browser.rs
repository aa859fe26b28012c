//! End to end in headless Chromium on a phone-sized screen: a mentor signs in and registers a
//! provider, as they would at a health centre.

use std::time::Duration;

use mentortrack_tests::webdriver::Browser;
use mentortrack_tests::{Engine, PASSWORD, TestApp};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentor_signs_in_and_registers_a_provider() -> anyhow::Result<()> {
    let Some(browser) = Browser::launch_or_skip("mentor_signs_in_and_registers_a_provider").await?
    else {
        return Ok(());
    };
    let app = TestApp::spawn(Engine::Sqlite).await;
    let f = app.seed().await;
    let result = drive(&browser, &app, &f).await;
    if result.is_err()
        && let Ok(png) = browser.screenshot_png().await
    {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the failure: {}", path.display());
    }
    browser.close().await?;
    result
}

async fn drive(
    browser: &Browser,
    app: &TestApp,
    f: &mentortrack_tests::Fixture,
) -> anyhow::Result<()> {
    browser.goto(&app.at("/providers")).await?;
    // Not signed in: the login page, which will bring us back.
    browser.wait_for("#login-form", WAIT).await?;
    browser
        .find("input[name=email]")
        .await?
        .send_keys(&f.a.mentor)
        .await?;
    browser
        .find("input[name=password]")
        .await?
        .send_keys(PASSWORD)
        .await?;
    browser
        .find("#login-form button[type=submit]")
        .await?
        .click()
        .await?;
    browser.wait_for("#providers", WAIT).await?;
    assert!(browser.current_url().await?.ends_with("/providers"));

    // The layout fits a phone: nothing scrolls sideways.
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await?;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "page is wider than the phone screen by {overflow}px"
    );

    browser.find("#new-provider").await?.click().await?;
    browser.wait_for("#provider-form", WAIT).await?;
    // Submitting with the name missing shows the field's error and keeps what was typed.
    browser
        .find("input[name=phone]")
        .await?
        .send_keys("+250 788 555 010")
        .await?;
    browser
        .find("select[name=cadre]")
        .await?
        .select_by_value("midwife")
        .await?;
    browser
        .find("select[name=facility_id]")
        .await?
        .select_by_value(&f.a.facility.id.to_string())
        .await?;
    browser
        .find("#provider-form button[type=submit]")
        .await?
        .click()
        .await?;
    let error = browser
        .wait_for(".field-error[data-field=name]", WAIT)
        .await?;
    assert_eq!(error.text().await?, "This field is required.");
    assert_eq!(
        browser.find("input[name=phone]").await?.value().await?,
        "+250 788 555 010"
    );

    browser
        .find("input[name=name]")
        .await?
        .send_keys("Uwase Diane")
        .await?;
    browser
        .find("#provider-form button[type=submit]")
        .await?
        .click()
        .await?;
    let name = browser.wait_for("#provider-name", WAIT).await?;
    assert_eq!(name.text().await?, "Uwase Diane");
    assert_eq!(
        browser.find(".provider-cadre").await?.text().await?,
        "Midwife"
    );
    assert_eq!(
        browser.find(".provider-facility").await?.text().await?,
        "Kibuye Referral Hospital"
    );

    // And it is in the database, once, under the mentor's organisation.
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT organisation_id, phone FROM providers WHERE name = 'Uwase Diane'")
            .fetch_all(app.db.pool())
            .await?;
    assert_eq!(rows, vec![(f.a.org.id, "+250 788 555 010".to_string())]);

    let png = browser.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-provider.png"),
        png,
    )?;

    // In Khmer, with the server's own Khmer font (the test machine has none installed).
    browser
        .find("button[name=lang][value=km]")
        .await?
        .click()
        .await?;
    browser.wait_for_text(".provider-cadre", "ឆ្មប", WAIT).await?;
    let mut loaded = serde_json::Value::Null;
    for _ in 0..50 {
        loaded = browser
            .execute(
                "return document.fonts.status === 'loaded' && [...document.fonts].some(f => f.family.includes('Noto Sans Khmer') && f.status === 'loaded');",
                vec![],
            )
            .await?;
        if loaded == serde_json::Value::Bool(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        loaded,
        serde_json::Value::Bool(true),
        "the Khmer font was not loaded"
    );
    let png = browser.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-provider-km.png"),
        png,
    )?;
    Ok(())
}
