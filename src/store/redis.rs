//! [`Redis`]: the store shared by every instance of an ISV (feature `redis`):
//! one server, a TLS server (`rediss://`, feature `redis-tls`) or a Redis
//! Cluster.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

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

/// A Redis store, shared by every instance that opens the same server (or
/// cluster) with the same prefix.
///
/// Keys are `<prefix>:{<key>}` (the default prefix is `corp-auth`), a lock
/// `<prefix>:{<key>}:lock`: the `{…}` hash tag puts a value and its lock in
/// one Redis Cluster slot, and every script touches one key. Values are
/// `<version>|<value>` strings with the value's lifetime as the key's TTL;
/// locks are `SET NX PX` with an owner id, released by compare-and-delete.
/// The connection is made on first use and re-made after a failure; every
/// command is bounded by a timeout (500 ms by default), so an unreachable
/// server fails fast and the managed types fall back to their in-process
/// store.
///
/// - One server: [`Redis::open`] with `redis://host:port/db` or
///   `redis://:password@host/`.
/// - TLS (feature `redis-tls`, rustls: no system OpenSSL): `rediss://host:port/`,
///   verified against the system roots, or against a private CA with
///   [`Redis::tls_ca_pem`] (managed Redis services often use one).
/// - Redis Cluster: [`Redis::cluster`] with some of the nodes' URLs; it
///   follows `MOVED`/`ASK` and learns the topology itself.
pub struct Redis {
    target: Target,
    prefix: String,
    timeout: Duration,
    connection: tokio::sync::OnceCell<Connection>,
    put_if_newer: redis::Script,
    delete_if: redis::Script,
}

/// Where the store connects.
enum Target {
    Single(redis::Client),
    Cluster {
        nodes: Vec<redis::ConnectionInfo>,
        ca_pem: Option<Vec<u8>>,
    },
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The addresses only: the URL may carry a password.
        let addr = match &self.target {
            Target::Single(client) => client.get_connection_info().addr().to_string(),
            Target::Cluster { nodes, .. } => format!(
                "cluster {}",
                nodes.iter().map(|n| n.addr().to_string()).collect::<Vec<_>>().join(",")
            ),
        };
        f.debug_struct("Redis")
            .field("addr", &addr)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn config_error(e: &redis::RedisError) -> Error {
    Error::Config {
        setting: "redis_url",
        // The kind only: redis's message may quote the URL.
        reason: format!("not a usable Redis URL ({:?}){}", e.kind(), tls_hint(e)),
    }
}

fn tls_hint(e: &redis::RedisError) -> &'static str {
    if e.kind() == redis::ErrorKind::InvalidClientConfig && !cfg!(feature = "redis-tls") {
        ": rediss:// needs the `redis-tls` feature"
    } else {
        ""
    }
}

impl Redis {
    /// A store on the server at `url` (`redis://host:port/db`,
    /// `redis://:password@host/`, or `rediss://…` with the `redis-tls`
    /// feature). Nothing is connected until first use.
    pub fn open(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| config_error(&e))?;
        Ok(Self::with_target(Target::Single(client)))
    }

    /// A store on a Redis Cluster, reached through any of `nodes`
    /// (`redis://host:port/` or, with `redis-tls`, `rediss://`): keys are
    /// hash-tagged so a value and its lock share a slot. Nothing is connected
    /// until first use.
    pub fn cluster<S: AsRef<str>>(nodes: &[S]) -> Result<Self, Error> {
        if nodes.is_empty() {
            return Err(Error::Config {
                setting: "redis_url",
                reason: "a cluster needs at least one node's URL".into(),
            });
        }
        let nodes = nodes
            .iter()
            .map(|n| redis::IntoConnectionInfo::into_connection_info(n.as_ref()).map_err(|e| config_error(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        // Checked now, not at first use.
        ClusterClient::new(nodes.clone()).map_err(|e| config_error(&e))?;
        Ok(Self::with_target(Target::Cluster { nodes, ca_pem: None }))
    }

    fn with_target(target: Target) -> Self {
        Self {
            target,
            prefix: "corp-auth".to_string(),
            timeout: Duration::from_millis(500),
            connection: tokio::sync::OnceCell::new(),
            put_if_newer: redis::Script::new(PUT_IF_NEWER),
            delete_if: redis::Script::new(DELETE_IF),
        }
    }

    /// Trusts the CA certificate(s) in `ca_pem` (PEM) instead of the system
    /// roots for a `rediss://` server: managed Redis services often use a
    /// private CA. The server's name must match its certificate.
    #[cfg(feature = "redis-tls")]
    pub fn tls_ca_pem(mut self, ca_pem: &[u8]) -> Result<Self, Error> {
        let invalid = |reason: String| Error::Config {
            setting: "tls_ca_pem",
            reason,
        };
        super::ca_certificates(ca_pem)?;
        let certs = || redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca_pem.to_vec()),
        };
        self.target = match self.target {
            Target::Single(client) => {
                let info = client.get_connection_info().clone();
                if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
                    return Err(invalid("a CA only applies to a rediss:// URL".into()));
                }
                Target::Single(redis::Client::build_with_tls(info, certs()).map_err(|e| config_error(&e))?)
            }
            Target::Cluster { nodes, .. } => Target::Cluster {
                nodes,
                ca_pem: Some(ca_pem.to_vec()),
            },
        };
        Ok(self)
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

    /// `<prefix>:{<key>}`, and for a lock `<prefix>:{<key>}:lock`: the hash
    /// tag keeps a value and its lock in one cluster slot.
    fn key(&self, key: &str) -> String {
        match key.strip_suffix(":lock") {
            Some(base) => format!("{}:{{{base}}}:lock", self.prefix),
            None => format!("{}:{{{key}}}", self.prefix),
        }
    }

    async fn connection(&self) -> Result<Connection, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(self.timeout))
                            .set_response_timeout(Some(self.timeout))
                            .set_number_of_retries(1)
                            .set_max_delay(Duration::from_millis(100));
                        ConnectionManager::new_lazy_with_config(client.clone(), config).map(Connection::Single)
                    }
                    Target::Cluster { nodes, ca_pem } => {
                        let builder = ClusterClient::builder(nodes.clone())
                            .connection_timeout(self.timeout)
                            .response_timeout(self.timeout)
                            .retries(2);
                        #[cfg(feature = "redis-tls")]
                        let builder = match ca_pem {
                            Some(pem) => builder.certs(redis::TlsCertificates {
                                client_tls: None,
                                root_cert: Some(pem.clone()),
                            }),
                            None => builder,
                        };
                        #[cfg(not(feature = "redis-tls"))]
                        let _ = ca_pem;
                        let client = builder.build()?;
                        let connect = client.get_async_connection();
                        match tokio::time::timeout(self.timeout * 4, connect).await {
                            Ok(connection) => connection.map(|c| Connection::Cluster(Box::new(c))),
                            Err(_) => Err(redis::RedisError::from(std::io::Error::from(
                                std::io::ErrorKind::TimedOut,
                            ))),
                        }
                    }
                }
            })
            .await
            .cloned()
            .map_err(failure)
    }

    /// Runs `f` on the connection within the timeout.
    async fn run<T>(&self, f: impl AsyncFnOnce(Connection) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, f(connection)).await {
            Ok(result) => result.map_err(failure),
            Err(_) => Err(StoreError(format!("no answer within {:?}", self.timeout))),
        }
    }
}

/// A connection to one server (re-made after a failure) or to a cluster
/// (which follows the topology itself).
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(Box<ClusterConnection>),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
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
