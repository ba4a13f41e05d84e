//! The Rust that build.rs generates for each spec, committed under
//! `tests/snapshots/` as a review artifact: a spec change in a pull request
//! always comes with the matching generated-code diff. Nothing under `src/`
//! is generated; the snapshot is only compared.
//!
//! Refresh after editing `openapi/*.yaml`:
//! `EXPECTORATE=overwrite cargo test --test snapshots`

const REFRESH: &str = "EXPECTORATE=overwrite cargo test --test snapshots";

fn check(snapshot: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(snapshot);
    if std::env::var("EXPECTORATE").as_deref() == Ok("overwrite") {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let (old, new): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), generated.lines().collect());
    let first = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let show = |lines: &[&str]| {
        lines
            .iter()
            .skip(first)
            .take(5)
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    panic!(
        "{snapshot} is stale: the generated code changed (first difference at line {}; {} lines committed, {} generated).\n\
         committed:\n{}generated:\n{}\nrefresh it with:\n\n    {REFRESH}\n\nand commit the snapshot with the spec change.",
        first + 1,
        old.len(),
        new.len(),
        show(&old),
        show(&new),
    );
}

#[test]
fn chengxun_generated_api_matches_the_snapshot() {
    check(
        "tests/snapshots/chengxun.rs",
        include_str!(concat!(env!("OUT_DIR"), "/chengxun.rs")),
    );
}

#[test]
fn wecom_generated_api_matches_the_snapshot() {
    check(
        "tests/snapshots/wecom.rs",
        include_str!(concat!(env!("OUT_DIR"), "/wecom.rs")),
    );
}

#[test]
fn chengxun_generated_facade_matches_the_snapshot() {
    check(
        "tests/snapshots/chengxun_facade.rs",
        include_str!(concat!(env!("OUT_DIR"), "/chengxun_facade.rs")),
    );
}

#[test]
fn wecom_generated_facade_matches_the_snapshot() {
    check(
        "tests/snapshots/wecom_facade.rs",
        include_str!(concat!(env!("OUT_DIR"), "/wecom_facade.rs")),
    );
}
