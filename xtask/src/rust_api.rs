//! Rust-level comparison: the public items of the code build.rs generates
//! for each revision (same settings, via the shared `codegen.rs`), parsed
//! with syn. Verdicts come from the generated code, not from guessing.
//!
//! Severities follow the Rust semver guidelines (the Cargo book's "SemVer
//! compatibility"): `breaking` is what needs a major release because
//! existing code can stop compiling (a removed or renamed item, a changed
//! type, a new field or variant in an exhaustive type); `info` is a minor
//! one (an addition, a new field of a `#[non_exhaustive]` answer type).
//! The generator (`codegen/`) makes the types only answers use `#[non_exhaustive]`.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

use crate::{Change, Level, Severity};

#[derive(Debug, PartialEq, Eq)]
enum Item {
    /// field name → type; `#[non_exhaustive]`
    Struct(BTreeMap<String, String>, bool),
    /// variants; `#[non_exhaustive]`
    Enum(BTreeSet<String>, bool),
    /// A newtype, alias or anything else, by its tokens.
    Other(String),
}

impl Item {
    /// The item with the old names of renamed types replaced by the new.
    fn renamed(&self, renames: &BTreeMap<String, String>) -> Item {
        match self {
            Item::Struct(fields, open) => Item::Struct(
                fields.iter().map(|(k, v)| (k.clone(), rename_in(v, renames))).collect(),
                *open,
            ),
            Item::Enum(v, open) => Item::Enum(v.clone(), *open),
            Item::Other(t) => Item::Other(rename_in(t, renames)),
        }
    }
}

/// Replaces whole identifiers of `text` per `renames`.
fn rename_in(text: &str, renames: &BTreeMap<String, String>) -> String {
    if renames.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut ident = String::new();
    let flush = |ident: &mut String, out: &mut String| {
        out.push_str(renames.get(ident.as_str()).map_or(ident.as_str(), String::as_str));
        ident.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            ident.push(c);
        } else {
            flush(&mut ident, &mut out);
            out.push(c);
        }
    }
    flush(&mut ident, &mut out);
    out
}

#[derive(Debug, Default)]
struct Api {
    types: BTreeMap<String, Item>,
    /// method name → signature (arguments and return type)
    methods: BTreeMap<String, String>,
}

/// The Rust-level changes from `old` to `new` (generated code of one spec).
pub fn diff(spec: &str, old: &str, new: &str) -> Result<Vec<Change>, String> {
    let (old, new) = (collect(old)?, collect(new)?);
    let mut out = Vec::new();
    let mut push = |severity, rule, location, message| out.push(rust_change(spec, severity, rule, location, message));

    // Renames: a removed type whose shape, with earlier renames applied,
    // reappears under a new name. Repeated, since a renamed struct's fields
    // mention renamed enums.
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let mut found = false;
        let pending: Vec<(&String, &Item)> = old
            .types
            .iter()
            .filter(|(k, _)| !new.types.contains_key(*k) && !renames.contains_key(*k))
            .collect();
        for (name, item) in pending {
            let renamed = item.renamed(&renames);
            let taken: BTreeSet<&String> = renames.values().collect();
            if let Some((to, _)) = new
                .types
                .iter()
                .find(|(k, v)| !old.types.contains_key(*k) && !taken.contains(k) && **v == renamed)
            {
                renames.insert(name.clone(), to.clone());
                found = true;
            }
        }
        if !found {
            break;
        }
    }
    let added: Vec<&String> = new
        .types
        .keys()
        .filter(|k| !old.types.contains_key(*k) && !renames.values().any(|v| v == *k))
        .collect();
    for (name, item) in &old.types {
        if let Some(to) = renames.get(name) {
            push(
                Severity::Breaking,
                "rust-type-renamed",
                format!("types::{name}"),
                format!("renamed to types::{to}: semver-major, code naming types::{name} stops compiling"),
            );
            continue;
        }
        let Some(new_item) = new.types.get(name) else {
            push(
                Severity::Breaking,
                "rust-type-removed",
                format!("types::{name}"),
                "type removed".into(),
            );
            continue;
        };
        match (&item.renamed(&renames), new_item) {
            (Item::Struct(a, was_open), Item::Struct(b, open)) => {
                for (field, ty) in a {
                    let location = format!("types::{name}::{field}");
                    match b.get(field) {
                        None => push(
                            Severity::Breaking,
                            "rust-field-removed",
                            location,
                            format!("field removed (was `{ty}`)"),
                        ),
                        Some(t) if t != ty => push(
                            Severity::Breaking,
                            "rust-field-type-changed",
                            location,
                            format!("`{ty}` → `{t}`"),
                        ),
                        Some(_) => {}
                    }
                }
                non_exhaustive_change(&mut push, name, *was_open, *open);
                for (field, ty) in b.iter().filter(|(f, _)| !a.contains_key(*f)) {
                    let location = format!("types::{name}::{field}");
                    if *was_open {
                        push(
                            Severity::Info,
                            "rust-field-added",
                            location,
                            format!(
                                "new field `{ty}`: semver-minor, types::{name} is #[non_exhaustive] (an answer type)"
                            ),
                        )
                    } else {
                        push(
                            Severity::Breaking,
                            "rust-field-added",
                            location,
                            format!(
                                "new field `{ty}`: semver-major, struct literals and exhaustive patterns of types::{name} stop compiling (a request type: exhaustive so callers can build it)"
                            ),
                        )
                    }
                }
            }
            (Item::Enum(a, was_open), Item::Enum(b, open)) => {
                for v in a.difference(b) {
                    push(
                        Severity::Breaking,
                        "rust-variant-removed",
                        format!("types::{name}::{v}"),
                        "variant removed".into(),
                    );
                }
                non_exhaustive_change(&mut push, name, *was_open, *open);
                for v in b.difference(a) {
                    let location = format!("types::{name}::{v}");
                    if *was_open {
                        push(
                            Severity::Info,
                            "rust-variant-added",
                            location,
                            format!("variant added: semver-minor, types::{name} is #[non_exhaustive] (an answer type)"),
                        )
                    } else {
                        push(
                            Severity::Breaking,
                            "rust-variant-added",
                            location,
                            format!("variant added: semver-major, exhaustive matches on types::{name} stop compiling"),
                        )
                    }
                }
            }
            (a, b) if a != b => push(
                Severity::Breaking,
                "rust-type-changed",
                format!("types::{name}"),
                "the type's shape changed".into(),
            ),
            _ => {}
        }
    }
    for name in added {
        push(
            Severity::Info,
            "rust-type-added",
            format!("types::{name}"),
            "type added".into(),
        );
    }

    let mut added: Vec<&String> = new.methods.keys().filter(|k| !old.methods.contains_key(*k)).collect();
    for (name, sig) in &old.methods {
        let sig = &rename_in(sig, &renames);
        match new.methods.get(name) {
            Some(s) if s == sig => {}
            Some(s) => push(
                Severity::Breaking,
                "rust-method-signature-changed",
                format!("Client::{name}"),
                format!("`{sig}` → `{s}`"),
            ),
            None => {
                if let Some(i) = added.iter().position(|n| new.methods.get(*n) == Some(sig)) {
                    let to = added.remove(i);
                    push(
                        Severity::Breaking,
                        "rust-method-renamed",
                        format!("Client::{name}"),
                        format!("renamed to Client::{to}: semver-major, calls to Client::{name} stop compiling"),
                    );
                } else {
                    push(
                        Severity::Breaking,
                        "rust-method-removed",
                        format!("Client::{name}"),
                        "method removed".into(),
                    );
                }
            }
        }
    }
    for name in added {
        push(
            Severity::Info,
            "rust-method-added",
            format!("Client::{name}"),
            "method added".into(),
        );
    }
    Ok(out)
}

/// A Rust-level change of `spec`.
fn rust_change(spec: &str, severity: Severity, rule: &'static str, location: String, message: String) -> Change {
    Change {
        severity,
        spec: spec.to_string(),
        level: Level::Rust,
        rule,
        location,
        pointer: String::new(),
        message,
    }
}

/// A type that became `#[non_exhaustive]` (it is no longer reached by any
/// request) can no longer be built with a literal; the reverse is harmless.
fn non_exhaustive_change(
    push: &mut impl FnMut(Severity, &'static str, String, String),
    name: &str,
    was: bool,
    is: bool,
) {
    match (was, is) {
        (false, true) => push(
            Severity::Breaking,
            "rust-type-became-non-exhaustive",
            format!("types::{name}"),
            "now #[non_exhaustive] (no request uses it any more): semver-major, struct literals stop compiling".into(),
        ),
        (true, false) => push(
            Severity::Info,
            "rust-type-became-exhaustive",
            format!("types::{name}"),
            "no longer #[non_exhaustive] (a request now uses it): semver-minor".into(),
        ),
        _ => {}
    }
}

fn is_non_exhaustive(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("non_exhaustive"))
}

fn collect(code: &str) -> Result<Api, String> {
    let file = syn::parse_file(code).map_err(|e| format!("generated code does not parse: {e}"))?;
    let mut api = Api::default();
    for item in &file.items {
        match item {
            syn::Item::Mod(m) if m.ident == "types" => {
                for item in m.content.iter().flat_map(|(_, items)| items) {
                    collect_type(item, &mut api.types);
                }
            }
            syn::Item::Impl(i) if i.trait_.is_none() && tokens(&i.self_ty) == "Client" => {
                for item in &i.items {
                    if let syn::ImplItem::Fn(f) = item
                        && matches!(f.vis, syn::Visibility::Public(_))
                        && f.sig.ident != "new"
                        && f.sig.ident != "new_with_client"
                    {
                        let inputs: Vec<String> = f.sig.inputs.iter().skip(1).map(tokens).collect();
                        let output = tokens(&f.sig.output);
                        api.methods
                            .insert(f.sig.ident.to_string(), format!("({}) {output}", inputs.join(", ")));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(api)
}

fn collect_type(item: &syn::Item, types: &mut BTreeMap<String, Item>) {
    match item {
        syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
            let item = match &s.fields {
                syn::Fields::Named(named) => Item::Struct(
                    named
                        .named
                        .iter()
                        .filter(|f| matches!(f.vis, syn::Visibility::Public(_)))
                        .map(|f| (f.ident.as_ref().unwrap().to_string(), tokens(&f.ty)))
                        .collect(),
                    is_non_exhaustive(&s.attrs),
                ),
                other => Item::Other(tokens(other)),
            };
            types.insert(s.ident.to_string(), item);
        }
        syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
            types.insert(
                e.ident.to_string(),
                Item::Enum(
                    e.variants.iter().map(|v| v.ident.to_string()).collect(),
                    is_non_exhaustive(&e.attrs),
                ),
            );
        }
        syn::Item::Type(t) if matches!(t.vis, syn::Visibility::Public(_)) => {
            types.insert(t.ident.to_string(), Item::Other(tokens(&t.ty)));
        }
        _ => {}
    }
}

/// Tokens as a reader would write them: `Option<String>`, not
/// `:: std :: option :: Option < :: std :: string :: String >`.
fn tokens(t: &impl ToTokens) -> String {
    let raw = t.to_token_stream().to_string();
    let mut s = raw
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" ::", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" <", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace("' a", "'a");
    for (long, short) in [
        ("::std::option::Option", "Option"),
        ("::std::string::String", "String"),
        ("::std::vec::Vec", "Vec"),
        ("::std::result::Result", "Result"),
    ] {
        s = s.replace(long, short);
    }
    s
}

/// The changes of the generated facade (`<spec>_facade.rs`): the public
/// methods on the platform client and the managed types, keyed by
/// `Type::method`. What callers see: a changed, reordered or renamed
/// argument list, a changed return type, a method removed or moved to
/// another managed type.
pub fn diff_facade(spec: &str, old: &str, new: &str) -> Result<Vec<Change>, String> {
    let (old, new) = (facade_methods(old)?, facade_methods(new)?);
    let mut out = Vec::new();
    let mut push = |severity, rule, location, message| out.push(rust_change(spec, severity, rule, location, message));
    for (name, (args, output)) in &old {
        let location = format!("{spec}::{name}");
        let Some((new_args, new_output)) = new.get(name) else {
            push(
                Severity::Breaking,
                "facade-method-removed",
                location,
                "method removed: semver-major, calls to it stop compiling".into(),
            );
            continue;
        };
        let types = |a: &[(String, String)]| a.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
        let names = |a: &[(String, String)]| a.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let show = |a: &[(String, String)]| {
            a.iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if types(args) != types(new_args) || output != new_output {
            push(
                Severity::Breaking,
                "facade-signature-changed",
                location,
                format!(
                    "`({}) -> {output}` → `({}) -> {new_output}`: semver-major, calls stop compiling",
                    show(args),
                    show(new_args)
                ),
            );
        } else if names(args) != names(new_args) {
            let mut a = names(args);
            let mut b = names(new_args);
            a.sort();
            b.sort();
            if a == b {
                push(
                    Severity::Breaking,
                    "facade-arguments-reordered",
                    location,
                    format!(
                        "`({})` → `({})`: the same types in another order, so existing calls still compile and send their values to the wrong inputs",
                        show(args),
                        show(new_args)
                    ),
                );
            } else {
                push(
                    Severity::Warning,
                    "facade-argument-renamed",
                    location,
                    format!("`({})` → `({})`", show(args), show(new_args)),
                );
            }
        }
    }
    for name in new.keys().filter(|k| !old.contains_key(*k)) {
        push(
            Severity::Info,
            "facade-method-added",
            format!("{spec}::{name}"),
            "method added".into(),
        );
    }
    Ok(out)
}

/// A facade method: its arguments as (name, type), and its return type.
type Signature = (Vec<(String, String)>, String);

/// `Type::method` → signature of every public method of every inherent impl
/// in `code` (the platform client, the managed types, and the setters of
/// the request values, keyed by the request's name), and `Type::await` →
/// what awaiting a request value gives (its `IntoFuture::Output`), per
/// receiver.
fn facade_methods(code: &str) -> Result<BTreeMap<String, Signature>, String> {
    let file = syn::parse_file(code).map_err(|e| format!("generated facade does not parse: {e}"))?;
    let mut out = BTreeMap::new();
    let mut items: Vec<&syn::Item> = file.items.iter().collect();
    while let Some(item) = items.pop() {
        match item {
            syn::Item::Mod(m) => items.extend(m.content.iter().flat_map(|(_, i)| i)),
            syn::Item::Impl(i) => impl_methods(i, &mut out),
            _ => {}
        }
    }
    Ok(out)
}

/// The name of an impl's self type without generics (`GetAppQrcode` for
/// `calls::GetAppQrcode<'a, On>`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        other => tokens(other),
    }
}

fn impl_methods(i: &syn::ItemImpl, out: &mut BTreeMap<String, Signature>) {
    let ty = type_name(&i.self_ty);
    if let Some((trait_path, _)) = &i.trait_ {
        if trait_path.segments.last().is_some_and(|s| s.ident == "IntoFuture") {
            // The receiver: the request's last generic argument.
            let receiver = match &*i.self_ty {
                syn::Type::Path(p) => match &p.path.segments.last().map(|s| &s.arguments) {
                    Some(syn::PathArguments::AngleBracketed(a)) => a.args.last().map(tokens).unwrap_or_default(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            for item in &i.items {
                if let syn::ImplItem::Type(t) = item
                    && t.ident == "Output"
                {
                    out.insert(format!("{ty}<{receiver}>::await"), (Vec::new(), tokens(&t.ty)));
                }
            }
        }
        return;
    }
    for item in &i.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        if !matches!(f.vis, syn::Visibility::Public(_)) {
            continue;
        }
        let args = f
            .sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(t) => Some((tokens(&t.pat), tokens(&t.ty))),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let output = tokens(&f.sig.output);
        let output = output.trim_start_matches("->").trim().to_string();
        out.insert(format!("{ty}::{}", f.sig.ident), (args, output));
    }
}
