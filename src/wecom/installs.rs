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
            && at < super::managed::now_ms() / 1000 - self.inner.retention.as_secs() as i64
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

    /// Handles the pending events of this suite, each once across every
    /// instance (claimed with a row lock and a lease; a crashed worker's
    /// events are taken over when its lease ends): `create_auth` exchanges
    /// its code, `change_auth` re-reads the auth info, `cancel_auth` deletes
    /// the corp's permanent code and drops its cached token,
    /// `reset_permanent_code` exchanges the new code and replaces the old
    /// one, `suite_ticket` stores the ticket. Exchanges left unanswered by a
    /// crashed instance are reported in doubt. Returns the outcomes of this
    /// call.
    pub async fn process_pending(&self) -> Result<Vec<Outcome>, Error> {
        let now = super::managed::now_ms();
        let last = self.inner.last_purge.load(std::sync::atomic::Ordering::Relaxed);
        if now - last > PURGE_EVERY.as_millis() as i64 {
            self.inner.last_purge.store(now, std::sync::atomic::Ordering::Relaxed);
            self.purge().await?;
        }
        let mut outcomes = self.report_stale_exchanges().await?;
        // One event per claim: each lease covers the worst case of one event
        // (never a batch that a slow exchange would outlive).
        for _ in 0..100 {
            let Some(row) = self.claim_next().await? else { break };
            let (id, fingerprint, key_id, sealed, attempts, reported, received_at): (
                i64,
                String,
                String,
                Vec<u8>,
                i32,
                Option<String>,
                SystemTime,
            ) = (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
                row.get(6),
            );
            let place = inbox_place(self.suite_id(), &fingerprint);
            let Ok(xml) = self.inner.keys.open(&key_id, &place, &sealed) else {
                // Sealed under a key this instance lacks (a rolling key
                // change): left at once for an instance that has it (this
                // one no longer claims it); reported once.
                self.put_back(id, Duration::ZERO, Some(&key_id)).await?;
                if reported.as_deref() != Some(key_id.as_str()) {
                    tracing::warn!(target: "corp_auth", key_id, "a stored callback is sealed under a key this instance does not have: skipped");
                    outcomes.push(Outcome::Unreadable { key_id });
                }
                continue;
            };
            let parsed = String::from_utf8(xml)
                .map_err(|_| Error::Registry {
                    reason: "a stored callback is not UTF-8".into(),
                })
                .and_then(|xml| Event::parse(&xml));
            let result = match &parsed {
                Ok(event) => self.handle(event, Some(id)).await,
                Err(e) => Err(Error::Registry {
                    reason: format!("a stored callback does not parse: {e}"),
                }),
            };
            match result {
                Ok(outcome) => {
                    self.finish(id, &outcome).await?;
                    outcomes.push(outcome);
                }
                // Nothing was consumed: tried again with backoff — an
                // install for as long as its auth_code lives, anything else
                // until it goes through.
                Err(e) if parsed.is_ok() && retry_later(&e) && !code_expired(parsed.as_ref().ok(), received_at) => {
                    let pause = Duration::from_secs(1 << attempts.clamp(0, 5)).min(MAX_BACKOFF);
                    tracing::warn!(target: "corp_auth", error = %e, attempts, pause_s = pause.as_secs(),
                        "a callback failed without consuming anything; it will be retried");
                    self.put_back(id, pause, None).await?;
                }
                Err(e) => {
                    let outcome = Outcome::Failed {
                        corpid: parsed.as_ref().ok().and_then(event_corp),
                        reason: e.to_string(),
                    };
                    self.record(&outcome).await?;
                    self.finish(id, &outcome).await?;
                    outcomes.push(outcome);
                }
            }
        }
        Ok(outcomes)
    }

    /// Claims the oldest pending event no one holds, for one lease.
    async fn claim_next(&self) -> Result<Option<tokio_postgres::Row>, Error> {
        let lease_ms = self.inner.lease.as_millis() as f64;
        let mut rows = self
            .inner
            .db
            .query(
                "claiming a pending callback",
                "UPDATE corp_auth_inbox SET lease_owner = $2, lease_until = now() + $3 * interval '1 millisecond', \
                 attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM corp_auth_inbox WHERE suite_id = $1 AND state = 'pending' \
                   AND (lease_until IS NULL OR lease_until < now()) \
                   AND (unreadable_key IS NULL OR key_id = ANY($4)) \
                   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, fingerprint, key_id, sealed, attempts, unreadable_key, received_at",
                &[&self.suite_id(), &self.inner.owner, &lease_ms, &self.inner.keys.ids()],
            )
            .await?;
        Ok(rows.pop())
    }

    /// Gives event `id` back (if this instance still holds it), to be
    /// claimed again after `pause`; `unreadable` records the key it could
    /// not be opened with.
    async fn put_back(&self, id: i64, pause: Duration, unreadable: Option<&str>) -> Result<(), Error> {
        let pause_ms = pause.as_millis() as f64;
        self.inner
            .db
            .query(
                "rescheduling a callback",
                "UPDATE corp_auth_inbox SET lease_owner = NULL, lease_until = now() + $3 * interval '1 millisecond', \
                 unreadable_key = COALESCE($4, unreadable_key) WHERE id = $1 AND lease_owner = $2",
                &[&id, &self.inner.owner, &pause_ms, &unreadable],
            )
            .await?;
        Ok(())
    }

    /// Renews this instance's lease on event `held` (a redirect holds
    /// none), or fails when it has lost it: done before each effect, so a
    /// worker whose lease ran out does nothing more, and one that works on
    /// has a whole lease for the next step.
    async fn ensure_owned(&self, held: Option<i64>) -> Result<(), Error> {
        let Some(id) = held else { return Ok(()) };
        let lease_ms = self.inner.lease.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "renewing the lease",
                "UPDATE corp_auth_inbox SET lease_until = now() + $3 * interval '1 millisecond' \
                 WHERE id = $1 AND lease_owner = $2 AND lease_until > now() RETURNING 1",
                &[&id, &self.inner.owner, &lease_ms],
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::Registry {
                reason: "this instance's lease on the callback ended: another instance handles it".into(),
            });
        }
        Ok(())
    }

    /// Marks event `id` done, if this instance still holds its lease.
    async fn finish(&self, id: i64, outcome: &Outcome) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "completing a callback",
                "UPDATE corp_auth_inbox SET state = 'done', outcome = $3, lease_owner = NULL \
                 WHERE id = $1 AND lease_owner = $2",
                &[&id, &self.inner.owner, &kind(outcome)],
            )
            .await?;
        Ok(())
    }

    async fn handle(&self, event: &Event, held: Option<i64>) -> Result<Outcome, Error> {
        let suite = &self.inner.suite;
        match event {
            Event::SuiteTicket { .. } => {
                suite.handle_event(event).await?;
                Ok(Outcome::TicketStored)
            }
            Event::CreateAuth {
                auth_code, timestamp, ..
            }
            | Event::ResetPermanentCode {
                auth_code, timestamp, ..
            } => {
                let reset = matches!(event, Event::ResetPermanentCode { .. });
                self.exchange(auth_code.expose_secret(), "callback", reset, Some(*timestamp), held)
                    .await
            }
            Event::ChangeAuth {
                auth_corp_id,
                timestamp,
                ..
            } => {
                self.ensure_owned(held).await?;
                // Applied only if newer than what the corp's row reflects.
                let rows = self
                    .inner
                    .db
                    .query(
                        "ordering a change",
                        "SELECT as_of <= $3 FROM corp_auth_corps WHERE suite_id = $1 AND corpid = $2",
                        &[&self.suite_id(), auth_corp_id, timestamp],
                    )
                    .await?;
                if rows.first().is_some_and(|r| !r.get::<_, bool>(0)) {
                    return Ok(self.superseded(auth_corp_id, event));
                }
                if let Some(code) = self.permanent_code(auth_corp_id).await? {
                    let info = suite.get_auth_info_v2(auth_corp_id, code.expose_secret()).await?;
                    let name = info.auth_corp_info.and_then(|c| c.corp_name);
                    self.inner
                        .db
                        .query(
                            "updating the corp",
                            // The change does not move `as_of`: it orders
                            // nothing (a re-read reads the current state),
                            // and a reset older than it still carries the
                            // newer code.
                            "UPDATE corp_auth_corps SET corp_name = COALESCE($3, corp_name), updated_at = now() \
                             WHERE suite_id = $1 AND corpid = $2",
                            &[&self.suite_id(), auth_corp_id, &name],
                        )
                        .await?;
                }
                let outcome = Outcome::Changed {
                    corpid: auth_corp_id.clone(),
                };
                self.record(&outcome).await?;
                Ok(outcome)
            }
            Event::CancelAuth {
                auth_corp_id,
                timestamp,
                ..
            } => {
                self.ensure_owned(held).await?;
                // The permanent code goes, and the outcome is recorded, in
                // one statement — only if the cancel is newer than what the
                // corp's row reflects (a reinstall after it wins).
                let rows = self
                    .inner
                    .db
                    .query(
                        "cancelling the corp",
                        "WITH c AS (INSERT INTO corp_auth_corps (suite_id, corpid, status, as_of) VALUES ($1, $2, 'cancelled', $3) \
                           ON CONFLICT (suite_id, corpid) DO UPDATE SET status = 'cancelled', key_id = NULL, \
                           sealed_code = NULL, as_of = EXCLUDED.as_of, updated_at = now() \
                           WHERE corp_auth_corps.as_of <= EXCLUDED.as_of RETURNING 1), \
                         o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, corpid) SELECT $1, 'cancelled', $2 FROM c) \
                         SELECT EXISTS (SELECT 1 FROM c)",
                        &[&self.suite_id(), auth_corp_id, timestamp],
                    )
                    .await?;
                if !rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
                    return Ok(self.superseded(auth_corp_id, event));
                }
                suite.forget_corp(auth_corp_id).await?;
                Ok(Outcome::Cancelled {
                    corpid: auth_corp_id.clone(),
                })
            }
            other => Ok(Outcome::Ignored {
                info_type: other.info_type().to_string(),
            }),
        }
    }

    /// The outcome of an event older than the corp's row (logged).
    fn superseded(&self, corpid: &str, event: &Event) -> Outcome {
        tracing::info!(target: "corp_auth", corpid, event = event.info_type(),
            "an event older than what the corp's row reflects: superseded, not applied");
        Outcome::Superseded {
            corpid: corpid.to_string(),
            info_type: event.info_type().to_string(),
        }
    }

    /// Creates a single-use install `state` (the CSRF defence of the
    /// redirect) in the database, so WeCom's redirect may land on any
    /// instance; it expires with the pre-auth code (20 minutes).
    pub async fn new_state(&self) -> Result<String, Error> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| Error::Registry {
            reason: format!("the system random source failed: {e}"),
        })?;
        let state: String = random
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        let validity = STATE_VALIDITY.as_secs_f64();
        self.inner
            .db
            .query(
                "issuing an install state",
                "WITH gone AS (DELETE FROM corp_auth_states WHERE expires_at < now()) \
                 INSERT INTO corp_auth_states (state, suite_id, expires_at) \
                 VALUES ($1, $2, now() + $3 * interval '1 second')",
                &[&state, &self.suite_id(), &validity],
            )
            .await?;
        Ok(state)
    }

    /// The install redirect (`redirect_uri?auth_code=…&state=…`): checks that
    /// `state` was issued by [`new_state`](Installs::new_state) (on any
    /// instance), unused and unexpired, consumes it, then exchanges
    /// `auth_code` exactly once across every instance.
    pub async fn redeem(&self, state: &str, auth_code: &str) -> Result<Outcome, Error> {
        let used = self
            .inner
            .db
            .query(
                "checking the install state",
                "DELETE FROM corp_auth_states WHERE state = $1 AND suite_id = $2 AND expires_at > now() RETURNING 1",
                &[&state, &self.suite_id()],
            )
            .await?;
        if used.is_empty() {
            return Err(Error::InvalidInput {
                parameter: "state",
                rule: "was not issued by new_state, or is used or expired: refuse the redirect (a forged or replayed \
                       install link)"
                    .into(),
            });
        }
        self.exchange(auth_code, "redirect", false, None, None).await
    }

    /// Exchanges `auth_code` for the permanent code at most once across all
    /// instances: the claim (with its owner) is committed before the request
    /// leaves. `as_of` is the event's `TimeStamp` (`None`: a redirect, as of
    /// its completion); `held` the callback whose lease this runs under.
    async fn exchange(
        &self,
        auth_code: &str,
        source: &str,
        reset: bool,
        as_of: Option<i64>,
        held: Option<i64>,
    ) -> Result<Outcome, Error> {
        let db = &self.inner.db;
        let hash = sha256_hex(auth_code.as_bytes());
        let life_ms = self.inner.claim_life.as_millis() as f64;
        // The suite token first: a failed fetch (no ticket yet, the token
        // endpoint down, another instance's refresh lock) costs no claim and
        // is never mistaken for a spent code.
        self.inner.suite.suite_access_token().await?;
        loop {
            self.ensure_owned(held).await?;
            let claimed = db
                .query(
                    "claiming the auth_code",
                    "INSERT INTO corp_auth_exchanges (code_hash, suite_id, source, state, owner, answer_by) \
                     VALUES ($1, $2, $3, 'sending', $4, now() + $5 * interval '1 millisecond') \
                     ON CONFLICT (code_hash) DO NOTHING RETURNING code_hash",
                    &[&hash, &self.suite_id(), &source, &self.inner.owner, &life_ms],
                )
                .await?;
            if !claimed.is_empty() {
                break;
            }
            match self.existing_claim(&hash).await? {
                Some(outcome) => return Ok(outcome),
                // Released after WeCom did not act: ours to send now.
                None => continue,
            }
        }
        match self.inner.suite.get_permanent_code_v2(auth_code).await {
            Ok(answer) => {
                let corp = answer.auth_corp_info.as_ref();
                let corpid = corp.and_then(|c| c.corpid.clone()).filter(|c| !c.is_empty());
                let Some(corpid) = corpid else {
                    return self
                        .mark_in_doubt(
                            &hash,
                            source,
                            "WeCom's answer had no auth_corp_info.corpid: the permanent code cannot be filed",
                        )
                        .await;
                };
                let corp_name = corp.and_then(|c| c.corp_name.clone());
                let outcome = if reset {
                    Outcome::Reset { corpid: corpid.clone() }
                } else {
                    Outcome::Installed {
                        corpid: corpid.clone(),
                        corp_name: corp_name.clone(),
                        state: answer.state.clone(),
                    }
                };
                let applied = self
                    .complete(
                        &hash,
                        &corpid,
                        corp_name.as_deref(),
                        &answer.permanent_code,
                        &outcome,
                        as_of,
                    )
                    .await?;
                if applied {
                    // A token (and tickets) fetched with the replaced code
                    // must not outlive it.
                    self.inner.suite.forget_corp(&corpid).await?;
                } else {
                    let info_type = if reset { "reset_permanent_code" } else { "create_auth" };
                    tracing::info!(target: "corp_auth", corpid, info_type,
                        "an install older than what the corp's row reflects: superseded, not applied");
                    return Ok(Outcome::Superseded {
                        corpid,
                        info_type: info_type.to_string(),
                    });
                }
                Ok(outcome)
            }
            // Only the one-shot request itself can have spent the code.
            Err(e)
                if e.operation() == Some(crate::Operation::GetPermanentCodeV2)
                    && e.request_may_have_been_processed() =>
            {
                self.mark_in_doubt(&hash, source, &e.to_string()).await
            }
            Err(e) => {
                // WeCom answered and did not act, or the request never left
                // (a token refresh failed): the code was not consumed, so the
                // claim goes and whichever source holds the code sends it.
                db.query(
                    "releasing the claim",
                    "DELETE FROM corp_auth_exchanges WHERE code_hash = $1 AND state = 'sending' AND owner = $2",
                    &[&hash, &self.inner.owner],
                )
                .await?;
                Err(e)
            }
        }
    }

    /// Commits the permanent code, the exchange's completion and the outcome
    /// in one statement — the code only if the install is newer than what
    /// the corp's row reflects (returns whether it was). Retried, with a
    /// capped backoff, for as long as the process lives: the answer is in
    /// hand and cannot be asked for again, and a database failover takes a
    /// minute or two.
    async fn complete(
        &self,
        hash: &str,
        corpid: &str,
        corp_name: Option<&str>,
        permanent_code: &Secret,
        outcome: &Outcome,
        as_of: Option<i64>,
    ) -> Result<bool, Error> {
        let (key_id, sealed) = self.inner.keys.seal(
            &corp_place(self.suite_id(), corpid),
            permanent_code.expose_secret().as_bytes(),
        )?;
        let mut delay = Duration::from_millis(100);
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            let result = self
                .inner
                .db
                .query(
                    "recording the permanent code",
                    "WITH c AS (INSERT INTO corp_auth_corps (suite_id, corpid, status, corp_name, key_id, sealed_code, as_of) \
                       VALUES ($1, $2, 'installed', $3, $4, $5, COALESCE($9::bigint, extract(epoch from now())::bigint)) \
                       ON CONFLICT (suite_id, corpid) DO UPDATE SET status = 'installed', \
                       corp_name = COALESCE(EXCLUDED.corp_name, corp_auth_corps.corp_name), key_id = EXCLUDED.key_id, \
                       sealed_code = EXCLUDED.sealed_code, as_of = EXCLUDED.as_of, updated_at = now() \
                       WHERE corp_auth_corps.as_of <= EXCLUDED.as_of RETURNING 1), \
                     x AS (UPDATE corp_auth_exchanges SET state = 'done', corpid = $2, updated_at = now() \
                       WHERE code_hash = $6 RETURNING 1), \
                     o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, corpid, detail) \
                       SELECT $1, $7, $2, $8 WHERE EXISTS (SELECT 1 FROM c)) \
                     SELECT EXISTS (SELECT 1 FROM c)",
                    &[
                        &self.suite_id(),
                        &corpid,
                        &corp_name,
                        &key_id,
                        &sealed,
                        &hash,
                        &kind(outcome),
                        &detail(outcome),
                        &as_of,
                    ],
                )
                .await;
            match result {
                Ok(rows) => return Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0))),
                Err(e) => {
                    tracing::warn!(target: "corp_auth", error = %e, attempt,
                        "recording a permanent code failed; retrying until the database answers (the code cannot be asked for again)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn mark_in_doubt(&self, hash: &str, source: &str, reason: &str) -> Result<Outcome, Error> {
        let id = claim_id(hash);
        let detail = doubt_detail(&id, source, reason);
        let rows = self
            .inner
            .db
            .query(
                "recording an exchange in doubt",
                "WITH x AS (UPDATE corp_auth_exchanges SET state = 'in_doubt', reason = $2, updated_at = now() \
                   WHERE code_hash = $1 RETURNING claimed_at) \
                 INSERT INTO corp_auth_outcomes (suite_id, kind, detail) SELECT $3, 'in_doubt', $4 FROM x \
                 RETURNING (SELECT claimed_at FROM x)",
                &[&hash, &reason, &self.suite_id(), &detail],
            )
            .await?;
        let claimed_at = rows.first().map_or_else(SystemTime::now, |r| r.get(0));
        tracing::warn!(target: "corp_auth", source, reason, "an auth_code exchange is in doubt: it will not be sent again");
        Ok(Outcome::InDoubt(InDoubt {
            id,
            source: source.to_string(),
            claimed_at,
            reason: reason.to_string(),
        }))
    }

    /// The outcome of an `auth_code` someone else claimed: done (a
    /// duplicate) or in doubt, never sent again. A claim its holder is still
    /// working on is waited for (it is not in doubt); `None` when it was
    /// released meanwhile (WeCom did not act): the caller may claim it.
    async fn existing_claim(&self, hash: &str) -> Result<Option<Outcome>, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let give_up = tokio::time::Instant::now() + self.inner.claim_life;
        loop {
            let rows = self
                .inner
                .db
                .query(
                    "reading a claim",
                    "SELECT state, corpid, source, reason, claimed_at, \
                     COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now() \
                     FROM corp_auth_exchanges WHERE code_hash = $1",
                    &[&hash, &life_ms],
                )
                .await?;
            let Some(row) = rows.first() else { return Ok(None) };
            let (state, corpid, source, reason, claimed_at, stale): (
                String,
                Option<String>,
                String,
                Option<String>,
                SystemTime,
                bool,
            ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
            match (state.as_str(), corpid) {
                ("done", Some(corpid)) => {
                    return Ok(Some(Outcome::Installed {
                        corpid,
                        corp_name: None,
                        state: None,
                    }));
                }
                ("sending", _) if !stale => {
                    // Its holder is alive and the request may be in flight.
                    if tokio::time::Instant::now() >= give_up {
                        return Err(Error::Registry {
                            reason: "another instance is exchanging this auth_code and has not finished".into(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => {
                    return Ok(Some(Outcome::InDoubt(InDoubt {
                        id: claim_id(hash),
                        source,
                        claimed_at,
                        reason: reason.unwrap_or_else(|| {
                            "the instance that sent this auth_code stopped before recording the answer".into()
                        }),
                    })));
                }
            }
        }
    }

    /// Exchanges claimed longer than a request can take and still
    /// unanswered: the instance that sent them stopped. Reported in doubt,
    /// once.
    async fn report_stale_exchanges(&self) -> Result<Vec<Outcome>, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "reporting stale exchanges",
                "WITH x AS (UPDATE corp_auth_exchanges SET state = 'in_doubt', \
                   reason = 'the instance that sent it stopped before recording the answer', updated_at = now() \
                   WHERE suite_id = $1 AND state = 'sending' \
                   AND COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now() \
                   RETURNING source, reason, claimed_at, code_hash), \
                 o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, detail) \
                   SELECT $1, 'in_doubt', json_build_object('id', left(code_hash, 16), 'source', source, 'reason', reason)::text FROM x) \
                 SELECT source, reason, claimed_at, code_hash FROM x",
                &[&self.suite_id(), &life_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Outcome::InDoubt(InDoubt {
                    id: claim_id(r.get(3)),
                    source: r.get(0),
                    reason: r.get(1),
                    claimed_at: r.get(2),
                })
            })
            .collect())
    }

    /// Records `outcome` for the application (acknowledged later).
    async fn record(&self, outcome: &Outcome) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "recording an outcome",
                "INSERT INTO corp_auth_outcomes (suite_id, kind, corpid, detail) VALUES ($1, $2, $3, $4)",
                &[&self.suite_id(), &kind(outcome), &corpid_of(outcome), &detail(outcome)],
            )
            .await?;
        Ok(())
    }

    /// The outcomes the application has not acknowledged yet, oldest first,
    /// with their ids: act on each (create or close the tenant), then
    /// [`acknowledge`](Installs::acknowledge) it. A crash in between shows it
    /// again: at least once.
    pub async fn unacknowledged(&self) -> Result<Vec<(i64, Outcome)>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "reading outcomes",
                "SELECT id, kind, corpid, detail, created_at FROM corp_auth_outcomes \
                 WHERE suite_id = $1 AND NOT acknowledged ORDER BY id",
                &[&self.suite_id()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (id, kind, corpid, detail, at): (i64, String, Option<String>, Option<String>, SystemTime) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                (id, outcome_of(&kind, corpid, detail, at))
            })
            .collect())
    }

    /// Acknowledges outcome `id`: the application has acted on it.
    pub async fn acknowledge(&self, id: i64) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "acknowledging an outcome",
                "UPDATE corp_auth_outcomes SET acknowledged = true WHERE id = $1 AND suite_id = $2",
                &[&id, &self.suite_id()],
            )
            .await?;
        Ok(())
    }

    /// The permanent code of `corpid`, opened; `None` when it is not
    /// installed.
    async fn permanent_code(&self, corpid: &str) -> Result<Option<Secret>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "reading the corp",
                "SELECT key_id, sealed_code FROM corp_auth_corps WHERE suite_id = $1 AND corpid = $2 AND status = 'installed'",
                &[&self.suite_id(), &corpid],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (key_id, sealed): (Option<String>, Option<Vec<u8>>) = (row.get(0), row.get(1));
        let (Some(key_id), Some(sealed)) = (key_id, sealed) else {
            return Ok(None);
        };
        let code = self
            .inner
            .keys
            .open(&key_id, &corp_place(self.suite_id(), corpid), &sealed)?;
        let code = String::from_utf8(code).map_err(|_| Error::Registry {
            reason: "a stored permanent code is not UTF-8".into(),
        })?;
        Ok(Some(Secret::new(code)))
    }

    /// The corp handle of an installed corp, its permanent code from the
    /// registry: [`Corp::access_token`](super::Corp::access_token) and the
    /// corp operations.
    pub async fn corp(&self, corpid: &str) -> Result<super::Corp, Error> {
        match self.permanent_code(corpid).await? {
            Some(code) => Ok(self.inner.suite.corp(corpid, code.expose_secret())),
            None => Err(Error::InvalidInput {
                parameter: "corpid",
                rule: "no install of this corp is recorded (never installed, or cancelled)".into(),
            }),
        }
    }

    /// Every corp of the registry, installed or cancelled.
    pub async fn corps(&self) -> Result<Vec<CorpRecord>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "listing corps",
                "SELECT corpid, status, corp_name FROM corp_auth_corps WHERE suite_id = $1 ORDER BY corpid",
                &[&self.suite_id()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| CorpRecord {
                corpid: r.get(0),
                status: if r.get::<_, String>(1) == "installed" {
                    CorpStatus::Installed
                } else {
                    CorpStatus::Cancelled
                },
                corp_name: r.get(2),
            })
            .collect())
    }

    /// The exchanges whose answer was lost (and those left unanswered past
    /// the lease by a stopped instance): never sent again. See [`InDoubt`]
    /// for what an operator does.
    pub async fn in_doubt(&self) -> Result<Vec<InDoubt>, Error> {
        let lease_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "listing exchanges in doubt",
                "SELECT source, COALESCE(reason, 'the instance that sent it stopped before recording the answer'), \
                 claimed_at, code_hash FROM corp_auth_exchanges WHERE suite_id = $1 AND (state = 'in_doubt' \
                 OR (state = 'sending' AND COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now())) \
                 ORDER BY claimed_at",
                &[&self.suite_id(), &lease_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| InDoubt {
                id: claim_id(r.get(3)),
                source: r.get(0),
                reason: r.get(1),
                claimed_at: r.get(2),
            })
            .collect())
    }

    /// Marks the in-doubt exchange `id` resolved, after the operator checked
    /// the corp in WeCom's console and acted (a reinstall or a reset brings
    /// a new code): it leaves [`in_doubt`](Installs::in_doubt), and its
    /// code is still never sent again. True when an exchange in doubt had
    /// that id.
    pub async fn resolve_in_doubt(&self, id: &str) -> Result<bool, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "resolving an exchange in doubt",
                "UPDATE corp_auth_exchanges SET state = 'resolved', updated_at = now() \
                 WHERE suite_id = $1 AND left(code_hash, 16) = $2 AND (state = 'in_doubt' OR (state = 'sending' \
                 AND COALESCE(answer_by, updated_at + $3 * interval '1 millisecond') < now())) RETURNING 1",
                &[&self.suite_id(), &id, &life_ms],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Deletes what the [retention](InstallsBuilder::retention) no longer
    /// keeps: processed callbacks (suite tickets included), acknowledged
    /// outcomes, finished and resolved exchanges older than it, and expired
    /// install states. Pending events, unacknowledged outcomes and
    /// exchanges in doubt are kept whatever their age. Returns how many
    /// rows went. `process_pending` runs it once an hour.
    pub async fn purge(&self) -> Result<u64, Error> {
        let keep_s = self.inner.retention.as_secs_f64();
        let rows = self
            .inner
            .db
            .query(
                "purging",
                "WITH i AS (DELETE FROM corp_auth_inbox WHERE suite_id = $1 AND state = 'done' \
                   AND received_at < now() - $2 * interval '1 second' RETURNING 1), \
                 o AS (DELETE FROM corp_auth_outcomes WHERE suite_id = $1 AND acknowledged \
                   AND created_at < now() - $2 * interval '1 second' RETURNING 1), \
                 x AS (DELETE FROM corp_auth_exchanges WHERE suite_id = $1 AND state IN ('done', 'resolved') \
                   AND updated_at < now() - $2 * interval '1 second' RETURNING 1), \
                 s AS (DELETE FROM corp_auth_states WHERE expires_at < now() RETURNING 1) \
                 SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM o) + (SELECT count(*) FROM x) \
                   + (SELECT count(*) FROM s)",
                &[&self.suite_id(), &keep_s],
            )
            .await?;
        let purged = rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64;
        if purged > 0 {
            tracing::info!(target: "corp_auth", purged, "rows past the retention period deleted");
        }
        Ok(purged)
    }

    /// Re-seals every stored value under the current key (the first
    /// [`encryption_key`](InstallsBuilder::encryption_key)): run it after
    /// adding a new key, then remove the old key from the configuration.
    /// Returns how many values were re-sealed.
    pub async fn reseal(&self) -> Result<usize, Error> {
        let current = self.inner.keys.current().to_string();
        let db = &self.inner.db;
        let mut count = 0;
        let corps = db
            .query(
                "reading corps to re-seal",
                "SELECT corpid, key_id, sealed_code FROM corp_auth_corps \
                 WHERE suite_id = $1 AND sealed_code IS NOT NULL AND key_id <> $2",
                &[&self.suite_id(), &current],
            )
            .await?;
        for row in corps {
            let (corpid, key_id, sealed): (String, String, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
            let place = corp_place(self.suite_id(), &corpid);
            let plain = self.inner.keys.open(&key_id, &place, &sealed)?;
            let (new_id, resealed) = self.inner.keys.seal(&place, &plain)?;
            db.query(
                "re-sealing a corp",
                // Only the value read: a code written meanwhile is never
                // overwritten with the older one.
                "UPDATE corp_auth_corps SET key_id = $3, sealed_code = $4 \
                 WHERE suite_id = $1 AND corpid = $2 AND key_id = $5 AND sealed_code = $6",
                &[&self.suite_id(), &corpid, &new_id, &resealed, &key_id, &sealed],
            )
            .await?;
            count += 1;
        }
        let events = db
            .query(
                "reading callbacks to re-seal",
                "SELECT id, fingerprint, key_id, sealed FROM corp_auth_inbox WHERE suite_id = $1 AND key_id <> $2",
                &[&self.suite_id(), &current],
            )
            .await?;
        for row in events {
            let (id, fingerprint, key_id, sealed): (i64, String, String, Vec<u8>) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let place = inbox_place(self.suite_id(), &fingerprint);
            let plain = self.inner.keys.open(&key_id, &place, &sealed)?;
            let (new_id, resealed) = self.inner.keys.seal(&place, &plain)?;
            db.query(
                "re-sealing a callback",
                "UPDATE corp_auth_inbox SET key_id = $2, sealed = $3 WHERE id = $1 AND key_id = $4",
                &[&id, &new_id, &resealed, &key_id],
            )
            .await?;
            count += 1;
        }
        Ok(count)
    }
}

/// Whether a failed event is tried again later: the failure consumed
/// nothing (the database, a transient answer, a rejected or missing token,
/// no suite ticket yet, another instance's refresh lock or claim). A
/// platform's final answer (an invalid `auth_code`) or a decode error is
/// not.
fn retry_later(e: &Error) -> bool {
    e.is_retryable()
        || super::managed::credential_rejected(e)
        || matches!(
            e,
            Error::SuiteTicketMissing { .. }
                | Error::Registry { .. }
                | Error::Config {
                    setting: "lock_ttl",
                    ..
                }
        )
}

/// Whether an install event's `auth_code` has outlived its ten minutes
/// (counted from when the callback arrived, so clocks do not matter).
fn code_expired(event: Option<&Event>, received_at: SystemTime) -> bool {
    matches!(event, Some(Event::CreateAuth { .. } | Event::ResetPermanentCode { .. }))
        && received_at.elapsed().is_ok_and(|age| age > AUTH_CODE_LIFE)
}

/// The id of the exchange of the code whose SHA-256 is `hash`.
fn claim_id(hash: &str) -> String {
    hash.chars().take(16).collect()
}

/// An in-doubt outcome's stored detail.
fn doubt_detail(id: &str, source: &str, reason: &str) -> String {
    serde_json::json!({ "id": id, "source": source, "reason": reason }).to_string()
}

/// The event's `TimeStamp` (unix seconds), when it has one.
fn event_time(event: &Event) -> Option<i64> {
    match event {
        Event::SuiteTicket { timestamp, .. }
        | Event::CreateAuth { timestamp, .. }
        | Event::ChangeAuth { timestamp, .. }
        | Event::CancelAuth { timestamp, .. }
        | Event::ResetPermanentCode { timestamp, .. } => Some(*timestamp),
        Event::Other { timestamp, .. } => *timestamp,
        _ => None,
    }
}

/// The corp an event names, if any.
fn event_corp(event: &Event) -> Option<String> {
    match event {
        Event::ChangeAuth { auth_corp_id, .. } | Event::CancelAuth { auth_corp_id, .. } => Some(auth_corp_id.clone()),
        _ => None,
    }
}

/// (suite id, InfoType, AuthCorpId) of an event, for the inbox's columns.
fn describe(event: &Event, default_suite: &str) -> (String, String, Option<String>) {
    match event {
        Event::SuiteTicket { suite_id, .. } => (suite_id.clone(), "suite_ticket".into(), None),
        Event::CreateAuth { suite_id, .. } => (suite_id.clone(), "create_auth".into(), None),
        Event::ChangeAuth {
            suite_id, auth_corp_id, ..
        } => (suite_id.clone(), "change_auth".into(), Some(auth_corp_id.clone())),
        Event::CancelAuth {
            suite_id, auth_corp_id, ..
        } => (suite_id.clone(), "cancel_auth".into(), Some(auth_corp_id.clone())),
        Event::ResetPermanentCode { suite_id, .. } => (suite_id.clone(), "reset_permanent_code".into(), None),
        other => (default_suite.to_string(), other.info_type().to_string(), None),
    }
}

fn kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Installed { .. } => "installed",
        Outcome::Changed { .. } => "changed",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::Reset { .. } => "reset",
        Outcome::InDoubt(_) => "in_doubt",
        Outcome::Failed { .. } => "failed",
        Outcome::TicketStored => "ticket_stored",
        Outcome::Ignored { .. } => "ignored",
        Outcome::Superseded { .. } => "superseded",
        Outcome::Unreadable { .. } => "unreadable",
    }
}

fn corpid_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Installed { corpid, .. }
        | Outcome::Changed { corpid }
        | Outcome::Cancelled { corpid }
        | Outcome::Reset { corpid }
        | Outcome::Superseded { corpid, .. } => Some(corpid.clone()),
        Outcome::Failed { corpid, .. } => corpid.clone(),
        _ => None,
    }
}

fn detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        // JSON: a corp name or state may hold any character.
        Outcome::Installed { corp_name, state, .. } => {
            Some(serde_json::json!({ "corp_name": corp_name, "state": state }).to_string())
        }
        Outcome::InDoubt(d) => Some(doubt_detail(&d.id, &d.source, &d.reason)),
        Outcome::Failed { reason, .. } => Some(reason.clone()),
        _ => None,
    }
}

fn outcome_of(kind: &str, corpid: Option<String>, detail: Option<String>, at: SystemTime) -> Outcome {
    let corp = || corpid.clone().unwrap_or_default();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match kind {
        "installed" => {
            let json: Option<serde_json::Value> = detail.as_deref().and_then(|d| serde_json::from_str(d).ok());
            let (name, state) = match &json {
                Some(v) => (
                    v["corp_name"].as_str().unwrap_or_default().to_string(),
                    v["state"].as_str().unwrap_or_default().to_string(),
                ),
                // Rows written before the JSON form: `name|state`.
                None => {
                    let (name, state) = detail.as_deref().and_then(|d| d.rsplit_once('|')).unwrap_or(("", ""));
                    (name.to_string(), state.to_string())
                }
            };
            Outcome::Installed {
                corpid: corp(),
                corp_name: nonempty(&name),
                state: nonempty(&state),
            }
        }
        "changed" => Outcome::Changed { corpid: corp() },
        "cancelled" => Outcome::Cancelled { corpid: corp() },
        "reset" => Outcome::Reset { corpid: corp() },
        "in_doubt" => {
            let json: Option<serde_json::Value> = detail.as_deref().and_then(|d| serde_json::from_str(d).ok());
            let field = |k: &str| json.as_ref().and_then(|v| v[k].as_str()).map(str::to_string);
            Outcome::InDoubt(InDoubt {
                id: field("id").unwrap_or_default(),
                source: field("source").unwrap_or_else(|| "callback or redirect".into()),
                claimed_at: at,
                // Rows written before the JSON form hold the reason alone.
                reason: field("reason").or(detail).unwrap_or_default(),
            })
        }
        _ => Outcome::Failed {
            corpid,
            reason: detail.unwrap_or_default(),
        },
    }
}
