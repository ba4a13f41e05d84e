//! WeCom callback crypto and events: Tencent's official sample vectors, an
//! independent implementation's ciphertexts (wechatpy, tests/data/), every
//! failure mode, round trips, and the suite's handling of tickets.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::Aes256;
use base64::Engine as _;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use corp_auth::wecom::callback::{CallbackFailure, Crypto, Event};
use corp_auth::wecom::{self, Suite};
use corp_auth::{Error, store};
use proptest::prelude::*;
use serde_json::Value;

const TOKEN: &str = "corpAuthToken01";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";
const SUITE_ID: &str = "wwsuite0001";

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn crypto() -> Crypto {
    Crypto::new(TOKEN, KEY, SUITE_ID).unwrap()
}

fn kind(err: Error) -> CallbackFailure {
    match err {
        Error::Callback { kind } => kind,
        other => panic!("expected a callback error, got {other:?}"),
    }
}

fn tag<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    xml[start..end].trim_start_matches("<![CDATA[").trim_end_matches("]]>")
}

// --- outside data ------------------------------------------------------------------

#[test]
fn the_official_sample_vectors_pass() {
    let vectors = data("official-vectors.json");
    for v in vectors.as_array().unwrap() {
        let s = |k: &str| v[k].as_str().unwrap();
        let crypto = Crypto::new(s("token"), s("encoding_aes_key"), s("receive_id")).unwrap();
        let plaintext = match s("kind") {
            "verify_url" => crypto.verify_url(s("msg_signature"), s("timestamp"), s("nonce"), s("echostr")),
            "decrypt_msg" => crypto.decrypt(s("msg_signature"), s("timestamp"), s("nonce"), s("body_xml")),
            other => panic!("{other}"),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", s("name")));
        assert_eq!(plaintext, s("expected_plaintext"), "{}", s("name"));
    }
}

#[test]
fn the_official_decrypt_vector_is_padded_past_16_bytes() {
    // A 16-byte PKCS#7 unpad rejects it; the 32-byte rule accepts it.
    let v = &data("official-vectors.json")[1];
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v["encrypt"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw.len() % 32, 0);
    let crypto = Crypto::new("QDG6eK", v["encoding_aes_key"].as_str().unwrap(), "wx5823bf96d3bd56c7").unwrap();
    let s = |k: &str| v[k].as_str().unwrap();
    assert!(
        crypto
            .decrypt(s("msg_signature"), s("timestamp"), s("nonce"), s("body_xml"))
            .is_ok()
    );
}

#[test]
fn ciphertexts_made_by_wechatpy_decrypt_and_parse() {
    let vectors = data("wechatpy-vectors.json");
    let crypto = Crypto::new(
        vectors["token"].as_str().unwrap(),
        vectors["encoding_aes_key"].as_str().unwrap(),
        vectors["receive_id"].as_str().unwrap(),
    )
    .unwrap();
    let messages = vectors["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 18);
    for m in messages {
        let s = |k: &str| m[k].as_str().unwrap();
        let xml = s("reply_xml");
        let (signature, timestamp, nonce) = (tag(xml, "MsgSignature"), s("timestamp"), s("nonce"));
        let plaintext = crypto
            .decrypt(signature, timestamp, nonce, xml)
            .unwrap_or_else(|e| panic!("{}: {e}", s("name")));
        assert_eq!(plaintext, s("plaintext"), "{}", s("name"));
    }
    let event = |name: &str| {
        let m = messages.iter().find(|m| m["name"] == name).unwrap();
        let xml = m["reply_xml"].as_str().unwrap();
        crypto
            .decrypt_event(
                tag(xml, "MsgSignature"),
                m["timestamp"].as_str().unwrap(),
                m["nonce"].as_str().unwrap(),
                xml,
            )
            .unwrap()
    };
    match event("suite_ticket") {
        Event::SuiteTicket {
            suite_id,
            suite_ticket,
            timestamp,
        } => {
            assert_eq!(
                (suite_id.as_str(), suite_ticket.expose_secret(), timestamp),
                (SUITE_ID, "asdfasfdasdfasdf", 1403610513)
            );
        }
        other => panic!("{other:?}"),
    }
    match event("create_auth") {
        Event::CreateAuth {
            suite_id,
            auth_code,
            state,
            extra_info,
            timestamp,
        } => {
            assert_eq!(suite_id, SUITE_ID);
            assert_eq!(auth_code.expose_secret(), "AUTHCODE");
            assert_eq!(state.as_deref(), Some("123"));
            assert_eq!(extra_info, None, "an empty ExtraInfo is None");
            assert_eq!(timestamp, 1403610513);
        }
        other => panic!("{other:?}"),
    }
    match event("change_auth") {
        Event::ChangeAuth {
            auth_corp_id, state, ..
        } => {
            assert_eq!(auth_corp_id, "wxf8b4f85f3a794e77");
            assert_eq!(state.as_deref(), Some("abc"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(event("cancel_auth"), Event::CancelAuth { auth_corp_id, .. } if auth_corp_id == "wxf8b4f85f3a794e77")
    );
    assert!(
        matches!(event("reset_permanent_code"), Event::ResetPermanentCode { auth_code, .. } if auth_code.expose_secret() == "RESETCODE")
    );
    match event("multibyte") {
        Event::Other {
            info_type,
            suite_id,
            timestamp,
            xml,
        } => {
            assert_eq!(info_type, "change_contact");
            assert_eq!(suite_id.as_deref(), Some(SUITE_ID));
            assert_eq!(timestamp, Some(1403610513));
            assert!(xml.contains("张三·企业微信🙂"));
        }
        other => panic!("{other:?}"),
    }
}

// --- failures ------------------------------------------------------------------------

/// A body whose ciphertext is `raw` (already "encrypted" bytes), signed.
fn signed_body(crypto: &Crypto, encrypted: &str) -> (String, String) {
    let signature = crypto.signature("1700000000", "n1", encrypted);
    (
        signature,
        format!(
            "<xml><ToUserName><![CDATA[{SUITE_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID></AgentID></xml>"
        ),
    )
}

/// AES-256-CBC of `plain` (a multiple of 16 bytes) with the test key.
fn seal_raw(plain: &[u8]) -> String {
    let key = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{KEY}="))
    .unwrap();
    let mut buf = plain.to_vec();
    let len = buf.len();
    let sealed = cbc::Encryptor::<Aes256>::new(key[..32].into(), key[..16].into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .unwrap()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// random(16) | len | msg | id, then `pad` bytes of value `value`.
fn layout(len_field: u32, msg: &[u8], id: &[u8], pad: usize, value: u8) -> Vec<u8> {
    let mut v = vec![7u8; 16];
    v.extend_from_slice(&len_field.to_be_bytes());
    v.extend_from_slice(msg);
    v.extend_from_slice(id);
    v.extend(std::iter::repeat_n(value, pad));
    v
}

fn decrypt_raw(plain: &[u8]) -> Result<String, Error> {
    let c = crypto();
    let (signature, body) = signed_body(&c, &seal_raw(plain));
    c.decrypt(&signature, "1700000000", "n1", &body)
}

#[test]
fn every_malformed_message_is_a_clear_error_never_a_panic() {
    let c = crypto();
    let good = c
        .encrypt("<xml><InfoType>x</InfoType></xml>", "1700000000", "n1")
        .unwrap();
    let (signature, encrypted) = (
        tag(&good, "MsgSignature").to_string(),
        tag(&good, "Encrypt").to_string(),
    );
    let body = |e: &str| format!("<xml><Encrypt><![CDATA[{e}]]></Encrypt></xml>");
    assert_eq!(
        c.decrypt(&signature, "1700000000", "n1", &body(&encrypted)).unwrap(),
        "<xml><InfoType>x</InfoType></xml>"
    );

    // The signature is checked before anything else.
    // The last hex digit changed (never to itself).
    let last = if signature.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &signature[..39]);
    assert_eq!(
        kind(c.decrypt(&wrong, "1700000000", "n1", &body(&encrypted)).unwrap_err()),
        CallbackFailure::Signature
    );
    assert_eq!(
        kind(
            c.decrypt(&signature, "1700000001", "n1", &body(&encrypted))
                .unwrap_err()
        ),
        CallbackFailure::Signature
    );
    assert_eq!(
        kind(c.decrypt("", "1700000000", "n1", &body(&encrypted)).unwrap_err()),
        CallbackFailure::Signature
    );
    let other_token = Crypto::new("another-token", KEY, SUITE_ID).unwrap();
    assert_eq!(
        kind(
            other_token
                .decrypt(&signature, "1700000000", "n1", &body(&encrypted))
                .unwrap_err()
        ),
        CallbackFailure::Signature
    );
    // Uppercase hex is the same signature.
    assert!(
        c.decrypt(&signature.to_uppercase(), "1700000000", "n1", &body(&encrypted))
            .is_ok()
    );

    // Wrong receive id; and the opt-in second id.
    let for_corp = Crypto::new(TOKEN, KEY, "wwprovidercorp").unwrap();
    let sent = for_corp.encrypt("<xml/>", "1700000000", "n1").unwrap();
    let args = (tag(&sent, "MsgSignature").to_string(), body(tag(&sent, "Encrypt")));
    assert_eq!(
        kind(c.decrypt(&args.0, "1700000000", "n1", &args.1).unwrap_err()),
        CallbackFailure::ReceiveId
    );
    let lenient = crypto().also_accept_receive_id("wwprovidercorp");
    assert_eq!(lenient.decrypt(&args.0, "1700000000", "n1", &args.1).unwrap(), "<xml/>");

    // Not Base64; not a multiple of 16; empty.
    for (encrypted, expected) in [
        ("@@@@not-base64@@@@", CallbackFailure::Base64),
        ("AAAAAAAAAAAAAAAAAAAA", CallbackFailure::BlockSize),
    ] {
        let (signature, body) = signed_body(&c, encrypted);
        assert_eq!(
            kind(c.decrypt(&signature, "1700000000", "n1", &body).unwrap_err()),
            expected,
            "{encrypted}"
        );
    }
    // No Encrypt element, or not XML at all.
    for bad in [
        "<xml><ToUserName>x</ToUserName></xml>",
        "not xml",
        "<xml><Encrypt></Encrypt></xml>",
    ] {
        assert_eq!(
            kind(c.decrypt(&signature, "1700000000", "n1", bad).unwrap_err()),
            CallbackFailure::Xml,
            "{bad}"
        );
    }

    // Padding: 0, 33, and bytes that disagree with the count.
    let id = SUITE_ID.as_bytes();
    let msg = b"<xml/>";
    let base = 16 + 4 + msg.len() + id.len(); // 37
    let fill = 64 - base; // pad to 64 bytes
    assert_eq!(decrypt_raw(&layout(6, msg, id, fill, fill as u8)).unwrap(), "<xml/>");
    let mut zero = layout(6, msg, id, fill, fill as u8);
    *zero.last_mut().unwrap() = 0;
    assert_eq!(kind(decrypt_raw(&zero).unwrap_err()), CallbackFailure::Padding);
    let mut disagree = layout(6, msg, id, fill, fill as u8);
    disagree[base] = 1;
    assert_eq!(kind(decrypt_raw(&disagree).unwrap_err()), CallbackFailure::Padding);
    let over = layout(6, msg, id, 64 + 33 - base - 16, 33); // value 33 > 32
    let over = &over[..over.len() - (over.len() % 16)];
    assert_eq!(kind(decrypt_raw(over).unwrap_err()), CallbackFailure::Padding);
    // A pad value larger than the whole message.
    let tiny = vec![32u8; 16];
    assert_eq!(kind(decrypt_raw(&tiny).unwrap_err()), CallbackFailure::Padding);

    // The length field points past the end; or the content is too short.
    assert_eq!(
        kind(decrypt_raw(&layout(1_000, msg, id, fill, fill as u8)).unwrap_err()),
        CallbackFailure::Length
    );
    assert_eq!(
        kind(decrypt_raw(&layout(u32::MAX, msg, id, fill, fill as u8)).unwrap_err()),
        CallbackFailure::Length
    );
    let short = [vec![7u8; 16], vec![16u8; 16]].concat();
    assert_eq!(kind(decrypt_raw(&short).unwrap_err()), CallbackFailure::Length);

    // Not UTF-8.
    let bad_utf8 = b"<x>\xff\xfe</x>";
    let fill2 = 64 - (20 + bad_utf8.len() + id.len());
    assert_eq!(
        kind(decrypt_raw(&layout(bad_utf8.len() as u32, bad_utf8, id, fill2, fill2 as u8)).unwrap_err()),
        CallbackFailure::Utf8
    );
}

#[test]
fn known_events_missing_a_field_are_refused_and_unknown_ones_kept() {
    for xml in [
        "<xml><InfoType>suite_ticket</InfoType><SuiteId>ww1</SuiteId><TimeStamp>1</TimeStamp></xml>",
        "<xml><InfoType>suite_ticket</InfoType><SuiteId>ww1</SuiteId><TimeStamp>soon</TimeStamp><SuiteTicket>t</SuiteTicket></xml>",
        "<xml><InfoType>create_auth</InfoType><SuiteId>ww1</SuiteId><TimeStamp>1</TimeStamp><AuthCode></AuthCode></xml>",
        "<xml><InfoType>cancel_auth</InfoType><TimeStamp>1</TimeStamp><AuthCorpId>c</AuthCorpId></xml>",
        "<xml><SuiteId>ww1</SuiteId></xml>",
        "<xml><InfoType>suite_ticket</InfoType>",
    ] {
        assert_eq!(kind(Event::parse(xml).unwrap_err()), CallbackFailure::Xml, "{xml}");
    }
    let plain = "<xml><SuiteId>ww1</SuiteId><InfoType>suite_ticket</InfoType><TimeStamp>1403610513</TimeStamp><SuiteTicket>plain-text</SuiteTicket><Brand>new</Brand></xml>";
    assert!(
        matches!(Event::parse(plain).unwrap(), Event::SuiteTicket { suite_ticket, .. } if suite_ticket.expose_secret() == "plain-text")
    );
    let other = Event::parse("<xml><InfoType>share_agent_change</InfoType><SuiteId>ww1</SuiteId></xml>").unwrap();
    assert_eq!(other.info_type(), "share_agent_change");
}

#[test]
fn a_maximum_age_refuses_old_timestamps_when_set() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let strict = crypto().max_age(Duration::from_secs(300));
    for (ts, ok) in [(now, true), (now - 200, true), (now - 1000, false), (now + 1000, false)] {
        let ts = ts.to_string();
        let sent = strict.encrypt("<xml/>", &ts, "n").unwrap();
        let result = strict.decrypt(tag(&sent, "MsgSignature"), &ts, "n", &sent);
        assert_eq!(result.is_ok(), ok, "{ts}: {result:?}");
        if !ok {
            assert_eq!(kind(result.unwrap_err()), CallbackFailure::Expired);
        }
    }
    // Off by default.
    let sent = crypto().encrypt("<xml/>", "1", "n").unwrap();
    assert!(crypto().decrypt(tag(&sent, "MsgSignature"), "1", "n", &sent).is_ok());
}

#[test]
fn the_url_check_decrypts_echostr_and_refuses_a_forged_one() {
    let c = crypto();
    let sent = c.encrypt("5927782489442352469", "1700000000", "1372623149").unwrap();
    let echostr = tag(&sent, "Encrypt");
    let signature = tag(&sent, "MsgSignature");
    assert_eq!(
        c.verify_url(signature, "1700000000", "1372623149", echostr).unwrap(),
        "5927782489442352469"
    );
    assert_eq!(
        kind(
            c.verify_url(signature, "1700000000", "1372623149", "Zm9yZ2Vk")
                .unwrap_err()
        ),
        CallbackFailure::Signature
    );
}

#[test]
fn bad_keys_and_tokens_are_config_errors() {
    for (token, key, setting) in [
        ("t", "short", "encoding_aes_key"),
        ("t", &"a".repeat(44), "encoding_aes_key"),
        ("t", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2+", "encoding_aes_key"),
        ("", KEY, "token"),
    ] {
        match Crypto::new(token, key, SUITE_ID) {
            Err(Error::Config { setting: got, reason }) => {
                assert_eq!(got, setting);
                assert!(!reason.contains(KEY), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn no_secret_in_debug_or_errors() {
    let c = Crypto::new("SENTINEL-callback-token", KEY, SUITE_ID).unwrap();
    let printed = format!("{c:?}");
    assert!(!printed.contains("SENTINEL") && !printed.contains(KEY), "{printed}");
    let sent = c.encrypt("<xml><InfoType>create_auth</InfoType><SuiteId>ww1</SuiteId><TimeStamp>1</TimeStamp><AuthCode>SENTINEL-auth-code</AuthCode></xml>", "1", "n").unwrap();
    let event = c.decrypt_event(tag(&sent, "MsgSignature"), "1", "n", &sent).unwrap();
    assert!(!format!("{event:?}").contains("SENTINEL"), "{event:?}");
    let err = c.decrypt("0000", "1", "n", &sent).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("SENTINEL"));
}

// --- round trips ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn encrypt_then_decrypt_returns_the_message(msg in "\\PC{0,200}", nonce in "[a-zA-Z0-9]{1,16}") {
        let c = crypto();
        let sent = c.encrypt(&msg, "1700000000", &nonce).unwrap();
        let back = c.decrypt(tag(&sent, "MsgSignature"), "1700000000", &nonce, &sent).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn lengths_around_the_32_byte_padding_boundary_round_trip(len in 0usize..130) {
        let c = crypto();
        let msg = "é".repeat(len / 2) + &"x".repeat(len % 2);
        let sent = c.encrypt(&msg, "1", "n").unwrap();
        let raw = base64::engine::general_purpose::STANDARD.decode(tag(&sent, "Encrypt")).unwrap();
        prop_assert_eq!(raw.len() % 32, 0);
        prop_assert_eq!(c.decrypt(tag(&sent, "MsgSignature"), "1", "n", &sent).unwrap(), msg);
    }
}

// --- the suite and events --------------------------------------------------------------

#[tokio::test]
async fn handle_event_stores_a_newer_ticket_and_ignores_an_older_one() {
    let standin_url = common::refused_url();
    let memory = store::Memory::new();
    let suite = Suite::builder(SUITE_ID, "suite-secret")
        .client(wecom::Client::builder().base_url(&standin_url).build().unwrap())
        .store(memory.clone())
        .build()
        .unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let c = crypto();
    let ticket = |value: &str, ts: i64| {
        let xml = format!(
            "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{ts}</TimeStamp><SuiteTicket><![CDATA[{value}]]></SuiteTicket></xml>"
        );
        let sent = c.encrypt(&xml, &ts.to_string(), "n").unwrap();
        c.decrypt_event(tag(&sent, "MsgSignature"), &ts.to_string(), "n", &sent)
            .unwrap()
    };
    assert!(suite.handle_event(&ticket("ticket-new", now)).await.unwrap());
    assert!(!suite.handle_event(&ticket("ticket-old", now - 60)).await.unwrap());
    use corp_auth::store::Store as _;
    let stored = memory
        .get(&format!("wecom:{SUITE_ID}:suite_ticket"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.expose_secret(), "ticket-new");
    assert!(suite.handle_event(&ticket("ticket-newer", now + 1)).await.unwrap());
    // Another suite's ticket and other events are not stored.
    let foreign = Event::parse("<xml><SuiteId>wwother</SuiteId><InfoType>suite_ticket</InfoType><TimeStamp>9999999999</TimeStamp><SuiteTicket>x</SuiteTicket></xml>").unwrap();
    assert!(!suite.handle_event(&foreign).await.unwrap());
    let cancel = Event::parse("<xml><SuiteId>wwsuite0001</SuiteId><InfoType>cancel_auth</InfoType><TimeStamp>1</TimeStamp><AuthCorpId>c</AuthCorpId></xml>").unwrap();
    assert!(!suite.handle_event(&cancel).await.unwrap());
}

// --- receive ids as WeCom uses them ---------------------------------------------------

#[test]
fn the_console_url_check_opens_for_the_provider_corpid_and_posts_for_the_suite_id() {
    let crypto = crypto().provider_corpid("wwprovider01");
    let for_id = |id: &str| Crypto::new(TOKEN, KEY, id).unwrap();
    let check = |sender: &Crypto| {
        let sent = sender.encrypt("echo-1234", "1700000000", "n1").unwrap();
        crypto.verify_url(tag(&sent, "MsgSignature"), "1700000000", "n1", tag(&sent, "Encrypt"))
    };
    // The console's GET check: the provider's corpid (WeCom staff), the
    // suite id (older setups) and the empty id (individual providers).
    assert_eq!(check(&for_id("wwprovider01")).unwrap(), "echo-1234");
    assert_eq!(check(&for_id(SUITE_ID)).unwrap(), "echo-1234");
    assert_eq!(check(&for_id("")).unwrap(), "echo-1234");
    assert_eq!(
        kind(check(&for_id("wwsomeoneelse")).unwrap_err()),
        CallbackFailure::ReceiveId
    );
    // Without provider_corpid the provider's check is refused, as before.
    let sent = for_id("wwprovider01").encrypt("echo", "1700000000", "n1").unwrap();
    let plain =
        crypto_without_provider().verify_url(tag(&sent, "MsgSignature"), "1700000000", "n1", tag(&sent, "Encrypt"));
    assert_eq!(kind(plain.unwrap_err()), CallbackFailure::ReceiveId);
    // POSTed 指令回调: the suite id or the empty id; never the provider's corpid.
    let post = |sender: &Crypto| {
        let body = sender
            .encrypt("<xml><InfoType>x</InfoType></xml>", "1700000000", "n1")
            .unwrap();
        crypto.decrypt(tag(&body, "MsgSignature"), "1700000000", "n1", &body)
    };
    assert!(post(&for_id(SUITE_ID)).is_ok());
    assert!(post(&for_id("")).is_ok());
    assert_eq!(
        kind(post(&for_id("wwprovider01")).unwrap_err()),
        CallbackFailure::ReceiveId
    );
    assert_eq!(kind(post(&for_id("wwCorpA")).unwrap_err()), CallbackFailure::ReceiveId);
    // A 数据回调 of a corp is opened with a Crypto for that corp's corpid.
    let data = for_id("wwCorpA")
        .encrypt("<xml><MsgType>event</MsgType></xml>", "1700000000", "n2")
        .unwrap();
    let opened = for_id("wwCorpA").decrypt(tag(&data, "MsgSignature"), "1700000000", "n2", &data);
    assert_eq!(opened.unwrap(), "<xml><MsgType>event</MsgType></xml>");
}

fn crypto_without_provider() -> Crypto {
    crypto()
}
