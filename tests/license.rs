//! 接口许可 (interface licences) on the provider token, from the spec alone:
//! every operation's exact request (POST, path, `provider_access_token`,
//! body) on `wecom::Provider`, orders and activations as writes (sent at
//! most once), reads retried; the 7010xx codes in the catalog; and the
//! licence events, encrypted as WeCom sends them, decrypted and parsed.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::time::Duration;

use corp_auth::wecom::callback::{Crypto, Event};
use corp_auth::wecom::{self, Provider, types};
use corp_auth::{Credential, Error, Operation, Platform};
use serde_json::{Value, json};
use wecom_standin::StandIn;

const PROVIDER_CORPID: &str = "wwprovider0001";

fn provider(standin: &StandIn, timeout: Duration) -> Provider {
    let client = wecom::Client::builder()
        .base_url(&standin.url)
        .retry(common::fast_retry())
        .timeout(timeout)
        .build()
        .unwrap();
    Provider::builder(PROVIDER_CORPID, "SENTINEL-provider-secret")
        .client(client)
        .build()
        .unwrap()
}

/// The one request to `/cgi-bin/license/<name>`: POST with the provider
/// token and no other query; its body.
fn sent(standin: &StandIn, name: &str) -> Value {
    let path = format!("/cgi-bin/license/{name}");
    let seen = standin.seen(&path);
    assert_eq!(seen.len(), 1, "{path}: {seen:?}");
    assert_eq!(seen[0].method, "POST", "{path}");
    let query: Vec<(&String, &String)> = seen[0].query.iter().collect();
    assert_eq!(
        query,
        [(&"provider_access_token".to_string(), &"provider-token-1".to_string())],
        "{path}: the provider token only (never suite_access_token: WxJava)"
    );
    seen[0].body.clone()
}

fn answer(standin: &StandIn, name: &str, body: Value) {
    standin.default(&format!("/cgi-bin/license/{name}"), body);
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn orders_send_exactly_what_the_pages_show() {
    let standin = StandIn::start().await;
    let p = provider(&standin, Duration::from_secs(10));
    // OFFICIAL 97182.
    answer(
        &standin,
        "create_new_order",
        json!({"errcode": 0, "errmsg": "ok", "order_id": "OI-1"}),
    );
    let count: types::AccountCount = from(json!({"base_count": 100, "external_contact_count": 100}));
    let duration: types::AccountDuration = from(json!({"months": 2, "days": 20}));
    let order = p.create_new_order("wwxxx", "xxxx", &count, &duration).await.unwrap();
    assert_eq!(order.order_id, "OI-1");
    assert_eq!(
        sent(&standin, "create_new_order"),
        json!({"corpid": "wwxxx", "buyer_userid": "xxxx", "account_count": {"base_count": 100, "external_contact_count": 100},
               "account_duration": {"months": 2, "days": 20}})
    );

    answer(
        &standin,
        "create_renew_order_job",
        json!({"errcode": 0, "errmsg": "ok", "jobid": "J1",
               "invalid_account_list": [{"errcode": 701019, "errmsg": "bad", "userid": "u3", "type": 1}]}),
    );
    let accounts: Vec<types::RenewAccount> = from(json!([{"userid": "u1", "type": 1}, {"userid": "u2", "type": 2}]));
    let job = p.create_renew_order_job("wwxxx", &accounts).jobid("J0").await.unwrap();
    assert_eq!(job.jobid, "J1");
    assert_eq!(job.invalid_account_list[0].errcode, Some(701019));
    assert_eq!(
        sent(&standin, "create_renew_order_job"),
        json!({"corpid": "wwxxx", "account_list": [{"userid": "u1", "type": 1}, {"userid": "u2", "type": 2}], "jobid": "J0"})
    );

    answer(
        &standin,
        "submit_order_job",
        json!({"errcode": 0, "errmsg": "ok", "order_id": "OI-2"}),
    );
    let months: types::AccountDuration = from(json!({"months": 12}));
    assert_eq!(
        p.submit_order_job("J1", "buyer", &months).await.unwrap().order_id,
        "OI-2"
    );
    assert_eq!(
        sent(&standin, "submit_order_job"),
        json!({"jobid": "J1", "buyer_userid": "buyer", "account_duration": {"months": 12}})
    );

    answer(
        &standin,
        "list_order",
        json!({"errcode": 0, "errmsg": "ok", "next_cursor": "c2", "has_more": 1, "order_list": [{"order_id": "OI-1", "order_type": 1}]}),
    );
    let list = p
        .list_order()
        .start_time(1668606464)
        .end_time(1668606464)
        .limit(10)
        .await
        .unwrap();
    assert_eq!((list.has_more, list.next_cursor.as_deref()), (Some(1), Some("c2")));
    assert_eq!(list.order_list[0].order_type, Some(1));
    assert_eq!(
        sent(&standin, "list_order"),
        json!({"start_time": 1668606464, "end_time": 1668606464, "limit": 10})
    );

    answer(
        &standin,
        "get_order",
        json!({"errcode": 0, "errmsg": "ok", "order": {"order_id": "OI-1", "order_type": 1, "order_status": 1, "corpid": "wwxxx",
               "price": 10000, "account_count": {"base_count": 100, "external_contact_count": 100},
               "account_duration": {"months": 1, "days": 20, "new_expire_time": 1664582400}, "create_time": 1640000000, "pay_time": 1640000001}}),
    );
    let order = p.get_order("OI-1").await.unwrap().order;
    assert_eq!(
        (order.order_status, order.price, order.pay_time),
        (Some(1), Some(10000), Some(1640000001))
    );
    assert_eq!(order.account_duration.unwrap().new_expire_time, Some(1664582400));
    assert_eq!(sent(&standin, "get_order"), json!({"order_id": "OI-1"}));

    // OFFICIAL 97186.
    answer(
        &standin,
        "list_order_account",
        json!({"errcode": 0, "errmsg": "ok", "next_cursor": "xxxx", "has_more": 1,
               "account_list": [{"active_code": "code1", "userid": "XXX", "type": 1}, {"active_code": "code2", "userid": "XXX", "type": 2}]}),
    );
    let accounts = p.list_order_account("OI-1").limit(500).cursor("c1").await.unwrap();
    assert_eq!(accounts.account_list.len(), 2);
    assert_eq!(accounts.account_list[1].active_code.as_deref(), Some("code2"));
    assert_eq!(accounts.account_list[1].type_, Some(2));
    assert_eq!(
        sent(&standin, "list_order_account"),
        json!({"order_id": "OI-1", "limit": 500, "cursor": "c1"})
    );

    p.cancel_order("OI-3").corpid("wwxxx").await.unwrap();
    assert_eq!(
        sent(&standin, "cancel_order"),
        json!({"order_id": "OI-3", "corpid": "wwxxx"})
    );
}

#[tokio::test]
async fn accounts_send_exactly_what_the_pages_show() {
    let standin = StandIn::start().await;
    let p = provider(&standin, Duration::from_secs(10));
    p.active_account("CODE1", "wwcorp", "woUser").await.unwrap();
    assert_eq!(
        sent(&standin, "active_account"),
        json!({"active_code": "CODE1", "corpid": "wwcorp", "userid": "woUser"})
    );

    answer(
        &standin,
        "batch_active_account",
        json!({"errcode": 0, "errmsg": "ok", "active_result": [{"active_code": "C1", "userid": "U1", "errcode": 0},
                                                               {"active_code": "C2", "userid": "U2", "errcode": 701003}]}),
    );
    let list: Vec<types::ActiveItem> =
        from(json!([{"active_code": "C1", "userid": "U1"}, {"active_code": "C2", "userid": "U2"}]));
    let result = p.batch_active_account("wwcorp", &list).await.unwrap();
    assert_eq!(result.active_result[1].errcode, Some(701003));
    assert_eq!(
        sent(&standin, "batch_active_account"),
        json!({"corpid": "wwcorp", "active_list": [{"active_code": "C1", "userid": "U1"}, {"active_code": "C2", "userid": "U2"}]})
    );

    answer(
        &standin,
        "get_active_info_by_code",
        json!({"errcode": 0, "errmsg": "ok", "active_info": {"active_code": "C1", "type": 1, "status": 5, "userid": "U1",
               "create_time": 1640966400, "active_time": 1640966401, "expire_time": 1672502400,
               "merge_info": {"to_active_code": "C9", "from_active_code": "C0"}, "share_info": {"to_corpid": "wwdown", "from_corpid": "wwup"}}}),
    );
    let info = p.get_active_info_by_code("wwcorp", "C1").await.unwrap().active_info;
    assert_eq!((info.status, info.expire_time), (Some(5), Some(1672502400)));
    assert_eq!(info.merge_info.unwrap().to_active_code.as_deref(), Some("C9"));
    assert_eq!(info.share_info.unwrap().from_corpid.as_deref(), Some("wwup"));
    assert_eq!(
        sent(&standin, "get_active_info_by_code"),
        json!({"corpid": "wwcorp", "active_code": "C1"})
    );

    answer(
        &standin,
        "batch_get_active_info_by_code",
        json!({"errcode": 0, "errmsg": "ok", "active_info_list": [{"active_code": "C1", "type": 1, "status": 2}], "invalid_active_code_list": ["C404"]}),
    );
    let codes = ["C1".to_string(), "C404".to_string()];
    let infos = p.batch_get_active_info_by_code("wwcorp", &codes).await.unwrap();
    assert_eq!(infos.invalid_active_code_list, ["C404"]);
    assert_eq!(
        sent(&standin, "batch_get_active_info_by_code"),
        json!({"corpid": "wwcorp", "active_code_list": ["C1", "C404"]})
    );

    answer(
        &standin,
        "list_actived_account",
        json!({"errcode": 0, "errmsg": "ok", "next_cursor": "", "has_more": 0,
               "account_list": [{"userid": "user1", "type": 1, "expire_time": 1500000000, "active_time": 1400000000}]}),
    );
    let list = p.list_actived_account("wwcorp").limit(1000).await.unwrap();
    assert_eq!(list.account_list[0].active_time, Some(1400000000));
    // WeCom's spelling (PowerWeChat posts to list_activated_account).
    assert_eq!(
        sent(&standin, "list_actived_account"),
        json!({"corpid": "wwcorp", "limit": 1000})
    );

    answer(
        &standin,
        "get_active_info_by_user",
        json!({"errcode": 0, "errmsg": "ok", "active_status": 1,
               "active_info_list": [{"active_code": "C1", "type": 1, "userid": "U1", "active_time": 1, "expire_time": 2}]}),
    );
    let by_user = p.get_active_info_by_user("wwcorp", "U1").await.unwrap();
    assert_eq!(by_user.active_status, Some(1));
    assert_eq!(
        sent(&standin, "get_active_info_by_user"),
        json!({"corpid": "wwcorp", "userid": "U1"})
    );

    answer(
        &standin,
        "batch_transfer_license",
        json!({"errcode": 0, "errmsg": "ok", "transfer_result": [{"handover_userid": "A", "takeover_userid": "B", "errcode": 701017}]}),
    );
    let transfers: Vec<types::TransferItem> = from(json!([{"handover_userid": "A", "takeover_userid": "B"}]));
    let result = p.batch_transfer_license("wwcorp", &transfers).await.unwrap();
    assert_eq!(result.transfer_result[0].errcode, Some(701017));
    assert_eq!(
        sent(&standin, "batch_transfer_license"),
        json!({"corpid": "wwcorp", "transfer_list": [{"handover_userid": "A", "takeover_userid": "B"}]})
    );

    // OFFICIAL 97193.
    answer(
        &standin,
        "batch_share_active_code",
        json!({"errcode": 0, "errmsg": "ok", "share_result": [{"active_code": "ACTIVE_CODE", "errcode": 700100, "errmsg": "error"}]}),
    );
    let share: Vec<types::ShareItem> = from(json!([{"active_code": "ACTIVE_CODE1"}, {"active_code": "ACTIVE_CODE2"}]));
    let shared = p
        .batch_share_active_code("FROMCORPID", "ToCORPID", &share)
        .corp_link_type(0)
        .await
        .unwrap();
    assert_eq!(shared.share_result[0].errcode, Some(700100));
    assert_eq!(
        sent(&standin, "batch_share_active_code"),
        json!({"from_corpid": "FROMCORPID", "to_corpid": "ToCORPID", "share_list": [{"active_code": "ACTIVE_CODE1"}, {"active_code": "ACTIVE_CODE2"}], "corp_link_type": 0})
    );

    p.set_auto_active_status("wwcorp", 1).await.unwrap();
    assert_eq!(
        sent(&standin, "set_auto_active_status"),
        json!({"corpid": "wwcorp", "auto_active_status": 1})
    );
    answer(
        &standin,
        "get_auto_active_status",
        json!({"errcode": 0, "errmsg": "ok", "auto_active_status": 1}),
    );
    assert_eq!(
        p.get_auto_active_status("wwcorp").await.unwrap().auto_active_status,
        Some(1)
    );
    assert_eq!(sent(&standin, "get_auto_active_status"), json!({"corpid": "wwcorp"}));
}

#[test]
fn orders_and_activations_are_writes_and_reads_are_reads() {
    let writes = [
        Operation::CreateNewOrder,
        Operation::CreateRenewOrderJob,
        Operation::SubmitOrderJob,
        Operation::CancelOrder,
        Operation::ActiveAccount,
        Operation::BatchActiveAccount,
        Operation::BatchTransferLicense,
        Operation::BatchShareActiveCode,
    ];
    let reads = [
        Operation::ListOrder,
        Operation::GetOrder,
        Operation::ListOrderAccount,
        Operation::GetActiveInfoByCode,
        Operation::BatchGetActiveInfoByCode,
        Operation::ListActivedAccount,
        Operation::GetActiveInfoByUser,
        Operation::SetAutoActiveStatus,
        Operation::GetAutoActiveStatus,
    ];
    for op in writes.iter().chain(&reads) {
        assert_eq!(op.credential(), Some(Credential::ProviderAccessToken), "{op}");
        assert!(!op.is_one_shot(), "{op}");
    }
    assert!(writes.iter().all(|op| !op.is_idempotent()));
    assert!(reads.iter().all(|op| op.is_idempotent()));
    // The 7010xx codes, with what to do where it is known.
    let info = Platform::Wecom.code_info(701083).unwrap();
    assert!(info.meaning.starts_with("订单未支付") && info.meaning.contains("list_order_account"));
    assert_eq!(
        Platform::Wecom.code_info(701030).unwrap().meaning,
        "激活码叠加后有效期超过5年"
    );
    assert!(Platform::Wecom.code_info(701099).is_some());
}

#[tokio::test]
async fn an_order_whose_answer_is_lost_is_placed_exactly_once_and_reads_are_retried() {
    let standin = StandIn::start().await;
    let p = provider(&standin, Duration::from_millis(300));
    p.provider_access_token().await.unwrap();
    standin.delay("/cgi-bin/license/create_new_order", Duration::from_secs(2));
    let count: types::AccountCount = from(json!({"base_count": 1}));
    let duration: types::AccountDuration = from(json!({"months": 1}));
    let err = p
        .create_new_order("wwxxx", "buyer", &count, &duration)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.request_may_have_been_processed() && !err.is_retryable());
    assert_eq!(
        standin.seen("/cgi-bin/license/create_new_order").len(),
        1,
        "one order, never two"
    );
    // A read after -1 is sent again.
    standin.queue(
        "/cgi-bin/license/get_order",
        [json!({"errcode": -1, "errmsg": "system busy"})],
    );
    answer(
        &standin,
        "get_order",
        json!({"errcode": 0, "errmsg": "ok", "order": {"order_id": "OI-9"}}),
    );
    assert_eq!(p.get_order("OI-9").await.unwrap().order.order_id, "OI-9");
    assert_eq!(standin.seen("/cgi-bin/license/get_order").len(), 2);
    // An unpaid order's accounts: the catalog says what to do.
    answer(
        &standin,
        "list_order_account",
        json!({"errcode": 701083, "errmsg": "order not paid, hint: [x]"}),
    );
    let err = p.list_order_account("OI-9").await.unwrap_err();
    assert_eq!(err.code(), Some(701083));
    assert!(err.to_string().contains("服务商管理端"), "{err}");
    // Bad input is refused before anything is sent: an empty corpid, too
    // many items.
    let before = standin.state.lock().unwrap().seen.len();
    let err = p.get_auto_active_status("").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                parameter: "corpid",
                ..
            }
        ),
        "{err}"
    );
    let many: Vec<types::ShareItem> = (0..1001)
        .map(|i| from(json!({"active_code": format!("C{i}")})))
        .collect();
    let err = p.batch_share_active_code("a", "b", &many).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                parameter: "share_list",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(standin.state.lock().unwrap().seen.len(), before);
}

// ---------------------------------------------------------------------------
// Events

const TOKEN: &str = "system-event-token";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// `xml` as WeCom delivers it to the URL of `receive_id`: encrypted, signed,
/// in the POST envelope; then verified and decrypted by a fresh receiver.
fn delivered(receive_id: &str, xml: &str) -> Result<Event, Error> {
    let sender = Crypto::new(TOKEN, KEY, receive_id).unwrap();
    let body = sender.encrypt(xml, "1654502000", "nonce-1").unwrap();
    let signature = body
        .split("<MsgSignature><![CDATA[")
        .nth(1)
        .and_then(|s| s.split("]]>").next())
        .unwrap()
        .to_string();
    Crypto::new(TOKEN, KEY, PROVIDER_CORPID)
        .unwrap()
        .decrypt_event(&signature, "1654502000", "nonce-1", &body)
}

#[test]
fn license_system_events_decrypt_for_the_provider_corpid_and_parse() {
    // 97196 (its example is malformed XML: `]]</BuyerUserId>`; fixed here).
    let paid = delivered(
        PROVIDER_CORPID,
        "<xml><ServiceCorpId><![CDATA[wwprovider0001]]></ServiceCorpId><InfoType><![CDATA[license_pay_success]]></InfoType>\
         <AuthCorpId><![CDATA[wwcorpA]]></AuthCorpId><OrderId><![CDATA[OI-1]]></OrderId>\
         <BuyerUserId><![CDATA[buyer]]></BuyerUserId><TimeStamp>1654502000</TimeStamp></xml>",
    )
    .unwrap();
    assert_eq!(
        paid,
        Event::LicensePaySuccess {
            service_corp_id: PROVIDER_CORPID.into(),
            auth_corp_id: "wwcorpA".into(),
            order_id: "OI-1".into(),
            buyer_user_id: Some("buyer".into()),
            timestamp: 1654502000,
        }
    );
    assert_eq!(paid.info_type(), "license_pay_success");
    // 95805.
    let refund = delivered(
        PROVIDER_CORPID,
        "<xml><ServiceCorpId><![CDATA[wwprovider0001]]></ServiceCorpId><InfoType><![CDATA[license_refund]]></InfoType>\
         <AuthCorpId><![CDATA[wwcorpA]]></AuthCorpId><OrderId><![CDATA[OI-2]]></OrderId><OrderStatus>1</OrderStatus>\
         <TimeStamp>1654502001</TimeStamp></xml>",
    )
    .unwrap();
    assert!(matches!(refund, Event::LicenseRefund { order_status: 1, ref order_id, .. } if order_id == "OI-2"));
    // 95994: two accounts.
    let auto = delivered(
        PROVIDER_CORPID,
        "<xml><ServiceCorpId><![CDATA[wwprovider0001]]></ServiceCorpId><InfoType><![CDATA[auto_activate]]></InfoType>\
         <AuthCorpId><![CDATA[wwcorpA]]></AuthCorpId><Scene>1</Scene><TimeStamp>1654502002</TimeStamp>\
         <AccountList><ActiveCode><![CDATA[CODE1]]></ActiveCode><Type>1</Type><ExpireTime>1690000000</ExpireTime>\
         <UserId><![CDATA[woU1]]></UserId><PreviousStatus>1</PreviousStatus></AccountList>\
         <AccountList><ActiveCode><![CDATA[CODE2]]></ActiveCode><Type>2</Type><ExpireTime>1690000001</ExpireTime>\
         <UserId><![CDATA[woU2]]></UserId><PreviousStatus>2</PreviousStatus><PreviousActiveCode><![CDATA[OLD2]]></PreviousActiveCode></AccountList></xml>",
    )
    .unwrap();
    let Event::AutoActivate {
        scene,
        accounts,
        auth_corp_id,
        ..
    } = auto
    else {
        panic!("{auto:?}");
    };
    assert_eq!((scene, auth_corp_id.as_str()), (1, "wwcorpA"));
    assert_eq!(accounts.len(), 2);
    assert_eq!(
        (accounts[0].active_code.as_str(), accounts[0].account_type),
        ("CODE1", 1)
    );
    assert_eq!(accounts[1].previous_active_code.as_deref(), Some("OLD2"));
    assert_eq!(accounts[1].expire_time, Some(1690000001));
    // Encrypted for another receive id (a suite's): refused before parsing.
    let err = delivered("wwsuite0001", "<xml><InfoType>license_refund</InfoType></xml>").unwrap_err();
    assert!(matches!(err, Error::Callback { .. }), "{err}");
    // A licence event missing its order: malformed, never a partial event.
    let err = delivered(
        PROVIDER_CORPID,
        "<xml><ServiceCorpId>wwprovider0001</ServiceCorpId><InfoType>license_pay_success</InfoType>\
         <AuthCorpId>wwcorpA</AuthCorpId><TimeStamp>1</TimeStamp></xml>",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Callback { .. }), "{err}");
}

#[test]
fn unlicensed_notify_is_an_app_event_of_the_corp() {
    // 95716: to the app's own URL, for the corp.
    let xml = "<xml><ToUserName><![CDATA[wwcorpA]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
               <CreateTime>1654502003</CreateTime><MsgType><![CDATA[event]]></MsgType>\
               <Event><![CDATA[unlicensed_notify]]></Event><AgentID>1000002</AgentID></xml>";
    let event = Event::parse(xml).unwrap();
    assert_eq!(
        event,
        Event::UnlicensedNotify {
            corpid: "wwcorpA".into(),
            userid: "zhangsan".into(),
            agent_id: Some(1000002),
            create_time: 1654502003,
        }
    );
    assert_eq!(event.info_type(), "unlicensed_notify");
    // Any other app message is kept whole.
    let other = Event::parse(
        "<xml><ToUserName>wwcorpA</ToUserName><MsgType>event</MsgType><Event>enter_agent</Event><AgentID>1</AgentID></xml>",
    )
    .unwrap();
    assert!(
        matches!(&other, Event::App { event: Some(e), corpid: Some(c), .. } if e == "enter_agent" && c == "wwcorpA")
    );
    // The app's crypto is the corp's. The envelope WeCom POSTs names the
    // corp in plaintext: it picks the receiver, whose check proves it.
    let sender = Crypto::new(TOKEN, KEY, "wwcorpA").unwrap();
    let sealed = sender.encrypt(xml, "1654502003", "n").unwrap();
    let encrypted = sealed.split("CDATA[").nth(1).unwrap().split("]]>").next().unwrap();
    let signature = sender.signature("1654502003", "n", encrypted);
    let body = format!(
        "<xml><ToUserName><![CDATA[wwcorpA]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    );
    let corpid = corp_auth::wecom::callback::addressed_corp(&body).unwrap();
    assert_eq!(corpid, "wwcorpA");
    let receiver = Crypto::new(TOKEN, KEY, &corpid).unwrap();
    assert_eq!(
        receiver.decrypt_event(&signature, "1654502003", "n", &body).unwrap(),
        event
    );
    // A forged envelope naming another corp: that corp's receiver refuses it.
    let forged = body.replace("<![CDATA[wwcorpA]]></ToUserName>", "<![CDATA[wwcorpB]]></ToUserName>");
    let other = Crypto::new(
        TOKEN,
        KEY,
        &corp_auth::wecom::callback::addressed_corp(&forged).unwrap(),
    )
    .unwrap();
    let err = other.decrypt_event(&signature, "1654502003", "n", &forged).unwrap_err();
    assert!(matches!(err, Error::Callback { .. }), "{err}");
    assert_eq!(
        corp_auth::wecom::callback::addressed_corp(&sealed),
        None,
        "a 指令回调 envelope names no corp"
    );
}
