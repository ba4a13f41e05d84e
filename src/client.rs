//! Client construction shared by both platforms: [`ClientBuilder`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, USER_AGENT};

use crate::limit::DEFAULT_MAX_RESPONSE_BYTES;
use crate::{Error, RetryPolicy};

/// Default cap on requests in flight at once on one client.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;

/// Default total time for one request, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`chengxun::Client`](crate::chengxun::Client) or a
/// [`wecom::Client`](crate::wecom::Client); get one from their `builder()`.
///
/// Defaults: the spec's server URL, a 30 s total timeout
/// ([`DEFAULT_TIMEOUT`], which also bounds a slowly dripping body), a 10 s
/// connect timeout ([`DEFAULT_CONNECT_TIMEOUT`]), redirects not followed (a
/// redirect would carry the query-string secrets and the body to another
/// host), answers capped at 4 MiB
/// ([`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES)), at
/// most 32 requests in flight ([`DEFAULT_MAX_CONCURRENT_REQUESTS`]), the
/// default [`RetryPolicy`], and the user agent `CX` for 橙讯 (its documented
/// default) or `corp-auth/<version>` for WeCom.
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder<C> {
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
    retry: RetryPolicy,
    max_response_bytes: u64,
    max_concurrent_requests: usize,
    client: PhantomData<fn() -> C>,
}

impl<C: sealed::Build> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self {
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            user_agent: None,
            http_client: None,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            client: PhantomData,
        }
    }
}

impl<C: sealed::Build> ClientBuilder<C> {
    /// The base URL the spec's paths are appended to, such as
    /// `http://127.0.0.1:8080/api` (a private deployment, a proxy, a test
    /// server). A trailing slash is ignored. Checked by [`build`](Self::build).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Total time for one request, from sending to the last byte of the
    /// answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time to establish a connection. Cannot be combined with
    /// [`http_client`](Self::http_client): set it on that client instead.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header sent with every request.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sends requests through this `reqwest::Client` (for a proxy, custom
    /// roots, or to share a connection pool). Its redirect policy is its
    /// own: build it with `redirect(reqwest::redirect::Policy::none())` to
    /// keep secrets from following a redirect. The builder's timeout and
    /// user agent still apply to each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How failed calls are retried; see [`RetryPolicy`] for what is retried
    /// (never a one-shot exchange that may have reached the platform).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest answer body accepted, in bytes. A larger one (declared or
    /// delivered) fails with [`Error::ResponseTooLarge`] without being
    /// buffered.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The most requests this client has in flight at once; further calls
    /// wait for a slot. Keeps a burst of calls on a few reused connections
    /// and under the platforms' concurrency limits (WeCom 45033).
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = limit;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<C, Error> {
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(C::SERVER_URL))?;
        let user_agent = self.user_agent.as_deref().unwrap_or(C::DEFAULT_USER_AGENT);
        let user_agent_header = HeaderValue::from_str(user_agent).map_err(|_| Error::Config {
            setting: "user_agent",
            reason: "not a valid HTTP header value (control characters?)".to_string(),
        })?;
        if self.max_concurrent_requests == 0 {
            return Err(Error::Config {
                setting: "max_concurrent_requests",
                reason: "must be at least 1".into(),
            });
        }
        if self.timeout.is_zero() {
            return Err(Error::Config {
                setting: "timeout",
                reason: "must be greater than zero".into(),
            });
        }
        let http = match (self.http_client, self.connect_timeout) {
            (Some(_), Some(_)) => {
                return Err(Error::Config {
                    setting: "connect_timeout",
                    reason: "cannot be applied to a caller-supplied reqwest::Client; set it on that client".into(),
                });
            }
            (Some(client), None) => client,
            (None, connect_timeout) => tls(reqwest::Client::builder())?
                .connect_timeout(connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config {
                    setting: "http_client",
                    reason: e.without_url().to_string(),
                })?,
        };
        let hooks = Hooks {
            user_agent: user_agent_header,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
        };
        let shared = Shared {
            retry: self.retry,
            permits: Arc::new(tokio::sync::Semaphore::new(self.max_concurrent_requests)),
            max_response_bytes: self.max_response_bytes,
        };
        Ok(C::from_parts(Parts {
            base_url,
            http,
            hooks,
            shared,
        }))
    }
}

/// With the `rustls-ring` feature (and not `rustls`): a rustls configuration
/// of this client's own, with the ring provider and the platform verifier
/// reqwest uses, so no process-global provider is installed. Otherwise the
/// builder as it is (reqwest's default TLS).
fn tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, Error> {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    {
        use rustls_platform_verifier::BuilderVerifierExt as _;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_platform_verifier())
            .map_err(|e| Error::Config {
                setting: "tls",
                reason: e.to_string(),
            })?
            .with_no_client_auth();
        return Ok(builder.tls_backend_preconfigured(config));
    }
    #[allow(unreachable_code)]
    Ok(builder)
}

/// Parses the URL, requires http or https, drops a trailing slash.
fn normalize_base_url(raw: &str) -> Result<String, Error> {
    let invalid = |reason: String| Error::Config {
        setting: "base_url",
        reason,
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("scheme must be http or https, not `{}`", url.scheme())));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// What a built client is made of.
#[doc(hidden)]
#[derive(Debug)]
pub struct Parts {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) hooks: Hooks,
    pub(crate) shared: Shared,
}

/// What the facade applies around each call: retries and the in-flight cap.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) retry: RetryPolicy,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
    pub(crate) max_response_bytes: u64,
}

impl Shared {
    /// The settings of a client with default limits (for decoding answers
    /// without a client).
    pub(crate) fn defaults() -> Self {
        Self {
            retry: RetryPolicy::default(),
            permits: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_CONCURRENT_REQUESTS)),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Per-client settings the generated client's hooks apply to every request
/// (the generated client's "inner" value).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Hooks {
    user_agent: HeaderValue,
    timeout: Duration,
    max_response_bytes: u64,
}

impl Hooks {
    /// Runs before each request is sent.
    pub(crate) fn pre(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        // progenitor adds an `api-version` header with the spec's
        // info.version; neither platform documents it, so it is not sent.
        headers.remove("api-version");
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.user_agent.clone());
        }
        *request.timeout_mut() = Some(self.timeout);
    }

    #[cfg(feature = "postgres")]
    /// The total time one request may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs when the answer's head has arrived: caps its body.
    pub(crate) fn capped(&self, response: reqwest::Response) -> reqwest::Response {
        crate::limit::cap(response, self.max_response_bytes)
    }
}

/// Implements the generated client's hooks with [`Hooks`].
macro_rules! impl_client_hooks {
    ($client:ty) => {
        impl progenitor_client::ClientHooks<$crate::client::Hooks> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                _info: &progenitor_client::OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                progenitor_client::ClientInfo::inner(self).pre(request);
                Ok(())
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                _info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                let response = progenitor_client::ClientInfo::client(self)
                    .execute(request)
                    .await?;
                Ok(progenitor_client::ClientInfo::inner(self).capped(response))
            }
        }
    };
}
pub(crate) use impl_client_hooks;

/// Implemented by the two platform clients; not meant for other types.
#[doc(hidden)]
pub mod sealed {
    /// What [`ClientBuilder`](super::ClientBuilder) needs of a client type.
    pub trait Build {
        /// The spec's server URL.
        const SERVER_URL: &'static str;
        /// The user agent sent when the caller sets none.
        const DEFAULT_USER_AGENT: &'static str;
        /// Assembles the client.
        fn from_parts(parts: super::Parts) -> Self;
    }
}
