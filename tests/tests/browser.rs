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

/// The "done when": on a phone-sized screen a mentor logs one session for three
/// mentees scored on two partners' checklists (the midwives' own drills and the paediatric
/// association's Helping Babies Breathe, which it granted), sees the scores at once, and
/// finds the session on each provider's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentor_logs_a_session_for_three_mentees_on_two_partners_checklists() -> anyhow::Result<()>
{
    let Some(browser) = Browser::launch_or_skip(
        "mentor_logs_a_session_for_three_mentees_on_two_partners_checklists",
    )
    .await?
    else {
        return Ok(());
    };
    let app = TestApp::spawn(Engine::Sqlite).await;
    let f = app.seed_with_plugins().await;
    // RPA lets RAM's mentors use Helping Babies Breathe.
    mentortrack::plugins::grants::add(
        &app.db,
        None,
        f.b.plugin_version_id,
        &mentortrack::plugins::grants::GrantInput {
            organisation_id: Some(f.a.org.id),
        },
    )
    .await?;
    let mut mentees = vec![f.a.provider_id];
    for (code, name, cadre) in [
        ("RAM-002", "Mukamana Alice", "nurse"),
        ("RAM-003", "Niyonsenga Eric", "midwife"),
    ] {
        let mut tx = app.db.begin().await?;
        let id = mentortrack::domain::providers::insert(
            &mut tx,
            None,
            &mentortrack::domain::providers::ValidProvider {
                organisation_id: f.a.org.id,
                facility_id: f.a.facility.id,
                code: Some(code.into()),
                name: name.into(),
                cadre: cadre.into(),
                sex: None,
                phone: None,
                active: true,
            },
        )
        .await?;
        tx.commit().await?;
        mentees.push(id);
    }
    let result = drive_session(&browser, &app, &f, &mentees).await;
    if result.is_err()
        && let Ok(png) = browser.screenshot_png().await
    {
        let path =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the failure: {}", path.display());
    }
    browser.close().await?;
    result
}

async fn no_sideways_scroll(browser: &Browser, page: &str) -> anyhow::Result<()> {
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{page} is wider than the phone screen by {overflow}px"
    );
    Ok(())
}

async fn drive_session(
    browser: &Browser,
    app: &TestApp,
    f: &mentortrack_tests::Fixture,
    mentees: &[i64],
) -> anyhow::Result<()> {
    let (drilled, osce, pph) = (mentees[0], mentees[1], mentees[2]);
    browser.goto(&app.at("/sessions/new")).await?;
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

    // Step 1: the session and who was there.
    browser.wait_for("#session-step1", WAIT).await?;
    let facility = browser.find("#facility-name").await?.text().await?;
    assert!(facility.ends_with(&f.a.facility.name), "{facility}");
    browser
        .find("select[name=session_type]")
        .await?
        .select_by_value("skills_drill")
        .await?;
    browser
        .find("input[name=topic]")
        .await?
        .send_keys("Bleeding after birth and newborn resuscitation")
        .await?;
    browser
        .find("input[name=duration_minutes]")
        .await?
        .send_keys("90")
        .await?;
    for id in mentees {
        browser
            .find(&format!("input[name=mentee][value='{id}']"))
            .await?
            .click()
            .await?;
    }
    let ram = f.a.plugin_version_id;
    let rpa = f.b.plugin_version_id;
    // Options are labelled with their publisher, and RPA's granted HBB is among them.
    let labels = browser
        .find(&format!("select[name='checklist.{osce}']"))
        .await?
        .text()
        .await?;
    assert!(
        labels.contains("(RPA)") && labels.contains("(RAM)"),
        "{labels}"
    );
    for (id, choice) in [
        (drilled, format!("{ram}:amtsl")),
        (osce, format!("{rpa}:osce-a")),
        (pph, format!("{ram}:pph")),
    ] {
        browser
            .find(&format!("select[name='checklist.{id}']"))
            .await?
            .select_by_value(&choice)
            .await?;
    }
    no_sideways_scroll(browser, "step 1").await?;
    let png = browser.find("#mentees").await?.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session-step1.png"),
        png,
    )?;
    browser.find("#next-step").await?.click().await?;

    // Step 2: three checklists, filled by tapping.
    browser.wait_for("#session-step2", WAIT).await?;
    assert_eq!(browser.find_all("section.observation").await?.len(), 3);
    let section = |provider: i64| format!("section.observation[data-provider-id='{provider}']");
    let id = browser
        .find("#session-step2 input[name=id]")
        .await?
        .value()
        .await?;
    // Every step of the AMTSL drill done.
    for radio in browser
        .find_all(&format!(
            "{} input[type=radio][value=done]",
            section(drilled)
        ))
        .await?
    {
        radio.click().await?;
    }
    // OSCE A: everything but the key step of preparing the area and checking the bag.
    for radio in browser
        .find_all(&format!("{} input[type=radio][value=yes]", section(osce)))
        .await?
    {
        radio.click().await?;
    }
    browser
        .find(&format!(
            "{} input[name$='.r.a02'][value=no]",
            section(osce)
        ))
        .await?
        .click()
        .await?;
    // The PPH drill: the scenario, every step done, and the minutes typed in.
    browser
        .find(&format!(
            "{} input[name$='.r.scenario'][value=atony]",
            section(pph)
        ))
        .await?
        .click()
        .await?;
    for radio in browser
        .find_all(&format!("{} input[type=radio][value=done]", section(pph)))
        .await?
    {
        radio.click().await?;
    }
    browser
        .find(&format!("{} input[name$='.r.minutes']", section(pph)))
        .await?
        .send_keys("2")
        .await?;
    browser
        .find("textarea[name=action_points]")
        .await?
        .send_keys("Check the bag and mask before every birth")
        .await?;
    no_sideways_scroll(browser, "step 2").await?;
    let png = browser.find(&section(osce)).await?.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session-step2.png"),
        png,
    )?;
    browser.find("#save-session").await?.click().await?;

    // The result, at once.
    browser.wait_for("#session-saved", WAIT).await?;
    let url = browser.current_url().await?;
    assert!(url.contains(&format!("/sessions/{id}")), "{url}");
    let card = |provider: i64| format!(".score-card[data-provider-id='{provider}']");
    assert_eq!(
        browser
            .find(&format!("{} .percentage", card(drilled)))
            .await?
            .text()
            .await?,
        "100%"
    );
    browser
        .find(&format!("{}.level-green .outcome-green", card(drilled)))
        .await?;
    assert_eq!(
        browser
            .find(&format!("{} .percentage", card(osce)))
            .await?
            .text()
            .await?,
        "91.7%"
    );
    browser
        .find(&format!("{}.level-red .outcome-red", card(osce)))
        .await?;
    let feedback = browser
        .find(&format!("{} .feedback", card(osce)))
        .await?
        .text()
        .await?;
    assert!(feedback.contains("checks the bag and mask"), "{feedback}");
    assert_eq!(
        browser
            .find(&format!("{} .percentage", card(pph)))
            .await?
            .text()
            .await?,
        "100%"
    );
    browser.find(&format!("{}.level-green", card(pph))).await?;
    no_sideways_scroll(browser, "the result").await?;
    let png = browser.find(&card(osce)).await?.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session-card.png"),
        png,
    )?;
    let png = browser.screenshot_png().await?;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-session.png"),
        png,
    )?;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT id FROM sessions")
        .fetch_all(app.db.pool())
        .await?;
    assert_eq!(stored, vec![(id.clone(),)]);

    // Each mentee's page shows the session on their timeline.
    for provider in mentees {
        browser
            .goto(&app.at(&format!("/providers/{provider}")))
            .await?;
        browser
            .wait_for(
                &format!("#timeline .timeline-entry[data-session-id=\"{id}\"]"),
                WAIT,
            )
            .await?;
    }
    Ok(())
}
