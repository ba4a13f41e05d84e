//! Turning what the generated client returns into this crate's results:
//! the platforms' "HTTP 200 with a non-zero code" envelopes, non-200
//! answers, undecodable bodies and transport failures. Shared by both
//! platforms; everything from the server is redacted here.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use serde_json::Value;
use tracing::Instrument as _;

use crate::client::Shared;
use crate::error::TransportKind;
use crate::operation::Operation;
use crate::{Error, Secret, redact};

/// How much of a non-200 body is read for the error (the rest is dropped).
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// How many characters of it the error keeps.
const EXCERPT_CHARS: usize = 200;

/// The envelope keys of a platform.
#[derive(Clone, Copy)]
pub(crate) struct Envelope {
    pub code: &'static str,
    pub message: &'static str,
}

/// A decoded success answer's error envelope: its code and message, where
/// the success schema carries them. Implemented for every answer type by
/// the generated facade.
pub(crate) trait Answer {
    /// (code, message); `None` when absent.
    fn envelope(&self) -> (Option<i64>, Option<&str>);
}

/// The platforms' convention on a decoded success answer: an absent or zero
/// code is success, any other is a [`Error::Platform`].
pub(crate) fn accept<A: Answer>(call: &Call<'_>, answer: A) -> Result<A, Error> {
    match answer.envelope() {
        (Some(code), message) if code != 0 => Err(call.platform_error(code, message)),
        _ => Ok(answer),
    }
}

/// Interprets a 200 answer's body without a client, as a client with default
/// settings would (the platforms' `decode_answer`).
pub(crate) fn decode_offline<R: serde::de::DeserializeOwned, T>(
    operation: Operation,
    envelope: Envelope,
    body: &[u8],
    check: impl Fn(&Call<'_>, R) -> Result<T, Error>,
) -> Result<T, Error> {
    let shared = Shared::defaults();
    Call {
        operation,
        envelope,
        sent: &[],
        shared: &shared,
    }
    .decode(body, check)
}

/// A call in progress: what the errors need to know.
pub(crate) struct Call<'a> {
    pub operation: Operation,
    pub envelope: Envelope,
    /// The secret values this call sent, to redact from anything echoed.
    pub sent: &'a [&'a str],
    /// The client's retry policy, in-flight cap and body cap.
    pub shared: &'a Shared,
}

impl Call<'_> {
    /// Sends with `send` (the generated client's call), under the client's
    /// in-flight cap and retry policy, and turns each answer into this
    /// crate's result: `check` sees a decoded 200 answer and applies the
    /// platform's error-code convention. Traced as one span, one event per
    /// attempt.
    pub(crate) async fn run<R, T, F>(
        &self,
        send: impl Fn() -> F,
        check: impl Fn(&Self, R) -> Result<T, Error>,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<progenitor_client::ResponseValue<R>, progenitor_client::Error<()>>>,
    {
        let shared = self.shared;
        let span = self.span();
        // Timing is only for tracing: skipped when nobody listens.
        let traced = !span.is_disabled();
        let started = traced.then(Instant::now);
        let attempts = AtomicU32::new(0);
        let attempt = || async {
            let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            let _slot = match shared.permits.try_acquire() {
                Ok(slot) => slot,
                Err(_) => shared.permits.acquire().await.expect("the semaphore is never closed"),
            };
            let sent = traced.then(Instant::now);
            let result = match send().await {
                Ok(answer) => check(self, answer.into_inner()),
                Err(err) => Err(self.error(err).await),
            };
            let elapsed_ms = sent.map_or(0, |t| t.elapsed().as_millis() as u64);
            match &result {
                Ok(_) => {
                    tracing::debug!(target: "corp_auth", attempt = n, elapsed_ms, "attempt succeeded")
                }
                Err(err) => {
                    tracing::debug!(target: "corp_auth", attempt = n, elapsed_ms, error = %err, "attempt failed")
                }
            }
            result
        };
        let result = async {
            // The first attempt builds no retry state: most calls succeed.
            let mut result = attempt().await;
            // backon's jittered exponential schedule, only once needed.
            let mut delays: Option<backon::ExponentialBackoff> = None;
            while let Err(err) = &result {
                if !self.may_retry(err) {
                    break;
                }
                let next = delays.get_or_insert_with(|| shared.retry.backoff().build()).next();
                let retry_after = match err {
                    Error::Http { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let Some(delay) = shared.retry.next_delay(next, retry_after) else {
                    break;
                };
                tracing::debug!(target: "corp_auth", delay_ms = delay.as_millis() as u64, error = %err, "retrying");
                tokio::time::sleep(delay).await;
                result = attempt().await;
            }
            result
        }
        .instrument(span.clone())
        .await;
        if let Some(started) = started {
            span.record("attempts", attempts.load(Ordering::Relaxed));
            self.record(&span, started, &result);
        }
        result
    }

    /// Whether the library sends the call again after `err`: reads when the
    /// error is retryable; one-shot calls and writes (`x-idempotent: false`)
    /// only when nothing was sent.
    fn may_retry(&self, err: &Error) -> bool {
        if !self.operation.is_idempotent() {
            matches!(
                err,
                Error::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            )
        } else {
            err.is_retryable()
        }
    }

    /// The span of one call, under the `corp_auth` target. It records the
    /// operation and, once known, the outcome: never a secret, never the URL.
    fn span(&self) -> tracing::Span {
        tracing::info_span!(
            target: "corp_auth",
            "call",
            operation = self.operation.as_str(),
            platform = %self.operation.platform(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            code = tracing::field::Empty,
            outcome = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        )
    }

    /// Records how the call ended on `span` and logs it.
    fn record<T>(&self, span: &tracing::Span, started: Instant, result: &Result<T, Error>) {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        span.record("elapsed_ms", elapsed_ms);
        match result {
            Ok(_) => {
                span.record("status", 200);
                span.record("outcome", "ok");
                tracing::debug!(target: "corp_auth", parent: span, elapsed_ms, "call succeeded");
            }
            Err(err) => {
                if let Some(code) = err.code() {
                    span.record("code", code);
                }
                if let Some(status) = http_status(err) {
                    span.record("status", status);
                }
                span.record("outcome", error_kind(err));
                // Error's Display is redacted by construction.
                tracing::debug!(target: "corp_auth", parent: span, elapsed_ms, error = %err, "call failed");
            }
        }
    }

    /// The platform error for a non-zero code.
    pub(crate) fn platform_error(&self, code: i64, message: Option<&str>) -> Error {
        Error::Platform {
            operation: self.operation,
            code,
            message: redact::redact(message.unwrap_or_default(), self.sent),
            meaning: self.operation.platform().code_info(code),
        }
    }

    /// Maps a failure of the generated client.
    pub(crate) async fn error(&self, err: progenitor_client::Error<()>) -> Error {
        use progenitor_client::Error as E;
        match err {
            E::InvalidResponsePayload(body, cause) => self.undecodable(&body, &cause),
            E::UnexpectedResponse(response) => self.unexpected_status(response).await,
            E::CommunicationError(e) | E::InvalidUpgrade(e) => self.transport(e, false),
            E::ResponseBodyError(e) => self.transport(e, true),
            E::ErrorResponse(rv) => Error::Http {
                operation: self.operation,
                status: rv.status().as_u16(),
                code: None,
                excerpt: String::new(),
                retry_after: None,
            },
            E::InvalidRequest(reason) | E::Custom(reason) => Error::InvalidInput {
                parameter: "request",
                rule: redact::redact(&reason, self.sent),
            },
        }
    }

    /// A 200 whose body does not fit the response schema: a platform error
    /// envelope (橙讯 errors carry no `corp_secret`), or a decode error.
    fn undecodable(&self, body: &[u8], cause: &serde_json::Error) -> Error {
        match self.envelope_code(body) {
            Some((code, message)) if code != 0 => self.platform_error(code, message.as_deref()),
            _ => self.decode_error(describe_json_error(cause, self.sent)),
        }
    }

    /// Decodes a 200 answer's body as the generated client does, then
    /// applies `check`: the same path as [`Call::run`], without the network.
    pub(crate) fn decode<R: serde::de::DeserializeOwned, T>(
        &self,
        body: &[u8],
        check: impl Fn(&Self, R) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match serde_json::from_slice(body) {
            Ok(answer) => check(self, answer),
            Err(cause) => Err(self.undecodable(body, &cause)),
        }
    }

    /// Fails with [`Error::Decode`] when a guaranteed secret (required in the
    /// success schema) came back empty.
    pub(crate) fn nonempty(&self, value: &Secret, field: &str) -> Result<(), Error> {
        if value.is_empty() {
            return Err(self.decode_error(format!("{} is 0 but {field} is empty", self.envelope.code)));
        }
        Ok(())
    }

    pub(crate) fn decode_error(&self, reason: String) -> Error {
        Error::Decode {
            operation: self.operation,
            reason,
        }
    }

    async fn unexpected_status(&self, mut response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        // Delta-seconds only; an HTTP-date is ignored (the backoff applies).
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        // Best effort: the status is the error; a broken body only shortens
        // the excerpt.
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ERROR_BODY_LIMIT {
                body.truncate(ERROR_BODY_LIMIT);
                break;
            }
        }
        Error::Http {
            operation: self.operation,
            status,
            code: self.envelope_code(&body).map(|(code, _)| code),
            excerpt: redact::excerpt(&body, self.sent, EXCERPT_CHARS),
            retry_after,
        }
    }

    fn transport(&self, err: reqwest::Error, reading_body: bool) -> Error {
        if crate::limit::is_too_large(&err) {
            return Error::ResponseTooLarge {
                operation: self.operation,
                limit: self.shared.max_response_bytes,
            };
        }
        let kind = if reading_body {
            if err.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Body
            }
        } else if err.is_connect() {
            TransportKind::Connect
        } else if err.is_timeout() {
            TransportKind::Timeout
        } else if err.is_body() || err.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        // The URL carries the query-string secrets.
        Error::Transport {
            operation: self.operation,
            kind,
            source: err.without_url(),
        }
    }

    /// Reads `{code, message}` from a JSON object body, accepting the code
    /// as a number or a numeric string. `None` when there is no code.
    fn envelope_code(&self, body: &[u8]) -> Option<(i64, Option<String>)> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let code = match map.get(self.envelope.code)? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        let message = map
            .get(self.envelope.message)
            .and_then(Value::as_str)
            .map(str::to_string);
        Some((code, message))
    }
}

fn http_status(err: &Error) -> Option<u16> {
    match err {
        Error::Http { status, .. } => Some(*status),
        Error::Platform { .. } | Error::Decode { .. } | Error::ResponseTooLarge { .. } => Some(200),
        _ => None,
    }
}

fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::ResponseTooLarge { .. } => "response_too_large",
        Error::Platform { .. } => "platform_error",
        Error::InvalidInput { .. } => "invalid_input",
        Error::Config { .. } => "config_error",
        Error::SuiteTicketMissing { .. } => "suite_ticket_missing",
        Error::CoolingDown { .. } => "cooling_down",
        Error::Registry { .. } => "registry_error",
        Error::Callback { .. } => "callback_refused",
        Error::Transport { .. } => "transport_error",
        Error::Http { .. } => "http_error",
        Error::Decode { .. } => "decode_error",
    }
}

/// serde_json's message without the values it quotes (they come from the
/// body and may be secrets), plus where in the body it failed.
pub(crate) fn describe_json_error(err: &serde_json::Error, sent: &[&str]) -> String {
    let message = err.to_string();
    let message = match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if last > first => {
            format!("{}\"…\"{}", &message[..first], &message[last + 1..])
        }
        _ => message,
    };
    redact::redact(&message, sent)
}
