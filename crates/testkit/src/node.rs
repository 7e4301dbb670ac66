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
