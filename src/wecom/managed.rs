//! The managed-token engine behind [`Suite`](super::Suite),
//! [`Provider`](super::Provider) and [`Corp`](super::Corp): one
//! implementation of caching, single-flight refresh, newer-wins storage and
//! the refresh-and-replay after a rejected credential.
//!
//! Design (see the README, "Running several instances"):
//!
//! - **Warm calls touch no store.** Each managed value keeps the tokens it
//!   used in a local cache and serves them until `refresh_margin` before
//!   expiry. A token another instance fetched later does not make ours
//!   invalid (WeCom documents no invalidation on refetch); if WeCom ever
//!   rejects ours, the rejection path below drops it and takes the store's.
//! - **One fetch per refresh, everywhere.** A miss takes an in-process
//!   single-flight lock per key, re-checks the local cache, then the store;
//!   only then the store's lock (`SET NX PX`, owner id, expiry). The holder
//!   re-checks the store, fetches, writes with compare-by-version, releases
//!   its own lock only; the others poll the store for the holder's token,
//!   and take over the lock if the holder dies (the lock expires).
//! - **Newer always wins.** Tickets are versioned by their `TimeStamp`,
//!   tokens by their fetch time; the store never replaces a value with an
//!   older one.
//! - **Rejected credentials.** A call answered with one of its credential's
//!   `rejected` codes (`x-credentials` in the spec) drops that token (from
//!   the store only if it still holds it), refreshes once and replays the
//!   call once; a one-shot call is never replayed.
//! - **Store outages.** A store failure switches to an in-process store (one
//!   warning per outage) and retries the shared store once a second; values
//!   written during the outage are reconciled (newer wins) when it returns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::AccessToken;
use crate::store::{Memory, Store, Stores, Versioned};
use crate::{Error, Operation, Secret};

/// Default refresh margin of managed tokens
/// ([`SuiteBuilder::refresh_margin`](super::SuiteBuilder::refresh_margin)):
/// 5 minutes.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Default refresh-lock lifetime
/// ([`SuiteBuilder::lock_ttl`](super::SuiteBuilder::lock_ttl)): 10 seconds.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(10);

/// What every managed type's builder takes: the client, the store, the
/// refresh margin and the lock lifetime (the setters are
/// `managed_setters!`).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) client: Option<super::Client>,
    pub(crate) store: Option<Arc<dyn Store>>,
    pub(crate) refresh_margin: Duration,
    pub(crate) lock_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            client: None,
            store: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            lock_ttl: DEFAULT_LOCK_TTL,
        }
    }
}

impl Settings {
    /// The client (default [`Client::new`](super::Client::new)) and the
    /// managed tokens.
    pub(crate) fn build(self) -> Result<(super::Client, Tokens), Error> {
        let tokens = Tokens::new(self.store, self.refresh_margin, self.lock_ttl)?;
        Ok((self.client.unwrap_or_default(), tokens))
    }
}

/// The setters of [`Settings`] on a managed type's builder (a struct with a
/// `settings` field): the same four on `SuiteBuilder` and `ProviderBuilder`.
macro_rules! managed_setters {
    () => {
        /// The client the calls go through (base URL, timeouts, retries);
        /// default [`Client::new`](crate::wecom::Client::new).
        pub fn client(mut self, client: crate::wecom::Client) -> Self {
            self.settings.client = Some(client);
            self
        }

        /// Where the tokens (and tickets) live; default
        /// [`Memory`](crate::store::Memory) (one process). Use
        /// [`Redis`](crate::store::Redis) to share them across instances.
        pub fn store(mut self, store: impl crate::store::Store) -> Self {
            self.settings.store = Some(std::sync::Arc::new(store));
            self
        }

        /// Refresh a token this long before it expires (default 5 minutes,
        /// plus up to a fifth of it per key so refreshes spread out: it
        /// absorbs clock differences between instances and the time a call
        /// takes after the token was read, and leaves a refresh that fails
        /// room to be retried before the old token dies). For a token that
        /// lives less than twice the margin, half its lifetime is used
        /// instead.
        pub fn refresh_margin(mut self, margin: std::time::Duration) -> Self {
            self.settings.refresh_margin = margin;
            self
        }

        /// How long a refresh lock is held at most (default 10 s): the
        /// longest other instances wait if the holder dies mid-refresh.
        pub fn lock_ttl(mut self, ttl: std::time::Duration) -> Self {
            self.settings.lock_ttl = ttl;
            self
        }
    };
}
pub(crate) use managed_setters;

/// Managed tokens: a local cache over a shared store, with single-flight
/// refreshes. One per managed value (its clones share it).
pub(crate) struct Tokens {
    pub(crate) store: Stores,
    pub(crate) refresh_margin: Duration,
    pub(crate) lock_ttl: Duration,
    /// Tokens this value used: key → the store's entry and its expiry.
    local: Mutex<HashMap<String, Arc<Token>>>,
    /// One in-process refresh per key.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Rate-limit cool-downs this instance knows of: scope → (until, in
    /// unix ms; the code; the operation).
    cooling: Mutex<HashMap<String, (i64, i64, Operation)>>,
    /// Whether `cooling` may hold anything: the warm path skips its lock.
    any_cooling: std::sync::atomic::AtomicBool,
}

impl Tokens {
    pub(crate) fn new(
        store: Option<Arc<dyn Store>>,
        refresh_margin: Duration,
        lock_ttl: Duration,
    ) -> Result<Self, Error> {
        if lock_ttl.is_zero() {
            return Err(Error::Config {
                setting: "lock_ttl",
                reason: "must be greater than zero".into(),
            });
        }
        Ok(Self {
            store: Stores::new(store.unwrap_or_else(|| Arc::new(Memory::new()))),
            refresh_margin,
            lock_ttl,
            local: Mutex::default(),
            flights: Mutex::default(),
            cooling: Mutex::default(),
            any_cooling: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The refresh margin of `key`: the configured margin plus up to a fifth
    /// of it, fixed per key (every instance agrees, so a refresh stays one
    /// fetch), so tokens fetched in the same minute — corps installed
    /// together — are not all refreshed in the same second.
    pub(crate) fn margin(&self, key: &str) -> Duration {
        let spread = self.refresh_margin.as_millis() as u64 / 5;
        if spread == 0 {
            return self.refresh_margin;
        }
        // A value cached under a credential (`<key>/<name>/<version>`)
        // shares the credential's margin, so both are refreshed together.
        let key = key.split('/').next().unwrap_or(key);
        // FNV-1a: stable across processes and versions.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        self.refresh_margin + Duration::from_millis(hash % spread)
    }

    /// Fails with [`Error::CoolingDown`] while calls of `scope` cool down:
    /// from this instance's memory, and when `ask_store` (a cold or
    /// refreshing call, which touches the store anyway) from the store, where
    /// other instances record theirs. The warm path asks no store: an
    /// instance that has not seen the rate limit itself learns of it at its
    /// next refresh, or from its own first rate-limited answer.
    async fn check_cooling(&self, scope: &str, operation: Operation, ask_store: bool) -> Result<(), Error> {
        let now = now_ms();
        if self.any_cooling.load(Ordering::Relaxed) {
            let held = self.cooling.lock().expect("cooling").get(scope).copied();
            if let Some((until, code, op)) = held.filter(|(until, _, _)| *until > now) {
                return Err(cooling_down(op, code, until));
            }
        }
        if ask_store
            && let Some(entry) = self.store.get(scope).await
            && entry.version > now
        {
            let (code, op) = entry
                .value
                .expose_secret()
                .split_once('|')
                .and_then(|(code, op)| Some((code.parse().ok()?, Operation::from_id(op)?)))
                .unwrap_or((0, operation));
            self.remember_cooling(scope, entry.version, code, op);
            return Err(cooling_down(op, code, entry.version));
        }
        Ok(())
    }

    fn remember_cooling(&self, scope: &str, until: i64, code: i64, operation: Operation) {
        let mut cooling = self.cooling.lock().expect("cooling");
        cooling.retain(|_, (until, _, _)| *until > now_ms());
        cooling.insert(scope.to_string(), (until, code, operation));
        self.any_cooling.store(true, Ordering::Relaxed);
    }

    /// After a rate-limit answer (a code with a cool-down in the catalog):
    /// refuses calls of `scope` here and, through the store, on every
    /// instance, until the cool-down ends.
    async fn start_cooling(&self, scope: &str, err: &Error) {
        let Error::Platform {
            operation,
            code,
            meaning: Some(info),
            ..
        } = err
        else {
            return;
        };
        let Some(cool_down) = info.cool_down else { return };
        let until = now_ms().saturating_add(cool_down.as_millis() as i64);
        tracing::warn!(target: "corp_auth", operation = operation.as_str(), code, cool_down_s = cool_down.as_secs(),
            "rate limited: calls of this kind are refused locally until the cool-down ends");
        self.remember_cooling(scope, until, *code, *operation);
        let entry = Versioned {
            version: until,
            value: Secret::new(format!("{code}|{}", operation.as_str())),
        };
        self.store.put_if_newer(scope, &entry, cool_down).await;
    }

    /// Runs `call` with the credential under `key` (from `token`); when the
    /// platform rejects it (its credential's `rejected` codes), drops it
    /// (with the values cached under it, named `dependents`) and,
    /// unless the operation is one-shot, refreshes once and replays once.
    pub(crate) async fn call_with<T, F, Fut, G, GFut>(
        &self,
        operation: Operation,
        key: &str,
        dependents: &[&str],
        token: G,
        call: F,
    ) -> Result<T, Error>
    where
        G: Fn() -> GFut,
        GFut: Future<Output = Result<Arc<Token>, Error>>,
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        // A cold or expiring token means the store is asked anyway: then a
        // cool-down another instance recorded is seen too.
        let cold = self.cached(key, now_ms()).is_none();
        let scope = if cold || self.any_cooling.load(Ordering::Relaxed) {
            let scope = format!("{key}:cooldown:{}", operation.as_str());
            self.check_cooling(&scope, operation, cold).await?;
            Some(scope)
        } else {
            None
        };
        let current = token().await?;
        let result = match call(current.token.clone()).await {
            Err(err) if credential_rejected(&err) => {
                tracing::debug!(target: "corp_auth", operation = operation.as_str(), code = err.code(),
                    "credential rejected: refreshing");
                self.invalidate_with(key, &current, dependents).await;
                if operation.is_one_shot() {
                    return Err(err);
                }
                let fresh = token().await?;
                call(fresh.token.clone()).await
            }
            other => other,
        };
        if let Err(err) = &result
            && err.operation() == Some(operation)
        {
            let scope = scope.unwrap_or_else(|| format!("{key}:cooldown:{}", operation.as_str()));
            self.start_cooling(&scope, err).await;
        }
        result
    }

    /// Drops whatever token is under `key`, here and in the store, with the
    /// values cached under it (`dependents`: their names).
    pub(crate) async fn forget(&self, key: &str, dependents: &[&str]) {
        let held = self.local.lock().expect("local cache").remove(key);
        let stored = self.store.get(key).await;
        let mut versions: Vec<i64> = held.iter().map(|t| t.entry.version).collect();
        versions.extend(stored.iter().map(|e| e.version));
        versions.dedup();
        for version in versions {
            self.forget_dependents(key, version, dependents).await;
        }
        if let Some(entry) = stored {
            self.store.delete_if(key, &entry).await;
        }
    }

    /// Drops the values cached under version `version` of the token `key`.
    async fn forget_dependents(&self, key: &str, version: i64, dependents: &[&str]) {
        for name in dependents {
            let value_key = dependent_key(key, name, version);
            self.local.lock().expect("local cache").remove(&value_key);
            if let Some(entry) = self.store.get(&value_key).await {
                self.store.delete_if(&value_key, &entry).await;
            }
        }
    }

    /// The value `name` cached under the managed token `key` (from
    /// `token`): one fetch with that token across tasks and instances,
    /// stored under the token's version so that it is never served with
    /// another token, and never kept past the token's expiry. When the
    /// platform rejects the token, drops it (and its values), fetches a
    /// fresh one and fetches the value once more.
    pub(crate) async fn cached_value<G, GFut, F, Fut>(
        &self,
        key: &str,
        name: &str,
        dependents: &[&str],
        token: G,
        fetch: F,
    ) -> Result<Secret, Error>
    where
        G: Fn() -> GFut,
        GFut: Future<Output = Result<Arc<Token>, Error>>,
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
    {
        let mut replayed = false;
        loop {
            let current = token().await?;
            let value_key = dependent_key(key, name, current.entry.version);
            let expires_at_ms = current.expires_at_ms;
            let value = self
                .managed(&value_key, || async {
                    let mut answer = fetch(current.token.clone()).await?;
                    // Never past the token it was fetched with.
                    let left = Duration::from_millis((expires_at_ms - now_ms()).max(1) as u64);
                    answer.expires_in = answer.expires_in.min(left);
                    Ok(answer)
                })
                .await;
            match value {
                Err(err) if credential_rejected(&err) && !replayed => {
                    tracing::debug!(target: "corp_auth", name, code = err.code(), "credential rejected: refreshing");
                    self.invalidate_with(key, &current, dependents).await;
                    replayed = true;
                }
                other => return other.map(|t| t.token.clone()),
            }
        }
    }

    /// [`invalidate`](Self::invalidate), and the values cached under
    /// `stale` (their names: `dependents`).
    pub(crate) async fn invalidate_with(&self, key: &str, stale: &Arc<Token>, dependents: &[&str]) {
        self.forget_dependents(key, stale.entry.version, dependents).await;
        self.invalidate(key, stale).await;
    }

    /// Drops the token `stale` under `key` after a call rejected it, unless
    /// it was already replaced (another task's fresh token is never dropped).
    pub(crate) async fn drop_if_current(&self, key: &str, stale: &Secret, dependents: &[&str]) {
        let held = self.local.lock().expect("local cache").get(key).cloned();
        if let Some(token) = held.filter(|t| &t.token == stale) {
            self.invalidate_with(key, &token, dependents).await;
        } else if let Some(token) = self.store.get(key).await.and_then(Token::decode)
            && &token.token == stale
        {
            self.invalidate_with(key, &Arc::new(token), dependents).await;
        }
    }

    /// Drops `stale` from the local cache and, if it still holds it, from
    /// the store.
    pub(crate) async fn invalidate(&self, key: &str, stale: &Arc<Token>) {
        {
            let mut local = self.local.lock().expect("local cache");
            if local.get(key).is_some_and(|t| t.entry == stale.entry) {
                local.remove(key);
            }
        }
        self.store.delete_if(key, &stale.entry).await;
    }

    fn cached(&self, key: &str, now: i64) -> Option<Arc<Token>> {
        let local = self.local.lock().expect("local cache");
        local.get(key).filter(|t| t.fresh(now, self.margin(key))).cloned()
    }

    fn remember(&self, key: &str, token: &Arc<Token>) {
        let mut local = self.local.lock().expect("local cache");
        match local.get(key) {
            Some(held) if held.entry.version > token.entry.version => {}
            _ => {
                local.insert(key.to_string(), token.clone());
            }
        }
    }

    /// The token under `key`: local cache, then store, then one refresh
    /// with `fetch` across tasks (local lock) and instances (store lock).
    pub(crate) async fn managed<F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<Token>, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
    {
        if let Some(token) = self.cached(key, now_ms()) {
            return Ok(token);
        }
        let flight = {
            let mut flights = self.flights.lock().expect("flights");
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
            let stored = self.store.get(key).await.and_then(Token::decode).map(Arc::new);
            if let Some(token) = stored.as_ref().filter(|t| t.fresh(now_ms(), self.margin(key))) {
                self.remember(key, token);
                return Ok(token.clone());
            }
            if self.store.try_lock(&lock_key, &owner, self.lock_ttl).await {
                let result = self.refresh(key, &fetch).await;
                self.store.unlock(&lock_key, &owner).await;
                return match result {
                    Ok(token) => Ok(token),
                    // The refresh failed but the old token is still valid.
                    Err(err) => match stored.filter(|t| t.unexpired(now_ms())) {
                        Some(token) if !credential_rejected(&err) => {
                            tracing::warn!(target: "corp_auth", error = %err, "token refresh failed; using the current token until it expires");
                            Ok(token)
                        }
                        _ => Err(err),
                    },
                };
            }
            // Another instance is refreshing: wait for its token, or for its
            // lock to expire if it died.
            if started.elapsed() > self.lock_ttl * 3 {
                return Err(Error::Config {
                    setting: "lock_ttl",
                    reason: format!(
                        "no token appeared under `{key}` within {:?} while another instance held the refresh lock",
                        self.lock_ttl * 3
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
        if let Some(token) = self.store.get(key).await.and_then(Token::decode)
            && token.fresh(now_ms(), self.margin(key))
        {
            let token = Arc::new(token);
            self.remember(key, &token);
            return Ok(token);
        }
        // A rate-limited fetch cools down like any call (on every instance).
        let scope = format!("{key}:cooldown:fetch");
        self.check_cooling(&scope, Operation::GetSuiteToken, true).await?;
        // The lifetime counts from before the request: never past WeCom's.
        let fetched_at = now_ms();
        let answer = match fetch().await {
            Ok(answer) => answer,
            Err(err) => {
                self.start_cooling(&scope, &err).await;
                return Err(err);
            }
        };
        let token = Token::new(fetched_at, &answer);
        let ttl = Duration::from_millis((token.expires_at_ms - now_ms()).max(1) as u64);
        self.store.put_if_newer(key, &token.entry, ttl).await;
        // A newer token another instance stored meanwhile wins.
        let token = Arc::new(match self.store.get(key).await.and_then(Token::decode) {
            Some(stored) if stored.entry.version > token.entry.version => stored,
            _ => token,
        });
        self.remember(key, &token);
        tracing::debug!(target: "corp_auth", key, "token refreshed");
        Ok(token)
    }
}

/// A token as the store holds it: `<expires_at_ms>|<token>`, versioned by
/// its fetch time.
#[derive(Clone)]
pub(crate) struct Token {
    entry: Versioned,
    fetched_at_ms: i64,
    expires_at_ms: i64,
    pub(crate) token: Secret,
}

impl Token {
    pub(crate) fn new(fetched_at_ms: i64, token: &AccessToken) -> Self {
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

    pub(crate) fn decode(entry: Versioned) -> Option<Self> {
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

/// Where the value `name` fetched with version `version` of the token under
/// `key` is stored: `<key>/<name>/<version>` (no secret in it).
fn dependent_key(key: &str, name: &str, version: i64) -> String {
    format!("{key}/{name}/{version}")
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// True when `err` says the call's credential was rejected (the codes of
/// `x-credentials`): the platform did not act on it.
pub(crate) fn credential_rejected(err: &Error) -> bool {
    matches!(err, Error::Platform { operation, code, .. }
        if operation.credential().is_some_and(|c| c.rejects(*code)))
}

/// The error of a call refused during a cool-down that ends at `until_ms`.
fn cooling_down(operation: Operation, code: i64, until_ms: i64) -> Error {
    Error::CoolingDown {
        operation,
        code,
        until: UNIX_EPOCH + Duration::from_millis(until_ms.max(0) as u64),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_margin_is_spread_per_key_by_up_to_a_fifth() {
        let tokens = Tokens::new(None, Duration::from_secs(300), Duration::from_secs(10)).unwrap();
        let margins: Vec<Duration> = (0..1000)
            .map(|i| tokens.margin(&format!("wecom:ww1:corp:wwcorp{i}:access_token")))
            .collect();
        let (min, max) = (margins.iter().min().unwrap(), margins.iter().max().unwrap());
        assert!(
            *min >= Duration::from_secs(300) && *max < Duration::from_secs(360),
            "{min:?}..{max:?}"
        );
        // Spread over the minute, not bunched: every 6 s bucket is used.
        let buckets: std::collections::BTreeSet<u64> = margins.iter().map(|m| (m.as_secs() - 300) / 6).collect();
        assert_eq!(buckets.len(), 10, "{buckets:?}");
        // The same key, the same margin, on every instance.
        let again = Tokens::new(None, Duration::from_secs(300), Duration::from_secs(10)).unwrap();
        assert_eq!(again.margin("wecom:ww1:corp:wwcorp7:access_token"), margins[7]);
    }
}
