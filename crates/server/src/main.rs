#![forbid(unsafe_code)]

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
