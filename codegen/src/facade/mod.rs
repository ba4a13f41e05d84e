//! The public facade, generated from the spec: one safe method per
//! operation on the platform client and, where the operation carries a
//! managed credential, on the type that manages it (`x-credentials`).
//!
//! The generator only emits facts and plumbing: which inputs are checked
//! against which rule, which are secrets (redacted from anything echoed),
//! how the generated request is built, which answer fields are guaranteed,
//! what the method returns, and the doc comment. The behaviour (sending,
//! retries, the error envelope, redaction, token caching and the
//! refresh-and-replay on a rejected credential) is hand-written generic code
//! in `src/` that every method calls the same way.
//!
//! The calling convention v2 (README, "Adding an endpoint"):
//! - the method is named after the `operationId`;
//! - on the platform client the credential comes first (`&str`); on a
//!   managed type it is left out;
//! - then the required inputs, positional: path parameters in URL-template
//!   order, then required parameters in the `parameters` list's order, then
//!   required body properties in the `required` list's order (ordered data
//!   only: sorting the spec's mapping keys changes no signature), leaving
//!   out a single-value `enum` and a header with a `default` (the client
//!   sends those); a string is `&str`, an integer or boolean its generated
//!   type, an array `&[T]`, any other object `&types::T`; `x-arguments`
//!   names a hand-written type instead (converted with `Into`);
//! - the method returns a request value (`calls::<Operation>`): each
//!   optional input is a setter named after it, left out of the JSON when
//!   not set; it implements `IntoFuture`, so `.await` checks the inputs
//!   (before any token is fetched) and sends it;
//! - `.await` gives the success branch of the 200 answer, `()` when the
//!   answer is the error envelope alone, the type named by `x-returns`
//!   (built from the answer's guaranteed secret and `expires_in`), or the
//!   field named by `x-returns-field`.

//!
//! Three steps, one module each: [`index`] reads what the generated client
//! offers (its methods and types, never guessed from the spec); [`plan`]
//! decides, per operation, where each value of the generated request comes
//! from and what the caller passes; [`emit`] writes the facade with
//! `quote!`.

mod emit;
mod index;
mod plan;

use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, PathItem};

use super::model::Model;
use super::{is_secret, resolve, resolve_parameter};

pub use super::model::CredentialDef;
pub use emit::facade_code;

/// The credential an operation carries: its query parameter named after a
/// credential of `x-credentials`, or `x-credential` (which names the kind of
/// the operation's credential parameter when its name says otherwise).
pub fn operation_credential(
    spec: &OpenAPI,
    item: &PathItem,
    op: &Operation,
    model: &Model,
    place: &str,
) -> Result<Option<String>, String> {
    let credentials = &model.credentials;
    let mut found = None;
    for p in effective_parameters(spec, item, op)? {
        let Parameter::Query { parameter_data, .. } = p else {
            continue;
        };
        if credentials.iter().any(|c| c.name == parameter_data.name) {
            if found.is_some() {
                return Err(format!("{place}: more than one credential parameter"));
            }
            let secret = match &parameter_data.format {
                ParameterSchemaOrContent::Schema(s) => is_secret(&resolve(spec, s)?),
                ParameterSchemaOrContent::Content(_) => false,
            };
            if !secret || !parameter_data.required {
                return Err(format!(
                    "{place}: the credential parameter `{}` must be required and `format: password`",
                    parameter_data.name
                ));
            }
            found = Some(parameter_data.name.clone());
        }
    }
    let id = op.operation_id.as_deref().unwrap_or_default();
    match &model.operation(id).credential {
        None => Ok(found),
        Some(kind) => {
            if found.is_none() {
                return Err(format!("{place}: `x-credential` but no credential parameter"));
            }
            Ok(Some(kind.clone()))
        }
    }
}

/// The operation's parameters: the path item's, overridden by the
/// operation's, in YAML order (the path item's first).
pub(crate) fn effective_parameters<'s>(
    spec: &'s OpenAPI,
    item: &'s PathItem,
    op: &'s Operation,
) -> Result<Vec<&'s Parameter>, String> {
    let mut out: Vec<&Parameter> = Vec::new();
    for p in item.parameters.iter().chain(&op.parameters) {
        let p = resolve_parameter(spec, p)?;
        let key = |p: &Parameter| (std::mem::discriminant(p), p.parameter_data_ref().name.clone());
        if let Some(i) = out.iter().position(|q| key(q) == key(p)) {
            out[i] = p;
        } else {
            out.push(p);
        }
    }
    Ok(out)
}
