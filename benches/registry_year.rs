//! Claim and answer latency of the install registry holding a year of
//! data, against an empty registry, same run, alternating rounds.
//!
//! The full registry: 20 suites' suite tickets for a year (one every ten
//! minutes each: 1,051,200 processed inbox rows, kept — retention 400
//! days), 10,000 installed corps with sealed permanent codes, 10,000
//! finished exchanges and 10,000 acknowledged outcomes. Measured on one of
//! the 20 suites: the answer (`receive` of a new callback: verify, seal,
//! commit) and the claim (`process_pending` with one pending event: stale
//! claims check, claim, handle, finish), one at a time, so the figure is
//! the statements' own cost, not queueing.
//!
//! `cargo bench --bench registry_year` (PostgreSQL on 127.0.0.1:5432, trust
//! auth for `postgres`; two databases of its own, created and dropped).
//! `CORP_AUTH_BENCH_DROP_INDEXES=1` drops the queue's partial indexes
//! first, to see what the bench shows without them.

#[path = "../tests/common/pg.rs"]
mod pg;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use corp_auth::store;
use corp_auth::wecom::callback::Crypto;
use corp_auth::wecom::{Installs, Suite};
use pg::psql;

const TOKEN: &str = "corpAuthToken01";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const SUITES: i64 = 20;
const CORPS: i64 = 10_000;
/// A ticket every ten minutes, for a year, per suite.
const TICKETS_PER_SUITE: i64 = 6 * 24 * 365;
const ROUNDS: usize = 6;
const PER_ROUND: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let (empty, full) = (
        format!("corp_auth_year_empty_{nanos}"),
        format!("corp_auth_year_full_{nanos}"),
    );
    for db in [&empty, &full] {
        psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(&empty, &full));
    for db in [&empty, &full] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    }
}

/// A year of rows, written straight into the migrated tables.
fn load_a_year(db: &str) {
    let started = Instant::now();
    psql(
        db,
        &format!(
            "INSERT INTO corp_auth_inbox (suite_id, fingerprint, info_type, key_id, sealed, received_at, state, attempts, outcome) \
             SELECT 'wwsuite' || (g % {SUITES}), md5(g::text) || md5((g + 1)::text), 'suite_ticket', 'k1', \
               decode(repeat(md5(g::text), 6), 'hex'), now() - ((g / {SUITES}) * interval '10 minutes'), 'done', 1, 'ticket' \
             FROM generate_series(0, {SUITES} * {TICKETS_PER_SUITE} - 1) AS g"
        ),
    );
    psql(
        db,
        &format!(
            "INSERT INTO corp_auth_corps (suite_id, corpid, status, corp_name, key_id, sealed_code, as_of) \
             SELECT 'wwsuite' || (g % {SUITES}), 'wwcorp' || g, 'installed', '示例', 'k1', \
               decode(repeat(md5(g::text), 3), 'hex'), extract(epoch from now())::bigint - g \
             FROM generate_series(0, {CORPS} - 1) AS g; \
             INSERT INTO corp_auth_exchanges (code_hash, suite_id, source, state, corpid, claimed_at, updated_at) \
             SELECT md5(g::text) || md5((g + 7)::text), 'wwsuite' || (g % {SUITES}), 'callback', 'done', 'wwcorp' || g, \
               now() - (g * interval '50 minutes'), now() - (g * interval '50 minutes') \
             FROM generate_series(0, {CORPS} - 1) AS g; \
             INSERT INTO corp_auth_outcomes (suite_id, kind, corpid, detail, created_at, acknowledged) \
             SELECT 'wwsuite' || (g % {SUITES}), 'installed', 'wwcorp' || g, '{{}}', now() - (g * interval '50 minutes'), true \
             FROM generate_series(0, {CORPS} - 1) AS g; \
             ANALYZE"
        ),
    );
    let rows = psql(db, "SELECT count(*) FROM corp_auth_inbox");
    assert_eq!(rows, (SUITES * TICKETS_PER_SUITE).to_string());
    println!(
        "loaded a year: {rows} inbox rows, {CORPS} corps, {CORPS} exchanges, {CORPS} outcomes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn installs(db: &str) -> Installs {
    let pg = store::Postgres::connect(&format!("postgres://postgres@127.0.0.1:5432/{db}"))
        .await
        .unwrap();
    let suite = Suite::builder("wwsuite0", "suite-secret").build().unwrap();
    Installs::builder(suite, pg)
        .crypto(Crypto::new(TOKEN, AES_KEY, "wwsuite0").unwrap())
        .encryption_key("k1", &[7; 32])
        .retention(Duration::from_secs(400 * 24 * 3600))
        .build()
        .unwrap()
}

/// One suite-ticket callback as WeCom pushes it, numbered `n`.
fn ticket(crypto: &Crypto, n: i64) -> (String, String, String, String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let xml = format!(
        "<xml><SuiteId><![CDATA[wwsuite0]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>{}</TimeStamp><SuiteTicket><![CDATA[ticket-{n}]]></SuiteTicket></xml>",
        now + n
    );
    let (ts, nonce) = (now.to_string(), format!("n{n}"));
    let body = crypto.encrypt(&xml, &ts, &nonce).unwrap();
    let start = body.find("<MsgSignature><![CDATA[").unwrap() + 23;
    (body[start..start + 40].to_string(), ts, nonce, body)
}

#[derive(Default)]
struct Figures {
    answer: Vec<Duration>,
    claim: Vec<Duration>,
}

async fn run(empty: &str, full: &str) {
    // Both migrated, then one filled.
    let registries = [installs(empty).await, installs(full).await];
    load_a_year(full);
    if std::env::var("CORP_AUTH_BENCH_DROP_INDEXES").is_ok() {
        for db in [empty, full] {
            psql(
                db,
                "DROP INDEX corp_auth_inbox_pending, corp_auth_inbox_done, corp_auth_exchanges_sending; ANALYZE",
            );
        }
        println!("without the inbox's and the exchanges' partial indexes");
    }
    let crypto = Crypto::new(TOKEN, AES_KEY, "wwsuite0").unwrap();
    let mut figures = [Figures::default(), Figures::default()];
    let mut n = 0;
    // Warm-up: every statement prepared on every connection.
    for installs in &registries {
        for _ in 0..8 {
            n += 1;
            let (sig, ts, nonce, body) = ticket(&crypto, n);
            installs.receive(&sig, &ts, &nonce, &body).await.unwrap();
            installs.process_pending().await.unwrap();
        }
    }
    for round in 0..ROUNDS {
        // Alternate which registry goes first.
        for pick in [round % 2, 1 - round % 2] {
            let installs = &registries[pick];
            for _ in 0..PER_ROUND {
                n += 1;
                let (sig, ts, nonce, body) = ticket(&crypto, n);
                let started = Instant::now();
                let reply = installs.receive(&sig, &ts, &nonce, &body).await.unwrap();
                figures[pick].answer.push(started.elapsed());
                assert_eq!(reply, "success");
                let started = Instant::now();
                let outcomes = installs.process_pending().await.unwrap();
                figures[pick].claim.push(started.elapsed());
                assert_eq!(outcomes.len(), 1, "the one pending event was claimed and handled");
            }
        }
    }
    // Everything measured was stored and handled; the year is still there.
    for db in [empty, full] {
        assert_eq!(
            psql(db, "SELECT count(*) FROM corp_auth_inbox WHERE state = 'pending'"),
            "0"
        );
    }
    assert!(
        psql(full, "SELECT count(*) FROM corp_auth_inbox")
            .parse::<i64>()
            .unwrap()
            > SUITES * TICKETS_PER_SUITE
    );
    println!(
        "one suite of 20; {} answers and {} claims per registry, one at a time, {ROUNDS} alternating rounds",
        ROUNDS * PER_ROUND,
        ROUNDS * PER_ROUND
    );
    for f in &mut figures {
        f.answer.sort();
        f.claim.sort();
    }
    for (what, pick) in [("answer (receive)", 0usize), ("claim (process_pending)", 1)] {
        let series = |f: &Figures| if pick == 0 { f.answer.clone() } else { f.claim.clone() };
        let (e, y) = (series(&figures[0]), series(&figures[1]));
        for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
            let (a, b) = (percentile(&e, p), percentile(&y, p));
            println!(
                "{what} {name}: empty registry {:.2} ms, a year of data {:.2} ms, ratio {:.2}",
                ms(a),
                ms(b),
                b.as_secs_f64() / a.as_secs_f64()
            );
        }
    }
}
