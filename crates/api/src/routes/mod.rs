//! Route handlers, one file per resource.

pub mod accounts;
pub mod adjustments;
pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod businesses;
pub mod csp_reports;
pub mod custody;
pub mod dev;
pub mod error_codes;
pub mod health;
pub mod ledger_views;
pub mod me;
pub mod statements;
pub mod transfers;
pub mod withdrawals;
