//! The three output formats of `spec-diff`.

use crate::{Change, Level, Severity};

/// `--format text`: one line a change, worst first.
pub fn text(base: &str, changes: &[Change]) -> String {
    if changes.is_empty() {
        return format!("spec-diff against {base}: no changes\n");
    }
    let mut out = format!("spec-diff against {base}: {}\n", summary(changes));
    for c in changes {
        out.push_str(&format!(
            "{:<8} {:<8} {:<4} {:<34} {}{}: {}\n",
            c.severity.as_str(),
            c.spec,
            level(c.level),
            c.rule,
            c.location,
            if c.pointer.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.pointer)
            },
            c.message
        ));
    }
    out
}

/// `--format markdown`: for pasting into a pull request.
pub fn markdown(base: &str, changes: &[Change]) -> String {
    let mut out = format!("### OpenAPI spec changes (against `{base}`)\n\n");
    if changes.is_empty() {
        out.push_str("No changes to `openapi/*.yaml`.\n");
        return out;
    }
    out.push_str(&format!("**{}**\n", summary(changes)));
    for severity in [Severity::Breaking, Severity::Warning, Severity::Info] {
        let group: Vec<&Change> = changes.iter().filter(|c| c.severity == severity).collect();
        if group.is_empty() {
            continue;
        }
        let title = match severity {
            Severity::Breaking => "Breaking: users of the old crate or the old wire contract can stop working",
            Severity::Warning => "Warning: wire-compatible, visible to Rust users",
            Severity::Info => "Info",
        };
        out.push_str(&format!(
            "\n#### {title}\n\n| spec | level | rule | where | change |\n| --- | --- | --- | --- | --- |\n"
        ));
        for c in group {
            let place = if c.pointer.is_empty() {
                format!("`{}`", c.location)
            } else {
                format!("{}<br>`{}`", c.location, c.pointer)
            };
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                c.spec,
                level(c.level),
                c.rule,
                cell(&place),
                cell(&c.message)
            ));
        }
    }
    out
}

/// `--format json`: stable; see the README ("Updating the specs").
pub fn json(base: &str, changes: &[Change]) -> String {
    let count = |s| changes.iter().filter(|c| c.severity == s).count();
    let value = serde_json::json!({
        "version": 1,
        "base": base,
        "summary": {
            "breaking": count(Severity::Breaking),
            "warning": count(Severity::Warning),
            "info": count(Severity::Info),
        },
        "changes": changes,
    });
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

fn summary(changes: &[Change]) -> String {
    let count = |s| changes.iter().filter(|c| c.severity == s).count();
    format!(
        "{} breaking, {} warning, {} info",
        count(Severity::Breaking),
        count(Severity::Warning),
        count(Severity::Info)
    )
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Wire => "wire",
        Level::Rust => "rust",
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
