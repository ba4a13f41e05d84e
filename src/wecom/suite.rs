//! [`Suite`]: a WeCom suite whose tokens and tickets manage themselves
//! (the engine is [`managed`](super::managed)'s), and the suite-token
//! operations of the spec, generated on it.

use crate::facade::ManagedCredential as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::managed::{Settings, Token, Tokens, managed_setters, now_ms};
use super::{Client, Corp};
use crate::store::Versioned;
use crate::{Error, Operation, Secret};

/// How long a `suite_ticket` is valid after its `TimeStamp` (WeCom: 30 min).
pub const SUITE_TICKET_VALIDITY: Duration = Duration::from_secs(30 * 60);
/// Corp-API codes after which a fresh corp `access_token` may help: the
/// `rejected` codes of `access_token` in `openapi/wecom.yaml`
/// ([`Credential::AccessToken`](crate::Credential::AccessToken)), for code
/// that calls corp APIs this crate does not describe.
pub const CORP_TOKEN_REJECTED: &[i64] = crate::Credential::AccessToken.rejected_codes();

/// A WeCom suite (third-party app) with managed credentials: the newest
/// `suite_ticket`, the `suite_access_token` and each corp's `access_token`
/// are cached, refreshed before they expire, fetched once per refresh across
/// every task and every instance sharing the store, and refreshed and
/// replayed once when WeCom rejects them (a one-shot call is never
/// replayed). The suite-token operations of `openapi/wecom.yaml` are
/// methods of `Suite` (generated).
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
    tokens: Tokens,
    /// `wecom:<suite_id>:suite_access_token`, built once.
    suite_token_key: String,
    /// The newest `suite_ticket` this instance has seen (pushed to it or read
    /// from the store): a refresh during a store outage still has it.
    ticket: std::sync::Mutex<Option<Versioned>>,
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("suite_id", &self.inner.suite_id)
            .field("suite_secret", &self.inner.suite_secret)
            .field("store", &self.inner.tokens.store.primary)
            .field("refresh_margin", &self.inner.tokens.refresh_margin)
            .field("lock_ttl", &self.inner.tokens.lock_ttl)
            .finish()
    }
}

/// Builds a [`Suite`]; from [`Suite::builder`].
#[must_use]
pub struct SuiteBuilder {
    suite_id: String,
    suite_secret: Secret,
    settings: Settings,
}

impl fmt::Debug for SuiteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteBuilder")
            .field("suite_id", &self.suite_id)
            .field("suite_secret", &self.suite_secret)
            .field("settings", &self.settings)
            .finish()
    }
}

impl SuiteBuilder {
    managed_setters!();

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
        let (client, tokens) = self.settings.build()?;
        Ok(Suite {
            inner: Arc::new(Inner {
                suite_token_key: format!("wecom:{}:suite_access_token", self.suite_id),
                tokens,
                suite_id: self.suite_id,
                suite_secret: self.suite_secret,
                client,
                ticket: std::sync::Mutex::new(None),
            }),
        })
    }
}

impl Suite {
    /// A builder for the suite `suite_id` with its `suite_secret`.
    pub fn builder(suite_id: impl Into<String>, suite_secret: impl Into<String>) -> SuiteBuilder {
        SuiteBuilder {
            suite_id: suite_id.into(),
            suite_secret: Secret::new(suite_secret.into()),
            settings: Settings::default(),
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
        let Some(remaining) = Self::ticket_remaining(timestamp) else {
            return Ok(false);
        };
        let entry = Versioned {
            version: timestamp,
            value: Secret::from(suite_ticket),
        };
        self.remember_ticket(&entry);
        Ok(self
            .inner
            .tokens
            .store
            .put_if_newer(&self.key("suite_ticket"), &entry, remaining)
            .await)
    }

    /// Keeps `entry` as this instance's newest ticket unless it holds a newer
    /// one.
    fn remember_ticket(&self, entry: &Versioned) {
        let mut held = self.inner.ticket.lock().expect("ticket");
        if held.as_ref().is_none_or(|h| h.version < entry.version) {
            *held = Some(entry.clone());
        }
    }

    /// How long the ticket of `timestamp` (seconds) is still valid, if at all.
    fn ticket_remaining(timestamp: i64) -> Option<Duration> {
        let valid_until_ms = timestamp.saturating_add(SUITE_TICKET_VALIDITY.as_secs() as i64) * 1000;
        u64::try_from(valid_until_ms - now_ms())
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// Applies a callback event: a [`Event::SuiteTicket`] of this suite is
    /// stored (newer wins; returns whether it was); on a [`Event::CancelAuth`]
    /// of this suite the corp's cached token and tickets are dropped
    /// everywhere ([`forget_corp`](Suite::forget_corp); returns false: the
    /// rest, such as deleting the corp's data, is the application's). Every
    /// other event is the application's to act on (returns false).
    ///
    /// [`Event::SuiteTicket`]: super::callback::Event::SuiteTicket
    /// [`Event::CancelAuth`]: super::callback::Event::CancelAuth
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
            super::callback::Event::CancelAuth {
                suite_id, auth_corp_id, ..
            } if suite_id == &self.inner.suite_id => {
                self.forget_corp(auth_corp_id).await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// The newest valid `suite_ticket`: the store's or this instance's own,
    /// whichever is newer, so a refresh during a store outage (when the
    /// in-process fallback starts empty) still has the ticket this instance
    /// saw. When the store holds an older one or none (a restarted Redis
    /// that keeps nothing on disk), ours is written back (newer wins there).
    /// Fails with the error that says where tickets come from.
    async fn suite_ticket(&self) -> Result<Secret, Error> {
        let key = self.key("suite_ticket");
        let stored = self.inner.tokens.store.get(&key).await;
        if let Some(entry) = &stored {
            self.remember_ticket(entry);
        }
        let held = self.inner.ticket.lock().expect("ticket").clone();
        let newest = match (stored, held) {
            (Some(s), Some(h)) if h.version > s.version => Some((h, true)),
            (None, Some(h)) => Some((h, true)),
            (Some(s), _) => Some((s, false)),
            (None, None) => None,
        };
        match newest.and_then(|(entry, ours)| Self::ticket_remaining(entry.version).map(|ttl| (entry, ours, ttl))) {
            Some((entry, ours, ttl)) => {
                if ours {
                    self.inner.tokens.store.put_if_newer(&key, &entry, ttl).await;
                }
                Ok(entry.value)
            }
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
        self.inner
            .tokens
            .managed(&self.inner.suite_token_key, || async {
                let ticket = self.suite_ticket().await?;
                let inner = &self.inner;
                inner
                    .client
                    .issue_suite_access_token(
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
    /// tasks and instances. For a third-party app it comes from
    /// `get_corp_token` (with the suite token); for a 代开发 template suite
    /// (suite id starting with `dk`) from `gettoken`, with the
    /// `permanent_code` as the corp secret. When a corp API rejects it
    /// (40001, 40014, 42001; see [`CORP_TOKEN_REJECTED`]), call
    /// [`invalidate_corp_token`](Suite::invalidate_corp_token) and ask again
    /// — or call the corp APIs on [`Suite::corp`], which does that itself.
    pub async fn corp_access_token(&self, auth_corpid: &str, permanent_code: &str) -> Result<Secret, Error> {
        Ok(self.corp_token(auth_corpid, permanent_code).await?.token.clone())
    }

    pub(crate) async fn corp_token(&self, auth_corpid: &str, permanent_code: &str) -> Result<Arc<Token>, Error> {
        let key = self.corp_key(auth_corpid)?;
        let client = &self.inner.client;
        self.inner
            .tokens
            .managed(&key, || async {
                if self.is_customized() {
                    client.issue_access_token(auth_corpid, permanent_code).await
                } else {
                    self.with_credential(Operation::GetCorpToken, |t| async move {
                        client
                            .issue_access_token_with_suite_access_token(t.expose_secret(), auth_corpid, permanent_code)
                            .await
                    })
                    .await
                }
            })
            .await
    }

    /// True for a 代开发 (customized app) template suite: its id starts with
    /// `dk`, and its corps' tokens come from `gettoken`.
    pub fn is_customized(&self) -> bool {
        self.inner.suite_id.starts_with("dk")
    }

    /// The corp `auth_corpid` installed with `permanent_code`: its managed
    /// `access_token` and the corp-token operations of the spec
    /// (`get_admin_list`, `userid_to_openuserid`, ...), each refreshing and
    /// replaying once when WeCom rejects the token.
    pub fn corp(&self, auth_corpid: impl Into<String>, permanent_code: impl Into<String>) -> Corp {
        Corp::new(self.clone(), auth_corpid.into(), Secret::new(permanent_code.into()))
    }

    /// Drops the corp token `stale` after a corp API rejected it, unless it
    /// was already replaced (another task's fresh token is never dropped).
    pub async fn invalidate_corp_token(&self, auth_corpid: &str, stale: &Secret) -> Result<(), Error> {
        let key = self.corp_key(auth_corpid)?;
        self.inner.tokens.drop_if_current(&key, stale, Corp::CACHED).await;
        Ok(())
    }

    /// Drops the cached corp token of `auth_corpid` and the JS-SDK tickets
    /// fetched with it, here and in the store (the corp removed the suite:
    /// [`handle_event`](Suite::handle_event) does this on `cancel_auth`).
    pub async fn forget_corp(&self, auth_corpid: &str) -> Result<(), Error> {
        let key = self.corp_key(auth_corpid)?;
        self.inner.tokens.forget(&key, Corp::CACHED).await;
        Ok(())
    }

    pub(crate) fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    pub(crate) fn corp_key(&self, auth_corpid: &str) -> Result<String, Error> {
        if auth_corpid.is_empty() || auth_corpid.len() > 256 || auth_corpid.contains([':', ' ']) {
            return Err(Error::InvalidInput {
                parameter: "auth_corpid",
                rule: "must be 1 to 256 bytes, without ':' or spaces".into(),
            });
        }
        Ok(self.key(&format!("corp:{auth_corpid}:access_token")))
    }
}

impl crate::facade::ManagedCredential for Suite {
    /// Runs a call of `operation` with the managed suite token: on a
    /// rejection of it, drops it, and (unless `operation` is one-shot)
    /// refreshes once and replays once. The generated methods call this.
    async fn with_credential<T, F, Fut>(&self, operation: Operation, call: F) -> Result<T, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let inner = &self.inner;
        inner
            .tokens
            .call_with(
                operation,
                &inner.suite_token_key,
                Self::CACHED,
                || self.suite_token(),
                call,
            )
            .await
    }
}
