//! A real Solana JSON-RPC node for tests: `pb-solana-node` (tools/solana-node: surfpool over
//! LiteSVM, offline; chains.md), built once by `scripts/local-chains` into a cache outside the
//! clone. One node per test, on free loopback ports, killed on drop; every start is a fresh chain.

use crate::node::{NodeProcess, free_port};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// pb-solana-node on free ports (`url` through `NodeProcess`).
#[derive(Debug)]
pub struct SolanaNode(NodeProcess);

impl std::ops::Deref for SolanaNode {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.0
    }
}

/// Where the node binary is: `$PB_SOLANA_NODE`, else the link `scripts/local-chains` leaves in
/// tools/chains/bin.
pub fn binary() -> PathBuf {
    std::env::var_os("PB_SOLANA_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/chains/bin/pb-solana-node"))
}

impl SolanaNode {
    /// Starts a node producing a slot every `slot_ms`; returns once its RPC server answers.
    pub fn start(slot_ms: u64) -> Self {
        let bin = binary();
        assert!(bin.is_file(), "pb-solana-node not found at {}: run scripts/local-chains install", bin.display());
        let (port, ws) = (free_port(), free_port());
        let mut child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--ws-port", &ws.to_string(), "--slot-ms", &slot_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting pb-solana-node: {e}"));
        // It prints `ready <url>` once serving; read that on a thread so a silent node times out.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("ready ") {
                    let _ = tx.send(());
                }
            }
        });
        let node = Self(NodeProcess::new(child, port));
        rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("pb-solana-node did not start"));
        node
    }
}
