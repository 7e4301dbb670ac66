//! Route handlers, one file per resource.

pub mod csp_reports;
pub mod error_codes;
pub mod health;
