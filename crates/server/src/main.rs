#![forbid(unsafe_code)]

/// mimalloc instead of glibc malloc: glibc keeps per-thread arenas and, after a burst of
/// Argon2 hashes (19 MiB each) on blocking threads, held several hundred MiB it never returned;
/// mimalloc gives freed pages back, keeping the resident set near what is in use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = protocol_bank::cli::Cli::parse();
    match protocol_bank::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the context chain on one line; errors never carry secrets.
            eprintln!("protocol-bank: {e:#}");
            ExitCode::FAILURE
        }
    }
}
