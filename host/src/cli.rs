//! The `mentortrack` command line.

use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::db::{self, Db};
use crate::domain::{organisations, users};
use crate::error::AppError;

#[derive(Parser, Debug)]
#[command(
    name = "mentortrack",
    version,
    about = "Host server for low-dose, high-frequency (LDHF) mentorship programmes",
    long_about = "mentortrack records mentorship sessions, trainings and quarterly reports of \
maternal and newborn health programmes shared by several partner organisations.\n\n\
Start with `mentortrack demo` to explore a demo programme, or `mentortrack serve` for a real one."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server loaded with a demo programme (Rwanda and Cambodia), printing demo logins;
    /// `--scale national` generates a national-scale programme instead.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import facilities or providers from a CSV file (all rows or none).
    Import(ImportArgs),
    /// Test, install or start partner plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Run a plugin under production limits: print its manifest and checklists, score each
    /// fixture twice, and report fuel, memory, output size and whether the runs agreed.
    Test {
        /// The plugin component (.wasm).
        file: PathBuf,
        /// JSON fixtures: [{"checklist": "...", "responses": [{"item_id": "...", "answer": {"type": "yes"}}]}].
        /// Without it, each checklist is scored with its best and its worst answers.
        #[arg(long)]
        responses: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Check and store a plugin version (its publisher must be an organisation here).
    Install {
        file: PathBuf,
        /// Also make it the active version of its plugin.
        #[arg(long)]
        activate: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Start a new plugin project that builds and passes its tests at once.
    New {
        /// The plugin's id, e.g. `emonc-drills` (lowercase letters, digits and '-').
        name: String,
        /// Your organisation's code, e.g. RAM.
        #[arg(long, default_value = "MYORG")]
        publisher: String,
        /// Where to create the project (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    /// Without one, an embedded SQLite file under ./data/ is created and used.
    #[arg(long, env = "MENTORTRACK_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MENTORTRACK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Always mark cookies Secure (use when TLS ends at a proxy that sends no X-Forwarded-Proto).
    #[arg(long, env = "MENTORTRACK_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// Trust X-Forwarded-For and X-Forwarded-Proto from a reverse proxy in front.
    #[arg(long, env = "MENTORTRACK_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Days after logging a session during which its mentor may still correct or withdraw it.
    #[arg(long, env = "MENTORTRACK_CORRECTION_WINDOW_DAYS", default_value_t = 7, value_parser = clap::value_parser!(i64).range(0..=3650))]
    pub correction_window_days: i64,
    /// Days between a provider's LDHF sessions; longer without one is overdue.
    #[arg(long, env = "MENTORTRACK_LDHF_INTERVAL_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub ldhf_interval_days: i64,
    #[command(flatten)]
    pub plugins: PluginArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// `small`: the Rwanda and Cambodia demo programme. `national`: a synthetic national
    /// programme (30 districts, ~1,500 facilities, ~30,000 providers, 8 partners, five years
    /// with at least 1,000,000 scored observations), generated in a few minutes.
    #[arg(long, value_enum, default_value_t = DemoScale::Small)]
    pub scale: DemoScale,
    /// With `--scale national`: generate this percentage of the national programme (1-100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub percent: u32,
    /// Load the demo data and exit instead of serving.
    #[arg(long)]
    pub load_only: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoScale {
    Small,
    National,
}

/// Where compiled plugins are cached, and the limits plugins run under.
#[derive(Args, Debug, Clone)]
pub struct PluginArgs {
    /// Directory for compiled plugins (kept between starts so they load fast).
    #[arg(
        long,
        env = "MENTORTRACK_PLUGIN_CACHE",
        default_value = "data/plugin-cache"
    )]
    pub plugin_cache: PathBuf,
    /// Fuel (roughly, WebAssembly instructions) one plugin call may use.
    #[arg(long, env = "MENTORTRACK_PLUGIN_FUEL", default_value_t = crate::plugins::Limits::default().fuel)]
    pub plugin_fuel: u64,
    /// Milliseconds one plugin call may take.
    #[arg(long, env = "MENTORTRACK_PLUGIN_TIMEOUT_MS", default_value_t = 2000)]
    pub plugin_timeout_ms: u64,
    /// Memory one plugin call may use, in MiB.
    #[arg(long, env = "MENTORTRACK_PLUGIN_MEMORY_MIB", default_value_t = 64)]
    pub plugin_memory_mib: usize,
}

impl PluginArgs {
    pub fn limits(&self) -> crate::plugins::Limits {
        crate::plugins::Limits {
            fuel: self.plugin_fuel,
            wall_clock: std::time::Duration::from_millis(self.plugin_timeout_ms.max(1)),
            memory_bytes: self.plugin_memory_mib.max(1) << 20,
            ..crate::plugins::Limits::default()
        }
    }

    pub fn runtime(&self) -> anyhow::Result<crate::plugins::Runtime> {
        crate::plugins::Runtime::new(self.limits(), Some(self.plugin_cache.clone()))
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from a prompt, or from standard input when it is
    /// not a terminal (never from a flag, which would leave it in the shell history).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager, org_admin or mentor.
        #[arg(long)]
        role: String,
        /// The organisation's code, e.g. RAM.
        #[arg(long)]
        organisation: String,
        /// Preferred language: en, fr, rw or km.
        #[arg(long, default_value = "en")]
        language: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ImportKind {
    Facilities,
    Providers,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// What the file holds.
    pub kind: ImportKind,
    /// The CSV file (UTF-8, with a header row). See README for the columns.
    pub file: PathBuf,
    /// For providers: the registering organisation's code.
    #[arg(long)]
    pub organisation: Option<String>,
    /// Import the good rows and report the bad ones, instead of importing nothing.
    #[arg(long)]
    pub skip_bad_rows: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn database_url(args: &DbArgs, default: &str) -> String {
    args.database_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub fn config(args: &ServeArgs) -> Config {
    Config {
        cookie_secure: args.cookie_secure,
        trust_proxy: args.trust_proxy,
        programme: crate::config::Programme {
            correction_window_days: args.correction_window_days,
            ldhf_interval_days: args.ldhf_interval_days,
        },
        ..Config::default()
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let url = database_url(&args.db, db::DEFAULT_SQLITE_URL);
            let db = Db::open(&url).await?;
            serve(db, &args).await
        }
        Command::Demo(demo) if demo.scale == DemoScale::National => {
            let args = &demo.serve;
            let url = database_url(&args.db, crate::demo::national::DEFAULT_URL);
            let db = Db::open(&url).await?;
            let registry =
                crate::plugins::Registry::start(db.clone(), args.plugins.runtime()?).await?;
            let options = crate::demo::national::Options::new(demo.percent);
            let summary = crate::demo::national::load(&db, &registry, &options).await?;
            println!("{summary}");
            drop(registry);
            if demo.load_only {
                db.close().await;
                return Ok(());
            }
            serve(db, args).await
        }
        Command::Demo(demo) => {
            anyhow::ensure!(
                demo.percent == 100,
                "--percent applies to --scale national only"
            );
            let args = &demo.serve;
            let url = database_url(&args.db, crate::demo::DEFAULT_URL);
            let db = Db::open(&url).await?;
            let summary = crate::demo::load(&db).await?;
            println!("{summary}");
            let registry = install_bundled_plugins(&db, &args.plugins).await?;
            let started = std::time::Instant::now();
            let activity = crate::demo::activity::load(&db, &registry).await?;
            println!(
                "programme history: {} plugin grants, {} sessions with {} scored observations, {} trainings added ({:.1} s)",
                activity.grants,
                activity.sessions,
                activity.observations,
                activity.trainings,
                started.elapsed().as_secs_f64()
            );
            // Reporting records build on the sessions above; reports come last as they
            // read everything else.
            let started = std::time::Instant::now();
            let death_reviews = crate::demo::death_reviews::load(&db, &registry).await?;
            let qi = crate::demo::qi::load(&db, &registry).await?;
            let teams = crate::demo::teams::load(&db, &registry).await?;
            let reports = crate::demo::reports::load(&db, &registry).await?;
            println!(
                "reporting: {death_reviews} death-review records, {qi} QI records, {teams} team records, {reports} report records added ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
            drop(registry);
            if demo.load_only {
                db.close().await;
                return Ok(());
            }
            serve(db, args).await
        }
        Command::Migrate(args) => {
            let url = database_url(&args, db::DEFAULT_SQLITE_URL);
            Db::open(&url).await?;
            println!("migrations applied to {}", db::redact(&url));
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            name,
            role,
            organisation,
            language,
            db,
        }) => {
            let url = database_url(&db, db::DEFAULT_SQLITE_URL);
            let db = Db::open(&url).await?;
            let org = organisations::find_by_code(&db, &organisation)
                .await?
                .with_context(|| format!("no organisation with code {organisation}"))?;
            let password = read_password()?;
            let input = users::NewUser {
                organisation_id: Some(org.id),
                email: Some(email),
                display_name: Some(name),
                role: Some(role),
                password: Some(password),
                language: Some(language),
            };
            let user = users::create(&db, None, &input).await.map_err(explain)?;
            println!(
                "created user {} ({}) in {}",
                user.email, user.role, org.name
            );
            Ok(())
        }
        Command::Plugin(command) => plugin_command(command).await,
        Command::Import(args) => {
            let url = database_url(&args.db, db::DEFAULT_SQLITE_URL);
            let db = Db::open(&url).await?;
            crate::import::run(&db, &args).await
        }
    }
}

/// The demo's partners ship their real plugins: install and activate each one once.
async fn install_bundled_plugins(
    db: &Db,
    plugins: &PluginArgs,
) -> anyhow::Result<std::sync::Arc<crate::plugins::Registry>> {
    use crate::plugins::lifecycle::{self, Change};
    let registry = crate::plugins::Registry::start(db.clone(), plugins.runtime()?).await?;
    for (file, bytes) in crate::plugins::BUNDLED {
        let installed = lifecycle::install(db, &registry, None, bytes.to_vec())
            .await
            .map_err(|e| explain(e).context(format!("installing the bundled plugin {file}")))?;
        let v = installed.version;
        if v.status == "inactive" && v.quarantined_at.is_none() {
            lifecycle::change(db, &registry, None, v.id, Change::Activate)
                .await
                .map_err(explain)?;
        }
        println!(
            "plugin {} {} by {}: {}",
            v.plugin_key,
            v.version,
            v.organisation_code,
            if installed.created {
                "installed and activated"
            } else {
                "ready"
            }
        );
    }
    Ok(registry)
}

async fn serve(db: Db, args: &ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let registry = crate::plugins::Registry::start(db.clone(), args.plugins.runtime()?).await?;
    registry.watch(std::time::Duration::from_secs(2));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "plugins loaded"
    );
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("listening on {}", args.bind))?;
    tracing::info!(address = %args.bind, database = db.kind().name(), "mentortrack listening");
    println!("mentortrack is listening on http://{}", args.bind);
    let app = crate::server::app(db.clone(), config(args), registry);
    crate::server::serve(listener, app, crate::server::shutdown_signal()).await?;
    db.close().await;
    Ok(())
}

async fn plugin_command(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Test {
            file,
            responses,
            json,
            plugins,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let fixtures =
                match responses {
                    Some(path) => {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        Some(serde_json::from_str(&text).with_context(|| {
                            format!("{} is not a list of fixtures", path.display())
                        })?)
                    }
                    None => None,
                };
            // No cache: an author's build changes every time, and the test must compile it.
            let runtime = crate::plugins::Runtime::new(plugins.limits(), None)?;
            let report = tokio::task::spawn_blocking(move || {
                crate::plugins::tool::run(&runtime, &bytes, fixtures)
            })
            .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
            anyhow::ensure!(report.ok(), "the plugin is not ready: see the report above");
            Ok(())
        }
        PluginCommand::Install {
            file,
            activate,
            db,
            plugins,
        } => {
            let url = database_url(&db, db::DEFAULT_SQLITE_URL);
            let db = Db::open(&url).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let registry = crate::plugins::Registry::start(db.clone(), plugins.runtime()?).await?;
            let installed = crate::plugins::lifecycle::install(&db, &registry, None, bytes)
                .await
                .map_err(explain)?;
            let v = &installed.version;
            println!(
                "{} {} {} (id {}, sha256 {})",
                if installed.created {
                    "installed"
                } else {
                    "already installed:"
                },
                v.plugin_key,
                v.version,
                v.id,
                v.sha256
            );
            if activate {
                crate::plugins::lifecycle::change(
                    &db,
                    &registry,
                    None,
                    v.id,
                    crate::plugins::lifecycle::Change::Activate,
                )
                .await
                .map_err(explain)?;
                println!("activated");
            }
            Ok(())
        }
        PluginCommand::New {
            name,
            publisher,
            dir,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            crate::plugins::template::create(&dir, &name, &publisher)?;
            println!(
                "created {}: build it with `cargo build --release --target wasm32-wasip2` and try it with `mentortrack plugin test`",
                dir.display()
            );
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 10 characters): ")?;
        let second = rpassword::prompt_password("Repeat the password: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// Turns field errors into a readable message for the terminal.
pub fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::anyhow!(other),
    }
}
