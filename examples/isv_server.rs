//! A WeCom provider's callback and install endpoints as a long-running
//! server, on the durable pieces: PostgreSQL for installs (`wecom::Installs`)
//! and Redis for tokens. Run several instances behind a load balancer: any
//! of them may receive a callback, issue a `state` or take WeCom's redirect.
//!
//! - `GET  /wecom/callback`  the console's URL check (encrypted for the
//!   provider's corpid): answered with the decrypted `echostr`;
//! - `POST /wecom/callback`  指令回调: verified, decrypted and committed to
//!   PostgreSQL, then answered `success` (an error status when the commit
//!   fails, so WeCom reports the delivery instead of the install being lost);
//!   a worker handles the inbox after the answer;
//! - `GET  /wecom/install`   starts an install: a pre-auth code, a `state`
//!   stored in PostgreSQL, a redirect to WeCom's install page. Anyone may
//!   open it, so it spends no quota per hit and stores nothing that does
//!   not expire: one pre-auth code per instance is reused for its life
//!   (until five minutes before it expires, so an admin has time to finish;
//!   its session info is set once), states expire with it (20 minutes) and
//!   the links are rate-bounded (`INSTALL_LINKS_PER_SECOND`, default 5, in
//!   bursts of four times that): past it, `429 Too Many Requests`;
//! - `GET  /wecom/installed` WeCom's redirect back: the `state` is checked
//!   (any instance issued it, once), then the `auth_code` is exchanged once
//!   across every instance;
//! - `POST /wecom/system`    the 系统事件接收URL (服务商管理端 → 应用管理 →
//!   通用开发参数): provider-level system events, encrypted for the
//!   provider's corpid — the 接口许可 events `license_pay_success`,
//!   `license_refund` and `auto_activate` arrive here;
//! - `POST /wecom/app`       the app's own callback URL (数据回调URL):
//!   messages and events of each installed corp, encrypted for that corp —
//!   `unlicensed_notify` (a member without a licence opened the app) arrives
//!   here. Only corps of the install registry are accepted.
//!
//! A worker task processes the inbox every few seconds (and right after each
//! callback), and logs every outcome until it is acknowledged: replace the
//! log line with creating or closing the customer's tenant.
//!
//! Configuration (environment): `WECOM_SUITE_ID`, `WECOM_SUITE_SECRET`,
//! `WECOM_PROVIDER_CORPID`, `WECOM_CALLBACK_TOKEN`, `WECOM_ENCODING_AES_KEY`,
//! `WECOM_SYSTEM_TOKEN` and `WECOM_SYSTEM_AES_KEY` (the system-event URL's own
//! pair; default: the callback's),
//! `PUBLIC_URL` (how WeCom reaches this server, e.g. `https://isv.example`),
//! `DATABASE_URL` (PostgreSQL), `CORP_AUTH_KEY_ID` and `CORP_AUTH_KEY` (64 hex
//! digits: the key permanent codes are sealed with; `CORP_AUTH_OLD_KEY_ID`
//! and `CORP_AUTH_OLD_KEY` for a key being rotated out), and optionally
//! `REDIS_URL` (tokens and tickets shared with the other instances),
//! `WECOM_BASE_URL` (a proxy), `LISTEN` (default `127.0.0.1:8080`),
//! `WECOM_TEST_AUTH=1` (test authorizations while the app is unreleased),
//! `INSTALL_LINKS_PER_SECOND` (default 5).
//!
//! Run: `cargo run --example isv_server --features postgres,redis` (with the
//! variables set).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use corp_auth::wecom::callback::{self, Crypto, Event};
use corp_auth::wecom::{self, AuthType, Installs, Suite};
use corp_auth::{Error, Secret, store};
use tokio::sync::Notify;

struct App {
    suite: Suite,
    installs: Installs,
    /// The system-event URL's receiver (for the provider's corpid).
    system: Crypto,
    /// The callback token and key, for each corp's app receiver.
    app_token: String,
    app_key: String,
    public_url: String,
    test_auth: bool,
    /// Wakes the worker after a callback was committed.
    work: Notify,
    /// The pre-auth code install links carry, reused while it has time left.
    pre_auth: tokio::sync::Mutex<Option<PreAuth>>,
    /// How many install links may be issued now.
    links: Mutex<Bucket>,
}

/// A pre-auth code and until when a new link may carry it.
struct PreAuth {
    code: Secret,
    usable_until: Instant,
}

/// A token bucket: `rate` links a second, `burst` at once. Constant memory:
/// nothing is kept per caller.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        Self {
            rate,
            burst: rate * 4.0,
            tokens: rate * 4.0,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

fn key(name: &str) -> Result<[u8; 32], String> {
    let hex = env(name)?;
    let bytes: Result<Vec<u8>, _> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("x"), 16))
        .collect();
    bytes
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("{name} must be 64 hex digits (32 bytes)"))
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
    .map_err(|e| e.to_string())?
    .provider_corpid(&env("WECOM_PROVIDER_CORPID")?);
    let db = store::Postgres::connect(&env("DATABASE_URL")?)
        .await
        .map_err(|e| e.to_string())?;
    let mut installs = Installs::builder(suite.clone(), db)
        .crypto(crypto)
        .encryption_key(&env("CORP_AUTH_KEY_ID")?, &key("CORP_AUTH_KEY")?);
    if let (Ok(id), Ok(old)) = (env("CORP_AUTH_OLD_KEY_ID"), key("CORP_AUTH_OLD_KEY")) {
        installs = installs.encryption_key(&id, &old);
    }
    let installs = installs.build().map_err(|e| e.to_string())?;
    let system = Crypto::new(
        &env("WECOM_SYSTEM_TOKEN").or_else(|_| env("WECOM_CALLBACK_TOKEN"))?,
        &env("WECOM_SYSTEM_AES_KEY").or_else(|_| env("WECOM_ENCODING_AES_KEY"))?,
        &env("WECOM_PROVIDER_CORPID")?,
    )
    .map_err(|e| e.to_string())?;
    let app = Arc::new(App {
        suite,
        installs,
        system,
        app_token: env("WECOM_CALLBACK_TOKEN")?,
        app_key: env("WECOM_ENCODING_AES_KEY")?,
        public_url: env("PUBLIC_URL")?.trim_end_matches('/').to_string(),
        test_auth: env("WECOM_TEST_AUTH").as_deref() == Ok("1"),
        work: Notify::new(),
        pre_auth: tokio::sync::Mutex::new(None),
        links: Mutex::new(Bucket::new(match env("INSTALL_LINKS_PER_SECOND") {
            Ok(rate) => rate
                .parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0)
                .ok_or("INSTALL_LINKS_PER_SECOND must be a positive number")?,
            Err(_) => 5.0,
        })),
    });
    tokio::spawn(worker(app.clone()));
    let router = Router::new()
        .route("/wecom/callback", get(verify_url).post(callback))
        .route("/wecom/install", get(install))
        .route("/wecom/installed", get(installed))
        .route("/wecom/system", get(verify_system_url).post(system_event))
        .route("/wecom/app", post(app_event))
        .with_state(app);
    let listen = env("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_string());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("listening on {listen}");
    axum::serve(listener, router).await.map_err(|e| e.to_string())
}

type Params = Query<std::collections::HashMap<String, String>>;

fn param<'a>(q: &'a Params, name: &str) -> &'a str {
    q.get(name).map_or("", String::as_str)
}

/// The error as a status: a refused callback is 403 (never retried by
/// WeCom into success), a failed commit is 503 (WeCom delivers again).
fn refuse(e: &Error) -> Response {
    let status = match e {
        Error::Callback { .. } | Error::InvalidInput { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::warn!(error = %e, "refused");
    (status, "error").into_response()
}

async fn verify_url(State(app): State<Arc<App>>, q: Params) -> Response {
    let echostr = param(&q, "echostr");
    match app.installs.verify_url(
        param(&q, "msg_signature"),
        param(&q, "timestamp"),
        param(&q, "nonce"),
        echostr,
    ) {
        Ok(echo) => echo.into_response(),
        Err(e) => refuse(&e),
    }
}

async fn callback(State(app): State<Arc<App>>, q: Params, body: String) -> Response {
    let received = app
        .installs
        .receive(
            param(&q, "msg_signature"),
            param(&q, "timestamp"),
            param(&q, "nonce"),
            &body,
        )
        .await;
    match received {
        Ok(success) => {
            app.work.notify_one();
            success.into_response()
        }
        Err(e) => refuse(&e),
    }
}

async fn install(State(app): State<Arc<App>>) -> Response {
    if !app.links.lock().expect("bucket").take() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "try again shortly",
        )
            .into_response();
    }
    let result = async {
        let code = pre_auth_code(&app).await?;
        let state = app.installs.new_state().await?;
        let back = format!("{}/wecom/installed", app.public_url);
        wecom::install_url(app.suite.suite_id(), code.expose_secret(), &back, &state)
    }
    .await;
    match result {
        // The link carries the pre-auth code: to the browser, not the log.
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(e) => refuse(&e),
    }
}

/// The pre-auth code for a new link: the one in hand while it has five
/// minutes left (half its life if it lives less than ten), else a new one
/// with its session info set — one fetch however many links are asked for
/// at once (the lock is held across it).
async fn pre_auth_code(app: &App) -> Result<Secret, Error> {
    let mut held = app.pre_auth.lock().await;
    if let Some(pre) = held.as_ref().filter(|p| Instant::now() < p.usable_until) {
        return Ok(pre.code.clone());
    }
    let pre = app.suite.get_pre_auth_code().await?;
    let auth = if app.test_auth {
        AuthType::Test
    } else {
        AuthType::Formal
    };
    app.suite
        .set_session_info(pre.pre_auth_code.expose_secret(), auth)
        .await?;
    let life = pre.expires_in;
    let keep = if life >= Duration::from_secs(600) {
        life - Duration::from_secs(300)
    } else {
        life / 2
    };
    *held = Some(PreAuth {
        code: pre.pre_auth_code.clone(),
        usable_until: Instant::now() + keep,
    });
    Ok(pre.pre_auth_code)
}

async fn installed(State(app): State<Arc<App>>, q: Params) -> Response {
    match app.installs.redeem(param(&q, "state"), param(&q, "auth_code")).await {
        Ok(wecom::Outcome::Installed { corpid, .. }) => format!("installed for {corpid}").into_response(),
        Ok(wecom::Outcome::InDoubt(_)) => (
            StatusCode::ACCEPTED,
            "the install could not be confirmed; we will contact you",
        )
            .into_response(),
        Ok(other) => format!("{other:?}").into_response(),
        Err(e) => refuse(&e),
    }
}

async fn verify_system_url(State(app): State<Arc<App>>, q: Params) -> Response {
    let (signature, timestamp, nonce) = (param(&q, "msg_signature"), param(&q, "timestamp"), param(&q, "nonce"));
    match app.system.verify_url(signature, timestamp, nonce, param(&q, "echostr")) {
        Ok(echo) => echo.into_response(),
        Err(e) => refuse(&e),
    }
}

/// The 系统事件接收URL: the licence events. They are facts to record (an
/// order was paid: its activation codes exist; a refund was decided;
/// accounts were activated automatically); WeCom delivers again until it
/// gets `success`.
async fn system_event(State(app): State<Arc<App>>, q: Params, body: String) -> Response {
    let (signature, timestamp, nonce) = (param(&q, "msg_signature"), param(&q, "timestamp"), param(&q, "nonce"));
    match app.system.decrypt_event(signature, timestamp, nonce, &body) {
        Ok(Event::LicensePaySuccess {
            auth_corp_id, order_id, ..
        }) => {
            // Next: Provider::list_order_account(order_id), then active_account.
            tracing::info!(%auth_corp_id, %order_id, "licence order paid: its activation codes exist");
        }
        Ok(Event::LicenseRefund {
            auth_corp_id,
            order_id,
            order_status,
            ..
        }) => {
            tracing::info!(%auth_corp_id, %order_id, order_status, "licence refund decided");
        }
        Ok(Event::AutoActivate {
            auth_corp_id, accounts, ..
        }) => {
            tracing::info!(%auth_corp_id, activated = accounts.len(), "licences activated automatically");
        }
        Ok(other) => tracing::info!(event = other.info_type(), "system event"),
        Err(e) => return refuse(&e),
    }
    "success".into_response()
}

/// The app's own callback URL: each corp's messages and events, encrypted
/// for that corp. The envelope names the corp; only an installed corp gets a
/// receiver, whose check proves the message was encrypted for it.
async fn app_event(State(app): State<Arc<App>>, q: Params, body: String) -> Response {
    let Some(corpid) = callback::addressed_corp(&body) else {
        return (StatusCode::FORBIDDEN, "error").into_response();
    };
    if let Err(e) = app.installs.corp(&corpid).await {
        return refuse(&e);
    }
    let crypto = match Crypto::new(&app.app_token, &app.app_key, &corpid) {
        Ok(crypto) => crypto,
        Err(e) => return refuse(&e),
    };
    let (signature, timestamp, nonce) = (param(&q, "msg_signature"), param(&q, "timestamp"), param(&q, "nonce"));
    match crypto.decrypt_event(signature, timestamp, nonce, &body) {
        Ok(Event::UnlicensedNotify { corpid, userid, .. }) => {
            // A member without a licence opened the app: activate one
            // (Provider::active_account) or tell the corp's admin.
            tracing::info!(%corpid, %userid, "unlicensed member opened the app");
        }
        Ok(other) => tracing::info!(%corpid, event = other.info_type(), "app event"),
        Err(e) => return refuse(&e),
    }
    "success".into_response()
}

/// Handles the inbox after the callbacks were answered, and reports every
/// outcome until it is acknowledged.
async fn worker(app: Arc<App>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(5), app.work.notified()).await;
        if let Err(e) = app.installs.process_pending().await {
            tracing::warn!(error = %e, "processing the inbox failed; trying again");
            continue;
        }
        match app.installs.unacknowledged().await {
            Ok(outcomes) => {
                for (id, outcome) in outcomes {
                    // Create or close the customer's tenant here, then:
                    tracing::info!(?outcome, "install outcome");
                    if let Err(e) = app.installs.acknowledge(id).await {
                        tracing::warn!(error = %e, "acknowledging failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading outcomes failed"),
        }
    }
}
