//! A WeCom provider's callback and install endpoints as a long-running
//! server: copy it and fill in your storage.
//!
//! - `GET  /wecom/callback`  the URL check WeCom makes when the URL is saved;
//! - `POST /wecom/callback`  指令回调: verified and decrypted, recorded, and
//!   answered `success` at once (WeCom allows 1000 ms); the work (storing
//!   the ticket, exchanging an install's `auth_code`) happens after the
//!   answer, in a worker task;
//! - `GET  /wecom/install`   starts an install: a pre-auth code and a fresh
//!   `state`, then a redirect to WeCom's install page;
//! - `GET  /wecom/installed` WeCom's redirect back: `state` must be one this
//!   server issued (CSRF), then the `auth_code` is exchanged once.
//!
//! Configuration (environment): `WECOM_SUITE_ID`, `WECOM_SUITE_SECRET`,
//! `WECOM_CALLBACK_TOKEN`, `WECOM_ENCODING_AES_KEY`, `PUBLIC_URL` (how WeCom
//! reaches this server, e.g. `https://isv.example`), and optionally
//! `REDIS_URL` (share tokens and tickets with your other instances),
//! `WECOM_BASE_URL` (a proxy), `LISTEN` (default `127.0.0.1:8080`),
//! `WECOM_TEST_AUTH=1` (test authorizations while the app is unreleased).
//!
//! Run: `cargo run --example isv_server` (with the variables set).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use corp_auth::wecom::callback::{Crypto, Event};
use corp_auth::wecom::{self, AuthType, Suite};
use corp_auth::{Error, store};
use tokio::sync::mpsc;

struct App {
    suite: Suite,
    crypto: Crypto,
    public_url: String,
    test_auth: bool,
    /// Issued install states and when they expire (an install link's
    /// pre-auth code lives 20 minutes).
    states: Mutex<HashMap<String, Instant>>,
    /// Events recorded by the callback, handled after it answered.
    events: mpsc::UnboundedSender<Event>,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt().with_target(false).init();
    let suite_id = env("WECOM_SUITE_ID")?;
    let mut client = wecom::Client::builder();
    if let Ok(url) = env("WECOM_BASE_URL") {
        client = client.base_url(url);
    }
    let client = client.build().map_err(|e| e.to_string())?;
    let builder = Suite::builder(&suite_id, env("WECOM_SUITE_SECRET")?).client(client);
    let builder = match env("REDIS_URL") {
        Ok(url) => builder.store(
            store::Redis::open(&url)
                .map_err(|e| e.to_string())?
                .prefix(format!("isv:{suite_id}")),
        ),
        Err(_) => builder.store(store::Memory::new()),
    };
    let suite = builder.build().map_err(|e| e.to_string())?;
    let crypto = Crypto::new(
        &env("WECOM_CALLBACK_TOKEN")?,
        &env("WECOM_ENCODING_AES_KEY")?,
        &suite_id,
    )
    .map_err(|e| e.to_string())?;
    let (events, queue) = mpsc::unbounded_channel();
    let app = Arc::new(App {
        suite,
        crypto,
        public_url: env("PUBLIC_URL")?.trim_end_matches('/').to_string(),
        test_auth: env("WECOM_TEST_AUTH").is_ok_and(|v| v == "1"),
        states: Mutex::default(),
        events,
    });
    tokio::spawn(worker(app.clone(), queue));
    let router = Router::new()
        .route("/wecom/callback", get(verify_url).post(callback))
        .route("/wecom/install", get(install))
        .route("/wecom/installed", get(installed))
        .with_state(app);
    let listen = env("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    tracing::info!("listening on {listen}");
    axum::serve(listener, router).await.map_err(|e| e.to_string())
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> &'a str {
    q.get(name).map(String::as_str).unwrap_or_default()
}

/// The URL check: the framework has URL-decoded `echostr` already.
async fn verify_url(State(app): State<Arc<App>>, Query(q): Params) -> Response {
    match app.crypto.verify_url(
        param(&q, "msg_signature"),
        param(&q, "timestamp"),
        param(&q, "nonce"),
        param(&q, "echostr"),
    ) {
        Ok(echo) => echo.into_response(),
        Err(e) => (StatusCode::FORBIDDEN, e.to_string()).into_response(),
    }
}

/// Verify, decrypt, record, answer: nothing slow before the answer.
async fn callback(State(app): State<Arc<App>>, Query(q): Params, body: String) -> Response {
    match app.crypto.decrypt_event(
        param(&q, "msg_signature"),
        param(&q, "timestamp"),
        param(&q, "nonce"),
        &body,
    ) {
        Ok(event) => {
            let _ = app.events.send(event);
            "success".into_response()
        }
        Err(e) => {
            tracing::warn!("callback refused: {e}");
            (StatusCode::FORBIDDEN, "refused").into_response()
        }
    }
}

/// The work, after WeCom got its answer.
async fn worker(app: Arc<App>, mut queue: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = queue.recv().await {
        let result = match &event {
            Event::SuiteTicket { .. } => app.suite.handle_event(&event).await.map(drop),
            Event::CreateAuth { auth_code, .. } | Event::ResetPermanentCode { auth_code, .. } => {
                exchange(&app, auth_code.expose_secret()).await.map(drop)
            }
            Event::ChangeAuth { auth_corp_id, .. } => {
                tracing::info!("change_auth for {auth_corp_id}: re-read its authorization info");
                Ok(())
            }
            Event::CancelAuth { auth_corp_id, .. } => {
                tracing::info!("cancel_auth for {auth_corp_id}: delete its data and permanent_code");
                Ok(())
            }
            other => {
                tracing::info!("event {} recorded", other.info_type());
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("handling {}: {e}", event.info_type());
        }
    }
}

/// Exchanges an install's `auth_code` once and keeps the permanent code.
async fn exchange(app: &App, auth_code: &str) -> Result<String, Error> {
    match app.suite.get_permanent_code_v2(auth_code).await {
        Ok(install) => {
            let corpid = install.auth_corp_info.and_then(|c| c.corpid).unwrap_or_default();
            // Store install.permanent_code durably here, keyed by corpid:
            // it is the only credential for this corp.
            tracing::info!(
                "installed for {corpid} (permanent_code {})",
                install.permanent_code.masked()
            );
            Ok(corpid)
        }
        Err(e) if e.request_may_have_been_processed() => {
            // The code may be spent and its answer lost: never send it again.
            tracing::error!("the auth_code may have been consumed without an answer: {e}");
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Starts an install from this site.
async fn install(State(app): State<Arc<App>>) -> Response {
    let state = fresh_state();
    let link = async {
        let token = app.suite.suite_access_token().await?;
        let pre = app.suite.client().get_pre_auth_code(token.expose_secret()).await?;
        let auth_type = if app.test_auth {
            AuthType::Test
        } else {
            AuthType::Formal
        };
        app.suite
            .client()
            .set_session_info(token.expose_secret(), pre.pre_auth_code.expose_secret(), auth_type)
            .await?;
        let redirect = format!("{}/wecom/installed", app.public_url);
        wecom::install_url(
            app.suite.suite_id(),
            pre.pre_auth_code.expose_secret(),
            &redirect,
            &state,
        )
    }
    .await;
    match link {
        Ok(link) => {
            let mut states = app.states.lock().unwrap();
            states.retain(|_, expires| *expires > Instant::now());
            states.insert(state, Instant::now() + Duration::from_secs(20 * 60));
            (StatusCode::FOUND, [(header::LOCATION, link)]).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// WeCom's redirect back after the admin authorized.
async fn installed(State(app): State<Arc<App>>, Query(q): Params) -> Response {
    let known = app
        .states
        .lock()
        .unwrap()
        .remove(param(&q, "state"))
        .is_some_and(|expires| expires > Instant::now());
    if !known {
        return (StatusCode::FORBIDDEN, "unknown or expired state").into_response();
    }
    match exchange(&app, param(&q, "auth_code")).await {
        Ok(corpid) => format!("installed for {corpid}").into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// 32 random characters of [a-zA-Z0-9] (WeCom's rule for `state`).
fn fresh_state() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system random source");
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}
