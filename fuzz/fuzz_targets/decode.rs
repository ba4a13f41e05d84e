//! Bytes in → Result out, through the exact path the clients use to read a
//! 200 answer (`decode_answer`). Besides "no panic, no hang": a success must
//! be one the platform's convention allows.
//!
//! The oracle reads the code through a typed envelope that ignores unknown
//! fields like the client does: serde_json skips an unknown field without
//! validating its UTF-8 or the range of its numbers, so a body that is
//! malformed only there still decodes (the fuzzer's two findings; kept, by
//! design: unknown fields must never break decoding).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Chengxun {
    err_code: i64,
}

#[derive(serde::Deserialize)]
struct Wecom {
    errcode: Option<i64>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(secret) = corp_auth::chengxun::decode_answer(data) {
        let envelope: Chengxun = serde_json::from_slice(data).expect("success needs a readable err_code");
        assert_eq!(envelope.err_code, 0, "success needs err_code 0");
        assert!(!secret.expose_secret().is_empty(), "success needs a corp_secret");
    }
    if let Ok(info) = corp_auth::wecom::decode_answer(data) {
        let envelope: Wecom = serde_json::from_slice(data).expect("success needs a readable errcode");
        assert!(matches!(envelope.errcode, None | Some(0)), "success needs errcode absent or 0");
        assert_eq!(info.errcode, envelope.errcode);
    }
});
