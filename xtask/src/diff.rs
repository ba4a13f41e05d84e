//! Wire-level comparison of two versions of one OpenAPI spec.
//!
//! Both sides are compared as parsed values, so reformatting, key order,
//! comments and whitespace never produce a change. Schemas reached through
//! `$ref` are compared where they are used (a request schema by the request
//! rules, a response schema by the response rules) and reported at the
//! component's JSON pointer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{Change, Level, Severity};

/// An empty object, for absent `responses` / `properties`.
static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> = std::sync::LazyLock::new(serde_json::Map::new);

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// Keys that only document: a difference is `docs-changed` (info).
const DOC_KEYS: &[&str] = &["description", "summary", "title", "example", "examples", "externalDocs"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

struct Ctx<'a> {
    spec: &'a str,
    old: &'a Value,
    new: &'a Value,
    out: Vec<Change>,
    seen: BTreeSet<(&'static str, String)>,
}

/// The wire-level changes from `old` to `new`.
pub fn diff(spec: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut cx = Ctx {
        spec,
        old,
        new,
        out: Vec::new(),
        seen: BTreeSet::new(),
    };
    cx.operations();
    cx.components();
    if old.get("servers") != new.get("servers") {
        cx.push(
            Severity::Info,
            "servers-changed",
            "servers",
            "/servers",
            "the server list changed".into(),
        );
    }
    cx.docs(old, new, String::new());
    cx.out
}

impl<'a> Ctx<'a> {
    fn push(&mut self, severity: Severity, rule: &'static str, location: &str, pointer: &str, message: String) {
        // A component used by several operations is reported once.
        if !self.seen.insert((rule, pointer.to_string())) {
            return;
        }
        self.out.push(Change {
            severity,
            spec: self.spec.to_string(),
            level: Level::Wire,
            rule,
            location: location.to_string(),
            pointer: pointer.to_string(),
            message,
        });
    }

    fn operations(&mut self) {
        let (old, new) = (operations(self.old), operations(self.new));
        let keys: BTreeSet<&(String, &str)> = old.keys().chain(new.keys()).collect();
        for key in keys {
            let (path, method) = key;
            let location = format!("{} {path}", method.to_uppercase());
            let pointer = format!("/paths/{}/{method}", escape(path));
            match (old.get(key), new.get(key)) {
                (Some(_), None) => self.push(
                    Severity::Breaking,
                    "operation-removed",
                    &location,
                    &pointer,
                    "operation removed".into(),
                ),
                (None, Some(_)) => self.push(
                    Severity::Info,
                    "operation-added",
                    &location,
                    &pointer,
                    "operation added".into(),
                ),
                (Some(o), Some(n)) => self.operation(&location, path, &pointer, *o, *n),
                (None, None) => {}
            }
        }
    }

    fn operation(
        &mut self,
        location: &str,
        path: &str,
        pointer: &str,
        (o_item, o): (&'a Value, &'a Value),
        (n_item, n): (&'a Value, &'a Value),
    ) {
        if o.get("operationId") != n.get("operationId") {
            // Not on the wire; the Rust findings say what it does to code.
            let message = format!(
                "operationId {} → {}: nothing changes on the wire; the generated method and the `Operation` variant are renamed",
                o.get("operationId").unwrap_or(&Value::Null),
                n.get("operationId").unwrap_or(&Value::Null)
            );
            self.push(
                Severity::Info,
                "operation-renamed",
                location,
                &format!("{pointer}/operationId"),
                message,
            );
        }
        let path_ptr = format!("/paths/{}", escape(path));
        let old = effective_parameters(self.old, &path_ptr, o_item, pointer, o);
        let new = effective_parameters(self.new, &path_ptr, n_item, pointer, n);
        self.parameters(location, old, new);
        self.request_body(location, pointer, o.get("requestBody"), n.get("requestBody"));
        self.responses(location, pointer, o, n);
    }

    /// Parameters matched by place and name (never by position), path-level
    /// ones and `$ref`s included; reported where each is written.
    fn parameters(&mut self, location: &str, old: Parameters<'a>, new: Parameters<'a>) {
        let keys: BTreeSet<&(String, String)> = old.keys().chain(new.keys()).collect();
        for key in keys {
            let (place, name) = key;
            let here = format!("{location} {place} parameter `{name}`");
            match (old.get(key), new.get(key)) {
                (Some((ptr, _)), None) => self.push(
                    Severity::Breaking,
                    "parameter-removed",
                    &here,
                    ptr,
                    "parameter removed: the generated method's signature changes".into(),
                ),
                (None, Some((ptr, p))) => {
                    if required(p) {
                        self.push(
                            Severity::Breaking,
                            "required-parameter-added",
                            &here,
                            ptr,
                            "new required parameter".into(),
                        )
                    } else {
                        self.push(
                            Severity::Info,
                            "optional-parameter-added",
                            &here,
                            ptr,
                            "new optional parameter".into(),
                        )
                    }
                }
                (Some((_, op)), Some((ptr, np))) => {
                    match (required(op), required(np)) {
                        (false, true) => self.push(
                            Severity::Breaking,
                            "parameter-became-required",
                            &here,
                            ptr,
                            "the parameter became required".into(),
                        ),
                        (true, false) => self.push(
                            Severity::Info,
                            "parameter-became-optional",
                            &here,
                            ptr,
                            "the parameter became optional".into(),
                        ),
                        _ => {}
                    }
                    if let (Some(os), Some(ns)) = (op.get("schema"), np.get("schema")) {
                        let optional = !required(np);
                        self.schema(Side::Request, &here, &format!("{ptr}/schema"), os, ns, optional, 0);
                    }
                }
                (None, None) => {}
            }
        }
    }

    fn request_body(&mut self, location: &str, pointer: &str, o: Option<&'a Value>, n: Option<&'a Value>) {
        let here = format!("{location} request body");
        let ptr = format!("{pointer}/requestBody");
        match (o, n) {
            (None, None) => {}
            (Some(_), None) => self.push(
                Severity::Breaking,
                "request-body-removed",
                &here,
                &ptr,
                "the request body was removed".into(),
            ),
            (None, Some(n)) => {
                let severity = if required(n) {
                    Severity::Breaking
                } else {
                    Severity::Info
                };
                self.push(
                    severity,
                    "request-body-added",
                    &here,
                    &ptr,
                    "a request body was added".into(),
                )
            }
            (Some(o), Some(n)) => {
                if !required(o) && required(n) {
                    self.push(
                        Severity::Breaking,
                        "request-body-became-required",
                        &here,
                        &ptr,
                        "the request body became required".into(),
                    );
                }
                let pairs = media_pairs(o, n);
                self.media_parameters(&here, &ptr, &pairs);
                for &(media, _, old_media, new_media) in &pairs {
                    let mptr = format!("{ptr}/content/{}", escape(media));
                    match (old_media, new_media) {
                        (Some(_), None) => self.push(
                            Severity::Breaking,
                            "request-media-type-changed",
                            &here,
                            &mptr,
                            format!("{media} is no longer accepted"),
                        ),
                        (None, Some(_)) => self.push(
                            Severity::Info,
                            "request-media-type-added",
                            &here,
                            &mptr,
                            format!("{media} accepted"),
                        ),
                        (Some(om), Some(nm)) => {
                            if let (Some(os), Some(ns)) = (om.get("schema"), nm.get("schema")) {
                                self.schema(Side::Request, &here, &format!("{mptr}/schema"), os, ns, false, 0);
                            }
                        }
                        (None, None) => {}
                    }
                }
            }
        }
    }

    fn responses(&mut self, location: &str, pointer: &str, o: &'a Value, n: &'a Value) {
        let old = o.get("responses").and_then(Value::as_object).unwrap_or(&EMPTY);
        let new = n.get("responses").and_then(Value::as_object).unwrap_or(&EMPTY);
        for (status, or) in old {
            let here = format!("{location} response {status}");
            let ptr = format!("{pointer}/responses/{}", escape(status));
            let success = status.starts_with('2');
            let Some(nr) = new.get(status) else {
                let (severity, rule) = if success {
                    (Severity::Breaking, "success-response-removed")
                } else {
                    (Severity::Info, "response-removed")
                };
                self.push(severity, rule, &here, &ptr, format!("response {status} removed"));
                continue;
            };
            let pairs = media_pairs(or, nr);
            self.media_parameters(&here, &ptr, &pairs);
            for &(media, _, old_media, new_media) in &pairs {
                let mptr = format!("{ptr}/content/{}", escape(media));
                match (old_media, new_media) {
                    (Some(_), None) if success => self.push(
                        Severity::Breaking,
                        "response-media-type-changed",
                        &here,
                        &mptr,
                        format!("{media} is no longer answered"),
                    ),
                    (Some(om), Some(nm)) => {
                        if let (Some(os), Some(ns)) = (om.get("schema"), nm.get("schema")) {
                            // An answer written as `anyOf: [<success>, <error
                            // envelope>]` is decoded as its success branch
                            // (codegen/): compare those, and report the
                            // envelope's arrival or departure on its own.
                            let sptr = format!("{mptr}/schema");
                            let (os_succ, o_env) = success_branch(self.old, os);
                            let (ns_succ, n_env) = success_branch(self.new, ns);
                            match (o_env, n_env) {
                                (false, true) => self.push(
                                    Severity::Info,
                                    "error-answer-described",
                                    &here,
                                    &sptr,
                                    "the error envelope is now described (anyOf); the success schema is compared"
                                        .into(),
                                ),
                                (true, false) => self.push(
                                    Severity::Warning,
                                    "error-answer-undescribed",
                                    &here,
                                    &sptr,
                                    "the error envelope is no longer described: real error answers stop validating"
                                        .into(),
                                ),
                                _ => {}
                            }
                            let (os, ns) = if o_env || n_env { (os_succ, ns_succ) } else { (os, ns) };
                            self.schema(Side::Response, &here, &sptr, os, ns, false, 0);
                        }
                    }
                    (old_media, _) => self.push(
                        Severity::Info,
                        "response-media-type-changed",
                        &here,
                        &mptr,
                        format!("{media} {}", if old_media.is_some() { "removed" } else { "added" }),
                    ),
                }
            }
        }
        for status in new.keys().filter(|s| !old.contains_key(*s)) {
            let ptr = format!("{pointer}/responses/{}", escape(status));
            self.push(
                Severity::Info,
                "response-added",
                &format!("{location} response {status}"),
                &ptr,
                format!("response {status} added"),
            );
        }
    }

    /// Media types present on both sides whose parameters changed.
    fn media_parameters(&mut self, here: &str, ptr: &str, pairs: &[MediaPair<'_>]) {
        for &(is, was, old, new) in pairs {
            let Some(was) = was.filter(|was| *was != is && old.is_some() && new.is_some()) else {
                continue;
            };
            self.push(
                Severity::Info,
                "media-type-parameters-changed",
                here,
                &format!("{ptr}/content/{}", escape(is)),
                format!("`{was}` → `{is}`: the same media type, the same JSON and the same generated client"),
            );
        }
    }

    /// Compares two schemas used on `side`; `ptr` is the pointer of the use,
    /// replaced by the component's when the schema is a `$ref`.
    /// `optional`: the value is already an `Option` in the generated code (a
    /// property or parameter that is not required).
    #[allow(clippy::too_many_arguments)]
    fn schema(&mut self, side: Side, here: &str, ptr: &str, o: &'a Value, n: &'a Value, optional: bool, depth: usize) {
        if depth > 32 {
            return;
        }
        let (o, optr) = resolve(self.old, o, ptr);
        let (n, nptr) = resolve(self.new, n, ptr);
        let ptr = if optr == nptr { nptr } else { ptr.to_string() };
        let ptr = ptr.as_str();

        if o.get("type") != n.get("type") {
            let message = format!("type {} → {}", show(o.get("type")), show(n.get("type")));
            self.push(
                Severity::Breaking,
                "type-changed",
                here,
                &format!("{ptr}/type"),
                message,
            );
            return;
        }
        if o.get("format") != n.get("format") {
            let was_secret = str_of(o, "format").as_deref() == Some("password");
            let (rule, message) = if was_secret {
                (
                    "secret-marking-removed",
                    "no longer marked secret (`format: password`): it would print in clear".to_string(),
                )
            } else {
                (
                    "format-changed",
                    format!("format {} → {}", show(o.get("format")), show(n.get("format"))),
                )
            };
            self.push(Severity::Breaking, rule, here, &format!("{ptr}/format"), message);
        }
        let nullable = |v: &Value| v.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        match (nullable(o), nullable(n), side) {
            (false, true, Side::Response) if optional => self.push(
                Severity::Info,
                "nullable-changed",
                here,
                &format!("{ptr}/nullable"),
                "may now be null: it is already optional (an `Option`), so the generated type is unchanged".into(),
            ),
            (false, true, Side::Response) => self.push(
                Severity::Breaking,
                "response-property-nullable",
                here,
                &format!("{ptr}/nullable"),
                "may now be null: the generated field type changes".into(),
            ),
            (true, false, Side::Request) => self.push(
                Severity::Breaking,
                "constraint-tightened",
                here,
                &format!("{ptr}/nullable"),
                "null no longer accepted".into(),
            ),
            (a, b, _) if a != b => self.push(
                Severity::Info,
                "nullable-changed",
                here,
                &format!("{ptr}/nullable"),
                "nullable changed".into(),
            ),
            _ => {}
        }
        if o.get("default") != n.get("default") {
            self.push(
                Severity::Info,
                "default-changed",
                here,
                &format!("{ptr}/default"),
                format!("default {} → {}", show(o.get("default")), show(n.get("default"))),
            );
        }
        self.constraints(side, here, ptr, o, n);
        self.enumeration(side, here, ptr, o, n);
        self.properties(side, here, ptr, o, n, depth);
        if let (Some(oi), Some(ni)) = (o.get("items"), n.get("items")) {
            self.schema(
                side,
                &format!("{here}[]"),
                &format!("{ptr}/items"),
                oi,
                ni,
                false,
                depth + 1,
            );
        }
        for key in ["allOf", "oneOf", "anyOf", "not"] {
            // Branch by branch when both sides have the same number of
            // branches (an answer written as `anyOf: [<success>, <error
            // envelope>]` is compared like the success schema it holds).
            if let (Some(ob), Some(nb)) = (
                o.get(key).and_then(Value::as_array),
                n.get(key).and_then(Value::as_array),
            ) && ob.len() == nb.len()
            {
                for (i, (x, y)) in ob.iter().zip(nb).enumerate() {
                    self.schema(side, here, &format!("{ptr}/{key}/{i}"), x, y, optional, depth + 1);
                }
                continue;
            }
            if o.get(key) != n.get(key) {
                self.push(
                    Severity::Breaking,
                    "composition-changed",
                    here,
                    &format!("{ptr}/{key}"),
                    format!("`{key}` changed (not analysed further: treated as breaking)"),
                );
            }
        }
    }

    fn constraints(&mut self, side: Side, here: &str, ptr: &str, o: &Value, n: &Value) {
        // (key, true when a larger value is tighter)
        const BOUNDS: &[(&str, bool)] = &[
            ("maxLength", false),
            ("minLength", true),
            ("maximum", false),
            ("minimum", true),
            ("maxItems", false),
            ("minItems", true),
        ];
        for &(key, larger_is_tighter) in BOUNDS {
            let (a, b) = (o.get(key).and_then(Value::as_f64), n.get(key).and_then(Value::as_f64));
            if a == b {
                continue;
            }
            let tighter = match (a, b) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => (b > a) == larger_is_tighter,
                (None, None) => false,
            };
            self.constraint(
                side,
                here,
                &format!("{ptr}/{key}"),
                tighter,
                format!("{key} {} → {}", show(o.get(key)), show(n.get(key))),
            );
        }
        if o.get("pattern") != n.get("pattern") {
            let tighter = n.get("pattern").is_some();
            let message = format!("pattern {} → {}", show(o.get("pattern")), show(n.get("pattern")));
            self.constraint(side, here, &format!("{ptr}/pattern"), tighter, message);
        }
    }

    fn constraint(&mut self, side: Side, here: &str, ptr: &str, tighter: bool, message: String) {
        match (side, tighter) {
            (Side::Request, true) => self.push(Severity::Breaking, "constraint-tightened", here, ptr, message),
            (Side::Request, false) => self.push(Severity::Info, "constraint-relaxed", here, ptr, message),
            // Responses are never validated against constraints.
            (Side::Response, _) => self.push(Severity::Info, "constraint-changed", here, ptr, message),
        }
    }

    fn enumeration(&mut self, side: Side, here: &str, ptr: &str, o: &Value, n: &Value) {
        let values = |v: &Value| -> Option<BTreeSet<String>> {
            Some(v.get("enum")?.as_array()?.iter().map(Value::to_string).collect())
        };
        let eptr = format!("{ptr}/enum");
        match (values(o), values(n)) {
            (None, None) => {}
            (Some(_), None) => self.push(
                Severity::Info,
                "enum-removed",
                here,
                &eptr,
                "no longer an enumeration".into(),
            ),
            (None, Some(_)) => match side {
                Side::Request => self.push(
                    Severity::Breaking,
                    "constraint-tightened",
                    here,
                    &eptr,
                    "values now restricted to an enum".into(),
                ),
                Side::Response => self.push(
                    Severity::Warning,
                    "response-enum-added",
                    here,
                    &eptr,
                    "now an enum: values outside it fail to decode".into(),
                ),
            },
            (Some(a), Some(b)) => {
                let removed: Vec<&String> = a.difference(&b).collect();
                let added: Vec<&String> = b.difference(&a).collect();
                let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                if !removed.is_empty() {
                    let message = format!("enum values removed: {}", list(&removed));
                    match side {
                        Side::Request => self.push(Severity::Breaking, "enum-value-removed", here, &eptr, message),
                        Side::Response => {
                            self.push(Severity::Info, "response-enum-value-removed", here, &eptr, message)
                        }
                    }
                }
                if !added.is_empty() {
                    let message = format!("enum values added: {}", list(&added));
                    match side {
                        Side::Request => self.push(Severity::Info, "enum-value-added", here, &eptr, message),
                        Side::Response => self.push(
                            Severity::Warning,
                            "response-enum-value-added",
                            here,
                            &eptr,
                            format!("{message}: old clients fail to decode them"),
                        ),
                    }
                }
            }
        }
    }

    fn properties(&mut self, side: Side, here: &str, ptr: &str, o: &'a Value, n: &'a Value, depth: usize) {
        let props = |v: &'a Value| v.get("properties").and_then(Value::as_object).unwrap_or(&EMPTY);
        let required_set = |v: &Value| -> BTreeSet<String> {
            v.get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        };
        let (op, np) = (props(o), props(n));
        let (or, nr) = (required_set(o), required_set(n));
        let names: BTreeSet<&String> = op.keys().chain(np.keys()).collect();
        for name in names {
            let there = format!("{here} → {name}");
            let pptr = format!("{ptr}/properties/{}", escape(name));
            match (op.get(name), np.get(name), side) {
                (Some(_), None, Side::Request) => self.push(
                    Severity::Breaking,
                    "request-property-removed",
                    &there,
                    &pptr,
                    "request property removed: the generated struct loses the field".into(),
                ),
                (Some(_), None, Side::Response) => self.push(
                    Severity::Breaking,
                    "response-property-removed",
                    &there,
                    &pptr,
                    "response property removed".into(),
                ),
                (None, Some(_), Side::Request) if nr.contains(name) => self.push(
                    Severity::Breaking,
                    "required-request-property-added",
                    &there,
                    &pptr,
                    "new required request property".into(),
                ),
                (None, Some(_), Side::Request) => self.push(
                    Severity::Warning,
                    "optional-request-property-added",
                    &there,
                    &pptr,
                    "new optional request property: struct literals stop compiling".into(),
                ),
                (None, Some(_), Side::Response) if nr.contains(name) => self.push(
                    Severity::Warning,
                    "required-response-property-added",
                    &there,
                    &pptr,
                    "new required response property: the generated struct gains a non-optional field".into(),
                ),
                (None, Some(_), Side::Response) => self.push(
                    Severity::Info,
                    "response-property-added",
                    &there,
                    &pptr,
                    "new optional response property".into(),
                ),
                (Some(os), Some(ns), _) => {
                    let (was, is) = (or.contains(name), nr.contains(name));
                    match (was, is, side) {
                        (false, true, Side::Request) => self.push(
                            Severity::Breaking,
                            "request-property-became-required",
                            &there,
                            &pptr,
                            "the request property became required".into(),
                        ),
                        (true, false, Side::Response) => self.push(
                            Severity::Breaking,
                            "response-property-became-optional",
                            &there,
                            &pptr,
                            "the response property became optional: the generated field becomes an Option".into(),
                        ),
                        (a, b, _) if a != b => self.push(
                            Severity::Info,
                            "required-changed",
                            &there,
                            &pptr,
                            (if b { "now required" } else { "now optional" }).to_string(),
                        ),
                        _ => {}
                    }
                    self.schema(side, &there, &pptr, os, ns, !is, depth + 1);
                }
                (None, None, _) => {}
            }
        }
        let closed = |v: &Value| v.get("additionalProperties") == Some(&Value::Bool(false));
        if side == Side::Response && !closed(o) && closed(n) {
            self.push(
                Severity::Breaking,
                "response-schema-closed",
                here,
                &format!("{ptr}/additionalProperties"),
                "`additionalProperties: false`: any new field the platform adds breaks decoding".into(),
            );
        }
    }

    /// Component schemas that were renamed (same content, new name), added
    /// or removed.
    fn components(&mut self) {
        let schemas = |doc: &'a Value| -> BTreeMap<&'a String, &'a Value> {
            doc.pointer("/components/schemas")
                .and_then(Value::as_object)
                .map(|m| m.iter().collect())
                .unwrap_or_default()
        };
        let (old, new) = (schemas(self.old), schemas(self.new));
        let removed: Vec<(&String, &Value)> = old
            .iter()
            .filter(|(k, _)| !new.contains_key(*k))
            .map(|(k, v)| (*k, *v))
            .collect();
        let mut added: Vec<(&String, &Value)> = new
            .iter()
            .filter(|(k, _)| !old.contains_key(*k))
            .map(|(k, v)| (*k, *v))
            .collect();
        for (name, schema) in removed {
            let ptr = format!("/components/schemas/{}", escape(name));
            if let Some(i) = added.iter().position(|(_, s)| without_docs(s) == without_docs(schema)) {
                let (to, _) = added.remove(i);
                self.push(
                    Severity::Info,
                    "schema-renamed",
                    &format!("schema {name}"),
                    &ptr,
                    format!(
                        "schema {name} renamed to {to}: nothing changes on the wire; the generated type is renamed"
                    ),
                );
            } else {
                self.push(
                    Severity::Info,
                    "schema-removed",
                    &format!("schema {name}"),
                    &ptr,
                    format!("schema {name} removed"),
                );
            }
        }
        for (name, _) in added {
            let ptr = format!("/components/schemas/{}", escape(name));
            self.push(
                Severity::Info,
                "schema-added",
                &format!("schema {name}"),
                &ptr,
                format!("schema {name} added"),
            );
        }
    }

    /// Documentation that changed anywhere: descriptions, summaries,
    /// examples, external docs.
    fn docs(&mut self, o: &Value, n: &Value, ptr: String) {
        let (Some(om), Some(nm)) = (o.as_object(), n.as_object()) else {
            if let (Some(oa), Some(na)) = (o.as_array(), n.as_array()) {
                // Lists of named things (parameters, servers, `$ref`s) are
                // matched by name, so an insertion shifts nothing.
                let keyed = |list: &Vec<Value>| -> Option<BTreeMap<String, usize>> {
                    let map: BTreeMap<String, usize> = list
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Some((element_key(v)?, i)))
                        .collect::<Option<_>>()?;
                    (map.len() == list.len()).then_some(map)
                };
                match (keyed(oa), keyed(na)) {
                    (Some(ok), Some(nk)) => {
                        for (key, i) in &ok {
                            if let Some(j) = nk.get(key) {
                                self.docs(&oa[*i], &na[*j], format!("{ptr}/{j}"));
                            }
                        }
                    }
                    _ => {
                        for (i, (a, b)) in oa.iter().zip(na).enumerate() {
                            self.docs(a, b, format!("{ptr}/{i}"));
                        }
                    }
                }
            }
            return;
        };
        for key in DOC_KEYS {
            if om.get(*key) != nm.get(*key) {
                let kptr = format!("{ptr}/{key}");
                self.push(
                    Severity::Info,
                    "docs-changed",
                    &kptr.clone(),
                    &kptr,
                    format!("`{key}` changed"),
                );
            }
        }
        for (key, a) in om {
            if DOC_KEYS.contains(&key.as_str()) {
                continue;
            }
            if let Some(b) = nm.get(key) {
                self.docs(a, b, format!("{ptr}/{}", escape(key)));
            }
        }
    }
}

/// What identifies an element of a list: a parameter's place and name, a
/// `$ref`'s target, a server's URL.
fn element_key(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if let Some(target) = o.get("$ref").and_then(Value::as_str) {
        return Some(format!("$ref {target}"));
    }
    if let Some(name) = o.get("name").and_then(Value::as_str) {
        return Some(format!("{} {name}", o.get("in").and_then(Value::as_str).unwrap_or("")));
    }
    o.get("url").and_then(Value::as_str).map(|u| format!("url {u}"))
}

/// (path, method) → (path item, operation).
fn operations(doc: &Value) -> BTreeMap<(String, &'static str), (&Value, &Value)> {
    let mut out = BTreeMap::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                out.insert((path.clone(), *method), (item, op));
            }
        }
    }
    out
}

/// (in, name) → (pointer of its definition, the parameter).
type Parameters<'v> = BTreeMap<(String, String), (String, &'v Value)>;

/// An operation's parameters as the client sees them: the path item's,
/// overridden by the operation's own of the same place and name, each
/// `$ref` followed (then reported at the component).
fn effective_parameters<'v>(
    doc: &'v Value,
    path_ptr: &str,
    item: &'v Value,
    op_ptr: &str,
    op: &'v Value,
) -> Parameters<'v> {
    let mut out = BTreeMap::new();
    for (base, holder) in [(path_ptr, item), (op_ptr, op)] {
        let list = holder.get("parameters").and_then(Value::as_array);
        for (i, p) in list.into_iter().flatten().enumerate() {
            let (p, ptr) = resolve(doc, p, &format!("{base}/parameters/{i}"));
            if let (Some(place), Some(name)) = (str_of(p, "in"), str_of(p, "name")) {
                out.insert((place, name), (ptr, p));
            }
        }
    }
    out
}

/// A media type of both sides: (key as written now, key as written before,
/// old, new).
type MediaPair<'v> = (&'v str, Option<&'v str>, Option<&'v Value>, Option<&'v Value>);

/// The media types of two `content` maps, matched by type and subtype
/// (`application/json; charset=UTF-8` is `application/json`: the same JSON,
/// the same generated client). Parameters that changed are reported by
/// [`Ctx::media_parameters`].
fn media_pairs<'v>(o: &'v Value, n: &'v Value) -> Vec<MediaPair<'v>> {
    let by_essence = |v: &'v Value| -> BTreeMap<String, (&'v str, &'v Value)> {
        v.get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (essence(k), (k.as_str(), v)))
            .collect()
    };
    let (oc, nc) = (by_essence(o), by_essence(n));
    let keys: BTreeSet<&String> = oc.keys().chain(nc.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let (old, new) = (oc.get(k), nc.get(k));
            let key = new.or(old).map(|(raw, _)| *raw).unwrap_or_default();
            (
                key,
                old.map(|(raw, _)| *raw),
                old.map(|(_, v)| *v),
                new.map(|(_, v)| *v),
            )
        })
        .collect()
}

/// `type/subtype` of a media type, lowercase, without parameters.
fn essence(media: &str) -> String {
    media.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The success branch of an `anyOf`/`oneOf` that names the error envelope
/// (a component schema with `x-error-envelope: true`) and one other branch,
/// and whether it is such a union; otherwise the schema itself and false.
fn success_branch<'v>(doc: &'v Value, schema: &'v Value) -> (&'v Value, bool) {
    let is_envelope = |branch: &Value| {
        let (target, _) = resolve(doc, branch, "");
        branch.get("$ref").is_some() && target.get("x-error-envelope") == Some(&Value::Bool(true))
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let rest: Vec<&Value> = branches.iter().filter(|b| !is_envelope(b)).collect();
            if rest.len() == 1 && branches.len() == 2 {
                return (rest[0], true);
            }
        }
    }
    (schema, false)
}

/// Follows `$ref`s to components; returns the schema and its pointer.
fn resolve<'v>(doc: &'v Value, schema: &'v Value, ptr: &str) -> (&'v Value, String) {
    let (mut schema, mut ptr) = (schema, ptr.to_string());
    for _ in 0..16 {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(found) = target.strip_prefix('#').and_then(|p| doc.pointer(p)) else {
            break;
        };
        ptr = target.trim_start_matches('#').to_string();
        schema = found;
    }
    (schema, ptr)
}

fn without_docs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !DOC_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_docs(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_docs).collect()),
        other => other.clone(),
    }
}

fn required(v: &Value) -> bool {
    v.get("required").and_then(Value::as_bool).unwrap_or(false)
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(String::from)
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(none)".to_string(), Value::to_string)
}

/// JSON pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
