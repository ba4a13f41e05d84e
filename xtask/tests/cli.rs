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
    assert!(err.contains("--format must be text, markdown or json"), "{err}");
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
    assert!(
        err.contains("openapi/corpus.yaml (working tree)") && err.contains("line 62"),
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
        serde_json::json!({"breaking": 0, "warning": 2, "info": 0})
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
        md.starts_with("### OpenAPI spec changes (against `HEAD`)\n\n**0 breaking, 2 warning, 0 info**\n"),
        "{md}"
    );
    assert!(md.contains("| spec | level | rule | where | change |"), "{md}");
    assert!(
        md.contains("| corpus | rust | `rust-variant-added` | `types::ItemResponseStatus::Draft` |"),
        "{md}"
    );
}
