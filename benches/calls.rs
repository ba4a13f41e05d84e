//! Call overhead: this crate's public API vs a hand-written reqwest +
//! serde_json call doing the same request and the same decoding work, on
//! the same reqwest settings, against a minimal keep-alive server on
//! loopback. Sequential calls, and 64 in flight on one client.
//!
//! `cargo bench --bench calls`

mod common;

use std::future::IntoFuture;
use std::time::Duration;

use common::*;
use corp_auth::{chengxun, wecom};
use reqwest::header::USER_AGENT;

const CX_ANSWER: &str = r#"{"err_code": 0, "err_msg": "success", "corp_secret": "3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i"}"#;
const WC_ANSWER: &str = r#"{"errcode":0,"errmsg":"ok","dealer_corp_info":{"corpid":"xxxx","corp_name":"name"},"auth_corp_info":{"corpid":"xxxx","corp_name":"name","corp_type":"verified","corp_square_logo_url":"yyyyy","corp_user_max":50,"corp_agent_max":30,"corp_full_name":"full_name","verified_end_time":1431775834,"subject_type":1,"corp_wxqrcode":"zzzzz","corp_scale":"1-50人","corp_industry":"IT服务","corp_sub_industry":"计算机软件/硬件/信息服务","location":"广东省广州市"},"auth_info":{"agent":[{"agentid":1,"name":"NAME","round_logo_url":"xxxxxx","square_logo_url":"yyyyyy","appid":1,"auth_mode":1,"is_customized_app":false,"auth_from_thirdapp":false,"privilege":{"level":1,"allow_party":[1,2,3],"allow_user":["zhansan","lisi"],"allow_tag":[1,2,3],"extra_party":[4,5,6],"extra_user":["wangwu"],"extra_tag":[4,5,6]},"shared_from":{"corpid":"wwyyyyy","share_type":1}},{"agentid":2,"name":"NAME2","round_logo_url":"xxxxxx","square_logo_url":"yyyyyy","appid":5,"shared_from":{"corpid":"wwyyyyy","share_type":0}}]},"edition_info":{"agent":[{"agentid":1,"edition_id":"RLS65535","edition_name":"协同版","app_status":3,"user_limit":200,"expired_time":1541990791,"is_virtual_version":false,"is_shared_from_other_corp":true}]}}"#;

const AUTHORIZATION: &str = "corp-authorization-0123456789";
const TEMP: &str = "temp-corp-secret-0123456789";
const TOKEN: &str = "suite-access-token-0123456789abcdef0123456789abcdef";
const CORPID: &str = "wwcorp0001";
const CODE: &str = "permanent-code-0123456789abcdef";
const IN_FLIGHT: usize = 64;

/// The reqwest client a careful user would build by hand: the crate's
/// defaults (timeouts, no redirects).
fn baseline_http(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap()
}

async fn baseline_exchange(http: &reqwest::Client, url: &str) -> String {
    let response = http
        .get(url)
        .query(&[
            ("corp_authorization", AUTHORIZATION),
            ("corp_id", "10001"),
            ("temp_corp_secret", TEMP),
        ])
        .header(USER_AGENT, "CX")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let answer: CorpSecretAnswer = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.err_code, 0, "{}", answer.err_msg);
    answer.corp_secret.unwrap()
}

async fn baseline_auth_info(http: &reqwest::Client, url: &str) -> AuthInfoAnswer {
    let response = http
        .post(url)
        .query(&[("suite_access_token", TOKEN)])
        .json(&AuthInfoRequest {
            auth_corpid: CORPID,
            permanent_code: CODE,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let answer: AuthInfoAnswer = serde_json::from_slice(&body).unwrap();
    assert!(matches!(answer.errcode, None | Some(0)));
    answer
}

/// Runs `IN_FLIGHT` calls made by `call` concurrently on `rt` and waits for
/// all of them.
fn in_flight<F, Fut>(rt: &tokio::runtime::Runtime, call: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..IN_FLIGHT {
            set.spawn(call());
        }
        while let Some(done) = set.join_next().await {
            done.unwrap();
        }
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (cx_url, wc_url) = rt.block_on(async { (serve(CX_ANSWER).await, serve(WC_ANSWER).await) });
    println!("call overhead on {} (loopback, keep-alive)", machine());

    let cx = chengxun::Client::builder()
        .base_url(&cx_url)
        .max_concurrent_requests(IN_FLIGHT)
        .build()
        .unwrap();
    let wc = wecom::Client::builder()
        .base_url(&wc_url)
        .max_concurrent_requests(IN_FLIGHT)
        .build()
        .unwrap();
    let cx_http = baseline_http("CX");
    let wc_http = baseline_http(concat!("corp-auth/", env!("CARGO_PKG_VERSION")));
    let cx_endpoint = format!("{cx_url}/corp-service/v1/corp-secrets");
    let wc_endpoint = format!("{wc_url}/cgi-bin/service/get_auth_info");

    let m = ab(
        61,
        200,
        || {
            let secret = rt
                .block_on(cx.exchange_corp_secret(10001, AUTHORIZATION, TEMP).into_future())
                .unwrap();
            assert_eq!(secret.char_len(), 67);
        },
        || {
            assert_eq!(rt.block_on(baseline_exchange(&cx_http, &cx_endpoint)).len(), 67);
        },
    );
    report("chengxun exchange_corp_secret, sequential", &m, 1, 1.05);

    let m = ab(
        61,
        200,
        || {
            let info = rt
                .block_on(wc.get_auth_info(TOKEN, CORPID, CODE).into_future())
                .unwrap();
            assert_eq!(info.auth_info.unwrap().agent.len(), 2);
        },
        || {
            let info = rt.block_on(baseline_auth_info(&wc_http, &wc_endpoint));
            assert_eq!(info.auth_info.unwrap().agent.len(), 2);
        },
    );
    report("wecom get_auth_info, sequential", &m, 1, 1.05);

    // Attribution: the generated progenitor client alone (with the crate's
    // hooks, without validation, secrets, error mapping, retries, tracing).
    let token = corp_auth::Secret::new(TOKEN);
    let body = wecom::types::GetAuthInfoRequest {
        auth_corpid: CORPID.parse().unwrap(),
        permanent_code: corp_auth::Secret::new(CODE),
    };
    let generated = wc.generated();
    let m = ab(
        61,
        200,
        || {
            let info = rt
                .block_on(generated.get_auth_info(&token, &body).into_future())
                .unwrap()
                .into_inner();
            assert_eq!(info.auth_info.unwrap().agent.len(), 2);
        },
        || {
            let info = rt.block_on(baseline_auth_info(&wc_http, &wc_endpoint));
            assert_eq!(info.auth_info.unwrap().agent.len(), 2);
        },
    );
    report("  of which the generated client alone", &m, 1, 1.05);

    let m = ab(
        61,
        10,
        || {
            in_flight(&rt, || {
                let cx = cx.clone();
                async move { cx.exchange_corp_secret(10001, AUTHORIZATION, TEMP).await.unwrap() }
            })
        },
        || {
            in_flight(&rt, || {
                let (http, url) = (cx_http.clone(), cx_endpoint.clone());
                async move { baseline_exchange(&http, &url).await }
            })
        },
    );
    report(
        "chengxun exchange_corp_secret, 64 in flight",
        &m,
        IN_FLIGHT as u32,
        1.05,
    );

    let m = ab(
        61,
        10,
        || {
            in_flight(&rt, || {
                let wc = wc.clone();
                async move { wc.get_auth_info(TOKEN, CORPID, CODE).await.unwrap() }
            })
        },
        || {
            in_flight(&rt, || {
                let (http, url) = (wc_http.clone(), wc_endpoint.clone());
                async move { baseline_auth_info(&http, &url).await }
            })
        },
    );
    report("wecom get_auth_info, 64 in flight", &m, IN_FLIGHT as u32, 1.05);
}
