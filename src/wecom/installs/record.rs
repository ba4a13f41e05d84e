//! How events and outcomes are classified and stored: which failures are
//! retried, an event's time and corp, an outcome's columns and back.

use std::time::SystemTime;

use super::{AUTH_CODE_LIFE, InDoubt, Outcome};
use crate::Error;
use crate::wecom::callback::Event;

/// Whether a failed event is tried again later: the failure consumed
/// nothing (the database, a transient answer, a rejected or missing token,
/// no suite ticket yet, another instance's refresh lock or claim). A
/// platform's final answer (an invalid `auth_code`) or a decode error is
/// not.
pub(super) fn retry_later(e: &Error) -> bool {
    e.is_retryable()
        || crate::wecom::managed::credential_rejected(e)
        || matches!(
            e,
            Error::SuiteTicketMissing { .. }
                | Error::Registry { .. }
                | Error::Config {
                    setting: "lock_ttl",
                    ..
                }
        )
}

/// Whether an install event's `auth_code` has outlived its ten minutes
/// (counted from when the callback arrived, so clocks do not matter).
pub(super) fn code_expired(event: Option<&Event>, received_at: SystemTime) -> bool {
    matches!(event, Some(Event::CreateAuth { .. } | Event::ResetPermanentCode { .. }))
        && received_at.elapsed().is_ok_and(|age| age > AUTH_CODE_LIFE)
}

/// The id of the exchange of the code whose SHA-256 is `hash`.
pub(super) fn claim_id(hash: &str) -> String {
    hash.chars().take(16).collect()
}

/// An in-doubt outcome's stored detail.
pub(super) fn doubt_detail(id: &str, source: &str, reason: &str) -> String {
    serde_json::json!({ "id": id, "source": source, "reason": reason }).to_string()
}

/// The event's `TimeStamp` (unix seconds), when it has one.
pub(super) fn event_time(event: &Event) -> Option<i64> {
    match event {
        Event::SuiteTicket { timestamp, .. }
        | Event::CreateAuth { timestamp, .. }
        | Event::ChangeAuth { timestamp, .. }
        | Event::CancelAuth { timestamp, .. }
        | Event::ResetPermanentCode { timestamp, .. } => Some(*timestamp),
        Event::Other { timestamp, .. } => *timestamp,
        _ => None,
    }
}

/// The corp an event names, if any.
pub(super) fn event_corp(event: &Event) -> Option<String> {
    match event {
        Event::ChangeAuth { auth_corp_id, .. } | Event::CancelAuth { auth_corp_id, .. } => Some(auth_corp_id.clone()),
        _ => None,
    }
}

/// (suite id, InfoType, AuthCorpId) of an event, for the inbox's columns.
pub(super) fn describe(event: &Event, default_suite: &str) -> (String, String, Option<String>) {
    match event {
        Event::SuiteTicket { suite_id, .. } => (suite_id.clone(), "suite_ticket".into(), None),
        Event::CreateAuth { suite_id, .. } => (suite_id.clone(), "create_auth".into(), None),
        Event::ChangeAuth {
            suite_id, auth_corp_id, ..
        } => (suite_id.clone(), "change_auth".into(), Some(auth_corp_id.clone())),
        Event::CancelAuth {
            suite_id, auth_corp_id, ..
        } => (suite_id.clone(), "cancel_auth".into(), Some(auth_corp_id.clone())),
        Event::ResetPermanentCode { suite_id, .. } => (suite_id.clone(), "reset_permanent_code".into(), None),
        other => (default_suite.to_string(), other.info_type().to_string(), None),
    }
}

pub(super) fn kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Installed { .. } => "installed",
        Outcome::Changed { .. } => "changed",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::Reset { .. } => "reset",
        Outcome::InDoubt(_) => "in_doubt",
        Outcome::Failed { .. } => "failed",
        Outcome::TicketStored => "ticket_stored",
        Outcome::Ignored { .. } => "ignored",
        Outcome::Superseded { .. } => "superseded",
        Outcome::Unreadable { .. } => "unreadable",
    }
}

pub(super) fn corpid_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Installed { corpid, .. }
        | Outcome::Changed { corpid }
        | Outcome::Cancelled { corpid }
        | Outcome::Reset { corpid }
        | Outcome::Superseded { corpid, .. } => Some(corpid.clone()),
        Outcome::Failed { corpid, .. } => corpid.clone(),
        _ => None,
    }
}

pub(super) fn detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        // JSON: a corp name or state may hold any character.
        Outcome::Installed { corp_name, state, .. } => {
            Some(serde_json::json!({ "corp_name": corp_name, "state": state }).to_string())
        }
        Outcome::InDoubt(d) => Some(doubt_detail(&d.id, &d.source, &d.reason)),
        Outcome::Failed { reason, .. } => Some(reason.clone()),
        _ => None,
    }
}

pub(super) fn outcome_of(kind: &str, corpid: Option<String>, detail: Option<String>, at: SystemTime) -> Outcome {
    let corp = || corpid.clone().unwrap_or_default();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match kind {
        "installed" => {
            let json: Option<serde_json::Value> = detail.as_deref().and_then(|d| serde_json::from_str(d).ok());
            let (name, state) = match &json {
                Some(v) => (
                    v["corp_name"].as_str().unwrap_or_default().to_string(),
                    v["state"].as_str().unwrap_or_default().to_string(),
                ),
                // Rows written before the JSON form: `name|state`.
                None => {
                    let (name, state) = detail.as_deref().and_then(|d| d.rsplit_once('|')).unwrap_or(("", ""));
                    (name.to_string(), state.to_string())
                }
            };
            Outcome::Installed {
                corpid: corp(),
                corp_name: nonempty(&name),
                state: nonempty(&state),
            }
        }
        "changed" => Outcome::Changed { corpid: corp() },
        "cancelled" => Outcome::Cancelled { corpid: corp() },
        "reset" => Outcome::Reset { corpid: corp() },
        "in_doubt" => {
            let json: Option<serde_json::Value> = detail.as_deref().and_then(|d| serde_json::from_str(d).ok());
            let field = |k: &str| json.as_ref().and_then(|v| v[k].as_str()).map(str::to_string);
            Outcome::InDoubt(InDoubt {
                id: field("id").unwrap_or_default(),
                source: field("source").unwrap_or_else(|| "callback or redirect".into()),
                claimed_at: at,
                // Rows written before the JSON form hold the reason alone.
                reason: field("reason").or(detail).unwrap_or_default(),
            })
        }
        _ => Outcome::Failed {
            corpid,
            reason: detail.unwrap_or_default(),
        },
    }
}
