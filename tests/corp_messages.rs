//! Application messages (应用消息) on `wecom::Corp`, from the spec alone:
//! `send_message` is a write (`x-idempotent: false`) — sent exactly once
//! even when the answer is lost — and `recall_message` is retried like a
//! read. Against a scripted WeCom on loopback.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::time::Duration;

use corp_auth::wecom::{Corp, types};
use corp_auth::{Error, Operation};
use serde_json::json;
use wecom_standin::StandIn;

const SEND: &str = "/cgi-bin/message/send";
const RECALL: &str = "/cgi-bin/message/recall";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-d1d1";

async fn corp_with(standin: &StandIn, timeout: Duration) -> Corp {
    common::ticketed_corp(
        common::wecom_client_with(&standin.url, timeout),
        "wwCorpA",
        PERMANENT_CODE,
    )
    .await
}

async fn corp(standin: &StandIn) -> Corp {
    corp_with(standin, Duration::from_secs(10)).await
}

fn text(content: &str) -> types::TextMessage {
    serde_json::from_value(json!({"content": content})).unwrap()
}

#[tokio::test]
async fn send_message_posts_the_text_body_and_decodes_the_official_answer() {
    let standin = StandIn::start().await;
    // OFFICIAL 90236 (answer example, with the newer `unlicenseduser`).
    standin.default(
        SEND,
        json!({"errcode":0,"errmsg":"ok","invaliduser":"userid1|userid2","invalidparty":"partyid1|partyid2",
               "invalidtag":"tagid1|tagid2","unlicenseduser":"user1|user2","msgid":"xxxx","response_code":"xyzxyz"}),
    );
    let corp = corp(&standin).await;
    let body = text("你的快递已到");
    let answer = corp
        .send_message("text", 1000002)
        .touser("zhangsan|lisi")
        .text(&body)
        .enable_duplicate_check(1)
        .await
        .unwrap();
    assert_eq!(answer.invaliduser.as_deref(), Some("userid1|userid2"));
    assert_eq!(answer.invalidparty.as_deref(), Some("partyid1|partyid2"));
    assert_eq!(answer.invalidtag.as_deref(), Some("tagid1|tagid2"));
    assert_eq!(answer.unlicenseduser.as_deref(), Some("user1|user2"));
    assert_eq!(answer.msgid.as_deref(), Some("xxxx"));
    assert_eq!(answer.response_code.as_deref(), Some("xyzxyz"));
    let seen = standin.seen(SEND);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].query.get("access_token").map(String::as_str),
        Some("corp-token-1")
    );
    assert_eq!(
        seen[0].body,
        json!({"touser": "zhangsan|lisi", "msgtype": "text", "agentid": 1000002,
               "text": {"content": "你的快递已到"}, "enable_duplicate_check": 1})
    );
    assert!(!Operation::SendMessage.is_idempotent());
}

#[tokio::test]
async fn textcard_markdown_and_template_card_bodies_are_typed() {
    let standin = StandIn::start().await;
    standin.default(SEND, json!({"errcode": 0, "errmsg": "ok", "msgid": "m"}));
    let corp = corp(&standin).await;
    let card: types::TextCardMessage = serde_json::from_value(json!({
        "title": "领奖通知", "description": "<div class=\"gray\">2016年9月26日</div>", "url": "https://isv.example/x", "btntxt": "更多"
    }))
    .unwrap();
    corp.send_message("textcard", 1)
        .touser("@all")
        .textcard(&card)
        .await
        .unwrap();
    let markdown: types::MarkdownMessage = serde_json::from_value(json!({"content": "**粗体**"})).unwrap();
    corp.send_message("markdown", 1)
        .toparty("2")
        .markdown(&markdown)
        .await
        .unwrap();
    let template: types::TemplateCardMessage = serde_json::from_value(json!({
        "card_type": "text_notice", "main_title": {"title": "欢迎", "desc": "说明"},
        "card_action": {"type": 1, "url": "https://isv.example"}
    }))
    .unwrap();
    corp.send_message("template_card", 1)
        .totag("1")
        .template_card(&template)
        .await
        .unwrap();
    let bodies: Vec<serde_json::Value> = standin.seen(SEND).into_iter().map(|s| s.body).collect();
    assert_eq!(bodies[0]["textcard"]["btntxt"], "更多");
    assert_eq!(bodies[0]["touser"], "@all");
    assert_eq!(bodies[1]["markdown"], json!({"content": "**粗体**"}));
    assert_eq!(bodies[2]["template_card"]["card_type"], "text_notice");
    assert_eq!(bodies[2]["template_card"]["main_title"]["title"], "欢迎");
    // Only the bodies that were set are sent (zsmhub sends every one empty).
    assert!(bodies[1].get("text").is_none() && bodies[1].get("textcard").is_none());
}

#[tokio::test]
async fn a_message_whose_answer_is_lost_is_sent_exactly_once() {
    let standin = StandIn::start().await;
    let corp = corp_with(&standin, Duration::from_millis(300)).await;
    // Warm the corp token first, so the only slow request is the send.
    corp.access_token().await.unwrap();
    standin.default(SEND, json!({"errcode": 0, "errmsg": "ok", "msgid": "m"}));
    standin.delay(SEND, Duration::from_secs(2));
    let body = text("hello");
    let err = corp
        .send_message("text", 1)
        .touser("zhangsan")
        .text(&body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.request_may_have_been_processed());
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("does not send this write again"), "{err}");
    // The stand-in records each request on arrival: a retry would be here.
    assert_eq!(standin.seen(SEND).len(), 1);
    // A -1 (system busy) on a write: not retried either.
    standin.delay(SEND, Duration::ZERO);
    let before = standin.seen(SEND).len();
    standin.queue(SEND, [json!({"errcode": -1, "errmsg": "system busy"})]);
    let err = corp
        .send_message("text", 1)
        .touser("zhangsan")
        .text(&body)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-1));
    assert_eq!(standin.seen(SEND).len(), before + 1);
}

#[tokio::test]
async fn a_rejected_corp_token_proves_nothing_was_sent_so_the_write_is_replayed_once() {
    let standin = StandIn::start().await;
    standin.queue(SEND, [json!({"errcode": 42001, "errmsg": "access_token expired"})]);
    standin.default(SEND, json!({"errcode": 0, "errmsg": "ok", "msgid": "m"}));
    let corp = corp(&standin).await;
    let body = text("hello");
    corp.send_message("text", 1)
        .touser("zhangsan")
        .text(&body)
        .await
        .unwrap();
    let tokens: Vec<String> = standin
        .seen(SEND)
        .iter()
        .map(|s| s.query["access_token"].clone())
        .collect();
    assert_eq!(tokens, ["corp-token-1", "corp-token-2"]);
}

#[tokio::test]
async fn a_wrong_msgtype_is_refused_before_any_token_is_fetched() {
    let standin = StandIn::start().await;
    let corp = corp(&standin).await;
    let err = corp.send_message("txt", 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                parameter: "msgtype",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(standin.seen("/cgi-bin/service/get_corp_token").is_empty());
    assert!(standin.seen(SEND).is_empty());
}

#[tokio::test]
async fn all_recipients_invalid_is_the_platform_error_81013() {
    let standin = StandIn::start().await;
    standin.default(
        SEND,
        json!({"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "nobody"}),
    );
    let corp = corp(&standin).await;
    let body = text("hello");
    let err = corp
        .send_message("text", 1)
        .touser("nobody")
        .text(&body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Platform { code: 81013, .. }), "{err:?}");
    assert!(err.to_string().contains("81013"), "{err}");
}

#[tokio::test]
async fn recall_message_posts_the_msgid_and_is_retried_like_a_read() {
    let standin = StandIn::start().await;
    standin.queue(RECALL, [json!({"errcode": -1, "errmsg": "system busy"})]);
    standin.default(RECALL, json!({"errcode": 0, "errmsg": "ok"}));
    let corp = corp(&standin).await;
    // OFFICIAL 96460.
    let msgid = "vcT8gGc-7dFb4bxT35ONjBDz901sLlXPZw1DAMC_Gc26qRpK-AK5sTJkkb0128t";
    let () = corp.recall_message(msgid).await.unwrap();
    let seen = standin.seen(RECALL);
    assert_eq!(seen.len(), 2, "-1 retried once, then ok");
    assert_eq!(seen[1].body, json!({"msgid": msgid}));
    assert!(Operation::RecallMessage.is_idempotent());
}
