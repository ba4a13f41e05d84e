//! [`Suite`]: a WeCom suite whose tokens and tickets manage themselves.
//!
//! Design (see the README, "Running several instances"):
//!
//! - **Warm calls touch no store.** Each `Suite` keeps the tokens it used in
//!   a local cache and serves them until `refresh_margin` before expiry. A
//!   token another instance fetched later does not make ours invalid (WeCom
//!   documents no invalidation on refetch); if WeCom ever rejects ours, the
//!   token-error path below drops it and takes the store's.
//! - **One fetch per refresh, everywhere.** A miss takes an in-process
//!   single-flight lock per key, re-checks the local cache, then the store;
//!   only then the store's lock (`SET NX PX`, owner id, expiry). The holder
//!   re-checks the store, fetches, writes with compare-by-version, releases
//!   its own lock only; the others poll the store for the holder's token,
//!   and take over the lock if the holder dies (the lock expires).
//! - **Newer always wins.** Tickets are versioned by their `TimeStamp`,
//!   tokens by their fetch time; the store never replaces a value with an
//!   older one.
//! - **Token errors.** 40082/42009 on a suite-token call drop that token
//!   (from the store only if it still holds it), refresh once and replay the
//!   call once; a one-shot call is never replayed.
//! - **Store outages.** A store failure switches to an in-process store (one
//!   warning per outage) and retries the shared store once a second; values
//!   written during the outage are reconciled (newer wins) when it returns.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{AccessToken, Client, types};
use crate::error::SUITE_TOKEN_REJECTED;
use crate::store::{Memory, Store, Versioned};
use crate::{Error, Secret};

/// Default [`SuiteBuilder::refresh_margin`]: 5 minutes.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Default [`SuiteBuilder::lock_ttl`]: 10 seconds.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(10);
/// How long a `suite_ticket` is valid after its `TimeStamp` (WeCom: 30 min).
pub const SUITE_TICKET_VALIDITY: Duration = Duration::from_secs(30 * 60);
/// Corp-API codes after which a fresh corp `access_token` may help.
pub const CORP_TOKEN_REJECTED: &[i64] = &[40001, 40014, 42001];

/// How long to wait before trying a failed shared store again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// A WeCom suite (third-party app) with managed credentials: the newest
/// `suite_ticket`, the `suite_access_token` and each corp's `access_token`
/// are cached, refreshed before they expire, fetched once per refresh across
/// every task and every instance sharing the store, and refreshed and
/// replayed once when WeCom rejects them.
///
/// Cheap to clone: clones share the caches.
///
/// ```no_run
/// # async fn run(ticket: &str, timestamp: i64) -> Result<(), corp_auth::Error> {
/// use corp_auth::{store, wecom};
/// let suite = wecom::Suite::builder("ww-suite-id", "suite-secret")
///     .store(store::Memory::new())
///     .build()?;
/// suite.set_suite_ticket(ticket, timestamp).await?; // from the suite_ticket callback
/// let info = suite.get_auth_info("wwcorpid", "permanent-code").await?;
/// let token = suite.corp_access_token("wwcorpid", "permanent-code").await?;
/// # let _ = (info, token); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Suite {
    inner: Arc<Inner>,
}

struct Inner {
    suite_id: String,
    suite_secret: Secret,
    client: Client,
    store: Stores,
    refresh_margin: Duration,
    lock_ttl: Duration,
    /// `wecom:<suite_id>:suite_access_token`, built once.
    suite_token_key: String,
    /// Tokens this suite used: key → the store's entry and its expiry.
    local: Mutex<HashMap<String, Arc<Token>>>,
    /// One in-process refresh per key.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("suite_id", &self.inner.suite_id)
            .field("suite_secret", &self.inner.suite_secret)
            .field("store", &self.inner.store.primary)
            .field("refresh_margin", &self.inner.refresh_margin)
            .field("lock_ttl", &self.inner.lock_ttl)
            .finish()
    }
}

/// Builds a [`Suite`]; from [`Suite::builder`].
#[must_use]
pub struct SuiteBuilder {
    suite_id: String,
    suite_secret: Secret,
    client: Option<Client>,
    store: Option<Arc<dyn Store>>,
    refresh_margin: Duration,
    lock_ttl: Duration,
}

impl fmt::Debug for SuiteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteBuilder")
            .field("suite_id", &self.suite_id)
            .field("suite_secret", &self.suite_secret)
            .field("store", &self.store)
            .field("refresh_margin", &self.refresh_margin)
            .field("lock_ttl", &self.lock_ttl)
            .finish()
    }
}

impl SuiteBuilder {
    /// The client the suite calls WeCom with (base URL, timeouts, retries);
    /// default [`Client::new`].
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Where tokens and tickets live; default [`Memory`] (one process). Use
    /// [`Redis`](crate::store::Redis) to share them across instances.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Refresh a token this long before it expires (default 5 minutes: it
    /// absorbs clock differences between instances and the time a call takes
    /// after the token was read, and leaves a refresh that fails room to be
    /// retried before the old token dies). For a token that lives less than
    /// twice the margin, half its lifetime is used instead.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// How long a refresh lock is held at most (default 10 s): the longest
    /// other instances wait if the holder dies mid-refresh.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// Checks the settings and builds the suite.
    pub fn build(self) -> Result<Suite, Error> {
        let config = |setting: &'static str, reason: &str| Error::Config {
            setting,
            reason: reason.to_string(),
        };
        if self.suite_id.is_empty() || self.suite_id.contains([':', ' ']) {
            return Err(config("suite_id", "must be non-empty, without ':' or spaces"));
        }
        if self.suite_secret.is_empty() {
            return Err(config("suite_secret", "must not be empty"));
        }
        if self.lock_ttl.is_zero() {
            return Err(config("lock_ttl", "must be greater than zero"));
        }
        Ok(Suite {
            inner: Arc::new(Inner {
                suite_token_key: format!("wecom:{}:suite_access_token", self.suite_id),
                suite_id: self.suite_id,
                suite_secret: self.suite_secret,
                client: self.client.unwrap_or_default(),
                store: Stores::new(self.store.unwrap_or_else(|| Arc::new(Memory::new()))),
                refresh_margin: self.refresh_margin,
                lock_ttl: self.lock_ttl,
                local: Mutex::default(),
                flights: Mutex::default(),
            }),
        })
    }
}

/// A token as the store holds it: `<expires_at_ms>|<token>`, versioned by
/// its fetch time.
#[derive(Clone)]
struct Token {
    entry: Versioned,
    fetched_at_ms: i64,
    expires_at_ms: i64,
    token: Secret,
}

impl Token {
    fn new(fetched_at_ms: i64, token: &AccessToken) -> Self {
        let expires_at_ms = fetched_at_ms.saturating_add(token.expires_in.as_millis() as i64);
        let value = format!("{expires_at_ms}|{}", token.access_token.expose_secret());
        Self {
            entry: Versioned {
                version: fetched_at_ms,
                value: Secret::new(value),
            },
            fetched_at_ms,
            expires_at_ms,
            token: token.access_token.clone(),
        }
    }

    fn decode(entry: Versioned) -> Option<Self> {
        let (expires, token) = entry.value.expose_secret().split_once('|')?;
        Some(Self {
            expires_at_ms: expires.parse().ok()?,
            fetched_at_ms: entry.version,
            token: Secret::new(token),
            entry,
        })
    }

    /// Fresh: not yet within the refresh margin of its expiry.
    fn fresh(&self, now_ms: i64, margin: Duration) -> bool {
        let lifetime = self.expires_at_ms - self.fetched_at_ms;
        let margin = (margin.as_millis() as i64).min(lifetime / 2);
        now_ms < self.expires_at_ms - margin
    }

    fn unexpired(&self, now_ms: i64) -> bool {
        now_ms < self.expires_at_ms
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn is_suite_token_error(err: &Error) -> bool {
    matches!(err, Error::Platform { code, .. } if SUITE_TOKEN_REJECTED.contains(code))
}

impl Suite {
    /// A builder for the suite `suite_id` with its `suite_secret`.
    pub fn builder(suite_id: impl Into<String>, suite_secret: impl Into<String>) -> SuiteBuilder {
        SuiteBuilder {
            suite_id: suite_id.into(),
            suite_secret: Secret::new(suite_secret.into()),
            client: None,
            store: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            lock_ttl: DEFAULT_LOCK_TTL,
        }
    }

    /// The suite id.
    pub fn suite_id(&self) -> &str {
        &self.inner.suite_id
    }

    /// The client the suite calls WeCom with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn key(&self, what: &str) -> String {
        format!("wecom:{}:{what}", self.inner.suite_id)
    }

    /// Stores a `suite_ticket` pushed by WeCom (the `suite_ticket` callback's
    /// `SuiteTicket` and `TimeStamp`, unix seconds), for 30 minutes after its
    /// timestamp. A ticket older than the one stored is ignored: newer always
    /// wins, across instances too. Returns whether it was stored.
    pub async fn set_suite_ticket(&self, suite_ticket: &str, timestamp: i64) -> Result<bool, Error> {
        let invalid = |parameter, rule: &str| Error::InvalidInput {
            parameter,
            rule: rule.to_string(),
        };
        if suite_ticket.is_empty() || suite_ticket.len() > 1024 {
            return Err(invalid("suite_ticket", "must be 1 to 1024 bytes"));
        }
        if timestamp <= 0 {
            return Err(invalid("timestamp", "must be a positive unix time in seconds"));
        }
        let valid_until_ms = timestamp.saturating_add(SUITE_TICKET_VALIDITY.as_secs() as i64) * 1000;
        let remaining = valid_until_ms - now_ms();
        if remaining <= 0 {
            return Ok(false);
        }
        let entry = Versioned {
            version: timestamp,
            value: Secret::from(suite_ticket),
        };
        Ok(self
            .inner
            .store
            .put_if_newer(
                &self.key("suite_ticket"),
                &entry,
                Duration::from_millis(remaining as u64),
            )
            .await)
    }

    /// Applies a callback event: a [`Event::SuiteTicket`] of this suite is
    /// stored (newer wins; returns whether it was). Every other event is the
    /// application's to act on (returns false).
    ///
    /// [`Event::SuiteTicket`]: super::callback::Event::SuiteTicket
    pub async fn handle_event(&self, event: &super::callback::Event) -> Result<bool, Error> {
        match event {
            super::callback::Event::SuiteTicket {
                suite_id,
                suite_ticket,
                timestamp,
            } if suite_id == &self.inner.suite_id => {
                self.set_suite_ticket(suite_ticket.expose_secret(), *timestamp).await
            }
            super::callback::Event::SuiteTicket { suite_id, .. } => {
                tracing::warn!(target: "corp_auth", event_suite = %suite_id, suite = %self.inner.suite_id,
                    "suite_ticket for another suite ignored");
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// The newest valid `suite_ticket`, or the error that says where it
    /// comes from.
    async fn suite_ticket(&self) -> Result<Secret, Error> {
        match self.inner.store.get(&self.key("suite_ticket")).await {
            Some(entry) => Ok(entry.value),
            None => Err(Error::SuiteTicketMissing {
                suite_id: self.inner.suite_id.clone(),
            }),
        }
    }

    /// The `suite_access_token`: cached, refreshed `refresh_margin` before it
    /// expires, fetched once per refresh across tasks and instances. Fails
    /// with [`Error::SuiteTicketMissing`] before sending anything when no
    /// valid ticket is stored.
    pub async fn suite_access_token(&self) -> Result<Secret, Error> {
        Ok(self.suite_token().await?.token.clone())
    }

    async fn suite_token(&self) -> Result<Arc<Token>, Error> {
        self.managed(&self.inner.suite_token_key, || async {
            let ticket = self.suite_ticket().await?;
            let inner = &self.inner;
            inner
                .client
                .get_suite_token(
                    &inner.suite_id,
                    inner.suite_secret.expose_secret(),
                    ticket.expose_secret(),
                )
                .await
        })
        .await
    }

    /// The corp `access_token` of `auth_corpid`: cached per corp, refreshed
    /// `refresh_margin` before it expires, fetched once per refresh across
    /// tasks and instances. When a corp API rejects it (40001, 40014, 42001;
    /// see [`CORP_TOKEN_REJECTED`]), call
    /// [`invalidate_corp_token`](Suite::invalidate_corp_token) and ask again.
    pub async fn corp_access_token(&self, auth_corpid: &str, permanent_code: &str) -> Result<Secret, Error> {
        let key = self.corp_key(auth_corpid)?;
        let token = self
            .managed(&key, || {
                self.with_suite_token(false, |t| async move {
                    self.inner
                        .client
                        .get_corp_token(t.token.expose_secret(), auth_corpid, permanent_code)
                        .await
                })
            })
            .await?;
        Ok(token.token.clone())
    }

    /// Drops the corp token `stale` after a corp API rejected it, unless it
    /// was already replaced (another task's fresh token is never dropped).
    pub async fn invalidate_corp_token(&self, auth_corpid: &str, stale: &Secret) -> Result<(), Error> {
        let key = self.corp_key(auth_corpid)?;
        let held = self.inner.local.lock().expect("local cache").get(&key).cloned();
        if let Some(token) = held.filter(|t| &t.token == stale) {
            self.invalidate(&key, &token).await;
        } else if let Some(token) = self.inner.store.get(&key).await.and_then(Token::decode)
            && &token.token == stale
        {
            self.invalidate(&key, &Arc::new(token)).await;
        }
        Ok(())
    }

    fn corp_key(&self, auth_corpid: &str) -> Result<String, Error> {
        if auth_corpid.is_empty() || auth_corpid.len() > 256 || auth_corpid.contains([':', ' ']) {
            return Err(Error::InvalidInput {
                parameter: "auth_corpid",
                rule: "must be 1 to 256 bytes, without ':' or spaces".into(),
            });
        }
        Ok(self.key(&format!("corp:{auth_corpid}:access_token")))
    }

    /// [`Client::get_auth_info`] with the managed suite token.
    pub async fn get_auth_info(
        &self,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<types::GetAuthInfoResponse, Error> {
        self.with_suite_token(false, |t| async move {
            self.inner
                .client
                .get_auth_info(t.token.expose_secret(), auth_corpid, permanent_code)
                .await
        })
        .await
    }

    /// [`Client::get_auth_info_v2`] with the managed suite token.
    pub async fn get_auth_info_v2(
        &self,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<types::GetAuthInfoResponse, Error> {
        self.with_suite_token(false, |t| async move {
            self.inner
                .client
                .get_auth_info_v2(t.token.expose_secret(), auth_corpid, permanent_code)
                .await
        })
        .await
    }

    /// [`Client::get_permanent_code`] with the managed suite token.
    /// One-shot: never replayed, not even after a token error (the token is
    /// dropped so that the next call gets a fresh one; the error's
    /// `request_may_have_been_processed()` is false: the `auth_code` was not
    /// consumed).
    pub async fn get_permanent_code(&self, auth_code: &str) -> Result<types::PermanentCodeAnswer, Error> {
        self.with_suite_token(true, |t| async move {
            self.inner
                .client
                .get_permanent_code(t.token.expose_secret(), auth_code)
                .await
        })
        .await
    }

    /// [`Client::get_permanent_code_v2`] with the managed suite token.
    /// One-shot, as [`get_permanent_code`](Suite::get_permanent_code).
    pub async fn get_permanent_code_v2(&self, auth_code: &str) -> Result<types::PermanentCodeV2Answer, Error> {
        self.with_suite_token(true, |t| async move {
            self.inner
                .client
                .get_permanent_code_v2(t.token.expose_secret(), auth_code)
                .await
        })
        .await
    }

    /// Runs `call` with the suite token; on a suite-token rejection drops
    /// that token, and (unless `one_shot`) refreshes once and replays once.
    async fn with_suite_token<T, F, Fut>(&self, one_shot: bool, call: F) -> Result<T, Error>
    where
        F: Fn(Arc<Token>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let token = self.suite_token().await?;
        match call(token.clone()).await {
            Err(err) if is_suite_token_error(&err) => {
                tracing::debug!(target: "corp_auth", code = err.code(), "suite_access_token rejected: refreshing");
                self.invalidate(&self.inner.suite_token_key, &token).await;
                if one_shot {
                    return Err(err);
                }
                let fresh = self.suite_token().await?;
                call(fresh).await
            }
            other => other,
        }
    }

    /// Drops `stale` from the local cache and, if it still holds it, from
    /// the store.
    async fn invalidate(&self, key: &str, stale: &Arc<Token>) {
        {
            let mut local = self.inner.local.lock().expect("local cache");
            if local.get(key).is_some_and(|t| t.entry == stale.entry) {
                local.remove(key);
            }
        }
        self.inner.store.delete_if(key, &stale.entry).await;
    }

    fn cached(&self, key: &str, now: i64) -> Option<Arc<Token>> {
        let local = self.inner.local.lock().expect("local cache");
        local
            .get(key)
            .filter(|t| t.fresh(now, self.inner.refresh_margin))
            .cloned()
    }

    fn remember(&self, key: &str, token: &Arc<Token>) {
        let mut local = self.inner.local.lock().expect("local cache");
        match local.get(key) {
            Some(held) if held.entry.version > token.entry.version => {}
            _ => {
                local.insert(key.to_string(), token.clone());
            }
        }
    }

    /// The token under `key`: local cache, then store, then one refresh
    /// with `fetch` across tasks (local lock) and instances (store lock).
    async fn managed<F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<Token>, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
    {
        if let Some(token) = self.cached(key, now_ms()) {
            return Ok(token);
        }
        let flight = {
            let mut flights = self.inner.flights.lock().expect("flights");
            flights.entry(key.to_string()).or_default().clone()
        };
        let _one_in_process = flight.lock().await;
        if let Some(token) = self.cached(key, now_ms()) {
            return Ok(token);
        }
        let lock_key = format!("{key}:lock");
        let owner = owner_id();
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            // A fresh token in the store: another task or instance refreshed.
            let stored = self.inner.store.get(key).await.and_then(Token::decode).map(Arc::new);
            if let Some(token) = stored.as_ref().filter(|t| t.fresh(now_ms(), self.inner.refresh_margin)) {
                self.remember(key, token);
                return Ok(token.clone());
            }
            if self.inner.store.try_lock(&lock_key, &owner, self.inner.lock_ttl).await {
                let result = self.refresh(key, &fetch).await;
                self.inner.store.unlock(&lock_key, &owner).await;
                return match result {
                    Ok(token) => Ok(token),
                    // The refresh failed but the old token is still valid.
                    Err(err) => match stored.filter(|t| t.unexpired(now_ms())) {
                        Some(token) if !is_suite_token_error(&err) => {
                            tracing::warn!(target: "corp_auth", error = %err, "token refresh failed; using the current token until it expires");
                            Ok(token)
                        }
                        _ => Err(err),
                    },
                };
            }
            // Another instance is refreshing: wait for its token, or for its
            // lock to expire if it died.
            if started.elapsed() > self.inner.lock_ttl * 3 {
                return Err(Error::Config {
                    setting: "lock_ttl",
                    reason: format!(
                        "no token appeared under `{key}` within {:?} while another instance held the refresh lock",
                        self.inner.lock_ttl * 3
                    ),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Holding the refresh lock: re-checks the store, fetches, stores.
    async fn refresh<F, Fut>(&self, key: &str, fetch: &F) -> Result<Arc<Token>, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
    {
        if let Some(token) = self.inner.store.get(key).await.and_then(Token::decode)
            && token.fresh(now_ms(), self.inner.refresh_margin)
        {
            let token = Arc::new(token);
            self.remember(key, &token);
            return Ok(token);
        }
        // The lifetime counts from before the request: never past WeCom's.
        let fetched_at = now_ms();
        let answer = fetch().await?;
        let token = Token::new(fetched_at, &answer);
        let ttl = Duration::from_millis((token.expires_at_ms - now_ms()).max(1) as u64);
        self.inner.store.put_if_newer(key, &token.entry, ttl).await;
        // A newer token another instance stored meanwhile wins.
        let token = Arc::new(match self.inner.store.get(key).await.and_then(Token::decode) {
            Some(stored) if stored.entry.version > token.entry.version => stored,
            _ => token,
        });
        self.remember(key, &token);
        tracing::debug!(target: "corp_auth", key, "token refreshed");
        Ok(token)
    }
}

/// A lock owner id unique to this process and call.
fn owner_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The configured store, with an in-process fallback while it fails.
struct Stores {
    primary: Arc<dyn Store>,
    fallback: Memory,
    /// When the shared store last failed; `None` while it answers.
    down_since: Mutex<Option<Instant>>,
    /// Keys written to the fallback during an outage, with when they
    /// expire: written to the shared store (newer wins) when it returns.
    unsynced: Mutex<HashMap<String, Instant>>,
}

impl Stores {
    fn new(primary: Arc<dyn Store>) -> Self {
        Self {
            primary,
            fallback: Memory::new(),
            down_since: Mutex::new(None),
            unsynced: Mutex::default(),
        }
    }

    /// False while the shared store is in its post-failure pause.
    fn available(&self) -> bool {
        match *self.down_since.lock().expect("store state") {
            Some(since) => since.elapsed() >= STORE_RETRY,
            None => true,
        }
    }

    fn failed(&self, err: &crate::store::StoreError) {
        let mut down = self.down_since.lock().expect("store state");
        if down.is_none() {
            tracing::warn!(target: "corp_auth", store = ?self.primary, error = %err,
                "the shared store failed: using an in-process store until it answers again");
        }
        *down = Some(Instant::now());
    }

    /// The shared store answered. After an outage, hands it what was
    /// written meanwhile (newer wins there, as always) and returns true.
    async fn answered(&self) -> bool {
        if self.down_since.lock().expect("store state").take().is_none() {
            return false;
        }
        tracing::info!(target: "corp_auth", store = ?self.primary, "the shared store answers again");
        let pending: Vec<(String, Instant)> = self.unsynced.lock().expect("unsynced").drain().collect();
        for (key, deadline) in pending {
            let Some(ttl) = deadline.checked_duration_since(Instant::now()) else {
                continue;
            };
            if let Ok(Some(entry)) = self.fallback.get(&key).await
                && let Err(err) = self.primary.put_if_newer(&key, &entry, ttl).await
            {
                self.unsynced.lock().expect("unsynced").insert(key, deadline);
                self.failed(&err);
                break;
            }
        }
        true
    }

    async fn get(&self, key: &str) -> Option<Versioned> {
        if self.available() {
            match self.primary.get(key).await {
                // Just back: read again after the resync (it may have
                // written a newer value under this key).
                Ok(found) if self.answered().await => match self.primary.get(key).await {
                    Ok(again) => return again,
                    Err(_) => return found,
                },
                Ok(found) => return found,
                Err(err) => self.failed(&err),
            }
        }
        self.fallback.get(key).await.ok().flatten()
    }

    async fn put_if_newer(&self, key: &str, entry: &Versioned, ttl: Duration) -> bool {
        if self.available() {
            match self.primary.put_if_newer(key, entry, ttl).await {
                Ok(written) => {
                    self.answered().await;
                    return written;
                }
                Err(err) => self.failed(&err),
            }
        }
        self.unsynced
            .lock()
            .expect("unsynced")
            .insert(key.to_string(), Instant::now() + ttl);
        self.fallback.put_if_newer(key, entry, ttl).await.unwrap_or(false)
    }

    async fn delete_if(&self, key: &str, entry: &Versioned) {
        let _ = self.fallback.delete_if(key, entry).await;
        if self.available() {
            match self.primary.delete_if(key, entry).await {
                Ok(_) => {
                    self.answered().await;
                }
                Err(err) => self.failed(&err),
            }
        }
    }

    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> bool {
        if self.available() {
            match self.primary.try_lock(key, owner, ttl).await {
                Ok(taken) => {
                    self.answered().await;
                    return taken;
                }
                Err(err) => self.failed(&err),
            }
        }
        self.fallback.try_lock(key, owner, ttl).await.unwrap_or(true)
    }

    async fn unlock(&self, key: &str, owner: &str) {
        let _ = self.fallback.unlock(key, owner).await;
        if self.available()
            && let Err(err) = self.primary.unlock(key, owner).await
        {
            self.failed(&err);
        }
    }
}
