//! Turns `openapi/*.yaml` into Rust, written to `OUT_DIR`:
//!
//! - `<spec>.rs`: the progenitor client (positional style) and its types;
//! - `<spec>_mock.rs`: progenitor's typed httpmock helpers (`mock` feature);
//! - `<spec>_spec.rs`: facts the hand-written layer takes from the spec
//!   instead of restating them: the server URL, header defaults and the
//!   length rules of every string input;
//! - `operations.rs`: the public `Operation` enum over every spec's
//!   operations (platform, one-shot from `x-one-shot`).
//!
//! The generation itself is in `codegen.rs`, shared with `cargo xtask
//! spec-diff`. A broken spec fails the build with the file, the place and
//! the problem.

use std::path::{Path, PathBuf};

#[path = "codegen.rs"]
mod codegen;

/// The specs, by module name. Each becomes `crate::<name>`.
const SPECS: &[&str] = &["chengxun", "wecom"];

fn main() {
    let root = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env("OUT_DIR"));
    let mut operations = Vec::new();
    for name in SPECS {
        let path = root.join("openapi").join(format!("{name}.yaml"));
        println!("cargo:rerun-if-changed={}", path.display());
        match generate(name, &path, &out) {
            Ok(ops) => operations.extend(ops),
            Err(message) => {
                eprintln!("\nerror: openapi/{name}.yaml: {message}\n");
                std::process::exit(1);
            }
        }
    }
    std::fs::write(out.join("operations.rs"), codegen::operations_code(&operations))
        .unwrap_or_else(|e| panic!("cannot write generated code: {e}"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=codegen.rs");
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("cargo did not set {key}"))
}

fn generate(name: &str, path: &Path, out: &Path) -> Result<Vec<codegen::OperationFact>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let spec = codegen::parse(&text)?;
    let outputs = codegen::build_outputs(name, &spec)?;
    let write = |file: String, code: &str| {
        std::fs::write(out.join(file), code).map_err(|e| format!("cannot write generated code: {e}"))
    };
    write(format!("{name}.rs"), &outputs.client)?;
    write(format!("{name}_mock.rs"), &outputs.mock)?;
    write(format!("{name}_spec.rs"), &outputs.facts_code)?;
    Ok(outputs.operations)
}
