//! Decrypted callback events, parsed with quick-xml's serde support (CDATA
//! or not, unknown elements ignored).

use std::borrow::Cow;

use serde::Deserialize;

use super::{CallbackFailure, fail};
use crate::{Error, Secret};

/// A provider callback event (指令回调), by its `InfoType`.
///
/// The `auth_code` of an install and the `suite_ticket` are [`Secret`]s.
/// WeCom adds event kinds over time: every `InfoType` without a variant of
/// its own is [`Event::Other`], kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `suite_ticket`: the ticket WeCom pushes about every 10 minutes;
    /// store it with [`Suite::handle_event`](crate::wecom::Suite::handle_event).
    SuiteTicket {
        /// `SuiteId`.
        suite_id: String,
        /// `SuiteTicket`.
        suite_ticket: Secret,
        /// `TimeStamp`, unix seconds: newer tickets win.
        timestamp: i64,
    },
    /// `create_auth`: a corp installed the app from the marketplace. Answer
    /// within 1000 ms, then exchange `auth_code` once
    /// ([`Suite::get_permanent_code_v2`](crate::wecom::Suite::get_permanent_code_v2)).
    CreateAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCode`: the one-time install code (10 minutes, usable once).
        auth_code: Secret,
        /// `State`, when the install link carried one.
        state: Option<String>,
        /// `ExtraInfo`.
        extra_info: Option<String>,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `change_auth`: the corp changed the app's visibility, mode or
    /// privileges: read `get_auth_info` again and compare.
    ChangeAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCorpId`.
        auth_corp_id: String,
        /// `State`.
        state: Option<String>,
        /// `ExtraInfo`.
        extra_info: Option<String>,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `cancel_auth`: the corp removed the app; delete its data.
    CancelAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCorpId`.
        auth_corp_id: String,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `reset_permanent_code` (代开发): the admin reset the secret; exchange
    /// `auth_code` once for the new `permanent_code`.
    ResetPermanentCode {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCode`.
        auth_code: Secret,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// Every other `InfoType`, with the decrypted XML kept whole.
    Other {
        /// `InfoType`.
        info_type: String,
        /// `SuiteId`, when present.
        suite_id: Option<String>,
        /// `TimeStamp`, when present and numeric.
        timestamp: Option<i64>,
        /// The decrypted XML.
        xml: String,
    },
}

/// The elements any provider event may carry; others are ignored. Borrowed
/// from the XML where it holds them verbatim (CDATA, no entities).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw<'a> {
    #[serde(borrow)]
    suite_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    info_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time_stamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    suite_ticket: Option<Cow<'a, str>>,
    #[serde(borrow)]
    auth_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    auth_corp_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    extra_info: Option<Cow<'a, str>>,
}

/// The text of the POSTed body's top-level `Encrypt` element (quick-xml's
/// pull parser: the envelope's other elements are skipped unread).
pub(super) fn encrypted_part(body: &str) -> Result<Cow<'_, str>, Error> {
    use quick_xml::events::Event as X;
    let bad = || fail(CallbackFailure::Xml);
    let mut reader = quick_xml::Reader::from_str(body);
    let mut depth = 0usize;
    let mut inside = false;
    let mut found: Option<Cow<'_, str>> = None;
    loop {
        match reader.read_event().map_err(|_| bad())? {
            X::Start(e) => {
                depth += 1;
                inside = depth == 2 && e.name().0 == "Encrypt";
            }
            X::End(_) => {
                if inside && found.is_none() {
                    found = Some(Cow::Borrowed(""));
                }
                inside = false;
                depth = depth.checked_sub(1).ok_or_else(bad)?;
            }
            X::CData(t) if inside => found = Some(t.into_inner()),
            X::Text(t) if inside => {
                let raw = t.into_inner();
                let text = if raw.contains('&') {
                    Cow::Owned(quick_xml::escape::unescape(&raw).map_err(|_| bad())?.into_owned())
                } else {
                    raw
                };
                if !text.trim().is_empty() {
                    found = Some(text);
                }
            }
            X::Eof => break,
            _ => {}
        }
    }
    found.filter(|e| !e.trim().is_empty()).ok_or_else(bad)
}

/// Escapes text for an XML element.
pub(super) fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

fn nonempty(value: Option<Cow<'_, str>>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(Cow::into_owned)
}

impl Event {
    /// Parses a decrypted event. A known `InfoType` missing a field WeCom
    /// always sends (`SuiteId`, `TimeStamp`, its ticket, code or corp) is
    /// [`CallbackFailure::Xml`], never a partial event.
    pub fn parse(xml: &str) -> Result<Event, Error> {
        let raw: Raw = quick_xml::de::from_str(xml).map_err(|_| fail(CallbackFailure::Xml))?;
        let info_type = raw.info_type.ok_or_else(|| fail(CallbackFailure::Xml))?;
        let timestamp = raw.time_stamp.as_deref().map(|t| t.trim().parse::<i64>());
        let required = |v: Option<Cow<'_, str>>| nonempty(v).ok_or_else(|| fail(CallbackFailure::Xml));
        let known = matches!(
            info_type.as_ref(),
            "suite_ticket" | "create_auth" | "change_auth" | "cancel_auth" | "reset_permanent_code"
        );
        if !known {
            return Ok(Event::Other {
                info_type: info_type.into_owned(),
                suite_id: raw.suite_id.map(Cow::into_owned),
                timestamp: timestamp.and_then(Result::ok),
                xml: xml.to_string(),
            });
        }
        let suite_id = required(raw.suite_id)?;
        let timestamp = match timestamp {
            Some(Ok(t)) => t,
            _ => return Err(fail(CallbackFailure::Xml)),
        };
        Ok(match info_type.as_ref() {
            "suite_ticket" => Event::SuiteTicket {
                suite_id,
                suite_ticket: Secret::new(required(raw.suite_ticket)?),
                timestamp,
            },
            "create_auth" => Event::CreateAuth {
                suite_id,
                auth_code: Secret::new(required(raw.auth_code)?),
                state: nonempty(raw.state),
                extra_info: nonempty(raw.extra_info),
                timestamp,
            },
            "change_auth" => Event::ChangeAuth {
                suite_id,
                auth_corp_id: required(raw.auth_corp_id)?,
                state: nonempty(raw.state),
                extra_info: nonempty(raw.extra_info),
                timestamp,
            },
            "cancel_auth" => Event::CancelAuth {
                suite_id,
                auth_corp_id: required(raw.auth_corp_id)?,
                timestamp,
            },
            _ => Event::ResetPermanentCode {
                suite_id,
                auth_code: Secret::new(required(raw.auth_code)?),
                timestamp,
            },
        })
    }

    /// The event's `InfoType`.
    pub fn info_type(&self) -> &str {
        match self {
            Event::SuiteTicket { .. } => "suite_ticket",
            Event::CreateAuth { .. } => "create_auth",
            Event::ChangeAuth { .. } => "change_auth",
            Event::CancelAuth { .. } => "cancel_auth",
            Event::ResetPermanentCode { .. } => "reset_permanent_code",
            Event::Other { info_type, .. } => info_type,
        }
    }
}
