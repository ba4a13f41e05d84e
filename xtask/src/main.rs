//! `cargo xtask spec-diff [--base <git-rev>] [--format text|markdown|json]
//! [--fail-on breaking|warning]`
//!
//! Exit status: 0 when nothing at or above `--fail-on` was found (always 0
//! without it), 1 when something was, 2 for usage errors, an unknown
//! revision, or a spec that does not parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use xtask::{Severity, compare, report, worst};

const USAGE: &str = "\
usage: cargo xtask spec-diff [--base <git-rev>] [--format text|markdown|json] [--fail-on breaking|warning]

Compares every openapi/*.yaml at <git-rev> (default HEAD) with the working tree,
at the wire level and at the level of the generated Rust API.
Exit status: 0 nothing at or above --fail-on, 1 something was, 2 usage error,
unknown revision or a spec that does not parse.";

struct Args {
    base: String,
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
        format: "text".into(),
        fail_on: None,
        // xtask/ is one level below the repository root.
        repo: Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf(),
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--base" => args.base = value()?,
            "--format" => {
                args.format = value()?;
                if !matches!(args.format.as_str(), "text" | "markdown" | "json") {
                    return Err(format!(
                        "--format must be text, markdown or json, not `{}`",
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

    let old = specs_at(&args.repo, &args.base)?;
    let new = specs_in_tree(&args.repo)?;
    let changes = compare(&old, &new, &format!("at {}", args.base), "working tree").map_err(|e| e.to_string())?;
    let out = match args.format.as_str() {
        "markdown" => report::markdown(&args.base, &changes),
        "json" => report::json(&args.base, &changes),
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

/// name → text of every `openapi/*.yaml` at `rev`.
fn specs_at(repo: &Path, rev: &str) -> Result<BTreeMap<String, String>, String> {
    git(
        repo,
        &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")],
    )
    .map_err(|_| format!("unknown revision `{rev}`"))?;
    let listing = git(repo, &["ls-tree", "--name-only", rev, "--", "openapi/"])?;
    let mut specs = BTreeMap::new();
    for path in listing.lines() {
        let Some(name) = path.strip_prefix("openapi/").and_then(|p| p.strip_suffix(".yaml")) else {
            continue;
        };
        specs.insert(name.to_string(), git(repo, &["show", &format!("{rev}:{path}")])?);
    }
    Ok(specs)
}

/// name → text of every `openapi/*.yaml` in the working tree.
fn specs_in_tree(repo: &Path) -> Result<BTreeMap<String, String>, String> {
    let dir = repo.join("openapi");
    let mut specs = BTreeMap::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".yaml"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        specs.insert(name.to_string(), text);
    }
    Ok(specs)
}
