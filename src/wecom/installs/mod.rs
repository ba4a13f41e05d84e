//! [`Installs`]: no install is ever lost. A durable callback inbox, one
//! exchange per `auth_code` across every instance, and permanent codes
//! encrypted at rest, on PostgreSQL (feature `postgres`).
//!
//! Design (README, "Never lose an install"):
//! - **Durable before `success`**: [`Installs::receive`] verifies and
//!   decrypts a callback, seals the event (AES-256-GCM) and commits it to
//!   `corp_auth_inbox` before it returns `success`; a duplicate delivery (the
//!   same decrypted event) is the same row.
//! - **At-least-once processing from any instance**: [`Installs::process_pending`]
//!   claims pending events with `FOR UPDATE SKIP LOCKED` and a lease; a
//!   crashed worker's events are taken over when the lease ends. Handling is
//!   idempotent.
//! - **Each `auth_code` is sent at most once**: the claim (`corp_auth_exchanges`,
//!   keyed by the code's SHA-256) is committed before the request leaves.
//!   An exchange whose answer was lost is *in doubt* and never sent again.
//! - **The permanent code is committed by the statement that completes the
//!   exchange** (with its outcome), sealed under the current key, retried
//!   until the database answers.
//! - **Newer wins per corp**: each corp's row keeps the `TimeStamp` of the
//!   newest event applied (`as_of`); an older cancel, change, reset or
//!   install is [`Outcome::Superseded`], never applied.
//! - **Leases are ownership**: one event per claim, the lease sized to the
//!   worst case of one step and renewed before every effect; only the
//!   exchange request itself can leave a code in doubt.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::Suite;
use super::callback::{Crypto, Event};
use crate::seal::Keyring;
use crate::store::Postgres;
use crate::{Error, Secret};

mod exchange;
mod inbox;
mod local;
mod record;
mod registry;

use record::{describe, event_time};

/// Default [`InstallsBuilder::lease`]: 30 seconds (raised to the worst case
/// of one event when that is longer).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// How long an `auth_code` lives (10 minutes): an install that cannot be
/// exchanged yet (no suite ticket, the token endpoint down) is retried for
/// this long after its callback arrived, then reported failed.
const AUTH_CODE_LIFE: Duration = Duration::from_secs(600);
/// Default [`InstallsBuilder::retention`]: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often `process_pending` purges (per instance).
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The part of a lease kept for committing an exchange's answer.
const COMPLETION_BUDGET: Duration = Duration::from_secs(5);
/// The longest pause between two attempts of a callback that failed
/// without consuming anything.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long an install `state` lives: as long as the pre-auth code (20 min).
pub const STATE_VALIDITY: Duration = Duration::from_secs(20 * 60);

/// What happened to an install, for the application to create or close its
/// tenant. Every outcome but [`Outcome::TicketStored`] and
/// [`Outcome::Ignored`] is also kept until acknowledged
/// ([`Installs::unacknowledged`]), so the application hears it at least
/// once even if it crashes right after the call that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The corp installed the suite; its permanent code is in the registry.
    Installed {
        /// The corp (case kept).
        corpid: String,
        /// Its short name, when WeCom gave one.
        corp_name: Option<String>,
        /// The install's `state` (marketplace installs, QR codes).
        state: Option<String>,
    },
    /// The corp's authorization changed (`change_auth`): re-read.
    Changed {
        /// The corp.
        corpid: String,
    },
    /// The corp removed the suite (`cancel_auth`): its permanent code and
    /// cached token are gone.
    Cancelled {
        /// The corp.
        corpid: String,
    },
    /// 代开发: the corp's admin reset the secret (`reset_permanent_code`);
    /// the new permanent code replaced the old one.
    Reset {
        /// The corp.
        corpid: String,
    },
    /// An exchange was sent and its answer lost: see [`InDoubt`].
    InDoubt(InDoubt),
    /// An event could not be handled and will not be retried (the message
    /// says why; for example WeCom refused the `auth_code`).
    Failed {
        /// The corp, when known.
        corpid: Option<String>,
        /// Why.
        reason: String,
    },
    /// An event older than what the corp's registry row already reflects
    /// (a `cancel_auth`, `change_auth` or `reset_permanent_code` — or an
    /// install — whose `TimeStamp` is before the corp's newest applied
    /// event or redirect install): recorded, not applied, so a stale cancel
    /// never undoes a reinstall.
    Superseded {
        /// The corp.
        corpid: String,
        /// The event's `InfoType`.
        info_type: String,
    },
    /// A stored event this instance cannot open (sealed under a key it does
    /// not have, as during a rolling key change): skipped and left for an
    /// instance that has the key; reported once.
    Unreadable {
        /// The key id the event is sealed under.
        key_id: String,
    },
    /// A `suite_ticket` was stored (newer wins).
    TicketStored,
    /// An event this registry does not act on (its `InfoType`).
    Ignored {
        /// The event's `InfoType`.
        info_type: String,
    },
}

/// An exchange that was sent and whose answer was lost: the `auth_code` may
/// be spent and its permanent code unknown. The library never sends it
/// again. What to do: check the corp in WeCom's provider console (应用管理 →
/// 授权企业); if it is installed, ask its admin to reinstall (a new
/// `auth_code`), or — 代开发 — to reset the secret; then mark it resolved
/// ([`Installs::resolve_in_doubt`]) and acknowledge the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InDoubt {
    /// The exchange's id (not a secret: the start of the code's SHA-256),
    /// for [`Installs::resolve_in_doubt`].
    pub id: String,
    /// Where the code came from: `callback` or `redirect`.
    pub source: String,
    /// When the exchange was claimed.
    pub claimed_at: SystemTime,
    /// Why it is in doubt.
    pub reason: String,
}

/// A corp of the registry ([`Installs::corps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorpRecord {
    /// The corp (case kept).
    pub corpid: String,
    /// Installed or cancelled.
    pub status: CorpStatus,
    /// Its short name, when known.
    pub corp_name: Option<String>,
}

/// Whether a corp has the suite installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CorpStatus {
    /// Installed: the permanent code is in the registry.
    Installed,
    /// Cancelled: nothing of its credentials is kept.
    Cancelled,
}

/// The durable install registry of one [`Suite`]. Cheap to clone.
///
/// ```no_run
/// # async fn run(suite: corp_auth::wecom::Suite, key: [u8; 32]) -> Result<(), corp_auth::Error> {
/// use std::time::Duration;
/// use corp_auth::{store, wecom};
/// let db = store::Postgres::connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// let crypto = wecom::callback::Crypto::new("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", suite.suite_id())?
///     .provider_corpid("wwprovider");
/// let installs = wecom::Installs::builder(suite.clone(), db)
///     .crypto(crypto)
///     .encryption_key("k-2026-12", &key)
///     .lease(Duration::from_secs(30))
///     .build()?;
/// let outcomes = installs.process_pending().await?;
/// # let _ = outcomes; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Installs {
    inner: Arc<Inner>,
}

struct Inner {
    suite: Suite,
    db: Postgres,
    crypto: Crypto,
    keys: Keyring,
    /// How long a claimed event is its worker's: the configured lease, at
    /// least the worst case of handling one event (a token fetch with its
    /// lock wait and retries, the exchange, the completion).
    lease: Duration,
    /// How long finished rows are kept ([`InstallsBuilder::retention`]).
    retention: Duration,
    /// When this instance last purged (unix ms; 0: never).
    last_purge: std::sync::atomic::AtomicI64,
    /// How long a `sending` claim may stay unanswered before its holder is
    /// taken as stopped: the worst case of the exchange request itself.
    claim_life: Duration,
    owner: String,
    /// The `auth_code`s (by SHA-256) this instance is exchanging right now,
    /// or gave up on after the request may have left: what the database
    /// cannot tell about this instance's own claims.
    local: local::LocalClaims,
}

impl std::fmt::Debug for Installs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installs")
            .field("suite_id", &self.inner.suite.suite_id())
            .field("db", &self.inner.db)
            .field("keys", &self.inner.keys)
            .field("lease", &self.inner.lease)
            .finish()
    }
}

/// Builds [`Installs`]; from [`Installs::builder`].
#[must_use]
pub struct InstallsBuilder {
    suite: Suite,
    db: Postgres,
    crypto: Option<Crypto>,
    keys: Keyring,
    key_error: Option<Error>,
    lease: Duration,
    retention: Duration,
}

impl std::fmt::Debug for InstallsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallsBuilder")
            .field("suite_id", &self.suite.suite_id())
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl InstallsBuilder {
    /// The callback crypto (token, EncodingAESKey, the suite id as receive
    /// id, and [`Crypto::provider_corpid`] for the console's URL check).
    /// Required.
    pub fn crypto(mut self, crypto: Crypto) -> Self {
        self.crypto = Some(crypto);
        self
    }

    /// An encryption key (32 bytes) and its id, stored beside each value it
    /// seals. The first key given seals; call again to add older keys that
    /// still open what they sealed (key rotation:
    /// [`Installs::reseal`] moves everything to the current key).
    pub fn encryption_key(mut self, id: &str, key: &[u8; 32]) -> Self {
        if let Err(e) = self.keys.add(id, key) {
            self.key_error.get_or_insert(e);
        }
        self
    }

    /// How long a claimed event stays with its worker before another
    /// instance may take it over (default 30 s). Raised to the worst case of
    /// handling one event (token fetch with its lock wait and retries, the
    /// exchange, the completion) when that is longer, so a slow exchange is
    /// never handed to a second instance while the first still works on it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long processed callbacks, acknowledged outcomes and finished or
    /// resolved exchanges are kept (default 30 days, [`DEFAULT_RETENTION`]);
    /// [`Installs::purge`] deletes what is older, and `process_pending` runs
    /// it once an hour. A callback whose `TimeStamp` is older than this is a
    /// replay (WeCom retries within minutes): it is answered `success` and
    /// not stored, so a purged event is never handled twice.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Checks the settings and builds the registry.
    pub fn build(self) -> Result<Installs, Error> {
        if let Some(e) = self.key_error {
            return Err(e);
        }
        let config = |setting: &'static str, reason: &str| Error::Config {
            setting,
            reason: reason.to_string(),
        };
        if self.keys.is_empty() {
            return Err(config("encryption_key", "at least one key is required"));
        }
        let crypto = self
            .crypto
            .ok_or_else(|| config("crypto", "the callback crypto is required"))?;
        if self.lease < Duration::from_secs(1) {
            return Err(config("lease", "must be at least one second"));
        }
        if self.retention < AUTH_CODE_LIFE * 6 {
            return Err(config(
                "retention",
                "must be at least an hour: a delivery WeCom retries must still be recognised",
            ));
        }
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| config("random", &e.to_string()))?;
        // By construction: a claimed exchange is answered (or has failed)
        // within the client's worst case, and the lease, renewed before each
        // effect, covers that step and committing its answer.
        let claim_life = self.suite.client().worst_call() + Duration::from_secs(2);
        let lease = self.lease.max(claim_life + COMPLETION_BUDGET);
        Ok(Installs {
            inner: Arc::new(Inner {
                suite: self.suite,
                db: self.db,
                crypto,
                keys: self.keys,
                lease,
                retention: self.retention,
                last_purge: std::sync::atomic::AtomicI64::new(0),
                claim_life,
                owner: format!("{}-{}", std::process::id(), crate::hex::lower(&random)),
                local: local::LocalClaims::default(),
            }),
        })
    }
}

fn sha256_hex(value: &[u8]) -> String {
    crate::hex::lower(&Sha256::digest(value))
}

/// Where a sealed value lives: it opens only there.
fn corp_place(suite_id: &str, corpid: &str) -> String {
    format!("corp_auth_corps|{suite_id}|{corpid}")
}

fn inbox_place(suite_id: &str, fingerprint: &str) -> String {
    format!("corp_auth_inbox|{suite_id}|{fingerprint}")
}

impl Installs {
    /// A registry for `suite`'s installs on `db`.
    pub fn builder(suite: Suite, db: Postgres) -> InstallsBuilder {
        InstallsBuilder {
            suite,
            db,
            crypto: None,
            keys: Keyring::default(),
            key_error: None,
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
        }
    }

    fn suite_id(&self) -> &str {
        self.inner.suite.suite_id()
    }

    /// Answers the console's URL check (the GET when the callback URL is
    /// saved): the decrypted `echostr`, whose receive id may be the
    /// provider's corpid, the suite id or empty.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, Error> {
        self.inner.crypto.verify_url(msg_signature, timestamp, nonce, echostr)
    }

    /// Receives a POSTed callback: verifies and decrypts it, and commits it
    /// (sealed) to the inbox. Returns `success` — the reply WeCom expects —
    /// only once the event is durable; a duplicate delivery is recognised
    /// and answered `success` too. On an error answer WeCom with an error
    /// status: it then reports the delivery as failed instead of the ISV
    /// losing it. A `suite_ticket` is also stored right away.
    pub async fn receive(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, Error> {
        let xml = self.inner.crypto.decrypt(msg_signature, timestamp, nonce, body)?;
        let event = Event::parse(&xml)?;
        if let Some(at) = event_time(&event)
            && at < crate::wecom::managed::now_ms() / 1000 - self.inner.retention.as_secs() as i64
        {
            // Older than anything kept: a replay (its row may be purged).
            tracing::warn!(target: "corp_auth", event = event.info_type(), at,
                "a callback older than the retention period: answered, not stored");
            return Ok("success".to_string());
        }
        let (suite_id, info_type, corpid) = describe(&event, self.suite_id());
        let fingerprint = sha256_hex(xml.as_bytes());
        let (key_id, sealed) = self
            .inner
            .keys
            .seal(&inbox_place(&suite_id, &fingerprint), xml.as_bytes())?;
        self.inner
            .db
            .query(
                "recording the callback",
                "INSERT INTO corp_auth_inbox (suite_id, fingerprint, info_type, corpid, key_id, sealed) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (suite_id, fingerprint) DO NOTHING",
                &[&suite_id, &fingerprint, &info_type, &corpid, &key_id, &sealed],
            )
            .await?;
        if matches!(event, Event::SuiteTicket { .. }) {
            // Durable already; applying it now keeps tokens fresh without
            // waiting for the worker.
            let _ = self.inner.suite.handle_event(&event).await;
        }
        Ok("success".to_string())
    }
}
