//! The managed suite's cost and its single flight:
//! - a warm managed `Suite::get_auth_info` vs the same `Client::get_auth_info`
//!   with a fixed token, in the same run (in-memory store, Redis store);
//! - suite-token fetches per refresh under 1,000 concurrent callers spread
//!   over 4 instances sharing one Redis prefix (the goal is 1).
//!
//! `cargo bench --bench suite` (Redis on 127.0.0.1:6379, or `REDIS_URL`).

mod common;
#[path = "../tests/common/standin.rs"]
mod standin;

use std::future::IntoFuture;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use corp_auth::store::{Memory, Redis, Store};
use corp_auth::wecom::{self, Suite};

const TOKEN: &str = "suite-access-token-0123456789abcdef0123456789abcdef";
const CORPID: &str = "wwcorp0001";
const CODE: &str = "permanent-code-0123456789abcdef";

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_string())
}

fn prefix(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("corp-auth-bench:{name}:{nanos}")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("managed suite on {} (loopback, keep-alive)", machine());
    // One answer for every path: get_auth_info's fields and a suite token.
    let answer: &'static str = Box::leak(
        format!(r#"{{"errcode":0,"errmsg":"ok","suite_access_token":"{TOKEN}","expires_in":7200,"auth_corp_info":{{"corpid":"{CORPID}","corp_name":"示例企业","corp_type":"verified"}},"auth_info":{{"agent":[{{"agentid":1,"name":"NAME","privilege":{{"level":1,"allow_party":[1,2,3]}}}}]}}}}"#)
            .into_boxed_str(),
    );
    let url = rt.block_on(serve(answer));
    let wc = wecom::Client::builder().base_url(&url).build().unwrap();

    type MakeStore = Box<dyn Fn() -> Box<dyn StoreBox>>;
    let stores: Vec<(&str, MakeStore, f64)> = vec![
        (
            "warm managed get_auth_info, Memory store",
            Box::new(|| Box::new(Memory::new()) as Box<dyn StoreBox>),
            1.02,
        ),
        (
            "warm managed get_auth_info, Redis store",
            Box::new(|| Box::new(Redis::open(&redis_url()).unwrap().prefix(prefix("warm"))) as Box<dyn StoreBox>),
            1.05,
        ),
    ];
    for (name, store, goal) in stores {
        let suite = store().into_suite(wc.clone());
        rt.block_on(suite.set_suite_ticket("ticket", now())).unwrap();
        let m = ab(
            61,
            200,
            || {
                let info = rt.block_on(suite.get_auth_info(CORPID, CODE).into_future()).unwrap();
                assert_eq!(info.auth_info.unwrap().agent.len(), 1);
            },
            || {
                let info = rt
                    .block_on(wc.get_auth_info(TOKEN, CORPID, CODE).into_future())
                    .unwrap();
                assert_eq!(info.auth_info.unwrap().agent.len(), 1);
            },
        );
        report(name, &m, 1, goal);
        // The managed layer alone: a warm token lookup, 100,000 in a row.
        let per_lookup = rt.block_on(async {
            let started = std::time::Instant::now();
            for _ in 0..100_000 {
                std::hint::black_box(suite.suite_access_token().await.unwrap());
            }
            started.elapsed() / 100_000
        });
        println!(
            "  warm token lookup alone: {:.0} ns = {:.2} % of the fixed-token call ({:.1} µs)",
            per_lookup.as_nanos(),
            per_lookup.as_secs_f64() / m.b.as_secs_f64() * 100.0,
            m.b.as_secs_f64() * 1e6
        );
    }

    // Single flight: 1,000 callers over 4 instances on a cold shared cache.
    let mut counts = Vec::new();
    for _ in 0..5 {
        let fetches = rt.block_on(async {
            let standin = standin::StandIn::start().await;
            standin.with(|s| s.suite_token_delay = Duration::from_millis(50));
            let prefix = prefix("flight");
            let client = wecom::Client::builder()
                .base_url(&standin.url)
                .max_concurrent_requests(256)
                .build()
                .unwrap();
            let suites: Vec<Suite> = (0..4)
                .map(|_| {
                    Suite::builder("wwsuite01", "secret")
                        .client(client.clone())
                        .store(Redis::open(&redis_url()).unwrap().prefix(&prefix))
                        .build()
                        .unwrap()
                })
                .collect();
            suites[0].set_suite_ticket("ticket", now()).await.unwrap();
            let mut set = tokio::task::JoinSet::new();
            for i in 0..1000 {
                let suite = suites[i % 4].clone();
                set.spawn(async move { suite.get_auth_info(CORPID, CODE).await.unwrap() });
            }
            while let Some(done) = set.join_next().await {
                done.unwrap();
            }
            standin.with(|s| s.suite_token_calls)
        });
        counts.push(fetches);
    }
    println!(
        "suite-token fetches per cold refresh, 1,000 callers over 4 instances on one Redis prefix: {counts:?} (goal 1 each)"
    );
}

/// A store that can build a suite (boxing `impl Store` for the table above).
trait StoreBox {
    fn into_suite(self: Box<Self>, client: wecom::Client) -> Suite;
}

impl<S: Store> StoreBox for S {
    fn into_suite(self: Box<Self>, client: wecom::Client) -> Suite {
        Suite::builder("wwsuite01", "secret")
            .client(client)
            .store(*self)
            .build()
            .unwrap()
    }
}
