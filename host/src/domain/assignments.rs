//! Mentor assignments: which facilities a mentor works at. Managed by the mentor's
//! organisation's admins.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::authz::{Actor, Role};
use crate::db::Db;
use crate::domain::{audit, org_units, users};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, FromRow, ToSchema)]
pub struct Assignment {
    pub mentor_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub facility_code: String,
    pub district_name: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct NewAssignment {
    pub facility_id: Option<i64>,
}

pub async fn is_assigned(db: &Db, mentor_id: i64, facility_id: i64) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mentor_assignments WHERE mentor_id = $1 AND facility_id = $2",
    )
    .bind(mentor_id)
    .bind(facility_id)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

pub async fn facility_ids(db: &Db, mentor_id: i64) -> AppResult<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT facility_id FROM mentor_assignments WHERE mentor_id = $1")
            .bind(mentor_id)
            .fetch_all(db.pool())
            .await?,
    )
}

/// The mentor, if the actor may see their assignments.
async fn mentor_for(db: &Db, actor: &Actor, mentor_id: i64, write: bool) -> AppResult<users::User> {
    let mentor = users::find(db, mentor_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own = mentor.id == actor.user_id;
    let allowed = if write {
        actor.can_manage_users(mentor.organisation_id)
    } else {
        own || actor.can_read_users(mentor.organisation_id)
    };
    if !allowed {
        return Err(if actor.can_read_users(mentor.organisation_id) || own {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    Ok(mentor)
}

pub async fn list(db: &Db, actor: &Actor, mentor_id: i64) -> AppResult<Vec<Assignment>> {
    mentor_for(db, actor, mentor_id, false).await?;
    Ok(sqlx::query_as(
        "SELECT a.mentor_id, a.facility_id, f.name AS facility_name, f.code AS facility_code,
                d.name AS district_name, a.created_at
         FROM mentor_assignments a JOIN org_units f ON f.id = a.facility_id
         JOIN org_units d ON d.id = f.parent_id
         WHERE a.mentor_id = $1 ORDER BY d.name, f.name",
    )
    .bind(mentor_id)
    .fetch_all(db.pool())
    .await?)
}

pub async fn add(
    db: &Db,
    actor: Option<&Actor>,
    mentor_id: i64,
    facility_id: Option<i64>,
) -> AppResult<()> {
    let mentor = match actor {
        Some(a) => mentor_for(db, a, mentor_id, true).await?,
        None => users::find(db, mentor_id)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    if Role::parse(&mentor.role) != Some(Role::Mentor) {
        return Err(AppError::field(
            "mentor_id",
            "not_a_mentor",
            "only mentors are assigned to facilities",
        ));
    }
    let Some(facility_id) = facility_id else {
        return Err(AppError::field("facility_id", "required", "is required"));
    };
    match org_units::find(db, facility_id).await? {
        Some(u) if u.level == "facility" => {}
        Some(_) => {
            return Err(AppError::field(
                "facility_id",
                "not_a_facility",
                "must be a facility",
            ));
        }
        None => {
            return Err(AppError::field(
                "facility_id",
                "unknown",
                "no such facility",
            ));
        }
    }
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO mentor_assignments (mentor_id, facility_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (mentor_id, facility_id) DO NOTHING",
    )
    .bind(mentor_id)
    .bind(facility_id)
    .bind(crate::time::now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted > 0 {
        let after = serde_json::json!({"mentor_id": mentor_id, "facility_id": facility_id});
        audit::record(
            &mut tx,
            actor,
            Some(mentor.organisation_id),
            "create",
            "mentor_assignment",
            format!("{mentor_id}:{facility_id}"),
            None::<&()>,
            Some(&after),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn remove(db: &Db, actor: &Actor, mentor_id: i64, facility_id: i64) -> AppResult<()> {
    let mentor = mentor_for(db, actor, mentor_id, true).await?;
    let mut tx = db.begin().await?;
    let removed =
        sqlx::query("DELETE FROM mentor_assignments WHERE mentor_id = $1 AND facility_id = $2")
            .bind(mentor_id)
            .bind(facility_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    let before = serde_json::json!({"mentor_id": mentor_id, "facility_id": facility_id});
    audit::record(
        &mut tx,
        Some(actor),
        Some(mentor.organisation_id),
        "delete",
        "mentor_assignment",
        format!("{mentor_id}:{facility_id}"),
        Some(&before),
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
