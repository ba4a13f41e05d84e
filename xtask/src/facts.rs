//! Build-level comparison: what build.rs emits from a spec besides the
//! client (via the shared generator crate, `codegen/`): the default base URL, the header
//! defaults the client sends, the length rules it checks before sending,
//! the `Operation` enum and its one-shot marks; and whether build.rs
//! accepts the spec at all. No spec edit that changes any of these passes
//! as `info`, except additions.

use std::collections::BTreeSet;

use crate::codegen::{BuildOutputs, InputRule, OperationFact, header_const};
use crate::{Change, Level, Severity};

/// The build-level changes from `old` to `new` of spec `spec` (each side:
/// build.rs's outputs, or the error it would fail the build with). `layer`
/// is the hand-written source (`src/**/*.rs`) the new spec is built with,
/// to tell a removed fact it still uses (the build breaks) from one it does
/// not.
pub fn diff(
    spec: &str,
    old: Option<&Result<BuildOutputs, String>>,
    new: &Result<BuildOutputs, String>,
    layer: &str,
) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |severity, rule, location: String, message: String| {
        out.push(Change {
            severity,
            spec: spec.to_string(),
            level: Level::Build,
            rule,
            location,
            pointer: String::new(),
            message,
        })
    };
    let file = format!("openapi/{spec}.yaml");
    let (old, new) = match (old, new) {
        (_, Err(e)) => {
            push(
                Severity::Breaking,
                "build-fails",
                file,
                format!("build.rs rejects this spec, so the crate does not build: {e}"),
            );
            return out;
        }
        (Some(Err(e)), Ok(_)) => {
            push(
                Severity::Info,
                "build-fixed",
                file,
                format!("build.rs rejected the old spec ({e}); it accepts the new one"),
            );
            return out;
        }
        (None, Ok(_)) => return out,
        (Some(Ok(old)), Ok(new)) => (old, new),
    };
    let used = |constant: &str| layer.contains(&format!("spec::{constant}"));
    let removed = |constant: &str, what: &str| -> (Severity, String) {
        if used(constant) {
            (
                Severity::Breaking,
                format!("{what}; the hand-written layer uses `spec::{constant}`, so the crate does not build"),
            )
        } else {
            (Severity::Warning, what.to_string())
        }
    };

    let (a, b) = (&old.facts, &new.facts);
    if a.server_url != b.server_url {
        push(
            Severity::Warning,
            "server-url-changed",
            format!("{file} servers[0]"),
            format!(
                "the client's default base URL changes: {} → {}; every call made without `.base_url(..)` goes to the new address",
                a.server_url, b.server_url
            ),
        );
    }

    let headers: BTreeSet<&String> = a.header_defaults.keys().chain(b.header_defaults.keys()).collect();
    for name in headers {
        let location = format!("header `{name}`");
        match (a.header_defaults.get(name), b.header_defaults.get(name)) {
            (Some((_, was)), Some((_, is))) if was != is => push(
                Severity::Warning,
                "header-default-changed",
                location,
                format!("the client now sends `{name}: {is}` (was `{name}: {was}`)"),
            ),
            (Some((_, was)), None) => {
                let (severity, message) = removed(
                    &header_const(name),
                    &format!("no default any more: the client stops sending `{name}: {was}`"),
                );
                push(severity, "header-default-removed", location, message)
            }
            (None, Some((_, is))) => push(
                Severity::Warning,
                "header-default-added",
                location,
                format!("the client can now send `{name}: {is}` by default"),
            ),
            _ => {}
        }
    }

    let inputs: BTreeSet<&(String, String)> = a.rules.keys().chain(b.rules.keys()).collect();
    let show = |r: &InputRule| {
        let unit = if r.counted { "items" } else { "characters" };
        match r.max {
            Some(max) => format!("{}..={max} {unit}", r.min),
            None => format!("at least {} {unit}", r.min),
        }
    };
    for key in inputs {
        let (operation, name) = key;
        let location = format!("`{operation}` input `{name}`");
        match (a.rules.get(key), b.rules.get(key)) {
            (Some(x), Some(y)) if (x.min, x.max, x.counted) != (y.min, y.max, y.counted) => {
                let tighter = y.min > x.min
                    || match (x.max, y.max) {
                        (None, Some(_)) => true,
                        (Some(x), Some(y)) => y < x,
                        _ => false,
                    };
                let message = format!("the client's local check changes: {} → {}", show(x), show(y));
                if tighter {
                    push(
                        Severity::Breaking,
                        "length-rule-tightened",
                        location,
                        format!("{message}: values it sent before are now refused before sending"),
                    )
                } else {
                    push(Severity::Info, "length-rule-relaxed", location, message)
                }
            }
            (Some(_), None) => push(
                Severity::Warning,
                "length-rule-removed",
                location,
                "no length rule any more: the client stops checking this input before sending".into(),
            ),
            (None, Some(y)) => push(
                Severity::Info,
                "length-rule-added",
                location,
                format!("checked before sending: {}", show(y)),
            ),
            _ => {}
        }
    }

    // The `Operation` enum (public, `#[non_exhaustive]`) and `is_one_shot`.
    let same_id = |a: &OperationFact, b: &OperationFact| a.operation_id == b.operation_id;
    let same_route = |a: &OperationFact, b: &OperationFact| a.method == b.method && a.path == b.path;
    for op in &old.operations {
        let location = format!("Operation::{}", op.operation_id);
        let found = new.operations.iter().find(|n| same_id(op, n));
        let renamed = new
            .operations
            .iter()
            .find(|n| same_route(op, n) && !old.operations.iter().any(|o| same_id(o, n)));
        match found {
            None => match renamed {
                Some(to) => push(
                    Severity::Breaking,
                    "operation-variant-renamed",
                    location,
                    format!(
                        "the `Operation` variant follows the operationId to Operation::{}: semver-major, code naming the old one stops compiling",
                        to.operation_id
                    ),
                ),
                None => push(
                    Severity::Breaking,
                    "operation-variant-removed",
                    location,
                    "the `Operation` variant of this operationId goes: semver-major, code naming it stops compiling"
                        .into(),
                ),
            },
            Some(n) if op.one_shot && !n.one_shot => push(
                Severity::Breaking,
                "one-shot-removed",
                location,
                "no longer `x-one-shot`: the library will retry it and may send its one-time credential twice".into(),
            ),
            Some(n) if !op.one_shot && n.one_shot => push(
                Severity::Warning,
                "one-shot-added",
                location,
                "now `x-one-shot`: never retried once it may have reached the platform".into(),
            ),
            Some(_) => {}
        }
    }
    // The credential an operation carries decides where its method lives
    // (on `Suite`, `Provider` or `Corp`) and which token it is sent with.
    for op in &old.operations {
        let Some(n) = new.operations.iter().find(|n| same_id(op, n)) else {
            continue;
        };
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
        if op.credential != n.credential {
            push(
                Severity::Breaking,
                "credential-changed",
                format!("Operation::{}", op.operation_id),
                format!(
                    "the credential changes from `{}` to `{}`: the managed method moves to another type and is sent with another token",
                    show(&op.credential),
                    show(&n.credential)
                ),
            );
        }
        if op.issues != n.issues {
            push(
                Severity::Warning,
                "issued-credential-changed",
                format!("Operation::{}", op.operation_id),
                format!("`x-issues-credential`: `{}` → `{}`", show(&op.issues), show(&n.issues)),
            );
        }
        // A one-shot change says it all (one-shot implies a write).
        if op.one_shot == n.one_shot && !op.one_shot && op.idempotent != n.idempotent {
            if n.idempotent {
                push(
                    Severity::Breaking,
                    "idempotent-added",
                    format!("Operation::{}", op.operation_id),
                    "no longer `x-idempotent: false`: the library will retry it after a timeout or a 5xx, and a write that had acted would act twice".into(),
                );
            } else {
                push(
                    Severity::Warning,
                    "idempotent-removed",
                    format!("Operation::{}", op.operation_id),
                    "now `x-idempotent: false` (a write): never re-sent once it may have reached the platform; its errors say `request_may_have_been_processed`".into(),
                );
            }
        }
        if op.one_shot && n.one_shot && op.kept_on_rejection != n.kept_on_rejection {
            push(
                Severity::Warning,
                "one-shot-rejection-changed",
                format!("Operation::{}", op.operation_id),
                format!(
                    "`x-one-shot-kept-on-credential-rejection`: {} → {}: what a rejected credential tells the caller about the one-time input changes",
                    op.kept_on_rejection, n.kept_on_rejection
                ),
            );
        }
    }
    let is_new = |n: &&OperationFact| {
        !old.operations.iter().any(|o| same_id(o, n))
            && !old
                .operations
                .iter()
                .any(|o| same_route(o, n) && !new.operations.iter().any(|m| same_id(o, m)))
    };
    for op in new.operations.iter().filter(is_new) {
        push(
            Severity::Info,
            "operation-variant-added",
            format!("Operation::{}", op.operation_id),
            "a new `Operation` variant (the enum is #[non_exhaustive]: semver-minor)".into(),
        );
    }
    out
}
