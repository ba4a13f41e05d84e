//! The corp's JS-SDK tickets, managed (`x-cached-as` in the spec): cached
//! per (suite, corp) under the corp token they were fetched with, fetched
//! once per fleet through the store, never kept past that token, refetched
//! with a fresh token when WeCom rejects it, dropped when the corp cancels;
//! and the page signatures made with them. Against a scripted WeCom on
//! loopback and the local Redis.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use std::time::Duration;

use corp_auth::store::Redis;
use corp_auth::wecom::{self, Corp, Suite, jssdk};
use corp_auth::{Error, Operation};
use serde_json::json;
use wecom_standin::StandIn;

const JSAPI: &str = "/cgi-bin/get_jsapi_ticket";
const AGENT: &str = "/cgi-bin/ticket/get";
const CORP_TOKEN: &str = "/cgi-bin/service/get_corp_token";
const REDIS: &str = "redis://127.0.0.1:6379/";

/// A prefix of its own per test run, so runs never share keys.
fn prefix(test: &str) -> String {
    format!("corp-tickets-{test}-{}-{}", std::process::id(), common::now_secs())
}

/// One instance of the ISV: its own suite (own local caches) on `store`.
async fn instance(standin: &StandIn, store: Redis) -> Suite {
    let suite = Suite::builder("wwsuite0001", "SENTINEL-suite-secret")
        .client(common::wecom_client(&standin.url))
        .store(store)
        .build()
        .unwrap();
    suite
        .set_suite_ticket("SENTINEL-ticket", common::now_secs())
        .await
        .unwrap();
    suite
}

fn corp(suite: &Suite, corpid: &str) -> Corp {
    suite.corp(corpid, format!("SENTINEL-permanent-{corpid}"))
}

#[tokio::test]
async fn two_instances_and_many_tasks_fetch_each_ticket_once_per_corp() {
    let standin = StandIn::start().await;
    standin.delay(JSAPI, Duration::from_millis(100));
    standin.delay(AGENT, Duration::from_millis(100));
    let prefix = prefix("fleet");
    let a = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    let b = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    let corps = ["wwCorpA", "wwCorpB", "wwCorpC"];
    let mut tasks = Vec::new();
    for i in 0..60 {
        let suite = if i % 2 == 0 { a.clone() } else { b.clone() };
        let corpid = corps[i % corps.len()];
        tasks.push(tokio::spawn(async move {
            let corp = corp(&suite, corpid);
            let (jsapi, agent) = tokio::join!(corp.jsapi_ticket(), corp.agent_config_ticket());
            (corpid, jsapi.unwrap(), agent.unwrap())
        }));
    }
    let mut by_corp = std::collections::BTreeMap::new();
    for t in tasks {
        let (corpid, jsapi, agent) = t.await.unwrap();
        let seen = by_corp.entry(corpid).or_insert_with(|| (jsapi.clone(), agent.clone()));
        assert_eq!(
            seen.0, jsapi,
            "{corpid}: every task and instance gets the same corp ticket"
        );
        assert_eq!(seen.1, agent, "{corpid}: the same app ticket");
    }
    assert_eq!(standin.seen(JSAPI).len(), 3, "one corp-ticket fetch per corp");
    assert_eq!(standin.seen(AGENT).len(), 3, "one app-ticket fetch per corp");
    assert_eq!(standin.seen(CORP_TOKEN).len(), 3, "one corp token per corp");
    // Each fetched with its own corp's token; the app ticket with type=agent_config.
    let tokens: std::collections::BTreeSet<String> = standin
        .seen(JSAPI)
        .iter()
        .map(|s| s.query["access_token"].clone())
        .collect();
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    for s in standin.seen(AGENT) {
        assert_eq!(s.query.get("type").map(String::as_str), Some("agent_config"));
        assert_eq!(s.method, "GET");
    }
    for s in standin.seen(JSAPI) {
        assert!(!s.query.contains_key("type"), "a type on get_jsapi_ticket is 91040");
        assert!(!s.query.contains_key("suite_access_token"), "never the suite token");
    }
    // The three corps' tickets are three different tickets.
    let distinct: std::collections::BTreeSet<String> =
        by_corp.values().map(|(j, _)| j.expose_secret().to_string()).collect();
    assert_eq!(distinct.len(), 3);
    // Warm: no further fetch, on either instance.
    corp(&a, "wwCorpA").jsapi_ticket().await.unwrap();
    corp(&b, "wwCorpB").agent_config_ticket().await.unwrap();
    assert_eq!(standin.seen(JSAPI).len() + standin.seen(AGENT).len(), 6);
}

#[tokio::test]
async fn a_rejected_corp_token_is_refreshed_once_and_the_ticket_fetched_once_more() {
    let standin = StandIn::start().await;
    standin.queue(
        JSAPI,
        [json!({"errcode": 42001, "errmsg": "access_token expired, hint: [x], from ip: 1.2.3.4"})],
    );
    let suite = instance(&standin, Redis::open(REDIS).unwrap().prefix(prefix("rejected"))).await;
    let corp_a = corp(&suite, "wwCorpA");
    let ticket = corp_a.jsapi_ticket().await.unwrap();
    assert_eq!(ticket.expose_secret(), "jsapi-ticket-1");
    let seen = standin.seen(JSAPI);
    assert_eq!(seen.len(), 2, "one replay");
    assert_eq!(seen[0].query["access_token"], "corp-token-1");
    assert_eq!(
        seen[1].query["access_token"], "corp-token-2",
        "replayed with the fresh token"
    );
    assert_eq!(standin.seen(CORP_TOKEN).len(), 2, "one refresh");

    // Rejected twice: the second rejection is the caller's error, no loop.
    standin.queue(AGENT, [json!({"errcode": 40014, "errmsg": "invalid access_token"})]);
    standin.queue(AGENT, [json!({"errcode": 40014, "errmsg": "invalid access_token"})]);
    let err = corp_a.agent_config_ticket().await;
    assert_eq!(
        err.unwrap_err().code(),
        Some(40014),
        "rejected, refreshed, rejected again: the caller's error"
    );
    assert_eq!(standin.seen(AGENT).len(), 2, "one replay, no loop");
    standin.queue(
        JSAPI,
        [json!({"errcode": 40014, "errmsg": "invalid access_token corp-token-4"})],
    );
    let err = corp(&suite, "wwCorpB").jsapi_ticket().await;
    assert!(err.is_ok(), "{err:?}");
    standin.queue(JSAPI, [json!({"errcode": 48002, "errmsg": "api forbidden"})]);
    let err = corp(&suite, "wwCorpC").jsapi_ticket().await.unwrap_err();
    assert_eq!(err.code(), Some(48002));
    assert_eq!(err.operation(), Some(Operation::GetJsapiTicket));
    common::assert_no_secret(&err);
}

#[tokio::test]
async fn a_ticket_never_outlives_the_corp_token_it_was_fetched_with() {
    let standin = StandIn::start().await;
    // A corp token that lives 4 s (refreshed after 2 s: half its life), a
    // ticket that claims 7200 s.
    standin.queue(CORP_TOKEN, [json!({"access_token": "corp-short", "expires_in": 4})]);
    let prefix = prefix("outlive");
    let suite = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    let corp = corp(&suite, "wwCorpA");
    let first = corp.jsapi_ticket().await.unwrap();
    assert_eq!(first.expose_secret(), "jsapi-ticket-1");
    // In the store, the ticket's expiry is the token's, not 7200 s.
    let ttl = |pattern: &str| -> Vec<i64> {
        let keys = redis_cli(&["--scan", "--pattern", &format!("{prefix}:*{pattern}*")]);
        keys.lines()
            .filter(|k| !k.is_empty() && !k.ends_with(":lock") && !k.contains("cooldown"))
            .map(|k| redis_cli(&["PTTL", k]).trim().parse().unwrap())
            .collect()
    };
    let token_ttl = ttl("corp:wwCorpA:access_token}");
    let ticket_ttl = ttl("/jsapi_ticket/");
    assert_eq!(
        (token_ttl.len(), ticket_ttl.len()),
        (1, 1),
        "{token_ttl:?} {ticket_ttl:?}"
    );
    assert!(
        ticket_ttl[0] <= token_ttl[0] && ticket_ttl[0] > 0,
        "ticket {ticket_ttl:?} ms, token {token_ttl:?} ms"
    );
    // Warm within the token's life: the same ticket.
    assert_eq!(corp.jsapi_ticket().await.unwrap(), first);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // The token is refreshed: the ticket is fetched again, with the new token.
    let second = corp.jsapi_ticket().await.unwrap();
    assert_eq!(second.expose_secret(), "jsapi-ticket-2");
    let seen = standin.seen(JSAPI);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].query["access_token"], "corp-short");
    assert_eq!(seen[1].query["access_token"], "corp-token-1", "the next minted token");
}

#[tokio::test]
async fn cancel_auth_drops_the_corp_token_and_its_tickets_everywhere() {
    let standin = StandIn::start().await;
    let prefix = prefix("cancel");
    let a = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    let b = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    corp(&a, "wwCorpA").jsapi_ticket().await.unwrap();
    corp(&a, "wwCorpA").agent_config_ticket().await.unwrap();
    let keys = || redis_cli(&["--scan", "--pattern", &format!("{prefix}:*wwCorpA*")]);
    assert_eq!(keys().lines().filter(|k| !k.is_empty()).count(), 3, "{}", keys());
    // No store key carries a secret: ids and a version only.
    for key in keys().lines() {
        assert!(
            !key.contains("corp-token") && !key.contains("ticket-") && !key.contains("SENTINEL"),
            "{key}"
        );
    }
    let cancel = wecom::callback::Event::parse(&format!(
        "<xml><SuiteId><![CDATA[wwsuite0001]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType>\
         <TimeStamp>{}</TimeStamp><AuthCorpId><![CDATA[wwCorpA]]></AuthCorpId></xml>",
        common::now_secs()
    ))
    .unwrap();
    assert!(!b.handle_event(&cancel).await.unwrap());
    assert_eq!(keys().trim(), "", "the token and both tickets are gone from the store");
    // Another instance's next call fetches afresh (the store is the truth
    // for a cold instance).
    let c = instance(&standin, Redis::open(REDIS).unwrap().prefix(&prefix)).await;
    corp(&c, "wwCorpA").jsapi_ticket().await.unwrap();
    assert_eq!(standin.seen(JSAPI).len(), 2);
    assert_eq!(standin.seen(CORP_TOKEN).len(), 2);
}

#[tokio::test]
async fn page_signatures_are_made_with_the_managed_tickets() {
    let standin = StandIn::start().await;
    let suite = instance(&standin, Redis::open(REDIS).unwrap().prefix(prefix("sign"))).await;
    let corp = corp(&suite, "wwCorpA");
    let url = "https://app.example.com/h5/index.html?from=menu#/detail";
    let before = common::now_secs();
    let page = corp.js_sign(url).await.unwrap();
    let agent = corp.js_agent_sign(url).await.unwrap();
    assert!(
        page.timestamp >= before && page.timestamp <= common::now_secs() + 1,
        "seconds, not ms"
    );
    assert_eq!(page.nonce_str.len(), 16);
    assert!(page.nonce_str.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(page.nonce_str, agent.nonce_str, "a fresh nonce per signature");
    // Exactly WeCom's algorithm over the managed tickets, fragment left out.
    assert_eq!(
        page.signature,
        jssdk::sign("jsapi-ticket-1", &page.nonce_str, page.timestamp, url)
    );
    assert_eq!(
        agent.signature,
        jssdk::sign("agent-ticket-1", &agent.nonce_str, agent.timestamp, url)
    );
    assert_ne!(page.signature, agent.signature);
    // What the page gets, as JSON: the names the JS-SDK takes.
    let json = serde_json::to_value(&page).unwrap();
    assert_eq!(json["nonceStr"], page.nonce_str.as_str());
    assert_eq!(json["timestamp"], page.timestamp);
    assert_eq!(json["signature"], page.signature.as_str());
}

#[tokio::test]
async fn the_raw_ticket_calls_stay_on_the_client_and_decode_wecoms_answer() {
    let standin = StandIn::start().await;
    standin.default(
        JSAPI,
        json!({"errcode": 0, "errmsg": "ok", "ticket": "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA", "expires_in": 7200}),
    );
    let client = common::wecom_client(&standin.url);
    let ticket: wecom::JsapiTicket = client.get_jsapi_ticket("corp-token-raw").await.unwrap();
    assert_eq!(ticket.expires_in, Duration::from_secs(7200));
    assert!(ticket.ticket.expose_secret().starts_with("bxLdikRX"));
    assert!(
        !format!("{ticket:?}").contains("bxLdikRX"),
        "Debug never shows the ticket"
    );
    let seen = standin.seen(JSAPI);
    assert_eq!(seen[0].query["access_token"], "corp-token-raw");
    // An empty ticket is refused, not cached as a ticket (silenceper PR #883).
    standin.default(
        JSAPI,
        json!({"errcode": 0, "errmsg": "ok", "ticket": "", "expires_in": 7200}),
    );
    let err = client.get_jsapi_ticket("corp-token-raw").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
}

/// `redis-cli` against the local Redis, its output.
fn redis_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379"])
        .args(args)
        .output()
        .expect("redis-cli on PATH");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
