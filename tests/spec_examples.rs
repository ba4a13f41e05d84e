//! Every `example` in `openapi/*.yaml` decodes into the generated type it
//! illustrates, so the specs' examples can never drift from the types.

use corp_auth::{chengxun, wecom};
use serde_json::Value;

/// Decodes `example` as the named schema; panics on an unknown name so a new
/// schema cannot be added without being covered here.
fn decode(spec: &str, schema: &str, example: &Value) -> Result<(), serde_json::Error> {
    let v = example.clone();
    match (spec, schema) {
        ("chengxun", "CorpSecretResponse") => {
            serde_json::from_value::<chengxun::types::CorpSecretResponse>(v).map(drop)
        }
        ("chengxun", "ChengxunError") => serde_json::from_value::<chengxun::types::ChengxunError>(v).map(drop),
        ("wecom", "ErrcodeAnswer") => serde_json::from_value::<wecom::types::ErrcodeAnswer>(v).map(drop),
        ("wecom", "GetSuiteTokenRequest") => serde_json::from_value::<wecom::types::GetSuiteTokenRequest>(v).map(drop),
        ("wecom", "SuiteAccessTokenAnswer") => {
            serde_json::from_value::<wecom::types::SuiteAccessTokenAnswer>(v).map(drop)
        }
        ("wecom", "PreAuthCodeAnswer") => serde_json::from_value::<wecom::types::PreAuthCodeAnswer>(v).map(drop),
        ("wecom", "SetSessionInfoRequest") => {
            serde_json::from_value::<wecom::types::SetSessionInfoRequest>(v).map(drop)
        }
        ("wecom", "GetPermanentCodeRequest") => {
            serde_json::from_value::<wecom::types::GetPermanentCodeRequest>(v).map(drop)
        }
        ("wecom", "PermanentCodeAnswer") => serde_json::from_value::<wecom::types::PermanentCodeAnswer>(v).map(drop),
        ("wecom", "PermanentCodeV2Answer") => {
            serde_json::from_value::<wecom::types::PermanentCodeV2Answer>(v).map(drop)
        }
        ("wecom", "GetCorpTokenRequest") => serde_json::from_value::<wecom::types::GetCorpTokenRequest>(v).map(drop),
        ("wecom", "CorpAccessTokenAnswer") => {
            serde_json::from_value::<wecom::types::CorpAccessTokenAnswer>(v).map(drop)
        }
        ("wecom", "GetAuthInfoRequest") => serde_json::from_value::<wecom::types::GetAuthInfoRequest>(v).map(drop),
        ("wecom", "GetAuthInfoResponse") => serde_json::from_value::<wecom::types::GetAuthInfoResponse>(v).map(drop),
        ("wecom", "DealerCorpInfo") => serde_json::from_value::<wecom::types::DealerCorpInfo>(v).map(drop),
        ("wecom", "AuthCorpInfo") => serde_json::from_value::<wecom::types::AuthCorpInfo>(v).map(drop),
        ("wecom", "AuthInfo") => serde_json::from_value::<wecom::types::AuthInfo>(v).map(drop),
        ("wecom", "AuthAgent") => serde_json::from_value::<wecom::types::AuthAgent>(v).map(drop),
        ("wecom", "AgentPrivilege") => serde_json::from_value::<wecom::types::AgentPrivilege>(v).map(drop),
        ("wecom", "SharedFrom") => serde_json::from_value::<wecom::types::SharedFrom>(v).map(drop),
        ("wecom", "EditionInfo") => serde_json::from_value::<wecom::types::EditionInfo>(v).map(drop),
        ("wecom", "EditionAgent") => serde_json::from_value::<wecom::types::EditionAgent>(v).map(drop),
        _ => panic!("{spec}: schema {schema} has an example but no type mapping in this test"),
    }
}

/// The schema an example illustrates: the `$ref`, or for an answer written
/// as `anyOf: [<success>, <error envelope>]` the success branch (the first).
fn schema_name(schema: &Value) -> Option<&str> {
    let schema = match schema.get("anyOf") {
        Some(branches) => branches.get(0)?,
        None => schema,
    };
    schema.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")
}

/// (place, schema name, example) for every example tied to a named schema.
fn examples(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if let Some(example) = schema.get("example") {
            out.push((format!("components.schemas.{name}"), name.clone(), example.clone()));
        }
    }
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut media = Vec::new();
            if let Some(content) = op.pointer("/requestBody/content").and_then(Value::as_object) {
                media.extend(content.iter().map(|(m, c)| (format!("requestBody.{m}"), c)));
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if let Some(content) = response.get("content").and_then(Value::as_object) {
                    media.extend(content.iter().map(|(m, c)| (format!("responses.{status}.{m}"), c)));
                }
            }
            for (place, content) in media {
                if let (Some(example), Some(name)) = (content.get("example"), schema_name(&content["schema"])) {
                    out.push((format!("{path}.{method}.{place}"), name.to_string(), example.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_spec_example_decodes_into_its_generated_type() {
    let mut checked = 0;
    for spec_name in ["chengxun", "wecom"] {
        let path = format!("{}/openapi/{spec_name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let spec: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (place, schema, example) in examples(&spec) {
            decode(spec_name, &schema, &example).unwrap_or_else(|e| panic!("{path}: {place}: {e}"));
            checked += 1;
        }
    }
    // chengxun: 2 components + 1 response; wecom: 2 components + 7 request
    // bodies + 8 answers (every operation's request and answer examples).
    assert_eq!(checked, 20);
}
