//! The facade as Rust, built with `quote!`: the sending method, the public
//! method that starts a request, the request value with its setters, how
//! it is sent on each receiver, the answer conversions and the offline
//! decoders. Every piece is a token stream; the file is parsed and printed
//! with prettyplease once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use openapiv3::{OpenAPI, Operation, ReferenceOr, SchemaKind, Type};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::CredentialDef;
use super::index::{Index, generic_arg, last_ident};
use super::plan::{Arg, Kind, OpPlan, Source, json_media, plan, rust_name};
use crate::model::{Model, Returns as ReturnsExt};
use crate::{OperationFact, SpecFacts, camel, is_secret, resolve};

fn ident(name: &str) -> Ident {
    format_ident!("{}", name)
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
    let (code, message) = match &model.envelope {
        Some(e) => (e.code.clone(), e.message.clone()),
        // No envelope: answers are taken as they decode.
        None => (String::new(), String::new()),
    };
    let envelope = EnvelopeKeys { code, message };
    let mut raw = TokenStream::new();
    let mut managed: BTreeMap<String, TokenStream> = BTreeMap::new();
    // The request values, and how each is sent on each receiver.
    let mut requests = TokenStream::new();
    let mut calls = TokenStream::new();
    let mut raw_credential = false;
    let mut answers = TokenStream::new();
    let mut answer_impls = TokenStream::new();
    let mut implemented = BTreeSet::new();
    let mut answer_arms = TokenStream::new();
    let mut decoders = TokenStream::new();
    let mut issuers: BTreeMap<String, String> = BTreeMap::new();
    // managed type → the names of its cached values (`x-cached-as`).
    let mut cached: BTreeMap<String, Vec<String>> = BTreeMap::new();

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
            let op_ident = ident(id);
            let variant = ident(&camel(id));
            let ty = &returns.ty;
            let accept = if returns.json {
                emit_answer_impl(&index, &plan.success, &envelope, &mut answer_impls, &mut implemented)?;
                answer_arms.extend(quote!(#id => Some(decode::#op_ident(body).map(drop)),));
                let about = docs(&format!(
                    "Interprets the body of an HTTP 200 answer to `{id}` exactly as its\n\
                     method does (the error envelope, guaranteed fields, redaction): for\n\
                     replaying a stored answer."
                ));
                decoders.extend(quote! {
                    #about
                    pub fn #op_ident(body: &[u8]) -> Result<#ty, crate::Error> {
                        crate::response::decode_offline(crate::Operation::#variant, ENVELOPE, body, answers::#op_ident)
                    }
                });
                quote!(let answer = crate::response::accept(call, answer)?;)
            } else {
                quote!(let _ = call;)
            };
            let success = index.ty(&plan.success);
            let body = &returns.body;
            let about = docs(&format!("The answer of `{id}` as the facade returns it."));
            answers.extend(quote! {
                #about
                pub(crate) fn #op_ident(call: &crate::response::Call<'_>, answer: #success) -> Result<#ty, crate::Error> {
                    #accept
                    #body
                }
            });
            raw.extend(send_method(&plan, &returns, facts, &index)?);
            raw.extend(constructor(&plan, None));
            if let Some(issued) = &fact.issues {
                let (name, tokens) = issuer(&plan, issued);
                if let Some(other) = issuers.insert(name.clone(), id.to_string()) {
                    return Err(format!(
                        "{place}: `{other}` and `{id}` both issue `{issued}` with the same credential: the managed type could not tell which to call"
                    ));
                }
                raw.extend(tokens);
            }
            calls.extend(into_future(&plan, &returns, None, facts)?);
            let mut on_managed = None;
            if let Some(credential) = &fact.credential
                && fact.issues.is_none()
            {
                let def = credentials.iter().find(|c| &c.name == credential).unwrap();
                if let Some(name) = &ext.cached_as {
                    // A cached value: the managed type's method returns it;
                    // the operation stays on the raw client.
                    managed
                        .entry(def.managed_by.clone())
                        .or_default()
                        .extend(cached_method(&plan, name, &place)?);
                    cached.entry(def.managed_by.clone()).or_default().push(name.clone());
                } else {
                    managed
                        .entry(def.managed_by.clone())
                        .or_default()
                        .extend(constructor(&plan, Some(def)));
                    calls.extend(into_future(&plan, &returns, Some(def), facts)?);
                    on_managed = Some(def);
                }
            }
            raw_credential |= plan.credential_wire.is_some();
            requests.extend(request_struct(&plan, on_managed));
        }
    }

    // Test hooks: every example of the spec decodes through the generated
    // types and answers (tests/spec_examples.rs), with no list to maintain.
    let mut schema_arms = TokenStream::new();
    if let Some(components) = &spec.components {
        for name in components.schemas.keys().filter(|n| index.types.contains(*n)) {
            let t = ident(name);
            schema_arms.extend(quote!(#name => Some(::serde_json::from_value::<types::#t>(value).map(drop)),));
        }
    }
    let schema_doc = docs(
        "Decodes `value` as the generated type of component schema `schema`\n\
         (`None`: no such type). For the spec-examples test.",
    );
    let answer_doc = docs(
        "Interprets a 200 answer's `body` to operation `operation_id` exactly as\n\
         its method does (`None`: no such operation). For the spec-examples test.",
    );
    let envelope_doc = docs("The platform's error envelope (the schema marked `x-error-envelope`).");
    let (code, message) = (&envelope.code, &envelope.message);
    // Every managed type of the spec says which values it caches (dropped
    // with the credential they were fetched with).
    for def in credentials {
        managed.entry(def.managed_by.clone()).or_default();
    }
    let managed_impls = managed.iter().map(|(ty, methods)| {
        let names = cached.get(ty).cloned().unwrap_or_default();
        let ty = ident(ty);
        let about = docs(
            "The values this type caches (`x-cached-as`), each under its credential:\n\
             dropped with the credential they were fetched with.",
        );
        quote! {
            impl #ty {
                #about
                #[allow(dead_code)]
                pub(crate) const CACHED: &'static [&'static str] = &[#(#names),*];
                #methods
            }
        }
    });
    let decode_doc = docs(
        "Offline decoders, one per operation with a JSON answer: the body of an\n\
         HTTP 200 answer interpreted exactly as the operation's method does.",
    );
    let raw_type = if raw_credential {
        let about = docs(
            "The raw client and the credential the caller passed: where a request of\n\
             the raw client is sent.",
        );
        quote! {
            #about
            #[derive(Clone, Copy)]
            pub struct Raw<'a> {
                pub(super) client: &'a super::Client,
                pub(super) credential: &'a str,
            }
        }
    } else {
        TokenStream::new()
    };
    let calls_doc = docs(
        "The request values of the operations (calling convention v2): a method\n\
         takes the required inputs and returns one of these; its optional inputs\n\
         are setters; `.await` checks the inputs and sends it. Reads are retried\n\
         per the client's [`RetryPolicy`](crate::RetryPolicy) when the failure is\n\
         transient; one-shot calls and writes (`x-idempotent: false`) are sent at\n\
         most once, retried only after a connect error.",
    );
    let pending_doc = docs("What awaiting a request value gives: its answer, sent once `.await`ed.");
    let answers_doc = docs(
        "Each operation's answer, as its facade method returns it: the\n\
         envelope checked, guaranteed secrets present, converted.",
    );
    let file = quote! {
        #schema_doc
        #[doc(hidden)]
        pub fn decode_schema_example(schema: &str, value: ::serde_json::Value) -> Option<Result<(), ::serde_json::Error>> {
            match schema {
                #schema_arms
                _ => { let _ = value; None }
            }
        }
        #answer_doc
        #[doc(hidden)]
        pub fn decode_operation_answer(operation_id: &str, body: &[u8]) -> Option<Result<(), crate::Error>> {
            match operation_id {
                #answer_arms
                _ => { let _ = body; None }
            }
        }
        #envelope_doc
        pub(crate) const ENVELOPE: crate::response::Envelope = crate::response::Envelope { code: #code, message: #message };
        impl Client { #raw }
        #(#managed_impls)*
        #calls
        #decode_doc
        pub mod decode {
            #[allow(unused_imports)]
            use super::*;
            #decoders
        }
        #calls_doc
        pub mod calls {
            #[allow(unused_imports)]
            use super::*;
            #pending_doc
            pub type Pending<'a, T> = ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Result<T, crate::Error>> + Send + 'a>>;
            #raw_type
            #requests
        }
        #answers_doc
        pub(crate) mod answers {
            #[allow(unused_imports)]
            use super::*;
            #answers
        }
        #answer_impls
    };
    let file: syn::File =
        syn::parse2(file.clone()).map_err(|e| format!("the generated facade does not parse: {e}\n{file}"))?;
    Ok(format!(
        "// Generated by build.rs from openapi/ (codegen/src/facade). Do not edit.\n{}",
        prettyplease::unparse(&file)
    ))
}

struct EnvelopeKeys {
    code: String,
    message: String,
}

struct Returns {
    /// The return type (inside `Result<_, crate::Error>`).
    ty: TokenStream,
    /// The body of the `answers::<op>` function after the envelope check.
    body: TokenStream,
    /// The answer is JSON: its envelope is checked.
    json: bool,
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
    let success_ty = index.ty(&plan.success);
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
            ty: quote!(#success_ty),
            body: quote!(Ok(answer)),
            json: false,
        });
    };
    let envelope_only = matches!(schema, ReferenceOr::Reference { reference }
        if resolve(spec, schema).map(|s| s.schema_data.extensions.get("x-error-envelope") == Some(&serde_json::Value::Bool(true))).unwrap_or(false)
        && reference.starts_with("#/components/schemas/"));
    if envelope_only {
        return Ok(Returns {
            ty: quote!(()),
            body: quote!(let _ = answer; Ok(())),
            json: true,
        });
    }
    // The success schema's guaranteed secrets: present and non-empty.
    let fields = index.structs.get(&success_name);
    let mut body = TokenStream::new();
    let mut guaranteed_secrets = Vec::new();
    if let (Some(fields), Ok(success)) = (fields, success_schema(spec, schema))
        && let SchemaKind::Type(Type::Object(o)) = &success.schema_kind
    {
        for (name, prop) in &o.properties {
            let prop = resolve(spec, &prop.clone().unbox())?;
            if o.required.contains(name) && is_secret(&prop) {
                let f = fields.iter().find(|f| &f.json == name).unwrap();
                let field = ident(&f.ident);
                body.extend(quote!(call.nonempty(&answer.#field, #name)?;));
                guaranteed_secrets.push(f.ident.clone());
            }
        }
    }
    if let Some(ReturnsExt::Type(ty)) = ext {
        let fields = fields.ok_or_else(|| format!("{place}: `x-returns` needs an object answer"))?;
        let [secret] = guaranteed_secrets.as_slice() else {
            return Err(format!(
                "{place}: `x-returns: {ty}` is built from the answer's one guaranteed secret and its `expires_in`; the answer has {} guaranteed secrets",
                guaranteed_secrets.len()
            ));
        };
        let expires = fields
            .iter()
            .find(|f| f.json == "expires_in" && last_ident(&f.ty) == "i64")
            .ok_or_else(|| format!("{place}: `x-returns: {ty}` needs a required integer `expires_in` in the answer"))?;
        let (t, secret, expires) = (ident(ty), ident(secret), ident(&expires.ident));
        body.extend(quote!(#t::new(call, answer.#secret, answer.#expires)));
        return Ok(Returns {
            ty: quote!(#t),
            body,
            json: true,
        });
    }
    if let Some(ReturnsExt::Field(field)) = ext {
        let f = fields
            .and_then(|fields| fields.iter().find(|f| f.json == *field))
            .ok_or_else(|| format!("{place}: `x-returns-field: {field}` is no field of the answer"))?;
        let (name, ty) = (ident(&f.ident), index.ty(&f.ty));
        body.extend(quote!(Ok(answer.#name)));
        return Ok(Returns {
            ty: quote!(#ty),
            body,
            json: true,
        });
    }
    body.extend(quote!(Ok(answer)));
    Ok(Returns {
        ty: quote!(#success_ty),
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
    out: &mut TokenStream,
    done: &mut BTreeSet<String>,
) -> Result<(), String> {
    let name = last_ident(ty);
    if !done.insert(name.clone()) {
        return Ok(());
    }
    let body = if let Some(fields) = index.structs.get(&name) {
        let find = |key: &str| fields.iter().find(|f| !key.is_empty() && f.json == key);
        let code = match find(&envelope.code) {
            Some(f) if generic_arg(&f.ty, "Option").is_some() => {
                let f = ident(&f.ident);
                quote!(self.#f)
            }
            Some(f) => {
                let f = ident(&f.ident);
                quote!(Some(self.#f))
            }
            None => quote!(None),
        };
        let message = match find(&envelope.message) {
            Some(f) if generic_arg(&f.ty, "Option").is_some() => {
                let f = ident(&f.ident);
                quote!(self.#f.as_deref())
            }
            Some(f) => {
                let f = ident(&f.ident);
                quote!(Some(self.#f.as_str()))
            }
            None => quote!(None),
        };
        quote!((#code, #message))
    } else if let Some(variants) = index.enums.get(&name) {
        let mut arms = TokenStream::new();
        for (variant, field) in variants {
            let v = ident(variant);
            match field {
                Some(inner) => {
                    emit_answer_impl(index, inner, envelope, out, done)?;
                    arms.extend(quote!(Self::#v(v) => crate::response::Answer::envelope(v),));
                }
                None => arms.extend(quote!(Self::#v => (None, None),)),
            }
        }
        quote!(match self { #arms })
    } else {
        return Err(format!("the answer type `{name}` is neither a struct nor an enum"));
    };
    let name = ident(&name);
    out.extend(quote! {
        impl crate::response::Answer for types::#name {
            fn envelope(&self) -> (Option<i64>, Option<&str>) {
                #body
            }
        }
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// The methods.

/// An owned value of the generated type `target` from input `arg` (an
/// `&str`, a scalar, a slice, a reference or a custom type, `Option`al when
/// the input is optional). `optional_target`: the generated type is an
/// `Option` of `target`.
fn value(index: &Index, arg: &Arg, target: &syn::Type, optional_target: bool) -> Result<TokenStream, String> {
    let x = ident(&arg.name);
    let t = index.ty(target);
    let wire = &arg.wire;
    // How one value `v` converts, as a function path where there is one.
    enum Conv {
        Same,
        Path(TokenStream),
        Fallible,
        Clone,
    }
    let conv = match &arg.kind {
        Kind::Str => match last_ident(target).as_str() {
            "Secret" => Conv::Path(quote!(crate::Secret::from)),
            "String" => Conv::Path(quote!(str::to_string)),
            _ => Conv::Fallible,
        },
        Kind::Scalar => Conv::Same,
        Kind::Array => {
            let element = generic_arg(target, "Vec")
                .map(|e| index.ty(e))
                .ok_or_else(|| format!("array input `{wire}` is not a Vec"))?;
            Conv::Path(quote!(<[#element]>::to_vec))
        }
        Kind::Object => Conv::Clone,
        Kind::Custom(_) => Conv::Path(quote!(::std::convert::Into::<#t>::into)),
    };
    let parse = |v: TokenStream| quote!(crate::facade::parse::<#t>(#wire, #v));
    if arg.required {
        let e = match &conv {
            Conv::Same => quote!(#x),
            Conv::Path(p) => quote!(#p(#x)),
            Conv::Fallible => {
                let p = parse(quote!(#x));
                quote!(#p?)
            }
            Conv::Clone => quote!(#x.clone()),
        };
        return Ok(if optional_target { quote!(Some(#e)) } else { e });
    }
    let mapped = match &conv {
        Conv::Same => quote!(#x),
        Conv::Path(p) => quote!(#x.map(#p)),
        Conv::Fallible => {
            let p = parse(quote!(v));
            quote!(#x.map(|v| #p).transpose()?)
        }
        Conv::Clone => quote!(#x.cloned()),
    };
    if optional_target {
        Ok(mapped)
    } else if generic_arg(target, "Vec").is_some() {
        Ok(quote!(#mapped.unwrap_or_default()))
    } else {
        Err(format!(
            "optional input `{wire}` is a required field of the generated request"
        ))
    }
}

fn literal(
    index: &Index,
    value: &serde_json::Value,
    target: &syn::Type,
    optional_target: bool,
    wire: &str,
) -> Result<TokenStream, String> {
    let t = index.ty(target);
    let e = match value {
        serde_json::Value::String(s) => quote!(crate::facade::parse::<#t>(#wire, #s)?),
        other => other
            .to_string()
            .parse::<TokenStream>()
            .map_err(|e| format!("the constant {other} of `{wire}`: {e}"))?,
    };
    Ok(if optional_target { quote!(Some(#e)) } else { e })
}

/// `#[doc = " line"]` for each line of `text`.
fn docs(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| format!(" {line}"));
    quote!(#(#[doc = #lines])*)
}

/// Spec text as Markdown that rustdoc takes literally (no links from
/// brackets, no HTML from angle brackets).
fn escape_markdown(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]").replace('<', "&lt;")
}

fn method_doc(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> TokenStream {
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
    docs(&text)
}

/// The method every request value of an operation runs once `.await`ed:
/// the checks, then the call (one generic path: `Call::run`).
fn send_method(plan: &OpPlan<'_>, returns: &Returns, facts: &SpecFacts, index: &Index) -> Result<TokenStream, String> {
    let fact = plan.fact;
    let id = &fact.operation_id;
    let about = docs(&format!("Sends `{id}` (the body of its request values)."));
    let credential = plan.credential_wire.as_deref().map(|w| ident(&rust_name(w)));
    let mut params = Vec::new();
    if let Some(c) = &credential {
        params.push(quote!(#c: &str));
    }
    for arg in &plan.args {
        let (name, sig) = (ident(&arg.name), arg.sig());
        params.push(quote!(#name: #sig));
    }
    let allow = if params.len() > 7 {
        quote!(#[allow(clippy::too_many_arguments)])
    } else {
        TokenStream::new()
    };
    // Checks: every input against the spec's rules, before anything is sent.
    let mut checks = TokenStream::new();
    if let (Some(c), Some(wire)) = (&credential, &plan.credential_wire)
        && let Some(r) = facts.rules.get(&(id.clone(), wire.clone()))
    {
        let rule = r.tokens(wire);
        checks.extend(quote!(#rule.check(#c)?;));
    }
    checks.extend(input_checks(plan, facts)?);
    // The secrets this call sends, to redact from anything echoed.
    let mut sent: Vec<Ident> = credential.iter().cloned().collect();
    let mut sent_optional = Vec::new();
    for arg in plan.args.iter().filter(|a| a.secret && a.kind == Kind::Str) {
        if arg.required {
            sent.push(ident(&arg.name));
        } else {
            sent_optional.push(ident(&arg.name));
        }
    }
    let sent = if sent_optional.is_empty() {
        quote!(let sent: &[&str] = &[#(#sent),*];)
    } else {
        quote! {
            let sent_all: Vec<&str> = [#(#sent),*].into_iter().chain([#(#sent_optional),*].into_iter().flatten()).collect();
            let sent: &[&str] = &sent_all;
        }
    };
    // The generated request's values.
    let mut call_args = Vec::new();
    let mut locals = TokenStream::new();
    for (name, ty, source) in &plan.inputs {
        let (by_ref, optional, inner) = shape(ty);
        let local = format_ident!("p_{}", name);
        let expr = match source {
            Source::Body => {
                call_args.push(quote!(&body));
                continue;
            }
            Source::HeaderDefault => {
                call_args.push(quote!(None));
                continue;
            }
            Source::Credential => {
                let c = credential.as_ref().unwrap();
                if last_ident(&inner) == "str" {
                    call_args.push(quote!(#c));
                    continue;
                }
                quote!(crate::Secret::from(#c))
            }
            Source::Literal(v) => literal(index, v, &inner, optional, name)?,
            Source::Arg(i) => {
                let arg = &plan.args[*i];
                if last_ident(&inner) == "str" {
                    let a = ident(&arg.name);
                    call_args.push(quote!(#a));
                    continue;
                }
                value(index, arg, &inner, optional)?
            }
        };
        locals.extend(quote!(let #local = #expr;));
        call_args.push(match (by_ref, optional) {
            (true, false) => quote!(&#local),
            (true, true) => quote!(#local.as_ref()),
            (false, _) => quote!(#local),
        });
    }
    if let Some((body_type, fields)) = &plan.body {
        let body_type = ident(body_type);
        let mut init = TokenStream::new();
        for (field, ty, source) in fields {
            let optional = generic_arg(ty, "Option").is_some();
            let inner = generic_arg(ty, "Option").unwrap_or(ty);
            let e = match source {
                Source::Arg(i) => value(index, &plan.args[*i], inner, optional)?,
                Source::Literal(v) => literal(index, v, inner, optional, field)?,
                _ => unreachable!("body fields come from inputs or literals"),
            };
            let f = ident(field);
            if e.to_string() == *field {
                init.extend(quote!(#f,));
            } else {
                init.extend(quote!(#f: #e,));
            }
        }
        if fields.is_empty() {
            locals.extend(quote!(let body = types::#body_type::from(::serde_json::Map::new());));
        } else {
            locals.extend(quote!(let body = types::#body_type { #init };));
        }
    }
    let (op_ident, send, variant, ty) = (ident(id), format_ident!("send_{}", id), ident(&camel(id)), &returns.ty);
    let params = params.iter();
    Ok(quote! {
        #about
        #allow
        pub(crate) async fn #send(&self, #(#params),*) -> Result<#ty, crate::Error> {
            #checks
            #sent
            #locals
            self.call(crate::Operation::#variant, sent)
                .run(|| self.api.#op_ident(#(#call_args),*), answers::#op_ident)
                .await
        }
    })
}

/// The checks of every input (not the credential) against the spec's rules.
fn input_checks(plan: &OpPlan<'_>, facts: &SpecFacts) -> Result<TokenStream, String> {
    let id = &plan.fact.operation_id;
    let mut checks = TokenStream::new();
    for arg in &plan.args {
        let x = ident(&arg.name);
        let Some(rule) = facts.rules.get(&(id.clone(), arg.wire.clone())) else {
            continue;
        };
        let r = rule.tokens(&arg.wire);
        checks.extend(match &arg.kind {
            Kind::Str if arg.required => quote!(#r.check(#x)?;),
            Kind::Str => quote!(if let Some(v) = #x { #r.check(v)?; }),
            Kind::Array if arg.required => quote!(#r.check(#x.len())?;),
            Kind::Array => quote!(if let Some(v) = #x { #r.check(v.len())?; }),
            _ => TokenStream::new(),
        });
    }
    Ok(checks)
}

/// `input_checks` plus the parse of every constrained string input (its
/// pattern or enum), for a managed method: all of it before a token is
/// fetched.
fn managed_checks(plan: &OpPlan<'_>, facts: &SpecFacts) -> Result<TokenStream, String> {
    let mut checks = input_checks(plan, facts)?;
    for arg in &plan.args {
        let (Some(t), x, wire) = (&arg.parse_as, ident(&arg.name), &arg.wire) else {
            continue;
        };
        checks.extend(if arg.required {
            quote!(crate::facade::parse::<#t>(#wire, #x)?;)
        } else {
            quote!(if let Some(v) = #x { crate::facade::parse::<#t>(#wire, v)?; })
        });
    }
    Ok(checks)
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
fn request_struct(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> TokenStream {
    let id = &plan.fact.operation_id;
    let name = ident(&camel(id));
    let on = match managed {
        Some(def) => format!(" and [`{0}::{id}`](super::{0}::{id})", def.managed_by),
        None => String::new(),
    };
    let about = docs(&format!(
        "The request of [`Client::{id}`](super::Client::{id}){on}: set its optional inputs, then\n\
         `.await` it. The inputs are checked when it is awaited, before anything (a token\n\
         included) is fetched or sent."
    ));
    let fields = plan.args.iter().map(|arg| {
        let (f, one) = (ident(&arg.name), &arg.one);
        if arg.required {
            quote!(pub(super) #f: #one,)
        } else {
            quote!(pub(super) #f: Option<#one>,)
        }
    });
    let setters: Vec<TokenStream> = plan
        .args
        .iter()
        .filter(|a| !a.required)
        .map(|arg| {
            let about = if arg.doc.trim().is_empty() {
                format!("Sets the optional `{}`.", arg.wire)
            } else {
                format!("Sets the optional `{}`: {}", arg.wire, escape_markdown(arg.doc.trim()))
            };
            let (about, f, one) = (docs(&about), ident(&arg.name), &arg.one);
            quote! {
                #about
                pub fn #f(mut self, #f: #one) -> Self { self.#f = Some(#f); self }
            }
        })
        .collect();
    let setters = if setters.is_empty() {
        TokenStream::new()
    } else {
        quote!(impl<'a, On> #name<'a, On> { #(#setters)* })
    };
    quote! {
        #about
        #[must_use = "a request does nothing until it is `.await`ed"]
        pub struct #name<'a, On> {
            pub(super) on: On,
            pub(super) _inputs: ::std::marker::PhantomData<&'a ()>,
            #(#fields)*
        }
        #setters
    }
}

/// The public method that starts a request: on the raw client (`managed`
/// `None`: the credential first) or on the managed type.
fn constructor(plan: &OpPlan<'_>, managed: Option<&CredentialDef>) -> TokenStream {
    let id = &plan.fact.operation_id;
    let (method, name) = (ident(id), ident(&camel(id)));
    let about = method_doc(plan, managed);
    let credential = plan.credential_wire.as_deref().map(|w| ident(&rust_name(w)));
    let mut params = Vec::new();
    let (on_type, on_value) = match (managed, &credential) {
        (None, Some(c)) => {
            params.push(quote!(#c: &'a str));
            (
                quote!(calls::Raw<'a>),
                quote!(calls::Raw { client: self, credential: #c }),
            )
        }
        _ => (quote!(&'a Self), quote!(self)),
    };
    let mut fields = Vec::new();
    for arg in &plan.args {
        let (f, one) = (ident(&arg.name), &arg.one);
        if arg.required {
            params.push(quote!(#f: #one));
            fields.push(quote!(#f));
        } else {
            fields.push(quote!(#f: None));
        }
    }
    let allow = if params.len() > 7 {
        quote!(#[allow(clippy::too_many_arguments)])
    } else {
        TokenStream::new()
    };
    quote! {
        #about
        #allow
        pub fn #method<'a>(&'a self, #(#params),*) -> calls::#name<'a, #on_type> {
            calls::#name { on: #on_value, _inputs: ::std::marker::PhantomData, #(#fields),* }
        }
    }
}

/// The managed type's method of a cached value (`x-cached-as`): the
/// answer of the operation, fetched with the managed credential once per
/// fleet, cached under that credential until shortly before it (or the
/// credential) expires, and fetched again with a fresh credential when the
/// platform rejects it.
fn cached_method(plan: &OpPlan<'_>, name: &str, place: &str) -> Result<TokenStream, String> {
    let id = &plan.fact.operation_id;
    if let Some(arg) = plan.args.iter().find(|a| a.required) {
        return Err(format!(
            "{place}: `x-cached-as` needs an operation whose only required input is its credential; `{}` is required",
            arg.wire
        ));
    }
    let (method, send) = (ident(name), format_ident!("send_{}", id));
    let unset = plan.args.iter().map(|_| quote!(None));
    let summary = plan.op.summary.clone().unwrap_or_default();
    let about = docs(&format!(
        "{summary} (`{id}`), cached (`x-cached-as`): fetched with the managed\n\
         credential once across tasks and instances (through the store), kept\n\
         until shortly before it or the credential it was fetched with\n\
         expires, and fetched again with a fresh credential when the platform\n\
         rejects that one. The uncached call is [`Client::{id}`]."
    ));
    Ok(quote! {
        #about
        pub async fn #method(&self) -> Result<crate::Secret, crate::Error> {
            crate::facade::CachedValues::cached(self, #name, |credential| async move {
                self.client()
                    .#send(credential.expose_secret(), #(#unset),*)
                    .await
                    .map(crate::facade::Cacheable::into_token)
            })
            .await
        }
    })
}

/// How the managed types fetch a credential: `issue_<credential>` (or
/// `issue_<credential>_with_<carried>` when the issuing call carries another
/// credential), an alias of the operation marked `x-issues-credential`, so
/// the hand-written layer finds the issuer through the spec, not by name.
fn issuer(plan: &OpPlan<'_>, issued: &str) -> (String, TokenStream) {
    let id = &plan.fact.operation_id;
    let name = match &plan.fact.credential {
        Some(carried) => format!("issue_{issued}_with_{carried}"),
        None => format!("issue_{issued}"),
    };
    let (method, issue, request) = (ident(id), ident(&name), ident(&camel(id)));
    let credential = plan.credential_wire.as_deref().map(|w| ident(&rust_name(w)));
    let mut params = Vec::new();
    let mut args = Vec::new();
    let on = match &credential {
        Some(c) => {
            params.push(quote!(#c: &'a str));
            args.push(quote!(#c));
            quote!(calls::Raw<'a>)
        }
        None => quote!(&'a Self),
    };
    for arg in plan.args.iter().filter(|a| a.required) {
        let (a, one) = (ident(&arg.name), &arg.one);
        params.push(quote!(#a: #one));
        args.push(quote!(#a));
    }
    let about = docs(&format!(
        "Issues the `{issued}` (`x-issues-credential`): [`Client::{id}`]. What the managed types call."
    ));
    let tokens = quote! {
        #about
        pub(crate) fn #issue<'a>(&'a self, #(#params),*) -> calls::#request<'a, #on> {
            self.#method(#(#args),*)
        }
    };
    (name, tokens)
}

/// `IntoFuture` of a request value on its receiver: the raw client (sends
/// with the caller's credential) or the managed type (checks the inputs,
/// then sends with its managed credential, refreshing and replaying on a
/// rejection).
fn into_future(
    plan: &OpPlan<'_>,
    returns: &Returns,
    managed: Option<&CredentialDef>,
    facts: &SpecFacts,
) -> Result<TokenStream, String> {
    let fact = plan.fact;
    let id = &fact.operation_id;
    let (name, send, variant, ty) = (
        ident(&camel(id)),
        format_ident!("send_{}", id),
        ident(&camel(id)),
        &returns.ty,
    );
    let names: Vec<Ident> = plan.args.iter().map(|a| ident(&a.name)).collect();
    let (on, body) = match managed {
        Some(def) => {
            let managed_by = ident(&def.managed_by);
            // The inputs are checked before the credential is fetched: a
            // bad input costs no token.
            let checks = managed_checks(plan, facts)?;
            (
                quote!(&'a #managed_by),
                quote! {
                    #checks
                    crate::facade::ManagedCredential::with_credential(on, crate::Operation::#variant, |credential| async move {
                        on.client().#send(credential.expose_secret(), #(#names),*).await
                    })
                    .await
                },
            )
        }
        None => match &plan.credential_wire {
            Some(_) => (
                quote!(calls::Raw<'a>),
                quote!(on.client.#send(on.credential, #(#names),*).await),
            ),
            None => (quote!(&'a Client), quote!(on.#send(#(#names),*).await)),
        },
    };
    Ok(quote! {
        impl<'a> ::std::future::IntoFuture for calls::#name<'a, #on> {
            type Output = Result<#ty, crate::Error>;
            type IntoFuture = calls::Pending<'a, #ty>;
            fn into_future(self) -> Self::IntoFuture {
                let calls::#name { on, _inputs: _, #(#names,)* } = self;
                Box::pin(async move { #body })
            }
        }
    })
}
