//! Turns `openapi/*.yaml` into Rust, written to `OUT_DIR`:
//!
//! - `<spec>.rs`: the progenitor client (positional style) and its types;
//! - `<spec>_mock.rs`: progenitor's typed httpmock helpers (`mock` feature);
//! - `<spec>_spec.rs`: facts the hand-written layer takes from the spec
//!   instead of restating them: the server URL, header defaults and the
//!   length rules of every string input;
//! - `<spec>_facade.rs`: the public facade, one safe method per operation
//!   on the platform client and on the managed type of its credential
//!   (`codegen/src/facade/`);
//! - `operations.rs`: the public `Operation` and `Credential` enums over
//!   every spec's operations (platform, credential, one-shot facts) and the
//!   secret keys redaction looks for.
//!
//! The generation itself is the `corp-auth-codegen` crate (`codegen/`),
//! shared with `cargo xtask spec-diff`. A broken spec fails the build with
//! the file, the place and the problem.

use std::path::{Path, PathBuf};

use corp_auth_codegen as codegen;

/// The specs, by module name. Each becomes `crate::<name>`.
const SPECS: &[&str] = &["chengxun", "wecom"];

fn main() {
    let root = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env("OUT_DIR"));
    let mut operations = Vec::new();
    let mut credentials: Vec<codegen::facade::CredentialDef> = Vec::new();
    let mut secret_keys = std::collections::BTreeSet::new();
    for name in SPECS {
        let path = root.join("openapi").join(format!("{name}.yaml"));
        println!("cargo:rerun-if-changed={}", path.display());
        match generate(name, &path, &out) {
            Ok(outputs) => {
                operations.extend(outputs.operations);
                for c in outputs.credentials {
                    match credentials.iter().find(|d| d.name == c.name) {
                        Some(d) if *d != c => {
                            eprintln!(
                                "\nerror: openapi/{name}.yaml: credential `{}` is defined differently in another spec\n",
                                c.name
                            );
                            std::process::exit(1);
                        }
                        Some(_) => {}
                        None => credentials.push(c),
                    }
                }
                secret_keys.extend(outputs.secret_keys);
            }
            Err(message) => {
                eprintln!("\nerror: openapi/{name}.yaml: {message}\n");
                std::process::exit(1);
            }
        }
    }
    let secret_keys: Vec<String> = secret_keys.into_iter().collect();
    std::fs::write(
        out.join("operations.rs"),
        codegen::operations_code(&operations, &credentials, &secret_keys),
    )
    .unwrap_or_else(|e| panic!("cannot write generated code: {e}"));
    println!("cargo:rerun-if-changed=build.rs");
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("cargo did not set {key}"))
}

fn generate(name: &str, path: &Path, out: &Path) -> Result<codegen::BuildOutputs, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let spec = codegen::parse(&text)?;
    let outputs = codegen::build_outputs(name, &spec)?;
    let write = |file: String, code: &str| {
        std::fs::write(out.join(file), code).map_err(|e| format!("cannot write generated code: {e}"))
    };
    write(format!("{name}.rs"), &outputs.client)?;
    write(format!("{name}_mock.rs"), &outputs.mock)?;
    write(format!("{name}_spec.rs"), &outputs.facts_code)?;
    write(format!("{name}_facade.rs"), &outputs.facade)?;
    write(
        format!("{name}_operations.md"),
        &codegen::operations_table(&outputs.operations, &outputs.credentials),
    )?;
    Ok(outputs)
}
