//! The whole WeCom provider flow, end to end, with no credentials and no
//! network beyond loopback — then the 橙讯 exchange.
//!
//! An in-process stand-in WeCom (axum) speaks the real request and answer
//! shapes and encrypts its callbacks with the real scheme (WXBizMsgCrypt).
//! The ISV side is what you write: a callback endpoint and an install
//! redirect endpoint, around a managed `wecom::Suite`.
//!
//! Run: `cargo run --example quickstart`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use corp_auth::chengxun::types::CorpSecretResponse;
use corp_auth::mock::chengxun::MockServerExt as _;
use corp_auth::wecom::callback::{Crypto, Event};
use corp_auth::wecom::{self, AuthType, Suite};
use corp_auth::{Error, Secret, chengxun, store};
use serde_json::{Value, json};

const SUITE_ID: &str = "wwsuite0001";
const SUITE_SECRET: &str = "suite-secret-from-the-console";
const CALLBACK_TOKEN: &str = "callbackToken01";
const ENCODING_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const CORPID: &str = "wwcorp0001";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------
// The stand-in WeCom: qyapi.weixin.qq.com and open.work.weixin.qq.com.

#[derive(Default)]
struct WeCom {
    ticket: String,
    ticket_fetches: usize,
    auth_codes: HashMap<String, ()>,
}

type WeComState = Arc<Mutex<WeCom>>;

async fn wecom_suite_token(State(w): State<WeComState>, Json(body): Json<Value>) -> Json<Value> {
    let ticket = w.lock().unwrap().ticket.clone();
    if body["suite_id"] != SUITE_ID || body["suite_secret"] != SUITE_SECRET || body["suite_ticket"] != ticket.as_str() {
        return Json(json!({"errcode": 40085, "errmsg": "invalid suite_ticket"}));
    }
    Json(
        json!({"errcode": 0, "errmsg": "ok", "suite_access_token": "suite-token-61W3mEpU66027wgNZ_MhGHNQ", "expires_in": 7200}),
    )
}

async fn wecom_pre_auth_code() -> Json<Value> {
    Json(
        json!({"errcode": 0, "errmsg": "ok", "pre_auth_code": "pre-auth-Cx_Dk6qiBE0Dmx4EmlT3oRfArPv", "expires_in": 1200}),
    )
}

async fn wecom_ok() -> Json<Value> {
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// The install page: the admin authorizes, WeCom redirects with an auth_code.
async fn wecom_install(State(w): State<WeComState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let code = format!("auth-code-{}", "a".repeat(60));
    w.lock().unwrap().auth_codes.insert(code.clone(), ());
    let location = format!(
        "{}?auth_code={code}&expires_in=600&state={}",
        q["redirect_uri"], q["state"]
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn wecom_permanent_code(State(w): State<WeComState>, Json(body): Json<Value>) -> Json<Value> {
    let code = body["auth_code"].as_str().unwrap_or_default();
    if w.lock().unwrap().auth_codes.remove(code).is_none() {
        return Json(json!({"errcode": 40078, "errmsg": "invalid auth_code"}));
    }
    Json(
        json!({"errcode": 0, "errmsg": "ok", "permanent_code": "permanent-code-xKq29dTq7vQ0P3",
        "auth_corp_info": {"corpid": CORPID, "corp_name": "示例企业"},
        "auth_user_info": {"userid": "zhangsan", "name": "张三"}, "state": "a1b2c3"}),
    )
}

async fn wecom_auth_info() -> Json<Value> {
    Json(json!({"errcode": 0, "errmsg": "ok",
        "auth_corp_info": {"corpid": CORPID, "corp_name": "示例企业", "corp_type": "verified", "corp_user_max": 200},
        "auth_info": {"agent": [{"agentid": 1000012, "name": "审批助手", "privilege": {"level": 1}}]}}))
}

async fn wecom_corp_token() -> Json<Value> {
    Json(json!({"access_token": "corp-token-accessTok3n0000", "expires_in": 7200}))
}

/// The corp's own API, with the corp token: a contacts read.
async fn wecom_user_get(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    if q.get("access_token").map(String::as_str) != Some("corp-token-accessTok3n0000") {
        return Json(json!({"errcode": 41001, "errmsg": "access_token missing"}));
    }
    Json(
        json!({"errcode": 0, "errmsg": "ok", "userid": q["userid"], "name": q["userid"],
        "department": [1], "open_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "status": 1}),
    )
}

/// The JS-SDK ticket of the corp (fetched once, then cached by the suite).
const JSAPI_TICKET: &str = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";

async fn wecom_jsapi_ticket(State(w): State<WeComState>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    if q.get("access_token").map(String::as_str) != Some("corp-token-accessTok3n0000") {
        return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
    }
    w.lock().unwrap().ticket_fetches += 1;
    Json(json!({"errcode": 0, "errmsg": "ok", "ticket": JSAPI_TICKET, "expires_in": 7200}))
}

/// WeCom pushing an event to the ISV's callback URL, encrypted and signed.
async fn push(callback_url: &str, event_xml: &str) {
    let crypto = Crypto::new(CALLBACK_TOKEN, ENCODING_AES_KEY, SUITE_ID).unwrap();
    let (timestamp, nonce) = (now().to_string(), "1372623149");
    let body = crypto.encrypt(event_xml, &timestamp, nonce).unwrap();
    let signature = body
        .split("<MsgSignature><![CDATA[")
        .nth(1)
        .unwrap()
        .split("]]>")
        .next()
        .unwrap();
    let answer = reqwest::Client::new()
        .post(format!(
            "{callback_url}?msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"
        ))
        .body(format!(
            "<xml><ToUserName><![CDATA[{SUITE_ID}]]></ToUserName>{}<AgentID></AgentID></xml>",
            body.split("<MsgSignature>").next().unwrap().trim_start_matches("<xml>")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "success", "the ISV answers `success`");
}

// ---------------------------------------------------------------------------
// The ISV: a callback endpoint and an install redirect endpoint.

struct Isv {
    suite: Suite,
    crypto: Crypto,
    /// The `state` values issued with install links (CSRF defence).
    issued_states: Mutex<Vec<String>>,
    permanent_codes: Mutex<HashMap<String, Secret>>,
}

async fn isv_callback(
    State(isv): State<Arc<Isv>>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Result<&'static str, (StatusCode, String)> {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let event = isv
        .crypto
        .decrypt_event(param("msg_signature"), param("timestamp"), param("nonce"), &body)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    match &event {
        Event::SuiteTicket { timestamp, .. } => {
            let stored = isv
                .suite
                .handle_event(&event)
                .await
                .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            println!("   callback suite_ticket (TimeStamp {timestamp}): stored = {stored}");
        }
        Event::ChangeAuth { auth_corp_id, .. } => {
            println!("   callback change_auth for {auth_corp_id}: read get_auth_info again")
        }
        Event::CancelAuth { auth_corp_id, .. } => {
            isv.permanent_codes.lock().unwrap().remove(auth_corp_id);
            println!("   callback cancel_auth for {auth_corp_id}: its permanent_code is deleted");
        }
        other => println!("   callback {}: recorded", other.info_type()),
    }
    Ok("success")
}

async fn isv_installed(
    State(isv): State<Arc<Isv>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<String, (StatusCode, String)> {
    let state = q.get("state").cloned().unwrap_or_default();
    if !isv.issued_states.lock().unwrap().contains(&state) {
        return Err((StatusCode::FORBIDDEN, "unknown state: not an install we started".into()));
    }
    let auth_code = q.get("auth_code").cloned().unwrap_or_default();
    // One-shot: exchanged exactly once; never retried on an ambiguous failure.
    let install = isv
        .suite
        .get_permanent_code_v2(&auth_code)
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    let corp = install.auth_corp_info.unwrap_or_default();
    let corpid = corp.corpid.unwrap_or_default();
    println!(
        "   install redirect: state {state} checked; permanent_code for {corpid} {} saved ({})",
        corp.corp_name.as_deref().unwrap_or(""),
        install.permanent_code.masked()
    );
    isv.permanent_codes
        .lock()
        .unwrap()
        .insert(corpid.clone(), install.permanent_code);
    Ok(format!("installed for {corpid}"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The stand-in WeCom.
    let wecom_state = WeComState::default();
    let wecom_url = serve(
        Router::new()
            .route("/cgi-bin/service/get_suite_token", post(wecom_suite_token))
            .route("/cgi-bin/service/get_pre_auth_code", get(wecom_pre_auth_code))
            .route("/cgi-bin/service/set_session_info", post(wecom_ok))
            .route("/cgi-bin/service/v2/get_permanent_code", post(wecom_permanent_code))
            .route("/cgi-bin/service/v2/get_auth_info", post(wecom_auth_info))
            .route("/cgi-bin/service/get_corp_token", post(wecom_corp_token))
            .route("/cgi-bin/user/get", get(wecom_user_get))
            .route("/cgi-bin/get_jsapi_ticket", get(wecom_jsapi_ticket))
            .route("/3rdapp/install", get(wecom_install))
            .with_state(wecom_state.clone()),
    )
    .await;

    // The ISV: a managed suite (store::Redis in production), its callback
    // crypto, and its two endpoints.
    let suite = Suite::builder(SUITE_ID, SUITE_SECRET)
        .client(wecom::Client::builder().base_url(&wecom_url).build()?)
        .store(store::Memory::new())
        .build()?;
    let isv = Arc::new(Isv {
        suite: suite.clone(),
        crypto: Crypto::new(CALLBACK_TOKEN, ENCODING_AES_KEY, SUITE_ID)?,
        issued_states: Mutex::default(),
        permanent_codes: Mutex::default(),
    });
    let isv_url = serve(
        Router::new()
            .route("/wecom/callback", post(isv_callback))
            .route("/wecom/installed", get(isv_installed))
            .with_state(isv.clone()),
    )
    .await;
    let callback_url = format!("{isv_url}/wecom/callback");
    println!("stand-in WeCom at {wecom_url}; the ISV at {isv_url}\n");

    println!("1. WeCom pushes a suite_ticket to the callback URL (every ~10 minutes)");
    let ticket = "ticket-Cfp0_givEagXcYJIztF6sfbdmIZCmpaR8";
    wecom_state.lock().unwrap().ticket = ticket.into();
    push(&callback_url, &format!("<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{}</TimeStamp><SuiteTicket><![CDATA[{ticket}]]></SuiteTicket></xml>", now())).await;

    println!("2. the suite gets its suite_access_token with the ticket (cached, single-flight)");
    let token = suite.suite_access_token().await?;
    println!("   suite_access_token {}", token.masked());

    println!("3. an install link: pre-auth code, test authorization, state");
    let pre = suite.client().get_pre_auth_code(token.expose_secret()).await?;
    suite
        .client()
        .set_session_info(token.expose_secret(), pre.pre_auth_code.expose_secret(), AuthType::Test)
        .await?;
    let state = "a1b2c3";
    isv.issued_states.lock().unwrap().push(state.into());
    let link = wecom::install_url(
        SUITE_ID,
        pre.pre_auth_code.expose_secret(),
        &format!("{isv_url}/wecom/installed"),
        state,
    )?;
    println!(
        "   pre_auth_code {} (valid {} s); the link carries it to the admin's browser",
        pre.pre_auth_code.masked(),
        pre.expires_in.as_secs()
    );
    // The stand-in plays open.work.weixin.qq.com.
    let link = link.replacen("https://open.work.weixin.qq.com", &wecom_url, 1);

    println!("4. the admin installs; WeCom redirects back with an auth_code");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = browser.get(&link).send().await.unwrap();
    let back_to_isv = redirect.headers()[header::LOCATION].to_str().unwrap().to_string();
    let page = browser.get(&back_to_isv).send().await.unwrap().text().await.unwrap();
    println!("   the ISV's page says: {page}");
    let forged = browser
        .get(format!("{isv_url}/wecom/installed?auth_code=x&state=forged"))
        .send()
        .await
        .unwrap();
    println!(
        "   a redirect with a state we never issued: HTTP {}",
        forged.status().as_u16()
    );
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "the CSRF check refuses it");
    assert_eq!(page, format!("installed for {CORPID}"));

    println!("5. the corp's authorization info (get_auth_info v2)");
    let code = isv.permanent_codes.lock().unwrap()[CORPID].clone();
    let info = suite.get_auth_info_v2(CORPID, code.expose_secret()).await?;
    let corp = info.auth_corp_info.unwrap_or_default();
    println!(
        "   {} {}: {}, up to {} users",
        corp.corpid.unwrap_or_default(),
        corp.corp_name.unwrap_or_default(),
        corp.corp_type.unwrap_or_default(),
        corp.corp_user_max.unwrap_or_default()
    );
    for agent in info.auth_info.map(|a| a.agent).unwrap_or_default() {
        let level = agent.privilege.and_then(|p| p.level).unwrap_or_default();
        println!(
            "   agent {} {}, privilege level {level}",
            agent.agentid.unwrap_or_default(),
            agent.name.unwrap_or_default()
        );
    }

    println!("6. a corp access_token for the corp APIs (cached per corp)");
    let corp_token = suite.corp_access_token(CORPID, code.expose_secret()).await?;
    println!("   corp access_token {}", corp_token.masked());

    println!("7. after the install: the corp's own API on the managed corp token");
    let corp = suite.corp(CORPID, code.expose_secret());
    let user = corp.get_user("zhangsan").await?;
    println!(
        "   get_user: {} (open_userid {}; a third-party app sees the userid as the name)",
        user.userid,
        user.open_userid.unwrap_or_default()
    );
    let url = "https://isv.example/h5/index.html?from=menu#/detail";
    let page = corp.js_sign(url).await?;
    println!(
        "   the page's ww.register signature: timestamp {}, nonceStr {}, signature {}",
        page.timestamp, page.nonce_str, page.signature
    );
    // What WeCom's JS-SDK checks in the browser: the same algorithm over the
    // ticket, the nonce, the timestamp and the URL without its #fragment.
    assert_eq!(
        page.signature,
        wecom::jssdk::sign(JSAPI_TICKET, &page.nonce_str, page.timestamp, url)
    );
    let again = corp.js_sign(url).await?;
    assert_ne!(again.nonce_str, page.nonce_str);
    let fetches = wecom_state.lock().unwrap().ticket_fetches;
    println!("   two signatures, {fetches} ticket fetch (cached per suite and corp, under its corp token)");
    assert_eq!(fetches, 1);

    println!("8. the corp changes, then cancels the authorization");
    push(&callback_url, &format!("<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[change_auth]]></InfoType><TimeStamp>{}</TimeStamp><AuthCorpId><![CDATA[{CORPID}]]></AuthCorpId></xml>", now())).await;
    push(&callback_url, &format!("<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>{}</TimeStamp><AuthCorpId><![CDATA[{CORPID}]]></AuthCorpId></xml>", now())).await;

    assert!(
        isv.permanent_codes.lock().unwrap().is_empty(),
        "cancel_auth removed the corp"
    );

    println!("\n橙讯: exchange the one-time temp_corp_secret for the permanent corp_secret");
    let chengxun_server = httpmock::MockServer::start_async().await;
    chengxun_server.exchange_corp_secret(|when, then| {
        when.corp_id(10001)
            .temp_corp_secret(&"temp-secret-from-the-admin".to_string());
        // Answer types are #[non_exhaustive]: a mock answer is built from JSON.
        let answer: CorpSecretResponse = serde_json::from_value(json!({
            "err_code": 0,
            "err_msg": "success",
            "corp_secret": "3y50kdq9CdS9ROO4_p6B7Y6je771Dml4d_c9AVYkxZt6V9BqL3_TyG99H9681kCkf2i",
        }))
        .unwrap();
        then.ok(&answer);
    });
    chengxun_server.exchange_corp_secret(|when, then| {
        when.corp_id(10002);
        then.into_inner()
            .status(200)
            .json_body(json!({"err_code": 40006, "err_msg": "预授权码过期"}));
    });
    let cx = chengxun::Client::builder()
        .base_url(chengxun_server.base_url())
        .build()?;
    let corp_secret = cx
        .exchange_corp_secret(10001, "corp-authorization-code", "temp-secret-from-the-admin")
        .await?;
    println!(
        "   corp_secret for corp 10001: {} ({} characters; printed masked)",
        corp_secret.masked(),
        corp_secret.char_len()
    );
    match cx
        .exchange_corp_secret(10002, "corp-authorization-code", "an-expired-temp-secret")
        .await
    {
        Err(err @ Error::Platform { .. }) => {
            println!("   an expired temp secret: {err}");
            println!(
                "   retryable: {}; may have been processed: {}",
                err.is_retryable(),
                err.request_may_have_been_processed()
            );
        }
        other => panic!("expected a platform error, got {other:?}"),
    }
    println!("\ndone: every secret above is masked; none was printed in full.");
    Ok(())
}
