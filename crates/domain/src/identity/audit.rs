//! Security event kinds (ASVS 16.x). Stable strings: operators alert and report on them.

pub mod kinds {
    pub const USER_REGISTERED: &str = "user.registered";
    pub const EMAIL_VERIFIED: &str = "email.verified";
    pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
    pub const LOGIN_FAILED: &str = "login.failed";
    pub const LOGIN_LOCKED: &str = "login.locked";
    pub const LOGOUT: &str = "logout";
    pub const MFA_CHALLENGE_FAILED: &str = "mfa.challenge_failed";
    pub const MFA_ENABLED: &str = "mfa.enabled";
    pub const MFA_DISABLED: &str = "mfa.disabled";
    pub const MFA_RECOVERY_CODE_USED: &str = "mfa.recovery_code_used";
    pub const MFA_STEP_UP: &str = "mfa.step_up";
    pub const PASSWORD_CHANGED: &str = "password.changed";
    pub const PASSWORD_RESET_REQUESTED: &str = "password.reset_requested";
    pub const PASSWORD_RESET: &str = "password.reset";
    pub const SESSION_REVOKED: &str = "session.revoked";
    pub const API_KEY_CREATED: &str = "api_key.created";
    pub const API_KEY_REVOKED: &str = "api_key.revoked";
    pub const API_KEY_USED: &str = "api_key.used";
    pub const STAFF_CREATED: &str = "staff.created";
    pub const ROLE_CHANGED: &str = "role.changed";
    pub const MEMBER_ADDED: &str = "business.member_added";
    pub const USER_CLOSED: &str = "user.closed";

    /// What a customer sees as their sign-in history.
    pub const SIGN_IN_HISTORY: &[&str] = &[LOGIN_SUCCEEDED, LOGIN_FAILED, LOGIN_LOCKED, MFA_CHALLENGE_FAILED];
}
