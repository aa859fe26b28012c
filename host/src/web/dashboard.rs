//! The home page: the figures that matter to the signed-in role; for a mentor, who to see
//! next and what they logged lately.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Ctx, SignedIn, render};
use crate::authz::Role;
use crate::config::AppState;
use crate::domain::PageParams;
use crate::domain::assignments::{self, Assignment};
use crate::domain::audit::{self, AuditEntry};
use crate::domain::death_reviews::{self, DeathReviewFilter};
use crate::domain::timeline::{self, Due, MentorHome};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    providers: i64,
    facilities: i64,
    organisations: i64,
    my_facilities: Vec<Assignment>,
    recent: Vec<AuditEntry>,
    /// A mentor's follow-ups and latest sessions.
    home: Option<MentorHome>,
    /// Deaths notified and not yet reviewed, and reviews with overdue recommendations: the
    /// supervisors' MPDSR follow-up (only for those who may read the reviews).
    death_reviews: Option<(i64, i64)>,
}

impl DashboardPage {
    fn due_text(&self, due: &Due) -> String {
        super::facilities::due_text(&self.ctx, due)
    }
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn { ctx, actor }: SignedIn,
) -> Result<Response, AppError> {
    let scope = actor.org_scope();
    let (providers, facilities, organisations): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM providers WHERE $1 IS NULL OR organisation_id = $1),
                (SELECT COUNT(*) FROM org_units WHERE level = 'facility'),
                (SELECT COUNT(*) FROM organisations WHERE $1 IS NULL OR id = $1)",
    )
    .bind(scope)
    .fetch_one(state.db.pool())
    .await?;
    let my_facilities = if actor.role == Role::Mentor {
        assignments::list(&state.db, &actor, actor.user_id).await?
    } else {
        Vec::new()
    };
    let home = if actor.role == Role::Mentor {
        Some(timeline::mentor_home(&state.db, &actor, &state.config.programme).await?)
    } else {
        None
    };
    let death_reviews = death_review_follow_up(&state, &actor).await?;
    let recent = if ctx.sees_audit() {
        audit::recent(&state.db, &actor, 10).await?
    } else {
        Vec::new()
    };
    Ok(render(&DashboardPage {
        ctx,
        providers,
        facilities,
        organisations,
        my_facilities,
        recent,
        home,
        death_reviews,
    }))
}

async fn death_review_follow_up(
    state: &AppState,
    actor: &crate::authz::Actor,
) -> Result<Option<(i64, i64)>, AppError> {
    let count = |filter: DeathReviewFilter| async move {
        let one = PageParams {
            page: Some(1),
            per_page: Some(1),
        };
        death_reviews::list(&state.db, actor, &filter, &one)
            .await
            .map(|p| p.total)
    };
    let awaiting = count(DeathReviewFilter {
        status: Some("awaiting_review".into()),
        ..Default::default()
    })
    .await?;
    let overdue = count(DeathReviewFilter {
        overdue: Some(true),
        ..Default::default()
    })
    .await?;
    Ok(Some((awaiting, overdue)))
}
