//! What the generated facade (`codegen/src/facade/`) calls besides
//! [`Call`](crate::response::Call): turning a caller's `&str` into the
//! constrained type the generated request holds.

use std::fmt::Display;
use std::future::Future;
use std::str::FromStr;

use crate::wecom::AccessToken;
use crate::{Error, Operation, Secret};

/// A type that manages a credential for the calls that carry it: the type
/// a credential's `managed-by` names in the spec (`x-credentials`). Every
/// generated request on it runs through [`with_credential`]: the token is
/// cached and shared, and a rejection of it drops it and (unless the call is
/// one-shot) refreshes it once and replays the call once. A `managed-by`
/// naming a type without this trait does not compile.
///
/// [`with_credential`]: ManagedCredential::with_credential
pub(crate) trait ManagedCredential {
    /// Runs `call` with the managed credential of `operation`.
    async fn with_credential<T, F, Fut>(&self, operation: Operation, call: F) -> Result<T, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, Error>>;
}

/// A managed type that caches values fetched with its credential
/// (`x-cached-as` in the spec: the JS-SDK tickets of a [`Corp`]). The
/// generated method of each such value calls [`cached`]. A spec that puts
/// `x-cached-as` on an operation of a type without this trait does not
/// compile.
///
/// [`Corp`]: crate::wecom::Corp
/// [`cached`]: CachedValues::cached
pub(crate) trait CachedValues {
    /// The value `name`: cached under the credential it is fetched with
    /// (`fetch` gets that credential), never kept past it.
    async fn cached<F, Fut>(&self, name: &'static str, fetch: F) -> Result<Secret, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>;
}

/// What an `x-cached-as` operation returns (an `x-returns` type with a
/// lifetime), as the managed engine stores it: a secret and how long it
/// lives.
pub(crate) trait Cacheable {
    /// The value and its lifetime.
    fn into_token(self) -> AccessToken;
}

/// `value` as the generated request holds it (a constrained string newtype
/// or an enum of the spec); the error names the input and the rule, never
/// the value.
pub(crate) fn parse<T>(parameter: &'static str, value: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: Display,
{
    value.parse().map_err(|e: T::Err| Error::InvalidInput {
        parameter,
        rule: e.to_string(),
    })
}
