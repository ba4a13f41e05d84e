//! WeCom (企业微信) third-party service-provider APIs: the provider's
//! authorization lifecycle, from the suite ticket to a corp's access token.
//!
//! | step | call | kind |
//! | --- | --- | --- |
//! | suite token from the pushed `suite_ticket` | [`Client::get_suite_token`] | read |
//! | pre-auth code for an install | [`Client::get_pre_auth_code`] | read |
//! | test or formal authorization | [`Client::set_session_info`] | idempotent |
//! | install link | [`install_url`] | local |
//! | `auth_code` → `permanent_code` | [`Client::get_permanent_code_v2`], [`Client::get_permanent_code`] | **one-shot** |
//! | corp details, agents, editions | [`Client::get_auth_info`], [`Client::get_auth_info_v2`] | read |
//! | corp `access_token` | [`Client::get_corp_token`] | read |
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
//! [`Secret`]. Most applications should use [`Suite`], which
//! keeps the tokens and tickets for them.

pub mod callback;
mod install;
mod suite;
mod tokens;

pub use install::install_url;
pub use suite::{
    CORP_TOKEN_REJECTED, DEFAULT_LOCK_TTL, DEFAULT_REFRESH_MARGIN, SUITE_TICKET_VALIDITY, Suite, SuiteBuilder,
};
pub use tokens::{AccessToken, AuthType, PreAuthCode};

use crate::client::{ClientBuilder, Parts, Shared, impl_client_hooks, sealed};
use crate::response::{Call, Envelope};
use crate::{Error, Operation, Secret};

#[allow(missing_docs, clippy::all, unreachable_pub, dead_code)]
pub(crate) mod api {
    include!(concat!(env!("OUT_DIR"), "/wecom.rs"));
}

pub(crate) mod spec {
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

/// `value` as the generated request types hold it (a constrained string
/// newtype; the spec's length rule is already checked).
fn parsed<T: std::str::FromStr<Err = types::error::ConversionError>>(
    parameter: &'static str,
    value: &str,
) -> Result<T, Error> {
    value
        .parse()
        .map_err(|e: types::error::ConversionError| Error::InvalidInput {
            parameter,
            rule: e.to_string(),
        })
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

    /// A call of `operation` that sent the secrets `sent`.
    fn call<'a>(&'a self, operation: Operation, sent: &'a [&'a str]) -> Call<'a> {
        Call {
            operation,
            envelope: ENVELOPE,
            shared: &self.shared,
            sent,
        }
    }

    /// Gets the `suite_access_token` (获取第三方应用凭证) with the newest
    /// `suite_ticket` WeCom pushed to the callback URL.
    ///
    /// A read, retried per the client's policy. WeCom asks that the token be
    /// cached for its `expires_in` (about 2 h) and not fetched often:
    /// [`Suite`] does that. An answer without `errcode`
    /// is a success; one without `suite_access_token` or `expires_in` is
    /// [`Error::Decode`].
    pub async fn get_suite_token(
        &self,
        suite_id: &str,
        suite_secret: &str,
        suite_ticket: &str,
    ) -> Result<AccessToken, Error> {
        spec::SUITE_ID.check(suite_id)?;
        spec::SUITE_SECRET.check(suite_secret)?;
        spec::SUITE_TICKET.check(suite_ticket)?;
        let sent = [suite_secret, suite_ticket];
        let call = self.call(Operation::GetSuiteToken, &sent);
        let body = types::GetSuiteTokenRequest {
            suite_id: suite_id
                .parse()
                .map_err(|e: types::error::ConversionError| Error::InvalidInput {
                    parameter: "suite_id",
                    rule: e.to_string(),
                })?,
            suite_secret: Secret::from(suite_secret),
            suite_ticket: Secret::from(suite_ticket),
        };
        let answer = call.run(|| self.api.get_suite_token(&body), interpret).await?;
        AccessToken::new(&call, answer.suite_access_token, answer.expires_in)
    }

    /// Gets a pre-auth code (获取预授权码) for one install link
    /// ([`install_url`]). A read, retried per the client's policy.
    pub async fn get_pre_auth_code(&self, suite_access_token: &str) -> Result<PreAuthCode, Error> {
        spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
        let sent = [suite_access_token];
        let call = self.call(Operation::GetPreAuthCode, &sent);
        let token = Secret::from(suite_access_token);
        let answer = call.run(|| self.api.get_pre_auth_code(&token), interpret).await?;
        PreAuthCode::new(&call, answer.pre_auth_code, answer.expires_in)
    }

    /// Sets the authorization type of the install that `pre_auth_code`
    /// starts (设置授权配置): [`AuthType::Test`] while the app is unreleased,
    /// [`AuthType::Formal`] once it is released. Idempotent, retried per the
    /// client's policy.
    pub async fn set_session_info(
        &self,
        suite_access_token: &str,
        pre_auth_code: &str,
        auth_type: AuthType,
    ) -> Result<(), Error> {
        spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
        spec::PRE_AUTH_CODE.check(pre_auth_code)?;
        let sent = [suite_access_token, pre_auth_code];
        let call = self.call(Operation::SetSessionInfo, &sent);
        let token = Secret::from(suite_access_token);
        let body = types::SetSessionInfoRequest {
            pre_auth_code: Secret::from(pre_auth_code),
            session_info: types::SessionInfo {
                appid: Vec::new(),
                auth_type: Some(auth_type.code()),
            },
        };
        let interpret_envelope = |call: &Call<'_>, answer: types::ErrcodeAnswer| match answer.errcode {
            0 => Ok(()),
            code => Err(call.platform_error(code, answer.errmsg.as_deref())),
        };
        call.run(|| self.api.set_session_info(&token, &body), interpret_envelope)
            .await
    }

    /// Exchanges the install's one-time `auth_code` for the corp's
    /// `permanent_code` with the v1 call (获取企业永久授权码), which also
    /// returns the corp's details, agents, editions and a corp token.
    ///
    /// **One-shot**: WeCom accepts an `auth_code` once (a second use answers
    /// 40078), so the library sends this at most once, retrying only after a
    /// connect error (nothing was sent). When the call fails with
    /// [`Error::request_may_have_been_processed`] true, the code may be
    /// spent and its answer lost: do not send it again. A 40082/42009 answer
    /// (suite token rejected) means WeCom did not act: refresh the token and
    /// call again. WeCom calls v1 slow; prefer [`get_permanent_code_v2`]
    /// in an install flow.
    ///
    /// [`get_permanent_code_v2`]: Client::get_permanent_code_v2
    pub async fn get_permanent_code(
        &self,
        suite_access_token: &str,
        auth_code: &str,
    ) -> Result<types::PermanentCodeAnswer, Error> {
        let (token, body) = permanent_code_request(suite_access_token, auth_code)?;
        let sent = [suite_access_token, auth_code];
        let call = self.call(Operation::GetPermanentCode, &sent);
        let answer = call
            .run(|| self.api.get_permanent_code(&token, &body), interpret)
            .await?;
        nonempty(&call, &answer.permanent_code, "permanent_code")?;
        Ok(answer)
    }

    /// Exchanges the install's one-time `auth_code` for the corp's
    /// `permanent_code` with the v2 call (获取企业永久授权码, 2025): faster,
    /// and the recommended call in an install flow. v2 returns only the
    /// corp's id and name, the installing admin and the install `state`:
    /// read the rest with [`get_auth_info_v2`](Client::get_auth_info_v2) and
    /// the corp token with [`get_corp_token`](Client::get_corp_token).
    ///
    /// **One-shot**, exactly as [`get_permanent_code`](Client::get_permanent_code).
    pub async fn get_permanent_code_v2(
        &self,
        suite_access_token: &str,
        auth_code: &str,
    ) -> Result<types::PermanentCodeV2Answer, Error> {
        let (token, body) = permanent_code_request(suite_access_token, auth_code)?;
        let sent = [suite_access_token, auth_code];
        let call = self.call(Operation::GetPermanentCodeV2, &sent);
        let answer = call
            .run(|| self.api.get_permanent_code_v2(&token, &body), interpret)
            .await?;
        nonempty(&call, &answer.permanent_code, "permanent_code")?;
        Ok(answer)
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
        let (token, body) = auth_info_request(suite_access_token, auth_corpid, permanent_code)?;
        let sent = [suite_access_token, permanent_code];
        let call = self.call(Operation::GetAuthInfo, &sent);
        call.run(|| self.api.get_auth_info(&token, &body), interpret).await
    }

    /// The v2 of [`get_auth_info`](Client::get_auth_info) (2025): the same
    /// answer without `auth_corp_info.corp_wxqrcode` and with
    /// `auth_corp_info.corp_ex_name`. A read: safe to repeat.
    pub async fn get_auth_info_v2(
        &self,
        suite_access_token: &str,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<types::GetAuthInfoResponse, Error> {
        let (token, body) = auth_info_request(suite_access_token, auth_corpid, permanent_code)?;
        let sent = [suite_access_token, permanent_code];
        let call = self.call(Operation::GetAuthInfoV2, &sent);
        call.run(|| self.api.get_auth_info_v2(&token, &body), interpret).await
    }

    /// Gets the corp's `access_token` (获取企业凭证) for the corp APIs
    /// (contacts, messages, ...). A read, retried per the client's policy.
    /// WeCom may invalidate a corp token early: refetch on 40014/42001.
    pub async fn get_corp_token(
        &self,
        suite_access_token: &str,
        auth_corpid: &str,
        permanent_code: &str,
    ) -> Result<AccessToken, Error> {
        spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
        spec::AUTH_CORPID.check(auth_corpid)?;
        spec::PERMANENT_CODE.check(permanent_code)?;
        let sent = [suite_access_token, permanent_code];
        let call = self.call(Operation::GetCorpToken, &sent);
        let token = Secret::from(suite_access_token);
        let body = types::GetCorpTokenRequest {
            auth_corpid: parsed("auth_corpid", auth_corpid)?,
            permanent_code: Secret::from(permanent_code),
        };
        let answer = call.run(|| self.api.get_corp_token(&token, &body), interpret).await?;
        AccessToken::new(&call, answer.access_token, answer.expires_in)
    }
}

/// The checked inputs of `get_auth_info(_v2)`: the token and the body.
fn auth_info_request(
    suite_access_token: &str,
    auth_corpid: &str,
    permanent_code: &str,
) -> Result<(Secret, types::GetAuthInfoRequest), Error> {
    spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
    spec::AUTH_CORPID.check(auth_corpid)?;
    spec::PERMANENT_CODE.check(permanent_code)?;
    let body = types::GetAuthInfoRequest {
        auth_corpid: parsed("auth_corpid", auth_corpid)?,
        permanent_code: Secret::from(permanent_code),
    };
    Ok((Secret::from(suite_access_token), body))
}

/// The checked inputs of `get_permanent_code(_v2)`: the token and the body.
fn permanent_code_request(
    suite_access_token: &str,
    auth_code: &str,
) -> Result<(Secret, types::GetPermanentCodeRequest), Error> {
    spec::SUITE_ACCESS_TOKEN.check(suite_access_token)?;
    spec::AUTH_CODE.check(auth_code)?;
    let body = types::GetPermanentCodeRequest {
        auth_code: Secret::from(auth_code),
    };
    Ok((Secret::from(suite_access_token), body))
}

/// Fails with [`Error::Decode`] when a guaranteed secret came back empty.
pub(crate) fn nonempty(call: &Call<'_>, value: &Secret, field: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(call.decode_error(format!("errcode is 0 but {field} is empty")));
    }
    Ok(())
}

/// A decoded success answer's error envelope (`errcode`, `errmsg`).
trait Answer {
    fn envelope(&self) -> (Option<i64>, Option<&str>);
}

macro_rules! answers {
    ($($answer:ty),* $(,)?) => {$(
        impl Answer for $answer {
            fn envelope(&self) -> (Option<i64>, Option<&str>) {
                (self.errcode, self.errmsg.as_deref())
            }
        }
    )*};
}

answers!(
    types::SuiteAccessTokenAnswer,
    types::PreAuthCodeAnswer,
    types::PermanentCodeAnswer,
    types::PermanentCodeV2Answer,
    types::GetAuthInfoResponse,
    types::CorpAccessTokenAnswer,
);

/// Interprets the body of an HTTP 200 answer to `get_auth_info` exactly as
/// [`Client::get_auth_info`] does (error envelope, absent `errcode` as
/// success, redaction). For replaying a stored answer; the fuzz target's
/// entry point.
pub fn decode_answer(body: &[u8]) -> Result<types::GetAuthInfoResponse, Error> {
    crate::response::decode_offline(Operation::GetAuthInfo, ENVELOPE, body, interpret)
}

/// Interprets the body of an HTTP 200 answer to `get_permanent_code` (v1)
/// exactly as [`Client::get_permanent_code`] does: the stored answer of an
/// install, replayed.
pub fn decode_permanent_code_answer(body: &[u8]) -> Result<types::PermanentCodeAnswer, Error> {
    crate::response::decode_offline(Operation::GetPermanentCode, ENVELOPE, body, interpret)
}

/// The platform's convention on a decoded answer: an absent or zero
/// `errcode` is success.
fn interpret<A: Answer>(call: &Call<'_>, answer: A) -> Result<A, Error> {
    match answer.envelope() {
        (Some(code), message) if code != 0 => Err(call.platform_error(code, message)),
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
