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
use pg::TestDb;
use serde_json::{Value, json};

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
    Deliver { xml: String, to: usize },
    Redirect { code: String, at: usize },
    Work { instance: usize },
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Runs schedule `seed` on `db`; an error names what broke.
async fn run(seed: u64, db_name: String, db_url: String, url: String, wecom: Shared) -> Result<(), String> {
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
    for i in (1..actions.len()).rev() {
        actions.swap(i, rng.below(i + 1));
    }
    // The instances.
    let mut all = Vec::new();
    for _ in 0..instances {
        let client = wecom::Client::builder()
            .base_url(url)
            .retry(common::fast_retry())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let suite = Suite::builder(&suite_id, "SENTINEL-suite-secret")
            .client(client)
            .build()
            .unwrap();
        suite.set_suite_ticket("SENTINEL-ticket", now()).await.unwrap();
        let pg = store::Postgres::connect(&db_url).await.map_err(|e| e.to_string())?;
        let crypto = Crypto::new(TOKEN, AES_KEY, &suite_id).unwrap();
        all.push(
            Installs::builder(suite, pg)
                .crypto(crypto)
                .encryption_key("k", &KEY)
                .build()
                .unwrap(),
        );
    }
    let all = Arc::new(all);
    let sender = Crypto::new(TOKEN, AES_KEY, &suite_id).unwrap();
    // Run the actions, a few at a time concurrently (workers of different
    // instances overlap; deliveries land while they work).
    let mut outcomes = Vec::new();
    let mut i = 0;
    while i < actions.len() {
        let width = 1 + rng.below(3);
        let batch: Vec<Action> = actions[i..(i + width).min(actions.len())].to_vec();
        i += width;
        let mut handles = Vec::new();
        for action in batch {
            let (all, sender) = (all.clone(), sender.clone());
            handles.push(tokio::spawn(async move {
                match action {
                    Action::Deliver { xml, to } => {
                        let body = sender.encrypt(&xml, "1", "n").unwrap();
                        let start = body.find("<Encrypt><![CDATA[").unwrap() + 18;
                        let end = body[start..].find("]]>").unwrap() + start;
                        let signature = sender.signature("1", "n", &body[start..end]);
                        all[to]
                            .receive(&signature, "1", "n", &body)
                            .await
                            .map(|_| Vec::new())
                            .map_err(|e| format!("receive: {e}"))
                    }
                    Action::Redirect { code, at } => {
                        let state = all[at].new_state().await.map_err(|e| e.to_string())?;
                        all[at]
                            .redeem(&state, &code)
                            .await
                            .map(|o| vec![o])
                            .map_err(|e| format!("redeem: {e}"))
                    }
                    Action::Work { instance } => all[instance]
                        .process_pending()
                        .await
                        .map_err(|e| format!("process_pending: {e}")),
                }
            }));
        }
        for handle in handles {
            outcomes.extend(handle.await.map_err(|e| e.to_string())??);
        }
    }
    // Drain: every answered event is processed.
    for _ in 0..50 {
        let mut progressed = false;
        for installs in all.iter() {
            let more = installs.process_pending().await.map_err(|e| e.to_string())?;
            progressed |= !more.is_empty();
            outcomes.extend(more);
        }
        if !progressed {
            break;
        }
    }
    let pending = pg::psql(
        &db_name,
        &format!("SELECT count(*) FROM corp_auth_inbox WHERE suite_id = '{suite_id}' AND state = 'pending'"),
    );
    if pending != "0" {
        return Err(format!("{pending} events never processed"));
    }
    if let Some(bad) = outcomes.iter().find(|o| {
        matches!(
            o,
            Outcome::InDoubt(_) | Outcome::Failed { .. } | Outcome::Unreadable { .. }
        )
    }) {
        return Err(format!("unexpected outcome {bad:?}"));
    }
    // The model: the newest event of each corp decides.
    let registry: HashMap<String, CorpStatus> = all[0]
        .corps()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| (c.corpid, c.status))
        .collect();
    for (corpid, steps) in &timelines {
        let mut expected: Option<String> = None;
        for (_, step) in steps {
            match step {
                Step::Install { code, .. } | Step::Reset { code } => {
                    expected = Some(wecom.lock().unwrap().codes[code].1.clone())
                }
                Step::Cancel => expected = None,
                Step::Change => {}
            }
        }
        let status = registry.get(corpid).copied();
        match &expected {
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
                let token = all[0]
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
    Ok(())
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
    // Four schedules at a time, each on its own suite.
    for chunk in seeds.chunks(4) {
        let runs: Vec<_> = chunk
            .iter()
            .map(|seed| {
                let (name, db_url, url, wecom) = (db.name.clone(), db.url(), url.clone(), wecom.clone());
                let seed = *seed;
                (seed, tokio::spawn(run(seed, name, db_url, url, wecom)))
            })
            .collect();
        for (seed, run) in runs {
            if let Err(e) = run.await.unwrap() {
                panic!(
                    "schedule {seed} broke the model: {e}\nreplay: CORP_AUTH_SEED={seed} cargo test --test install_schedule"
                );
            }
        }
    }
    eprintln!("{} schedules matched the model in {:?}", seeds.len(), started.elapsed());
}
