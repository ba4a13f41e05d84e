//! 橙讯 (Cheng-Xun) open platform: exchanging the one-time
//! `temp_corp_secret` for the permanent `corp_secret`.
//!
//! ```no_run
//! # async fn run() -> Result<(), corp_auth::Error> {
//! let cx = corp_auth::chengxun::Client::new();
//! let secret = cx.exchange_corp_secret(10001, "corp-authorization", "temp-corp-secret").await?;
//! store(secret.expose_secret()); // once: the temp secret is now spent
//! # Ok(()) }
//! # fn store(_: &str) {}
//! ```

use crate::client::{ClientBuilder, Parts, Shared, impl_client_hooks, sealed};
use crate::response::{Call, Envelope};
use crate::{Error, Operation, Secret};

#[allow(missing_docs, clippy::all, unreachable_pub, dead_code)]
pub(crate) mod api {
    include!(concat!(env!("OUT_DIR"), "/chengxun.rs"));
}

pub(crate) mod spec {
    include!(concat!(env!("OUT_DIR"), "/chengxun_spec.rs"));
}

/// The generated types of `openapi/chengxun.yaml` (serde and
/// `schemars::JsonSchema` derives; secrets as [`Secret`]).
pub use api::types;

/// The progenitor client generated from `openapi/chengxun.yaml`, for power
/// users; get one from [`Client::generated`]. It does no input validation,
/// error-code handling or redaction: its errors print the request URL, which
/// holds the secrets.
pub mod generated {
    pub use super::api::{Client, Error, ResponseValue};
}

impl_client_hooks!(api::Client);

const ENVELOPE: Envelope = Envelope {
    code: "err_code",
    message: "err_msg",
};

/// A 橙讯 client. Cheap to clone; clones share one connection pool.
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
    /// A client for the official base URL
    /// (`https://service.cheng-xun.cn/api`) with the default timeouts.
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

    /// Exchanges the one-time `temp_corp_secret` for the organization's
    /// permanent `corp_secret` (换取企业永久授权码).
    ///
    /// One-shot: the platform invalidates `temp_corp_secret` once it answers,
    /// so this method never sends the request twice. It is retried (per the
    /// client's [`RetryPolicy`](crate::RetryPolicy)) only when no connection
    /// could be made, which proves nothing was sent. If it fails after the
    /// request may have reached the platform
    /// ([`Error::request_may_have_been_processed`]), do not send the same
    /// values again: a repeat answers 40007 (永久授权码已存在); ask the
    /// organization's admin for a new `temp_corp_secret`.
    ///
    /// Inputs are checked against the spec (1 to 256 characters each) before
    /// anything is sent.
    pub async fn exchange_corp_secret(
        &self,
        corp_id: i64,
        corp_authorization: &str,
        temp_corp_secret: &str,
    ) -> Result<Secret, Error> {
        spec::CORP_AUTHORIZATION.check(corp_authorization)?;
        spec::TEMP_CORP_SECRET.check(temp_corp_secret)?;
        let call = Call {
            operation: Operation::ExchangeCorpSecret,
            envelope: ENVELOPE,
            shared: &self.shared,
            sent: &[corp_authorization, temp_corp_secret],
        };
        let (authorization, temp) = (Secret::from(corp_authorization), Secret::from(temp_corp_secret));
        // User-Agent: the hooks insert the client's pre-validated header (the
        // spec's default `CX` or the caller's), so the generated parameter is
        // left empty rather than re-validated on every call.
        let send = || self.api.exchange_corp_secret(&authorization, corp_id, &temp, None);
        call.run(send, interpret).await
    }
}

/// Interprets the body of an HTTP 200 answer to `exchange_corp_secret`
/// exactly as [`Client::exchange_corp_secret`] does (error envelope,
/// missing or empty `corp_secret`, redaction). For replaying a stored
/// answer; the fuzz target's entry point.
pub fn decode_answer(body: &[u8]) -> Result<Secret, Error> {
    crate::response::decode_offline(Operation::ExchangeCorpSecret, ENVELOPE, body, interpret)
}

/// The platform's convention on a decoded answer: `err_code` 0 and a
/// non-empty `corp_secret`, or an error.
fn interpret(call: &Call<'_>, answer: types::CorpSecretResponse) -> Result<Secret, Error> {
    if answer.err_code != 0 {
        return Err(call.platform_error(answer.err_code, Some(&answer.err_msg)));
    }
    if answer.corp_secret.is_empty() {
        return Err(call.decode_error("err_code is 0 but corp_secret is empty".into()));
    }
    Ok(answer.corp_secret)
}

impl sealed::Build for Client {
    const SERVER_URL: &'static str = spec::SERVER_URL;
    const DEFAULT_USER_AGENT: &'static str = spec::USER_AGENT_DEFAULT;

    fn from_parts(parts: Parts) -> Self {
        Self {
            api: api::Client::new_with_client(&parts.base_url, parts.http, parts.hooks),
            shared: parts.shared,
        }
    }
}
