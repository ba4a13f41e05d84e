//! What the generated facade (`codegen/facade.rs`) calls besides
//! [`Call`](crate::response::Call): turning a caller's `&str` into the
//! constrained type the generated request holds.

use std::fmt::Display;
use std::str::FromStr;

use crate::Error;

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
