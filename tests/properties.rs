//! Properties over thousands of generated inputs and bodies.

mod common;

use std::future::IntoFuture;
use std::sync::mpsc;

use common::*;
use corp_auth::{chengxun, wecom};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback server that sends each request's target (path and query) and
/// body back to the test, answering success on a kept-alive connection.
async fn echo_server(answer: &'static str) -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
                    let length: usize = head
                        .to_ascii_lowercase()
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                        .unwrap_or(0);
                    while buf.len() < end + length {
                        let n = socket.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let target = head.split(' ').nth(1).unwrap().to_string();
                    tx.send((target, buf[end..end + length].to_vec())).unwrap();
                    buf.drain(..end + length);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    socket.write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, rx)
}

fn query(target: &str) -> Vec<(String, String)> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Any string of 1 to 256 characters: every Unicode scalar value allowed,
/// with the URL's own delimiters over-represented.
fn any_secret() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec!['&', '=', '+', '%', '?', '#', ' ', '/', '\0'])
        ],
        1..=256,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn exchange_query_encoding_round_trips(corp_id in any::<i64>(), authorization in any_secret(), temp in any_secret()) {
        thread_local! {
            static SETUP: (tokio::runtime::Runtime, String, mpsc::Receiver<(String, Vec<u8>)>) = {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let (url, rx) = rt.block_on(echo_server(r#"{"err_code":0,"err_msg":"success","corp_secret":"x"}"#));
                (rt, url, rx)
            };
        }
        SETUP.with(|(rt, url, rx)| {
            let client = chengxun_client(url);
            let secret = rt.block_on(client.exchange_corp_secret(corp_id, &authorization, &temp).into_future()).unwrap();
            assert_eq!(secret.expose_secret(), "x");
            let (target, _) = rx.try_recv().unwrap();
            assert!(target.starts_with("/corp-service/v1/corp-secrets?"), "{target}");
            let mut got = query(&target);
            got.sort();
            let mut want = vec![
                ("corp_authorization".to_string(), authorization.clone()),
                ("corp_id".to_string(), corp_id.to_string()),
                ("temp_corp_secret".to_string(), temp.clone()),
            ];
            want.sort();
            assert_eq!(got, want);
        });
    }

    #[test]
    fn auth_info_query_and_body_round_trip(token in any_secret(), corpid in any_secret(), code in any_secret()) {
        thread_local! {
            static SETUP: (tokio::runtime::Runtime, String, mpsc::Receiver<(String, Vec<u8>)>) = {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let (url, rx) = rt.block_on(echo_server(r#"{"errcode":0}"#));
                (rt, url, rx)
            };
        }
        SETUP.with(|(rt, url, rx)| {
            let client = wecom_client(url);
            rt.block_on(client.get_auth_info(&token, &corpid, &code).into_future()).unwrap();
            let (target, body) = rx.try_recv().unwrap();
            assert_eq!(query(&target), vec![("suite_access_token".to_string(), token.clone())]);
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body, serde_json::json!({"auth_corpid": corpid, "permanent_code": code}));
        });
    }
}

/// Bodies: JSON objects with a code of any type and value, a corp_secret
/// holding the sentinel, and noise; or arbitrary bytes.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::json!(0)),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(|s| serde_json::json!(s)),
        any::<i64>().prop_map(|n| serde_json::json!(n.to_string())),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([1, 2])),
    ];
    let json = (code.clone(), code, any::<String>(), any::<bool>(), any::<bool>()).prop_map(
        |(err_code, errcode, msg, with_secret, with_code)| {
            let mut map = serde_json::Map::new();
            if with_code {
                map.insert("err_code".into(), err_code);
                map.insert("errcode".into(), errcode);
            }
            map.insert("err_msg".into(), serde_json::json!(msg));
            // An echo of a secret the call never sent is recognisable only
            // by its key; a value the call sent is redacted anywhere.
            map.insert(
                "errmsg".into(),
                serde_json::json!(format!("{msg} corp_secret={CORP_SECRET}")),
            );
            if with_secret {
                map.insert("corp_secret".into(), serde_json::json!(CORP_SECRET));
            }
            map.insert("auth_corp_info".into(), serde_json::json!({"corpid": msg}));
            serde_json::to_vec(&map).unwrap()
        },
    );
    prop_oneof![json, prop::collection::vec(any::<u8>(), 0..512)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_any_body_never_panics_and_never_shows_a_secret(body in any_body()) {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        match chengxun::decode_answer(&body) {
            Ok(secret) => {
                // Success only for err_code 0 and the corp_secret present.
                let parsed = parsed.expect("success from a JSON body");
                prop_assert_eq!(&parsed["err_code"], &serde_json::json!(0));
                prop_assert_eq!(secret.expose_secret(), CORP_SECRET);
            }
            Err(err) => {
                let text = renderings(&err);
                prop_assert!(!text.contains(CORP_SECRET), "{}", text);
            }
        }
        match wecom::decode_answer(&body) {
            Ok(info) => prop_assert!(matches!(info.errcode, None | Some(0))),
            Err(err) => {
                let text = renderings(&err);
                prop_assert!(!text.contains(CORP_SECRET), "{}", text);
            }
        }
    }
}
