//! Installs against a model, under seeded randomized schedules: each run
//! draws, for a few corps, a lifecycle (installs by callback or by redirect,
//! changes, resets, cancels, reinstalls — each a WeCom event with its
//! `TimeStamp`), delivers every event in a random order to one of two or
//! three instances, some twice, interleaves the instances' workers and the
//! redirects at random, and then checks the registry against the model:
//! each corp installed or cancelled as its newest event says, with the
//! permanent code of its newest install or reset; no `auth_code` sent twice;
//! every answered event processed; nothing in doubt or failed.
//!
//! Half the schedules also carry faults, each instance reaching PostgreSQL
//! through a proxy of its own: database outages (connections dropped and
//! refused for a while), half-open connections (open connections go silent)
//! and worker kills (an instance's running tasks aborted mid-flight at a
//! random moment and the instance replaced by a new one, with a new owner
//! id: what a crashed process leaves behind in the database). A delivery
//! that got no `success` is delivered again, as WeCom does. With kills, an
//! exchange may end in doubt — only a code whose claim a killed worker
//! held — and the model then expects the corp's state without that code's
//! event; without kills nothing may be in doubt.
//!
//! `CORP_AUTH_SCHEDULES=<n>` runs n schedules (default 200);
//! `CORP_AUTH_SEED=<seed>` replays one. A failing run prints its seed.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use corp_auth::store;
use corp_auth::wecom::callback::Crypto;
use corp_auth::wecom::{self, CorpStatus, Installs, Outcome, Suite};
use pg::{PgProxy, TestDb};
use serde_json::{Value, json};
use sha2::Digest as _;

const TOKEN: &str = "scheduleToken01";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const KEY: [u8; 32] = [5; 32];

/// splitmix64: a small seeded generator, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// WeCom for the schedules: permanent codes keyed by `auth_code`, every
/// exchange recorded, corp tokens that name the permanent code they were
/// issued for.
#[derive(Default)]
struct Wecom {
    /// auth_code → (corpid, permanent_code).
    codes: HashMap<String, (String, String)>,
    sent: Vec<String>,
}

type Shared = Arc<Mutex<Wecom>>;

async fn suite_token() -> Json<Value> {
    Json(json!({"suite_access_token": "schedule-suite-token", "expires_in": 7200}))
}

async fn permanent_code(State(w): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    // WeCom takes a moment: an exchange is in flight long enough for a
    // kill to land in it.
    tokio::time::sleep(Duration::from_millis(15)).await;
    let code = body["auth_code"].as_str().unwrap_or_default().to_string();
    let mut w = w.lock().unwrap();
    w.sent.push(code.clone());
    match w.codes.get(&code) {
        Some((corpid, permanent)) => Json(json!({"errcode": 0, "permanent_code": permanent,
            "auth_corp_info": {"corpid": corpid, "corp_name": "示例"}})),
        None => Json(json!({"errcode": 40078, "errmsg": "invalid auth_code"})),
    }
}

async fn auth_info(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({"errcode": 0, "auth_corp_info": {"corpid": body["auth_corpid"], "corp_name": "改名"}}))
}

async fn corp_token(Json(body): Json<Value>) -> Json<Value> {
    Json(
        json!({"access_token": format!("token-for:{}", body["permanent_code"].as_str().unwrap_or_default()),
        "expires_in": 7200}),
    )
}

async fn standin() -> (String, Shared) {
    let state = Shared::default();
    let app = Router::new()
        .route("/cgi-bin/service/get_suite_token", post(suite_token))
        .route("/cgi-bin/service/v2/get_permanent_code", post(permanent_code))
        .route("/cgi-bin/service/v2/get_auth_info", post(auth_info))
        .route("/cgi-bin/service/get_corp_token", post(corp_token))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

/// One step of a corp's lifecycle, as WeCom dates it.
#[derive(Debug, Clone)]
enum Step {
    /// `create_auth` with this code (and, for a redirect install, the
    /// redirect too: the last step of its corp).
    Install {
        code: String,
        redirect: bool,
    },
    Change,
    Reset {
        code: String,
    },
    Cancel,
}

/// What a schedule delivers and does.
#[derive(Debug, Clone)]
enum Action {
    Deliver {
        xml: String,
        to: usize,
    },
    Redirect {
        code: String,
        at: usize,
    },
    Work {
        instance: usize,
    },
    /// The instance's database connections are dropped and new ones
    /// refused for `ms`.
    Outage {
        instance: usize,
        ms: u64,
    },
    /// The instance's open database connections go silent (half-open):
    /// both ways, or only the answers (statements still run).
    Silence {
        instance: usize,
        answers_only: bool,
    },
    /// After `ms`, the instance's running tasks are aborted and the
    /// instance is replaced.
    Kill {
        instance: usize,
        ms: u64,
    },
    /// A failpoint: the instance's first statement that carries this code's
    /// SHA-256 (its claim) runs, and its answer — and every later answer on
    /// the instance's open connections — is lost.
    LoseClaimAnswer {
        instance: usize,
        code: String,
    },
}

impl Action {
    fn instance(&self) -> usize {
        match self {
            Action::Deliver { to, .. } => *to,
            Action::Redirect { at, .. } => *at,
            Action::Work { instance }
            | Action::Outage { instance, .. }
            | Action::Silence { instance, .. }
            | Action::Kill { instance, .. }
            | Action::LoseClaimAnswer { instance, .. } => *instance,
        }
    }
}

/// One instance of the ISV: a suite, its own connections to the registry.
/// `faulty`: short timeouts (a statement 1 s; a request 2 s, not retried;
/// the lease sized to that), so a killed worker's event is taken over soon.
async fn instance(
    suite_id: &str,
    url: &str,
    db_url: &str,
    faulty: bool,
    connections: usize,
) -> Result<Installs, String> {
    let (request, retry, statement) = match faulty {
        true => (2, corp_auth::RetryPolicy::never(), 1),
        false => (5, common::fast_retry(), 5),
    };
    let client = wecom::Client::builder()
        .base_url(url)
        .retry(retry)
        .timeout(Duration::from_secs(request))
        .build()
        .unwrap();
    let suite = Suite::builder(suite_id, "SENTINEL-suite-secret")
        .client(client)
        .build()
        .unwrap();
    suite.set_suite_ticket("SENTINEL-ticket", now()).await.unwrap();
    let pg = store::Postgres::builder(db_url)
        .unwrap()
        .timeout(Duration::from_secs(statement))
        .connections(connections)
        .unwrap()
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let crypto = Crypto::new(TOKEN, AES_KEY, suite_id).unwrap();
    Ok(Installs::builder(suite, pg)
        .crypto(crypto)
        .encryption_key("k", &KEY)
        .lease(Duration::from_secs(1))
        .build()
        .unwrap())
}

/// `xml` as WeCom POSTs it (timestamp "1", nonce "n"): (msg_signature, body).
fn signed(sender: &Crypto, xml: &str) -> (String, String) {
    let body = sender.encrypt(xml, "1", "n").unwrap();
    let start = body.find("<Encrypt><![CDATA[").unwrap() + 18;
    let end = body[start..].find("]]>").unwrap() + start;
    (sender.signature("1", "n", &body[start..end]), body)
}

fn sha256_hex(value: &str) -> String {
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// What one schedule went through, for the summary.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    seed: u64,
    faulty: bool,
    outages: usize,
    silences: usize,
    lost_claims: usize,
    kills: usize,
    in_doubt: usize,
    redelivered: usize,
    millis: u128,
}

/// Runs schedule `seed` on `db`; an error names what broke.
async fn run(seed: u64, db_name: String, db_url: String, url: String, wecom: Shared) -> Result<Tally, String> {
    let started = std::time::Instant::now();
    let wecom = &wecom;
    let url = url.as_str();
    let mut rng = Rng(seed);
    let suite_id = format!("wwsched{seed}");
    // Timestamps in the past: a redirect install is as of its completion
    // (now), after every event of its corp.
    let mut ts = now() - 1_000_000 + (seed as i64 % 1000) * 1000;
    let corps = 1 + rng.below(3);
    let mut timelines: BTreeMap<String, Vec<(i64, Step)>> = BTreeMap::new();
    let mut codes = 0;
    let mut code = |corpid: &str, wecom: &Shared| {
        codes += 1;
        let code = format!("SENTINEL-auth-{seed}-{codes}-0000000000000000000000000000");
        let permanent = format!("SENTINEL-permanent-{seed}-{codes}");
        wecom
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (corpid.to_string(), permanent));
        code
    };
    for c in 0..corps {
        let corpid = format!("wwC{seed}x{c}");
        let mut installed = false;
        let mut steps = Vec::new();
        let length = 1 + rng.below(6);
        for i in 0..length {
            ts += 1 + rng.below(50) as i64;
            let last = i + 1 == length;
            let step = if !installed {
                installed = true;
                Step::Install {
                    code: code(&corpid, wecom),
                    redirect: last && rng.chance(40),
                }
            } else {
                match rng.below(3) {
                    0 => Step::Change,
                    1 => Step::Reset {
                        code: code(&corpid, wecom),
                    },
                    _ => {
                        installed = false;
                        Step::Cancel
                    }
                }
            };
            steps.push((ts, step));
        }
        timelines.insert(corpid, steps);
    }
    let instances = 2 + rng.below(2);
    // Every event as WeCom would push it, in a random order, some twice.
    let mut actions = Vec::new();
    for (corpid, steps) in &timelines {
        for (ts, step) in steps {
            let (info_type, extra) = match step {
                Step::Install { code, redirect } => {
                    if *redirect {
                        actions.push(Action::Redirect {
                            code: code.clone(),
                            at: rng.below(instances),
                        });
                    }
                    ("create_auth", format!("<AuthCode><![CDATA[{code}]]></AuthCode>"))
                }
                Step::Reset { code } => (
                    "reset_permanent_code",
                    format!("<AuthCode><![CDATA[{code}]]></AuthCode>"),
                ),
                Step::Change => ("change_auth", format!("<AuthCorpId><![CDATA[{corpid}]]></AuthCorpId>")),
                Step::Cancel => ("cancel_auth", format!("<AuthCorpId><![CDATA[{corpid}]]></AuthCorpId>")),
            };
            let xml = format!(
                "<xml><SuiteId><![CDATA[{suite_id}]]></SuiteId><InfoType><![CDATA[{info_type}]]></InfoType>\
                 <TimeStamp>{ts}</TimeStamp>{extra}</xml>"
            );
            let copies = if rng.chance(30) { 2 } else { 1 };
            for _ in 0..copies {
                actions.push(Action::Deliver {
                    xml: xml.clone(),
                    to: rng.below(instances),
                });
            }
        }
    }
    let workers = actions.len();
    for _ in 0..workers {
        actions.push(Action::Work {
            instance: rng.below(instances),
        });
    }
    let faulty = rng.chance(50);
    let all_codes: Vec<String> = wecom
        .lock()
        .unwrap()
        .codes
        .keys()
        .filter(|c| c.contains(&format!("-{seed}-")))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if faulty {
        for _ in 0..1 + rng.below(3) {
            let instance = rng.below(instances);
            actions.push(match rng.below(4) {
                3 => Action::LoseClaimAnswer {
                    instance,
                    code: all_codes[rng.below(all_codes.len())].clone(),
                },
                0 => Action::Outage {
                    instance,
                    ms: 200 + rng.below(1300) as u64,
                },
                1 => Action::Silence {
                    instance,
                    answers_only: rng.chance(50),
                },
                _ => Action::Kill {
                    instance,
                    ms: rng.below(40) as u64,
                },
            });
        }
    }
    for i in (1..actions.len()).rev() {
        actions.swap(i, rng.below(i + 1));
    }
    let kills = actions.iter().filter(|a| matches!(a, Action::Kill { .. })).count();
    let mut tally = Tally {
        seed,
        faulty,
        lost_claims: actions
            .iter()
            .filter(|a| matches!(a, Action::LoseClaimAnswer { .. }))
            .count(),
        kills,
        outages: actions.iter().filter(|a| matches!(a, Action::Outage { .. })).count(),
        silences: actions.iter().filter(|a| matches!(a, Action::Silence { .. })).count(),
        ..Tally::default()
    };
    // The instances, each through a proxy of its own.
    let mut proxies = Vec::new();
    let mut all = Vec::new();
    for _ in 0..instances {
        let proxy = Arc::new(PgProxy::start().await);
        let via = db_url.replace(":5432/", &format!(":{}/", proxy.port));
        all.push(Arc::new(instance(&suite_id, url, &via, faulty, 2).await?));
        proxies.push((proxy, via));
    }
    let sender = Crypto::new(TOKEN, AES_KEY, &suite_id).unwrap();
    // Run the actions, a few at a time concurrently (workers of different
    // instances overlap; deliveries land while they work; faults strike
    // while they run).
    let mut outcomes = Vec::new();
    let mut undelivered = Vec::new();
    let mut i = 0;
    while i < actions.len() {
        let width = 1 + rng.below(3);
        let batch: Vec<Action> = actions[i..(i + width).min(actions.len())].to_vec();
        i += width;
        let mut handles = Vec::new();
        let mut kill = None;
        for action in batch {
            let target = action.instance();
            let (installs, sender, proxy) = (all[target].clone(), sender.clone(), proxies[target].0.clone());
            let kept = action.clone();
            let task = tokio::spawn(async move {
                match action {
                    Action::Deliver { xml, .. } => {
                        let (signature, body) = signed(&sender, &xml);
                        installs
                            .receive(&signature, "1", "n", &body)
                            .await
                            .map(|_| Vec::new())
                            .map_err(|e| format!("receive: {e}"))
                    }
                    Action::Redirect { code, .. } => {
                        let state = installs.new_state().await.map_err(|e| e.to_string())?;
                        installs
                            .redeem(&state, &code)
                            .await
                            .map(|o| vec![o])
                            .map_err(|e| format!("redeem: {e}"))
                    }
                    Action::Work { .. } => installs
                        .process_pending()
                        .await
                        .map_err(|e| format!("process_pending: {e}")),
                    Action::Outage { ms, .. } => {
                        proxy.cut();
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        proxy.restore();
                        Ok(Vec::new())
                    }
                    Action::Silence { answers_only, .. } => {
                        match answers_only {
                            true => proxy.lose_answers_of_open_connections(),
                            false => proxy.silence_open_connections(),
                        }
                        Ok(Vec::new())
                    }
                    Action::Kill { .. } => Ok(Vec::new()),
                    Action::LoseClaimAnswer { code, .. } => {
                        proxy.lose_answers_from_statement_with(sha256_hex(&code).as_bytes());
                        Ok(Vec::new())
                    }
                }
            });
            if let Action::Kill { ms, .. } = kept {
                kill = Some((target, ms));
            }
            handles.push((kept, task));
        }
        if let Some((target, ms)) = kill {
            // The worker dies mid-flight: its tasks stop at whatever await
            // they reached; a new instance (a new owner) takes its place.
            tokio::time::sleep(Duration::from_millis(ms)).await;
            for (action, task) in &handles {
                if action.instance() == target && !matches!(action, Action::Outage { .. }) {
                    task.abort();
                }
            }
            let via = proxies[target].1.clone();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            all[target] = loop {
                match instance(&suite_id, url, &via, faulty, 2).await {
                    Ok(installs) => break Arc::new(installs),
                    // The database may be in an outage: a restarted process waits.
                    Err(e) if tokio::time::Instant::now() < deadline => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(format!("restarting instance {target}: {e}")),
                }
            };
        }
        for (action, task) in handles {
            match task.await {
                Ok(Ok(more)) => outcomes.extend(more),
                Ok(Err(e)) if !faulty => return Err(e),
                // Under faults an action may fail or be killed: a delivery
                // that got no `success` is delivered again, as WeCom does;
                // a failed redirect leaves the code to its callback.
                Ok(Err(_)) | Err(_) => {
                    if let Action::Deliver { xml, .. } = action {
                        undelivered.push(xml);
                    }
                }
            }
        }
    }
    // The faults end; WeCom delivers again what got no `success`.
    for (proxy, _) in &proxies {
        proxy.restore();
    }
    tally.redelivered = undelivered.len();
    for xml in undelivered {
        let installs = all[rng.below(instances)].clone();
        let (signature, body) = signed(&sender, &xml);
        let mut tries = 0;
        while let Err(e) = installs.receive(&signature, "1", "n", &body).await {
            tries += 1;
            if tries > 50 {
                return Err(format!("redelivery: {e}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Drain: every answered event is processed (a killed worker's event
    // once its lease ends, a backed-off one once its pause ends).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut progressed = false;
        for installs in all.iter() {
            match installs.process_pending().await {
                Ok(more) => {
                    progressed |= !more.is_empty();
                    outcomes.extend(more);
                }
                Err(e) if !faulty => return Err(e.to_string()),
                Err(_) => progressed = true,
            }
        }
        let pending = pg::psql(
            &db_name,
            &format!("SELECT count(*) FROM corp_auth_inbox WHERE suite_id = '{suite_id}' AND state = 'pending'"),
        );
        if pending == "0" {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{pending} events never processed"));
        }
        if !progressed {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // In doubt: only with kills, at most one per task a kill aborted.
    let doubted: std::collections::HashSet<String> = pg::psql(
        &db_name,
        &format!("SELECT code_hash FROM corp_auth_exchanges WHERE suite_id = '{suite_id}' AND state = 'in_doubt'"),
    )
    .lines()
    .map(str::to_string)
    .collect();
    tally.in_doubt = doubted.len();
    if doubted.len() > 3 * kills {
        return Err(format!(
            "{} exchanges in doubt after {kills} kills: {}",
            doubted.len(),
            pg::psql(
                &db_name,
                &format!(
                    "SELECT source, reason FROM corp_auth_exchanges WHERE suite_id = '{suite_id}' AND state = 'in_doubt'"
                )
            )
        ));
    }
    if let Some(bad) = outcomes.iter().find(|o| match o {
        Outcome::InDoubt(_) => kills == 0,
        Outcome::Failed { .. } | Outcome::Unreadable { .. } => true,
        _ => false,
    }) {
        return Err(format!("unexpected outcome {bad:?}"));
    }
    // The model: the newest event of each corp decides. Read by a fresh
    // instance on a direct connection (the schedule's may be half-open).
    let checker = instance(&suite_id, url, &db_url, false, 1).await?;
    let registry: HashMap<String, CorpStatus> = checker
        .corps()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| (c.corpid, c.status))
        .collect();
    for (corpid, steps) in &timelines {
        // A code in doubt never reached the registry: its event is as if
        // it never happened (the operator resolves it).
        let mut expected: Option<String> = None;
        let mut ever_installed = false;
        for (_, step) in steps {
            match step {
                Step::Install { code, .. } | Step::Reset { code } if doubted.contains(&sha256_hex(code)) => {}
                Step::Install { code, .. } | Step::Reset { code } => {
                    expected = Some(wecom.lock().unwrap().codes[code].1.clone());
                    ever_installed = true;
                }
                Step::Cancel => expected = None,
                Step::Change => {}
            }
        }
        let status = registry.get(corpid).copied();
        match &expected {
            None if status.is_none() && !ever_installed => {}
            None => {
                if status != Some(CorpStatus::Cancelled) {
                    return Err(format!(
                        "{corpid}: expected cancelled, registry says {status:?} ({steps:?})"
                    ));
                }
            }
            Some(permanent) => {
                if status != Some(CorpStatus::Installed) {
                    return Err(format!(
                        "{corpid}: expected installed, registry says {status:?} ({steps:?})"
                    ));
                }
                let token = checker
                    .corp(corpid)
                    .await
                    .map_err(|e| e.to_string())?
                    .access_token()
                    .await
                    .map_err(|e| e.to_string())?;
                if token.expose_secret() != format!("token-for:{permanent}") {
                    return Err(format!(
                        "{corpid}: the registry holds another permanent code ({}) than the newest ({permanent}): {steps:?}\nrow: {}\ninbox: {}",
                        token.expose_secret(),
                        pg::psql(
                            &db_name,
                            &format!("SELECT status, as_of FROM corp_auth_corps WHERE corpid = '{corpid}'")
                        ),
                        pg::psql(
                            &db_name,
                            &format!(
                                "SELECT id, info_type, outcome, attempts FROM corp_auth_inbox WHERE suite_id = '{suite_id}' ORDER BY id"
                            )
                        )
                    ));
                }
            }
        }
    }
    // No auth_code sent twice.
    let w = wecom.lock().unwrap();
    let ours: Vec<&String> = w.sent.iter().filter(|c| c.contains(&format!("-{seed}-"))).collect();
    let mut unique = ours.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != ours.len() {
        return Err(format!(
            "an auth_code was sent twice: {} sends of {} codes",
            ours.len(),
            unique.len()
        ));
    }
    tally.millis = started.elapsed().as_millis();
    Ok(tally)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn randomized_schedules_match_the_model() {
    let db = TestDb::new("schedule");
    let (url, wecom) = standin().await;
    let seeds: Vec<u64> = match std::env::var("CORP_AUTH_SEED") {
        Ok(seed) => vec![seed.parse().expect("CORP_AUTH_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("CORP_AUTH_SCHEDULES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(200);
            (1..=n).collect()
        }
    };
    let started = std::time::Instant::now();
    let mut tallies = Vec::new();
    // Eight schedules at a time, each on its own suite (a faulty one mostly
    // waits: for a dead worker's lease, for an outage to end). Each
    // instance keeps two connections: the server allows 100.
    let mut seeds_left = seeds.iter().copied();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < 8 {
            let Some(seed) = seeds_left.next() else { break };
            let (name, db_url, url, wecom) = (db.name.clone(), db.url(), url.clone(), wecom.clone());
            running.spawn(async move { (seed, run(seed, name, db_url, url, wecom).await) });
        }
        let Some(done) = running.join_next().await else { break };
        match done.unwrap() {
            (_, Ok(tally)) => tallies.push(tally),
            (seed, Err(e)) => panic!(
                "schedule {seed} broke the model: {e}\nreplay: CORP_AUTH_SEED={seed} cargo test --test install_schedule"
            ),
        }
    }
    let faulty: Vec<&Tally> = tallies.iter().filter(|t| t.faulty).collect();
    let sum = |f: fn(&Tally) -> usize| tallies.iter().map(f).sum::<usize>();
    eprintln!(
        "{} schedules matched the model in {:?}: {} with faults ({} outages, {} half-open, {} claim answers lost, \
         {} kills; {} deliveries without success delivered again; {} exchanges in doubt after kills); slowest {} ms (seed {})",
        seeds.len(),
        started.elapsed(),
        faulty.len(),
        sum(|t| t.outages),
        sum(|t| t.silences),
        sum(|t| t.lost_claims),
        sum(|t| t.kills),
        sum(|t| t.redelivered),
        sum(|t| t.in_doubt),
        tallies.iter().map(|t| t.millis).max().unwrap_or(0),
        tallies.iter().max_by_key(|t| t.millis).map_or(0, |t| t.seed),
    );
    if std::env::var("CORP_AUTH_SCHEDULE_TIMES").is_ok() {
        for t in &tallies {
            eprintln!("{t:?}");
        }
    }
}
