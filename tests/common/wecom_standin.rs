//! A scripted WeCom on loopback for the generated facade's tests: every
//! request is recorded (method, path, query, JSON body), and each path
//! answers from its own queue of scripted answers, then with its default.
//! Token-issuing paths mint a new token per call.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// One request as WeCom would see it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Value,
}

#[derive(Default)]
pub struct Wecom {
    pub seen: Vec<Seen>,
    /// path → answers to give first, in order.
    pub queued: HashMap<String, VecDeque<Value>>,
    /// path → answer once the queue is empty.
    pub default: HashMap<String, Value>,
    /// Tokens minted so far, per token path.
    pub minted: HashMap<String, usize>,
    /// path → how long to hold each request before answering.
    pub delay: HashMap<String, std::time::Duration>,
}

#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    pub state: Arc<Mutex<Wecom>>,
}

/// Paths that issue a token, and the answer key it goes under.
const TOKEN_PATHS: &[(&str, &str, &str)] = &[
    (
        "/cgi-bin/service/get_provider_token",
        "provider_access_token",
        "provider-token",
    ),
    ("/cgi-bin/service/get_suite_token", "suite_access_token", "suite-token"),
    ("/cgi-bin/service/get_corp_token", "access_token", "corp-token"),
    ("/cgi-bin/gettoken", "access_token", "dk-corp-token"),
    ("/cgi-bin/get_jsapi_ticket", "ticket", "jsapi-ticket"),
    ("/cgi-bin/ticket/get", "ticket", "agent-ticket"),
];

impl StandIn {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Wecom::default()));
        let app = Router::new().fallback(answer).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Answers `path` with `answers` first, in order.
    pub fn queue(&self, path: &str, answers: impl IntoIterator<Item = Value>) {
        let mut s = self.state.lock().unwrap();
        s.queued.entry(path.to_string()).or_default().extend(answers);
    }

    /// Answers `path` with `answer` once its queue is empty.
    pub fn default(&self, path: &str, answer: Value) {
        self.state.lock().unwrap().default.insert(path.to_string(), answer);
    }

    /// Holds every request to `path` this long before answering.
    pub fn delay(&self, path: &str, delay: std::time::Duration) {
        self.state.lock().unwrap().delay.insert(path.to_string(), delay);
    }

    /// The requests to `path`, in order.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let s = self.state.lock().unwrap();
        s.seen.iter().filter(|r| r.path == path).cloned().collect()
    }
}

async fn answer(State(state): State<Arc<Mutex<Wecom>>>, method: Method, uri: Uri, body: Bytes) -> impl IntoResponse {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    // Recorded on arrival: a request whose client dies while it is held
    // still counts as sent.
    let delay = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            query,
            body,
        });
        s.delay.get(&path).copied()
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut s = state.lock().unwrap();
    if let Some(answer) = s.queued.get_mut(&path).and_then(VecDeque::pop_front) {
        return axum::Json(answer);
    }
    if let Some(answer) = s.default.get(&path) {
        return axum::Json(answer.clone());
    }
    if let Some((_, key, stem)) = TOKEN_PATHS.iter().find(|(p, _, _)| *p == path) {
        let n = {
            let n = s.minted.entry(path.clone()).or_default();
            *n += 1;
            *n
        };
        return axum::Json(json!({ *key: format!("{stem}-{n}"), "expires_in": 7200 }));
    }
    axum::Json(json!({"errcode": 0, "errmsg": "ok"}))
}
