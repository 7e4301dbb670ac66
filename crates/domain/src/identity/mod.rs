//! Identity and access: who a caller is and what they may touch (security.md).
//! Types here are parsed at the edge; the use cases live in `pb-identity`.

pub mod audit;
pub mod caller;
pub mod email;
pub mod ids;
pub mod password_policy;
pub mod records;
pub mod roles;
pub mod store;
pub mod tokens;
pub mod totp;

pub use caller::{Caller, Principal};
pub use email::EmailAddress;
pub use roles::{BusinessRole, StaffRole, UserKind};
