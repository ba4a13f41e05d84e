//! Code generation from the OpenAPI specs, shared by corp-auth's build.rs and
//! the `xtask spec-diff` command (both depend on this crate), so the code
//! that is reviewed is generated with exactly the settings the crate builds
//! with.
//!
//! - [`model`]: the spec language (every `x-` extension, where it stands and
//!   what it must be), read once and strictly;
//! - [`build_outputs`]: everything build.rs writes for one spec;
//! - [`facade`]: the public facade, one safe method per operation;
//! - `operations.rs`: one [`OperationFact`] per operation, and the
//!   operations' code and table;
//! - `facts.rs`: [`SpecFacts`] (base URL, headers, input rules, secret
//!   names) and the schema look-ups they share.
//!
//! Every `type: string, format: password` schema becomes `crate::Secret` in
//! the client (a redacting type) and a plain `String` in the mock helpers
//! (tests must be able to match the exact value they expect on the wire).

pub mod facade;
mod facts;
pub mod model;
mod operations;

pub use facts::*;
pub use operations::*;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, StringType, Type};
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle};
use schemars08::schema::{InstanceType, SchemaObject, StringValidation};

/// Everything build.rs generates from one spec.
pub struct BuildOutputs {
    /// The client and its types (`<spec>.rs`).
    pub client: String,
    /// The typed httpmock helpers (`<spec>_mock.rs`).
    pub mock: String,
    /// The spec facts, as data.
    pub facts: SpecFacts,
    /// The spec facts as code (`<spec>_spec.rs`).
    pub facts_code: String,
    /// The operations, for the `Operation` enum (`operations.rs`).
    pub operations: Vec<OperationFact>,
    /// The public facade: one safe method per operation on the platform
    /// client and on the managed type of its credential (`<spec>_facade.rs`).
    pub facade: String,
    /// The credentials of `x-credentials`.
    pub credentials: Vec<facade::CredentialDef>,
    /// The names of every secret input and answer field (`format:
    /// password`): the keys after which server text is redacted.
    pub secret_keys: Vec<String>,
}

/// Runs every generation step build.rs runs for spec `name`; an error is the
/// one the build fails with.
pub fn build_outputs(name: &str, spec: &OpenAPI) -> Result<BuildOutputs, String> {
    let model = model::Model::read(spec)?;
    let facts = spec_fact_data(spec)?;
    let client = client_file(spec)?;
    let operations = operations(name, spec, &model)?;
    let credentials = model.credentials.clone();
    Ok(BuildOutputs {
        facade: facade::facade_code(spec, &client, &operations, &model, &facts)?,
        client: unparse(&client),
        mock: mock_code(spec, &format!("crate::{name}::api"))?,
        facts_code: spec_facts(&facts),
        facts,
        operations,
        credentials,
        secret_keys: secret_names(spec)?,
    })
}

/// The generated client (types and methods) of `spec`, formatted.
pub fn client_code(spec: &OpenAPI) -> Result<String, String> {
    Ok(unparse(&client_file(spec)?))
}

fn client_file(spec: &OpenAPI) -> Result<syn::File, String> {
    let spec = &client_view(spec)?;
    let secrets = secret_schemas(spec)?;
    let tokens = run_generator(spec, &secrets, "crate::Secret", |g, s| g.generate_tokens(s))?;
    let mut file = parse_code(tokens)?;
    mark_answer_types(&mut file);
    Ok(file)
}

/// progenitor's typed httpmock helpers for `spec`, formatted; `crate_path`
/// is where the generated client's module lives.
pub fn mock_code(spec: &OpenAPI, crate_path: &str) -> Result<String, String> {
    let spec = &client_view(spec)?;
    let secrets = secret_schemas(spec)?;
    let tokens = run_generator(spec, &secrets, "::std::string::String", |g, s| {
        g.httpmock(s, crate_path)
    })?;
    format_code(tokens)
}

// ---------------------------------------------------------------------------
// Answers: success or error envelope.
//
// Both platforms answer errors as HTTP 200 with the same content type, so the
// specs describe a 200 truthfully as `anyOf: [<success>, <error envelope>]`
// (the envelope is the component schema marked `x-error-envelope: true`).
// The client decodes the success branch, whose `required` fields are what the
// platform guarantees on success and come out as non-`Option` fields; an
// answer that does not fit it is read by the hand-written layer as the error
// envelope (src/response.rs). progenitor is therefore given the success
// branch alone.

/// `spec` as the generated client sees it: every `anyOf`/`oneOf` of a
/// success schema and the error envelope replaced by the success schema.
pub fn client_view(spec: &OpenAPI) -> Result<OpenAPI, String> {
    let envelopes = error_envelopes(spec);
    let mut view = spec.clone();
    // A property with a single integer value is sent by the facade itself
    // (`facade.rs`); typify has no integer enums, so it is a plain integer
    // to the generated client.
    if let Some(components) = &mut view.components {
        for schema in components.schemas.values_mut() {
            let ReferenceOr::Item(Schema {
                schema_kind: SchemaKind::Type(Type::Object(o)),
                ..
            }) = schema
            else {
                continue;
            };
            for prop in o.properties.values_mut() {
                if let ReferenceOr::Item(p) = prop
                    && let SchemaKind::Type(Type::Integer(i)) = &mut p.schema_kind
                    && i.enumeration.len() == 1
                {
                    i.enumeration.clear();
                }
            }
        }
    }
    for (path, item) in view.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        let ops = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ];
        for (method, op) in ops.into_iter().filter_map(|(m, op)| op.as_mut().map(|op| (m, op))) {
            for (status, response) in op.responses.responses.iter_mut() {
                let ReferenceOr::Item(response) = response else {
                    continue;
                };
                for (media, content) in response.content.iter_mut() {
                    let place = format!("paths.{path}.{method}.responses.{status}.{media}");
                    if let Some(schema) = &mut content.schema
                        && let Some(success) = success_branch(&place, schema, &envelopes)?
                    {
                        *schema = success;
                    }
                }
            }
        }
    }
    Ok(view)
}

/// `#/components/schemas/<name>` of every schema marked `x-error-envelope`.
fn error_envelopes(spec: &OpenAPI) -> Vec<String> {
    let Some(components) = &spec.components else {
        return Vec::new();
    };
    components
        .schemas
        .iter()
        .filter(|(_, s)| match s {
            ReferenceOr::Item(s) => {
                s.schema_data.extensions.get("x-error-envelope") == Some(&serde_json::Value::Bool(true))
            }
            ReferenceOr::Reference { .. } => false,
        })
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect()
}

/// The success branch of an `anyOf`/`oneOf` that names an error envelope;
/// `None` when the schema is not such a union.
fn success_branch(
    place: &str,
    schema: &ReferenceOr<Schema>,
    envelopes: &[String],
) -> Result<Option<ReferenceOr<Schema>>, String> {
    let ReferenceOr::Item(s) = schema else { return Ok(None) };
    let (SchemaKind::AnyOf { any_of: branches } | SchemaKind::OneOf { one_of: branches }) = &s.schema_kind else {
        return Ok(None);
    };
    let is_envelope =
        |b: &ReferenceOr<Schema>| matches!(b, ReferenceOr::Reference { reference } if envelopes.contains(reference));
    if !branches.iter().any(is_envelope) {
        return Ok(None);
    }
    let rest: Vec<_> = branches.iter().filter(|b| !is_envelope(b)).collect();
    match rest.as_slice() {
        [success] => Ok(Some((*success).clone())),
        _ => Err(format!(
            "{place}: an answer that names the error envelope must have exactly one other branch (the success), found {}",
            rest.len()
        )),
    }
}

pub fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// YAML → OpenAPI, with the line of a syntax error and the path of a
/// structural one (`paths./x.get.parameters[0]: missing field ...`).
pub fn parse(text: &str) -> Result<OpenAPI, String> {
    // The `x-` keys as written (openapiv3 drops some, such as one beside a
    // `$ref`): every one must be of the spec language, where it belongs.
    if let Ok(raw) = serde_yaml_ng::from_str::<serde_json::Value>(text) {
        model::check_keys(&raw)?;
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." || path.is_empty() {
            format!("not a valid OpenAPI 3.0 document: {}", e.inner())
        } else {
            format!("not a valid OpenAPI 3.0 document at `{path}`: {}", e.inner())
        }
    })
}

fn settings(secrets: &[SchemaObject], secret_type: &str) -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_inner_type(quote::quote!(crate::client::Hooks))
        // Losing the hand-written hooks (body cap, timeouts, user agent)
        // must be a compile error, not a silent fallback to no hooks.
        .with_hooks(HooksMode::Expected)
        .with_derive("schemars::JsonSchema");
    for schema in secrets {
        settings.with_conversion(schema.clone(), secret_type, std::iter::empty());
    }
    settings
}

fn run_generator(
    spec: &OpenAPI,
    secrets: &[SchemaObject],
    secret_type: &str,
    f: impl FnOnce(&mut Generator, &OpenAPI) -> Result<proc_macro2::TokenStream, progenitor::Error>,
) -> Result<proc_macro2::TokenStream, String> {
    let mut generator = Generator::new(&settings(secrets, secret_type));
    f(&mut generator, spec).map_err(|e| format!("progenitor rejected the spec: {e}"))
}

fn format_code(tokens: proc_macro2::TokenStream) -> Result<String, String> {
    Ok(unparse(&parse_code(tokens)?))
}

fn parse_code(tokens: proc_macro2::TokenStream) -> Result<syn::File, String> {
    syn::parse2(tokens).map_err(|e| format!("progenitor produced code that does not parse: {e}"))
}

fn unparse(file: &syn::File) -> String {
    format!(
        "// Generated by build.rs from openapi/ with progenitor. Do not edit.\n{}",
        prettyplease::unparse(file)
    )
}

// ---------------------------------------------------------------------------
// Semver policy of the generated types.
//
// The platforms add answer fields and values all the time; the types that
// only answers use (no request reaches them) are `#[non_exhaustive]`, so a
// new optional answer field is a minor release: code reads them, and builds
// one (a mock answer, a test) by deserializing JSON. Request types stay
// exhaustive so callers of the generated client can build them with struct
// literals; a new field there is a major release, and `cargo xtask
// spec-diff` says so.

/// Adds `#[non_exhaustive]` to every named-field struct and every enum of
/// `mod types` that no `Client` method's arguments reach.
fn mark_answer_types(file: &mut syn::File) {
    use proc_macro2::{TokenStream, TokenTree};
    use quote::ToTokens;
    use std::collections::BTreeSet;

    fn idents(tokens: TokenStream, out: &mut BTreeSet<String>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(i) => {
                    out.insert(i.to_string());
                }
                TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }
    // Each type of `mod types` → the identifiers its fields mention.
    let mut mentions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut roots = BTreeSet::new();
    for item in &file.items {
        match item {
            syn::Item::Mod(m) if m.ident == "types" => {
                for item in m.content.iter().flat_map(|(_, items)| items) {
                    let mut found = BTreeSet::new();
                    let name = match item {
                        syn::Item::Struct(s) => {
                            idents(s.fields.to_token_stream(), &mut found);
                            s.ident.to_string()
                        }
                        syn::Item::Enum(e) => {
                            e.variants
                                .iter()
                                .for_each(|v| idents(v.fields.to_token_stream(), &mut found));
                            e.ident.to_string()
                        }
                        _ => continue,
                    };
                    mentions.insert(name, found);
                }
            }
            syn::Item::Impl(i) if i.trait_.is_none() => {
                for item in &i.items {
                    if let syn::ImplItem::Fn(f) = item {
                        f.sig
                            .inputs
                            .iter()
                            .for_each(|a| idents(a.to_token_stream(), &mut roots));
                    }
                }
            }
            _ => {}
        }
    }
    // Every type a request reaches, directly or through fields.
    let mut request: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().filter(|n| mentions.contains_key(n)).collect();
    while let Some(name) = pending.pop() {
        if request.insert(name.clone()) {
            pending.extend(mentions[&name].iter().filter(|n| mentions.contains_key(*n)).cloned());
        }
    }
    let attr: syn::Attribute = syn::parse_quote!(#[non_exhaustive]);
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "types" {
            continue;
        }
        for item in m.content.iter_mut().flat_map(|(_, items)| items) {
            match item {
                syn::Item::Struct(s)
                    if matches!(s.fields, syn::Fields::Named(_)) && !request.contains(&s.ident.to_string()) =>
                {
                    s.attrs.push(attr.clone())
                }
                syn::Item::Enum(e) if !request.contains(&e.ident.to_string()) => e.attrs.push(attr.clone()),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Secret schemas: typify matches a conversion against the whole schema
// (constraints included, metadata ignored), so every distinct secret schema
// in the spec gets its own conversion entry.

fn secret_schemas(spec: &OpenAPI) -> Result<Vec<SchemaObject>, String> {
    let mut found: Vec<SchemaObject> = Vec::new();
    let mut visit = |place: &str, schema: &Schema| -> Result<(), String> {
        let SchemaKind::Type(Type::String(s)) = &schema.schema_kind else {
            return Ok(());
        };
        if !matches!(
            &s.format,
            openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Password)
        ) {
            return Ok(());
        }
        if schema.schema_data.nullable || !s.enumeration.is_empty() {
            return Err(format!(
                "{place}: a secret (`format: password`) must be a plain string: no `nullable`, no `enum`"
            ));
        }
        if !schema.schema_data.extensions.is_empty() {
            return Err(format!("{place}: a secret schema takes no `x-` extensions"));
        }
        let object = secret_object(s);
        if !found.contains(&object) {
            found.push(object);
        }
        Ok(())
    };
    walk_spec(spec, &mut visit)?;
    Ok(found)
}

fn secret_object(s: &StringType) -> SchemaObject {
    let validation = StringValidation {
        max_length: s.max_length.map(|n| n as u32),
        min_length: s.min_length.map(|n| n as u32),
        pattern: s.pattern.clone(),
    };
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        format: Some("password".to_string()),
        string: (validation != StringValidation::default()).then(|| Box::new(validation)),
        ..Default::default()
    }
}

type Visitor<'a> = dyn FnMut(&str, &Schema) -> Result<(), String> + 'a;

/// Visits every inline schema of the spec, with a readable place for errors.
fn walk_spec(spec: &OpenAPI, visit: &mut Visitor<'_>) -> Result<(), String> {
    if let Some(components) = &spec.components {
        for (name, schema) in &components.schemas {
            walk_schema(&format!("components.schemas.{name}"), schema, visit)?;
        }
    }
    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            return Err(format!("paths.{path}: `$ref` path items are not supported"));
        };
        for (method, op) in item.iter() {
            let place = format!("paths.{path}.{method}");
            for (i, p) in op.parameters.iter().chain(&item.parameters).enumerate() {
                let p = resolve_parameter(spec, p)?;
                if let openapiv3::ParameterSchemaOrContent::Schema(s) = &p.parameter_data_ref().format {
                    walk_schema(&format!("{place}.parameters[{i}]"), s, visit)?;
                }
            }
            if let Some(ReferenceOr::Item(body)) = &op.request_body {
                for (media, m) in &body.content {
                    if let Some(s) = &m.schema {
                        walk_schema(&format!("{place}.requestBody.{media}"), s, visit)?;
                    }
                }
            }
            for (status, r) in &op.responses.responses {
                let ReferenceOr::Item(r) = r else { continue };
                for (media, m) in &r.content {
                    if let Some(s) = &m.schema {
                        walk_schema(&format!("{place}.responses.{status}.{media}"), s, visit)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn walk_schema(place: &str, schema: &ReferenceOr<Schema>, visit: &mut Visitor<'_>) -> Result<(), String> {
    let ReferenceOr::Item(schema) = schema else {
        return Ok(());
    };
    visit(place, schema)?;
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            for (name, prop) in &o.properties {
                walk_schema(&format!("{place}.properties.{name}"), &prop.clone().unbox(), visit)?;
            }
        }
        SchemaKind::Type(Type::Array(a)) => {
            if let Some(items) = &a.items {
                walk_schema(&format!("{place}.items"), &items.clone().unbox(), visit)?;
            }
        }
        SchemaKind::OneOf { one_of: v } | SchemaKind::AllOf { all_of: v } | SchemaKind::AnyOf { any_of: v } => {
            for (i, s) in v.iter().enumerate() {
                walk_schema(&format!("{place}[{i}]"), s, visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}
