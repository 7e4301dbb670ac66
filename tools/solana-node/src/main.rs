//! A local Solana JSON-RPC node for custody tests and demos (chains.md "Local nodes"): surfpool's
//! LiteSVM-backed surfnet (agave 4.2.2 runtime), offline, bound to 127.0.0.1. SPL Token and the
//! Associated Token Account programs are preloaded.
//!
//!   pb-solana-node [--port 8899] [--ws-port 8900] [--slot-ms 400]
//!
//! Prints `ready http://127.0.0.1:PORT` on stdout once the RPC server answers, then serves until
//! killed. Nothing is persisted: each start is a fresh chain.
use std::time::Duration;

use crossbeam_channel::unbounded;
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_types::{
    SimnetEvent, SurfpoolConfig,
    types::{BlockProductionMode, RpcConfig, SimnetConfig},
};

struct Args {
    port: u16,
    ws_port: u16,
    slot_ms: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { port: 8899, ws_port: 8900, slot_ms: 400 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: not a number: {value}");
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(bad)?,
            "--ws-port" => args.ws_port = value.parse().map_err(bad)?,
            "--slot-ms" => args.slot_ms = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag}; usage: pb-solana-node [--port P] [--ws-port W] [--slot-ms MS]")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let config = SurfpoolConfig {
        simnets: vec![SimnetConfig {
            // Never reach mainnet: every account lives only in this process.
            offline_mode: true,
            remote_rpc_url: None,
            slot_time: args.slot_ms,
            block_production_mode: BlockProductionMode::Clock,
            instruction_profiling_enabled: false,
            ..SimnetConfig::default()
        }],
        rpc: RpcConfig {
            bind_host: "127.0.0.1".to_string(),
            bind_port: args.port,
            ws_port: args.ws_port,
            ..RpcConfig::default()
        },
        ..SurfpoolConfig::default()
    };
    let svm_config = SurfnetSvmConfig {
        slot_time: args.slot_ms,
        instruction_profiling_enabled: false,
        ..SurfnetSvmConfig::default()
    };
    let (svm, events_rx, geyser_rx) = match SurfnetSvm::new(svm_config) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pb-solana-node: could not create the SVM: {e}");
            std::process::exit(1);
        }
    };
    let (commands_tx, commands_rx) = unbounded();
    let node = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
        runtime.block_on(surfpool_core::start_local_surfnet(svm, config, commands_tx, commands_rx, geyser_rx))
            .map_err(|e| e.to_string())
    });
    // Drain events (an unbounded channel nobody reads grows forever); report readiness and errors.
    let url = format!("http://127.0.0.1:{}", args.port);
    loop {
        match events_rx.recv_timeout(Duration::from_millis(500)) {
            Ok(SimnetEvent::CoreStarted(_)) => println!("ready {url}"),
            Ok(SimnetEvent::ErrorLog(_, msg)) => eprintln!("pb-solana-node: {msg}"),
            Ok(_) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if node.is_finished() {
            break;
        }
    }
    match node.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("pb-solana-node: {e}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(1),
    }
}
