//! The `protocol-bank` binary's library half: configuration, wiring and the server, so
//! integration tests start exactly what production starts.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod secret_key;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod wiring;
pub mod workers;
