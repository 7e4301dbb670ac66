//! Which rules apply: development turns on sandbox providers and sandbox-only routes;
//! production refuses them and requires real secrets and servers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

impl Environment {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Some(Self::Development),
            "production" | "prod" => Some(Self::Production),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }

    /// Sandbox providers and routes (outbox reader, sandbox deposits) exist only here.
    pub const fn sandbox_allowed(self) -> bool {
        matches!(self, Self::Development)
    }
}
