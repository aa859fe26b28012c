use clap::Parser;
use tracing_subscriber::EnvFilter;

// A submission allocates and frees many short-lived strings and maps (JSON bodies, checklists,
// score cards) across the runtime's threads; glibc's malloc spent a fifth of the request
// threads' CPU on that under load, and held more memory. See BENCHMARKS.md, "sessions".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_env("MENTORTRACK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // Logs go to stderr, so that what a command prints (`plugin test --json`, the demo's
    // accounts) stays clean on stdout. JSON logs when asked for (for log shippers).
    if std::env::var("MENTORTRACK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    let cli = mentortrack::cli::Cli::parse();
    match mentortrack::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
