//! Client construction shared by both platforms: [`ClientBuilder`].

use std::marker::PhantomData;
use std::time::Duration;

use reqwest::header::{HeaderValue, USER_AGENT};

use crate::Error;

/// Default total time for one request, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`chengxun::Client`](crate::chengxun::Client) or a
/// [`wecom::Client`](crate::wecom::Client); get one from their `builder()`.
///
/// Defaults: the spec's server URL, a 30 s total timeout
/// ([`DEFAULT_TIMEOUT`]), a 10 s connect timeout
/// ([`DEFAULT_CONNECT_TIMEOUT`]), redirects not followed (a redirect would
/// carry the query-string secrets to another host), and the user agent
/// `CX` for 橙讯 (its documented default) or `corp-auth/<version>` for WeCom.
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder<C> {
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
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

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<C, Error> {
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(C::SERVER_URL))?;
        let user_agent = self.user_agent.as_deref().unwrap_or(C::DEFAULT_USER_AGENT);
        let user_agent_header = HeaderValue::from_str(user_agent).map_err(|_| Error::Config {
            setting: "user_agent",
            reason: "not a valid HTTP header value (control characters?)".to_string(),
        })?;
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
                    reason: "cannot be applied to a caller-supplied reqwest::Client; set it on that client"
                        .into(),
                });
            }
            (Some(client), None) => client,
            (None, connect_timeout) => reqwest::Client::builder()
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
        };
        Ok(C::from_parts(Parts {
            base_url,
            http,
            hooks,
            user_agent: user_agent.to_string(),
        }))
    }
}

/// Parses the URL, requires http or https, drops a trailing slash.
fn normalize_base_url(raw: &str) -> Result<String, Error> {
    let invalid = |reason: String| Error::Config {
        setting: "base_url",
        reason,
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme must be http or https, not `{}`",
            url.scheme()
        )));
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
    pub(crate) user_agent: String,
}

/// Per-client settings the generated client's hooks apply to every request
/// (the generated client's "inner" value).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Hooks {
    user_agent: HeaderValue,
    timeout: Duration,
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
