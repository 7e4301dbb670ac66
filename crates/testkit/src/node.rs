//! A local chain node started by a test: its process, killed (and reaped) on drop, and its URL.

use std::process::Child;

pub struct NodeProcess {
    child: Child,
    pub url: String,
}

impl NodeProcess {
    pub fn new(child: Child, port: u16) -> Self {
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl std::fmt::Debug for NodeProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeProcess").field("url", &self.url).finish()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free right now (the node binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A loopback port for a server that a test stops and starts again on the same port (a crashed
/// PostgreSQL, a restarted Redis). `free_port` gives a port of the kernel's ephemeral range,
/// which the kernel hands out again to any socket asking for port 0 (another test's listener,
/// an outgoing connection) while the server is down; its restart then fails with "Address
/// already in use" (seen in CI, PostgreSQL down 25 s while other tests ran). The kernel hands out
/// no port below that range (ip(7), `ip_local_port_range`), so this takes one there, at random
/// among 10,000, that binds right now.
pub fn restartable_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let first = low.saturating_sub(10_000).max(1024);
    let span = u128::from(low.saturating_sub(first).max(1));
    for _ in 0..200 {
        // uuid's v4 bits are random (its `fast-rng` generator), which is all a pick needs.
        let port = first + u16::try_from(uuid::Uuid::new_v4().as_u128() % span).unwrap_or(0);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range (from {first} to {low})")
}

#[cfg(test)]
mod tests {
    /// Below the kernel's ephemeral range, so no port-0 bind or outgoing connection is given it
    /// while its server is down; and free when picked.
    #[test]
    fn a_restartable_port_is_below_the_ephemeral_range_and_free() {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
        let low: u16 = range.split_whitespace().next().and_then(|l| l.parse().ok()).unwrap_or(32768);
        for _ in 0..20 {
            let port = super::restartable_port();
            assert!((1024..low).contains(&port), "{port} against the range from {low}");
            assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        }
    }
}
