//! `cargo xtask spec-diff [--base <git-rev>] [--head <git-rev>]
//! [--format text|markdown|json|github] [--fail-on breaking|warning]`
//!
//! Exit status: 0 when nothing at or above `--fail-on` was found (always 0
//! without it), 1 when something was, 2 for usage errors, an unknown
//! revision, or a spec that does not parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use xtask::{Change, Severity, compare_with_layer, lines, report, worst};

const USAGE: &str = "\
usage: cargo xtask spec-diff [--base <git-rev>] [--head <git-rev>]
                             [--format text|markdown|json|github] [--fail-on breaking|warning]

Compares every openapi/*.yaml at --base (default HEAD) with --head (default: the
working tree), at the wire level, at the level of the generated Rust API, and
at the level of what build.rs emits (base URL, header defaults, length rules,
Operation) and whether it accepts the spec.
--format github prints GitHub Actions annotations (::error/::warning) on the
spec lines of breaking changes and warnings.
Exit status: 0 nothing at or above --fail-on, 1 something was, 2 usage error,
unknown revision or a spec that does not parse.";

struct Args {
    base: String,
    head: Option<String>,
    format: String,
    fail_on: Option<Severity>,
    repo: PathBuf,
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(argv: Vec<String>) -> Result<ExitCode, String> {
    let mut argv = argv.into_iter();
    match argv.next().as_deref() {
        Some("spec-diff") => {}
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(format!("unknown command `{other}`\n{USAGE}")),
    }
    let mut args = Args {
        base: "HEAD".into(),
        head: None,
        format: "text".into(),
        fail_on: None,
        // xtask/ is one level below the repository root.
        repo: Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf(),
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--base" => args.base = value()?,
            "--head" => args.head = Some(value()?),
            "--format" => {
                args.format = value()?;
                if !matches!(args.format.as_str(), "text" | "markdown" | "json" | "github") {
                    return Err(format!(
                        "--format must be text, markdown, json or github, not `{}`",
                        args.format
                    ));
                }
            }
            "--fail-on" => {
                args.fail_on = Some(match value()?.as_str() {
                    "breaking" => Severity::Breaking,
                    "warning" => Severity::Warning,
                    other => return Err(format!("--fail-on must be breaking or warning, not `{other}`")),
                })
            }
            "--repo" => args.repo = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }

    let old = files_at(&args.repo, &args.base, "openapi/", ".yaml")?;
    let (new, layer, head_label) = match &args.head {
        Some(head) => (
            files_at(&args.repo, head, "openapi/", ".yaml")?,
            files_at(&args.repo, head, "src/", ".rs")?,
            format!("at {head}"),
        ),
        None => (
            files_in_tree(&args.repo.join("openapi"), ".yaml")?,
            files_in_tree(&args.repo.join("src"), ".rs")?,
            "working tree".to_string(),
        ),
    };
    let layer: String = layer.into_values().collect::<Vec<_>>().join("\n");
    let changes =
        compare_with_layer(&old, &new, &format!("at {}", args.base), &head_label, &layer).map_err(|e| e.to_string())?;
    let out = match args.format.as_str() {
        "markdown" => report::markdown(&args.base, &changes),
        "json" => report::json(&args.base, &changes),
        "github" => github(&args.base, &changes, &new),
        _ => report::text(&args.base, &changes),
    };
    print!("{out}");
    let failed = matches!((args.fail_on, worst(&changes)), (Some(limit), Some(w)) if w >= limit);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        String::from_utf8(output.stdout).map_err(|_| "git printed non-UTF-8".to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Annotations on the new specs' lines.
fn github(base: &str, changes: &[Change], new: &BTreeMap<String, String>) -> String {
    // Per spec: its parsed value and the line of every pointer.
    let located: BTreeMap<&String, (serde_json::Value, BTreeMap<String, usize>)> = new
        .iter()
        .filter_map(|(name, text)| {
            let value = serde_yaml_ng::from_str(text).ok()?;
            Some((name, (value, lines::pointer_lines(text).ok()?)))
        })
        .collect();
    report::github(base, changes, |c| match located.get(&c.spec) {
        Some((value, lines)) => (
            Some(format!("openapi/{}.yaml", c.spec)),
            lines::line_of(c, value, lines),
        ),
        // A removed spec: no file to point at.
        None => (None, None),
    })
}

/// Relative path (under `dir`, without `suffix`) → text of every file under
/// `dir` ending in `suffix` at `rev`.
fn files_at(repo: &Path, rev: &str, dir: &str, suffix: &str) -> Result<BTreeMap<String, String>, String> {
    git(
        repo,
        &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")],
    )
    .map_err(|_| format!("unknown revision `{rev}`"))?;
    let listing = git(repo, &["ls-tree", "-r", "--name-only", rev, "--", dir])?;
    let mut files = BTreeMap::new();
    for path in listing.lines() {
        let Some(name) = path.strip_prefix(dir).and_then(|p| p.strip_suffix(suffix)) else {
            continue;
        };
        // Specs are the files directly in openapi/.
        if suffix == ".yaml" && name.contains('/') {
            continue;
        }
        files.insert(name.to_string(), git(repo, &["show", &format!("{rev}:{path}")])?);
    }
    Ok(files)
}

/// The same, from the working tree.
fn files_in_tree(dir: &Path, suffix: &str) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return Ok(files);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(here) = pending.pop() {
        let entries = std::fs::read_dir(&here).map_err(|e| format!("cannot read {}: {e}", here.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                // Specs are the files directly in openapi/.
                if suffix != ".yaml" {
                    pending.push(path);
                }
                continue;
            }
            let Some(name) = path
                .strip_prefix(dir)
                .ok()
                .and_then(|p| p.to_str())
                .and_then(|n| n.strip_suffix(suffix))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.insert(name.to_string(), text);
        }
    }
    Ok(files)
}
