//! Shared by the integration tests: sentinel secrets, clients pointed at a
//! loopback server, and the leak check.
#![allow(dead_code)]

use std::time::Duration;

use corp_auth::{Error, RetryPolicy, TransportKind, chengxun, wecom};

pub const CORP_ID: i64 = 10001;
/// Sentinel secret values: none may ever appear in an error's output.
pub const CORP_AUTHORIZATION: &str = "SENTINEL-corp-authorization-7f3a";
pub const TEMP_CORP_SECRET: &str = "SENTINEL-temp-corp-secret-91bd";
pub const CORP_SECRET: &str = "SENTINEL-corp-secret-c4e2-0000000000000000000000000000000000000";
pub const SUITE_ACCESS_TOKEN: &str = "SENTINEL-suite-access-token-55aa";
pub const PERMANENT_CODE: &str = "SENTINEL-permanent-code-e1e1";
pub const AUTH_CORPID: &str = "wwcorp0001";
pub const SUITE_ID: &str = "wwsuite0001";
pub const SUITE_SECRET: &str = "SENTINEL-suite-secret-0b0b";
pub const SUITE_TICKET: &str = "SENTINEL-suite-ticket-3c3c";
pub const PRE_AUTH_CODE: &str = "SENTINEL-pre-auth-code-4d4d";
pub const AUTH_CODE: &str = "SENTINEL-auth-code-5e5e-000000000000000000000000000000000000000000000000";
pub const CORP_ACCESS_TOKEN: &str = "SENTINEL-corp-access-token-6f6f";

pub const SECRETS: &[&str] = &[
    CORP_AUTHORIZATION,
    TEMP_CORP_SECRET,
    CORP_SECRET,
    SUITE_ACCESS_TOKEN,
    PERMANENT_CODE,
    SUITE_SECRET,
    SUITE_TICKET,
    PRE_AUTH_CODE,
    AUTH_CODE,
    CORP_ACCESS_TOKEN,
];

/// The default policy (3 attempts), with millisecond delays to keep tests fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
}

pub fn chengxun_client(base_url: &str) -> chengxun::Client {
    chengxun::Client::builder()
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .retry(fast_retry())
        .build()
        .unwrap()
}

pub fn wecom_client(base_url: &str) -> wecom::Client {
    wecom_client_with(base_url, Duration::from_secs(10))
}

/// A WeCom client on `base_url` with fast retries and this total timeout.
pub fn wecom_client_with(base_url: &str, timeout: Duration) -> wecom::Client {
    wecom::Client::builder()
        .base_url(base_url)
        .timeout(timeout)
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// Now, in unix seconds (a suite ticket's `TimeStamp`).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Corp `corpid` of a suite on `client` that has a fresh ticket: its corp
/// token comes from the stand-in's `get_corp_token`.
pub async fn ticketed_corp(client: wecom::Client, corpid: &str, permanent_code: &str) -> wecom::Corp {
    let suite = wecom::Suite::builder("wwsuite0001", "SENTINEL-suite-secret")
        .client(client)
        .build()
        .unwrap();
    suite.set_suite_ticket("SENTINEL-ticket", now_secs()).await.unwrap();
    suite.corp(corpid, permanent_code)
}

/// The kind of a transport error (`None` for any other error).
pub fn transport_kind(err: &Error) -> Option<TransportKind> {
    match err {
        Error::Transport { kind, .. } => Some(*kind),
        _ => None,
    }
}

/// Every way an error can be printed, source chain included.
pub fn renderings(err: &Error) -> String {
    let mut out = format!("{err}\n{err:?}\n{err:#?}\n{err:#}\n");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    out
}

/// Fails if any sentinel secret, or its form-encoded form, shows in `err`.
#[track_caller]
pub fn assert_no_secret(err: &Error) {
    let text = renderings(err);
    for secret in SECRETS {
        assert!(!text.contains(secret), "secret {secret} leaked in:\n{text}");
    }
    assert!(!text.contains("SENTINEL"), "a sentinel leaked in:\n{text}");
}

/// An address on loopback where nothing listens.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A server that accepts connections and never answers; counts them.
pub async fn silent_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}"), accepted)
}

pub mod raw;

/// Captures every tracing event of every crate, at TRACE level, for the
/// current thread (tokio tests run on one thread): dependencies' logs are
/// checked for secrets too.
pub struct Logs {
    buffer: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    pub fn capture() -> Self {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(writer.clone()))
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// Fails if a sentinel secret shows in the logs.
    #[track_caller]
    pub fn assert_no_secret(&self) {
        let text = self.text();
        for secret in SECRETS {
            assert!(!text.contains(secret), "secret {secret} leaked in the logs:\n{text}");
        }
    }
}

struct Writer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
