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
            "{:<8} {:<8} {:<5} {:<34} {}{}: {}\n",
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
    level.as_str()
}

/// `--format github`: GitHub Actions workflow commands, so a CI job marks
/// the pull request. One `::error` per breaking change and one `::warning`
/// per warning, on the spec line it is about (`locate` gives the file and
/// the line read from the YAML; a change it cannot place is annotated on
/// the file); info changes are only counted, in a closing `::notice`.
pub fn github(base: &str, changes: &[Change], locate: impl Fn(&Change) -> (Option<String>, Option<usize>)) -> String {
    let mut out = String::new();
    for c in changes.iter().filter(|c| c.severity != Severity::Info) {
        let command = if c.severity == Severity::Breaking {
            "error"
        } else {
            "warning"
        };
        let mut props = Vec::new();
        let (file, line) = locate(c);
        if let Some(file) = file {
            props.push(format!("file={}", property(&file)));
            if let Some(line) = line {
                props.push(format!("line={line}"));
            }
        }
        props.push(format!(
            "title={}",
            property(&format!(
                "spec-diff {} {} {}: {}",
                c.severity.as_str(),
                level(c.level),
                c.rule,
                c.location
            ))
        ));
        out.push_str(&format!("::{command} {}::{}\n", props.join(","), data(&c.message)));
    }
    let summary = if changes.is_empty() {
        "no changes".to_string()
    } else {
        summary(changes)
    };
    out.push_str(&format!(
        "::notice title=spec-diff::{}\n",
        data(&format!("openapi/ against {base}: {summary}"))
    ));
    out
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
