//! [`Error`]: what a call can fail with.

use std::fmt;

use crate::codes::CodeInfo;
use crate::operation::Operation;

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made (refused, DNS, TLS handshake, connect
    /// timeout): nothing was sent.
    Connect,
    /// The request was sent, or may have been, and no complete answer came
    /// within the timeout.
    Timeout,
    /// The connection failed while the answer was being read.
    Body,
    /// Any other failure after the connection was made.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "reading the answer",
            TransportKind::Other => "request",
        })
    }
}

/// Every failure of this crate. No variant holds or prints a secret: text that
/// comes from the server is redacted before it is stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with a non-zero `err_code` / `errcode`.
    #[error("{operation}: platform error {code}: {message}{}{}", meaning_suffix(message, *.meaning), not_acted_note(*.operation, *.code))]
    Platform {
        /// The call that was answered.
        operation: Operation,
        /// The platform's code.
        code: i64,
        /// The platform's message, verbatim (empty when it sent none).
        message: String,
        /// The catalog's entry, when the code is documented.
        meaning: Option<&'static CodeInfo>,
    },

    /// An input broke the spec's rules; nothing was sent.
    #[error("invalid `{parameter}`: {rule} (nothing was sent)")]
    InvalidInput {
        /// The parameter's name on the wire.
        parameter: &'static str,
        /// The rule it broke.
        rule: String,
    },

    /// The client could not be built from the given settings.
    #[error("invalid client configuration: {setting}: {reason}")]
    Config {
        /// The builder setting at fault.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The request failed below HTTP (connect, timeout, TLS, reading).
    #[error("{operation}: transport error ({kind}): {}{}", causes(.source), one_shot_warning(*.operation, *.kind))]
    Transport {
        /// The call that failed.
        operation: Operation,
        /// Where it failed.
        kind: TransportKind,
        /// The underlying error, its URL (which holds secrets) removed.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with an HTTP status other than 200.
    #[error("{operation}: unexpected HTTP status {status}{}: {excerpt}{}", code_suffix(*.code), status_note(*.operation, *.status))]
    Http {
        /// The call that was answered.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// The platform code, when the body was a JSON envelope carrying one.
        code: Option<i64>,
        /// The start of the body, secrets redacted, whitespace collapsed.
        excerpt: String,
        /// The `Retry-After` header, when it gave a number of seconds.
        retry_after: Option<std::time::Duration>,
    },

    /// The answer's body was larger than
    /// [`max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// (declared or delivered); it was not buffered.
    #[error("{operation}: the answer is larger than the {limit}-byte limit{}", one_shot_status_warning(*.operation))]
    ResponseTooLarge {
        /// The call that was answered.
        operation: Operation,
        /// The limit, in bytes.
        limit: u64,
    },

    /// A managed [`Suite`](crate::wecom::Suite) holds no valid
    /// `suite_ticket`, so it cannot get a `suite_access_token`; nothing was
    /// sent.
    #[error(
        "no valid suite_ticket for suite {suite_id} (nothing was sent): WeCom pushes one to the suite's \
         callback URL about every 10 minutes (valid 30 minutes); store each with Suite::set_suite_ticket or \
         Suite::handle_event. If none arrives, check the callback URL, or re-push one from the provider \
         console (服务商管理后台 → 应用详情 → 刷新Ticket)"
    )]
    SuiteTicketMissing {
        /// The suite.
        suite_id: String,
    },

    /// WeCom answered a call of this kind with a rate-limit code (45009
    /// 接口调用超过限制, 45011 API调用太频繁) and blocks the caller for a
    /// while: the library refuses such calls locally until the cool-down
    /// ends, so every instance does not keep calling into the block (which
    /// WeCom counts, and lengthens). Nothing was sent.
    /// [`is_retryable`](Error::is_retryable) is true and
    /// [`retry_after`](Error::retry_after) says how long to wait.
    #[error(
        "{operation}: not sent: WeCom answered a call of this kind with {code} ({}) and blocks it for a while; \
         cooling down for another {}s (until unix time {})",
        cool_down_meaning(*.operation, *.code),
        remaining(*.until).as_secs().max(1),
        .until.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    )]
    CoolingDown {
        /// The call that was refused.
        operation: Operation,
        /// The rate-limit code that started the cool-down.
        code: i64,
        /// When the cool-down ends.
        until: std::time::SystemTime,
    },

    /// The durable install registry ([`wecom::Installs`](crate::wecom::Installs)
    /// on PostgreSQL) failed: the database is unreachable or refused a
    /// statement, or a stored value does not open with the configured keys.
    /// The message says which, and holds no secret. A callback answered with
    /// this error was not made durable: answer WeCom with an error status
    /// (not `success`), so it reports a failed delivery instead of the ISV
    /// silently losing it.
    #[error("install registry: {reason}")]
    Registry {
        /// What failed.
        reason: String,
    },

    /// A callback failed a check ([`Crypto`](crate::wecom::callback::Crypto)):
    /// `kind` says which. Nothing of it was used.
    #[error("callback refused: {kind}")]
    Callback {
        /// Which check failed.
        kind: CallbackFailure,
    },

    /// A 200 answer whose body is not what the spec describes.
    #[error("{operation}: the answer could not be decoded: {reason}{}", one_shot_status_warning(*.operation))]
    Decode {
        /// The call that was answered.
        operation: Operation,
        /// What is wrong, with the position in the body; no body content.
        reason: String,
    },
}

fn remaining(until: std::time::SystemTime) -> std::time::Duration {
    until.duration_since(std::time::SystemTime::now()).unwrap_or_default()
}

fn cool_down_meaning(operation: Operation, code: i64) -> &'static str {
    operation
        .platform()
        .code_info(code)
        .map_or("rate limited", |info| info.meaning)
}

/// The error and its causes, `: `-separated ("error sending request: client
/// error (Connect): tcp connect error: Connection refused"). reqwest's
/// top-level message alone does not say what went wrong.
fn causes(err: &reqwest::Error) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The catalog's meaning, unless the platform's own text already says it.
fn meaning_suffix(message: &str, meaning: Option<&CodeInfo>) -> String {
    match meaning {
        Some(m) if m.meaning != message => format!(" ({})", m.meaning),
        _ => String::new(),
    }
}

/// True when `code` answers that the call's credential was rejected.
fn credential_rejected(operation: Operation, code: i64) -> bool {
    operation.credential().is_some_and(|c| c.rejects(code))
}

/// For a one-shot call whose credential was rejected: what that means for
/// its one-time input (the spec says whether the rejection proves it was
/// not consumed).
fn not_acted_note(operation: Operation, code: i64) -> String {
    if !operation.is_one_shot() || !credential_rejected(operation, code) {
        return String::new();
    }
    let credential = operation.credential().map_or("credential", |c| c.name());
    let input = operation.one_shot_input();
    if operation.kept_on_credential_rejection() {
        format!(
            "; the platform rejected the {credential} and did not act on the call: the {input} was not \
             consumed, so refresh the {credential} and send it again"
        )
    } else {
        format!(
            "; the platform rejected the {credential}; whether the {input} was consumed is not documented, \
             so the library treats it as spent and does not send it again{}",
            note(operation)
        )
    }
}

fn note(operation: Operation) -> String {
    match operation.one_shot_note() {
        "" => String::new(),
        note => format!(" {note}"),
    }
}

fn code_suffix(code: Option<i64>) -> String {
    code.map(|c| format!(" with code {c}")).unwrap_or_default()
}

/// What a one-shot call that may have been processed means for its caller.
fn one_shot_consequence(operation: Operation) -> String {
    format!(
        "; the request may have reached the platform: the {} may have been consumed, so do not send it again{}",
        operation.one_shot_input(),
        note(operation)
    )
}

/// What a write (`x-idempotent: false`) that may have been processed means
/// for its caller.
fn write_consequence() -> String {
    "; the request may have reached the platform and been acted on: the library does not send this write \
     again (a second request could act twice), so check whether it took effect before sending it again"
        .to_string()
}

fn one_shot_warning(operation: Operation, kind: TransportKind) -> String {
    if kind == TransportKind::Connect {
        String::new()
    } else {
        one_shot_status_warning(operation)
    }
}

/// What an unexpected HTTP status means. 404 and 405 say the route does not
/// exist at this base URL, which points at a wrong base URL; the platform
/// then most likely never acted, but a proxy in front of it could answer so
/// after forwarding, so a one-shot call's credential is still treated as
/// possibly consumed (the guarantee stays conservative).
fn status_note(operation: Operation, status: u16) -> String {
    if !matches!(status, 404 | 405) {
        return one_shot_status_warning(operation);
    }
    let default = operation.server_url();
    let mut note = format!(
        "; the server has no such route: check the base URL (the spec's is {default}; a base URL missing its \
         path stem, such as 橙讯's `/api`, answers exactly this)"
    );
    if operation.is_one_shot() {
        note.push_str(
            "; the platform most likely never saw the call, but that cannot be proven from here, so the \
             library does not send it again and treats its one-time credential as possibly consumed: fix \
             the base URL, then decide yourself whether to send it once more",
        );
    } else if !operation.is_idempotent() {
        note.push_str(
            "; the platform most likely never saw the call, but that cannot be proven from here, so the \
             library does not send this write again: fix the base URL, then decide yourself whether to send \
             it once more",
        );
    }
    note
}

fn one_shot_status_warning(operation: Operation) -> String {
    if operation.is_one_shot() {
        one_shot_consequence(operation)
    } else if !operation.is_idempotent() {
        write_consequence()
    } else {
        String::new()
    }
}

impl Error {
    /// The platform's code, when it answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Platform { code, .. } => Some(*code),
            Error::Http { code, .. } => *code,
            _ => None,
        }
    }

    /// The operation the error comes from (`None` for input and
    /// configuration errors).
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Error::Platform { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Http { operation, .. }
            | Error::Decode { operation, .. }
            | Error::ResponseTooLarge { operation, .. }
            | Error::CoolingDown { operation, .. } => Some(*operation),
            Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::SuiteTicketMissing { .. }
            | Error::Registry { .. }
            | Error::Callback { .. } => None,
        }
    }

    /// How long to wait before sending the call again, when that is known: the
    /// rest of a rate-limit cool-down ([`Error::CoolingDown`]), or an HTTP
    /// `Retry-After` of a number of seconds.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::CoolingDown { until, .. } => Some(remaining(*until)),
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when the failure is transient and sending the same call again
    /// later is both useful and safe: WeCom `-1` and `45033`, 橙讯 `55001`,
    /// connect errors, and for reads also timeouts, broken answers and HTTP
    /// 429/502/503/504.
    ///
    /// For a one-shot call (the 橙讯 exchange, WeCom's
    /// `get_permanent_code(_v2)` and `getuserinfo3rd`) and for a write
    /// (`x-idempotent: false`, [`Operation::is_idempotent`]), a failure after
    /// the request may have reached the platform is never retryable,
    /// whatever its kind: the credential may have been consumed, or the
    /// write may have acted (see [`Error::request_may_have_been_processed`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Platform { meaning, .. } => meaning.is_some_and(|m| m.retryable),
            // Nothing was sent; the same call succeeds once the cool-down
            // ends (`retry_after`).
            Error::CoolingDown { .. } => true,
            // The database may be back (key problems are `Config`).
            Error::Registry { .. } => true,
            Error::Transport { operation, kind, .. } => *kind == TransportKind::Connect || operation.is_idempotent(),
            Error::Http { operation, status, .. } => {
                operation.is_idempotent() && matches!(status, 429 | 502 | 503 | 504)
            }
            Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::SuiteTicketMissing { .. }
            | Error::Callback { .. }
            | Error::Decode { .. }
            | Error::ResponseTooLarge { .. } => false,
        }
    }

    /// True when the request may have reached the platform and been acted on
    /// although no usable answer came back (a timeout, a broken connection, a
    /// gateway error, an undecodable answer). For a one-shot call this means
    /// the credential it carried may be spent: the `temp_corp_secret` of the
    /// 橙讯 exchange, the `auth_code` of WeCom's `get_permanent_code(_v2)`.
    /// For a write (`x-idempotent: false`) it means the write may have acted:
    /// sending it again could act twice (a message delivered twice).
    ///
    /// False for a platform error code: the platform answered and says what
    /// it did (a WeCom 40082/42009 token rejection means it did not act).
    /// The one exception: a one-shot call whose credential was rejected,
    /// where the spec does not say the one-time input survives (WeCom's
    /// `getuserinfo3rd` `code`): it is treated as possibly consumed.
    pub fn request_may_have_been_processed(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportKind::Connect,
            Error::Http { .. } | Error::Decode { .. } | Error::ResponseTooLarge { .. } => true,
            Error::Platform { operation, code, .. } => {
                operation.is_one_shot()
                    && credential_rejected(*operation, *code)
                    && !operation.kept_on_credential_rejection()
            }
            Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::SuiteTicketMissing { .. }
            | Error::CoolingDown { .. }
            | Error::Registry { .. }
            | Error::Callback { .. } => false,
        }
    }
}

/// Why a callback was refused; the kind of [`Error::Callback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallbackFailure {
    /// `msg_signature` does not match: not from WeCom, or another token.
    Signature,
    /// The message was encrypted for another receive id (suite or corp).
    ReceiveId,
    /// The ciphertext (or `echostr`) is not valid Base64.
    Base64,
    /// The ciphertext is empty or not a multiple of the 16-byte AES block.
    BlockSize,
    /// The PKCS#7 padding is not 1..=32 bytes all equal to their count.
    Padding,
    /// The length field points past the end of the plaintext.
    Length,
    /// The message is not UTF-8.
    Utf8,
    /// The body is not the expected XML (no `Encrypt`), or the decrypted
    /// event is not XML WeCom could have sent (no `InfoType`, a required
    /// field missing, a `TimeStamp` that is not a number).
    Xml,
    /// `timestamp` is older than the configured maximum age, or not a
    /// number when a maximum age is set.
    Expired,
}

impl std::fmt::Display for CallbackFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallbackFailure::Signature => "the msg_signature does not match (wrong token, or not from WeCom)",
            CallbackFailure::ReceiveId => "the message is for another receive id (suite id or corpid)",
            CallbackFailure::Base64 => "the ciphertext is not valid Base64",
            CallbackFailure::BlockSize => "the ciphertext is not a non-empty multiple of 16 bytes",
            CallbackFailure::Padding => "the padding is invalid (wrong EncodingAESKey?)",
            CallbackFailure::Length => "the length field points past the end of the message",
            CallbackFailure::Utf8 => "the message is not UTF-8",
            CallbackFailure::Xml => "the XML is not what WeCom sends",
            CallbackFailure::Expired => "the timestamp is older than the allowed age",
        })
    }
}
