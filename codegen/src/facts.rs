//! Spec facts for the hand-written layer (base URL, headers, input rules,
//! secret names) and the schema look-ups they share.

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, StringType, Type};

use super::*;

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
