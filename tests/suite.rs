//! The managed suite (`wecom::Suite`) against a stand-in WeCom on loopback
//! and a real Redis: `REDIS_URL`, or the project machines' server on
//! 127.0.0.1:6379. Tests that stop Redis start their own `redis-server`.

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/standin.rs"]
mod standin;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Logs, SECRETS, fast_retry};
use corp_auth::store::{Memory, Redis, Store, Versioned};
use corp_auth::wecom::{self, Suite};
use corp_auth::{Error, Secret};
use redis_server::OwnRedis;
use standin::StandIn;

const SUITE_ID: &str = "wwsuite0001";
const SUITE_SECRET: &str = "SENTINEL-suite-secret-0b0b";
const TICKET: &str = "SENTINEL-suite-ticket-3c3c";
const CORPID: &str = "wwcorp0001";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-e1e1";

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_string())
}

/// A prefix of this test's own, so tests share the server but no keys.
fn prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("corp-auth-test:{test}:{}:{nanos}", std::process::id())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn client(standin: &StandIn) -> wecom::Client {
    wecom::Client::builder()
        .base_url(&standin.url)
        .retry(fast_retry())
        .max_concurrent_requests(64)
        .build()
        .unwrap()
}

fn suite(standin: &StandIn, store: impl Store) -> Suite {
    Suite::builder(SUITE_ID, SUITE_SECRET)
        .client(client(standin))
        .store(store)
        .build()
        .unwrap()
}

fn redis(prefix: &str) -> Redis {
    Redis::open(&redis_url()).unwrap().prefix(prefix)
}

/// `n` concurrent `get_auth_info` calls on `suite`; all must succeed.
async fn burst(suite: &Suite, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let suite = suite.clone();
            tokio::spawn(async move { suite.get_auth_info(CORPID, PERMANENT_CODE).await })
        })
        .collect();
    for task in tasks {
        let info = task.await.unwrap().unwrap();
        assert_eq!(info.auth_corp_info.unwrap().corpid.as_deref(), Some(CORPID));
    }
}

// --- single flight ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_calls_on_a_cold_cache_fetch_one_suite_token_in_memory_and_on_redis() {
    for on_redis in [false, true] {
        let standin = StandIn::start().await;
        standin.with(|s| s.suite_token_delay = Duration::from_millis(100));
        let suite = if on_redis {
            suite(&standin, redis(&prefix("cold")))
        } else {
            suite(&standin, Memory::new())
        };
        assert!(suite.set_suite_ticket(TICKET, now()).await.unwrap());
        burst(&suite, 500).await;
        assert_eq!(standin.with(|s| s.suite_token_calls), 1, "redis: {on_redis}");
        assert_eq!(standin.with(|s| s.auth_info_calls), 500);
        assert!(standin.with(|s| s.tokens_seen.iter().all(|t| t == "suite-token-1")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_four_suites_on_one_redis_prefix_fetch_one_token_in_all() {
    for instances in [2, 4] {
        let standin = StandIn::start().await;
        standin.with(|s| s.suite_token_delay = Duration::from_millis(100));
        let prefix = prefix("instances");
        // Separate Suite values, each with its own connection: as separate
        // instances behind a load balancer.
        let suites: Vec<Suite> = (0..instances).map(|_| suite(&standin, redis(&prefix))).collect();
        suites[0].set_suite_ticket(TICKET, now()).await.unwrap();
        let bursts: Vec<_> = suites
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(async move { burst(&s, 200).await })
            })
            .collect();
        for b in bursts {
            b.await.unwrap();
        }
        assert_eq!(standin.with(|s| s.suite_token_calls), 1, "{instances} instances");
        assert_eq!(standin.with(|s| s.auth_info_calls), 200 * instances);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corp_tokens_are_fetched_once_per_corp_and_cached() {
    let standin = StandIn::start().await;
    let prefix = prefix("corp");
    let (a, b) = (suite(&standin, redis(&prefix)), suite(&standin, redis(&prefix)));
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let corp = if i % 4 < 2 { "wwcorpA" } else { "wwcorpB" };
        tasks.push(tokio::spawn(async move {
            (corp, s.corp_access_token(corp, PERMANENT_CODE).await.unwrap())
        }));
    }
    for t in tasks {
        let (corp, token) = t.await.unwrap();
        assert!(
            token.expose_secret().starts_with(&format!("corp-token-{corp}-")),
            "{corp}"
        );
    }
    assert_eq!(standin.with(|s| s.corp_token_calls), 2, "one per corp");
    assert_eq!(standin.with(|s| s.suite_token_calls), 1);
}

// --- expiry --------------------------------------------------------------------------

#[tokio::test]
async fn a_short_lived_token_is_refreshed_before_it_expires_and_never_served_expired() {
    let standin = StandIn::start().await;
    standin.with(|s| s.expires_in = Some(2));
    let suite = suite(&standin, redis(&prefix("expiry")));
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    let first = suite.suite_access_token().await.unwrap();
    assert_eq!(first.expose_secret(), "suite-token-1");
    // Within the first half of its 2 s life: cached.
    assert_eq!(suite.suite_access_token().await.unwrap(), first);
    assert_eq!(standin.with(|s| s.suite_token_calls), 1);
    // Past half its life (the margin is capped at half a short lifetime).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = suite.suite_access_token().await.unwrap();
    assert_eq!(second.expose_secret(), "suite-token-2");
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

// --- token errors -------------------------------------------------------------------

#[tokio::test]
async fn a_42009_refreshes_once_and_replays_once() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, redis(&prefix("42009")));
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    standin.with(|s| s.auth_info_codes.push_back(42009));
    let info = suite.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(info.auth_corp_info.unwrap().corpid.as_deref(), Some(CORPID));
    assert_eq!(standin.with(|s| s.suite_token_calls), 2, "one refresh");
    assert_eq!(standin.with(|s| s.auth_info_calls), 2, "one replay");
    assert_eq!(
        standin.with(|s| s.tokens_seen.clone()),
        vec!["suite-token-1", "suite-token-2"],
        "the replay carries the new token"
    );
    // Warm again: the next call uses the new token without a fetch.
    suite.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

#[tokio::test]
async fn repeated_40082_is_returned_after_one_replay_and_never_loops() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, Memory::new());
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    standin.with(|s| s.auth_info_codes.extend([40082, 40082, 40082, 40082]));
    let err = suite.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap_err();
    assert_eq!(err.code(), Some(40082));
    assert_eq!(standin.with(|s| s.auth_info_calls), 2);
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

#[tokio::test]
async fn the_one_shot_permanent_code_is_never_replayed_after_a_token_error() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, Memory::new());
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    standin.with(|s| {
        s.rejected.insert("suite-token-1".into());
    });
    let err = suite.get_permanent_code_v2(&"a".repeat(64)).await.unwrap_err();
    assert_eq!(err.code(), Some(42009));
    assert!(!err.request_may_have_been_processed(), "the auth_code was not consumed");
    assert_eq!(standin.with(|s| s.permanent_code_calls), 1, "not replayed");
    // The rejected token was dropped: the caller's retry gets a fresh one.
    let answer = suite.get_permanent_code_v2(&"a".repeat(64)).await.unwrap();
    assert_eq!(answer.permanent_code.expose_secret(), "permanent-code-1");
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

#[tokio::test]
async fn a_token_error_drops_the_token_only_if_the_store_still_holds_it() {
    let standin = StandIn::start().await;
    let prefix = prefix("stale-drop");
    let (a, b) = (suite(&standin, redis(&prefix)), suite(&standin, redis(&prefix)));
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    assert_eq!(a.suite_access_token().await.unwrap().expose_secret(), "suite-token-1");
    assert_eq!(b.suite_access_token().await.unwrap().expose_secret(), "suite-token-1");
    // A sees token 1 rejected and refreshes to token 2.
    standin.with(|s| {
        s.rejected.insert("suite-token-1".into());
    });
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
    // B then sees its token 1 rejected: it must not delete A's token 2, and
    // takes it from the store instead of fetching a third.
    b.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
    assert_eq!(b.suite_access_token().await.unwrap().expose_secret(), "suite-token-2");
}

// --- newer always wins -------------------------------------------------------------

#[tokio::test]
async fn a_stale_writer_cannot_overwrite_a_newer_token_or_ticket() {
    let store_prefix = prefix("stale");
    for store in [
        Arc::new(redis(&store_prefix)) as Arc<dyn Store>,
        Arc::new(Memory::new()),
    ] {
        let newer = Versioned {
            version: 200,
            value: Secret::new("newer"),
        };
        let older = Versioned {
            version: 100,
            value: Secret::new("older"),
        };
        let ttl = Duration::from_secs(60);
        assert!(store.put_if_newer("k", &newer, ttl).await.unwrap());
        assert!(!store.put_if_newer("k", &older, ttl).await.unwrap());
        assert!(
            !store.put_if_newer("k", &newer, ttl).await.unwrap(),
            "equal is not newer"
        );
        assert_eq!(store.get("k").await.unwrap(), Some(newer.clone()));
        // Compare-and-delete leaves another's value alone.
        assert!(!store.delete_if("k", &older).await.unwrap());
        assert!(store.delete_if("k", &newer).await.unwrap());
        assert_eq!(store.get("k").await.unwrap(), None);
        // Locks: one holder; only the holder releases.
        assert!(store.try_lock("l", "me", ttl).await.unwrap());
        assert!(!store.try_lock("l", "you", ttl).await.unwrap());
        store.unlock("l", "you").await.unwrap();
        assert!(!store.try_lock("l", "you", ttl).await.unwrap());
        store.unlock("l", "me").await.unwrap();
        assert!(store.try_lock("l", "you", ttl).await.unwrap());
    }
    // Tickets through two instances, the older one arriving last.
    let standin = StandIn::start().await;
    let prefix = prefix("tickets");
    let (a, b) = (suite(&standin, redis(&prefix)), suite(&standin, redis(&prefix)));
    let t = now();
    assert!(a.set_suite_ticket("ticket-new", t).await.unwrap());
    assert!(!b.set_suite_ticket("ticket-old", t - 600).await.unwrap());
    standin.with(|s| s.expected_ticket = Some("ticket-new".into()));
    b.suite_access_token().await.unwrap();
    // A ticket past its 30 minutes is not stored at all.
    assert!(!a.set_suite_ticket("ticket-ancient", t - 31 * 60).await.unwrap());
}

#[tokio::test]
async fn every_suite_keeps_its_own_ticket() {
    let standin = StandIn::start().await;
    let prefix = prefix("suites");
    let a = suite(&standin, redis(&prefix));
    let other = Suite::builder("wwsuite0002", SUITE_SECRET)
        .client(client(&standin))
        .store(redis(&prefix))
        .build()
        .unwrap();
    a.set_suite_ticket("ticket-a", now()).await.unwrap();
    let err = other.suite_access_token().await.unwrap_err();
    assert!(matches!(err, Error::SuiteTicketMissing { .. }), "{err:?}");
}

// --- missing ticket ---------------------------------------------------------------

#[tokio::test]
async fn without_a_ticket_the_error_says_where_tickets_come_from_and_nothing_is_sent() {
    let standin = StandIn::start().await;
    let suite = suite(&standin, redis(&prefix("no-ticket")));
    for err in [
        suite.suite_access_token().await.unwrap_err(),
        suite.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap_err(),
        suite.corp_access_token(CORPID, PERMANENT_CODE).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::SuiteTicketMissing { suite_id } if suite_id == SUITE_ID),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("suite_ticket") && text.contains("every 10 minutes"),
            "{text}"
        );
        assert!(text.contains("刷新Ticket"), "{text}");
        assert!(!err.is_retryable() && !err.request_may_have_been_processed());
    }
    assert_eq!(
        standin.with(|s| s.suite_token_calls + s.auth_info_calls + s.corp_token_calls),
        0
    );
}

// --- the lock holder dies ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_lock_holder_dies_another_instance_refreshes_after_the_lock_expires() {
    let standin = StandIn::start().await;
    let prefix = prefix("holder-dies");
    let build = || {
        Suite::builder(SUITE_ID, SUITE_SECRET)
            .client(client(&standin))
            .store(redis(&prefix))
            .lock_ttl(Duration::from_millis(800))
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    // A's refresh stalls at WeCom; its task is dropped mid-refresh, leaving
    // the lock in Redis with nobody to release it.
    standin.with(|s| s.suite_token_delay = Duration::from_secs(5));
    let holder = tokio::spawn(async move { a.suite_access_token().await });
    while standin.with(|s| s.suite_token_calls) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    holder.abort();
    standin.with(|s| s.suite_token_delay = Duration::ZERO);
    let started = Instant::now();
    let token = b.suite_access_token().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(token.expose_secret(), "suite-token-2");
    assert!(
        waited >= Duration::from_millis(500),
        "waited for the lock to expire: {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "no longer than needed: {waited:?}");
    assert_eq!(standin.with(|s| s.suite_token_calls), 2);
}

// --- Redis down ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_while_redis_is_down_and_are_shared_again_when_it_returns() {
    let mut server = OwnRedis::start();
    let standin = StandIn::start().await;
    let logs = Logs::capture();
    let url = server.url();
    // A generous command timeout: under a loaded CI machine a 500 ms
    // command can time out and count as a second outage; the stopped
    // server still fails at once (connection refused).
    let open = || {
        Redis::open(&url)
            .unwrap()
            .prefix("outage")
            .timeout(Duration::from_secs(5))
    };
    let a = suite(&standin, open());
    a.set_suite_ticket(TICKET, now()).await.unwrap();
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();

    server.stop();
    // A new ticket and new corps while Redis is down: all still work.
    assert!(a.set_suite_ticket("ticket-during-outage", now() + 1).await.unwrap());
    for corp in ["wwcorpX", "wwcorpY", "wwcorpZ"] {
        let token = a.corp_access_token(corp, PERMANENT_CODE).await.unwrap();
        assert!(token.expose_secret().starts_with("corp-token-"));
    }
    a.get_auth_info(CORPID, PERMANENT_CODE).await.unwrap();

    server.restart();
    tokio::time::sleep(Duration::from_millis(1100)).await; // the store's retry pause
    // Back on Redis: a token A fetches now is seen by a new instance B, and
    // the ticket that arrived during the outage reached Redis.
    let corp = a.corp_access_token("wwcorpW", PERMANENT_CODE).await.unwrap();
    let b = suite(&standin, open());
    assert_eq!(b.corp_access_token("wwcorpW", PERMANENT_CODE).await.unwrap(), corp);
    standin.with(|s| s.expected_ticket = Some("ticket-during-outage".into()));
    let c = Suite::builder(SUITE_ID, SUITE_SECRET)
        .client(client(&standin))
        .store(open())
        .build()
        .unwrap();
    c.suite_access_token().await.unwrap();

    let text = logs.text();
    let warnings = text.matches("the shared store failed").count();
    assert_eq!(warnings, 1, "one warning per outage:\n{text}");
    assert!(text.contains("the shared store answers again"), "{text}");
    for secret in SECRETS
        .iter()
        .chain(&["ticket-during-outage", "corp-token-", "suite-token-"])
    {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
    }
}

// --- secrets --------------------------------------------------------------------------

#[tokio::test]
async fn no_secret_in_debug_of_the_suite_its_builder_or_the_stores() {
    let standin = StandIn::start().await;
    let memory = Memory::new();
    let suite = suite(&standin, memory.clone());
    suite.set_suite_ticket(TICKET, now()).await.unwrap();
    suite.suite_access_token().await.unwrap();
    let redis = Redis::open("redis://:SENTINEL-redis-password@127.0.0.1:6379/").unwrap();
    let builder = Suite::builder(SUITE_ID, SUITE_SECRET).store(memory.clone());
    let printed = format!("{suite:?} {builder:?} {memory:?} {redis:?} {:?}", memory.get("x").await);
    assert!(
        !printed.contains("SENTINEL") && !printed.contains("suite-token"),
        "{printed}"
    );
    assert!(printed.contains(SUITE_ID), "{printed}");
}

#[tokio::test]
async fn bad_settings_are_config_errors() {
    for (id, secret, setting) in [
        ("", "s", "suite_id"),
        ("ww:1", "s", "suite_id"),
        ("ww1", "", "suite_secret"),
    ] {
        match Suite::builder(id, secret).build() {
            Err(Error::Config { setting: got, .. }) => assert_eq!(got, setting),
            other => panic!("{other:?}"),
        }
    }
    match Redis::open("not a url") {
        Err(Error::Config { setting, reason }) => {
            assert_eq!(setting, "redis_url");
            assert!(!reason.contains("not a url"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
