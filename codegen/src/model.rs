//! The spec language: every `x-` extension the generator reads, where it may
//! stand and what its value must be, in one table ([`EXTENSIONS`]); the
//! extensions of a spec parsed once into typed facts ([`Model`]); and every
//! mistake refused with the key, the place and what is allowed.
//!
//! Two passes:
//! - [`check_keys`] walks the YAML as written (before openapiv3 drops
//!   anything, such as an `x-` key beside a `$ref`): an `x-` key that is not
//!   in the table, or stands where the table does not allow it, fails.
//! - [`Model::read`] reads the values: their types, the names they must
//!   refer to (an input of the operation, a credential, a field of the
//!   answer), keys that conflict, and the envelope's code in every success
//!   answer.

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, Type};
use serde_json::Value;

use super::{resolve, resolve_parameter};

/// Where an extension may stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The top level of the document.
    Document,
    /// An operation (`paths./x.get`).
    Operation,
    /// A schema of `components.schemas` (its top level).
    ComponentSchema,
}

impl At {
    fn describe(self) -> &'static str {
        match self {
            At::Document => "the document's top level",
            At::Operation => "an operation",
            At::ComponentSchema => "a schema of `components.schemas`",
        }
    }
}

/// One extension of the spec language.
pub struct Extension {
    /// The key (`x-one-shot`).
    pub key: &'static str,
    /// Where it may stand.
    pub at: At,
    /// What its value must be.
    pub value: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// Every `x-` key the generator reads. Any other `x-` key in a spec, or one
/// of these elsewhere, fails the build.
pub const EXTENSIONS: &[Extension] = &[
    Extension {
        key: "x-credentials",
        at: At::Document,
        value: "a map: credential query parameter → {managed-by: Suite|Provider|Corp, rejected: [codes]}",
        meaning: "the credentials operations carry, the managed type of each, the codes that reject it",
    },
    Extension {
        key: "x-one-shot",
        at: At::Operation,
        value: "true or false",
        meaning: "the platform acts on the call once: never sent twice (implies `x-idempotent: false`)",
    },
    Extension {
        key: "x-one-shot-input",
        at: At::Operation,
        value: "the name of one of the operation's inputs",
        meaning: "what a one-shot call consumes (named in its errors)",
    },
    Extension {
        key: "x-one-shot-note",
        at: At::Operation,
        value: "a string",
        meaning: "what the caller does when a one-shot call may have been processed",
    },
    Extension {
        key: "x-one-shot-kept-on-credential-rejection",
        at: At::Operation,
        value: "true or false",
        meaning: "a rejection of the credential proves the one-shot input was not consumed",
    },
    Extension {
        key: "x-idempotent",
        at: At::Operation,
        value: "true or false",
        meaning: "false: a write, never re-sent once it may have been processed (default true)",
    },
    Extension {
        key: "x-credential",
        at: At::Operation,
        value: "the name of a credential of `x-credentials`",
        meaning: "the kind of the operation's credential parameter, when its name says otherwise",
    },
    Extension {
        key: "x-issues-credential",
        at: At::Operation,
        value: "the name of a credential of `x-credentials`",
        meaning: "the operation issues that credential (its managed type fetches it with this call)",
    },
    Extension {
        key: "x-returns",
        at: At::Operation,
        value: "`AccessToken`, `PreAuthCode`, `JsapiTicket`, or `{field: <answer field>}`",
        meaning: "what the method returns instead of the answer",
    },
    Extension {
        key: "x-returns-field",
        at: At::Operation,
        value: "the name of a field of the success answer",
        meaning: "the method returns that field (same as `x-returns: {field: …}`)",
    },
    Extension {
        key: "x-cached-as",
        at: At::Operation,
        value: "a snake_case method name",
        meaning: "the answer (an expiring `x-returns` type) is cached by the managed type of the operation's credential, per credential, fetched once per fleet; the managed type's method of this name returns it, and the operation itself stays on the raw client only",
    },
    Extension {
        key: "x-arguments",
        at: At::Operation,
        value: "a map: input name → Rust type (converted with `Into`)",
        meaning: "a hand-written type the caller passes for an input",
    },
    Extension {
        key: "x-error-envelope",
        at: At::ComponentSchema,
        value: "true",
        meaning: "the platform's error answer (a required integer code and a string message)",
    },
];

/// The types `x-returns` may name: built from the answer's one guaranteed
/// secret and its `expires_in` (`new(call, secret, expires_in)` in `src/`).
pub const RETURN_TYPES: &[&str] = &["AccessToken", "PreAuthCode", "JsapiTicket"];

/// The `x-returns` types a managed type may cache (`x-cached-as`): values
/// with a lifetime that many calls share.
pub const CACHEABLE_TYPES: &[&str] = &["AccessToken", "JsapiTicket"];

/// The managed types `managed-by` may name (each implements
/// `crate::managed::ManagedCredential` for its platform module).
pub const MANAGED_TYPES: &[&str] = &["Suite", "Provider", "Corp"];

// ---------------------------------------------------------------------------
// Pass 1: every `x-` key, where it stands.

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Document,
    Components,
    PathItem,
    Operation,
    Parameter,
    Schema { component: bool },
    Other,
}

/// Refuses every `x-` key of `doc` (the YAML as written) that the spec
/// language does not have, or that stands where it is not allowed.
pub fn check_keys(doc: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    walk(doc, "", Ctx::Document, &mut errors);
    match errors.len() {
        0 => Ok(()),
        _ => Err(errors.join("\n")),
    }
}

fn join(place: &str, key: &str) -> String {
    if place.is_empty() {
        key.to_string()
    } else {
        format!("{place}.{key}")
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// Keys whose values are data (examples, defaults, enumerations), never
/// spec: an `x-` key inside them is the platform's, not ours.
const DATA: &[&str] = &["example", "examples", "default", "enum"];

fn walk(value: &Value, place: &str, ctx: Ctx, errors: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{place}[{i}]"), ctx, errors);
            }
        }
        Value::Object(map) => {
            for (key, v) in map {
                if key.starts_with("x-") {
                    if let Some(e) = misplaced(key, place, ctx) {
                        errors.push(e);
                    }
                    continue;
                }
                let here = join(place, key);
                let child = match (ctx, key.as_str()) {
                    (_, k) if DATA.contains(&k) => continue,
                    (Ctx::Document, "paths") => {
                        if let Value::Object(paths) = v {
                            for (path, item) in paths {
                                if path.starts_with("x-") {
                                    if let Some(e) = misplaced(path, &here, Ctx::Other) {
                                        errors.push(e);
                                    }
                                    continue;
                                }
                                walk(item, &join(&here, path), Ctx::PathItem, errors);
                            }
                        }
                        continue;
                    }
                    (Ctx::Document, "components") => Ctx::Components,
                    (Ctx::Components, "schemas") => {
                        if let Value::Object(schemas) = v {
                            for (name, s) in schemas {
                                walk(s, &join(&here, name), Ctx::Schema { component: true }, errors);
                            }
                        }
                        continue;
                    }
                    (Ctx::Components, "parameters") => {
                        if let Value::Object(params) = v {
                            for (name, p) in params {
                                walk(p, &join(&here, name), Ctx::Parameter, errors);
                            }
                        }
                        continue;
                    }
                    (Ctx::PathItem, m) if METHODS.contains(&m) => Ctx::Operation,
                    (Ctx::PathItem | Ctx::Operation, "parameters") => Ctx::Parameter,
                    (Ctx::Schema { .. }, "properties") => {
                        if let Value::Object(props) = v {
                            for (name, s) in props {
                                walk(s, &join(&here, name), Ctx::Schema { component: false }, errors);
                            }
                        }
                        continue;
                    }
                    (Ctx::Schema { .. }, "items" | "additionalProperties" | "not" | "allOf" | "anyOf" | "oneOf") => {
                        Ctx::Schema { component: false }
                    }
                    (_, "schema") => Ctx::Schema { component: false },
                    _ => Ctx::Other,
                };
                walk(v, &here, child, errors);
            }
        }
        _ => {}
    }
}

/// The error for `key` at `place` (context `ctx`), if it is not allowed.
fn misplaced(key: &str, place: &str, ctx: Ctx) -> Option<String> {
    let at = match ctx {
        Ctx::Document => Some(At::Document),
        Ctx::Operation => Some(At::Operation),
        Ctx::Schema { component: true } => Some(At::ComponentSchema),
        _ => None,
    };
    let place = if place.is_empty() { "the document" } else { place };
    if let Some(known) = EXTENSIONS.iter().find(|e| e.key == key) {
        if Some(known.at) == at {
            return None;
        }
        return Some(format!(
            "{place}: `{key}` is not allowed here: it belongs on {} ({})",
            known.at.describe(),
            known.meaning
        ));
    }
    let allowed: Vec<String> = EXTENSIONS
        .iter()
        .filter(|e| Some(e.at) == at)
        .map(|e| format!("`{}`", e.key))
        .collect();
    let here = if allowed.is_empty() {
        "no extension is allowed here".to_string()
    } else {
        format!("allowed here: {}", allowed.join(", "))
    };
    let hint = EXTENSIONS
        .iter()
        .map(|e| (distance(key, e.key), e.key))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    Some(format!(
        "{place}: unknown extension `{key}`{hint}; {here} (README, \"Spec extensions\")"
    ))
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

// ---------------------------------------------------------------------------
// Pass 2: the values, typed.

/// A credential of `x-credentials`: the query parameter that carries it,
/// the hand-written type that manages it, and the codes that reject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDef {
    /// The query parameter's name (`suite_access_token`).
    pub name: String,
    /// The managed type of the platform module (`Suite`).
    pub managed_by: String,
    /// The codes that mean "this credential was rejected".
    pub rejected: Vec<i64>,
}

/// `x-one-shot: true` and its companions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    /// `x-one-shot-input`: the input the call consumes.
    pub input: Option<String>,
    /// `x-one-shot-note`.
    pub note: String,
    /// `x-one-shot-kept-on-credential-rejection`.
    pub kept_on_credential_rejection: bool,
}

/// What a method returns instead of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returns {
    /// `x-returns: AccessToken`: a type built from the answer's guaranteed
    /// secret and `expires_in`.
    Type(String),
    /// `x-returns-field` (or `x-returns: {field: …}`): one field.
    Field(String),
}

/// The extensions of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationExt {
    /// `x-one-shot: true`, with its companions.
    pub one_shot: Option<OneShot>,
    /// `x-idempotent` (default true; false for every one-shot call).
    pub idempotent: bool,
    /// `x-credential`.
    pub credential: Option<String>,
    /// `x-issues-credential`.
    pub issues: Option<String>,
    /// `x-returns` / `x-returns-field`.
    pub returns: Option<Returns>,
    /// `x-arguments`: input name → Rust type.
    pub arguments: BTreeMap<String, String>,
    /// `x-cached-as`: the managed type's method that returns the cached
    /// answer.
    pub cached_as: Option<String>,
}

/// The extensions of a spec, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// `x-credentials`, in YAML order.
    pub credentials: Vec<CredentialDef>,
    /// The component schema marked `x-error-envelope`, with its code and
    /// message properties.
    pub envelope: Option<Envelope>,
    /// operationId → its extensions.
    pub operations: BTreeMap<String, OperationExt>,
}

/// The platform's error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The component schema's name.
    pub schema: String,
    /// Its required integer property (`errcode`).
    pub code: String,
    /// Its string property (`errmsg`).
    pub message: String,
}

fn boolean(place: &str, key: &str, v: Option<&Value>) -> Result<Option<bool>, String> {
    match v {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("{place}: `{key}` must be true or false, not {other}")),
    }
}

fn text(place: &str, key: &str, v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(other) => Err(format!("{place}: `{key}` must be a non-empty string, not {other}")),
    }
}

impl Model {
    /// Reads every extension of `spec`; an error is a build error.
    pub fn read(spec: &OpenAPI) -> Result<Model, String> {
        let credentials = credentials(spec.extensions.get("x-credentials"))?;
        let envelope = envelope(spec)?;
        let mut operations = BTreeMap::new();
        for (path, item) in spec.paths.iter() {
            let ReferenceOr::Item(item) = item else {
                return Err(format!("paths.{path}: `$ref` path items are not supported"));
            };
            for (method, op) in item.iter() {
                let place = format!("paths.{path}.{method}");
                let id = op
                    .operation_id
                    .clone()
                    .ok_or_else(|| format!("{place}: every operation needs an operationId"))?;
                let inputs = inputs(spec, item, op, &place)?;
                let extensions: BTreeMap<&str, &Value> = op.extensions.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let ext = operation(&place, &extensions, &inputs, &credentials)?;
                if let Some(envelope) = &envelope {
                    check_answer(spec, op, envelope, &place)?;
                }
                if operations.insert(id.clone(), ext).is_some() {
                    return Err(format!("{place}: operationId `{id}` is used twice"));
                }
            }
        }
        Ok(Model {
            credentials,
            envelope,
            operations,
        })
    }

    /// The extensions of operation `id` (every operation has an entry).
    pub fn operation(&self, id: &str) -> &OperationExt {
        &self.operations[id]
    }
}

fn credentials(value: Option<&Value>) -> Result<Vec<CredentialDef>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let map = value
        .as_object()
        .ok_or("`x-credentials` must map each credential's query parameter to {managed-by, rejected}")?;
    let mut out = Vec::new();
    for (name, def) in map {
        let place = format!("x-credentials.{name}");
        let def = def
            .as_object()
            .ok_or_else(|| format!("{place}: must be {{managed-by, rejected}}"))?;
        if let Some(key) = def.keys().find(|k| !matches!(k.as_str(), "managed-by" | "rejected")) {
            return Err(format!(
                "{place}: unknown key `{key}`; a credential takes `managed-by` and `rejected`"
            ));
        }
        let managed_by = def
            .get("managed-by")
            .and_then(|v| v.as_str())
            .filter(|s| MANAGED_TYPES.contains(s))
            .ok_or_else(|| {
                format!(
                    "{place}: `managed-by` must name the managed type: one of {}",
                    MANAGED_TYPES.join(", ")
                )
            })?;
        let rejected = def
            .get("rejected")
            .and_then(|v| v.as_array())
            .and_then(|a| a.iter().map(|c| c.as_i64()).collect::<Option<Vec<_>>>())
            .filter(|codes| !codes.is_empty())
            .ok_or_else(|| format!("{place}: `rejected` must list the codes (integers) that reject the credential"))?;
        out.push(CredentialDef {
            name: name.clone(),
            managed_by: managed_by.to_string(),
            rejected,
        });
    }
    Ok(out)
}

/// The names of an operation's inputs: its parameters (the path item's and
/// its own) and the top-level properties of its JSON request body.
fn inputs(
    spec: &OpenAPI,
    item: &openapiv3::PathItem,
    op: &openapiv3::Operation,
    place: &str,
) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for p in item.parameters.iter().chain(&op.parameters) {
        names.push(resolve_parameter(spec, p)?.parameter_data_ref().name.clone());
    }
    if let Some(body) = &op.request_body {
        let ReferenceOr::Item(body) = body else {
            return Err(format!("{place}: `$ref` request bodies are not supported"));
        };
        for m in body.content.values() {
            if let Some(schema) = &m.schema
                && let SchemaKind::Type(Type::Object(o)) = &resolve(spec, schema)?.schema_kind
            {
                names.extend(o.properties.keys().cloned());
            }
        }
    }
    Ok(names)
}

fn operation(
    place: &str,
    ext: &BTreeMap<&str, &Value>,
    inputs: &[String],
    credentials: &[CredentialDef],
) -> Result<OperationExt, String> {
    let get = |k: &str| ext.get(k).copied();
    let one_shot = boolean(place, "x-one-shot", get("x-one-shot"))?.unwrap_or(false);
    let input = text(place, "x-one-shot-input", get("x-one-shot-input"))?;
    let note = text(place, "x-one-shot-note", get("x-one-shot-note"))?;
    let kept = boolean(
        place,
        "x-one-shot-kept-on-credential-rejection",
        get("x-one-shot-kept-on-credential-rejection"),
    )?;
    if !one_shot && (input.is_some() || note.is_some() || kept.is_some()) {
        return Err(format!(
            "{place}: `x-one-shot-input`, `x-one-shot-note` and `x-one-shot-kept-on-credential-rejection` only go with `x-one-shot: true`"
        ));
    }
    let names_input = |key: &str, name: &str| -> Result<(), String> {
        if inputs.iter().any(|i| i == name) {
            Ok(())
        } else {
            Err(format!(
                "{place}: `{key}` names `{name}`, which is no input of the operation; its inputs: {}",
                if inputs.is_empty() {
                    "none".to_string()
                } else {
                    inputs.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
                }
            ))
        }
    };
    if let Some(name) = &input {
        names_input("x-one-shot-input", name)?;
    }
    let idempotent = boolean(place, "x-idempotent", get("x-idempotent"))?;
    if one_shot && idempotent == Some(true) {
        return Err(format!(
            "{place}: `x-one-shot: true` with `x-idempotent: true`: a one-shot call is never idempotent (drop `x-idempotent`)"
        ));
    }
    let credential_named = |key: &str, v: Option<String>| -> Result<Option<String>, String> {
        if let Some(name) = &v
            && !credentials.iter().any(|c| &c.name == name)
        {
            let known: Vec<_> = credentials.iter().map(|c| format!("`{}`", c.name)).collect();
            return Err(format!(
                "{place}: `{key}: {name}` names no credential of `x-credentials` ({})",
                if known.is_empty() {
                    "it has none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
        Ok(v)
    };
    let credential = credential_named("x-credential", text(place, "x-credential", get("x-credential"))?)?;
    let issues = credential_named(
        "x-issues-credential",
        text(place, "x-issues-credential", get("x-issues-credential"))?,
    )?;
    let returns = match (get("x-returns"), get("x-returns-field")) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{place}: `x-returns` and `x-returns-field` conflict: give one (`x-returns: {{field: …}}` is the same as `x-returns-field`)"
            ));
        }
        (None, None) => None,
        (None, Some(v)) => Some(Returns::Field(
            text(place, "x-returns-field", Some(v))?.unwrap_or_default(),
        )),
        (Some(Value::String(t)), None) if RETURN_TYPES.contains(&t.as_str()) => Some(Returns::Type(t.clone())),
        (Some(Value::Object(m)), None) if m.len() == 1 && m.get("field").is_some_and(Value::is_string) => {
            Some(Returns::Field(m["field"].as_str().unwrap_or_default().to_string()))
        }
        (Some(other), None) => {
            return Err(format!(
                "{place}: `x-returns` must be one of {} or `{{field: <answer field>}}`, not {other}",
                RETURN_TYPES
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    let arguments = match get("x-arguments") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                names_input(&format!("x-arguments.{k}"), k)?;
                match v.as_str() {
                    Some(t) if syn::parse_str::<syn::Type>(t).is_ok() => {
                        out.insert(k.clone(), t.to_string());
                    }
                    _ => return Err(format!("{place}: `x-arguments.{k}` must name a Rust type, not {v}")),
                }
            }
            out
        }
        Some(other) => {
            return Err(format!(
                "{place}: `x-arguments` must map input names to Rust types, not {other}"
            ));
        }
    };
    let cached_as = text(place, "x-cached-as", get("x-cached-as"))?;
    if let Some(name) = &cached_as {
        let snake = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake {
            return Err(format!(
                "{place}: `x-cached-as: {name}` must be a snake_case method name"
            ));
        }
        match &returns {
            Some(Returns::Type(t)) if CACHEABLE_TYPES.contains(&t.as_str()) => {}
            _ => {
                return Err(format!(
                    "{place}: `x-cached-as` caches a value with a lifetime: it needs `x-returns: {}`",
                    CACHEABLE_TYPES.join("` or `")
                ));
            }
        }
        if one_shot || idempotent == Some(false) {
            return Err(format!(
                "{place}: `x-cached-as` on a one-shot call or a write: only a read can be cached"
            ));
        }
        if issues.is_some() {
            return Err(format!(
                "{place}: `x-cached-as` with `x-issues-credential`: an issued credential is already managed"
            ));
        }
    }
    Ok(OperationExt {
        cached_as,
        one_shot: one_shot.then(|| OneShot {
            input,
            note: note.unwrap_or_default(),
            kept_on_credential_rejection: kept.unwrap_or(false),
        }),
        idempotent: !one_shot && idempotent.unwrap_or(true),
        credential,
        issues,
        returns,
        arguments,
    })
}

/// The schema marked `x-error-envelope` (at most one), with its keys.
fn envelope(spec: &OpenAPI) -> Result<Option<Envelope>, String> {
    let mut found: Option<Envelope> = None;
    for (name, schema) in spec.components.iter().flat_map(|c| &c.schemas) {
        let ReferenceOr::Item(s) = schema else { continue };
        let place = format!("components.schemas.{name}");
        match s.schema_data.extensions.get("x-error-envelope") {
            None => continue,
            Some(Value::Bool(true)) => {}
            Some(other) => return Err(format!("{place}: `x-error-envelope` must be true, not {other}")),
        }
        if let Some(first) = &found {
            return Err(format!(
                "{place}: a second `x-error-envelope` (the first is `{}`): a spec has one error envelope",
                first.schema
            ));
        }
        let SchemaKind::Type(Type::Object(o)) = &s.schema_kind else {
            return Err(format!("{place}: the error envelope must be an object"));
        };
        let mut code = None;
        let mut message = None;
        for (prop, schema) in &o.properties {
            let schema = resolve(spec, &schema.clone().unbox())?;
            match &schema.schema_kind {
                SchemaKind::Type(Type::Integer(_)) if o.required.contains(prop) => code = Some(prop.clone()),
                SchemaKind::Type(Type::String(_)) => message = Some(prop.clone()),
                _ => {}
            }
        }
        let (Some(code), Some(message)) = (code, message) else {
            return Err(format!(
                "{place}: the error envelope needs a required integer code and a string message"
            ));
        };
        found = Some(Envelope {
            schema: name.clone(),
            code,
            message,
        });
    }
    Ok(found)
}

/// Every success answer names the envelope's code field: an answer type
/// without it would decode an error answer (`{"errcode": 40001, …}`) as a
/// success with every field empty.
fn check_answer(spec: &OpenAPI, op: &openapiv3::Operation, envelope: &Envelope, place: &str) -> Result<(), String> {
    let Some(ReferenceOr::Item(response)) = op.responses.responses.get(&openapiv3::StatusCode::Code(200)) else {
        return Ok(());
    };
    let envelope_ref = format!("#/components/schemas/{}", envelope.schema);
    for (media, content) in &response.content {
        let essence = media.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            continue;
        }
        let Some(schema) = &content.schema else { continue };
        let place = format!("{place}.responses.200.{media}");
        let mut branches = vec![schema.clone()];
        let mut success = Vec::new();
        while let Some(b) = branches.pop() {
            if matches!(&b, ReferenceOr::Reference { reference } if *reference == envelope_ref) {
                continue;
            }
            let name = match &b {
                ReferenceOr::Reference { reference } => reference.rsplit('/').next().unwrap_or_default().to_string(),
                ReferenceOr::Item(_) => "the inline answer schema".to_string(),
            };
            let s = resolve(spec, &b)?;
            match &s.schema_kind {
                SchemaKind::AnyOf { any_of: v } | SchemaKind::OneOf { one_of: v } => branches.extend(v.iter().cloned()),
                SchemaKind::Type(Type::Object(o)) => success.push((name, o.properties.contains_key(&envelope.code))),
                // All parts make one answer: the code may stand in any.
                SchemaKind::AllOf { all_of: parts } => {
                    let mut has = false;
                    for part in parts {
                        if let SchemaKind::Type(Type::Object(o)) = &resolve(spec, part)?.schema_kind {
                            has |= o.properties.contains_key(&envelope.code);
                        }
                    }
                    success.push((name, has));
                }
                _ => {}
            }
        }
        if let Some((name, _)) = success.iter().find(|(_, has)| !has) {
            return Err(format!(
                "{place}: the success answer `{name}` has no `{code}` property: an error answer ({{\"{code}\": 40001, …}}) \
                 would decode as a success with every field empty. Add `{code}: {{type: integer, format: int64}}` \
                 (optional) to it, as the error envelope `{}` has",
                envelope.schema,
                code = envelope.code,
            ));
        }
    }
    Ok(())
}
