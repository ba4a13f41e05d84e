//! Shared state as production runs it: refreshing through a Redis outage
//! with the ticket this instance saw, `rediss://` with a private CA, a real
//! three-master Redis Cluster with a master stopped and brought back, and
//! rate-limit cool-downs shared through the store. Every server is a
//! `redis-server` the test starts and stops (tests/common/redis_server.rs).

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/standin.rs"]
mod standin;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Logs, SECRETS, fast_retry};
use corp_auth::store::{Redis, Store, Versioned};
use corp_auth::wecom::{self, Suite};
use corp_auth::{Error, Operation, Secret};
use redis_server::{OwnCluster, OwnRedis, TestPki};
use standin::StandIn;

const SUITE_ID: &str = "wwsuite0001";
const SUITE_SECRET: &str = "SENTINEL-suite-secret-0b0b";
const TICKET: &str = "SENTINEL-suite-ticket-3c3c";
const CORPID: &str = "wwcorp0001";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-e1e1";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn suite(standin: &StandIn, store: impl Store) -> Suite {
    let client = wecom::Client::builder()
        .base_url(&standin.url)
        .retry(fast_retry())
        .max_concurrent_requests(64)
        .build()
        .unwrap();
    Suite::builder(SUITE_ID, SUITE_SECRET)
        .client(client)
        .store(store)
        .build()
        .unwrap()
}

// --- refresh through an outage -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_refreshed_while_redis_is_down_with_the_ticket_this_instance_saw() {
    let mut server = OwnRedis::start();
    let standin = StandIn::start().await;
    let logs = Logs::capture();
    let url = server.url();
    let open = || Redis::open(&url).unwrap().prefix("refresh-outage");
    let a = suite(&standin, open());
    // The ticket is set while Redis is up: it lives in Redis and in `a`.
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    standin.with(|s| s.expected_ticket = Some(TICKET.into()));
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(standin.with(|s| s.suite_token_calls), 1);

    server.stop();
    // WeCom rejects the current token: the refresh needs the ticket, which
    // the (empty) in-process fallback does not have, but `a` does.
    standin.with(|s| s.rejected.insert("suite-token-1".into()));
    let info = a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(info.auth_corp_info.unwrap().corpid.as_deref(), Some(CORPID));
    assert_eq!(standin.with(|s| s.suite_token_calls), 2, "refreshed during the outage");
    assert_eq!(
        standin.with(|s| s.tokens_seen.last().cloned()).unwrap(),
        "suite-token-2"
    );

    // Redis comes back empty (it keeps nothing on disk). The next refresh
    // writes the token and repairs the ticket there, newer winning as always.
    server.restart();
    tokio::time::sleep(Duration::from_millis(1100)).await; // the store's retry pause
    standin.with(|s| s.rejected.insert("suite-token-2".into()));
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(standin.with(|s| s.suite_token_calls), 3);
    // A new instance that never saw the ticket shares both.
    let b = suite(&standin, open());
    assert_eq!(b.suite_access_token().await.unwrap().expose_secret(), "suite-token-3");
    let raw = open().get("wecom:wwsuite0001:suite_ticket").await.unwrap().unwrap();
    assert_eq!(raw.value.expose_secret(), TICKET, "the ticket is back in Redis");
    assert_eq!(standin.with(|s| s.suite_token_calls), 3, "b fetched nothing");

    let text = logs.text();
    for secret in SECRETS.iter().chain(&["suite-token-"]) {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_during_the_outage_is_refreshed_and_never_served_expired() {
    let mut server = OwnRedis::start();
    let standin = StandIn::start().await;
    standin.with(|s| s.expires_in = Some(2));
    let a = suite(&standin, Redis::open(&server.url()).unwrap().prefix("expiry-outage"));
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    let first = a.suite_access_token().await.unwrap();
    server.stop();
    // Half the 2 s lifetime is the refresh margin: after 1.1 s it is renewed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = a.suite_access_token().await.unwrap();
    assert_ne!(first, second);
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

// --- TLS --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_is_shared_by_every_instance() {
    let pki = TestPki::new();
    let server = pki.tls_server();
    let standin = StandIn::start().await;
    let url = format!("rediss://127.0.0.1:{}/", server.port);
    let open = || {
        Redis::open(&url)
            .unwrap()
            .tls_ca_pem(&pki.ca_pem())
            .unwrap()
            .prefix("tls")
    };
    let store = open();
    let entry = Versioned {
        version: 7,
        value: Secret::new("over-tls"),
    };
    assert!(
        store
            .put_if_newer("probe", &entry, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(store.get("probe").await.unwrap(), Some(entry));
    // Two instances over TLS: one fetch.
    let (a, b) = (suite(&standin, open()), suite(&standin, open()));
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    let token = a.suite_access_token().await.unwrap();
    assert_eq!(b.suite_access_token().await.unwrap(), token);
    assert_eq!(standin.with(|s| s.suite_token_calls), 1);

    // Without the CA the server's certificate is not trusted: a store error
    // (that names no secret), never a plaintext fallback.
    let untrusted = Redis::open(&url).unwrap().prefix("tls");
    let err = untrusted.get("probe").await.unwrap_err();
    assert!(err.to_string().starts_with("store error: redis"), "{err}");
}

#[test]
fn tls_settings_that_cannot_work_are_config_errors() {
    let setting = |err: Error| match err {
        Error::Config { setting, reason } => format!("{setting}: {reason}"),
        other => panic!("{other:?}"),
    };
    let err = Redis::open("rediss://127.0.0.1:6380/")
        .unwrap()
        .tls_ca_pem(b"not a certificate")
        .unwrap_err();
    assert_eq!(setting(err), "tls_ca_pem: no certificate in the PEM");
    let pki = TestPki::new();
    let err = Redis::open("redis://127.0.0.1:6379/")
        .unwrap()
        .tls_ca_pem(&pki.ca_pem())
        .unwrap_err();
    assert_eq!(setting(err), "tls_ca_pem: a CA only applies to a rediss:// URL");
    let err = Redis::cluster::<&str>(&[]).unwrap_err();
    assert_eq!(setting(err), "redis_url: a cluster needs at least one node's URL");
}

// --- Redis Cluster ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_shares_tokens_and_calls_go_on_while_a_master_is_down() {
    let mut cluster = OwnCluster::start();
    let standin = StandIn::start().await;
    let logs = Logs::capture();
    let urls = cluster.urls();
    let open = || Redis::cluster(&urls).unwrap().prefix("cluster");
    let (a, b) = (suite(&standin, open()), suite(&standin, open()));
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    // 200 concurrent calls over two instances: one suite token; corps spread
    // over the slots of all three masters: one corp token each.
    let corps: Vec<String> = (0..12).map(|i| format!("wwcorp{i:02}")).collect();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let suite = if i % 2 == 0 { a.clone() } else { b.clone() };
            let corp = corps[i % corps.len()].clone();
            tokio::spawn(async move { suite.corp_access_token(&corp, PERMANENT_CODE).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(standin.with(|s| s.suite_token_calls), 1);
    assert_eq!(standin.with(|s| s.corp_token_calls), corps.len());

    // A master stops: the calls go on (the in-process fallback), and a token
    // that needs refreshing is refreshed with the ticket `a` holds.
    cluster.nodes[1].stop();
    standin.with(|s| s.rejected.insert("suite-token-1".into()));
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    for corp in ["wwcorpNew1", "wwcorpNew2", "wwcorpNew3"] {
        a.corp_access_token(corp, PERMANENT_CODE).await.unwrap();
    }
    assert!(logs.text().contains("the shared store failed"), "{}", logs.text());

    // It comes back (its node file keeps its slots): shared again.
    cluster.nodes[1].restart();
    cluster.wait_ok();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let late = a.corp_access_token("wwcorpLate", PERMANENT_CODE).await.unwrap();
    let c = suite(&standin, open());
    assert_eq!(c.corp_access_token("wwcorpLate", PERMANENT_CODE).await.unwrap(), late);
}

#[tokio::test]
async fn a_value_and_its_lock_share_a_cluster_slot() {
    let cluster = OwnCluster::start();
    let store = Redis::cluster(&cluster.urls()).unwrap().prefix("slots");
    // Keys that hash to different slots all work through one store, and a
    // value's lock is in the value's slot (the script and the lock of one
    // key never cross slots, so no CROSSSLOT).
    for i in 0..30 {
        let key = format!("wecom:s:corp:c{i}:access_token");
        let entry = Versioned {
            version: i,
            value: Secret::new("v"),
        };
        assert!(store.put_if_newer(&key, &entry, Duration::from_secs(30)).await.unwrap());
        assert!(
            store
                .try_lock(&format!("{key}:lock"), "me", Duration::from_secs(5))
                .await
                .unwrap()
        );
        assert!(
            !store
                .try_lock(&format!("{key}:lock"), "other", Duration::from_secs(5))
                .await
                .unwrap()
        );
        store.unlock(&format!("{key}:lock"), "me").await.unwrap();
        assert!(store.delete_if(&key, &entry).await.unwrap());
    }
    let slot = |key: &str| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &cluster.nodes[0].port.to_string(), "cluster", "keyslot", key])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        slot("slots:{wecom:s:suite_access_token}"),
        slot("slots:{wecom:s:suite_access_token}:lock")
    );
}

// --- rate-limit cool-downs -------------------------------------------------------------

#[tokio::test]
async fn a_rate_limit_cools_calls_of_its_kind_down_on_every_instance() {
    let standin = StandIn::start().await;
    let prefix = format!("cooldown-{}-{}", std::process::id(), now());
    let open = || Redis::open("redis://127.0.0.1:6379/").unwrap().prefix(prefix.clone());
    let a = suite(&standin, open());
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    standin.with(|s| s.auth_info_codes.push_back(45009));
    let err = a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap_err();
    assert_eq!(err.code(), Some(45009));
    assert_eq!(standin.with(|s| s.auth_info_calls), 1);

    // The next call of that kind is refused here, nothing sent.
    let err = a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap_err();
    let Error::CoolingDown { operation, code, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*operation, *code), (Operation::GetAuthInfo, 45009));
    assert!(err.is_retryable());
    assert!(!err.request_may_have_been_processed());
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("接口调用超过限制") && text.contains("cooling down"),
        "{text}"
    );
    assert!(!SECRETS.iter().any(|s| text.contains(s)), "{text}");
    assert_eq!(standin.with(|s| s.auth_info_calls), 1, "not sent");
    // Other kinds of call are not affected.
    a.corp_access_token(CORPID, PERMANENT_CODE).await.unwrap();

    // Another instance learns of it through the store before it sends.
    let b = suite(&standin, open());
    let err = b.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap_err();
    assert!(matches!(err, Error::CoolingDown { code: 45009, .. }), "{err:?}");
    assert_eq!(standin.with(|s| s.auth_info_calls), 1, "b sent nothing either");
}
