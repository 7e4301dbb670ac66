/// Where a request came from, for the audit log and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: Option<String>,
    /// Truncated to 256 characters.
    pub user_agent: Option<String>,
}

impl RequestContext {
    pub fn new(ip: Option<std::net::IpAddr>, user_agent: Option<&str>) -> Self {
        Self { ip: ip.map(|i| i.to_string()), user_agent: user_agent.map(|ua| ua.chars().take(256).collect()) }
    }
}

pub(crate) fn event(
    kind: &str,
    at: i64,
    actor: Option<&str>,
    subject: Option<&str>,
    ctx: &RequestContext,
    details: serde_json::Value,
) -> pb_domain::identity::records::AuditEvent {
    pb_domain::identity::records::AuditEvent {
        id: pb_domain::identity::ids::new_id("evt"),
        at,
        kind: kind.to_owned(),
        actor_user_id: actor.map(str::to_owned),
        subject_user_id: subject.map(str::to_owned),
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
        details,
    }
}
