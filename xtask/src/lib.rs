//! `cargo xtask spec-diff`: what a change to `openapi/*.yaml` does, at the
//! wire level (the OpenAPI contract) and at the Rust level (the public items
//! of the code build.rs generates from it).
#![deny(missing_docs)]

pub mod diff;
pub mod facts;
pub mod lines;
pub mod report;
pub mod rust_api;

use corp_auth_codegen as codegen;

use std::collections::BTreeMap;

use serde::Serialize;

/// How much a change can hurt the crate's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Everything else that changed: additions, relaxed constraints, docs.
    Info,
    /// Compatible, but the client or its users see a difference worth a
    /// look (a new default, a changed base URL, answers old clients refuse).
    Warning,
    /// A user of the old crate or of the old wire contract can stop working,
    /// or the crate stops building. At the Rust level: semver-major.
    Breaking,
}

impl Severity {
    /// The lowercase name, as the reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Breaking => "breaking",
        }
    }
}

/// Which contract a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The OpenAPI contract: what goes over the wire.
    Wire,
    /// The generated Rust API.
    Rust,
    /// What build.rs emits besides the client (base URL, header defaults,
    /// length rules, `Operation`), and whether it accepts the spec.
    Build,
}

impl Level {
    /// The lowercase name, as the reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Wire => "wire",
            Level::Rust => "rust",
            Level::Build => "build",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// How much it can hurt.
    pub severity: Severity,
    /// The spec's name (`wecom` for `openapi/wecom.yaml`).
    pub spec: String,
    /// Wire contract or generated Rust API.
    pub level: Level,
    /// A stable identifier of the rule that fired (`response-property-removed`).
    pub rule: &'static str,
    /// Where: `POST /path` and a parameter, or a Rust item path.
    pub location: String,
    /// JSON pointer into the spec (wire changes), empty for Rust changes.
    pub pointer: String,
    /// What changed, for a reader.
    pub message: String,
}

/// A spec that could not be read: the file, where, and what.
#[derive(Debug)]
pub struct SpecError(
    /// The message: `openapi/<name>.yaml (<side>): <problem>`.
    pub String,
);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compares two sets of specs (name → YAML text); a spec present on one side
/// only is added or removed. `label_old`/`label_new` name the sides in errors.
pub fn compare(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    label_old: &str,
    label_new: &str,
) -> Result<Vec<Change>, SpecError> {
    compare_with_layer(old, new, label_old, label_new, "")
}

/// [`compare`], knowing the hand-written layer's source (`src/**/*.rs`, the
/// one the new specs are built with): a spec fact it still uses that the new
/// spec no longer yields is a build failure, not a warning.
pub fn compare_with_layer(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    label_old: &str,
    label_new: &str,
    layer: &str,
) -> Result<Vec<Change>, SpecError> {
    let mut changes = Vec::new();
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(_), None) => changes.push(spec_level(
                name,
                Severity::Breaking,
                "spec-removed",
                "the spec was removed",
            )),
            (None, Some(text)) => {
                let (_, spec) = load(name, text, label_new)?;
                changes.push(spec_level(name, Severity::Info, "spec-added", "a new spec was added"));
                changes.extend(facts::diff(name, None, &codegen::build_outputs(name, &spec), layer));
            }
            (Some(a), Some(b)) => {
                let (va, sa) = load(name, a, label_old)?;
                let (vb, sb) = load(name, b, label_new)?;
                changes.extend(diff::diff(name, &va, &vb));
                // Everything build.rs generates, for both sides; a side it
                // rejects is reported (build level), not a tool error.
                let built_a = codegen::build_outputs(name, &sa);
                let built_b = codegen::build_outputs(name, &sb);
                if let (Ok(a), Ok(b)) = (&built_a, &built_b) {
                    changes.extend(rust_api::diff(name, &a.client, &b.client).map_err(SpecError)?);
                    changes.extend(rust_api::diff_facade(name, &a.facade, &b.facade).map_err(SpecError)?);
                }
                changes.extend(facts::diff(name, Some(&built_a), &built_b, layer));
            }
            (None, None) => unreachable!(),
        }
    }
    changes.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.cmp(b)));
    changes.dedup();
    Ok(changes)
}

fn spec_level(name: &str, severity: Severity, rule: &'static str, message: &str) -> Change {
    Change {
        severity,
        spec: name.to_string(),
        level: Level::Wire,
        rule,
        location: format!("openapi/{name}.yaml"),
        pointer: String::new(),
        message: message.to_string(),
    }
}

/// Parses a spec as build.rs does (so errors carry the same line and path),
/// and as a JSON value for the structural diff.
fn load(name: &str, text: &str, label: &str) -> Result<(serde_json::Value, openapiv3::OpenAPI), SpecError> {
    let spec = codegen::parse(text).map_err(|e| SpecError(format!("openapi/{name}.yaml ({label}): {e}")))?;
    let value: serde_json::Value =
        serde_yaml_ng::from_str(text).map_err(|e| SpecError(format!("openapi/{name}.yaml ({label}): {e}")))?;
    Ok((value, spec))
}

/// The highest severity among `changes`.
pub fn worst(changes: &[Change]) -> Option<Severity> {
    changes.iter().map(|c| c.severity).max()
}
