//! Operations: the facts the hand-written layer takes from the specs (one
//! `OperationFact` per operation, raw pseudo-operations per managed type),
//! and the code and table made from them.

use openapiv3::{OpenAPI, ReferenceOr};

use super::*;

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
