use serde::{Deserialize, Serialize};

/// What kind of user signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    Individual,
    /// A person who registered a business; the business is a separate owner with members.
    Business,
    Staff,
}

/// Staff roles, checked on the server for every staff route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Read-only access to customers and the audit log.
    Support,
    ComplianceOfficer,
    Admin,
}

/// A member's role in a business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessRole {
    /// Manages members and API keys, moves money.
    Admin,
    /// Moves money, reads everything.
    FinanceManager,
    /// Reads only.
    ViewOnly,
}

macro_rules! text_enum {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            pub const fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some(Self::$v),)* _ => None } }
        }
    };
}

text_enum!(UserKind { Individual => "individual", Business => "business", Staff => "staff" });
text_enum!(StaffRole { Support => "support", ComplianceOfficer => "compliance_officer", Admin => "admin" });
text_enum!(BusinessRole { Admin => "admin", FinanceManager => "finance_manager", ViewOnly => "view_only" });

impl BusinessRole {
    pub const fn can_move_money(self) -> bool {
        matches!(self, Self::Admin | Self::FinanceManager)
    }
    pub const fn can_manage(self) -> bool {
        matches!(self, Self::Admin)
    }
}
