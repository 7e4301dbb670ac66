//! Staff: bootstrap from the CLI, roles, business members, closing users, the audit log.

use crate::context::{RequestContext, event};
use crate::{IdentityError, IdentityService, passwords};
use pb_domain::identity::audit::kinds;
use pb_domain::identity::caller::{Caller, Denied};
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::ids::new_id;
use pb_domain::identity::records::*;
use pb_domain::identity::roles::{BusinessRole, StaffRole, UserKind};
use pb_domain::identity::store::CreateUserError;
use pb_domain::identity::tokens::new_token;

/// A staff account just created, with its one-time password (printed once by the CLI; the
/// staff member must enrol MFA before any staff route answers).
pub struct NewStaff {
    pub user: UserRecord,
    pub one_time_password: String,
}

impl std::fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaff").field("user", &self.user).finish_non_exhaustive()
    }
}

impl IdentityService {
    pub async fn create_staff(
        &self,
        email: &EmailAddress,
        name: &str,
        role: StaffRole,
    ) -> Result<NewStaff, IdentityError> {
        let name = crate::register::clean_name("name", name)?;
        let one_time_password = new_token("");
        let now = self.now();
        let user = UserRecord {
            id: new_id("usr"),
            kind: UserKind::Staff,
            email: email.as_str().to_owned(),
            name,
            phone: None,
            password_hash: passwords::hash(one_time_password.clone()).await?,
            // The operator vouches for the address.
            email_verified_at: Some(now),
            status: UserStatus::Active,
            closed_reason: None,
            staff_role: Some(role),
            totp_secret_enc: None,
            totp_enabled_at: None,
            totp_last_step: None,
            created_at: now,
        };
        let ctx = RequestContext { ip: None, user_agent: Some("protocol-bank admin create-staff".into()) };
        let audit =
            event(kinds::STAFF_CREATED, now, None, Some(&user.id), &ctx, serde_json::json!({"role": role.as_str()}));
        let new = NewUser {
            user: user.clone(),
            email_normalized: email.normalized(),
            business: None,
            verification: None,
            notification: None,
            audit,
        };
        match self.store.create_user(new).await {
            Ok(()) => Ok(NewStaff { user, one_time_password }),
            Err(CreateUserError::EmailTaken) => Err(IdentityError::EmailTaken),
            Err(CreateUserError::Store(e)) => Err(e.into()),
        }
    }

    /// Admins change staff roles.
    pub async fn set_staff_role(
        &self,
        caller: &Caller,
        user_id: &str,
        role: StaffRole,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        caller.require_staff(&[StaffRole::Admin])?;
        let actor = caller.user_id().ok_or(Denied::Forbidden)?;
        if actor == user_id {
            // A second admin must change an admin's own role (maker-checker in spirit).
            return Err(Denied::Forbidden.into());
        }
        let audit = event(
            kinds::ROLE_CHANGED,
            self.now(),
            Some(actor),
            Some(user_id),
            ctx,
            serde_json::json!({"role": role.as_str()}),
        );
        if self.store.set_staff_role(user_id, role.as_str(), audit).await? {
            self.sessions_changed(user_id).await;
            Ok(())
        } else {
            Err(Denied::NotFound.into())
        }
    }

    /// Business admins add existing users as members.
    pub async fn add_member(
        &self,
        caller: &Caller,
        business_id: &str,
        email: &EmailAddress,
        role: BusinessRole,
        ctx: &RequestContext,
    ) -> Result<UserRecord, IdentityError> {
        caller.can_manage_business(business_id)?;
        let actor = caller.user_id().ok_or(Denied::Forbidden)?;
        let member = self.store.user_by_email(&email.normalized()).await?.ok_or(Denied::NotFound)?;
        if member.kind == UserKind::Staff || member.status != UserStatus::Active {
            return Err(Denied::NotFound.into());
        }
        let audit = event(
            kinds::MEMBER_ADDED,
            self.now(),
            Some(actor),
            Some(&member.id),
            ctx,
            serde_json::json!({"business_id": business_id, "role": role.as_str()}),
        );
        self.store.add_member(business_id, &member.id, role.as_str(), audit).await?;
        self.sessions_changed(&member.id).await;
        Ok(member)
    }

    /// Admins close users (never deleted); every session ends at once.
    pub async fn close_user(
        &self,
        caller: &Caller,
        user_id: &str,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        caller.require_staff(&[StaffRole::Admin])?;
        let actor = caller.user_id().ok_or(Denied::Forbidden)?;
        let reason = crate::register::clean_name("reason", reason)?;
        let audit = event(
            kinds::USER_CLOSED,
            self.now(),
            Some(actor),
            Some(user_id),
            ctx,
            serde_json::json!({"reason": reason}),
        );
        if self.store.close_user(user_id, &reason, self.now(), audit).await? {
            self.sessions_changed(user_id).await;
            Ok(())
        } else {
            Err(Denied::NotFound.into())
        }
    }

    /// The security log for staff (every role can read it).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        subject: Option<&str>,
        page: Page,
    ) -> Result<Vec<AuditEvent>, IdentityError> {
        caller.require_staff(&[StaffRole::Support, StaffRole::ComplianceOfficer, StaffRole::Admin])?;
        Ok(self.store.audit_events(subject, &[], page).await?)
    }
}
