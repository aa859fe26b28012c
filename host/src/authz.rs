//! Who may do what. Every rule of organisation isolation lives here, so the pages and the API
//! cannot disagree, and the authorisation-matrix test reads like this file.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the server: everything.
    Admin,
    /// Project management: reads every organisation, approves reports.
    Manager,
    /// Manages its own organisation's users, plugins and reports.
    OrgAdmin,
    /// Works at assigned facilities; reads its own organisation's records.
    Mentor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::OrgAdmin, Role::Mentor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::OrgAdmin => "org_admin",
            Role::Mentor => "mentor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated user on whose behalf a request runs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Actor {
    pub user_id: i64,
    pub organisation_id: i64,
    pub role: Role,
    pub email: String,
    pub display_name: String,
    pub language: String,
}

impl Actor {
    /// Admins and managers read every organisation's records.
    pub fn reads_all_organisations(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Manager)
    }

    pub fn can_read_org(&self, organisation_id: i64) -> bool {
        self.reads_all_organisations() || organisation_id == self.organisation_id
    }

    /// Partner records (providers…): admins anywhere; org admins and mentors in their own
    /// organisation. Managers read but do not edit partners' records.
    pub fn can_write_org_records(&self, organisation_id: i64) -> bool {
        match self.role {
            Role::Admin => true,
            Role::OrgAdmin | Role::Mentor => organisation_id == self.organisation_id,
            Role::Manager => false,
        }
    }

    /// Users of an organisation: listing them.
    pub fn can_read_users(&self, organisation_id: i64) -> bool {
        match self.role {
            Role::Admin | Role::Manager => true,
            Role::OrgAdmin => organisation_id == self.organisation_id,
            Role::Mentor => false,
        }
    }

    pub fn can_manage_users(&self, organisation_id: i64) -> bool {
        match self.role {
            Role::Admin => true,
            Role::OrgAdmin => organisation_id == self.organisation_id,
            Role::Manager | Role::Mentor => false,
        }
    }

    /// Which roles this actor may hand out. Nobody grants more than they hold.
    pub fn can_grant(&self, role: Role) -> bool {
        match self.role {
            Role::Admin => true,
            Role::OrgAdmin => matches!(role, Role::OrgAdmin | Role::Mentor),
            Role::Manager | Role::Mentor => false,
        }
    }

    /// The shared reference data: organisations and the facility hierarchy.
    pub fn can_manage_reference_data(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn can_read_audit(&self, organisation_id: Option<i64>) -> bool {
        match self.role {
            Role::Admin | Role::Manager => true,
            Role::OrgAdmin => organisation_id == Some(self.organisation_id),
            Role::Mentor => false,
        }
    }

    /// The organisation filter for list queries: `None` means every organisation.
    pub fn org_scope(&self) -> Option<i64> {
        if self.reads_all_organisations() {
            None
        } else {
            Some(self.organisation_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: 1,
            organisation_id: 10,
            role,
            email: "a@example.org".into(),
            display_name: "A".into(),
            language: "en".into(),
        }
    }

    #[test]
    fn org_admin_cannot_grant_admin_or_manager() {
        let a = actor(Role::OrgAdmin);
        assert!(!a.can_grant(Role::Admin));
        assert!(!a.can_grant(Role::Manager));
        assert!(a.can_grant(Role::Mentor));
    }

    #[test]
    fn managers_read_everything_but_write_no_partner_records() {
        let m = actor(Role::Manager);
        assert!(m.can_read_org(99));
        assert!(!m.can_write_org_records(99));
        assert!(!m.can_write_org_records(10));
    }

    #[test]
    fn mentors_stay_in_their_organisation() {
        let m = actor(Role::Mentor);
        assert!(m.can_read_org(10));
        assert!(!m.can_read_org(11));
        assert!(!m.can_read_users(10));
        assert_eq!(m.org_scope(), Some(10));
    }
}
