//! The WeCom provider lifecycle calls against loopback servers: the exact
//! request each sends, the official example answers, error codes, missing
//! guaranteed fields, and the one-shot permanent-code exchange.

mod common;

use std::time::Duration;

use common::raw::{RawServer, Reply, json};
use common::*;
use corp_auth::wecom::{self, AuthType, types::CorpExNameList};
use corp_auth::{Error, Operation, Platform, RetryPolicy, TransportKind};
use httpmock::{Method::GET, Method::POST, MockServer};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/wecom/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A server answering every POST/GET with `body`, verbatim.
fn answering(server: &MockServer, body: &str) {
    let body = body.to_string();
    server.mock(move |when, then| {
        when.any_request();
        then.status(200).header("content-type", "application/json").body(body);
    });
}

fn wc(server: &MockServer) -> wecom::Client {
    wecom_client(&server.base_url())
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

// --- the exact request on the wire ------------------------------------------

#[tokio::test]
async fn get_suite_token_posts_json_without_a_query_token() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(POST)
            .path("/cgi-bin/service/get_suite_token")
            .query_param_missing("suite_access_token")
            .header("content-type", "application/json")
            .json_body(json!({"suite_id": SUITE_ID, "suite_secret": SUITE_SECRET, "suite_ticket": SUITE_TICKET}));
        then.status(200).json_body(
            json!({"errcode": 0, "errmsg": "ok", "suite_access_token": SUITE_ACCESS_TOKEN, "expires_in": 7200}),
        );
    });
    let token = wc(&server)
        .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
        .await
        .unwrap();
    mock.assert_calls(1);
    assert_eq!(token.access_token.expose_secret(), SUITE_ACCESS_TOKEN);
    assert_eq!(token.expires_in, Duration::from_secs(7200));
    assert_eq!(
        to_json(&token),
        json!({"access_token": SUITE_ACCESS_TOKEN, "expires_in": 7200})
    );
    assert!(!format!("{token:?}").contains("SENTINEL"), "{token:?}");
}

#[tokio::test]
async fn get_pre_auth_code_is_a_get_with_the_token_in_the_query() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/cgi-bin/service/get_pre_auth_code")
            .query_param("suite_access_token", SUITE_ACCESS_TOKEN);
        then.status(200)
            .json_body(json!({"errcode": 0, "errmsg": "ok", "pre_auth_code": PRE_AUTH_CODE, "expires_in": 1200}));
    });
    let pre = wc(&server).get_pre_auth_code(SUITE_ACCESS_TOKEN).await.unwrap();
    mock.assert_calls(1);
    assert_eq!(pre.pre_auth_code.expose_secret(), PRE_AUTH_CODE);
    assert_eq!(pre.expires_in, Duration::from_secs(1200));
    assert_eq!(
        to_json(&pre),
        json!({"pre_auth_code": PRE_AUTH_CODE, "expires_in": 1200})
    );
}

#[tokio::test]
async fn set_session_info_sends_the_auth_type_as_documented() {
    let server = MockServer::start_async().await;
    for (auth_type, code) in [(AuthType::Test, 1), (AuthType::Formal, 0)] {
        let mut mock = server.mock(|when, then| {
            when.method(POST)
                .path("/cgi-bin/service/set_session_info")
                .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
                .json_body(json!({"pre_auth_code": PRE_AUTH_CODE, "session_info": {"auth_type": code}}));
            then.status(200).json_body(json!({"errcode": 0, "errmsg": "ok"}));
        });
        wc(&server)
            .set_session_info(SUITE_ACCESS_TOKEN, PRE_AUTH_CODE, auth_type)
            .await
            .unwrap();
        mock.assert_calls(1);
        mock.delete();
    }
}

#[tokio::test]
async fn set_session_info_reports_a_non_zero_errcode() {
    let server = MockServer::start_async().await;
    answering(&server, r#"{"errcode": 42007, "errmsg": "pre_auth_code expired"}"#);
    let err = wc(&server)
        .set_session_info(SUITE_ACCESS_TOKEN, PRE_AUTH_CODE, AuthType::Test)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(42007));
    assert!(err.to_string().contains("pre_auth_code已过期"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn both_permanent_code_calls_post_only_the_auth_code() {
    for (path, v2) in [
        ("/cgi-bin/service/get_permanent_code", false),
        ("/cgi-bin/service/v2/get_permanent_code", true),
    ] {
        let server = MockServer::start_async().await;
        let mock = server.mock(|when, then| {
            when.method(POST)
                .path(path)
                .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
                .json_body(json!({"auth_code": AUTH_CODE}));
            then.status(200)
                .json_body(json!({"errcode": 0, "errmsg": "ok", "permanent_code": PERMANENT_CODE}));
        });
        let code = if v2 {
            let answer = wc(&server)
                .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
                .await
                .unwrap();
            answer.permanent_code
        } else {
            let answer = wc(&server)
                .get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE)
                .await
                .unwrap();
            answer.permanent_code
        };
        mock.assert_calls(1);
        assert_eq!(code.expose_secret(), PERMANENT_CODE);
    }
}

#[tokio::test]
async fn auth_info_v2_and_corp_token_send_auth_corpid_not_auth_code() {
    // wechatpy sends `auth_code` where WeCom expects `auth_corpid`: the exact
    // body is asserted for every call that takes a corp.
    let server = MockServer::start_async().await;
    let body = json!({"auth_corpid": AUTH_CORPID, "permanent_code": PERMANENT_CODE});
    let info = server.mock(|when, then| {
        when.method(POST)
            .path("/cgi-bin/service/v2/get_auth_info")
            .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
            .json_body(body.clone());
        then.status(200)
            .json_body(json!({"errcode": 0, "auth_corp_info": {"corpid": AUTH_CORPID}}));
    });
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/cgi-bin/service/get_corp_token")
            .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
            .json_body(body.clone());
        then.status(200)
            .json_body(json!({"access_token": CORP_ACCESS_TOKEN, "expires_in": 7200}));
    });
    let client = wc(&server);
    let answer = client
        .get_auth_info_v2(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    assert_eq!(answer.auth_corp_info.unwrap().corpid.as_deref(), Some(AUTH_CORPID));
    let corp = client
        .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    assert_eq!(corp.access_token.expose_secret(), CORP_ACCESS_TOKEN);
    assert_eq!(corp.expires_in, Duration::from_secs(7200));
    info.assert_calls(1);
    token.assert_calls(1);
}

// --- the official examples -----------------------------------------------------

#[tokio::test]
async fn the_official_v2_permanent_code_example_decodes() {
    let server = MockServer::start_async().await;
    answering(&server, &fixture("official-100776-v2-get-permanent-code.json"));
    let answer = wc(&server)
        .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
        .await
        .unwrap();
    assert_eq!(answer.permanent_code.expose_secret(), "xxxx");
    let corp = answer.auth_corp_info.as_ref().unwrap();
    assert_eq!(
        (corp.corpid.as_deref(), corp.corp_name.as_deref()),
        (Some("xxxx"), Some("name"))
    );
    let user = answer.auth_user_info.as_ref().unwrap();
    assert_eq!(user.userid.as_deref(), Some("aa"));
    assert_eq!(user.open_userid.as_deref(), Some("xxxxxx"));
    assert_eq!(user.avatar.as_deref(), Some("http://xxx"));
    let register = answer.register_code_info.as_ref().unwrap();
    assert_eq!(register.register_code.as_ref().unwrap().expose_secret(), "1111");
    assert_eq!(register.template_id.as_deref(), Some("tpl111"));
    assert_eq!(answer.state.as_deref(), Some("state001"));
    // Serializing is how a caller reads the fields as JSON.
    let as_json = to_json(&answer);
    assert_eq!(as_json["permanent_code"], "xxxx");
    assert_eq!(as_json["register_code_info"]["state"], "state001");
}

#[tokio::test]
async fn the_official_v1_auth_info_examples_decode() {
    let server = MockServer::start_async().await;
    answering(&server, &fixture("official-14943-get-auth-info.json"));
    let info = wc(&server)
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    let corp = info.auth_corp_info.as_ref().unwrap();
    assert_eq!(corp.corp_wxqrcode.as_deref(), Some("zzzzz"));
    assert_eq!(corp.verified_end_time, Some(1431775834));
    let agents = &info.auth_info.as_ref().unwrap().agent;
    assert_eq!(agents.len(), 2);
    assert_eq!(
        agents[0].privilege.as_ref().unwrap().allow_user,
        vec!["zhansan", "lisi"]
    );
    assert_eq!(agents[1].shared_from.as_ref().unwrap().share_type, Some(0));

    let server = MockServer::start_async().await;
    answering(&server, &fixture("official-91912-get-auth-info-edition.json"));
    let info = wc(&server)
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    let edition = &info.edition_info.as_ref().unwrap().agent[0];
    assert_eq!(edition.edition_id.as_deref(), Some("RLS65535"));
    assert_eq!(edition.app_status, Some(3));
    assert_eq!(edition.is_shared_from_other_corp, Some(true));
}

#[tokio::test]
async fn the_official_v2_auth_info_example_decodes_with_name_list_as_a_string() {
    // The stored copy of the page is cut after the first agent: closed here
    // (agent object, agent array, auth_info, root) and otherwise unchanged.
    let text = fixture("official-100795-v2-get-auth-info.PARTIAL.txt");
    let closed = format!("{}\n}}]}}}}", text.trim_end());
    let server = MockServer::start_async().await;
    answering(&server, &closed);
    let info = wc(&server)
        .get_auth_info_v2(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    let corp = info.auth_corp_info.as_ref().unwrap();
    assert_eq!(corp.corp_wxqrcode, None, "v2 has no corp_wxqrcode");
    let names = corp.corp_ex_name.as_ref().unwrap().name_list.as_ref().unwrap();
    assert!(matches!(names, CorpExNameList::String(s) if s == "xx"), "{names:?}");
    assert_eq!(info.auth_info.as_ref().unwrap().agent[0].agentid, Some(1));
}

#[tokio::test]
async fn name_list_as_an_array_decodes_too_and_round_trips() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        r#"{"errcode":0,"auth_corp_info":{"corp_round_logo_url":"https://p.qlogo.cn/r",
            "corp_ex_name":{"name_list":["简称一","简称二"]}},
            "auth_info":{"agent":[{"agentid":1000012,"is_customized_app":true,"privilege":{"level":0}}]}}"#,
    );
    let info = wc(&server)
        .get_auth_info_v2(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    let corp = info.auth_corp_info.as_ref().unwrap();
    assert_eq!(corp.corp_round_logo_url.as_deref(), Some("https://p.qlogo.cn/r"));
    let names = corp.corp_ex_name.as_ref().unwrap().name_list.as_ref().unwrap();
    assert!(
        matches!(names, CorpExNameList::Array(v) if v == &["简称一", "简称二"]),
        "{names:?}"
    );
    // A customized (代开发) app's privilege level 0 decodes.
    let agent = &info.auth_info.as_ref().unwrap().agent[0];
    assert_eq!(agent.privilege.as_ref().unwrap().level, Some(0));
    assert_eq!(
        to_json(&info)["auth_corp_info"]["corp_ex_name"]["name_list"],
        json!(["简称一", "简称二"])
    );
}

#[tokio::test]
async fn the_official_v1_edition_example_is_an_excerpt_its_fields_decode_but_a_whole_answer_needs_permanent_code() {
    // Page 91911 prints only the paid-edition fields of a v1 answer ("// 其它
    // 字段" elided): its edition_info decodes into the v1 answer's type, but
    // as a whole answer it lacks the guaranteed permanent_code, which is a
    // decode error (never an Ok without the credential).
    let text = fixture("official-91911-get-permanent-code-edition.json");
    let mut value: Value = serde_json::from_str(&text).unwrap();
    let err = wecom::decode_permanent_code_answer(text.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("permanent_code"), "{err}");
    value["permanent_code"] = json!(PERMANENT_CODE);
    let answer = wecom::decode_permanent_code_answer(value.to_string().as_bytes()).unwrap();
    let edition = &answer.edition_info.as_ref().unwrap().agent[0];
    assert_eq!(edition.edition_name.as_deref(), Some("协同版"));
    assert_eq!(edition.expired_time, Some(1541990791));
    assert_eq!(edition.is_virtual_version, Some(false));
}

#[tokio::test]
async fn the_official_v1_permanent_code_answer_decodes_with_the_corp_token() {
    // The example of page 90603, as the spec carries it.
    let server = MockServer::start_async().await;
    let spec: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/wecom.yaml")).unwrap(),
    )
    .unwrap();
    let example = spec
        .pointer("/paths/~1cgi-bin~1service~1get_permanent_code/post/responses/200/content/application~1json/example")
        .unwrap();
    answering(&server, &example.to_string());
    let answer = wc(&server)
        .get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE)
        .await
        .unwrap();
    assert_eq!(answer.permanent_code.expose_secret(), "xxxx");
    assert_eq!(answer.access_token.as_ref().unwrap().expose_secret(), "xxxxxx");
    assert_eq!(answer.expires_in, Some(7200));
    assert_eq!(answer.auth_user_info.as_ref().unwrap().name.as_deref(), Some("xxx"));
    assert_eq!(
        answer.dealer_corp_info.as_ref().unwrap().corpid.as_deref(),
        Some("xxxx")
    );
}

#[test]
fn the_official_request_examples_are_what_the_client_sends() {
    let auth_info: Value = serde_json::from_str(&fixture("req-official-14943-get-auth-info.json")).unwrap();
    let request = wecom::types::GetAuthInfoRequest {
        auth_corpid: "auth_corpid_value".parse().unwrap(),
        permanent_code: "code_value".into(),
    };
    assert_eq!(to_json(&request), auth_info);
    let permanent: Value = serde_json::from_str(&fixture("req-official-90603-get-permanent-code.json")).unwrap();
    let request = wecom::types::GetPermanentCodeRequest {
        auth_code: "auth_code_value".into(),
    };
    assert_eq!(to_json(&request), permanent);
}

// --- success without errcode, missing guaranteed fields ------------------------

#[tokio::test]
async fn an_absent_errcode_is_success_for_the_historic_calls() {
    let server = MockServer::start_async().await;
    answering(
        &server,
        &format!(
            r#"{{"suite_access_token":"{SUITE_ACCESS_TOKEN}","expires_in":7200,"access_token":"{CORP_ACCESS_TOKEN}","permanent_code":"{PERMANENT_CODE}"}}"#
        ),
    );
    let client = wc(&server);
    let suite = client
        .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
        .await
        .unwrap();
    assert_eq!(suite.access_token.expose_secret(), SUITE_ACCESS_TOKEN);
    let corp = client
        .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap();
    assert_eq!(corp.access_token.expose_secret(), CORP_ACCESS_TOKEN);
    let v1 = client.get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE).await.unwrap();
    assert_eq!(v1.permanent_code.expose_secret(), PERMANENT_CODE);
    assert_eq!(v1.errcode, None);
}

#[tokio::test]
async fn a_success_missing_a_guaranteed_field_is_a_decode_error() {
    let cases: [(&str, &str); 5] = [
        (r#"{"errcode":0,"errmsg":"ok","expires_in":7200}"#, "suite_access_token"),
        (r#"{"errcode":0,"errmsg":"ok","suite_access_token":"t"}"#, "expires_in"),
        (r#"{"errcode":0,"errmsg":"ok","pre_auth_code":"p"}"#, "expires_in"),
        (r#"{"errcode":0,"errmsg":"ok","access_token":"a"}"#, "expires_in"),
        (r#"{"errcode":0,"errmsg":"ok","expires_in":7200}"#, "access_token"),
    ];
    for (i, (body, field)) in cases.iter().enumerate() {
        let server = MockServer::start_async().await;
        answering(&server, body);
        let client = wc(&server);
        let err = match i {
            0 | 1 => client
                .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
                .await
                .map(drop),
            2 => client.get_pre_auth_code(SUITE_ACCESS_TOKEN).await.map(drop),
            _ => client
                .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
                .await
                .map(drop),
        }
        .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "case {i}: {err:?}");
        assert!(err.to_string().contains(field), "case {i}: {err}");
    }
    // The one-shot calls: a success without permanent_code (or an empty one).
    for body in [r#"{"errcode":0,"errmsg":"ok"}"#, r#"{"errcode":0,"permanent_code":""}"#] {
        let server = MockServer::start_async().await;
        answering(&server, body);
        for v2 in [false, true] {
            let client = wc(&server);
            let result = if v2 {
                client
                    .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
                    .await
                    .map(drop)
            } else {
                client.get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE).await.map(drop)
            };
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
            assert!(err.to_string().contains("permanent_code"), "{err}");
            assert!(err.request_may_have_been_processed(), "the code may be spent");
        }
    }
}

#[tokio::test]
async fn a_negative_expires_in_is_a_decode_error() {
    let server = MockServer::start_async().await;
    answering(&server, r#"{"suite_access_token":"t","expires_in":-5}"#);
    let err = wc(&server)
        .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Decode { .. }) && err.to_string().contains("expires_in"),
        "{err}"
    );
}

// --- error codes ---------------------------------------------------------------------

#[tokio::test]
async fn every_lifecycle_code_comes_back_with_the_catalog_meaning() {
    let expected = [
        (40058, "不合法的参数"),
        (40077, "不合法的pre_auth_code参数"),
        (40078, "不合法的auth_code参数"),
        (40080, "不合法的suite_secret"),
        (40082, "不合法的suite_token"),
        (40083, "不合法的suite_id"),
        (40084, "不合法的permanent_code参数"),
        (40085, "不合法的的suite_ticket参数"),
        (41023, "缺少suite_ticket参数"),
        (41025, "缺少permanent_code参数"),
        (42001, "access_token已过期"),
        (42007, "pre_auth_code已过期"),
        (42009, "suite_access_token已过期"),
    ];
    let server = MockServer::start_async().await;
    for (code, meaning) in expected {
        let mut mock = server.mock(|when, then| {
            when.any_request();
            then.status(200)
                .json_body(json!({"errcode": code, "errmsg": format!("msg {code}")}));
        });
        let err = wc(&server)
            .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
            .await
            .unwrap_err();
        match &err {
            Error::Platform {
                operation,
                code: got,
                message,
                meaning: Some(info),
            } => {
                assert_eq!(*operation, Operation::GetSuiteToken);
                assert_eq!(*got, code);
                assert_eq!(message, &format!("msg {code}"));
                assert_eq!(info.meaning, meaning);
            }
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(Platform::Wecom.code_info(code).unwrap().meaning, meaning);
        assert!(!err.is_retryable() && !err.request_may_have_been_processed());
        assert_no_secret(&err);
        mock.assert_calls(1);
        mock.delete();
    }
}

#[tokio::test]
async fn a_token_rejection_of_a_one_shot_call_says_the_auth_code_was_not_consumed() {
    for code in [40082, 42009] {
        let server = MockServer::start_async().await;
        let mock = server.mock(|when, then| {
            when.any_request();
            then.status(200)
                .json_body(json!({"errcode": code, "errmsg": "invalid suite_access_token"}));
        });
        let err = wc(&server)
            .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert!(!err.request_may_have_been_processed());
        assert!(err.to_string().contains("the auth_code was not consumed"), "{err}");
        mock.assert_calls(1);
    }
    // A read answered with the same code says nothing about an auth_code.
    let server = MockServer::start_async().await;
    answering(&server, r#"{"errcode":42009,"errmsg":"expired"}"#);
    let err = wc(&server).get_pre_auth_code(SUITE_ACCESS_TOKEN).await.unwrap_err();
    assert!(!err.to_string().contains("auth_code was not"), "{err}");
}

#[tokio::test]
async fn a_reused_auth_code_is_the_platform_error_40078_sent_once() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.any_request();
        then.status(200)
            .json_body(json!({"errcode": 40078, "errmsg": "invalid auth_code"}));
    });
    let err = wc(&server)
        .get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(40078));
    assert_eq!(err.operation(), Some(Operation::GetPermanentCode));
    assert!(err.to_string().contains("不合法的auth_code参数"), "{err}");
    mock.assert_calls(1);
}

// --- one-shot: never sent twice --------------------------------------------------

/// Runs both permanent-code calls against a raw server scripted by `reply`
/// and returns each one's error and the number of requests it saw.
async fn permanent_code_fails(reply: impl Fn(usize) -> Reply + Clone + Send + Sync + 'static) -> Vec<(Error, usize)> {
    let mut out = Vec::new();
    for v2 in [false, true] {
        let server = RawServer::start(reply.clone()).await;
        let client = wecom::Client::builder()
            .base_url(&server.url)
            .timeout(Duration::from_millis(500))
            .retry(fast_retry())
            .build()
            .unwrap();
        let logs = Logs::capture();
        let result = if v2 {
            client
                .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
                .await
                .map(drop)
        } else {
            client.get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE).await.map(drop)
        };
        let err = result.unwrap_err();
        assert_no_secret(&err);
        logs.assert_no_secret();
        out.push((err, server.requests()));
    }
    out
}

#[tokio::test]
async fn the_permanent_code_calls_are_never_resent_after_a_timeout() {
    for (err, requests) in permanent_code_fails(|_| Reply::Silent).await {
        assert_eq!(transport_kind(&err), Some(TransportKind::Timeout), "{err:?}");
        assert_eq!(requests, 1);
        assert!(err.request_may_have_been_processed() && !err.is_retryable());
        assert!(
            err.to_string().contains("the auth_code may have been consumed"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_permanent_code_calls_are_never_resent_after_a_dropped_connection() {
    let cut = |_| Reply::Bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"permanent_".to_vec());
    for (err, requests) in permanent_code_fails(cut).await {
        assert_eq!(transport_kind(&err), Some(TransportKind::Body), "{err:?}");
        assert_eq!(requests, 1);
        assert!(err.request_may_have_been_processed());
    }
    for (err, requests) in permanent_code_fails(|_| Reply::Bytes(Vec::new())).await {
        assert!(transport_kind(&err).is_some(), "{err:?}");
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn the_permanent_code_calls_are_never_resent_after_a_502() {
    let bad_gateway = |_| json("502 Bad Gateway", r#"{"errcode":-1,"errmsg":"system busy"}"#);
    for (err, requests) in permanent_code_fails(bad_gateway).await {
        assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");
        assert_eq!(requests, 1);
        assert!(err.request_may_have_been_processed() && !err.is_retryable());
    }
}

#[tokio::test]
async fn the_permanent_code_calls_are_never_resent_after_an_undecodable_answer() {
    for (err, requests) in permanent_code_fails(|_| json("200 OK", r#"{"permanent_code": 12, "#)).await {
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert_eq!(requests, 1);
        assert!(err.request_may_have_been_processed());
    }
}

#[tokio::test]
async fn the_permanent_code_calls_are_never_resent_after_system_busy() {
    // -1 is retryable for reads; a one-shot call is still sent once.
    for (err, requests) in permanent_code_fails(|_| json("200 OK", r#"{"errcode":-1,"errmsg":"system busy"}"#)).await {
        assert_eq!(err.code(), Some(-1));
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn the_permanent_code_calls_retry_after_a_connect_error_only() {
    let client = wecom::Client::builder()
        .base_url(refused_url())
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client
        .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(&err), Some(TransportKind::Connect));
    assert!(!err.request_may_have_been_processed());
    assert_no_secret(&err);
}

#[tokio::test]
async fn the_reads_are_retried_after_a_502_and_set_session_info_too() {
    let server = RawServer::start(|n| {
        if n % 2 == 0 {
            json("502 Bad Gateway", "bad gateway")
        } else {
            json(
                "200 OK",
                r#"{"errcode":0,"errmsg":"ok","pre_auth_code":"p","expires_in":1200}"#,
            )
        }
    })
    .await;
    let client = wecom::Client::builder()
        .base_url(&server.url)
        .retry(fast_retry())
        .build()
        .unwrap();
    let pre = client.get_pre_auth_code(SUITE_ACCESS_TOKEN).await.unwrap();
    assert_eq!(pre.pre_auth_code.expose_secret(), "p");
    client
        .set_session_info(SUITE_ACCESS_TOKEN, PRE_AUTH_CODE, AuthType::Formal)
        .await
        .unwrap();
    assert_eq!(server.requests(), 4, "each call: a 502, then the answer");
}

// --- input validation and secrets ------------------------------------------------

#[tokio::test]
async fn invalid_inputs_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({}));
    });
    let client = wc(&server);
    let long = "x".repeat(1025);
    let cases = [
        client.get_suite_token("", SUITE_SECRET, SUITE_TICKET).await.map(drop),
        client.get_suite_token(SUITE_ID, "", SUITE_TICKET).await.map(drop),
        client.get_suite_token(SUITE_ID, SUITE_SECRET, "").await.map(drop),
        client.get_pre_auth_code("").await.map(drop),
        client
            .set_session_info(SUITE_ACCESS_TOKEN, "", AuthType::Test)
            .await
            .map(drop),
        client.get_permanent_code(SUITE_ACCESS_TOKEN, "").await.map(drop),
        client.get_permanent_code_v2(SUITE_ACCESS_TOKEN, &long).await.map(drop),
        client
            .get_corp_token(SUITE_ACCESS_TOKEN, "", PERMANENT_CODE)
            .await
            .map(drop),
        client
            .get_auth_info_v2(SUITE_ACCESS_TOKEN, AUTH_CORPID, "")
            .await
            .map(drop),
    ];
    let expected = [
        "suite_id",
        "suite_secret",
        "suite_ticket",
        "suite_access_token",
        "pre_auth_code",
        "auth_code",
        "auth_code",
        "auth_corpid",
        "permanent_code",
    ];
    for (result, parameter) in cases.into_iter().zip(expected) {
        match result.unwrap_err() {
            Error::InvalidInput { parameter: got, rule } => {
                assert_eq!(got, parameter);
                assert!(rule.contains("must"), "{rule}");
            }
            other => panic!("{parameter}: {other:?}"),
        }
    }
    mock.assert_calls(0);
}

#[test]
fn install_url_checks_its_inputs_and_encodes_the_redirect_once() {
    let url = wecom::install_url(SUITE_ID, "pre_CODE-1", "https://isv.example/cb?a=1&b=中", "s1A").unwrap();
    assert_eq!(
        url,
        "https://open.work.weixin.qq.com/3rdapp/install?suite_id=wwsuite0001&pre_auth_code=pre_CODE-1\
         &redirect_uri=https%3A%2F%2Fisv.example%2Fcb%3Fa%3D1%26b%3D%E4%B8%AD&state=s1A"
    );
    assert!(wecom::install_url(SUITE_ID, "p", "https://isv.example/cb", "").is_ok());
    assert!(wecom::install_url(SUITE_ID, "p", "https://isv.example/cb", &"a".repeat(128)).is_ok());
    let refused = [
        (
            wecom::install_url(SUITE_ID, "p", "https://isv.example/cb", &"a".repeat(129)),
            "state",
        ),
        (
            wecom::install_url(SUITE_ID, "p", "https://isv.example/cb", "a-b"),
            "state",
        ),
        (
            wecom::install_url(SUITE_ID, "p", "https://isv.example/cb", "状态"),
            "state",
        ),
        (wecom::install_url(SUITE_ID, "p", "/relative", "s"), "redirect_uri"),
        (
            wecom::install_url(SUITE_ID, "p", "javascript:alert(1)", "s"),
            "redirect_uri",
        ),
        (wecom::install_url("", "p", "https://isv.example/cb", "s"), "suite_id"),
        (
            wecom::install_url(SUITE_ID, "", "https://isv.example/cb", "s"),
            "pre_auth_code",
        ),
    ];
    for (result, parameter) in refused {
        match result {
            Err(Error::InvalidInput { parameter: got, .. }) => assert_eq!(got, parameter),
            other => panic!("{parameter}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn no_lifecycle_secret_leaks_into_errors_debug_or_traces() {
    // Each call's server echoes back, in its error message, every secret the
    // call sent (raw, and after a secret-bearing key).
    async fn echoing(sent: &[&str]) -> MockServer {
        let server = MockServer::start_async().await;
        let text = sent
            .iter()
            .map(|s| format!("{s} suite_ticket={s}"))
            .collect::<Vec<_>>()
            .join(" ");
        answering(
            &server,
            &json!({"errcode": 40085, "errmsg": format!("bad {text}")}).to_string(),
        );
        server
    }
    let logs = Logs::capture();
    let s = echoing(&[SUITE_SECRET, SUITE_TICKET]).await;
    let mut errors = vec![
        wc(&s)
            .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
            .await
            .map(drop),
    ];
    let s = echoing(&[SUITE_ACCESS_TOKEN]).await;
    errors.push(wc(&s).get_pre_auth_code(SUITE_ACCESS_TOKEN).await.map(drop));
    let s = echoing(&[SUITE_ACCESS_TOKEN, PRE_AUTH_CODE]).await;
    errors.push(
        wc(&s)
            .set_session_info(SUITE_ACCESS_TOKEN, PRE_AUTH_CODE, AuthType::Test)
            .await
            .map(drop),
    );
    let s = echoing(&[SUITE_ACCESS_TOKEN, AUTH_CODE]).await;
    errors.push(wc(&s).get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE).await.map(drop));
    errors.push(
        wc(&s)
            .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
            .await
            .map(drop),
    );
    let s = echoing(&[SUITE_ACCESS_TOKEN, PERMANENT_CODE]).await;
    errors.push(
        wc(&s)
            .get_auth_info_v2(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
            .await
            .map(drop),
    );
    errors.push(
        wc(&s)
            .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
            .await
            .map(drop),
    );
    for result in errors {
        let err = result.unwrap_err();
        assert_eq!(err.code(), Some(40085));
        assert!(err.to_string().contains("bad ***"), "{err}");
        assert_no_secret(&err);
    }
    logs.assert_no_secret();
    // Debug of every answer type holding a secret.
    let server = MockServer::start_async().await;
    answering(
        &server,
        &format!(
            r#"{{"suite_access_token":"{SUITE_ACCESS_TOKEN}","access_token":"{CORP_ACCESS_TOKEN}","expires_in":1,"pre_auth_code":"{PRE_AUTH_CODE}","permanent_code":"{PERMANENT_CODE}","register_code_info":{{"register_code":"{SUITE_TICKET}"}}}}"#
        ),
    );
    let client = wc(&server);
    let printed = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        client
            .get_suite_token(SUITE_ID, SUITE_SECRET, SUITE_TICKET)
            .await
            .unwrap(),
        client.get_pre_auth_code(SUITE_ACCESS_TOKEN).await.unwrap(),
        client.get_permanent_code(SUITE_ACCESS_TOKEN, AUTH_CODE).await.unwrap(),
        client
            .get_permanent_code_v2(SUITE_ACCESS_TOKEN, AUTH_CODE)
            .await
            .unwrap(),
        client
            .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
            .await
            .unwrap(),
    );
    assert!(!printed.contains("SENTINEL"), "{printed}");
    logs.assert_no_secret();
}

#[tokio::test]
async fn retries_off_sends_a_read_once() {
    let server = RawServer::start(|_| json("503 Service Unavailable", "")).await;
    let client = wecom::Client::builder()
        .base_url(&server.url)
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let err = client
        .get_corp_token(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
    assert_eq!(server.requests(), 1);
}
