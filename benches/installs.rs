//! Callback answer latency with the durable inbox: `Installs::receive`
//! (verify, decrypt, seal, commit to PostgreSQL) under 200 concurrent
//! deliveries, against the same path without the durable write
//! (`Crypto::decrypt_event`: verify, decrypt, parse), same run, alternating
//! rounds. WeCom allows 1000 ms.
//!
//! `cargo bench --bench installs` (PostgreSQL on 127.0.0.1:5432, trust auth
//! for `postgres`; a database of its own is created and dropped).

#[path = "../tests/common/pg.rs"]
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use corp_auth::store;
use corp_auth::wecom::callback::Crypto;
use corp_auth::wecom::{Installs, Suite};
use pg::psql;

const TOKEN: &str = "corpAuthToken01";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const SUITE_ID: &str = "wwsuite0001";
const CONCURRENT: usize = 200;
const ROUNDS: usize = 10;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let db = format!("corp_auth_bench_{nanos}");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(&db));
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
}

async fn run(db: &str) {
    let crypto = Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap();
    let pg = store::Postgres::connect(&format!("postgres://postgres@127.0.0.1:5432/{db}"))
        .await
        .unwrap();
    let suite = Suite::builder(SUITE_ID, "suite-secret").build().unwrap();
    let installs = Installs::builder(suite, pg)
        .crypto(Crypto::new(TOKEN, AES_KEY, SUITE_ID).unwrap())
        .encryption_key("k1", &[7; 32])
        .build()
        .unwrap();
    let crypto = Arc::new(crypto);
    let mut durable = Vec::new();
    let mut bare = Vec::new();
    let mut n = 0;
    // Fresh timestamps: a callback older than the retention is a replay,
    // answered without being stored (which would measure nothing).
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    for _ in 0..ROUNDS {
        // Each round: 200 distinct create_auth callbacks, all at once.
        let deliveries: Vec<(String, String, String, String)> = (0..CONCURRENT)
            .map(|_| {
                n += 1;
                let xml = format!(
                    "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><AuthCode><![CDATA[auth-code-{n:08}-0000000000000000000000000000000000000000000000]]></AuthCode>\
                     <InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>{}</TimeStamp></xml>",
                    now + n
                );
                let ts = now.to_string();
                let nonce = format!("n{n}");
                let body = crypto.encrypt(&xml, &ts, &nonce).unwrap();
                let start = body.find("<MsgSignature><![CDATA[").unwrap() + 23;
                (body[start..start + 40].to_string(), ts, nonce, body)
            })
            .collect();
        let deliveries = Arc::new(deliveries);
        let tasks: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                let (installs, deliveries) = (installs.clone(), deliveries.clone());
                tokio::spawn(async move {
                    let (sig, ts, nonce, body) = &deliveries[i];
                    let started = Instant::now();
                    let reply = installs.receive(sig, ts, nonce, body).await.unwrap();
                    assert_eq!(reply, "success");
                    started.elapsed()
                })
            })
            .collect();
        for t in tasks {
            durable.push(t.await.unwrap());
        }
        let tasks: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                let (crypto, deliveries) = (crypto.clone(), deliveries.clone());
                tokio::spawn(async move {
                    let (sig, ts, nonce, body) = &deliveries[i];
                    let started = Instant::now();
                    crypto.decrypt_event(sig, ts, nonce, body).unwrap();
                    tokio::task::yield_now().await;
                    started.elapsed()
                })
            })
            .collect();
        for t in tasks {
            bare.push(t.await.unwrap());
        }
    }
    // Every delivery was stored: the durable path was measured.
    assert_eq!(
        psql(db, "SELECT count(*) FROM corp_auth_inbox"),
        (CONCURRENT * ROUNDS).to_string()
    );
    durable.sort();
    bare.sort();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "callback answer latency, {CONCURRENT} concurrent deliveries x {ROUNDS} rounds, {cores} cores, PostgreSQL on loopback"
    );
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let (d, b) = (percentile(&durable, p), percentile(&bare, p));
        println!(
            "{name}: durable (verify + seal + commit) {:.2} ms, without the durable write {:.3} ms, ratio {:.0}; WeCom allows 1000 ms",
            d.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            d.as_secs_f64() / b.as_secs_f64()
        );
    }
}
