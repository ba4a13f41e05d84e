//! WeCom (企业微信) third-party service-provider APIs: the provider's
//! authorization lifecycle, from the suite ticket to a corp's access token,
//! and the provider surface after it (provider token, web login, 代开发, ID
//! conversion, the admin list, the app QR code).
//!
//! Every method of [`Client`], and of the managed types [`Suite`],
//! [`Provider`] and [`Corp`], is generated from `openapi/wecom.yaml` (one per
//! operation, named after its `operationId`; see the README, "Adding an
//! endpoint").
//!
//! Every operation of the spec (generated from it: the managed type is the
//! one its credential names; reads are retried, one-shot calls and writes
//! are sent at most once):
//!
#![doc = include_str!(concat!(env!("OUT_DIR"), "/wecom_operations.md"))]
//!
//! An install link is built locally with [`install_url`].
//!
//! ```no_run
//! # async fn run(suite_ticket: &str, auth_code: &str) -> Result<(), corp_auth::Error> {
//! let wc = corp_auth::wecom::Client::new();
//! let suite = wc.get_suite_token("ww-suite-id", "suite-secret", suite_ticket).await?;
//! let token = suite.access_token.expose_secret();
//! let install = wc.get_permanent_code_v2(token, auth_code).await?; // once: the auth_code is now spent
//! let corpid = install.auth_corp_info.as_ref().and_then(|c| c.corpid.clone()).unwrap_or_default();
//! let corp = wc.get_corp_token(token, &corpid, install.permanent_code.expose_secret()).await?;
//! println!("corp token valid for {:?}", corp.expires_in);
//! # Ok(()) }
//! ```
//!
//! Every call takes its credentials as `&str` and returns secrets as
//! [`Secret`](crate::Secret). Most applications should use [`Suite`],
//! [`Provider`] and [`Corp`], which keep the tokens and tickets for them.

pub mod callback;
mod corp;
mod install;
#[cfg(feature = "postgres")]
mod installs;
pub mod jssdk;
mod managed;
mod provider;
pub mod raw;
mod suite;
mod tokens;

pub use corp::Corp;
pub use install::install_url;
#[cfg(feature = "postgres")]
pub use installs::{
    CorpRecord, CorpStatus, DEFAULT_LEASE, DEFAULT_RETENTION, InDoubt, Installs, InstallsBuilder, Outcome,
    STATE_VALIDITY,
};
pub use jssdk::PageSignature;
pub use managed::{DEFAULT_LOCK_TTL, DEFAULT_REFRESH_MARGIN};
pub use provider::{Provider, ProviderBuilder};
pub use suite::{CORP_TOKEN_REJECTED, SUITE_TICKET_VALIDITY, Suite, SuiteBuilder};
pub use tokens::{AccessToken, AuthType, JsapiTicket, PreAuthCode};

use crate::client::{ClientBuilder, Parts, Shared, impl_client_hooks, sealed};
use crate::response::Call;
use crate::{Error, Operation};

#[allow(missing_docs, clippy::all, unreachable_pub, dead_code)]
pub(crate) mod api {
    include!(concat!(env!("OUT_DIR"), "/wecom.rs"));
}

pub(crate) mod spec {
    include!(concat!(env!("OUT_DIR"), "/wecom_spec.rs"));
}

/// The generated types of `openapi/wecom.yaml` (serde and
/// `schemars::JsonSchema` derives; secrets as [`Secret`](crate::Secret)).
pub use api::types;

/// The progenitor client generated from `openapi/wecom.yaml`, for power
/// users; get one from [`Client::generated`]. It does no input validation,
/// error-code handling or redaction: its errors print the request URL, which
/// holds the `suite_access_token`.
pub mod generated {
    pub use super::api::{Client, Error, ResponseValue};
}

impl_client_hooks!(api::Client);

/// The user agent sent when the caller sets none.
const DEFAULT_USER_AGENT: &str = concat!("corp-auth/", env!("CARGO_PKG_VERSION"));

/// A WeCom client. Cheap to clone; clones share one connection pool.
///
/// Each operation is a method that returns a request value
/// ([`calls`]): required inputs are arguments, optional ones setters, and
/// `.await` checks and sends it. Reads are retried per the
/// [`RetryPolicy`](crate::RetryPolicy) when the failure is transient;
/// one-shot calls and writes are sent at most once.
#[derive(Debug, Clone)]
pub struct Client {
    api: api::Client,
    shared: Shared,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client for the official base URL (`https://qyapi.weixin.qq.com`)
    /// with the default timeouts.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialised, as `reqwest::Client::new`.
    pub fn new() -> Self {
        Self::builder().build().expect("the default configuration is valid")
    }

    /// A builder for a configured client.
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::default()
    }

    /// The generated progenitor client this one wraps.
    pub fn generated(&self) -> &generated::Client {
        &self.api
    }

    #[cfg(feature = "postgres")]
    /// The longest one call of this client can take, retries included
    /// (each attempt's timeout plus the backoff between them, bounded).
    pub(crate) fn worst_call(&self) -> std::time::Duration {
        use progenitor_client::ClientInfo as _;
        let attempts = self.shared.retry.max_attempts();
        self.api.inner().timeout() * attempts + self.shared.retry.worst_pause() * (attempts - 1)
    }

    /// A call of `operation` that sent the secrets `sent`.
    fn call<'a>(&'a self, operation: Operation, sent: &'a [&'a str]) -> Call<'a> {
        Call {
            operation,
            envelope: ENVELOPE,
            shared: &self.shared,
            sent,
        }
    }
}

// The facade: one method per operation of `openapi/wecom.yaml` on
// `Client`, and on `Suite`, `Provider` or `Corp` for the operations that
// carry their credential; generated by build.rs (`codegen/src/facade/`).
include!(concat!(env!("OUT_DIR"), "/wecom_facade.rs"));

/// Interprets the body of an HTTP 200 answer to `get_auth_info` exactly as
/// [`Client::get_auth_info`] does (error envelope, absent `errcode` as
/// success, redaction). For replaying a stored answer; the fuzz target's
/// entry point. The same as [`decode::get_auth_info`]: every operation has
/// its decoder in [`decode`].
pub fn decode_answer(body: &[u8]) -> Result<types::GetAuthInfoResponse, Error> {
    decode::get_auth_info(body)
}

/// Interprets the body of an HTTP 200 answer to `get_permanent_code` (v1)
/// exactly as [`Client::get_permanent_code`] does: the stored answer of an
/// install, replayed. The same as [`decode::get_permanent_code`].
pub fn decode_permanent_code_answer(body: &[u8]) -> Result<types::PermanentCodeAnswer, Error> {
    decode::get_permanent_code(body)
}

impl sealed::Build for Client {
    const SERVER_URL: &'static str = spec::SERVER_URL;
    const DEFAULT_USER_AGENT: &'static str = DEFAULT_USER_AGENT;

    fn from_parts(parts: Parts) -> Self {
        Self {
            api: api::Client::new_with_client(&parts.base_url, parts.http, parts.hooks),
            shared: parts.shared,
        }
    }
}
