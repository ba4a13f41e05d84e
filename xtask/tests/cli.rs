//! `cargo xtask spec-diff` end to end: a throwaway git repository, the
//! binary, its exit status and its three formats.

use std::path::PathBuf;
use std::process::{Command, Output};

const BASE: &str = include_str!("cases/base.yaml");

struct Repo(PathBuf);

impl Repo {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("spec-diff-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("openapi")).unwrap();
        let repo = Repo(dir);
        repo.git(&["init", "-q"]);
        repo.write("corpus", BASE);
        repo.git(&["add", "-A"]);
        repo.git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"]);
        repo
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git").arg("-C").arg(&self.0).args(args).status().unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join("openapi").join(format!("{name}.yaml")), text).unwrap();
    }

    fn spec_diff(&self, args: &[&str]) -> (i32, String, String) {
        let Output { status, stdout, stderr } = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("spec-diff")
            .args(args)
            .arg("--repo")
            .arg(&self.0)
            .output()
            .unwrap();
        (
            status.code().unwrap(),
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn no_change_exits_0() {
    let repo = Repo::new("none");
    let (code, out, _) = repo.spec_diff(&["--fail-on", "warning"]);
    assert_eq!(code, 0);
    assert_eq!(out, "spec-diff against HEAD: no changes\n");
}

#[test]
fn fail_on_sets_the_exit_status() {
    let repo = Repo::new("fail-on");
    // A response property removed: breaking.
    repo.write(
        "corpus",
        &BASE.replace(
            "        label:\n          type: string\n          description: The label\n",
            "",
        ),
    );
    assert_eq!(repo.spec_diff(&[]).0, 0, "always 0 without --fail-on");
    assert_eq!(repo.spec_diff(&["--fail-on", "breaking"]).0, 1);
    assert_eq!(repo.spec_diff(&["--fail-on", "warning"]).0, 1);
    // Only a description: info.
    repo.write("corpus", &BASE.replace("The label", "The item's label"));
    assert_eq!(repo.spec_diff(&["--fail-on", "warning"]).0, 0);
    assert_eq!(repo.spec_diff(&["--fail-on", "breaking"]).0, 0);
}

#[test]
fn usage_errors_unknown_revisions_and_broken_specs_exit_2() {
    let repo = Repo::new("errors");
    let (code, _, err) = repo.spec_diff(&["--format", "xml"]);
    assert_eq!(code, 2);
    assert!(err.contains("--format must be text, markdown, json or github"), "{err}");
    let (code, _, err) = repo.spec_diff(&["--fail-on", "info"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = repo.spec_diff(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("usage: cargo xtask spec-diff"), "{err}");
    let (code, _, err) = repo.spec_diff(&["--base", "no-such-rev"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown revision `no-such-rev`"), "{err}");
    repo.write("corpus", &BASE.replace("        kind:\n", "        kind: : :\n"));
    let (code, _, err) = repo.spec_diff(&[]);
    assert_eq!(code, 2);
    let line = line_of(BASE, "        kind:\n");
    assert!(
        err.contains("openapi/corpus.yaml (working tree)") && err.contains(&format!("line {line}")),
        "{err}"
    );
}

#[test]
fn base_takes_any_revision_and_added_specs_count() {
    let repo = Repo::new("base");
    repo.write("other", BASE);
    repo.git(&["add", "-A"]);
    repo.git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "second"]);
    // Against HEAD: nothing. Against HEAD~1: openapi/other.yaml was added.
    assert_eq!(repo.spec_diff(&[]).1, "spec-diff against HEAD: no changes\n");
    let (code, out, _) = repo.spec_diff(&["--base", "HEAD~1", "--format", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["base"], "HEAD~1");
    assert_eq!(json["changes"][0]["rule"], "spec-added");
    assert_eq!(json["changes"][0]["spec"], "other");
    // Removing it from the tree is a removed spec.
    std::fs::remove_file(repo.0.join("openapi/other.yaml")).unwrap();
    let (code, out, _) = repo.spec_diff(&["--fail-on", "breaking"]);
    assert_eq!(code, 1);
    assert!(out.contains("spec-removed"), "{out}");
}

#[test]
fn json_is_stable_and_markdown_is_a_table() {
    let repo = Repo::new("formats");
    repo.write(
        "corpus",
        &BASE.replace(
            "          enum: [active, retired]\n",
            "          enum: [active, retired, draft]\n",
        ),
    );
    let (_, out, _) = repo.spec_diff(&["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(
        json["summary"],
        serde_json::json!({"breaking": 0, "warning": 1, "info": 1})
    );
    let first = &json["changes"][0];
    for key in ["severity", "spec", "level", "rule", "location", "pointer", "message"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    let wire = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["level"] == "wire")
        .unwrap();
    assert_eq!(wire["rule"], "response-enum-value-added");
    assert_eq!(
        wire["pointer"],
        "/components/schemas/ItemResponse/properties/status/enum"
    );
    let (_, md, _) = repo.spec_diff(&["--format", "markdown"]);
    assert!(
        md.starts_with("### OpenAPI spec changes (against `HEAD`)\n\n**0 breaking, 1 warning, 1 info**\n"),
        "{md}"
    );
    assert!(md.contains("| spec | level | rule | where | change |"), "{md}");
    assert!(
        md.contains("| corpus | rust | `rust-variant-added` | `types::ItemResponseStatus::Draft` |"),
        "{md}"
    );
}

/// The 1-based line at which `needle` (a whole line, with its newline)
/// starts in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn github_annotations_point_at_the_spec_lines() {
    let repo = Repo::new("github");
    // A tightened request rule (wire + build) and a removed answer field
    // (wire + rust), with a line the removal no longer has.
    let new = BASE
        .replace("          maxLength: 32\n", "          maxLength: 16\n")
        .replace(
            "        label:\n          type: string\n          description: The label\n",
            "",
        );
    repo.write("corpus", &new);
    let (code, out, err) = repo.spec_diff(&["--format", "github", "--fail-on", "breaking"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let annotation = |level: &str, rule: &str| -> &str {
        lines
            .iter()
            .find(|l| l.contains(&format!("title=spec-diff breaking {level} {rule}%3A ")))
            .unwrap_or_else(|| panic!("no {level} {rule} in\n{out}"))
    };
    let expect = |a: &str, line: usize| {
        assert!(a.starts_with("::error file=openapi/corpus.yaml,line="), "{a}");
        assert!(a.contains(&format!(",line={line},")), "line {line} expected: {a}");
    };
    // The changed key itself.
    let max_length = line_of(&new, "          maxLength: 16\n");
    expect(annotation("wire", "constraint-tightened"), max_length);
    // The build finding: the input's own line (ItemRequest → name).
    let request = new.find("    ItemRequest:\n").unwrap();
    let name = request + new[request..].find("        name:\n").unwrap();
    expect(
        annotation("build", "length-rule-tightened"),
        new[..name].matches('\n').count() + 1,
    );
    // A removal: the nearest enclosing item that still exists.
    let response = new.find("    ItemResponse:\n").unwrap();
    let properties = response + new[response..].find("      properties:\n").unwrap();
    expect(
        annotation("wire", "response-property-removed"),
        new[..properties].matches('\n').count() + 1,
    );
    // A Rust finding: the schema its type comes from.
    expect(
        annotation("rust", "rust-field-removed"),
        line_of(&new, "    ItemResponse:\n"),
    );
    // Messages and titles are escaped as workflow commands require.
    assert!(annotation("rust", "rust-field-removed").contains("title=spec-diff breaking rust rust-field-removed%3A types%3A%3AItemResponse%3A%3Alabel::field removed (was `Option<String>`)"));
    assert_eq!(
        lines.last().unwrap(),
        &"::notice title=spec-diff::openapi/ against HEAD: 4 breaking, 0 warning, 0 info"
    );
}

#[test]
fn head_compares_two_revisions_without_the_working_tree() {
    let repo = Repo::new("head");
    repo.write(
        "corpus",
        &BASE.replace("          maxLength: 32\n", "          maxLength: 64\n"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "relax"]);
    // The working tree changes again; --head ignores it.
    repo.write("corpus", &BASE.replace("        kind:\n", "        kind: : :\n"));
    let (code, out, err) = repo.spec_diff(&["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("spec-diff against HEAD~1: 0 breaking, 0 warning, 2 info\n"),
        "{out}"
    );
    assert!(
        out.contains("constraint-relaxed") && out.contains("length-rule-relaxed"),
        "{out}"
    );
}
