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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, PathItem, ReferenceOr, SchemaKind, Type};
use quote::ToTokens;

use super::{OperationFact, SpecFacts, camel, is_secret, resolve, resolve_parameter};

pub use super::model::CredentialDef;
use super::model::{Model, Returns as ReturnsExt};

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
fn effective_parameters<'s>(
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

// ---------------------------------------------------------------------------
// What the generated client offers: its methods and types, read from the
// generated code itself (never guessed from the spec).

struct Field {
    json: String,
    ident: String,
    ty: syn::Type,
}

#[derive(Default)]
struct Index {
    /// method → (inputs after `&self`, success type)
    methods: BTreeMap<String, (Vec<(String, syn::Type)>, syn::Type)>,
    /// named-field structs of `mod types`
    structs: BTreeMap<String, Vec<Field>>,
    /// enums of `mod types`: variant → its single unnamed field, if any
    enums: BTreeMap<String, Vec<(String, Option<syn::Type>)>>,
    /// every type name of `mod types`
    types: BTreeSet<String>,
}

impl Index {
    fn new(file: &syn::File) -> Self {
        let mut index = Index::default();
        for item in &file.items {
            match item {
                syn::Item::Mod(m) if m.ident == "types" => {
                    for item in m.content.iter().flat_map(|(_, items)| items) {
                        index.add_type(item);
                    }
                }
                syn::Item::Impl(i) if i.trait_.is_none() && i.self_ty.to_token_stream().to_string() == "Client" => {
                    for item in &i.items {
                        let syn::ImplItem::Fn(f) = item else { continue };
                        let syn::ReturnType::Type(_, output) = &f.sig.output else {
                            continue;
                        };
                        let Some(success) = generic_arg(output, "Result").and_then(|t| generic_arg(t, "ResponseValue"))
                        else {
                            continue;
                        };
                        let inputs = f
                            .sig
                            .inputs
                            .iter()
                            .filter_map(|a| match a {
                                syn::FnArg::Typed(t) => Some((t.pat.to_token_stream().to_string(), (*t.ty).clone())),
                                syn::FnArg::Receiver(_) => None,
                            })
                            .collect();
                        index.methods.insert(f.sig.ident.to_string(), (inputs, success.clone()));
                    }
                }
                _ => {}
            }
        }
        index
    }

    fn add_type(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Struct(s) => {
                self.types.insert(s.ident.to_string());
                if let syn::Fields::Named(named) = &s.fields {
                    let fields = named
                        .named
                        .iter()
                        .map(|f| {
                            let ident = f.ident.as_ref().unwrap().to_string();
                            Field {
                                json: serde_rename(&f.attrs)
                                    .unwrap_or_else(|| ident.trim_start_matches("r#").to_string()),
                                ident,
                                ty: f.ty.clone(),
                            }
                        })
                        .collect();
                    self.structs.insert(s.ident.to_string(), fields);
                }
            }
            syn::Item::Enum(e) => {
                self.types.insert(e.ident.to_string());
                let variants = e
                    .variants
                    .iter()
                    .map(|v| {
                        let field = match &v.fields {
                            syn::Fields::Unnamed(u) if u.unnamed.len() == 1 => Some(u.unnamed[0].ty.clone()),
                            _ => None,
                        };
                        (v.ident.to_string(), field)
                    })
                    .collect();
                self.enums.insert(e.ident.to_string(), variants);
            }
            _ => {}
        }
    }

    /// `ty` as code of the platform module: names of `mod types` qualified.
    fn code(&self, ty: &syn::Type) -> String {
        let mut ty = ty.clone();
        qualify(&mut ty, &self.types);
        ty.to_token_stream().to_string()
    }
}

/// Prefixes bare names of `mod types` with `types::`.
fn qualify(ty: &mut syn::Type, types: &BTreeSet<String>) {
    match ty {
        syn::Type::Path(p) => {
            if p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.len() == 1
                && types.contains(&p.path.segments[0].ident.to_string())
            {
                p.path.segments.insert(0, syn::parse_quote!(types));
            }
            for seg in p.path.segments.iter_mut() {
                if let syn::PathArguments::AngleBracketed(args) = &mut seg.arguments {
                    for arg in args.args.iter_mut() {
                        if let syn::GenericArgument::Type(t) = arg {
                            qualify(t, types);
                        }
                    }
                }
            }
        }
        syn::Type::Reference(r) => qualify(&mut r.elem, types),
        syn::Type::Slice(s) => qualify(&mut s.elem, types),
        _ => {}
    }
}

fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut found = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                found = Some(lit.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The first generic argument of `ty` when its last path segment is `name`.
fn generic_arg<'t>(ty: &'t syn::Type, name: &str) -> Option<&'t syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn last_ident(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------
// The facade's inputs.

#[derive(Clone, PartialEq)]
enum Kind {
    /// a string: `&str`
    Str,
    /// an integer, number or boolean: its generated type
    Scalar,
    /// an array: `&[T]`
    Array,
    /// anything else: `&types::T`
    Object,
    /// `x-arguments`: a hand-written type, converted with `Into`
    Custom(String),
}

struct Arg {
    /// The Rust name.
    name: String,
    /// The name on the wire.
    wire: String,
    kind: Kind,
    required: bool,
    secret: bool,
    /// The signature type, filled in once the generated type is known
    /// (`Option<…>` when optional).
    sig: String,
    /// The signature type of one value, with lifetime `'a` on references
    /// (a request value's field, a setter's input).
    one: String,
    /// The spec's description of the input.
    doc: String,
    /// Where a required input stands among the positional arguments: path
    /// parameters in URL-template order, then the other parameters in the
    /// `parameters` list's order, then body properties in the order of the
    /// schema's `required` list. Ordered data only: sorting the spec's
    /// mapping keys changes no signature.
    order: (u8, usize),
    /// The constrained type a string input is parsed into (its pattern or
    /// enum is checked there), if any.
    parse_as: Option<String>,
}

/// Where a value of the generated request comes from.
enum Source {
    Arg(usize),
    /// A single-value enum: the client sends it.
    Literal(serde_json::Value),
    /// A header with a default: the hooks send it.
    HeaderDefault,
    Credential,
    Body,
}

fn rust_name(wire: &str) -> String {
    let mut name: String = wire
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if syn::parse_str::<syn::Ident>(&name).is_err() {
        name.push('_');
    }
    name
}

fn kind_of(schema: &openapiv3::Schema) -> Kind {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(_)) => Kind::Str,
        SchemaKind::Type(Type::Integer(_) | Type::Number(_) | Type::Boolean(_)) => Kind::Scalar,
        SchemaKind::Type(Type::Array(_)) => Kind::Array,
        _ => Kind::Object,
    }
}

fn single_value(schema: &openapiv3::Schema) -> Option<serde_json::Value> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) if s.enumeration.len() == 1 => {
            s.enumeration[0].clone().map(serde_json::Value::String)
        }
        SchemaKind::Type(Type::Integer(i)) if i.enumeration.len() == 1 => i.enumeration[0].map(serde_json::Value::from),
        _ => None,
    }
}

/// A generated value (method input or body field): its name, generated
/// type and source.
type Slot = (String, syn::Type, Source);

struct OpPlan<'a> {
    fact: &'a OperationFact,
    op: &'a Operation,
    args: Vec<Arg>,
    /// generated method input → where its value comes from
    inputs: Vec<Slot>,
    /// the body type and its fields; `None`: no body
    body: Option<(String, Vec<Slot>)>,
    success: syn::Type,
    /// The wire name of the credential parameter.
    credential_wire: Option<String>,
}

/// The facade of one spec: `<spec>_facade.rs`, included in the platform
/// module (which has `types`, `spec`, `Client` and the managed types in
/// scope).
pub fn facade_code(
    spec: &OpenAPI,
    client: &syn::File,
    ops: &[OperationFact],
    model: &Model,
    facts: &SpecFacts,
) -> Result<String, String> {
    let index = Index::new(client);
    let credentials = &model.credentials[..];
    let envelope = match &model.envelope {
        Some(e) => EnvelopeKeys {
            code: e.code.clone(),
            message: e.message.clone(),
        },
        // No envelope: answers are taken as they decode.
        None => EnvelopeKeys {
            code: String::new(),
            message: String::new(),
        },
    };
    let mut raw = String::new();
    let mut managed: BTreeMap<String, String> = BTreeMap::new();
    // `calls`: the request values; `calls_impls`: how each is sent.
    let mut requests = String::new();
    let mut calls = String::new();
    let mut raw_credential = false;
    let mut answers = String::new();
    let mut answer_impls = String::new();
    let mut implemented = BTreeSet::new();
    let mut answer_arms = String::new();
    let mut decoders = String::new();

    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        for (method, op) in item.iter() {
            let place = format!("paths.{path}.{method}");
            let id = op.operation_id.as_deref().unwrap_or_default();
            let fact = ops
                .iter()
                .find(|f| f.operation_id == id)
                .ok_or_else(|| format!("{place}: no facts for `{id}`"))?;
            let ext = model.operation(id);
            let plan = plan(spec, item, op, fact, &index, model, &place)?;
            let returns = returns(spec, op, &plan, &index, ext.returns.as_ref(), &place)?;
            let accept = if returns.json {
                emit_answer_impl(&index, &plan.success, &envelope, &mut answer_impls, &mut implemented)?;
                writeln!(answer_arms, "{id:?} => Some(decode::{id}(body).map(drop)),").unwrap();
                writeln!(
                    decoders,
                    "/// Interprets the body of an HTTP 200 answer to `{id}` exactly as its\n\
                     /// method does (the error envelope, guaranteed fields, redaction): for\n\
                     /// replaying a stored answer.\n\
                     pub fn {id}(body: &[u8]) -> Result<{}, crate::Error> {{\n\
                     crate::response::decode_offline(crate::Operation::{}, ENVELOPE, body, answers::{id})\n}}",
                    returns.ty,
                    camel(id)
                )
                .unwrap();
                "let answer = crate::response::accept(call, answer)?;"
            } else {
                "let _ = call;"
            };
            writeln!(
                answers,
                "/// The answer of `{id}` as the facade returns it.\n\
                 pub(crate) fn {id}(call: &crate::response::Call<'_>, answer: {}) -> Result<{}, crate::Error> {{\n\
                 {accept}\n{}\n}}",
                index.code(&plan.success),
                returns.ty,
                returns.body
            )
            .unwrap();
            raw.push_str(&raw_method(&plan, &returns, facts, &index)?);
            raw.push_str(&constructor(&plan, None));
            calls.push_str(&into_future(&plan, &returns, None, facts));
            let mut on_managed = None;
            if let Some(credential) = &fact.credential
                && fact.issues.is_none()
            {
                let def = credentials.iter().find(|c| &c.name == credential).unwrap();
                managed
                    .entry(def.managed_by.clone())
                    .or_default()
                    .push_str(&constructor(&plan, Some(def)));
                calls.push_str(&into_future(&plan, &returns, Some(def), facts));
                on_managed = Some(def);
            }
            raw_credential |= plan.credential_wire.is_some();
            requests.push_str(&request_struct(&plan, on_managed));
        }
    }

    // Test hooks: every example of the spec decodes through the generated
    // types and answers (tests/spec_examples.rs), with no list to maintain.
    let mut schema_arms = String::new();
    if let Some(components) = &spec.components {
        for name in components.schemas.keys().filter(|n| index.types.contains(*n)) {
            writeln!(
                schema_arms,
                "{name:?} => Some(::serde_json::from_value::<types::{name}>(value).map(drop)),"
            )
            .unwrap();
        }
    }
    let hooks = format!(
        "/// Decodes `value` as the generated type of component schema `schema`\n\
         /// (`None`: no such type). For the spec-examples test.\n\
         #[doc(hidden)]\n\
         pub fn decode_schema_example(schema: &str, value: ::serde_json::Value) -> Option<Result<(), ::serde_json::Error>> {{\n\
         match schema {{\n{schema_arms}_ => {{ let _ = value; None }}\n}}\n}}\n\
         /// Interprets a 200 answer's `body` to operation `operation_id` exactly as\n\
         /// its method does (`None`: no such operation). For the spec-examples test.\n\
         #[doc(hidden)]\n\
         pub fn decode_operation_answer(operation_id: &str, body: &[u8]) -> Option<Result<(), crate::Error>> {{\n\
         match operation_id {{\n{answer_arms}_ => {{ let _ = body; None }}\n}}\n}}\n"
    );

    let mut out = String::new();
    out.push_str(&hooks);
    writeln!(
        out,
        "/// The platform's error envelope (the schema marked `x-error-envelope`).\n\
         pub(crate) const ENVELOPE: crate::response::Envelope = crate::response::Envelope {{ code: {:?}, message: {:?} }};",
        envelope.code, envelope.message
    )
    .unwrap();
    writeln!(out, "impl Client {{\n{raw}}}").unwrap();
    for (ty, methods) in &managed {
        writeln!(out, "impl {ty} {{\n{methods}}}").unwrap();
    }
    out.push_str(&calls);
    writeln!(
        out,
        "/// Offline decoders, one per operation with a JSON answer: the body of an\n\
         /// HTTP 200 answer interpreted exactly as the operation's method does.\n\
         pub mod decode {{\n#[allow(unused_imports)]\nuse super::*;\n{decoders}}}"
    )
    .unwrap();
    let raw = if raw_credential {
        "/// The raw client and the credential the caller passed: where a request of\n\
         /// the raw client is sent.\n\
         #[derive(Clone, Copy)]\n\
         pub struct Raw<'a> {\n\
         pub(super) client: &'a super::Client,\n\
         pub(super) credential: &'a str,\n}\n"
    } else {
        ""
    };
    writeln!(
        out,
        "/// The request values of the operations (calling convention v2): a method\n\
         /// takes the required inputs and returns one of these; its optional inputs\n\
         /// are setters; `.await` checks the inputs and sends it. Reads are retried\n\
         /// per the client's [`RetryPolicy`](crate::RetryPolicy) when the failure is\n\
         /// transient; one-shot calls and writes (`x-idempotent: false`) are sent at\n\
         /// most once, retried only after a connect error.\n\
         pub mod calls {{\n\
         #[allow(unused_imports)]\nuse super::*;\n\
         /// What awaiting a request value gives: its answer, sent once `.await`ed.\n\
         pub type Pending<'a, T> = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Result<T, crate::Error>> + Send + 'a>>;\n\
         {raw}{requests}}}"
    )
    .unwrap();
    writeln!(
        out,
        "/// Each operation's answer, as its facade method returns it: the\n\
         /// envelope checked, guaranteed secrets present, converted.\n\
         pub(crate) mod answers {{\n#[allow(unused_imports)]\nuse super::*;\n{answers}}}"
    )
    .unwrap();
    out.push_str(&answer_impls);
    let file: syn::File =
        syn::parse_str(&out).map_err(|e| format!("the generated facade does not parse: {e}\n{out}"))?;
    Ok(format!(
        "// Generated by build.rs from openapi/ (codegen/facade.rs). Do not edit.\n{}",
        prettyplease::unparse(&file)
    ))
}

struct EnvelopeKeys {
    code: String,
    message: String,
}

fn plan<'a>(
    spec: &OpenAPI,
    item: &PathItem,
    op: &'a Operation,
    fact: &'a OperationFact,
    index: &Index,
    model: &Model,
    place: &str,
) -> Result<OpPlan<'a>, String> {
    let credentials = &model.credentials;
    let custom = &model.operation(&fact.operation_id).arguments;
    let id = &fact.operation_id;
    let (generated_inputs, success) = index
        .methods
        .get(id)
        .ok_or_else(|| format!("{place}: the generated client has no method `{id}`"))?;
    let mut args: Vec<Arg> = Vec::new();
    let mut by_wire: BTreeMap<String, Source> = BTreeMap::new();
    let add = |args: &mut Vec<Arg>,
               wire: &str,
               schema: &openapiv3::Schema,
               required: bool,
               doc: Option<&String>,
               order: (u8, usize)| {
        let kind = match custom.get(wire) {
            Some(t) => Kind::Custom(t.clone()),
            None => kind_of(schema),
        };
        args.push(Arg {
            name: rust_name(wire),
            wire: wire.to_string(),
            kind,
            required,
            secret: is_secret(schema),
            sig: String::new(),
            one: String::new(),
            doc: doc
                .or(schema.schema_data.description.as_ref())
                .cloned()
                .unwrap_or_default(),
            order,
            parse_as: None,
        });
        args.len() - 1
    };

    let mut params = BTreeMap::new();
    let mut credential_wire = None;
    for (position, p) in effective_parameters(spec, item, op)?.into_iter().enumerate() {
        let data = p.parameter_data_ref();
        let ParameterSchemaOrContent::Schema(schema) = &data.format else {
            return Err(format!("{place}: parameter `{}` needs a schema", data.name));
        };
        let order = match p {
            Parameter::Path { .. } => (0, fact.path.find(&format!("{{{}}}", data.name)).unwrap_or(0)),
            _ => (1, position),
        };
        let schema = resolve(spec, schema)?;
        let source = if fact.credential.is_some()
            && matches!(p, Parameter::Query { .. })
            && credentials.iter().any(|c| c.name == data.name)
        {
            credential_wire = Some(data.name.clone());
            Source::Credential
        } else if let Some(v) = single_value(&schema) {
            Source::Literal(v)
        } else if matches!(p, Parameter::Header { .. }) && schema.schema_data.default.is_some() {
            Source::HeaderDefault
        } else {
            Source::Arg(add(
                &mut args,
                &data.name,
                &schema,
                data.required,
                data.description.as_ref(),
                order,
            ))
        };
        params.insert(rust_name(&data.name), source);
    }
    let mut body = None;
    let mut body_fields = Vec::new();
    if let Some(request) = &op.request_body {
        let ReferenceOr::Item(request) = request else {
            return Err(format!("{place}: `$ref` request bodies are not supported"));
        };
        let media = json_media(&request.content)
            .and_then(|m| m.schema.as_ref())
            .ok_or_else(|| format!("{place}: the request body must be application/json with a schema"))?;
        let schema = resolve(spec, media)?;
        if let SchemaKind::Type(Type::Object(o)) = &schema.schema_kind {
            for (name, prop) in &o.properties {
                let prop = resolve(spec, &prop.clone().unbox())?;
                let required = o.required.iter().position(|r| r == name);
                let source = match single_value(&prop) {
                    Some(v) => Source::Literal(v),
                    None => Source::Arg(add(
                        &mut args,
                        name,
                        &prop,
                        required.is_some(),
                        None,
                        (2, required.unwrap_or(0)),
                    )),
                };
                by_wire.insert(name.clone(), source);
            }
        }
        body = Some(());
    }

    // The generated method's inputs, each with its source.
    let mut inputs = Vec::new();
    let mut body_plan = None;
    for (name, ty) in generated_inputs {
        if name == "body" && body.is_some() {
            let syn::Type::Reference(r) = ty else {
                return Err(format!("{place}: the generated body input is not a reference"));
            };
            let body_type = last_ident(&r.elem);
            match index.structs.get(&body_type) {
                Some(fields) => {
                    for f in fields {
                        let source = by_wire
                            .remove(&f.json)
                            .ok_or_else(|| format!("{place}: the generated body field `{}` has no input", f.json))?;
                        body_fields.push((f.ident.clone(), f.ty.clone(), source));
                    }
                }
                None if by_wire.is_empty() => {}
                None => return Err(format!("{place}: the generated body `{body_type}` is not a struct")),
            }
            body_plan = Some((body_type, std::mem::take(&mut body_fields)));
            inputs.push((name.clone(), ty.clone(), Source::Body));
            continue;
        }
        let source = params
            .remove(name)
            .ok_or_else(|| format!("{place}: the generated input `{name}` matches no parameter"))?;
        inputs.push((name.clone(), ty.clone(), source));
    }
    if let Some(name) = params.keys().next() {
        return Err(format!("{place}: parameter `{name}` reaches no generated input"));
    }

    // Signature types, from the generated types.
    let mut targets: BTreeMap<usize, syn::Type> = BTreeMap::new();
    for (_, ty, source) in inputs.iter().chain(body_plan.iter().flat_map(|(_, f)| f.iter())) {
        if let Source::Arg(i) = source {
            let ty = match ty {
                syn::Type::Reference(r) => (*r.elem).clone(),
                other => other.clone(),
            };
            targets.insert(*i, ty);
        }
    }
    for (i, arg) in args.iter_mut().enumerate() {
        let target = targets
            .get(&i)
            .ok_or_else(|| format!("{place}: input `{}` is not used", arg.wire))?;
        let inner = generic_arg(target, "Option").unwrap_or(target);
        let inner = match inner {
            syn::Type::Reference(r) => &*r.elem,
            t => t,
        };
        if arg.kind == Kind::Str && !matches!(last_ident(inner).as_str(), "Secret" | "String" | "str") {
            arg.parse_as = Some(index.code(inner));
        }
        let one = match &arg.kind {
            Kind::Str => "&str".to_string(),
            Kind::Scalar => index.code(inner),
            Kind::Array => {
                let element = generic_arg(inner, "Vec")
                    .ok_or_else(|| format!("{place}: array input `{}` is not a Vec", arg.wire))?;
                format!("&[{}]", index.code(element))
            }
            Kind::Object => format!("&{}", index.code(inner)),
            Kind::Custom(t) => t.clone(),
        };
        arg.one = match one.strip_prefix('&') {
            Some(rest) => format!("&'a {rest}"),
            None => one.clone(),
        };
        arg.sig = if arg.required { one } else { format!("Option<{one}>") };
    }

    // The calling convention's order: required inputs by `order`, then the
    // optional ones by name (setters: their order means nothing).
    let mut order: Vec<usize> = (0..args.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&args[a], &args[b]);
        (!a.required, if a.required { a.order } else { (0, 0) }, &a.name).cmp(&(
            !b.required,
            if b.required { b.order } else { (0, 0) },
            &b.name,
        ))
    });
    let mut moved: Vec<Option<Arg>> = args.into_iter().map(Some).collect();
    let args: Vec<Arg> = order.iter().map(|&i| moved[i].take().unwrap()).collect();
    let renumber = |source: &mut Source| {
        if let Source::Arg(i) = source {
            *i = order.iter().position(|o| o == i).unwrap();
        }
    };
    for (_, _, source) in inputs.iter_mut() {
        renumber(source);
    }
    if let Some((_, fields)) = body_plan.as_mut() {
        for (_, _, source) in fields.iter_mut() {
            renumber(source);
        }
    }
    Ok(OpPlan {
        fact,
        op,
        args,
        inputs,
        body: body_plan,
        success: success.clone(),
        credential_wire,
    })
}

struct Returns {
    /// The return type (inside `Result<_, crate::Error>`).
    ty: String,
    /// The body of the `answers::<op>` function after the envelope check.
    body: String,
    /// The answer is JSON: its envelope is checked.
    json: bool,
}

/// The JSON content of a request or answer (`application/json`, with or
/// without parameters such as `charset`).
fn json_media(content: &openapiv3::Content) -> Option<&openapiv3::MediaType> {
    content.iter().find_map(|(media, m)| {
        let essence = media.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json").then_some(m)
    })
}

/// What the method returns, and the checks of guaranteed fields.
fn returns(
    spec: &OpenAPI,
    op: &Operation,
    plan: &OpPlan<'_>,
    index: &Index,
    ext: Option<&ReturnsExt>,
    place: &str,
) -> Result<Returns, String> {
    let success_name = last_ident(&plan.success);
    // The answer schema as the spec writes it.
    let Some(schema) = op
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200))
        .and_then(|r| r.as_item())
        .and_then(|r| json_media(&r.content))
        .and_then(|m| m.schema.as_ref())
    else {
        // No JSON answer: what the generated client returns, as it is.
        return Ok(Returns {
            ty: index.code(&plan.success),
            body: "Ok(answer)".into(),
            json: false,
        });
    };
    let envelope_only = matches!(schema, ReferenceOr::Reference { reference }
        if resolve(spec, schema).map(|s| s.schema_data.extensions.get("x-error-envelope") == Some(&serde_json::Value::Bool(true))).unwrap_or(false)
        && reference.starts_with("#/components/schemas/"));
    if envelope_only {
        return Ok(Returns {
            ty: "()".into(),
            body: "let _ = answer;\nOk(())".into(),
            json: true,
        });
    }
    // The success schema's guaranteed secrets: present and non-empty.
    let fields = index.structs.get(&success_name);
    let mut body = String::new();
    let mut guaranteed_secrets = Vec::new();
    if let (Some(fields), Ok(success)) = (fields, success_schema(spec, schema))
        && let SchemaKind::Type(Type::Object(o)) = &success.schema_kind
    {
        for (name, prop) in &o.properties {
            let prop = resolve(spec, &prop.clone().unbox())?;
            if o.required.contains(name) && is_secret(&prop) {
                let f = fields.iter().find(|f| &f.json == name).unwrap();
                writeln!(body, "call.nonempty(&answer.{}, {:?})?;", f.ident, name).unwrap();
                guaranteed_secrets.push((name.clone(), f.ident.clone()));
            }
        }
    }
    if let Some(ReturnsExt::Type(ty)) = ext {
        let ty = ty.clone();
        let fields = fields.ok_or_else(|| format!("{place}: `x-returns` needs an object answer"))?;
        let [(_, secret)] = guaranteed_secrets.as_slice() else {
            return Err(format!(
                "{place}: `x-returns: {ty}` is built from the answer's one guaranteed secret and its `expires_in`; the answer has {} guaranteed secrets",
                guaranteed_secrets.len()
            ));
        };
        let expires = fields
            .iter()
            .find(|f| f.json == "expires_in" && last_ident(&f.ty) == "i64")
            .ok_or_else(|| format!("{place}: `x-returns: {ty}` needs a required integer `expires_in` in the answer"))?;
        writeln!(body, "{ty}::new(call, answer.{secret}, answer.{})", expires.ident).unwrap();
        return Ok(Returns { ty, body, json: true });
    }
    if let Some(ReturnsExt::Field(field)) = ext {
        let f = fields
            .and_then(|fields| fields.iter().find(|f| f.json == *field))
            .ok_or_else(|| format!("{place}: `x-returns-field: {field}` is no field of the answer"))?;
        writeln!(body, "Ok(answer.{})", f.ident).unwrap();
        return Ok(Returns {
            ty: index.code(&f.ty),
            body,
            json: true,
        });
    }
    body.push_str("Ok(answer)");
    Ok(Returns {
        ty: index.code(&plan.success),
        body,
        json: true,
    })
}

/// The success branch of an answer schema (`anyOf: [success, envelope]`).
fn success_schema(spec: &OpenAPI, schema: &ReferenceOr<openapiv3::Schema>) -> Result<openapiv3::Schema, String> {
    let s = resolve(spec, schema)?;
    if let SchemaKind::AnyOf { any_of: branches } | SchemaKind::OneOf { one_of: branches } = &s.schema_kind {
        for b in branches {
            let r = resolve(spec, b)?;
            if r.schema_data.extensions.get("x-error-envelope") != Some(&serde_json::Value::Bool(true)) {
                return Ok(r);
            }
        }
    }
    Ok(s)
}

/// `impl crate::response::Answer` for a success type: where its envelope
/// fields are (a success answer may carry `errcode`: 0 or absent is
/// success).
fn emit_answer_impl(
    index: &Index,
    ty: &syn::Type,
    envelope: &EnvelopeKeys,
    out: &mut String,
    done: &mut BTreeSet<String>,
) -> Result<(), String> {
    let name = last_ident(ty);
    if !done.insert(name.clone()) {
        return Ok(());
    }
    let body = if let Some(fields) = index.structs.get(&name) {
        let code = match fields
            .iter()
            .find(|f| !envelope.code.is_empty() && f.json == envelope.code)
        {
            Some(f) if generic_arg(&f.ty, "Option").is_some() => format!("self.{}", f.ident),
            Some(f) => format!("Some(self.{})", f.ident),
            None => "None".into(),
        };
        let message = match fields
            .iter()
            .find(|f| !envelope.message.is_empty() && f.json == envelope.message)
        {
            Some(f) if generic_arg(&f.ty, "Option").is_some() => format!("self.{}.as_deref()", f.ident),
            Some(f) => format!("Some(self.{}.as_str())", f.ident),
            None => "None".into(),
        };
        format!("({code}, {message})")
    } else if let Some(variants) = index.enums.get(&name) {
        let mut arms = String::new();
        for (variant, field) in variants {
            match field {
                Some(inner) => {
                    emit_answer_impl(index, inner, envelope, out, done)?;
                    writeln!(arms, "Self::{variant}(v) => crate::response::Answer::envelope(v),").unwrap();
                }
                None => writeln!(arms, "Self::{variant} => (None, None),").unwrap(),
            }
        }
        format!("match self {{\n{arms}}}")
    } else {
        return Err(format!("the answer type `{name}` is neither a struct nor an enum"));
    };
    writeln!(
        out,
        "impl crate::response::Answer for types::{name} {{\n\
         fn envelope(&self) -> (Option<i64>, Option<&str>) {{\n{body}\n}}\n}}"
    )
    .unwrap();
    Ok(())
}

// ---------------------------------------------------------------------------
// The methods.

/// An owned value of the generated type `target` from input `arg` (an
/// `&str`, a scalar, a slice, a reference or a custom type, `Option`al when
/// the input is optional). `optional_target`: the generated type is an
/// `Option` of `target`.
fn value(index: &Index, arg: &Arg, target: &syn::Type, optional_target: bool) -> Result<String, String> {
    let x = arg.name.as_str();
    let t = index.code(target);
    let wire = &arg.wire;
    // How one value `v` converts, as a function path where there is one.
    enum Conv {
        Same,
        Path(String),
        Fallible,
        Clone,
    }
    let conv = match &arg.kind {
        Kind::Str => match last_ident(target).as_str() {
            "Secret" => Conv::Path("crate::Secret::from".into()),
            "String" => Conv::Path("str::to_string".into()),
            _ => Conv::Fallible,
        },
        Kind::Scalar => Conv::Same,
        Kind::Array => {
            let element = generic_arg(target, "Vec")
                .map(|e| index.code(e))
                .ok_or_else(|| format!("array input `{wire}` is not a Vec"))?;
            Conv::Path(format!("<[{element}]>::to_vec"))
        }
        Kind::Object => Conv::Clone,
        Kind::Custom(_) => Conv::Path(format!("::std::convert::Into::<{t}>::into")),
    };
    let parse = |v: &str| format!("crate::facade::parse::<{t}>({wire:?}, {v})");
    if arg.required {
        let e = match &conv {
            Conv::Same => x.to_string(),
            Conv::Path(p) => format!("{p}({x})"),
            Conv::Fallible => format!("{}?", parse(x)),
            Conv::Clone => format!("{x}.clone()"),
        };
        return Ok(if optional_target { format!("Some({e})") } else { e });
    }
    let mapped = match &conv {
        Conv::Same => x.to_string(),
        Conv::Path(p) => format!("{x}.map({p})"),
        Conv::Fallible => format!("{x}.map(|v| {}).transpose()?", parse("v")),
        Conv::Clone => format!("{x}.cloned()"),
    };
    if optional_target {
        Ok(mapped)
    } else if generic_arg(target, "Vec").is_some() {
        Ok(format!("{mapped}.unwrap_or_default()"))
    } else {
        Err(format!(
            "optional input `{wire}` is a required field of the generated request"
        ))
    }
}

fn literal(index: &Index, value: &serde_json::Value, target: &syn::Type, optional_target: bool, wire: &str) -> String {
    let t = index.code(target);
    let e = match value {
        serde_json::Value::String(s) => format!("crate::facade::parse::<{t}>({wire:?}, {s:?})?"),
        other => other.to_string(),
    };
    if optional_target { format!("Some({e})") } else { e }
}

fn doc(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        writeln!(out, "#[doc = {:?}]", format!(" {line}")).unwrap();
    }
    out
}

/// Spec text as Markdown that rustdoc takes literally (no links from
/// brackets, no HTML from angle brackets).
fn escape_markdown(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]").replace('<', "&lt;")
}

fn method_doc(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> String {
    let op = plan.op;
    let fact = plan.fact;
    let mut text = String::new();
    writeln!(
        text,
        "{} (`{} {}`).",
        op.summary.as_deref().unwrap_or(&fact.operation_id),
        fact.method,
        fact.path
    )
    .unwrap();
    // What every managed call does with the credential, and how reads are
    // retried, is said once on the type and on `calls`, not per method.
    if let Some(def) = managed {
        writeln!(text, "\nWith the managed `{}` (see [`{}`]).", def.name, def.managed_by).unwrap();
    }
    if let Some(description) = &op.description {
        writeln!(text, "\n{}", escape_markdown(description)).unwrap();
    }
    text.push('\n');
    if fact.one_shot {
        writeln!(
            text,
            "**One-shot** (`x-one-shot`): the platform acts on the `{}` once, so the library sends this \
             call at most once, retrying only after a connect error (nothing was sent). When it fails with \
             [`Error::request_may_have_been_processed`](crate::Error::request_may_have_been_processed) true, \
             do not send it again.",
            fact.one_shot_input
        )
        .unwrap();
    } else if !fact.idempotent {
        text.push_str(
            "**A write** (`x-idempotent: false`): the library sends it at most once, retrying only after a \
             connect error (nothing was sent). When it fails with \
             [`Error::request_may_have_been_processed`](crate::Error::request_may_have_been_processed) true, \
             it may have acted: check before sending it again.\n",
        );
    }
    if let Some(url) = op.external_docs.as_ref().map(|d| &d.url) {
        let label = if fact.spec == "wecom" {
            "WeCom's page"
        } else {
            "The platform's page"
        };
        writeln!(text, "\n{label}: <{url}>").unwrap();
    }
    doc(&text)
}

fn signature(plan: &OpPlan<'_>) -> String {
    plan.args.iter().map(|a| format!(", {}: {}", a.name, a.sig)).collect()
}

fn raw_method(plan: &OpPlan<'_>, returns: &Returns, facts: &SpecFacts, index: &Index) -> Result<String, String> {
    let fact = plan.fact;
    let id = &fact.operation_id;
    // What every request value of the operation runs once `.await`ed: the
    // checks, then the call (one generic path: `Call::run`).
    let mut out = format!("/// Sends `{id}` (the body of its request values).\n");
    let credential = plan.credential_wire.as_deref().map(rust_name);
    let mut params = String::new();
    if let Some(c) = &credential {
        write!(params, ", {c}: &str").unwrap();
    }
    params.push_str(&signature(plan));
    if plan.args.len() + usize::from(credential.is_some()) > 7 {
        out.push_str("#[allow(clippy::too_many_arguments)]\n");
    }
    writeln!(
        out,
        "pub(crate) async fn send_{id}(&self{params}) -> Result<{}, crate::Error> {{",
        returns.ty
    )
    .unwrap();
    // Checks: every input against the spec's rules, before anything is sent.
    let mut checks = String::new();
    if let (Some(c), Some(wire)) = (&credential, &plan.credential_wire)
        && let Some(r) = facts.rules.get(&(id.clone(), wire.clone()))
    {
        writeln!(checks, "{}.check({c})?;", r.code(wire)).unwrap();
    }
    checks.push_str(&input_checks(plan, facts));
    let mut sent = Vec::new();
    let mut sent_optional = Vec::new();
    if let Some(c) = &credential {
        sent.push(c.clone());
    }
    for arg in plan.args.iter().filter(|a| a.secret && a.kind == Kind::Str) {
        if arg.required {
            sent.push(arg.name.clone());
        } else {
            sent_optional.push(arg.name.clone());
        }
    }
    out.push_str(&checks);
    // The secrets this call sends, to redact from anything echoed.
    if sent_optional.is_empty() {
        writeln!(out, "let sent: &[&str] = &[{}];", sent.join(", ")).unwrap();
    } else {
        writeln!(
            out,
            "let sent_all: Vec<&str> = [{}].into_iter().chain([{}].into_iter().flatten()).collect();\nlet sent: &[&str] = &sent_all;",
            sent.join(", "),
            sent_optional.join(", ")
        )
        .unwrap();
    }
    // The generated request's values.
    let mut call_args = Vec::new();
    let mut locals = String::new();
    for (name, ty, source) in &plan.inputs {
        let (by_ref, optional, inner) = shape(ty);
        let local = format!("p_{name}");
        let expr = match source {
            Source::Body => {
                call_args.push("&body".to_string());
                continue;
            }
            Source::HeaderDefault => {
                call_args.push("None".to_string());
                continue;
            }
            Source::Credential => {
                let c = credential.as_ref().unwrap();
                if last_ident(&inner) == "str" {
                    call_args.push(c.clone());
                    continue;
                }
                format!("crate::Secret::from({c})")
            }
            Source::Literal(v) => literal(index, v, &inner, optional, name),
            Source::Arg(i) => {
                let arg = &plan.args[*i];
                if last_ident(&inner) == "str" {
                    call_args.push(arg.name.clone());
                    continue;
                }
                value(index, arg, &inner, optional)?
            }
        };
        writeln!(locals, "let {local} = {expr};").unwrap();
        call_args.push(match (by_ref, optional) {
            (true, false) => format!("&{local}"),
            (true, true) => format!("{local}.as_ref()"),
            (false, _) => local,
        });
    }
    if let Some((body_type, fields)) = &plan.body {
        let mut init = String::new();
        for (ident, ty, source) in fields {
            let optional = generic_arg(ty, "Option").is_some();
            let inner = generic_arg(ty, "Option").unwrap_or(ty);
            let e = match source {
                Source::Arg(i) => value(index, &plan.args[*i], inner, optional)?,
                Source::Literal(v) => literal(index, v, inner, optional, ident),
                _ => unreachable!("body fields come from inputs or literals"),
            };
            if e == *ident {
                writeln!(init, "{ident},").unwrap();
            } else {
                writeln!(init, "{ident}: {e},").unwrap();
            }
        }
        if fields.is_empty() {
            writeln!(locals, "let body = types::{body_type}::from(::serde_json::Map::new());").unwrap();
        } else {
            writeln!(locals, "let body = types::{body_type} {{\n{init}}};").unwrap();
        }
    }
    out.push_str(&locals);
    writeln!(
        out,
        "self.call(crate::Operation::{}, sent)\n.run(|| self.api.{id}({}), answers::{id})\n.await\n}}",
        camel(id),
        call_args.join(", ")
    )
    .unwrap();
    Ok(out)
}

/// The checks of every input (not the credential) against the spec's rules.
fn input_checks(plan: &OpPlan<'_>, facts: &SpecFacts) -> String {
    let id = &plan.fact.operation_id;
    let mut checks = String::new();
    for arg in &plan.args {
        let x = &arg.name;
        let Some(rule) = facts.rules.get(&(id.clone(), arg.wire.clone())) else {
            continue;
        };
        let r = rule.code(&arg.wire);
        match &arg.kind {
            Kind::Str if arg.required => writeln!(checks, "{r}.check({x})?;").unwrap(),
            Kind::Str => writeln!(checks, "if let Some(v) = {x} {{ {r}.check(v)?; }}").unwrap(),
            Kind::Array if arg.required => writeln!(checks, "{r}.check({x}.len())?;").unwrap(),
            Kind::Array => writeln!(checks, "if let Some(v) = {x} {{ {r}.check(v.len())?; }}").unwrap(),
            _ => {}
        }
    }
    checks
}

/// `input_checks` plus the parse of every constrained string input (its
/// pattern or enum), for a managed method: all of it before a token is
/// fetched.
fn managed_checks(plan: &OpPlan<'_>, facts: &SpecFacts) -> String {
    let mut checks = input_checks(plan, facts);
    for arg in &plan.args {
        let (Some(t), x, wire) = (&arg.parse_as, &arg.name, &arg.wire) else {
            continue;
        };
        if arg.required {
            writeln!(checks, "crate::facade::parse::<{t}>({wire:?}, {x})?;").unwrap();
        } else {
            writeln!(
                checks,
                "if let Some(v) = {x} {{ crate::facade::parse::<{t}>({wire:?}, v)?; }}"
            )
            .unwrap();
        }
    }
    checks
}

/// (passed by reference, optional, the inner type) of a generated input.
fn shape(ty: &syn::Type) -> (bool, bool, syn::Type) {
    if let Some(inner) = generic_arg(ty, "Option") {
        if let syn::Type::Reference(r) = inner {
            return (true, true, (*r.elem).clone());
        }
        return (false, true, inner.clone());
    }
    if let syn::Type::Reference(r) = ty {
        return (true, false, (*r.elem).clone());
    }
    (false, false, ty.clone())
}

/// The request value of an operation: its struct (required inputs, then
/// optional ones set by setters), in `calls`.
fn request_struct(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> String {
    let id = &plan.fact.operation_id;
    let name = camel(id);
    let mut out = String::new();
    let on = match managed {
        Some(def) => format!(" and [`{0}::{id}`](super::{0}::{id})", def.managed_by),
        None => String::new(),
    };
    writeln!(
        out,
        "/// The request of [`Client::{id}`](super::Client::{id}){on}: set its optional inputs, then\n\
         /// `.await` it. The inputs are checked when it is awaited, before anything (a token\n\
         /// included) is fetched or sent.\n\
         #[must_use = \"a request does nothing until it is `.await`ed\"]\n\
         pub struct {name}<'a, On> {{\n\
         pub(super) on: On,\n\
         pub(super) _inputs: ::std::marker::PhantomData<&'a ()>,"
    )
    .unwrap();
    for arg in &plan.args {
        let ty = if arg.required {
            arg.one.clone()
        } else {
            format!("Option<{}>", arg.one)
        };
        writeln!(out, "pub(super) {}: {ty},", arg.name).unwrap();
    }
    out.push_str("}\n");
    let optional: Vec<&Arg> = plan.args.iter().filter(|a| !a.required).collect();
    if !optional.is_empty() {
        writeln!(out, "impl<'a, On> {name}<'a, On> {{").unwrap();
        for arg in optional {
            let about = if arg.doc.trim().is_empty() {
                format!("Sets the optional `{}`.", arg.wire)
            } else {
                format!("Sets the optional `{}`: {}", arg.wire, escape_markdown(arg.doc.trim()))
            };
            out.push_str(&doc(&about));
            writeln!(
                out,
                "pub fn {0}(mut self, {0}: {1}) -> Self {{ self.{0} = Some({0}); self }}",
                arg.name, arg.one
            )
            .unwrap();
        }
        out.push_str("}\n");
    }
    out
}

/// The public method that starts a request: on the raw client (`managed`
/// `None`: the credential first) or on the managed type.
fn constructor(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> String {
    let id = &plan.fact.operation_id;
    let name = camel(id);
    let mut out = method_doc(plan, managed);
    let credential = plan.credential_wire.as_deref().map(rust_name);
    let mut params = String::new();
    let on = match (managed, &credential) {
        (Some(def), _) => {
            let _ = def;
            ("&'a Self".to_string(), "self".to_string())
        }
        (None, Some(c)) => {
            write!(params, ", {c}: &'a str").unwrap();
            (
                "calls::Raw<'a>".to_string(),
                format!("calls::Raw {{ client: self, credential: {c} }}"),
            )
        }
        (None, None) => ("&'a Self".to_string(), "self".to_string()),
    };
    let mut fields = String::new();
    for arg in &plan.args {
        if arg.required {
            write!(params, ", {}: {}", arg.name, arg.one).unwrap();
            write!(fields, "{},", arg.name).unwrap();
        } else {
            write!(fields, "{}: None,", arg.name).unwrap();
        }
    }
    if plan.args.iter().filter(|a| a.required).count() + usize::from(params.contains("credential")) > 6 {
        out.push_str("#[allow(clippy::too_many_arguments)]\n");
    }
    writeln!(
        out,
        "pub fn {id}<'a>(&'a self{params}) -> calls::{name}<'a, {}> {{\n\
         calls::{name} {{ on: {}, _inputs: ::std::marker::PhantomData, {fields} }}\n}}",
        on.0, on.1
    )
    .unwrap();
    out
}

/// `IntoFuture` of a request value on its receiver: the raw client (sends
/// with the caller's credential) or the managed type (checks the inputs,
/// then sends with its managed credential, refreshing and replaying on a
/// rejection).
fn into_future(plan: &OpPlan<'_>, returns: &Returns, managed: Option<&CredentialDef>, facts: &SpecFacts) -> String {
    let fact = plan.fact;
    let id = &fact.operation_id;
    let name = camel(id);
    let names: String = plan.args.iter().map(|a| format!(", {}", a.name)).collect();
    let fields: String = plan.args.iter().map(|a| format!("{}, ", a.name)).collect();
    let (on, body) = match managed {
        Some(def) => (
            format!("&'a {}", def.managed_by),
            // The inputs are checked before the credential is fetched: a bad
            // input costs no token.
            format!(
                "{}crate::facade::ManagedCredential::with_credential(on, crate::Operation::{}, |credential| async move {{\n\
                 on.client().send_{id}(credential.expose_secret(){names}).await\n\
                 }})\n.await",
                managed_checks(plan, facts),
                camel(id)
            ),
        ),
        None => match &plan.credential_wire {
            Some(_) => (
                "calls::Raw<'a>".to_string(),
                format!("on.client.send_{id}(on.credential{names}).await"),
            ),
            None => (
                "&'a Client".to_string(),
                format!("on.send_{id}({}).await", names.trim_start_matches(", ")),
            ),
        },
    };
    format!(
        "impl<'a> ::std::future::IntoFuture for calls::{name}<'a, {on}> {{\n\
         type Output = Result<{ty}, crate::Error>;\n\
         type IntoFuture = calls::Pending<'a, {ty}>;\n\
         fn into_future(self) -> Self::IntoFuture {{\n\
         let calls::{name} {{ on, _inputs: _, {fields} }} = self;\n\
         Box::pin(async move {{\n{body}\n}})\n}}\n}}\n",
        ty = returns.ty
    )
}
