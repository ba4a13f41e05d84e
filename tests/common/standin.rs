//! A stand-in WeCom on loopback (axum) for the managed-suite tests: it speaks
//! the real request and answer shapes of the token calls and
//! `get_auth_info`, issues a new token per fetch, counts every call, and can
//! be scripted to reject tokens or to stall.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Script {
    pub suite_token_calls: usize,
    pub corp_token_calls: usize,
    pub auth_info_calls: usize,
    pub permanent_code_calls: usize,
    /// expires_in of every token issued (default 7200).
    pub expires_in: Option<i64>,
    /// Stall get_suite_token this long before answering.
    pub suite_token_delay: Duration,
    /// The suite_ticket get_suite_token expects (any when None).
    pub expected_ticket: Option<String>,
    /// Tokens WeCom "rejects" with 42009 on get_auth_info / permanent code.
    pub rejected: HashSet<String>,
    /// Codes get_auth_info answers first, one per call, before succeeding.
    pub auth_info_codes: VecDeque<i64>,
    /// The suite tokens get_auth_info saw, in order.
    pub tokens_seen: Vec<String>,
}

#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    pub script: Arc<Mutex<Script>>,
}

impl StandIn {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/cgi-bin/service/get_suite_token", post(suite_token))
            .route("/cgi-bin/service/get_corp_token", post(corp_token))
            .route("/cgi-bin/service/get_auth_info", post(auth_info))
            .route("/cgi-bin/service/v2/get_permanent_code", post(permanent_code))
            .route("/cgi-bin/service/get_pre_auth_code", get(|| async { Json(json!({})) }))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, script }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().unwrap())
    }
}

type S = State<Arc<Mutex<Script>>>;

async fn suite_token(State(s): S, Json(body): Json<Value>) -> Json<Value> {
    let (n, expires_in, delay, expected) = {
        let mut s = s.lock().unwrap();
        s.suite_token_calls += 1;
        (
            s.suite_token_calls,
            s.expires_in.unwrap_or(7200),
            s.suite_token_delay,
            s.expected_ticket.clone(),
        )
    };
    tokio::time::sleep(delay).await;
    if let Some(expected) = expected
        && body["suite_ticket"] != expected.as_str()
    {
        return Json(json!({"errcode": 40085, "errmsg": "invalid suite_ticket"}));
    }
    Json(
        json!({"errcode": 0, "errmsg": "ok", "suite_access_token": format!("suite-token-{n}"), "expires_in": expires_in}),
    )
}

async fn corp_token(State(s): S, Query(q): Query<Value>, Json(body): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    let token = q["suite_access_token"].as_str().unwrap_or_default().to_string();
    if s.rejected.contains(&token) {
        return Json(json!({"errcode": 42009, "errmsg": "suite_access_token expired"}));
    }
    s.corp_token_calls += 1;
    let corp = body["auth_corpid"].as_str().unwrap_or_default();
    Json(
        json!({"access_token": format!("corp-token-{corp}-{}", s.corp_token_calls), "expires_in": s.expires_in.unwrap_or(7200)}),
    )
}

async fn auth_info(State(s): S, Query(q): Query<Value>, Json(body): Json<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    s.auth_info_calls += 1;
    let token = q["suite_access_token"].as_str().unwrap_or_default().to_string();
    s.tokens_seen.push(token.clone());
    if let Some(code) = s.auth_info_codes.pop_front() {
        return Json(json!({"errcode": code, "errmsg": "scripted"}));
    }
    if s.rejected.contains(&token) {
        return Json(json!({"errcode": 42009, "errmsg": "suite_access_token expired"}));
    }
    Json(json!({"errcode": 0, "errmsg": "ok", "auth_corp_info": {"corpid": body["auth_corpid"]}}))
}

async fn permanent_code(State(s): S, Query(q): Query<Value>) -> Json<Value> {
    let mut s = s.lock().unwrap();
    s.permanent_code_calls += 1;
    let token = q["suite_access_token"].as_str().unwrap_or_default().to_string();
    if s.rejected.contains(&token) {
        return Json(json!({"errcode": 42009, "errmsg": "suite_access_token expired"}));
    }
    Json(
        json!({"errcode": 0, "errmsg": "ok", "permanent_code": "permanent-code-1", "auth_corp_info": {"corpid": "wwcorp0001"}}),
    )
}
