//! Shared by the benches: a minimal keep-alive HTTP/1.1 server on loopback,
//! hand-written baseline types, and an interleaved A/B timer.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts a server answering every request with `body` (JSON), keeping
/// connections alive. Plain tokio: no routing or matching to measure.
pub async fn serve(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reply: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            socket.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    let Some(end) = find_head_end(&buf) else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let length = content_length(&buf[..end]);
                    while buf.len() < end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..end + length);
                    if socket.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn content_length(head: &[u8]) -> usize {
    let head = std::str::from_utf8(head).unwrap_or("");
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// What [`ab`] measured: medians per iteration, and the ratio a / b as
/// the median (and quartiles) of the per-round ratios. Each round times `a`
/// and `b` back to back, so a per-round ratio is immune to slow drift of a
/// shared machine that would skew a ratio of whole-run medians.
pub struct Measured {
    pub a: Duration,
    pub b: Duration,
    pub ratio: f64,
    pub ratio_q1: f64,
    pub ratio_q3: f64,
}

/// Times `a` and `b` in alternating rounds of `per_round` iterations.
pub fn ab<A, B>(rounds: usize, per_round: usize, mut a: A, mut b: B) -> Measured
where
    A: FnMut(),
    B: FnMut(),
{
    // Warm up both (connections, allocator, caches).
    for _ in 0..per_round {
        a();
        b();
    }
    let mut ta = Vec::with_capacity(rounds);
    let mut tb = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            for _ in 0..per_round {
                f();
            }
            start.elapsed() / per_round as u32
        };
        // Alternate which side goes first.
        if round % 2 == 0 {
            ta.push(time(&mut a));
            tb.push(time(&mut b));
        } else {
            tb.push(time(&mut b));
            ta.push(time(&mut a));
        }
    }
    let mut ratios: Vec<f64> = ta
        .iter()
        .zip(&tb)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    Measured {
        a: median(ta),
        b: median(tb),
        ratio: ratios[n / 2],
        ratio_q1: ratios[n / 4],
        ratio_q3: ratios[3 * n / 4],
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Prints one line; `per` divides the times (calls per iteration).
pub fn report(name: &str, m: &Measured, per: u32, goal: f64) {
    let verdict = if m.ratio <= goal { "ok" } else { "OVER GOAL" };
    println!(
        "{name:<44} crate {:>9.1} µs   hand-written {:>9.1} µs   ratio {:.3} [IQR {:.3}–{:.3}] (goal ≤ {goal:.2}, {verdict})",
        (m.a / per).as_secs_f64() * 1e6,
        (m.b / per).as_secs_f64() * 1e6,
        m.ratio,
        m.ratio_q1,
        m.ratio_q3,
    );
}

/// The machine, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{} cores, {cpu}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

// --- the hand-written baseline's types: what a user would write ----------

#[derive(serde::Deserialize)]
pub struct CorpSecretAnswer {
    pub err_code: i64,
    #[serde(default)]
    pub err_msg: String,
    #[serde(default)]
    pub corp_secret: Option<String>,
}

#[derive(serde::Serialize)]
pub struct AuthInfoRequest<'a> {
    pub auth_corpid: &'a str,
    pub permanent_code: &'a str,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AuthInfoAnswer {
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    pub dealer_corp_info: Option<DealerCorpInfo>,
    pub auth_corp_info: Option<AuthCorpInfo>,
    pub auth_info: Option<AuthInfo>,
    pub edition_info: Option<EditionInfo>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DealerCorpInfo {
    pub corpid: Option<String>,
    pub corp_name: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AuthCorpInfo {
    pub corpid: Option<String>,
    pub corp_name: Option<String>,
    pub corp_type: Option<String>,
    pub corp_square_logo_url: Option<String>,
    pub corp_user_max: Option<i64>,
    pub corp_agent_max: Option<i64>,
    pub corp_full_name: Option<String>,
    pub verified_end_time: Option<i64>,
    pub subject_type: Option<i64>,
    pub corp_wxqrcode: Option<String>,
    pub corp_scale: Option<String>,
    pub corp_industry: Option<String>,
    pub corp_sub_industry: Option<String>,
    pub location: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AuthInfo {
    pub agent: Vec<Agent>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Agent {
    pub agentid: Option<i64>,
    pub name: Option<String>,
    pub round_logo_url: Option<String>,
    pub square_logo_url: Option<String>,
    pub appid: Option<i64>,
    pub auth_mode: Option<i64>,
    pub is_customized_app: Option<bool>,
    pub auth_from_thirdapp: Option<bool>,
    pub privilege: Option<Privilege>,
    pub shared_from: Option<SharedFrom>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Privilege {
    pub level: Option<i64>,
    pub allow_party: Vec<i64>,
    pub allow_user: Vec<String>,
    pub allow_tag: Vec<i64>,
    pub extra_party: Vec<i64>,
    pub extra_user: Vec<String>,
    pub extra_tag: Vec<i64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SharedFrom {
    pub corpid: Option<String>,
    pub share_type: Option<i64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct EditionInfo {
    pub agent: Vec<EditionAgent>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct EditionAgent {
    pub agentid: Option<i64>,
    pub edition_id: Option<String>,
    pub edition_name: Option<String>,
    pub app_status: Option<i64>,
    pub user_limit: Option<i64>,
    pub expired_time: Option<i64>,
    pub is_virtual_version: Option<bool>,
    pub is_shared_from_other_corp: Option<bool>,
}
