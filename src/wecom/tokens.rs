//! What the token calls return: a secret and how long it lives.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::response::Call;
use crate::{Error, Secret};

/// A `suite_access_token` ([`Client::get_suite_token`]) or a corp
/// `access_token` ([`Client::get_corp_token`]).
///
/// Serializes as the platform writes it: `{"access_token": "…",
/// "expires_in": 7200}` (seconds). `Debug` never shows the token.
///
/// [`Client::get_suite_token`]: super::Client::get_suite_token
/// [`Client::get_corp_token`]: super::Client::get_corp_token
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccessToken {
    /// The token.
    pub access_token: Secret,
    /// How long it is valid from when WeCom answered.
    #[serde(with = "seconds")]
    #[schemars(with = "u64")]
    pub expires_in: Duration,
}

impl AccessToken {
    pub(crate) fn new(call: &Call<'_>, access_token: Secret, expires_in: i64) -> Result<Self, Error> {
        Ok(Self {
            access_token: nonempty(call, access_token, "access token")?,
            expires_in: lifetime(call, expires_in)?,
        })
    }
}

impl crate::facade::Cacheable for AccessToken {
    fn into_token(self) -> AccessToken {
        self
    }
}

/// A JS-SDK ticket ([`Client::get_jsapi_ticket`],
/// [`Client::get_agent_config_ticket`]): what JS-SDK signatures are made with
/// ([`jssdk::sign`](super::jssdk::sign)). Most callers want the managed
/// [`Corp::jsapi_ticket`](super::Corp::jsapi_ticket) and
/// [`Corp::agent_config_ticket`](super::Corp::agent_config_ticket) instead:
/// WeCom allows 400 fetches per corp per hour.
///
/// Serializes as WeCom writes it: `{"ticket": "…", "expires_in": 7200}`.
/// `Debug` never shows the ticket.
///
/// [`Client::get_jsapi_ticket`]: super::Client::get_jsapi_ticket
/// [`Client::get_agent_config_ticket`]: super::Client::get_agent_config_ticket
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct JsapiTicket {
    /// The ticket.
    pub ticket: Secret,
    /// How long it is valid from when WeCom answered (7200 s in practice).
    #[serde(with = "seconds")]
    #[schemars(with = "u64")]
    pub expires_in: Duration,
}

impl JsapiTicket {
    pub(crate) fn new(call: &Call<'_>, ticket: Secret, expires_in: i64) -> Result<Self, Error> {
        Ok(Self {
            ticket: nonempty(call, ticket, "ticket")?,
            expires_in: lifetime(call, expires_in)?,
        })
    }
}

impl crate::facade::Cacheable for JsapiTicket {
    fn into_token(self) -> AccessToken {
        AccessToken {
            access_token: self.ticket,
            expires_in: self.expires_in,
        }
    }
}

impl super::jssdk::Ticket for JsapiTicket {
    fn ticket(&self) -> &str {
        self.ticket.expose_secret()
    }
}

/// A pre-auth code ([`Client::get_pre_auth_code`]) for one install link.
///
/// [`Client::get_pre_auth_code`]: super::Client::get_pre_auth_code
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PreAuthCode {
    /// The code.
    pub pre_auth_code: Secret,
    /// How long it is valid (1200 s in WeCom's example).
    #[serde(with = "seconds")]
    #[schemars(with = "u64")]
    pub expires_in: Duration,
}

impl PreAuthCode {
    pub(crate) fn new(call: &Call<'_>, pre_auth_code: Secret, expires_in: i64) -> Result<Self, Error> {
        Ok(Self {
            pre_auth_code: nonempty(call, pre_auth_code, "pre_auth_code")?,
            expires_in: lifetime(call, expires_in)?,
        })
    }
}

/// The kind of authorization an install grants ([`Client::set_session_info`]).
///
/// [`Client::set_session_info`]: super::Client::set_session_info
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum AuthType {
    /// 正式授权 (`auth_type` 0, WeCom's default): required once the app is
    /// released.
    Formal,
    /// 测试授权 (`auth_type` 1): installs of an unreleased app.
    Test,
}

impl AuthType {
    /// The `auth_type` WeCom expects.
    pub fn code(self) -> i64 {
        match self {
            AuthType::Formal => 0,
            AuthType::Test => 1,
        }
    }
}

/// The `session_info` of `set_session_info` for an [`AuthType`] (the
/// operation's `x-arguments`).
impl From<AuthType> for super::types::SessionInfo {
    fn from(auth_type: AuthType) -> Self {
        Self {
            appid: Vec::new(),
            auth_type: Some(auth_type.code()),
        }
    }
}

fn nonempty(call: &Call<'_>, value: Secret, field: &str) -> Result<Secret, Error> {
    call.nonempty(&value, field)?;
    Ok(value)
}

fn lifetime(call: &Call<'_>, seconds: i64) -> Result<Duration, Error> {
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| call.decode_error(format!("expires_in is negative ({seconds})")))
}

/// `Duration` as whole seconds, as WeCom's `expires_in`.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}
