//! The web app's static files, embedded at build time (see build.rs for which folder).
//! Vite names every file under `assets/` by its content hash, so those may be cached forever;
//! `index.html` must be revalidated so a deploy reaches browsers at once.
#![forbid(unsafe_code)]

use rust_embed::Embed;
use std::borrow::Cow;

#[derive(Embed)]
#[folder = "$PB_WEB_DIST"]
struct Dist;

#[derive(Debug)]
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    pub cache_control: &'static str,
}

/// A file of the build by its URL path (`/assets/index-3f2a.js`), if there is one.
pub fn file(path: &str) -> Option<Asset> {
    let key = path.trim_start_matches('/');
    if key.is_empty() || key.contains("..") {
        return None;
    }
    let f = Dist::get(key)?;
    let cache_control =
        if key.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    Some(Asset { content_type: f.metadata.mimetype().to_owned(), body: f.data, cache_control })
}

/// The app's shell, answered for every client-side route (SPA fallback).
pub fn index() -> Option<Asset> {
    let f = Dist::get("index.html")?;
    Some(Asset { content_type: "text/html; charset=utf-8".into(), body: f.data, cache_control: "no-cache" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_shell_and_refuses_traversal() {
        let shell = index().map(|a| a.body.into_owned()).unwrap_or_default();
        assert!(String::from_utf8_lossy(&shell).contains("Protocol Bank"));
        assert!(file("/../Cargo.toml").is_none());
        assert!(file("/").is_none());
    }
}
