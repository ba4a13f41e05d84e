//! Raw calls on the managed types ([`Corp::get`], [`Corp::post`], and the
//! same on [`Suite`] and [`Provider`]): the escape hatch for a path the
//! spec does not have yet, with the managed credential, the error envelope,
//! the retries and the redaction of a generated call, decoded into the
//! caller's own type.
//!
//! A raw GET is a read (retried when the failure is transient). A raw POST
//! is a write: sent at most once once it may have reached WeCom (only a
//! connect error is retried), unless the caller marks it
//! [`idempotent`](RawCall::idempotent). A rejected credential is refreshed
//! and the call replayed once, as for every managed call (the rejection
//! codes mean WeCom did not act). Turning a raw call into a spec entry: the
//! README, "Adding an endpoint".

use std::future::IntoFuture;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Corp, Provider, Suite, calls::Pending};
use crate::raw::RawRequest;
use crate::{Error, Operation};

/// A raw request on a managed type (`M`), answered as `T`: `.await` sends
/// it. Built by `get` / `post` on [`Corp`], [`Provider`] and [`Suite`].
#[must_use = "a request does nothing until it is awaited"]
pub struct RawCall<'a, M, T> {
    on: &'a M,
    request: RawRequest<'a>,
    /// The body could not be serialized.
    body_error: Option<String>,
    idempotent: bool,
    answer: PhantomData<fn() -> T>,
}

impl<M, T> std::fmt::Debug for RawCall<'_, M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The query values and the body may hold secrets: only the route.
        f.debug_struct("RawCall")
            .field("method", &self.request.method)
            .field("path", &self.request.path)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

impl<'a, M, T> RawCall<'a, M, T> {
    fn new(on: &'a M, request: RawRequest<'a>, body_error: Option<String>) -> Self {
        let idempotent = request.method == reqwest::Method::GET;
        Self {
            on,
            request,
            body_error,
            idempotent,
            answer: PhantomData,
        }
    }

    /// Marks a POST as idempotent (a read sent as POST, or a write WeCom
    /// deduplicates): it is then retried like a read. Without it a raw
    /// POST is a write, sent at most once once it may have reached WeCom.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// The operation the call counts as: the managed type's raw read or
    /// raw write.
    fn operation(&self, read: Operation, write: Operation) -> Operation {
        if self.idempotent { read } else { write }
    }
}

/// `get`, `post` and `.await` of raw calls on a managed type whose raw
/// operations (generated from `x-credentials`) are `$read` and `$write`.
macro_rules! raw_calls {
    ($managed:ident, $read:ident, $write:ident) => {
        impl $managed {
            /// A raw GET of `path` (below the client's base URL, such as
            /// `/cgi-bin/agent/get`) with the query pairs `query` and the
            /// managed credential, answered as the caller's type `T`: the
            /// escape hatch for what the spec does not have yet (module
            /// [`raw`](crate::wecom::raw)). A read: retried when the failure
            /// is transient. A non-zero `errcode` is [`Error::Platform`].
            pub fn get<'a, T>(&'a self, path: &'a str, query: &'a [(&'a str, &'a str)]) -> RawCall<'a, Self, T> {
                let request = RawRequest {
                    method: reqwest::Method::GET,
                    path,
                    query,
                    body: None,
                };
                RawCall::new(self, request, None)
            }

            /// A raw POST of the JSON `body` to `path` with the managed
            /// credential, answered as the caller's type `T` (module
            /// [`raw`](crate::wecom::raw)). A write: never sent again once it
            /// may have reached WeCom, unless marked
            /// [`idempotent`](RawCall::idempotent).
            pub fn post<'a, T, B>(&'a self, path: &'a str, body: &B) -> RawCall<'a, Self, T>
            where
                B: Serialize + ?Sized,
            {
                let (body, error) = match serde_json::to_value(body) {
                    Ok(value) => (Some(value), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let request = RawRequest {
                    method: reqwest::Method::POST,
                    path,
                    query: &[],
                    body,
                };
                RawCall::new(self, request, error)
            }
        }

        impl<'a, T> IntoFuture for RawCall<'a, $managed, T>
        where
            T: DeserializeOwned + Send + 'a,
        {
            type Output = Result<T, Error>;
            type IntoFuture = Pending<'a, T>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(async move {
                    let operation = self.operation(Operation::$read, Operation::$write);
                    let credential = operation.credential().map_or("access_token", |c| c.name());
                    if let Some(reason) = self.body_error {
                        return Err(Error::InvalidInput {
                            parameter: "body",
                            rule: format!("must serialize to JSON: {reason}"),
                        });
                    }
                    self.request.check(credential)?;
                    let (on, request) = (self.on, &self.request);
                    crate::facade::ManagedCredential::with_credential(on, operation, |token| async move {
                        let client = on.client();
                        let sent = [token.expose_secret()];
                        let call = client.call(operation, &sent);
                        request.send(&client.api, &call, credential, &token).await
                    })
                    .await
                })
            }
        }
    };
}

raw_calls!(Corp, RawCorpRead, RawCorpWrite);
raw_calls!(Provider, RawProviderRead, RawProviderWrite);
raw_calls!(Suite, RawSuiteRead, RawSuiteWrite);
