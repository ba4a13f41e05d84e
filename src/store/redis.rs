//! [`Redis`]: the store shared by every instance of an ISV (feature `redis`).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Store, StoreError, StoreFuture, Versioned};
use crate::{Error, Secret};

/// Sets `KEYS[1]` to `version|value` for `ttl` ms unless it holds a version
/// at least as high: newer always wins, across instances, atomically.
const PUT_IF_NEWER: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(-?%d+)|'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
";

/// Deletes `KEYS[1]` only if it holds exactly `ARGV[1]` (compare-and-delete:
/// a value or a lock of someone else is never removed).
const DELETE_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// A Redis store, shared by every instance that opens the same server with
/// the same prefix.
///
/// Keys are `<prefix>:<key>` (the default prefix is `corp-auth`); values are
/// `<version>|<value>` strings with the value's lifetime as the key's TTL;
/// locks are `SET NX PX` with an owner id, released by compare-and-delete.
/// The connection is made on first use and re-made after a failure
/// (`redis::aio::ConnectionManager`); every command is bounded by a timeout
/// (500 ms by default), so an unreachable server fails fast and the suite
/// falls back to its in-process store.
pub struct Redis {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    put_if_newer: redis::Script,
    delete_if: redis::Script,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: the URL may carry a password.
        f.debug_struct("Redis")
            .field("addr", &self.client.get_connection_info().addr().to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Redis {
    /// A store on the server at `url` (`redis://host:port/db`,
    /// `redis://:password@host/`, `rediss://` is not enabled). Nothing is
    /// connected until first use.
    pub fn open(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| Error::Config {
            setting: "redis_url",
            // The kind only: redis's message may quote the URL.
            reason: format!("not a usable Redis URL ({:?})", e.kind()),
        })?;
        Ok(Self {
            client,
            prefix: "corp-auth".to_string(),
            timeout: Duration::from_millis(500),
            connection: tokio::sync::OnceCell::new(),
            put_if_newer: redis::Script::new(PUT_IF_NEWER),
            delete_if: redis::Script::new(DELETE_IF),
        })
    }

    /// The key prefix, so that several ISVs or environments can share one
    /// server: instances with the same prefix share tokens and tickets.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a command may take before it counts as a failure
    /// (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(100));
        self.connection
            .get_or_try_init(|| async { ConnectionManager::new_lazy_with_config(self.client.clone(), config) })
            .await
            .cloned()
            .map_err(failure)
    }

    /// Runs `f` on the connection within the timeout.
    async fn run<T>(&self, f: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, f(connection)).await {
            Ok(result) => result.map_err(failure),
            Err(_) => Err(StoreError(format!("no answer within {:?}", self.timeout))),
        }
    }
}

/// The error's kind, never its text (which could quote a command).
fn failure(e: redis::RedisError) -> StoreError {
    StoreError(format!("redis {:?}", e.kind()))
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

fn encode(entry: &Versioned) -> String {
    format!("{}|{}", entry.version, entry.value.expose_secret())
}

impl Store for Redis {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        Box::pin(async move {
            let key = self.key(key);
            let raw: Option<String> = self
                .run(async move |mut c| redis::cmd("GET").arg(&key).query_async(&mut c).await)
                .await?;
            Ok(raw.and_then(|raw| {
                let (version, value) = raw.split_once('|')?;
                Some(Versioned {
                    version: version.parse().ok()?,
                    value: Secret::new(value),
                })
            }))
        })
    }

    fn put_if_newer<'a>(&'a self, key: &'a str, entry: &'a Versioned, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key(key);
            let written: i64 = self
                .run(async move |mut c| {
                    self.put_if_newer
                        .key(&key)
                        .arg(entry.version)
                        .arg(entry.value.expose_secret())
                        .arg(millis(ttl))
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(written == 1)
        })
    }

    fn delete_if<'a>(&'a self, key: &'a str, entry: &'a Versioned) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key(key);
            let expected = encode(entry);
            let deleted: i64 = self
                .run(async move |mut c| self.delete_if.key(&key).arg(&expected).invoke_async(&mut c).await)
                .await?;
            Ok(deleted == 1)
        })
    }

    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.key(key);
            let set: Option<String> = self
                .run(async move |mut c| {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(ttl))
                        .query_async(&mut c)
                        .await
                })
                .await?;
            Ok(set.is_some())
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.key(key);
            let _: i64 = self
                .run(async move |mut c| self.delete_if.key(&key).arg(owner).invoke_async(&mut c).await)
                .await?;
            Ok(())
        })
    }
}
