//! Where managed tokens and tickets live: [`Memory`] for one process (the
//! default), [`Redis`] (feature `redis`) for every instance of an ISV, or
//! your own backend through [`Store`].
//!
//! A store keeps *versioned* values: a value is only ever replaced by one
//! with a higher version ([`Store::put_if_newer`]), so an out-of-order write
//! from a slow instance can never leave an older ticket or token behind. It
//! also keeps short-lived locks with an owner and an expiry, so one instance
//! refreshes while the others wait, and a crashed holder blocks no one past
//! the expiry.

mod fallback;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub(crate) use fallback::Stores;
pub use memory::Memory;
#[cfg(feature = "postgres")]
pub use postgres::{CONNECTIONS, Postgres, PostgresBuilder};
#[cfg(feature = "redis")]
pub use redis::Redis;

use crate::Secret;

/// The CA certificates in `pem` (a `tls_ca_pem` setting): at least one, or
/// a clear error.
#[cfg(any(feature = "redis-tls", feature = "postgres-tls"))]
pub(crate) fn ca_certificates(pem: &[u8]) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, crate::Error> {
    use rustls_pki_types::pem::PemObject as _;
    let invalid = |reason: &str| crate::Error::Config {
        setting: "tls_ca_pem",
        reason: reason.into(),
    };
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("not PEM certificates"))?;
    if certs.is_empty() {
        return Err(invalid("no certificate in the PEM"));
    }
    Ok(certs)
}

/// What a [`Store`] method returns: a boxed future, so that stores can be
/// used as `dyn Store`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A value and its version (a ticket's `TimeStamp`, a token's fetch time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// Higher is newer.
    pub version: i64,
    /// The value; never logged.
    pub value: Secret,
}

/// A store failure (unreachable, timed out, refused). Holds no value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

/// A shared key-value store for tokens, tickets and refresh locks.
///
/// Keys carry no secret (suite and corp ids only); values are secrets: an
/// implementation must never log them. Every method may fail: the managed
/// suite then falls back to an in-process store until the backend answers
/// again.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// The value under `key`, if any and not expired.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>>;

    /// Stores `entry` under `key` for `ttl`, unless the store holds a value
    /// with a version at least as high. True when written. Must be atomic.
    fn put_if_newer<'a>(&'a self, key: &'a str, entry: &'a Versioned, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Deletes `key` only if it still holds exactly `entry` (never a value
    /// another instance just wrote). True when deleted. Must be atomic.
    fn delete_if<'a>(&'a self, key: &'a str, entry: &'a Versioned) -> StoreFuture<'a, bool>;

    /// Takes the lock `key` for `owner` for `ttl` unless someone holds it.
    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Releases the lock `key` if `owner` still holds it (never another's).
    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()>;
}
