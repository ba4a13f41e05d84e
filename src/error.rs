//! [`Error`]: what a call can fail with.

use std::fmt;

use crate::codes::{CodeInfo, Platform};

/// The operation a call made: tells the platform and whether it is one-shot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// 橙讯 `GET /corp-service/v1/corp-secrets`: one-shot, the
    /// `temp_corp_secret` is invalid once exchanged.
    ExchangeCorpSecret,
    /// WeCom `POST /cgi-bin/service/get_auth_info`: a read, safe to repeat.
    GetAuthInfo,
}

impl Operation {
    /// The platform this operation belongs to.
    pub fn platform(self) -> Platform {
        match self {
            Operation::ExchangeCorpSecret => Platform::Chengxun,
            Operation::GetAuthInfo => Platform::Wecom,
        }
    }

    /// True when sending the request twice can do harm: the platform acts on
    /// it once and answers the second one with an error.
    pub fn is_one_shot(self) -> bool {
        matches!(self, Operation::ExchangeCorpSecret)
    }

    /// The operationId in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ExchangeCorpSecret => "exchange_corp_secret",
            Operation::GetAuthInfo => "get_auth_info",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.platform(), self.as_str())
    }
}

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
    #[error("{operation}: platform error {code}: {message}{}", meaning_suffix(*.meaning))]
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
    #[error("{operation}: unexpected HTTP status {status}{}: {excerpt}{}", code_suffix(*.code), one_shot_status_warning(*.operation))]
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

    /// A 200 answer whose body is not what the spec describes.
    #[error("{operation}: the answer could not be decoded: {reason}{}", one_shot_status_warning(*.operation))]
    Decode {
        /// The call that was answered.
        operation: Operation,
        /// What is wrong, with the position in the body; no body content.
        reason: String,
    },
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

fn meaning_suffix(meaning: Option<&CodeInfo>) -> String {
    meaning.map(|m| format!(" ({})", m.meaning)).unwrap_or_default()
}

fn code_suffix(code: Option<i64>) -> String {
    code.map(|c| format!(" with code {c}")).unwrap_or_default()
}

const ONE_SHOT_WARNING: &str = "; the request may have reached the platform: the \
    temp_corp_secret may have been consumed, so do not send it again (a repeat \
    may answer 40007); ask the organization's admin for a new one if no corp_secret arrives";

fn one_shot_warning(operation: Operation, kind: TransportKind) -> &'static str {
    if operation.is_one_shot() && kind != TransportKind::Connect {
        ONE_SHOT_WARNING
    } else {
        ""
    }
}

fn one_shot_status_warning(operation: Operation) -> &'static str {
    if operation.is_one_shot() { ONE_SHOT_WARNING } else { "" }
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
            | Error::ResponseTooLarge { operation, .. } => Some(*operation),
            Error::InvalidInput { .. } | Error::Config { .. } => None,
        }
    }

    /// True when the failure is transient and sending the same call again
    /// later is both useful and safe: WeCom `-1` and `45033`, 橙讯 `55001`,
    /// connect errors, and for reads also timeouts, broken answers and HTTP
    /// 429/502/503/504.
    ///
    /// For the one-shot 橙讯 exchange, a failure after the request may have
    /// reached the platform is never retryable, whatever its kind: the
    /// `temp_corp_secret` may have been consumed (see
    /// [`Error::request_may_have_been_processed`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Platform { meaning, .. } => meaning.is_some_and(|m| m.retryable),
            Error::Transport { operation, kind, .. } => *kind == TransportKind::Connect || !operation.is_one_shot(),
            Error::Http { operation, status, .. } => {
                !operation.is_one_shot() && matches!(status, 429 | 502 | 503 | 504)
            }
            Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::Decode { .. }
            | Error::ResponseTooLarge { .. } => false,
        }
    }

    /// True when the request may have reached the platform and been acted on
    /// although no usable answer came back (a timeout, a broken connection, a
    /// gateway error, an undecodable answer). For the one-shot exchange this
    /// means the `temp_corp_secret` may be spent.
    pub fn request_may_have_been_processed(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportKind::Connect,
            Error::Http { .. } | Error::Decode { .. } | Error::ResponseTooLarge { .. } => true,
            Error::Platform { .. } | Error::InvalidInput { .. } | Error::Config { .. } => false,
        }
    }
}
