//! Callback cost: `Crypto::decrypt_event` of a `suite_ticket` event (verify,
//! decrypt, check, parse) against the bare floor — the same SHA-1, Base64
//! and AES-256-CBC calls with nothing else — in alternating rounds.
//!
//! `cargo bench --bench callback`

mod common;

use aes::Aes256;
use base64::Engine as _;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use common::*;
use corp_auth::wecom::callback::{Crypto, Event};
use sha1::{Digest, Sha1};

const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";

fn main() {
    println!("callback decrypt on {}", machine());
    let crypto = Crypto::new("callbackToken01", KEY, "wwsuite0001").unwrap();
    let event = "<xml><SuiteId><![CDATA[wwsuite0001]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[Cfp0_givEagXcYJIztF6sfbdmIZCmpaR8ZBsvJEFFNBrWmnD5-CGYJ3_NhYexMyw]]></SuiteTicket></xml>";
    let (timestamp, nonce) = ("1700000000", "1372623149");
    let reply = crypto.encrypt(event, timestamp, nonce).unwrap();
    let field = |name: &str| {
        let start = reply.find(&format!("<{name}><![CDATA[")).unwrap() + name.len() + 11;
        reply[start..start + reply[start..].find("]]>").unwrap()].to_string()
    };
    let (encrypted, signature) = (field("Encrypt"), field("MsgSignature"));
    let body = format!(
        "<xml><ToUserName><![CDATA[wwsuite0001]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    );
    let key = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{KEY}="))
    .unwrap();

    let m = ab(
        61,
        2000,
        || {
            let event = crypto.decrypt_event(&signature, timestamp, nonce, &body).unwrap();
            assert!(matches!(
                event,
                Event::SuiteTicket {
                    timestamp: 1403610513,
                    ..
                }
            ));
        },
        || {
            // The floor: signature, Base64, AES-CBC; no checks, no parsing.
            let mut parts = ["callbackToken01", timestamp, nonce, encrypted.as_str()];
            parts.sort_unstable();
            let digest = Sha1::digest(parts.concat().as_bytes());
            std::hint::black_box(digest);
            let mut data = base64::engine::general_purpose::STANDARD.decode(&encrypted).unwrap();
            let plain = cbc::Decryptor::<Aes256>::new(key[..32].into(), key[..16].into())
                .decrypt_padded_mut::<NoPadding>(&mut data)
                .unwrap();
            std::hint::black_box(plain);
        },
    );
    report("decrypt_event(suite_ticket) vs the bare floor", &m, 1, 1.3);

    // Where the time goes: each step alone, 20,000 in a row.
    let time = |name: &str, f: &mut dyn FnMut()| {
        let started = std::time::Instant::now();
        for _ in 0..20_000 {
            f();
        }
        println!(
            "  {name:<40} {:>6.0} ns",
            started.elapsed().as_nanos() as f64 / 20_000.0
        );
    };
    let xml = crypto.decrypt(&signature, timestamp, nonce, &body).unwrap();
    time("decrypt (verify + open, no parse)", &mut || {
        std::hint::black_box(crypto.decrypt(&signature, timestamp, nonce, &body).unwrap());
    });
    time("Event::parse (serde, quick-xml)", &mut || {
        std::hint::black_box(Event::parse(&xml).unwrap());
    });
    time("signature alone", &mut || {
        std::hint::black_box(crypto.signature(timestamp, nonce, &encrypted));
    });
}
