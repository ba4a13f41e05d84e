//! Decoding a large get_auth_info answer (1,000 agents, each with privilege
//! lists of 100 ids) through the crate vs serde_json into a hand-written
//! struct.
//!
//! `cargo bench --bench decode`

mod common;

use common::*;

fn large_answer() -> String {
    let ids: Vec<i64> = (1..=100).collect();
    let users: Vec<String> = (1..=10).map(|i| format!("user{i:04}")).collect();
    let agents: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "agentid": 1_000_000 + i, "name": format!("应用{i}"), "round_logo_url": "https://p.qlogo.cn/x",
                "square_logo_url": "https://p.qlogo.cn/y", "appid": i, "auth_mode": 0,
                "is_customized_app": false, "auth_from_thirdapp": false,
                "privilege": {"level": 1 + i % 5, "allow_party": ids, "allow_user": users, "allow_tag": ids,
                              "extra_party": ids, "extra_user": users, "extra_tag": ids},
                "shared_from": {"corpid": "wwshared", "share_type": 0}
            })
        })
        .collect();
    serde_json::json!({
        "errcode": 0, "errmsg": "ok",
        "auth_corp_info": {"corpid": "wwcorp0001", "corp_name": "示例企业", "corp_type": "verified", "corp_user_max": 10000},
        "auth_info": {"agent": agents}
    })
    .to_string()
}

fn main() {
    let body = large_answer();
    println!(
        "decode of a {:.1} MiB answer on {}",
        body.len() as f64 / (1 << 20) as f64,
        machine()
    );
    let m = ab(
        21,
        5,
        || {
            let info = corp_auth::wecom::decode_answer(body.as_bytes()).unwrap();
            assert_eq!(info.auth_info.unwrap().agent.len(), 1000);
        },
        || {
            let info: AuthInfoAnswer = serde_json::from_slice(body.as_bytes()).unwrap();
            assert!(matches!(info.errcode, None | Some(0)));
            assert_eq!(info.auth_info.unwrap().agent.len(), 1000);
        },
    );
    report("wecom decode, 1,000 agents", &m, 1, 1.10);
}
