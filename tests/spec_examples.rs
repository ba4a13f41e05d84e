//! Every example in `openapi/*.yaml` (component examples, request bodies
//! and answers) decodes: schema examples into their generated type, answer
//! examples through the operation's own answer path (error envelope,
//! guaranteed fields, conversion), as a call would. Examples are what
//! reviewers read; an example the client rejects means the spec or the
//! example is wrong. The mapping comes from the generated facade, so a new
//! operation is checked without editing this test.

use corp_auth::{chengxun, wecom};
use serde_json::Value;

fn schema(spec: &str, name: &str, example: &Value) -> Result<(), String> {
    let decoded = match spec {
        "chengxun" => chengxun::decode_schema_example(name, example.clone()),
        _ => wecom::decode_schema_example(name, example.clone()),
    };
    decoded
        .unwrap_or_else(|| panic!("{spec}: no generated type for schema {name}"))
        .map_err(|e| e.to_string())
}

fn answer(spec: &str, operation_id: &str, example: &Value) -> Result<(), String> {
    let body = serde_json::to_vec(example).unwrap();
    let decoded = match spec {
        "chengxun" => chengxun::decode_operation_answer(operation_id, &body),
        _ => wecom::decode_operation_answer(operation_id, &body),
    };
    decoded
        .unwrap_or_else(|| panic!("{spec}: no operation {operation_id}"))
        .map_err(|e| e.to_string())
}

/// The schema an example illustrates: the `$ref`.
fn schema_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")
}

#[test]
fn every_spec_example_decodes_into_its_generated_type() {
    let mut checked = (0, 0, 0);
    for spec_name in ["chengxun", "wecom"] {
        let path = format!("{}/openapi/{spec_name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let spec: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (name, s) in spec["components"]["schemas"].as_object().unwrap() {
            if let Some(example) = s.get("example") {
                schema(spec_name, name, example).unwrap_or_else(|e| panic!("{path}: components.schemas.{name}: {e}"));
                checked.0 += 1;
            }
        }
        for (path_name, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap();
                if let Some(content) = op.pointer("/requestBody/content/application~1json")
                    && let (Some(example), Some(name)) = (content.get("example"), schema_name(&content["schema"]))
                {
                    schema(spec_name, name, example)
                        .unwrap_or_else(|e| panic!("{path}: {path_name}.{method} request example: {e}"));
                    checked.1 += 1;
                }
                let example = op
                    .pointer("/responses/200/content/application~1json/example")
                    .unwrap_or_else(|| panic!("{path}: {path_name}.{method}: every operation shows an answer example"));
                answer(spec_name, id, example)
                    .unwrap_or_else(|e| panic!("{path}: {path_name}.{method} answer example: {e}"));
                checked.2 += 1;
            }
        }
    }
    // (component examples, request bodies, answers): every operation of both
    // specs has an answer example, and every one decodes as a success.
    assert_eq!(
        checked,
        (4, 33, 47),
        "examples checked: (components, requests, answers)"
    );
}

#[test]
fn an_example_that_does_not_fit_is_refused() {
    // The hooks really decode: a wrong type and a missing guaranteed field
    // fail.
    let err = schema("wecom", "GetCorpTokenRequest", &serde_json::json!({"auth_corpid": 1})).unwrap_err();
    assert!(err.contains("invalid type"), "{err}");
    let err = answer(
        "wecom",
        "get_corp_token",
        &serde_json::json!({"errcode": 0, "expires_in": 7200}),
    )
    .unwrap_err();
    assert!(err.contains("access_token"), "{err}");
}
