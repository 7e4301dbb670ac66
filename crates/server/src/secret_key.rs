//! The root secret. Production must supply it; the embedded default makes one on first start
//! and keeps it in the data directory (mode 0600) so restarts keep sessions and encrypted data.

use crate::config::Config;
use anyhow::{Context, bail};
use pb_domain::Environment;
use rand::RngCore;
use secrecy::SecretString;
use std::path::Path;

pub const FILE_NAME: &str = "secret_key";

pub fn resolve(config: &Config) -> anyhow::Result<SecretString> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    if config.environment == Environment::Production {
        bail!("SECRET_KEY is required in production");
    }
    load_or_generate(&config.data_dir.join(FILE_NAME))
}

fn load_or_generate(path: &Path) -> anyhow::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let key = existing.trim().to_owned();
        if key.len() < 32 {
            bail!("{} is shorter than 32 characters; delete it to generate a new one", path.display());
        }
        return Ok(SecretString::from(key));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    write_private(path, &key).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new SECRET_KEY for the embedded default");
    Ok(SecretString::from(key))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: two processes starting at once cannot both write a different key.
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_once_then_reused() {
        let dir = std::env::temp_dir().join(format!("pb-secret-{}-{}", std::process::id(), line!()));
        let path = dir.join(FILE_NAME);
        let _ = std::fs::remove_file(&path);
        let first = load_or_generate(&path).expect("generate");
        let second = load_or_generate(&path).expect("reload");
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
