//! Bytes in → Result out, through the exact path the clients use to read a
//! 200 answer (`decode_answer`). Besides "no panic, no hang": a success must
//! be one the platform's convention allows.
//!
//! The oracle parses the body lossily: serde_json skips an ignored unknown
//! field without validating its UTF-8, so a body with invalid UTF-8 only
//! there still decodes (the fuzzer's first finding; kept, by design).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(secret) = corp_auth::chengxun::decode_answer(data) {
        let text = String::from_utf8_lossy(data);
        let body: serde_json::Value = serde_json::from_str(&text).expect("success from JSON only");
        assert_eq!(body["err_code"], 0, "success needs err_code 0");
        assert!(!secret.expose_secret().is_empty(), "success needs a corp_secret");
    }
    if let Ok(info) = corp_auth::wecom::decode_answer(data) {
        assert!(matches!(info.errcode, None | Some(0)), "success needs errcode absent or 0");
    }
});
