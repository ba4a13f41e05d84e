//! 橙讯 `exchange_corp_secret` against a loopback mock.

mod common;

use std::time::{Duration, Instant};

use common::*;
use corp_auth::mock::chengxun::MockServerExt;
use corp_auth::{Error, Operation, Platform, Secret, TransportKind, chengxun::types::CorpSecretResponse};
use httpmock::{Method::GET, MockServer};

fn ok_body() -> CorpSecretResponse {
    // Answer types are #[non_exhaustive] (a new answer field is a minor
    // release): built from JSON, as from the wire.
    serde_json::from_value(serde_json::json!({
        "err_code": 0, "err_msg": "success", "corp_secret": CORP_SECRET
    }))
    .unwrap()
}

async fn exchange(server: &MockServer) -> Result<Secret, Error> {
    chengxun_client(&server.base_url())
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
}

#[tokio::test]
async fn sends_the_exact_request_with_default_user_agent_cx() {
    let server = MockServer::start_async().await;
    let mock = server.exchange_corp_secret(|when, then| {
        when.corp_id(CORP_ID)
            .corp_authorization(&CORP_AUTHORIZATION.to_string())
            .temp_corp_secret(&TEMP_CORP_SECRET.to_string())
            .user_agent("CX")
            .into_inner()
            .header_missing("api-version");
        then.ok(&ok_body());
    });
    let secret = exchange(&server).await.unwrap();
    assert_eq!(secret.expose_secret(), CORP_SECRET);
    mock.assert_calls(1);
}

#[tokio::test]
async fn a_base_url_with_a_path_and_trailing_slash_is_joined_once() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(GET).path("/api/corp-service/v1/corp-secrets");
        then.status(200).json_body_obj(&ok_body());
    });
    let client = chengxun_client(&format!("{}/api/", server.base_url()));
    let secret = client
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap();
    assert_eq!(secret.expose_secret(), CORP_SECRET);
    mock.assert_calls(1);
}

#[tokio::test]
async fn sends_the_user_agent_the_caller_sets() {
    let server = MockServer::start_async().await;
    let mock = server.exchange_corp_secret(|when, then| {
        when.user_agent("my-isv/2.1");
        then.ok(&ok_body());
    });
    let client = corp_auth::chengxun::Client::builder()
        .base_url(server.base_url())
        .user_agent("my-isv/2.1")
        .build()
        .unwrap();
    client
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap();
    mock.assert_calls(1);
}

#[tokio::test]
async fn decodes_the_seed_example_answer() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200).header("content-type", "application/json").body(
            r#"{"err_code": 0, "err_msg": "success", "corp_secret": "3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i"}"#,
        );
    });
    let secret = exchange(&server).await.unwrap();
    assert_eq!(
        secret.expose_secret(),
        "3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i"
    );
    assert_eq!(secret.expose_secret().len(), 67);
    assert_eq!(format!("{secret} {secret:?}"), "*** Secret(***)");
}

#[tokio::test]
async fn ignores_unknown_fields_in_the_answer() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200).json_body(serde_json::json!({
            "err_code": 0, "err_msg": "success", "corp_secret": CORP_SECRET,
            "expires_in": null, "new_field": {"nested": [1, 2]}
        }));
    });
    assert_eq!(exchange(&server).await.unwrap().expose_secret(), CORP_SECRET);
}

#[tokio::test]
async fn every_catalog_code_comes_back_as_the_platform_error() {
    let server = MockServer::start_async().await;
    for info in Platform::Chengxun.catalog().iter().filter(|i| i.code != 0) {
        let mut mock = server.mock(|when, then| {
            when.method(GET);
            then.status(200)
                .json_body(serde_json::json!({"err_code": info.code, "err_msg": format!("msg {}", info.code)}));
        });
        let err = exchange(&server).await.unwrap_err();
        match &err {
            Error::Platform {
                operation,
                code,
                message,
                meaning,
            } => {
                assert_eq!(*operation, Operation::ExchangeCorpSecret);
                assert_eq!(*code, info.code);
                assert_eq!(message, &format!("msg {}", info.code));
                assert_eq!(meaning.map(|m| m.meaning), Some(info.meaning));
            }
            other => panic!("code {}: expected a platform error, got {other:?}", info.code),
        }
        assert_eq!(err.code(), Some(info.code));
        assert_eq!(err.is_retryable(), info.retryable, "code {}", info.code);
        assert!(err.to_string().contains(&info.code.to_string()));
        assert!(err.to_string().contains(info.meaning), "{err}");
        assert_no_secret(&err);
        mock.assert_calls(1);
        mock.delete();
    }
}

#[tokio::test]
async fn an_error_code_without_corp_secret_is_the_platform_error_not_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": 40006, "err_msg": "预授权码过期"}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(matches!(err, Error::Platform { code: 40006, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "chengxun exchange_corp_secret: platform error 40006: 预授权码过期",
        "the catalog meaning is not repeated when the platform says the same"
    );
    assert!(!err.is_retryable());
    assert!(!err.request_may_have_been_processed());
}

#[tokio::test]
async fn an_error_code_with_a_corp_secret_is_still_an_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": 40007, "err_msg": "exists", "corp_secret": CORP_SECRET}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert_eq!(err.code(), Some(40007));
    assert_no_secret(&err);
}

#[tokio::test]
async fn an_unknown_code_keeps_its_number_and_message() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": 61234, "err_msg": "新错误"}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(matches!(&err, Error::Platform { code: 61234, message, meaning: None, .. } if message == "新错误"));
    assert_eq!(
        err.to_string(),
        "chengxun exchange_corp_secret: platform error 61234: 新错误"
    );
}

#[tokio::test]
async fn success_code_without_corp_secret_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": 0, "err_msg": "success"}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("corp_secret")),
        "{err:?}"
    );
    assert!(err.request_may_have_been_processed());
    assert!(
        err.to_string().contains("temp_corp_secret may have been consumed"),
        "{err}"
    );
}

#[tokio::test]
async fn success_code_with_an_empty_corp_secret_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": 0, "err_msg": "success", "corp_secret": ""}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("empty")),
        "{err:?}"
    );
}

#[tokio::test]
async fn http_500_and_502_with_html_are_http_errors_without_secrets() {
    for status in [500u16, 502] {
        let server = MockServer::start_async().await;
        // A gateway page that echoes the request URL, secrets included.
        let page = format!(
            "<html><body><h1>{status} Bad Gateway</h1><p>GET /corp-service/v1/corp-secrets?corp_authorization={CORP_AUTHORIZATION}&corp_id=10001&temp_corp_secret={TEMP_CORP_SECRET}</p></body></html>"
        );
        server.mock(|when, then| {
            when.method(GET);
            then.status(status).header("content-type", "text/html").body(&page);
        });
        let err = exchange(&server).await.unwrap_err();
        match &err {
            Error::Http {
                status: s,
                code,
                excerpt,
                ..
            } => {
                assert_eq!(*s, status);
                assert_eq!(*code, None);
                assert!(
                    excerpt.starts_with(&format!("<html><body><h1>{status} Bad Gateway")),
                    "{excerpt}"
                );
                assert!(excerpt.contains("corp_authorization=***"), "{excerpt}");
            }
            other => panic!("expected Http, got {other:?}"),
        }
        // One-shot: a gateway error does not prove the secret is unspent.
        assert!(!err.is_retryable());
        assert!(err.request_may_have_been_processed());
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn invalid_json_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .body(format!(r#"{{"err_code": 0, "corp_secret": "{CORP_SECRET}""#));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("line 1")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn wrong_field_types_are_a_decode_error_that_quotes_no_value() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        // corp_secret where err_code should be: serde would quote it.
        then.status(200)
            .json_body(serde_json::json!({"err_code": CORP_SECRET, "err_msg": "x", "corp_secret": 5}));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("invalid type")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn an_err_code_sent_as_a_string_is_still_read() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(serde_json::json!({"err_code": "40006", "err_msg": "预授权码过期"}));
    });
    assert_eq!(exchange(&server).await.unwrap_err().code(), Some(40006));
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error() {
    let client = chengxun_client(&refused_url());
    let err = client
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(&err), Some(TransportKind::Connect), "{err:?}");
    // Nothing was sent, so even the one-shot exchange may be retried.
    assert!(err.is_retryable());
    assert!(!err.request_may_have_been_processed());
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_short_timeout_is_a_timeout_that_warns_the_secret_may_be_spent() {
    let (url, accepted) = silent_server().await;
    let client = corp_auth::chengxun::Client::builder()
        .base_url(url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(transport_kind(&err), Some(TransportKind::Timeout), "{err:?}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("temp_corp_secret may have been consumed"),
        "{err}"
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "sent exactly once"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let other = elsewhere.mock(|when, then| {
        when.any_request();
        then.status(200).json_body_obj(&ok_body());
    });
    server.mock(|when, then| {
        when.method(GET);
        then.status(307)
            .header("location", elsewhere.url("/corp-service/v1/corp-secrets"));
    });
    let err = exchange(&server).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 307, .. }), "{err:?}");
    other.assert_calls(0);
}

#[tokio::test]
async fn empty_and_over_long_inputs_are_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let mut catch_all = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let client = chengxun_client(&server.base_url());
    let long = "x".repeat(257);
    let cases = [
        ("", TEMP_CORP_SECRET, "corp_authorization", "must not be empty"),
        (CORP_AUTHORIZATION, "", "temp_corp_secret", "must not be empty"),
        (
            long.as_str(),
            TEMP_CORP_SECRET,
            "corp_authorization",
            "at most 256 characters, got 257",
        ),
        (
            CORP_AUTHORIZATION,
            long.as_str(),
            "temp_corp_secret",
            "at most 256 characters, got 257",
        ),
    ];
    for (authorization, temp, parameter, rule) in cases {
        let err = client
            .exchange_corp_secret(CORP_ID, authorization, temp)
            .await
            .unwrap_err();
        match &err {
            Error::InvalidInput { parameter: p, rule: r } => {
                assert_eq!(*p, parameter);
                assert!(r.contains(rule), "{r}");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        assert!(err.to_string().contains("nothing was sent"));
        assert!(!err.to_string().contains(&long));
    }
    catch_all.assert_calls(0);
    catch_all.delete();
    // 256 characters of 3 bytes each are within the rule (it counts characters).
    let wide = "界".repeat(256);
    server.mock(|when, then| {
        when.method(GET).query_param("temp_corp_secret", &wide);
        then.status(200).json_body_obj(&ok_body());
    });
    client
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, &wide)
        .await
        .unwrap();
}
