//! Code generation from the OpenAPI specs, shared by corp-auth's build.rs and
//! the `xtask spec-diff` command (both depend on this crate), so the code
//! that is reviewed is generated with exactly the settings the crate builds
//! with.
//!
//! - [`model`]: the spec language (every `x-` extension, where it stands and
//!   what it must be), read once and strictly;
//! - [`build_outputs`]: everything build.rs writes for one spec;
//! - [`facade`]: the public facade, one safe method per operation.
//!
//! Every `type: string, format: password` schema becomes `crate::Secret` in
//! the client (a redacting type) and a plain `String` in the mock helpers
//! (tests must be able to match the exact value they expect on the wire).

pub mod facade;
pub mod model;

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

// ---------------------------------------------------------------------------
// Operations: the facts the hand-written layer takes from the specs.

/// One operation of a spec.
pub struct OperationFact {
    /// The spec's module name (`chengxun`, `wecom`): the platform.
    pub spec: String,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    /// `x-one-shot: true`: the platform acts on it once; never sent twice.
    pub one_shot: bool,
    /// `x-one-shot-input`: the input a one-shot call consumes.
    pub one_shot_input: String,
    /// `x-one-shot-note`: what a caller does when the call may have been
    /// processed.
    pub one_shot_note: String,
    /// `x-one-shot-kept-on-credential-rejection`: a credential rejection
    /// proves the one-shot input was not consumed.
    pub kept_on_rejection: bool,
    /// `x-idempotent` (false for every one-shot call): sending it twice
    /// acts once.
    pub idempotent: bool,
    /// The query parameter that carries the operation's credential (a key of
    /// `x-credentials`), or `x-credential`.
    pub credential: Option<String>,
    /// `x-issues-credential`: the credential this operation issues.
    pub issues: Option<String>,
    /// `servers[0].url` of its spec.
    pub server_url: String,
    /// `x-cached-as`: the managed type's method that returns the answer,
    /// cached.
    pub cached_as: Option<String>,
    /// Not an operation of the spec but the raw calls of a managed type
    /// (`Corp::get`, `Corp::post`): any path, with the managed credential.
    pub raw: bool,
}

/// Every operation of `spec`, in path order.
pub fn operations(spec_name: &str, spec: &OpenAPI, model: &model::Model) -> Result<Vec<OperationFact>, String> {
    let server_url = spec.servers.first().map(|s| s.url.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        for (method, op) in item.iter() {
            let place = format!("paths.{path}.{method}");
            let operation_id = op
                .operation_id
                .clone()
                .ok_or_else(|| format!("{place}: every operation needs an operationId"))?;
            let ext = model.operation(&operation_id);
            let credential = facade::operation_credential(spec, item, op, model, &place)?;
            let one_shot = ext.one_shot.as_ref();
            out.push(OperationFact {
                spec: spec_name.to_string(),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op.summary.clone().unwrap_or_default(),
                one_shot: one_shot.is_some(),
                one_shot_input: one_shot
                    .and_then(|o| o.input.clone())
                    .unwrap_or_else(|| "one-time input".to_string()),
                one_shot_note: one_shot.map(|o| o.note.clone()).unwrap_or_default(),
                kept_on_rejection: one_shot.is_some_and(|o| o.kept_on_credential_rejection),
                idempotent: ext.idempotent,
                credential,
                issues: ext.issues.clone(),
                server_url: server_url.clone(),
                cached_as: ext.cached_as.clone(),
                raw: false,
                operation_id,
            });
        }
    }
    out.extend(raw_operations(spec_name, &server_url, model));
    Ok(out)
}

/// The raw calls of each managed type (`x-credentials`' `managed-by`): a
/// read (`get`, or a `post` the caller marks idempotent) and a write
/// (`post`), on any path, with the managed credential. They are operations
/// to the runtime (errors, retries, cool-downs) like any other.
fn raw_operations(spec_name: &str, server_url: &str, model: &model::Model) -> Vec<OperationFact> {
    let mut out = Vec::new();
    for c in &model.credentials {
        let managed = &c.managed_by;
        for (kind, method, idempotent, what) in [
            ("read", "GET", true, "get` (or `post` marked idempotent)"),
            ("write", "POST", false, "post`"),
        ] {
            out.push(OperationFact {
                spec: spec_name.to_string(),
                operation_id: format!("raw_{}_{kind}", managed.to_lowercase()),
                method: method.to_string(),
                path: "(any path)".to_string(),
                summary: format!("a raw {kind}: `{managed}::{what} for a path the spec does not have yet"),
                one_shot: false,
                one_shot_input: "one-time input".to_string(),
                one_shot_note: String::new(),
                kept_on_rejection: false,
                idempotent,
                credential: Some(c.name.clone()),
                issues: None,
                server_url: server_url.to_string(),
                cached_as: None,
                raw: true,
            });
        }
    }
    out
}

/// The public `Operation` and `Credential` enums over every spec's
/// operations and credentials, and the secret keys of every spec: one
/// variant per operationId, with its platform, credential, one-shot and
/// idempotency facts.
pub fn operations_code(ops: &[OperationFact], credentials: &[facade::CredentialDef], secret_keys: &[String]) -> String {
    use proc_macro2::{Ident, TokenStream};
    use quote::{ToTokens, format_ident, quote};
    let ident = |name: &str| -> Ident { format_ident!("{}", camel(name)) };
    fn tokens(value: impl ToTokens) -> TokenStream {
        value.into_token_stream()
    }
    let docs = |text: &str| -> TokenStream {
        let lines = text.lines().map(|l| format!(" {l}"));
        quote!(#(#[doc = #lines])*)
    };
    let variants = ops.iter().map(|op| {
        let note = if op.one_shot {
            " One-shot (`x-one-shot`): never sent twice."
        } else if !op.idempotent {
            " A write (`x-idempotent: false`): never sent twice."
        } else {
            ""
        };
        let about = docs(&format!(
            "{} `{} {}` ({}).{note}",
            op.spec, op.method, op.path, op.summary
        ));
        let v = ident(&op.operation_id);
        quote!(#about #v,)
    });
    // One `match self` over every operation, for each fact.
    let arms = |value: &dyn Fn(&OperationFact) -> TokenStream| -> TokenStream {
        let arms = ops.iter().map(|op| {
            let (v, value) = (ident(&op.operation_id), value(op));
            quote!(Operation::#v => #value,)
        });
        quote!(match self { #(#arms)* })
    };
    let credential = |c: &Option<String>| match c {
        Some(c) => {
            let c = ident(c);
            quote!(Some(Credential::#c))
        }
        None => quote!(None),
    };
    let platform = arms(&|op| {
        let p = ident(&op.spec);
        quote!(crate::Platform::#p)
    });
    let one_shot = arms(&|op| tokens(op.one_shot));
    let idempotent = arms(&|op| tokens(op.idempotent));
    let as_str = arms(&|op| tokens(&op.operation_id));
    let carries = arms(&|op| credential(&op.credential));
    let issues = arms(&|op| credential(&op.issues));
    let one_shot_input = arms(&|op| tokens(&op.one_shot_input));
    let one_shot_note = arms(&|op| tokens(&op.one_shot_note));
    let kept = arms(&|op| tokens(op.kept_on_rejection));
    let server_url = arms(&|op| tokens(&op.server_url));
    let from_id = ops.iter().map(|op| {
        let (id, v) = (&op.operation_id, ident(&op.operation_id));
        quote!(#id => Some(Operation::#v),)
    });
    let credential_variants = credentials.iter().map(|c| {
        let about = docs(&format!(
            "`{}`: managed by `{}`; rejected with {:?}.",
            c.name, c.managed_by, c.rejected
        ));
        let v = ident(&c.name);
        quote!(#about #v,)
    });
    let names = credentials.iter().map(|c| {
        let (v, name) = (ident(&c.name), &c.name);
        quote!(Credential::#v => #name,)
    });
    let rejected = credentials.iter().map(|c| {
        let v = ident(&c.name);
        let codes = c.rejected.iter().map(|n| proc_macro2::Literal::i64_unsuffixed(*n));
        quote!(Credential::#v => &[#(#codes),*],)
    });
    let file = quote! {
        /// The operation a call made: its platform and whether it is one-shot.
        /// One variant per operation of the specs in `openapi/`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Operation { #(#variants)* }

        impl Operation {
            /// The platform this operation belongs to.
            pub fn platform(self) -> crate::Platform { #platform }
            /// True when sending the request twice can do harm: the platform acts on
            /// it once and answers a second one with an error (`x-one-shot` in the spec).
            pub fn is_one_shot(self) -> bool { #one_shot }
            /// True when sending the request twice acts once (a read, or a write the
            /// platform deduplicates). False for writes (`x-idempotent: false`) and
            /// one-shot calls: the library never sends them again once they may have
            /// reached the platform.
            pub fn is_idempotent(self) -> bool { #idempotent }
            /// The operationId in the spec.
            pub fn as_str(self) -> &'static str { #as_str }
            /// The credential the call carries (a query parameter of `x-credentials`),
            /// if any.
            pub fn credential(self) -> Option<Credential> { #carries }
            /// The credential this operation issues (`x-issues-credential`), if any.
            pub fn issues(self) -> Option<Credential> { #issues }
            /// The input a one-shot call consumes (`x-one-shot-input`).
            pub(crate) fn one_shot_input(self) -> &'static str { #one_shot_input }
            /// What to do when a one-shot call may have been processed (`x-one-shot-note`).
            pub(crate) fn one_shot_note(self) -> &'static str { #one_shot_note }
            /// Whether a rejection of the credential proves the one-shot input was
            /// not consumed (`x-one-shot-kept-on-credential-rejection`).
            pub(crate) fn kept_on_credential_rejection(self) -> bool { #kept }
            /// `servers[0].url` of the operation's spec: the default base URL.
            pub(crate) fn server_url(self) -> &'static str { #server_url }
            /// The operation of an operationId.
            pub(crate) fn from_id(id: &str) -> Option<Operation> {
                match id {
                    #(#from_id)*
                    _ => None,
                }
            }
        }

        /// A credential an operation carries, named after its query parameter
        /// (`x-credentials` in the specs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Credential { #(#credential_variants)* }

        impl Credential {
            /// The query parameter that carries it.
            pub fn name(self) -> &'static str { match self { #(#names)* } }
            /// The codes that mean "this credential was rejected": the platform did
            /// not act on the call.
            pub const fn rejected_codes(self) -> &'static [i64] { match self { #(#rejected)* } }
            /// True when `code` rejects this credential.
            pub fn rejects(self, code: i64) -> bool {
                self.rejected_codes().contains(&code)
            }
        }

        /// Every secret input and answer field of the specs (`format: password`):
        /// server text is redacted after these keys.
        pub(crate) const SECRET_KEYS: &[&str] = &[#(#secret_keys),*];
    };
    let file: syn::File = syn::parse2(file).expect("the generated operations parse");
    format!(
        "// Generated by build.rs from openapi/. Do not edit.\n{}",
        prettyplease::unparse(&file)
    )
}

/// The operations of one spec as a Markdown table for the platform
/// module's docs (`<spec>_operations.md`): the method on the raw client and
/// on its managed type, the HTTP route, the credential and the kind (read,
/// write, one-shot), generated so it never drifts from the spec.
pub fn operations_table(ops: &[OperationFact], credentials: &[facade::CredentialDef]) -> String {
    let mut out = String::from("| operation | raw client | managed | HTTP | kind |\n| --- | --- | --- | --- | --- |\n");
    for op in ops {
        let id = &op.operation_id;
        let managed_by = |c: &str| credentials.iter().find(|d| d.name == c).map(|d| d.managed_by.clone());
        if op.raw {
            let ty = op.credential.as_deref().and_then(managed_by).unwrap_or_default();
            let (method, kind) = if op.idempotent {
                ("get", "read (retried)")
            } else {
                ("post", "**write**")
            };
            writeln!(
                out,
                "| raw {kind_word} for any path | | [`{ty}::{method}`]({ty}::{method}) | `{} {}` | {kind} |",
                op.method,
                op.path,
                kind_word = if op.idempotent { "read" } else { "write" },
            )
            .unwrap();
            continue;
        }
        let managed = match (&op.credential, &op.issues) {
            (_, Some(issued)) => format!("issues `{issued}`"),
            (Some(c), None) if op.cached_as.is_some() => {
                let (ty, name) = (
                    managed_by(c).unwrap_or_default(),
                    op.cached_as.as_deref().unwrap_or_default(),
                );
                format!("cached: [`{ty}::{name}`]({ty}::{name})")
            }
            (Some(c), None) => match credentials.iter().find(|d| &d.name == c) {
                Some(d) => format!("[`{0}::{id}`]({0}::{id})", d.managed_by),
                None => String::new(),
            },
            (None, None) => String::new(),
        };
        let kind = if op.one_shot {
            "**one-shot**"
        } else if !op.idempotent {
            "**write**"
        } else {
            "read"
        };
        let summary = op.summary.replace('|', "\\|");
        writeln!(
            out,
            "| {summary} | [`Client::{id}`](Client::{id}) | {managed} | `{} {}` | {kind} |",
            op.method, op.path
        )
        .unwrap();
    }
    out
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

// ---------------------------------------------------------------------------
// Spec facts for the hand-written layer.

/// What build.rs takes from a spec for the hand-written layer, besides the
/// client: `cargo xtask spec-diff` compares these too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFacts {
    /// `servers[0].url`: the client's default base URL.
    pub server_url: String,
    /// Header parameter name → (where, documented default): the value the
    /// client sends.
    pub header_defaults: BTreeMap<String, (String, String)>,
    /// (operationId, input name) → its rule: what the client refuses
    /// before sending. Rules belong to an operation's input: two operations
    /// may give one name different rules, or none. Constant inputs (a
    /// single-value enum, sent by the client) have none.
    pub rules: BTreeMap<(String, String), InputRule>,
}

/// The local check of one input of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRule {
    /// Where the spec states it.
    pub place: String,
    /// `minLength` (or `minItems`), 0 when absent.
    pub min: u64,
    /// `maxLength` (or `maxItems`).
    pub max: Option<u64>,
    /// An array: the rule counts items, not characters.
    pub counted: bool,
}

impl InputRule {
    fn of_string(place: String, st: &StringType) -> InputRule {
        InputRule {
            place,
            min: st.min_length.unwrap_or(0) as u64,
            max: st.max_length.map(|n| n as u64),
            counted: false,
        }
    }

    fn of_array(place: String, a: &openapiv3::ArrayType) -> InputRule {
        InputRule {
            place,
            min: a.min_items.unwrap_or(0) as u64,
            max: a.max_items.map(|n| n as u64),
            counted: true,
        }
    }

    /// The rule as an expression of the hand-written layer
    /// (`crate::validate::Rule` or `Count`) for input `name`.
    pub fn tokens(&self, name: &str) -> proc_macro2::TokenStream {
        let number = proc_macro2::Literal::u64_unsuffixed;
        let min = number(self.min);
        let max = self.max.map_or_else(
            || quote::quote!(None),
            |m| {
                let m = number(m);
                quote::quote!(Some(#m))
            },
        );
        if self.counted {
            quote::quote!(crate::validate::Count { name: #name, min_items: #min, max_items: #max })
        } else {
            quote::quote!(crate::validate::Rule { name: #name, min_chars: #min, max_chars: #max })
        }
    }
}

/// The facts of `spec`; an error is one build.rs would fail the build with.
pub fn spec_fact_data(spec: &OpenAPI) -> Result<SpecFacts, String> {
    let server = spec
        .servers
        .first()
        .ok_or("the spec needs a `servers` entry: it is the client's default base URL")?;
    let mut facts = SpecFacts {
        server_url: server.url.clone(),
        header_defaults: BTreeMap::new(),
        rules: BTreeMap::new(),
    };
    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in item.iter() {
            let place = format!("paths.{path}.{method}");
            let id = op.operation_id.clone().unwrap_or_default();
            let mut rule = |name: &str, rule: InputRule| {
                facts.rules.insert((id.clone(), name.to_string()), rule);
            };
            for p in item.parameters.iter().chain(&op.parameters) {
                let p = resolve_parameter(spec, p)?;
                let data = p.parameter_data_ref();
                let openapiv3::ParameterSchemaOrContent::Schema(schema) = &data.format else {
                    continue;
                };
                let s = resolve(spec, schema)?;
                match &s.schema_kind {
                    SchemaKind::Type(Type::Array(a)) => rule(&data.name, InputRule::of_array(place.clone(), a)),
                    // A constant is sent by the client: nothing to check.
                    SchemaKind::Type(Type::String(st)) if st.enumeration.len() == 1 => {}
                    // Headers are set by the client, not the caller: no
                    // rule, but their documented default.
                    SchemaKind::Type(Type::String(_)) if matches!(p, openapiv3::Parameter::Header { .. }) => {
                        if let Some(default) = s.schema_data.default.as_ref().and_then(|d| d.as_str()) {
                            insert_header_default(&mut facts.header_defaults, &data.name, place.clone(), default)?;
                        }
                    }
                    SchemaKind::Type(Type::String(st)) => rule(&data.name, InputRule::of_string(place.clone(), st)),
                    _ => {}
                }
            }
            if let Some(ReferenceOr::Item(body)) = &op.request_body {
                for m in body.content.values() {
                    let Some(schema) = &m.schema else { continue };
                    let schema = resolve(spec, schema)?;
                    let SchemaKind::Type(Type::Object(o)) = &schema.schema_kind else {
                        continue;
                    };
                    let at = format!("{place}.requestBody");
                    for (name, prop) in &o.properties {
                        let prop = resolve(spec, &prop.clone().unbox())?;
                        match &prop.schema_kind {
                            SchemaKind::Type(Type::String(st)) if st.enumeration.len() == 1 => {}
                            SchemaKind::Type(Type::String(st)) => rule(name, InputRule::of_string(at.clone(), st)),
                            SchemaKind::Type(Type::Array(a)) => rule(name, InputRule::of_array(at.clone(), a)),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    Ok(facts)
}

/// Emits `SERVER_URL` and one `<HEADER>_DEFAULT` per header parameter with
/// a default. (Length rules are not constants: each facade method checks
/// its inputs' own rules inline, so a spec never emits an unused one.)
pub fn spec_facts(facts: &SpecFacts) -> String {
    use quote::{format_ident, quote};
    let url = &facts.server_url;
    let defaults = facts.header_defaults.iter().map(|(name, (place, default))| {
        let about = format!(" Default of the `{name}` header ({place}).");
        let constant = format_ident!("{}", header_const(name));
        quote! {
            #[doc = #about]
            pub(crate) const #constant: &str = #default;
        }
    });
    let file = quote! {
        /// `servers[0].url` of the spec.
        pub(crate) const SERVER_URL: &str = #url;
        #(#defaults)*
    };
    let file: syn::File = syn::parse2(file).expect("the spec facts parse");
    format!(
        "// Generated by build.rs from openapi/. Do not edit.\n{}",
        prettyplease::unparse(&file)
    )
}

/// The constant build.rs emits for a header's default.
pub fn header_const(name: &str) -> String {
    format!("{}_DEFAULT", const_name(name))
}

/// Records the default of header `name`; the same header must have the same
/// default everywhere (the layer sends one value).
fn insert_header_default(
    defaults: &mut BTreeMap<String, (String, String)>,
    name: &str,
    place: String,
    default: &str,
) -> Result<(), String> {
    if let Some((first, existing)) = defaults.get(name) {
        if existing != default {
            return Err(format!(
                "{place}: header `{name}` has another default than at {first}: give it the same default everywhere"
            ));
        }
        return Ok(());
    }
    defaults.insert(name.to_string(), (place, default.to_string()));
    Ok(())
}

/// The names of every secret (`format: password`) parameter and property
/// of `spec`, sorted: the keys after which server text is redacted.
pub fn secret_names(spec: &OpenAPI) -> Result<Vec<String>, String> {
    let mut names = std::collections::BTreeSet::new();
    let mut visit = |place: &str, schema: &Schema| -> Result<(), String> {
        if is_secret(schema)
            && let Some((_, name)) = place.rsplit_once(".properties.")
        {
            names.insert(name.to_string());
        }
        Ok(())
    };
    walk_spec(spec, &mut visit)?;
    for (_, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        for (_, op) in item.iter() {
            for p in op.parameters.iter().chain(&item.parameters) {
                let data = resolve_parameter(spec, p)?.parameter_data_ref();
                if let openapiv3::ParameterSchemaOrContent::Schema(s) = &data.format
                    && is_secret(&resolve(spec, s)?)
                {
                    names.insert(data.name.clone());
                }
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// `type: string, format: password`.
pub fn is_secret(schema: &Schema) -> bool {
    matches!(
        &schema.schema_kind,
        SchemaKind::Type(Type::String(s)) if matches!(
            &s.format,
            openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Password)
        )
    )
}

/// A parameter, its `$ref` (to `#/components/parameters/...`) followed.
pub fn resolve_parameter<'s>(
    spec: &'s OpenAPI,
    p: &'s ReferenceOr<openapiv3::Parameter>,
) -> Result<&'s openapiv3::Parameter, String> {
    let mut p = p;
    for _ in 0..16 {
        match p {
            ReferenceOr::Item(item) => return Ok(item),
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/parameters/")
                    .ok_or_else(|| format!("unsupported `$ref: {reference}` (only #/components/parameters/...)"))?;
                p = spec
                    .components
                    .as_ref()
                    .and_then(|c| c.parameters.get(name))
                    .ok_or_else(|| format!("`$ref: {reference}` points to no parameter"))?;
            }
        }
    }
    Err("a parameter `$ref` chain is too long".into())
}

pub fn resolve(spec: &OpenAPI, schema: &ReferenceOr<Schema>) -> Result<Schema, String> {
    match schema {
        ReferenceOr::Item(s) => Ok(s.clone()),
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .ok_or_else(|| format!("unsupported `$ref: {reference}` (only #/components/schemas/...)"))?;
            let target = spec
                .components
                .as_ref()
                .and_then(|c| c.schemas.get(name))
                .ok_or_else(|| format!("`$ref: {reference}` points to no schema"))?;
            resolve(spec, target)
        }
    }
}

fn const_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}
