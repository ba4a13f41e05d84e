//! WeCom (企业微信) third-party service-provider APIs: reading a corp's
//! authorization info with its `permanent_code`.
//!
//! ```no_run
//! # async fn run() -> Result<(), corp_auth::Error> {
//! let wc = corp_auth::wecom::Client::new();
//! let info = wc.get_auth_info("suite-access-token", "wwcorpid", "permanent-code").await?;
//! if let Some(corp) = &info.auth_corp_info {
//!     println!("{:?} ({:?})", corp.corp_name, corp.corp_type);
//! }
//! # Ok(()) }
//! ```

use crate::client::{ClientBuilder, Parts, Shared, impl_client_hooks, sealed};
use crate::response::{Call, Envelope};
use crate::{Error, Operation, Secret};

#[allow(missing_docs, clippy::all, unreachable_pub, dead_code)]
pub(crate) mod api {
    include!(concat!(env!("OUT_DIR"), "/wecom.rs"));
}

mod spec {
    include!(concat!(env!("OUT_DIR"), "/wecom_spec.rs"));
}

/// The generated types of `openapi/wecom.yaml` (serde and
/// `schemars::JsonSchema` derives; secrets as [`Secret`]).
pub use api::types;

/// The progenitor client generated from `openapi/wecom.yaml`, for power
/// users; get one from [`Client::generated`]. It does no input validation,
/// error-code handling or redaction: its errors print the request URL, which
/// holds the `suite_access_token`.
pub mod generated {
    pub use super::api::{Client, Error, ResponseValue};
}

impl_client_hooks!(api::Client);

const ENVELOPE: Envelope = Envelope {
    code: "errcode",
    message: "errmsg",
};

/// The user agent sent when the caller sets none.
const DEFAULT_USER_AGENT: &str = concat!("corp-auth/", env!("CARGO_PKG_VERSION"));

/// A WeCom client. Cheap to clone; clones share one connection pool.
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

    /// Reads the authorization info of the corp `auth_corpid`
    /// (获取企业授权信息): corp details, authorized agents and their
    /// privileges, paid editions.
    ///
    /// A read: safe to repeat. Inputs are checked against the spec before
    /// anything is sent. An answer with a non-zero `errcode` is returned as
    /// [`Error::Platform`]; an absent `errcode` means success.
    pub async fn get_auth_info(
        &self,
        suite_access_token: &str,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<types::GetAuthInfoResponse, Error> {
        spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
        spec::AUTH_CORPID.check(auth_corpid)?;
        spec::PERMANENT_CODE.check(permanent_code)?;
        let call = Call {
            operation: Operation::GetAuthInfo,
            envelope: ENVELOPE,
            shared: &self.shared,
            sent: &[suite_access_token, permanent_code],
        };
        let body = types::GetAuthInfoRequest {
            auth_corpid: auth_corpid
                .parse()
                .map_err(|e: types::error::ConversionError| Error::InvalidInput {
                    parameter: "auth_corpid",
                    rule: e.to_string(),
                })?,
            permanent_code: Secret::from(permanent_code),
        };
        let token = Secret::from(suite_access_token);
        call.run(|| self.api.get_auth_info(&token, &body), interpret).await
    }
}

/// Interprets the body of an HTTP 200 answer to `get_auth_info` exactly as
/// [`Client::get_auth_info`] does (error envelope, absent `errcode` as
/// success, redaction). For replaying a stored answer; the fuzz target's
/// entry point.
pub fn decode_answer(body: &[u8]) -> Result<types::GetAuthInfoResponse, Error> {
    crate::response::decode_offline(Operation::GetAuthInfo, ENVELOPE, body, interpret)
}

/// The platform's convention on a decoded answer: an absent or zero
/// `errcode` is success.
fn interpret(call: &Call<'_>, answer: types::GetAuthInfoResponse) -> Result<types::GetAuthInfoResponse, Error> {
    match answer.errcode {
        Some(code) if code != 0 => Err(call.platform_error(code, answer.errmsg.as_deref())),
        _ => Ok(answer),
    }
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
