//! The response-body cap: a body wrapper that fails as soon as the answer
//! declares or delivers more bytes than allowed, so an oversized or endless
//! body is refused without being buffered.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Default cap on a response body: 4 MiB. A `get_auth_info` answer for a
/// corp with a thousand agents is well under 1 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// The error a capped body yields; found again in the reqwest error's
/// source chain and reported as [`Error::ResponseTooLarge`](crate::Error).
#[derive(Debug)]
pub(crate) struct BodyTooLarge;

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response body over the size limit")
    }
}

impl std::error::Error for BodyTooLarge {}

/// Wraps `response`'s body with the cap.
pub(crate) fn cap(response: reqwest::Response, limit: u64) -> reqwest::Response {
    let declared = response.content_length();
    // A declared length within the limit needs no wrapper: hyper never
    // delivers more than the Content-Length it read. (The wrapper's round
    // trip through http::Response costs a URL parse and an allocation per
    // call, measurable in `cargo bench`.)
    if declared.is_some_and(|n| n <= limit) {
        return response;
    }
    let declared_too_large = declared.is_some();
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, inner) = response.into_parts();
    let body = Capped {
        inner,
        remaining: limit,
        declared_too_large,
    };
    reqwest::Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(body)))
}

struct Capped {
    inner: reqwest::Body,
    remaining: u64,
    declared_too_large: bool,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.declared_too_large {
            return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                match self.remaining.checked_sub(len) {
                    Some(rest) => {
                        self.remaining = rest;
                        Poll::Ready(Some(Ok(frame)))
                    }
                    None => Poll::Ready(Some(Err(Box::new(BodyTooLarge)))),
                }
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            other => other.map(|f| f.map(|r| r.map_err(|e| Box::new(e) as Self::Error))),
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.declared_too_large && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// True when `err` (or a cause of it) is the cap's.
pub(crate) fn is_too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.is::<BodyTooLarge>() {
            return true;
        }
        source = e.source();
    }
    false
}
