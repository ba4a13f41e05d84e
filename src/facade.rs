//! What the generated facade (`codegen/src/facade/`) calls besides
//! [`Call`](crate::response::Call): turning a caller's `&str` into the
//! constrained type the generated request holds.

use std::fmt::Display;
use std::future::Future;
use std::str::FromStr;

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
