//! The error type, the code catalogs, the secret type and the builder.

use std::time::Duration;

use corp_auth::{Error, Platform, Secret, chengxun, wecom};

/// The builder setting a configuration error names.
fn setting(err: &Error) -> Option<&'static str> {
    match err {
        Error::Config { setting, .. } => Some(setting),
        _ => None,
    }
}

#[test]
fn catalogs_hold_the_documented_codes_and_retryability() {
    let cx = Platform::Chengxun;
    assert_eq!(cx.code_info(40006).unwrap().meaning, "预授权码过期");
    assert_eq!(cx.code_info(40007).unwrap().meaning, "永久授权码已存在");
    assert_eq!(cx.code_info(55001).unwrap().meaning, "超出请求频率限制");
    assert_eq!(cx.catalog().len(), 16);
    let wc = Platform::Wecom;
    assert_eq!(wc.code_info(-1).unwrap().meaning, "系统繁忙");
    assert_eq!(wc.code_info(40084).unwrap().meaning, "不合法的permanent_code参数");
    assert_eq!(wc.code_info(60020).unwrap().meaning, "不安全的访问IP");
    let retryable: Vec<i64> = wc.catalog().iter().filter(|c| c.retryable).map(|c| c.code).collect();
    assert_eq!(retryable, vec![-1, 45033]);
    let retryable: Vec<i64> = cx.catalog().iter().filter(|c| c.retryable).map(|c| c.code).collect();
    assert_eq!(retryable, vec![55001]);
    assert_eq!(wc.code_info(99999), None);
}

#[test]
fn secret_never_prints_its_value() {
    let s = Secret::new("super-secret-value");
    assert_eq!(format!("{s}"), "***");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{s:#?}"), "Secret(***)");
    assert_eq!(s.expose_secret(), "super-secret-value");
    assert_eq!(s.masked(), "su…ue");
    assert_eq!(Secret::new("short").masked(), "***");
    assert_eq!(serde_json::to_string(&s).unwrap(), "\"super-secret-value\"");
    let back: Secret = serde_json::from_str("\"v\"").unwrap();
    assert_eq!(back.expose_secret(), "v");
}

#[test]
fn generated_values_holding_secrets_redact_them_in_debug() {
    // Answer types are #[non_exhaustive]: built from JSON, as from the wire.
    let response: chengxun::types::CorpSecretResponse = serde_json::from_value(serde_json::json!({
        "err_code": 0, "err_msg": "success", "corp_secret": "permanent-value"
    }))
    .unwrap();
    let request = wecom::types::GetAuthInfoRequest {
        auth_corpid: "ww1".parse().unwrap(),
        permanent_code: Secret::new("permanent-code-value"),
    };
    let text = format!("{response:?} {response:#?} {request:?} {request:#?}");
    assert!(
        !text.contains("permanent-value") && !text.contains("permanent-code-value"),
        "{text}"
    );
    assert!(text.contains("Secret(***)"));
}

#[test]
fn generated_types_have_json_schemas_that_mark_secrets() {
    let schema = schemars::schema_for!(chengxun::types::CorpSecretResponse);
    let json = serde_json::to_value(&schema).unwrap();
    assert_eq!(json["properties"]["corp_secret"]["format"], "password");
    assert_eq!(json["properties"]["err_code"]["type"], "integer");
    let schema = serde_json::to_value(schemars::schema_for!(wecom::types::GetAuthInfoResponse)).unwrap();
    assert!(schema["properties"]["auth_corp_info"].is_object(), "{schema}");
}

#[test]
fn invalid_base_urls_are_rejected_at_build() {
    for (url, expected) in [
        ("not a url", "not a URL"),
        ("ftp://127.0.0.1/api", "scheme must be http or https"),
        ("http://127.0.0.1/api?x=1", "query"),
        ("http://user:pw@127.0.0.1/api", "credentials"),
    ] {
        let err = chengxun::Client::builder().base_url(url).build().unwrap_err();
        assert!(
            matches!(&err, Error::Config { setting: "base_url", reason } if reason.contains(expected)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
    // String and &str are both accepted; a trailing slash is fine.
    wecom::Client::builder()
        .base_url(String::from("http://127.0.0.1:8080/"))
        .build()
        .unwrap();
}

/// Needs reqwest's default TLS (a plain `reqwest::Client::new()`), which
/// `rustls-ring` alone does not give a caller-built client.
#[cfg(not(all(feature = "rustls-ring", not(feature = "rustls"))))]
#[test]
fn connect_timeout_cannot_be_applied_to_a_caller_supplied_client() {
    let err = wecom::Client::builder()
        .http_client(corp_auth::reqwest::Client::new())
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert_eq!(setting(&err), Some("connect_timeout"), "{err:?}");
}

#[test]
fn invalid_settings_are_rejected_at_build() {
    let err = chengxun::Client::builder()
        .user_agent("bad\nagent")
        .build()
        .unwrap_err();
    assert_eq!(setting(&err), Some("user_agent"), "{err:?}");
    let err = chengxun::Client::builder().timeout(Duration::ZERO).build().unwrap_err();
    assert_eq!(setting(&err), Some("timeout"), "{err:?}");
}

#[test]
fn the_generated_client_is_reachable() {
    use progenitor_client::ClientInfo as _;
    let client = chengxun::Client::builder()
        .base_url("http://127.0.0.1:9/api/")
        .build()
        .unwrap();
    assert_eq!(client.generated().baseurl(), "http://127.0.0.1:9/api");
    assert_eq!(
        chengxun::Client::new().generated().baseurl(),
        "https://service.cheng-xun.cn/api"
    );
    assert_eq!(
        wecom::Client::new().generated().baseurl(),
        "https://qyapi.weixin.qq.com"
    );
}

#[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
#[test]
fn the_ring_tls_configuration_builds_a_client() {
    use progenitor_client::ClientInfo as _;
    let client = wecom::Client::builder().build().unwrap();
    assert_eq!(client.generated().baseurl(), "https://qyapi.weixin.qq.com");
}
