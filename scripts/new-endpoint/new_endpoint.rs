//! Written into a copy of the repository by scripts/new-endpoint-check.sh,
//! after three operations were appended to openapi/wecom.yaml and nothing
//! else changed: they are callable on the raw client and on `wecom::Suite`
//! in calling convention v2 (required inputs positional, optional inputs as
//! setters), with validation, redaction of inputs and answer fields,
//! errcode handling, retries, one-shot behaviour, a write
//! (`x-idempotent: false`) never re-sent, and token refresh.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use common::{Logs, fast_retry};
use corp_auth::wecom::{self, Suite};
use corp_auth::{Error, Operation};
use serde_json::json;
use wecom_standin::StandIn;

const READ: &str = "/cgi-bin/service/check_read";
const ONCE: &str = "/cgi-bin/service/check_once";
const WRITE: &str = "/cgi-bin/service/check_write";
const NOTE: &str = "SENTINEL-note-1234";
const VOUCHER: &str = "SENTINEL-voucher-5678";

fn client(standin: &StandIn) -> wecom::Client {
    wecom::Client::builder().base_url(&standin.url).retry(fast_retry()).build().unwrap()
}

async fn suite(standin: &StandIn) -> Suite {
    let suite = Suite::builder("wwsuite", "suite-secret").client(client(standin)).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    suite.set_suite_ticket("ticket", now).await.unwrap();
    suite
}

#[tokio::test]
async fn the_new_read_is_a_safe_call_on_the_raw_client() {
    let standin = StandIn::start().await;
    let wc = client(&standin);
    standin.default(READ, json!({"errcode": 0, "errmsg": "ok", "grant": "g-1", "count": 3}));
    let answer = wc.check_read("token-a", "abc").note(NOTE).await.unwrap();
    assert_eq!(answer.grant.expose_secret(), "g-1");
    assert_eq!(answer.count, Some(3));
    let seen = standin.seen(READ);
    assert_eq!(seen[0].query.get("suite_access_token").map(String::as_str), Some("token-a"));
    assert_eq!(seen[0].body, json!({"label": "abc", "note": NOTE}));
    // An option not set is left out of the JSON.
    wc.check_read("token-a", "abc").await.unwrap();
    assert_eq!(standin.seen(READ)[1].body, json!({"label": "abc"}));
    // Validation: refused before sending, naming the input and the rule.
    match wc.check_read("token-a", "far-too-long").await.unwrap_err() {
        Error::InvalidInput { parameter, rule } => {
            assert_eq!((parameter, rule.as_str()), ("label", "must be at most 8 characters, got 12"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(standin.seen(READ).len(), 2);
    // Errcode handling and redaction of inputs and answer fields.
    standin.queue(READ, [json!({"errcode": 40058, "errmsg": format!("bad note {NOTE}, grant=G-LEAK")})]);
    let logs = Logs::capture();
    let err = wc.check_read("token-a", "abc").note(NOTE).await.unwrap_err();
    assert!(matches!(err, Error::Platform { operation: Operation::CheckRead, code: 40058, .. }), "{err:?}");
    let text = format!("{err} {err:?} {}", logs.text());
    assert!(!text.contains(NOTE) && !text.contains("G-LEAK"), "{text}");
    // A guaranteed secret missing or empty is a decode error.
    standin.queue(READ, [json!({"errcode": 0, "grant": ""})]);
    let err = wc.check_read("token-a", "abc").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // Transient errors are retried (3 attempts), others are not.
    let before = standin.seen(READ).len();
    standin.queue(READ, vec![json!({"errcode": -1, "errmsg": "busy"}); 3]);
    assert_eq!(wc.check_read("token-a", "abc").await.unwrap_err().code(), Some(-1));
    assert_eq!(standin.seen(READ).len(), before + 3);
}

#[tokio::test]
async fn the_new_read_on_the_suite_refreshes_a_rejected_token_and_replays_once() {
    let standin = StandIn::start().await;
    let suite = suite(&standin).await;
    standin.queue(READ, [json!({"errcode": 42009, "errmsg": "expired"})]);
    standin.default(READ, json!({"errcode": 0, "grant": "g"}));
    suite.check_read("abc").await.unwrap();
    let tokens: Vec<String> =
        standin.seen(READ).iter().map(|s| s.query["suite_access_token"].clone()).collect();
    assert_eq!(tokens, ["suite-token-1", "suite-token-2"]);
}

#[tokio::test]
async fn the_new_one_shot_call_is_never_sent_twice() {
    let standin = StandIn::start().await;
    let suite = suite(&standin).await;
    assert!(Operation::CheckOnce.is_one_shot());
    standin.queue(ONCE, [json!({"errcode": 42009, "errmsg": "expired"})]);
    let err = suite.check_once(VOUCHER).await.unwrap_err();
    assert_eq!(err.code(), Some(42009));
    assert_eq!(standin.seen(ONCE).len(), 1, "not replayed after the token refresh");
    assert!(err.request_may_have_been_processed());
    assert!(!err.to_string().contains(VOUCHER));
    // The answer is the envelope alone: `()`.
    let () = suite.check_once(VOUCHER).await.unwrap();
    assert_eq!(standin.seen(ONCE)[1].body, json!({"voucher": VOUCHER}));
    // -1 on a one-shot call: the platform may have acted; never retried.
    standin.queue(ONCE, [json!({"errcode": -1, "errmsg": "busy"})]);
    let err = client(&standin).check_once("token", VOUCHER).await.unwrap_err();
    assert_eq!(err.code(), Some(-1));
    assert_eq!(standin.seen(ONCE).len(), 3);
}

#[tokio::test]
async fn the_new_write_takes_options_as_setters_and_is_never_sent_twice() {
    let standin = StandIn::start().await;
    let suite = suite(&standin).await;
    assert!(!Operation::CheckWrite.is_idempotent());
    assert!(!Operation::CheckWrite.is_one_shot());
    // Required inputs in the order of the schema's `required` list (touser,
    // content), options by name, in any order.
    standin.default(WRITE, json!({"errcode": 0, "errmsg": "ok", "msgid": "m-1"}));
    let tags = ["a".to_string(), "b".to_string()];
    let answer = suite
        .check_write("zhangsan", "hello")
        .tags(&tags)
        .safe(1)
        .title("hi")
        .await
        .unwrap();
    assert_eq!(answer.msgid.as_deref(), Some("m-1"));
    assert_eq!(
        standin.seen(WRITE)[0].body,
        json!({"touser": "zhangsan", "content": "hello", "safe": 1, "title": "hi", "tags": ["a", "b"]})
    );
    // Input rules of the options run at `.await`, before anything is sent.
    let four = ["a".to_string(), "b".to_string(), "c".to_string(), "d".to_string()];
    let err = suite.check_write("zhangsan", "hello").tags(&four).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { parameter: "tags", rule } if rule == "must have at most 3 items, got 4"),
        "{err:?}"
    );
    assert_eq!(standin.seen(WRITE).len(), 1);

    // A timeout: the write may have acted, so it is sent once, not retried.
    let wc = wecom::Client::builder()
        .base_url(&standin.url)
        .retry(fast_retry())
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    standin.delay(WRITE, std::time::Duration::from_secs(2));
    let err = wc.check_write("token", "zhangsan", "hello").await.unwrap_err();
    assert!(err.request_may_have_been_processed(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("does not send this write again"), "{err}");
    // The stand-in records each request on arrival: a retry would be here.
    assert_eq!(standin.seen(WRITE).len(), 2, "sent exactly once after the first call");

    // -1 (busy) on a write: never re-sent by the library.
    standin.delay(WRITE, std::time::Duration::ZERO);
    standin.queue(WRITE, [json!({"errcode": -1, "errmsg": "busy"})]);
    assert_eq!(wc.check_write("token", "zhangsan", "hello").await.unwrap_err().code(), Some(-1));
    assert_eq!(standin.seen(WRITE).len(), 3);

    // A token rejection proves WeCom did not act: the managed type refreshes
    // and replays the write once.
    standin.queue(WRITE, [json!({"errcode": 42009, "errmsg": "expired"})]);
    suite.check_write("zhangsan", "hello").await.unwrap();
    let tokens: Vec<String> = standin.seen(WRITE)[3..].iter().map(|s| s.query["suite_access_token"].clone()).collect();
    assert_eq!(tokens, ["suite-token-1", "suite-token-2"]);
}
