//! Server settings, from flags or `MENTORTRACK_*` environment variables.

use std::sync::Arc;

use crate::auth::throttle;
use crate::db::Db;

#[derive(Clone, Debug)]
pub struct Config {
    /// Mark cookies `Secure` even on plain HTTP requests (set when TLS ends at a proxy that
    /// does not send `X-Forwarded-Proto`).
    pub cookie_secure: bool,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy.
    pub trust_proxy: bool,
    pub login_limits: throttle::Limits,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How the programme runs its LDHF cycle.
    pub programme: Programme,
}

/// Programme rules that differ between programmes.
#[derive(Clone, Debug)]
pub struct Programme {
    /// Days after logging a session during which its mentor may still correct or withdraw it
    /// (org admins may at any time).
    pub correction_window_days: i64,
    /// Days between LDHF sessions for one provider: a provider not seen for longer is overdue.
    pub ldhf_interval_days: i64,
}

impl Default for Programme {
    fn default() -> Self {
        Programme {
            correction_window_days: 7,
            ldhf_interval_days: 30,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cookie_secure: false,
            trust_proxy: false,
            login_limits: throttle::Limits::default(),
            // Room for a plugin upload (at most 8 MiB by default) in a multipart form.
            body_limit: 10 * 1024 * 1024,
            programme: Programme::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub plugins: Arc<crate::plugins::Registry>,
}
