//! Encryption at rest: AES-256-GCM under keys the user supplies, with the
//! key's id stored beside each value, so keys rotate without a migration
//! (older keys still open what they sealed; the newest seals).
//!
//! A sealed value is `nonce (12 random bytes) || ciphertext || tag`; the
//! associated data binds it to its place (table, suite, corp), so a value
//! copied to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::Error;

/// The user's keys: the first is the current one (it seals), the others
/// only open.
#[derive(Clone, Default)]
pub(crate) struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only, never key material.
        f.debug_list().entries(self.keys.iter().map(|(id, _)| id)).finish()
    }
}

/// A key problem (unknown key id, a value that does not open): this
/// instance's configuration, not the database.
fn failed(reason: String) -> Error {
    Error::Config {
        setting: "encryption_key",
        reason,
    }
}

impl Keyring {
    /// Adds key `id`: the first added seals, later ones only open.
    pub(crate) fn add(&mut self, id: &str, key: &[u8; 32]) -> Result<(), Error> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config {
                setting: "encryption_key",
                reason: "the key id must be 1 to 64 printable ASCII characters".into(),
            });
        }
        if self.keys.iter().any(|(k, _)| k == id) {
            return Err(Error::Config {
                setting: "encryption_key",
                reason: format!("key id `{id}` is given twice"),
            });
        }
        self.keys.push((id.to_string(), Aes256Gcm::new(key.into())));
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids of every key held.
    #[cfg(feature = "postgres")]
    pub(crate) fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }

    /// The id of the key that seals.
    pub(crate) fn current(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plaintext` for `place` with the current key: (key id, sealed).
    pub(crate) fn seal(&self, place: &str, plaintext: &[u8]) -> Result<(String, Vec<u8>), Error> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| failed(format!("the system random source failed: {e}")))?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| failed("encryption failed".into()))?;
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok((id.clone(), out))
    }

    /// Opens a value sealed for `place` with key `key_id`. A key that is not
    /// configured, or that does not open the value (a wrong key, a value
    /// moved from another place, a corrupt row), is a clear error, never
    /// garbage.
    pub(crate) fn open(&self, key_id: &str, place: &str, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        let Some((_, cipher)) = self.keys.iter().find(|(id, _)| id == key_id) else {
            return Err(failed(format!(
                "a stored value is sealed with key `{key_id}`, which is not configured (configured: {:?}); \
                 add it with encryption_key(\"{key_id}\", …) after the current key",
                self.keys.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
            )));
        };
        if sealed.len() < 12 + 16 {
            return Err(failed(format!(
                "a stored value sealed with key `{key_id}` is truncated"
            )));
        }
        let (nonce, body) = sealed.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| {
                failed(format!(
                    "a stored value does not open with key `{key_id}`: the key material under that id is not the \
                     one it was sealed with, or the row was altered"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[(&str, u8)]) -> Keyring {
        let mut ring = Keyring::default();
        for (id, byte) in ids {
            ring.add(id, &[*byte; 32]).unwrap();
        }
        ring
    }

    #[test]
    fn sealed_values_open_with_their_key_only_and_only_in_their_place() {
        let ring = ring(&[("k2", 2), ("k1", 1)]);
        let (id, sealed) = ring.seal("corps|s|c", b"permanent").unwrap();
        assert_eq!(id, "k2");
        assert!(!sealed.windows(9).any(|w| w == b"permanent"));
        assert_eq!(ring.open("k2", "corps|s|c", &sealed).unwrap(), b"permanent");
        // Another place, a flipped bit, a wrong key under the same id, an unknown id.
        assert!(ring.open("k2", "corps|s|other", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(ring.open("k2", "corps|s|c", &flipped).is_err());
        let wrong = super::tests::ring(&[("k2", 9)]);
        let err = wrong.open("k2", "corps|s|c", &sealed).unwrap_err().to_string();
        assert!(err.contains("does not open with key `k2`"), "{err}");
        let err = ring.open("k0", "corps|s|c", &sealed).unwrap_err().to_string();
        assert!(err.contains("`k0`, which is not configured"), "{err}");
        // Two seals of one value differ (fresh nonce).
        assert_ne!(ring.seal("p", b"x").unwrap().1, ring.seal("p", b"x").unwrap().1);
        // An older key still opens what it sealed.
        let (old_id, old) = super::tests::ring(&[("k1", 1)]).seal("p", b"old").unwrap();
        assert_eq!(ring.open(&old_id, "p", &old).unwrap(), b"old");
        assert!(!format!("{ring:?}").contains('\u{1}'));
    }
}
