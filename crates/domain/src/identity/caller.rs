//! Who is calling and what they may touch: the one authorization mechanism every route uses.
//! Objects belong to an owner (a user id or a business id); a caller reaches an object only
//! through these checks, and a foreign object is reported as not found (no existence oracle).

use super::records::{ApiScope, Membership};
use super::roles::{BusinessRole, StaffRole, UserKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person signed in with a session.
    Session { user_id: String, session_id: String },
    /// A business's API key: acts for the business, within its scopes.
    ApiKey { key_id: String, business_id: String, scopes: Vec<ApiScope> },
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub kind: Option<UserKind>,
    pub staff_role: Option<StaffRole>,
    pub memberships: Vec<Membership>,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    /// When the session last passed an MFA check (unix ms).
    pub mfa_verified_at: Option<i64>,
}

/// Why an action is refused. Mapped to stable API codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The object does not exist for this caller (whether or not it exists).
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("verify your email address first")]
    EmailNotVerified,
    #[error("a recent multi-factor check is required")]
    MfaRequired,
    #[error("staff accounts must enrol multi-factor authentication first")]
    MfaEnrollmentRequired,
    #[error("this API key lacks the scope")]
    ScopeMissing,
}

impl Caller {
    /// The person behind the call, when it is a session.
    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Session { user_id, .. } => Some(user_id),
            Principal::ApiKey { .. } => None,
        }
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Session { session_id, .. } => Some(session_id),
            Principal::ApiKey { .. } => None,
        }
    }

    pub fn is_staff(&self) -> bool {
        self.staff_role.is_some()
    }

    fn role_in(&self, business_id: &str) -> Option<BusinessRole> {
        self.memberships.iter().find(|m| m.business_id == business_id).map(|m| m.role)
    }

    /// Owners whose objects this caller may read.
    pub fn readable_owners(&self) -> Vec<String> {
        self.owners().map(str::to_owned).collect()
    }

    /// The same owners, borrowed: `can_read` runs several times per request (a transfer checks
    /// both of its accounts) and needs no list of its own.
    fn owners(&self) -> impl Iterator<Item = &str> {
        let (first, memberships) = match &self.principal {
            Principal::Session { user_id, .. } => (user_id, &self.memberships[..]),
            Principal::ApiKey { business_id, .. } => (business_id, &[][..]),
        };
        std::iter::once(first.as_str()).chain(memberships.iter().map(|m| m.business_id.as_str()))
    }

    /// Read access to an object owned by `owner`: not found otherwise.
    pub fn can_read(&self, owner: &str) -> Result<(), Denied> {
        if let Principal::ApiKey { scopes, .. } = &self.principal
            && !scopes.contains(&ApiScope::Read)
            && !scopes.contains(&ApiScope::Payments)
        {
            return Err(Denied::ScopeMissing);
        }
        if self.owners().any(|o| o == owner) { Ok(()) } else { Err(Denied::NotFound) }
    }

    /// Moving money out of (or creating money objects for) `owner`.
    pub fn can_move_money(&self, owner: &str) -> Result<(), Denied> {
        self.can_read(owner)?;
        match &self.principal {
            Principal::ApiKey { scopes, .. } => {
                if scopes.contains(&ApiScope::Payments) {
                    Ok(())
                } else {
                    Err(Denied::ScopeMissing)
                }
            }
            Principal::Session { user_id, .. } => {
                if !self.email_verified {
                    return Err(Denied::EmailNotVerified);
                }
                if user_id == owner {
                    return Ok(());
                }
                match self.role_in(owner) {
                    Some(role) if role.can_move_money() => Ok(()),
                    _ => Err(Denied::Forbidden),
                }
            }
        }
    }

    /// Managing a business (members, API keys): a business admin, signed in.
    pub fn can_manage_business(&self, business_id: &str) -> Result<(), Denied> {
        self.can_read(business_id)?;
        match (&self.principal, self.role_in(business_id)) {
            (Principal::Session { .. }, Some(role)) if role.can_manage() => Ok(()),
            _ => Err(Denied::Forbidden),
        }
    }

    /// Staff routes: one of `allowed`, with MFA enrolled. Customers are refused as forbidden.
    pub fn require_staff(&self, allowed: &[StaffRole]) -> Result<StaffRole, Denied> {
        let role = self.staff_role.ok_or(Denied::Forbidden)?;
        if !allowed.contains(&role) {
            return Err(Denied::Forbidden);
        }
        if !self.mfa_enabled {
            return Err(Denied::MfaEnrollmentRequired);
        }
        Ok(role)
    }

    /// Sensitive operations (withdrawals, new payees, security settings) need an MFA check
    /// within `max_age_ms`. Callers without MFA enrolled cannot pass it.
    pub fn require_recent_mfa(&self, now_ms: i64, max_age_ms: i64) -> Result<(), Denied> {
        match self.mfa_verified_at {
            Some(at) if self.mfa_enabled && now_ms.saturating_sub(at) <= max_age_ms => Ok(()),
            _ => Err(Denied::MfaRequired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, memberships: Vec<Membership>) -> Caller {
        Caller {
            principal: Principal::Session { user_id: id.into(), session_id: "ses_1".into() },
            kind: Some(UserKind::Individual),
            staff_role: None,
            memberships,
            email_verified: true,
            mfa_enabled: false,
            mfa_verified_at: None,
        }
    }

    fn member(role: BusinessRole) -> Vec<Membership> {
        vec![Membership { business_id: "biz_1".into(), business_name: "Acme".into(), role }]
    }

    #[test]
    fn customers_reach_only_their_own_and_their_businesses_objects() {
        let alice = person("usr_a", vec![]);
        assert_eq!(alice.can_read("usr_a"), Ok(()));
        assert_eq!(alice.can_read("usr_b"), Err(Denied::NotFound));
        assert_eq!(alice.can_move_money("usr_b"), Err(Denied::NotFound));
        let viewer = person("usr_v", member(BusinessRole::ViewOnly));
        assert_eq!(viewer.can_read("biz_1"), Ok(()));
        assert_eq!(viewer.can_read("usr_v"), Ok(()));
        assert_eq!(viewer.can_read("biz_2"), Err(Denied::NotFound));
        assert_eq!(viewer.readable_owners(), ["usr_v", "biz_1"]);
        assert_eq!(alice.readable_owners(), ["usr_a"]);
        assert_eq!(viewer.can_move_money("biz_1"), Err(Denied::Forbidden));
        assert_eq!(viewer.can_manage_business("biz_1"), Err(Denied::Forbidden));
        let finance = person("usr_f", member(BusinessRole::FinanceManager));
        assert_eq!(finance.can_move_money("biz_1"), Ok(()));
        assert_eq!(finance.can_manage_business("biz_1"), Err(Denied::Forbidden));
        assert_eq!(person("usr_x", member(BusinessRole::Admin)).can_manage_business("biz_1"), Ok(()));
    }

    #[test]
    fn unverified_users_cannot_move_money() {
        let mut alice = person("usr_a", vec![]);
        alice.email_verified = false;
        assert_eq!(alice.can_read("usr_a"), Ok(()));
        assert_eq!(alice.can_move_money("usr_a"), Err(Denied::EmailNotVerified));
    }

    #[test]
    fn staff_roles_and_mfa() {
        let mut support = person("usr_s", vec![]);
        support.staff_role = Some(StaffRole::Support);
        assert_eq!(support.require_staff(&[StaffRole::Admin]), Err(Denied::Forbidden));
        assert_eq!(support.require_staff(&[StaffRole::Support]), Err(Denied::MfaEnrollmentRequired));
        support.mfa_enabled = true;
        assert_eq!(support.require_staff(&[StaffRole::Support]), Ok(StaffRole::Support));
        assert_eq!(person("usr_c", vec![]).require_staff(&[StaffRole::Support]), Err(Denied::Forbidden));
    }

    #[test]
    fn step_up_needs_a_recent_check() {
        let mut c = person("usr_a", vec![]);
        c.mfa_enabled = true;
        assert_eq!(c.require_recent_mfa(10_000, 5_000), Err(Denied::MfaRequired));
        c.mfa_verified_at = Some(6_000);
        assert_eq!(c.require_recent_mfa(10_000, 5_000), Ok(()));
        assert_eq!(c.require_recent_mfa(12_000, 5_000), Err(Denied::MfaRequired));
    }

    #[test]
    fn api_keys_act_for_their_business_within_scopes() {
        let key = Caller {
            principal: Principal::ApiKey {
                key_id: "key_1".into(),
                business_id: "biz_1".into(),
                scopes: vec![ApiScope::Read],
            },
            kind: None,
            staff_role: None,
            memberships: vec![],
            email_verified: true,
            mfa_enabled: false,
            mfa_verified_at: None,
        };
        assert_eq!(key.can_read("biz_1"), Ok(()));
        assert_eq!(key.can_read("biz_2"), Err(Denied::NotFound));
        assert_eq!(key.readable_owners(), ["biz_1"]);
        assert_eq!(key.can_move_money("biz_1"), Err(Denied::ScopeMissing));
        assert_eq!(key.can_manage_business("biz_1"), Err(Denied::Forbidden));
    }
}
