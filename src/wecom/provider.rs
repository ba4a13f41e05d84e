//! [`Provider`]: the service provider's own credential
//! (`provider_access_token`), managed; the provider-token operations of the
//! spec are generated on it.

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;

use super::Client;
use super::managed::{Settings, Token, Tokens, managed_setters};
use crate::{Error, Operation, Secret};

/// The service provider (服务商), with a managed `provider_access_token`:
/// cached, refreshed `refresh_margin` before it expires, fetched once per
/// refresh across every task and every instance sharing the store, and
/// refreshed and replayed once when WeCom rejects it (40082, 42009).
///
/// The provider-token operations of `openapi/wecom.yaml`
/// (`get_customized_auth_url`, ...) are methods of `Provider` (generated).
/// Cheap to clone: clones share the cache. `Debug` never shows a secret.
///
/// ```no_run
/// # async fn run() -> Result<(), corp_auth::Error> {
/// use corp_auth::{store, wecom};
/// let provider = wecom::Provider::builder("wwprovidercorpid", "provider-secret")
///     .store(store::Memory::new())
///     .build()?;
/// let link = provider.get_customized_auth_url("channel1", &["dk1".to_string()]).await?;
/// # let _ = link; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    corpid: String,
    secret: Secret,
    client: Client,
    tokens: Tokens,
    /// `wecom:provider:<corpid>:provider_access_token`
    key: String,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("corpid", &self.inner.corpid)
            .field("provider_secret", &self.inner.secret)
            .field("store", &self.inner.tokens.store.primary)
            .field("refresh_margin", &self.inner.tokens.refresh_margin)
            .field("lock_ttl", &self.inner.tokens.lock_ttl)
            .finish()
    }
}

/// Builds a [`Provider`]; from [`Provider::builder`].
#[must_use]
pub struct ProviderBuilder {
    corpid: String,
    secret: Secret,
    settings: Settings,
}

impl fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("corpid", &self.corpid)
            .field("provider_secret", &self.secret)
            .field("settings", &self.settings)
            .finish()
    }
}

impl ProviderBuilder {
    managed_setters!();

    /// Checks the settings and builds the provider.
    pub fn build(self) -> Result<Provider, Error> {
        let config = |setting: &'static str, reason: &str| Error::Config {
            setting,
            reason: reason.to_string(),
        };
        if self.corpid.is_empty() || self.corpid.len() > 256 || self.corpid.contains([':', ' ']) {
            return Err(config(
                "provider_corpid",
                "must be 1 to 256 bytes, without ':' or spaces",
            ));
        }
        if self.secret.is_empty() {
            return Err(config("provider_secret", "must not be empty"));
        }
        let (client, tokens) = self.settings.build()?;
        Ok(Provider {
            inner: Arc::new(Inner {
                key: format!("wecom:provider:{}:provider_access_token", self.corpid),
                tokens,
                corpid: self.corpid,
                secret: self.secret,
                client,
            }),
        })
    }
}

impl Provider {
    /// A builder for the provider `provider_corpid` (服务商的corpid) with
    /// its `provider_secret` (服务商管理后台 → 通用开发参数).
    pub fn builder(provider_corpid: impl Into<String>, provider_secret: impl Into<String>) -> ProviderBuilder {
        ProviderBuilder {
            corpid: provider_corpid.into(),
            secret: Secret::new(provider_secret.into()),
            settings: Settings::default(),
        }
    }

    /// The provider's corpid.
    pub fn corpid(&self) -> &str {
        &self.inner.corpid
    }

    /// The client the provider calls WeCom with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The `provider_access_token`: cached, refreshed before it expires,
    /// fetched once per refresh across tasks and instances.
    pub async fn provider_access_token(&self) -> Result<Secret, Error> {
        Ok(self.token().await?.token.clone())
    }

    async fn token(&self) -> Result<Arc<Token>, Error> {
        let inner = &self.inner;
        inner
            .tokens
            .managed(&inner.key, || {
                inner
                    .client
                    .issue_provider_access_token(&inner.corpid, inner.secret.expose_secret())
                    .into_future()
            })
            .await
    }
}

impl crate::facade::ManagedCredential for Provider {
    /// Runs a call of `operation` with the managed provider token; on a
    /// rejection drops it, and (unless one-shot) refreshes once and replays
    /// once. The generated methods call this.
    async fn with_credential<T, F, Fut>(&self, operation: Operation, call: F) -> Result<T, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.inner
            .tokens
            .call_with(operation, &self.inner.key, Self::CACHED, || self.token(), call)
            .await
    }
}
