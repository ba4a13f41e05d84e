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
    /// `license_pay_success` (接口许可, a provider-level system event,
    /// delivered to the 系统事件接收URL and encrypted for the provider's
    /// corpid): an order was paid and its activation codes exist; read them
    /// with [`Provider::list_order_account`](crate::wecom::Provider::list_order_account).
    LicensePaySuccess {
        /// `ServiceCorpId`: the provider's corpid.
        service_corp_id: String,
        /// `AuthCorpId`: the corp the order is for.
        auth_corp_id: String,
        /// `OrderId` (the sub-order id of a multi-corp order).
        order_id: String,
        /// `BuyerUserId`: who placed the order.
        buyer_user_id: Option<String>,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `license_refund` (接口许可, provider-level system event): a refund
    /// was decided.
    LicenseRefund {
        /// `ServiceCorpId`.
        service_corp_id: String,
        /// `AuthCorpId`.
        auth_corp_id: String,
        /// `OrderId`.
        order_id: String,
        /// `OrderStatus`: 1 退款成功, 2 退款被拒绝.
        order_status: i64,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `auto_activate` (接口许可, provider-level system event): accounts
    /// were activated automatically (`set_auto_active_status`).
    AutoActivate {
        /// `ServiceCorpId`.
        service_corp_id: String,
        /// `AuthCorpId`.
        auth_corp_id: String,
        /// `Scene`: 1 a member opened the app, 2 the provider sent a
        /// message (消息推送), 3 the provider called a 互通 API.
        scene: i64,
        /// `AccountList`: the accounts activated.
        accounts: Vec<AutoActivatedAccount>,
        /// `TimeStamp`.
        timestamp: i64,
    },
    /// `unlicensed_notify` (an app event: `MsgType` event, delivered to the
    /// app's own callback URL, encrypted for the corp): a member without a
    /// valid licence (未激活或已过期) opened the app. Not sent for members
    /// outside the app's visible range.
    UnlicensedNotify {
        /// `ToUserName`: the corp's corpid.
        corpid: String,
        /// `FromUserName`: the member's userid.
        userid: String,
        /// `AgentID`: the app.
        agent_id: Option<i64>,
        /// `CreateTime`, unix seconds.
        create_time: i64,
    },
    /// Every other message or event delivered to an app's own callback URL
    /// (no `InfoType`), with the decrypted XML kept whole.
    App {
        /// `MsgType` (`event`, `text`, …).
        msg_type: String,
        /// `Event`, for `MsgType` event.
        event: Option<String>,
        /// `ToUserName`: the corp's corpid.
        corpid: Option<String>,
        /// The decrypted XML.
        xml: String,
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

/// One account of an [`Event::AutoActivate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutoActivatedAccount {
    /// `ActiveCode`.
    pub active_code: String,
    /// `Type`: 1 基础账号, 2 互通账号.
    pub account_type: i64,
    /// `ExpireTime`, unix seconds.
    pub expire_time: Option<i64>,
    /// `UserId`.
    pub userid: String,
    /// `PreviousStatus`: 1 not active, 2 active with 7 days or less left,
    /// 3 expired.
    pub previous_status: Option<i64>,
    /// `PreviousActiveCode`, when the member had one.
    pub previous_active_code: Option<String>,
}

/// One `AccountList` element of `auto_activate`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAccount {
    active_code: Option<String>,
    #[serde(rename = "Type")]
    account_type: Option<String>,
    expire_time: Option<String>,
    user_id: Option<String>,
    previous_status: Option<String>,
    previous_active_code: Option<String>,
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
    #[serde(borrow)]
    service_corp_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    buyer_user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scene: Option<Cow<'a, str>>,
    #[serde(default)]
    account_list: Vec<RawAccount>,
    #[serde(borrow)]
    msg_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    to_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    from_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    create_time: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "AgentID")]
    agent_id: Option<Cow<'a, str>>,
}

/// The text of the POSTed body's top-level `Encrypt` element (quick-xml's
/// pull parser: the envelope's other elements are skipped unread).
pub(super) fn encrypted_part(body: &str) -> Result<Cow<'_, str>, Error> {
    envelope_element(body, "Encrypt")
}

/// The text of a top-level element `name` of a POSTed envelope.
pub(super) fn envelope_element<'b>(body: &'b str, name: &str) -> Result<Cow<'b, str>, Error> {
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
                inside = depth == 2 && *e.name().0 == *name;
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
        let required = |v: Option<Cow<'_, str>>| nonempty(v).ok_or_else(|| fail(CallbackFailure::Xml));
        let Some(info_type) = raw.info_type.clone() else {
            // No InfoType: a message or event of an app's own callback.
            return app_event(raw, xml);
        };
        let timestamp = raw.time_stamp.as_deref().map(|t| t.trim().parse::<i64>());
        if matches!(
            info_type.as_ref(),
            "license_pay_success" | "license_refund" | "auto_activate"
        ) {
            return license_event(&info_type, raw);
        }
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
            Event::LicensePaySuccess { .. } => "license_pay_success",
            Event::LicenseRefund { .. } => "license_refund",
            Event::AutoActivate { .. } => "auto_activate",
            Event::UnlicensedNotify { .. } => "unlicensed_notify",
            Event::App { msg_type, event, .. } => event.as_deref().unwrap_or(msg_type),
            Event::Other { info_type, .. } => info_type,
        }
    }
}

/// A number element; absent or not a number is a malformed event.
fn number(value: Option<&str>) -> Result<i64, Error> {
    value
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| fail(CallbackFailure::Xml))
}

fn optional_number(value: Option<&str>) -> Option<i64> {
    value.and_then(|v| v.trim().parse().ok())
}

/// The 接口许可 system events (`ServiceCorpId`, not `SuiteId`).
fn license_event(info_type: &str, raw: Raw<'_>) -> Result<Event, Error> {
    let required = |v: Option<Cow<'_, str>>| nonempty(v).ok_or_else(|| fail(CallbackFailure::Xml));
    let service_corp_id = required(raw.service_corp_id)?;
    let auth_corp_id = required(raw.auth_corp_id)?;
    let timestamp = number(raw.time_stamp.as_deref())?;
    Ok(match info_type {
        "license_pay_success" => Event::LicensePaySuccess {
            service_corp_id,
            auth_corp_id,
            order_id: required(raw.order_id)?,
            buyer_user_id: nonempty(raw.buyer_user_id),
            timestamp,
        },
        "license_refund" => Event::LicenseRefund {
            service_corp_id,
            auth_corp_id,
            order_id: required(raw.order_id)?,
            order_status: number(raw.order_status.as_deref())?,
            timestamp,
        },
        _ => Event::AutoActivate {
            service_corp_id,
            auth_corp_id,
            scene: number(raw.scene.as_deref())?,
            accounts: raw
                .account_list
                .into_iter()
                .map(|a| {
                    Ok(AutoActivatedAccount {
                        active_code: a
                            .active_code
                            .filter(|c| !c.is_empty())
                            .ok_or_else(|| fail(CallbackFailure::Xml))?,
                        account_type: number(a.account_type.as_deref())?,
                        expire_time: optional_number(a.expire_time.as_deref()),
                        userid: a
                            .user_id
                            .filter(|u| !u.is_empty())
                            .ok_or_else(|| fail(CallbackFailure::Xml))?,
                        previous_status: optional_number(a.previous_status.as_deref()),
                        previous_active_code: a.previous_active_code.filter(|c| !c.is_empty()),
                    })
                })
                .collect::<Result<_, Error>>()?,
            timestamp,
        },
    })
}

/// A message or event of an app's own callback (`MsgType`, no `InfoType`).
fn app_event(raw: Raw<'_>, xml: &str) -> Result<Event, Error> {
    let msg_type = nonempty(raw.msg_type).ok_or_else(|| fail(CallbackFailure::Xml))?;
    let event = nonempty(raw.event);
    if msg_type == "event" && event.as_deref() == Some("unlicensed_notify") {
        return Ok(Event::UnlicensedNotify {
            corpid: nonempty(raw.to_user_name).ok_or_else(|| fail(CallbackFailure::Xml))?,
            userid: nonempty(raw.from_user_name).ok_or_else(|| fail(CallbackFailure::Xml))?,
            agent_id: optional_number(raw.agent_id.as_deref()),
            create_time: number(raw.create_time.as_deref())?,
        });
    }
    Ok(Event::App {
        msg_type,
        event,
        corpid: nonempty(raw.to_user_name),
        xml: xml.to_string(),
    })
}
