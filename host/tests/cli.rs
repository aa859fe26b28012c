//! The `mentortrack` binary as an operator uses it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mentortrack(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mentortrack"))
        .args(args)
        .env_remove("MENTORTRACK_DATABASE_URL")
        .env("MENTORTRACK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mentortrack");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("wait")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn help_explains_every_command() {
    let out = mentortrack(&["--help"], None);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in ["serve", "demo", "migrate", "user", "import"] {
        assert!(
            help.contains(command),
            "--help does not mention {command}:\n{help}"
        );
    }
    let serve = text(&mentortrack(&["serve", "--help"], None).stdout);
    assert!(
        serve.contains("MENTORTRACK_BIND") && serve.contains("MENTORTRACK_DATABASE_URL"),
        "{serve}"
    );
}

#[test]
fn migrate_create_a_user_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ops.db", dir.path().display());
    let out = mentortrack(&["migrate", "--database-url", &url], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let facilities = dir.path().join("facilities.csv");
    std::fs::write(
        &facilities,
        "code,name,level,parent_code,facility_type\nRW,Rwanda,country,,\nRW-S,Southern Province,province,RW,\nRW-S-NYG,Nyamagabe,district,RW-S,\nRW-NYG-H,Kigeme Hospital,facility,RW-S-NYG,hospital\nRW-NYG-X,Broken,facility,RW-S-NYG,clinic\n",
    )
    .unwrap();
    let path = facilities.to_string_lossy().into_owned();
    let out = mentortrack(
        &["import", "facilities", &path, "--database-url", &url],
        None,
    );
    assert!(!out.status.success(), "a bad row must fail the import");
    let err = text(&out.stderr);
    assert!(err.contains("line 6: facility_type"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let out = mentortrack(
        &[
            "import",
            "facilities",
            &path,
            "--skip-bad-rows",
            "--database-url",
            &url,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported 4 row(s), skipped 1 bad row(s)"),
        "{}",
        text(&out.stdout)
    );

    // No organisation yet: a clear message, not a crash.
    let out = mentortrack(
        &[
            "user",
            "create",
            "--email",
            "root@example.org",
            "--name",
            "Root",
            "--role",
            "admin",
            "--organisation",
            "PM",
            "--database-url",
            &url,
        ],
        Some("a-long-enough-password\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no organisation with code PM"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn user_create_reads_the_password_from_stdin_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/users.db", dir.path().display());
    // An organisation to put the user in, through the library (the CLI has no org command).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = mentortrack::db::Db::open(&url).await.unwrap();
        mentortrack::domain::organisations::create(
            &db,
            None,
            &mentortrack::domain::organisations::NewOrganisation {
                code: Some("PM".into()),
                name: Some("Project Management".into()),
                kind: Some("project_management".into()),
                country: None,
            },
        )
        .await
        .unwrap();
        db.close().await;
    });
    let args = [
        "user",
        "create",
        "--email",
        "Root@Example.org",
        "--name",
        "Root",
        "--role",
        "admin",
        "--organisation",
        "PM",
        "--database-url",
        &url,
    ];
    let short = mentortrack(&args, Some("short\n"));
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains("password: must be at least 10 characters"),
        "{}",
        text(&short.stderr)
    );

    let ok = mentortrack(&args, Some("a-long-enough-password\n"));
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("created user root@example.org (admin)"),
        "{}",
        text(&ok.stdout)
    );

    let again = mentortrack(&args, Some("a-long-enough-password\n"));
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("email: another account already uses this e-mail"),
        "{}",
        text(&again.stderr)
    );

    rt.block_on(async {
        let db = mentortrack::db::Db::open(&url).await.unwrap();
        let creds = mentortrack::domain::users::credentials(&db, "root@example.org")
            .await
            .unwrap();
        let (_, hash, active) = creds.expect("user stored");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(active, 1);
        assert!(
            mentortrack::auth::password::verify("a-long-enough-password".into(), Some(hash))
                .await
                .unwrap(),
            "the piped password, without its newline, is the password"
        );
    });
}

#[test]
fn serve_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/serve.db", dir.path().display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mentortrack"))
        .args(["serve", "--bind", &bind])
        .env("MENTORTRACK_DATABASE_URL", &url)
        .env("MENTORTRACK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        for _ in 0..100 {
            if let Ok(r) = reqwest::get(format!("http://{bind}/healthz")).await {
                return r.text().await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the server did not answer");
    });
    assert!(body.contains("\"database\":\"sqlite\""), "{body}");
    // What an init system or `docker stop` sends.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}
