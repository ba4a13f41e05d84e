//! The reference server (`examples/isv_server.rs`), run as the process it
//! is — the example binary `cargo test` builds — against a loopback WeCom
//! stand-in and a database of the test's own: install links spend no quota
//! per hit and are rate-bounded, and what they store expires.

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use corp_auth::wecom::callback::Crypto;
use pg::TestDb;
use serde_json::json;
use wecom_standin::StandIn;

const SUITE_ID: &str = "wwsuiteisv01";
const TOKEN: &str = "isvServerToken01";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const PRE_AUTH: &str = "/cgi-bin/service/get_pre_auth_code";
const SESSION: &str = "/cgi-bin/service/set_session_info";

/// The example's binary, beside this test's (`target/<profile>/examples`).
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("isv_server");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples",
        path.display()
    );
    path
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(standin: &StandIn, db: &TestDb, links_per_second: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(example_binary())
        .env("WECOM_SUITE_ID", SUITE_ID)
        .env("WECOM_SUITE_SECRET", "SENTINEL-suite-secret")
        .env("WECOM_PROVIDER_CORPID", "wwprovider01")
        .env("WECOM_CALLBACK_TOKEN", TOKEN)
        .env("WECOM_ENCODING_AES_KEY", AES_KEY)
        .env("PUBLIC_URL", "https://isv.example")
        .env("DATABASE_URL", db.url())
        .env("CORP_AUTH_KEY_ID", "k1")
        .env("CORP_AUTH_KEY", "07".repeat(32))
        .env("WECOM_BASE_URL", &standin.url)
        .env("LISTEN", format!("127.0.0.1:{port}"))
        .env("INSTALL_LINKS_PER_SECOND", links_per_second)
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// Delivers a `suite_ticket` callback, as WeCom pushes one every ten minutes.
async fn deliver_ticket(http: &reqwest::Client, server: &Server) {
    let crypto = Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let xml = format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>{now}</TimeStamp><SuiteTicket><![CDATA[SENTINEL-ticket-isv]]></SuiteTicket></xml>"
    );
    let body = crypto.encrypt(&xml, "1", "nonce").unwrap();
    let start = body.find("<Encrypt><![CDATA[").unwrap() + 18;
    let end = body[start..].find("]]>").unwrap() + start;
    let signature = crypto.signature("1", "nonce", &body[start..end]);
    let reply = http
        .post(format!(
            "{}/wecom/callback?msg_signature={signature}&timestamp=1&nonce=nonce",
            server.url
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.text().await.unwrap(), "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_links_reuse_one_pre_auth_code_and_are_rate_bounded() {
    let db = TestDb::new("isvserver");
    let standin = StandIn::start().await;
    standin.default(
        PRE_AUTH,
        json!({"errcode": 0, "pre_auth_code": "SENTINEL-pre-auth-isv", "expires_in": 1200}),
    );
    let server = start(&standin, &db, "5").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    deliver_ticket(&http, &server).await;

    // 60 visitors at once: a burst of 20 links (four seconds' worth at 5
    // a second), the rest told to come back.
    let mut hits = Vec::new();
    for _ in 0..60 {
        let (http, url) = (http.clone(), format!("{}/wecom/install", server.url));
        hits.push(tokio::spawn(async move { http.get(url).send().await.unwrap() }));
    }
    let mut links = Vec::new();
    let mut refused = 0;
    for hit in hits {
        let reply = hit.await.unwrap();
        match reply.status().as_u16() {
            302 => links.push(reply.headers()["location"].to_str().unwrap().to_string()),
            429 => {
                assert_eq!(reply.headers()["retry-after"], "1");
                refused += 1;
            }
            other => panic!("status {other}: {}", reply.text().await.unwrap()),
        }
    }
    assert!((20..=25).contains(&links.len()), "{} links", links.len());
    assert_eq!(links.len() + refused, 60);
    // Every link carries the one pre-auth code and a state of its own.
    let query = |link: &str, name: &str| {
        url::Url::parse(link)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert!(
        links
            .iter()
            .all(|l| query(l, "pre_auth_code") == "SENTINEL-pre-auth-isv")
    );
    let mut states: Vec<String> = links.iter().map(|l| query(l, "state")).collect();
    states.sort();
    states.dedup();
    assert_eq!(states.len(), links.len());
    // One pre-auth code and one session-info call for all of them.
    assert_eq!(standin.seen(PRE_AUTH).len(), 1);
    assert_eq!(standin.seen(SESSION).len(), 1);
    assert_eq!(standin.seen(SESSION)[0].body["pre_auth_code"], "SENTINEL-pre-auth-isv");
    // What the links stored: one state each, every one expiring within
    // twenty minutes; nothing for the refused callers.
    assert_eq!(
        db.sql("SELECT count(*), bool_and(expires_at <= now() + interval '20 minutes') FROM corp_auth_states"),
        format!("{}|t", links.len())
    );

    // The bucket refills: a second later, links are issued again, with the
    // same code (no new fetch).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = http.get(format!("{}/wecom/install", server.url)).send().await.unwrap();
    assert_eq!(reply.status(), 302);
    assert_eq!(standin.seen(PRE_AUTH).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_auth_code_near_its_end_is_replaced_before_a_link_carries_it() {
    let db = TestDb::new("isvpreauth");
    let standin = StandIn::start().await;
    // A code that lives 2 s (less than ten minutes: half its life is used).
    standin.queue(
        PRE_AUTH,
        [
            json!({"errcode": 0, "pre_auth_code": "SENTINEL-pre-auth-short", "expires_in": 2}),
            json!({"errcode": 0, "pre_auth_code": "SENTINEL-pre-auth-next", "expires_in": 1200}),
        ],
    );
    let server = start(&standin, &db, "50").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    deliver_ticket(&http, &server).await;
    let link = |reply: reqwest::Response| reply.headers()["location"].to_str().unwrap().to_string();
    let first = link(http.get(format!("{}/wecom/install", server.url)).send().await.unwrap());
    assert!(first.contains("SENTINEL-pre-auth-short"), "{first}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = link(http.get(format!("{}/wecom/install", server.url)).send().await.unwrap());
    assert!(second.contains("SENTINEL-pre-auth-next"), "{second}");
    assert_eq!(standin.seen(PRE_AUTH).len(), 2);
    assert_eq!(standin.seen(SESSION).len(), 2, "session info set once per code");
}
