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
    /// Run the server loaded with a demo programme (Rwanda and Cambodia), printing demo logins.
    Demo(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import facilities or providers from a CSV file (all rows or none).
    Import(ImportArgs),
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
        Command::Demo(args) => {
            let url = database_url(&args.db, crate::demo::DEFAULT_URL);
            let db = Db::open(&url).await?;
            let summary = crate::demo::load(&db).await?;
            println!("{summary}");
            serve(db, &args).await
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
        Command::Import(args) => {
            let url = database_url(&args.db, db::DEFAULT_SQLITE_URL);
            let db = Db::open(&url).await?;
            crate::import::run(&db, &args).await
        }
    }
}

async fn serve(db: Db, args: &ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("listening on {}", args.bind))?;
    tracing::info!(address = %args.bind, database = db.kind().name(), "mentortrack listening");
    println!("mentortrack is listening on http://{}", args.bind);
    let app = crate::server::app(db.clone(), config(args));
    crate::server::serve(listener, app, crate::server::shutdown_signal()).await?;
    db.close().await;
    Ok(())
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
