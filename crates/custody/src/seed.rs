//! The master seed at rest: a BIP-39 mnemonic sealed (XChaCha20-Poly1305) with a key derived
//! from SECRET_KEY, stored in the database by `protocol-bank custody init`; or supplied as a
//! secret (`CUSTODY_MNEMONIC` / `CUSTODY_MNEMONIC_FILE`) by deployments that keep it in a vault.
//! A KMS/HSM signer can replace this module behind the same service.

use pb_chains::{KeyError, MasterSeed};
use pb_domain::StoreError;
use pb_domain::custody::CustodyStore;
use pb_domain::identity::tokens::derive_key;
use pb_domain::secret_box::SecretBox;
use zeroize::Zeroizing;

fn sealer(root_secret: &[u8]) -> SecretBox {
    SecretBox::new(&derive_key(root_secret, "pb/custody-seed/v1"), "custody-seed")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSource {
    Secret,
    Database,
}

/// Generates a mnemonic and stores it sealed, unless a seed exists. Returns the mnemonic (for
/// an offline backup, if the operator asks for it) or `None` when one was already there.
pub async fn seal_new_seed(
    store: &dyn CustodyStore,
    root_secret: &[u8],
    now_ms: i64,
) -> Result<Option<Zeroizing<String>>, StoreError> {
    if store.sealed_seed().await?.is_some() {
        return Ok(None);
    }
    let mnemonic = MasterSeed::generate_mnemonic();
    let sealed = sealer(root_secret).seal(mnemonic.as_bytes());
    Ok(store.store_sealed_seed(&sealed, now_ms).await?.then_some(mnemonic))
}

/// The seed from the secret if given, else from the database; `None` when custody has no seed.
pub async fn unlock_seed(
    store: &dyn CustodyStore,
    root_secret: &[u8],
    mnemonic_secret: Option<&str>,
) -> Result<Option<(MasterSeed, SeedSource)>, String> {
    if let Some(phrase) = mnemonic_secret {
        let seed = MasterSeed::from_mnemonic(phrase, "").map_err(|e: KeyError| format!("CUSTODY_MNEMONIC: {e}"))?;
        return Ok(Some((seed, SeedSource::Secret)));
    }
    let Some(sealed) = store.sealed_seed().await.map_err(|e| e.to_string())? else { return Ok(None) };
    let plain = Zeroizing::new(
        sealer(root_secret)
            .open(&sealed)
            .map_err(|_| "the custody seed cannot be opened with this SECRET_KEY".to_owned())?,
    );
    let phrase = std::str::from_utf8(&plain).map_err(|_| "the custody seed is unreadable".to_owned())?;
    let seed = MasterSeed::from_mnemonic(phrase, "").map_err(|e| format!("stored custody seed: {e}"))?;
    Ok(Some((seed, SeedSource::Database)))
}
