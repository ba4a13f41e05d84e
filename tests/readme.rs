//! The README's table of managed operations ("WeCom: the provider, corps
//! and web login") is checked against `openapi/wecom.yaml`: every operation
//! that carries a managed credential is listed on the row of the type that
//! manages it, and nothing else is. A YAML edit that adds an operation fails
//! here until the README says so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// managed type → the operationIds the spec puts on it.
fn from_spec() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/wecom.yaml")).unwrap();
    let spec: Value = serde_yaml_ng::from_str(&text).unwrap();
    let credentials = spec["x-credentials"].as_object().unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            if op.get("x-issues-credential").is_some() {
                continue;
            }
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for p in params {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] == "query"
                    && let Some(def) = credentials.get(name)
                {
                    let managed = def["managed-by"].as_str().unwrap().to_string();
                    // A cached value is the managed type's method of that name.
                    let method = op.get("x-cached-as").and_then(Value::as_str).unwrap_or(id);
                    out.entry(managed).or_default().insert(method.to_string());
                }
            }
        }
    }
    out
}

/// managed type → the names in backticks on its row of the README table.
fn from_readme() -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("| credential (query parameter) | managed by | operations |")
        .expect("the README's table of managed operations");
    let mut out = BTreeMap::new();
    for line in readme[start..].lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let managed = cells[2]
            .split('`')
            .nth(1)
            .and_then(|t| t.strip_prefix("wecom::"))
            .unwrap()
            .to_string();
        let names: BTreeSet<String> = cells[3]
            .split('`')
            .skip(1)
            .step_by(2)
            .flat_map(|name| match name.strip_suffix("(_v2)") {
                Some(base) => vec![base.to_string(), format!("{base}_v2")],
                None => vec![name.to_string()],
            })
            .collect();
        out.insert(managed, names);
    }
    out
}

#[test]
fn the_readme_lists_every_managed_operation_on_its_type() {
    let (spec, readme) = (from_spec(), from_readme());
    assert_eq!(spec.keys().collect::<Vec<_>>(), ["Corp", "Provider", "Suite"]);
    assert!(spec["Corp"].contains("get_user") && spec["Corp"].contains("send_message"));
    assert!(spec["Corp"].contains("jsapi_ticket") && !spec["Corp"].contains("get_jsapi_ticket"));
    assert!(spec["Provider"].contains("list_actived_account"));
    for (managed, ops) in &spec {
        let listed = readme
            .get(managed)
            .unwrap_or_else(|| panic!("no README row for {managed}"));
        let missing: Vec<_> = ops.difference(listed).collect();
        let extra: Vec<_> = listed.difference(ops).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "README row for {managed}: missing {missing:?}, not in the spec {extra:?}"
        );
    }
}
