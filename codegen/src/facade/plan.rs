//! Per operation: what the caller passes (the inputs, in the calling
//! convention's order) and where each value of the generated request comes
//! from.

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, PathItem, ReferenceOr, SchemaKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use super::effective_parameters;
use super::index::{Index, generic_arg, last_ident};
use crate::model::Model;
use crate::{OperationFact, is_secret, resolve};

#[derive(Clone, PartialEq)]
pub(crate) enum Kind {
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

pub(crate) struct Arg {
    /// The Rust name.
    pub(crate) name: String,
    /// The name on the wire.
    pub(crate) wire: String,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    pub(crate) secret: bool,
    /// The signature type of one value, filled in once the generated type
    /// is known.
    pub(crate) plain: TokenStream,
    /// The same with lifetime `'a` on references (a request value's field,
    /// a setter's input).
    pub(crate) one: TokenStream,
    /// The spec's description of the input.
    pub(crate) doc: String,
    /// Where a required input stands among the positional arguments: path
    /// parameters in URL-template order, then the other parameters in the
    /// `parameters` list's order, then body properties in the order of the
    /// schema's `required` list. Ordered data only: sorting the spec's
    /// mapping keys changes no signature.
    order: (u8, usize),
    /// The constrained type a string input is parsed into (its pattern or
    /// enum is checked there), if any.
    pub(crate) parse_as: Option<syn::Type>,
}

impl Arg {
    /// The signature type of the sending method: `Option<…>` when optional.
    pub(crate) fn sig(&self) -> TokenStream {
        let plain = &self.plain;
        if self.required {
            plain.clone()
        } else {
            quote!(Option<#plain>)
        }
    }
}

/// Where a value of the generated request comes from.
pub(crate) enum Source {
    Arg(usize),
    /// A single-value enum: the client sends it.
    Literal(serde_json::Value),
    /// A header with a default: the hooks send it.
    HeaderDefault,
    Credential,
    Body,
}

pub(crate) fn rust_name(wire: &str) -> String {
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
pub(crate) type Slot = (String, syn::Type, Source);

pub(crate) struct OpPlan<'a> {
    pub(crate) fact: &'a OperationFact,
    pub(crate) op: &'a Operation,
    pub(crate) args: Vec<Arg>,
    /// generated method input → where its value comes from
    pub(crate) inputs: Vec<Slot>,
    /// the body type and its fields; `None`: no body
    pub(crate) body: Option<(String, Vec<Slot>)>,
    pub(crate) success: syn::Type,
    /// The wire name of the credential parameter.
    pub(crate) credential_wire: Option<String>,
}

pub(crate) fn plan<'a>(
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
            plain: TokenStream::new(),
            one: TokenStream::new(),
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
            arg.parse_as = Some(index.ty(inner));
        }
        (arg.plain, arg.one) = match &arg.kind {
            Kind::Str => (quote!(&str), quote!(&'a str)),
            Kind::Scalar => {
                let t = index.ty(inner);
                (quote!(#t), quote!(#t))
            }
            Kind::Array => {
                let element = generic_arg(inner, "Vec")
                    .map(|e| index.ty(e))
                    .ok_or_else(|| format!("{place}: array input `{}` is not a Vec", arg.wire))?;
                (quote!(&[#element]), quote!(&'a [#element]))
            }
            Kind::Object => {
                let t = index.ty(inner);
                (quote!(&#t), quote!(&'a #t))
            }
            Kind::Custom(t) => {
                let t: syn::Type = syn::parse_str(t).map_err(|e| format!("{place}: `x-arguments` type `{t}`: {e}"))?;
                (quote!(#t), quote!(#t))
            }
        };
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

/// The JSON content of a request or answer (`application/json`, with or
/// without parameters such as `charset`).
pub(crate) fn json_media(content: &openapiv3::Content) -> Option<&openapiv3::MediaType> {
    content.iter().find_map(|(media, m)| {
        let essence = media.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json").then_some(m)
    })
}
