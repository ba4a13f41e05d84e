//! Raw calls on the managed types (`Corp::get`, `Corp::post`, and the same
//! on `Provider`): any path with the managed token, the error envelope,
//! retries and redaction of a generated call, decoded into the caller's own
//! type. A raw POST is a write (sent at most once) unless marked idempotent.
//! Against a scripted WeCom on loopback.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::time::Duration;

use corp_auth::wecom::{self, Corp};
use corp_auth::{Error, Operation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wecom_standin::StandIn;

const AGENT_GET: &str = "/cgi-bin/agent/get";
const TAG_CREATE: &str = "/cgi-bin/tag/create";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-r4w";

async fn corp_with(standin: &StandIn, timeout: Duration) -> Corp {
    common::ticketed_corp(
        common::wecom_client_with(&standin.url, timeout),
        "wwCorpA",
        PERMANENT_CODE,
    )
    .await
}

/// The caller's own answer type for a path the spec does not have.
#[derive(Debug, Deserialize, PartialEq)]
struct Agent {
    agentid: i64,
    name: String,
    #[serde(default)]
    allow_userinfos: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct NewTag<'a> {
    tagname: &'a str,
    tagid: i64,
}

#[derive(Debug, Deserialize)]
struct Created {
    tagid: i64,
}

#[tokio::test]
async fn a_raw_get_sends_the_managed_token_and_decodes_the_callers_type() {
    let standin = StandIn::start().await;
    standin.default(
        AGENT_GET,
        json!({"errcode": 0, "errmsg": "ok", "agentid": 1000005, "name": "HR助手",
               "allow_userinfos": {"user": [{"userid": "zhangshan"}]}, "close": 0}),
    );
    let corp = corp_with(&standin, Duration::from_secs(10)).await;
    let agent: Agent = corp.get(AGENT_GET, &[("agentid", "1000005")]).await.unwrap();
    assert_eq!(agent.agentid, 1000005);
    assert_eq!(agent.name, "HR助手");
    assert!(agent.allow_userinfos.is_some());
    let seen = standin.seen(AGENT_GET);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    let mut query: Vec<(String, String)> = seen[0].query.clone().into_iter().collect();
    query.sort();
    assert_eq!(
        query,
        [
            ("access_token".to_string(), "corp-token-1".to_string()),
            ("agentid".to_string(), "1000005".to_string())
        ]
    );
    // Into serde_json::Value works as well: the whole answer.
    let value: serde_json::Value = corp.get(AGENT_GET, &[("agentid", "1")]).await.unwrap();
    assert_eq!(value["close"], 0);
}

#[tokio::test]
async fn a_raw_error_is_a_platform_error_without_the_token() {
    let standin = StandIn::start().await;
    // WeCom echoes the request in errmsg; empty success fields come along
    // (WxJava #2154): only errcode decides.
    standin.default(
        AGENT_GET,
        json!({"errcode": 60011, "errmsg": "no privilege to access/modify contact/party/agent, hint: [corp-token-1], from ip: 1.2.3.4",
               "agentid": 0, "name": ""}),
    );
    let corp = corp_with(&standin, Duration::from_secs(10)).await;
    let err = corp.get::<Agent>(AGENT_GET, &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(60011));
    assert_eq!(err.operation(), Some(Operation::RawCorpRead));
    assert!(
        matches!(err, Error::Platform { meaning: Some(_), .. }),
        "the catalog knows 60011: {err}"
    );
    let text = format!("{err} {err:?}");
    assert!(!text.contains("corp-token-1"), "{text}");
    common::assert_no_secret(&err);
    // An answer that does not fit the caller's type is a decode error
    // naming where, never quoting the body's values.
    standin.default(
        AGENT_GET,
        json!({"errcode": 0, "errmsg": "ok", "agentid": "SENTINEL-not-a-number", "name": "x"}),
    );
    let err = corp.get::<Agent>(AGENT_GET, &[]).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(!err.to_string().contains("SENTINEL"), "{err}");
}

#[tokio::test]
async fn a_raw_post_is_a_write_sent_exactly_once_when_its_answer_is_lost() {
    let standin = StandIn::start().await;
    let corp = corp_with(&standin, Duration::from_millis(300)).await;
    corp.access_token().await.unwrap();
    standin.default(TAG_CREATE, json!({"errcode": 0, "errmsg": "created", "tagid": 12}));
    standin.delay(TAG_CREATE, Duration::from_secs(2));
    let body = NewTag {
        tagname: "UI",
        tagid: 12,
    };
    let err = corp.post::<Created, _>(TAG_CREATE, &body).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.operation(), Some(Operation::RawCorpWrite));
    assert!(err.request_may_have_been_processed());
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("does not send this write again"), "{err}");
    assert_eq!(standin.seen(TAG_CREATE).len(), 1, "never sent twice");
    assert_eq!(standin.seen(TAG_CREATE)[0].body, json!({"tagname": "UI", "tagid": 12}));
    // -1 (system busy) on a write: not retried either.
    standin.delay(TAG_CREATE, Duration::ZERO);
    standin.queue(TAG_CREATE, [json!({"errcode": -1, "errmsg": "system busy"})]);
    let err = corp.post::<Created, _>(TAG_CREATE, &body).await.unwrap_err();
    assert_eq!(err.code(), Some(-1));
    assert_eq!(standin.seen(TAG_CREATE).len(), 2);
    // Answered: the caller's type.
    let created: Created = corp.post(TAG_CREATE, &body).await.unwrap();
    assert_eq!(created.tagid, 12);
    assert_eq!(standin.seen(TAG_CREATE)[2].method, "POST");
}

#[tokio::test]
async fn a_raw_post_marked_idempotent_is_retried_like_a_read() {
    let standin = StandIn::start().await;
    let corp = corp_with(&standin, Duration::from_secs(10)).await;
    standin.queue(
        "/cgi-bin/user/list_id",
        [json!({"errcode": -1, "errmsg": "system busy"})],
    );
    standin.default(
        "/cgi-bin/user/list_id",
        json!({"errcode": 0, "errmsg": "ok", "next_cursor": ""}),
    );
    let answer: serde_json::Value = corp
        .post("/cgi-bin/user/list_id", &json!({"limit": 10}))
        .idempotent()
        .await
        .unwrap();
    assert_eq!(answer["next_cursor"], "");
    assert_eq!(standin.seen("/cgi-bin/user/list_id").len(), 2, "-1 retried once");
}

#[tokio::test]
async fn a_rejected_token_on_a_raw_write_is_refreshed_and_the_write_replayed_once() {
    let standin = StandIn::start().await;
    standin.queue(
        TAG_CREATE,
        [json!({"errcode": 42001, "errmsg": "access_token expired"})],
    );
    standin.default(TAG_CREATE, json!({"errcode": 0, "errmsg": "created", "tagid": 7}));
    let corp = corp_with(&standin, Duration::from_secs(10)).await;
    let created: Created = corp.post(TAG_CREATE, &json!({"tagname": "UI"})).await.unwrap();
    assert_eq!(created.tagid, 7);
    let seen = standin.seen(TAG_CREATE);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].query["access_token"], "corp-token-1");
    assert_eq!(seen[1].query["access_token"], "corp-token-2");
}

#[tokio::test]
async fn bad_paths_and_queries_are_refused_before_anything_is_sent() {
    let standin = StandIn::start().await;
    let corp = corp_with(&standin, Duration::from_secs(10)).await;
    for (path, query) in [
        ("cgi-bin/agent/get", &[][..]),
        ("//evil.example/cgi-bin/agent/get", &[][..]),
        ("/cgi-bin/agent/get?agentid=1", &[][..]),
        ("/cgi-bin/../admin", &[][..]),
        ("/cgi-bin/agent/get#x", &[][..]),
        ("/cgi-bin/agent/get", &[("access_token", "SENTINEL-other-token")][..]),
        ("/cgi-bin/agent/get", &[("", "x")][..]),
    ] {
        let err = corp.get::<serde_json::Value>(path, query).await.unwrap_err();
        let Error::InvalidInput { parameter, rule } = &err else {
            panic!("{path}: {err:?}");
        };
        assert!(["path", "query"].contains(parameter), "{path}: {err}");
        assert!(!rule.is_empty());
        assert!(!err.to_string().contains("SENTINEL"), "{err}");
    }
    // A body that cannot be JSON.
    let mut map = std::collections::HashMap::new();
    map.insert((1, 2), "tuple keys are not JSON");
    let err = corp.post::<serde_json::Value, _>(TAG_CREATE, &map).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { parameter: "body", .. }), "{err}");
    let all = standin.state.lock().unwrap().seen.len();
    assert_eq!(all, 0, "nothing was sent, not even a token request");
}

#[tokio::test]
async fn the_provider_has_raw_calls_on_the_provider_token() {
    let standin = StandIn::start().await;
    standin.default(
        "/cgi-bin/license/get_union_order",
        json!({"errcode": 0, "errmsg": "ok", "order": {"order_id": "OI1", "order_type": 8}}),
    );
    let provider = wecom::Provider::builder("wwprovider", "SENTINEL-provider-secret")
        .client(common::wecom_client(&standin.url))
        .build()
        .unwrap();
    let answer: serde_json::Value = provider
        .post("/cgi-bin/license/get_union_order", &json!({"order_id": "OI1"}))
        .idempotent()
        .await
        .unwrap();
    assert_eq!(answer["order"]["order_type"], 8);
    let seen = standin.seen("/cgi-bin/license/get_union_order");
    assert_eq!(seen[0].query["provider_access_token"], "provider-token-1");
    assert!(!seen[0].query.contains_key("access_token"));
}
