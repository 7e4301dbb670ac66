//! Chooses what to embed: `web/dist` when the web app has been built (`npm run build`, done by
//! `scripts/start` and CI), otherwise a one-page placeholder that says how to build it, so the
//! Rust workspace builds and tests without Node.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("../../web/dist");
    let chosen = if dist.join("index.html").is_file() { dist.clone() } else { manifest.join("fallback") };
    println!("cargo:rustc-env=PB_WEB_DIST={}", chosen.display());
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed={}", dist.join("index.html").display());
    println!("cargo:rerun-if-changed=fallback");
}
