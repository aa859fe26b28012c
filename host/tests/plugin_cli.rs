//! `mentortrack plugin test` and `mentortrack plugin new`, as a plugin author uses them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn components() -> PathBuf {
    PathBuf::from(mentortrack::plugins::COMPONENTS_DIR)
}

fn mentortrack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mentortrack"))
        .args(args)
        // Full logging: logs go to stderr, so stdout holds the report alone (`--json`
        // output must parse even with every log line on).
        .env("MENTORTRACK_LOG", "debug")
        .output()
        .expect("run mentortrack")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plugin_test_reports_a_good_plugin_and_fails_a_hostile_one() {
    let hbb = components().join("hbb.wasm");
    let out = mentortrack(&["plugin", "test", hbb.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("Helping Babies Breathe") && stdout.contains("by RPA"),
        "{stdout}"
    );
    assert!(stdout.contains("osce-b"), "{stdout}");
    assert!(
        stdout.contains("runs agreed") && !stdout.contains("DISAGREED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OK: the server would accept this plugin."),
        "{stdout}"
    );

    // Fixtures, and JSON for machines.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures.json");
    std::fs::write(
        &fixtures,
        r#"[{"checklist": "knowledge-check", "name": "nothing answered", "responses": []}]"#,
    )
    .unwrap();
    let out = mentortrack(&[
        "plugin",
        "test",
        hbb.to_str().unwrap(),
        "--responses",
        fixtures.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "--json prints JSON ({e}):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let case = &report["cases"][0];
    assert_eq!(case["name"], "nothing answered");
    assert_eq!(
        case["result"]["status"], "refused",
        "missing required answers are item-level errors: {case}"
    );
    assert!(case["stats"]["fuel_used"].as_u64().unwrap() > 0);
    assert_eq!(case["deterministic"], true);

    // A generous wall-clock limit, so that the small fuel limit is what stops the loop even on a
    // machine too busy to run 50 million instructions in the default 2 s.
    let hostile = components().join("hostile_loop.wasm");
    let out = mentortrack(&[
        "plugin",
        "test",
        hostile.to_str().unwrap(),
        "--plugin-fuel",
        "50000000",
        "--plugin-timeout-ms",
        "60000",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("FAILED: the plugin used all its fuel (50000000 units)"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("NOT OK."),
        "{}",
        text(&out.stdout)
    );

    let out = mentortrack(&[
        "plugin",
        "test",
        components().join("hostile_version2.wasm").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("this server supports contract 1.x"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs cargo in a generated project, sharing a target directory across runs so the SDK's
/// dependencies compile once per machine, not once per test run.
fn cargo(project: &Path, args: &[&str]) -> Output {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-new-target");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", &target);
    // Not the outer test build's settings: its flags, wrappers, target, target directory and
    // jobserver. The toolchain (RUSTUP_TOOLCHAIN) and CARGO_HOME stay: the new project builds
    // with the same toolchain, offline, from the crates the host's build of `plugins/` fetched.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_MAKEFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run cargo")
}

/// A plugin author's first steps, end to end: `plugin new`, the project's own tests, the wasm
/// build, then `plugin test` on the component.
///
/// Cargo runs `--offline`, so the test never depends on the network. It needs none: the project's
/// Cargo.lock is `plugins/Cargo.lock` (see `plugins/template/MANIFEST.txt`), and `host/build.rs`
/// has already fetched every crate it pins, natively and for wasm alike, to build `plugins/`
/// before this test could be compiled.
#[test]
fn plugin_new_starts_a_project_that_builds_tests_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("safe-childbirth");
    let out = mentortrack(&[
        "plugin",
        "new",
        "safe-childbirth",
        "--publisher",
        "RPA",
        "--dir",
        project.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bad = mentortrack(&[
        "plugin",
        "new",
        "Not A Name",
        "--dir",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("is not a plugin id"),
        "{}",
        text(&bad.stderr)
    );

    let test = cargo(&project, &["test", "--offline"]);
    assert!(
        test.status.success(),
        "the new project's tests:\n{}\n{}",
        text(&test.stdout),
        text(&test.stderr)
    );
    let build = cargo(
        &project,
        &[
            "build",
            "--offline",
            "--release",
            "--target",
            "wasm32-wasip2",
        ],
    );
    assert!(
        build.status.success(),
        "the new project's wasm build:\n{}",
        text(&build.stderr)
    );
    let wasm = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("plugin-new-target/wasm32-wasip2/release/safe_childbirth.wasm");
    let out = mentortrack(&["plugin", "test", wasm.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("(safe-childbirth) by RPA"), "{stdout}");
    assert!(stdout.contains("hand-hygiene"), "{stdout}");
    assert!(
        stdout.contains("runs agreed") && !stdout.contains("DISAGREED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OK: the server would accept this plugin."),
        "{stdout}"
    );
}
