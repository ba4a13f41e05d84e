//! The main job, end to end, with no credentials and no network: an
//! in-process mock of both platforms, both endpoints called through the
//! public API, secrets masked, one platform error handled.
//!
//! Run: `cargo run --example quickstart`

use corp_auth::chengxun::types::CorpSecretResponse;
use corp_auth::mock::chengxun::MockServerExt as _;
use corp_auth::mock::wecom::MockServerExt as _;
use corp_auth::{Error, Secret, chengxun, wecom};
use httpmock::MockServer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Stand-ins for https://service.cheng-xun.cn/api and
    // https://qyapi.weixin.qq.com, answering as the vendors' docs show.
    let chengxun_server = MockServer::start_async().await;
    let wecom_server = MockServer::start_async().await;
    chengxun_server.exchange_corp_secret(|when, then| {
        when.corp_id(10001)
            .temp_corp_secret(&"temp-secret-from-the-admin".to_string());
        then.ok(&CorpSecretResponse {
            err_code: 0,
            err_msg: "success".into(),
            corp_secret: Secret::new("3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i"),
        });
    });
    chengxun_server.exchange_corp_secret(|when, then| {
        when.corp_id(10002);
        then.into_inner()
            .status(200)
            .json_body(serde_json::json!({"err_code": 40006, "err_msg": "预授权码过期"}));
    });
    wecom_server.get_auth_info(|when, then| {
        when.suite_access_token(&"suite-access-token".to_string());
        then.ok(&serde_json::from_value(serde_json::json!({
            "errcode": 0, "errmsg": "ok",
            "auth_corp_info": {"corpid": "wwcorp0001", "corp_name": "示例企业", "corp_type": "verified",
                               "corp_user_max": 200, "verified_end_time": 1924876800},
            "auth_info": {"agent": [{"agentid": 1000012, "name": "审批助手", "privilege": {"level": 1}}]}
        }))
        .expect("a valid answer"));
    });

    // 1. 橙讯: exchange the one-time temp_corp_secret for the permanent corp_secret.
    let cx = chengxun::Client::builder()
        .base_url(chengxun_server.base_url())
        .build()?;
    let corp_secret = cx
        .exchange_corp_secret(10001, "corp-authorization-code", "temp-secret-from-the-admin")
        .await?;
    println!(
        "橙讯 corp_secret for corp 10001: {} ({} characters)",
        corp_secret.masked(),
        corp_secret.char_len()
    );
    println!("  Debug never shows it: {corp_secret:?}");

    // 2. 橙讯 answers errors as HTTP 200 with a non-zero err_code.
    match cx
        .exchange_corp_secret(10002, "corp-authorization-code", "an-expired-temp-secret")
        .await
    {
        Err(err @ Error::Platform { .. }) => {
            println!("handled platform error: {err}");
            println!("  code {:?}, retryable: {}", err.code(), err.is_retryable());
        }
        other => panic!("expected a platform error, got {other:?}"),
    }

    // 3. WeCom: read the corp's authorization info with its permanent_code.
    let wc = wecom::Client::builder().base_url(wecom_server.base_url()).build()?;
    let info = wc
        .get_auth_info("suite-access-token", "wwcorp0001", "permanent-code")
        .await?;
    let corp = info.auth_corp_info.as_ref().expect("corp info");
    println!(
        "WeCom corp {} {}: {}, up to {} users",
        corp.corpid.as_deref().unwrap_or("?"),
        corp.corp_name.as_deref().unwrap_or("?"),
        corp.corp_type.as_deref().unwrap_or("?"),
        corp.corp_user_max.unwrap_or_default()
    );
    for agent in info.auth_info.iter().flat_map(|a| &a.agent) {
        let level = agent.privilege.as_ref().and_then(|p| p.level);
        println!(
            "  agent {:?} {:?}, privilege level {level:?}",
            agent.agentid, agent.name
        );
    }
    Ok(())
}
