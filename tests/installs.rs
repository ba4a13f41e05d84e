//! No install is ever lost (`wecom::Installs` on a real PostgreSQL): durable
//! before `success`, duplicates once, exchange-once across instances, state
//! shared and single-use, in-doubt exchanges never re-sent, permanent codes
//! encrypted at rest (checked in a `pg_dump`), key rotation, cancellation,
//! the database unreachable and back, and real processes killed with SIGKILL
//! at each step of an install.
//!
//! Each test creates its own database on 127.0.0.1:5432 and drops it.

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use corp_auth::store::{self, Store};
use corp_auth::wecom::callback::Crypto;
use corp_auth::wecom::{self, CorpStatus, Installs, Outcome, Suite};
use corp_auth::{Error, Secret};
use pg::{PgProxy, TestDb, psql};
use serde_json::json;
use sha2::Digest as _;
use wecom_standin::StandIn;

const TOKEN: &str = "corpAuthToken01";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const SUITE_ID: &str = "wwsuite0001";
const PROVIDER: &str = "wwprovider01";
const TICKET: &str = "SENTINEL-suite-ticket-3c3c";
const KEY1: [u8; 32] = [7; 32];
const KEY2: [u8; 32] = [9; 32];
const PERMANENT: &str = "/cgi-bin/service/v2/get_permanent_code";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The `TimeStamp` base of this process's events: realistic (a redirect
/// install is as of its completion, so events must be of today to apply),
/// and fixed, so the same event built twice is the same delivery.
fn t0() -> i64 {
    static T0: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *T0.get_or_init(now)
}

fn auth_code(n: usize) -> String {
    format!("SENTINEL-auth-code-{n:04}-000000000000000000000000000000000000000000000000000")
}

fn permanent_code(corp: &str) -> String {
    format!("SENTINEL-permanent-{corp}")
}

async fn suite(standin: &StandIn) -> Suite {
    let client = wecom::Client::builder()
        .base_url(&standin.url)
        .retry(common::fast_retry())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let suite = Suite::builder(SUITE_ID, "SENTINEL-suite-secret")
        .client(client)
        .build()
        .unwrap();
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    suite
}

async fn installs(standin: &StandIn, db: &TestDb, keys: &[(&str, [u8; 32])], lease: Duration) -> Installs {
    let pg = store::Postgres::connect(&db.url()).await.unwrap();
    let crypto = Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap().provider_corpid(PROVIDER);
    let mut builder = Installs::builder(suite(standin).await, pg).crypto(crypto).lease(lease);
    for (id, key) in keys {
        builder = builder.encryption_key(id, key);
    }
    builder.build().unwrap()
}

/// WeCom answers each permanent-code exchange for the corp named in the
/// code's number (`wwCorp0007` for code 7).
fn answer_exchanges(standin: &StandIn, codes: impl IntoIterator<Item = usize>) {
    for n in codes {
        let corp = format!("wwCorp{n:04}");
        standin.queue(
            PERMANENT,
            [
                json!({"errcode": 0, "errmsg": "ok", "permanent_code": permanent_code(&corp),
                    "auth_corp_info": {"corpid": corp, "corp_name": "示例"}}),
            ],
        );
    }
}

/// A POSTed callback as WeCom sends it: (msg_signature, timestamp, nonce, body).
fn callback(xml: &str, nonce: &str) -> (String, String, String, String) {
    let crypto = Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap();
    let timestamp = now().to_string();
    let body = crypto.encrypt(xml, &timestamp, nonce).unwrap();
    let start = body.find("<MsgSignature><![CDATA[").unwrap() + "<MsgSignature><![CDATA[".len();
    let signature = body[start..start + 40].to_string();
    (signature, timestamp, nonce.to_string(), body)
}

fn create_auth(n: usize) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><AuthCode><![CDATA[{}]]></AuthCode>\
         <InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>{}</TimeStamp></xml>",
        auth_code(n),
        t0() + n as i64
    )
}

fn cancel_auth(corpid: &str) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType>\
         <TimeStamp>{}</TimeStamp><AuthCorpId><![CDATA[{corpid}]]></AuthCorpId></xml>",
        t0() + 500
    )
}

async fn deliver(installs: &Installs, xml: &str, nonce: &str) -> Result<String, Error> {
    let (sig, ts, nonce, body) = callback(xml, nonce);
    installs.receive(&sig, &ts, &nonce, &body).await
}

fn exchanges_sent(standin: &StandIn) -> Vec<String> {
    standin
        .seen(PERMANENT)
        .iter()
        .map(|s| s.body["auth_code"].as_str().unwrap().to_string())
        .collect()
}

// --- durable before success, once ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_is_durable_before_success_and_a_duplicate_is_handled_once() {
    let db = TestDb::new("durable");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    // The same event delivered twice (WeCom retries; each encryption differs).
    assert_eq!(deliver(&installs, &create_auth(1), "n1").await.unwrap(), "success");
    assert_eq!(deliver(&installs, &create_auth(1), "n2").await.unwrap(), "success");
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_inbox"), "1");
    answer_exchanges(&standin, [1]);
    let outcomes = installs.process_pending().await.unwrap();
    assert_eq!(
        outcomes,
        [Outcome::Installed {
            corpid: "wwCorp0001".into(),
            corp_name: Some("示例".into()),
            state: None
        }]
    );
    assert_eq!(exchanges_sent(&standin), [auth_code(1)]);
    assert!(installs.process_pending().await.unwrap().is_empty(), "nothing left");
    let corps = installs.corps().await.unwrap();
    assert_eq!(
        (corps[0].corpid.as_str(), corps[0].status),
        ("wwCorp0001", CorpStatus::Installed)
    );
    // The corp handle takes its permanent code from the registry.
    let token = installs.corp("wwCorp0001").await.unwrap().access_token().await.unwrap();
    assert_eq!(token.expose_secret(), "corp-token-1");
    let seen = standin.seen("/cgi-bin/service/get_corp_token");
    assert_eq!(seen[0].body["permanent_code"], permanent_code("wwCorp0001"));
    // The application hears it until it acknowledges it.
    let pending = installs.unacknowledged().await.unwrap();
    assert_eq!(pending.len(), 1);
    installs.acknowledge(pending[0].0).await.unwrap();
    assert!(installs.unacknowledged().await.unwrap().is_empty());
    // A forged callback is refused, and nothing is stored.
    let (_, ts, nonce, body) = callback(&create_auth(2), "n3");
    let err = installs.receive(&"0".repeat(40), &ts, &nonce, &body).await.unwrap_err();
    assert!(matches!(err, Error::Callback { .. }), "{err:?}");
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_inbox"), "1");
    assert!(!format!("{installs:?}").contains("SENTINEL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_and_the_redirects_contest_claims_and_each_code_is_exchanged_once() {
    let db = TestDb::new("two");
    let standin = StandIn::start().await;
    let a = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let b = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    // 20 installs, each delivered to both instances (WeCom's retries), and
    // each also redirected (the admin's browser) to one of them: every code
    // is wanted by two workers and a redirect at once.
    for n in 0..20 {
        deliver(&a, &create_auth(n), &format!("a{n}")).await.unwrap();
        deliver(&b, &create_auth(n), &format!("b{n}")).await.unwrap();
    }
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_inbox"), "20");
    answer_exchanges(&standin, 0..20);
    // WeCom holds each exchange long enough for the workers to meet the
    // redirects' claims in flight (on the other instance: a live claim of
    // another owner; on their own: a claim a task here holds).
    standin.delay(PERMANENT, Duration::from_millis(400));
    let mut states = Vec::new();
    // Code n is redirected to the instance whose worker does not reach it
    // first (a's worker starts with code 0, b's with code 1).
    for n in 0..20 {
        let at = if n % 2 == 0 { &b } else { &a };
        states.push(at.new_state().await.unwrap());
    }
    let redirects = async {
        let mut handles = Vec::new();
        for (n, state) in states.into_iter().enumerate() {
            let at = if n % 2 == 0 { b.clone() } else { a.clone() };
            handles.push(tokio::spawn(async move { at.redeem(&state, &auth_code(n)).await }));
        }
        let mut outcomes = Vec::new();
        for handle in handles {
            outcomes.push(handle.await.unwrap().unwrap());
        }
        outcomes
    };
    let (oa, ob, by_redirect) = tokio::join!(a.process_pending(), b.process_pending(), redirects);
    let mut installed: Vec<String> = oa
        .unwrap()
        .into_iter()
        .chain(ob.unwrap())
        .map(|o| match o {
            Outcome::Installed { corpid, .. } => corpid,
            other => panic!("a contested claim is not in doubt: {other:?}"),
        })
        .collect();
    installed.sort();
    installed.dedup();
    assert_eq!(installed.len(), 20, "each event handled once, as installed");
    // (The stand-in answers exchanges in arrival order, so which corp a
    // code brings depends on the race; each brings one.)
    let mut redirected: Vec<String> = by_redirect
        .into_iter()
        .map(|o| match o {
            Outcome::Installed { corpid, .. } => corpid,
            other => panic!("a redirect that lost the race sees the install: {other:?}"),
        })
        .collect();
    redirected.sort();
    redirected.dedup();
    assert_eq!(redirected, installed, "the redirects saw the same installs");
    let mut sent = exchanges_sent(&standin);
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 20);
    assert_eq!(exchanges_sent(&standin).len(), 20, "no auth_code sent twice");
    assert!(a.in_doubt().await.unwrap().is_empty());
    let corps = a.corps().await.unwrap();
    assert_eq!(corps.len(), 20);
    assert!(corps.iter().all(|c| c.status == CorpStatus::Installed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_state_is_shared_single_use_and_checked_before_the_exchange() {
    let db = TestDb::new("state");
    let standin = StandIn::start().await;
    let a = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let b = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let state = a.new_state().await.unwrap();
    assert_eq!(state.len(), 32);
    assert!(state.bytes().all(|c| c.is_ascii_alphanumeric()));
    answer_exchanges(&standin, [5]);
    // WeCom's redirect lands on the other instance.
    let outcome = b.redeem(&state, &auth_code(5)).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Installed { corpid, .. } if corpid == "wwCorp0005"),
        "{outcome:?}"
    );
    for (s, code) in [(state.as_str(), auth_code(6)), ("forged", auth_code(7))] {
        match a.redeem(s, &code).await.unwrap_err() {
            Error::InvalidInput { parameter, .. } => assert_eq!(parameter, "state"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        exchanges_sent(&standin),
        [auth_code(5)],
        "a refused state sends nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_whose_answer_is_lost_is_in_doubt_and_never_sent_again() {
    let db = TestDb::new("doubt");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    // WeCom's answer is unusable: the code may be spent.
    standin.queue(PERMANENT, [json!({"errcode": 0, "errmsg": "ok"})]);
    let state = installs.new_state().await.unwrap();
    let outcome = installs.redeem(&state, &auth_code(9)).await.unwrap();
    let Outcome::InDoubt(doubt) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(doubt.source, "redirect");
    assert!(doubt.reason.contains("may have been consumed"), "{}", doubt.reason);
    assert_eq!(installs.in_doubt().await.unwrap().len(), 1);
    // The same code by callback later: recognised, not sent.
    deliver(&installs, &create_auth(9), "n1").await.unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert!(matches!(outcomes.as_slice(), [Outcome::InDoubt(_)]), "{outcomes:?}");
    assert_eq!(exchanges_sent(&standin).len(), 1);
    // A refusal (WeCom answered, did not act) releases the claim.
    standin.queue(PERMANENT, [json!({"errcode": 40078, "errmsg": "invalid auth_code"})]);
    let state = installs.new_state().await.unwrap();
    let err = installs.redeem(&state, &auth_code(10)).await.unwrap_err();
    assert_eq!(err.code(), Some(40078));
    assert_eq!(
        db.sql("SELECT count(*) FROM corp_auth_exchanges WHERE state = 'sending'"),
        "0"
    );
}

// --- encryption at rest ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_dump_holds_no_plaintext_secret() {
    let db = TestDb::new("dump");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    for n in 0..3 {
        deliver(&installs, &create_auth(n), &format!("n{n}")).await.unwrap();
    }
    let ticket_event = format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>{}</TimeStamp><SuiteTicket><![CDATA[SENTINEL-ticket-in-callback]]></SuiteTicket></xml>",
        now()
    );
    deliver(&installs, &ticket_event, "t").await.unwrap();
    answer_exchanges(&standin, 0..3);
    installs.process_pending().await.unwrap();
    assert_eq!(installs.corps().await.unwrap().len(), 3);
    let dump = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "--data-only", &db.name])
        .output()
        .expect("pg_dump on PATH");
    assert!(dump.status.success());
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("wwCorp0001"), "the dump has the rows");
    // bytea columns dump as hex (`\\x53454e…`): each secret is looked for
    // as text and as the hex of its bytes, or the check would pass with no
    // encryption at all.
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut secrets: Vec<String> = ["SENTINEL", "auth-code", "permanent", "ticket-in-callback"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    secrets.extend((0..3).map(auth_code));
    secrets.extend((0..3).map(|n| permanent_code(&format!("wwCorp{n:04}"))));
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "{secret} in the dump");
        assert!(
            !dump.to_lowercase().contains(&hex(secret)),
            "{secret} in the dump as hex"
        );
    }
    // The check can fail: an unsealed value in a bytea column is found.
    db.sql("CREATE TABLE canary (b bytea); INSERT INTO canary VALUES ('SENTINEL-canary'::bytea)");
    let dump = Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--data-only",
            "-t",
            "canary",
            &db.name,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&dump.stdout).contains(&hex("SENTINEL-canary")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_older_keys_still_open_and_a_wrong_key_is_a_clear_error() {
    let db = TestDb::new("keys");
    let standin = StandIn::start().await;
    let old = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    answer_exchanges(&standin, [1]);
    let state = old.new_state().await.unwrap();
    old.redeem(&state, &auth_code(1)).await.unwrap();
    // A new key seals; the old one still opens.
    let both = installs(&standin, &db, &[("k2", KEY2), ("k1", KEY1)], Duration::from_secs(30)).await;
    both.corp("wwCorp0001").await.unwrap();
    assert_eq!(db.sql("SELECT key_id FROM corp_auth_corps"), "k1");
    assert!(both.reseal().await.unwrap() >= 1);
    assert_eq!(db.sql("SELECT key_id FROM corp_auth_corps"), "k2");
    // The old key can go now.
    let new = installs(&standin, &db, &[("k2", KEY2)], Duration::from_secs(30)).await;
    new.corp("wwCorp0001").await.unwrap();
    // Without the key, or with other material under its id: clear errors.
    let err = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30))
        .await
        .corp("wwCorp0001")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sealed with key `k2`, which is not configured"), "{err}");
    let err = installs(&standin, &db, &[("k2", KEY1)], Duration::from_secs(30))
        .await
        .corp("wwCorp0001")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not open with key `k2`"), "{err}");
    assert!(!err.contains("SENTINEL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_auth_leaves_nothing_of_the_corps_credentials() {
    let db = TestDb::new("cancel");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    answer_exchanges(&standin, [3]);
    let state = installs.new_state().await.unwrap();
    installs.redeem(&state, &auth_code(3)).await.unwrap();
    let corp = installs.corp("wwCorp0003").await.unwrap();
    corp.access_token().await.unwrap();
    deliver(&installs, &cancel_auth("wwCorp0003"), "c").await.unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert_eq!(
        outcomes,
        [Outcome::Cancelled {
            corpid: "wwCorp0003".into()
        }]
    );
    assert_eq!(
        db.sql("SELECT status, key_id IS NULL, sealed_code IS NULL FROM corp_auth_corps"),
        "cancelled|t|t"
    );
    assert!(matches!(
        installs.corp("wwCorp0003").await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(installs.corps().await.unwrap()[0].status, CorpStatus::Cancelled);
    // The cached corp token is gone too: the next ask fetches anew.
    corp.access_token().await.unwrap();
    assert_eq!(standin.seen("/cgi-bin/service/get_corp_token").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_unreachable_no_success_is_answered_and_nothing_is_lost() {
    let db = TestDb::new("down");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    // The database refuses connections, and the open one is cut.
    psql(
        "postgres",
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", db.name),
    );
    psql(
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            db.name
        ),
    );
    let err = deliver(&installs, &create_auth(4), "d1").await.unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert!(err.is_retryable(), "WeCom delivers again");
    // Back again: WeCom's redelivery is stored and processed.
    psql(
        "postgres",
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", db.name),
    );
    assert_eq!(deliver(&installs, &create_auth(4), "d2").await.unwrap(), "success");
    answer_exchanges(&standin, [4]);
    let outcomes = installs.process_pending().await.unwrap();
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Installed { .. }]),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_callback_is_stored_at_once_and_the_console_check_opens() {
    let db = TestDb::new("ticket");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let provider = Crypto::new(TOKEN, AES_KEY, PROVIDER).unwrap();
    let sent = provider.encrypt("echo-42", "1700000000", "n").unwrap();
    let part = |name: &str| {
        let start = sent.find(&format!("<{name}><![CDATA[")).unwrap() + name.len() + 11;
        sent[start..start + sent[start..].find("]]>").unwrap()].to_string()
    };
    let echo = installs
        .verify_url(&part("MsgSignature"), "1700000000", "n", &part("Encrypt"))
        .unwrap();
    assert_eq!(echo, "echo-42");
    let _ = Secret::new("x");
    let _: Option<&dyn Store> = None;
}

// --- crashes: real processes killed with SIGKILL ---------------------------------------

/// The child process of the crash tests: this test binary run again with
/// `CORP_AUTH_CRASH_STEP` set. It receives one callback, prints `ANSWERED`,
/// then (unless the step is `answered`) processes it and prints `PROCESSED`,
/// and waits to be killed.
#[test]
fn crash_child() {
    let Ok(step) = std::env::var("CORP_AUTH_CRASH_STEP") else {
        return;
    };
    let env = |k: &str| std::env::var(k).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A short worst case (1 s timeout, no retry): the lease, sized to
        // it, ends soon after the kill.
        let client = wecom::Client::builder()
            .base_url(env("CORP_AUTH_CRASH_WECOM"))
            .timeout(Duration::from_secs(1))
            .retry(corp_auth::RetryPolicy::never())
            .build()
            .unwrap();
        let suite = Suite::builder(SUITE_ID, "SENTINEL-suite-secret")
            .client(client)
            .build()
            .unwrap();
        suite.set_suite_ticket(TICKET, now()).await.unwrap();
        let pg = store::Postgres::connect(&env("CORP_AUTH_CRASH_DB")).await.unwrap();
        let installs = Installs::builder(suite, pg)
            .crypto(Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap())
            .encryption_key("k1", &KEY1)
            .lease(Duration::from_secs(1))
            .build()
            .unwrap();
        let reply = installs
            .receive(
                &env("CORP_AUTH_CRASH_SIG"),
                &env("CORP_AUTH_CRASH_TS"),
                &env("CORP_AUTH_CRASH_NONCE"),
                &env("CORP_AUTH_CRASH_BODY"),
            )
            .await
            .unwrap();
        println!("ANSWERED {reply}");
        if step != "answered" {
            installs.process_pending().await.unwrap();
            println!("PROCESSED");
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

/// Runs the child for `step`, waits for `marker` (or for `until` to hold),
/// then kills it with SIGKILL.
async fn run_and_kill(
    db_url: &str,
    standin: &StandIn,
    n: usize,
    step: &str,
    marker: Option<&str>,
    until: impl Fn() -> bool,
) {
    let (sig, ts, nonce, body) = callback(&create_auth(n), "crash");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("CORP_AUTH_CRASH_STEP", step)
        .env("CORP_AUTH_CRASH_DB", db_url)
        .env("CORP_AUTH_CRASH_WECOM", &standin.url)
        .env("CORP_AUTH_CRASH_SIG", sig)
        .env("CORP_AUTH_CRASH_TS", ts)
        .env("CORP_AUTH_CRASH_NONCE", nonce)
        .env("CORP_AUTH_CRASH_BODY", body)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child never reached step {step}"
        );
        if marker.is_none() && until() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
            // The test harness may print `test crash_child ... ` first.
            Ok(Some(line)) if marker.is_some_and(|m| line.contains(m)) => break,
            _ => {}
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The restarted instance (a new one, after the child's 1 s lease).
/// The restarted instance (a new one): it takes the dead child's event over
/// once the child's lease ends — sized to the child's worst case (1 s
/// requests, no retry: an 8 s lease), not to the restarted one's.
async fn restart(db: &TestDb, standin: &StandIn) -> (Installs, Vec<Outcome>) {
    let restarted = installs(standin, db, &[("k1", KEY1)], Duration::from_secs(1)).await;
    let mut outcomes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        outcomes.extend(restarted.process_pending().await.unwrap());
        let pending = db.sql("SELECT count(*) FROM corp_auth_inbox WHERE state = 'pending'");
        if pending == "0" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead child's event was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (restarted, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_answering_success_the_install_is_processed_after_restart() {
    let db = TestDb::new("crash1");
    let standin = StandIn::start().await;
    run_and_kill(&db.url(), &standin, 1, "answered", Some("ANSWERED success"), || false).await;
    assert_eq!(
        db.sql("SELECT count(*) FROM corp_auth_inbox WHERE state = 'pending'"),
        "1"
    );
    assert!(exchanges_sent(&standin).is_empty());
    answer_exchanges(&standin, [1]);
    let (restarted, outcomes) = restart(&db, &standin).await;
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Installed { corpid, .. }] if corpid == "wwCorp0001"),
        "{outcomes:?}"
    );
    assert_eq!(restarted.corps().await.unwrap()[0].status, CorpStatus::Installed);
    assert_eq!(exchanges_sent(&standin), [auth_code(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_exchange_is_in_flight_the_code_is_in_doubt_and_never_resent() {
    let db = TestDb::new("crash2");
    let standin = StandIn::start().await;
    standin.delay(PERMANENT, Duration::from_secs(3));
    let arrived = || !standin.seen(PERMANENT).is_empty();
    run_and_kill(&db.url(), &standin, 2, "process", None, arrived).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // WeCom answers a dead connection
    let (restarted, outcomes) = restart(&db, &standin).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::InDoubt(_))) && !outcomes.is_empty(),
        "{outcomes:?}"
    );
    let doubts = restarted.in_doubt().await.unwrap();
    assert_eq!(doubts.len(), 1, "{doubts:?}");
    assert_eq!(doubts[0].source, "callback");
    assert!(restarted.corps().await.unwrap().is_empty());
    assert_eq!(exchanges_sent(&standin), [auth_code(2)], "sent once, never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_right_after_the_exchange_the_permanent_code_is_already_committed() {
    let db = TestDb::new("crash3");
    let standin = StandIn::start().await;
    answer_exchanges(&standin, [3]);
    run_and_kill(&db.url(), &standin, 3, "process", Some("PROCESSED"), || false).await;
    let (restarted, outcomes) = restart(&db, &standin).await;
    assert!(outcomes.is_empty(), "{outcomes:?}");
    let corps = restarted.corps().await.unwrap();
    assert_eq!(
        (corps[0].corpid.as_str(), corps[0].status),
        ("wwCorp0003", CorpStatus::Installed)
    );
    restarted.corp("wwCorp0003").await.unwrap();
    assert_eq!(exchanges_sent(&standin), [auth_code(3)]);
    // The application still hears it: the outcome waits to be acknowledged.
    assert!(matches!(
        restarted.unacknowledged().await.unwrap().as_slice(),
        [(_, Outcome::Installed { .. })]
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_answer_and_its_commit_the_code_is_in_doubt_and_never_resent() {
    // The failpoint: the child reaches PostgreSQL through a proxy that is
    // cut while WeCom holds the exchange, so the answer arrives with the
    // database gone; the child is killed once it has tried to commit (a
    // connection refused after the cut: the answer is in hand).
    let db = TestDb::new("crash4");
    let proxy = PgProxy::start().await;
    let standin = StandIn::start().await;
    answer_exchanges(&standin, [4]);
    standin.delay(PERMANENT, Duration::from_secs(1));
    let refused_at_cut = std::cell::Cell::new(None);
    let answer_in_hand = || {
        if refused_at_cut.get().is_none() && !standin.seen(PERMANENT).is_empty() {
            proxy.cut();
            refused_at_cut.set(Some(proxy.refused()));
        }
        refused_at_cut.get().is_some_and(|at| proxy.refused() > at)
    };
    run_and_kill(&db.url_via(&proxy), &standin, 4, "process", None, answer_in_hand).await;
    assert_eq!(
        db.sql("SELECT state FROM corp_auth_exchanges"),
        "sending",
        "killed with the answer uncommitted"
    );
    let (restarted, outcomes) = restart(&db, &standin).await;
    // Returned as the stale claim and again as its event's outcome (two
    // passes), queued for the application once.
    let Some(Outcome::InDoubt(doubt)) = outcomes.first() else {
        panic!("{outcomes:?}")
    };
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::InDoubt(d) if d.id == doubt.id && d.source == "callback")),
        "{outcomes:?}"
    );
    assert!(matches!(
        restarted.unacknowledged().await.unwrap().as_slice(),
        [(_, Outcome::InDoubt(d))] if d.id == doubt.id
    ));
    assert!(
        restarted.corps().await.unwrap().is_empty(),
        "the code in hand died with the process"
    );
    assert_eq!(restarted.in_doubt().await.unwrap().len(), 1);
    assert_eq!(exchanges_sent(&standin), [auth_code(4)], "sent once, never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_auth_rereads_the_corp_and_reset_permanent_code_replaces_the_code() {
    let db = TestDb::new("change");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    answer_exchanges(&standin, [8]);
    let state = installs.new_state().await.unwrap();
    installs.redeem(&state, &auth_code(8)).await.unwrap();
    // change_auth: the auth info is read again with the stored permanent code.
    standin.queue(
        "/cgi-bin/service/v2/get_auth_info",
        [json!({"errcode": 0, "errmsg": "ok", "auth_corp_info": {"corpid": "wwCorp0008", "corp_name": "新名字"}})],
    );
    let change = format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[change_auth]]></InfoType>\
         <TimeStamp>{}</TimeStamp><AuthCorpId><![CDATA[wwCorp0008]]></AuthCorpId></xml>",
        t0() + 600
    );
    deliver(&installs, &change, "ch").await.unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert_eq!(
        outcomes,
        [Outcome::Changed {
            corpid: "wwCorp0008".into()
        }]
    );
    let read = standin.seen("/cgi-bin/service/v2/get_auth_info");
    assert_eq!(read[0].body["permanent_code"], permanent_code("wwCorp0008"));
    assert_eq!(installs.corps().await.unwrap()[0].corp_name.as_deref(), Some("新名字"));
    // reset_permanent_code (代开发): the new code replaces the old one.
    standin.queue(
        PERMANENT,
        [json!({"errcode": 0, "permanent_code": "SENTINEL-permanent-reset", "auth_corp_info": {"corpid": "wwCorp0008"}})],
    );
    let reset = format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><AuthCode><![CDATA[{}]]></AuthCode>\
         <InfoType><![CDATA[reset_permanent_code]]></InfoType><TimeStamp>{}</TimeStamp></xml>",
        auth_code(80),
        t0() + 700
    );
    deliver(&installs, &reset, "rs").await.unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert_eq!(
        outcomes,
        [Outcome::Reset {
            corpid: "wwCorp0008".into()
        }]
    );
    installs.corp("wwCorp0008").await.unwrap().access_token().await.unwrap();
    let seen = standin.seen("/cgi-bin/service/get_corp_token");
    assert_eq!(seen.last().unwrap().body["permanent_code"], "SENTINEL-permanent-reset");
    let kinds: Vec<String> = installs
        .unacknowledged()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, o)| format!("{o:?}").split([' ', '(']).next().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["Installed", "Changed", "Reset"]);
}

// --- order: a stale event never undoes a newer state ------------------------------------

fn event(info_type: &str, ts: i64, extra: &str) -> String {
    format!(
        "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[{info_type}]]></InfoType>\
         <TimeStamp>{ts}</TimeStamp>{extra}</xml>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_cancel_change_or_reset_never_undoes_a_reinstall() {
    let db = TestDb::new("order");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let corp = "<AuthCorpId><![CDATA[wwCorp0041]]></AuthCorpId>";
    // Installed an hour ago by callback.
    answer_exchanges(&standin, [41]);
    let code = |n: usize| format!("<AuthCode><![CDATA[{}]]></AuthCode>", auth_code(n));
    deliver(&installs, &event("create_auth", now() - 3600, &code(41)), "i")
        .await
        .unwrap();
    installs.process_pending().await.unwrap();
    // The admin uninstalls (the cancel is delivered, not processed yet), an
    // older change and reset are still queued, and the admin reinstalls:
    // the redirect installs a new permanent code first.
    deliver(&installs, &event("cancel_auth", now() - 600, corp), "c")
        .await
        .unwrap();
    deliver(&installs, &event("change_auth", now() - 900, corp), "ch")
        .await
        .unwrap();
    standin.queue(
        PERMANENT,
        [
            json!({"errcode": 0, "permanent_code": "SENTINEL-permanent-reinstalled", "auth_corp_info": {"corpid": "wwCorp0041"}}),
            json!({"errcode": 0, "permanent_code": "SENTINEL-permanent-stale-reset", "auth_corp_info": {"corpid": "wwCorp0041"}}),
        ],
    );
    let state = installs.new_state().await.unwrap();
    let reinstalled = installs.redeem(&state, &auth_code(42)).await.unwrap();
    assert!(matches!(reinstalled, Outcome::Installed { .. }), "{reinstalled:?}");
    deliver(&installs, &event("reset_permanent_code", now() - 800, &code(43)), "r")
        .await
        .unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert_eq!(
        outcomes,
        [
            Outcome::Superseded {
                corpid: "wwCorp0041".into(),
                info_type: "cancel_auth".into()
            },
            Outcome::Superseded {
                corpid: "wwCorp0041".into(),
                info_type: "change_auth".into()
            },
            Outcome::Superseded {
                corpid: "wwCorp0041".into(),
                info_type: "reset_permanent_code".into()
            },
        ]
    );
    // WeCom shows it installed, and so does the registry, with the new code.
    assert_eq!(installs.corps().await.unwrap()[0].status, CorpStatus::Installed);
    installs.corp("wwCorp0041").await.unwrap().access_token().await.unwrap();
    let used = standin.seen("/cgi-bin/service/get_corp_token");
    assert_eq!(
        used.last().unwrap().body["permanent_code"],
        "SENTINEL-permanent-reinstalled"
    );
    // A newer cancel still applies; the superseded events are recorded.
    deliver(&installs, &event("cancel_auth", now() + 5, corp), "c2")
        .await
        .unwrap();
    let outcomes = installs.process_pending().await.unwrap();
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Cancelled { .. }]),
        "{outcomes:?}"
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM corp_auth_inbox WHERE outcome = 'superseded'"),
        "3"
    );
}

// --- claims: only the exchange itself can spend a code -----------------------------------

/// An instance whose client times out after `timeout`, without retries.
async fn installs_with_timeout(standin: &StandIn, url: &str, timeout: Duration, ticket: bool) -> Installs {
    let pg = store::Postgres::connect(url).await.unwrap();
    installs_on(standin, pg, timeout, ticket).await
}

/// An instance on `pg` whose requests time out after `timeout`, unretried
/// (a 1 s lease: sized to that worst case).
async fn installs_on(standin: &StandIn, pg: store::Postgres, timeout: Duration, ticket: bool) -> Installs {
    let client = wecom::Client::builder()
        .base_url(&standin.url)
        .retry(corp_auth::RetryPolicy::never())
        .timeout(timeout)
        .build()
        .unwrap();
    let suite = Suite::builder(SUITE_ID, "SENTINEL-suite-secret")
        .client(client)
        .build()
        .unwrap();
    if ticket {
        suite.set_suite_ticket(TICKET, now()).await.unwrap();
    }
    Installs::builder(suite, pg)
        .crypto(Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap().provider_corpid(PROVIDER))
        .encryption_key("k1", &KEY1)
        .lease(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// Runs `process_pending` until nothing is pending (at most `within`).
async fn drain(installs: &Installs, db: &TestDb, within: Duration) -> Vec<Outcome> {
    let deadline = tokio::time::Instant::now() + within;
    let mut outcomes = Vec::new();
    loop {
        outcomes.extend(installs.process_pending().await.unwrap());
        if db.sql("SELECT count(*) FROM corp_auth_inbox WHERE state = 'pending'") == "0" {
            return outcomes;
        }
        assert!(tokio::time::Instant::now() < deadline, "still pending: {outcomes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_fetch_that_times_out_spends_no_code_and_the_install_is_retried() {
    let db = TestDb::new("tokenfail");
    let standin = StandIn::start().await;
    let installs = installs_with_timeout(&standin, &db.url(), Duration::from_millis(500), true).await;
    // The token endpoint hangs once (a 502 or a timeout in production).
    standin.delay("/cgi-bin/service/get_suite_token", Duration::from_secs(2));
    deliver(&installs, &create_auth(51), "t").await.unwrap();
    let first = installs.process_pending().await.unwrap();
    assert!(first.is_empty(), "not in doubt, not failed: {first:?}");
    assert!(exchanges_sent(&standin).is_empty(), "the code never left");
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_exchanges"), "0", "no claim held");
    standin.delay("/cgi-bin/service/get_suite_token", Duration::ZERO);
    answer_exchanges(&standin, [51]);
    let outcomes = drain(&installs, &db, Duration::from_secs(20)).await;
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Installed { .. }]),
        "{outcomes:?}"
    );
    assert_eq!(exchanges_sent(&standin), [auth_code(51)]);
    assert!(installs.in_doubt().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_before_the_first_ticket_waits_for_the_ticket() {
    let db = TestDb::new("noticket");
    let standin = StandIn::start().await;
    let installs = installs_with_timeout(&standin, &db.url(), Duration::from_secs(5), false).await;
    deliver(&installs, &create_auth(52), "i").await.unwrap();
    let first = installs.process_pending().await.unwrap();
    assert!(first.is_empty(), "kept for the ticket, not failed: {first:?}");
    // The ticket arrives by callback (stored at once by `receive`).
    let ticket = event(
        "suite_ticket",
        now(),
        &format!("<SuiteTicket><![CDATA[{TICKET}]]></SuiteTicket>"),
    );
    deliver(&installs, &ticket, "tk").await.unwrap();
    answer_exchanges(&standin, [52]);
    let outcomes = drain(&installs, &db, Duration::from_secs(20)).await;
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Installed { corpid, .. } if corpid == "wwCorp0052")),
        "{outcomes:?}"
    );
    let tickets = standin.seen("/cgi-bin/service/get_suite_token");
    assert_eq!(
        tickets.last().unwrap().body["suite_ticket"],
        TICKET,
        "the delivered ticket was used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_redirect_and_the_callback_of_one_code_contest_the_claim_and_both_see_the_install() {
    let db = TestDb::new("contest");
    let standin = StandIn::start().await;
    let a = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    let b = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    answer_exchanges(&standin, [53]);
    standin.delay(PERMANENT, Duration::from_millis(800));
    deliver(&a, &create_auth(53), "cb").await.unwrap();
    let state = b.new_state().await.unwrap();
    let code = auth_code(53);
    let (by_callback, by_redirect) = tokio::join!(
        async {
            let mut outcomes = Vec::new();
            for _ in 0..50 {
                outcomes.extend(a.process_pending().await.unwrap());
                if !outcomes.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            outcomes
        },
        b.redeem(&state, &code)
    );
    let by_redirect = by_redirect.unwrap();
    assert!(
        matches!(&by_redirect, Outcome::Installed { corpid, .. } if corpid == "wwCorp0053"),
        "{by_redirect:?}"
    );
    assert!(
        by_callback.iter().all(|o| matches!(o, Outcome::Installed { .. })),
        "a claim held by a live worker is not in doubt: {by_callback:?}"
    );
    assert_eq!(exchanges_sent(&standin), [auth_code(53)], "sent once");
    assert!(a.in_doubt().await.unwrap().is_empty());
}

// --- the database: failover, half-open connections, migrations, keys --------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permanent_code_in_hand_survives_a_database_failover() {
    let db = TestDb::new("failover");
    let proxy = PgProxy::start().await;
    let standin = StandIn::start().await;
    let installs = installs_with_timeout(&standin, &db.url_via(&proxy), Duration::from_secs(5), true).await;
    deliver(&installs, &create_auth(54), "f").await.unwrap();
    answer_exchanges(&standin, [54]);
    standin.delay(PERMANENT, Duration::from_millis(800));
    let worker = {
        let installs = installs.clone();
        tokio::spawn(async move { installs.process_pending().await })
    };
    // The request is out: the database fails over and is gone for 15 s
    // (the old code gave up after about 9 s).
    while standin.seen(PERMANENT).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(15)).await;
    proxy.restore();
    let outcomes = tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Installed { .. }]),
        "{outcomes:?}"
    );
    assert_eq!(
        db.sql("SELECT status, sealed_code IS NOT NULL FROM corp_auth_corps WHERE corpid = 'wwCorp0054'"),
        "installed|t"
    );
    assert_eq!(exchanges_sent(&standin), [auth_code(54)]);
}

/// An instance (one connection, through `proxy`) whose redirect of code 61
/// fails at the failpoint: its claim reaches the server and commits, the
/// answer is lost (and, with `refuse`, every later connection is refused
/// too, so the release cannot happen either).
async fn lose_a_claim_answer(refuse: bool) -> (TestDb, PgProxy, StandIn, Installs) {
    let db = TestDb::new(if refuse { "lostclaim2" } else { "lostclaim1" });
    let proxy = PgProxy::start().await;
    let standin = StandIn::start().await;
    let pg = store::Postgres::builder(&db.url_via(&proxy))
        .unwrap()
        .timeout(Duration::from_secs(1))
        .connections(1)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let installs = installs_on(&standin, pg, Duration::from_secs(2), true).await;
    // An install first: every statement is prepared on the connection, so
    // the claim below is one round trip.
    answer_exchanges(&standin, [60, 61]);
    let state = installs.new_state().await.unwrap();
    installs.redeem(&state, &auth_code(60)).await.unwrap();
    let state = installs.new_state().await.unwrap();
    // The failpoint: the claim (the first statement carrying the code's
    // SHA-256) reaches the server and commits; its answer is lost, the
    // statement times out, the redirect fails.
    let hash: String = sha2::Sha256::digest(auth_code(61).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match refuse {
        true => proxy.lose_answers_and_refuse_from_statement_with(hash.as_bytes()),
        false => proxy.lose_answers_from_statement_with(hash.as_bytes()),
    }
    let err = installs.redeem(&state, &auth_code(61)).await.unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert_eq!(exchanges_sent(&standin), [auth_code(60)], "nothing more was sent");
    (db, proxy, standin, installs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_commit_answer_was_lost_is_released_and_another_instance_exchanges_the_code() {
    let (db, _proxy, standin, _installs) = lose_a_claim_answer(false).await;
    // The instance knew it never sent the code: it released the claim on a
    // new connection before the redirect failed.
    assert_eq!(db.sql("SELECT state FROM corp_auth_exchanges"), "done", "released");
    // The callback of the same code lands on another instance, which could
    // not tell an unsent claim from a spent code: it finds none.
    let other = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(1)).await;
    exchanged_once_by_its_callback(&other, &db, &standin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_claim_answer_that_cannot_be_released_is_taken_over_by_its_own_instance() {
    let (db, proxy, standin, installs) = lose_a_claim_answer(true).await;
    assert_eq!(
        db.sql("SELECT state FROM corp_auth_exchanges ORDER BY claimed_at"),
        "done\nsending",
        "the claim committed, its answer was lost, the release could not reach the database"
    );
    proxy.restore();
    // The callback of the same code on the same instance: it knows it never
    // sent the code, so its own claim is not in doubt — the code is
    // exchanged, once.
    exchanged_once_by_its_callback(&installs, &db, &standin).await;
}

/// Code 61's callback, delivered to and processed by `installs`: installed,
/// sent to WeCom once, nothing in doubt.
async fn exchanged_once_by_its_callback(installs: &Installs, db: &TestDb, standin: &StandIn) {
    deliver(installs, &create_auth(61), "lost").await.unwrap();
    let outcomes = drain(installs, db, Duration::from_secs(30)).await;
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Installed { corpid, .. }] if corpid == "wwCorp0061"),
        "{outcomes:?}"
    );
    assert_eq!(exchanges_sent(standin), [auth_code(60), auth_code(61)]);
    assert!(installs.in_doubt().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_replaced_after_one_timeout() {
    let db = TestDb::new("halfopen");
    let proxy = PgProxy::start().await;
    let standin = StandIn::start().await;
    let installs = installs_with_timeout(&standin, &db.url_via(&proxy), Duration::from_secs(5), true).await;
    // Every connection of the registry is open.
    for n in 0..store::CONNECTIONS * 2 {
        deliver(&installs, &create_auth(100 + n), &format!("w{n}"))
            .await
            .unwrap();
    }
    // A NAT drops their flows: no FIN, no RST; the kernel would retransmit
    // for ~15 minutes.
    proxy.silence_open_connections();
    let mut timeouts = 0;
    for n in 0..store::CONNECTIONS * 3 {
        let started = std::time::Instant::now();
        match deliver(&installs, &create_auth(200 + n), &format!("h{n}")).await {
            Ok(reply) => assert_eq!(reply, "success"),
            Err(err) => {
                assert!(matches!(err, Error::Registry { .. }), "{err:?}");
                assert!(
                    started.elapsed() < Duration::from_secs(8),
                    "bounded by the statement timeout"
                );
                timeouts += 1;
            }
        }
    }
    // Each silent connection cost one timeout, then was replaced.
    assert!((1..=store::CONNECTIONS).contains(&timeouts), "{timeouts} timeouts");
    let stored: usize = db.sql("SELECT count(*) FROM corp_auth_inbox").parse().unwrap();
    assert_eq!(stored, store::CONNECTIONS * 2 + store::CONNECTIONS * 3 - timeouts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_migrate_once() {
    let db = TestDb::new("migrate");
    let url = db.url();
    let starts: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { store::Postgres::connect(&url).await.map(drop) })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    assert_eq!(
        db.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM corp_auth_migrations"),
        "1,2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_no_key_here_opens_is_skipped_reported_once_and_left_for_an_instance_that_has_the_key() {
    let db = TestDb::new("badrow");
    let standin = StandIn::start().await;
    let old = installs(&standin, &db, &[("k-old", KEY2)], Duration::from_secs(1)).await;
    let new = installs(&standin, &db, &[("k-new", KEY1)], Duration::from_secs(1)).await;
    // A rolling key change: one event sealed under the old key, one under the new.
    deliver(&old, &create_auth(57), "o").await.unwrap();
    deliver(&new, &create_auth(58), "n").await.unwrap();
    answer_exchanges(&standin, [58]);
    let outcomes = new.process_pending().await.unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(
        outcomes.contains(&Outcome::Unreadable { key_id: "k-old".into() }),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Installed { corpid, .. } if corpid == "wwCorp0058"))
    );
    // Not claimed or reported again here; the instance with the old key
    // handles it.
    assert!(new.process_pending().await.unwrap().is_empty());
    answer_exchanges(&standin, [57]);
    let by_old = drain(&old, &db, Duration::from_secs(20)).await;
    assert!(
        by_old
            .iter()
            .any(|o| matches!(o, Outcome::Installed { corpid, .. } if corpid == "wwCorp0057")),
        "{by_old:?}"
    );
}

// --- retention -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_what_is_finished_keeps_what_is_not_and_an_old_replay_is_not_handled() {
    let db = TestDb::new("retention");
    let standin = StandIn::start().await;
    let installs = installs(&standin, &db, &[("k1", KEY1)], Duration::from_secs(30)).await;
    // A finished install, a ticket, an exchange in doubt, an unacknowledged outcome.
    answer_exchanges(&standin, [62]);
    deliver(&installs, &create_auth(62), "i").await.unwrap();
    deliver(
        &installs,
        &event(
            "suite_ticket",
            now(),
            &format!("<SuiteTicket><![CDATA[{TICKET}]]></SuiteTicket>"),
        ),
        "t",
    )
    .await
    .unwrap();
    installs.process_pending().await.unwrap();
    standin.queue(PERMANENT, [json!({"errcode": 0, "errmsg": "ok"})]);
    let state = installs.new_state().await.unwrap();
    let Outcome::InDoubt(doubt) = installs.redeem(&state, &auth_code(63)).await.unwrap() else {
        panic!("in doubt expected")
    };
    assert_eq!(doubt.id.len(), 16);
    let outcomes = installs.unacknowledged().await.unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(matches!(&outcomes[1].1, Outcome::InDoubt(d) if d.id == doubt.id && d.source == "redirect"));
    installs.acknowledge(outcomes[0].0).await.unwrap();
    // A month and a day pass.
    for sql in [
        "UPDATE corp_auth_inbox SET received_at = now() - interval '31 days'",
        "UPDATE corp_auth_outcomes SET created_at = now() - interval '31 days'",
        "UPDATE corp_auth_exchanges SET updated_at = now() - interval '31 days', claimed_at = now() - interval '31 days'",
    ] {
        db.sql(sql);
    }
    assert_eq!(installs.purge().await.unwrap(), 4, "2 callbacks, 1 outcome, 1 exchange");
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_inbox"), "0");
    assert_eq!(
        db.sql("SELECT state FROM corp_auth_exchanges"),
        "in_doubt",
        "kept until resolved"
    );
    assert_eq!(
        installs.unacknowledged().await.unwrap().len(),
        1,
        "kept until acknowledged"
    );
    assert_eq!(installs.corps().await.unwrap().len(), 1, "corps are never purged");
    // A replay of a callback older than the retention: answered, not stored,
    // never exchanged again.
    let old = event(
        "create_auth",
        now() - 31 * 24 * 3600,
        &format!("<AuthCode><![CDATA[{}]]></AuthCode>", auth_code(62)),
    );
    assert_eq!(deliver(&installs, &old, "r").await.unwrap(), "success");
    assert_eq!(db.sql("SELECT count(*) FROM corp_auth_inbox"), "0");
    assert_eq!(exchanges_sent(&standin), [auth_code(62), auth_code(63)]);
    // The operator resolves the doubt.
    assert!(installs.resolve_in_doubt(&doubt.id).await.unwrap());
    assert!(installs.in_doubt().await.unwrap().is_empty());
    assert!(!installs.resolve_in_doubt(&doubt.id).await.unwrap(), "once");
    // A retention shorter than WeCom's retries is refused.
    let pg = store::Postgres::connect(&db.url()).await.unwrap();
    let err = Installs::builder(suite(&standin).await, pg)
        .crypto(Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap())
        .encryption_key("k1", &KEY1)
        .retention(Duration::from_secs(60))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                setting: "retention",
                ..
            }
        ),
        "{err}"
    );
}
