//! Fuzzes `Crypto::decrypt_event` with a fixed key, the harness signing
//! every input so that the signature check passes and the bytes reach
//! Base64, AES-CBC, the padding and length checks and the XML parser:
//! - first byte even: the rest is the ciphertext (random plaintext after
//!   decryption: padding, length and receive-id checks);
//! - first byte odd: the rest is a plaintext the harness encrypts with the
//!   real scheme (a valid envelope: UTF-8 and the event parser).
//!
//! Oracle: never a panic; an `Ok` event only from a decryptable message
//! that parses again to the same event.
#![no_main]

use base64::Engine as _;
use corp_auth::Error;
use corp_auth::wecom::callback::{Crypto, Event};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F6rZ9cE1hSAOezw0yoVw7Kz";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let crypto = Crypto::new("fuzzToken", KEY, "wwsuite0001").unwrap();
    let (timestamp, nonce) = ("1700000000", "nonce");
    let encrypted = if mode % 2 == 0 {
        base64::engine::general_purpose::STANDARD.encode(rest)
    } else {
        let Ok(plaintext) = std::str::from_utf8(rest) else { return };
        let reply = crypto.encrypt(plaintext, timestamp, nonce).unwrap();
        let start = reply.find("<![CDATA[").unwrap() + 9;
        reply[start..start + reply[start..].find("]]>").unwrap()].to_string()
    };
    let signature = crypto.signature(timestamp, nonce, &encrypted);
    let body = format!("<xml><ToUserName><![CDATA[wwsuite0001]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>");
    match crypto.decrypt_event(&signature, timestamp, nonce, &body) {
        Ok(event) => {
            let xml = crypto.decrypt(&signature, timestamp, nonce, &body).unwrap();
            assert_eq!(Event::parse(&xml).unwrap(), event);
        }
        Err(Error::Callback { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
