//! WeCom `get_auth_info` against a loopback mock.

mod common;

use std::time::{Duration, Instant};

use common::*;
use corp_auth::mock::wecom::MockServerExt;
use corp_auth::wecom::types::{GetAuthInfoRequest, GetAuthInfoResponse};
use corp_auth::{Error, Operation, Platform, Secret, TransportKind};
use httpmock::{Method::POST, MockServer};
use serde_json::json;

const OFFICIAL_EXAMPLE: &str = r#"{
  "errcode": 0, "errmsg": "ok",
  "dealer_corp_info": {"corpid": "xxxx", "corp_name": "name"},
  "auth_corp_info": {"corpid": "xxxx", "corp_name": "name", "corp_type": "verified",
    "corp_square_logo_url": "yyyyy", "corp_user_max": 50, "corp_agent_max": 30,
    "corp_full_name": "full_name", "verified_end_time": 1431775834, "subject_type": 1,
    "corp_wxqrcode": "zzzzz", "corp_scale": "1-50人", "corp_industry": "IT服务",
    "corp_sub_industry": "计算机软件/硬件/信息服务", "location": "广东省广州市"},
  "auth_info": {"agent": [
    {"agentid": 1, "name": "NAME", "round_logo_url": "xxxxxx", "square_logo_url": "yyyyyy",
     "appid": 1, "auth_mode": 1, "is_customized_app": false, "auth_from_thirdapp": false,
     "privilege": {"level": 1, "allow_party": [1,2,3], "allow_user": ["zhansan","lisi"],
       "allow_tag": [1,2,3], "extra_party": [4,5,6], "extra_user": ["wangwu"], "extra_tag": [4,5,6]},
     "shared_from": {"corpid": "wwyyyyy", "share_type": 1}},
    {"agentid": 2, "name": "NAME2", "round_logo_url": "xxxxxx", "square_logo_url": "yyyyyy",
     "appid": 5, "shared_from": {"corpid": "wwyyyyy", "share_type": 0}}]},
  "edition_info": {"agent": [{"agentid": 1, "edition_id": "RLS65535", "edition_name": "协同版",
    "app_status": 3, "user_limit": 200, "expired_time": 1541990791,
    "is_virtual_version": false, "is_shared_from_other_corp": true}]}
}"#;

async fn auth_info(server: &MockServer) -> Result<GetAuthInfoResponse, Error> {
    wecom_client(&server.base_url())
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
}

fn answer(server: &MockServer, body: serde_json::Value) {
    server.mock(|when, then| {
        when.method(POST);
        then.status(200).json_body(body);
    });
}

#[tokio::test]
async fn sends_the_exact_request() {
    let server = MockServer::start_async().await;
    let mock = server.get_auth_info(|when, then| {
        when.suite_access_token(&SUITE_ACCESS_TOKEN.to_string())
            .body(&GetAuthInfoRequest {
                auth_corpid: AUTH_CORPID.parse().unwrap(),
                permanent_code: Secret::new(PERMANENT_CODE),
            })
            .into_inner()
            .header("content-type", "application/json")
            .header("user-agent", concat!("corp-auth/", env!("CARGO_PKG_VERSION")))
            .header_missing("api-version")
            .json_body(json!({"auth_corpid": AUTH_CORPID, "permanent_code": PERMANENT_CODE}));
        then.ok(&serde_json::from_str(OFFICIAL_EXAMPLE).unwrap());
    });
    auth_info(&server).await.unwrap();
    mock.assert_calls(1);
}

#[tokio::test]
async fn sends_the_user_agent_the_caller_sets() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(POST).header("user-agent", "my-isv/2.1");
        then.status(200).json_body(json!({}));
    });
    let client = corp_auth::wecom::Client::builder()
        .base_url(server.base_url())
        .user_agent("my-isv/2.1")
        .build()
        .unwrap();
    client
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    mock.assert_calls(1);
}

#[tokio::test]
async fn decodes_every_field_of_the_official_example() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST);
        then.status(200)
            .header("content-type", "application/json")
            .body(OFFICIAL_EXAMPLE);
    });
    let info = auth_info(&server).await.unwrap();
    assert_eq!(info.errcode, Some(0));
    assert_eq!(info.errmsg.as_deref(), Some("ok"));
    let dealer = info.dealer_corp_info.as_ref().unwrap();
    assert_eq!(
        (dealer.corpid.as_deref(), dealer.corp_name.as_deref()),
        (Some("xxxx"), Some("name"))
    );
    let corp = info.auth_corp_info.as_ref().unwrap();
    assert_eq!(corp.corp_type.as_deref(), Some("verified"));
    assert_eq!(corp.corp_user_max, Some(50));
    assert_eq!(corp.corp_agent_max, Some(30));
    assert_eq!(corp.verified_end_time, Some(1431775834));
    assert_eq!(corp.subject_type, Some(1));
    assert_eq!(corp.corp_scale.as_deref(), Some("1-50人"));
    assert_eq!(corp.location.as_deref(), Some("广东省广州市"));
    let agents = &info.auth_info.as_ref().unwrap().agent;
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0].agentid, Some(1));
    assert_eq!(agents[0].auth_mode, Some(1));
    assert_eq!(agents[0].is_customized_app, Some(false));
    let privilege = agents[0].privilege.as_ref().unwrap();
    assert_eq!(privilege.level, Some(1));
    assert_eq!(privilege.allow_party, vec![1, 2, 3]);
    assert_eq!(privilege.allow_user, vec!["zhansan", "lisi"]);
    assert_eq!(privilege.extra_tag, vec![4, 5, 6]);
    assert_eq!(agents[1].shared_from.as_ref().unwrap().share_type, Some(0));
    assert!(agents[1].privilege.is_none());
    let edition = &info.edition_info.as_ref().unwrap().agent[0];
    assert_eq!(edition.edition_name.as_deref(), Some("协同版"));
    assert_eq!(edition.expired_time, Some(1541990791));
    assert_eq!(edition.is_shared_from_other_corp, Some(true));
    // Serialize + Deserialize round trip.
    let again: GetAuthInfoResponse = serde_json::from_value(serde_json::to_value(&info).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&info).unwrap()
    );
}

#[tokio::test]
async fn an_absent_errcode_is_success() {
    let server = MockServer::start_async().await;
    answer(&server, json!({"auth_corp_info": {"corpid": "ww1"}}));
    let info = auth_info(&server).await.unwrap();
    assert_eq!(info.errcode, None);
    assert_eq!(info.auth_corp_info.unwrap().corpid.as_deref(), Some("ww1"));
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_a_large_timestamp_decodes() {
    let server = MockServer::start_async().await;
    answer(
        &server,
        json!({"errcode": 0, "brand_new": [1, {"x": null}],
               "auth_corp_info": {"verified_end_time": 4_102_444_800_i64, "corp_brand_new": "新字段"}}),
    );
    let info = auth_info(&server).await.unwrap();
    assert_eq!(info.auth_corp_info.unwrap().verified_end_time, Some(4_102_444_800));
}

#[tokio::test]
async fn every_catalog_code_comes_back_as_the_platform_error() {
    let server = MockServer::start_async().await;
    for info in Platform::Wecom.catalog().iter().filter(|i| i.code != 0) {
        let mut mock = server.mock(|when, then| {
            when.method(POST);
            then.status(200)
                .json_body(json!({"errcode": info.code, "errmsg": format!("msg {}", info.code)}));
        });
        let err = auth_info(&server).await.unwrap_err();
        match &err {
            Error::Platform {
                operation,
                code,
                message,
                meaning,
            } => {
                assert_eq!(*operation, Operation::GetAuthInfo);
                assert_eq!(*code, info.code);
                assert_eq!(message, &format!("msg {}", info.code));
                assert_eq!(meaning.map(|m| m.code), Some(info.code));
            }
            other => panic!("code {}: expected a platform error, got {other:?}", info.code),
        }
        assert_eq!(err.code(), Some(info.code));
        assert_eq!(
            err.is_retryable(),
            matches!(info.code, -1 | 45033),
            "code {}",
            info.code
        );
        assert_no_secret(&err);
        // Retryable codes are sent 3 times in all (the default policy).
        mock.assert_calls(if info.retryable { 3 } else { 1 });
        mock.delete();
    }
}

#[tokio::test]
async fn an_errmsg_that_echoes_a_secret_is_redacted() {
    let server = MockServer::start_async().await;
    answer(
        &server,
        json!({"errcode": 40084, "errmsg": format!("invalid permanent_code {PERMANENT_CODE}")}),
    );
    let err = auth_info(&server).await.unwrap_err();
    assert_eq!(err.code(), Some(40084));
    assert_no_secret(&err);
}

#[tokio::test]
async fn http_500_and_502_with_html_are_http_errors() {
    for (status, retryable) in [(500u16, false), (502, true)] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(POST);
            then.status(status).header("content-type", "text/html").body(format!(
                "<html>upstream failed for ?suite_access_token={SUITE_ACCESS_TOKEN}</html>"
            ));
        });
        let err = auth_info(&server).await.unwrap_err();
        assert!(matches!(&err, Error::Http { status: s, .. } if *s == status), "{err:?}");
        assert_eq!(err.is_retryable(), retryable, "{status}");
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn a_non_200_json_envelope_keeps_its_code() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST);
        then.status(503)
            .json_body(json!({"errcode": -1, "errmsg": "system busy"}));
    });
    let err = auth_info(&server).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: 503,
                code: Some(-1),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(-1));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn invalid_json_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST);
        then.status(200).body("{\"errcode\": 0, \"auth_corp_info\": {");
    });
    let err = auth_info(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("EOF")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn wrong_field_types_are_a_decode_error() {
    let server = MockServer::start_async().await;
    answer(
        &server,
        json!({"errcode": 0, "auth_corp_info": {"corp_user_max": "fifty"}}),
    );
    let err = auth_info(&server).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("invalid type")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("fifty"), "{err}");
}

#[tokio::test]
async fn a_wrong_field_type_in_an_error_answer_still_gives_the_platform_error() {
    let server = MockServer::start_async().await;
    answer(
        &server,
        json!({"errcode": 48004, "errmsg": "授权关系无效", "auth_info": "none"}),
    );
    assert_eq!(auth_info(&server).await.unwrap_err().code(), Some(48004));
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error() {
    let client = wecom_client(&refused_url());
    let err = client
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(&err), Some(TransportKind::Connect), "{err:?}");
    assert!(err.is_retryable());
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_short_timeout_is_a_retryable_timeout() {
    let (url, _) = silent_server().await;
    let client = corp_auth::wecom::Client::builder()
        .base_url(url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(transport_kind(&err), Some(TransportKind::Timeout), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        !err.to_string().contains("temp_corp_secret"),
        "a read gives no one-shot warning"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn empty_and_over_long_inputs_are_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let catch_all = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let client = wecom_client(&server.base_url());
    let long = "y".repeat(1025);
    let cases = [
        (
            "",
            AUTH_CORPID,
            PERMANENT_CODE,
            "suite_access_token",
            "must not be empty",
        ),
        (
            SUITE_ACCESS_TOKEN,
            "",
            PERMANENT_CODE,
            "auth_corpid",
            "must not be empty",
        ),
        (
            SUITE_ACCESS_TOKEN,
            AUTH_CORPID,
            "",
            "permanent_code",
            "must not be empty",
        ),
        (
            long.as_str(),
            AUTH_CORPID,
            PERMANENT_CODE,
            "suite_access_token",
            "at most 1024 characters",
        ),
        (
            SUITE_ACCESS_TOKEN,
            &long[..257],
            PERMANENT_CODE,
            "auth_corpid",
            "at most 256 characters",
        ),
        (
            SUITE_ACCESS_TOKEN,
            AUTH_CORPID,
            long.as_str(),
            "permanent_code",
            "at most 1024 characters",
        ),
    ];
    for (token, corpid, code, parameter, rule) in cases {
        let err = client.get_auth_info(token, corpid, code).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { parameter: p, rule: r } if *p == parameter && r.contains(rule)),
            "{parameter}: {err:?}"
        );
        assert!(!err.to_string().contains(&long[..100]));
    }
    catch_all.assert_calls(0);
}
