//! Builds the plugins workspace (`../plugins`) for `wasm32-wasip2`, so that the
//! host can embed the partner plugins and its tests can load the hostile ones,
//! and turns `plugins/template/MANIFEST.txt` into a table of embedded files for
//! `mentortrack plugin new`.
//!
//! What the crate gets:
//!
//! - `env!("MENTORTRACK_COMPONENTS_DIR")`: the absolute path of
//!   `plugins/target/wasm32-wasip2/release`, holding `hbb.wasm`,
//!   `midwives_ldhf.wasm`, ..., `hostile_loop.wasm`, ... (one per crate, `-`
//!   written `_`). Embed with
//!   `include_bytes!(concat!(env!("MENTORTRACK_COMPONENTS_DIR"), "/hbb.wasm"))`.
//! - `$OUT_DIR/plugin_template.rs`, to `include!`: `PLUGIN_TEMPLATE_FILES`, every
//!   file of a new plugin project as (path in the project, contents, whether
//!   the placeholders are to be substituted). See the MANIFEST for the format.
//!
//! The plugins are built from source by a nested `cargo build` rather than
//! checked in as binaries, so the embedded components always match the SDK
//! and contract in this tree. It is the same command a developer runs in
//! `plugins/` (same target dir, same flags), so either one reuses the other's
//! artefacts, and a no-op takes well under a second.

use std::collections::BTreeSet;
use std::env;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let repo = manifest_dir.parent().expect("host/ has a parent");
    let plugins = repo.join("plugins").canonicalize().unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the host needs the plugins workspace beside it",
            repo.join("plugins").display()
        )
    });

    watch_inputs(repo, &plugins);
    build_components(&plugins);
    println!(
        "cargo:rustc-env=MENTORTRACK_COMPONENTS_DIR={}",
        plugins
            .join("target")
            .join(TARGET)
            .join("release")
            .display()
    );
    write_template_table(repo, &plugins);
}

/// Tells cargo which files the nested build depends on, so that this script
/// (and with it the nested cargo) runs again only when one of them changes.
///
/// Deliberately not the whole `plugins/` directory: its `target/` changes on
/// every build, which would make every outer build rerun this script. And
/// never a path that does not exist: cargo treats a missing path as changed,
/// every time.
fn watch_inputs(repo: &Path, plugins: &Path) {
    let mut paths = vec![
        repo.join("wit"),
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        plugins.join("template").join("MANIFEST.txt"),
    ];
    // Every crate of the workspace (members and the crates they depend on by
    // path), found by walking the tree rather than parsing the member list,
    // which would need a TOML parser as a build dependency.
    let mut crates = Vec::new();
    find_crates(plugins, 0, &mut crates);
    for dir in crates {
        for part in ["Cargo.toml", "build.rs", "src", "tests", "wit"] {
            paths.push(dir.join(part));
        }
    }
    for path in paths.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Directories under `dir` (not `dir` itself) that hold a `Cargo.toml`,
/// skipping build output, the template (not a crate) and hidden directories.
fn find_crates(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > 3 {
        return;
    }
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "template" {
            continue;
        }
        if path.join("Cargo.toml").is_file() {
            found.push(path.clone());
        }
        find_crates(&path, depth + 1, found);
    }
}

/// Runs `cargo build --release --target wasm32-wasip2 --workspace --locked`
/// in `plugins/`, failing this build with its output if it fails.
fn build_components(plugins: &Path) {
    ensure_target(plugins);
    let cargo = cargo_program();
    let mut command = clean_command(&cargo, plugins);
    command.args([
        "build",
        "--release",
        "--target",
        TARGET,
        "--workspace",
        "--locked",
    ]);
    // We cleared the outer jobserver (see `clean_command`), so bound the nested
    // build by the outer `-j` instead of letting it start one job per core.
    if let Ok(jobs) = env::var("NUM_JOBS") {
        command.args(["--jobs", &jobs]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", cargo.to_string_lossy()));
    if !output.status.success() {
        // Cargo shows a failing build script's stderr; make it the nested
        // cargo's own report.
        eprintln!("{}", String::from_utf8_lossy(&output.stdout));
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building the plugins failed ({}); the output is above. To reproduce: \
             cd {} && cargo build --release --target {TARGET} --workspace --locked \
             (if it says Cargo.lock needs updating, run it once without --locked).",
            output.status,
            plugins.display()
        );
    }
}

/// The cargo to run. Under rustup (which sets RUSTUP_TOOLCHAIN for what it
/// starts) its `cargo` proxy on PATH, so that the toolchain, cargo and rustc
/// alike, is chosen in `plugins/` as for a developer there: the components do
/// not depend on the toolchain the host happens to be built with, and the two
/// never rebuild each other's artefacts. Otherwise the cargo running us.
fn cargo_program() -> OsString {
    match env::var_os("CARGO") {
        Some(cargo) if env::var_os("RUSTUP_TOOLCHAIN").is_none() => cargo,
        _ => "cargo".into(),
    }
}

/// A command that runs as if typed in `dir` by the user: without what the
/// outer cargo passes to its build scripts.
///
/// Those variables describe the *host* build and would leak into the nested
/// one: rustflags meant for the native target (and coverage or sanitizer
/// flags that cannot link for wasm), wrappers such as sccache, the outer
/// target dir (whose lock the outer cargo holds: sharing it would deadlock),
/// the outer profile's settings, and the outer jobserver. Beyond breaking or
/// slowing the wasm build, any difference from a plain `cargo build` in
/// `plugins/` changes the fingerprints and rebuilds everything each time one
/// or the other runs.
///
/// Also cleared: RUSTUP_TOOLCHAIN, which rustup sets to the outer build's
/// toolchain (`cargo +nightly ...`), so that the toolchain is the one
/// `plugins/` selects through rust-toolchain.toml, as for the developer (see
/// `cargo_program`). Kept: the user's own configuration (CARGO_HOME,
/// RUSTUP_HOME, registry, network and terminal settings,
/// CARGO_TARGET_<TRIPLE>_* linkers).
fn clean_command(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    const NAMES: &[&str] = &[
        // Where the outer build writes.
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        // Compiler flags for the host target.
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTDOCFLAGS",
        // The compiler cargo resolved and the wrappers around it: the nested
        // cargo finds `rustc` itself, as it would for the developer.
        "RUSTC",
        "RUSTDOC",
        "RUSTC_LINKER",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        // The outer jobserver (see `--jobs` in build_components).
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        // The outer toolchain.
        "RUSTUP_TOOLCHAIN",
        "RUSTUP_TOOLCHAIN_SOURCE",
        // Set for this build script only.
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_FEATURE_",
        "CARGO_CFG_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        // Profile overrides for the host (CARGO_PROFILE_RELEASE_LTO, ...): the
        // plugins' release profile is theirs.
        "CARGO_PROFILE_",
        // Cargo's internal variables.
        "__CARGO_",
        // Metadata from the host's `links` dependencies.
        "DEP_",
    ];
    let mut command = Command::new(program);
    command.current_dir(dir);
    for (key, _) in env::vars_os() {
        let Some(name) = key.to_str() else { continue };
        if NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) {
            command.env_remove(&key);
        }
    }
    command
}

/// Makes sure the toolchain the nested cargo will use has the wasm32-wasip2
/// standard library, installing it with rustup once if it is missing.
fn ensure_target(plugins: &Path) {
    let has_target = || {
        let out = clean_command("rustc", plugins)
            .args(["--print", "target-libdir", "--target", TARGET])
            .output()
            .unwrap_or_else(|e| panic!("could not run rustc: {e}"));
        // An uninstalled target still prints its would-be directory; it is the
        // directory's existence that tells.
        let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        out.status.success() && libdir.is_dir()
    };
    if has_target() {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup, to build the plugins");
    let outcome = match clean_command("rustup", plugins)
        .args(["target", "add", TARGET])
        .status()
    {
        Ok(status) if status.success() && has_target() => return,
        Ok(status) if status.success() => "it reported success".to_owned(),
        Ok(status) => status.to_string(),
        Err(e) => format!("could not run rustup: {e}"),
    };
    panic!(
        "the {TARGET} target is not installed, and `rustup target add {TARGET}` did not \
         install it ({outcome}). The host embeds plugins built for it: install it for the \
         toolchain that {} uses with `rustup target add {TARGET}`, then build again.",
        plugins.display()
    );
}

/// Writes `$OUT_DIR/plugin_template.rs` from `plugins/template/MANIFEST.txt`:
/// one `include_str!` per file, reading the template's own files and, for the
/// vendored SDK, contract and guide, the real sources in this tree.
fn write_template_table(repo: &Path, plugins: &Path) {
    let template = plugins.join("template");
    let manifest_path = template.join("MANIFEST.txt");
    let manifest = fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let mut code = String::from(
        "/// Generated by host/build.rs from plugins/template/MANIFEST.txt: every file\n\
         /// `mentortrack plugin new` writes, as (path in the new project, contents,\n\
         /// whether `{{name}}`, `{{crate_name}}` and `{{publisher}}` are to be substituted).\n\
         pub const PLUGIN_TEMPLATE_FILES: &[(&str, &str, bool)] = &[\n",
    );
    let mut sources = BTreeSet::new();
    for (number, line) in manifest.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let (path, source, substitute) = match fields[..] {
            [path] => (path, template.join("files").join(path), true),
            [path, "from", source] => (path, template.join(source), false),
            _ => panic!(
                "{}:{}: bad line {line:?}",
                manifest_path.display(),
                number + 1
            ),
        };
        let source = source.canonicalize().unwrap_or_else(|e| {
            panic!(
                "{}:{}: {}: {e}",
                manifest_path.display(),
                number + 1,
                source.display()
            )
        });
        writeln!(
            code,
            "    ({path:?}, include_str!({source:?}), {substitute}),"
        )
        .expect("write to String");
        sources.insert(source);
    }
    code.push_str("];\n");

    // A vendored SDK missing a module, or a contract missing a file, would not
    // compile in the new project: catch it here rather than in a partner's hands.
    let mut required = Vec::new();
    for (dir, extension) in [
        (plugins.join("sdk").join("src"), "rs"),
        (repo.join("wit"), "wit"),
    ] {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == extension) {
                required.push(path.canonicalize().expect("listed file exists"));
            }
        }
    }
    required.push(
        plugins
            .join("sdk")
            .join("Cargo.toml")
            .canonicalize()
            .expect("sdk/Cargo.toml"),
    );
    let missing: Vec<String> = required
        .iter()
        .filter(|p| !sources.contains(*p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "{} does not list {}: add each as `<path in project> from <path relative to plugins/template>`",
        manifest_path.display(),
        missing.join(", ")
    );

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("plugin_template.rs");
    // Rewrite only on change, so the host is not recompiled for nothing.
    if fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    }
}
