//! [`Postgres`]: the durable install registry's database (feature
//! `postgres`): the system of record an ISV already runs. The crate applies
//! its own schema (migrations, serialized across instances).

mod migrations;
#[cfg(feature = "postgres-tls")]
mod tls;

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::{Error, Secret};

/// A PostgreSQL database for [`wecom::Installs`](crate::wecom::Installs).
///
/// [`CONNECTIONS`] (or [`PostgresBuilder::connections`]) multiplexed connections used in turn (tokio-postgres pipelines concurrent
/// statements on it; each statement is prepared once per connection, so a
/// run is one round trip), re-made after a failure — and after a statement that
/// got no answer within the timeout, so a half-open connection (a NAT drop,
/// a failover to another address) is replaced at once instead of failing
/// every statement until the kernel gives up; TCP keepalive is on. Every
/// statement the registry runs is atomic on its own (claims, completions and
/// their outcome are one statement each), so no transaction spans a network
/// wait.
///
/// **TLS** (feature `postgres-tls`): `sslmode=require` in the URL makes
/// every connection TLS through rustls, and the server's certificate is
/// always verified — its chain against the system's roots, or against the
/// CA given to [`PostgresBuilder::tls_ca_pem`] (a cloud database's own CA),
/// and its name against the URL's host (libpq's `verify-full`). Without
/// `sslmode=require` (libpq's default `prefer`, or `disable`) connections
/// are plain TCP: opportunistic TLS without verification protects nothing
/// against an active attacker, so the crate does not pretend to it.
pub struct Postgres {
    url: Secret,
    timeout: Duration,
    /// The TLS connector when the URL says `sslmode=require`.
    #[cfg(feature = "postgres-tls")]
    tls: Option<tls::MakeRustls>,
    /// The connections, used in turn (each multiplexed).
    slots: Vec<tokio::sync::Mutex<Option<Arc<Conn>>>>,
    next: std::sync::atomic::AtomicUsize,
}

/// How many connections a [`Postgres`] keeps by default
/// ([`PostgresBuilder::connections`]): statements are spread over them in
/// turn, so 200 concurrent callbacks are not serialized on one server
/// backend.
pub const CONNECTIONS: usize = 4;

/// A connection and the statements prepared on it: each statement text is
/// prepared once per connection, then every run is one round trip
/// (`query` with a text prepares and executes: two).
struct Conn {
    client: Client,
    prepared: std::sync::Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>,
}

impl Conn {
    fn new(client: Client) -> Arc<Self> {
        Arc::new(Self {
            client,
            prepared: std::sync::Mutex::default(),
        })
    }

    async fn statement(&self, text: &str) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if let Some(statement) = self.prepared.lock().expect("prepared").get(text) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(text).await?;
        self.prepared
            .lock()
            .expect("prepared")
            .insert(text.to_string(), statement.clone());
        Ok(statement)
    }
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hosts and database only: the URL may carry a password.
        let tls = {
            #[cfg(feature = "postgres-tls")]
            {
                self.tls.is_some()
            }
            #[cfg(not(feature = "postgres-tls"))]
            {
                false
            }
        };
        f.debug_struct("Postgres")
            .field("target", &target(&self.url))
            .field("tls", &tls)
            .finish_non_exhaustive()
    }
}

/// Why a connection could not be made: the server's own message, or
/// tokio-postgres' words and their causes (refused, the TLS handshake's
/// verdict, authentication) — they quote no value of the URL.
fn connect_failure(e: &tokio_postgres::Error) -> Error {
    if e.as_db_error().is_some() {
        return failure("connecting", e);
    }
    let mut reason = format!("connecting: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        reason.push_str(&format!(": {c}"));
        cause = c.source();
    }
    Error::Registry { reason }
}

fn failure(what: &str, e: &tokio_postgres::Error) -> Error {
    // The database's own message (its SQLSTATE and text): statements carry
    // no secret as text (values are parameters), so none can be quoted.
    let detail = e
        .as_db_error()
        .map(|db| format!("{} ({})", db.message(), db.code().code()))
        .unwrap_or_else(|| {
            if e.is_closed() {
                "the connection is closed".into()
            } else {
                "the database is unreachable".into()
            }
        });
    Error::Registry {
        reason: format!("{what}: {detail}"),
    }
}

/// How to reach the database: the URL, TLS trust and the statement
/// timeout. [`Postgres::connect`] is `Postgres::builder(url)?.connect()`.
#[derive(Clone)]
pub struct PostgresBuilder {
    url: Secret,
    timeout: Duration,
    connections: usize,
    #[cfg(feature = "postgres-tls")]
    ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for PostgresBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBuilder")
            .field("target", &target(&self.url))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PostgresBuilder {
    /// The budget of one statement, connecting included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many connections to keep (default [`CONNECTIONS`], 1 to 64),
    /// each opened when first used. Each is multiplexed: more only helps
    /// when one server backend is the bottleneck.
    pub fn connections(mut self, connections: usize) -> Result<Self, Error> {
        if !(1..=64).contains(&connections) {
            return Err(Error::Config {
                setting: "connections",
                reason: format!("must be between 1 and 64, not {connections}"),
            });
        }
        self.connections = connections;
        Ok(self)
    }

    /// Trusts the CA certificate(s) in `ca_pem` (PEM) instead of the
    /// system's roots, for `sslmode=require` (feature `postgres-tls`).
    /// The server's name is still checked against the URL's host.
    #[cfg(feature = "postgres-tls")]
    pub fn tls_ca_pem(mut self, ca_pem: &[u8]) -> Result<Self, Error> {
        super::ca_certificates(ca_pem)?;
        self.ca_pem = Some(ca_pem.to_vec());
        Ok(self)
    }

    /// Connects and applies the registry's migrations.
    pub async fn connect(self) -> Result<Postgres, Error> {
        let config = parse(&self.url)?;
        let require = config.get_ssl_mode() == SslMode::Require;
        #[cfg(feature = "postgres-tls")]
        let tls = match require {
            true => Some(tls::MakeRustls(tls::config(self.ca_pem.as_deref())?)),
            false => None,
        };
        #[cfg(not(feature = "postgres-tls"))]
        if require {
            return Err(Error::Config {
                setting: "postgres_url",
                reason: "sslmode=require needs the `postgres-tls` feature".into(),
            });
        }
        let db = Postgres {
            url: self.url,
            timeout: self.timeout,
            #[cfg(feature = "postgres-tls")]
            tls,
            slots: (0..self.connections).map(|_| tokio::sync::Mutex::new(None)).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
        };
        let mut client = db.open().await?;
        migrations::migrate(&mut client).await?;
        *db.slots[0].lock().await = Some(Conn::new(client));
        Ok(db)
    }
}

fn parse(url: &Secret) -> Result<tokio_postgres::Config, Error> {
    url.expose_secret().parse().map_err(|_| Error::Config {
        setting: "postgres_url",
        reason: "not a PostgreSQL connection string".into(),
    })
}

/// Hosts and database name: what may be shown of a URL that may carry a
/// password.
fn target(url: &Secret) -> String {
    match parse(url) {
        Ok(c) => format!("{:?}/{}", c.get_hosts(), c.get_dbname().unwrap_or_default()),
        Err(_) => "(not a connection string)".into(),
    }
}

/// Drives a connection until it ends, logging why.
fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(target: "corp_auth", error = %failure("connection", &e), "PostgreSQL connection ended");
        }
    });
}

impl Postgres {
    /// Connects to `url` (`postgres://user@host:5432/db`, with
    /// `?sslmode=require` for TLS) and applies the registry's migrations.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder(url)?.connect().await
    }

    /// Settings before connecting: [`PostgresBuilder::timeout`],
    /// [`PostgresBuilder::tls_ca_pem`]. Fails at once on a URL that is not
    /// a connection string.
    pub fn builder(url: &str) -> Result<PostgresBuilder, Error> {
        let url = Secret::from(url);
        parse(&url)?;
        Ok(PostgresBuilder {
            url,
            timeout: Duration::from_secs(5),
            connections: CONNECTIONS,
            #[cfg(feature = "postgres-tls")]
            ca_pem: None,
        })
    }

    async fn open(&self) -> Result<Client, Error> {
        let mut config = parse(&self.url)?;
        // A peer that vanished without a FIN is noticed within a minute.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3)
            .connect_timeout(self.timeout);
        let connect = async {
            #[cfg(feature = "postgres-tls")]
            if let Some(tls) = &self.tls {
                let (client, connection) = config.connect(tls.clone()).await?;
                drive(connection);
                return Ok(client);
            }
            config.ssl_mode(SslMode::Disable);
            let (client, connection) = config.connect(NoTls).await?;
            drive(connection);
            Ok(client)
        };
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(connect_failure(&e)),
            Err(_) => Err(Error::Registry {
                reason: format!("connecting: no answer within {:?}", self.timeout),
            }),
        }
    }

    /// The connection, re-made when it was lost.
    async fn conn(&self) -> Result<Arc<Conn>, Error> {
        let slot = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.slots.len();
        let mut held = self.slots[slot].lock().await;
        if let Some(conn) = held.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(conn.clone());
        }
        let conn = Conn::new(self.open().await?);
        *held = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `statement` with `params`, bounded by the timeout; `what` names
    /// it in the error.
    pub(crate) async fn query(
        &self,
        what: &str,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, Error> {
        let started = tokio::time::Instant::now();
        let conn = self.conn().await?;
        // One budget for connecting, preparing (once per connection) and
        // the statement.
        let left = self
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100));
        let run = async {
            let prepared = conn.statement(statement).await?;
            conn.client.query(&prepared, params).await
        };
        match tokio::time::timeout(left, run).await {
            Ok(result) => result.map_err(|e| failure(what, &e)),
            Err(_) => {
                // No answer: the connection may be half-open. Never reuse it.
                self.discard(&conn).await;
                Err(Error::Registry {
                    reason: format!("{what}: no answer within {:?}", self.timeout),
                })
            }
        }
    }

    /// Drops `client` as the shared connection (if it still is): the next
    /// statement opens a new one.
    async fn discard(&self, conn: &Arc<Conn>) {
        for slot in &self.slots {
            let mut held = slot.lock().await;
            if !held.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                continue;
            }
            tracing::warn!(target: "corp_auth", "a PostgreSQL statement got no answer: the connection is replaced");
            *held = None;
        }
    }
}
