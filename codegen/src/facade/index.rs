//! What the generated client offers: its methods and types, read from the
//! generated code itself (never guessed from the spec).

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

pub(crate) struct Field {
    pub(crate) json: String,
    pub(crate) ident: String,
    pub(crate) ty: syn::Type,
}

#[derive(Default)]
pub(crate) struct Index {
    /// method → (inputs after `&self`, success type)
    pub(crate) methods: BTreeMap<String, (Vec<(String, syn::Type)>, syn::Type)>,
    /// named-field structs of `mod types`
    pub(crate) structs: BTreeMap<String, Vec<Field>>,
    /// enums of `mod types`: variant → its single unnamed field, if any
    pub(crate) enums: BTreeMap<String, Vec<(String, Option<syn::Type>)>>,
    /// every type name of `mod types`
    pub(crate) types: BTreeSet<String>,
}

impl Index {
    pub(crate) fn new(file: &syn::File) -> Self {
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

    /// `ty` as a type of the platform module: names of `mod types` qualified.
    pub(crate) fn ty(&self, ty: &syn::Type) -> syn::Type {
        let mut ty = ty.clone();
        qualify(&mut ty, &self.types);
        ty
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
pub(crate) fn generic_arg<'t>(ty: &'t syn::Type, name: &str) -> Option<&'t syn::Type> {
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

pub(crate) fn last_ident(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}
