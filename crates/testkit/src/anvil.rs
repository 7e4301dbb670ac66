//! A real Ethereum node for tests: anvil (chains.md), installed from npm into tools/chains by
//! `scripts/local-chains` (CI runs it). One node per test, on a free loopback port, killed on drop.

use crate::node::{NodeProcess, free_port};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// anvil on a free port (`url` through `NodeProcess`).
#[derive(Debug)]
pub struct Anvil(NodeProcess);

impl std::ops::Deref for Anvil {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.0
    }
}

/// Where the anvil binary is: `$ANVIL`, else tools/chains/node_modules/….
pub fn binary() -> PathBuf {
    std::env::var_os("ANVIL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tools/chains/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
    })
}

impl Anvil {
    /// Starts anvil with the well-known test mnemonic (account 0 holds 10,000 ETH), mining a
    /// block per transaction.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts anvil funding the accounts of another mnemonic, so addresses derived from the
    /// test mnemonic start empty (for reserves that must add up to the wei).
    pub fn start_with_mnemonic(phrase: &str) -> Self {
        Self::start_with(&["--mnemonic", phrase])
    }

    fn start_with(extra: &[&str]) -> Self {
        let bin = binary();
        assert!(bin.is_file(), "anvil not found at {}: run scripts/local-chains", bin.display());
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent", "--chain-id", "31337"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting anvil: {e}"));
        let anvil = Self(NodeProcess::new(child, port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "anvil did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        anvil
    }
}
