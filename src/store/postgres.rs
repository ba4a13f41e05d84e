//! [`Postgres`]: the durable install registry's database (feature
//! `postgres`): the system of record an ISV already runs. The crate applies
//! its own schema (migrations, serialized across instances).

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::{Error, Secret};

/// The registry's tables, one migration per entry: (version, SQL). Applied
/// in order, each once, in a transaction under an advisory lock, so several
/// instances starting at once apply each exactly once.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r"
CREATE TABLE corp_auth_inbox (
    id           BIGSERIAL PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,          -- SHA-256 of the whole decrypted event: duplicates are one row
    info_type    TEXT NOT NULL,
    corpid       TEXT,                   -- AuthCorpId when the event has one (not a secret)
    key_id       TEXT NOT NULL,
    sealed       BYTEA NOT NULL,         -- the event, AES-256-GCM
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    state        TEXT NOT NULL DEFAULT 'pending',   -- pending | done
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    attempts     INT NOT NULL DEFAULT 0,
    outcome      TEXT,
    UNIQUE (suite_id, fingerprint)
);
CREATE INDEX corp_auth_inbox_pending ON corp_auth_inbox (suite_id, id) WHERE state = 'pending';
CREATE TABLE corp_auth_exchanges (
    code_hash    TEXT PRIMARY KEY,       -- SHA-256 of the auth_code: the claim, never the code
    suite_id     TEXT NOT NULL,
    source       TEXT NOT NULL,          -- callback | redirect
    state        TEXT NOT NULL,          -- sending | done | in_doubt
    corpid       TEXT,
    reason       TEXT,
    claimed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE corp_auth_corps (
    suite_id     TEXT NOT NULL,
    corpid       TEXT NOT NULL,          -- case kept: encrypted corpids are case-sensitive
    status       TEXT NOT NULL,          -- installed | cancelled
    corp_name    TEXT,
    key_id       TEXT,
    sealed_code  BYTEA,                  -- the permanent_code, AES-256-GCM; NULL once cancelled
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (suite_id, corpid)
);
CREATE TABLE corp_auth_states (
    state        TEXT PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE corp_auth_outcomes (
    id           BIGSERIAL PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,          -- installed | changed | cancelled | in_doubt
    corpid       TEXT,
    detail       TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    acknowledged BOOLEAN NOT NULL DEFAULT false
);
",
    ),
    (
        2,
        r"
-- Order: the WeCom TimeStamp of the newest event applied to the corp (or
-- when a redirect install completed), unix seconds; older events are
-- superseded, not applied.
ALTER TABLE corp_auth_corps ADD COLUMN as_of BIGINT NOT NULL DEFAULT 0;
-- Claims with owners: who holds a `sending` claim, and by when its holder
-- has had its answer (the holder's worst case): past that, it stopped.
ALTER TABLE corp_auth_exchanges ADD COLUMN owner TEXT;
ALTER TABLE corp_auth_exchanges ADD COLUMN answer_by TIMESTAMPTZ;
-- A row this instance could not open: the key id, reported once.
ALTER TABLE corp_auth_inbox ADD COLUMN unreadable_key TEXT;
-- Every queue query has its index.
CREATE INDEX corp_auth_exchanges_sending ON corp_auth_exchanges (suite_id, updated_at) WHERE state = 'sending';
CREATE INDEX corp_auth_exchanges_in_doubt ON corp_auth_exchanges (suite_id, claimed_at) WHERE state = 'in_doubt';
CREATE INDEX corp_auth_outcomes_unacknowledged ON corp_auth_outcomes (suite_id, id) WHERE NOT acknowledged;
CREATE INDEX corp_auth_states_expiry ON corp_auth_states (expires_at);
-- Retention: what `Installs::purge` deletes.
CREATE INDEX corp_auth_inbox_done ON corp_auth_inbox (suite_id, received_at) WHERE state = 'done';
CREATE INDEX corp_auth_outcomes_acknowledged ON corp_auth_outcomes (suite_id, created_at) WHERE acknowledged;
CREATE INDEX corp_auth_exchanges_finished ON corp_auth_exchanges (suite_id, updated_at) WHERE state IN ('done', 'resolved');
",
    ),
];

/// A PostgreSQL database for [`wecom::Installs`](crate::wecom::Installs).
///
/// [`CONNECTIONS`] multiplexed connections used in turn (tokio-postgres pipelines concurrent
/// statements on it; each statement is prepared once per connection, so a
/// run is one round trip), re-made after a failure — and after a statement that
/// got no answer within the timeout, so a half-open connection (a NAT drop,
/// a failover to another address) is replaced at once instead of failing
/// every statement until the kernel gives up; TCP keepalive is on. Every
/// statement the registry runs is atomic on its own (claims, completions and
/// their outcome are one statement each), so no transaction spans a network
/// wait. Connections are plain TCP (`NoTls`): run the database next to the
/// application or behind a TLS-terminating proxy.
pub struct Postgres {
    url: Secret,
    timeout: Duration,
    /// The connections, used in turn (each multiplexed).
    slots: Vec<tokio::sync::Mutex<Option<Arc<Conn>>>>,
    next: std::sync::atomic::AtomicUsize,
}

/// How many connections a [`Postgres`] keeps: statements are spread over
/// them in turn, so 200 concurrent callbacks are not serialized on one
/// server backend.
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
        // Host and database only: the URL may carry a password.
        let config: Option<tokio_postgres::Config> = self.url.expose_secret().parse().ok();
        let hosts = config
            .as_ref()
            .map(|c| format!("{:?}", c.get_hosts()))
            .unwrap_or_default();
        let db = config.as_ref().and_then(|c| c.get_dbname().map(str::to_string));
        f.debug_struct("Postgres")
            .field("hosts", &hosts)
            .field("dbname", &db)
            .finish()
    }
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

impl Postgres {
    /// Connects to `url` (`postgres://user@host:5432/db`) and applies the
    /// registry's migrations.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        url.parse::<tokio_postgres::Config>().map_err(|_| Error::Config {
            setting: "postgres_url",
            reason: "not a PostgreSQL connection string".into(),
        })?;
        let db = Self {
            url: Secret::from(url),
            timeout: Duration::from_secs(5),
            slots: (0..CONNECTIONS).map(|_| tokio::sync::Mutex::new(None)).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
        };
        let mut client = db.open().await?;
        migrate(&mut client).await?;
        *db.slots[0].lock().await = Some(Conn::new(client));
        Ok(db)
    }

    async fn open(&self) -> Result<Client, Error> {
        let mut config: tokio_postgres::Config = self.url.expose_secret().parse().map_err(|_| Error::Config {
            setting: "postgres_url",
            reason: "not a PostgreSQL connection string".into(),
        })?;
        // A peer that vanished without a FIN is noticed within a minute.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3)
            .connect_timeout(self.timeout);
        let connect = config.connect(NoTls);
        let (client, connection) = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(failure("connecting", &e)),
            Err(_) => {
                return Err(Error::Registry {
                    reason: format!("connecting: no answer within {:?}", self.timeout),
                });
            }
        };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "corp_auth", error = %failure("connection", &e), "PostgreSQL connection ended");
            }
        });
        Ok(client)
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

/// Applies the migrations not yet applied. Everything — the bookkeeping
/// table included — happens under one advisory lock, so any number of
/// instances may start at once: one migrates, the others wait and find it
/// done. A failure names the migration.
async fn migrate(client: &mut Client) -> Result<(), Error> {
    let step = |what: String| move |e: tokio_postgres::Error| failure(&what, &e);
    let tx = client.transaction().await.map_err(step("migrating: starting".into()))?;
    tx.execute("SELECT pg_advisory_xact_lock(7283746101)", &[])
        .await
        .map_err(step("migrating: taking the migration lock".into()))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS corp_auth_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(step("migrating: creating corp_auth_migrations".into()))?;
    for (version, sql) in MIGRATIONS {
        let done = tx
            .query_opt("SELECT 1 FROM corp_auth_migrations WHERE version = $1", &[version])
            .await
            .map_err(step(format!("migrating: reading migration {version}")))?;
        if done.is_none() {
            tx.batch_execute(sql)
                .await
                .map_err(step(format!("migrating: applying migration {version}")))?;
            tx.execute("INSERT INTO corp_auth_migrations (version) VALUES ($1)", &[version])
                .await
                .map_err(step(format!("migrating: recording migration {version}")))?;
        }
    }
    tx.commit().await.map_err(step("migrating: committing".into()))?;
    Ok(())
}
