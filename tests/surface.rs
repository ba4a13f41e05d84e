//! The provider surface ISVs call after the install, generated from
//! `openapi/wecom.yaml` with no hand-written method: provider token and
//! `wecom::Provider`, web login (`getuserinfo3rd`, `getuserdetail3rd`), 代开发
//! `gettoken` and `wecom::Corp`, ID conversion, the admin list, the 代开发
//! install link and the app QR code. Each test asserts the exact request and
//! the decoded official example, against a scripted WeCom on loopback.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::time::Duration;

use common::{Logs, fast_retry};
use corp_auth::wecom::{self, Corp, Provider, Suite, types};
use corp_auth::{Credential, Error, Operation};
use serde_json::{Value, json};
use wecom_standin::StandIn;

const PROVIDER_CORPID: &str = "wwprovider0001";
const PROVIDER_SECRET: &str = "SENTINEL-provider-secret-7a7a";
const SUITE_ID: &str = "wwsuite0001";
const DK_SUITE_ID: &str = "dk0000suite";
const SUITE_SECRET: &str = "SENTINEL-suite-secret-0b0b";
const TICKET: &str = "SENTINEL-suite-ticket-3c3c";
const CORPID: &str = "wwCorpA";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-e1e1";
const OAUTH_CODE: &str = "SENTINEL-oauth-code-8b8b";
const USER_TICKET: &str = "SENTINEL-user-ticket-9c9c";

const PROVIDER_TOKEN: &str = "/cgi-bin/service/get_provider_token";
const CUSTOMIZED_AUTH_URL: &str = "/cgi-bin/service/get_customized_auth_url";
const USERINFO: &str = "/cgi-bin/service/auth/getuserinfo3rd";
const USERDETAIL: &str = "/cgi-bin/service/auth/getuserdetail3rd";
const GETTOKEN: &str = "/cgi-bin/gettoken";
const CORP_TOKEN: &str = "/cgi-bin/service/get_corp_token";
const ADMIN_LIST: &str = "/cgi-bin/agent/get_admin_list";
const TO_OPENUSERID: &str = "/cgi-bin/batch/userid_to_openuserid";
const APP_QRCODE: &str = "/cgi-bin/service/get_app_qrcode";

fn client(standin: &StandIn) -> wecom::Client {
    wecom::Client::builder()
        .base_url(&standin.url)
        .retry(fast_retry())
        .build()
        .unwrap()
}

fn provider(standin: &StandIn) -> Provider {
    Provider::builder(PROVIDER_CORPID, PROVIDER_SECRET)
        .client(client(standin))
        .build()
        .unwrap()
}

async fn suite(standin: &StandIn, suite_id: &str) -> Suite {
    let suite = Suite::builder(suite_id, SUITE_SECRET)
        .client(client(standin))
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(suite.set_suite_ticket(TICKET, now).await.unwrap());
    suite
}

fn invalid_input(err: Error) -> (&'static str, String) {
    match err {
        Error::InvalidInput { parameter, rule } => (parameter, rule),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn q<'a>(seen: &'a wecom_standin::Seen, key: &str) -> Option<&'a str> {
    seen.query.get(key).map(String::as_str)
}

// --- provider token and wecom::Provider ------------------------------------------

#[tokio::test]
async fn get_provider_token_posts_the_provider_secret_and_decodes_the_official_answer() {
    let standin = StandIn::start().await;
    // OFFICIAL 96237: no errcode at all in a success.
    standin.default(
        PROVIDER_TOKEN,
        json!({"provider_access_token": "enLSZ5xxxxxxJRL", "expires_in": 7200}),
    );
    let token = client(&standin)
        .get_provider_token(PROVIDER_CORPID, PROVIDER_SECRET)
        .await
        .unwrap();
    assert_eq!(token.access_token.expose_secret(), "enLSZ5xxxxxxJRL");
    assert_eq!(token.expires_in, Duration::from_secs(7200));
    let seen = standin.seen(PROVIDER_TOKEN);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert!(seen[0].query.is_empty(), "no token in the query: {:?}", seen[0].query);
    assert_eq!(
        seen[0].body,
        json!({"corpid": PROVIDER_CORPID, "provider_secret": PROVIDER_SECRET})
    );
    assert_eq!(
        Operation::GetProviderToken.issues(),
        Some(Credential::ProviderAccessToken)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_callers_fetch_one_provider_token() {
    let standin = StandIn::start().await;
    let provider = provider(&standin);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.provider_access_token().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().expose_secret(), "provider-token-1");
    }
    assert_eq!(standin.seen(PROVIDER_TOKEN).len(), 1);
    let debug = format!("{provider:?}");
    assert!(
        !debug.contains("SENTINEL") && debug.contains(PROVIDER_CORPID),
        "{debug}"
    );
}

#[tokio::test]
async fn get_customized_auth_url_sends_the_provider_token_and_decodes_the_official_answer() {
    let standin = StandIn::start().await;
    // OFFICIAL 98744.
    standin.default(
        CUSTOMIZED_AUTH_URL,
        json!({"errcode": 0, "errmsg": "ok", "qrcode_url": "xxxxx", "expires_in": 864000}),
    );
    let link = provider(&standin)
        .get_customized_auth_url("test", &["dk1".to_string(), "dk2".to_string()])
        .await
        .unwrap();
    assert_eq!(link.qrcode_url, "xxxxx");
    assert_eq!(link.expires_in, 864000);
    let seen = standin.seen(CUSTOMIZED_AUTH_URL);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(q(&seen[0], "provider_access_token"), Some("provider-token-1"));
    assert_eq!(
        seen[0].body,
        json!({"state": "test", "templateid_list": ["dk1", "dk2"]})
    );
}

#[tokio::test]
async fn a_rejected_provider_token_is_refreshed_once_and_the_call_replayed_once() {
    let standin = StandIn::start().await;
    let provider = provider(&standin);
    standin.queue(
        CUSTOMIZED_AUTH_URL,
        [json!({"errcode": 40082, "errmsg": "invalid suite_acccess_token or provider_access_token"})],
    );
    standin.default(
        CUSTOMIZED_AUTH_URL,
        json!({"errcode": 0, "qrcode_url": "https://link", "expires_in": 864000}),
    );
    let link = provider
        .get_customized_auth_url("a1", &["dk1".to_string()])
        .await
        .unwrap();
    assert_eq!(link.qrcode_url, "https://link");
    let calls = standin.seen(CUSTOMIZED_AUTH_URL);
    let tokens: Vec<_> = calls.iter().map(|c| q(c, "provider_access_token").unwrap()).collect();
    assert_eq!(tokens, ["provider-token-1", "provider-token-2"]);
    assert_eq!(standin.seen(PROVIDER_TOKEN).len(), 2);

    // Rejected again and again: one replay, then the error; never a loop.
    standin.queue(
        CUSTOMIZED_AUTH_URL,
        [
            json!({"errcode": 42009, "errmsg": "expired"}),
            json!({"errcode": 42009, "errmsg": "expired"}),
        ],
    );
    let err = provider
        .get_customized_auth_url("a2", &["dk1".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(42009));
    assert_eq!(standin.seen(CUSTOMIZED_AUTH_URL).len(), 4);
}

#[tokio::test]
async fn customized_auth_url_inputs_are_checked_before_anything_is_sent() {
    let standin = StandIn::start().await;
    let provider = provider(&standin);
    let ten: Vec<String> = (0..10).map(|i| format!("dk{i}")).collect();
    let (parameter, rule) = invalid_input(provider.get_customized_auth_url("ok", &ten).await.unwrap_err());
    assert_eq!(
        (parameter, rule.as_str()),
        ("templateid_list", "must have at most 9 items, got 10")
    );
    let (parameter, rule) = invalid_input(provider.get_customized_auth_url("ok", &[]).await.unwrap_err());
    assert_eq!(
        (parameter, rule.as_str()),
        ("templateid_list", "must have at least 1 items, got 0")
    );
    let (parameter, rule) = invalid_input(
        provider
            .get_customized_auth_url("not-allowed!", &["dk1".to_string()])
            .await
            .unwrap_err(),
    );
    assert_eq!(parameter, "state");
    assert!(rule.contains("^[a-zA-Z0-9]*$"), "{rule}");
    let long = "a".repeat(33);
    let (parameter, rule) = invalid_input(
        provider
            .get_customized_auth_url(&long, &["dk1".to_string()])
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (parameter, rule.as_str()),
        ("state", "must be at most 32 characters, got 33")
    );
    // Nothing reached WeCom: not even the provider token was fetched.
    assert!(standin.state.lock().unwrap().seen.is_empty());
}

// --- web login ---------------------------------------------------------------------

#[tokio::test]
async fn getuserinfo3rd_is_a_get_on_the_auth_path_and_decodes_both_official_shapes() {
    let standin = StandIn::start().await;
    let wc = client(&standin);
    // OFFICIAL 91121, a member of a corp.
    standin.queue(
        USERINFO,
        [
            json!({"errcode": 0, "errmsg": "ok", "corpid": "CORPID", "userid": "USERID",
                "user_ticket": "USER_TICKET", "expires_in": 7200, "open_userid": "wwxxxx"}),
        ],
    );
    let member = wc.getuserinfo3rd("suite-token", OAUTH_CODE).await.unwrap();
    let types::UserInfo3rd::Member(member) = member else {
        panic!("a member: {member:?}")
    };
    assert_eq!((member.corpid.as_str(), member.userid.as_str()), ("CORPID", "USERID"));
    assert_eq!(member.user_ticket.as_ref().unwrap().expose_secret(), "USER_TICKET");
    assert_eq!(member.expires_in, Some(7200));
    assert_eq!(member.open_userid.as_deref(), Some("wwxxxx"));
    assert!(!format!("{member:?}").contains("USER_TICKET"), "the ticket is a secret");
    // OFFICIAL 91121, a WeChat user outside any corp.
    standin.queue(USERINFO, [json!({"errcode": 0, "errmsg": "ok", "openid": "OPENID"})]);
    let outsider = wc.getuserinfo3rd("suite-token", OAUTH_CODE).await.unwrap();
    let types::UserInfo3rd::Outsider(outsider) = outsider else {
        panic!("an outsider: {outsider:?}")
    };
    assert_eq!(outsider.openid, "OPENID");
    let seen = standin.seen(USERINFO);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(q(&seen[0], "suite_access_token"), Some("suite-token"));
    assert_eq!(q(&seen[0], "code"), Some(OAUTH_CODE));
    assert_eq!(seen[0].body, Value::Null);
}

#[tokio::test]
async fn a_legacy_camel_case_answer_is_a_decode_error_not_an_empty_success() {
    let standin = StandIn::start().await;
    // The legacy /cgi-bin/service/getuserinfo3rd answered CorpId/UserId; a
    // case-sensitive decoder must not read it as a success without ids.
    standin.default(
        USERINFO,
        json!({"errcode": 0, "errmsg": "ok", "CorpId": "CORPID", "UserId": "USERID", "DeviceId": "D", "user_ticket": "T", "expires_in": 7200}),
    );
    let err = client(&standin)
        .getuserinfo3rd("suite-token", OAUTH_CODE)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                operation: Operation::Getuserinfo3rd,
                ..
            }
        ),
        "{err:?}"
    );
    // One-shot: an undecodable answer may mean the code was spent.
    assert!(err.request_may_have_been_processed());
    assert!(err.to_string().contains("the code may have been consumed"), "{err}");
    assert_eq!(standin.seen(USERINFO).len(), 1);
}

#[tokio::test]
async fn the_login_code_is_never_replayed_even_after_a_token_rejection() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, SUITE_ID).await;
    standin.queue(
        USERINFO,
        [json!({"errcode": 42009, "errmsg": "suite_access_token expired"})],
    );
    let err = suite.getuserinfo3rd(OAUTH_CODE).await.unwrap_err();
    assert_eq!(err.code(), Some(42009));
    assert_eq!(standin.seen(USERINFO).len(), 1, "never sent twice");
    // WeCom does not say whether a rejected call spent the code: treated as
    // spent, unlike the permanent code (spec: kept-on-credential-rejection).
    assert!(err.request_may_have_been_processed());
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("treats it as spent"), "{text}");
    assert!(!text.contains(OAUTH_CODE));
    // The rejected token was dropped: the next call uses a fresh one.
    standin.queue(USERINFO, [json!({"errcode": 0, "openid": "o1"})]);
    suite.getuserinfo3rd(OAUTH_CODE).await.unwrap();
    let tokens: Vec<_> = standin
        .seen(USERINFO)
        .iter()
        .map(|s| q(s, "suite_access_token").unwrap().to_string())
        .collect();
    assert_eq!(tokens, ["suite-token-1", "suite-token-2"]);
    // And an invalid code is the catalog's 40029.
    standin.queue(USERINFO, [json!({"errcode": 40029, "errmsg": "invalid code"})]);
    let err = suite.getuserinfo3rd(OAUTH_CODE).await.unwrap_err();
    assert!(err.to_string().contains("不合法的oauth_code"), "{err}");
}

#[tokio::test]
async fn getuserdetail3rd_posts_the_user_ticket_and_decodes_the_official_answer() {
    let standin = StandIn::start().await;
    // OFFICIAL 91122.
    standin.queue(
        USERDETAIL,
        [
            json!({"errcode": 0, "errmsg": "ok", "corpid": "wwxxxxxxyyyyy", "userid": "lisi", "name": "李四",
                "gender": "1", "avatar": "http://shp.qpic.cn/bizmp/xxxxxxxxxxx/0",
                "qr_code": "https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=vcfc13b01dfs78e981c"}),
        ],
    );
    let suite = suite(&standin, SUITE_ID).await;
    let detail = suite.getuserdetail3rd(USER_TICKET).await.unwrap();
    assert_eq!(
        (detail.corpid.as_str(), detail.userid.as_str()),
        ("wwxxxxxxyyyyy", "lisi")
    );
    assert_eq!(detail.name.as_deref(), Some("李四"));
    assert_eq!(detail.gender.as_deref(), Some("1"));
    let seen = standin.seen(USERDETAIL);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(q(&seen[0], "suite_access_token"), Some("suite-token-1"));
    assert_eq!(seen[0].body, json!({"user_ticket": USER_TICKET}));
    // 84014: the ticket expired; the catalog says so, the ticket never shows.
    standin.queue(USERDETAIL, [json!({"errcode": 84014, "errmsg": "user ticket expired"})]);
    let err = suite.getuserdetail3rd(USER_TICKET).await.unwrap_err();
    assert_eq!(err.code(), Some(84014));
    assert!(err.to_string().contains("成员票据过期"), "{err}");
    assert!(!err.is_retryable());
}

// --- corps: 代开发 gettoken and the corp-token operations ----------------------------

#[tokio::test]
async fn a_customized_app_corp_gets_its_token_from_gettoken_with_the_permanent_code() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, DK_SUITE_ID).await;
    assert!(suite.is_customized());
    let corp: Corp = suite.corp(CORPID, PERMANENT_CODE);
    let token = corp.access_token().await.unwrap();
    assert_eq!(token.expose_secret(), "dk-corp-token-1");
    let seen = standin.seen(GETTOKEN);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(q(&seen[0], "corpid"), Some(CORPID), "corpid keeps its case");
    assert_eq!(q(&seen[0], "corpsecret"), Some(PERMANENT_CODE));
    assert!(
        standin.seen(CORP_TOKEN).is_empty(),
        "never get_corp_token for a 代开发 app"
    );
    // Cached: a second ask fetches nothing.
    assert_eq!(corp.access_token().await.unwrap().expose_secret(), "dk-corp-token-1");
    assert_eq!(standin.seen(GETTOKEN).len(), 1);
    assert!(!format!("{corp:?}").contains("SENTINEL"), "{corp:?}");
}

#[tokio::test]
async fn gettoken_errors_never_show_the_corpsecret() {
    let standin = StandIn::start().await;
    standin.default(
        GETTOKEN,
        json!({"errcode": 40001, "errmsg": format!("invalid credential, corpsecret={PERMANENT_CODE} hint: [x]")}),
    );
    let logs = Logs::capture();
    let err = client(&standin).gettoken(CORPID, PERMANENT_CODE).await.unwrap_err();
    assert_eq!(err.code(), Some(40001));
    let text = format!("{err} {err:?}");
    assert!(!text.contains(PERMANENT_CODE), "{text}");
    assert!(!logs.text().contains(PERMANENT_CODE), "{}", logs.text());
}

#[tokio::test]
async fn get_admin_list_posts_an_empty_object_with_the_corp_token() {
    let standin = StandIn::start().await;
    // OFFICIAL 100072.
    standin.default(
        ADMIN_LIST,
        json!({"errcode": 0, "errmsg": "ok", "admin": [{"userid": "woxxxx", "auth_type": 1}, {"userid": "woxxxx", "auth_type": 0}]}),
    );
    let suite = suite(&standin, SUITE_ID).await;
    let admins = suite.corp(CORPID, PERMANENT_CODE).get_admin_list().await.unwrap();
    let got: Vec<_> = admins
        .admin
        .iter()
        .map(|a| (a.userid.as_deref().unwrap(), a.auth_type.unwrap()))
        .collect();
    assert_eq!(got, [("woxxxx", 1), ("woxxxx", 0)]);
    let seen = standin.seen(ADMIN_LIST);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(q(&seen[0], "access_token"), Some("corp-token-1"));
    assert_eq!(seen[0].body, json!({}));
    // The corp token came from get_corp_token, with the suite token.
    let corp_token = standin.seen(CORP_TOKEN);
    assert_eq!(q(&corp_token[0], "suite_access_token"), Some("suite-token-1"));
    assert_eq!(
        corp_token[0].body,
        json!({"auth_corpid": CORPID, "permanent_code": PERMANENT_CODE})
    );
    // 成员授权: no admin list at all is an empty list, not an error.
    standin.default(ADMIN_LIST, json!({"errcode": 0, "errmsg": "ok"}));
    let none = client(&standin).get_admin_list("corp-token").await.unwrap();
    assert!(none.admin.is_empty());
}

#[tokio::test]
async fn a_rejected_corp_token_is_dropped_refreshed_and_the_call_replayed_once() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, SUITE_ID).await;
    let corp = suite.corp(CORPID, PERMANENT_CODE);
    standin.queue(
        ADMIN_LIST,
        [json!({"errcode": 42001, "errmsg": "access_token expired"})],
    );
    corp.get_admin_list().await.unwrap();
    let tokens: Vec<_> = standin
        .seen(ADMIN_LIST)
        .iter()
        .map(|s| q(s, "access_token").unwrap().to_string())
        .collect();
    assert_eq!(tokens, ["corp-token-1", "corp-token-2"]);
    assert_eq!(standin.seen(CORP_TOKEN).len(), 2);
    assert_eq!(corp.access_token().await.unwrap().expose_secret(), "corp-token-2");
}

#[tokio::test]
async fn userid_to_openuserid_returns_the_partial_success_of_the_official_example() {
    let standin = StandIn::start().await;
    // OFFICIAL 97062: errmsg is empty on success.
    standin.default(
        TO_OPENUSERID,
        json!({"errcode": 0, "errmsg": "", "open_userid_list": [{"userid": "aaa", "open_userid": "xxxxx"}], "invalid_userid_list": ["bbb"]}),
    );
    let suite = suite(&standin, SUITE_ID).await;
    let ids = suite
        .corp(CORPID, PERMANENT_CODE)
        .userid_to_openuserid(&["aaa".to_string(), "bbb".to_string()])
        .await
        .unwrap();
    assert_eq!(ids.open_userid_list[0].userid.as_deref(), Some("aaa"));
    assert_eq!(ids.open_userid_list[0].open_userid.as_deref(), Some("xxxxx"));
    assert_eq!(ids.invalid_userid_list, ["bbb"]);
    let seen = standin.seen(TO_OPENUSERID);
    assert_eq!(seen[0].body, json!({"userid_list": ["aaa", "bbb"]}));
}

#[tokio::test]
async fn userid_to_openuserid_checks_the_count_and_never_retries_a_non_transient_error() {
    let standin = StandIn::start().await;
    let wc = client(&standin);
    let many: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    let (parameter, rule) = invalid_input(wc.userid_to_openuserid("corp-token", &many).await.unwrap_err());
    assert_eq!(
        (parameter, rule.as_str()),
        ("userid_list", "must have at most 1000 items, got 1001")
    );
    assert!(standin.seen(TO_OPENUSERID).is_empty());
    // A non-transient error counts toward WeCom's one-day block: sent once.
    standin.queue(TO_OPENUSERID, [json!({"errcode": 40003, "errmsg": "invalid userid"})]);
    let err = wc
        .userid_to_openuserid("corp-token", &["x".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(40003));
    assert_eq!(standin.seen(TO_OPENUSERID).len(), 1);
    // A busy WeCom (-1) is transient: retried per the policy (3 attempts).
    standin.queue(TO_OPENUSERID, vec![json!({"errcode": -1, "errmsg": "system busy"}); 3]);
    let err = wc
        .userid_to_openuserid("corp-token", &["x".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-1));
    assert_eq!(standin.seen(TO_OPENUSERID).len(), 4);
}

// --- app QR code -------------------------------------------------------------------

#[tokio::test]
async fn get_app_qrcode_always_asks_for_the_url_and_leaves_out_unset_options() {
    let standin = StandIn::start().await;
    // OFFICIAL 95430 (result_type 2).
    standin.default(APP_QRCODE, json!({"errcode": 0, "errmsg": "ok", "qrcode": "xxxxx"}));
    let suite = suite(&standin, SUITE_ID).await;
    let qr = suite.get_app_qrcode(SUITE_ID).await.unwrap();
    assert_eq!(qr.qrcode, "xxxxx");
    let qr = suite
        .get_app_qrcode(SUITE_ID)
        .appid(1)
        .state("test")
        .style(0)
        .await
        .unwrap();
    assert_eq!(qr.qrcode, "xxxxx");
    let seen = standin.seen(APP_QRCODE);
    assert_eq!(seen[0].body, json!({"suite_id": SUITE_ID, "result_type": 2}));
    assert_eq!(
        seen[1].body,
        json!({"suite_id": SUITE_ID, "appid": 1, "state": "test", "style": 0, "result_type": 2})
    );
    let (parameter, _) = invalid_input(suite.get_app_qrcode(SUITE_ID).state("渠道").await.unwrap_err());
    assert_eq!(parameter, "state");
}

// --- redaction keys come from the spec ---------------------------------------------

#[tokio::test]
async fn server_text_is_masked_after_every_secret_name_of_the_spec() {
    let standin = StandIn::start().await;
    // Values the call did not send: only the key net can catch them.
    standin.default(
        ADMIN_LIST,
        json!({"errcode": 40014, "errmsg": "bad pre_auth_code=AAA1 auth_code: BBB2 provider_secret=CCC3 user_ticket=DDD4 suite_secret=EEE5 errcode=40014"}),
    );
    let err = client(&standin).get_admin_list("corp-token").await.unwrap_err();
    let text = err.to_string();
    for leaked in ["AAA1", "BBB2", "CCC3", "DDD4", "EEE5"] {
        assert!(!text.contains(leaked), "{leaked} in {text}");
    }
    // A key inside a longer name is not a key: errcode keeps its number.
    assert!(text.contains("errcode=40014"), "{text}");
}

#[test]
fn the_public_corp_token_codes_are_the_specs() {
    // `wecom::CORP_TOKEN_REJECTED` predates `x-credentials`; it must say what
    // the spec says.
    assert_eq!(wecom::CORP_TOKEN_REJECTED, Credential::AccessToken.rejected_codes());
    assert_eq!(Operation::GetAdminList.credential(), Some(Credential::AccessToken));
    assert_eq!(
        Operation::GetCustomizedAuthUrl.credential(),
        Some(Credential::ProviderAccessToken)
    );
    assert_eq!(
        Operation::Getuserinfo3rd.credential(),
        Some(Credential::SuiteAccessToken)
    );
    assert_eq!(Operation::Gettoken.credential(), None);
    assert_eq!(Operation::Gettoken.issues(), Some(Credential::AccessToken));
}
